#!/bin/sh
# test-fresh-debian.sh DEB — install a built package on a fresh Debian 12
# and run it: debootstrap a minimal bookworm into a temporary directory,
# `apt install ./DEB` there (which must pull libxml2, libodbc2, libpcre2,
# zlib and the recommended ODBC drivers), then --version, a load of the
# installed example into SQLite with the rows counted, check and ping.
# Needs root, debootstrap and the network (about 150 MB, a few minutes);
# not part of CI, which installs the package into the CI machine instead.
set -eu
deb=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
mirror=${MIRROR:-http://deb.debian.org/debian}
root=$(mktemp -d "${TMPDIR:-/tmp}/migrate-fresh.XXXXXX")
cleanup() {
    umount "$root/proc" 2>/dev/null || true
    rm -rf "$root"
}
trap cleanup EXIT INT TERM
debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
cp "$deb" "$root/root/"
mount -t proc proc "$root/proc"
chroot "$root" /bin/sh -ec "
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q /root/$(basename "$deb") >/dev/null
/usr/bin/migrate --version
cd /tmp
ex=/usr/share/migrate/examples
/usr/bin/migrate --quiet --db t.db -m \$ex/applications.xml \$ex/applications-sample.xml
/usr/bin/migrate check -m \$ex/applications.xml \$ex/applications-sample.xml
/usr/bin/migrate ping --db t.db
"
# the rows, read back with the sqlite3 CLI of the test's own machine
counts=$(sqlite3 "$root/tmp/t.db" "SELECT (SELECT count(*) FROM app_base) || ' ' ||
    (SELECT count(*) FROM contact_base) || ' ' || (SELECT count(*) FROM contact_address);")
[ "$counts" = "20 32 32" ] || { echo "rows: $counts, expected 20 32 32" >&2; exit 1; }
echo "fresh Debian 12: installed with apt, loaded 20 applications, 32 contacts, 32 addresses"
