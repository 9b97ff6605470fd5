/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <linux/types.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "config.h"
#include "kernel.h"
#include "log.h"
#include "maputil.h"
#include "nflink.h"
#include "probeutil.h"

void hl_bpf_load_error(int e, const char *what, char *err, size_t errlen)
{
	const struct hl_bpf_failure *f = hl_bpf_failure();

	if (f && f->why[0])
		snprintf(err, errlen,
			 "the kernel refused %s: %s (program %s: %s; --log-level debug shows the "
			 "whole log)",
			 what, strerror(-e), f->prog, f->why);
	else
		snprintf(err, errlen,
			 "the kernel refused %s: %s (--log-level debug shows libbpf's messages)",
			 what, strerror(-e));
}

int hl_skel_opened(const void *skel, char *err, size_t errlen)
{
	int e = errno ? -errno : -ENOMEM;

	if (skel)
		return 0;
	snprintf(err, errlen, "cannot open the BPF object: %s", strerror(-e));
	return e;
}

int hl_skel_load(struct bpf_object_skeleton *s, const char *what, char *err, size_t errlen)
{
	int e;

	hl_bpf_failure_reset();
	e = bpf_object__load_skeleton(s);
	if (e)
		hl_bpf_load_error(e, what, err, errlen);
	return e;
}

int hl_skel_load_attach(struct bpf_object_skeleton *s, const char *what, const char *comp,
			struct hl_links *l, char *err, size_t errlen)
{
	int e = hl_skel_load(s, what, err, errlen);

	if (e)
		return e;
	e = hl_bpf_attach_loaded(*s->obj, comp, l);
	if (e > 0)
		return 0;
	snprintf(err, errlen, "%s could not be attached", what);
	return e < 0 ? e : -ENOENT;
}

void hl_point_attr(struct hl_point *p, const char *key, const char *value)
{
	if (p->n_attrs >= HL_MAX_ATTRS)
		return;
	p->attrs[p->n_attrs].key = key;
	p->attrs[p->n_attrs].value = value;
	p->n_attrs++;
}

void hl_point_counter(struct hl_point *p, uint64_t value, uint64_t prev)
{
	p->value = value;
	p->value_delta = value >= prev ? value - prev : value;
}

void hl_bpf_autoload_none(struct bpf_object *obj)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) bpf_program__set_autoload(prog, false);
}

int hl_bpf_autoload(struct bpf_object *obj, const char *name)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, name);

	if (!prog)
		return -ENOENT;
	return bpf_program__set_autoload(prog, true);
}

int hl_bpf_attach_loaded(struct bpf_object *obj, const char *comp, struct hl_links *l)
{
	struct bpf_program *prog;
	size_t cap = 0;
	int attached = 0;

	bpf_object__for_each_program(prog, obj) cap++;
	if (!l->v) {
		l->v = calloc(cap ? cap : 1, sizeof(*l->v));
		if (!l->v)
			return -ENOMEM;
	}
	bpf_object__for_each_program(prog, obj)
	{
		struct bpf_link *link;

		/* Netfilter programs are linked by their probe (nflink.h). */
		if (!bpf_program__autoload(prog) ||
		    bpf_program__type(prog) == (enum bpf_prog_type)HL_BPF_PROG_TYPE_NETFILTER)
			continue;
		link = bpf_program__attach(prog);
		if (!link) {
			hl_err(comp, "cannot attach %s: %s", bpf_program__name(prog),
			       strerror(errno));
			continue;
		}
		l->v[l->n++] = link;
		attached++;
	}
	return attached;
}

