/* SPDX-License-Identifier: MIT */
#include <errno.h>

#ifndef ENOTSUPP
#define ENOTSUPP 524 /* kernel-internal, reaches user space from BPF */
#endif
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "maputil.h"

static int reserve(struct hl_map_dump *d, size_t cap)
{
	void *k, *v;

	if (cap <= d->cap)
		return 0;
	k = realloc(d->keys, cap * d->key_size);
	if (!k)
		return -ENOMEM;
	d->keys = k;
	v = realloc(d->values, cap * d->value_size);
	if (!v)
		return -ENOMEM;
	d->values = v;
	/*
	 * Zero the new room: the kernel fills it, but memory checkers that do
	 * not model batch lookups would otherwise call it uninitialised.
	 */
	memset((char *)d->keys + d->cap * d->key_size, 0, (cap - d->cap) * d->key_size);
	memset((char *)d->values + d->cap * d->value_size, 0, (cap - d->cap) * d->value_size);
	d->cap = cap;
	return 0;
}

/* Fallback for kernels without batch lookups: one key at a time. */
static int read_iter(struct hl_map_dump *d, int fd, size_t max_entries)
{
	char prev[64], next[64];
	void *pk = NULL;

	if (d->key_size > sizeof(prev))
		return -E2BIG;
	d->n = 0;
	while (d->n < max_entries && bpf_map_get_next_key(fd, pk, next) == 0) {
		if (d->n == d->cap && reserve(d, d->cap ? d->cap * 2 : 256))
			return -ENOMEM;
		if (bpf_map_lookup_elem(fd, next, hl_map_dump_value(d, d->n)) == 0) {
			memcpy(hl_map_dump_key(d, d->n), next, d->key_size);
			d->n++;
		}
		memcpy(prev, next, d->key_size);
		pk = prev;
	}
	return 0;
}

int hl_map_dump_read(struct hl_map_dump *d, int fd, size_t key_size, size_t value_size,
		     size_t max_entries)
{
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);
	char batch_in[64], batch_out[64];
	void *in = NULL;
	int err;

	if (d->key_size != key_size || d->value_size != value_size) {
		hl_map_dump_free(d);
		d->key_size = key_size;
		d->value_size = value_size;
	}
	if (reserve(d, max_entries < 64 ? max_entries : 64))
		return -ENOMEM;
	d->n = 0;
	for (;;) {
		__u32 count;

		if (d->n == d->cap &&
		    reserve(d, d->cap * 2 > max_entries ? max_entries : d->cap * 2))
			return -ENOMEM;
		count = d->cap - d->n;
		if (!count)
			break;
		err = bpf_map_lookup_batch(fd, in, batch_out, hl_map_dump_key(d, d->n),
					   hl_map_dump_value(d, d->n), &count, &opts);
		if (err && errno != ENOENT) {
			if (errno == EINVAL || errno == ENOTSUPP || errno == EOPNOTSUPP)
				return read_iter(d, fd, max_entries);
			if (errno == ENOSPC) { /* a bucket holds more than fits: grow */
				if (d->cap >= max_entries * 2 + 64)
					return -ENOSPC;
				if (reserve(d, d->cap * 2))
					return -ENOMEM;
				continue;
			}
			return -errno;
		}
		d->n += count;
		if (err) /* ENOENT: done */
			break;
		memcpy(batch_in, batch_out, sizeof(batch_in));
		in = batch_in;
	}
	return 0;
}

int hl_map_dump_read_range(struct hl_map_dump *d, int fd, size_t value_size, __u32 first, __u32 n)
{
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 prev = first - 1, out, done = 0;

	if (d->key_size != sizeof(__u32) || d->value_size != value_size) {
		hl_map_dump_free(d);
		d->key_size = sizeof(__u32);
		d->value_size = value_size;
	}
	if (reserve(d, n))
		return -ENOMEM;
	d->n = 0;
	while (done < n) {
		__u32 count = n - done;
		int err;

		/* A batch starts after in_batch: the element before first, none for 0. */
		err = bpf_map_lookup_batch(fd, first + done ? &prev : NULL, &out,
					   hl_map_dump_key(d, done), hl_map_dump_value(d, done),
					   &count, &opts);
		if (err && errno != ENOENT) {
			if (errno != EINVAL && errno != ENOTSUPP && errno != EOPNOTSUPP)
				return -errno;
			/* No batch lookups: one element at a time. */
			for (; done < n; done++) {
				__u32 k = first + done;

				if (bpf_map_lookup_elem(fd, &k, hl_map_dump_value(d, done)))
					return -errno;
				memcpy(hl_map_dump_key(d, done), &k, sizeof(k));
			}
			break;
		}
		done += count;
		if (err || !count) /* ENOENT: the array ends before first + n */
			break;
		prev = out;
	}
	d->n = done;
	return 0;
}

void hl_map_dump_free(struct hl_map_dump *d)
{
	free(d->keys);
	free(d->values);
	memset(d, 0, sizeof(*d));
}
