/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Exemplars: per series and per export interval, the largest sample with
 * its context (the task, the connection), kept per CPU.
 *
 * Each CPU has two slots per series, one for the even epochs and one for
 * the odd (so that the new interval never overwrites the closed one
 * before user space has read it): in the dense layout (lathist.h) the
 * array `ex_dense` at 2 * series id + epoch % 2, else the hash `ex_hash`
 * keyed by the series key with pad = epoch % 2, sized twice `series`. A slot's `rank` is
 * (epoch << HL_EX_VALUE_BITS) | min(value, HL_EX_VALUE_MAX): user space
 * bumps `ex_epoch` at every collection, so a sample is a new maximum of
 * the current interval exactly when its rank is above the slot's, the
 * only comparison on the common path, and no slot ever needs a reset.
 *
 * A slot is written only on a new maximum: `tail` first, then the
 * fields, then `head`, each the same new sequence number. User space
 * copies a slot from its first byte to its last (the kernel's per-CPU
 * lookup copies forward), so head == tail in its copy means no write was
 * in progress: a write that began before head was copied ended before it
 * (head is stored last), and one that began later changed tail, which is
 * copied last.
 *
 * The types are shared with user space (agent/lib/exemplar.c); the
 * program part needs vmlinux.h, bpf_helpers.h, bpf_core_read.h,
 * bpf_endian.h, maphelp.h and lathist.h before it.
 */
#ifndef HOSTLAT_EXEMPLAR_H
#define HOSTLAT_EXEMPLAR_H

#define HL_EX_VALUE_BITS 36 /* ranks values up to 68.7 s exactly; above, the first wins */
#define HL_EX_VALUE_MAX ((1ULL << HL_EX_VALUE_BITS) - 1)
#define HL_EX_EPOCH_MAX ((1U << (64 - HL_EX_VALUE_BITS)) - 1)

/* hl_ex_slot.flags */
#define HL_EX_TASK (1U << 0)  /* pid, comm and cgroup are set */
#define HL_EX_INET (1U << 1)  /* an IPv4 connection: peer_addr[0..3] */
#define HL_EX_INET6 (1U << 2) /* an IPv6 connection: peer_addr */

struct hl_ex_slot {
	__u32 head;  /* sequence number, stored last */
	__u32 flags; /* HL_EX_* */
	__u64 rank;  /* epoch << HL_EX_VALUE_BITS | clamped value */
	__u64 value_ns;
	__u64 mono_ns; /* CLOCK_MONOTONIC of the sample */
	__u64 cgroup;  /* cgroup v2 id of the task */
	__u32 pid;     /* tgid */
	__u16 peer_port;
	__u16 local_port; /* both host order */
	__u8 peer_addr[16];
	char comm[16]; /* the thread group leader's */
	__u32 pad;
	__u32 tail; /* sequence number, stored first */
};

#ifdef __bpf__

const volatile bool exemplars_on = false;
/* The current interval, bumped by user space at each collection (from 1). */
volatile __u32 ex_epoch;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_ex_slot);
	__uint(max_entries, 1); /* 2 x series ids in the dense layout; set by user space */
} ex_dense SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, struct hl_series_key);
	__type(value, struct hl_ex_slot);
	__uint(max_entries, 1); /* 2 x `series` with group-by; set by user space */
} ex_hash SEC(".maps");

#define hl_ex_barrier() asm volatile("" ::: "memory")

/*
 * The slot of skey's series on this CPU when v ranks above its current
 * interval's maximum (then *rank is v's rank), else NULL.
 */
static __always_inline struct hl_ex_slot *hl_ex_better(const struct hl_series_key *skey, __u64 v,
						       __u64 *rank)
{
	struct hl_ex_slot *sl;
	__u32 ep, i;

	if (!exemplars_on)
		return 0;
	ep = ex_epoch;
	if (dense_stride) {
		i = skey->stage * 2 + (ep & 1);
		sl = bpf_map_lookup_elem(&ex_dense, &i);
	} else {
		struct hl_series_key k = *skey;
		struct hl_ex_slot zero = {};

		k.pad = ep & 1;
		sl = hl_lookup_or_init(&ex_hash, &k, &zero);
	}
	if (!sl)
		return 0;
	*rank = ((__u64)ep << HL_EX_VALUE_BITS) | (v < HL_EX_VALUE_MAX ? v : HL_EX_VALUE_MAX);
	if (*rank <= sl->rank)
		return 0;
	return sl;
}

/* Open a write of slot sl: the new sequence number into tail, first. */
static __always_inline __u32 hl_ex_begin(struct hl_ex_slot *sl, __u64 rank, __u64 v)
{
	__u32 seq = sl->head + 1;

	*(volatile __u32 *)&sl->tail = seq;
	hl_ex_barrier();
	sl->rank = rank;
	sl->value_ns = v;
	sl->mono_ns = bpf_ktime_get_ns();
	sl->flags = 0;
	return seq;
}

static __always_inline void hl_ex_end(struct hl_ex_slot *sl, __u32 seq)
{
	hl_ex_barrier();
	*(volatile __u32 *)&sl->head = seq;
}

/* Task t (a BTF pointer or, kp, a plain address read through CO-RE). */
static __always_inline void hl_ex_task(struct hl_ex_slot *sl, const struct task_struct *t,
				       __u64 cgroup, bool kp)
{
	const struct task_struct *leader;

	sl->pid = kp ? BPF_CORE_READ(t, tgid) : t->tgid;
	leader = kp ? BPF_CORE_READ(t, group_leader) : t->group_leader;
	if (bpf_probe_read_kernel(sl->comm, sizeof(sl->comm), &leader->comm))
		sl->comm[0] = 0;
	sl->cgroup = cgroup;
	sl->flags |= HL_EX_TASK;
}

/* The connection of socket sk: the peer's address and port, the local port. */
static __always_inline void hl_ex_sock(struct hl_ex_slot *sl, const struct sock *sk, bool kp)
{
	const struct sock_common *c = &sk->__sk_common;
	__u16 family = kp ? BPF_CORE_READ(c, skc_family) : c->skc_family;
	__u16 dport = kp ? BPF_CORE_READ(c, skc_dport) : c->skc_dport;

	sl->local_port = kp ? BPF_CORE_READ(c, skc_num) : c->skc_num;
	sl->peer_port = bpf_ntohs(dport);
	if (family == 2 /* AF_INET */) {
		__u32 a = kp ? BPF_CORE_READ(c, skc_daddr) : c->skc_daddr;

		__builtin_memcpy(sl->peer_addr, &a, 4);
		sl->flags |= HL_EX_INET;
	} else if (family == 10 /* AF_INET6 */) {
		if (bpf_probe_read_kernel(sl->peer_addr, 16, &c->skc_v6_daddr))
			return;
		sl->flags |= HL_EX_INET6;
	}
}

#endif /* __bpf__ */
#endif /* HOSTLAT_EXEMPLAR_H */
