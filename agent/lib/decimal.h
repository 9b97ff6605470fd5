/* SPDX-License-Identifier: MIT */
/* Unsigned integers as decimal text, without printf (the export hot paths). */
#ifndef HOSTLAT_DECIMAL_H
#define HOSTLAT_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

/* The digits of v at out, no terminator (at most 20); returns their count. */
static inline size_t hl_dec_u64(char *out, uint64_t v)
{
	char tmp[20];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

#endif /* HOSTLAT_DECIMAL_H */
