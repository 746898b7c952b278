#!/usr/bin/env bash
# ci.sh — build migrate and run every test, on a fresh Debian 12.
#
#   1. install the build and test packages (apt-get; as root or through sudo;
#      skipped when they are all installed already)
#   2. autoreconf -fi
#   3. AddressSanitizer + UBSan build in build-asan/ (a VPATH build):
#      unit tests and integration tests against SQLite only
#   4. the normal build in the source tree: ./configure && make -j2;
#      the unit tests and the integration tests (SQLite) under valgrind
#      (no leaks, no errors); before it, the fuzz targets' smoke (3b,
#      tests/fuzz/smoke.sh: clang libFuzzer builds, 15 s each)
#   5. make check against SQLite, a throwaway PostgreSQL 15
#      (tests/with-postgres.sh) and a throwaway TDS server (tests/with-tds.sh:
#      the SQL Server cases, --load insert and --load bcp; skipped with a
#      SKIP line when there is no ../shared/tds-server); its automake
#      summary is printed last
#   6. make distcheck with the unit tests and the SQLite cases (about 2 min;
#      MIGRATE_CI_DISTCHECK=0 skips it)
#   7. the Debian package: make deb, lintian, apt install ./migrate_*.deb
#      into this machine, then the installed /usr/bin/migrate: --version,
#      systemd-analyze verify of its units, and a load of the installed
#      example into SQLite with the rows checked (about 1-2 minutes;
#      MIGRATE_CI_DEB=0 skips it)
#
# The postgresql package may create and start its own cluster 15/main on
# port 5432: nothing here uses or touches it.  Any failure stops the run with
# a non-zero status and the failing test's log.
set -euo pipefail

cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
export LC_ALL=C.UTF-8
jobs=${MIGRATE_CI_JOBS:-2}
t0=$(date +%s)

# Print a stage banner with the elapsed time.
stage() {
    printf '\n==== [%4ds] %s ====\n' $(( $(date +%s) - t0 )) "$*"
}

# Print the test-suite.log of build dir $1 (after a failed make check) and fail.
check_failed() {
    echo "ci: make check failed in $1" >&2
    if [ -f "$1/test-suite.log" ]; then
        echo "---- $1/test-suite.log ----" >&2
        cat "$1/test-suite.log" >&2
    fi
    exit 1
}

# ---- 1. packages ----
packages=(build-essential autoconf automake libtool pkg-config
    libxml2-dev libxml2-utils unixodbc-dev unixodbc odbcinst libsqliteodbc
    libpcre2-dev libcunit1-dev zlib1g-dev freetds-dev tdsodbc libssl-dev
    postgresql odbc-postgresql sqlite3 valgrind gzip netcat-openbsd
    coreutils procps util-linux
    clang           # the fuzz targets' smoke (tests/fuzz/smoke.sh)
    python3 time    # the bench harness's smoke test (tests/bench/smoke.sh)
    freetds-bin gnuplot-nox   # ... its tds target (tsql, freebcp) and its picture
    debhelper dpkg-dev lintian)   # the package stage (make deb)

stage "packages"
missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "all ${#packages[@]} packages installed"
else
    echo "installing: ${missing[*]}"
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || { echo "ci: not root and no sudo: install ${missing[*]}" >&2; exit 1; }
        sudo=(sudo -E)
    fi
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${packages[@]}"
fi

# ---- 2. autotools ----
stage "autoreconf"
if [ -f config.status ]; then
    # An in-tree configure blocks VPATH builds: start from a clean tree.
    echo "the source tree was configured: make distclean"
    make distclean >/dev/null 2>&1 || true
fi
autoreconf -fi

# LeakSanitizer: ignore what the ODBC driver manager and drivers keep.
lsan_supp=$(mktemp "${TMPDIR:-/tmp}/migrate-lsan.XXXXXX")
trap 'rm -f "$lsan_supp"' EXIT
printf '%s\n' 'leak:libodbc.so' 'leak:libodbcinst.so' 'leak:libltdl.so' \
    'leak:libsqlite3odbc.so' 'leak:libsqliteodbc.so' 'leak:libsqlite3.so' \
    'leak:psqlodbcw.so' 'leak:libpq.so' 'leak:libtdsodbc.so' > "$lsan_supp"

