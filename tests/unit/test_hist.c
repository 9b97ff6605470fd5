/* SPDX-License-Identifier: MIT */
/*
 * agent/lib/hist.c: the kernel's bucketing table against the independent exact
 * reference (exhaustively near every boundary), hand-computed indexes and
 * bounds, and struct hl_hist against hand-worked examples; exact indexes of
 * plain integers and histograms of plain values (the traffic probe's bytes).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hist.h"
#include "unit.h"

#define NS 1000000000ULL
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* splitmix64: a fixed-seed generator of our own, identical everywhere. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* A value of a uniformly random bit length 1..64, then a random mantissa. */
static uint64_t rng_any_magnitude(void)
{
	unsigned int e = (unsigned int)(rng_next() % 64);
	uint64_t top = 1ULL << e;

	return top | (rng_next() & (top - 1));
}

/* ---- table vs reference ------------------------------------------------------- */

struct sweep {
	const char *what;
	int scale;
	uint64_t n, bad;
};

static void sweep_one(struct sweep *s, const struct hl_exph_table *t, uint64_t v)
{
	int32_t got, want;

	if (!v)
		return;
	got = hl_exph_index(t, v);
	want = hl_exph_index_ref(s->scale, v);
	s->n++;
	if (got != want && s->bad++ < 5)
		fprintf(stderr, "scale %d, %s: v = %" PRIu64 " ns: table says %d, reference %d\n",
			s->scale, s->what, v, got, want);
}

static void sweep_done(struct sweep *s)
{
	CHECK(s->bad == 0, "scale %d, %s: %" PRIu64 " of %" PRIu64 " values disagree", s->scale,
	      s->what, s->bad, s->n);
}

/* v in [c - r, c + r], clipped to 1..UINT64_MAX */
static void sweep_around(struct sweep *s, const struct hl_exph_table *t, uint64_t c, unsigned r)
{
	uint64_t lo = c > r ? c - r : 1, hi = UINT64_MAX - c > r ? c + r : UINT64_MAX, v;

	for (v = lo;; v++) {
		sweep_one(s, t, v);
		if (v == hi)
			break;
	}
}

/* The expected idx_min: ceil(2^s * log2(1e-9)) - 1, log2(1e-9) = -29.8973... */
static const int32_t idx_min_want[HL_EXPH_MAX_SCALE + 1] = {-30, -60, -120, -240, -479, -957};

static void test_table(const struct hl_exph_table *t, int scale)
{
	uint64_t bad_bound = 0, bad_approx = 0;
	uint32_t p, k, finite = 0;

	CHECK(t->scale == scale, "scale %d", t->scale);
	CHECK(t->idx_min == idx_min_want[scale], "scale %d: idx_min %d", scale, t->idx_min);
	CHECK(t->bounds[0] == 0, "scale %d: bounds[0] = %" PRIu64, scale, (uint64_t)t->bounds[0]);
	CHECK(t->bounds[HL_EXPH_TABLE_SIZE - 1] == UINT64_MAX, "scale %d: not saturated", scale);
	for (p = 1; p < HL_EXPH_TABLE_SIZE; p++) {
		uint64_t b = t->bounds[p];
		int32_t j = t->idx_min + (int32_t)p;
		long double approx = 1e9L * exp2l((long double)j / (1 << scale));

		CHECK(b >= t->bounds[p - 1], "scale %d: bounds not monotonic at %u", scale, p);
		if (b == UINT64_MAX) {
			if (approx < 0x1p64L * (1 - 1e-15L))
				bad_approx++;
			continue;
		}
		finite++;
		/*
		 * A finite boundary b = T(j) is the last value of bucket j - 1 and
		 * b + 1 the first of bucket j, unless those buckets hold no integer
		 * (below ~50 ns at scale 5 several T(j) coincide).
		 */
		if (b >= 1 && b > t->bounds[p - 1] && hl_exph_index_ref(scale, b) != j - 1)
			bad_bound++;
		if (p + 1 < HL_EXPH_TABLE_SIZE && t->bounds[p + 1] > b &&
		    hl_exph_index_ref(scale, b + 1) != j)
			bad_bound++;
		/* ... and agrees with a long double computation to within one ns or 1e-15. */
		if (fabsl((long double)b - floorl(approx)) > 1 + approx * 1e-15L)
			bad_approx++;
	}
	CHECK(bad_bound == 0, "scale %d: %" PRIu64 " table bounds disagree with the reference",
	      scale, bad_bound);
	CHECK(bad_approx == 0, "scale %d: %" PRIu64 " table bounds far from 1e9 * 2^(j/2^s)", scale,
	      bad_approx);
	/* 2^s buckets per octave; 1 ns .. 2^64 ns spans 64 octaves minus a fraction. */
	CHECK(finite >= 64u << scale && finite <= 65u << scale, "scale %d: %u finite bounds", scale,
	      finite);
	for (k = 0; k < 64; k++) {
		uint32_t f = t->octave_first[k];

		CHECK(f + 1 < HL_EXPH_TABLE_SIZE && t->bounds[f] < (1ULL << k) &&
			      t->bounds[f + 1] >= (1ULL << k),
		      "scale %d: octave_first[%u] = %u", scale, k, f);
	}
}

