/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Duration histograms in the kernel for the probes: per series (struct
 * hl_series_key) a per-CPU running total (struct hl_series_val) and one
 * per-CPU counter per bucket of the OTel seconds grid (exphist.h). User
 * space (agent/series.c) reads the maps every interval and never deletes.
 * Two layouts: hash maps `series` and `hist` when series carry group-by
 * labels (interface, cgroup), or, when they are only small ids, the dense
 * per-CPU array `dense` (hostlat.h), about twice as cheap per sample.
 *
 * Include after vmlinux.h, bpf_helpers.h, hostlat.h, exphist.h and
 * maphelp.h. It defines the maps `hist`, `series` and `dense` and the
 * bucketing rodata, which user space fills before load and sizes with
 * bpf_map__set_max_entries.
 */
#ifndef HOSTLAT_LATHIST_H
#define HOSTLAT_LATHIST_H

const volatile __u32 hist_scale = 3;
const volatile __u64 exph_bounds[HL_EXPH_TABLE_SIZE];
const volatile __u32 exph_octave_first[64];

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, struct hl_hist_key);
	__type(value, __u64);
	__uint(max_entries, 4096); /* set by user space before load */
} hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, struct hl_series_key);
	__type(value, struct hl_series_val);
	__uint(max_entries, 64); /* set by user space before load */
} series SEC(".maps");

/*
 * Dense layout (hostlat.h): elements per series id in `dense`, 0 when the
 * probe uses the hash maps above. Set by user space, which then sizes
 * `dense` to ids x stride (and the hash maps to 1), or `dense` to 1.
 */
const volatile __u32 dense_stride = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_series_val);
	__uint(max_entries, 1); /* set by user space before load */
} dense SEC(".maps");

/* Sum, min and max of a series after one sample v (first: its first here). */
static __always_inline void hl_series_note(struct hl_series_val *sv, __u64 v, bool first)
{
	sv->sum_ns += v;
	if (first || v < sv->min_ns)
		sv->min_ns = v;
	if (v > sv->max_ns)
		sv->max_ns = v;
}

/*
 * Dense path: two array lookups (inlined by the verifier on recent
 * kernels) into a few adjacent cache lines, instead of two hash lookups.
 */
static __always_inline int hl_dense_add(__u32 id, __u64 v)
{
	__u32 i = id * dense_stride, pos;
	struct hl_series_val *sv, *b;
	bool first;

	sv = bpf_map_lookup_elem(&dense, &i);
	if (!sv)
		return -1;
	/* Every CPU's copy starts at zero: the first sample here sets min. */
	first = !sv->zero && !sv->max_ns;
	if (v) {
		pos = hl_exph_pos(exph_bounds, exph_octave_first, hist_scale, v);
		if (pos / HL_DENSE_SLOTS + 1 >= dense_stride)
			return -1;
		i += 1 + pos / HL_DENSE_SLOTS;
		b = bpf_map_lookup_elem(&dense, &i);
		if (!b)
			return -1;
		((__u64 *)b)[pos % HL_DENSE_SLOTS]++;
	} else {
		sv->zero++;
	}
	hl_series_note(sv, v, first);
	return 0;
}

/*
 * Add one sample of v ns to the series skey (its pad fields zero; only
 * skey->stage in the dense layout). Returns 0, or -1 when a map is full
 * (the sample is lost).
 */
static __always_inline int hl_lathist_add(const struct hl_series_key *skey, __u64 v)
{
	struct hl_series_val init = {}, *sv;
	struct hl_hist_key hkey = {};
	__u64 zero = 0, *cnt;
	bool first;

	if (dense_stride)
		return hl_dense_add(skey->stage, v);
	sv = hl_lookup_or_init(&series, skey, &init);
	if (!sv)
		return -1;
	/*
	 * An entry created by another CPU starts at zero on this one: the
	 * first sample here (no zeros, max 0 so far) sets min.
	 */
	first = !sv->zero && !sv->max_ns;
	if (v) {
		hkey.cgroup = skey->cgroup;
		hkey.ifindex = skey->ifindex;
		hkey.netns = skey->netns;
		hkey.stage = skey->stage;
		hkey.pos = hl_exph_pos(exph_bounds, exph_octave_first, hist_scale, v);
		cnt = hl_lookup_or_init(&hist, &hkey, &zero);
		if (!cnt)
			return -1;
		(*cnt)++;
	} else {
		sv->zero++;
	}
	hl_series_note(sv, v, first);
	return 0;
}

#endif /* HOSTLAT_LATHIST_H */
