/* np_stream: a minimal client of the daemon's exec/attach streams, for the
 * daemon's suite. Usage: np_stream SOCKET URL-PATH?QUERY
 * Sends its stdin (then a stdin-closed frame), writes the stdout and stderr
 * frames to its own, and exits with the remote exit code (255 when the
 * stream ended without one; 254 when the request was refused). */
#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int send_frame(int fd, int ch, const char *buf, size_t n)
{
	unsigned char h[5] = {(unsigned char)ch, (unsigned char)(n >> 24), (unsigned char)(n >> 16),
			      (unsigned char)(n >> 8), (unsigned char)n};
	return write_all(fd, h, 5) < 0 || (n && write_all(fd, buf, n) < 0) ? -1 : 0;
}

/* Reads the HTTP answer up to the blank line; leftover bytes go to buf. */
static int read_head(int fd, char *buf, size_t cap, size_t *len, size_t *body)
{
	*len = 0;
	for (;;) {
		ssize_t n = read(fd, buf + *len, cap - *len - 1);
		if (n <= 0)
			return -1;
		*len += (size_t)n;
		buf[*len] = 0;
		char *end = strstr(buf, "\r\n\r\n");
		if (end) {
			*body = (size_t)(end + 4 - buf);
			return 0;
		}
		if (*len + 1 >= cap)
			return -1;
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: np_stream SOCKET PATH\n");
		return 2;
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		return 2;
	}
	char req[8192];
	int n = snprintf(req, sizeof(req),
			 "POST %s HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\n"
			 "Upgrade: netpol-stream\r\nContent-Length: 0\r\n\r\n", argv[2]);
	if (write_all(fd, req, (size_t)n) < 0)
		return 2;
	static char buf[1 << 20];
	size_t len, off;
	if (read_head(fd, buf, sizeof(buf), &len, &off) < 0)
		return 2;
	if (strncmp(buf, "HTTP/1.1 101", 12) != 0) {
		fprintf(stderr, "%s\n", buf);
		return 254;
	}
	memmove(buf, buf + off, len - off);
	len -= off;
	bool in_open = true;
	for (;;) {
		while (len >= 5) {
			size_t fl = (size_t)(unsigned char)buf[1] << 24 | (size_t)(unsigned char)buf[2] << 16 |
				    (size_t)(unsigned char)buf[3] << 8 | (unsigned char)buf[4];
			if (len < 5 + fl)
				break;
			int ch = buf[0];
			if (ch == 1 || ch == 2)
				write_all(ch, buf + 5, fl);
			if (ch == 3) {
				char code[16];
				snprintf(code, sizeof(code), "%.*s", (int)(fl < 15 ? fl : 15), buf + 5);
				return atoi(code);
			}
			memmove(buf, buf + 5 + fl, len - 5 - fl);
			len -= 5 + fl;
		}
		struct pollfd pf[2] = {{.fd = fd, .events = POLLIN},
				       {.fd = in_open ? 0 : -1, .events = POLLIN}};
		if (poll(pf, 2, -1) < 0)
			return 255;
		if (pf[1].revents) {
			char in[4096];
			ssize_t r = read(0, in, sizeof(in));
			if (r <= 0) {
				in_open = false;
				send_frame(fd, 0, NULL, 0);
			} else {
				send_frame(fd, 0, in, (size_t)r);
			}
		}
		if (pf[0].revents) {
			ssize_t r = read(fd, buf + len, sizeof(buf) - len);
			if (r <= 0)
				return 255;
			len += (size_t)r;
		}
	}
}
