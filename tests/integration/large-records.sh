#!/usr/bin/env bash
# large-records.sh — memory stays under 64 MB on inputs of large records and
# hostile shapes, and each record too large is rejected alone (issue 8,
# item 14):
#
#   many-large   30 records of 10 MB each (a text not mapped), all loaded;
#   mapped-text  3 MB notes, mapped, with multi-byte characters, references,
#                comments and CDATA: the note loaded byte for byte, though
#                the reader takes it from libxml2 in pieces;
#   huge-text    a 40 MB text node and 42 MB of white space in two records:
#                those two rejected ("record too large"), the rest loaded;
#   many-nodes   400,000 elements in one record (rejected), 1,000 levels of
#                nesting in another (loaded);
#   big-value    a mapped note of 15,000,000 bytes (a record near the 16M
#                default of --max-record-bytes) among small ones: loaded
#                byte for byte -- also into PostgreSQL (MIGRATE_TEST_PG) and
#                the TDS server (MIGRATE_TEST_MSSQL, --load insert and bcp),
#                each in a database of its own, read back with dbdump;
#   two-values   notes of 15,000,000 and 14,000,000 bytes one after the other
#                (SQLite, and PostgreSQL with MIGRATE_TEST_PG): loaded one at
#                a time, both exactly;
#   huge-attr    40 MB attributes, comments and PIs inside records and
#                between them: cut by the reader's filter, each record
#                holding one rejected alone, the others loaded, in seconds;
#   tag-bound    a 15 MB attribute and a 3 MB comment (under the record
#                limit, over the 1 MB a tag or comment may take): rejected.
#   lt-in-markup a '<' in CDATA, comments and PIs (a 1.5 MB data-URI <img> in
#                CDATA, "a<b c>d" and 600 KB, "<!-- <x" and 600 KB): loaded
#                byte for byte; such 2 MB comments and PIs cut, their records
#                rejected alone.
#
# Each case: tests/integration/large-records.py writes the input and the
# expected rows, rejects and stderr; migrate loads it into SQLite under
# /usr/bin/time, whose peak RSS must stay below RSS_BOUND_KB (65,536: 64 MB);
# the rows of app_base (the note as length and SHA-256) must equal the
# expected ones, the reject file must name exactly the expected records.
# The peak of each case is printed.  Exit: 0 passed, 1 failed, 99 the test
# itself cannot run.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
MIGRATE=${MIGRATE:-$top_builddir/migrate}
bound=${RSS_BOUND_KB:-65536}
# AddressSanitizer's shadow memory and quarantine are no figure of ours:
# under a sanitizer build (configure --enable-sanitizers) no bound is checked
if grep -qs '^SANITIZER_CFLAGS = -fsanitize' "$top_builddir/Makefile"; then
    echo "# a sanitizer build: peak RSS printed, not bounded"
    bound=
fi

[ -x "$MIGRATE" ] || { echo "ERROR: $MIGRATE not built" >&2; exit 99; }
[ -x /usr/bin/time ] || { echo "ERROR: /usr/bin/time missing (apt-get install time)" >&2; exit 99; }
command -v python3 >/dev/null 2>&1 || { echo "ERROR: python3 missing" >&2; exit 99; }

work=$(mktemp -d "${TMPDIR:-/tmp}/migrate-large.XXXXXX")
trap 'rm -rf "$work"' EXIT

cat > "$work/mapping.xml" <<'XML'
<mapping xmlns="urn:migrate:mapping:1" record="/a:applications/a:application">
  <namespace prefix="a" uri="urn:example:apps"/>
  <table name="app_base" key="app_id">
    <column name="app_id"  path="@app_id"  type="int"/>
    <column name="product" path="a:product" type="varchar(8)"/>
    <column name="note"    path="a:note"    type="nvarchar(max)"/>
  </table>
</mapping>
XML