void hl_links_destroy(struct hl_links *l)
{
	for (size_t i = 0; i < l->n; i++)
		bpf_link__destroy(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* What a namespace of type t (CLONE_NEW*) is called. */
static const char *ns_type_name(int t)
{
	switch (t) {
	case CLONE_NEWNS:
		return "mount";
	case CLONE_NEWUTS:
		return "UTS";
	case CLONE_NEWIPC:
		return "IPC";
	case CLONE_NEWUSER:
		return "user";
	case CLONE_NEWPID:
		return "PID";
	case CLONE_NEWCGROUP:
		return "cgroup";
	default:
		return "non-network";
	}
}

static const char *file_kind(mode_t m)
{
	if (S_ISREG(m))
		return "a regular file";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	return "not a namespace file";
}

/*
 * Whether path is a network namespace file (nsfs, and NS_GET_NSTYPE says
 * CLONE_NEWNET where the kernel has it, 4.11+): 0 with its inode; 1 with
 * the reason in why when it is another kind of file; a negative errno
 * with the reason in why when it cannot be opened. Opened without
 * blocking: a FIFO there never waits for a writer.
 */
static int netns_file(const char *path, uint64_t *ino, char *why, size_t whylen)
{
	struct statfs sfs;
	struct stat st;
	int fd, type, e = 0;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || fstatfs(fd, &sfs) < 0) {
		e = -errno;
		snprintf(why, whylen, "cannot open '%s': %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return e;
	}
	if (sfs.f_type != NSFS_MAGIC) {
		snprintf(why, whylen,
			 "'%s' is not a network namespace but %s (expected a namespace file such "
			 "as /var/run/netns/NAME or /proc/PID/ns/net)",
			 path, file_kind(st.st_mode));
		e = 1;
	} else if ((type = ioctl(fd, NS_GET_NSTYPE)) >= 0 && type != CLONE_NEWNET) {
		snprintf(why, whylen, "'%s' is a %s namespace, not a network namespace", path,
			 ns_type_name(type));
		e = 1;
	} else {
		*ino = st.st_ino;
	}
	close(fd);
	return e;
}

int hl_validate_netns(const struct hl_config *cfg, const char *spec, const char *key, char *err,
		      size_t errlen)
{
	char why[320], at[320];
	uint64_t ino;

	/* host, all and inode numbers are checked at load (hl_check_netns) */
	if (!spec || spec[0] != '/')
		return 0;
	/* A file that cannot be opened now is the probe's start to report. */
	if (netns_file(spec, &ino, why, sizeof(why)) <= 0)
		return 0;
	snprintf(err, errlen, "%s: %s (key '%s')", hl_config_where(cfg, key, at, sizeof(at)), why,
		 key);
	for (char *p = err; errlen && *p; p++) /* one line */
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = '?';
	return -EINVAL;
}

int hl_resolve_netns(const char *spec, const char *key, uint64_t *ino, char *err, size_t errlen)
{
	char why[320], *end;
	int e;

	if (!spec || !strcmp(spec, "host")) {
		*ino = hl_self_netns_ino();
		return 0;
	}
	if (!strcmp(spec, "all")) {
		*ino = 0;
		return 0;
	}
	*ino = strtoull(spec, &end, 10);
	if (*end == 0 && *ino)
		return 0;
	e = netns_file(spec, ino, why, sizeof(why));
	if (e)
		snprintf(err, errlen, "%s: %s", key, why);
	return e > 0 ? -EINVAL : e;
}

int hl_fill_cgroup_filter(struct bpf_map *map, const struct hl_strlist *cgroups, const char *key,
			  char *err, size_t errlen)
{
	__u8 one = 1;

	for (size_t i = 0; i < cgroups->n; i++) {
		uint64_t id;
		int e = hl_cgroup_id(cgroups->v[i], &id);

		if (e) {
			snprintf(err, errlen,
				 "%s: cgroup '%s' not found under the cgroup v2 mount %s: %s", key,
				 cgroups->v[i], hl_cgroup2_mount() ? hl_cgroup2_mount() : "(none)",
				 strerror(-e));
			return e;
		}
		if (bpf_map__update_elem(map, &id, sizeof(id), &one, sizeof(one), BPF_ANY))
			return -errno;
	}
	return 0;
}

int hl_fill_pid_filter(struct bpf_map *map, const struct hl_uintlist *pids)
{
	__u8 one = 1;

	for (size_t i = 0; i < pids->n; i++) {
		__u32 pid = pids->v[i];

		if (bpf_map__update_elem(map, &pid, sizeof(pid), &one, sizeof(one), BPF_ANY))
			return -errno;
	}
	return 0;
}

int hl_read_percpu_array(int fd, uint32_t n, int ncpus, uint64_t *out)
{
	struct hl_map_dump d = {0};
	uint64_t *vals;

	/* One batch lookup (a syscall per element cost more than the copy). */
	if (!hl_map_dump_read_range(&d, fd, (size_t)ncpus * sizeof(*vals), 0, n)) {
		for (uint32_t i = 0; i < n; i++) {
			const uint64_t *v = i < d.n ? hl_map_dump_value(&d, i) : NULL;

			out[i] = 0;
			for (int c = 0; v && c < ncpus; c++)
				out[i] += v[c];
		}
		hl_map_dump_free(&d);
		return 0;
	}
	hl_map_dump_free(&d);
	/* Element by element; one that cannot be read is 0. */
	vals = calloc((size_t)ncpus, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, vals))
			continue;
		for (int c = 0; c < ncpus; c++)
			out[i] += vals[c];
	}
	free(vals);
	return 0;
}

int hl_lost_read(struct hl_lost *l, int fd, int ncpus)
{
	l->prev = l->cur;
	return hl_read_percpu_array(fd, 1, ncpus, &l->cur);
}

struct hl_metric hl_lost_metric(struct hl_lost *l, const char *name, const char *desc,
				const char *unit)
{
	memset(&l->point, 0, sizeof(l->point));
	hl_point_attr(&l->point, "reason", "map_full");
	hl_point_counter(&l->point, l->cur, l->prev);
	return (struct hl_metric){
		.name = name,
		.description = desc,
		.unit = unit,
		.kind = HL_METRIC_COUNTER,
		.points = &l->point,
		.n_points = 1,
	};
}

