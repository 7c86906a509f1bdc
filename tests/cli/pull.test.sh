#!/usr/bin/env bash
# pull.test.sh - `tinylm pull` against a local HTTP server (http_server.py):
# a full download, resume of an interrupted one through a Range request, a
# restart when the server ignores ranges, refusal of a non-GGUF body and of
# a wrong digest (nothing left in the cache), HTTP errors, `pull --list`,
# and name resolution by `tinylm run` error messages.
set -u
CLI=${TLM_CLI:?TLM_CLI is not set}
SRC=${TLM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v python3 >/dev/null || { echo "skip: python3 not found"; exit 77; }

T=$(mktemp -d)
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# A valid GGUF (v3, no tensors, one 3 MB string) - big enough to be cut.
mkdir -p "$T/www"
python3 - "$T/www/model.gguf" <<'EOF'
import struct, sys, random
random.seed(7)
key = b"general.description"
val = bytes(random.choice(b"abcdefghij") for _ in range(3 << 20))
with open(sys.argv[1], "wb") as f:
    f.write(b"GGUF" + struct.pack("<IQQ", 3, 0, 1))
    f.write(struct.pack("<Q", len(key)) + key + struct.pack("<I", 8))
    f.write(struct.pack("<Q", len(val)) + val)
EOF
cp "$T/www/model.gguf" "$T/www/second.gguf"
SHA=$(sha256sum "$T/www/model.gguf" | cut -d' ' -f1)

python3 "$SRC/tests/cli/http_server.py" "$T/www" "$T/port" "$T/log" 2>"$T/server.err" &
SERVER_PID=$!
for _ in $(seq 50); do [ -f "$T/port" ] && break; sleep 0.1; done
[ -f "$T/port" ] || fail "the test server did not start"
URL="http://127.0.0.1:$(cat "$T/port")"
export XDG_CACHE_HOME="$T/cache"
CACHE="$T/cache/tinylm/models"

# 1. An interrupted download fails, says how to resume, keeps only .partial.
out=$("$CLI" pull "$URL/cut/model.gguf" 2>&1) && fail "cut download succeeded"
echo "$out" | grep -q "resume" || fail "no resume hint: $out"
[ -f "$CACHE/model.gguf.partial" ] || fail "no .partial after the cut"
[ ! -e "$CACHE/model.gguf" ] || fail "a cut download got its final name"
have=$(stat -c %s "$CACHE/model.gguf.partial")
[ "$have" -gt 0 ] || fail "the .partial file is empty"

# 2. The next pull resumes with a Range request from where it stopped.
"$CLI" pull "$URL/ok/model.gguf" >"$T/out" 2>"$T/err" || fail "resume failed: $(cat "$T/err")"
grep -q "^/ok/model.gguf bytes=$have-$" "$T/log" || fail "no Range bytes=$have- request: $(cat "$T/log")"
cmp -s "$CACHE/model.gguf" "$T/www/model.gguf" || fail "resumed file differs from the original"
[ ! -e "$CACHE/model.gguf.partial" ] || fail ".partial left after success"
[ "$(cat "$T/out")" = "$CACHE/model.gguf" ] || fail "stdout is not the path: $(cat "$T/out")"

# 3. Already there: no request at all.
n=$(wc -l <"$T/log")
"$CLI" pull "$URL/ok/model.gguf" >/dev/null 2>&1 || fail "second pull failed"
[ "$(wc -l <"$T/log")" = "$n" ] || fail "a pulled model was downloaded again"

# 4. A server that ignores Range: the resumed download restarts cleanly.
"$CLI" pull "$URL/cut/second.gguf" >/dev/null 2>&1 && fail "cut download succeeded"
"$CLI" pull --sha256 "$SHA" "$URL/norange/second.gguf" >/dev/null 2>"$T/err" ||
    fail "restart failed: $(cat "$T/err")"
cmp -s "$CACHE/second.gguf" "$T/www/second.gguf" || fail "restarted file differs"

# 5. Not a GGUF file: a clear error, and nothing in the cache.
out=$("$CLI" pull "$URL/html/bad.gguf" 2>&1) && fail "an HTML page was accepted"
echo "$out" | grep -q "not a GGUF file" || fail "unclear bad-magic error: $out"
ls "$CACHE" | grep -q "^bad" && fail "bad download left files: $(ls "$CACHE")"

# 6. A wrong digest is refused and removed.
cp "$T/www/model.gguf" "$T/www/third.gguf"
out=$("$CLI" pull --sha256 "$(printf '0%.0s' $(seq 64))" "$URL/ok/third.gguf" 2>&1) &&
    fail "wrong digest accepted"
echo "$out" | grep -q "SHA-256" || fail "unclear digest error: $out"
ls "$CACHE" | grep -q "^third" && fail "bad digest left files"

# 7. HTTP errors and unknown names.
out=$("$CLI" pull "$URL/ok/missing.gguf" 2>&1) && fail "404 accepted"
echo "$out" | grep -q "HTTP 404" || fail "unclear 404 error: $out"
out=$("$CLI" pull no-such-model:1b 2>&1) && fail "unknown name accepted"
echo "$out" | grep -q "neither a known model" || fail "unclear unknown-name error: $out"

# 8. --list shows what is there, by name.
"$CLI" pull --list >"$T/list" 2>&1 || fail "--list failed"
grep -q "^model .*$CACHE/model.gguf" "$T/list" || fail "--list lacks model: $(cat "$T/list")"
grep -q "^second " "$T/list" || fail "--list lacks second"
XDG_CACHE_HOME="$T/empty" "$CLI" pull --list 2>&1 | grep -q "no models pulled yet" ||
    fail "--list of an empty cache"

# 9. Known names that are not pulled say how to get them.
out=$("$CLI" run qwen2.5:0.5b-instruct "hi" 2>&1) && fail "run of an unpulled name succeeded"
echo "$out" | grep -q "tinylm pull qwen2.5:0.5b-instruct" || fail "no pull hint: $out"
echo "pull: all checks passed"
