/* SPDX-License-Identifier: MIT */
/*
 * The prometheus exporter (exporters/prometheus.h): export_batch encodes
 * the batch's cumulative values once per format (text, protobuf) into a
 * page of at most max_bytes each and swaps it in under a short lock; an
 * HTTP/1.1 server on its own thread (one poll() over an eventfd, the
 * listening socket and at most max_connections non-blocking connections,
 * each with a request size limit and a deadline) answers GET <path> from
 * the page it took a reference on. A scrape never waits for a collection
 * and a collection never waits for a scrape.
 *
 * The listening socket belongs to the process, shared by exporters of the
 * same listen address: a SIGHUP that restarts the exporters starts the new
 * one before the old one stops, and both serve the port meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "clock.h"
#include "log.h"
#include "netaddr.h"
#include "otlp_headers.h"
#include "prometheus.h"

#define REQUEST_MAX 8192
#define HEAD_MAX 1024
#define PROTO_TYPE                                                                                 \
	"application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "               \
	"encoding=delimited"
#define TEXT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define LOG "prometheus"

static int check_listen(const char *s, char *why, size_t whylen);
static int check_listen_bind(const char *s, char *why, size_t whylen);
static int check_path(const char *s, char *why, size_t whylen);
static int check_bucket(const char *s, char *why, size_t whylen);
static int check_username(const char *s, char *why, size_t whylen);
static int check_password(const char *s, char *why, size_t whylen);
static int check_tls_file(const char *s, char *why, size_t whylen);

static const struct hl_option tls_options[] = {
	{.name = "cert_file",
	 .type = HL_OPT_STRING,
	 .offset = offsetof(struct hl_prometheus_conf, tls_cert_file),
	 .help = "PEM server certificate (its chain after it); with key_file: HTTPS only (TLS 1.2 "
		 "or later), read at start",
	 .check_system = check_tls_file},
	{.name = "key_file",
	 .type = HL_OPT_STRING,
	 .offset = offsetof(struct hl_prometheus_conf, tls_key_file),
	 .help = "PEM private key of cert_file",
	 .check_system = check_tls_file},
	{.name = "client_ca_file",
	 .type = HL_OPT_STRING,
	 .offset = offsetof(struct hl_prometheus_conf, tls_client_ca_file),
	 .help = "PEM CA certificates: scrapers must present a client certificate they signed "
		 "(mutual TLS); unset: no client certificate asked",
	 .check_system = check_tls_file},
	{0},
};

static const struct hl_option basic_auth_options[] = {
	{.name = "username",
	 .type = HL_OPT_STRING,
	 .offset = offsetof(struct hl_prometheus_conf, username),
	 .help = "user name a scraper must send (HTTP Basic); unset: no authentication",
	 .check = check_username},
	{.name = "password",
	 .type = HL_OPT_STRING,
	 .offset = offsetof(struct hl_prometheus_conf, password),
	 .help = "its password: literal, @file:PATH (read again before each collection), "
		 "@env:VAR, or @@x for the literal @x; never logged",
	 .check = check_password,
	 .check_system = hl_otlp_header_check_file},
	{0},
};

static const struct hl_option prometheus_options[] = {
	{.name = "listen",
	 .type = HL_OPT_STRING,
	 .offset = offsetof(struct hl_prometheus_conf, listen),
	 .def = "\"127.0.0.1:9464\"",
	 .help = "IPv4:PORT or [IPv6]:PORT (numeric; an address alone takes port 9464) to serve "
		 "the metrics on; 0.0.0.0:9464 for scrapes from other hosts. --check binds it once",
	 .check = check_listen,
	 .check_system = check_listen_bind},
	{.name = "path",
	 .type = HL_OPT_STRING,
	 .offset = offsetof(struct hl_prometheus_conf, path),
	 .def = "/metrics",
	 .help = "the URL path of the metrics",
	 .check = check_path},
	{.name = "max_bytes",
	 .type = HL_OPT_UINT,
	 .offset = offsetof(struct hl_prometheus_conf, max_bytes),
	 .def = "16777216",
	 .min = 4096,
	 .max = 1073741824,
	 .help = "largest page in each format (text, protobuf); the points beyond are left out "
		 "and counted in hostlat.exporter.rejected"},
	{.name = "max_connections",
	 .type = HL_OPT_UINT,
	 .offset = offsetof(struct hl_prometheus_conf, max_connections),
	 .def = "16",
	 .min = 1,
	 .max = 1024,
	 .help = "connections served at once; more wait in the listen backlog"},
	{.name = "timeout",
	 .type = HL_OPT_DURATION,
	 .offset = offsetof(struct hl_prometheus_conf, timeout_ns),
	 .def = "10s",
	 .min = HL_MS(100),
	 .max = HL_SEC(300),
	 .help = "a connection's request and answer together; a slower client is disconnected"},
	{.name = "buckets",
	 .type = HL_OPT_STRLIST,
	 .offset = offsetof(struct hl_prometheus_conf, buckets),
	 .help = "classic bucket bounds of the text format (seconds for durations, the plain "
		 "unit otherwise), e.g. [0.0001, 0.001, 0.01]; a bucket counts under a bound its "
		 "upper edge does not pass (exact for bounds on the grid, e.g. powers of 2); "
		 "empty: every power of 2 from the lowest to the highest non-empty bucket",
	 .check = check_bucket},
	{.name = "tls",
	 .type = HL_OPT_SECTION,
	 .sub = tls_options,
	 .help = "HTTPS: a certificate and key (and client CAs for mutual TLS); unset: plain HTTP"},
	{.name = "basic_auth",
	 .type = HL_OPT_SECTION,
	 .sub = basic_auth_options,
	 .help = "HTTP Basic authentication of scrapers (without tls the password crosses the "
		 "network in clear)"},
	{0},
};

/* ---- the listen address ----------------------------------------------------------------- */

