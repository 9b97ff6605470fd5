"""flood.py HOST PORT SECONDS [PROCS]: send 64-byte UDP datagrams to HOST:PORT
as fast as PROCS processes (default: one per CPU) can, for SECONDS; print
the number of datagrams sent. A load generator for the flood test."""
import multiprocessing
import os
import socket
import sys
import time


def sender(host, port, secs, out):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((host, port))
    payload = b"x" * 64
    n = 0
    end = time.monotonic() + secs
    while True:
        for _ in range(1000):
            try:
                s.send(payload)
                n += 1
            except OSError:
                pass
        if time.monotonic() >= end:
            break
    out.put(n)


def main():
    host, port, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    procs = int(sys.argv[4]) if len(sys.argv) > 4 else os.cpu_count()
    q = multiprocessing.Queue()
    ps = [multiprocessing.Process(target=sender, args=(host, port, secs, q)) for _ in range(procs)]
    for p in ps:
        p.start()
    total = sum(q.get() for _ in ps)
    for p in ps:
        p.join()
    print(total)


if __name__ == "__main__":
    main()
