/* SPDX-License-Identifier: MIT */
/*
 * Stored traffic runs: one gzip-compressed CSV file per run and interface,
 *
 *   DIR/hostlat-traffic-YYYYMMDDTHHMMSS.mmmZ-IFNAME-GRAN.csv.gz
 *
 * holding "# key: value" header lines (version, interface, granularity_ns,
 * samples, start_unix_ns, link_speed_bps, burst_threshold_percent; since
 * version 2 also host, align, clock_synchronized, clock_max_error_ns,
 * clock_est_error_ns), then one CSV row per sample. Readers ignore keys they
 * do not know, so version 1 files read as before and later keys are skipped. Files are written under a dot name and renamed, so a reader
 * never sees half a file. Retention deletes only files named like ours.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "config.h"
#include "decimal.h"
#include "privs.h"
#include "probeutil.h"
#include "traffic.h"

#define CSV_COLUMNS                                                                                \
	"sample,time_ns,rx_bytes,rx_packets,rx_ce_bytes,rx_flows,tx_bytes,tx_packets,"             \
	"tx_retransmits,tx_flows"

void hl_traffic_rundata_free(struct hl_traffic_rundata *r)
{
	if (!r)
		return;
	free(r->samples[0]);
	free(r->samples[1]);
	r->samples[0] = r->samples[1] = NULL;
}

static bool is_run_file(const char *name)
{
	size_t n = strlen(name), p = strlen(HL_TRAFFIC_FILE_PREFIX),
	       s = strlen(HL_TRAFFIC_FILE_SUFFIX);

	return n > p + s && !strncmp(name, HL_TRAFFIC_FILE_PREFIX, p) &&
	       !strcmp(name + n - s, HL_TRAFFIC_FILE_SUFFIX);
}

/* Why a gz write failed: the system's errno (ENOSPC, EDQUOT...) when there is one. */
static int write_error(gzFile gz)
{
	int zerr;

	gzerror(gz, &zerr);
	return zerr == Z_ERRNO && errno ? -errno : -EIO;
}

