#!/usr/bin/env python3
"""The README's "Supported kernels" table from what the kernel matrix measured.

table.py REPORT.tsv...  (build/kernels/*/report.tsv, written by smoke.sh)

Each report has rows "kernel, item, hook or 'unavailable: reason', samples".
Prints a Markdown table: one row per item, one column per kernel (in the
order given), each cell the hook that recorded samples, or "no" and why.
"""
import re
import sys


def short(hook):
    """The hooks of a cell without the probe's extra notes."""
    parts = []
    for p in hook.split("; "):
        p = re.sub(r"^(duration|wait|polls|latency|readers|skb drops|rcvqueue_full|exceed_buf_limit) ", "", p)
        if p.startswith(("interfaces:", "kernel memory", "counters from", "no sock/", "retransmits:")):
            continue
        p = p.replace("attach: ", "")
        parts.append(p)
    return ", ".join(dict.fromkeys(parts)) or "yes"


def main(paths):
    kernels, cells, items = [], {}, []
    for path in paths:
        with open(path) as f:
            for line in f:
                kernel, item, hook, n = line.rstrip("\n").split("\t")
                if kernel not in kernels:
                    kernels.append(kernel)
                if item not in items:
                    items.append(item)
                if hook.startswith("unavailable: "):
                    cell = "no: " + hook[len("unavailable: "):]
                else:
                    cell = short(hook) + ("" if int(float(n)) else " (no samples)")
                cells[(item, kernel)] = cell.replace("|", "/")
    print("| probe / stage | " + " | ".join(kernels) + " |")
    print("|---|" + "---|" * len(kernels))
    for item in items:
        print("| %s | %s |" % (item, " | ".join(cells.get((item, k), "-") for k in kernels)))


if __name__ == "__main__":
    main(sys.argv[1:])
