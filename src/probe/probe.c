/* netpol-probe: the lab's `probe` image and the tests' traffic generator.
 *
 *   netpol-probe serve [PORT...]
 *   netpol-probe connect HOST PORT [--protocol tcp|udp|sctp] [--timeout SECONDS]
 *   netpol-probe batch [--timeout SECONDS] < "NETNS HOST PORT PROTO" lines
 *
 * What "reached" means, per protocol (connect exits 0 when reached, 1 when
 * not, 2 on a usage error):
 *   tcp   the three-way handshake completed (a RST, an ICMP error or
 *         silence until the timeout is "not reached");
 *   udp   the server echoed our datagram back (an ICMP port unreachable or
 *         silence is "not reached"): UDP has no handshake, so only an answer
 *         proves the path is open both ways;
 *   sctp  the server answered our INIT with an INIT-ACK carrying our tag.
 *         An ABORT (nobody serves the port), an ICMP error or silence is
 *         "not reached". The handshake is never completed: INIT/INIT-ACK is
 *         what crosses a policy in both directions, and no SCTP stack is
 *         needed (these kernels have none: the probe uses raw sockets).
 * On success the server's name (its hostname: the pod's name) goes to
 * stdout, so tests can see which replica behind a Service answered.
 *
 * batch runs many probes at once, each from its own network namespace (a
 * name under /run/netns, "-" for the caller's): every socket is opened
 * inside its namespace (setns, then back) and all of them wait together,
 * so a run costs one timeout however many probes are denied. It prints
 * each input line followed by " 1" (reached) or " 0", in input order, and
 * exits 0 (2 on a bad line or namespace). Needs CAP_SYS_ADMIN.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"
#include "sctp.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int left_ms(int64_t deadline)
{
	int64_t left = deadline - now_ms();

	return left < 0 ? 0 : (int)left;
}

uint32_t probe_random32(void)
{
	uint32_t v = 0;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint32_t)now_ms() * 2654435761u ^ (uint32_t)getpid();
	return v;
}

struct target {
	struct sockaddr_storage addr;
	socklen_t len;
	const char *host;
	const char *port;
	const char *proto;
};

static void not_reached(const struct target *t, const char *why)
{
	fprintf(stderr, "netpol-probe: %s:%s/%s: %s\n", t->host, t->port, t->proto, why);
}

/* batch mode: answers are verdicts only, names are not printed. */
static int quiet;

/* Prints the server's name from a "...\nNAME\n" answer. */
static void print_server(const char *buf, size_t len)
{
	if (quiet)
		return;
	const char *nl = memchr(buf, '\n', len);
	const char *name = nl ? nl + 1 : buf;
	size_t n = len - (size_t)(name - buf);

	while (n && (name[n - 1] == '\n' || name[n - 1] == '\r'))
		n--;
	if (n)
		printf("%.*s\n", (int)n, name);
}

/* Every ICMP error ends the wait, not only the "hard" ones (a host
 * unreachable would otherwise be ignored by UDP and raw sockets). */
static void want_errors(int fd, int family)
{
	int one = 1;

	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one));
	else
		setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
}

static int connect_tcp(const struct target *t, int64_t deadline)
{
	int fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct pollfd p = {fd, POLLOUT, 0};
	int err = 0;
	socklen_t elen = sizeof(err);
	char buf[256];
	ssize_t n;

	if (fd < 0)
		return perror("netpol-probe: socket"), 2;
	if (connect(fd, (struct sockaddr *)&t->addr, t->len) < 0 && errno != EINPROGRESS)
		err = errno;
	else if (poll(&p, 1, left_ms(deadline)) <= 0)
		err = ETIMEDOUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		err = errno;
	if (err) {
		not_reached(t, err == ETIMEDOUT ? "timed out" : strerror(err));
		close(fd);
		return 1;
	}
	/* Reached. The probe server names itself at once; other servers
	 * (nginx) wait for a request, so do not wait long for a name. */
	p.events = POLLIN;
	if (poll(&p, 1, left_ms(deadline) < 200 ? left_ms(deadline) : 200) > 0 &&
	    (n = read(fd, buf, sizeof(buf))) > 0)
		print_server(buf, (size_t)n);
	close(fd);
	return 0;
}

