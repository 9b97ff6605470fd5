/* SPDX-License-Identifier: MIT */
/*
 * The health server (agent/core/health.h): one thread, one poll() over an
 * eventfd (stop), the listening socket and at most HL_HEALTH_MAX_CONNS
 * non-blocking connections. A connection is read until the end of its
 * header block (at most HL_HEALTH_REQUEST_MAX bytes), answered once and
 * closed; one that takes longer than HL_HEALTH_DEADLINE_MS is closed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "health.h"
#include "log.h"
#include "netaddr.h"
#include "probeset.h"

#define STALE_SLACK_NS 10000000000ULL

struct conn {
	int fd; /* -1: free */
	uint64_t deadline_ns;
	size_t len, sent, resp_len;
	bool answering;
	char req[HL_HEALTH_REQUEST_MAX];
	char resp[512];
};

struct hl_health {
	int lfd, wake;
	pthread_t thread;
	atomic_uint_least64_t interval_ns, stale_ns;
	hl_health_ready_fn ready;
	void *arg;
	atomic_int probes;	       /* running probes; -1 until started */
	atomic_uint_least64_t beat_ns; /* last collection (or the start) */
	bool was_ready;		       /* health thread only */
	struct conn conns[HL_HEALTH_MAX_CONNS];
};

/* ---- answers ---------------------------------------------------------------------------- */

/* 200 with ok, else 503, with the reason. */
static bool alive(struct hl_health *h, uint64_t now, char *why, size_t len)
{
	int probes = atomic_load(&h->probes);
	uint64_t beat = atomic_load(&h->beat_ns);

	if (probes < 0) {
		snprintf(why, len, "starting: the probes are being loaded");
		return false;
	}
	if (now > beat && now - beat > atomic_load(&h->stale_ns)) {
		snprintf(why, len, "stalled: no collection for %.1fs (interval %.3gs)",
			 (double)(now - beat) * 1e-9, (double)atomic_load(&h->interval_ns) * 1e-9);
		return false;
	}
	snprintf(why, len, "ok: %d probe%s running, last collection %.1fs ago", probes,
		 probes == 1 ? "" : "s", now > beat ? (double)(now - beat) * 1e-9 : 0.0);
	return true;
}

static bool ready(struct hl_health *h, uint64_t now, char *why, size_t len)
{
	if (!alive(h, now, why, len))
		return false;
	if (!h->was_ready && h->ready && !h->ready(h->arg, why, len))
		return false;
	h->was_ready = true;
	snprintf(why, len, "ready: every exporter has delivered a batch");
	return true;
}

static void respond(struct conn *c, int code, const char *extra, const char *body, bool head)
{
	const char *text = code == 200	 ? "OK"
			   : code == 400 ? "Bad Request"
			   : code == 404 ? "Not Found"
			   : code == 405 ? "Method Not Allowed"
			   : code == 431 ? "Request Header Fields Too Large"
					 : "Service Unavailable";
	int n = snprintf(c->resp, sizeof(c->resp),
			 "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
			 "Content-Length: %zu\r\nCache-Control: no-store\r\n%sConnection: close\r\n"
			 "\r\n%s",
			 code, text, strlen(body) + 1, extra, head ? "" : body);

	if (n < 0 || (size_t)n >= sizeof(c->resp) - 1)
		n = (int)sizeof(c->resp) - 2;
	if (!head)
		c->resp[n++] = '\n';
	c->resp_len = (size_t)n;
	c->sent = 0;
	c->answering = true;
}

/* The request is complete in c->req (NUL-terminated): answer it. */
static void handle(struct hl_health *h, struct conn *c, uint64_t now)
{
	char method[8], path[128], version[16], why[200];
	bool head, ok;

	if (sscanf(c->req, "%7s %127s %15s", method, path, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7)) {
		respond(c, 400, "", "bad request", false);
		return;
	}
	head = !strcmp(method, "HEAD");
	if (!head && strcmp(method, "GET")) {
		respond(c, 405, "Allow: GET, HEAD\r\n", "only GET and HEAD", false);
		return;
	}
	path[strcspn(path, "?")] = 0;
	if (!strcmp(path, "/healthz"))
		ok = alive(h, now, why, sizeof(why));
	else if (!strcmp(path, "/readyz"))
		ok = ready(h, now, why, sizeof(why));
	else {
		respond(c, 404, "", "not found: GET /healthz or /readyz", head);
		return;
	}
	respond(c, ok ? 200 : 503, "", why, head);
}

/* ---- connections ------------------------------------------------------------------------ */

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void conn_read(struct hl_health *h, struct conn *c, uint64_t now)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->req + c->len, sizeof(c->req) - 1 - c->len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_close(c);
			return;
		}
		if (n == 0) {
			conn_close(c); /* closed before a whole request */
			return;
		}
		c->len += (size_t)n;
		c->req[c->len] = 0;
		if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n")) {
			handle(h, c, now);
			return;
		}
		if (c->len == sizeof(c->req) - 1) {
			respond(c, 431, "", "request too large", false);
			return;
		}
	}
}

static void conn_write(struct conn *c)
{
	while (c->sent < c->resp_len) {
		ssize_t n = send(c->fd, c->resp + c->sent, c->resp_len - c->sent, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_close(c);
			return;
		}
		c->sent += (size_t)n;
	}
	shutdown(c->fd, SHUT_WR);
	conn_close(c);
}