/* s with the default port when it has none; false when it does not parse. */
static bool listen_addr(const char *s, char *out, size_t len, struct sockaddr_storage *ss,
			socklen_t *sslen, char *why, size_t whylen)
{
	size_t n = s ? strlen(s) : 0;

	if (!n) {
		snprintf(why, whylen, "listen is empty");
		return false;
	}
	if ((s[0] == '[' && s[n - 1] == ']') || (s[0] != '[' && !strchr(s, ':')))
		snprintf(out, len, "%s:%d", s, HL_PROM_DEFAULT_PORT);
	else
		snprintf(out, len, "%s", s);
	return !hl_parse_listen(out, ss, sslen, why, whylen);
}

static int check_listen(const char *s, char *why, size_t whylen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char a[128];

	return listen_addr(s, a, sizeof(a), &ss, &sl, why, whylen) ? 0 : -EINVAL;
}

/* A listening socket on a, or -errno with the reason in why. */
static int open_listener(const char *a, const struct sockaddr_storage *ss, socklen_t sl, char *why,
			 size_t whylen)
{
	int one = 1, fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int e;

	if (fd < 0) {
		e = -errno;
		snprintf(why, whylen, "cannot open a socket: %s", strerror(errno));
		return e;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, sl) < 0 || listen(fd, 64) < 0) {
		e = -errno;
		snprintf(why, whylen, "cannot listen on %s: %s%s", a, strerror(errno),
			 errno == EADDRINUSE ? " (another process serves this port)" : "");
		close(fd);
		return e;
	}
	return fd;
}

/* --check: the address can be bound now. */
static int check_listen_bind(const char *s, char *why, size_t whylen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char a[128];
	int fd;

	if (!listen_addr(s, a, sizeof(a), &ss, &sl, why, whylen))
		return -EINVAL;
	fd = open_listener(a, &ss, sl, why, whylen);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/* The process's listening sockets, shared by exporters of one address (reloads). */
struct page;
static void page_unref(struct page *pg);

struct listener {
	char addr[128];
	int fd;
	unsigned int refs;
	/* The latest page served on it: a new exporter sharing the socket (a reload) starts
	 * with it, so that no scrape meets an empty page meanwhile. */
	struct page *page;
	struct listener *next;
};

static pthread_mutex_t listeners_lock = PTHREAD_MUTEX_INITIALIZER;
static struct listener *listeners;

/* A descriptor of the listening socket on a (the caller closes it), or -errno. */
static int listener_get(const char *a, const struct sockaddr_storage *ss, socklen_t sl, char *why,
			size_t whylen)
{
	struct listener *l;
	int fd;

	pthread_mutex_lock(&listeners_lock);
	for (l = listeners; l; l = l->next)
		if (!strcmp(l->addr, a))
			break;
	if (!l) {
		l = calloc(1, sizeof(*l));
		if (!l) {
			pthread_mutex_unlock(&listeners_lock);
			snprintf(why, whylen, "out of memory");
			return -ENOMEM;
		}
		l->fd = open_listener(a, ss, sl, why, whylen);
		if (l->fd < 0) {
			fd = l->fd;
			free(l);
			pthread_mutex_unlock(&listeners_lock);
			return fd;
		}
		snprintf(l->addr, sizeof(l->addr), "%s", a);
		l->next = listeners;
		listeners = l;
	}
	fd = fcntl(l->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		fd = -errno;
		snprintf(why, whylen, "cannot share the socket of %s: %s", a, strerror(errno));
	} else {
		l->refs++;
	}
	if (!l->refs) {
		/* a new entry nobody holds: undo */
		listeners = l->next;
		close(l->fd);
		free(l);
	}
	pthread_mutex_unlock(&listeners_lock);
	return fd;
}

static void listener_put(const char *a)
{
	struct listener **pp, *l;

	pthread_mutex_lock(&listeners_lock);
	for (pp = &listeners; (l = *pp); pp = &l->next) {
		if (strcmp(l->addr, a))
			continue;
		if (!--l->refs) {
			*pp = l->next;
			close(l->fd);
			page_unref(l->page);
			free(l);
		}
		break;
	}
	pthread_mutex_unlock(&listeners_lock);
}

/* The page now served on a (a reference is taken). */
static void listener_publish(const char *a, struct page *pg);
/* A copy of the latest page served on a into pg (its auth kept), if there is one. */
static int listener_inherit(const char *a, struct page *pg);

/* ---- other checks ----------------------------------------------------------------------- */

static int check_path(const char *s, char *why, size_t whylen)
{
	if (s[0] != '/' || strlen(s) > 200) {
		snprintf(why, whylen, "path must start with / (at most 200 characters)");
		return -EINVAL;
	}
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '?' || *p == '#') {
			snprintf(why, whylen,
				 "path must not hold blanks, control characters, ? or #");
			return -EINVAL;
		}
	}
	return 0;
}