/*
 * Hand-computed indexes.  T(j) = floor(1e9 * 2^(j / 2^s)):
 *   s = 0: T(-1) = 5e8, T(0) = 1e9, T(1) = 2e9, T(2) = 4e9
 *   s = 1: T(-1) = floor(707106781.19) = 707106781, T(1) = floor(1414213562.37)
 *   s = 2: T(1) = floor(1e9 * 1.18920711500) = 1189207115
 *   s = 3: T(1) = floor(1e9 * 1.09050773266) = 1090507732
 *   s = 4: T(1) = 1044273782,  s = 5: T(1) = 1021897148, T(-1) = 978572062
 * A value equal to T(j) is the top of bucket j - 1; T(j) + 1 starts bucket j.
 */
static const struct {
	int scale;
	uint64_t v;
	int32_t index;
} hand[] = {
	{0, 1000000000, -1}, {0, 1000000001, 0},  {0, 2000000000, 0},
	{0, 2000000001, 1},  {0, 500000000, -2},  {0, 500000001, -1},
	{0, 4000000000, 1},  {0, 4000000001, 2},  {0, 1, -30},
	{0, 2, -29},	     {0, 3, -29},	  {0, 4, -28}, /* 2^-28 s = 3.7 ns */
	{0, UINT64_MAX, 34},				       /* 18.4 s * 1e9: log2 = 34.1 */
	{1, 1000000000, -1}, {1, 1000000001, 0},  {1, 1414213562, 0},
	{1, 1414213563, 1},  {1, 2000000000, 1},  {1, 2000000001, 2},
	{1, 707106781, -2},  {1, 707106782, -1},  {1, 1, -60},
	{2, 1189207115, 0},  {2, 1189207116, 1},  {2, 1000000000, -1},
	{2, 1414213562, 1},  {2, 1414213563, 2},  {2, 1, -120},
	{3, 1090507732, 0},  {3, 1090507733, 1},  {3, 1, -240},
	{4, 1044273782, 0},  {4, 1044273783, 1},  {4, 1, -479},
	{5, 1021897148, 0},  {5, 1021897149, 1},  {5, 978572062, -2},
	{5, 978572063, -1},  {5, 1000000000, -1}, {5, 1000000001, 0},
	{5, 2000000000, 31}, {5, 2000000001, 32}, {5, 1, -957},
};

static void test_hand_indexes(struct hl_exph_table *tables)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(hand); i++) {
		int s = hand[i].scale;
		int32_t got = hl_exph_index(&tables[s], hand[i].v);
		int32_t ref = hl_exph_index_ref(s, hand[i].v);

		CHECK(got == hand[i].index, "scale %d, v %" PRIu64 ": table %d, want %d", s,
		      hand[i].v, got, hand[i].index);
		CHECK(ref == hand[i].index, "scale %d, v %" PRIu64 ": reference %d, want %d", s,
		      hand[i].v, ref, hand[i].index);
	}
	CHECK(hl_exph_index(&tables[0], 0) == INT32_MIN, "0 ns has no bucket");
	CHECK(hl_exph_index_ref(0, 0) == INT32_MIN, "0 ns has no bucket");
	CHECK(hl_exph_index_ref(6, 1) == INT32_MIN, "scale 6 rejected");
	CHECK(hl_exph_table_init(&tables[HL_EXPH_MAX_SCALE + 1], -1) == -EINVAL, "scale -1");
	CHECK(hl_exph_table_init(&tables[HL_EXPH_MAX_SCALE + 1], HL_EXPH_MAX_SCALE + 1) == -EINVAL,
	      "scale 6");
}

static void close_to(double got, double want, const char *what)
{
	CHECK(fabs(got - want) <= fabs(want) * 4e-16, "%s: %.17g, want %.17g", what, got, want);
}

static void test_bounds(void)
{
	double lo, hi;

	hl_exph_bounds(1, 0, &lo, &hi); /* (1, sqrt 2] */
	close_to(lo, 1, "s1 i0 lo");
	close_to(hi, 1.4142135623730950488, "s1 i0 hi");
	hl_exph_bounds(1, -1, &lo, &hi); /* (1/sqrt 2, 1] */
	close_to(lo, 0.70710678118654752440, "s1 i-1 lo");
	close_to(hi, 1, "s1 i-1 hi");
	hl_exph_bounds(1, -3, &lo, &hi); /* (2^-1.5, 2^-1] */
	close_to(lo, 0.35355339059327376220, "s1 i-3 lo");
	close_to(hi, 0.5, "s1 i-3 hi");
	hl_exph_bounds(1, 5, &lo, &hi); /* (2^2.5, 2^3] */
	close_to(lo, 5.6568542494923801952, "s1 i5 lo");
	close_to(hi, 8, "s1 i5 hi");
	hl_exph_bounds(0, -30, &lo, &hi); /* 1 ns's bucket */
	CHECK(lo == ldexp(1, -30) && hi == ldexp(1, -29), "s0 i-30: %g %g", lo, hi);
	hl_exph_bounds(5, 31, &lo, &hi);
	close_to(lo, 1.9571441241754002, "s5 i31 lo"); /* 2^(31/32) */
	CHECK(hi == 2, "s5 i31 hi %.17g", hi);
	hl_exph_bounds(-1, 0, &lo, &hi); /* base 4 */
	CHECK(lo == 1 && hi == 4, "s-1 i0: %g %g", lo, hi);
	hl_exph_bounds(-1, -1, &lo, &hi);
	CHECK(lo == 0.25 && hi == 1, "s-1 i-1: %g %g", lo, hi);
	hl_exph_bounds(-3, -2, &lo, &hi); /* base 256 */
	CHECK(lo == ldexp(1, -16) && hi == ldexp(1, -8), "s-3 i-2: %g %g", lo, hi);
	hl_exph_bounds(0, INT32_MAX, &lo, &hi); /* far out: finite */
	CHECK(isfinite(lo) && isfinite(hi), "huge index: %g %g", lo, hi);
}

