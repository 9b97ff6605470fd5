/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
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

static __thread struct hl_bpf_failure bpf_failure;
static __thread bool bpf_failed;

void hl_bpf_failure_reset(void)
{
	bpf_failed = false;
	memset(&bpf_failure, 0, sizeof(bpf_failure));
}

const struct hl_bpf_failure *hl_bpf_failure(void)
{
	return bpf_failed ? &bpf_failure : NULL;
}

/* Statistics the verifier prints after its verdict. */
static bool verifier_statistics(const char *line, size_t n)
{
	static const char *const prefixes[] = {"processed ", "verification time", "stack depth",
					       "mark_read", "-- END"};

	if (!n)
		return true;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(line, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

/*
 * Note libbpf's "prog 'NAME': BPF program load failed: ERROR" and the
 * verifier log it prints next ("prog 'NAME': -- BEGIN PROG LOAD LOG --").
 */
static void note_failure(const char *msg)
{
	const char *p = strstr(msg, "prog '"), *q, *log, *end, *best = NULL;
	size_t best_n = 0;

	if (!p)
		return;
	p += strlen("prog '");
	q = strchr(p, '\'');
	if (!q)
		return;
	if (strstr(q, "': BPF program load failed")) {
		const char *e = strstr(q, "failed: ");

		bpf_failed = true;
		snprintf(bpf_failure.prog, sizeof(bpf_failure.prog), "%.*s", (int)(q - p), p);
		snprintf(bpf_failure.why, sizeof(bpf_failure.why), "%.*s",
			 e ? (int)strcspn(e + 8, "\n") : 0, e ? e + 8 : "");
		return;
	}
	log = strstr(q, "-- BEGIN PROG LOAD LOG --\n");
	if (!log || !bpf_failed || strlen(bpf_failure.prog) != (size_t)(q - p) ||
	    strncmp(bpf_failure.prog, p, (size_t)(q - p)))
		return;
	log += strlen("-- BEGIN PROG LOAD LOG --\n");
	/* The verdict: the last line that is not a statistic. */
	for (const char *l = log; *l; l = end + (*end == '\n')) {
		size_t n;

		end = l + strcspn(l, "\n");
		n = (size_t)(end - l);
		if (!verifier_statistics(l, n)) {
			best = l;
			best_n = n;
		}
		if (!*end)
			break;
	}
	if (best)
		snprintf(bpf_failure.why, sizeof(bpf_failure.why), "verifier: %.*s", (int)best_n,
			 best);
}

static int libbpf_print(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	/* libbpf warnings are our debug; its info/debug only when asked twice. */
	int ours = lvl == LIBBPF_WARN ? HL_LOG_DEBUG : HL_LOG_DEBUG + 1;

	if (lvl == LIBBPF_WARN) {
		va_list cp;
		char *msg = NULL;

		va_copy(cp, ap);
		if (vasprintf(&msg, fmt, cp) >= 0)
			note_failure(msg);
		va_end(cp);
		free(msg);
	}
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
