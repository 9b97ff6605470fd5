"""Helpers to read the traffic sampler's stored runs in tests."""
import glob
import gzip
import math
import os


def read_run(path):
    """{'ifname', 'gran_ns', 'samples', 'start', 'link_bps', 'pct', 'rx': [...], 'tx': [...]}.
    rx/tx rows are dicts of the CSV columns without the direction prefix."""
    run = {"rx": [], "tx": [], "path": path}
    with gzip.open(path, "rt") as f:
        lines = f.read().splitlines()
    if not lines or not lines[0].startswith("# hostlat traffic run"):
        raise SystemExit("%s: not a run file" % path)
    cols = None
    for line in lines:
        if line.startswith("#"):
            if ":" in line:
                k, v = line[1:].split(":", 1)
                run[k.strip()] = v.strip()
            continue
        if cols is None:
            cols = line.split(",")
            continue
        vals = dict(zip(cols, (int(x) for x in line.split(","))))
        for d in ("rx", "tx"):
            run[d].append({k[3:]: v for k, v in vals.items() if k.startswith(d + "_")})
    run["gran_ns"] = int(run["granularity_ns"])
    run["start"] = int(run["start_unix_ns"])
    run["n"] = int(run["samples"])
    run["link_bps"] = int(run["link_speed_bps"])
    run["pct"] = int(run["burst_threshold_percent"])
    if len(run["rx"]) != run["n"]:
        raise SystemExit("%s: %d rows for %d samples" % (path, len(run["rx"]), run["n"]))
    return run


def runs(store, gran_ns=None):
    """Every stored run, oldest first; only those of gran_ns when given."""
    out = []
    for p in sorted(glob.glob(os.path.join(store, "hostlat-traffic-*.csv.gz"))):
        r = read_run(p)
        if gran_ns is None or r["gran_ns"] == gran_ns:
            out.append(r)
    return out


def is_burst(run, nbytes):
    return nbytes * 8 * 10**9 * 100 > run["link_bps"] * run["pct"] * run["gran_ns"]


def flow_sigma(n, m=256):
    """Standard error of linear counting with m bits for n flows."""
    t = n / m
    return math.sqrt(m * (math.exp(t) - t - 1))
