/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Exact OpenTelemetry exponential-histogram bucketing of integer
 * nanoseconds on the *seconds* grid, shared by the BPF programs and user
 * space (the same code is unit-tested in user space).
 *
 * At scale S the OTel bucket index of a positive value x (seconds) is
 *     i = ceil(2^S * log2(x)) - 1,  bucket i holds (base^i, base^(i+1)].
 * With x = v * 1e-9 and v an integer, bucket i holds exactly the integers
 *     T(i) < v <= T(i+1),  where T(j) = floor(1e9 * 2^(j / 2^S)).
 * User space computes T(j) exactly (see agent/lib/hist.c) and hands the
 * kernel two tables:
 *     bounds[p]       = T(idx_min + p)   (saturated at UINT64_MAX)
 *     octave_first[k] = p of the bucket that holds 2^k ns, k = 0..63
 * where idx_min is the bucket index of v = 1 ns.  The kernel then needs a
 * 64-bit log2 and S+1 comparisons: no division, no floating point.
 *
 * Only fixed-width types: this header is included by BPF code (vmlinux.h
 * provides __u64/__u32) and by user space (<linux/types.h>).
 */
#ifndef HOSTLAT_EXPHIST_H
#define HOSTLAT_EXPHIST_H

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* Largest kernel scale the agent accepts (config: histogram_scale). */
#define HL_EXPH_MAX_SCALE 5
/*
 * Table positions: 64 octaves of at most 2^MAX_SCALE buckets, one bucket
 * below 1 ns's, and room for the last binary-search probe (2^(S+1) - 1
 * past the octave's first position).
 */
#define HL_EXPH_TABLE_SIZE (64 * (1 << HL_EXPH_MAX_SCALE) + 2 * (1 << HL_EXPH_MAX_SCALE) + 2)

/* floor(log2(v)) for v > 0; branch-light, verifier friendly. */
static __always_inline __u32 hl_log2_u64(__u64 v)
{
	__u32 r = 0, s;

	s = (v > 0xFFFFFFFFULL) << 5;
	v >>= s;
	r |= s;
	s = (v > 0xFFFF) << 4;
	v >>= s;
	r |= s;
	s = (v > 0xFF) << 3;
	v >>= s;
	r |= s;
	s = (v > 0xF) << 2;
	v >>= s;
	r |= s;
	s = (v > 0x3) << 1;
	v >>= s;
	r |= s;
	r |= (__u32)(v >> 1);
	return r;
}

/*
 * Table position p of the bucket holding v (v >= 1); the OTel bucket index
 * is idx_min + p.  bounds must be monotonic (non-decreasing) and padded as
 * described above.  scale <= HL_EXPH_MAX_SCALE.
 */
static __always_inline __u32 hl_exph_pos(const volatile __u64 *bounds,
					 const volatile __u32 *octave_first, __u32 scale, __u64 v)
{
	__u32 k = hl_log2_u64(v), p;
	int step_log;

	/*
	 * clang proves k <= 63 and would drop the mask below, but the 6.1
	 * verifier cannot follow the shifts and ORs of hl_log2_u64 and needs
	 * the mask to bound the index: hide k's value from the compiler.
	 */
	__asm__ __volatile__("" : "+r"(k));
	p = octave_first[k & 63];

	/* Invariant: bounds[p] < v.  Find the largest such p. */
	for (step_log = HL_EXPH_MAX_SCALE; step_log >= 0; step_log--) {
		__u32 q;

		if ((__u32)step_log > scale)
			continue;
		q = p + (1U << step_log);
		if (q >= HL_EXPH_TABLE_SIZE)
			break;
		if (bounds[q] < v)
			p = q;
	}
	return p;
}

#endif /* HOSTLAT_EXPHIST_H */
