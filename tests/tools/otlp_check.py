"""Helpers to read hostlat's OTLP JSON output in tests."""
import json


def last_request(path):
    """The last OTLP JSON request written to a JSON-lines file."""
    with open(path) as f:
        lines = [l for l in f if l.strip()]
    if not lines:
        raise SystemExit("no OTLP JSON lines in %s" % path)
    return json.loads(lines[-1])


def metrics(req):
    for rm in req.get("resourceMetrics", []):
        for sm in rm.get("scopeMetrics", []):
            for m in sm.get("metrics", []):
                yield m


def attrs(dp):
    return {a["key"]: list(a["value"].values())[0] for a in dp.get("attributes", [])}


def points(req, name):
    """(attributes, data point) of every point of metric `name`."""
    for m in metrics(req):
        if m["name"] != name:
            continue
        data = m.get("exponentialHistogram") or m.get("sum") or m.get("gauge")
        for dp in data["dataPoints"]:
            yield attrs(dp), dp


def median_index(dp):
    """Bucket index holding the median, or None for the zero bucket."""
    count = int(dp["count"])
    rank = (count + 1) // 2
    seen = int(dp.get("zeroCount", "0"))
    if seen >= rank:
        return None
    pos = dp["positive"]
    for k, c in enumerate(pos["bucketCounts"]):
        seen += int(c)
        if seen >= rank:
            return pos["offset"] + k
    raise SystemExit("counts do not add up to count")


def check_invariants(dp):
    pos = dp.get("positive", {"bucketCounts": []})
    total = int(dp.get("zeroCount", "0")) + sum(int(c) for c in pos["bucketCounts"])
    if total != int(dp["count"]):
        raise SystemExit("count %s != zeroCount + buckets %d" % (dp["count"], total))
