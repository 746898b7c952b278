#!/usr/bin/env bash
# run-sqlite.sh — run.sh's cases on the target sqlite alone, so that make -j check
# runs the four targets side by side (each SQL Server target in a database
# of its own).  Exit 77 (skipped) when the target is not configured.
here=$(cd "$(dirname "$0")" && pwd)
MIGRATE_TEST_TARGETS=sqlite exec "$here/run.sh" "$@"