/* Long double check of the reference, for values far from any boundary. */
static void test_ref_vs_float(int scale)
{
	uint64_t n = 0, bad = 0;
	int i;

	rng_state = 42 + (uint64_t)scale;
	for (i = 0; i < 20000; i++) {
		uint64_t v = rng_any_magnitude();
		long double x = ldexpl(log2l((long double)v) - log2l(1e9L), scale);
		long double c = ceill(x);

		if (c - x < 1e-6L || x - (c - 1) < 1e-6L)
			continue;
		n++;
		if (hl_exph_index_ref(scale, v) != (int32_t)c - 1 && bad++ < 5)
			fprintf(stderr, "scale %d, v %" PRIu64 ": reference %d, long double %d\n",
				scale, v, hl_exph_index_ref(scale, v), (int32_t)c - 1);
	}
	CHECK(bad == 0 && n > 19000, "scale %d: %" PRIu64 " of %" PRIu64 " differ", scale, bad, n);
}

static double sweep_scale(const struct hl_exph_table *t, int scale, uint64_t n_random)
{
	struct sweep s;
	double t0 = now_s();
	uint64_t v, i;
	uint32_t p;
	int k;

	/* (a) every small value: 1 ns .. 2 ms */
	s = (struct sweep){"1..2000000", scale, 0, 0};
	for (v = 1; v <= 2000000; v++)
		sweep_one(&s, t, v);
	sweep_done(&s);

	/* (b) +-3 ns around every boundary of the table within u64 range */
	s = (struct sweep){"boundaries +-3", scale, 0, 0};
	for (p = 0; p < HL_EXPH_TABLE_SIZE && t->bounds[p] != UINT64_MAX; p++)
		sweep_around(&s, t, t->bounds[p], 3);
	sweep_done(&s);

	/* (c) powers of two, and 1e9 * 2^k: 1 s times powers of two are exact boundaries */
	s = (struct sweep){"2^k, 1e9*2^k", scale, 0, 0};
	for (k = 0; k < 64; k++)
		sweep_around(&s, t, 1ULL << k, 1);
	for (k = 0; k <= 34; k++)
		sweep_around(&s, t, NS << k, 3);
	for (k = 1; k <= 9; k++) /* 1e9 = 2^9 * 1953125 */
		sweep_around(&s, t, NS >> k, 3);
	sweep_done(&s);

	/* (d) random magnitudes with a fixed seed */
	s = (struct sweep){"random", scale, 0, 0};
	rng_state = 0x686f73746c6174ULL + (uint64_t)scale;
	for (i = 0; i < n_random; i++)
		sweep_one(&s, t, rng_any_magnitude());
	sweep_done(&s);

	/* (e) the largest value */
	s = (struct sweep){"UINT64_MAX", scale, 0, 0};
	sweep_around(&s, t, UINT64_MAX, 3);
	sweep_done(&s);
	return now_s() - t0;
}

/* ---- struct hl_hist ------------------------------------------------------------- */

/* h holds exactly buckets offset.. with counts want[] (trimmed) at scale. */
static void expect_hist(int line, const struct hl_hist *h, int scale, int32_t offset,
			const uint64_t *want, uint32_t n)
{
	uint32_t first = 0, last = h->len, i;
	bool same;

	while (first < last && !h->counts[first])
		first++;
	while (last > first && !h->counts[last - 1])
		last--;
	same = h->scale == scale && last - first == n &&
	       (!n || h->offset + (int32_t)first == offset);
	for (i = 0; same && i < n; i++)
		same = h->counts[first + i] == want[i];
	CHECK(same && h->len <= h->max_size, "line %d: scale %d offset %d len %u", line, h->scale,
	      h->offset + (int32_t)first, last - first);
	if (!same) {
		fprintf(stderr, "  got  scale %d offset %d:", h->scale, h->offset + (int32_t)first);
		for (i = first; i < last; i++)
			fprintf(stderr, " %" PRIu64, h->counts[i]);
		fprintf(stderr, "\n  want scale %d offset %d:", scale, offset);
		for (i = 0; i < n; i++)
			fprintf(stderr, " %" PRIu64, want[i]);
		fputc('\n', stderr);
	}
}

#define EXPECT(h, scale, offset, ...)                                                              \
	do {                                                                                       \
		const uint64_t want_[] = {__VA_ARGS__};                                            \
		expect_hist(__LINE__, h, scale, offset, want_, ARRAY_SIZE(want_));                 \
	} while (0)
#define EXPECT_EMPTY(h, scale) expect_hist(__LINE__, h, scale, 0, NULL, 0)

