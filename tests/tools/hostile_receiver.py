"""hostile_receiver.py --mode MODE [--log FILE] [--retry-after VALUE]: an
OTLP/HTTP receiver on 127.0.0.1 (a free port) that misbehaves on purpose,
for the fault tests. Python 3 standard library only.

Modes:
  hang         read each request, never answer (the connection stays open)
  trickle      read each request, then answer one byte a second, forever
               ("HTTP/1.1 200 OK\\r\\n" and a header line that never ends)
  retry-after  answer every request 429 with Retry-After: VALUE
  ok           answer every request 200 {}

Prints "listening port=P" once ready. Each request is appended to the log
(JSON lines) when its body has arrived: time (ms since the epoch), path,
bytes, and batch_time (the timeUnixNano of its first data point, the
batch's collection time) when the body is OTLP JSON (gzip or not).
"""
import argparse
import gzip
import json
import socket
import socketserver
import sys
import threading
import time

log_lock = threading.Lock()


def batch_time(body):
    try:
        req = json.loads(body)
        for rm in req["resourceMetrics"]:
            for sm in rm["scopeMetrics"]:
                for m in sm["metrics"]:
                    data = m.get("exponentialHistogram") or m.get("sum") or m.get("gauge")
                    return int(data["dataPoints"][0]["timeUnixNano"])
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return None


def read_request(f):
    """One request from the connection's file, or None when it closed."""
    line = f.readline(65536)
    if not line:
        return None
    method, path = (line.decode("latin1").split() + ["", ""])[:2]
    headers = {}
    while True:
        h = f.readline(65536)
        if not h:
            return None
        if h in (b"\r\n", b"\n"):
            break
        k, _, v = h.decode("latin1").partition(":")
        headers[k.strip().lower()] = v.strip()
    body = f.read(int(headers.get("content-length", "0")))
    if headers.get("content-encoding") == "gzip":
        try:
            body = gzip.decompress(body)
        except OSError:
            pass
    return method, path, headers, body


class Handler(socketserver.StreamRequestHandler):
    def log_request(self, path, body):
        rec = {"time": int(time.time() * 1000), "path": path, "bytes": len(body),
               "batch_time": batch_time(body)}
        with log_lock:
            if self.server.log:
                with open(self.server.log, "a") as out:
                    out.write(json.dumps(rec) + "\n")

    def wait_closed(self):
        """Block until the client closes the connection (or resets it)."""
        try:
            while self.connection.recv(4096):
                pass
        except OSError:
            pass

    def handle(self):
        mode = self.server.mode
        while True:
            req = read_request(self.rfile)
            if req is None:
                return
            self.log_request(req[1], req[3])
            if mode == "hang":
                self.wait_closed()
                return
            if mode == "trickle":
                self.trickle()
                return
            if mode == "retry-after":
                body = b'{"code": 8, "message": "slow down"}'
                head = ("HTTP/1.1 429 Too Many Requests\r\nRetry-After: %s\r\n"
                        "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                        % (self.server.retry_after, len(body)))
            else:
                body = b"{}"
                head = ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        "Content-Length: %d\r\n\r\n" % len(body))
            try:
                self.wfile.write(head.encode("latin1") + body)
                self.wfile.flush()
            except OSError:
                return

    def trickle(self):
        data = b"HTTP/1.1 200 OK\r\nX-Trickle: "
        i = 0
        try:
            while True:
                self.connection.sendall(data[i:i + 1] if i < len(data) else b"a")
                i += 1
                time.sleep(1)
        except OSError:
            return


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", required=True, choices=["hang", "trickle", "retry-after", "ok"])
    ap.add_argument("--log")
    ap.add_argument("--retry-after", default="999999999")
    args = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    srv.mode, srv.log, srv.retry_after = args.mode, args.log, args.retry_after
    srv.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    print("listening port=%d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
