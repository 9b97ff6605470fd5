/* SPDX-License-Identifier: MIT */
/*
 * The agent's subcommands (hostlat SUBCOMMAND ...), each in agent/cmd/:
 * argv[0] is the subcommand; each returns the exit status.
 */
#ifndef HOSTLAT_CMD_H
#define HOSTLAT_CMD_H

/* `hostlat ping`: the monitor's side of the responder protocol (bpf/responder_proto.h). */
int hl_ping_cli(int argc, char **argv);
/* `hostlat respond`: the same protocol answered by a user-space UDP server. */
int hl_respond_cli(int argc, char **argv);
/* `hostlat traffic show|list|merge`: the traffic runs the agent stored. */
int hl_traffic_cli(int argc, char **argv);

/*
 * The traffic commands' chart options: -w/--width (30..1000) when c is
 * 'w', else -H/--height (3..1000), from optarg v into *width or *height.
 * 0, or -1 after naming the bad value on stderr (cmd: "traffic", ...).
 */
int hl_traffic_chart_opt(const char *cmd, int c, const char *v, int *width, int *height);

#endif
