/* SPDX-License-Identifier: MIT */
/*
 * Network names and addresses as the config writes them: parsers, and
 * checks in the form of struct hl_option's check (0, or -EINVAL with the
 * message in why).
 */
#ifndef HOSTLAT_NETADDR_H
#define HOSTLAT_NETADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * A network or host address: "a.b.c.d[/len]" or an IPv6 address with an
 * optional "/len" (no length: one host). addr gets 16 bytes, IPv4 as
 * ::ffff:a.b.c.d, and *prefix the length over those 128 bits. -EINVAL with
 * the reason in why (also when bits beyond the length are set).
 */
int hl_parse_cidr(const char *s, uint8_t addr[16], unsigned int *prefix, char *why, size_t whylen);

/*
 * An address to listen on: "IPv4:PORT" or "[IPv6]:PORT", numeric. 0, or
 * -EINVAL with the reason in why.
 */
int hl_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sslen, char *why,
		    size_t whylen);

/* A network namespace: host, all, an absolute path or a nonzero inode number. */
int hl_check_netns(const char *s, char *why, size_t whylen);
/* What hl_check_netns accepts, for the config reference. */
#define HL_NETNS_HELP                                                                              \
	"host: the agent's own network namespace; all: every namespace; or a network namespace "   \
	"file (/var/run/netns/NAME, /proc/PID/ns/net; any other file is a config error, at start " \
	"and in --check) or its inode number"
/* An interface name of at most 15 characters (IFNAMSIZ - 1). */
int hl_check_ifname(const char *s, char *why, size_t whylen);
/* hl_parse_cidr accepts s. */
int hl_check_cidr(const char *s, char *why, size_t whylen);
/* hl_parse_listen accepts s. */
int hl_check_listen(const char *s, char *why, size_t whylen);

#endif
