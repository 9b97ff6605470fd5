"""Packets for the XDP responder tests (tests/cases/90-xdp-*.sh), written
independently of hostlat's C code from the protocol in bpf/responder_proto.h.

bad KIND HOST PORT COUNT: send COUNT datagrams of a kind the responder must
    never answer, wait 0.5 s, print "replies N" (anything that came back):
      truncated  the magic and version only (8 bytes)
      short      a whole header but a short body (24 bytes): amplification bait
      oversized  a valid request with 4 more bytes
      version    a request of protocol version 9
      response   a well-formed response (type 2): must not start a loop
listen PORT COUNT SECONDS: bind UDP PORT (IPv4 and IPv6), print "listening",
    then wait up to SECONDS for COUNT datagrams and print "got N intact M":
    intact ones carry exactly the bytes `pattern` sends.
pattern HOST PORT COUNT: send COUNT datagrams of 368 bytes that are not
    requests (no magic), each byte derived from its sequence number.
tcp_echo PORT: accept one TCP connection (IPv4 or IPv6), print "listening"
    first, echo everything back until the peer closes.
tcp_check HOST PORT: send 256 KiB through tcp_echo and check what comes back,
    print "tcp intact" or exit non-zero.
decode FILE: the last JSON object of `hostlat ping --json` output,
    re-checked: print it as key=value lines for the shell.
"""
import json
import os
import socket
import struct
import sys
import time

MAGIC = 0x484C5852
MSG_LEN = 368


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def request(version=1, kind=1, ident=7):
    head = struct.pack("!IBBHQ", MAGIC, version, kind, 0, ident)
    return head + bytes(MSG_LEN - len(head))


def bad(kind, host, port, count):
    if kind == "truncated":
        data = request()[:8]
    elif kind == "short":
        data = request()[:24]
    elif kind == "oversized":
        data = request() + b"\0" * 4
    elif kind == "version":
        data = request(version=9)
    elif kind == "response":
        data = request(kind=2)
    else:
        sys.exit("unknown kind " + kind)
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    s.connect((host, port))
    for _ in range(count):
        try:
            s.send(data)
        except ConnectionRefusedError:
            pass  # ICMP port unreachable from an earlier datagram
    s.settimeout(0.5)
    replies = 0
    end = time.monotonic() + 0.5
    while time.monotonic() < end:
        try:
            s.recv(2048)
            replies += 1
        except (socket.timeout, ConnectionRefusedError):
            pass
    print("replies", replies, flush=True)


def payload(seq):
    return bytes((seq * 31 + i) & 0xFF for i in range(MSG_LEN))


def pattern(host, port, count):
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    for seq in range(count):
        s.sendto(struct.pack("!I", seq) + payload(seq)[4:], (host, port))
        time.sleep(0.001)


def listen(port, count, seconds):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    print("listening", flush=True)
    got = intact = 0
    end = time.monotonic() + seconds
    while got < count and time.monotonic() < end:
        s.settimeout(max(0.01, end - time.monotonic()))
        try:
            data = s.recv(4096)
        except socket.timeout:
            break
        got += 1
        seq = struct.unpack("!I", data[:4])[0] if len(data) >= 4 else -1
        intact += len(data) == MSG_LEN and data[4:] == payload(seq)[4:]
    print("got", got, "intact", intact, flush=True)


def tcp_echo(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port))
    s.listen(1)
    print("listening", flush=True)
    c, _ = s.accept()
    while True:
        data = c.recv(65536)
        if not data:
            break
        c.sendall(data)


def tcp_check(host, port):
    data = b"".join(payload(i) for i in range(713))[: 256 * 1024]
    c = socket.create_connection((host, port), timeout=10)
    c.sendall(data)
    c.shutdown(socket.SHUT_WR)
    back = b""
    while True:
        chunk = c.recv(65536)
        if not chunk:
            break
        back += chunk
    if back != data:
        sys.exit("tcp: %d bytes back of %d, %s" % (len(back), len(data),
                 "equal prefix" if data.startswith(back) else "changed"))
    print("tcp intact", flush=True)


def decode(path):
    with open(path) as f:
        last = [l for l in f if l.startswith("{")][-1]
    for k, v in json.loads(last).items():
        if isinstance(v, dict):
            for k2, v2 in v.items():
                print("%s_%s=%s" % (k, k2.replace("-", "_"), v2))
        elif not isinstance(v, list):
            print("%s=%s" % (k, "" if v is None else v))


if __name__ == "__main__":
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "bad":
        bad(a[0], a[1], int(a[2]), int(a[3]))
    elif cmd == "listen":
        listen(int(a[0]), int(a[1]), float(a[2]))
    elif cmd == "pattern":
        pattern(a[0], int(a[1]), int(a[2]))
    elif cmd == "tcp_echo":
        tcp_echo(int(a[0]))
    elif cmd == "tcp_check":
        tcp_check(a[0], int(a[1]))
    elif cmd == "decode":
        decode(a[0])
    else:
        sys.exit("unknown command " + cmd)
