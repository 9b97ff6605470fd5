#!/usr/bin/env bash
# otlp_http and a receiver answering 503 with Retry-After: 2: the batch is
# retried (it is transient), each retry no sooner than 2 s after the
# previous attempt although retry.initial/max are 100 ms; once the receiver
# accepts again the retried batch is delivered, and then the ones queued
# behind it, each exactly once and in order.
source "$(dirname "$0")/40-otlp-common.sh"

start_receiver --mode status --code 503 --retry-after 2
cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s, log_level: info }
exporters:
  - type: otlp_http
    endpoint: http://127.0.0.1:$RCV_PORT
    retry: { initial: 100ms, max: 100ms, max_elapsed: 1m }
YAML
only_probes "$TMP/hostlat.yaml" stack_latency

start_agent "$TMP/hostlat.yaml"
wait_for 15 requests_at_least 3 || fail "fewer than 3 attempts"
receiver_mode '{"mode": "ok"}'
sleep 3
stop_agent
grep "exporter" "$TMP/agent.err" || true
grep -q "HTTP 503 (Retry-After: 2)" "$TMP/agent.err" || fail "the 503 is not logged"

TMP=$TMP "$PY" - "$RCV_LOG" <<'PY'
import os, sys
sys.path.insert(0, os.environ["TMP"])
from rcv import valid_requests, batch_time

reqs = valid_requests(sys.argv[1])
unavailable = [r for r in reqs if r["status"] == 503]
first = batch_time(unavailable[0])
if any(batch_time(r) != first for r in unavailable):
    sys.exit("a later batch was sent while the first one was being retried")
gaps = [(b["time"] - a["time"]) / 1000 for a, b in zip(unavailable, unavailable[1:])]
print("503 attempts of the first batch: %d, gaps %s s" % (len(unavailable), gaps))
if len(unavailable) < 3:
    sys.exit("only %d attempts" % len(unavailable))
if min(gaps) < 2.0:
    sys.exit("retried %.3f s after a Retry-After: 2" % min(gaps))
accepted = [r for r in reqs if r["status"] == 200]
if not accepted or batch_time(accepted[0]) != first:
    sys.exit("the retried batch was not the first delivered")
times = [batch_time(r) for r in accepted]
if times != sorted(set(times)):
    sys.exit("batches delivered twice or out of order: %s" % times)
print("then %d batches delivered in order" % len(accepted))
gap = (accepted[0]["time"] - unavailable[-1]["time"]) / 1000
if gap < 2.0:
    sys.exit("delivered %.3f s after the last 503" % gap)
PY
ok "503 + Retry-After: retried no sooner than 2 s"
