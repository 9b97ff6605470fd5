/* SPDX-License-Identifier: MIT */
/*
 * A module whose export_batch never returns (it sleeps forever), for the
 * shutdown-deadline tests: the agent must abandon its thread and exit
 * anyway. Config: `calls_file: PATH` appends one line per call to PATH
 * before it blocks, so a test can wait until the module is inside a call;
 * `block_after: N` answers the first N calls OK and blocks from then on
 * (default 0); `block_shutdown: true` makes shutdown block too.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostlat_exporter.h"

struct block {
	char path[256];
	long block_after;
	long calls;
	bool block_shutdown;
};

static void forever(void)
{
	for (;;)
		pause();
}

static void *block_init(const void *conf, char *err, size_t errlen)
{
	const struct hl_module_params *p = conf;
	struct block *b = calloc(1, sizeof(*b));

	if (!b) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < p->n; i++) {
		if (!strcmp(p->keys[i], "calls_file")) {
			snprintf(b->path, sizeof(b->path), "%s", p->values[i]);
		} else if (!strcmp(p->keys[i], "block_after")) {
			b->block_after = strtol(p->values[i], NULL, 10);
		} else if (!strcmp(p->keys[i], "block_shutdown")) {
			b->block_shutdown = !strcmp(p->values[i], "true");
		} else {
			snprintf(err, errlen,
				 "unknown config key '%s'; valid keys: calls_file, block_after, "
				 "block_shutdown",
				 p->keys[i]);
			free(b);
			return NULL;
		}
	}
	return b;
}

static enum hl_export_result block_export(void *state, const struct hl_batch *batch,
					  struct hl_export_status *status)
{
	struct block *b = state;
	char line[64];
	int fd, n;

	(void)status;
	b->calls++;
	if (b->path[0]) {
		fd = open(b->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0) {
			n = snprintf(line, sizeof(line), "%ld %llu\n", b->calls,
				     (unsigned long long)batch->time_unix_ns);
			if (write(fd, line, (size_t)n) != n)
				n = -1;
			close(fd);
		}
	}
	if (b->calls <= b->block_after)
		return HL_EXPORT_OK;
	forever();
	return HL_EXPORT_DROP;
}

static void block_shutdown(void *state)
{
	struct block *b = state;

	if (b && b->block_shutdown)
		forever();
	free(b);
}

static const struct hl_exporter_ops block_ops = {
	.abi_version = HL_EXPORTER_ABI_VERSION,
	.name = "block",
	.help = "a test module whose export_batch never returns",
	.init = block_init,
	.export_batch = block_export,
	.shutdown = block_shutdown,
};

__attribute__((visibility("default"))) const struct hl_exporter_ops *hostlat_exporter_module(void)
{
	return &block_ops;
}