static int check_bucket(const char *s, char *why, size_t whylen)
{
	struct hl_strlist l = {.v = (char **)&s, .n = 1};
	double *v;
	size_t n;
	int e = hl_prom_parse_buckets(&l, &v, &n, why, whylen);

	free(v);
	return e;
}

static int check_username(const char *s, char *why, size_t whylen)
{
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p < ' ' || *p == 0x7f || *p == ':') {
			snprintf(why, whylen, "username must not hold ':' or control characters");
			return -EINVAL;
		}
	}
	if (!*s) {
		snprintf(why, whylen, "username is empty");
		return -EINVAL;
	}
	return 0;
}

/* A TLS file: a regular file we can open (struct hl_option.check_system). */
static int check_tls_file(const char *s, char *why, size_t whylen)
{
	int fd = open(s, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC), e;
	struct stat sb;

	if (fd < 0 || fstat(fd, &sb) < 0) {
		e = -errno;
		snprintf(why, whylen, "cannot read '%s': %s", s, strerror(errno));
		if (fd >= 0)
			close(fd);
		return e;
	}
	close(fd);
	if (!S_ISREG(sb.st_mode)) {
		snprintf(why, whylen, "cannot read '%s': not a regular file", s);
		return -EINVAL;
	}
	return 0;
}

/* A message of the header code without its "header 'password': ". */
static void unprefix(char *msg)
{
	static const char p[] = "header 'password': ";

	if (!strncmp(msg, p, sizeof(p) - 1))
		memmove(msg, msg + sizeof(p) - 1, strlen(msg + sizeof(p) - 1) + 1);
}

/* The password as a header value would be (hl_otlp_headers_check): @env: set, no line breaks. */
static int check_password(const char *s, char *why, size_t whylen)
{
	struct hl_kv kv = {.key = "password", .value = (char *)s};
	struct hl_kvlist m = {.v = &kv, .n = 1};
	size_t bad;
	bool at_key;
	int e = hl_otlp_headers_check(&m, &bad, &at_key, why, whylen);

	if (e)
		unprefix(why);
	return e;
}

/* ---- pages ------------------------------------------------------------------------------ */

struct page {
	atomic_uint refs;
	struct hl_prom_buf text, proto;
	char *auth; /* the expected "Basic ..." credentials, or NULL */
	uint64_t time_unix_ns;
};

static void page_unref(struct page *pg)
{
	if (!pg || atomic_fetch_sub(&pg->refs, 1) != 1)
		return;
	hl_prom_buf_free(&pg->text);
	hl_prom_buf_free(&pg->proto);
	if (pg->auth) {
		explicit_bzero(pg->auth, strlen(pg->auth));
		free(pg->auth);
	}
	free(pg);
}

/* Equal strings, in a time that depends only on the lengths of b (the secret) and a. */
static bool secret_equal(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	unsigned char d = na != nb;

	for (size_t i = 0; i < nb; i++)
		d |= (unsigned char)(b[i] ^ (i < na ? a[i] : 0));
	return d == 0;
}

