// SPDX-License-Identifier: GPL-2.0
/*
 * Feature probes: empty programs. User space points the fentry (fexit)
 * one at a kernel function (bpf_program__set_attach_target), loads and
 * attaches it: success means this kernel lets BPF trampolines hook that
 * function. The kprobe ones it attaches by name: kprobes work there.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("fentry/tcp_v4_rcv")
int BPF_PROG(hl_probe_fentry)
{
	return 0;
}

SEC("fexit/tcp_v4_rcv")
int BPF_PROG(hl_probe_fexit)
{
	return 0;
}

/* Kprobes: user space attaches them to a function by name. */
SEC("kprobe")
int BPF_KPROBE(hl_probe_kprobe)
{
	return 0;
}

SEC("kretprobe")
int BPF_KRETPROBE(hl_probe_kretprobe)
{
	return 0;
}
