/* bench_traffic: short TCP connections per second and UDP packets per
 * second, for the datapath benchmark (iperf3 does the bandwidth).
 *
 *   bench_traffic serve PORT                   TCP accept+close and UDP
 *                                              count on PORT, the count on
 *                                              TCP PORT+1, until killed
 *   bench_traffic conn IP PORT SECONDS         connect+close in a loop;
 *                                              prints connections/s
 *   bench_traffic udp IP PORT SECONDS          64-byte datagrams as fast as
 *                                              possible; prints what the
 *                                              server counted per second
 *
 * The UDP figure is what arrived: the client asks the server (TCP PORT+1)
 * for its count before and after sending. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int addr_of(const char *ip, int port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, ip, &sa->sin_addr) == 1 ? 0 : -EINVAL;
}

static int listener(int port)
{
	struct sockaddr_in sa;
	int one = 1, t = socket(AF_INET, SOCK_STREAM, 0);
	addr_of("0.0.0.0", port, &sa);
	setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (t < 0 || bind(t, (void *)&sa, sizeof(sa)) < 0 || listen(t, 1024) < 0)
		return -1;
	return t;
}

/* TCP PORT: accepted and closed at once. TCP PORT+1: answers the UDP
 * count. UDP PORT: counted. */
static int serve(int port)
{
	struct sockaddr_in sa;
	int t = listener(port), q = listener(port + 1), u = socket(AF_INET, SOCK_DGRAM, 0);
	addr_of("0.0.0.0", port, &sa);
	if (t < 0 || q < 0 || u < 0 || bind(u, (void *)&sa, sizeof(sa)) < 0) {
		perror("bench_traffic serve");
		return 1;
	}
	int rcv = 4 << 20;
	setsockopt(u, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	unsigned long long count = 0;
	char buf[2048];
	for (;;) {
		struct pollfd p[3] = {{.fd = t, .events = POLLIN}, {.fd = u, .events = POLLIN},
				      {.fd = q, .events = POLLIN}};
		if (poll(p, 3, -1) < 0)
			continue;
		while (p[1].revents && recv(u, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			count++;
		int c;
		if (p[0].revents && (c = accept(t, NULL, NULL)) >= 0)
			close(c);
		if (p[2].revents && (c = accept(q, NULL, NULL)) >= 0) {
			int n = snprintf(buf, sizeof(buf), "%llu\n", count);
			if (write(c, buf, (size_t)n) < 0)
				perror("bench_traffic write");
			close(c);
		}
	}
}

static long long ask_count(const struct sockaddr_in *udp)
{
	char buf[64];
	struct sockaddr_in sa = *udp;
	sa.sin_port = htons((uint16_t)(ntohs(udp->sin_port) + 1));
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (const void *)&sa, sizeof(sa)) < 0) {
		perror("bench_traffic count");
		return -1;
	}
	ssize_t n = read(s, buf, sizeof(buf) - 1);
	close(s);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return atoll(buf);
}

static int conn_loop(const struct sockaddr_in *sa, double secs)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	long n = 0;
	double t0 = now(), t;
	while ((t = now()) - t0 < secs) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		/* reset on close: no TIME_WAIT, so the ports never run out */
		setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		if (s < 0 || connect(s, (const void *)sa, sizeof(*sa)) < 0) {
			perror("bench_traffic connect");
			return 1;
		}
		close(s);
		n++;
	}
	printf("%.0f\n", (double)n / (t - t0));
	return 0;
}

static int udp_loop(const struct sockaddr_in *sa, double secs)
{
	char buf[64] = {0};
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0 || connect(s, (const void *)sa, sizeof(*sa)) < 0)
		return 1;
	long long c0 = ask_count(sa);
	double t0 = now(), t;
	while ((t = now()) - t0 < secs)
		for (int i = 0; i < 256; i++)
			if (send(s, buf, sizeof(buf), 0) < 0 && errno != ENOBUFS && errno != EAGAIN &&
			    errno != ECONNREFUSED)
				return 1;
	/* the server drains its queue: count until the count stops moving
	 * (two answers 50 ms apart agree), for 5 s at most */
	long long c1 = ask_count(sa), prev = -1;
	for (int i = 0; i < 100 && c1 >= 0 && c1 != prev; i++) {
		usleep(50000);
		prev = c1;
		c1 = ask_count(sa);
	}
	close(s);
	if (c0 < 0 || c1 < 0)
		return 1;
	printf("%.0f\n", (double)(c1 - c0) / (t - t0));
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	if (argc == 3 && !strcmp(argv[1], "serve"))
		return serve(atoi(argv[2]));
	if (argc == 5 && addr_of(argv[2], atoi(argv[3]), &sa) == 0) {
		if (!strcmp(argv[1], "conn"))
			return conn_loop(&sa, atof(argv[4]));
		if (!strcmp(argv[1], "udp"))
			return udp_loop(&sa, atof(argv[4]));
	}
	fprintf(stderr, "usage: bench_traffic serve PORT | conn|udp IP PORT SECONDS\n");
	return 64;
}