/* ---- counter sets ------------------------------------------------------------------- */

void hl_counter_set_init(struct hl_counter_set *cs, size_t key_size, size_t nvals,
			 size_t max_entries, int ncpus)
{
	memset(cs, 0, sizeof(*cs));
	cs->key_size = key_size;
	cs->nvals = nvals;
	cs->max_entries = max_entries;
	cs->ncpus = ncpus;
}

void hl_counter_set_free(struct hl_counter_set *cs)
{
	for (size_t i = 0; i < cs->n; i++) {
		free(cs->v[i].cur); /* the block of cur, prev and key */
		free(cs->v[i].user);
	}
	free(cs->v);
	cs->v = NULL;
	cs->n = 0;
	hl_map_dump_free(&cs->dump);
}

static size_t entry_search(const struct hl_counter_set *cs, const void *key, bool *found)
{
	size_t lo = 0, hi = cs->n;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(cs->v[mid].key, key, cs->key_size);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Insert key at position at; its key, cur and prev share one allocation. */
static struct hl_counter_entry *entry_insert(struct hl_counter_set *cs, size_t at, const void *key)
{
	size_t vals = cs->nvals * sizeof(uint64_t);
	struct hl_counter_entry *grown;
	char *mem = calloc(1, cs->key_size + 2 * vals + 8);

	if (!mem)
		return NULL;
	grown = realloc(cs->v, (cs->n + 1) * sizeof(*cs->v));
	if (!grown) {
		free(mem);
		return NULL;
	}
	cs->v = grown;
	memmove(&cs->v[at + 1], &cs->v[at], (cs->n - at) * sizeof(*cs->v));
	cs->n++;
	/* Counters first: they need 8-byte alignment. */
	cs->v[at] = (struct hl_counter_entry){
		.cur = (uint64_t *)mem,
		.prev = (uint64_t *)(mem + vals),
		.key = mem + 2 * vals,
	};
	memcpy(mem + 2 * vals, key, cs->key_size);
	return &cs->v[at];
}

/* The entry of key (inserted when new) set to the CPU sums of per_cpu. */
static int entry_set(struct hl_counter_set *cs, const void *key, const uint64_t *per_cpu)
{
	struct hl_counter_entry *ent;
	bool found;
	size_t at = entry_search(cs, key, &found);

	ent = found ? &cs->v[at] : entry_insert(cs, at, key);
	if (!ent)
		return -ENOMEM;
	for (size_t k = 0; k < cs->nvals; k++) {
		uint64_t sum = 0;

		for (int c = 0; c < cs->ncpus; c++)
			sum += per_cpu[(size_t)c * cs->nvals + k];
		ent->cur[k] = sum;
	}
	return 0;
}

int hl_counter_set_collect(struct hl_counter_set *cs, int fd)
{
	size_t vsize = cs->nvals * sizeof(uint64_t) * (size_t)cs->ncpus;
	int e = hl_map_dump_read(&cs->dump, fd, cs->key_size, vsize, cs->max_entries);

	if (e)
		return e;
	for (size_t i = 0; i < cs->n; i++)
		memcpy(cs->v[i].prev, cs->v[i].cur, cs->nvals * sizeof(uint64_t));
	for (size_t i = 0; i < cs->dump.n; i++) {
		e = entry_set(cs, hl_map_dump_key(&cs->dump, i), hl_map_dump_value(&cs->dump, i));
		if (e)
			return e;
	}
	return 0;
}

int hl_counter_set_collect_array(struct hl_counter_set *cs, struct hl_map_dump *dump, int fd,
				 uint32_t n, void (*key_of)(uint32_t i, void *key, void *ctx),
				 void *ctx)
{
	uint64_t key[8];
	int e;

	if (cs->nvals != 1 || cs->key_size > sizeof(key))
		return -EINVAL;
	e = hl_map_dump_read(dump, fd, sizeof(uint32_t), sizeof(uint64_t) * (size_t)cs->ncpus, n);
	for (size_t j = 0; !e && j < dump->n; j++) {
		const uint64_t *per_cpu = hl_map_dump_value(dump, j);
		bool seen = false;

		for (int c = 0; c < cs->ncpus; c++)
			seen |= per_cpu[c] != 0;
		if (!seen) /* never counted: no series */
			continue;
		memset(key, 0, sizeof(key));
		key_of(*(const uint32_t *)hl_map_dump_key(dump, j), key, ctx);
		e = entry_set(cs, key, per_cpu);
	}
	return e;
}

int hl_mkdir_p(const char *path, unsigned int mode)
{
	char buf[4096];
	size_t len = strlen(path);

	if (!len || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}