static void test_downscale(void)
{
	struct hl_hist h, g;
	int32_t i;

	/*
	 * Scale 2, buckets -5..2 holding 1..8.  Floor shift by 1:
	 *   -5 -> -3 | -4, -3 -> -2 | -2, -1 -> -1 | 0, 1 -> 0 | 2 -> 1
	 *   counts:  1 | 2+3 = 5 | 4+5 = 9 | 6+7 = 13 | 8
	 * by 2:  -5 -> -2 | -4..-1 -> -1 | 0..2 -> 0:  1 | 14 | 21
	 * by 40: -5..-1 -> -1 | 0..2 -> 0:  15 | 21
	 */
	CHECK(hl_hist_init(&h, 16, 2) == 0, "init");
	CHECK(hl_hist_init(&g, 16, 2) == 0, "init");
	for (i = -5; i <= 2; i++)
		hl_hist_add_bucket(&h, 2, i, (uint64_t)(i + 6));
	EXPECT(&h, 2, -5, 1, 2, 3, 4, 5, 6, 7, 8);
	CHECK(h.count == 36, "count %" PRIu64, h.count);
	hl_hist_merge(&g, &h);
	hl_hist_downscale(&h, 1);
	EXPECT(&h, 1, -3, 1, 5, 9, 13, 8);
	hl_hist_downscale(&h, 0);
	EXPECT(&h, 1, -3, 1, 5, 9, 13, 8);
	hl_hist_reset(&h, 2);
	EXPECT_EMPTY(&h, 2);
	CHECK(h.count == 0 && h.max_size == 16 && h.counts, "reset");
	hl_hist_merge(&h, &g);
	hl_hist_downscale(&h, 2);
	EXPECT(&h, 0, -2, 1, 14, 21);
	hl_hist_downscale(&g, 40);
	EXPECT(&g, -38, -1, 15, 21);
	CHECK(g.count == 36, "count %" PRIu64, g.count);
	/* Downscaling an empty histogram only lowers its scale. */
	hl_hist_reset(&g, 3);
	hl_hist_downscale(&g, 2);
	EXPECT_EMPTY(&g, 1);
	hl_hist_free(&h);
	hl_hist_free(&g);
	hl_hist_free(&g); /* idempotent */
	hl_hist_free(NULL);
	CHECK(hl_hist_init(&h, 1, 0) == -EINVAL, "max_size 1");
	hl_hist_free(&h);
}

static void test_add_bucket(void)
{
	struct hl_hist h;

	/*
	 * max_size 4 at scale 3: 0, 1, 2, 3 fit; 4 makes [0, 4] five wide:
	 * one downscale -> [0, 2]: {0,1} -> 0, {2,3} -> 1, 4 -> 2 = 2 2 1.
	 * (scale 3, -1) -> -1 >> 1 = -1 at scale 2: [-1, 2] = 1 2 2 1 fits.
	 * (scale 3, 7) -> 3 at scale 2: [-1, 3] is five wide, downscale:
	 * -1 -> -1, {0, 1} -> 0, {2, 3} -> 1:  scale 1 offset -1 = 1 4 2.
	 */
	CHECK(hl_hist_init(&h, 4, 3) == 0, "init");
	hl_hist_add_bucket(&h, 3, 0, 1);
	hl_hist_add_bucket(&h, 3, 1, 1);
	hl_hist_add_bucket(&h, 3, 2, 1);
	hl_hist_add_bucket(&h, 3, 3, 1);
	EXPECT(&h, 3, 0, 1, 1, 1, 1);
	hl_hist_add_bucket(&h, 3, 4, 1);
	EXPECT(&h, 2, 0, 2, 2, 1);
	hl_hist_add_bucket(&h, 3, -1, 1);
	EXPECT(&h, 2, -1, 1, 2, 2, 1);
	hl_hist_add_bucket(&h, 3, 7, 1);
	EXPECT(&h, 1, -1, 1, 4, 2);
	CHECK(h.count == 7 && h.zero_count == 0, "count %" PRIu64, h.count);
	hl_hist_add_bucket(&h, 3, 7, 0); /* adding nothing changes nothing */
	EXPECT(&h, 1, -1, 1, 4, 2);
	CHECK(h.count == 7, "count %" PRIu64, h.count);

	/*
	 * Odd negative alignment: max_size 2, scale 0, buckets -1 and 2 span 4;
	 * shift 1: -1, 1 still spans 3; shift 2: -1, 0.  Scale -2, offset -1 = 1 1.
	 */
	hl_hist_reset(&h, 0);
	h.max_size = 2; /* the allocation holds 4: using less is fine */
	hl_hist_add_bucket(&h, 0, -1, 1);
	hl_hist_add_bucket(&h, 0, 2, 1);
	EXPECT(&h, -2, -1, 1, 1);
	/* -3 and -2 then -1: shift 1 gives -3 -> -2, -2 -> -1, -1 -> -1 = 1 2. */
	hl_hist_reset(&h, 0);
	hl_hist_add_bucket(&h, 0, -3, 1);
	hl_hist_add_bucket(&h, 0, -2, 1);
	EXPECT(&h, 0, -3, 1, 1);
	hl_hist_add_bucket(&h, 0, -1, 1);
	EXPECT(&h, -1, -2, 1, 2);
	/* Growing to the left: -2 is added before the window [-1, ...]. */
	hl_hist_reset(&h, 0);
	hl_hist_add_bucket(&h, 0, -1, 5);
	hl_hist_add_bucket(&h, 0, -2, 3);
	EXPECT(&h, 0, -2, 3, 5);
	h.max_size = 4;

	/*
	 * An index at a finer scale is shifted down: h at scale 1,
	 * (scale 3, -5): -5 >> 2 = floor(-1.25) = -2;  (3, -4) -> -1;
	 * (3, -9) -> floor(-2.25) = -3.  Offset -3: 1 2 1.
	 */
	hl_hist_reset(&h, 1);
	hl_hist_add_bucket(&h, 3, -5, 2);
	EXPECT(&h, 1, -2, 2);
	hl_hist_add_bucket(&h, 3, -4, 1);
	EXPECT(&h, 1, -2, 2, 1);
	hl_hist_add_bucket(&h, 3, -9, 1);
	EXPECT(&h, 1, -3, 1, 2, 1);
	/* A coarser scale downscales h first: h {5: 1} at scale 3, add (1, 1):
	 * 5 >> 2 = 1, so bucket 1 at scale 1 holds 2. */
	hl_hist_reset(&h, 3);
	hl_hist_add_bucket(&h, 3, 5, 1);
	hl_hist_add_bucket(&h, 1, 1, 1);
	EXPECT(&h, 1, 1, 2);
	/* and an empty h takes the coarser scale too */
	hl_hist_reset(&h, 3);
	hl_hist_add_bucket(&h, 0, -7, 4);
	EXPECT(&h, 0, -7, 4);
	hl_hist_add_zero(&h, 3);
	CHECK(h.count == 7 && h.zero_count == 3, "zero %" PRIu64, h.zero_count);
	hl_hist_free(&h);
}