fail=0
for c in ${LARGE_CASES:-many-large mapped-text huge-text many-nodes big-in-batch big-value two-values huge-attr tag-bound lt-in-markup}; do
    d="$work/$c"
    mkdir -p "$d"
    python3 "$here/large-records.py" "$c" "$d" || { echo "ERROR: $c: generator failed" >&2; exit 99; }
    (cd "$d" && /usr/bin/time -f '%M' -o rss "$MIGRATE" --db t.db -m ../mapping.xml \
        --rejects rejects.xml input.xml > out 2> err)
    rc=$?
    rss=$(tail -n 1 "$d/rss")
    reason=""
    want_rc=0
    [ -s "$d/expected-stderr" ] && want_rc=65
    [ -s "$d/expected-rejects" ] && [ "$want_rc" = 0 ] && want_rc=1
    [ "$rc" = "$want_rc" ] || reason+="  exit $rc, expected $want_rc"$'\n'
    [ -z "$bound" ] || [ "$rss" -lt "$bound" ] 2>/dev/null || reason+="  peak RSS ${rss} kB, bound $bound kB"$'\n'
    while IFS= read -r line; do
        grep -qF -- "$line" "$d/err" || reason+="  stderr lacks: $line"$'\n'
    done < "$d/expected-stderr"
    # rows, the note as length:sha256
    python3 - "$d/t.db" > "$d/actual.tsv" <<'PY' || reason+="  cannot read the database"$'\n'
import hashlib, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for app_id, product, note in db.execute(
        "SELECT app_id, product, note FROM app_base ORDER BY app_id"):
    sig = "\\N" if note is None else "%d:%s" % (len(note.encode()),
                                               hashlib.sha256(note.encode()).hexdigest())
    print("%d\t%s\t%s" % (app_id, product, sig))
PY
    diff "$d/expected.tsv" "$d/actual.tsv" > "$d/rows.diff" ||
        reason+="  rows differ (--- expected +++ actual):"$'\n'"$(head -n 20 "$d/rows.diff")"$'\n'
    # the reject file: exactly the expected records, with their reason
    if [ -s "$d/expected-rejects" ]; then
        n=$(grep -c '<!-- migrate reject' "$d/rejects.xml" 2>/dev/null)
        want=$(wc -l < "$d/expected-rejects")
        [ "${n:-0}" = "$want" ] || reason+="  ${n:-0} rejected records, expected $want"$'\n'
        while IFS=$'\t' read -r seq why; do
            grep -q "<!-- migrate reject.* record $seq: .*$why" "$d/rejects.xml" ||
                reason+="  record $seq not rejected with \"$why\""$'\n'
        done < "$d/expected-rejects"
        if [ -s "$d/expected-reject-bytes" ] &&
            [ "$(wc -c < "$d/rejects.xml")" -lt "$(cat "$d/expected-reject-bytes")" ]; then
            reason+="  the reject file lacks the records' XML"$'\n'
        fi
    elif [ -e "$d/rejects.xml" ]; then
        reason+="  unexpected reject file"$'\n'
    fi
    if [ -n "$reason" ]; then
        echo "FAIL: $c (peak RSS ${rss} kB)"
        printf '%s' "$reason"
        sed 's/^/  | /' "$d/err" | head -n 5
        fail=1
    else
        echo "ok: $c (peak RSS ${rss} kB, $(wc -l < "$d/expected.tsv") rows)"
    fi
    [ "$c" = big-value ] || [ "$c" = two-values ] || rm -f "$d/input.xml"
    rm -f "$d/t.db"
done

# ---- big-value (and two-values) on the servers ----
# sig_rows: dbdump's rows of app_base (stdin) as "app_id<TAB>product<TAB>
# note length:SHA-256", the form of expected.tsv
sig_rows() {
    python3 -c '
import hashlib, sys
esc = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}
def unesc(s):
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s) and s[i + 1] in esc:
            out.append(esc[s[i + 1]]); i += 2
        else:
            out.append(s[i]); i += 1
    return "".join(out)
for line in sys.stdin.buffer.read().decode().split("\n"):
    if not line or line.startswith("#"):
        continue
    app_id, product, note = line.split("\t")
    if note != "\\N":
        b = unesc(note).encode()
        note = "%d:%s" % (len(b), hashlib.sha256(b).hexdigest())
    print("%s\t%s\t%s" % (app_id, product, note))
