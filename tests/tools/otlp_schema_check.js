// otlp_schema_check.js FILE: every line of FILE (OTLP JSON requests, one a
// line, as the stdout exporter's json format writes them) must survive the
// official protobuf schema (opentelemetry-proto as generated in
// @opentelemetry/otlp-proto-exporter-base): fromObject -> verify -> encode ->
// decode -> toObject gives back every key and value; a key the schema does not
// know is lost on the way and reported. Prints "N requests ok" or the errors
// and exits 1.
"use strict";

const fs = require("fs");
const path = require("path");

const root = require(path.join(__dirname, "..", "node_modules", "@opentelemetry",
	"otlp-proto-exporter-base", "build", "src", "generated", "root.js"));
const Req = root.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;

// Values as the JSON mapping writes them and toObject gives them back.
function same(a, b) {
	if (typeof a === "number" && typeof b === "string")
		return String(a) === b;
	if (typeof a === "string" && typeof b === "number")
		return a === String(b);
	return a === b;
}

function compare(want, got, where, errors) {
	if (Array.isArray(want)) {
		if (!Array.isArray(got) || got.length !== want.length) {
			errors.push(`${where}: array lost or resized`);
			return;
		}
		want.forEach((w, i) => compare(w, got[i], `${where}[${i}]`, errors));
		return;
	}
	if (want && typeof want === "object") {
		if (!got || typeof got !== "object") {
			errors.push(`${where}: object lost`);
			return;
		}
		for (const k of Object.keys(want))
			if (!(k in got) && Array.isArray(want[k]) && !want[k].length)
				continue; /* an empty repeated field is not encoded at all */
			else if (!(k in got))
				errors.push(`${where}.${k}: lost (not in the schema)`);
			else
				compare(want[k], got[k], `${where}.${k}`, errors);
		return;
	}
	if (!same(want, got))
		errors.push(`${where}: ${JSON.stringify(want)} came back as ${JSON.stringify(got)}`);
}

const lines = fs.readFileSync(process.argv[2], "utf8").split("\n").filter((l) => l.trim());
const errors = [];
lines.forEach((line, i) => {
	const obj = JSON.parse(line);
	try {
		const msg = Req.fromObject(obj);
		const why = Req.verify(msg);
		if (why)
			errors.push(`request ${i}: verify: ${why}`);
		const back = Req.toObject(Req.decode(Req.encode(msg).finish()),
			{ longs: String, enums: Number, bytes: String, defaults: false });
		compare(obj, back, `request ${i}`, errors);
	} catch (e) {
		errors.push(`request ${i}: schema: ${e.message}`);
	}
});
if (errors.length) {
	console.log(errors.slice(0, 20).join("\n"));
	process.exit(1);
}
console.log(`${lines.length} requests ok`);
