/* SPDX-License-Identifier: MIT */
/* Network names and addresses of the config (netaddr.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "netaddr.h"

/* Decimal digits only, no overflow. */
static bool parse_decimal(const char *s, uint64_t *v)
{
	uint64_t x = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (__builtin_mul_overflow(x, 10, &x) ||
		    __builtin_add_overflow(x, (uint64_t)(*s - '0'), &x))
			return false;
	}
	*v = x;
	return true;
}

int hl_parse_cidr(const char *s, uint8_t addr[16], unsigned int *prefix, char *why, size_t whylen)
{
	static const uint8_t v4mapped[12] = {[10] = 0xff, [11] = 0xff};
	const char *slash = strchr(s, '/');
	char host[INET6_ADDRSTRLEN + 1];
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	unsigned int max, len;
	uint64_t v;
	bool v4;

	if (hl >= sizeof(host))
		goto bad;
	memcpy(host, s, hl);
	host[hl] = 0;
	v4 = inet_pton(AF_INET, host, addr + 12) == 1;
	if (v4)
		memcpy(addr, v4mapped, sizeof(v4mapped));
	else if (inet_pton(AF_INET6, host, addr) != 1)
		goto bad;
	max = v4 ? 32 : 128;
	len = max;
	if (slash) {
		if (!parse_decimal(slash + 1, &v) || v > max) {
			snprintf(why, whylen, "'%s': the prefix length must be 0..%u", s, max);
			return -EINVAL;
		}
		len = (unsigned int)v;
	}
	if (v4)
		len += 96;
	for (unsigned int bit = len; bit < 128; bit++) {
		if (addr[bit / 8] & (0x80 >> (bit % 8))) {
			snprintf(why, whylen,
				 "'%s': bits beyond the /%u prefix are set (the network is written "
				 "with them zero)",
				 s, v4 ? len - 96 : len);
			return -EINVAL;
		}
	}
	*prefix = len;
	return 0;
bad:
	snprintf(why, whylen,
		 "'%s' is not an address or network (a.b.c.d/len or an IPv6 address/len)", s);
	return -EINVAL;
}

int hl_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sslen, char *why,
		    size_t whylen)
{
	const char *colon = strrchr(s, ':');
	char host[INET6_ADDRSTRLEN + 2];
	unsigned long port = 0;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (!colon || colon == s || !colon[1] || strlen(colon + 1) > 5)
		goto bad;
	for (const char *p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		port = port * 10 + (unsigned long)(*p - '0');
	}
	if (port < 1 || port > 65535) {
		snprintf(why, whylen, "'%s': the port must be 1..65535", s);
		return -EINVAL;
	}
	hl = (size_t)(colon - s);
	if (hl >= sizeof(host))
		goto bad;
	memcpy(host, s, hl);
	host[hl] = 0;
	if (host[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		if (hl < 3 || host[hl - 1] != ']')
			goto bad;
		host[hl - 1] = 0;
		if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
			goto bad;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*sslen = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			goto bad;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		*sslen = sizeof(*a);
	}
	return 0;
bad:
	snprintf(why, whylen,
		 "'%s': expected a numeric IPv4 address and port (127.0.0.1:9466) or an IPv6 "
		 "address in brackets and port ([::1]:9466)",
		 s);
	return -EINVAL;
}

int hl_check_netns(const char *s, char *why, size_t whylen)
{
	uint64_t ino;

	if (!strcmp(s, "host") || !strcmp(s, "all"))
		return 0;
	if (s[0] == '/' && s[1])
		return 0;
	if (parse_decimal(s, &ino) && ino)
		return 0;
	snprintf(why, whylen,
		 "invalid network namespace '%s': expected host, all, an absolute path "
		 "(/var/run/netns/NAME, /proc/PID/ns/net) or a nonzero inode number",
		 s);
	return -EINVAL;
}

int hl_check_ifname(const char *s, char *why, size_t whylen)
{
	if (strlen(s) <= 15)
		return 0;
	snprintf(why, whylen, "interface name '%s' is longer than 15 characters", s);
	return -EINVAL;
}

/*
 * The two below cut their message where the config parser always has
 * (159 and 199 characters).
 */
#define MIN(a, b) ((a) < (b) ? (a) : (b))

int hl_check_cidr(const char *s, char *why, size_t whylen)
{
	uint8_t addr[16];
	unsigned int len;

	return hl_parse_cidr(s, addr, &len, why, MIN(whylen, 160));
}

int hl_check_listen(const char *s, char *why, size_t whylen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;

	return hl_parse_listen(s, &ss, &sslen, why, MIN(whylen, 200));
}
