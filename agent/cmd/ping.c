/* SPDX-License-Identifier: MIT */
/*
 * `hostlat ping`: the monitor's side of the responder protocol (responder_proto.h).
 * Sends requests on a schedule, prints each reply's metrics and, at the
 * end, the round-trip time distribution.
 *
 * Round-trip times are CLOCK_MONOTONIC from before the send to the return
 * of the receive, like ping's. Kernel software timestamps would leave out
 * this process's own scheduling delays, but they cannot be trusted here:
 * over a veth pair an XDP_TX reply is the request's skb sent back, and it
 * keeps the receive stamp the responder's side gave it.
 */
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <linux/types.h>
#include <netinet/in.h>

#include "clock.h"
#include "cmd.h"
#include "config.h"
#include "hostlat.h"
#include "pingwire.h"
#include "stages.h"
#include "responder_proto.h"

enum { EXIT_NO_REPLY = 1, EXIT_USAGE = 2 };

#define MS 1000000ULL

struct request {
	uint64_t sent_ns; /* CLOCK_MONOTONIC before send */
	bool answered;
};

struct ping {
	/* options */
	const char *target;
	uint64_t count; /* 0: until interrupted */
	uint64_t interval_ns, timeout_ns;
	const char *source;
	bool json, quiet;
	/* state */
	int fd;
	char peer[INET6_ADDRSTRLEN + 8];
	uint64_t id_base;
	struct request *req;
	size_t cap;
	uint64_t sent, received, late, invalid;
	uint64_t *rtt; /* ns, one per reply */
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: hostlat ping [OPTIONS] HOST[:PORT]\n"
		"Send monitoring requests to a hostlat responder (probes.xdp_responder, or\n"
		"`hostlat respond`), print each reply's metrics and the round-trip times.\n"
		"HOST is a name or an address; an IPv6 address with a port is written\n"
		"[ADDR]:PORT. The default port is %d.\n"
		"\n"
		"  -c, --count N        send N requests (default: until interrupted)\n"
		"  -i, --interval D     between requests (default 1s; e.g. 10ms, 500us)\n"
		"  -W, --timeout D      a reply later than this is lost (default 1s)\n"
		"  -I, --source ADDR    send from this local address\n"
		"      --json           one JSON object per reply, then one with sent,\n"
		"                       received and the round-trip percentiles\n"
		"  -q, --quiet          print only the summary\n"
		"  -h, --help           this text\n"
		"\n"
		"Exit status: 0 when a reply came, 1 when none did, 2 bad usage.\n",
		HL_XR_DEFAULT_PORT);
}

/* HOST, HOST:PORT, [V6]:PORT or a bare IPv6 address. */
static int split_target(const char *t, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *colon = strrchr(t, ':'), *h = t;
	size_t n;

	snprintf(port, portlen, "%d", HL_XR_DEFAULT_PORT);
	if (t[0] == '[') {
		const char *close = strchr(t, ']');

		if (!close || (close[1] && close[1] != ':') || (close[1] == ':' && !close[2]))
			return -EINVAL;
		h = t + 1;
		n = (size_t)(close - h);
		if (close[1] == ':')
			snprintf(port, portlen, "%s", close + 2);
	} else if (colon && colon == strchr(t, ':')) { /* exactly one ':' */
		n = (size_t)(colon - t);
		if (!colon[1])
			return -EINVAL;
		snprintf(port, portlen, "%s", colon + 1);
	} else {
		n = strlen(t);
	}
	if (!n || n >= hostlen)
		return -EINVAL;
	memcpy(host, h, n);
	host[n] = 0;
	for (const char *p = port; *p; p++)
		if (*p < '0' || *p > '9')
			return -EINVAL;
	n = strtoul(port, NULL, 10);
	return n >= 1 && n <= 65535 ? 0 : -EINVAL;
}