# ---- 3. sanitizers: VPATH build, SQLite only ----
# LeakSanitizer needs ptrace-like rights some containers lack: probe first.
leaks=1
probe=$(mktemp -d "${TMPDIR:-/tmp}/migrate-asan.XXXXXX")
printf "#include <stdlib.h>\nvoid *p;\nint main(void) { p = malloc(7); p = 0; return 0; }\n" > "$probe/p.c"
probe_out=""
if cc -fsanitize=address -o "$probe/p" "$probe/p.c" 2>/dev/null; then
    probe_out=$("$probe/p" 2>&1 || true)
fi
if ! grep -q "detected memory leaks" <<< "$probe_out"; then
    echo "LeakSanitizer unusable here: leak detection off in the sanitizer build"
    leaks=0
fi
rm -rf "$probe"
stage "sanitizer build (build-asan)"
rm -rf build-asan
mkdir build-asan
(
    cd build-asan
    ../configure --enable-sanitizers --quiet
    make -j"$jobs" >/dev/null
) || { echo "ci: sanitizer build failed" >&2; exit 1; }
stage "sanitizer tests (SQLite)"
(
    cd build-asan
    unset MIGRATE_TEST_PG MIGRATE_TEST_PG_PSQL MIGRATE_TEST_MSSQL
    export ASAN_OPTIONS=detect_leaks=$leaks:abort_on_error=0:halt_on_error=1:strict_string_checks=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    export LSAN_OPTIONS="suppressions=$lsan_supp:print_suppressions=0"
    make -j"$jobs" check VERBOSE=1
) || check_failed build-asan

# ---- 3b. fuzz smoke: the libFuzzer targets build and run 15 s each ----
stage "fuzz smoke (tests/fuzz/smoke.sh)"
bash tests/fuzz/smoke.sh 15 || { echo "ci: a fuzz target failed" >&2; exit 1; }

# ---- 4. the normal build ----
stage "configure && make"
./configure --quiet
make -j"$jobs"

stage "unit tests under valgrind"
make -j"$jobs" check TESTS= >/dev/null   # builds the check programs only
vg_failed=0
for t in tests/unit/test_*; do
    case $t in *.c|*.o|*.log|*.trs) continue ;; esac
    [ -x "$t" ] || continue
    if valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
            --error-exitcode=9 "$t" > "$t.valgrind.out" 2>&1; then
        echo "valgrind clean: $t"
    else
        echo "valgrind FAILED: $t" >&2
        cat "$t.valgrind.out" >&2
        vg_failed=1
    fi
    rm -f "$t.valgrind.out"
done
[ "$vg_failed" -eq 0 ] || { echo "ci: valgrind found errors" >&2; exit 1; }

stage "integration tests under valgrind (SQLite)"
MIGRATE_TEST_WRAPPER="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99" \
    MIGRATE_TEST_PG='' MIGRATE_TEST_MSSQL='' top_srcdir="$PWD" top_builddir="$PWD" bash tests/integration/run.sh \
    || { echo "ci: the integration tests failed under valgrind" >&2; exit 1; }

# ---- 5. make check with PostgreSQL ----
stage "make check (SQLite + PostgreSQL + TDS server)"
# A TDS server script next to the tree must start: no silent skip in CI.
for s in ${MIGRATE_TDS_SERVER:-../shared/tds-server/tds-server /work/shared/tds-server/tds-server}; do
    [ -x "$s" ] && export MIGRATE_TDS_REQUIRED=1
done
bash tests/with-postgres.sh bash tests/with-tds.sh make -j"$jobs" check VERBOSE=1 || check_failed .

