/* SPDX-License-Identifier: MIT */
/* The running probes (probeset.h). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "probeset.h"

struct hl_probeset {
	const struct hl_probe_ops *const *ops;
	size_t n;      /* entries of ops, as many as it has */
	void *state[]; /* per entry of ops; NULL: not running */
};

struct hl_probeset *hl_probeset_new(const struct hl_probe_ops *const *probes)
{
	struct hl_probeset *s;
	size_t n = 0;

	while (probes[n])
		n++;
	s = calloc(1, sizeof(*s) + n * sizeof(s->state[0]));
	if (!s)
		return NULL;
	s->ops = probes;
	s->n = n;
	return s;
}

void hl_probeset_free(struct hl_probeset *s)
{
	hl_probeset_stop(s);
	free(s);
}

int hl_probeset_validate(const struct hl_probeset *s, const struct hl_config *cfg, char *err,
			 size_t errlen)
{
	for (size_t i = 0; i < s->n; i++) {
		int ret;

		if (!s->ops[i]->validate || !s->ops[i]->enabled(cfg))
			continue;
		err[0] = 0;
		ret = s->ops[i]->validate(cfg, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

int hl_probeset_start(struct hl_probeset *s, const struct hl_config *cfg)
{
	int wanted = 0, running = 0;
	char err[1024];

	for (size_t i = 0; i < s->n; i++) {
		const struct hl_probe_ops *p = s->ops[i];

		if (!p->enabled(cfg))
			continue;
		wanted++;
		err[0] = 0;
		s->state[i] = p->start(cfg, err, sizeof(err));
		if (s->state[i])
			running++;
		else
			hl_warn("agent", "probe %s is off: %s", p->name,
				err[0] ? err : "cannot start");
	}
	if (wanted && !running) {
		hl_err("agent", "no probe could start");
		if (geteuid() != 0)
			hl_err("agent", "hostlat needs root (or CAP_BPF, CAP_PERFMON and "
					"CAP_NET_ADMIN) to load its probes");
		return -1;
	}
	return 0;
}

int hl_probeset_check(struct hl_probeset *s, const struct hl_config *cfg, FILE *f)
{
	int failed = 0;
	char err[1024];

	hl_probe_trial = true;
	for (size_t i = 0; i < s->n; i++) {
		const struct hl_probe_ops *p = s->ops[i];

		if (!p->enabled(cfg)) {
			fprintf(f, "probe %s: disabled\n", p->name);
			continue;
		}
		err[0] = 0;
		s->state[i] = p->start(cfg, err, sizeof(err));
		if (s->state[i] && p->report)
			p->report(s->state[i], f);
		else
			p->check(cfg, f);
		if (s->state[i]) {
			fprintf(f, "  verified: %s\n",
				hl_probe_trial_attaches(p, cfg)
					? "loaded and attached by this kernel"
					: "loaded by this kernel (not attached by --check)");
		} else {
			fprintf(f, "  cannot run: %s\n", err[0] ? err : "cannot start");
			failed++;
		}
		fflush(f);
	}
	hl_probe_trial = false;
	return failed;
}

size_t hl_probeset_collect(struct hl_probeset *s, struct hl_metric *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++) {
		int got;

		if (!s->state[i])
			continue;
		got = s->ops[i]->collect(s->state[i], out + n, max - n);
		if (got < 0)
			hl_err("agent", "%s: collection failed: %s", s->ops[i]->name,
			       strerror(-got));
		else
			n += (size_t)got;
	}
	return n;
}

void hl_probeset_observe(struct hl_probeset *s, const struct hl_batch *b)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->state[i] && s->ops[i]->observe)
			s->ops[i]->observe(s->state[i], b);
}

void hl_probeset_stop(struct hl_probeset *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		if (s->state[i])
			s->ops[i]->stop(s->state[i]);
		s->state[i] = NULL;
	}
}

int hl_probeset_running(const struct hl_probeset *s)
{
	int n = 0;

	for (size_t i = 0; s && i < s->n; i++)
		n += s->state[i] != NULL;
	return n;
}

bool hl_probeset_next(const struct hl_probeset *s, size_t *pos, const struct hl_probe_ops **ops,
		      void **state)
{
	for (; s && *pos < s->n; (*pos)++) {
		if (!s->state[*pos])
			continue;
		*ops = s->ops[*pos];
		*state = s->state[*pos];
		(*pos)++;
		return true;
	}
	return false;
}
