#!/bin/sh
# Exports test: the shared library's dynamic symbol table defines the public API (seqgen_*) and
# nothing else: no internal sg_* function, no target_clones resolver, no version-node symbol.
# And it needs no giflib: the programs draw the pictures, the library does not; nor jansson,
# which only libseqgen-safetensors links.
# With a second argument, libseqgen-safetensors too: it exports exactly the functions of
# include/seqgen_safetensors.h (none of the core's, nor the core helpers compiled into it), and
# needs the shared core and jansson.
# Usage: sh tests/exports_test.sh lib/libseqgen.so.VERSION [lib/libseqgen-safetensors.so.VERSION]
set -eu
lib=${1:?usage: exports_test.sh SHARED_LIBRARY [SAFETENSORS_LIBRARY]}
st=${2:-}

fail() { echo "exports test: $*" >&2; exit 1; }
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }

exports() {
    symbols=$(nm -D --defined-only "$1" | awk '{ print $NF }')
    count=$(printf '%s\n' "$symbols" | grep -c '^seqgen_' || true)
    others=$(printf '%s\n' "$symbols" | grep -v '^seqgen_' || true)
    if [ -n "$others" ]; then
        echo "exports test: $1 exports symbols outside the API:" >&2
        printf '%s\n' "$others" | sed 's/^/    /' >&2
        exit 1
    fi
    [ "$count" -gt 0 ] || fail "$1 exports no seqgen_* symbol"
}

exports "$lib"
core_count=$count
if needed "$lib" | grep -Eq '^lib(gif|jansson)'; then
    needed "$lib" >&2
    fail "$lib links giflib or jansson"
fi
message="$core_count symbols, all seqgen_*; no giflib, no jansson"

if [ -n "$st" ]; then
    exports "$st"
    declared=$(sed -n 's/^SEQGEN_API .*[ *]\(seqgen_[a-z_]*\)(.*/\1/p' include/seqgen_safetensors.h | sort)
    [ "$(printf '%s\n' "$symbols" | sort)" = "$declared" ] ||
        fail "$st exports $(echo $symbols), expected the functions of seqgen_safetensors.h: $(echo $declared)"
    needed "$st" | grep -q '^libjansson' || fail "$st does not link jansson"
    needed "$st" | grep -q '^libseqgen\.so' || fail "$st does not link the shared libseqgen"
    message="$message; libseqgen-safetensors: its $count functions, links libseqgen and jansson"
fi
echo "exports test: passed ($message)"