# ---- 6. distcheck (about 2 min; MIGRATE_CI_DISTCHECK=0 skips it) ----
if [ "${MIGRATE_CI_DISTCHECK:-1}" = 1 ]; then
    stage "make distcheck"
    # EXTRA_DIST ships the directory tests/integration whole: keep the
    # in-tree run's log out of the tarball (else the VPATH check finds it
    # "up to date" in the read-only source and cannot write its own).
    rm -f tests/integration/run*.sh.log tests/integration/run*.sh.trs
    # the whole suite ran above: here the unit tests and the SQLite cases
    if ! make -j"$jobs" distcheck TESTS='$(DISTCHECK_TESTS)' >distcheck.log 2>&1; then
        tail -n 60 distcheck.log >&2
        # the failing tests' own logs, from the tree distcheck leaves behind
        for trs in $(grep -l ':test-result: FAIL' migrate-*/_build/sub/tests/*/*.trs 2>/dev/null); do
            echo "---- ${trs%.trs}.log (last 150 lines) ----" >&2
            tail -n 150 "${trs%.trs}.log" >&2
        done
        echo "ci: make distcheck failed (distcheck.log)" >&2
        exit 1
    fi
    grep -A 2 "archives ready" distcheck.log || true
else
    echo "(make distcheck skipped: MIGRATE_CI_DISTCHECK=0)"
fi

# ---- 7. the Debian package, installed and run ----
if [ "${MIGRATE_CI_DEB:-1}" = 1 ]; then
    stage "Debian package: make deb, lintian, apt install, the installed binary"
    rm -f migrate_*.deb migrate-dbgsym_*.deb
    make deb >deb.log 2>&1 || { tail -n 60 deb.log >&2; echo "ci: make deb failed (deb.log)" >&2; exit 1; }
    deb=$(ls migrate_*_*.deb)
    echo "built $deb"
    lintian --fail-on error "$deb" || { echo "ci: lintian found errors in $deb" >&2; exit 1; }
    as_root=()
    [ "$(id -u)" -eq 0 ] || as_root=(sudo -E)
    "${as_root[@]}" apt-get install -y -q "./$deb" >/dev/null
    /usr/bin/migrate --version
    if command -v systemd-analyze >/dev/null 2>&1; then
        systemd-analyze verify /lib/systemd/system/migrate@.service /lib/systemd/system/migrate@.timer \
            || { echo "ci: systemd-analyze verify failed on the installed units" >&2; exit 1; }
    fi
    pkg_tmp=$(mktemp -d "${TMPDIR:-/tmp}/migrate-deb-ci.XXXXXX")
    ex=/usr/share/migrate/examples
    (cd "$pkg_tmp" && /usr/bin/migrate --quiet --db pkg.db -m "$ex/applications.xml" "$ex/applications-sample.xml") \
        || { echo "ci: the installed migrate failed to load the example" >&2; exit 1; }
    counts=$(sqlite3 "$pkg_tmp/pkg.db" "SELECT (SELECT count(*) FROM app_base) || ' ' ||
        (SELECT count(*) FROM contact_base) || ' ' || (SELECT count(*) FROM contact_address);")
    [ "$counts" = "20 32 32" ] || { echo "ci: installed load: rows $counts, expected 20 32 32" >&2; exit 1; }
    # the same rows, value for value, as the in-tree build loads
    ./migrate --quiet --db "$pkg_tmp/tree.db" -m mappings/applications.xml mappings/applications-sample.xml
    tests/dbdump --db "$pkg_tmp/pkg.db" -m mappings/applications.xml | sed 's|	[^	]*applications-sample.xml$|	SAMPLE|' > "$pkg_tmp/pkg.tsv"
    tests/dbdump --db "$pkg_tmp/tree.db" -m mappings/applications.xml | sed 's|	[^	]*applications-sample.xml$|	SAMPLE|' > "$pkg_tmp/tree.tsv"
    diff -u "$pkg_tmp/tree.tsv" "$pkg_tmp/pkg.tsv" || { echo "ci: the installed binary loaded other rows" >&2; exit 1; }
    echo "installed /usr/bin/migrate loaded 20 applications, 32 contacts, 32 addresses (same rows as the tree's build)"
    rm -rf "$pkg_tmp"
else
    echo "(Debian package stage skipped: MIGRATE_CI_DEB=0)"
fi

stage "done"
echo "sanitizer build (SQLite only):"
sed -n '/^# TOTAL/,/^# ERROR/p' build-asan/test-suite.log
echo "normal build (SQLite + PostgreSQL + TDS server):"
sed -n '/^# TOTAL/,/^# ERROR/p' test-suite.log