static void listener_publish(const char *a, struct page *pg)
{
	struct page *old = NULL;

	pthread_mutex_lock(&listeners_lock);
	for (struct listener *l = listeners; l; l = l->next) {
		if (strcmp(l->addr, a))
			continue;
		old = l->page;
		atomic_fetch_add(&pg->refs, 1);
		l->page = pg;
		break;
	}
	pthread_mutex_unlock(&listeners_lock);
	page_unref(old);
}

static bool buf_copy(struct hl_prom_buf *dst, const struct hl_prom_buf *src)
{
	dst->p = src->len ? malloc(src->len) : NULL;
	if (src->len && !dst->p)
		return false;
	if (src->len)
		memcpy(dst->p, src->p, src->len);
	dst->len = dst->cap = src->len;
	return true;
}

static int listener_inherit(const char *a, struct page *pg)
{
	struct page *src = NULL;
	int e = 0;

	pthread_mutex_lock(&listeners_lock);
	for (struct listener *l = listeners; l; l = l->next) {
		if (!strcmp(l->addr, a) && l->page) {
			src = l->page;
			atomic_fetch_add(&src->refs, 1);
			break;
		}
	}
	pthread_mutex_unlock(&listeners_lock);
	if (!src)
		return 0;
	if (!buf_copy(&pg->text, &src->text) || !buf_copy(&pg->proto, &src->proto))
		e = -ENOMEM;
	pg->time_unix_ns = src->time_unix_ns;
	page_unref(src);
	return e;
}

/* ---- the exporter's state --------------------------------------------------------------- */

struct conn {
	int fd; /* -1: free */
	uint64_t deadline_ns;
	size_t len;
	bool answering;
	short events;	 /* what poll waits for */
	SSL *ssl;	 /* tls: the connection, NULL for plain HTTP */
	bool handshaken; /* tls: SSL_accept done */
	char req[REQUEST_MAX];
	char head[HEAD_MAX];
	size_t head_len, head_sent;
	struct page *pg; /* held while its body is sent */
	const char *body;
	size_t body_len, body_sent;
};

struct prom_state {
	char addr[128];
	char *path;
	size_t max_bytes;
	uint64_t timeout_ns;
	double *bounds;
	size_t n_bounds;
	char *username;
	struct hl_otlp_header_set secret; /* the password: its value and @file: */
	bool has_auth;
	int lfd, wake;
	bool thread_started;
	pthread_t thread;
	pthread_mutex_t lock;
	struct page *page; /* current, under lock */
	atomic_uint_least64_t served_bytes;
	unsigned int max_conns;
	struct conn *conns;
	SSL_CTX *tls;
};

static struct page *current_page(struct prom_state *st)
{
	struct page *pg;

	pthread_mutex_lock(&st->lock);
	pg = st->page;
	atomic_fetch_add(&pg->refs, 1);
	pthread_mutex_unlock(&st->lock);
	return pg;
}

/* "Basic base64(user:password)" with the password as last read, or NULL (ENOMEM). */
static char *expected_auth(struct prom_state *st)
{
	const char *pw = st->secret.n ? st->secret.v[0].value : "";
	size_t n = strlen(st->username) + 1 + strlen(pw);
	char *plain = malloc(n + 1), *b64, *out = NULL;

	if (!plain)
		return NULL;
	snprintf(plain, n + 1, "%s:%s", st->username, pw);
	b64 = hl_base64(plain, n);
	explicit_bzero(plain, n);
	free(plain);
	if (b64 && asprintf(&out, "Basic %s", b64) < 0)
		out = NULL;
	if (b64) {
		explicit_bzero(b64, strlen(b64));
		free(b64);
	}
	return out;
}

/* ---- HTTP ------------------------------------------------------------------------------- */

/* The value of header `name` in the request's header block, into out; false when absent. */
static bool header_value(const char *req, const char *name, char *out, size_t len)
{
	size_t n = strlen(name);
	const char *line = strchr(req, '\n');

	while (line && line[1]) {
		const char *s = line + 1, *end = strchr(s, '\n'), *v;
		size_t vl;

		if (!end)
			break;
		if (!strncasecmp(s, name, n) && s[n] == ':') {
			v = s + n + 1;
			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			vl = (size_t)(end - v);
			while (vl && (v[vl - 1] == '\r' || v[vl - 1] == ' ' || v[vl - 1] == '\t'))
				vl--;
			snprintf(out, len, "%.*s", (int)(vl < len ? vl : len - 1), v);
			return true;
		}
		line = end;
	}
	return false;
}

