#!/bin/sh
# The library's files form no circle: no two src/ files reach each other through their calls
# (read from the objects' symbol tables: A depends on B when A uses a symbol B defines) or their
# #include "..." lines (x.h and x_impl.h stand for x.c). tsort(1) names any loop.
# Usage: layering_test.sh BUILD_DIR
set -eu
build=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for src in src/*.c; do
    name=$(basename "$src")
    obj="$build/src/${name%.c}.o"
    nm --defined-only "$obj" | awk -v f="$name" '$2 ~ /^[TDBR]$/ {print $3, f}' >> "$work/defined"
    nm --undefined-only "$obj" | awk -v f="$name" '{print $2, f}' >> "$work/used"
done
sort -k1,1 "$work/defined" > "$work/defined.s"
sort -k1,1 "$work/used" > "$work/used.s"
join "$work/used.s" "$work/defined.s" | awk '{print $2, $3}' > "$work/edges"
for f in src/*.c src/*.h; do
    for inc in $(sed -n 's/^#include "\([a-z_]*\)\.h".*/\1/p' "$f"); do
        [ "$inc" = seqgen ] || echo "$(basename "$f") $inc.c" >> "$work/edges"
    done
done
sed 's/_impl\.[ch]/.c/g; s/\.h\>/.c/g' "$work/edges" | awk '$1 != $2' | sort -u > "$work/graph"
if ! tsort "$work/graph" > /dev/null 2> "$work/loops"; then
    sed 's/^tsort: [^:]*: //' "$work/loops" >&2
    echo "layering test: 0 passed, 1 failed (a circle among src/ files)"
    exit 1
fi
echo "layering test: 1 passed, 0 failed ($(wc -l < "$work/graph") dependencies among src/ files, no circle)"
