#!/bin/sh
# make-rpm.sh TARBALL SPEC [OUTDIR] — build the RPM of migrate from a
# `make dist` tarball with rpmbuild (what `make rpm` runs), in a temporary
# _topdir, and move the binary RPM into OUTDIR (default: here).  On an RPM
# distribution the spec's BuildRequires are checked; elsewhere (Debian's rpm
# package has no RPM database of the installed libraries) set
# MIGRATE_RPM_NODEPS=1 to pass --nodeps.
set -eu
tarball=$1
spec=$2
out=${3:-.}
out=$(cd "$out" && pwd)
top=$(mktemp -d "${TMPDIR:-/tmp}/migrate-rpm.XXXXXX")
trap 'rm -rf "$top"' EXIT INT TERM
mkdir -p "$top/SOURCES" "$top/SPECS"
cp "$tarball" "$top/SOURCES/"
cp "$spec" "$top/SPECS/"
nodeps=
[ "${MIGRATE_RPM_NODEPS:-0}" = 1 ] && nodeps=--nodeps
rpmbuild -bb $nodeps --define "_topdir $top" "$top/SPECS/$(basename "$spec")"
for f in "$top"/RPMS/*/*.rpm; do
    mv "$f" "$out/"
    echo "make-rpm: $out/$(basename "$f")"
done
