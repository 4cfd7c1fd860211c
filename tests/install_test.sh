#!/bin/sh
# Install test: install into a temporary prefix, build an outside program against the installed
# copy using only pkg-config (shared, then static), run both, and check the version they print;
# run the installed programs from another directory on the installed digits. Then uninstall and
# check that nothing is left behind.
set -eu
CC=${1:-cc}
stage=$(mktemp -d /tmp/seqgen-install-XXXXXX)
trap 'rm -rf "$stage"' EXIT
prefix="$stage/prefix"
fail() { echo "install test: $*" >&2; exit 1; }

# A build of its own, so that the prefix compiled into the programs is not the developer's
# build's; made first for the default PREFIX, as `make && make install PREFIX=...` does: install
# must rebuild what depends on the prefix.
build="BUILD=$stage/build LIBOUT=$stage/lib"
# shellcheck disable=SC2086
make -s all $build >/dev/null
# shellcheck disable=SC2086
make -s install PREFIX="$prefix" $build >"$stage/install.out"
grep -q "HTML reference.*not built.*make docs" "$stage/install.out" ||
    fail "make install did not say that it skipped the HTML reference (not built)"
[ ! -e "$prefix/share/doc/seqgen" ] || fail "make install installed docs that were not built"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
expected=$(sed -n 's/^#define SEQGEN_VERSION_STRING "\(.*\)"/\1/p' include/seqgen.h)

cat > "$stage/outside.c" <<'C'
#include <seqgen.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    if (strcmp(seqgen_version(), SEQGEN_VERSION_STRING) != 0)
        return 1;
    printf("%s %s\n", seqgen_version(), seqgen_strerror(SEQGEN_EFORMAT));
    return 0;
}
C

# shellcheck disable=SC2046
$CC -std=c11 "$stage/outside.c" -o "$stage/outside-shared" $(pkg-config --cflags --libs seqgen) \
    -Wl,-rpath,"$prefix/lib"
# shellcheck disable=SC2046
$CC -std=c11 "$stage/outside.c" -o "$stage/outside-ldpath" $(pkg-config --cflags --libs seqgen)
# shellcheck disable=SC2046
$CC -std=c11 -static "$stage/outside.c" -o "$stage/outside-static" \
    $(pkg-config --cflags seqgen) $(pkg-config --static --libs seqgen)
# seqgen.h includes only standard headers: compiling against it needs its directory alone, not
# those of the CBLAS or zlib the library links.
cflags=$(pkg-config --cflags seqgen | tr -s ' ' | sed 's/ $//')
[ "$cflags" = "-I$prefix/include" ] || {
    echo "install test: pkg-config --cflags seqgen gives '$cflags', expected -I$prefix/include" >&2
    exit 1
}

# libseqgen-safetensors through its own pkg-config file (Requires: seqgen), shared and static: a
# model saved as safetensors and loaded back, its error detail read with seqgen_last_error().
cat > "$stage/outside_st.c" <<'C'
#include <seqgen_safetensors.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv)
{
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.hidden = 4;
    seqgen_model *m = NULL, *back = NULL;
    seqgen_safetensors_options o = seqgen_safetensors_options_default();
    o.gru_module = "rnn", o.linear_module = "linear";
    if (argc != 2 || seqgen_model_create(&m, &cfg) || seqgen_model_save_safetensors(argv[1], m, &o) ||
        seqgen_model_load_safetensors(&back, argv[1], &o))
        return 1;
    if (seqgen_model_load_safetensors(&back, argv[1], NULL) != SEQGEN_EMISMATCH ||
        !strstr(seqgen_last_error(), "no tensor \"weight_ih_l0\""))
        return 2;
    printf("hidden %d\n", seqgen_model_get_config(back).hidden);
    return 0;
}
C
# shellcheck disable=SC2046
$CC -std=c11 "$stage/outside_st.c" -o "$stage/outside-st-shared" \
    $(pkg-config --cflags --libs seqgen-safetensors) -Wl,-rpath,"$prefix/lib"
# shellcheck disable=SC2046
$CC -std=c11 -static "$stage/outside_st.c" -o "$stage/outside-st-static" \
    $(pkg-config --cflags seqgen-safetensors) $(pkg-config --static --libs seqgen-safetensors)
for kind in shared static; do
    out=$("$stage/outside-st-$kind" "$stage/st-$kind.safetensors") ||
        fail "the $kind safetensors program failed (exit $?)"
    [ "$out" = "hidden 4" ] || fail "the $kind safetensors program printed '$out'"
done
ldd "$stage/outside-st-shared" | grep -qF "$prefix/lib/libseqgen-safetensors.so" ||
    fail "outside-st-shared does not load the installed libseqgen-safetensors"

