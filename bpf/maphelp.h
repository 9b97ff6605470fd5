/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Map helpers for the BPF programs. Include after bpf_helpers.h. */
#ifndef HOSTLAT_MAPHELP_H
#define HOSTLAT_MAPHELP_H

#define HL_EEXIST 17

/*
 * The value under key in a hash map, inserting init first when absent
 * (another CPU may win the race: that is fine). NULL when the map is full.
 */
static __always_inline void *hl_lookup_or_init(void *map, const void *key, const void *init)
{
	void *v = bpf_map_lookup_elem(map, key);
	long err;

	if (v)
		return v;
	err = bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	if (err && err != -HL_EEXIST)
		return 0;
	return bpf_map_lookup_elem(map, key);
}

/* Increment slot idx of a per-CPU array of __u64 counters. */
static __always_inline void hl_count(void *array, __u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(array, &idx);

	if (c)
		(*c)++;
}

#endif /* HOSTLAT_MAPHELP_H */
