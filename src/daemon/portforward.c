/* portforward.c: the server side of `kubectl port-forward`: SPDY/3.1,
 * either straight on the upgraded connection or tunnelled in WebSocket
 * binary messages (subprotocol SPDY/3.1+portforward.k8s.io, what kubectl
 * 1.31+ tries first). Per forwarded connection kubectl opens two streams
 * with the headers streamtype (error|data), port and requestid; the data
 * stream is joined to a TCP connection to 127.0.0.1:port made inside the
 * pod's network namespace, the error stream carries why that failed. */
#include "kubelet_internal.h"
#include "api/spdy.h"
#include "api/ws.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

/* What one client may hold: streams (two per forwarded connection), the
 * largest frame, and the largest header block once inflated. */
#define PF_MAX_STREAMS 64
#define PF_FRAME_MAX (256u * 1024)
#define PF_HEADERS_MAX (16u * 1024)
#define PF_CHUNK 32768

struct pf_stream {
	uint32_t id;                 /* 0: slot free */
	bool data;                   /* else the error stream */
	int fd;                      /* data: the connection into the pod */
	char reqid[32];
	bool client_fin, pod_fin;
};

struct pf {
	struct kubelet *k;
	const char *ns, *name;
	int fd;
	bool ws;
	unsigned char *raw, *in;     /* WebSocket bytes; SPDY bytes */
	size_t raw_len, raw_cap, in_len, in_cap;
	z_stream inf, def;
	struct pf_stream st[PF_MAX_STREAMS];
	bool done;
};

static int pf_write(struct pf *p, const unsigned char *buf, size_t n)
{
	unsigned char h[10];
	if (p->ws) {
		size_t hl = ws_header(h, WS_BINARY, n);
		if (kstream_write_all(p->fd, h, hl) < 0)
			return -EIO;
	}
	return kstream_write_all(p->fd, buf, n);
}

static int pf_frame(struct pf *p, bool ctl, uint32_t id, int flags, const void *a, size_t an,
		    const void *b, size_t bn)
{
	unsigned char *f = malloc(8 + an + bn);
	if (!f)
		return -ENOMEM;
	spdy_header(f, ctl, id, flags, an + bn);
	if (an)
		memcpy(f + 8, a, an);
	if (bn)
		memcpy(f + 8 + an, b, bn);
	int err = pf_write(p, f, 8 + an + bn);
	free(f);
	return err;
}

