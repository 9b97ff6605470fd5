"""Latency workloads for the integration tests.

server PORT DELAY_MS: accept one TCP connection; for each message, wait until
    it is readable, then sleep DELAY_MS before reading it (so it waits in the
    socket's receive queue), then answer "k"; exit when the client closes.
servemany PORT DELAY_MS: the same for any number of connections, one after
    the other, until killed.
client HOST PORT COUNT: send COUNT messages, each after the previous answer.
udp HOST PORT COUNT: send COUNT datagrams to a UDP receiver (udprecv).
udprecv PORT COUNT: read COUNT datagrams (exits after a 10 s silence).
"""
import select
import socket
import sys
import time


def server(port, delay_ms, many=False):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(4)
    print("listening", flush=True)
    while True:
        conn, _ = ls.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            select.select([conn], [], [])
            time.sleep(delay_ms / 1000.0)
            data = conn.recv(4096)
            if not data:
                break
            conn.sendall(b"k")
        conn.close()
        if not many:
            return


def client(host, port, count):
    s = socket.create_connection((host, port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for _ in range(count):
        s.sendall(b"m" * 64)
        if s.recv(16) == b"":
            sys.exit("server closed early")
    s.close()


def udp(host, port, count):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(count):
        s.sendto(b"u" * 100, (host, port))
        time.sleep(0.002)


def udprecv(port, count):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    s.settimeout(10)
    print("listening", flush=True)
    for _ in range(count):
        s.recv(2048)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd in ("server", "servemany"):
        server(int(args[0]), float(args[1]), cmd == "servemany")
    elif cmd == "client":
        client(args[0], int(args[1]), int(args[2]))
    elif cmd == "udp":
        udp(args[0], int(args[1]), int(args[2]))
    elif cmd == "udprecv":
        udprecv(int(args[0]), int(args[1]))
    else:
        sys.exit("unknown command " + cmd)
