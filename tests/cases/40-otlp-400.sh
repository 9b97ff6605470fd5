#!/usr/bin/env bash
# otlp_http and a receiver answering 400: a refused batch is dropped, not
# retried (even with a 200 ms retry.initial, no batch is sent twice), the
# agent logs the receiver's message (never a header value), and once the
# receiver accepts again the following batches are delivered.
source "$(dirname "$0")/40-otlp-common.sh"

SECRET="Bearer 400-$RANDOM-$RANDOM-secret"
export HL_TEST_OTLP_TOKEN=$SECRET
start_receiver --mode status --code 400 --message "the receiver refuses this batch"
cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s, log_level: info }
exporters:
  - type: otlp_http
    endpoint: http://127.0.0.1:$RCV_PORT
    headers: { authorization: "@env:HL_TEST_OTLP_TOKEN" }
    retry: { initial: 200ms, max: 200ms }
YAML
only_probes "$TMP/hostlat.yaml" stack_latency

start_agent "$TMP/hostlat.yaml"
wait_for 10 requests_at_least 3 || fail "the receiver got fewer than 3 requests"
sleep 1.5 # time for retries, if there were any
receiver_mode '{"mode": "ok"}'
refused=$(n_requests)
wait_for 10 requests_at_least $((refused + 2)) || fail "no delivery after the receiver recovered"
stop_agent
cat "$TMP/agent.err" | grep -v "^hostlat: info: stack" || true

grep -q "HTTP 400: the receiver refuses this batch" "$TMP/agent.err" ||
	fail "the agent did not log the receiver's message"
if grep -q -- "$SECRET" "$TMP/agent.err" "$TMP/agent.out"; then
	fail "a header value appears in the agent's output"
fi

TMP=$TMP "$PY" - "$RCV_LOG" <<'PY'
import os, sys
sys.path.insert(0, os.environ["TMP"])
from rcv import valid_requests, batch_time

reqs = valid_requests(sys.argv[1])
refused = [r for r in reqs if r["status"] == 400]
times = [batch_time(r) for r in refused]
print("%d requests answered 400, %d distinct batches" % (len(refused), len(set(times))))
if len(refused) < 3:
    sys.exit("only %d refused requests" % len(refused))
if len(set(times)) != len(times):
    sys.exit("a batch refused with 400 was sent again")
later = [r for r in reqs if r["status"] == 200]
if not later or set(map(batch_time, later)) & set(times):
    sys.exit("after recovery: %d accepted, refused batches resent: %s" % (len(later), set(map(batch_time, later)) & set(times)))
print("then %d requests accepted" % len(later))
PY
ok "400 is not retried; delivery resumes"
