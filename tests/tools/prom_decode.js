#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// prom_decode.js FILE: decode a Prometheus protobuf exposition (delimited
// io.prometheus.client.MetricFamily messages) with protobufjs and print
// the families as JSON on one line. The schema below is written for this
// test from the field numbers of the format (name = 1, help = 2, type = 3,
// metric = 4; Metric label = 1, gauge = 2, counter = 3, histogram = 7...),
// only the fields hostlat sends; an independent check of its encoder.
"use strict";
const fs = require("fs");
const path = require("path");
const protobuf = require(path.join(__dirname, "..", "node_modules", "protobufjs"));

const schema = `
syntax = "proto3";
package io.prometheus.client;
message LabelPair { string name = 1; string value = 2; }
enum MetricType { COUNTER = 0; GAUGE = 1; SUMMARY = 2; UNTYPED = 3; HISTOGRAM = 4; GAUGE_HISTOGRAM = 5; }
message Gauge { double value = 1; }
message Counter { double value = 1; }
message Untyped { double value = 1; }
message Bucket { uint64 cumulative_count = 1; double upper_bound = 2; double cumulative_count_float = 4; }
message BucketSpan { sint32 offset = 1; uint32 length = 2; }
message Histogram {
  uint64 sample_count = 1;
  double sample_sum = 2;
  repeated Bucket bucket = 3;
  double sample_count_float = 4;
  sint32 schema = 5;
  double zero_threshold = 6;
  uint64 zero_count = 7;
  double zero_count_float = 8;
  repeated BucketSpan negative_span = 9;
  repeated sint64 negative_delta = 10;
  repeated double negative_count = 11;
  repeated BucketSpan positive_span = 12;
  repeated sint64 positive_delta = 13;
  repeated double positive_count = 14;
}
message Metric {
  repeated LabelPair label = 1;
  Gauge gauge = 2;
  Counter counter = 3;
  Untyped untyped = 5;
  int64 timestamp_ms = 6;
  Histogram histogram = 7;
}
message MetricFamily { string name = 1; string help = 2; MetricType type = 3; repeated Metric metric = 4; }
`;

const root = protobuf.parse(schema, { keepCase: true }).root;
const MetricFamily = root.lookupType("io.prometheus.client.MetricFamily");
const buf = fs.readFileSync(process.argv[2]);
const reader = protobuf.Reader.create(buf);
const out = [];
while (reader.pos < reader.len) {
  const msg = MetricFamily.decodeDelimited(reader);
  const obj = MetricFamily.toObject(msg, { longs: String, enums: String, defaults: true, arrays: true });
  // Bucket counts of each native histogram, from its spans and deltas
  // (Prometheus bucket indices: OTel's plus one).
  for (const m of obj.metric) {
    const h = m.histogram;
    if (!h || obj.type !== "HISTOGRAM") continue;
    let idx = 0, count = 0, k = 0;
    h.buckets = {};
    for (const sp of h.positive_span) {
      idx += sp.offset;
      for (let i = 0; i < sp.length; i++, idx++, k++) {
        count += Number(h.positive_delta[k]);
        if (count < 0) throw new Error(obj.name + ": negative bucket count");
        if (count) h.buckets[idx] = count;
      }
    }
    if (k !== h.positive_delta.length) throw new Error(obj.name + ": spans and deltas disagree");
  }
  out.push(obj);
}
process.stdout.write(JSON.stringify(out) + "\n");