static void test_merge(void)
{
	struct hl_hist a, b, e;

	/*
	 * a: scale 2 {3: 1, 4: 2}; b: scale 0 {1: 5}.  At scale 0:
	 * 3 >> 2 = 0, 4 >> 2 = 1, so a + b = {0: 1, 1: 2 + 5 = 7}.
	 */
	hl_hist_init(&a, 8, 2);
	hl_hist_init(&b, 8, 0);
	hl_hist_add_bucket(&a, 2, 3, 1);
	hl_hist_add_bucket(&a, 2, 4, 2);
	hl_hist_add_bucket(&b, 0, 1, 5);
	hl_hist_merge(&a, &b);
	EXPECT(&a, 0, 0, 1, 7);
	CHECK(a.count == 8, "count %" PRIu64, a.count);
	/* the other way round: b (scale 0) absorbs a finer histogram */
	hl_hist_reset(&a, 2);
	hl_hist_add_bucket(&a, 2, 3, 1);
	hl_hist_add_bucket(&a, 2, 4, 2);
	hl_hist_merge(&b, &a);
	EXPECT(&b, 0, 0, 1, 7);
	hl_hist_free(&a);
	hl_hist_free(&b);

	/*
	 * The union must fit dst's max_size: dst max 2 at scale 3 {-4: 1},
	 * src scale 3 {5: 1, 6: 1}: [-4, 6] -> shift 1 [-2, 3], shift 2 [-1, 1],
	 * shift 3 [-1, 0] fits.  -4 >> 3 = -1, 5 and 6 >> 3 = 0: scale 0 {-1: 1, 0: 2}.
	 */
	hl_hist_init(&a, 2, 3);
	hl_hist_init(&b, 8, 3);
	hl_hist_add_bucket(&a, 3, -4, 1);
	hl_hist_add_bucket(&b, 3, 5, 1);
	hl_hist_add_bucket(&b, 3, 6, 1);
	hl_hist_merge(&a, &b);
	EXPECT(&a, 0, -1, 1, 2);
	EXPECT(&b, 3, 5, 1, 1); /* src untouched */

	/* Empty merges: an empty src changes nothing, not even the scale. */
	hl_hist_init(&e, 4, -5);
	hl_hist_merge(&a, &e);
	EXPECT(&a, 0, -1, 1, 2);
	CHECK(a.count == 3, "count %" PRIu64, a.count);
	/* empty dst at scale -5 takes src, at the lower scale: 5, 6 >> 8 = 0 */
	hl_hist_merge(&e, &b);
	EXPECT(&e, -5, 0, 2);
	CHECK(e.count == 2, "count %" PRIu64, e.count);
	/* empty dst at scale 1, src scale 3 {5, 6}: 5 >> 2 = 1, 6 >> 2 = 1 */
	hl_hist_reset(&e, 1);
	hl_hist_merge(&e, &b);
	EXPECT(&e, 1, 1, 2);
	/* empty into empty */
	hl_hist_reset(&e, 2);
	hl_hist_reset(&a, 4);
	hl_hist_merge(&e, &a);
	EXPECT_EMPTY(&e, 2);
	CHECK(e.count == 0 && !e.has_min && !e.has_max, "empty");
	/* zero buckets and sums add up */
	hl_hist_reset(&a, 3);
	hl_hist_add_zero(&a, 2);
	a.sum_ns = 10;
	hl_hist_merge(&e, &a);
	CHECK(e.count == 2 && e.zero_count == 2 && e.sum_ns == 10 && e.scale == 2, "zeros");
	hl_hist_merge(&e, &e); /* self-merge doubles */
	CHECK(e.count == 4 && e.zero_count == 4 && e.sum_ns == 20, "self");
	hl_hist_free(&a);
	hl_hist_free(&b);
	hl_hist_free(&e);
}

