#!/bin/sh
# Exports test: the shared library's dynamic symbol table defines the public API (seqgen_*) and
# nothing else: no internal sg_* function, no target_clones resolver, no version-node symbol.
# And it needs no giflib: the programs draw the pictures, the library does not.
# Usage: sh tests/exports_test.sh lib/libseqgen.so.VERSION
set -eu
lib=${1:?usage: exports_test.sh SHARED_LIBRARY}

symbols=$(nm -D --defined-only "$lib" | awk '{ print $NF }')
count=$(printf '%s\n' "$symbols" | grep -c '^seqgen_' || true)
others=$(printf '%s\n' "$symbols" | grep -v '^seqgen_' || true)
if [ -n "$others" ]; then
    echo "exports test: $lib exports symbols outside the API:" >&2
    printf '%s\n' "$others" | sed 's/^/    /' >&2
    exit 1
fi
if [ "$count" -eq 0 ]; then
    echo "exports test: $lib exports no seqgen_* symbol" >&2
    exit 1
fi
if readelf -d "$lib" | grep 'NEEDED' | grep -q 'libgif'; then
    echo "exports test: $lib links giflib:" >&2
    readelf -d "$lib" | grep 'NEEDED' >&2
    exit 1
fi
echo "exports test: passed ($count symbols, all seqgen_*; no giflib)"
