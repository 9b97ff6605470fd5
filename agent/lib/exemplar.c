/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "clock.h"
#include "exemplar.h"
#include "kernel.h"

void hl_ex_size_maps(const struct hl_series_set *ss, bool on, struct bpf_map *dense,
		     struct bpf_map *hash)
{
	bpf_map__set_max_entries(dense, on && ss->dense_ids ? 2 * ss->dense_ids : 1);
	bpf_map__set_max_entries(hash, on && !ss->dense_ids ? 2 * ss->max_series : 1);
}

uint32_t hl_ex_next_epoch(uint32_t e)
{
	/* from the last (odd) to 2: the parity alternates on */
	return e >= HL_EX_EPOCH_MAX ? 2 : e + 1;
}

void hl_ex_init(struct hl_ex_reader *r, bool on, int ncpus, volatile uint32_t *epoch)
{
	memset(r, 0, sizeof(*r));
	r->on = on;
	r->ncpus = ncpus;
	r->epoch = epoch;
	if (epoch)
		*epoch = 1;
}

void hl_ex_free(struct hl_ex_reader *r)
{
	free(r->buf);
	free(r->ex);
	r->buf = NULL;
	r->ex = NULL;
	r->cap = 0;
}

bool hl_ex_pick(const struct hl_ex_slot *cpus, int n, uint32_t epoch, struct hl_ex_slot *out,
		uint64_t *torn)
{
	bool found = false;

	for (int c = 0; c < n; c++) {
		const struct hl_ex_slot *s = &cpus[c];

		if (s->head != s->tail) {
			(*torn)++;
			continue;
		}
		if (s->rank >> HL_EX_VALUE_BITS != epoch)
			continue;
		if (!found || s->value_ns > out->value_ns)
			*out = *s;
		found = true;
	}
	return found;
}

