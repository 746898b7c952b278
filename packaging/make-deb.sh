#!/bin/sh
# make-deb.sh TARBALL [OUTDIR] — build the Debian package of migrate from a
# `make dist` tarball (what `make deb` runs): unpack it in a temporary
# directory, put packaging/debian in place as debian/, run
# `dpkg-buildpackage -b` (unsigned), and move the .deb into OUTDIR (default
# the current directory).  Needs dpkg-dev, debhelper and the build
# dependencies of packaging/debian/control (dpkg-checkbuilddeps names what
# is missing).  Install the result with `apt install ./migrate_*.deb`.
set -eu
tarball=$1
out=${2:-.}
out=$(cd "$out" && pwd)
tarball=$(cd "$(dirname "$tarball")" && pwd)/$(basename "$tarball")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/migrate-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
tar -xzf "$tarball" -C "$tmp"
src=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d -name 'migrate-*')
cp -R "$src/packaging/debian" "$src/debian"
chmod +x "$src/debian/rules"
(cd "$src" && dpkg-buildpackage -us -uc -b)
for f in "$tmp"/*.deb; do
    mv "$f" "$out/"
    echo "make-deb: $out/$(basename "$f")"
done
