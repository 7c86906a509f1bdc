#!/usr/bin/env bash
# reports.test.sh - comparison reports in the browser and over HTTP (issue
# 9): `tinylm compare` writes a report (reference against a synth model),
# a hand-made results file puts HTML in an answer; `tinylm serve --reports
# DIR` lists both at GET /reports, serves report.html byte for byte, and
# refuses every path that leaves the directory or names another file;
# reports.spec.mjs renders the report in headless Chromium, checks charts,
# per-item view and escaping, opens it from the chat page's Reports view,
# and keeps screenshots in $TLM_BINARY_DIR/screenshots/.
set -u
SRC=${TLM_SOURCE_DIR:?}
BIN=${TLM_BINARY_DIR:?}
CLI=${TLM_CLI:?}
[ -x /usr/bin/chromium ] || { echo "skipped: /usr/bin/chromium not installed"; exit 77; }
[ -d "$SRC/node_modules/playwright-core" ] || { echo "skipped: playwright-core not installed"; exit 77; }
bwrap --ro-bind / / --unshare-net true 2>/dev/null ||
  { echo "skipped: bubblewrap cannot create namespaces here"; exit 77; }
. "$SRC/tests/lib/models.sh"
M=$(model_path qwen2-tiny q8_0) || exit $?

T=$(mktemp -d)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; sleep 0.2; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -5 "$T/serve.log" 2>/dev/null; exit 1; }

R=$T/reports
NAME=20260101-000000
"$CLI" compare --target reference --model "$M" --suite basics,code,json --limit 3 \
  --max-tokens 24 --threads 2 --determinism 2 --data-dir "$SRC/data" --title "reference vs synth" \
  --out "$R/$NAME" > /dev/null 2> "$T/compare.log" || { cat "$T/compare.log"; fail "compare"; }
python3 - "$T/evil.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for target, passed, answer in (("a", True, "def f(): return 1"), ("b", False, "<img src=x onerror=alert(1)>")):
        f.write(json.dumps({"target": target, "suite": "s", "task_id": "t/<1>", "kind": "k&k",
                            "sample": 0, "verdict": "pass" if passed else "wrong_answer",
                            "passed": passed, "prompt": "<b>prompt</b>", "answer": answer}) + "\n")
PY
"$CLI" compare --results "$T/evil.jsonl" --out "$R/zz-evil" > /dev/null 2>&1 || fail "compare --results"
mkdir -p "$R/.hidden" "$R/no-summary"
cp "$R/$NAME/report.html" "$R/.hidden/"

"$CLI" serve --port 0 -m "$M" --ctx 512 -t 1 --reports "$R" 2> "$T/serve.log" &
PID=$!
for _ in $(seq 1 300); do
  grep -q "^tinylm serve: ready on" "$T/serve.log" && break
  kill -0 "$PID" 2>/dev/null || fail "server exited"
  sleep 0.1
done
PORT=$(sed -n 's|^tinylm serve: ready on http://[^ ]*:\([0-9][0-9]*\).*|\1|p' "$T/serve.log" | head -1)
[ -n "$PORT" ] || fail "server not ready"
URL=http://127.0.0.1:$PORT

curl -sf "$URL/reports" > "$T/list.json" || fail "GET /reports"
python3 - "$T/list.json" "$R" <<'PY' || fail "GET /reports listing"
import json, sys
j = json.load(open(sys.argv[1]))
names = [r["name"] for r in j["reports"]]
assert names == ["zz-evil", "20260101-000000"], names
r = j["reports"][1]
assert r["title"] == "reference vs synth" and sorted(r["targets"]) == ["qwen2-tiny-q8_0", "reference"], r
s = json.load(open(sys.argv[2] + "/20260101-000000/summary.json"))
want = {t["target"]: t["pass_rate"] for t in s["targets"]}
got = {h["target"]: h["pass_rate"] for h in r["headline"]}
assert got == want, (got, want)
assert r["url"] == "/reports/20260101-000000/report.html" and r["date"] == s["report"]["generated"]
print("GET /reports: %s" % names)
PY
curl -sf "$URL/reports/$NAME/report.html" > "$T/got.html" || fail "GET report.html"
cmp -s "$T/got.html" "$R/$NAME/report.html" || fail "served report.html differs from the file"
CT=$(curl -sfI "$URL/reports/$NAME/report.html" | tr -d '\r' | sed -n 's/^[Cc]ontent-[Tt]ype: //p')
[ "$CT" = "text/html; charset=utf-8" ] || fail "content type $CT"
curl -sf "$URL/reports/$NAME/summary.json" | cmp -s - "$R/$NAME/summary.json" || fail "summary.json"

# Traversal and anything but the three files: refused, and nothing leaks.
for p in "/reports/../../../../etc/passwd" "/reports/$NAME/../../../../etc/passwd" \
         "/reports/..%2f..%2f..%2f..%2fetc%2fpasswd" "/reports/%2e%2e/%2e%2e/etc/passwd" \
         "/reports/$NAME/results-1.jsonl" "/reports/.hidden/report.html" "/reports/../reports/$NAME/report.html" \
         "/reports/$NAME/report.html/../../../etc/passwd" "/reports//etc/passwd" "/reports/no-such/report.html" \
         "/reportsx"; do
  code=$(curl -s --path-as-is -o "$T/body" -w '%{http_code}' "$URL$p")
  [ "$code" = 404 ] || [ "$code" = 400 ] || fail "$p answered $code"
  ! grep -q "root:" "$T/body" || fail "$p leaked /etc/passwd"
done
echo "traversal: 11 paths refused"

mkdir -p "$BIN/screenshots"
timeout 120 node "$SRC/tests/web/reports.spec.mjs" "$R/$NAME" "$R/zz-evil" "$URL" "$BIN/screenshots" ||
  fail "reports.spec.mjs"
kill -0 "$PID" 2>/dev/null || fail "server died"
echo "screenshots: $BIN/screenshots/compare-report.png"
