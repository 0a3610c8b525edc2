/* stream.c: exec/attach streams. libcurl connects (unix socket or TLS) and
 * then steps aside (CONNECT_ONLY): the upgrade request and the frames go
 * through curl_easy_send/recv, so the same code works on both transports. */
#include "client_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct client_stream {
	CURL *easy;
	curl_socket_t fd;
	struct client_buf in;  /* bytes read, not yet taken */
	size_t taken;          /* bytes of in already handed out */
};

void client_stream_close(struct client_stream *s)
{
	if (!s)
		return;
	if (s->easy)
		curl_easy_cleanup(s->easy);
	free(s->in.data);
	free(s);
}

int client_stream_fd(struct client_stream *s)
{
	return (int)s->fd;
}

static int wait_fd(struct client_stream *s, short events, int timeout_ms)
{
	struct pollfd p = {.fd = s->fd, .events = events};
	int n = poll(&p, 1, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return n == 0 ? -ETIMEDOUT : 0;
}

static int send_all(struct client_stream *s, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		size_t n = 0;
		CURLcode rc = curl_easy_send(s->easy, p, len, &n);
		if (rc == CURLE_AGAIN) {
			int ret = wait_fd(s, POLLOUT, -1);
			if (ret < 0)
				return ret;
			continue;
		}
		if (rc != CURLE_OK)
			return -EPIPE;
		p += n;
		len -= n;
	}
	return 0;
}

int client_stream_fill(struct client_stream *s)
{
	if (s->taken > 0) {
		memmove(s->in.data, s->in.data + s->taken, s->in.len - s->taken);
		s->in.len -= s->taken;
		s->taken = 0;
	}
	char buf[16384];
	size_t n = 0;
	CURLcode rc = curl_easy_recv(s->easy, buf, sizeof(buf), &n);
	if (rc == CURLE_AGAIN)
		return -EAGAIN;
	if (rc != CURLE_OK)
		return -ECONNRESET;
	if (n == 0)
		return 0;
	int ret = client_buf_append(&s->in, buf, n);
	return ret < 0 ? ret : (int)n;
}

int client_stream_frame(struct client_stream *s, int *channel, const char **data, size_t *len)
{
	size_t avail = s->in.len - s->taken;
	const unsigned char *p = (const unsigned char *)s->in.data + s->taken;
	if (avail < 5)
		return 0;
	uint32_t n = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
	if (avail - 5 < n)
		return 0;
	*channel = p[0];
	*data = (const char *)p + 5;
	*len = n;
	s->taken += 5 + n;
	return 1;
}

int client_stream_send(struct client_stream *s, int channel, const void *data, size_t len)
{
	unsigned char h[5] = {(unsigned char)channel, (unsigned char)(len >> 24),
			      (unsigned char)(len >> 16), (unsigned char)(len >> 8),
			      (unsigned char)len};
	int ret = send_all(s, h, sizeof(h));
	return ret < 0 || len == 0 ? ret : send_all(s, data, len);
}

/* Blocks until the answer's head is read; returns the offset of its body
 * in s->in, or -errno. */
static int read_head(struct client_stream *s, int timeout_ms)
{
	for (;;) {
		char *end = s->in.data ? strstr(s->in.data, "\r\n\r\n") : NULL;
		if (end)
			return (int)(end + 4 - s->in.data);
		int ret = client_stream_fill(s);
		if (ret == 0)
			return -ECONNRESET;
		if (ret == -EAGAIN)
			ret = wait_fd(s, POLLIN, timeout_ms);
		if (ret < 0)
			return ret;
	}
}

/* A refused upgrade: the rest of the answer is a Status (read to EOF or
 * Content-Length). */
static void read_refusal(struct client_stream *s, int body, int timeout_ms, json_t **response)
{
	const char *cl = strcasestr(s->in.data, "\r\ncontent-length:");
	long want = cl ? atol(cl + 17) : -1;
	while (want < 0 || (long)s->in.len - body < want) {
		int ret = client_stream_fill(s);
		if (ret == -EAGAIN)
			ret = wait_fd(s, POLLIN, timeout_ms);
		if (ret <= 0 && ret != -EAGAIN)
			break;
	}
	*response = json_loadb(s->in.data + body, s->in.len - (size_t)body, 0, NULL);
}

static int send_upgrade(struct client *c, struct client_stream *s, const char *path)
{
	char *req = NULL;
	int n = asprintf(&req,
			 "POST %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\n"
			 "Upgrade: netpol-stream\r\nContent-Length: 0\r\n%s%s%s\r\n",
			 path, c->socket_path ? "lab" : "127.0.0.1",
			 c->token ? "Authorization: Bearer " : "", c->token ? c->token : "",
			 c->token ? "\r\n" : "");
	if (n < 0)
		return -ENOMEM;
	int ret = send_all(s, req, (size_t)n);
	free(req);
	return ret;
}

static int stream_connect(struct client *c, struct client_stream *s)
{
	s->easy = curl_easy_init();
	if (!s->easy)
		return -ENOMEM;
	curl_easy_setopt(s->easy, CURLOPT_URL, c->server);
	curl_easy_setopt(s->easy, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->easy, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
	if (c->socket_path)
		curl_easy_setopt(s->easy, CURLOPT_UNIX_SOCKET_PATH, c->socket_path);
	if (c->ca_file)
		curl_easy_setopt(s->easy, CURLOPT_CAINFO, c->ca_file);
	/* the client's error mapping looks at c->socket_path only */
	CURLcode rc = curl_easy_perform(s->easy);
	if (rc != CURLE_OK)
		return client_curl_error(c, rc);
	if (curl_easy_getinfo(s->easy, CURLINFO_ACTIVESOCKET, &s->fd) != CURLE_OK)
		return -EIO;
	return 0;
}

int client_stream_open(struct client *c, const char *path, long *status, json_t **response,
		       struct client_stream **out)
{
	*out = NULL;
	*response = NULL;
	*status = 0;
	struct client_stream *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	int ret = stream_connect(c, s);
	if (ret == 0)
		ret = send_upgrade(c, s, path);
	int body = ret < 0 ? ret : read_head(s, (int)c->timeout_ms);
	if (body < 0) {
		client_stream_close(s);
		return body;
	}
	if (sscanf(s->in.data, "HTTP/1.%*d %ld", status) != 1) {
		client_stream_close(s);
		return -EPROTO;
	}
	if (*status != 101) {
		read_refusal(s, body, (int)c->timeout_ms, response);
		client_stream_close(s);
		return 0;
	}
	s->taken = (size_t)body; /* frames may follow the head at once */
	*out = s;
	return 0;
}
