/* SPDX-License-Identifier: MIT */
/*
 * The monitoring responder: probes.xdp_responder (the XDP program of
 * bpf/xdpresp.bpf.c answering in the kernel), `hostlat ping` (the
 * monitor's side) and `hostlat respond` (the same protocol answered by an
 * ordinary user-space UDP server, for comparison).
 */
#ifndef HOSTLAT_RESPONDER_H
#define HOSTLAT_RESPONDER_H

#include <stdint.h>

#include <linux/types.h>

#include "probe.h"
#include "xdpresp.h"

extern const struct hl_probe_ops hl_xdpresp_probe;

/* CLOCK_MONOTONIC in ns: the clock of bpf_ktime_get_ns, which replies carry. */
uint64_t hl_xr_mono_ns(void);
/* Load average and memory from /proc into u (the rest is left alone). 0 or -errno. */
int hl_xr_read_host(struct hl_xr_user *u);

/* hostlat ping ... / hostlat respond ...: argv[0] is the subcommand. Exit status. */
int hl_ping_cli(int argc, char **argv);
int hl_respond_cli(int argc, char **argv);

#endif
