#!/usr/bin/env python3
"""A receiver that only counts, for bench/agent-cost.sh: OTLP/HTTP on
127.0.0.1:HTTP_PORT (answers 200 {}) and StatsD on 127.0.0.1:UDP_PORT.
Appends one JSON line per request or datagram to LOG:
  {"t": unix time, "kind": "otlp", "wire": bytes received, "raw": bytes after gunzip}
  {"t": unix time, "kind": "statsd", "wire": datagram bytes}
Usage: sink.py LOG HTTP_PORT UDP_PORT (prints "listening" when ready)."""
import gzip
import http.server
import json
import socket
import sys
import threading
import time

log_path, http_port, udp_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lock = threading.Lock()
log = open(log_path, "a", buffering=1)


def write(entry):
    with lock:
        log.write(json.dumps(entry) + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(n)
        raw = len(body)
        if "gzip" in self.headers.get("Content-Encoding", ""):
            raw = len(gzip.decompress(body))
        write({"t": time.time(), "kind": "otlp", "wire": n, "raw": raw})
        out = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


def udp(s):
    while True:
        d = s.recv(65536)
        write({"t": time.time(), "kind": "statsd", "wire": len(d)})


srv = http.server.ThreadingHTTPServer(("127.0.0.1", http_port), Handler)
us = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
us.bind(("127.0.0.1", udp_port))
threading.Thread(target=udp, args=(us,), daemon=True).start()
print("listening", flush=True)
srv.serve_forever()