static void test_min_max(const struct hl_exph_table *t3)
{
	struct hl_hist a, b;

	hl_hist_init(&a, 160, 3);
	hl_hist_init(&b, 160, 3);
	/* recorded values: both known */
	hl_hist_record(&a, t3, 500000000);
	hl_hist_record(&a, t3, 3000000000);
	hl_hist_record(&b, t3, 100000000);
	hl_hist_record(&b, t3, 2000000000);
	CHECK(a.has_min && a.has_max && a.min_ns == 500000000 && a.max_ns == 3000000000, "a");
	CHECK(a.sum_ns == 3500000000 && a.count == 2, "a sum");
	hl_hist_merge(&a, &b);
	CHECK(a.has_min && a.min_ns == 100000000, "min %" PRIu64, a.min_ns);
	CHECK(a.has_max && a.max_ns == 3000000000, "max %" PRIu64, a.max_ns);
	CHECK(a.count == 4 && a.sum_ns == 5600000000, "sum %" PRIu64, a.sum_ns);
	/* src with unknown extremes (buckets only) makes them unknown */
	hl_hist_reset(&b, 3);
	hl_hist_add_bucket(&b, 3, 10, 1);
	hl_hist_merge(&a, &b);
	CHECK(!a.has_min && !a.has_max && a.count == 5, "unknown");
	/* ... and recording into it keeps them unknown */
	hl_hist_record(&a, t3, 1);
	CHECK(!a.has_min && !a.has_max && a.count == 6, "still unknown");
	/* empty dst takes src's */
	hl_hist_reset(&a, 3);
	hl_hist_reset(&b, 3);
	hl_hist_record(&b, t3, 0);
	hl_hist_record(&b, t3, 7);
	hl_hist_merge(&a, &b);
	CHECK(a.has_min && a.has_max && a.min_ns == 0 && a.max_ns == 7 && a.zero_count == 1,
	      "empty dst");
	/* empty src keeps dst's */
	hl_hist_reset(&b, 3);
	hl_hist_merge(&a, &b);
	CHECK(a.has_min && a.has_max && a.min_ns == 0 && a.max_ns == 7, "empty src");
	/* only one of min/max known on the other side */
	hl_hist_reset(&b, 3);
	hl_hist_record(&b, t3, 3);
	b.has_max = false;
	hl_hist_merge(&a, &b);
	CHECK(a.has_min && a.min_ns == 0 && !a.has_max, "half known");
	hl_hist_free(&a);
	hl_hist_free(&b);
}

static void test_quantile(const struct hl_exph_table *t0)
{
	struct hl_hist h;

	/*
	 * Scale 0: 0 ns (zero bucket), 1 s twice (bucket -1 = (0.5, 1]),
	 * 3 s (bucket 1 = (2, 4]).  count 4; rank = max(1, ceil(4q)):
	 * q 0, 0.25 -> rank 1 -> zero -> 0;  q 0.5, 0.75 -> ranks 2, 3 -> 1 s;
	 * q 0.9, 1 -> rank 4 -> bucket 1, upper bound 4 s clamped to max 3 s.
	 */
	hl_hist_init(&h, 160, 0);
	CHECK(hl_hist_quantile(&h, 0.5) == 0, "empty");
	hl_hist_record(&h, t0, 0);
	hl_hist_record(&h, t0, NS);
	hl_hist_record(&h, t0, NS);
	hl_hist_record(&h, t0, 3 * NS);
	EXPECT(&h, 0, -1, 2, 0, 1);
	CHECK(hl_hist_quantile(&h, 0) == 0, "q0 %g", hl_hist_quantile(&h, 0));
	CHECK(hl_hist_quantile(&h, 0.25) == 0, "q.25");
	CHECK(hl_hist_quantile(&h, 0.5) == 1, "q.5 %g", hl_hist_quantile(&h, 0.5));
	CHECK(hl_hist_quantile(&h, 0.75) == 1, "q.75 %g", hl_hist_quantile(&h, 0.75));
	CHECK(hl_hist_quantile(&h, 0.9) == 3, "q.9 %g", hl_hist_quantile(&h, 0.9));
	CHECK(hl_hist_quantile(&h, 1) == 3, "q1 %g", hl_hist_quantile(&h, 1));
	CHECK(hl_hist_quantile(&h, 7) == 3 && hl_hist_quantile(&h, NAN) == 0, "q out of range");
	/* without a known max the bucket's upper bound stands */
	h.has_max = false;
	CHECK(hl_hist_quantile(&h, 1) == 4, "q1 %g", hl_hist_quantile(&h, 1));
	/* 1.5 s alone: bucket 0 = (1, 2], clamped to [1.5, 1.5] */
	hl_hist_reset(&h, 0);
	hl_hist_record(&h, t0, 1500000000);
	CHECK(hl_hist_quantile(&h, 0.5) == 1.5, "1.5 s: %g", hl_hist_quantile(&h, 0.5));
	/* negative scale: bucket 0 at scale -1 is (1, 4] */
	hl_hist_reset(&h, -1);
	hl_hist_add_bucket(&h, -1, 0, 3);
	hl_hist_add_bucket(&h, -1, -2, 1); /* (1/16, 1/4] */
	CHECK(hl_hist_quantile(&h, 0.25) == 0.25, "q.25 %g", hl_hist_quantile(&h, 0.25));
	CHECK(hl_hist_quantile(&h, 0.26) == 4, "q.26 %g", hl_hist_quantile(&h, 0.26));
	hl_hist_free(&h);
}

