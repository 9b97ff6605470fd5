/*
 * A backend for the StatsD daemon (npm statsd 0.9.0) used by
 * tests/cases/50-statsd.sh: appends one JSON line per received datagram
 * ({"packet": bytes, "text": ...}) and per flush ({"flush": unix seconds,
 * counters, gauges, timers, timer_counts}) to config.jsonlog.file.
 *
 * Load it with an absolute path in the daemon's `backends` list.
 */
'use strict';

const fs = require('fs');

exports.init = function (startupTime, config, events) {
	const file = config.jsonlog && config.jsonlog.file;

	if (!file)
		return false;
	const write = (obj) => fs.appendFileSync(file, JSON.stringify(obj) + '\n');

	events.on('packet', (msg, rinfo) => {
		write({ packet: msg.length, from: rinfo.port, text: msg.toString() });
	});
	events.on('flush', (timestamp, metrics) => {
		const timerCounts = {};

		for (const key in metrics.timer_data)
			timerCounts[key] = metrics.timer_data[key].count;
		write({
			flush: timestamp,
			counters: metrics.counters,
			gauges: metrics.gauges,
			timers: metrics.timers,
			timer_counts: timerCounts,
		});
	});
	events.on('status', (callback) => callback(null, 'jsonlog', 'file', file));
	return true;
};
