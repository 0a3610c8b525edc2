/* The probe server: on every given port it accepts TCP (and names itself),
 * echoes UDP (followed by its name), and answers SCTP INITs with an
 * INIT-ACK whose State Cookie carries its name. INITs to other ports get
 * the ABORT a real SCTP stack would send, so a client learns promptly that
 * the path is open but nobody serves the port. One line per answer goes to
 * stdout (the pod's log). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probe.h"
#include "sctp.h"
#include "util/pktinfo.h"

enum kind { K_TCP, K_UDP, K_SCTP4, K_SCTP6 };

struct server {
	struct pollfd *pfds;
	enum kind *kinds;
	uint16_t *fd_ports;
	size_t n;
	uint16_t *ports;
	size_t n_ports;
	char name[256];
};

static void add_fd(struct server *s, int fd, enum kind k, uint16_t port)
{
	s->pfds = realloc(s->pfds, (s->n + 1) * sizeof(*s->pfds));
	s->kinds = realloc(s->kinds, (s->n + 1) * sizeof(*s->kinds));
	s->fd_ports = realloc(s->fd_ports, (s->n + 1) * sizeof(*s->fd_ports));
	if (!s->pfds || !s->kinds || !s->fd_ports) {
		fprintf(stderr, "netpol-probe: out of memory\n");
		exit(2);
	}
	s->pfds[s->n] = (struct pollfd){fd, POLLIN, 0};
	s->kinds[s->n] = k;
	s->fd_ports[s->n] = port;
	s->n++;
}

/* Dual-stack where the pod has IPv6, IPv4 only where it has not. */
static int listen_on(int type, uint16_t port)
{
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(port),
				  .sin6_addr = IN6ADDR_ANY_INIT};
	struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(port)};
	int one = 1, zero = 0;
	int fd = socket(AF_INET6, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd >= 0) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		/* UDP answers from the address asked (on_udp); IPv4 datagrams
		 * of this dual-stack socket come with a v4-mapped one */
		if (type == SOCK_DGRAM)
			setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&a6, sizeof(a6)) == 0)
			goto bound;
		close(fd);
	}
	fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (type == SOCK_DGRAM)
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a4, sizeof(a4)) < 0) {
		close(fd);
		return -1;
	}