static int connect_udp(const struct target *t, int64_t deadline)
{
	int fd = socket(t->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char msg[64], buf[512];
	int len = snprintf(msg, sizeof(msg), "netpol-probe %08x", probe_random32());
	struct pollfd p = {fd, POLLIN, 0};

	if (fd < 0)
		return perror("netpol-probe: socket"), 2;
	want_errors(fd, t->addr.ss_family);
	/* Connected, so an ICMP port unreachable comes back as ECONNREFUSED. */
	if (connect(fd, (struct sockaddr *)&t->addr, t->len) < 0 ||
	    send(fd, msg, (size_t)len, 0) < 0) {
		not_reached(t, strerror(errno));
		close(fd);
		return 1;
	}
	while (poll(&p, 1, left_ms(deadline)) > 0) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0) {
			not_reached(t, strerror(errno));
			close(fd);
			return 1;
		}
		if ((size_t)n >= (size_t)len && memcmp(buf, msg, (size_t)len) == 0) {
			print_server(buf, (size_t)n);
			close(fd);
			return 0;
		}
	}
	not_reached(t, "timed out");
	close(fd);
	return 1;
}

/* One SCTP answer for us: 1 INIT-ACK, 0 ABORT, -1 not ours. */
static int sctp_answer(const uint8_t *pkt, size_t len, uint16_t sport,
		       uint16_t dport, uint32_t tag)
{
	struct sctp_view v;

	if (sctp_parse(pkt, len, &v) < 0 || v.sport != dport || v.dport != sport ||
	    v.vtag != tag)
		return -1;
	if (v.chunk == SCTP_INIT_ACK) {
		if (v.cookie && v.cookie_len > 13 && memcmp(v.cookie, "netpol-probe\n", 13) == 0)
			print_server((const char *)v.cookie, v.cookie_len);
		return 1;
	}
	return v.chunk == SCTP_ABORT ? 0 : -1;
}

static int connect_sctp(const struct target *t, int64_t deadline)
{
	int fd = socket(t->addr.ss_family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_SCTP);
	uint16_t sport = (uint16_t)(32768 + probe_random32() % 28000);
	uint16_t dport = (uint16_t)atoi(t->port);
	uint32_t tag = probe_random32() | 1;
	uint8_t pkt[2048];
	size_t len = sctp_build_init(pkt, sport, dport, tag, probe_random32());
	struct pollfd p = {fd, POLLIN, 0};

	if (fd < 0)
		return perror("netpol-probe: raw SCTP socket"), 2;
	want_errors(fd, t->addr.ss_family);
	/* Connected: only the target's packets, and its ICMP errors. */
	if (connect(fd, (struct sockaddr *)&t->addr, t->len) < 0 ||
	    send(fd, pkt, len, 0) < 0) {
		not_reached(t, strerror(errno));
		close(fd);
		return 1;
	}
	while (poll(&p, 1, left_ms(deadline)) > 0) {
		ssize_t n = recv(fd, pkt, sizeof(pkt), 0);
		size_t off = 0;
		int ans;

		if (n < 0) {
			not_reached(t, strerror(errno));
			close(fd);
			return 1;
		}
		/* IPv4 raw sockets see the IP header, IPv6 ones do not. */
		if (t->addr.ss_family == AF_INET && n > 0)
			off = (size_t)(pkt[0] & 0x0f) * 4;
		if ((size_t)n <= off)
			continue;
		ans = sctp_answer(pkt + off, (size_t)n - off, sport, dport, tag);
		if (ans >= 0) {
			if (!ans)
				not_reached(t, "aborted (nobody serves the port)");
			close(fd);
			return ans ? 0 : 1;
		}
	}
	not_reached(t, "timed out");
	close(fd);
	return 1;
}

static int resolve(struct target *t)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM};
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(t->host, t->port, &hints, &res);

	if (rc != 0) {
		fprintf(stderr, "netpol-probe: bad address '%s': %s\n", t->host, gai_strerror(rc));
		return -1;
	}
	memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
	t->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: netpol-probe serve [PORT...]\n"
			"       netpol-probe connect HOST PORT [--protocol tcp|udp|sctp] "
			"[--timeout SECONDS]\n"
			"       netpol-probe batch [--timeout SECONDS] < NETNS HOST PORT PROTO lines\n");
	return 2;
}

/* ---- batch --------------------------------------------------------------- */

enum { B_TCP, B_UDP, B_SCTP };

struct bprobe {
	char *line;
	struct target t;
	int kind;
	int fd;
	int result;             /* -1 pending, 0 not reached, 1 reached */
	uint16_t sport, dport;
	uint32_t tag;
	char msg[64];
	int len;
};

struct bnetns {
	char name[128];
	int fd;
};