static void respond(struct conn *c, int code, const char *extra, const char *body, bool head)
{
	const char *text = code == 200	 ? "OK"
			   : code == 400 ? "Bad Request"
			   : code == 401 ? "Unauthorized"
			   : code == 404 ? "Not Found"
			   : code == 405 ? "Method Not Allowed"
			   : code == 431 ? "Request Header Fields Too Large"
					 : "Service Unavailable";
	/* the body goes into c->head too: body may be the caller's buffer */
	int n = snprintf(c->head, sizeof(c->head),
			 "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
			 "Content-Length: %zu\r\n%sConnection: close\r\n\r\n%s",
			 code, text, strlen(body), extra, head ? "" : body);

	if (n < 0 || (size_t)n >= sizeof(c->head))
		n = (int)sizeof(c->head) - 1;
	c->head_len = (size_t)n;
	c->head_sent = 0;
	c->body = "";
	c->body_len = 0;
	c->body_sent = 0;
	c->answering = true;
	c->events = POLLOUT;
}

static void handle(struct prom_state *st, struct conn *c)
{
	char method[8], path[256], version[16], accept[1024] = "", auth[1024] = "";
	struct page *pg;
	bool head, proto;
	int n;

	if (sscanf(c->req, "%7s %255s %15s", method, path, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7)) {
		respond(c, 400, "", "bad request\n", false);
		return;
	}
	head = !strcmp(method, "HEAD");
	if (!head && strcmp(method, "GET")) {
		respond(c, 405, "Allow: GET, HEAD\r\n", "only GET and HEAD\n", false);
		return;
	}
	path[strcspn(path, "?")] = 0;
	if (strcmp(path, st->path)) {
		char msg[300];

		snprintf(msg, sizeof(msg), "not found: the metrics are at %s\n", st->path);
		respond(c, 404, "", msg, head);
		return;
	}
	pg = current_page(st);
	if (pg->auth && (!header_value(c->req, "authorization", auth, sizeof(auth)) ||
			 !secret_equal(auth, pg->auth))) {
		page_unref(pg);
		explicit_bzero(auth, sizeof(auth));
		respond(c, 401, "WWW-Authenticate: Basic realm=\"hostlat\", charset=\"UTF-8\"\r\n",
			"unauthorized\n", head);
		return;
	}
	explicit_bzero(auth, sizeof(auth));
	header_value(c->req, "accept", accept, sizeof(accept));
	proto = hl_prom_wants_proto(accept);
	c->pg = pg;
	c->body = proto ? pg->proto.p : pg->text.p;
	c->body_len = proto ? pg->proto.len : pg->text.len;
	if (!c->body)
		c->body = "";
	n = snprintf(c->head, sizeof(c->head),
		     "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		     "X-Hostlat-Collected-Unix-Nano: %llu\r\nCache-Control: no-store\r\n"
		     "Connection: close\r\n\r\n",
		     proto ? PROTO_TYPE : TEXT_TYPE, c->body_len,
		     (unsigned long long)pg->time_unix_ns);
	c->head_len = n > 0 && (size_t)n < sizeof(c->head) ? (size_t)n : 0;
	c->head_sent = c->body_sent = 0;
	if (head)
		c->body_len = 0;
	c->answering = true;
	c->events = POLLOUT;
}

static void conn_close(struct conn *c)
{
	if (c->ssl) {
		if (c->handshaken)
			SSL_shutdown(c->ssl); /* one close_notify, never waited on */
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	page_unref(c->pg);
	c->pg = NULL;
}

/* After an SSL call returned r: true when it only waits for the socket (c->events set). */
static bool tls_wait(struct conn *c, int r)
{
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		c->events = POLLIN;
		return true;
	case SSL_ERROR_WANT_WRITE:
		c->events = POLLOUT;
		return true;
	default:
		ERR_clear_error(); /* a failed handshake (a plain HTTP client...): closed */
		return false;
	}
}

/* Bytes read (> 0), 0 at the end, -1 to wait (c->events set), -2 on an error. */
static ssize_t io_read(struct conn *c, void *buf, size_t len)
{
	ssize_t n;

	if (c->ssl) {
		int r = SSL_read(c->ssl, buf, (int)(len > INT32_MAX ? INT32_MAX : len));

		if (r > 0)
			return r;
		if (SSL_get_error(c->ssl, r) == SSL_ERROR_ZERO_RETURN)
			return 0;
		return tls_wait(c, r) ? -1 : -2;
	}
	do
		n = recv(c->fd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		c->events = POLLIN;
		return -1;
	}
	return n < 0 ? -2 : n;
}

