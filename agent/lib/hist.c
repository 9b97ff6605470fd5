/* SPDX-License-Identifier: MIT */
/*
 * Exponential histograms in user space (see hist.h and bpf/exphist.h).
 *
 * Exactness: every boundary T(j) = floor(1e9 * 2^(j / 2^s)) handed to the
 * kernel, and the reference index hl_exph_index_ref(), are decided with
 * exact integer arithmetic.  Raising both sides to the power 2^s removes
 * the root:
 *     t <= T(j)  <=>  t^(2^s) <= 1e9^(2^s) * 2^j          (j >= 0)
 *                <=>  t^(2^s) * 2^-j <= 1e9^(2^s)          (j < 0)
 * and v ns lies in bucket i  <=>  T(i) < v <= T(i + 1).  Floating point is
 * only used for first guesses, which the exact comparisons then correct.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"

#define NS_PER_S 1000000000ULL

/* ---- a small unsigned big integer ------------------------------------------ */

/*
 * Largest operands: (2^64)^(2^5) = 2^2048 on the value side, and
 * 1e9^(2^5) * 2^j < 2^957 * 2^1160 on the boundary side; 80 limbs of 32
 * bits (2560 bits) leave a margin.  Exceeding it is a bug: abort.
 */
#define BN_LIMBS 80

struct bn {
	unsigned int n; /* limbs in use; d[n - 1] != 0 unless n == 0 */
	uint32_t d[BN_LIMBS];
};

static void bn_overflow(void)
{
	fprintf(stderr, "hist: big-integer overflow (bug)\n");
	abort();
}

static void bn_trim(struct bn *a)
{
	while (a->n && !a->d[a->n - 1])
		a->n--;
}

static void bn_set_u64(struct bn *a, uint64_t v)
{
	a->d[0] = (uint32_t)v;
	a->d[1] = (uint32_t)(v >> 32);
	a->n = 2;
	bn_trim(a);
}

/* r = a * b; r must not alias a or b. */
static void bn_mul(struct bn *r, const struct bn *a, const struct bn *b)
{
	unsigned int i, j, n = a->n + b->n;

	if (!a->n || !b->n) {
		r->n = 0;
		return;
	}
	if (n > BN_LIMBS)
		bn_overflow();
	memset(r->d, 0, n * sizeof(r->d[0]));
	for (i = 0; i < a->n; i++) {
		uint64_t carry = 0, ai = a->d[i];

		/* (2^32-1)^2 + 2 * (2^32-1) = 2^64 - 1: no overflow */
		for (j = 0; j < b->n; j++) {
			uint64_t t = ai * b->d[j] + r->d[i + j] + carry;

			r->d[i + j] = (uint32_t)t;
			carry = t >> 32;
		}
		r->d[i + b->n] = (uint32_t)carry;
	}
	r->n = n;
	bn_trim(r);
}

/* r = v^(2^k) by k squarings. */
static void bn_pow2k(struct bn *r, uint64_t v, int k)
{
	struct bn t;

	bn_set_u64(r, v);
	while (k-- > 0) {
		bn_mul(&t, r, r);
		*r = t;
	}
}

/* a <<= bits */
static void bn_shl(struct bn *a, unsigned int bits)
{
	unsigned int limbs = bits / 32, sh = bits % 32, n = a->n, i;

	if (!n || !bits)
		return;
	if (n + limbs + 1 > BN_LIMBS)
		bn_overflow();
	a->d[n + limbs] = 0;
	/* Top down: limb i + limbs (+ 1) is never a limb still to be read. */
	for (i = n; i-- > 0;) {
		uint64_t w = (uint64_t)a->d[i] << sh;

		a->d[i + limbs + 1] |= (uint32_t)(w >> 32);
		a->d[i + limbs] = (uint32_t)w;
	}
	memset(a->d, 0, limbs * sizeof(a->d[0]));
	a->n = n + limbs + 1;
	bn_trim(a);
}

static int bn_cmp(const struct bn *a, const struct bn *b)
{
	unsigned int i;

	if (a->n != b->n)
		return a->n < b->n ? -1 : 1;
	for (i = a->n; i-- > 0;)
		if (a->d[i] != b->d[i])
			return a->d[i] < b->d[i] ? -1 : 1;
	return 0;
}

