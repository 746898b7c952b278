# shellcheck shell=bash
# shellcheck disable=SC2317  # functions reached only through trap
# with-server.sh — the skeleton tests/with-postgres.sh and tests/with-tds.sh
# share, sourced by both (they differ in what server they start and what
# they export):
#
#   with_usage "$@"               usage line and exit 64 without a CMD
#   with_traps                    on every exit path run the script's
#                                 `cleanup` (stop the server, remove its
#                                 directory); SIGINT / SIGTERM are passed
#                                 to CMD first, then exit 130 / 143
#   stop_postmaster PIDFILE       end a postmaster that outlived its stop
#                                 command: TERM, up to 5 s, then KILL
#   with_run CMD [ARG...]         run CMD (in the background, stdin kept, so
#                                 a signal runs the trap at once) and exit
#                                 with its status

with_usage() {
    if [ $# -eq 0 ]; then
        echo "usage: $0 CMD [ARG...]" >&2
        exit 64
    fi
}

stop_postmaster() {
    local pid=""
    [ -f "$1" ] || return 0
    pid=$(head -n 1 "$1" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
}

on_exit() {
    local rc=$?
    trap - EXIT INT TERM
    cleanup
    exit "$rc"
}

on_signal() {
    trap - EXIT INT TERM
    if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
        kill -"$2" "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
    fi
    cleanup
    exit "$1"
}

with_traps() {
    child=""
    trap on_exit EXIT
    trap 'on_signal 130 INT' INT
    trap 'on_signal 143 TERM' TERM
}

with_run() {
    set +e
    "$@" <&0 &
    child=$!
    wait "$child"
    local rc=$?
    child=""
    set -e
    exit "$rc"
}
