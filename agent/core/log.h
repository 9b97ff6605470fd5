/* SPDX-License-Identifier: MIT */
/* Logging: one line per message on stderr, "hostlat: level: component: text". */
#ifndef HOSTLAT_LOG_H
#define HOSTLAT_LOG_H

#include "config.h"

extern int hl_log_level; /* enum hl_log_level */

void hl_log(int level, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Route libbpf's messages through hl_log, one level below ours. */
void hl_log_setup_libbpf(void);
int hl_log_level_parse(const char *s); /* -1 when unknown */

/*
 * The last BPF program libbpf could not load in this thread since the last
 * reset, and why in one line: the verifier's verdict (the last line of its
 * log before the statistics), or libbpf's error. Read from libbpf's
 * messages whatever the log level.
 */
struct hl_bpf_failure {
	char prog[64];
	char why[256];
};
void hl_bpf_failure_reset(void);
const struct hl_bpf_failure *hl_bpf_failure(void); /* NULL when none failed */

#define hl_err(comp, ...)                                                                          \
	do {                                                                                       \
		hl_log(HL_LOG_ERROR, comp, __VA_ARGS__);                                           \
	} while (0)
#define hl_warn(comp, ...)                                                                         \
	do {                                                                                       \
		if (hl_log_level >= HL_LOG_WARN)                                                   \
			hl_log(HL_LOG_WARN, comp, __VA_ARGS__);                                    \
	} while (0)
#define hl_info(comp, ...)                                                                         \
	do {                                                                                       \
		if (hl_log_level >= HL_LOG_INFO)                                                   \
			hl_log(HL_LOG_INFO, comp, __VA_ARGS__);                                    \
	} while (0)
#define hl_debug(comp, ...)                                                                        \
	do {                                                                                       \
		if (hl_log_level >= HL_LOG_DEBUG)                                                  \
			hl_log(HL_LOG_DEBUG, comp, __VA_ARGS__);                                   \
	} while (0)

#endif
