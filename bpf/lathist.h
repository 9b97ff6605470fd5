/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Duration histograms in the kernel for the probes: per series (struct
 * hl_series_key) a per-CPU running total (struct hl_series_val) and one
 * per-CPU counter per bucket of the OTel seconds grid (exphist.h). User
 * space (agent/series.c) reads both maps every interval and never deletes.
 *
 * Include after vmlinux.h, bpf_helpers.h, hostlat.h, exphist.h and
 * maphelp.h. It defines the maps `hist` and `series` and the bucketing
 * rodata, which user space fills before load and sizes with
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
 * Add one sample of v ns to the series skey (its pad fields zero).
 * Returns 0, or -1 when a map is full (the sample is lost).
 */
static __always_inline int hl_lathist_add(const struct hl_series_key *skey, __u64 v)
{
	struct hl_series_val init = {}, *sv;
	struct hl_hist_key hkey = {};
	__u64 zero = 0, *cnt;
	bool first;

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
	sv->sum_ns += v;
	if (first || v < sv->min_ns)
		sv->min_ns = v;
	if (v > sv->max_ns)
		sv->max_ns = v;
	return 0;
}

#endif /* HOSTLAT_LATHIST_H */