/* The fd of /run/netns/NAME, opened once per name ("-": -2, the caller's). */
static int netns_fd(struct bnetns *ns, size_t *n, const char *name)
{
	char path[256];

	if (strcmp(name, "-") == 0)
		return -2;
	for (size_t i = 0; i < *n; i++)
		if (strcmp(ns[i].name, name) == 0)
			return ns[i].fd;
	if (*n == 256 || strlen(name) >= sizeof(ns->name))
		return -1;
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	ns[*n].fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ns[*n].fd < 0)
		return -1;
	snprintf(ns[*n].name, sizeof(ns->name), "%s", name);
	return ns[(*n)++].fd;
}

/* Opens b's socket (in the current namespace) and sends its first packet.
 * A local failure is a verdict at once: not reached. */
static void bprobe_start(struct bprobe *b)
{
	int type = b->kind == B_TCP ? SOCK_STREAM : b->kind == B_UDP ? SOCK_DGRAM : SOCK_RAW;
	uint8_t pkt[256];
	size_t len;

	b->fd = socket(b->t.addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       b->kind == B_SCTP ? IPPROTO_SCTP : 0);
	if (b->fd < 0) {
		b->result = 0;
		return;
	}
	if (b->kind != B_TCP)
		want_errors(b->fd, b->t.addr.ss_family);
	if (connect(b->fd, (struct sockaddr *)&b->t.addr, b->t.len) < 0) {
		if (b->kind != B_TCP || errno != EINPROGRESS)
			b->result = 0;
		return;
	}
	if (b->kind == B_UDP) {
		b->len = snprintf(b->msg, sizeof(b->msg), "netpol-probe %08x", probe_random32());
		if (send(b->fd, b->msg, (size_t)b->len, 0) < 0)
			b->result = 0;
	} else if (b->kind == B_SCTP) {
		b->sport = (uint16_t)(32768 + probe_random32() % 28000);
		b->dport = (uint16_t)atoi(b->t.port);
		b->tag = probe_random32() | 1;
		len = sctp_build_init(pkt, b->sport, b->dport, b->tag, probe_random32());
		if (send(b->fd, pkt, len, 0) < 0)
			b->result = 0;
	} else {
		b->result = 1;  /* connected at once (a local address) */
	}
}

/* b's socket is readable or writable: a verdict, or still pending. */
static void bprobe_step(struct bprobe *b, short revents)
{
	uint8_t buf[2048];
	int err = 0;
	socklen_t elen = sizeof(err);
	ssize_t n;
	size_t off = 0;

	if (b->kind == B_TCP) {
		if (getsockopt(b->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err)
			b->result = 0;
		else if (revents & POLLOUT)
			b->result = 1;
		return;
	}
	n = recv(b->fd, buf, sizeof(buf), 0);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			b->result = 0;
		return;
	}
	if (b->kind == B_UDP) {
		if (n >= b->len && memcmp(buf, b->msg, (size_t)b->len) == 0)
			b->result = 1;
		return;
	}
	if (b->t.addr.ss_family == AF_INET && n > 0)
		off = (size_t)(buf[0] & 0x0f) * 4;
	if ((size_t)n > off) {
		int ans = sctp_answer(buf + off, (size_t)n - off, b->sport, b->dport, b->tag);
		if (ans >= 0)
			b->result = ans;
	}
}

/* Parses "NETNS HOST PORT PROTO", enters NETNS and starts the probe. */
static int bprobe_open(struct bprobe *b, char *line, struct bnetns *ns, size_t *nns, int self)
{
	char *save = NULL, *netns, *proto;
	int fd;

	b->line = line;
	b->result = -1;
	b->fd = -1;
	netns = strtok_r(line, " \t\n", &save);
	b->t.host = strtok_r(NULL, " \t\n", &save);
	b->t.port = strtok_r(NULL, " \t\n", &save);
	proto = strtok_r(NULL, " \t\n", &save);
	if (!proto || strtok_r(NULL, " \t\n", &save) || atoi(b->t.port) < 1 ||
	    atoi(b->t.port) > 65535)
		return -1;
	b->t.proto = proto;
	b->kind = strcasecmp(proto, "tcp") == 0 ? B_TCP : strcasecmp(proto, "udp") == 0 ? B_UDP
		: strcasecmp(proto, "sctp") == 0 ? B_SCTP : -1;
	if (b->kind < 0 || resolve(&b->t) < 0)
		return -1;
	fd = netns_fd(ns, nns, netns);
	if (fd == -1) {
		fprintf(stderr, "netpol-probe: network namespace %s: %s\n", netns, strerror(errno));
		return -1;
	}
	if (fd >= 0 && setns(fd, CLONE_NEWNET) < 0)
		return perror("netpol-probe: setns"), -1;
	bprobe_start(b);
	if (fd >= 0 && setns(self, CLONE_NEWNET) < 0)
		return perror("netpol-probe: setns back"), -1;
	return 0;
}

