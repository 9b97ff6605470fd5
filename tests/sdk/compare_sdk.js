#!/usr/bin/env node
// SPDX-License-Identifier: MIT
//
// Compares hostlat's exponential histograms with the OpenTelemetry JS SDK's.
//
// For each dataset (fixed seeds) the same durations are recorded
//   - by `exphist record --scale S --max-size N`: integer nanoseconds
//     bucketed on the kernel's exact table at scale S, then aggregated by
//     struct hl_hist (downscaling to keep at most N buckets), and
//   - by the SDK's public API: a MeterProvider whose View gives the
//     histogram an ExponentialHistogram(N) aggregation (it starts at scale
//     20 and downscales itself), values in seconds (v * 1e-9), read with
//     MetricReader.collect().
// The data are spread widely enough that the SDK ends at a scale <= S; then
// both must agree exactly on scale, offset, bucket counts, count and zero
// count, on sum within 1e-9 relative, and min/max must be exactly v * 1e-9.
//
// Usage: node tests/sdk/compare_sdk.js [EXPHIST]   (or env EXPHIST; default
// build/asan/exphist, then build/exphist)
// Exit status: 0 all equal, 1 a difference or an error.
'use strict';

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

let sdk;
try {
	// tests/node_modules, whatever the current directory
	sdk = require(path.join(__dirname, '..', 'node_modules', '@opentelemetry', 'sdk-metrics'));
} catch (e) {
	console.error(`cannot load @opentelemetry/sdk-metrics (run npm ci in tests/): ${e.message}`);
	process.exit(1);
}
const { MeterProvider, MetricReader, View, ExponentialHistogramAggregation } = sdk;

// The binary: argument, env EXPHIST, else build/asan/exphist, else build/exphist.
function defaultExphist() {
	const root = path.join(__dirname, '..', '..');
	for (const p of ['build/asan/exphist', 'build/exphist']) {
		const f = path.join(root, p);
		try {
			fs.accessSync(f, fs.constants.X_OK);
			return f;
		} catch (e) {
			// try the next one
		}
	}
	return null;
}
const EXPHIST = process.argv[2] || process.env.EXPHIST || defaultExphist();
if (!EXPHIST) {
	console.error('usage: compare_sdk.js [EXPHIST-BINARY] (or set EXPHIST; default build/asan/exphist)');
	process.exit(1);
}

// A reader that only collects on demand.
class CollectingReader extends MetricReader {
	async onForceFlush() {}
	async onShutdown() {}
}

// xorshift32, two draws per double: deterministic on every machine.
function makeRng(seed) {
	let x = seed >>> 0 || 1;
	const next32 = () => {
		x ^= x << 13;
		x >>>= 0;
		x ^= x >>> 17;
		x ^= x << 5;
		x >>>= 0;
		return x;
	};
	return () => (next32() * 2 ** 21 + (next32() >>> 11)) / 2 ** 53; // [0, 1)
}

// n integers of ns, log-uniform in [lo, hi].
function logUniform(seed, n, lo, hi) {
	const rnd = makeRng(seed);
	const a = Math.log(lo);
	const b = Math.log(hi);
	const out = [];
	for (let i = 0; i < n; i++)
		out.push(Math.round(Math.exp(a + (b - a) * rnd())));
	return out;
}

// Exact integers of ns chosen by hand: tiny values, round numbers, exact
// binary fractions of a second (1953125 ns = 2^-9 s, so 1953125 * 2^k ns
// is exactly 2^(k-9) s: a bucket boundary at every scale) and neighbours.
function exactIntegers() {
	const v = [0, 0, 0, 1, 2, 3, 4, 5, 7, 8, 10, 16, 100, 999, 1000, 1001, 1500, 4096, 65536];
	for (let k = 0; k <= 15; k++) {
		const b = 1953125 * 2 ** k;
		v.push(b, b - 1, b + 1, b, 3 * b);
	}
	v.push(1e6, 1e7, 123456789, 1e9, 1e9, 2e9, 3e9, 5e8, 2.5e8, 1e10, 6e10, 64e9);
	for (let i = 1; i <= 2000; i += 7)
		v.push(i, i * 1000, i * 1000003);
	return v;
}

const DATASETS = [
	// name, kernel scale S, max size N, values (ns)
	['wide-s3-n160', 3, 160, () => logUniform(1, 20000, 1e3, 1e11)],
	['wide-s5-n20', 5, 20, () => logUniform(2, 20000, 1e2, 1e7)],
	['wide-s5-n160', 5, 160, () => logUniform(3, 20000, 1e3, 1e10)],
	['6-octaves-s5-n160', 5, 160, () => logUniform(4, 20000, 1e6, 7e7)],
	['around-1s-s5-n20', 5, 20, () => logUniform(5, 5000, 1e9, 1.6e9).concat([1e9, 1e9])],
	['exact-integers-s3-n160', 3, 160, exactIntegers],
];

// v ns is exactly a power of two in seconds: v = 2^m * 1953125.
function isBinarySecond(v) {
	if (v <= 0 || v % 1953125 !== 0)
		return false;
	const m = v / 1953125;
	return Number.isInteger(Math.log2(m)) && 2 ** Math.log2(m) === m;
}

// The SDK buckets the double v * 1e-9 with a floating-point logarithm, so
// a value within ~1e-15 relative of a boundary may land on either side
// (and the double itself is off the exact v / 1e9 by up to 1.1e-16).  Such
// values are left out: anything within 1e-12 relative of a bucket boundary
// at scale S.  Every boundary at the final scale (<= S) is a boundary at
// scale S, so this covers the final scale too.  Exact binary fractions of a
// second are kept: both sides get those right (the SDK special-cases
// powers of two).
function nearBoundary(v, scale) {
	if (v === 0 || isBinarySecond(v))
		return false;
	const t = Math.log2(v * 1e-9) * 2 ** scale;
	return (Math.abs(t - Math.round(t)) * Math.LN2) / 2 ** scale < 1e-12;
}