/* Bytes written (> 0), -1 to wait (c->events set), -2 on an error. */
static ssize_t io_write(struct conn *c, const void *buf, size_t len, bool more)
{
	ssize_t n;

	if (c->ssl) {
		int r = SSL_write(c->ssl, buf, (int)(len > INT32_MAX ? INT32_MAX : len));

		if (r > 0)
			return r;
		return tls_wait(c, r) ? -1 : -2;
	}
	do
		n = send(c->fd, buf, len, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		c->events = POLLOUT;
		return -1;
	}
	return n < 0 ? -2 : n;
}

static void conn_read(struct prom_state *st, struct conn *c)
{
	for (;;) {
		ssize_t n = io_read(c, c->req + c->len, sizeof(c->req) - 1 - c->len);

		if (n == -1)
			return;
		if (n <= 0) {
			conn_close(c);
			return;
		}
		c->len += (size_t)n;
		c->req[c->len] = 0;
		if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n")) {
			handle(st, c);
			explicit_bzero(c->req, c->len); /* it may hold credentials */
			return;
		}
		if (c->len == sizeof(c->req) - 1) {
			respond(c, 431, "", "request too large\n", false);
			return;
		}
	}
}

static void conn_write(struct prom_state *st, struct conn *c)
{
	while (c->head_sent < c->head_len || c->body_sent < c->body_len) {
		bool h = c->head_sent < c->head_len;
		const char *p = h ? c->head + c->head_sent : c->body + c->body_sent;
		size_t left = h ? c->head_len - c->head_sent : c->body_len - c->body_sent;
		ssize_t n = io_write(c, p, left, h && c->body_len);

		if (n == -1)
			return;
		if (n < 0) {
			conn_close(c);
			return;
		}
		if (h)
			c->head_sent += (size_t)n;
		else
			c->body_sent += (size_t)n;
		atomic_fetch_add(&st->served_bytes, (uint64_t)n);
	}
	if (!c->ssl)
		shutdown(c->fd, SHUT_WR);
	conn_close(c);
}

/* The socket is ready: go on with the handshake, the request or the answer. */
static void conn_io(struct prom_state *st, struct conn *c)
{
	if (c->ssl && !c->handshaken) {
		int r = SSL_accept(c->ssl);

		if (r != 1) {
			if (!tls_wait(c, r))
				conn_close(c);
			return;
		}
		c->handshaken = true;
		c->events = POLLIN;
	}
	if (!c->answering)
		conn_read(st, c);
	if (c->fd >= 0 && c->answering)
		conn_write(st, c);
}

static void accept_all(struct prom_state *st, uint64_t now)
{
	for (;;) {
		struct conn *c = NULL;
		int fd;

		for (unsigned int i = 0; i < st->max_conns && !c; i++)
			if (st->conns[i].fd < 0)
				c = &st->conns[i];
		if (!c)
			return; /* the rest waits in the backlog */
		fd = accept4(st->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED) {
				struct timespec nap = {0, 100000000};

				nanosleep(&nap, NULL); /* out of descriptors: do not spin */
			}
			return;
		}
		c->fd = fd;
		c->len = 0;
		c->answering = false;
		c->pg = NULL;
		c->events = POLLIN;
		c->handshaken = false;
		c->ssl = NULL;
		if (st->tls) {
			c->ssl = SSL_new(st->tls);
			if (!c->ssl || !SSL_set_fd(c->ssl, fd)) {
				ERR_clear_error();
				conn_close(c);
				continue;
			}
		}
		c->deadline_ns = now + st->timeout_ns;
	}
}

static void *server_thread(void *arg)
{
	struct prom_state *st = arg;
	struct pollfd *pfd = calloc(st->max_conns + 2, sizeof(*pfd));
	int *slot = calloc(st->max_conns + 2, sizeof(*slot));

	if (!pfd || !slot) {
		hl_err(LOG, "out of memory: the server on %s stops", st->addr);
		free(pfd);
		free(slot);
		return NULL;
	}
	for (;;) {
		uint64_t now = hl_mono_ns(), next = UINT64_MAX;
		int n = 0, timeout = -1, got;
		bool room = false;

		for (unsigned int i = 0; i < st->max_conns; i++) {
			struct conn *c = &st->conns[i];

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
			pfd[n] = (struct pollfd){c->fd, c->events, 0};
			slot[n++] = (int)i;
		}
		pfd[n] = (struct pollfd){st->wake, POLLIN, 0};
		slot[n++] = -1;
		if (room) {
			pfd[n] = (struct pollfd){st->lfd, POLLIN, 0};
			slot[n++] = -2;
		}
		if (next != UINT64_MAX)
			timeout = (int)((next - now) / 1000000ULL) + 1;
		got = poll(pfd, (nfds_t)n, timeout);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			hl_err(LOG, "poll: %s", strerror(errno));
			break;
		}
		now = hl_mono_ns();
		for (int k = 0; k < n && got > 0; k++) {
			if (!pfd[k].revents)
				continue;
			got--;
			if (slot[k] == -1)
				goto out;
			if (slot[k] == -2) {
				accept_all(st, now);
				continue;
			}
			conn_io(st, &st->conns[slot[k]]);
		}
	}
