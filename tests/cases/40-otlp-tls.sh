#!/usr/bin/env bash
# otlp_http over HTTPS to the receiver (a test CA, a server certificate for
# 127.0.0.1, a client certificate). Three exporters: ca_file + cert_file +
# key_file (mutual TLS: the receiver sees a valid client certificate);
# insecure_skip_verify (delivered, without client certificate); and neither
# (the server certificate does not verify against the system CAs: nothing is
# delivered, the failure is logged and retried). The same files from the
# OTEL_EXPORTER_OTLP_* variables are covered by tests/unit/test_otlp.c.
source "$(dirname "$0")/40-otlp-common.sh"
command -v openssl >/dev/null || skip "openssl not installed"

cd "$TMP"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=hostlat test CA" \
	-keyout ca.key -out ca.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server.key -out server.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
	-extfile server.ext -out server.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=hostlat-test-client" -keyout client.key \
	-out client.csr 2>/dev/null
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
	-out client.pem 2>/dev/null
cd - >/dev/null
[ -s "$TMP/client.pem" ] || fail "openssl could not make the test certificates"

start_receiver --tls-cert "$TMP/server.pem" --tls-key "$TMP/server.key" --client-ca "$TMP/ca.pem"
cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s, log_level: info }
exporters:
  - type: otlp_http
    name: mtls
    endpoint: https://127.0.0.1:$RCV_PORT
    ca_file: $TMP/ca.pem
    cert_file: $TMP/client.pem
    key_file: $TMP/client.key
    headers: { x-hostlat-test: mtls }
  - type: otlp_http
    name: insecure
    endpoint: https://127.0.0.1:$RCV_PORT
    insecure_skip_verify: true
    headers: { x-hostlat-test: insecure }
  - type: otlp_http
    name: unverified
    endpoint: https://127.0.0.1:$RCV_PORT
    headers: { x-hostlat-test: unverified }
    retry: { initial: 500ms, max: 500ms }
YAML
only_probes "$TMP/hostlat.yaml" stack_latency

start_agent "$TMP/hostlat.yaml"
sleep 3.5
stop_agent
grep "otlp_http\|exporter" "$TMP/agent.err" || true
grep -q "TLS VERIFICATION OFF" "$TMP/agent.err" || fail "insecure_skip_verify is not logged"
grep -q "exporter: unverified: .*SSL certificate problem" "$TMP/agent.err" ||
	fail "the certificate failure of 'unverified' is not logged"

"$PY" - "$RCV_LOG" <<'PY'
import collections, json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
seen = collections.defaultdict(list)
for r in reqs:
    if not r["valid"]:
        sys.exit("invalid request %d: %s" % (r["seq"], r["errors"][:2]))
    seen[r["headers"].get("x-hostlat-test")].append(r)
print({k: len(v) for k, v in seen.items()})
if not seen["mtls"] or not all(r["tls"]["authorized"] and r["tls"]["clientCN"] == "hostlat-test-client" for r in seen["mtls"]):
    sys.exit("mtls: %s" % [r.get("tls") for r in seen["mtls"]])
if not seen["insecure"] or any(r["tls"]["authorized"] for r in seen["insecure"]):
    sys.exit("insecure: %s" % [r.get("tls") for r in seen["insecure"]])
if seen["unverified"]:
    sys.exit("a request got through without a verified server certificate")
PY
ok "TLS: CA file and client certificate, insecure_skip_verify, verification failure"