bound:
	if (type == SOCK_STREAM && listen(fd, 128) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static const char *peer_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const void *a = ss->ss_family == AF_INET6
		? (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr
		: (const void *)&((const struct sockaddr_in *)ss)->sin_addr;

	if (!inet_ntop(ss->ss_family, a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

static void on_tcp(struct server *s, int fd, uint16_t port)
{
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	char msg[300], who[64];
	int c = accept4(fd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
	int len;

	if (c < 0)
		return;
	len = snprintf(msg, sizeof(msg), "netpol-probe\n%s\n", s->name);
	if (write(c, msg, (size_t)len) < 0)
		perror("netpol-probe: write");
	close(c);
	printf("tcp %u from %s\n", port, peer_str(&peer, who, sizeof(who)));
}

static void on_udp(struct server *s, int fd, uint16_t port)
{
	struct sockaddr_storage peer;
	char buf[1024], who[64], ctl[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	struct iovec iov = {buf, 512};
	struct msghdr m = {.msg_name = &peer, .msg_namelen = sizeof(peer), .msg_iov = &iov,
			   .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
	ssize_t n = recvmsg(fd, &m, 0);
	int extra;

	if (n < 0)
		return;
	extra = snprintf(buf + n, sizeof(buf) - (size_t)n, "\n%s\n", s->name);
	iov.iov_len = (size_t)n + (size_t)extra;
	pktinfo_reply_from_destination(&m);
	if (sendmsg(fd, &m, 0) < 0)
		perror("netpol-probe: sendmsg");
	printf("udp %u from %s\n", port, peer_str(&peer, who, sizeof(who)));
}

static bool serves(const struct server *s, uint16_t port)
{
	for (size_t i = 0; i < s->n_ports; i++)
		if (s->ports[i] == port)
			return true;
	return false;
}

static void on_sctp(struct server *s, int fd, bool v4)
{
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	uint8_t pkt[2048], out[512];
	char cookie[300], who[64];
	ssize_t n = recvfrom(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&peer, &plen);
	size_t off = 0, len;
	struct sctp_view v;
	int clen;

	if (n <= 0)
		return;
	if (v4)
		off = (size_t)(pkt[0] & 0x0f) * 4;
	if ((size_t)n <= off || sctp_parse(pkt + off, (size_t)n - off, &v) < 0 ||
	    v.chunk != SCTP_INIT || v.vtag != 0 || v.init_tag == 0)
		return;
	if (serves(s, v.dport)) {
		clen = snprintf(cookie, sizeof(cookie), "netpol-probe\n%s\n", s->name);
		len = sctp_build_init_ack(out, v.dport, v.sport, v.init_tag,
					  probe_random32() | 1, probe_random32(),
					  cookie, (size_t)clen);
	} else {
		len = sctp_build_abort(out, v.dport, v.sport, v.init_tag);
	}
	if (sendto(fd, out, len, 0, (struct sockaddr *)&peer, plen) < 0)
		perror("netpol-probe: sendto");
	printf("sctp %u from %s%s\n", v.dport, peer_str(&peer, who, sizeof(who)),
	       serves(s, v.dport) ? "" : " (aborted)");
}

static void parse_ports(struct server *s, int argc, char **argv)
{
	s->ports = calloc((size_t)argc + 1, sizeof(*s->ports));
	if (!s->ports)
		exit(2);
	for (int i = 0; i < argc; i++) {
		char *end;
		long p = strtol(argv[i], &end, 10);

		if (*end || p < 1 || p > 65535) {
			fprintf(stderr, "netpol-probe: bad port '%s'\n", argv[i]);
			exit(2);
		}
		if (!serves(s, (uint16_t)p))
			s->ports[s->n_ports++] = (uint16_t)p;
	}
}

static void open_all(struct server *s)
{
	int fd;

	for (size_t i = 0; i < s->n_ports; i++) {
		int t = listen_on(SOCK_STREAM, s->ports[i]);
		int u = listen_on(SOCK_DGRAM, s->ports[i]);

		if (t < 0 || u < 0) {
			fprintf(stderr, "netpol-probe: port %u: %s\n", s->ports[i], strerror(errno));
			exit(1);
		}
		add_fd(s, t, K_TCP, s->ports[i]);
		add_fd(s, u, K_UDP, s->ports[i]);
	}
	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_SCTP);
	if (fd < 0) {
		perror("netpol-probe: raw SCTP socket");
		exit(1);
	}
	add_fd(s, fd, K_SCTP4, 0);
	fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_SCTP);
	if (fd >= 0)
		add_fd(s, fd, K_SCTP6, 0);
}

int probe_serve(int argc, char **argv)
{
	struct server s = {0};

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (gethostname(s.name, sizeof(s.name) - 1) < 0)
		snprintf(s.name, sizeof(s.name), "unknown");
	parse_ports(&s, argc, argv);
	open_all(&s);
	printf("netpol-probe serving %zu port(s) over tcp, udp and sctp as %s\n",
	       s.n_ports, s.name);
	for (;;) {
		if (poll(s.pfds, s.n, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("netpol-probe: poll");
			return 1;
		}
		for (size_t i = 0; i < s.n; i++) {
			if (!(s.pfds[i].revents & POLLIN))
				continue;
			switch (s.kinds[i]) {
			case K_TCP: on_tcp(&s, s.pfds[i].fd, s.fd_ports[i]); break;
			case K_UDP: on_udp(&s, s.pfds[i].fd, s.fd_ports[i]); break;
			case K_SCTP4: on_sctp(&s, s.pfds[i].fd, true); break;
			case K_SCTP6: on_sctp(&s, s.pfds[i].fd, false); break;
			}
		}
	}
}
