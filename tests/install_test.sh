#!/bin/sh
# Install test: install into a temporary prefix, build an outside program against the installed
# copy using only pkg-config (shared, then static), run both, and check the version they print.
# Then uninstall and check that nothing is left behind.
set -eu
CC=${1:-cc}
stage=$(mktemp -d /tmp/seqgen-install-XXXXXX)
trap 'rm -rf "$stage"' EXIT
prefix="$stage/prefix"

make -s install PREFIX="$prefix" >/dev/null
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
$CC -std=c11 -static "$stage/outside.c" -o "$stage/outside-static" \
    $(pkg-config --cflags seqgen) $(pkg-config --static --libs seqgen)

# The README's API example, taken from the README itself so it cannot drift.
sed -n '/^```c$/,/^```$/p' README.md | sed '1d;$d' > "$stage/readme_example.c"
# shellcheck disable=SC2046
$CC -std=c11 -Wall -Wextra -Werror "$stage/readme_example.c" -o "$stage/readme-example" \
    $(pkg-config --cflags --libs seqgen) -Wl,-rpath,"$prefix/lib"
"$stage/readme-example" > "$stage/readme-example.out" || {
    echo "install test: the README example failed" >&2
    exit 1
}
grep -q "^wrote [0-9]* ink pixels of 284$" "$stage/readme-example.out" || {
    echo "install test: the README example printed something unexpected:" >&2
    cat "$stage/readme-example.out" >&2
    exit 1
}

for kind in shared static; do
    out=$("$stage/outside-$kind")
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

make -s uninstall PREFIX="$prefix" >/dev/null
left=$(find "$prefix" -type f -o -type l)
if [ -n "$left" ]; then
    echo "install test: uninstall left files behind: $left" >&2
    exit 1
fi
echo "install test: 3 passed, 0 failed (shared and static programs print $expected, the shared one loads $soname; the README example runs)"
