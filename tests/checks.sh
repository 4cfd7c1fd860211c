# The shell tests' counting and checking, sourced by tests/programs_test.sh and
# tests/mpi_test.sh after they set $tmp (a scratch directory): each check prints "ok: NAME" or
# "FAILED: NAME" (with the command's standard error), and is counted in $passed or $failed.
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok: $1"; }
not_ok() { failed=$((failed + 1)); echo "FAILED: $1"; [ -s "$tmp/err" ] && sed 's/^/    /' "$tmp/err"; }

# expect CODE NAME COMMAND...: runs COMMAND (stdout to $tmp/out, stderr to $tmp/err) and checks
# its exit status.
expect() {
    code=$1 name=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    status=$?
    if [ "$status" -eq "$code" ]; then ok "$name (exit $code)"; else
        echo "    expected exit $code, got $status"; not_ok "$name"; fi
}

# check NAME COMMAND...: a condition.
check() {
    name=$1
    shift
    if "$@"; then ok "$name"; else not_ok "$name"; fi
}
