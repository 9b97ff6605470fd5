#!/usr/bin/env node
// SPDX-License-Identifier: MIT
//
// An OTLP/HTTP metrics receiver for the tests. Every request body is checked
// against the official OTLP protobuf schema (the protobufjs code generated
// from opentelemetry-proto that ships in @opentelemetry/otlp-proto-exporter-base):
// fromObject -> verify -> encode -> decode -> toObject must give back every key
// and value of the JSON (a key that is lost is not an OTLP field), plus the
// rules protobuf cannot express: lowerCamelCase, 64-bit integers as strings,
// temporality 1 or 2, no empty envelopes, exponential-histogram invariants
// (count == zeroCount + sum of buckets, scale in -10..20, finite sum/min/max).
//
// Each request is appended to the log (JSON lines): time, method, path,
// headers, wire and decoded sizes, gzip, valid + errors, the status answered,
// the attributes of the (first) resource,
// and a summary of its metrics and points.
//
// Usage: node otlp_receiver.js [--port N] [--control-port N] [--log FILE]
//          [--mode ok|status|flaky|hang|slow|partial|down|raw|reset] [--code N] [--every N]
//          [--retry-after VALUE] [--delay-ms N] [--rejected N]
//          [--error-message TEXT] [--message TEXT] [--body TEXT] [--bytes N]
//          [--tls-cert PEM --tls-key PEM [--client-ca PEM]]
// With --tls-cert the OTLP port speaks HTTPS; with --client-ca it asks for a
// client certificate and logs whether it was valid (tls.authorized) and its CN.
// Port 0 (default) picks free ports. Prints one line when ready:
//   listening port=P control=C
// The control port takes POST /control with a JSON object of the same
// settings ({"mode": "status", "code": 503, "retryAfter": "2"}); it replaces
// the current settings. GET /stats gives counters. Modes:
//   ok       200 {} (400 with a google.rpc.Status body if the request is invalid)
//   status   `code` (default 503) with Retry-After `retryAfter` if set and a
//            JSON body {code, message}
//   flaky    like status for every `every`-th request (default 3) since the
//            mode was set, like ok for the others
//   hang     read the request, never answer
//   slow     answer 200 after `delayMs`
//   partial  200 with partialSuccess {rejectedDataPoints: `rejected`, errorMessage}
//   down     close the data port (and its connections); any other mode reopens it
//   raw      `code` (default 200) with the body `body` (latin1 text), repeated to
//            `bytes` bytes when set (huge bodies); no Content-Type check by the client
//   reset    read the request, then reset the connection (TCP RST), no answer
"use strict";

const fs = require("fs");
const http = require("http");
const https = require("https");
const path = require("path");
const zlib = require("zlib");

const ROOT_JS = path.join(__dirname, "..", "node_modules", "@opentelemetry",
	"otlp-proto-exporter-base", "build", "src", "generated", "root.js");
const root = require(ROOT_JS);
const Req = root.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;

// ---- arguments ----------------------------------------------------------------------

function parseArgs(argv) {
	const o = { port: 0, controlPort: 0, log: null, settings: { mode: "ok" } };
	const names = {
		"--mode": ["mode", String], "--code": ["code", Number],
		"--retry-after": ["retryAfter", String], "--delay-ms": ["delayMs", Number],
		"--rejected": ["rejected", String], "--error-message": ["errorMessage", String],
		"--message": ["message", String], "--every": ["every", Number],
		"--body": ["body", String], "--bytes": ["bytes", Number],
	};
	for (let i = 2; i < argv.length; i++) {
		const a = argv[i], v = argv[i + 1];
		if (a === "--port") { o.port = Number(v); i++; }
		else if (a === "--control-port") { o.controlPort = Number(v); i++; }
		else if (a === "--log") { o.log = v; i++; }
		else if (a === "--tls-cert") { o.tlsCert = v; i++; }
		else if (a === "--tls-key") { o.tlsKey = v; i++; }
		else if (a === "--client-ca") { o.clientCa = v; i++; }
		else if (names[a]) { o.settings[names[a][0]] = names[a][1](v); i++; }
		else if (/^\d+$/.test(a)) { o.port = Number(a); }
		else { console.error("unknown argument " + a); process.exit(2); }
	}
	return o;
}

const opts = parseArgs(process.argv);
let settings = opts.settings;
const MODES = ["ok", "status", "flaky", "hang", "slow", "partial", "down", "raw", "reset"];
let modeRequests = 0; // requests since the mode was set

// ---- validation ---------------------------------------------------------------------