async function sdkHistogram(valuesNs, maxSize) {
	const reader = new CollectingReader();
	const provider = new MeterProvider({
		views: [
			new View({
				instrumentName: 'latency',
				aggregation: new ExponentialHistogramAggregation(maxSize, true),
			}),
		],
	});
	provider.addMetricReader(reader);
	const h = provider.getMeter('compare_sdk').createHistogram('latency', { unit: 's' });
	for (const v of valuesNs)
		h.record(v * 1e-9);
	const { resourceMetrics, errors } = await reader.collect();
	await provider.shutdown();
	if (errors.length)
		throw new Error(`SDK collect errors: ${errors}`);
	const points = resourceMetrics.scopeMetrics[0].metrics[0].dataPoints;
	if (points.length !== 1)
		throw new Error(`SDK returned ${points.length} data points`);
	return points[0].value;
}

function exphistHistogram(valuesNs, scale, maxSize) {
	const r = spawnSync(EXPHIST, ['record', '--scale', String(scale), '--max-size', String(maxSize)], {
		input: valuesNs.map(String).join('\n') + '\n',
		encoding: 'utf8',
		maxBuffer: 64 << 20,
	});
	if (r.error)
		throw new Error(`cannot run ${EXPHIST}: ${r.error.message}`);
	if (r.status !== 0)
		throw new Error(`${EXPHIST} record exited ${r.status}: ${r.stderr}`);
	const lines = r.stdout.trim().split('\n');
	if (lines.length !== 1)
		throw new Error(`expected one JSON line, got ${lines.length}`);
	return JSON.parse(lines[0]);
}

function compare(name, ours, sdkValue, valuesNs) {
	const diffs = [];
	const pos = ours.positive || { offset: 0, bucketCounts: [] };
	const oursCounts = pos.bucketCounts.map(Number);
	const sdkCounts = sdkValue.positive.bucketCounts;
	const same = (what, a, b) => {
		if (a !== b)
			diffs.push(`${what}: exphist ${a}, SDK ${b}`);
	};
	for (const c of pos.bucketCounts.concat([ours.count, ours.zeroCount]))
		if (typeof c !== 'string' || !/^[0-9]+$/.test(c))
			diffs.push(`not a uint64 string: ${JSON.stringify(c)}`);
	same('scale', ours.scale, sdkValue.scale);
	if (oursCounts.length || sdkCounts.length)
		same('offset', pos.offset, sdkValue.positive.offset);
	same('bucket count', oursCounts.length, sdkCounts.length);
	for (let i = 0; i < Math.max(oursCounts.length, sdkCounts.length); i++)
		if (oursCounts[i] !== sdkCounts[i])
			diffs.push(`bucket ${pos.offset + i}: exphist ${oursCounts[i]}, SDK ${sdkCounts[i]}`);
	same('count', Number(ours.count), sdkValue.count);
	same('count (values)', Number(ours.count), valuesNs.length);
	same('zeroCount', Number(ours.zeroCount), sdkValue.zeroCount);
	const rel = Math.abs(ours.sum - sdkValue.sum) / Math.max(Math.abs(sdkValue.sum), 1e-300);
	if (!(rel <= 1e-9))
		diffs.push(`sum: exphist ${ours.sum}, SDK ${sdkValue.sum} (relative ${rel})`);
	const minS = Math.min(...valuesNs) * 1e-9;
	const maxS = Math.max(...valuesNs) * 1e-9;
	same('min', ours.min, minS);
	same('max', ours.max, maxS);
	same('SDK min', sdkValue.min, minS);
	same('SDK max', sdkValue.max, maxS);
	return diffs;
}

async function main() {
	let failed = 0;
	console.log(`comparing ${EXPHIST} with @opentelemetry/sdk-metrics ` +
		require(path.join(__dirname, '..', 'node_modules', '@opentelemetry', 'sdk-metrics', 'package.json')).version);
	for (const [name, scale, maxSize, gen] of DATASETS) {
		const all = gen();
		const values = all.filter((v) => !nearBoundary(v, scale));
		const skipped = all.length - values.length;
		let diffs;
		let ours;
		let theirs;
		try {
			theirs = await sdkHistogram(values, maxSize);
			ours = exphistHistogram(values, scale, maxSize);
			diffs = compare(name, ours, theirs, values);
			if (theirs.scale > scale)
				diffs.push(`dataset too narrow: the SDK ended at scale ${theirs.scale} > kernel scale ${scale}`);
		} catch (e) {
			diffs = [e.stack || String(e)];
		}
		const buckets = ours && ours.positive ? ours.positive.bucketCounts.length : 0;
		console.log(`${diffs.length ? 'FAIL' : 'ok  '} ${name}: ${values.length} values (${skipped} near a ` +
			`boundary skipped), kernel scale ${scale}, max size ${maxSize} -> scale ` +
			`${theirs ? theirs.scale : '?'}, offset ${ours && ours.positive ? ours.positive.offset : '-'}, ` +
			`${buckets} buckets, zeroCount ${ours ? ours.zeroCount : '?'}; compared scale, offset, ` +
			'bucketCounts, count, zeroCount, sum, min, max');
		for (const d of diffs.slice(0, 20))
			console.log(`       ${d}`);
		if (diffs.length)
			failed++;
	}
	const passed = DATASETS.length - failed;
	console.log(`compare_sdk: ${passed} passed, ${failed} failed`);
	return failed ? 1 : 0;
}

main().then(
	(rc) => process.exit(rc),
	(e) => {
		console.error(e);
		process.exit(1);
	}
);
