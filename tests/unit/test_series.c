/* SPDX-License-Identifier: MIT */
/*
 * agent/lib/series.c: the per-series cumulative and delta histograms built
 * from the kernel's monotonic counters, and the two map layouts of
 * bpf/lathist.h read back (real BPF maps, filled here the way the programs
 * fill them; needs CAP_BPF).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include "hist.h"
#include "probeutil.h"
#include "series.h"
#include "unit.h"

/* ---- series: cumulative and delta from monotonic counters ------------------------ */

static void test_series(void)
{
	struct hl_exph_table t;
	struct hl_series sr = {0};
	struct hl_raw_bucket a[2], b[3];

	CHECK(hl_exph_table_init(&t, 3) == 0, "table");
	sr.cum_scale = 3;
	CHECK(hl_hist_init(&sr.cum, 160, 3) == 0 && hl_hist_init(&sr.delta, 160, 3) == 0,
	      "hist init");
	/* first read: 2 samples of 1000 ns, 1 of 5000 ns, 1 zero */
	a[0] = (struct hl_raw_bucket){hl_exph_index(&t, 1000) - t.idx_min, 2};
	a[1] = (struct hl_raw_bucket){hl_exph_index(&t, 5000) - t.idx_min, 1};
	hl_series_update(&sr, &t, a, 2, 1, 7000, 0, 5000);
	CHECK(sr.cum.count == 4 && sr.delta.count == 4 && sr.cum.zero_count == 1,
	      "first: cum %llu delta %llu", (unsigned long long)sr.cum.count,
	      (unsigned long long)sr.delta.count);
	CHECK(sr.delta.has_min && sr.delta.has_max && sr.delta.max_ns == 5000, "first extremes");
	CHECK(sr.cum.sum_ns == 7000 && sr.delta.sum_ns == 7000, "first sums");

	/* second read: one more 1000 ns sample and a new 80 us maximum */
	b[0] = (struct hl_raw_bucket){a[0].pos, 3};
	b[1] = a[1];
	b[2] = (struct hl_raw_bucket){hl_exph_index(&t, 80000) - t.idx_min, 1};
	hl_series_update(&sr, &t, b, 3, 1, 88000, 0, 80000);
	CHECK(sr.cum.count == 6 && sr.delta.count == 2 && sr.delta.zero_count == 0,
	      "second: cum %llu delta %llu", (unsigned long long)sr.cum.count,
	      (unsigned long long)sr.delta.count);
	CHECK(sr.delta.sum_ns == 81000, "delta sum %llu", (unsigned long long)sr.delta.sum_ns);
	CHECK(sr.delta.has_max && sr.delta.max_ns == 80000 && !sr.delta.has_min,
	      "the max moved, the min did not");

	/* third read: nothing new */
	hl_series_update(&sr, &t, b, 3, 1, 88000, 0, 80000);
	CHECK(sr.cum.count == 6 && sr.delta.count == 0, "idle interval");
	hl_hist_free(&sr.cum);
	hl_hist_free(&sr.delta);
	free(sr.prev);
}

/* ---- the dense and hash layouts read back ----------------------------------------- */

/* Samples per (series id, CPU): the same data written in both layouts. */
struct sample {
	uint32_t id;
	int cpu;
	uint64_t v;
};
static const struct sample first[] = {{0, 0, 1000},  {0, 0, 1000}, {0, 1, 5000},	  {0, 1, 0},
				      {2, 0, 80000}, {2, 1, 3},	   {2, 1, UINT64_MAX / 2}};
/*
 * The second interval: beyond id 0's max on the other CPU, below its
 * min (not 0), and id 1's first. The dense read covers only the
 * elements between a series' min and max: they must widen with them.
 */
static const struct sample later[] = {{0, 1, 2000000000}, {0, 0, 7}, {1, 0, 70}};
/*
 * The third: only a 0 ns sample of id 0 (its sum, min and max stay, its
 * zero count moves) and nothing else. A series whose totals did not move
 * is not read again: both must still read as they do in the hash layout.
 */
