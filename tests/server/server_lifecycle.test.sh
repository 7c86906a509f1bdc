#!/usr/bin/env bash
# server_lifecycle.test.sh - /health while loading and when ready, the bearer API
# key (health stays open), CORS headers and the OPTIONS preflight, and
# graceful shutdown: SIGTERM lets a running stream finish within --grace,
# cuts an endless one at the deadline with an error event, and a second
# SIGINT cancels at once.  Uses curl only.
. "$(dirname "$0")/lib.sh"
QWEN=$(model_path qwen2-tiny q8_0) || exit $?
GEMMA=$(model_path gemma-tiny q8_0) || exit $?
QID=$(basename "$QWEN" .gguf)
H='Content-Type: application/json'
KEY='Authorization: Bearer s3cret'
ORIGIN=https://chat.example.org

# 1. Health: 503 "loading" until every model is warm, then 200.
start_server_bg auth --model "$QWEN" --model "$GEMMA" --model "$(model_path llama-tiny q8_0)" \
    --api-key s3cret --cors "$ORIGIN" --grace 30 --threads 2
code=$(curl -s -o "$T/h0" -w '%{http_code}' "$URL/health")
if [ "$code" = 503 ]; then
    grep -q '"status":"loading"' "$T/h0" || fail "503 health without the loading status: $(cat "$T/h0")"
else
    [ "$code" = 200 ] || fail "/health answered $code while loading"
    sleep 1
    grep -q "ready on" "$SRV_LOG" || fail "/health said 200 before the models were ready"
fi
wait_ready
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/health")" = 200 ] || fail "/health not 200 when ready"

# 2. API key: required on the APIs, not on /health.
[ "$(curl -s -o "$T/a" -w '%{http_code}' "$URL/v1/models")" = 401 ] || fail "no key: not 401"
grep -q '"type":"authentication_error"' "$T/a" || fail "401 body: $(cat "$T/a")"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' "$URL/v1/models")" = 401 ] ||
    fail "wrong key accepted"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "$KEY" "$URL/v1/models")" = 200 ] || fail "right key refused"
[ "$(curl -s -o "$T/o" -w '%{http_code}' -X POST "$URL/api/chat" -d '{}')" = 401 ] || fail "ollama: no key not 401"
grep -q '^{"error":"' "$T/o" || fail "ollama 401 body: $(cat "$T/o")"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer s3cret' "$URL/metrics")" = 200 ] ||
    fail "metrics with the key"

# 3. CORS: preflight and the header on answers.
curl -s -D "$T/pre" -o /dev/null -X OPTIONS -H "Origin: $ORIGIN" \
    -H 'Access-Control-Request-Method: POST' "$URL/v1/chat/completions"
head -1 "$T/pre" | grep -q " 204" || fail "preflight: $(head -1 "$T/pre")"
grep -qi "^access-control-allow-origin: $ORIGIN" "$T/pre" || fail "preflight lacks the origin"
grep -qi "^access-control-allow-methods: .*POST" "$T/pre" || fail "preflight lacks POST"
grep -qi "^access-control-allow-headers: .*authorization" "$T/pre" || fail "preflight lacks Authorization"
curl -s -D "$T/cors" -o /dev/null -H "$KEY" -H "Origin: $ORIGIN" "$URL/v1/models"
grep -qi "^access-control-allow-origin: $ORIGIN" "$T/cors" || fail "no CORS header on an answer"

# 4. SIGTERM during a stream: the stream finishes, new connections are
#    refused, the server exits 0.
curl -sN -m 120 -H "$H" -H "$KEY" "$URL/v1/chat/completions" -o "$T/s1" \
    -d "{\"model\":\"$QID\",\"messages\":[{\"role\":\"user\",\"content\":\"go\"}],\"max_tokens\":150,\"ignore_eos\":true,\"stream\":true}" &
CURL1=$!
for _ in $(seq 1 100); do grep -q '"content":"' "$T/s1" 2>/dev/null && break; sleep 0.05; done
kill -TERM "$SRV_PID"
sleep 0.3
curl -s -m 2 -o /dev/null "$URL/health" && fail "a new connection was accepted during shutdown"
wait_exit "$CURL1" 130
tail -c 200 "$T/s1" | grep -q 'data: \[DONE\]' || fail "the running stream was not finished: $(tail -c 300 "$T/s1")"
wait_exit "$SRV_PID" 10 || fail "exit status after SIGTERM"
grep -q "tinylm serve: stopped" "$SRV_LOG" || fail "no 'stopped' line"

# 5. An endless stream is cut at the --grace deadline with an error event.
start_server grace --model "$QWEN" --grace 1 --threads 2
curl -sN -m 120 -H "$H" "$URL/v1/chat/completions" -o "$T/s2" \
    -d '{"messages":[{"role":"user","content":"go"}],"max_tokens":1000000,"ignore_eos":true,"stream":true}' &
CURL2=$!
for _ in $(seq 1 100); do grep -q '"content":"' "$T/s2" 2>/dev/null && break; sleep 0.05; done
t0=$(date +%s%N)
kill -TERM "$SRV_PID"
wait_exit "$CURL2" 20
wait_exit "$SRV_PID" 20 || fail "exit status after a cut stream"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -lt 6000 ] || fail "shutdown with --grace 1 took $ms ms"
tail -c 400 "$T/s2" | grep -q '"type":"unavailable_error"' || fail "no error event at the cut: $(tail -c 300 "$T/s2")"
tail -c 100 "$T/s2" | grep -q 'DONE' && fail "[DONE] after a cut stream"

# 6. A second SIGINT cancels at once, whatever the grace.
start_server twice --model "$QWEN" --grace 600 --threads 2
curl -sN -m 120 -H "$H" "$URL/v1/chat/completions" -o "$T/s3" \
    -d '{"messages":[{"role":"user","content":"go"}],"max_tokens":1000000,"ignore_eos":true,"stream":true}' &
CURL3=$!
for _ in $(seq 1 100); do grep -q '"content":"' "$T/s3" 2>/dev/null && break; sleep 0.05; done
kill -INT "$SRV_PID"; sleep 0.3; kill -INT "$SRV_PID"
t0=$(date +%s%N)
wait_exit "$CURL3" 20
wait_exit "$SRV_PID" 20 || fail "exit status after two SIGINTs"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -lt 5000 ] || fail "a second SIGINT took $ms ms to stop the server"
echo "lifecycle: ok"