static void add_attr(struct hl_exemplar *e, const char *key, bool is_int, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void add_attr(struct hl_exemplar *e, const char *key, bool is_int, const char *fmt, ...)
{
	struct hl_exemplar_attr *a;
	va_list ap;

	if (e->n_attrs >= HL_EXEMPLAR_MAX_ATTRS)
		return;
	a = &e->attrs[e->n_attrs++];
	a->key = key;
	a->is_int = is_int;
	va_start(ap, fmt);
	vsnprintf(a->value, sizeof(a->value), fmt, ap);
	va_end(ap);
}

void hl_exemplar_build(struct hl_exemplar *e, const struct hl_ex_slot *sl, int64_t mono_to_unix,
		       const char *cgroup)
{
	memset(e, 0, sizeof(*e));
	e->value_ns = sl->value_ns;
	e->time_unix_ns = (uint64_t)((int64_t)sl->mono_ns + mono_to_unix);
	if (sl->flags & HL_EX_TASK) {
		char comm[sizeof(sl->comm) + 1];

		memcpy(comm, sl->comm, sizeof(sl->comm));
		comm[sizeof(sl->comm)] = 0;
		add_attr(e, "process.pid", true, "%u", sl->pid);
		add_attr(e, "process.executable.name", false, "%s", comm);
		if (cgroup)
			add_attr(e, "cgroup", false, "%s", cgroup);
		else
			add_attr(e, "cgroup", false, "cgroup-id-%llu",
				 (unsigned long long)sl->cgroup);
	}
	if (sl->flags & (HL_EX_INET | HL_EX_INET6)) {
		char addr[INET6_ADDRSTRLEN] = "";
		int af = sl->flags & HL_EX_INET ? AF_INET : AF_INET6;

		if (!inet_ntop(af, sl->peer_addr, addr, sizeof(addr)))
			addr[0] = 0;
		add_attr(e, "network.peer.address", false, "%s", addr);
		add_attr(e, "network.peer.port", true, "%u", sl->peer_port);
		add_attr(e, "network.local.port", true, "%u", sl->local_port);
	}
}

const char *hl_exemplar_attr(const struct hl_exemplar *e, const char *key)
{
	for (unsigned int i = 0; e && i < e->n_attrs && i < HL_EXEMPLAR_MAX_ATTRS; i++)
		if (!strcmp(e->attrs[i].key, key))
			return e->attrs[i].value;
	return NULL;
}

int hl_exemplar_describe(const struct hl_exemplar *e, char *buf, size_t len)
{
	const char *pid = hl_exemplar_attr(e, "process.pid"),
		   *comm = hl_exemplar_attr(e, "process.executable.name"),
		   *peer = hl_exemplar_attr(e, "network.peer.address"),
		   *pport = hl_exemplar_attr(e, "network.peer.port"),
		   *lport = hl_exemplar_attr(e, "network.local.port");
	bool v6 = peer && strchr(peer, ':');
	int n = 0, k;

	if (len)
		buf[0] = 0;
	if (pid) {
		k = snprintf(buf, len, "pid %s%s%s", pid, comm && comm[0] ? " " : "",
			     comm ? comm : "");
		n += k;
	}
	if (peer) {
		k = snprintf((size_t)n < len ? buf + n : NULL, (size_t)n < len ? len - n : 0,
			     "%s%s%s%s:%s -> :%s", n ? ", " : "", v6 ? "[" : "", peer,
			     v6 ? "]" : "", pport ? pport : "?", lport ? lport : "?");
		n += k;
	}
	return n;
}

/* Lookup (or, clear, zero) the slots of series sr for epochs of parity. */
static int slot_op(struct hl_ex_reader *r, const struct hl_series_set *ss,
		   const struct hl_series *sr, uint32_t parity, int dense_fd, int hash_fd,
		   bool clear)
{
	struct hl_series_key k = sr->key;
	__u32 i = sr->key.stage * 2 + parity;

	if (clear)
		memset(r->buf, 0, (size_t)r->ncpus * sizeof(*r->buf));
	k.pad = parity;
	if (ss->dense_ids)
		return clear ? bpf_map_update_elem(dense_fd, &i, r->buf, BPF_ANY)
			     : bpf_map_lookup_elem(dense_fd, &i, r->buf);
	return clear ? bpf_map_update_elem(hash_fd, &k, r->buf, BPF_EXIST)
		     : bpf_map_lookup_elem(hash_fd, &k, r->buf);
}

int hl_ex_collect(struct hl_ex_reader *r, struct hl_series_set *ss, int dense_fd, int hash_fd)
{
	int64_t mono_to_unix;
	uint32_t closed, next;

	for (size_t i = 0; i < ss->n; i++)
		ss->v[i].cum.exemplar = ss->v[i].delta.exemplar = NULL;
	if (!r->on || !r->epoch)
		return 0;
	if (!r->buf) {
		if (r->ncpus < 1)
			return -EINVAL;
		r->buf = calloc(r->ncpus, sizeof(*r->buf));
		if (!r->buf)
			return -ENOMEM;
	}
	if (ss->n > r->cap) {
		struct hl_exemplar *p = realloc(r->ex, ss->n * sizeof(*p));

		if (!p)
			return -ENOMEM;
		r->ex = p;
		r->cap = ss->n;
	}
	closed = *r->epoch;
	next = hl_ex_next_epoch(closed);
	/*
	 * After the epoch wrapped, the slots of the new parity still rank
	 * the last epochs above every new one: cleared before they are used
	 * (once in years; nothing writes them meanwhile).
	 */
	if (next < closed || r->wrapped) {
		for (size_t i = 0; i < ss->n; i++)
			slot_op(r, ss, &ss->v[i], next & 1, dense_fd, hash_fd, true);
		r->wrapped = next < closed;
	}
	/* The interval closes here: from now on the CPUs write the other slots. */
	*r->epoch = next;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	mono_to_unix = (int64_t)(hl_unix_ns() - hl_mono_ns());
	for (size_t i = 0; i < ss->n; i++) {
		struct hl_series *sr = &ss->v[i];
		struct hl_ex_slot best;
		bool found = false;

		/* A CPU that read the epoch just before the bump may still be writing. */
		for (int attempt = 0; attempt < 3; attempt++) {
			uint64_t torn = 0;

			if (slot_op(r, ss, sr, closed & 1, dense_fd, hash_fd, false))
				break; /* no slot: no sample since start */
			found = hl_ex_pick(r->buf, r->ncpus, closed, &best, &torn);
			r->torn += torn;
			if (!torn)
				break;
		}
		if (!found)
			continue;
		hl_exemplar_build(&r->ex[i], &best, mono_to_unix,
				  (best.flags & HL_EX_TASK) ? hl_cgroup_path(best.cgroup) : NULL);
		sr->cum.exemplar = sr->delta.exemplar = &r->ex[i];
	}
	return 0;
}