/*
 * Sign of  t^(2^s) - 1e9^(2^s) * 2^j,  i.e. of  t - 1e9 * 2^(j / 2^s),
 * given tp = t^(2^s) and gp = 1e9^(2^s): the power of two goes to
 * whichever side keeps it a left shift.
 */
static int cmp_scaled(const struct bn *tp, const struct bn *gp, int32_t j)
{
	struct bn x;

	if (j >= 0) {
		x = *gp;
		bn_shl(&x, (unsigned int)j);
		return bn_cmp(tp, &x);
	}
	x = *tp;
	bn_shl(&x, (unsigned int)-(int64_t)j);
	return bn_cmp(&x, gp);
}

/* ---- the reference index ---------------------------------------------------- */

int32_t hl_exph_index_ref(int scale, uint64_t v_ns)
{
	struct bn vp, gp;
	double est;
	int32_t i;

	if (!v_ns || scale < 0 || scale > HL_EXPH_MAX_SCALE)
		return INT32_MIN;
	bn_pow2k(&vp, v_ns, scale);
	bn_pow2k(&gp, NS_PER_S, scale);
	/* First guess, then fix until  gp * 2^i < vp <= gp * 2^(i + 1). */
	est = ldexp(log2((double)v_ns) - log2((double)NS_PER_S), scale);
	i = (int32_t)ceil(est) - 1;
	while (cmp_scaled(&vp, &gp, i) <= 0)
		i--;
	while (cmp_scaled(&vp, &gp, i + 1) > 0)
		i++;
	return i;
}

int32_t hl_exph_index_int_exact(int scale, uint64_t v)
{
	struct bn vp;
	unsigned int bits;
	bool pow2 = true;

	if (!v || scale < 0 || scale > HL_EXPH_MAX_SCALE)
		return INT32_MIN;
	/* Bucket i holds v  <=>  2^i < v^(2^s) <= 2^(i+1). */
	bn_pow2k(&vp, v, scale);
	bits = 32 * (vp.n - 1);
	for (uint32_t top = vp.d[vp.n - 1]; top; top >>= 1)
		bits++;
	for (unsigned int k = 0; k + 1 < vp.n && pow2; k++)
		pow2 = vp.d[k] == 0;
	pow2 = pow2 && !(vp.d[vp.n - 1] & (vp.d[vp.n - 1] - 1));
	return (int32_t)bits - 1 - (pow2 ? 1 : 0);
}

/*
 * The same index without big integers for nearly every v (the traffic
 * probe indexes two values per sample of every run): i = ceil(2^s *
 * log2(v)) - 1. A power of two is exact (2^(k 2^s) lies on a bucket's upper
 * bound); otherwise the double estimate is off by less than 1e-12 (v
 * rounded to 53 bits, log2 within an ulp, times 2^s <= 32), so it decides
 * whenever it is more than 1e-9 from an integer, and the exact
 * computation decides the rest.
 */
int32_t hl_exph_index_int(int scale, uint64_t v)
{
	double est, r;

	if (!v || scale < 0 || scale > HL_EXPH_MAX_SCALE)
		return INT32_MIN;
	if (!(v & (v - 1)))
		return (int32_t)((63 - __builtin_clzll(v)) << scale) - 1;
	est = ldexp(log2((double)v), scale);
	r = nearbyint(est);
	if (fabs(est - r) < 1e-9)
		return hl_exph_index_int_exact(scale, v);
	return (int32_t)ceil(est) - 1;
}

/* ---- the kernel's table --------------------------------------------------------- */

/* t <= T(j)?  (gp = 1e9^(2^s)) */
static int at_most_T(int scale, const struct bn *gp, int32_t j, uint64_t t)
{
	struct bn tp;

	bn_pow2k(&tp, t, scale);
	return cmp_scaled(&tp, gp, j) <= 0;
}

