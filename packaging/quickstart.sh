#!/usr/bin/env bash
# quickstart.sh — on a fresh Debian 12: install the packages migrate needs,
# build it, load the bundled example (20 credit applications) into the
# embedded SQLite database example.db, and show what was loaded.
# Run it from anywhere, as root or as a user who may sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
"${as_root[@]}" apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    build-essential autoconf automake pkg-config libxml2-dev unixodbc-dev unixodbc odbcinst \
    libsqliteodbc libpcre2-dev libcunit1-dev zlib1g-dev freetds-dev tdsodbc sqlite3

autoreconf -fi
./configure
make -j"$(nproc)"

rm -f example.db example.db-wal example.db-shm example.rejects.xml
./migrate --workers 2 --batch-size 500 --db example.db \
    -m mappings/applications.xml mappings/applications-sample.xml

echo
echo "== what was loaded into example.db (first rows of each table) =="
sqlite3 -header -column example.db \
    "SELECT * FROM app_base ORDER BY app_id LIMIT 5;" \
    "SELECT * FROM contact_base ORDER BY app_id, con_id LIMIT 8;" \
    "SELECT * FROM contact_address ORDER BY app_id, con_id LIMIT 8;" \
    "SELECT (SELECT count(*) FROM app_base) AS applications,
            (SELECT count(*) FROM contact_base) AS contacts,
            (SELECT count(*) FROM contact_address) AS addresses;"
