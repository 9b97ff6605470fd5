/* SPDX-License-Identifier: MIT */
/*
 * `hostlat respond`: the responder protocol (responder_proto.h) answered the
 * conventional way, by a process on a UDP socket that reads /proc for each
 * request. It is what the XDP responder is measured against (make bench):
 * the same requests and replies, with the scheduler on the path.
 *
 * It fills what a separate process can know: its own counters, the load
 * average and memory (read fresh, so their age is 0). The counters of the
 * agent's kernel maps are not reachable from here: their flags stay off.
 */
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "clock.h"
#include "cmd.h"
#include "pingwire.h"
#include "responder_proto.h"

enum { EXIT_USAGE = 2 };

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: hostlat respond [OPTIONS]\n"
		"Answer `hostlat ping` from user space: a plain UDP server speaking the XDP\n"
		"responder's protocol, reading /proc for each request (for comparison with\n"
		"probes.xdp_responder; see make bench). Runs until SIGINT or SIGTERM.\n"
		"\n"
		"  -p, --port PORT     UDP port (default %d)\n"
		"  -b, --bind ADDR     listen on this address only (default: every IPv4 and\n"
		"                      IPv6 address)\n"
		"  -h, --help          this text\n",
		HL_XR_DEFAULT_PORT);
}

static int open_socket(const char *bind_addr, unsigned int port)
{
	struct sockaddr_storage sa = {0};
	struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;
	socklen_t len = sizeof(*s6);
	int fd, off = 0;

	s6->sin6_family = AF_INET6;
	s6->sin6_addr = in6addr_any;
	if (bind_addr && inet_pton(AF_INET, bind_addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		len = sizeof(*s4);
	} else if (bind_addr && inet_pton(AF_INET6, bind_addr, &s6->sin6_addr) != 1) {
		fprintf(stderr, "hostlat respond: --bind '%s' is not an IP address\n", bind_addr);
		return -EINVAL;
	}
	if (sa.ss_family == AF_INET)
		s4->sin_port = htons((uint16_t)port);
	else
		s6->sin6_port = htons((uint16_t)port);
	fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    (sa.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off))) ||
	    bind(fd, (struct sockaddr *)&sa, len)) {
		fprintf(stderr, "hostlat respond: cannot listen on %s port %u: %s\n",
			bind_addr ? bind_addr : "every address", port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -EINVAL;
	}
	return fd;
}

int hl_respond_cli(int argc, char **argv)
{
	static const struct option opts[] = {
		{"port", required_argument, NULL, 'p'},
		{"bind", required_argument, NULL, 'b'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct sigaction sa = {.sa_handler = on_signal};
	const char *bind_addr = NULL;
	unsigned long port = HL_XR_DEFAULT_PORT;
	uint64_t answered = 0, malformed = 0;
	long ncpus = sysconf(_SC_NPROCESSORS_CONF);
	char *end;
	int c, fd;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:b:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			errno = 0;
			port = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || port < 1 || port > 65535) {
				fprintf(stderr, "hostlat respond: --port wants 1..65535\n");
				return EXIT_USAGE;
			}
			break;
		case 'b':
			bind_addr = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "hostlat respond: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	fd = open_socket(bind_addr, (unsigned int)port);
	if (fd < 0)
		return EXIT_USAGE;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fprintf(stderr, "hostlat respond: answering UDP port %lu\n", port);
	while (!stop_flag) {
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof(from);
		struct hl_xr_user u = {0};
		struct hl_xr_msg m;
		ssize_t n;

		n = recvfrom(fd, &m, sizeof(m), MSG_TRUNC, (struct sockaddr *)&from, &fromlen);
		if (n < 0)
			continue; /* EINTR: the loop checks stop_flag */
		if (n != (ssize_t)sizeof(m) || m.magic != htonl(HL_XR_MAGIC) ||
		    m.version != HL_XR_VERSION || m.type != HL_XR_REQUEST) {
			malformed++;
			continue;
		}
		answered++;
		m.type = HL_XR_RESPONSE;
		m.mono_ns = htobe64(hl_mono_ns());
		m.cpu = htonl((uint32_t)sched_getcpu());
		m.ncpus = htonl((uint32_t)ncpus);
		m.answered = htobe64(answered);
		m.malformed = htobe64(malformed);
		if (hl_xr_read_host(&u) == 0) {
			m.flags = htons(HL_XR_F_USER);
			for (int i = 0; i < 3; i++)
				m.load_milli[i] = htonl(u.load_milli[i]);
			m.mem_total_kb = htobe64(u.mem_total_kb);
			m.mem_available_kb = htobe64(u.mem_available_kb);
		}
		sendto(fd, &m, sizeof(m), 0, (struct sockaddr *)&from, fromlen);
	}
	fprintf(stderr, "hostlat respond: %" PRIu64 " answered, %" PRIu64 " malformed\n", answered,
		malformed);
	close(fd);
	return 0;
}
