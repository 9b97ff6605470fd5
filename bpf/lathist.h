/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Duration histograms in the kernel for the probes: per series (struct
 * hl_series_key) a per-CPU running total (struct hl_series_val) and one
 * per-CPU counter per bucket of the OTel seconds grid (exphist.h). User
 * space (agent/lib/series.c) reads the maps every interval and never deletes.
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

/*
 * The counter of table position pos in the series' bucket store: in the
 * dense layout an element next to the id's totals (two array lookups,
 * inlined by the verifier on recent kernels, into adjacent cache lines),
 * else a hash entry created on first use. NULL when the map is full or
 * pos is beyond the dense block.
 */
static __always_inline __u64 *hl_bucket(const struct hl_series_key *skey, __u32 pos)
{
	struct hl_hist_key hkey = {};
	struct hl_series_val *b;
	__u64 zero = 0;
	__u32 i;

	if (dense_stride) {
		if (pos / HL_DENSE_SLOTS + 1 >= dense_stride)
			return 0;
		i = skey->stage * dense_stride + 1 + pos / HL_DENSE_SLOTS;
		b = bpf_map_lookup_elem(&dense, &i);
		if (!b)
			return 0;
		return (__u64 *)b + pos % HL_DENSE_SLOTS;
	}
	hkey.cgroup = skey->cgroup;
	hkey.ifindex = skey->ifindex;
	hkey.netns = skey->netns;
	hkey.stage = skey->stage;
	hkey.pos = pos;
	return hl_lookup_or_init(&hist, &hkey, &zero);
}

/*
 * Add one sample of v ns to the series skey (its pad fields zero; only
 * skey->stage in the dense layout). Returns 0, or -1 when a map is full
 * (the sample is lost).
 */
static __always_inline int hl_lathist_add(const struct hl_series_key *skey, __u64 v)
{
	struct hl_series_val init = {}, *sv;
	__u32 i = skey->stage * dense_stride;
	__u64 *cnt;

	sv = dense_stride ? bpf_map_lookup_elem(&dense, &i)
			  : hl_lookup_or_init(&series, skey, &init);
	if (!sv)
		return -1;
	if (v) {
		cnt = hl_bucket(skey, hl_exph_pos(exph_bounds, exph_octave_first, hist_scale, v));
		if (!cnt)
			return -1;
		(*cnt)++;
	}
	hl_series_val_add(sv, v);
	return 0;
}

#endif /* HOSTLAT_LATHIST_H */
