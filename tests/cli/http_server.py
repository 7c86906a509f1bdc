#!/usr/bin/env python3
"""A tiny HTTP file server on 127.0.0.1 for tinylm's pull tests.

Usage: http_server.py DIR PORT_FILE LOG_FILE
Serves DIR on an ephemeral port (written to PORT_FILE).  The first path
component picks a behaviour, so one server covers every case:
  /ok/NAME       the file, honouring "Range: bytes=N-" with 206
  /norange/NAME  the file, always 200 in full (a server without ranges)
  /cut/NAME      announces the full length, sends half, then hangs up
  /html/NAME     an HTML error page with status 200
  anything else  404
Each request is logged to LOG_FILE as "PATH RANGE" (RANGE "-" if none).
"""
import http.server
import os
import re
import sys

ROOT, PORT_FILE, LOG = sys.argv[1], sys.argv[2], sys.argv[3]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        rng = self.headers.get("Range")
        with open(LOG, "a") as f:
            f.write("%s %s\n" % (self.path, rng or "-"))
        parts = self.path.strip("/").split("/", 1)
        mode, name = (parts + [""])[:2]
        path = os.path.join(ROOT, os.path.basename(name))
        if mode == "html":
            body = b"<!DOCTYPE html><html><body>Not here</body></html>"
            return self.reply(200, body, "text/html")
        if mode not in ("ok", "norange", "cut") or not os.path.isfile(path):
            return self.reply(404, b"not found", "text/plain")
        data = open(path, "rb").read()
        start = 0
        m = re.match(r"bytes=(\d+)-$", rng or "")
        if mode == "ok" and m:
            start = int(m.group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % len(data))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        body = data[start:]
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if mode == "cut":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def reply(self, code, body, ctype):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
