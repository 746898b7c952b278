#!/usr/bin/env bash
# build.sh [OUTDIR] — build the libFuzzer targets of tests/fuzz/ with clang
# (-fsanitize=fuzzer,address,undefined) against the engine sources, and make
# their seed corpora from the files under tests/.  Run from anywhere:
#
#   tests/fuzz/build.sh /tmp/fz          # builds /tmp/fz/fuzz_* and /tmp/fz/seed-*/
#   /tmp/fz/fuzz_mapping /tmp/fz/corpus-mapping /tmp/fz/seed-mapping -runs=1000000
#
# tests/fuzz/smoke.sh builds and runs each target briefly (CI).
# Targets: fuzz_mapping (mapping loader), fuzz_path (path compiler and
# evaluation), fuzz_types (type parser and converters), fuzz_record (input ->
# reader -> mapper on one document, with the applications mapping).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${1:-${TMPDIR:-/tmp}/migrate-fuzz}
mkdir -p "$out"
out=$(cd "$out" && pwd)
CC=${FUZZ_CC:-clang}
flags=(-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
    -fno-sanitize-recover=undefined -std=c11 -D_GNU_SOURCE)
cflags=("${flags[@]}" -DTDSODBC_BCP -I"$out" -I"$top/src" $(pkg-config --cflags libxml-2.0 libpcre2-8 zlib))
libs=($(pkg-config --libs libxml-2.0 libpcre2-8 zlib) -lpthread -lm)

# the engine's sources need config.h; a minimal one, not configure's
printf '#define _GNU_SOURCE 1\n#define PACKAGE_VERSION "fuzz"\n#define PACKAGE_STRING "migrate fuzz"\n' \
    > "$out/config.h"

# Compiles the engine source src/$1.c once, into $out/obj/$1.o.
obj() {
    mkdir -p "$out/obj"
    [ -f "$out/obj/$1.o" ] || "$CC" "${cflags[@]}" -c -o "$out/obj/$1.o" "$top/src/$1.c"
}

# Links target $1 from tests/fuzz/$1.c and the engine sources $2...
build() {
    local name=$1
    shift
    local objs=()
    for s in "$@"; do
        obj "$s"
        objs+=("$out/obj/$s.o")
    done
    "$CC" "${cflags[@]}" -o "$out/$name" "$here/$name.c" "${objs[@]}" "${libs[@]}"
}

rm -rf "$out/obj" # always from the current sources

base=(err connstr strbuf types rule path)
build fuzz_types err connstr strbuf types
build fuzz_path "${base[@]}"
build fuzz_mapping "${base[@]}" mapping
# reader + mapper need the mapper's routing (settle.c), which reaches the
# ODBC layer: fuzz_record links every engine source (src/*.c but the
# command line's tool_*.c) and the ODBC libraries
engine=()
for f in "$top"/src/*.c; do
    f=$(basename "$f" .c)
    case $f in tool_*) ;; *) engine+=("$f") ;; esac
done
[ -n "${FUZZ_NO_RECORD:-}" ] || libs+=(-lodbc -lodbcinst)
[ -n "${FUZZ_NO_RECORD:-}" ] || build fuzz_record "${engine[@]}"

# ---- seed corpora from tests/ ----
seed() { rm -rf "$out/seed-$1"; mkdir -p "$out/seed-$1"; }
n=0
seed mapping
for f in "$top"/tests/integration/cases/*/mapping*.xml "$top"/mappings/*.xml; do
    [ -f "$f" ] && cp "$f" "$out/seed-mapping/$((n++)).xml"
done
seed record
for f in "$top"/tests/integration/cases/*/*.xml "$top"/mappings/applications-sample.xml; do
    case $f in */mapping*.xml) continue ;; esac
    [ -f "$f" ] && [ "$(stat -c %s "$f")" -lt 100000 ] && cp "$f" "$out/seed-record/$((n++)).xml"
done
# a '<' in CDATA, comments, PIs and a DOCTYPE's subset starts no tag (the
# input filter follows every byte; issue 8)
apps="<a:applications xmlns:a='urn:example:apps'>"
{ printf '%s<a:application app_id="1"><a:product>CARD</a:product><a:notes><![CDATA[<p>x</p><img src="data:image/png;base64,' "$apps"
  head -c 6000 /dev/zero | tr '\0' A
  printf '">]]></a:notes></a:application></a:applications>\n'; } > "$out/seed-record/lt-cdata.xml"
{ printf '<!DOCTYPE a:applications [<!-- ] > --><?p ]>?><!ENTITY e "]>">]>%s' "$apps"
  printf '<a:application app_id="2"><a:product>LOAN</a:product><!-- <x a="--><?pi <y ?>'
  printf "<a:notes><![CDATA[a<b c='d]]>&e;</a:notes></a:application></a:applications>\n"; } \
    > "$out/seed-record/lt-markup.xml"
seed path
for f in "$out"/seed-mapping/*.xml; do
    { grep -o '\(path\|each\|record\|route\)="[^"]*"' "$f" || true; } | sed 's/^[a-z]*="//; s/"$//'
done | sort -u | while IFS= read -r p; do
    printf '%s' "$p" > "$out/seed-path/$((n++))"
done
seed types
i=0
for v in 0 -1 255 256 32767 -32768 2147483647 -9223372036854775808 9223372036854775808 \
        1.5 -0.30000000000000004 1e308 1.7976931348623157e308 12345.675 true False \
        2024-02-29 1900-02-29 2024-13-01 23:59:59.9999999 24:00:00 \
        2024-03-01T09:30:00Z 2024-03-01T09:30:00.1234567+14:00 "1999-12-31 23:59" \
        "{6F9619FF-8B86-D011-B42D-00C04FC964FF}" "Dupré" "Straße  " "ÁÉÍÓÚ€𝄞"; do
    printf '%s' "$v" > "$out/seed-types/v$((i++))"
done
for spec in int "decimal(12,2)" "varchar(8)" "nvarchar(4)" date datetime time; do
    printf '%s\0%s' "$spec" "2024-02-29T23:59:59.5+01:00" > "$out/seed-types/s$((i++))"
done
echo "built in $out: $(cd "$out" && ls -d fuzz_* seed-* | tr '\n' ' ')"
