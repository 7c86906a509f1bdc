#!/usr/bin/env bash
# server_raw_socket.test.sh - truncated, garbage and random requests over raw TCP
# (raw_socket.mjs) leave the server answering /health and generating.
. "$(dirname "$0")/lib.sh"
QWEN=$(model_path qwen2-tiny q8_0) || exit $?
start_server raw --model "$QWEN" --parallel 2 --ctx 512 --max-body 65536 --threads 2 --quiet
URL="$URL" run_node raw_socket.mjs || fail "raw socket checks"
kill -0 "$SRV_PID" || fail "the server died"
stop_server
echo "raw socket: ok"