const U64_KEYS = new Set(["timeUnixNano", "startTimeUnixNano", "count", "zeroCount",
	"bucketCounts", "asInt", "intValue", "observedTimeUnixNano"]);

function isDefault(v) {
	return v === 0 || v === "0" || v === "" || v === false || v === null ||
		(Array.isArray(v) && v.length === 0);
}

// Every key and value of `orig` must survive the round trip into `back`.
function compare(orig, back, where, errors) {
	if (Array.isArray(orig)) {
		if (!Array.isArray(back) || back.length !== orig.length) {
			errors.push(where + ": array changed in the round trip");
			return;
		}
		orig.forEach((v, i) => compare(v, back[i], where + "[" + i + "]", errors));
		return;
	}
	if (orig !== null && typeof orig === "object") {
		if (back === null || typeof back !== "object") {
			errors.push(where + ": object lost in the round trip");
			return;
		}
		for (const k of Object.keys(orig)) {
			const w = where ? where + "." + k : k;
			if (!(k in back)) {
				if (!isDefault(orig[k]))
					errors.push(w + ": not an OTLP field (lost in the round trip)");
				continue;
			}
			compare(orig[k], back[k], w, errors);
		}
		return;
	}
	if (typeof orig === "number" && typeof back === "number") {
		if (orig !== back)
			errors.push(where + ": " + orig + " came back as " + back);
		return;
	}
	if (String(orig) !== String(back))
		errors.push(where + ": " + JSON.stringify(orig) + " came back as " + JSON.stringify(back));
}

// Rules beyond the schema, on the original JSON.
function checkRules(obj, errors) {
	(function walk(v, where, key) {
		if (Array.isArray(v)) {
			v.forEach((x, i) => walk(x, where + "[" + i + "]", key));
			return;
		}
		if (v !== null && typeof v === "object") {
			for (const k of Object.keys(v)) {
				const w = where ? where + "." + k : k;
				if (!/^[a-z][a-zA-Z0-9]*$/.test(k))
					errors.push(w + ": key is not lowerCamelCase");
				walk(v[k], w, k);
			}
			return;
		}
		if (U64_KEYS.has(key) && !(typeof v === "string" && /^\d+$/.test(v)))
			errors.push(where + ": 64-bit integer not a decimal string: " + JSON.stringify(v));
		if (typeof v === "number" && !Number.isFinite(v))
			errors.push(where + ": not finite");
	})(obj, "", "");

	const rms = obj.resourceMetrics;
	if (!Array.isArray(rms) || rms.length === 0)
		errors.push("empty envelope: no resourceMetrics");
	(rms || []).forEach((rm, i) => {
		const sms = rm.scopeMetrics;
		if (!Array.isArray(sms) || sms.length === 0)
			errors.push(`resourceMetrics[${i}]: no scopeMetrics`);
		(sms || []).forEach((sm, j) => {
			const ms = sm.metrics;
			if (!Array.isArray(ms) || ms.length === 0)
				errors.push(`resourceMetrics[${i}].scopeMetrics[${j}]: no metrics`);
			(ms || []).forEach((m) => checkMetric(m, errors));
		});
	});
}

const KINDS = ["gauge", "sum", "histogram", "exponentialHistogram", "summary"];

function checkMetric(m, errors) {
	const where = "metric " + JSON.stringify(m.name);
	if (!m.name)
		errors.push("a metric without a name");
	const kinds = KINDS.filter((k) => k in m);
	if (kinds.length !== 1) {
		errors.push(where + ": " + kinds.length + " data kinds");
		return;
	}
	const data = m[kinds[0]];
	if (kinds[0] !== "gauge" && kinds[0] !== "summary" &&
		data.aggregationTemporality !== 1 && data.aggregationTemporality !== 2)
		errors.push(where + ": aggregationTemporality " + data.aggregationTemporality);
	if (!Array.isArray(data.dataPoints) || data.dataPoints.length === 0)
		errors.push(where + ": no data points");
	(data.dataPoints || []).forEach((dp, i) => {
		const w = where + " point " + i;
		const t = BigInt(dp.timeUnixNano || 0), st = BigInt(dp.startTimeUnixNano || 0);
		if (t === 0n)
			errors.push(w + ": no timeUnixNano");
		if (st > t)
			errors.push(w + ": startTimeUnixNano after timeUnixNano");
		if (kinds[0] === "exponentialHistogram")
			checkExpHist(dp, w, errors);
	});
}

