#!/usr/bin/env python3
"""Checks a smoke run (tests/kernels/smoke.sh) of every probe on one kernel.

smoke_check.py [--quiet] [--require-all] [--report FILE] [--rounds N --replies N]
               [--prunes N] [--expect-kprobe] CHECK_TXT METRICS AGENT_ERR KERNEL

CHECK_TXT is `hostlat --check` output, METRICS the stdout exporter's OTLP JSON
lines, AGENT_ERR the agent's log. Every item (a stack stage, a timed function,
a probe) that --check reports usable must have recorded samples by the last
export, and none that it reports unusable may have; a probe --check verified
must not be reported off by the agent. --require-all: every item must be
usable. --expect-kprobe (a run with fentry turned off): the stages and functions
that have a kprobe hook must run on it. With --rounds (workload rounds of smoke.sh: each sends 200 datagrams to
a reader and 50 to a closed port) and --replies (responses `hostlat ping` got),
the counts must match what was sent: every UDP stage counts each datagram once,
drops by NO_SOCKET at least the closed port's, the responder every reply. With
--prunes (the kernel's TcpExt PruneCalled over the collapse workload), timed
tcp_collapse calls must be at least one and at most that (tcp_prune_queue
calls tcp_collapse once per call that still finds the queue over its limit).
Prints one row per item (kernel, item, hook or reason, samples);
--report appends the rows, tab-separated, to FILE. Exit 0 when all hold.
"""
import json
import re
import sys

sys.path.insert(0, "tests/tools")
from otlp_check import points  # noqa: E402

# What has a kprobe hook: used when BPF trampolines are not.
KPROBE_ITEMS = ("stage ip-start", "stage conntrack", "stage tcp-start", "stage udp-start",
                "stage tcp-socket-read", "stage udp-socket-read", "function net_rx_action",
                "function tcp_collapse")
STAGES = ("ip-start", "conntrack", "tcp-start", "udp-start", "tcp-socket-enqueued",
          "udp-socket-enqueued", "tcp-socket-read", "udp-socket-read")


def parse_check(text):
    """{item: (usable, hook or reason)} and {probe: verified} from --check."""
    items, verified = {}, {}
    probe = None
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"probe (\w+):\s*(.*)", line)
        if m:
            probe = m.group(1)
            if m.group(2) == "disabled":
                probe = None
            continue
        if probe is None:
            continue
        if line.startswith("  verified:"):
            verified[probe] = True
            continue
        if line.startswith("  cannot run:"):
            verified[probe] = False
            items.setdefault(probe, (False, line.split(":", 1)[1].strip()))
            continue
        if probe == "stack_latency":
            m = re.match(r"(\S+)\s+yes\s+(\S+)\s+(.*)", line)
            if m and m.group(1) in STAGES:
                why = ""
                if i + 1 < len(lines) and lines[i + 1].strip().startswith(("unavailable:", "fallback:")):
                    why = lines[i + 1].strip().split(":", 1)[1].strip()
                usable = m.group(2) != "none"
                items["stage " + m.group(1)] = (usable, m.group(3) if usable else why)
        elif probe == "function_latency":
            m = re.match(r"  (\S+)( \(optional\))?\s+(.*)", line)
            if m and m.group(1) != "function":
                hook = m.group(3)
                usable = not hook.startswith("unavailable")
                if not usable:
                    hook = hook.split(":", 1)[1].strip()
                items["function " + m.group(1)] = (usable, hook)
        else:
            m = re.match(r"  (\S[\w ]*?)\s{2,}(\S.*)", line)
            if m and not line.startswith("  off:"):
                key = probe
                prev = items.get(key, (True, ""))[1]
                items[key] = (True, (prev + "; " if prev else "") + m.group(1) + " " + m.group(2))
            elif line.startswith("  "):
                prev = items.get(probe, (True, ""))[1]
                items[probe] = (True, (prev + "; " if prev else "") + line.strip())
    # Probes whose items are their stages or functions have no item of their own.
    for probe in ("stack_latency", "function_latency"):
        if any(k.split()[0] == {"stack_latency": "stage"}.get(probe, "function") for k in items):
            items.pop(probe, None)
    for probe, ok in verified.items():
        if ok and probe not in items and probe not in ("stack_latency", "function_latency"):
            items[probe] = (True, "")
    # A probe that could not run makes its items unusable.
    for key in list(items):
        probe = {"stage": "stack_latency", "function": "function_latency"}.get(key.split()[0], key)
        if verified.get(probe) is False and items[key][0]:
            items[key] = (False, items[probe][1] if probe in items else "cannot run")
    return items, verified


def last_request(path):
    try:
        with open(path) as f:
            lines = [l for l in f if l.strip()]
    except FileNotFoundError:
        return {}
    return json.loads(lines[-1]) if lines else {}


def count(dp):
    if "count" in dp:
        return int(dp["count"])
    if "asInt" in dp:
        return int(dp["asInt"])
    return float(dp.get("asDouble", 0))


