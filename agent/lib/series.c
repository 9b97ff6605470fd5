/* SPDX-License-Identifier: MIT */
/* Per-series cumulative and delta histograms from the kernel's monotonic maps. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "kernel.h"
#include "series.h"

void hl_series_set_init(struct hl_series_set *ss, const struct hl_exph_table *table, int ncpus,
			uint32_t max_buckets, uint32_t max_series, uint32_t max_entries)
{
	memset(ss, 0, sizeof(*ss));
	ss->table = table;
	ss->ncpus = ncpus;
	ss->max_buckets = max_buckets;
	ss->max_series = max_series;
	ss->max_entries = max_entries;
}

void hl_series_set_free(struct hl_series_set *ss)
{
	for (size_t i = 0; i < ss->n; i++) {
		hl_hist_free(&ss->v[i].cum);
		hl_hist_free(&ss->v[i].delta);
		free(ss->v[i].prev);
	}
	free(ss->v);
	free(ss->cur);
	hl_map_dump_free(&ss->hist_dump);
	hl_map_dump_free(&ss->series_dump);
	hl_map_dump_free(&ss->dense_dump);
	ss->v = NULL;
	ss->cur = NULL;
	ss->n = ss->cap_cur = 0;
}

/* Order: stage (series id), interface, namespace, cgroup. */
static int key_cmp(const struct hl_series_key *a, const struct hl_series_key *b)
{
	if (a->stage != b->stage)
		return a->stage < b->stage ? -1 : 1;
	if (a->ifindex != b->ifindex)
		return a->ifindex < b->ifindex ? -1 : 1;
	if (a->netns != b->netns)
		return a->netns < b->netns ? -1 : 1;
	if (a->cgroup != b->cgroup)
		return a->cgroup < b->cgroup ? -1 : 1;
	return 0;
}

/* One bucket counter of the hist map, CPUs summed. */
struct bucket_ent {
	struct hl_series_key key;
	uint32_t pos;
	uint64_t count;
};