static void accept_all(struct hl_health *h, uint64_t now)
{
	for (;;) {
		struct conn *c = NULL;
		int fd;

		for (int i = 0; i < HL_HEALTH_MAX_CONNS && !c; i++)
			if (h->conns[i].fd < 0)
				c = &h->conns[i];
		if (!c)
			return; /* the rest waits in the backlog */
		fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			/* Out of descriptors or memory: do not spin on the ready socket. */
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED) {
				struct timespec nap = {0, 100000000};

				nanosleep(&nap, NULL);
			}
			return;
		}
		c->fd = fd;
		c->len = c->sent = c->resp_len = 0;
		c->answering = false;
		c->deadline_ns = now + HL_HEALTH_DEADLINE_MS * 1000000ULL;
	}
}

static void *health_thread(void *arg)
{
	struct hl_health *h = arg;
	struct pollfd pfd[2 + HL_HEALTH_MAX_CONNS];
	int slot[2 + HL_HEALTH_MAX_CONNS];

	for (;;) {
		uint64_t now = hl_mono_ns(), next = UINT64_MAX;
		int n = 0, timeout = -1, got;
		bool room = false;

		for (int i = 0; i < HL_HEALTH_MAX_CONNS; i++) {
			struct conn *c = &h->conns[i];

			if (c->fd < 0) {
				room = true;
				continue;
			}
			if (now >= c->deadline_ns) {
				conn_close(c);
				room = true;
				continue;
			}
			if (c->deadline_ns < next)
				next = c->deadline_ns;
			pfd[n] = (struct pollfd){c->fd, c->answering ? POLLOUT : POLLIN, 0};
			slot[n++] = i;
		}
		pfd[n] = (struct pollfd){h->wake, POLLIN, 0};
		slot[n++] = -1;
		if (room) {
			pfd[n] = (struct pollfd){h->lfd, POLLIN, 0};
			slot[n++] = -2;
		}
		if (next != UINT64_MAX)
			timeout = (int)((next - now) / 1000000ULL) + 1;
		got = poll(pfd, (nfds_t)n, timeout);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			hl_err("health", "poll: %s", strerror(errno));
			return NULL;
		}
		now = hl_mono_ns();
		for (int k = 0; k < n && got > 0; k++) {
			struct conn *c;

			if (!pfd[k].revents)
				continue;
			got--;
			if (slot[k] == -1)
				return NULL; /* hl_health_stop */
			if (slot[k] == -2) {
				accept_all(h, now);
				continue;
			}
			c = &h->conns[slot[k]];
			if (!c->answering)
				conn_read(h, c, now);
			if (c->fd >= 0 && c->answering)
				conn_write(c);
		}
	}
}

/* ---- the agent's side ------------------------------------------------------------------- */

struct hl_health *hl_health_start(const char *listen_at, uint64_t interval_ns,
				  hl_health_ready_fn ready_fn, void *arg, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	struct hl_health *h;
	char why[200];
	int one = 1;

	if (hl_parse_listen(listen_at, &ss, &sslen, why, sizeof(why))) {
		snprintf(err, errlen, "agent.health.listen %s", why);
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->lfd = h->wake = -1;
	for (int i = 0; i < HL_HEALTH_MAX_CONNS; i++)
		h->conns[i].fd = -1;
	hl_health_set_interval(h, interval_ns); /* the staleness limit, counted from now */
	h->ready = ready_fn;
	h->arg = arg;
	atomic_store(&h->probes, -1);
	h->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	h->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->wake < 0 || h->lfd < 0) {
		snprintf(err, errlen, "agent.health: %s", strerror(errno));
		goto fail;
	}
	setsockopt(h->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(h->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(h->lfd, (struct sockaddr *)&ss, sslen) < 0 || listen(h->lfd, 16) < 0) {
		snprintf(err, errlen, "agent.health.listen %s: cannot listen: %s", listen_at,
			 strerror(errno));
		goto fail;
	}
	if (pthread_create(&h->thread, NULL, health_thread, h)) {
		snprintf(err, errlen, "agent.health: cannot start its thread");
		goto fail;
	}
	hl_info("health", "serving GET /healthz and /readyz on http://%s", listen_at);
	return h;
fail:
	if (h->lfd >= 0)
		close(h->lfd);
	if (h->wake >= 0)
		close(h->wake);
	free(h);
	return NULL;
}

void hl_health_started(struct hl_health *h, const struct hl_probeset *probes)
{
	if (!h)
		return;
	atomic_store(&h->beat_ns, hl_mono_ns());
	atomic_store(&h->probes, hl_probeset_running(probes));
}

void hl_health_set_interval(struct hl_health *h, uint64_t interval_ns)
{
	if (!h)
		return;
	/* The new interval counts from now: the beat first, so that a shorter
	 * limit never meets an old beat (a false "stalled"). */
	hl_health_beat(h);
	atomic_store(&h->interval_ns, interval_ns);
	atomic_store(&h->stale_ns, 2 * interval_ns + STALE_SLACK_NS);
}

void hl_health_set_stale_after(struct hl_health *h, uint64_t ns)
{
	atomic_store(&h->stale_ns, ns);
}

void hl_health_beat(struct hl_health *h)
{
	if (h)
		atomic_store(&h->beat_ns, hl_mono_ns());
}

void hl_health_stop(struct hl_health *h)
{
	uint64_t one = 1;

	if (!h)
		return;
	if (write(h->wake, &one, sizeof(one)) != sizeof(one)) {
		hl_err("health", "cannot stop the health thread: %s", strerror(errno));
		return; /* leaves it running rather than freeing what it uses */
	}
	pthread_join(h->thread, NULL);
	for (int i = 0; i < HL_HEALTH_MAX_CONNS; i++)
		conn_close(&h->conns[i]);
	close(h->lfd);
	close(h->wake);
	free(h);
}