def samples(req):
    """{item: samples} from the last export."""
    got = {}

    def add(key, n):
        got[key] = got.get(key, 0) + n

    for a, dp in points(req, "hostlat.stack.latency"):
        add("stage " + a.get("stage", "?"), count(dp))
    for a, dp in points(req, "hostlat.function.duration"):
        add("function " + a.get("function", "?"), count(dp))
    for name in ("hostlat.softirq.duration", "hostlat.softirq.wait"):
        for a, dp in points(req, name):
            add("softirq", count(dp))
    for a, dp in points(req, "hostlat.napi.polls"):
        add("napi", count(dp))
    for a, dp in points(req, "hostlat.skb.drops"):
        add("drops", count(dp))
        if a.get("reason") in ("NO_SOCKET", "SOCKET_RCVBUFF"):
            add("drops " + a["reason"], count(dp))
    for a, dp in points(req, "hostlat.sched.runqueue.latency"):
        add("runqueue", count(dp))
    for a, dp in points(req, "hostlat.traffic.sample.bytes"):
        add("traffic", count(dp))
    for a, dp in points(req, "hostlat.xdp_responder.requests"):
        if a.get("result", a.get("outcome")) in (None, "answered"):
            add("xdp_responder", count(dp))
    return got


def main(argv):
    quiet = require_all = expect_kprobe = False
    report = rounds = replies = prunes = None
    args = []
    it = iter(argv)
    for a in it:
        if a == "--quiet":
            quiet = True
        elif a == "--require-all":
            require_all = True
        elif a == "--expect-kprobe":
            expect_kprobe = True
        elif a == "--report":
            report = next(it)
        elif a == "--rounds":
            rounds = int(next(it))
        elif a == "--replies":
            replies = int(next(it))
        elif a == "--prunes":
            prunes = int(next(it))
        else:
            args.append(a)
    check_txt, metrics, agent_err, kernel = args
    with open(check_txt) as f:
        items, verified = parse_check(f.read())
    with open(agent_err) as f:
        log = f.read()
    got = samples(last_request(metrics))
    problems, rows = [], []
    def order(k):  # stages in the order a packet meets them, then the rest
        return (0, STAGES.index(k[6:])) if k[6:] in STAGES else (1, k)

    for key in sorted(items, key=order):
        usable, hook = items[key]
        n = got.get(key, 0)
        rows.append((kernel, key, hook if usable else "unavailable: " + hook, n))
        if usable and not n:
            problems.append("%s: --check says it runs (%s) but it recorded no sample" % (key, hook))
        if not usable and n:
            problems.append("%s: --check says it cannot run but it recorded %s samples" % (key, n))
        if not usable and require_all:
            problems.append("%s: unavailable on this kernel: %s" % (key, hook))
    # What was sent, where it can be counted exactly.
    want = {}
    if rounds is not None:
        # Every datagram reaches UDP; one the reader's full buffer refused
        # (SOCKET_RCVBUFF) is not enqueued; every enqueued one is read.
        want = {"stage udp-start": 250 * rounds,
                "stage udp-socket-enqueued": 200 * rounds - got.get("drops SOCKET_RCVBUFF", 0),
                "stage udp-socket-read": 200 * rounds - got.get("drops SOCKET_RCVBUFF", 0)}
    if replies is not None:
        want["xdp_responder"] = replies
    for key, n in want.items():
        if items.get(key, (False,))[0] and got.get(key, 0) != n:
            problems.append("%s: %s samples, want %d (what was sent)" % (key, got.get(key, 0), n))
    if rounds is not None and items.get("drops", (False,))[0] and got.get("drops NO_SOCKET", 0) < 50 * rounds:
        problems.append("drops: %d NO_SOCKET drops, want at least %d (datagrams to a closed port)"
                        % (got.get("drops NO_SOCKET", 0), 50 * rounds))
    if expect_kprobe:
        for key in KPROBE_ITEMS:
            usable, hook = items.get(key, (False, "not in --check's output"))
            if not usable or not hook.startswith("kprobe/"):
                problems.append("%s: expected on a kprobe, got %s" % (key, hook if usable else "unavailable: " + hook))
    n = got.get("function tcp_collapse", 0)
    if prunes is not None and items.get("function tcp_collapse", (False,))[0]:
        if not quiet:
            print("tcp_collapse: %d calls timed, the kernel counted %d prunes" % (n, prunes))
        if not 0 < n <= prunes:
            problems.append("function tcp_collapse: %d calls timed, want 1..%d (the kernel's PruneCalled)"
                            % (n, prunes))
    for probe, ok in verified.items():
        off = re.search(r"probe %s is off: (.*)" % probe, log)
        if ok and off:
            problems.append("probe %s: --check verified it, the agent reports it off: %s" % (probe, off.group(1)))
    if not items:
        problems.append("no item found in the --check output")
    if report:
        with open(report, "a") as f:
            for r in rows:
                f.write("\t".join(str(x) for x in r) + "\n")
    if not quiet:
        for r in rows:
            print("%-16s %-30s %8s  %s" % (r[0], r[1], r[3], r[2]))
        for p in problems:
            print("PROBLEM: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