out:
	free(pfd);
	free(slot);
	return NULL;
}

/* ---- the exporter ----------------------------------------------------------------------- */

static void prom_shutdown(void *state)
{
	struct prom_state *st = state;
	uint64_t one = 1;

	if (!st)
		return;
	if (st->thread_started) {
		if (write(st->wake, &one, sizeof(one)) != sizeof(one)) {
			hl_err(LOG, "cannot stop the server on %s: %s", st->addr, strerror(errno));
			return; /* leaves it running rather than freeing what it uses */
		}
		pthread_join(st->thread, NULL);
	}
	for (unsigned int i = 0; st->conns && i < st->max_conns; i++)
		conn_close(&st->conns[i]);
	free(st->conns);
	if (st->lfd >= 0) {
		close(st->lfd);
		listener_put(st->addr);
	}
	if (st->wake >= 0)
		close(st->wake);
	page_unref(st->page);
	SSL_CTX_free(st->tls);
	pthread_mutex_destroy(&st->lock);
	hl_otlp_header_set_free(&st->secret);
	free(st->username);
	free(st->path);
	free(st->bounds);
	free(st);
}

/* The last OpenSSL error as text (the queue cleared). */
static const char *tls_error(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e)
		ERR_error_string_n(e, buf, len);
	else
		snprintf(buf, len, "unknown error");
	ERR_clear_error();
	return buf;
}

static int tls_setup(struct prom_state *st, const struct hl_prometheus_conf *c, char *err,
		     size_t errlen)
{
	char why[256];

	if (!c->tls_cert_file || !c->tls_key_file) {
		snprintf(err, errlen, "tls needs both cert_file and key_file");
		return -EINVAL;
	}
	st->tls = SSL_CTX_new(TLS_server_method());
	if (!st->tls || !SSL_CTX_set_min_proto_version(st->tls, TLS1_2_VERSION)) {
		snprintf(err, errlen, "tls: %s", tls_error(why, sizeof(why)));
		return -ENOMEM;
	}
	SSL_CTX_set_mode(st->tls,
			 SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_use_certificate_chain_file(st->tls, c->tls_cert_file) != 1) {
		snprintf(err, errlen, "tls.cert_file '%s': %s", c->tls_cert_file,
			 tls_error(why, sizeof(why)));
		return -EINVAL;
	}
	if (SSL_CTX_use_PrivateKey_file(st->tls, c->tls_key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(st->tls) != 1) {
		snprintf(err, errlen, "tls.key_file '%s': %s", c->tls_key_file,
			 tls_error(why, sizeof(why)));
		return -EINVAL;
	}
	if (c->tls_client_ca_file) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(c->tls_client_ca_file);

		if (!names ||
		    SSL_CTX_load_verify_locations(st->tls, c->tls_client_ca_file, NULL) != 1) {
			if (names)
				sk_X509_NAME_pop_free(names, X509_NAME_free);
			snprintf(err, errlen, "tls.client_ca_file '%s': %s", c->tls_client_ca_file,
				 tls_error(why, sizeof(why)));
			return -EINVAL;
		}
		SSL_CTX_set_client_CA_list(st->tls, names);
		SSL_CTX_set_verify(st->tls, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
				   NULL);
	}
	return 0;
}