/* Waits for every pending probe together until the deadline. */
static void bprobe_wait(struct bprobe *bs, size_t n, int64_t deadline)
{
	struct pollfd *pfds = calloc(n ? n : 1, sizeof(*pfds));
	size_t *idx = calloc(n ? n : 1, sizeof(*idx));

	while (pfds && idx) {
		size_t m = 0;

		for (size_t i = 0; i < n; i++)
			if (bs[i].result < 0) {
				pfds[m] = (struct pollfd){bs[i].fd,
					bs[i].kind == B_TCP ? POLLOUT : POLLIN, 0};
				idx[m++] = i;
			}
		if (!m || poll(pfds, m, left_ms(deadline)) <= 0)
			break;
		for (size_t j = 0; j < m; j++)
			if (pfds[j].revents)
				bprobe_step(&bs[idx[j]], pfds[j].revents);
	}
	free(pfds);
	free(idx);
}

static int cmd_batch(int argc, char **argv)
{
	double timeout = 1;
	struct bnetns ns[256];
	size_t nns = 0, n = 0, cap = 0;
	struct bprobe *bs = NULL;
	char *line = NULL;
	size_t lcap = 0;
	int self, rc = 0;
	struct rlimit rl;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			timeout = strtod(argv[++i], NULL);
		else
			return usage();
	}
	if (timeout <= 0)
		return usage();
	/* one socket per probe: a whole matrix needs hundreds */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	quiet = 1;
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return perror("netpol-probe: /proc/self/ns/net"), 2;
	while (rc == 0 && getline(&line, &lcap, stdin) > 0) {
		if (line[strspn(line, " \t\n")] == '\0')
			continue;
		if (n == cap && !(bs = realloc(bs, (cap = cap ? 2 * cap : 64) * sizeof(*bs))))
			return fprintf(stderr, "netpol-probe: out of memory\n"), 2;
		line[strcspn(line, "\n")] = '\0';
		char *copy = strdup(line);
		memset(&bs[n], 0, sizeof(bs[n]));
		if (!copy || bprobe_open(&bs[n], copy, ns, &nns, self) < 0) {
			fprintf(stderr, "netpol-probe: bad probe line: %s\n", line);
			free(copy);
			rc = 2;
			break;
		}
		/* the copy was cut up by strtok: keep the whole line to print */
		bs[n].line = strdup(line);
		bs[n].t.host = bs[n].t.port = bs[n].t.proto = NULL;
		free(copy);
		n++;
	}
	if (rc == 0)
		bprobe_wait(bs, n, now_ms() + (int64_t)(timeout * 1000));
	for (size_t i = 0; i < n; i++) {
		if (rc == 0)
			printf("%s %d\n", bs[i].line, bs[i].result > 0);
		if (bs[i].fd >= 0)
			close(bs[i].fd);
		free(bs[i].line);
	}
	for (size_t i = 0; i < nns; i++)
		close(ns[i].fd);
	close(self);
	free(bs);
	free(line);
	return rc;
}

static int cmd_connect(int argc, char **argv)
{
	struct target t = {.proto = "tcp"};
	double timeout = 5;
	char *end;
	long port;
	int64_t deadline;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--protocol") == 0 && i + 1 < argc)
			t.proto = argv[++i];
		else if (strncmp(argv[i], "--protocol=", 11) == 0)
			t.proto = argv[i] + 11;
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			timeout = strtod(argv[++i], NULL);
		else if (strncmp(argv[i], "--timeout=", 10) == 0)
			timeout = strtod(argv[i] + 10, NULL);
		else if (!t.host)
			t.host = argv[i];
		else if (!t.port)
			t.port = argv[i];
		else
			return usage();
	}
	if (!t.host || !t.port || timeout <= 0)
		return usage();
	port = strtol(t.port, &end, 10);
	if (*end || port < 1 || port > 65535)
		return usage();
	deadline = now_ms() + (int64_t)(timeout * 1000);
	if (resolve(&t) < 0)
		return 1;
	if (strcmp(t.proto, "tcp") == 0)
		return connect_tcp(&t, deadline);
	if (strcmp(t.proto, "udp") == 0)
		return connect_udp(&t, deadline);
	if (strcmp(t.proto, "sctp") == 0)
		return connect_sctp(&t, deadline);
	return usage();
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		return probe_serve(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "connect") == 0)
		return cmd_connect(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "batch") == 0)
		return cmd_batch(argc - 2, argv + 2);
	return usage();
}