static int open_socket(struct ping *p)
{
	char host[256], port[16], src[INET6_ADDRSTRLEN + 1];
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV}, *res, *ai;
	struct sockaddr_storage sa = {0};
	socklen_t salen = 0;
	int e;

	if (split_target(p->target, host, sizeof(host), port, sizeof(port))) {
		fprintf(stderr, "hostlat ping: '%s' is not HOST, HOST:PORT or [IPV6]:PORT\n",
			p->target);
		return -EINVAL;
	}
	if (p->source) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;

		if (inet_pton(AF_INET, p->source, &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET;
			salen = sizeof(*s4);
		} else if (inet_pton(AF_INET6, p->source, &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			salen = sizeof(*s6);
		} else {
			fprintf(stderr, "hostlat ping: --source '%s' is not an IP address\n",
				p->source);
			return -EINVAL;
		}
		hints.ai_family = sa.ss_family;
	}
	e = getaddrinfo(host, port, &hints, &res);
	if (e) {
		fprintf(stderr, "hostlat ping: %s: %s\n", host, gai_strerror(e));
		return -EINVAL;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		p->fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (p->fd < 0)
			continue;
		if ((!salen || bind(p->fd, (struct sockaddr *)&sa, salen) == 0) &&
		    connect(p->fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		e = errno;
		close(p->fd);
		p->fd = -1;
	}
	if (p->fd < 0) {
		fprintf(stderr, "hostlat ping: cannot send to %s%s%s: %s\n", p->target,
			salen ? " from " : "", salen ? p->source : "", strerror(e ? e : errno));
		freeaddrinfo(res);
		return -EINVAL;
	}
	if (ai->ai_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, src,
			  sizeof(src));
	else
		inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, src,
			  sizeof(src));
	snprintf(p->peer, sizeof(p->peer), ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", src,
		 port);
	freeaddrinfo(res);
	return 0;
}

static int send_request(struct ping *p)
{
	struct hl_xr_msg m = {0};
	struct request *r;
	ssize_t n;

	if (p->sent == p->cap) { /* room for each request and its reply's rtt */
		size_t cap = p->cap ? p->cap * 2 : 1024;
		struct request *v = realloc(p->req, cap * sizeof(*v));
		uint64_t *rtt;

		if (!v)
			return -ENOMEM;
		p->req = v; /* reallocated: no pointer into it is kept */
		rtt = realloc(p->rtt, cap * sizeof(*rtt));
		if (!rtt)
			return -ENOMEM;
		p->rtt = rtt;
		p->cap = cap;
	}
	r = &p->req[p->sent];
	memset(r, 0, sizeof(*r));
	m.magic = htonl(HL_XR_MAGIC);
	m.version = HL_XR_VERSION;
	m.type = HL_XR_REQUEST;
	m.id = htobe64(p->id_base + p->sent);
	r->sent_ns = hl_mono_ns();
	n = send(p->fd, &m, sizeof(m), 0);
	/* Refused (ICMP unreachable from an earlier request) still counts as sent. */
	if (n < 0 && errno != ECONNREFUSED && errno != EHOSTUNREACH && errno != ENETUNREACH)
		return -errno;
	p->sent++;
	return 0;
}

static const char *const stage_short[HL_XR_STAGES] = {
	/* wire order */
	"ip", "tcp", "udp", "tcp-enq", "udp-enq", "tcp-read", "udp-read",
};

static void print_text(const struct ping *p, uint64_t rtt, const struct hl_ping_reply *m)
{
	printf("%d bytes from %s: seq=%" PRIu64 " rtt=%.1f us cpu=%u answered=%" PRIu64,
	       HL_XR_MSG_LEN, p->peer, m->seq, rtt / 1e3, m->cpu, m->answered);
	if (m->flags & HL_XR_F_SOFTIRQ)
		printf(" net_rx=%" PRIu64 "/%.1fms", m->net_rx_runs, m->net_rx_ns / 1e6);
	if (m->flags & HL_XR_F_DROPS)
		printf(" drops=%" PRIu64, m->drops);
	if (m->flags & HL_XR_F_USER)
		printf(" load=%.2f/%.2f/%.2f mem_avail=%.0fMiB age=%.2fs", m->load_milli[0] / 1e3,
		       m->load_milli[1] / 1e3, m->load_milli[2] / 1e3, m->mem_available_kb / 1024.0,
		       m->user_age_ns / 1e9);
	if (m->flags & HL_XR_F_PCT) {
		for (int s = 0; s < HL_XR_STAGES; s++)
			if (m->stack_pct_ns[s][2])
				printf(" %s_p99=%.1fus", stage_short[s],
				       m->stack_pct_ns[s][2] / 1e3);
	}
	printf("\n");
}

static void print_json(uint64_t rtt, const struct hl_ping_reply *m)
{
	unsigned int flags = m->flags;
	cJSON *o = cJSON_CreateObject(), *a;
	char *text, id[24];

	if (!o)
		return;
	snprintf(id, sizeof(id), "%" PRIu64, m->id);
	cJSON_AddNumberToObject(o, "seq", (double)m->seq);
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddNumberToObject(o, "rtt_ns", (double)rtt);
	cJSON_AddNumberToObject(o, "mono_ns", (double)m->mono_ns);
	cJSON_AddNumberToObject(o, "cpu", m->cpu);
	cJSON_AddNumberToObject(o, "ncpus", m->ncpus);
	cJSON_AddNumberToObject(o, "packets", (double)m->packets);
	cJSON_AddNumberToObject(o, "answered", (double)m->answered);
	cJSON_AddNumberToObject(o, "refused", (double)m->refused);
	cJSON_AddNumberToObject(o, "rate_limited", (double)m->limited);
	cJSON_AddNumberToObject(o, "malformed", (double)m->malformed);
	if (flags & HL_XR_F_DROPS)
		cJSON_AddNumberToObject(o, "drops", (double)m->drops);
	else
		cJSON_AddNullToObject(o, "drops");
	if (flags & HL_XR_F_SOFTIRQ) {
		cJSON_AddNumberToObject(o, "net_rx_runs", (double)m->net_rx_runs);
		cJSON_AddNumberToObject(o, "net_rx_ns", (double)m->net_rx_ns);
	} else {
		cJSON_AddNullToObject(o, "net_rx_runs");
		cJSON_AddNullToObject(o, "net_rx_ns");
	}
	if (flags & HL_XR_F_STACK) {
		a = cJSON_AddObjectToObject(o, "stack_events");
		for (int s = 0; a && s < HL_XR_STAGES; s++)
			cJSON_AddNumberToObject(a, hl_stage_names[hl_xr_stage(s)],
						(double)m->stack_events[s]);
	} else {
		cJSON_AddNullToObject(o, "stack_events");
	}
	if (flags & HL_XR_F_USER) {
		cJSON_AddNumberToObject(o, "user_age_ns", (double)m->user_age_ns);
		cJSON_AddNumberToObject(o, "interval_ns", (double)m->interval_ns);
		a = cJSON_AddArrayToObject(o, "load");
		for (int i = 0; a && i < 3; i++)
			cJSON_AddItemToArray(a, cJSON_CreateNumber(m->load_milli[i] / 1e3));
		cJSON_AddNumberToObject(o, "mem_total_kb", (double)m->mem_total_kb);
		cJSON_AddNumberToObject(o, "mem_available_kb", (double)m->mem_available_kb);
	} else {
		cJSON_AddNullToObject(o, "user_age_ns");
	}
	if (flags & HL_XR_F_PCT) {
		static const char *const names[HL_XR_PCTS] = {"p50", "p90", "p99"};

		a = cJSON_AddObjectToObject(o, "stack_percentiles_ns");
		for (int s = 0; a && s < HL_XR_STAGES; s++) {
			cJSON *st = cJSON_AddObjectToObject(a, hl_stage_names[hl_xr_stage(s)]);

			for (int k = 0; st && k < HL_XR_PCTS; k++)
				cJSON_AddNumberToObject(st, names[k],
							(double)m->stack_pct_ns[s][k]);
		}
	} else {
		cJSON_AddNullToObject(o, "stack_percentiles_ns");
	}
	text = cJSON_PrintUnformatted(o);
	if (text)
		printf("%s\n", text);
	free(text);
	cJSON_Delete(o);
}

static void read_replies(struct ping *p)
{
	for (;;) {
		/* One byte more than a reply: a longer datagram is seen as one. */
		unsigned char buf[HL_XR_MSG_LEN + 1];
		struct hl_ping_reply m;
		uint64_t now, rtt;
		struct request *r;
		char why[160];
		ssize_t n;

		n = recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == ECONNREFUSED)
			continue; /* ICMP port unreachable for an earlier request */
		if (n < 0)
			return;
		now = hl_mono_ns();
		if (hl_ping_decode_reply(buf, (size_t)n, p->id_base, p->sent, &m, why,
					 sizeof(why))) {
			/* The first one says why; the summary counts them all. */
			if (!p->invalid++)
				fprintf(stderr, "hostlat ping: ignoring a datagram from %s: %s\n",
					p->peer, why);
			continue;
		}
		r = &p->req[m.seq];
		if (r->answered)
			continue; /* a duplicate */
		rtt = now - r->sent_ns;
		if (rtt > p->timeout_ns) {
			p->late++;
			continue;
		}
		r->answered = true;
		p->rtt[p->received++] = rtt;
		if (p->quiet)
			continue;
		if (p->json)
			print_json(rtt, &m);
		else
			print_text(p, rtt, &m);
		fflush(stdout);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank. */
static uint64_t percentile(const uint64_t *v, uint64_t n, double q)
{
	uint64_t r = (uint64_t)ceil(q * (double)n);

	return n ? v[r ? r - 1 : 0] : 0;
}

static void summary(struct ping *p)
{
	static const struct {
		const char *name;
		double q;
	} pcts[] = {{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}};
	uint64_t lost = p->sent - p->received;

	qsort(p->rtt, p->received, sizeof(*p->rtt), cmp_u64);
	if (p->json) {
		cJSON *o = cJSON_CreateObject(), *r;
		char *s;

		if (!o)
			return;
		cJSON_AddStringToObject(o, "target", p->peer);
		cJSON_AddNumberToObject(o, "sent", (double)p->sent);
		cJSON_AddNumberToObject(o, "received", (double)p->received);
		cJSON_AddNumberToObject(o, "lost", (double)lost);
		cJSON_AddNumberToObject(o, "late", (double)p->late);
		cJSON_AddNumberToObject(o, "invalid", (double)p->invalid);
		r = cJSON_AddObjectToObject(o, "rtt_ns");
		if (r && p->received) {
			cJSON_AddNumberToObject(r, "min", (double)p->rtt[0]);
			for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
				cJSON_AddNumberToObject(
					r, pcts[i].name,
					(double)percentile(p->rtt, p->received, pcts[i].q));
			cJSON_AddNumberToObject(r, "max", (double)p->rtt[p->received - 1]);
		}
		s = cJSON_PrintUnformatted(o);
		if (s)
			printf("%s\n", s);
		free(s);
		cJSON_Delete(o);
		return;
	}
	printf("--- %s hostlat ping ---\n", p->peer);
	printf("%" PRIu64 " requests sent, %" PRIu64 " replies, %.1f%% lost", p->sent, p->received,
	       p->sent ? 100.0 * (double)lost / (double)p->sent : 0.0);
	if (p->late)
		printf(" (%" PRIu64 " of them late)", p->late);
	if (p->invalid)
		printf(", %" PRIu64 " invalid datagrams ignored", p->invalid);
	printf("\n");
	if (p->received)
		printf("rtt p50 %.1f us, p90 %.1f us, p99 %.1f us, max %.1f us\n",
		       percentile(p->rtt, p->received, 0.5) / 1e3,
		       percentile(p->rtt, p->received, 0.9) / 1e3,
		       percentile(p->rtt, p->received, 0.99) / 1e3, p->rtt[p->received - 1] / 1e3);
}

static int parse_args(struct ping *p, int argc, char **argv)
{
	static const struct option opts[] = {
		{"count", required_argument, NULL, 'c'},
		{"interval", required_argument, NULL, 'i'},
		{"timeout", required_argument, NULL, 'W'},
		{"source", required_argument, NULL, 'I'},
		{"json", no_argument, NULL, 'j'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	char *end;
	int c;

	p->interval_ns = 1000 * MS;
	p->timeout_ns = 1000 * MS;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:i:W:I:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			errno = 0;
			p->count = strtoull(optarg, &end, 10);
			if (errno || *end || !*optarg || optarg[0] == '-' || !p->count) {
				fprintf(stderr, "hostlat ping: --count wants a positive number\n");
				return -EINVAL;
			}
			break;
		case 'i':
		case 'W':
			if (hl_parse_duration(optarg,
					      c == 'i' ? &p->interval_ns : &p->timeout_ns) ||
			    (c == 'i' ? p->interval_ns < 10000 : !p->timeout_ns)) {
				fprintf(stderr,
					"hostlat ping: --%s wants a duration like 10ms or 1s%s, "
					"got "
					"'%s'\n",
					c == 'i' ? "interval" : "timeout",
					c == 'i' ? " (at least 10us)" : "", optarg);
				return -EINVAL;
			}
			break;
		case 'I':
			p->source = optarg;
			break;
		case 'j':
			p->json = true;
			break;
		case 'q':
			p->quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "hostlat ping: %s\n",
			optind == argc ? "which host? (HOST[:PORT])" : "one host only");
		usage(stderr);
		return -EINVAL;
	}
	p->target = argv[optind];
	return 0;
}

int hl_ping_cli(int argc, char **argv)
{
	struct ping p = {.fd = -1};
	struct sigaction sa = {.sa_handler = on_signal};
	uint64_t next, last_sent = 0;
	int e, ret = EXIT_USAGE;

	e = parse_args(&p, argc, argv);
	if (e)
		return e > 0 ? 0 : EXIT_USAGE;
	if (open_socket(&p))
		goto out;
	if (getrandom(&p.id_base, sizeof(p.id_base), 0) != sizeof(p.id_base))
		p.id_base = hl_mono_ns() * 2654435761ULL;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!p.quiet && !p.json)
		printf("HOSTLAT PING %s: %zu-byte requests\n", p.peer, sizeof(struct hl_xr_msg));
	next = hl_mono_ns();
	while (!stop_flag) {
		uint64_t now = hl_mono_ns(), until;
		struct pollfd pfd = {.fd = p.fd, .events = POLLIN};
		struct timespec tmo;
		bool more = !p.count || p.sent < p.count;

		if (more && now >= next) {
			e = send_request(&p);
			if (e) {
				fprintf(stderr, "hostlat ping: send: %s\n", strerror(-e));
				ret = 1;
				goto out;
			}
			last_sent = now;
			/* Keep the schedule; after a stall, start again from now. */
			next += p.interval_ns;
			if (next < now)
				next = now + p.interval_ns;
			more = !p.count || p.sent < p.count;
		}
		if (!more && (p.received == p.sent || now - last_sent >= p.timeout_ns))
			break;
		until = more ? next : last_sent + p.timeout_ns;
		until = until > now ? until - now : 0;
		tmo.tv_sec = (time_t)(until / 1000000000ULL);
		tmo.tv_nsec = (long)(until % 1000000000ULL);
		if (ppoll(&pfd, 1, &tmo, NULL) > 0)
			read_replies(&p);
	}
	summary(&p);
	ret = p.received ? 0 : EXIT_NO_REPLY;
out:
	if (p.fd >= 0)
		close(p.fd);
	free(p.req);
	free(p.rtt);
	return ret;
}