/* A header value on one line: control characters become '?'. */
static void header_text(char *out, size_t len, const char *s)
{
	size_t i = 0;

	for (; s[i] && i + 1 < len; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	out[i] = 0;
}

/* The longest CSV row: ten 20-digit columns and their separators. */
#define ROW_MAX (10 * 21)

int hl_traffic_store_write(const char *dir, const struct hl_traffic_rundata *r, char *path,
			   size_t pathlen)
{
	char row[16384];
	size_t used = 0;
	char name[128], gran[32], stamp[40], final[4096], tmp[4096], host[HL_TRAFFIC_HOST_MAX];
	time_t secs = (time_t)(r->start_unix_ns / 1000000000ULL);
	struct tm tm;
	gzFile gz;
	int fd, e = 0;

	gmtime_r(&secs, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	hl_format_duration(r->gran_ns, gran, sizeof(gran));
	snprintf(name, sizeof(name), "%s%s.%03uZ-%s-%s%s", HL_TRAFFIC_FILE_PREFIX, stamp,
		 (unsigned int)(r->start_unix_ns / 1000000ULL % 1000), r->ifname, gran,
		 HL_TRAFFIC_FILE_SUFFIX);
	if ((size_t)snprintf(final, sizeof(final), "%s/%s", dir, name) >= sizeof(final) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s", dir, name) >= sizeof(tmp))
		return -ENAMETOOLONG;
	/*
	 * Created here, never an existing file or a link: a user who can write
	 * dir must not make the agent (root) write through a planted symlink.
	 * A leftover dot file (a crash mid-write, or planted) is removed first:
	 * unlink removes a link, never what it points to.
	 */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	/* Level 1: a run of 100 us samples is 10000 rows each time it ends. */
	gz = gzdopen(fd, "wb1");
	if (!gz) {
		close(fd);
		unlink(tmp);
		return -ENOMEM;
	}
	header_text(host, sizeof(host), r->host);
	gzprintf(gz,
		 "# hostlat traffic run\n# version: %d\n# interface: %s\n# granularity_ns: %" PRIu64
		 "\n# samples: %u\n# start_unix_ns: %" PRIu64 "\n# link_speed_bps: %" PRIu64
		 "\n# burst_threshold_percent: %u\n",
		 HL_TRAFFIC_STORE_VERSION, r->ifname, r->gran_ns, r->n, r->start_unix_ns,
		 r->link_bps, r->burst_pct);
	gzprintf(gz,
		 "# host: %s\n# align: %s\n# clock_synchronized: %d\n# clock_max_error_ns: %" PRIu64
		 "\n# clock_est_error_ns: %" PRIu64 "\n%s\n",
		 host, r->aligned ? "wallclock" : "start", r->clock.synchronized ? 1 : 0,
		 r->clock.max_error_ns, r->clock.est_error_ns, CSV_COLUMNS);
	for (uint32_t i = 0; i < r->n && !e; i++) {
		const struct hl_traffic_sample *rx = &r->samples[0][i], *tx = &r->samples[1][i];
		const uint64_t col[] = {i,
					(uint64_t)i * r->gran_ns,
					rx->bytes,
					rx->packets,
					rx->ce_bytes,
					rx->flows,
					tx->bytes,
					tx->packets,
					tx->retrans,
					tx->flows};

		for (size_t c = 0; c < sizeof(col) / sizeof(col[0]); c++) {
			used += hl_dec_u64(row + used, col[c]);
			row[used++] = c + 1 < sizeof(col) / sizeof(col[0]) ? ',' : '\n';
		}
		if (used + ROW_MAX > sizeof(row) || i + 1 == r->n) {
			if (gzwrite(gz, row, (unsigned int)used) != (int)used)
				e = write_error(gz);
			used = 0;
		}
	}
	errno = 0;
	if (gzclose(gz) != Z_OK && !e)
		e = errno ? -errno : -EIO;
	if (!e && rename(tmp, final) < 0)
		e = -errno;
	if (e) {
		unlink(tmp);
		return e;
	}
	if (path)
		snprintf(path, pathlen, "%s", final);
	return 0;
}

/*
 * A count: decimal digits only, min..max. A sign is not read as part of a
 * number ("-1" is not 2^64 - 1). 0, or -EINVAL with why in msg.
 */
static int parse_count(const char *s, size_t n, uint64_t min, uint64_t max, uint64_t *out,
		       char *msg, size_t msglen)
{
	uint64_t v = 0;

	if (n && (s[0] == '-' || s[0] == '+')) {
		snprintf(msg, msglen, "'%.*s' is %s; a count is expected", (int)(n < 24 ? n : 24),
			 s, s[0] == '-' ? "negative" : "signed");
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned int d = (unsigned char)s[i] - '0';

		if (d > 9) {
			snprintf(msg, msglen, "'%.*s' is not a count", (int)(n < 24 ? n : 24), s);
			return -EINVAL;
		}
		if (v > (UINT64_MAX - d) / 10) {
			v = UINT64_MAX;
			break;
		}
		v = v * 10 + d;
	}
	if (!n) {
		snprintf(msg, msglen, "no value");
		return -EINVAL;
	}
	if (v < min || v > max) {
		snprintf(msg, msglen, "'%.*s' is out of range (%" PRIu64 "..%" PRIu64 ")",
			 (int)(n < 24 ? n : 24), s, min, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* The header's numbers: key, where, and the range of a sane run. */
static const struct {
	const char *key;
	size_t off;
	int size; /* of the field: 4 or 8 bytes; 1: clock_synchronized (a bool) */
	uint64_t min, max;
} header_keys[] = {
	{"granularity_ns", offsetof(struct hl_traffic_rundata, gran_ns), 8, 1, 1000000000000ULL},
	{"samples", offsetof(struct hl_traffic_rundata, n), 4, 1, 10000000},
	{"start_unix_ns", offsetof(struct hl_traffic_rundata, start_unix_ns), 8, 0, UINT64_MAX},
	{"link_speed_bps", offsetof(struct hl_traffic_rundata, link_bps), 8, 0, UINT64_MAX},
	{"burst_threshold_percent", offsetof(struct hl_traffic_rundata, burst_pct), 4, 0, 100},
	{"version", offsetof(struct hl_traffic_rundata, version), 4, 1, UINT32_MAX},
	/* version 2 */
	{"clock_max_error_ns", offsetof(struct hl_traffic_rundata, clock.max_error_ns), 8, 0,
	 UINT64_MAX},
	{"clock_est_error_ns", offsetof(struct hl_traffic_rundata, clock.est_error_ns), 8, 0,
	 UINT64_MAX},
	{"clock_synchronized", 0, 1, 0, 1},
};

/* "# key: value" into r; unknown keys are ignored (later versions). 0 or -EINVAL. */
static int header_line(struct hl_traffic_rundata *r, const char *line, char *msg, size_t msglen)
{
	const char *colon = strchr(line, ':'), *v;
	size_t klen, vlen;

	if (line[0] != '#' || !colon)
		return 0;
	line++;
	while (*line == ' ')
		line++;
	klen = (size_t)(colon - line);
	v = colon + 1;
	while (*v == ' ')
		v++;
	vlen = strcspn(v, "\r\n");
	if (klen == strlen("interface") && !strncmp(line, "interface", klen)) {
		snprintf(r->ifname, sizeof(r->ifname), "%.*s", (int)vlen, v);
		return 0;
	}
	if (klen == strlen("host") && !strncmp(line, "host", klen)) {
		snprintf(r->host, sizeof(r->host), "%.*s", (int)vlen, v);
		return 0;
	}
	if (klen == strlen("align") && !strncmp(line, "align", klen)) {
		r->aligned = vlen == strlen("wallclock") && !strncmp(v, "wallclock", vlen);
		return 0;
	}
	for (size_t i = 0; i < sizeof(header_keys) / sizeof(header_keys[0]); i++) {
		char why[96];
		uint64_t x;

		if (klen != strlen(header_keys[i].key) || strncmp(line, header_keys[i].key, klen))
			continue;
		if (parse_count(v, vlen, header_keys[i].min, header_keys[i].max, &x, why,
				sizeof(why))) {
			snprintf(msg, msglen, "%s %s", header_keys[i].key, why);
			return -EINVAL;
		}
		if (header_keys[i].size == 1) { /* clock_synchronized */
			r->clock.synchronized = x == 1;
			r->clock_known = true;
		} else if (header_keys[i].size == 8)
			memcpy((char *)r + header_keys[i].off, &x, 8);
		else
			memcpy((char *)r + header_keys[i].off, &(uint32_t){(uint32_t)x}, 4);
		return 0;
	}
	return 0;
}

/* The row's columns; packets, flows and retransmits are 32-bit in the slots. */
static const struct {
	const char *name;
	uint64_t max;
} row_columns[10] = {
	{"sample", UINT64_MAX},	    {"time_ns", UINT64_MAX},	 {"rx_bytes", UINT64_MAX},
	{"rx_packets", UINT32_MAX}, {"rx_ce_bytes", UINT64_MAX}, {"rx_flows", UINT32_MAX},
	{"tx_bytes", UINT64_MAX},   {"tx_packets", UINT32_MAX},	 {"tx_retransmits", UINT32_MAX},
	{"tx_flows", UINT32_MAX},
};

/*
 * One sample row into f[10]: counts separated by commas (columns after
 * the tenth, from a later version, are ignored). 0 or -EINVAL with msg.
 */
static int parse_row(const char *line, uint64_t f[10], char *msg, size_t msglen)
{
	const char *p = line;

	for (int k = 0; k < 10; k++) {
		size_t n = strcspn(p, ",\r\n");
		char why[96];

		if (parse_count(p, n, 0, row_columns[k].max, &f[k], why, sizeof(why))) {
			snprintf(msg, msglen, "%s %s", row_columns[k].name, why);
			return -EINVAL;
		}
		p += n;
		if (k < 9 && *p++ != ',') {
			snprintf(msg, msglen, "%d columns, not 10", k + 1);
			return -EINVAL;
		}
	}
	return 0;
}

int hl_traffic_store_read(const char *path, struct hl_traffic_rundata *r, char *err, size_t errlen)
{
	char line[1024];
	bool columns = false;
	uint32_t rows = 0, cap = 0;
	struct stat st;
	gzFile gz;
	int fd, e = 0, zerr;

	memset(r, 0, sizeof(*r));
	/* Non-blocking: a FIFO planted in the store must not hang the reader. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		e = -errno;
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(-e));
		if (fd >= 0)
			close(fd);
		return e;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	gz = gzdopen(fd, "rb");
	if (!gz) {
		close(fd);
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	r->version = 1; /* files without the key: the first format */
	if (!gzgets(gz, line, sizeof(line)) || strncmp(line, "# hostlat traffic run", 21)) {
		snprintf(err, errlen, "%s: not a hostlat traffic run", path);
		e = -EINVAL;
		goto out;
	}
	while (gzgets(gz, line, sizeof(line))) {
		char why[160];
		uint64_t f[10];
		uint32_t i;

		if (!columns) {
			if (line[0] == '#') {
				if (header_line(r, line, why, sizeof(why))) {
					snprintf(err, errlen, "%s: bad header: %s", path, why);
					e = -EINVAL;
					goto out;
				}
				continue;
			}
			if (strncmp(line, "sample,", 7) || !r->n || !r->gran_ns) {
				snprintf(err, errlen, "%s: bad header%s", path,
					 strncmp(line, "sample,", 7) ? ""
					 : !r->n		     ? ": no samples"
								     : ": no granularity_ns");
				e = -EINVAL;
				goto out;
			}
			columns = true;
			continue;
		}
		/* A cut-off stream ends in part of a row: not a row. */
		if (!strchr(line, '\n')) {
			gzerror(gz, &zerr);
			if (zerr != Z_OK)
				break;
		}
		/* rows in order, each sample once: rows == n means none is missing */
		why[0] = 0;
		if (parse_row(line, f, why, sizeof(why)) == 0 && rows >= r->n)
			snprintf(why, sizeof(why), "more rows than the %u samples of the header",
				 r->n);
		else if (!why[0] && f[0] != rows)
			snprintf(why, sizeof(why), "sample %" PRIu64 " where %u was due", f[0],
				 rows);
		if (why[0]) {
			snprintf(err, errlen, "%s: bad row %u: %s", path, rows + 1, why);
			e = -EINVAL;
			goto out;
		}
		/* Grown as rows come: a header alone does not make it allocate n samples. */
		if (rows == cap) {
			uint32_t c = cap ? (cap > r->n / 2 ? r->n : cap * 2)
					 : (r->n < 4096 ? r->n : 4096);
			void *a = realloc(r->samples[0], c * sizeof(*r->samples[0]));

			if (a)
				r->samples[0] = a;
			a = a ? realloc(r->samples[1], c * sizeof(*r->samples[1])) : NULL;
			if (!a) {
				snprintf(err, errlen, "out of memory");
				e = -ENOMEM;
				goto out;
			}
			r->samples[1] = a;
			cap = c;
		}
		i = (uint32_t)f[0];
		r->samples[0][i] = (struct hl_traffic_sample){.bytes = f[2],
							      .packets = (uint32_t)f[3],
							      .ce_bytes = f[4],
							      .flows = (uint32_t)f[5]};
		r->samples[1][i] = (struct hl_traffic_sample){.bytes = f[6],
							      .packets = (uint32_t)f[7],
							      .retrans = (uint32_t)f[8],
							      .flows = (uint32_t)f[9]};
		rows++;
	}
	/* gzgets() returns NULL on errors too: a cut-off or damaged stream */
	gzerror(gz, &zerr);
	if (zerr != Z_OK || !gzeof(gz)) {
		const char *msg = zerr == Z_ERRNO ? strerror(errno) : gzerror(gz, &zerr);
		const char *sep = strstr(msg, ">: ");

		/* zlib's message starts with the stream's name, "<fd:N>: " */
		if (msg[0] == '<' && sep)
			msg = sep + 3;
		snprintf(err, errlen, "%s: truncated or corrupt after %u samples: %s", path, rows,
			 msg);
		e = zerr == Z_ERRNO ? -EIO : -EINVAL;
	} else if (!columns) {
		snprintf(err, errlen, "%s: no samples", path);
		e = -EINVAL;
	} else if (rows != r->n) {
		snprintf(err, errlen, "%s: truncated: %u of %u samples", path, rows, r->n);
		e = -EINVAL;
	}
out:
	gzclose(gz);
	if (e)
		hl_traffic_rundata_free(r);
	return e;
}

struct run_file {
	char *name;
	time_t mtime;
	off_t size;
};

static int run_file_cmp(const void *pa, const void *pb)
{
	const struct run_file *a = pa, *b = pb;

	/* Names start with the run's UTC time: oldest first. */
	return strcmp(a->name, b->name);
}

/* Run files of dir with their sizes and times, oldest first. */
static int scan(const char *dir, struct run_file **out, size_t *n)
{
	struct run_file *v = NULL;
	size_t cap = 0, k = 0;
	struct dirent *de;
	DIR *d = opendir(dir);
	int dfd;

	*out = NULL;
	*n = 0;
	if (!d)
		return -errno;
	dfd = dirfd(d);
	while ((de = readdir(d))) {
		struct stat st;

		if (!is_run_file(de->d_name) ||
		    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (k == cap) {
			struct run_file *g = realloc(v, (cap ? cap * 2 : 64) * sizeof(*v));

			if (!g)
				goto nomem;
			v = g;
			cap = cap ? cap * 2 : 64;
		}
		v[k].name = strdup(de->d_name);
		if (!v[k].name)
			goto nomem;
		v[k].mtime = st.st_mtime;
		v[k].size = st.st_size;
		k++;
	}
	closedir(d);
	if (k)
		qsort(v, k, sizeof(*v), run_file_cmp);
	*out = v;
	*n = k;
	return 0;
nomem:
	closedir(d);
	for (size_t i = 0; i < k; i++)
		free(v[i].name);
	free(v);
	return -ENOMEM;
}

int hl_traffic_store_prune(const char *dir, uint64_t max_bytes, uint64_t max_age_ns)
{
	struct run_file *v;
	uint64_t total = 0;
	time_t now = time(NULL);
	size_t n;
	int e = scan(dir, &v, &n), deleted = 0;

	if (e)
		return e;
	for (size_t i = 0; i < n; i++)
		total += (uint64_t)v[i].size;
	for (size_t i = 0; i < n; i++) {
		bool old = now > v[i].mtime &&
			   (uint64_t)(now - v[i].mtime) * 1000000000ULL > max_age_ns;
		char p[4096];

		if (!old && total <= max_bytes)
			continue;
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, v[i].name) < sizeof(p) &&
		    unlink(p) == 0) {
			total -= (uint64_t)v[i].size;
			deleted++;
		}
	}
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	return deleted;
}

int hl_traffic_store_list(const char *dir, char ***names, size_t *n)
{
	struct run_file *v;
	int e = scan(dir, &v, n);

	*names = NULL;
	if (e)
		return e;
	*names = calloc(*n ? *n : 1, sizeof(**names));
	if (!*names) {
		for (size_t i = 0; i < *n; i++)
			free(v[i].name);
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < *n; i++)
		(*names)[i] = v[i].name;
	free(v);
	return 0;
}

void hl_traffic_store_list_free(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

static const char *file_type(mode_t m)
{
	return S_ISREG(m)    ? "a regular file"
	       : S_ISLNK(m)  ? "a symbolic link"
	       : S_ISFIFO(m) ? "a FIFO"
	       : S_ISSOCK(m) ? "a socket"
	       : S_ISCHR(m)  ? "a character device"
	       : S_ISBLK(m)  ? "a block device"
			     : "not a directory";
}

int hl_traffic_store_check_dir(const char *dir, bool create, char *err, size_t errlen, char *warn,
			       size_t warnlen)
{
	struct stat st;
	char why[512];
	int e;

	err[0] = warn[0] = 0;
	if (lstat(dir, &st) < 0) {
		bool made = errno == ENOENT && create;

		e = -errno;
		if (made)
			e = hl_mkdir_p(dir,
				       0755); /* no group or other write bit, whatever the umask */
		if (e || lstat(dir, &st) < 0) {
			e = e ? e : -errno;
			snprintf(err, errlen, "%s%s: %s", dir, made ? " cannot be created" : "",
				 strerror(-e));
			return e;
		}
	}
	if (S_ISLNK(st.st_mode)) {
		struct stat target;

		if (stat(dir, &target) < 0) {
			e = -errno;
			if (e == -ENOENT)
				snprintf(err, errlen, "%s is a dangling symbolic link", dir);
			else
				snprintf(err, errlen,
					 "%s is a symbolic link that cannot be followed: %s", dir,
					 strerror(-e));
			return e == -ENOENT ? -ENOTDIR : e;
		}
		if (!S_ISDIR(target.st_mode)) {
			snprintf(err, errlen, "%s is a symbolic link to %s, not to a directory",
				 dir, file_type(target.st_mode));
			return -ENOTDIR;
		}
	} else if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is %s, not a directory", dir, file_type(st.st_mode));
		return -ENOTDIR;
	}
	/*
	 * Refused, not only warned about: the agent is root, and whoever else
	 * can write dir (or swap it through a directory above) can plant, swap
	 * or delete the runs root reads with `traffic show`.
	 */
	if (hl_privs_untrusted_dir(dir, why, sizeof(why))) {
		snprintf(err, errlen, "%s: users other than root can change it: %s", dir, why);
		return -EPERM;
	}
	/* Only its owner, a user root gave it to (chown), can: said, not refused. */
	if (hl_privs_untrusted_path(dir, why, sizeof(why)))
		snprintf(warn, warnlen, "%s: users other than root can change it: %s", dir, why);
	return 0;
}
