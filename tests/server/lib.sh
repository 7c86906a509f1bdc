# lib.sh - sourced by the server script tests: starts `tinylm serve` on an
# ephemeral loopback port with tiny synth models, waits until it is ready,
# and always kills it at the end.  Every wait is bounded.
#   start_server NAME ARGS...  -> sets URL, PORT, SRV_PID, SRV_LOG (NAME.log)
#   wait_ready                 -> after start_server_bg: until "ready" (60 s)
#   stop_server                -> SIGTERM, then SIGKILL after 10 s
set -u
CLI=${TLM_CLI:?TLM_CLI is not set}
SRC=${TLM_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
export TLM_SOURCE_DIR=$SRC TLM_CLI=$CLI
[ -d "$SRC/node_modules/openai" ] && [ -d "$SRC/node_modules/ollama" ] ||
    { echo "skip: npm packages openai/ollama not installed (npm install)"; exit 77; }
. "$SRC/tests/lib/models.sh"
# Sanitizer builds: a leak or error must fail the test, not scroll by.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}

T=$(mktemp -d)
SRV_PIDS=()
cleanup() {
    for p in "${SRV_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    for p in $(jobs -p); do kill "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*"
    [ -n "${SRV_LOG:-}" ] && [ -f "$SRV_LOG" ] && { echo "--- server log (tail)"; tail -25 "$SRV_LOG"; }
    exit 1
}

# Starts the server in the background without waiting.
start_server_bg() {
    local name=$1
    shift
    SRV_LOG="$T/$name.log"
    "$CLI" serve --port 0 "$@" 2>"$SRV_LOG" &
    SRV_PID=$!
    SRV_PIDS+=("$SRV_PID")
    PORT=""
    for _ in $(seq 1 300); do
        PORT=$(sed -n 's|^tinylm serve: listening on http://[^ ]*:\([0-9][0-9]*\) .*|\1|p' "$SRV_LOG" | head -1)
        [ -n "$PORT" ] && break
        kill -0 "$SRV_PID" 2>/dev/null || fail "server exited at start: $(cat "$SRV_LOG")"
        sleep 0.1
    done
    [ -n "$PORT" ] || fail "the server did not say which port it listens on"
    URL="http://127.0.0.1:$PORT"
}

wait_ready() {
    for _ in $(seq 1 600); do
        grep -q "^tinylm serve: ready on" "$SRV_LOG" && return 0
        kill -0 "$SRV_PID" 2>/dev/null || fail "server exited while loading"
        sleep 0.1
    done
    fail "server not ready after 60 s"
}

start_server() {
    start_server_bg "$@"
    wait_ready
}

# Stops the server; it must exit with status 0 (sanitizer builds report
# leaks and errors through the status).
stop_server() {
    kill -TERM "$SRV_PID" 2>/dev/null
    for _ in $(seq 1 100); do
        if ! kill -0 "$SRV_PID" 2>/dev/null; then
            wait "$SRV_PID" 2>/dev/null
            local rc=$?
            [ "$rc" = 0 ] || fail "the server exited with status $rc"
            return 0
        fi
        sleep 0.1
    done
    kill -9 "$SRV_PID" 2>/dev/null
    fail "server did not stop within 10 s of SIGTERM"
}

# node with a time limit; the scripts live next to this file.
run_node() {
    local script=$1
    shift
    timeout 300 node "$SRC/tests/server/$script" "$@"
}

# Waits at most SECONDS for process PID to exit; returns its exit status.
wait_exit() {
    local pid=$1 secs=$2
    for _ in $(seq 1 $((secs * 10))); do
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid" 2>/dev/null
            return $?
        fi
        sleep 0.1
    done
    fail "process $pid still running after $secs s"
}
