/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The pids and cgroups filters of the probes that measure tasks: rodata
 * flags set by user space before load and two hash maps it fills (sized with
 * bpf_map__set_max_entries; agent/lib/probeutil.c fills them). Include after
 * vmlinux.h and bpf_helpers.h.
 */
#ifndef HOSTLAT_TASKFILTER_H
#define HOSTLAT_TASKFILTER_H

const volatile bool filter_pids = false;
const volatile bool filter_cgroups = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u8);
	__uint(max_entries, 1024);
} pid_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u64);
	__type(value, __u8);
	__uint(max_entries, 1024);
} cgroup_filter SEC(".maps");

/* Listed in the filters (callers test filter_pids / filter_cgroups first,
 * so that nothing is read about the task when a filter is off). */
static __always_inline bool hl_pid_listed(__u32 tgid)
{
	return bpf_map_lookup_elem(&pid_filter, &tgid) != 0;
}

static __always_inline bool hl_cgroup_listed(__u64 cgroup_id)
{
	return bpf_map_lookup_elem(&cgroup_filter, &cgroup_id) != 0;
}

#endif /* HOSTLAT_TASKFILTER_H */