/* Exact T(j) = floor(1e9 * 2^(j / 2^s)), saturated at UINT64_MAX. */
static uint64_t exact_T(int scale, const struct bn *gp, int32_t j)
{
	long double e = 1e9L * exp2l((long double)j / (long double)(1 << scale));
	uint64_t lo, hi, step = 1;

	/* T(j) >= UINT64_MAX can only happen near 2^64: decide it exactly. */
	if (e >= 0x1p63L && at_most_T(scale, gp, j, UINT64_MAX))
		return UINT64_MAX;
	/* Now T(j) < UINT64_MAX.  Bracket T(j) in [lo, hi) around the guess. */
	if (e >= 0x1p64L)
		lo = UINT64_MAX - 1;
	else if (e >= 1)
		lo = (uint64_t)e;
	else
		lo = 0;
	if (lo == UINT64_MAX)
		lo--;
	if (at_most_T(scale, gp, j, lo)) {
		for (;;) {
			hi = UINT64_MAX - lo > step ? lo + step : UINT64_MAX;
			if (!at_most_T(scale, gp, j, hi))
				break;
			lo = hi;
			step *= 2;
		}
	} else {
		hi = lo;
		for (;;) { /* 0 <= T(j) always holds, so this ends */
			lo = hi > step ? hi - step : 0;
			if (at_most_T(scale, gp, j, lo))
				break;
			hi = lo;
			step *= 2;
		}
	}
	/* Invariant: lo <= T(j) < hi. */
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (at_most_T(scale, gp, j, mid))
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

int hl_exph_table_init(struct hl_exph_table *t, int scale)
{
	struct bn gp;
	int32_t i;
	uint32_t p, k;

	if (scale < 0 || scale > HL_EXPH_MAX_SCALE)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	t->scale = scale;
	bn_pow2k(&gp, NS_PER_S, scale);

	/* idx_min: the bucket of 1 ns, T(i) < 1 <= T(i + 1). */
	i = (int32_t)ceill(ldexpl(log2l(1e-9L), scale)) - 1;
	while (exact_T(scale, &gp, i) >= 1)
		i--;
	while (exact_T(scale, &gp, i + 1) < 1)
		i++;
	t->idx_min = i;

	for (p = 0; p < HL_EXPH_TABLE_SIZE; p++) {
		if (p && t->bounds[p - 1] == UINT64_MAX)
			t->bounds[p] = UINT64_MAX; /* T is non-decreasing */
		else
			t->bounds[p] = exact_T(scale, &gp, t->idx_min + (int32_t)p);
		if (p && t->bounds[p] < t->bounds[p - 1])
			return -ERANGE; /* cannot happen */
	}

	/* octave_first[k]: the largest p with bounds[p] < 2^k. */
	p = 0;
	for (k = 0; k < 64; k++) {
		uint64_t v = 1ULL << k;

		while (p + 1 < HL_EXPH_TABLE_SIZE && t->bounds[p + 1] < v)
			p++;
		if (p + 1 >= HL_EXPH_TABLE_SIZE)
			return -ERANGE; /* cannot happen: the table ends saturated */
		t->octave_first[k] = p;
	}
	return 0;
}

int32_t hl_exph_index(const struct hl_exph_table *t, uint64_t v_ns)
{
	if (!v_ns)
		return INT32_MIN;
	return t->idx_min + (int32_t)hl_exph_pos(t->bounds, t->octave_first, (__u32)t->scale, v_ns);
}

/* base^index = 2^(index / 2^scale) as a double, for any scale. */
static double exph_power(int scale, int64_t index)
{
	double r;

	if (scale <= 0) {
		/* index * 2^-scale, clamped far beyond the double range */
		int64_t e = index > 0 ? 4096 : index < 0 ? -4096 : 0;

		if (-scale <= 30)
			e = index * ((int64_t)1 << -scale);
		if (e > 4096)
			e = 4096;
		if (e < -4096)
			e = -4096;
		r = ldexp(1.0, (int)e);
	} else {
		int64_t n = (int64_t)1 << scale;
		int64_t q = index >= 0 ? index / n : -((-index + n - 1) / n);
		int64_t rem = index - q * n; /* 0 <= rem < n */

		if (q > 4096)
			q = 4096;
		if (q < -4096)
			q = -4096;
		r = ldexp(exp2((double)rem / (double)n), (int)q);
	}
	return isinf(r) ? DBL_MAX : r;
}

void hl_exph_bounds(int scale, int32_t index, double *lo, double *hi)
{
	*lo = exph_power(scale, index);
	*hi = exph_power(scale, (int64_t)index + 1);
}

/* ---- struct hl_hist ------------------------------------------------------------ */

/* floor(x / 2^d): an arithmetic shift that does not rely on the compiler. */
static int64_t floor_shift(int64_t x, int d)
{
	if (d <= 0)
		return x;
	if (d >= 63)
		return x < 0 ? -1 : 0;
	return x >= 0 ? x >> d : ~(~x >> d);
}

/* The smallest d >= 0 such that [lo, hi] shifted by d spans <= max buckets. */
static int fit_shift(int64_t lo, int64_t hi, uint32_t max)
{
	int d = 0;

	while (floor_shift(hi, d) - floor_shift(lo, d) + 1 > (int64_t)max)
		d++;
	return d;
}

int hl_hist_init(struct hl_hist *h, uint32_t max_size, int scale)
{
	memset(h, 0, sizeof(*h));
	if (max_size < 2)
		return -EINVAL;
	h->counts = calloc(max_size, sizeof(*h->counts));
	if (!h->counts)
		return -ENOMEM;
	h->max_size = max_size;
	h->scale = scale;
	return 0;
}

void hl_hist_free(struct hl_hist *h)
{
	if (!h)
		return;
	free(h->counts);
	memset(h, 0, sizeof(*h));
}

void hl_hist_reset(struct hl_hist *h, int scale)
{
	uint64_t *counts = h->counts;
	uint32_t max_size = h->max_size;
	bool raw = h->raw_values;

	if (counts)
		memset(counts, 0, max_size * sizeof(*counts));
	memset(h, 0, sizeof(*h));
	h->counts = counts;
	h->max_size = max_size;
	h->scale = scale;
	h->raw_values = raw;
}

void hl_hist_downscale(struct hl_hist *h, int d)
{
	int64_t base;
	uint32_t k;

	if (d <= 0)
		return;
	h->scale -= d;
	if (!h->len) {
		h->offset = 0;
		return;
	}
	base = floor_shift(h->offset, d);
	/* New positions never exceed old ones: one ascending pass in place. */
	for (k = 0; k < h->len; k++) {
		uint64_t c = h->counts[k];

		if (!c)
			continue;
		h->counts[k] = 0;
		h->counts[floor_shift((int64_t)h->offset + k, d) - base] += c;
	}
	h->len = (uint32_t)(floor_shift((int64_t)h->offset + h->len - 1, d) - base + 1);
	h->offset = (int32_t)base;
}

/* Add n to bucket idx at h->scale, downscaling h first if it would not fit. */
static void hist_insert(struct hl_hist *h, int64_t idx, uint64_t n)
{
	int64_t lo, hi, end;
	int d;

	if (!n)
		return;
	if (!h->len) {
		h->offset = (int32_t)idx;
		h->len = 1;
		h->counts[0] = n;
		return;
	}
	end = (int64_t)h->offset + h->len - 1;
	lo = idx < h->offset ? idx : h->offset;
	hi = idx > end ? idx : end;
	d = fit_shift(lo, hi, h->max_size);
	if (d) {
		hl_hist_downscale(h, d);
		idx = floor_shift(idx, d);
	}
	if (idx < h->offset) {
		uint32_t grow = (uint32_t)(h->offset - idx);

		memmove(h->counts + grow, h->counts, h->len * sizeof(*h->counts));
		memset(h->counts, 0, grow * sizeof(*h->counts));
		h->len += grow;
		h->offset = (int32_t)idx;
	} else if (idx - h->offset >= h->len) {
		/* counts[len..max_size) are kept zero */
		h->len = (uint32_t)(idx - h->offset + 1);
	}
	h->counts[idx - h->offset] += n;
}

void hl_hist_add_bucket(struct hl_hist *h, int scale, int32_t index, uint64_t n)
{
	if (!n)
		return;
	if (scale < h->scale)
		hl_hist_downscale(h, h->scale - scale);
	hist_insert(h, floor_shift(index, scale - h->scale), n);
	h->count += n;
}

void hl_hist_add_zero(struct hl_hist *h, uint64_t n)
{
	h->zero_count += n;
	h->count += n;
}

void hl_hist_record_at(struct hl_hist *h, int scale, int32_t index, uint64_t v)
{
	bool first = h->count == 0;

	if (v)
		hl_hist_add_bucket(h, scale, index, 1);
	else
		hl_hist_add_zero(h, 1);
	h->sum_ns += v;
	/* Extremes stay unknown once unknown (values were added without them). */
	if (first) {
		h->min_ns = h->max_ns = v;
		h->has_min = h->has_max = true;
		return;
	}
	if (h->has_min && v < h->min_ns)
		h->min_ns = v;
	if (h->has_max && v > h->max_ns)
		h->max_ns = v;
}

void hl_hist_record(struct hl_hist *h, const struct hl_exph_table *t, uint64_t v_ns)
{
	hl_hist_record_at(h, t->scale, hl_exph_index(t, v_ns), v_ns);
}

void hl_hist_record_int(struct hl_hist *h, int scale, uint64_t v)
{
	hl_hist_record_at(h, scale, hl_exph_index_int(scale, v), v);
}

void hl_hist_merge(struct hl_hist *dst, const struct hl_hist *src)
{
	bool dst_empty = dst->count == 0;
	int s;
	uint32_t k;

	if (!src->count)
		return;
	if (src == dst) {
		for (k = 0; k < dst->len; k++)
			dst->counts[k] *= 2;
		dst->count *= 2;
		dst->zero_count *= 2;
		dst->sum_ns *= 2;
		return;
	}
	s = src->scale < dst->scale ? src->scale : dst->scale;
	hl_hist_downscale(dst, dst->scale - s);
	if (src->len) {
		int sd = src->scale - s;
		int64_t lo = floor_shift(src->offset, sd);
		int64_t hi = floor_shift((int64_t)src->offset + src->len - 1, sd);

		if (dst->len) {
			int64_t end = (int64_t)dst->offset + dst->len - 1;

			lo = dst->offset < lo ? dst->offset : lo;
			hi = end > hi ? end : hi;
		}
		hl_hist_downscale(dst, fit_shift(lo, hi, dst->max_size));
		/* The union fits now: hist_insert will not downscale again. */
		sd = src->scale - dst->scale;
		for (k = 0; k < src->len; k++)
			hist_insert(dst, floor_shift((int64_t)src->offset + k, sd), src->counts[k]);
	}
	dst->count += src->count;
	dst->zero_count += src->zero_count;
	dst->sum_ns += src->sum_ns;
	if (dst_empty) {
		dst->min_ns = src->min_ns;
		dst->max_ns = src->max_ns;
		dst->has_min = src->has_min;
		dst->has_max = src->has_max;
		return;
	}
	if (dst->has_min && src->has_min) {
		if (src->min_ns < dst->min_ns)
			dst->min_ns = src->min_ns;
	} else {
		dst->has_min = false;
	}
	if (dst->has_max && src->has_max) {
		if (src->max_ns > dst->max_ns)
			dst->max_ns = src->max_ns;
	} else {
		dst->has_max = false;
	}
}

static double ns_to_s(uint64_t ns)
{
	return (double)ns * 1e-9;
}

double hl_hist_value(const struct hl_hist *h, uint64_t v)
{
	return h->raw_values ? (double)v : ns_to_s(v);
}

double hl_hist_quantile(const struct hl_hist *h, double q)
{
	uint64_t rank, acc;
	double r, lo, hi;
	uint32_t k;

	if (!h->count)
		return 0;
	if (!(q > 0)) /* also NaN */
		q = 0;
	if (q > 1)
		q = 1;
	r = ceil(q * (double)h->count);
	if (r < 1)
		rank = 1;
	else if (r >= (double)h->count)
		rank = h->count;
	else
		rank = (uint64_t)r;
	if (rank <= h->zero_count)
		return 0;
	acc = h->zero_count;
	for (k = 0; k < h->len; k++) {
		acc += h->counts[k];
		if (acc >= rank)
			break;
	}
	if (k == h->len) { /* count larger than its buckets: inconsistent */
		if (h->has_max)
			return hl_hist_value(h, h->max_ns);
		if (!h->len)
			return 0;
		k = h->len - 1;
	}
	hl_exph_bounds(h->scale, h->offset + (int32_t)k, &lo, &hi);
	if (h->has_max && hi > hl_hist_value(h, h->max_ns))
		hi = hl_hist_value(h, h->max_ns);
	if (h->has_min && hi < hl_hist_value(h, h->min_ns))
		hi = hl_hist_value(h, h->min_ns);
	return hi;
}