# The README's two C examples, taken from the README itself so they cannot drift: each ```c block
# compiled alone, run, and its output checked.
awk -v dir="$stage" '/^```c$/ { n++; file = dir "/readme_example" n ".c"; next }
                     /^```$/ { file = ""; next }
                     file { print > file }' README.md
[ -f "$stage/readme_example2.c" ] && [ ! -f "$stage/readme_example3.c" ] || {
    echo "install test: the README should hold exactly two C examples" >&2
    exit 1
}
for n in 1 2; do
    # shellcheck disable=SC2046
    $CC -std=c11 -Wall -Wextra -Werror "$stage/readme_example$n.c" -o "$stage/readme-example$n" \
        $(pkg-config --cflags --libs seqgen) -Wl,-rpath,"$prefix/lib"
    "$stage/readme-example$n" > "$stage/readme-example$n.out" || {
        echo "install test: README example $n failed" >&2
        exit 1
    }
done
# The MNIST example learns: its test NLL falls from about 520 to about 100 nats per digit after 3
# epochs, it writes fewer wrong pixels than a blank hole would have (0.109 of them on its 500 test
# digits), and it draws the digit and its completion on 28 lines, with ink of its own.
written=$(tr -cd '@' < "$stage/readme-example1.out" | wc -c)
awk '/^epoch [0-9]+: / { n++ } /^epoch 0: / { first = $5 } /^epoch 3: / { last = $5; wrong = $9 }
     END { exit !(n == 4 && first > 400 && last < 130 && wrong < 0.105) }' \
    "$stage/readme-example1.out" &&
    [ "$(grep -Ec '^[.#]{28}   [.#@]{28}$' "$stage/readme-example1.out")" -eq 28 ] &&
    [ "$written" -ge 20 ] && [ "$written" -le 150 ] || {
    echo "install test: the README's MNIST example printed something unexpected:" >&2
    cat "$stage/readme-example1.out" >&2
    exit 1
}
# The own-sequences example learns its source (about 0.34 nats per bit is the ideal) and writes
# three sequences of 100 bits.
awk '/^epoch 5: / { last = $3 } END { exit !(last > 0.3 && last < 0.4) }' \
    "$stage/readme-example2.out" && [ "$(grep -Ec '^[01]{100}$' "$stage/readme-example2.out")" -eq 3 ] || {
    echo "install test: the README's own-sequences example printed something unexpected:" >&2
    cat "$stage/readme-example2.out" >&2
    exit 1
}

for kind in shared static ldpath; do
    # ldpath has no rpath: it finds the library through LD_LIBRARY_PATH, as the README says
    out=$(if [ $kind = ldpath ]; then export LD_LIBRARY_PATH="$prefix/lib"; fi; "$stage/outside-$kind")
    if [ "$out" != "$expected bad file format" ]; then
        echo "install test: $kind program printed '$out', expected '$expected bad file format'" >&2
        exit 1
    fi
done
# The SONAME: libseqgen.so.0.MINOR while the major version is 0 (each 0.x release may change the
# ABI), libseqgen.so.MAJOR from 1.0 on.
major=${expected%%.*}
minor=${expected#*.}
minor=${minor%%.*}
if [ "$major" = 0 ]; then soname=libseqgen.so.0.$minor; else soname=libseqgen.so.$major; fi
readelf -d "$prefix/lib/libseqgen.so.$expected" | grep -qF "Library soname: [$soname]" || {
    echo "install test: libseqgen.so.$expected does not have the SONAME $soname:" >&2
    readelf -d "$prefix/lib/libseqgen.so.$expected" | grep SONAME >&2
    exit 1
}
# The shared program must really use the installed shared library, through its SONAME.
ldd "$stage/outside-shared" | grep -qF "$soname => $prefix/lib/$soname " || {
    echo "install test: outside-shared does not load the installed $soname" >&2
    exit 1
}

# The installed programs, run from another directory without --data, use the installed digits;
# without them they say how to choose the data.
mkdir "$stage/elsewhere"
tiny="--train-limit 64 --test-limit 20 --hidden 8 --threads 1 --epochs 1 --quiet"
# shellcheck disable=SC2086
(cd "$stage/elsewhere" && env -u SEQGEN_DATA "$prefix/bin/seqgen-train" $tiny --out-dir "$stage/runs") ||
    fail "the installed seqgen-train did not train from another directory without --data"
grep -qx "data $prefix/share/seqgen/mnist10k" "$stage/runs/gru-128/config.txt" ||
    fail "the installed seqgen-train did not use $prefix/share/seqgen/mnist10k"
(cd "$stage/elsewhere" && env -u SEQGEN_DATA "$prefix/bin/seqgen-complete" --no-gif --metrics \
    --test-limit 20 --checkpoint "$stage/runs/gru-128/model.ckpt" >"$stage/complete.out") ||
    fail "the installed seqgen-complete did not run from another directory without --data"
grep -q 'over 20 test images' "$stage/complete.out" || fail "seqgen-complete printed no metrics"
mv "$prefix/share/seqgen/mnist10k" "$stage/moved"
status=0
# shellcheck disable=SC2086
(cd "$stage/elsewhere" && env -u SEQGEN_DATA "$prefix/bin/seqgen-train" $tiny --out-dir "$stage/runs2") \
    2>"$stage/nodata.err" || status=$?
[ "$status" -eq 1 ] && [ "$(wc -l <"$stage/nodata.err")" -eq 1 ] &&
    grep -q -- '--data' "$stage/nodata.err" && grep -q 'SEQGEN_DATA' "$stage/nodata.err" || {
    cat "$stage/nodata.err" >&2
    fail "without the installed digits, seqgen-train exited $status without one line naming --data and SEQGEN_DATA"
}
mv "$stage/moved" "$prefix/share/seqgen/mnist10k"

# shellcheck disable=SC2086
make -s uninstall PREFIX="$prefix" $build >/dev/null
[ ! -e "$prefix/share/seqgen" ] || fail "uninstall left $prefix/share/seqgen behind"
left=$(find "$prefix" -type f -o -type l)
if [ -n "$left" ]; then
    echo "install test: uninstall left files behind: $left" >&2
    exit 1
fi
echo "install test: 5 passed, 0 failed (shared, LD_LIBRARY_PATH and static programs print $expected, the shared one loads $soname; libseqgen-safetensors shared and static through pkg-config; the README examples run; the installed programs find the installed digits)"