static void *prom_init(const void *conf, char *err, size_t errlen)
{
	const struct hl_prometheus_conf *c = conf;
	struct prom_state *st = calloc(1, sizeof(*st));
	struct sockaddr_storage ss;
	socklen_t sl;
	char why[256];
	int fd;

	if (!st) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	st->lfd = st->wake = -1;
	pthread_mutex_init(&st->lock, NULL);
	st->max_bytes = c->max_bytes ? c->max_bytes : 16777216;
	st->timeout_ns = c->timeout_ns ? c->timeout_ns : 10000000000ULL;
	st->max_conns = c->max_connections ? c->max_connections : 16;
	st->path = strdup(c->path ? c->path : "/metrics");
	st->conns = calloc(st->max_conns, sizeof(*st->conns));
	st->page = calloc(1, sizeof(*st->page));
	if (!st->path || !st->conns || !st->page) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	atomic_init(&st->page->refs, 1);
	for (unsigned int i = 0; i < st->max_conns; i++)
		st->conns[i].fd = -1;
	if (hl_prom_parse_buckets(&c->buckets, &st->bounds, &st->n_bounds, err, errlen))
		goto fail;
	if (c->username || c->password) {
		struct hl_kv kv = {.key = "password", .value = c->password};
		struct hl_kvlist m = {.v = &kv, .n = 1};

		if (!c->username || !c->password) {
			snprintf(err, errlen, "basic_auth needs both username and password");
			goto fail;
		}
		st->username = strdup(c->username);
		if (!st->username) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		if (hl_otlp_headers_from_config(&st->secret, &m, why, sizeof(why))) {
			unprefix(why);
			snprintf(err, errlen, "basic_auth.password: %s", why);
			goto fail;
		}
		st->has_auth = true;
		st->page->auth = expected_auth(st);
		if (!st->page->auth) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	if ((c->tls_cert_file || c->tls_key_file || c->tls_client_ca_file) &&
	    tls_setup(st, c, err, errlen))
		goto fail;
	if (!listen_addr(c->listen ? c->listen : "127.0.0.1", st->addr, sizeof(st->addr), &ss, &sl,
			 err, errlen))
		goto fail;
	fd = listener_get(st->addr, &ss, sl, err, errlen);
	if (fd < 0)
		goto fail;
	st->lfd = fd;
	if (listener_inherit(st->addr, st->page)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	st->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (st->wake < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if (pthread_create(&st->thread, NULL, server_thread, st)) {
		snprintf(err, errlen, "cannot start the HTTP server's thread");
		goto fail;
	}
	st->thread_started = true;
	hl_info(LOG, "serving GET %s on %s://%s%s%s", st->path, st->tls ? "https" : "http",
		st->addr, st->has_auth ? " (basic auth)" : "",
		c->tls_client_ca_file ? " (client certificates)" : "");
	return st;
fail:
	prom_shutdown(st);
	return NULL;
}

static enum hl_export_result prom_export(void *state, const struct hl_batch *batch,
					 struct hl_export_status *status)
{
	struct prom_state *st = state;
	struct page *pg = calloc(1, sizeof(*pg)), *old;
	uint64_t dropped;
	int e;

	if (!pg) {
		snprintf(status->message, sizeof(status->message), "out of memory");
		return HL_EXPORT_DROP;
	}
	atomic_init(&pg->refs, 1);
	pg->time_unix_ns = batch->time_unix_ns;
	pg->text.max = pg->proto.max = st->max_bytes;
	e = hl_prom_encode_text(&pg->text, batch, st->bounds, st->n_bounds);
	if (!e)
		e = hl_prom_encode_proto(&pg->proto, batch);
	if (!e && st->has_auth) {
		hl_otlp_headers_refresh(&st->secret);
		pg->auth = expected_auth(st);
		if (!pg->auth)
			e = -ENOMEM;
	}
	if (e) {
		page_unref(pg);
		snprintf(status->message, sizeof(status->message),
			 "out of memory: the page keeps the previous collection");
		return HL_EXPORT_DROP;
	}
	dropped = pg->text.dropped > pg->proto.dropped ? pg->text.dropped : pg->proto.dropped;
	pthread_mutex_lock(&st->lock);
	old = st->page;
	st->page = pg;
	pthread_mutex_unlock(&st->lock);
	page_unref(old);
	listener_publish(st->addr, pg);
	status->bytes = atomic_exchange(&st->served_bytes, 0);
	status->rejected_points = dropped;
	if (dropped) {
		snprintf(status->message, sizeof(status->message),
			 "%llu point(s) left out of the page (text %zu, protobuf %zu bytes): "
			 "larger than max_bytes %zu",
			 (unsigned long long)dropped, pg->text.len, pg->proto.len, st->max_bytes);
	}
	return HL_EXPORT_OK;
}

const struct hl_exporter_ops hl_prometheus_exporter = {
	.abi_version = HL_EXPORTER_ABI_VERSION,
	.name = "prometheus",
	.options = prometheus_options,
	.config_size = sizeof(struct hl_prometheus_conf),
	.help = "serve cumulative metrics to Prometheus scrapes (GET /metrics): protobuf with "
		"native histograms, or text with classic buckets",
	.init = prom_init,
	.export_batch = prom_export,
	.shutdown = prom_shutdown,
};