/*
 * Property: recording values at kernel scale 5 into max_size buckets equals
 * bucketing each value exactly (reference) and shifting to the final scale,
 * and the final scale is the highest one that fits.  Merging two halves
 * kept with other sizes and scales gives the same counts at its own scale.
 */
static void test_record_property(const struct hl_exph_table *t5, const struct hl_exph_table *t2)
{
	enum { N = 5000, MAX = 20 };
	static uint64_t vals[N];
	static int32_t ref[N];
	struct hl_hist h, a, b;
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	uint64_t sum = 0, mn = UINT64_MAX, mx = 0, zeros = 0, *want;
	int i, d, bad = 0;

	rng_state = 7;
	for (i = 0; i < N; i++) {
		/* 10 us .. ~10 ms: ~10 octaves, with some zeros */
		vals[i] = i % 97 == 0 ? 0 : 10000 + rng_next() % 10000000;
		ref[i] = vals[i] ? hl_exph_index_ref(5, vals[i]) : 0;
	}
	hl_hist_init(&h, MAX, 5);
	hl_hist_init(&a, 64, 5);
	hl_hist_init(&b, 7, 5);
	for (i = 0; i < N; i++) {
		hl_hist_record(&h, t5, vals[i]);
		/* the halves: a at kernel scale 5, b recorded through the scale-2 table */
		hl_hist_record(i % 2 ? &b : &a, i % 2 ? t2 : t5, vals[i]);
		sum += vals[i];
		mn = vals[i] < mn ? vals[i] : mn;
		mx = vals[i] > mx ? vals[i] : mx;
		if (!vals[i]) {
			zeros++;
			continue;
		}
		lo = ref[i] < lo ? ref[i] : lo;
		hi = ref[i] > hi ? ref[i] : hi;
	}
	d = 0;
	while ((hi >> d) - (lo >> d) + 1 > MAX)
		d++;
	CHECK(h.scale == 5 - d, "final scale %d, want %d", h.scale, 5 - d);
	CHECK(h.count == N && h.zero_count == zeros && h.sum_ns == sum && h.has_min &&
		      h.min_ns == mn && h.has_max && h.max_ns == mx,
	      "count/sum/min/max");
	hl_hist_merge(&a, &b);
	CHECK(a.count == N && a.zero_count == zeros && a.sum_ns == sum && a.min_ns == mn &&
		      a.max_ns == mx && a.scale <= 2,
	      "merged count/sum/min/max, scale %d", a.scale);
	for (int pass = 0; pass < 2; pass++) {
		const struct hl_hist *x = pass ? &a : &h;
		int sh = 5 - x->scale;
		int64_t base = lo >> sh;

		want = calloc((size_t)((hi >> sh) - base + 1), sizeof(*want));
		for (i = 0; i < N; i++)
			if (vals[i])
				want[(ref[i] >> sh) - base]++;
		expect_hist(__LINE__, x, x->scale, (int32_t)base, want,
			    (uint32_t)((hi >> sh) - base + 1));
		bad += x->offset != base;
		free(want);
	}
	CHECK(!bad, "offsets");
	hl_hist_free(&h);
	hl_hist_free(&a);
	hl_hist_free(&b);
}

/* ---- plain integers (the traffic probe's bytes) -------------------------------------- */

