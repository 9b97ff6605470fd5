/* SPDX-License-Identifier: MIT */
/* Reading BPF maps, whole or a range of an array, from user space. */
#ifndef HOSTLAT_MAPUTIL_H
#define HOSTLAT_MAPUTIL_H

#include <stddef.h>
#include <linux/types.h>

/*
 * A growable buffer of (key, value) pairs read from a map. For per-CPU
 * maps value_size is the per-CPU size rounded to 8 times the number of
 * possible CPUs. Reuse the same struct across reads to keep allocations.
 */
struct hl_map_dump {
	size_t key_size, value_size;
	size_t n, cap;
	void *keys;
	void *values;
};

/* Read every entry of map fd (at most max_entries). 0 or -errno. */
int hl_map_dump_read(struct hl_map_dump *d, int fd, size_t key_size, size_t value_size,
		     size_t max_entries);
/*
 * Read the n elements first..first+n-1 of the array map fd (keys are
 * __u32): d->n is how many there were (fewer when the array ends). 0 or
 * -errno.
 */
int hl_map_dump_read_range(struct hl_map_dump *d, int fd, size_t value_size, __u32 first, __u32 n);
void hl_map_dump_free(struct hl_map_dump *d);

#define hl_map_dump_key(d, i) ((void *)((char *)(d)->keys + (i) * (d)->key_size))
#define hl_map_dump_value(d, i) ((void *)((char *)(d)->values + (i) * (d)->value_size))

#endif