static void be32put(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* SYN_REPLY with an empty header block, compressed in the connection's
 * one deflate context as SPDY wants. */
static int pf_reply(struct pf *p, uint32_t id)
{
	unsigned char id4[4], zero[4] = {0}, out[64];
	be32put(id4, id);
	p->def.next_in = zero;
	p->def.avail_in = 4;
	p->def.next_out = out;
	p->def.avail_out = sizeof(out);
	if (deflate(&p->def, Z_SYNC_FLUSH) != Z_OK || p->def.avail_in)
		return -EPROTO;
	return pf_frame(p, true, SPDY_SYN_REPLY, 0, id4, 4, out, sizeof(out) - p->def.avail_out);
}

static int pf_rst(struct pf *p, uint32_t id, uint32_t status)
{
	unsigned char b[8];
	be32put(b, id);
	be32put(b + 4, status);
	return pf_frame(p, true, SPDY_RST_STREAM, 0, b, 8, NULL, 0);
}

/* Every header block goes through the one inflate context, in order. */
static long pf_inflate(struct pf *p, const unsigned char *in, size_t n, unsigned char *out)
{
	p->inf.next_in = (unsigned char *)in;
	p->inf.avail_in = (unsigned)n;
	p->inf.next_out = out;
	p->inf.avail_out = PF_HEADERS_MAX;
	while (p->inf.avail_in) {
		int rc = inflate(&p->inf, Z_SYNC_FLUSH);
		if (rc == Z_NEED_DICT)
			rc = inflateSetDictionary(&p->inf, spdy_dict(), SPDY_DICT_LEN);
		if (rc != Z_OK || (p->inf.avail_out == 0 && p->inf.avail_in))
			return -EPROTO;
	}
	return (long)(PF_HEADERS_MAX - p->inf.avail_out);
}

static struct pf_stream *pf_find(struct pf *p, uint32_t id)
{
	for (size_t i = 0; id && i < PF_MAX_STREAMS; i++)
		if (p->st[i].id == id)
			return &p->st[i];
	return NULL;
}

static void pf_drop(struct pf_stream *s)
{
	if (s->fd >= 0)
		close(s->fd);
	*s = (struct pf_stream){.fd = -1};
}

/* Ends the error stream of a request, saying why its data stream failed
 * (why "" when it did not). */
static void pf_fail(struct pf *p, const char *reqid, const char *why)
{
	for (size_t i = 0; i < PF_MAX_STREAMS; i++) {
		struct pf_stream *s = &p->st[i];
		if (s->id && !s->data && strcmp(s->reqid, reqid) == 0) {
			pf_frame(p, false, s->id, SPDY_FLAG_FIN, why, strlen(why), NULL, 0);
			pf_drop(s);
			return;
		}
	}
}

/* A connection to 127.0.0.1:port inside the pod's network namespace. */
static int pf_connect(struct pf *p, int port)
{
	int fd = -ENOENT;
	pthread_mutex_lock(&p->k->mu);
	struct kpod *kp = p->k->stopping ? NULL : kpod_find(p->k, p->ns, p->name);
	if (kp && kp->lp)
		fd = lab_pod_socket(kp->lp);
	pthread_mutex_unlock(&p->k->mu);
	if (fd < 0)
		return fd;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static void pf_open_data(struct pf *p, struct pf_stream *s, const char *port_text)
{
	char *end;
	long port = strtol(port_text, &end, 10);
	char why[160];
	s->fd = port > 0 && port < 65536 && !*end ? pf_connect(p, (int)port) : -EINVAL;
	if (s->fd >= 0)
		return;
	snprintf(why, sizeof(why), "error forwarding port %s to pod %s/%s: %s", port_text,
		 p->ns, p->name, strerror(-s->fd));
	s->fd = -1;
	pf_fail(p, s->reqid, why);
	pf_rst(p, s->id, 5 /* CANCEL */);
	pf_drop(s);
}

static int pf_syn(struct pf *p, const struct spdy_frame *f)
{
	unsigned char block[PF_HEADERS_MAX];
	char type[16], port[16], reqid[32];
	long n = pf_inflate(p, f->data, f->len, block);
	if (n < 0)
		return -EPROTO;
	struct pf_stream *s = NULL;
	for (size_t i = 0; !s && i < PF_MAX_STREAMS; i++)
		if (!p->st[i].id)
			s = &p->st[i];
	if (!s || pf_find(p, f->stream) ||
	    spdy_header_get(block, (size_t)n, "streamtype", type, sizeof(type)) < 0 ||
	    spdy_header_get(block, (size_t)n, "port", port, sizeof(port)) < 0) {
		return pf_rst(p, f->stream, s ? 1 /* PROTOCOL_ERROR */ : 3 /* REFUSED */);
	}
	if (spdy_header_get(block, (size_t)n, "requestid", reqid, sizeof(reqid)) < 0)
		strcpy(reqid, "");
	*s = (struct pf_stream){.id = f->stream, .data = strcmp(type, "data") == 0, .fd = -1,
				.client_fin = f->flags & SPDY_FLAG_FIN};
	snprintf(s->reqid, sizeof(s->reqid), "%s", reqid);
	if (pf_reply(p, s->id) < 0)
		return -EPROTO;
	if (s->data)
		pf_open_data(p, s, port);
	return 0;
}

static void pf_data(struct pf *p, const struct spdy_frame *f)
{
	struct pf_stream *s = pf_find(p, f->stream);
	if (!s || !s->data)
		return;  /* the error stream's bytes, or a stream already gone */
	if (f->len && s->fd >= 0 && kstream_write_all(s->fd, f->data, f->len) < 0) {
		pf_rst(p, s->id, 5 /* CANCEL */);
		pf_drop(s);
		return;
	}
	if (f->flags & SPDY_FLAG_FIN) {
		s->client_fin = true;
		if (s->fd >= 0)
			shutdown(s->fd, SHUT_WR);
		if (s->pod_fin)
			pf_drop(s);
	}
}

static int pf_control(struct pf *p, const struct spdy_frame *f)
{
	struct pf_stream *s;
	switch (f->type) {
	case SPDY_SYN_STREAM:
		return pf_syn(p, f);
	case SPDY_PING:
		return pf_frame(p, true, SPDY_PING, 0, f->data, 4, NULL, 0);
	case SPDY_RST_STREAM:
		if ((s = pf_find(p, f->stream)) != NULL)
			pf_drop(s);
		return 0;
	case SPDY_GOAWAY:
		p->done = true;
		return 0;
	case SPDY_HEADERS: {
		/* nothing to do with them, but the inflate context must see them */
		unsigned char block[PF_HEADERS_MAX];
		return pf_inflate(p, f->data, f->len, block) < 0 ? -EPROTO : 0;
	}
	default:
		return 0;  /* SETTINGS, WINDOW_UPDATE, and what SPDY may add */
	}
}

static int pf_spdy(struct pf *p)
{
	size_t off = 0;
	long used = 0;
	struct spdy_frame f;
	while (!p->done && (used = spdy_parse(p->in + off, p->in_len - off, PF_FRAME_MAX, &f)) > 0) {
		off += (size_t)used;
		if (!f.control)
			pf_data(p, &f);
		else if (pf_control(p, &f) < 0)
			used = -EPROTO;
		if (used < 0)
			break;
	}
	memmove(p->in, p->in + off, p->in_len - off);
	p->in_len -= off;
	return used < 0 ? (int)used : 0;
}

static int pf_append(unsigned char **buf, size_t *len, size_t *cap, const void *d, size_t n)
{
	if (*len + n > 2 * PF_FRAME_MAX)
		return -EMSGSIZE;
	if (*len + n > *cap) {
		size_t c = (*len + n) * 2;
		unsigned char *b = realloc(*buf, c);
		if (!b)
			return -ENOMEM;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, d, n);
	*len += n;
	return 0;
}

/* The tunnel: the payloads of WebSocket binary messages are the SPDY
 * byte stream, wherever the messages happen to split it. */
static int pf_unwrap(struct pf *p)
{
	size_t off = 0;
	long used = 0;
	struct ws_frame f;
	while ((used = ws_parse(p->raw + off, p->raw_len - off, PF_FRAME_MAX, &f)) > 0) {
		off += (size_t)used;
		int err = 0;
		if (f.opcode == WS_PING) {
			unsigned char h[10];
			size_t hl = ws_header(h, WS_PONG, f.len);
			err = kstream_write_all(p->fd, h, hl) < 0 ||
			      kstream_write_all(p->fd, f.payload, f.len) < 0 ? -EIO : 0;
		} else if (f.opcode == WS_CLOSE) {
			err = -EPIPE;
		} else if (f.opcode == WS_BINARY || f.opcode == WS_CONT) {
			err = pf_append(&p->in, &p->in_len, &p->in_cap, f.payload, f.len);
		}
		if (err < 0) {
			used = err;
			break;
		}
	}
	memmove(p->raw, p->raw + off, p->raw_len - off);
	p->raw_len -= off;
	return used < 0 ? (int)used : 0;
}

/* Bytes from the client, through the tunnel when there is one. */
static int pf_take(struct pf *p, const void *buf, size_t n)
{
	int err = p->ws ? pf_append(&p->raw, &p->raw_len, &p->raw_cap, buf, n)
			: pf_append(&p->in, &p->in_len, &p->in_cap, buf, n);
	if (err == 0 && p->ws)
		err = pf_unwrap(p);
	return err < 0 ? err : pf_spdy(p);
}

static int pf_from_client(struct pf *p)
{
	unsigned char buf[PF_CHUNK];
	ssize_t n = read(p->fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return -EPIPE;
	return pf_take(p, buf, (size_t)n);
}

static void pf_from_pod(struct pf *p, struct pf_stream *s)
{
	unsigned char buf[PF_CHUNK];
	ssize_t n = read(s->fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n > 0) {
		pf_frame(p, false, s->id, 0, buf, (size_t)n, NULL, 0);
		return;
	}
	pf_frame(p, false, s->id, SPDY_FLAG_FIN, NULL, 0, NULL, 0);
	/* kubectl closes its local connection once the request's error
	 * stream ends too: end it, empty, as a kubelet does */
	pf_fail(p, s->reqid, "");
	s->pod_fin = true;
	close(s->fd);
	s->fd = -1;
	if (s->client_fin)
		pf_drop(s);
}

static void pf_loop(struct pf *p)
{
	/* the daemon stopping ends the session (kubelet_free waits for it) */
	while (!p->done && !__atomic_load_n(&p->k->stopping, __ATOMIC_RELAXED)) {
		struct pollfd pf[1 + PF_MAX_STREAMS];
		pf[0] = (struct pollfd){.fd = p->fd, .events = POLLIN};
		for (size_t i = 0; i < PF_MAX_STREAMS; i++)
			pf[1 + i] = (struct pollfd){.fd = p->st[i].id ? p->st[i].fd : -1,
						    .events = POLLIN};
		if (poll(pf, 1 + PF_MAX_STREAMS, 1000) < 0 && errno != EINTR)
			return;
		for (size_t i = 0; i < PF_MAX_STREAMS; i++)
			if (pf[1 + i].revents && p->st[i].id && p->st[i].fd == pf[1 + i].fd)
				pf_from_pod(p, &p->st[i]);
		if (pf[0].revents && pf_from_client(p) < 0)
			return;
	}
}

void kstream_portforward(struct kubelet *k, const char *ns, const char *name, int fd,
			 bool ws, const char *extra, size_t n)
{
	struct pf *p = calloc(1, sizeof(*p));
	if (!p)
		return;
	*p = (struct pf){.k = k, .ns = ns, .name = name, .fd = fd, .ws = ws};
	for (size_t i = 0; i < PF_MAX_STREAMS; i++)
		p->st[i].fd = -1;
	bool zok = inflateInit(&p->inf) == Z_OK;
	if (zok && deflateInit(&p->def, Z_DEFAULT_COMPRESSION) == Z_OK) {
		if (deflateSetDictionary(&p->def, spdy_dict(), SPDY_DICT_LEN) == Z_OK &&
		    (n == 0 || pf_take(p, extra, n) == 0))
			pf_loop(p);
		deflateEnd(&p->def);
	}
	if (zok)
		inflateEnd(&p->inf);
	for (size_t i = 0; i < PF_MAX_STREAMS; i++)
		pf_drop(&p->st[i]);
	free(p->raw);
	free(p->in);
	free(p);
}
