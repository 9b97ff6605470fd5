// SPDX-License-Identifier: GPL-2.0
/*
 * Feature probe: an empty fentry program. User space points it at a
 * kernel function (bpf_program__set_attach_target), loads and attaches
 * it: success means this kernel lets BPF trampolines hook that function.
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
