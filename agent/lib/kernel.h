/* SPDX-License-Identifier: MIT */
/* What the running kernel offers, probed once, and host set-up helpers. */
#ifndef HOSTLAT_KERNEL_H
#define HOSTLAT_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct btf;

/* Kernel BTF (vmlinux), loaded once; NULL when the kernel has none. */
const struct btf *hl_kernel_btf(void);
/* Why hl_kernel_btf() is NULL (a sentence), or NULL. */
const char *hl_kernel_btf_error(void);
bool hl_kernel_has_func(const char *name);
/*
 * Free the kernel's BTF (several MB parsed) once the probes are loaded; a
 * later hl_kernel_btf() loads it again.
 */
void hl_kernel_release_btf(void);
/* name is a function in the BTF of a loaded module. */
bool hl_kernel_module_has_func(const char *name);
/* A tp_btf target exists (BTF has btf_trace_<name>). */
bool hl_kernel_has_tp_btf(const char *name);
bool hl_kernel_has_enum_value(const char *enum_name, const char *value);
/* Arguments of tracepoint name's tp_btf programs (ctx excluded), or -errno. */
int hl_kernel_tp_btf_nargs(const char *name);

/*
 * Can BPF trampolines hook `func`? Loads and attaches an empty fentry (or
 * fexit) program. Returns 0 when they can, else a negative errno, and
 * writes a short reason ("tcp_collapse() has 7 arguments, more than this
 * kernel's BPF trampolines pass (ENOTSUPP)", "the kernel refused a BPF
 * trampoline (EPERM)"...) into why; callers name the hook. Results are
 * cached per function; a refusal of trampolines as such (a function every
 * kernel lets them hook is refused too) is cached for all functions.
 */
int hl_kernel_probe_trampoline(const char *func, bool fexit, char *why, size_t whylen);
/*
 * The same for a kprobe (or kretprobe) on `func` by name: loads an empty
 * kprobe program and attaches it. Reasons: "the kernel has no kprobes
 * (CONFIG_KPROBES off)", "not a kprobe-able symbol: ..."... Cached alike;
 * kprobes missing or refused as such are cached for all functions.
 */
int hl_kernel_probe_kprobe(const char *func, bool retprobe, char *why, size_t whylen);
/*
 * Let tests and users force the fallbacks: every later probe of that kind
 * fails with -EPERM and why. Call before probing (they drop the cache).
 */
void hl_kernel_disable_trampolines(const char *why);
void hl_kernel_disable_kprobes(const char *why);

/* CLOCK_REALTIME - base clock, base = TAI when use_tai, else boot time. */
int64_t hl_kernel_clock_offset(bool use_tai);
/* The kernel has bpf_ktime_get_tai_ns (decides the base clock above). */
bool hl_kernel_has_tai(void);

/*
 * Keep software RX timestamps on (every received skb gets a stamp while a
 * socket asks for them). Returns an fd to keep open, or -errno.
 */
int hl_kernel_enable_rx_timestamps(void);
/* Mount tracefs at /sys/kernel/tracing when it is not mounted. */
int hl_kernel_ensure_tracefs(void);

/* Network namespace inode of the agent itself. */
uint64_t hl_self_netns_ino(void);
/* Mount point of cgroup v2 (static buffer), or NULL. */
const char *hl_cgroup2_mount(void);
/* Resolve a cgroup v2 path (absolute below the mount, or relative) to its id. */
int hl_cgroup_id(const char *path, uint64_t *id);
/* Path (relative to the cgroup2 mount, "/" for the root) of a cgroup id; cached. */
const char *hl_cgroup_path(uint64_t id);
/*
 * Label of cgroup id in buf: its path once known (then *resolved is set
 * and later calls do nothing), cgroup-id-N until then. Nothing for id 0.
 */
void hl_cgroup_label(uint64_t id, char *buf, size_t len, bool *resolved);

void hl_kernel_cleanup(void);

#endif
