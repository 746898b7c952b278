#!/usr/bin/env bash
# smoke.sh [SECONDS] — CI smoke of the fuzz targets: build them (build.sh)
# in a temporary directory and run each for SECONDS (default 15; 4 targets) from its
# seed corpus.  Fails if a target does not build, or finds a crash, a leak
# or a sanitizer report.  The long runs (10^6 executions each) and their
# figures are in tests/fuzz/README.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
secs=${1:-15}
command -v clang >/dev/null 2>&1 || { echo "smoke: clang missing (apt-get install clang)" >&2; exit 1; }
out=$(mktemp -d "${TMPDIR:-/tmp}/migrate-fuzz.XXXXXX")
trap 'rm -rf "$out"' EXIT
"$here/build.sh" "$out"
failed=0
for t in mapping path types record; do
    mkdir -p "$out/corpus-$t" "$out/art-$t"
    if "$out/fuzz_$t" "$out/corpus-$t" "$out/seed-$t" -max_total_time="$secs" \
            -max_len=8192 -print_final_stats=1 -artifact_prefix="$out/art-$t/" \
            > "$out/log-$t" 2>&1; then
        printf 'fuzz_%-8s ok: %s executions, %s exec/s\n' "$t" \
            "$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log-$t")" \
            "$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/log-$t")"
    else
        echo "fuzz_$t FAILED:" >&2
        grep -A 30 -E "ERROR|SUMMARY" "$out/log-$t" | head -n 60 >&2
        for a in "$out/art-$t"/*; do
            [ -f "$a" ] && { echo "input (base64):" >&2; base64 "$a" | head -n 20 >&2; }
        done
        failed=1
    fi
done
exit $failed
