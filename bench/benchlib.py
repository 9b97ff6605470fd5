"""Helpers of the bench scripts (Python 3 standard library only).

Used as a module by the scripts' embedded analysis (sys.path has bench/),
and as a command:

  benchlib.py progstats PID...        JSON {prog_id: {name, type, run_time_ns, run_cnt}}
                                      of the BPF programs those processes hold
  benchlib.py record SECTION FILE     merge FILE (JSON) into bench/results.json
                                      as sections.SECTION (BENCH_RESULTS overrides the path)
  benchlib.py hooks                   JSON {program name (15 chars): hook} of
                                      hostlat's and the floor's programs
  benchlib.py markdown                the "Latest results" tables of bench/README.md

results.json: {"machine": {...}, "sections": {NAME: {..., "measured_at": ISO time,
"seconds": wall time of the script}}}. A section replaces the previous one of
the same name; the others are kept, so each bench script owns its sections.
"""
import datetime
import glob
import json
import os
import platform
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.environ.get("BENCH_RESULTS", os.path.join(HERE, "results.json"))
NAME_LEN = 15  # BPF_OBJ_NAME_LEN - 1: what bpftool shows of a program's name


def prog_ids(pid):
    """IDs of the BPF programs a process holds (program and link fds)."""
    ids = set()
    for fd in glob.glob("/proc/%s/fdinfo/*" % pid):
        try:
            with open(fd) as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except OSError:
            pass
    return ids


def all_progs():
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True,
                         check=True).stdout
    return {p["id"]: p for p in json.loads(out)}


def prog_stats(pids):
    """{id: {name, type, run_time_ns, run_cnt}} of the programs of pids."""
    want = set()
    for pid in pids:
        want |= prog_ids(pid)
    progs = all_progs()
    return {i: {"name": progs[i].get("name", ""), "type": progs[i].get("type", ""),
                "run_time_ns": progs[i].get("run_time_ns", 0),
                "run_cnt": progs[i].get("run_cnt", 0)}
            for i in want if i in progs}


def stats_delta(before, after):
    """Per program: run_time_ns and run_cnt accumulated between two prog_stats."""
    out = {}
    for i, a in after.items():
        b = before.get(i, {"run_time_ns": 0, "run_cnt": 0})
        out[i] = dict(a, run_time_ns=a["run_time_ns"] - b["run_time_ns"],
                      run_cnt=a["run_cnt"] - b["run_cnt"])
    return out


def hooks():
    """Program name (full, as bpftool shows it with BTF, and cut to 15
    bytes, as without) -> hook, from the SEC() of every
    program in bpf/*.bpf.c and bench/floor.bpf.c. tc programs become
    tc/ingress or tc/egress (from their name)."""
    out = {}
    files = glob.glob(os.path.join(ROOT, "bpf", "*.bpf.c")) + glob.glob(os.path.join(ROOT, "bpf", "*.h")) + \
        [os.path.join(HERE, "floor.bpf.c")]
    sec_re = re.compile(r'SEC\("([^"]+)"\)')
    name_re = re.compile(r"^int\s+(?:BPF_PROG\((\w+)|(\w+)\()")
    for path in files:
        with open(path) as f:
            lines = f.read().split("\n")
        for k, line in enumerate(lines):
            m = sec_re.search(line)
            if not m or m.group(1) in ("license", ".maps"):
                continue
            sec, name = m.group(1), None
            for nxt in lines[k + 1:k + 3]:
                n = name_re.match(nxt.strip())
                if n:
                    name = n.group(1) or n.group(2)
                    break
            if name:
                out[name] = out[name[:NAME_LEN]] = hook_of(sec, name)
    # The floor's EMPTY(hook) programs: f_<hook> on tp_btf/<hook>.
    with open(os.path.join(HERE, "floor.bpf.c")) as f:
        for hook in re.findall(r"^EMPTY\((\w+)\)", f.read(), re.M):
            out["f_" + hook] = out[("f_" + hook)[:NAME_LEN]] = hook
    return out


def hook_of(sec, name):
    if sec in ("tc", "classifier", "tcx/ingress", "tcx/egress"):
        return "tc/" + ("ingress" if "ingress" in name else "egress")
    return sec.split("/", 1)[1] if "/" in sec else sec


def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"kernel": platform.release(), "cpus": os.cpu_count(), "cpu": cpu,
            "host": platform.node()}


