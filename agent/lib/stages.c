/* SPDX-License-Identifier: MIT */
/* Names of the network-stack stages (stages.h). */
#include <assert.h>
#include <stddef.h>

#include <linux/types.h>

#include "hostlat.h"
#include "stages.h"

const char *const hl_stage_names[] = {
	[HL_STAGE_IP_START] = "ip-start",
	[HL_STAGE_CONNTRACK] = "conntrack",
	[HL_STAGE_TCP_START] = "tcp-start",
	[HL_STAGE_UDP_START] = "udp-start",
	[HL_STAGE_TCP_SOCK_ENQUEUED] = "tcp-socket-enqueued",
	[HL_STAGE_UDP_SOCK_ENQUEUED] = "udp-socket-enqueued",
	[HL_STAGE_TCP_SOCK_READ] = "tcp-socket-read",
	[HL_STAGE_UDP_SOCK_READ] = "udp-socket-read",
	[HL_STAGE_COUNT] = NULL,
};
static_assert(sizeof(hl_stage_names) / sizeof(hl_stage_names[0]) == HL_STAGE_COUNT + 1,
	      "hl_stage_names must name every stage");
