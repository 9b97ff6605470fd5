/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the config parser (hl_config_load_string, the same
 * code path as --config FILE). Beyond "no crash, no leak, no undefined
 * behaviour" (ASan/UBSan), it checks the parser's contract: a config is
 * either accepted, or refused with one message that starts with
 * "FILE:LINE:COLUMN: " (or names the file when there is no position),
 * and freeing is idempotent. An accepted config must load again from the
 * same text to the same verdict (no hidden state between loads).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define NAME "fuzz.yaml"

static void check_message(const char *err, size_t errlen)
{
	int line, col, n = 0;

	if (!memchr(err, 0, errlen))
		abort(); /* not terminated */
	if (!err[0]) {
		fprintf(stderr, "refused without a message\n");
		abort();
	}
	if (strncmp(err, NAME, strlen(NAME))) {
		fprintf(stderr, "message without the file name: %s\n", err);
		abort();
	}
	/* "fuzz.yaml:L:C: what" or "fuzz.yaml: what" */
	if (sscanf(err + strlen(NAME), ":%d:%d: %n", &line, &col, &n) == 2 && n > 0) {
		if (line < 1 || col < 1) {
			fprintf(stderr, "position %d:%d: %s\n", line, col, err);
			abort();
		}
		return;
	}
	if (strncmp(err + strlen(NAME), ": ", 2)) {
		fprintf(stderr, "malformed message: %s\n", err);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hl_config cfg, again;
	char err[1024], err2[1024];
	int rc, rc2;

	memset(err, 0x55, sizeof(err));
	rc = hl_config_load_string(&cfg, (const char *)data, size, NAME, err, sizeof(err));
	if (rc)
		check_message(err, sizeof(err));
	rc2 = hl_config_load_string(&again, (const char *)data, size, NAME, err2, sizeof(err2));
	if ((rc == 0) != (rc2 == 0) || (rc && strcmp(err, err2))) {
		fprintf(stderr, "two loads of the same text differ: %d '%s' / %d '%s'\n", rc,
			rc ? err : "", rc2, rc2 ? err2 : "");
		abort();
	}
	hl_config_free(&cfg);
	hl_config_free(&cfg);
	hl_config_free(&again);
	return 0;
}
