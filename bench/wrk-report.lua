-- wrk script for bench/tail-latency.sh: one JSON line with the request
-- count, errors and the latency percentiles (microseconds) at the end.
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		'{"requests": %d, "duration_us": %d, "errors": %d, "mean_us": %.1f, "p50_us": %d, "p99_us": %d, "p999_us": %d}\n',
		summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
		latency.mean, latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
