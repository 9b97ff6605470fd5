/* SPDX-License-Identifier: MIT */
/*
 * The health server (agent/core/health.c) over real loopback sockets: address
 * parsing, the states of /healthz and /readyz (starting, ok, stalled, not
 * ready, ready and latched), HEAD, bad requests, and that idle clients
 * holding every slot delay an answer by at most the 2 s deadline.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "health.h"
#include "netaddr.h"
#include "probeset.h"
#include "unit.h"

static char listen_at[32];
static int port;
static atomic_bool ready_flag;

static bool ready_fn(void *arg, char *why, size_t len)
{
	(void)arg;
	if (atomic_load(&ready_flag))
		return true;
	snprintf(why, len, "not ready: test says no");
	return false;
}

/* Fake probes: two of them run. */
static bool fake_enabled(const struct hl_config *cfg)
{
	(void)cfg;
	return true;
}

static void *fake_start(const struct hl_config *cfg, char *err, size_t errlen)
{
	static int state;

	(void)cfg;
	(void)err;
	(void)errlen;
	return &state;
}

static void fake_stop(void *state)
{
	(void)state;
}

static const struct hl_probe_ops fake_probe = {
	.name = "fake",
	.enabled = fake_enabled,
	.start = fake_start,
	.stop = fake_stop,
};
static const struct hl_probe_ops *const fake_probes[] = {&fake_probe, &fake_probe, NULL};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int connect_to(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Send req, read the whole answer (at most 5 s) into resp; the status or -1. */
static int request(const char *req, char *resp, size_t len)
{
	int fd = connect_to(), status = -1;
	size_t got = 0;
	double end = now_s() + 5;

	resp[0] = 0;
	if (fd < 0)
		return -1;
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0)
		goto out;
	while (got < len - 1 && now_s() < end) {
		struct pollfd p = {fd, POLLIN, 0};
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		n = recv(fd, resp + got, len - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	resp[got] = 0;
	if (sscanf(resp, "HTTP/1.1 %d", &status) != 1)
		status = -1;
out:
	close(fd);
	return status;
}

static const char *body(const char *resp)
{
	const char *b = strstr(resp, "\r\n\r\n");

	return b ? b + 4 : "";
}

static int get(const char *path, char *resp, size_t len)
{
	char req[256];

	snprintf(req, sizeof(req),
		 "GET %s HTTP/1.1\r\nHost: x\r\nUser-Agent: kube-probe/1.29\r\n\r\n", path);
	return request(req, resp, len);
}

static void pick_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &al);
	port = ntohs(a.sin_port);
	close(fd);
	snprintf(listen_at, sizeof(listen_at), "127.0.0.1:%d", port);
}

static void test_parse(void)
{
	static const char *const good[] = {"127.0.0.1:9466", "0.0.0.0:1", "[::1]:65535",
					   "[fe80::1]:80"};
	static const char *const bad[] = {
		"",	  ":80",     "localhost:80", "127.0.0.1",  "127.0.0.1:0", "127.0.0.1:65536",
		"::1:80", "[::1]80", "[::1:80",	     "1.2.3.4:8x", "1.2.3.4:-1",  "1.2.3.4:123456"};
	struct sockaddr_storage ss;
	socklen_t sl;
	char why[200];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(hl_parse_listen(good[i], &ss, &sl, why, sizeof(why)) == 0, "%s: %s", good[i],
		      why);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = 0;
		CHECK(hl_parse_listen(bad[i], &ss, &sl, why, sizeof(why)) == -EINVAL && why[0],
		      "'%s' accepted", bad[i]);
	}
	CHECK(hl_parse_listen("[::1]:9", &ss, &sl, why, sizeof(why)) == 0 &&
		      ss.ss_family == AF_INET6 && sl == sizeof(struct sockaddr_in6),
	      "IPv6 address");
}