function checkExpHist(dp, w, errors) {
	let total = BigInt(dp.zeroCount || 0);
	for (const side of ["positive", "negative"])
		for (const c of (dp[side] && dp[side].bucketCounts) || [])
			total += BigInt(c);
	if (total !== BigInt(dp.count || 0))
		errors.push(`${w}: count ${dp.count} != zeroCount + buckets ${total}`);
	const scale = dp.scale || 0;
	if (!Number.isInteger(scale) || scale < -10 || scale > 20)
		errors.push(`${w}: scale ${scale} out of -10..20`);
	for (const k of ["sum", "min", "max", "zeroThreshold"])
		if (k in dp && !(typeof dp[k] === "number" && Number.isFinite(dp[k])))
			errors.push(`${w}: ${k} is not a finite number`);
	if ("min" in dp && "max" in dp && dp.min > dp.max)
		errors.push(`${w}: min > max`);
	if ("sum" in dp && dp.sum < 0)
		errors.push(`${w}: negative sum of durations`);
}

function validate(obj) {
	const errors = [];
	let back;
	try {
		const msg = Req.fromObject(obj);
		const why = Req.verify(msg);
		if (why)
			errors.push("verify: " + why);
		const decoded = Req.decode(Req.encode(msg).finish());
		back = Req.toObject(decoded, { longs: String, enums: Number, bytes: String,
			defaults: false, arrays: false, objects: false, oneofs: false });
	} catch (e) {
		errors.push("schema: " + e.message);
		return errors;
	}
	compare(obj, back, "", errors);
	checkRules(obj, errors);
	return errors;
}

function attrs(list) {
	const o = {};
	for (const a of list || [])
		o[a.key] = a.value ? Object.values(a.value)[0] : undefined;
	return o;
}

function summarize(obj) {
	const out = [];
	for (const rm of obj.resourceMetrics || [])
		for (const sm of rm.scopeMetrics || [])
			for (const m of sm.metrics || []) {
				const kind = KINDS.find((k) => k in m);
				const data = m[kind] || {};
				out.push({
					name: m.name, kind, temporality: data.aggregationTemporality,
					points: (data.dataPoints || []).map((dp) => {
						const p = { attributes: attrs(dp.attributes),
							startTimeUnixNano: dp.startTimeUnixNano,
							timeUnixNano: dp.timeUnixNano };
						for (const k of ["count", "sum", "scale", "zeroCount", "min", "max",
							"asInt", "asDouble"])
							if (k in dp)
								p[k] = dp[k];
						return p;
					}),
				});
			}
	return out;
}

// ---- serving ------------------------------------------------------------------------

let seq = 0;
const stats = { requests: 0, valid: 0, invalid: 0, byStatus: {} };
const hung = new Set();

function record(entry) {
	if (opts.log)
		fs.appendFileSync(opts.log, JSON.stringify(entry) + "\n");
}

function answer(res, entry, code, body, headers) {
	entry.status = code;
	stats.byStatus[code] = (stats.byStatus[code] || 0) + 1;
	record(entry);
	res.writeHead(code, Object.assign({ "Content-Type": "application/json" }, headers || {}));
	res.end(JSON.stringify(body));
}

