#!/usr/bin/env bash
# ui.test.sh - end-to-end test of the chat page (issue 7): starts
# `tinylm serve` with two tiny synth models on a free loopback port and
# runs ui.spec.mjs (playwright-core driving Debian's chromium, headless).
# Screenshots go to $TLM_BINARY_DIR/artifacts/web/.
#
# The page must come from the server at "/".  Only while the server does
# not serve it yet (the route is not wired) does the test fall back to a
# small proxy that serves the built page and forwards the API to the real
# server, and says so loudly.  Skips (77) without chromium, the npm
# packages or the built page.
set -u
SRC=${TLM_SOURCE_DIR:?TLM_SOURCE_DIR not set}
BIN=${TLM_BINARY_DIR:?TLM_BINARY_DIR not set}
CLI=${TLM_CLI:?TLM_CLI not set}
CHROMIUM=/usr/bin/chromium
ART=$BIN/artifacts/web

[ -x "$CHROMIUM" ] || { echo "skipped: $CHROMIUM not installed (apt-get install chromium)"; exit 77; }
[ -d "$SRC/node_modules/playwright-core" ] ||
    { echo "skipped: npm package playwright-core not installed (npm ci)"; exit 77; }
. "$SRC/tests/lib/models.sh"
QWEN=$(model_path qwen2-tiny q8_0) || exit $?
GEMMA=$(model_path gemma-tiny q8_0) || exit $?

T=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    sleep 0.3
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*"
    echo "--- server log (tail)"; tail -20 "$T/serve.log" 2>/dev/null
    exit 1
}

"$CLI" serve --port 0 -m "$QWEN" -m "$GEMMA" --parallel 2 --ctx 2048 -t 2 2>"$T/serve.log" &
PIDS+=($!)
PORT=""
for _ in $(seq 1 600); do
    grep -q "^tinylm serve: ready on" "$T/serve.log" && break
    kill -0 "${PIDS[0]}" 2>/dev/null || fail "server exited"
    sleep 0.1
done
PORT=$(sed -n 's|^tinylm serve: ready on http://[^ ]*:\([0-9][0-9]*\).*|\1|p' "$T/serve.log" | head -1)
[ -n "$PORT" ] || fail "server not ready within 60 s"
URL=http://127.0.0.1:$PORT

BASE=$URL
if ! curl -sf -H 'Accept: text/html' "$URL/" | head -c 200 | grep -qi '<!doctype html>'; then
    [ -f "$BIN/web/index.html" ] ||
        { echo "skipped: the server does not serve the page and $BIN/web/index.html is not built"; exit 77; }
    echo "NOTE: tinylm serve does not answer GET / with the chat page yet (route not wired to"
    echo "      tlm_web_handle); testing the built page through tests/web/proxy.mjs instead"
    node "$SRC/tests/web/proxy.mjs" "$BIN/web/index.html" "$URL" >"$T/proxy.out" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 1 50); do grep -q listening "$T/proxy.out" && break; sleep 0.1; done
    BASE=http://127.0.0.1:$(awk '/listening/ {print $2}' "$T/proxy.out")
else
    # Served by tinylm itself: check the validators a reload relies on.
    ETAG=$(curl -sfI -H 'Accept: text/html' "$URL/" | tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
    [ -n "$ETAG" ] || fail "GET / has no ETag"
    CODE=$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: text/html' -H "If-None-Match: $ETAG" "$URL/")
    [ "$CODE" = 304 ] || fail "If-None-Match with the ETag gave $CODE, not 304"
fi

rm -rf "$ART"
mkdir -p "$ART"
timeout 420 node "$SRC/tests/web/ui.spec.mjs" "$BASE" "$ART" || fail "ui.spec.mjs failed"
kill -0 "${PIDS[0]}" 2>/dev/null || fail "server died during the test"
echo "screenshots: $(ls "$ART" | tr '\n' ' ')"
