/* SPDX-License-Identifier: MIT */
/*
 * Stored traffic runs: one gzip-compressed CSV file per run and interface,
 *
 *   DIR/hostlat-traffic-YYYYMMDDTHHMMSS.mmmZ-IFNAME-GRAN.csv.gz
 *
 * holding "# key: value" header lines (interface, granularity_ns, samples,
 * start_unix_ns, link_speed_bps, burst_threshold_percent), then one CSV row
 * per sample. Files are written under a dot name and renamed, so a reader
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

int hl_traffic_store_write(const char *dir, const struct hl_traffic_rundata *r, char *path,
			   size_t pathlen)
{
	char name[128], gran[32], stamp[40], final[4096], tmp[4096];
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
	gz = gzdopen(fd, "wb6");
	if (!gz) {
		close(fd);
		unlink(tmp);
		return -ENOMEM;
	}
	gzprintf(gz,
		 "# hostlat traffic run\n# version: 1\n# interface: %s\n# granularity_ns: %" PRIu64
		 "\n# samples: %u\n# start_unix_ns: %" PRIu64 "\n# link_speed_bps: %" PRIu64
		 "\n# burst_threshold_percent: %u\n%s\n",
		 r->ifname, r->gran_ns, r->n, r->start_unix_ns, r->link_bps, r->burst_pct,
		 CSV_COLUMNS);
	for (uint32_t i = 0; i < r->n; i++) {
		const struct hl_traffic_sample *rx = &r->samples[0][i], *tx = &r->samples[1][i];

		if (gzprintf(gz,
			     "%u,%" PRIu64 ",%" PRIu64 ",%u,%" PRIu64 ",%u,%" PRIu64 ",%u,%u,%u\n",
			     i, (uint64_t)i * r->gran_ns, rx->bytes, rx->packets, rx->ce_bytes,
			     rx->flows, tx->bytes, tx->packets, tx->retrans, tx->flows) <= 0) {
			e = write_error(gz);
			break;
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

/* "# key: value" into r; unknown keys are ignored (later versions). */
static void header_line(struct hl_traffic_rundata *r, const char *line)
{
	const char *colon = strchr(line, ':'), *v;
	size_t klen;

	if (line[0] != '#' || !colon)
		return;
	line++;
	while (*line == ' ')
		line++;
	klen = (size_t)(colon - line);
	v = colon + 1;
	while (*v == ' ')
		v++;
#define KEY(k) (klen == strlen(k) && !strncmp(line, k, klen))
	if (KEY("interface")) {
		snprintf(r->ifname, sizeof(r->ifname), "%.*s", (int)strcspn(v, "\r\n"), v);
	} else if (KEY("granularity_ns")) {
		r->gran_ns = strtoull(v, NULL, 10);
	} else if (KEY("samples")) {
		unsigned long n = strtoul(v, NULL, 10);

		r->n = n > 10000000 ? 0 : (uint32_t)n;
	} else if (KEY("start_unix_ns")) {
		r->start_unix_ns = strtoull(v, NULL, 10);
	} else if (KEY("link_speed_bps")) {
		r->link_bps = strtoull(v, NULL, 10);
	} else if (KEY("burst_threshold_percent")) {
		r->burst_pct = (uint32_t)strtoul(v, NULL, 10);
	}
#undef KEY
}

int hl_traffic_store_read(const char *path, struct hl_traffic_rundata *r, char *err, size_t errlen)
{
	char line[1024];
	bool columns = false;
	uint32_t rows = 0;
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
	if (!gzgets(gz, line, sizeof(line)) || strncmp(line, "# hostlat traffic run", 21)) {
		snprintf(err, errlen, "%s: not a hostlat traffic run", path);
		e = -EINVAL;
		goto out;
	}
	while (gzgets(gz, line, sizeof(line))) {
		unsigned long long f[10];
		uint32_t i;

		if (!columns) {
			if (line[0] == '#') {
				header_line(r, line);
				continue;
			}
			if (strncmp(line, "sample,", 7) || !r->n || !r->gran_ns) {
				snprintf(err, errlen, "%s: bad header", path);
				e = -EINVAL;
				goto out;
			}
			r->samples[0] = calloc(r->n, sizeof(*r->samples[0]));
			r->samples[1] = calloc(r->n, sizeof(*r->samples[1]));
			if (!r->samples[0] || !r->samples[1]) {
				snprintf(err, errlen, "out of memory");
				e = -ENOMEM;
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
		if (sscanf(line, "%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu", &f[0], &f[1],
			   &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9]) != 10 ||
		    f[0] != rows || rows >= r->n) {
			snprintf(err, errlen, "%s: bad row %u", path, rows + 1);
			e = -EINVAL;
			goto out;
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
