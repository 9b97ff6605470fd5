#!/usr/bin/env python3
"""Bursts into two hosts from one process, for the synchronized-runs test.

  traffic_sync.py DST1 DST2 PORT SIZE PERIOD_MS LOG PHASE...

PHASE is MODE:N, MODE one of
  together   every PERIOD_MS, N datagrams of SIZE bytes to each host, the
             sends interleaved (both bursts cover the same instants)
  alternate  every PERIOD_MS, N datagrams to DST1; half a period later N to DST2
SIGUSR1 moves on to the next phase; after the last one the sender exits.
LOG gets "phase K MODE N START_NS" when a phase starts, "burst K HOST
T0_NS T1_NS L2_BYTES" per burst (HOST 1 or 2; CLOCK_REALTIME), written as
it goes, and "end NS" at the end. Prints "phase K" on standard output when phase K starts.
"""
import signal
import socket
import sys
import time

ETH, IP4, UDP = 14, 20, 8


def main(a):
    dst1, dst2, port, size, period = a[0], a[1], int(a[2]), int(a[3]), float(a[4]) / 1000
    log = open(a[5], "w", buffering=1)
    phases = [(p.split(":")[0], int(p.split(":")[1])) for p in a[6:]]
    socks = []
    for d in (dst1, dst2):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
        s.connect((d, port))
        socks.append(s)
    payload = b"s" * size
    state = {"k": 0, "moved": True}

    def advance(*_):
        state["k"] += 1
        state["moved"] = True

    signal.signal(signal.SIGUSR1, advance)
    nxt = time.monotonic()
    while state["k"] < len(phases):
        k = state["k"]
        mode, n = phases[k]
        if state["moved"]:
            state["moved"] = False
            log.write("phase %d %s %d %d\n" % (k, mode, n, time.time_ns()))
            print("phase %d" % k, flush=True)
        l2 = n * (ETH + IP4 + UDP + size)
        if mode == "together":
            t0 = time.time_ns()
            for _ in range(n):
                socks[0].send(payload)
                socks[1].send(payload)
            t1 = time.time_ns()
            log.write("burst %d 1 %d %d %d\nburst %d 2 %d %d %d\n" % (k, t0, t1, l2, k, t0, t1, l2))
        else:
            for h in (0, 1):
                t0 = time.time_ns()
                for _ in range(n):
                    socks[h].send(payload)
                t1 = time.time_ns()
                log.write("burst %d %d %d %d %d\n" % (k, h + 1, t0, t1, l2))
                # Half a period after, and never less than a quarter after the
                # end of this burst (a late wake-up must not make them meet).
                last = time.monotonic()
                if h == 0:
                    time.sleep(max(0.0, nxt + period / 2 - last, period / 4))
        nxt += period
        time.sleep(max(0.0, nxt - time.monotonic()))
        if mode == "alternate":
            time.sleep(max(0.0, last + period / 4 - time.monotonic()))
        if nxt < time.monotonic() - period:  # far behind (a loaded machine): no catch-up burst train
            nxt = time.monotonic()
    log.write("end %d\n" % time.time_ns())


if __name__ == "__main__":
    if len(sys.argv) < 8:
        sys.exit(__doc__)
    main(sys.argv[1:])