function onData(req, res) {
	const t = Date.now();
	const chunks = [];
	req.on("data", (c) => chunks.push(c));
	req.on("end", () => {
		const wire = Buffer.concat(chunks);
		const s = settings;
		const gz = /gzip/i.test(req.headers["content-encoding"] || "");
		const entry = { seq: ++seq, time: t, method: req.method, path: req.url,
			headers: req.headers, wireBytes: wire.length, gzip: gz, mode: s.mode };
		if (req.socket.encrypted) {
			const peer = req.socket.getPeerCertificate();
			entry.tls = { authorized: req.socket.authorized,
				clientCN: peer && peer.subject ? peer.subject.CN : null };
		}
		const errors = [];
		let obj = null, body = wire;
		if (req.method !== "POST")
			errors.push("method " + req.method);
		if (req.url !== "/v1/metrics")
			errors.push("path " + req.url);
		if (!/^application\/json\b/.test(req.headers["content-type"] || ""))
			errors.push("content-type " + req.headers["content-type"]);
		if (gz) {
			try {
				body = zlib.gunzipSync(wire);
			} catch (e) {
				errors.push("gunzip: " + e.message);
			}
		} else if (wire.length >= 2 && wire[0] === 0x1f && wire[1] === 0x8b) {
			errors.push("gzip body without Content-Encoding: gzip");
		}
		entry.bodyBytes = body.length;
		if (!errors.length) {
			try {
				obj = JSON.parse(body.toString("utf8"));
			} catch (e) {
				errors.push("JSON: " + e.message);
			}
		}
		if (obj) {
			errors.push(...validate(obj));
			entry.metrics = summarize(obj);
			entry.resource = attrs(((obj.resourceMetrics || [])[0] || {}).resource &&
				obj.resourceMetrics[0].resource.attributes);
		}
		entry.valid = errors.length === 0;
		entry.errors = errors;
		stats.requests++;
		stats[entry.valid ? "valid" : "invalid"]++;

		if (s.mode === "hang") {
			entry.status = "hang";
			record(entry);
			hung.add(res);
			res.on("close", () => hung.delete(res));
			return;
		}
		if (s.mode === "reset") {
			entry.status = "reset";
			record(entry);
			req.socket.resetAndDestroy();
			return;
		}
		modeRequests++;
		if (s.mode === "raw") {
			const text = Buffer.from(s.body || "", "latin1");
			const body = s.bytes ? Buffer.alloc(s.bytes, text.length ? text : "x") : text;
			entry.status = s.code || 200;
			stats.byStatus[entry.status] = (stats.byStatus[entry.status] || 0) + 1;
			record(entry);
			res.writeHead(entry.status, { "Content-Type": "text/plain", "Content-Length": body.length });
			res.end(body);
			return;
		}
		if (s.mode === "status" || (s.mode === "flaky" && modeRequests % (s.every || 3) === 0)) {
			const code = s.code || 503;
			const headers = s.retryAfter !== undefined ? { "Retry-After": String(s.retryAfter) } : {};
			answer(res, entry, code, { code: 14, message: s.message || "receiver in status mode " + code },
				headers);
			return;
		}
		if (!entry.valid) {
			answer(res, entry, 400, { code: 3, message: "invalid OTLP: " + errors.slice(0, 3).join("; ") });
			return;
		}
		if (s.mode === "partial") {
			answer(res, entry, 200, { partialSuccess: { rejectedDataPoints: String(s.rejected || "1"),
				errorMessage: s.errorMessage || "some points rejected" } });
			return;
		}
		if (s.mode === "slow") {
			setTimeout(() => answer(res, entry, 200, {}), s.delayMs || 2000);
			return;
		}
		answer(res, entry, 200, {});
	});
}

let dataServer = null;
let dataPort = opts.port;

function openData(cb) {
	const srv = opts.tlsCert
		? https.createServer({ cert: fs.readFileSync(opts.tlsCert), key: fs.readFileSync(opts.tlsKey),
			ca: opts.clientCa ? fs.readFileSync(opts.clientCa) : undefined,
			requestCert: !!opts.clientCa, rejectUnauthorized: false }, onData)
		: http.createServer(onData);
	srv.keepAliveTimeout = 30000;
	srv.listen(dataPort, "127.0.0.1", () => {
		dataPort = srv.address().port;
		dataServer = srv;
		cb && cb();
	});
}

function closeData(cb) {
	const srv = dataServer;
	dataServer = null;
	if (!srv)
		return cb && cb();
	for (const r of hung)
		r.destroy();
	srv.close(() => cb && cb());
	srv.closeAllConnections();
}

function apply(next, cb) {
	if (!MODES.includes(next.mode))
		return cb(new Error("unknown mode " + next.mode));
	settings = next;
	modeRequests = 0;
	if (next.mode === "down")
		closeData(() => cb());
	else if (!dataServer)
		openData(() => cb());
	else
		cb();
}

function onControl(req, res) {
	const chunks = [];
	req.on("data", (c) => chunks.push(c));
	req.on("end", () => {
		const reply = (code, body) => {
			res.writeHead(code, { "Content-Type": "application/json" });
			res.end(JSON.stringify(body));
		};
		if (req.method === "GET" && req.url === "/stats")
			return reply(200, Object.assign({ mode: settings.mode, port: dataPort }, stats));
		if (req.method !== "POST" || req.url !== "/control")
			return reply(404, { error: "POST /control or GET /stats" });
		let next;
		try {
			next = JSON.parse(Buffer.concat(chunks).toString("utf8"));
		} catch (e) {
			return reply(400, { error: e.message });
		}
		apply(next, (err) => (err ? reply(400, { error: err.message })
			: reply(200, { ok: true, mode: settings.mode, port: dataPort })));
	});
}

const control = http.createServer(onControl);
const start = () => control.listen(opts.controlPort, "127.0.0.1", () => {
	console.log("listening port=" + dataPort + " control=" + control.address().port);
});
if (settings.mode === "down") {
	// Reserve a port to come up on later.
	openData(() => closeData(start));
} else {
	openData(start);
}

for (const sig of ["SIGTERM", "SIGINT"])
	process.on(sig, () => {
		for (const r of hung)
			r.destroy();
		process.exit(0);
	});