static void test_server(void)
{
	static const struct hl_config cfg;
	struct hl_probeset *probes = hl_probeset_new(fake_probes);
	char err[256] = "", resp[4096], big[1200];
	struct hl_health *h;
	int fds[HL_HEALTH_MAX_CONNS];
	double t0;

	CHECK(probes && hl_probeset_start(probes, &cfg) == 0 && hl_probeset_running(probes) == 2,
	      "two fake probes");
	pick_port();
	h = hl_health_start(listen_at, 1000000000ULL, ready_fn, NULL, err, sizeof(err));
	CHECK(h != NULL, "start: %s", err);
	if (!h) {
		hl_probeset_free(probes);
		return;
	}
	CHECK(hl_health_start(listen_at, 1000000000ULL, NULL, NULL, err, sizeof(err)) == NULL &&
		      strstr(err, "cannot listen"),
	      "a second server on the same port: %s", err);

	CHECK(get("/healthz", resp, sizeof(resp)) == 503 && strstr(body(resp), "starting"),
	      "before start: %s", resp);
	CHECK(get("/readyz", resp, sizeof(resp)) == 503, "readyz before start: %s", resp);

	hl_health_started(h, probes);
	CHECK(get("/healthz", resp, sizeof(resp)) == 200 &&
		      strstr(body(resp), "ok: 2 probes running"),
	      "started: %s", resp);
	CHECK(strstr(resp, "Content-Type: text/plain") && strstr(resp, "Connection: close"),
	      "headers: %s", resp);
	CHECK(get("/readyz", resp, sizeof(resp)) == 503 && strstr(body(resp), "test says no"),
	      "not ready: %s", resp);
	atomic_store(&ready_flag, true);
	CHECK(get("/readyz?verbose=1", resp, sizeof(resp)) == 200, "ready: %s", resp);
	atomic_store(&ready_flag, false);
	CHECK(get("/readyz", resp, sizeof(resp)) == 200, "ready stays ready: %s", resp);

	/* A loop that stops collecting is not alive any more. */
	hl_health_set_stale_after(h, 50000000ULL);
	usleep(120000);
	CHECK(get("/healthz", resp, sizeof(resp)) == 503 && strstr(body(resp), "stalled"),
	      "stalled: %s", resp);
	CHECK(get("/readyz", resp, sizeof(resp)) == 503, "readyz while stalled: %s", resp);
	hl_health_beat(h);
	CHECK(get("/healthz", resp, sizeof(resp)) == 200, "after a beat: %s", resp);

	/* A reloaded interval moves the limit (2 intervals + 10 s), counted from now. */
	usleep(120000);
	CHECK(get("/healthz", resp, sizeof(resp)) == 503 && strstr(body(resp), "stalled"),
	      "stalled again: %s", resp);
	hl_health_set_interval(h, 5000000000ULL);
	CHECK(get("/healthz", resp, sizeof(resp)) == 200 && strstr(body(resp), "ok: "),
	      "after a new interval: %s", resp);
	usleep(120000);
	CHECK(get("/healthz", resp, sizeof(resp)) == 200, "the new limit: %s", resp);
	hl_health_set_stale_after(h, 50000000ULL);
	usleep(120000);
	CHECK(get("/healthz", resp, sizeof(resp)) == 503 &&
		      strstr(body(resp), "stalled: no collection for ") &&
		      strstr(body(resp), "(interval 5s)"),
	      "stalled at the new interval: %s", resp);
	hl_health_set_interval(h, 1000000000ULL);
	CHECK(get("/healthz", resp, sizeof(resp)) == 200, "a shorter interval: %s", resp);
	hl_health_set_stale_after(h, 60000000000ULL);

	CHECK(request("HEAD /healthz HTTP/1.1\r\n\r\n", resp, sizeof(resp)) == 200 &&
		      strstr(resp, "Content-Length: ") && !*body(resp),
	      "HEAD: %s", resp);
	CHECK(request("POST /healthz HTTP/1.1\r\nContent-Length: 0\r\n\r\n", resp, sizeof(resp)) ==
			      405 &&
		      strstr(resp, "Allow: GET, HEAD"),
	      "POST: %s", resp);
	CHECK(get("/metrics", resp, sizeof(resp)) == 404, "unknown path: %s", resp);
	CHECK(request("hello\r\n\r\n", resp, sizeof(resp)) == 400, "garbage: %s", resp);
	CHECK(request("GET /healthz SPDY/3\r\n\r\n", resp, sizeof(resp)) == 400, "not HTTP: %s",
	      resp);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	memcpy(big, "GET /", 5);
	CHECK(request(big, resp, sizeof(resp)) == 431, "a request larger than 1 KiB: %s", resp);
	CHECK(request("GET /healthz HTTP/1.0\n\n", resp, sizeof(resp)) == 200, "bare newlines: %s",
	      resp);

	/* Idle clients on every slot: an answer waits at most for their deadline. */
	for (int i = 0; i < HL_HEALTH_MAX_CONNS; i++)
		fds[i] = connect_to();
	usleep(100000);
	t0 = now_s();
	CHECK(get("/healthz", resp, sizeof(resp)) == 200, "behind idle clients: %s", resp);
	CHECK(now_s() - t0 < HL_HEALTH_DEADLINE_MS / 1000.0 + 1.0,
	      "answered after %.2f s behind idle clients", now_s() - t0);
	for (int i = 0; i < HL_HEALTH_MAX_CONNS; i++) {
		char c;

		/* The server closed them at their deadline. */
		CHECK(fds[i] >= 0 && recv(fds[i], &c, 1, 0) == 0, "idle client %d not closed", i);
		if (fds[i] >= 0)
			close(fds[i]);
	}

	/* Stopping does not wait for clients. */
	fds[0] = connect_to();
	t0 = now_s();
	hl_health_stop(h);
	CHECK(now_s() - t0 < 0.5, "stop took %.2f s", now_s() - t0);
	if (fds[0] >= 0)
		close(fds[0]);
	CHECK(connect_to() < 0, "still listening after stop");
	hl_probeset_free(probes);
}

int main(void)
{
	test_parse();
	test_server();
	hl_health_stop(NULL);
	hl_health_beat(NULL);
	return UNIT_DONE();
}
