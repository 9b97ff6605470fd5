/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <bpf/libbpf.h>

#include "log.h"

int hl_log_level = HL_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void hl_log(int level, const char *component, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (level > hl_log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "hostlat: %s: %s: %s\n", level_names[level], component, buf);
}

int hl_log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (!strcasecmp(s, level_names[i]))
			return i;
	return -1;
}

static int libbpf_print(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	/* libbpf warnings are our debug; its info/debug only when asked twice. */
	int ours = lvl == LIBBPF_WARN ? HL_LOG_DEBUG : HL_LOG_DEBUG + 1;

	if (ours > hl_log_level)
		return 0;
	/* Verifier logs run to many kilobytes: print them whole. */
	fputs("hostlat: debug: libbpf: ", stderr);
	vfprintf(stderr, fmt, ap);
	return 0;
}

void hl_log_setup_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
