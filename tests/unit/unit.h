/* SPDX-License-Identifier: MIT */
/* A minimal table-friendly unit-test helper: CHECK records failures and goes on. */
#ifndef HOSTLAT_UNIT_H
#define HOSTLAT_UNIT_H

#include <stdio.h>

static int unit_failures;
static int unit_checks;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		unit_checks++;                                                                     \
		if (!(cond)) {                                                                     \
			unit_failures++;                                                           \
			fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond);   \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
		}                                                                                  \
	} while (0)

/* Exit status: 0 when every check passed. */
#define UNIT_DONE()                                                                                \
	(printf("%s: %d checks, %d failed\n", __FILE__, unit_checks, unit_failures),               \
	 unit_failures ? 1 : 0)

#endif