'
}
# on_server NAME CASE CONNSTR MIGRATE-OPTION...: load CASE (big-value,
# two-values) into the empty database of CONNSTR, compare its rows and bound
# the peak
on_server() {
    local name=$1 d="$work/$2" conn=$3 reason="" rc rss want=0
    shift 3
    [ -s "$d/expected-rejects" ] && want=1
    (cd "$d" && /usr/bin/time -f '%M' -o "rss.$name" timeout 600 "$MIGRATE" --connect "$conn" \
        --create-tables -m ../mapping.xml "$@" input.xml > "out.$name" 2> "err.$name")
    rc=$?
    rss=$(tail -n 1 "$d/rss.$name")
    [ "$rc" = "$want" ] || reason+="  exit $rc, expected $want"$'\n'
    [ -z "$bound" ] || [ "$rss" -lt "$bound" ] 2>/dev/null ||
        reason+="  peak RSS ${rss} kB, bound $bound kB"$'\n'
    if ! timeout 300 "$DBDUMP" --connect "$conn" -m "$work/mapping.xml" app_base \
        > "$d/dump.$name" 2> "$d/dump-err.$name"; then
        reason+="  dbdump failed: $(head -c 300 "$d/dump-err.$name")"$'\n'
    fi
    sig_rows < "$d/dump.$name" > "$d/actual.$name"
    diff "$d/expected.tsv" "$d/actual.$name" > "$d/rows.$name.diff" ||
        reason+="  rows differ (--- expected +++ actual):"$'\n'"$(head -n 20 "$d/rows.$name.diff")"$'\n'
    if [ -n "$reason" ]; then
        echo "FAIL: ${d##*/} on $name (peak RSS ${rss} kB)"
        printf '%s' "$reason"
        sed "s/${pg_password:-@@none@@}/***/g; s/${tds_password:-@@none@@}/***/g" "$d/err.$name" |
            sed 's/^/  | /' | head -n 5
        fail=1
    else
        echo "ok: ${d##*/} on $name (peak RSS ${rss} kB, $(wc -l < "$d/expected.tsv") rows)"
    fi
}
if [ -f "$work/big-value/input.xml" ] || [ -f "$work/two-values/input.xml" ]; then
    pg_password="" tds_password=""
    # shellcheck source=tests/integration/lib.sh
    . "$here/lib.sh"
    # shellcheck source=tests/integration/pg-env.sh
    . "$here/pg-env.sh"
    # shellcheck source=tests/integration/tds-env.sh
    . "$here/tds-env.sh"
    [ -x "$DBDUMP" ] || { echo "ERROR: $DBDUMP not built" >&2; exit 99; }
    if [ -n "${MIGRATE_TEST_PG:-}" ]; then
        pg_env_setup
        for c in big-value two-values; do
            [ -f "$work/$c/input.xml" ] || continue
            if pg_own_database "migrate_large_${c//-/_}"; then
                on_server postgresql "$c" "$MIGRATE_TEST_PG"
            else
                echo "ERROR: cannot create the PostgreSQL database migrate_large_${c//-/_}" >&2
                exit 99
            fi
        done
    else
        echo "# big-value on PostgreSQL skipped (MIGRATE_TEST_PG unset)"
    fi
    if [ -n "${MIGRATE_TEST_MSSQL:-}" ] && [ -f "$work/big-value/input.xml" ]; then
        tds_env_setup
        for load in insert bcp; do
            tds_own_database "migrate_large_$load" 2> "$work/tds.err" ||
                { echo "ERROR: cannot create a TDS database: $(cat "$work/tds.err")" >&2; exit 99; }
            on_server "sqlserver-$load" big-value "$MIGRATE_TEST_MSSQL" --load "$load"
        done
    else
        echo "# big-value on the TDS server skipped (MIGRATE_TEST_MSSQL unset)"
    fi
fi
exit $fail