static const struct sample third[] = {{0, 1, 0}};
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static int percpu_map(enum bpf_map_type type, size_t key, size_t val, uint32_t n)
{
	return bpf_map_create(type, NULL, (uint32_t)key, (uint32_t)val, n, NULL);
}

static void fill_dense(int fd, const struct hl_exph_table *t, uint32_t stride, int ncpus,
		       const struct sample *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct hl_series_val *vals = calloc((size_t)ncpus, sizeof(*vals));
		int cpu = s[i].cpu % ncpus;
		uint32_t k = s[i].id * stride, pos;

		bpf_map_lookup_elem(fd, &k, vals);
		hl_series_val_add(&vals[cpu], s[i].v);
		bpf_map_update_elem(fd, &k, vals, BPF_ANY);
		if (s[i].v) {
			pos = (uint32_t)(hl_exph_index(t, s[i].v) - t->idx_min);
			k += 1 + pos / HL_DENSE_SLOTS;
			CHECK(k < (s[i].id + 1) * stride, "position %u beyond the block", pos);
			bpf_map_lookup_elem(fd, &k, vals);
			((__u64 *)&vals[cpu])[pos % HL_DENSE_SLOTS]++;
			bpf_map_update_elem(fd, &k, vals, BPF_ANY);
		}
		free(vals);
	}
}

static void fill_hash(int hist_fd, int series_fd, const struct hl_exph_table *t, int ncpus,
		      const struct sample *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct hl_series_val *vals = calloc((size_t)ncpus, sizeof(*vals));
		__u64 *counts = calloc((size_t)ncpus, sizeof(*counts));
		struct hl_series_key sk = {.stage = s[i].id};
		int cpu = s[i].cpu % ncpus;

		bpf_map_lookup_elem(series_fd, &sk, vals);
		hl_series_val_add(&vals[cpu], s[i].v);
		bpf_map_update_elem(series_fd, &sk, vals, BPF_ANY);
		if (s[i].v) {
			struct hl_hist_key hk = {
				.stage = (__u16)s[i].id,
				.pos = (__u16)(hl_exph_index(t, s[i].v) - t->idx_min),
			};

			bpf_map_lookup_elem(hist_fd, &hk, counts);
			counts[cpu]++;
			bpf_map_update_elem(hist_fd, &hk, counts, BPF_ANY);
		}
		free(vals);
		free(counts);
	}
}

/* Both layouts read back the same series, totals and buckets. */
static void same_series(const struct hl_series_set *dense, const struct hl_series_set *hash)
{
	for (size_t i = 0; i < dense->n && i < hash->n; i++) {
		const struct hl_hist *d = &dense->v[i].cum, *h = &hash->v[i].cum;

		CHECK(dense->v[i].key.stage == hash->v[i].key.stage, "ids differ");
		CHECK(d->count == h->count && d->zero_count == h->zero_count &&
			      d->sum_ns == h->sum_ns && d->min_ns == h->min_ns &&
			      d->max_ns == h->max_ns,
		      "id %u: dense count %llu min %llu max %llu, hash count %llu min %llu max "
		      "%llu",
		      dense->v[i].key.stage, (unsigned long long)d->count,
		      (unsigned long long)d->min_ns, (unsigned long long)d->max_ns,
		      (unsigned long long)h->count, (unsigned long long)h->min_ns,
		      (unsigned long long)h->max_ns);
		CHECK(d->scale == h->scale && d->len == h->len && d->offset == h->offset &&
			      !memcmp(d->counts, h->counts, d->len * sizeof(*d->counts)),
		      "id %u: buckets differ", dense->v[i].key.stage);
		d = &dense->v[i].delta;
		h = &hash->v[i].delta;
		CHECK(d->count == h->count && d->zero_count == h->zero_count &&
			      d->sum_ns == h->sum_ns && d->has_min == h->has_min &&
			      d->has_max == h->has_max && (!d->has_min || d->min_ns == h->min_ns) &&
			      (!d->has_max || d->max_ns == h->max_ns) && d->len == h->len &&
			      d->offset == h->offset &&
			      !memcmp(d->counts, h->counts, d->len * sizeof(*d->counts)),
		      "id %u: deltas differ: dense count %llu zero %llu, hash count %llu zero %llu",
		      dense->v[i].key.stage, (unsigned long long)d->count,
		      (unsigned long long)d->zero_count, (unsigned long long)h->count,
		      (unsigned long long)h->zero_count);
	}
}