def record(section, data):
    try:
        with open(RESULTS) as f:
            res = json.load(f)
    except (OSError, ValueError):
        res = {}
    res["machine"] = machine()
    res.setdefault("sections", {})
    data = dict(data)
    data["measured_at"] = datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="seconds")
    res["sections"][section] = data
    tmp = RESULTS + ".tmp"
    with open(tmp, "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, RESULTS)


def percentile(values, p):
    """Nearest-rank percentile of a list (p in 0..100)."""
    if not values:
        return float("nan")
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def median(values):
    v = sorted(values)
    if not v:
        return float("nan")
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2.0


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(v, spec="%.1f", none="-"):
    return none if v is None or v != v else spec % v


def table(headers, rows, out=sys.stdout):
    """Print rows (lists of strings) under headers, columns aligned; the
    first column left-aligned, the others right-aligned."""
    cols = [headers] + rows
    w = [max(len(str(r[i])) for r in cols) for i in range(len(headers))]
    for j, r in enumerate(cols):
        cells = [str(c).ljust(w[i]) if i == 0 else str(c).rjust(w[i]) for i, c in enumerate(r)]
        out.write("  ".join(cells).rstrip() + "\n")
        if j == 0:
            out.write("  ".join("-" * x for x in w) + "\n")


def markdown(res):
    """The "Latest results" tables of bench/README.md from results.json."""
    out = []
    m = res.get("machine", {})
    sec = res.get("sections", {})
    out.append("Machine: %s, %s CPUs, Linux %s." % (m.get("cpu", "?"), m.get("cpus", "?"), m.get("kernel", "?")))

    def f(v, spec="%.0f"):
        return fmt(v, spec)

    k = sec.get("kernel_cost")
    if k:
        out += ["", "**Per-event kernel cost** (ns per run; %d rounds; %s)" % (k["rounds"], k["measured_at"]), "",
                "| program | hook | events/round | hostlat | floor | bpftrace | hostlat/floor | hostlat/bpftrace |",
                "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for p in k["programs"]:
            if not p["events_per_round"]:
                continue
            out.append("| `%s` | `%s` | %d | %s | %s | %s | %s | %s |" % (
                p["program"], p["hook"], p["events_per_round"], f(p["ns_per_event"]), f(p["floor_ns"]),
                f(p["bpftrace_ns"]), fmt(p["ratio_floor"], "%.1f"), fmt(p["ratio_bpftrace"], "%.2f")))
        t = k["total_ms_per_round"]
        out += ["", "BPF time per round of the same workload: hostlat %.0f ms, floor %.0f ms, bpftrace %.0f ms "
                "(bpftrace's without its trace-event overhead)." % (t["hostlat"], t["floor"], t["bpftrace"])]
        rated = [p for p in k["programs"] if p["events_per_round"] and p["ratio_floor"] is not None]
        within = sum(1 for p in rated if p["ratio_floor"] <= 2.0)
        out += ["", "Goals: every program at most 2.0x its floor (%d of %d are); hostlat's BPF time at most "
                "0.5x bpftrace's (it is %s)." % (within, len(rated), fmt(ratio(t["hostlat"], t["bpftrace"]), "%.2fx"))]
    pt = sec.get("parts")
    if pt:
        out += ["", "**Parts of a sample** (`softirq_entry` rebuilt part by part, ns per run; %d rounds; %s)"
                % (pt["rounds"], pt["measured_at"]), "",
                "| program | part | runs/round | ns/run | this part |", "| --- | --- | ---: | ---: | ---: |"]
        for x in pt["parts"]:
            out.append("| `%s` | %s | %d | %s | %s |" % (x["program"], x["what"], x["runs_per_round"],
                                                      f(x["ns_per_run"]), fmt(x["step_ns"], "%+.0f")))
        real = ", ".join("`%s` %s" % (x["program"], f(x["ns_per_run"])) for x in pt.get("softirq", []))
        if real:
            out += ["", "The real softirq probe in the same run (ns per run): %s." % real]
    t = sec.get("traffic")
    if t:
        out += ["", "**Traffic sampler** (%d rounds; %s)" % (t["rounds"], t["measured_at"]), "",
                "| program | ns/packet outside a run | ns/packet during a run |", "| --- | ---: | ---: |"]
        for name, c in sorted(t["tc_cost"].items()):
            out.append("| `%s` | %s | %s |" % (name, f(c["outside_run_ns"]), f(c["in_run_ns"])))
        out += ["", "| set-up | TCP Gbit/s | vs none | UDP 64 B kpkt/s | vs none |", "| --- | ---: | ---: | ---: | ---: |"]
        for s in ("none", "idle", "sampling"):
            x = t["throughput"][s]
            out.append("| %s | %.2f | %.3f | %.0f | %.3f |" % (
                {"none": "no program", "idle": "outside a run", "sampling": "during a run"}[s],
                x["tcp_gbps"], x["tcp_ratio"], x["udp64_kpps"], x["udp64_ratio"]))
    a = sec.get("agent_cost")
    if a:
        out += ["", "**Agent cost**: every probe and exporter on, and the embedded default config (%s)" % a["measured_at"], "",
                "| set-up | CPU ms/interval | CPU % | peak RSS MiB | RSS at end MiB (anon + file) | OTLP KiB raw | OTLP KiB gzip | StatsD KiB | stdout JSON KiB |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for iv, label in (("interval_1s", "every probe, 1 s"), ("interval_10s", "every probe, 10 s"),
                          ("default_config", "default config, 10 s")):
            x = a.get(iv)
            if x:
                anon, filed = x.get("rss_anon_kib"), x.get("rss_file_kib")
                end = "%.1f (%.1f + %.1f)" % ((anon + filed) / 1024.0, anon / 1024.0, filed / 1024.0) \
                    if anon is not None and filed is not None else "-"
                kib = lambda k, fmt: fmt % (x[k] / 1024) if k in x else "-"
                out.append("| %s | %.2f | %.3f | %.1f | %s | %s | %s | %s | %s |" % (
                    label, x["cpu_ms_per_interval"], x["cpu_percent"], x["peak_rss_kib"] / 1024.0, end,
                    kib("otlp_raw_bytes_per_interval", "%.0f"), kib("otlp_gzip_bytes_per_interval", "%.1f"),
                    kib("statsd_bytes_per_interval", "%.1f"), kib("stdout_json_bytes_per_interval", "%.0f")))
        out += ["", "Goals: at most 0.2 % of one CPU at a 1 s interval with every probe; at most 15 MiB resident at the default config."]
    tl = sec.get("tail_latency")
    if tl:
        out += ["", "**HTTP tail latency** (µs, median of %d rounds; inflation over no monitoring; %s)"
                % (tl["rounds"], tl["measured_at"]), "",
                "hostlat: every probe; stack: only stack_latency (the netstacklat set-up)", "",
                "| file × connections | p50 none | hostlat | stack | bpftrace | p99 none | hostlat | stack | bpftrace | p99.9 none | hostlat | stack | bpftrace |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for w in tl["workloads"]:
            row = "| %s × %d |" % (w["size"], w["conns"])
            for q in ("p50", "p99", "p999"):
                x = w[q]
                row += " %d | %d (%+.0f %%) | %s | %d (%+.0f %%) |" % (
                    x["none_us"], x["hostlat_us"], 100 * x["hostlat_inflation"],
                    "%d (%+.0f %%)" % (x["stack_us"], 100 * x["stack_inflation"]) if "stack_us" in x else "-",
                    x["bpftrace_us"], 100 * x["bpftrace_inflation"])
            out.append(row)
    sc = sec.get("scale")
    if sc:
        out += ["", "**Scale** (%d CPUs; %s)" % (sc["cpus"], sc["measured_at"]), "",
                "| keys | map entries | collect ms | µs/key | map read ms | ns/(entry·CPU) | OTLP KiB |",
                "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in sc["runs"]:
            out.append("| %d | %d | %.2f | %.1f | %.2f | %.0f | %.0f |" % (
                r["keys"], r["hist_entries"], r["collect_ms"], r["collect_ms"] / r["keys"] * 1e3,
                r["hist_read_ms"], r["hist_read_ns_per_entry_cpu"], r["otlp_bytes"] / 1024))
    x = sec.get("xdp_responder")
    if x:
        # The columns bench/xdp-responder.sh prints.
        out += ["", "**XDP responder**: `hostlat ping` round trip (µs; %d requests per set-up, %s apart, "
                "%d busy processes when saturated; %s)" % (x["rounds"] * x["requests_per_run"], x["interval"],
                                                           x["busy_processes"], x["measured_at"]), "",
                "| responder | p50 µs | p90 µs | p99 µs | max µs | lost |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for name in ("xdp-idle", "user-idle", "xdp-saturated", "user-saturated"):
            r = x["rtt"].get(name)
            if r:
                out.append("| %s | %.1f | %.1f | %.1f | %.1f | %d |" % (
                    name, r["p50_us"], r["p90_us"], r["p99_us"], r["max_us"], r["lost"]))
        out += ["", "| user / xdp | p50 | p90 | p99 |", "| --- | ---: | ---: | ---: |"]
        for load in ("idle", "saturated"):
            q = x["ratio_user_over_xdp"].get(load)
            if q:
                out.append("| %s | %.1fx | %.1fx | %.1fx |" % (load, q["p50"], q["p90"], q["p99"]))
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) >= 2 and argv[1] == "progstats":
        json.dump(prog_stats(argv[2:]), sys.stdout)
        print()
    elif len(argv) == 4 and argv[1] == "record":
        with open(argv[3]) as f:
            record(argv[2], json.load(f))
    elif len(argv) == 2 and argv[1] == "markdown":
        with open(RESULTS) as f:
            sys.stdout.write(markdown(json.load(f)))
    elif len(argv) == 2 and argv[1] == "hooks":
        json.dump(hooks(), sys.stdout, indent=1, sort_keys=True)
        print()
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