static int bucket_ent_cmp(const void *pa, const void *pb)
{
	const struct bucket_ent *a = pa, *b = pb;
	int c = key_cmp(&a->key, &b->key);

	if (c)
		return c;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/*
 * Index of the first of the n elements of size bytes at base (sorted, each
 * starting with a struct hl_series_key) whose key is not below key.
 */
static size_t key_lower_bound(const void *base, size_t n, size_t size,
			      const struct hl_series_key *key)
{
	_Static_assert(offsetof(struct bucket_ent, key) == 0 &&
			       offsetof(struct hl_series, key) == 0,
		       "sorted by a leading key");
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (key_cmp((const struct hl_series_key *)((const char *)base + mid * size), key) <
		    0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The series of key, created (inserted in order) when new; NULL beyond max_series or on ENOMEM. */
static struct hl_series *series_get(struct hl_series_set *ss, const struct hl_series_key *key)
{
	size_t at = key_lower_bound(ss->v, ss->n, sizeof(*ss->v), key);
	int scale = ss->table->scale;
	struct hl_series sr = {.key = *key, .cum_scale = scale}, *grown;

	if (at < ss->n && !key_cmp(&ss->v[at].key, key))
		return &ss->v[at];
	if (ss->n >= ss->max_series)
		return NULL;
	grown = realloc(ss->v, (ss->n + 1) * sizeof(*ss->v));
	if (!grown)
		return NULL;
	ss->v = grown;
	if (hl_hist_init(&sr.cum, ss->max_buckets, scale) ||
	    hl_hist_init(&sr.delta, ss->max_buckets, scale)) {
		hl_hist_free(&sr.cum);
		hl_hist_free(&sr.delta);
		return NULL;
	}
	memmove(&ss->v[at + 1], &ss->v[at], (ss->n - at) * sizeof(*ss->v));
	ss->v[at] = sr;
	ss->n++;
	return &ss->v[at];
}

void hl_series_resolve_cgroup(struct hl_series *sr)
{
	hl_cgroup_label(sr->key.cgroup, sr->cgpath, sizeof(sr->cgpath), &sr->cg_resolved);
}

/* Remember this read as the base of the next delta. */
static void keep_prev(struct hl_series *sr, const struct hl_raw_bucket *cur, size_t n,
		      uint64_t zero, uint64_t sum, uint64_t min, uint64_t max)
{
	if (n > sr->cap_prev) {
		struct hl_raw_bucket *p = realloc(sr->prev, n * sizeof(*p));

		if (!p) {
			/* The next delta then covers everything since start. */
			sr->have_prev = false;
			sr->n_prev = 0;
			return;
		}
		sr->prev = p;
		sr->cap_prev = n;
	}
	if (n)
		memcpy(sr->prev, cur, n * sizeof(*cur));
	sr->n_prev = n;
	sr->prev_zero = zero;
	sr->prev_sum = sum;
	sr->prev_min = min;
	sr->prev_max = max;
	sr->have_prev = true;
}

void hl_series_update(struct hl_series *sr, const struct hl_exph_table *table,
		      const struct hl_raw_bucket *cur, size_t n, uint64_t zero, uint64_t sum,
		      uint64_t min, uint64_t max)
{
	uint64_t base_zero = sr->have_prev ? sr->prev_zero : 0;
	uint64_t base_sum = sr->have_prev ? sr->prev_sum : 0;
	size_t j = 0;

	hl_hist_reset(&sr->cum, sr->cum_scale);
	hl_hist_reset(&sr->delta, table->scale);
	for (size_t i = 0; i < n; i++) {
		int32_t idx = table->idx_min + (int32_t)cur[i].pos;
		uint64_t was = 0;

		hl_hist_add_bucket(&sr->cum, table->scale, idx, cur[i].count);
		/* Both runs are sorted by position: walk prev alongside. */
		while (sr->have_prev && j < sr->n_prev && sr->prev[j].pos < cur[i].pos)
			j++;
		if (sr->have_prev && j < sr->n_prev && sr->prev[j].pos == cur[i].pos)
			was = sr->prev[j].count;
		if (cur[i].count > was)
			hl_hist_add_bucket(&sr->delta, table->scale, idx, cur[i].count - was);
	}
	hl_hist_add_zero(&sr->cum, zero);
	hl_hist_add_zero(&sr->delta, zero - base_zero);
	sr->cum.sum_ns = sum;
	sr->delta.sum_ns = sum - base_sum;
	if (sr->cum.count) {
		sr->cum.min_ns = min;
		sr->cum.max_ns = max;
		sr->cum.has_min = sr->cum.has_max = true;
	}
	/* An interval's extremes are known exactly only when they moved in it. */
	if (sr->delta.count) {
		bool all_new = !sr->have_prev || sr->delta.count == sr->cum.count;

		sr->delta.min_ns = min;
		sr->delta.max_ns = max;
		sr->delta.has_min = all_new || min < sr->prev_min;
		sr->delta.has_max = all_new || max > sr->prev_max;
	}
	if (sr->cum.scale < sr->cum_scale)
		sr->cum_scale = sr->cum.scale;
	keep_prev(sr, cur, n, zero, sum, min, max);
}

/*
 * What hl_series_update makes of a read equal to the previous one: the
 * cumulative histogram as it is (rebuilt from the same buckets it would be
 * the same), an empty delta.
 */
static void series_unchanged(struct hl_series *sr, const struct hl_exph_table *table)
{
	hl_hist_reset(&sr->delta, table->scale);
}

static int reserve_cur(struct hl_series_set *ss, size_t n)
{
	struct hl_raw_bucket *c;

	if (n <= ss->cap_cur)
		return 0;
	c = realloc(ss->cur, n * sizeof(*c));
	if (!c)
		return -ENOMEM;
	ss->cur = c;
	ss->cap_cur = n;
	return 0;
}

/* A series' totals over the CPUs: zeros and sums added, min and max of the CPUs that saw any. */
static struct hl_series_val fold_cpus(const struct hl_series_val *v, int ncpus)
{
	struct hl_series_val t = {.min_ns = UINT64_MAX};

	for (int c = 0; c < ncpus; c++) {
		t.zero += v[c].zero;
		t.sum_ns += v[c].sum_ns;
		/*
		 * A CPU without samples (no zeros, max 0) has no min or max:
		 * its copy of a hash entry another CPU created, or of a dense
		 * block, is still all zero.
		 */
		if (!v[c].zero && !v[c].max_ns)
			continue;
		if (v[c].min_ns < t.min_ns)
			t.min_ns = v[c].min_ns;
		if (v[c].max_ns > t.max_ns)
			t.max_ns = v[c].max_ns;
	}
	return t;
}

uint32_t hl_dense_stride(const struct hl_exph_table *t)
{
	/* The largest position: that of the largest value. */
	uint32_t max_pos = (uint32_t)(hl_exph_index(t, UINT64_MAX) - t->idx_min);

	return 1 + max_pos / HL_DENSE_SLOTS + 1;
}

void hl_series_set_dense(struct hl_series_set *ss, uint32_t n_ids)
{
	ss->dense_ids = n_ids;
	ss->dense_stride = hl_dense_stride(ss->table);
	if (ss->max_series < n_ids)
		ss->max_series = n_ids;
}

void hl_series_set_size_maps(const struct hl_series_set *ss, struct bpf_map *hist,
			     struct bpf_map *series, struct bpf_map *dense)
{
	bool d = ss->dense_ids > 0;

	bpf_map__set_max_entries(hist, d ? 1 : ss->max_entries);
	bpf_map__set_max_entries(series, d ? 1 : ss->max_series);
	bpf_map__set_max_entries(dense, d ? ss->dense_ids * ss->dense_stride : 1);
}

/*
 * The dense layout, one id at a time: its totals element, then only the
 * bucket elements between the positions of its smallest and largest
 * sample (every CPU's samples lie between the min and max over the CPUs,
 * and those only widen). The rest of the block is zero: reading it would
 * copy hundreds of elements per id and CPU every interval. The kernel
 * counts a sample's bucket before its totals, so a sample beyond the max
 * read here is seen at the next collection, like any sample that arrives
 * during a read.
 */
static int collect_dense(struct hl_series_set *ss, int fd)
{
	size_t vsize = (size_t)ss->ncpus * sizeof(struct hl_series_val);
	uint32_t last_el = ss->dense_stride - 1;
	int e;

	if (reserve_cur(ss, (size_t)last_el * HL_DENSE_SLOTS))
		return -ENOMEM;
	for (uint32_t id = 0; id < ss->dense_ids; id++) {
		__u32 base = id * ss->dense_stride, lo_el, hi_el;
		struct hl_series_key key = {.stage = id};
		struct hl_series_val t;
		struct hl_series *sr;
		size_t n = 0;
		bool same;

		e = hl_map_dump_read_range(&ss->dense_dump, fd, vsize, base, 1);
		if (e)
			return e;
		if (ss->dense_dump.n != 1)
			return -EIO;
		t = fold_cpus(hl_map_dump_value(&ss->dense_dump, 0), ss->ncpus);
		if (!t.zero && !t.max_ns)
			continue; /* never sampled: no series, as with the hash maps */
		sr = series_get(ss, &key);
		if (!sr)
			continue;
		same = sr->have_prev && t.zero == sr->prev_zero && t.sum_ns == sr->prev_sum &&
		       t.min_ns == sr->prev_min && t.max_ns == sr->prev_max;
		if (same && sr->settled) {
			/*
			 * Nothing new since the last read (every sample adds to
			 * the zero count or to the sum): its buckets are the
			 * ones read then, not read again. Only once they were
			 * read with the same totals twice: a sample being
			 * recorded during a read may show in the totals before
			 * its bucket (the program's stores are not ordered).
			 */
			series_unchanged(sr, ss->table);
			continue;
		}
		sr->settled = same;
		if (t.max_ns) {
			lo_el = 1 + (__u32)(hl_exph_index(ss->table, t.min_ns ? t.min_ns : 1) -
					    ss->table->idx_min) /
					    HL_DENSE_SLOTS;
			hi_el = 1 +
				(__u32)(hl_exph_index(ss->table, t.max_ns) - ss->table->idx_min) /
					HL_DENSE_SLOTS;
			if (hi_el > last_el)
				hi_el = last_el;
			if (lo_el > hi_el)
				lo_el = hi_el;
			e = hl_map_dump_read_range(&ss->dense_dump, fd, vsize, base + lo_el,
						   hi_el - lo_el + 1);
			if (e)
				return e;
			if (ss->dense_dump.n != hi_el - lo_el + 1)
				return -EIO;
			for (uint32_t el = lo_el; el <= hi_el; el++) {
				const __u64 *v = hl_map_dump_value(&ss->dense_dump, el - lo_el);

				for (uint32_t slot = 0; slot < HL_DENSE_SLOTS; slot++) {
					uint64_t count = 0;

					for (int c = 0; c < ss->ncpus; c++)
						count += v[(size_t)c * HL_DENSE_SLOTS + slot];
					if (!count)
						continue;
					ss->cur[n].pos = (el - 1) * HL_DENSE_SLOTS + slot;
					ss->cur[n].count = count;
					n++;
				}
			}
		}
		hl_series_update(sr, ss->table, ss->cur, n, t.zero, t.sum_ns, t.min_ns, t.max_ns);
	}
	return 0;
}

int hl_series_set_collect(struct hl_series_set *ss, int hist_fd, int series_fd, int dense_fd)
{
	size_t hv = (size_t)ss->ncpus * sizeof(__u64);
	size_t sv = (size_t)ss->ncpus * sizeof(struct hl_series_val);
	struct bucket_ent *ents;
	size_t n_ents;
	int e;

	if (ss->dense_ids)
		return collect_dense(ss, dense_fd);
	/* Buckets first: the kernel creates a series before its first bucket. */
	e = hl_map_dump_read(&ss->hist_dump, hist_fd, sizeof(struct hl_hist_key), hv,
			     ss->max_entries);
	if (e)
		return e;
	e = hl_map_dump_read(&ss->series_dump, series_fd, sizeof(struct hl_series_key), sv,
			     ss->max_series);
	if (e)
		return e;

	n_ents = ss->hist_dump.n;
	ents = malloc((n_ents ? n_ents : 1) * sizeof(*ents));
	if (!ents)
		return -ENOMEM;
	for (size_t i = 0; i < n_ents; i++) {
		const struct hl_hist_key *hk = hl_map_dump_key(&ss->hist_dump, i);
		const __u64 *per_cpu = hl_map_dump_value(&ss->hist_dump, i);

		memset(&ents[i].key, 0, sizeof(ents[i].key));
		ents[i].key.cgroup = hk->cgroup;
		ents[i].key.ifindex = hk->ifindex;
		ents[i].key.netns = hk->netns;
		ents[i].key.stage = hk->stage;
		ents[i].pos = hk->pos;
		ents[i].count = 0;
		for (int c = 0; c < ss->ncpus; c++)
			ents[i].count += per_cpu[c];
	}
	if (n_ents)
		qsort(ents, n_ents, sizeof(*ents), bucket_ent_cmp);

	for (size_t i = 0; i < ss->series_dump.n; i++) {
		const struct hl_series_key *key = hl_map_dump_key(&ss->series_dump, i);
		const struct hl_series_val *v = hl_map_dump_value(&ss->series_dump, i);
		struct hl_series_val t = fold_cpus(v, ss->ncpus);
		struct hl_series *sr;
		size_t lo, n = 0;

		sr = series_get(ss, key);
		if (!sr)
			continue;
		/* The series' buckets are one run of the sorted entries. */
		lo = key_lower_bound(ents, n_ents, sizeof(*ents), key);
		while (lo + n < n_ents && !key_cmp(&ents[lo + n].key, key))
			n++;
		if (reserve_cur(ss, n)) {
			free(ents);
			return -ENOMEM;
		}
		for (size_t m = 0; m < n; m++) {
			ss->cur[m].pos = ents[lo + m].pos;
			ss->cur[m].count = ents[lo + m].count;
		}
		hl_series_update(sr, ss->table, ss->cur, n, t.zero, t.sum_ns, t.min_ns, t.max_ns);
	}
	free(ents);
	return 0;
}