static void test_layouts(void)
{
	int ncpus = libbpf_num_possible_cpus();
	struct hl_series_set dense, hash;
	struct hl_exph_table t;
	uint32_t stride;
	int dfd, hfd, sfd;

	CHECK(hl_exph_table_init(&t, 3) == 0, "table");
	hl_series_set_init(&dense, &t, ncpus, 160, 1, 64);
	hl_series_set_dense(&dense, 3);
	hl_series_set_init(&hash, &t, ncpus, 160, 8, 64);
	stride = dense.dense_stride;
	CHECK(dense.max_series >= 3, "max_series %u below the dense ids", dense.max_series);
	/*
	 * At scale 3, 1 ns is OTel bucket ceil(8 * log2(1e-9)) - 1 = -240 and
	 * 2^64 ns bucket ceil(8 * log2(2^64 * 1e-9)) - 1 = 272: positions
	 * 0..512, 4 per element after the totals: 1 + 129 elements.
	 */
	CHECK(stride == 130, "stride %u at scale 3, want 130", stride);
	dfd = percpu_map(BPF_MAP_TYPE_PERCPU_ARRAY, 4, sizeof(struct hl_series_val), 3 * stride);
	hfd = percpu_map(BPF_MAP_TYPE_PERCPU_HASH, sizeof(struct hl_hist_key), 8, 64);
	sfd = percpu_map(BPF_MAP_TYPE_PERCPU_HASH, sizeof(struct hl_series_key),
			 sizeof(struct hl_series_val), 8);
	if (dfd < 0 || hfd < 0 || sfd < 0) {
		/* Not a silent pass: make test runs as root, where this fails. */
		CHECK(0, "cannot create BPF maps: %s (run as root)", strerror(errno));
		goto out;
	}
	fill_dense(dfd, &t, stride, ncpus, first, N_OF(first));
	fill_hash(hfd, sfd, &t, ncpus, first, N_OF(first));
	CHECK(hl_series_set_collect(&dense, -1, -1, dfd) == 0, "dense collect");
	CHECK(hl_series_set_collect(&hash, hfd, sfd, -1) == 0, "hash collect");

	/* id 1 never sampled: no series, as in the hash maps */
	CHECK(dense.n == 2 && hash.n == 2, "series: dense %zu, hash %zu", dense.n, hash.n);
	same_series(&dense, &hash);
	if (dense.n == 2) {
		const struct hl_hist *a = &dense.v[0].cum, *b = &dense.v[1].cum;

		CHECK(a->count == 4 && a->zero_count == 1 && a->sum_ns == 7000, "id 0 totals");
		CHECK(a->min_ns == 0 && a->max_ns == 5000, "id 0 extremes"); /* a 0 was seen */
		CHECK(b->count == 3 && b->min_ns == 3 && b->max_ns == UINT64_MAX / 2, "id 2");
	}
	fill_dense(dfd, &t, stride, ncpus, later, N_OF(later));
	fill_hash(hfd, sfd, &t, ncpus, later, N_OF(later));
	CHECK(hl_series_set_collect(&dense, -1, -1, dfd) == 0, "dense collect, 2nd interval");
	CHECK(hl_series_set_collect(&hash, hfd, sfd, -1) == 0, "hash collect, 2nd interval");
	CHECK(dense.n == 3 && hash.n == 3, "2nd interval series: dense %zu, hash %zu", dense.n,
	      hash.n);
	same_series(&dense, &hash);
	if (dense.n == 3) {
		const struct hl_hist *a = &dense.v[0].delta;

		CHECK(a->count == 2 && a->sum_ns == 2000000007 && dense.v[0].cum.count == 6,
		      "id 0 in the 2nd interval: count %llu sum %llu", (unsigned long long)a->count,
		      (unsigned long long)a->sum_ns);
		CHECK(dense.v[1].cum.count == 1 && dense.v[1].cum.min_ns == 70, "id 1 appears");
		CHECK(dense.v[2].delta.count == 0 && dense.v[2].cum.count == 3,
		      "id 2 unchanged in the 2nd interval");
	}
	/* An interval without samples: the totals are read twice the same (settled). */
	CHECK(hl_series_set_collect(&dense, -1, -1, dfd) == 0, "dense collect, quiet interval");
	CHECK(hl_series_set_collect(&hash, hfd, sfd, -1) == 0, "hash collect, quiet interval");
	same_series(&dense, &hash);
	fill_dense(dfd, &t, stride, ncpus, third, N_OF(third));
	fill_hash(hfd, sfd, &t, ncpus, third, N_OF(third));
	CHECK(hl_series_set_collect(&dense, -1, -1, dfd) == 0, "dense collect, 3rd interval");
	CHECK(hl_series_set_collect(&hash, hfd, sfd, -1) == 0, "hash collect, 3rd interval");
	CHECK(dense.n == 3 && hash.n == 3, "3rd interval series: dense %zu, hash %zu", dense.n,
	      hash.n);
	same_series(&dense, &hash);
	if (dense.n == 3) {
		CHECK(dense.v[0].delta.count == 1 && dense.v[0].delta.zero_count == 1 &&
			      dense.v[0].cum.count == 7,
		      "id 0's 0 ns sample in the 3rd interval: delta %llu, cum %llu",
		      (unsigned long long)dense.v[0].delta.count,
		      (unsigned long long)dense.v[0].cum.count);
		CHECK(dense.v[2].delta.count == 0 && dense.v[2].cum.count == 3 &&
			      dense.v[2].cum.len > 0,
		      "id 2 unchanged in the 3rd interval: delta %llu",
		      (unsigned long long)dense.v[2].delta.count);
	}
out:
	if (dfd >= 0)
		close(dfd);
	if (hfd >= 0)
		close(hfd);
	if (sfd >= 0)
		close(sfd);
	hl_series_set_free(&dense);
	hl_series_set_free(&hash);
}

