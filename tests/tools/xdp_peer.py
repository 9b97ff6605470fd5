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
hostile IFACE DST_MAC PORT CASE COUNT [KEY=VALUE...]: on IFACE (the A side of
    tests/lib.sh's netns_pair: 198.18.0.1 and 2001:db8::1 to .2 and ::2),
    send COUNT raw Ethernet frames of CASE (HOSTILE below), each a request
    that differs from a valid one in one thing, to the responder at DST_MAC
    (KEY=VALUE: more differences, e.g. dst=198.18.0.9, dst_mac=MAC: see
    frame(); wait=SECONDS), then one valid request (to DST_MAC and
    198.18.0.2), and wait up to 5 s (wait) for its reply. The peer stays
    on one CPU, so the kernel handles its frames, and any replies to them,
    in the order sent: once the valid request's reply is in, every reply
    there will be has come.
    Prints "replies N bad M" (replies to CASE's frames; bad: those with a
    wrong checksum, address or field) and exits 1 unless the valid request
    got a correct reply (checksums verified here).
results FILE: the last export in FILE (stdout JSON exporter) of
    hostlat.xdp_responder.requests, as "result=N ..." sorted by result.
"""
import json
import os
import random
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


# ---- raw frames (hostile) ----

SRC4, DST4 = "198.18.0.1", "198.18.0.2"
SRC6, DST6 = "2001:db8::1", "2001:db8::2"
ETH_P_ALL, ETH_P_IP, ETH_P_IPV6 = 0x0003, 0x0800, 0x86DD
PACKET_OUTGOING = 4

# CASE: (what differs from a valid request, over IPv6?). The test knows
# which result each must be counted as.
HOSTILE = {
    "valid": ({}, False),
    "valid6": ({}, True),
    "no_checksum": ({"check": 0}, False),  # IPv4 allows none
    "offload_checksum": ({"check": "partial"}, False),  # as a sender's kernel leaves it to a NIC
    "offload_checksum6": ({"check": "partial"}, True),
    "broadcast_mac": ({"dst_mac": "ff:ff:ff:ff:ff:ff"}, False),
    "multicast_mac": ({"dst_mac": "01:00:5e:00:00:01"}, False),
    "foreign_mac": ({"dst_mac": "02:00:00:00:00:99"}, False),
    "limited_broadcast": ({"dst": "255.255.255.255"}, False),
    "subnet_broadcast": ({"dst": "198.18.0.255"}, False),
    "all_hosts": ({"dst": "224.0.0.1"}, False),
    "all_nodes6": ({"dst": "ff02::1"}, True),
    "foreign_ip": ({"dst": "198.18.0.77"}, False),
    "foreign_ip6": ({"dst": "2001:db8::77"}, True),
    "version": ({"version": 6}, False),  # version nibble 6 in an IPv4 frame
    "version6": ({"version": 4}, True),
    "short_header": ({"ihl": 4}, False),
    "options": ({"ihl": 6}, False),
    "fragment": ({"frag": 0x2000}, False),  # more fragments
    "long_length": ({"tot_extra": 64}, False),  # IP length beyond the frame
    "long_length6": ({"tot_extra": 64}, True),
    "ip_checksum": ({"ip_check": "bad"}, False),
    "ttl_zero": ({"ttl": 0}, False),
    "hop_limit_zero": ({"ttl": 0}, True),
    "bad_checksum": ({"check": "bad"}, False),
    "bad_checksum6": ({"check": "bad"}, True),
    "zero_checksum6": ({"check": 0}, True),  # IPv6 requires one
    "source_port_zero": ({"sport": 0}, False),
    "mapped_source6": ({"src": "::ffff:198.18.0.1"}, True),  # under an IPv4 allow entry
    "multicast_source": ({"src": "224.0.0.5"}, False),
    "multicast_source_mac": ({"src_mac": "01:00:5e:00:00:05"}, False),
}


def mac(text):
    return bytes(int(b, 16) for b in text.split(":"))


def ones(data):
    """The folded one's-complement sum of data (not complemented)."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def pseudo(v6, src, dst, length):
    if v6:
        return src + dst + struct.pack("!IxxxB", length, 17)
    return src + dst + struct.pack("!xBH", 17, length)


def checksum(ph, udp):
    """The UDP checksum field for udp (its field zero) under pseudo-header ph."""
    return (0xFFFF ^ ones(ph + udp)) or 0xFFFF


def frame(v6, src_mac, dst_mac, payload, sport, port, src=None, dst=None, ttl=64, version=None,
          ihl=5, frag=0, tot_extra=0, ip_check="good", check="good"):
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    src = socket.inet_pton(fam, src or (SRC6 if v6 else SRC4))
    dst = socket.inet_pton(fam, dst or (DST6 if v6 else DST4))
    udp = struct.pack("!HHHH", sport, port, 8 + len(payload), 0) + payload
    ph = pseudo(v6, src, dst, len(udp))
    good = checksum(ph, udp)
    if check == "good":
        c = good
    elif check == "partial":
        c = ones(ph)  # CHECKSUM_PARTIAL: the pseudo-header's sum only
    elif check == "bad":
        c = next(x for x in range(good + 1, good + 4) if x & 0xFFFF not in (0, ones(ph))) & 0xFFFF
    else:
        c = check
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    if v6:
        ip = struct.pack("!IHBB", (version or 6) << 28, len(udp) + tot_extra, 17, ttl) + src + dst
        return dst_mac + src_mac + struct.pack("!H", ETH_P_IPV6) + ip + udp
    opts = b"\x01\x01\x01\x00" * max(0, ihl - 5)  # NOPs, end of options
    hdr = struct.pack("!BBHHHBBH", ((version or 4) << 4) | ihl, 0, 20 + len(opts) + len(udp) + tot_extra,
                      random.getrandbits(16), frag, ttl, 17, 0) + src + dst + opts
    hc = 0xFFFF ^ ones(hdr)
    if ip_check == "bad":
        hc ^= 0x0101
    hdr = hdr[:10] + struct.pack("!H", hc) + hdr[12:]
    return dst_mac + src_mac + struct.pack("!H", ETH_P_IP) + hdr + udp


def reply_of(data, port):
    """(id, source IP, destination IP, problem or None) when data is a
    responder's reply from port, else None."""
    et = struct.unpack("!H", data[12:14])[0]
    if et == ETH_P_IP and len(data) >= 34 and data[23] == 17:
        v6, l3, udp = False, data[14:34], data[34:]
        ok_ip = data[14] == 0x45 and ones(l3) == 0xFFFF and data[22] == 64 and \
            struct.unpack("!H", l3[2:4])[0] == 20 + len(udp)
        src, dst = l3[12:16], l3[16:20]
    elif et == ETH_P_IPV6 and len(data) >= 54 and data[20] == 17:
        v6, l3, udp = True, data[14:54], data[54:]
        ok_ip = data[14] >> 4 == 6 and data[21] == 64 and struct.unpack("!H", l3[4:6])[0] == len(udp)
        src, dst = l3[8:24], l3[24:40]
    else:
        return None
    if len(udp) < 8 + 24 or struct.unpack("!H", udp[0:2])[0] != port:
        return None
    magic, ver, kind, _, ident = struct.unpack("!IBBHQ", udp[8:24])
    if magic != MAGIC or kind != 2:
        return None
    ph = pseudo(v6, src, dst, len(udp))
    problems = []
    if not ok_ip:
        problems.append("IP header")
    if len(udp) != 8 + MSG_LEN or struct.unpack("!H", udp[4:6])[0] != len(udp):
        problems.append("length")
    if udp[6:8] == b"\0\0" or ones(ph + udp) != 0xFFFF:
        problems.append("UDP checksum")
    if ver != 1:
        problems.append("version")
    return ident, src, dst, ", ".join(problems) or None


def hostile(iface, dst_mac, port, case, count, more=()):
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    with open("/sys/class/net/%s/address" % iface) as f:
        own = mac(f.read().strip())
    mods, v6 = HOSTILE[case]
    mods = dict(mods)
    mods.update(kv.split("=", 1) for kv in more)
    wait = float(mods.pop("wait", 5))
    sport = mods.pop("sport", None)
    src_mac = mac(mods.pop("src_mac")) if "src_mac" in mods else own
    to_mac = mac(mods.pop("dst_mac")) if "dst_mac" in mods else mac(dst_mac)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, ETH_P_ALL))
    base = random.getrandbits(48) << 8
    for i in range(count):
        s.send(frame(v6, src_mac, to_mac, request(ident=base + i),
                     40000 + i if sport is None else sport, port, **mods))
    sentinel = base + 255
    s.send(frame(False, own, mac(dst_mac), request(ident=sentinel), 40999, port))
    replies = bad = 0
    end = time.monotonic() + wait
    while True:
        left = end - time.monotonic()
        if left <= 0:
            print("replies", replies, "bad", bad, flush=True)
            sys.exit("no reply to the valid request after the %s frames" % case)
        s.settimeout(left)
        try:
            data, addr = s.recvfrom(4096)
        except socket.timeout:
            continue
        if addr[2] == PACKET_OUTGOING:
            continue
        r = reply_of(data, port)
        if r is None:
            continue
        ident, src, dst, problem = r
        if problem is None and data[:6] != own:
            problem = "Ethernet destination"
        if ident == sentinel:
            if not problem and (data[6:12] != mac(dst_mac) or src != socket.inet_aton(DST4) or
                                dst != socket.inet_aton(SRC4)):
                problem = "addresses"
            if problem:
                sys.exit("the valid request's reply is wrong: " + problem)
            break
        replies += 1
        if problem:
            bad += 1
            print("reply to a %s frame: %s" % (case, problem), file=sys.stderr)
    print("replies", replies, "bad", bad, flush=True)


def results(path):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from otlp_check import last_request, points
    got = {a["result"]: int(dp["asInt"])
           for a, dp in points(last_request(path), "hostlat.xdp_responder.requests")}
    print(" ".join("%s=%d" % kv for kv in sorted(got.items())))


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
    elif cmd == "hostile":
        hostile(a[0], a[1], int(a[2]), a[3], int(a[4]), a[5:])
    elif cmd == "results":
        results(a[0])
    else:
        sys.exit("unknown command " + cmd)