static void test_index_int(void)
{
	/* v plain == v * 1e9 ns on the seconds grid: the reference decides. */
	for (int s = 0; s <= HL_EXPH_MAX_SCALE; s++) {
		int bad = 0;

		for (uint64_t v = 1; v <= 20000 && bad < 5; v++) {
			int32_t got = hl_exph_index_int(s, v),
				want = hl_exph_index_ref(s, v * 1000000000ULL);

			if (got != want) {
				bad++;
				CHECK(0, "scale %d v %llu: %d, want %d", s, (unsigned long long)v,
				      got, want);
			}
		}
		/* around powers of two and large values */
		for (int k = 1; k < 34; k++) {
			for (int d = -1; d <= 1; d++) {
				uint64_t v = (1ULL << k) + (uint64_t)(int64_t)d;
				int32_t got = hl_exph_index_int(s, v);
				int32_t want = hl_exph_index_ref(s, v * 1000000000ULL);

				CHECK(got == want, "scale %d v 2^%d%+d: %d, want %d", s, k, d, got,
				      want);
			}
		}
		CHECK(hl_exph_index_int(s, 1) == -1, "scale %d: 1 is in bucket -1", s);
		CHECK(hl_exph_index_int(s, 2) == (1 << s) - 1, "scale %d: 2 -> 2^s - 1", s);
		CHECK(hl_exph_index_int(s, 0) == INT32_MIN, "scale %d: 0", s);
	}
	/* The double fast path against big integers: random values of every
	 * magnitude, and the integers next to the bucket bounds. */
	{
		uint64_t x = 88172645463325252ULL;
		int bad = 0;

		for (int n = 0; n < 200000 && bad < 5; n++) {
			int s = n % (HL_EXPH_MAX_SCALE + 1);
			uint64_t v;

			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			v = x >> (x % 64);
			if (!v)
				continue;
			if (hl_exph_index_int(s, v) != hl_exph_index_int_exact(s, v)) {
				bad++;
				CHECK(0, "scale %d v %llu: fast %d, exact %d", s,
				      (unsigned long long)v, hl_exph_index_int(s, v),
				      hl_exph_index_int_exact(s, v));
			}
		}
		for (int s = 0; s <= HL_EXPH_MAX_SCALE && !bad; s++)
			for (int32_t i = 0; i < 40 << s && !bad; i++) {
				double b = exp2((double)(i + 1) / (1 << s));

				for (int64_t d = -2; d <= 2; d++) {
					uint64_t v = (uint64_t)llround(b) + (uint64_t)d;

					if (v && hl_exph_index_int(s, v) !=
							 hl_exph_index_int_exact(s, v)) {
						bad++;
						CHECK(0, "scale %d v %llu near bound %d", s,
						      (unsigned long long)v, i);
					}
				}
			}
		CHECK(!bad, "fast and exact integer index agree");
	}
	/* Beyond what the ns reference can take: check the bucket's bounds. */
	for (uint64_t v = 1ULL << 40; v; v = v < UINT64_MAX / 3 ? v * 3 + 7 : 0) {
		for (int s = 0; s <= 3; s++) {
			int32_t i = hl_exph_index_int(s, v);
			double lo, hi;

			hl_exph_bounds(s, i, &lo, &hi);
			CHECK((double)v >= lo * (1 - 1e-12) && (double)v <= hi * (1 + 1e-12),
			      "scale %d v %llu: bucket %d (%g, %g]", s, (unsigned long long)v, i,
			      lo, hi);
		}
	}
	CHECK(hl_exph_index_int(-1, 5) == INT32_MIN && hl_exph_index_int(6, 5) == INT32_MIN,
	      "bad scales");
}

/* ---- histograms of plain values ------------------------------------------------------ */

static void fill_raw(struct hl_hist *h)
{
	static const uint64_t vals[] = {0, 0, 1500, 1500, 3000, 64000};

	/* what the probe records: exact bucket, count, sum, min and max */
	hl_hist_init(h, 160, 3);
	h->raw_values = true;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		hl_hist_record_int(h, 3, vals[i]);
}

/* Their OTLP/JSON form (plain numbers, not seconds) is tested in test_otlp.c. */
static void test_raw_hist(void)
{
	struct hl_hist h;

	fill_raw(&h);
	CHECK(h.count == 6 && h.zero_count == 2 && h.sum_ns == 70000 && h.has_min &&
		      h.min_ns == 0 && h.has_max && h.max_ns == 64000 && h.scale == 3,
	      "recorded: count %llu zeros %llu sum %llu min %llu max %llu scale %d",
	      (unsigned long long)h.count, (unsigned long long)h.zero_count,
	      (unsigned long long)h.sum_ns, (unsigned long long)h.min_ns,
	      (unsigned long long)h.max_ns, h.scale);
	/* the median is the 3rd value: 1500's bucket (84), upper bound 2^(85/8) */
	CHECK(fabs(hl_hist_quantile(&h, 0.5) - exp2(85.0 / 8)) < 1e-6, "p50 %g",
	      hl_hist_quantile(&h, 0.5));
	CHECK(hl_hist_quantile(&h, 1.0) == 64000, "max %g", hl_hist_quantile(&h, 1.0));
	CHECK(hl_hist_value(&h, 5) == 5, "plain value");
	hl_hist_reset(&h, 3);
	CHECK(h.raw_values, "reset keeps raw_values");
	hl_hist_free(&h);
}

int main(void)
{
	/* Random values per scale: the reference costs grow with 2^scale. */
	static const uint64_t n_random[HL_EXPH_MAX_SCALE + 1] = {1000000, 1000000, 1000000,
								 1000000, 1000000, 1000000};
	struct hl_exph_table *tables = calloc(HL_EXPH_MAX_SCALE + 2, sizeof(*tables));
	double t0 = now_s(), t;
	int s;

	if (!tables)
		return 1;
	for (s = 0; s <= HL_EXPH_MAX_SCALE; s++)
		CHECK(hl_exph_table_init(&tables[s], s) == 0, "table %d", s);
	t = now_s();
	printf("tables built in %.3f s\n", t - t0);
	for (s = 0; s <= HL_EXPH_MAX_SCALE; s++)
		test_table(&tables[s], s);
	test_hand_indexes(tables);
	test_bounds();
	for (s = 0; s <= HL_EXPH_MAX_SCALE; s++)
		test_ref_vs_float(s);
	printf("table checks in %.3f s\n", now_s() - t);

	test_downscale();
	test_add_bucket();
	test_merge();
	test_min_max(&tables[3]);
	test_quantile(&tables[0]);
	test_record_property(&tables[5], &tables[2]);
	test_index_int();
	test_raw_hist();

	for (s = 0; s <= HL_EXPH_MAX_SCALE; s++)
		printf("scale %d: table == reference sweep in %.2f s\n", s,
		       sweep_scale(&tables[s], s, n_random[s]));
	printf("total %.2f s\n", now_s() - t0);
	free(tables);
	return UNIT_DONE();
}