/* hl_read_percpu_array: the counters summed over CPUs, one batch read. */
static void test_percpu_counters(void)
{
	int ncpus = libbpf_num_possible_cpus(), fd;
	__u64 *vals = calloc((size_t)ncpus, sizeof(*vals));
	uint64_t out[40];

	fd = percpu_map(BPF_MAP_TYPE_PERCPU_ARRAY, 4, sizeof(__u64), 37);
	if (fd < 0 || !vals) {
		CHECK(0, "cannot create a BPF map: %s (run as root)", strerror(errno));
		free(vals);
		return;
	}
	for (__u32 i = 0; i < 37; i += 3) {
		for (int c = 0; c < ncpus; c++)
			vals[c] = i * 1000 + (__u64)c + 1;
		bpf_map_update_elem(fd, &i, vals, BPF_ANY);
	}
	memset(out, 0xff, sizeof(out));
	CHECK(hl_read_percpu_array(fd, 40, ncpus, out) == 0, "read");
	for (uint32_t i = 0; i < 40; i++) {
		uint64_t want = 0;

		if (i < 37 && i % 3 == 0)
			want = (uint64_t)i * 1000 * (uint64_t)ncpus +
			       (uint64_t)ncpus * (uint64_t)(ncpus + 1) / 2;
		CHECK(out[i] == want, "counter %u: %llu, want %llu (beyond the array: 0)", i,
		      (unsigned long long)out[i], (unsigned long long)want);
	}
	close(fd);
	free(vals);
}

int main(void)
{
	test_series();
	test_layouts();
	test_percpu_counters();
	return UNIT_DONE();
}
