/* server.c: the HTTP side, on libmicrohttpd. One daemon per listener (the
 * unix socket; 127.0.0.1:PORT with TLS and a bearer token), each with a
 * thread per connection so that a watch can block while it waits for
 * events. Requests are read into memory (up to API_MAX_BODY), turned into
 * a struct api_request and answered by api_handle.
 *
 * A thread per connection is affordable because connections are bounded
 * before they get one: the TLS listener admits a connection only within
 * its client's share (guard.c), closes those that do not authenticate in
 * time, and speaks TLS 1.2 and 1.3 only. */
#include "api_internal.h"
#include "ws.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* GnuTLS priorities: its defaults less TLS 1.0 and 1.1. */
#define API_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

struct listener {
	struct api_server *srv;
	struct MHD_Daemon *d;
	bool need_token;
	struct api_conns conns;      /* TLS: connections per uid */
};

struct api_server {
	struct api api;
	struct api_ratelog ratelog;  /* between api.log and the caller's log */
	struct api_trimmer trimmer;
	struct listener unix_l, tcp_l;
	char *socket_path;
	char *token;
	char *cert, *key;            /* PEM; MHD uses them while running */
	int port;
	const struct api_pod_streams *streams;
};

/* Per-request state across the access handler's calls. */
struct conn {
	char *body;
	size_t len, cap;
	bool too_large;
	const struct api_pod_streams *ops;
	void *session;               /* an exec/attach session not yet upgraded */
};

/* A streaming (watch) response. */
struct stream {
	struct api_watch *w;
	int fd;                      /* the client's socket, to notice it left */
};

static int set_err(char **err, int ret, const char *fmt, const char *arg)
{
	if (err && asprintf(err, fmt, arg, strerror(-ret)) < 0)
		*err = NULL;
	return ret;
}

static int set_msg(char **err, int ret, const char *msg)
{
	if (err)
		*err = strdup(msg);
	return ret;
}

/* ---- responses ------------------------------------------------------------------ */

static enum MHD_Result queue(struct MHD_Connection *c, int code, char *text,
			     const char *content_type)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text,
								 MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache, private");
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result queue_json(struct MHD_Connection *c, int code, json_t *body,
				  const char *content_type)
{
	char *text = NULL;
	if (content_type && strncmp(content_type, "text/", 5) == 0 && json_is_string(body))
		text = strdup(json_string_value(body));
	else
		text = json_dumps(body, JSON_COMPACT);
	if (!text)
		return MHD_NO;
	return queue(c, code, text, content_type ? content_type : "application/json");
}

static enum MHD_Result queue_status(struct MHD_Connection *c, int code, const char *reason,
				    const char *msg)
{
	json_t *st = api_status(code, reason, "%s", msg);
	enum MHD_Result ret = queue_json(c, code, st, NULL);
	json_decref(st);
	return ret;
}

/* True when the peer closed its side: a watch has nothing else to tell. */
static bool peer_gone(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLRDHUP};
	return fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static ssize_t read_stream(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	for (;;) {
		ssize_t n = api_watch_read(s->w, buf, max, 250);
		if (n > 0)
			return n;
		if (n < 0)
			return MHD_CONTENT_READER_END_OF_STREAM;
		/* a plain end: the client left, nothing went wrong */
		if (peer_gone(s->fd))
			return MHD_CONTENT_READER_END_OF_STREAM;
	}
}

static void free_stream(void *cls)
{
	struct stream *s = cls;
	api_watch_free(s->w);
	free(s);
}

static enum MHD_Result queue_watch(struct MHD_Connection *c, struct api_response *resp)
{
	struct stream *s = calloc(1, sizeof(*s));
	if (!s)
		return MHD_NO;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	s->fd = ci ? ci->connect_fd : -1;
	s->w = resp->watch;
	resp->watch = NULL;
	struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024,
								   read_stream, s, free_stream);
	if (!r) {
		free_stream(s);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				resp->content_type ? resp->content_type : "application/json");
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- requests ------------------------------------------------------------------- */

struct query_acc {
	struct api_query *items;
	size_t n, cap;
};

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	struct query_acc *q = cls;
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 8;
		struct api_query *items = realloc(q->items, cap * sizeof(*items));
		if (!items)
			return MHD_NO;
		q->items = items;
		q->cap = cap;
	}
	q->items[q->n++] = (struct api_query){key, value};
	return MHD_YES;
}

/* Compares in constant time so the token cannot be guessed byte by byte. */
static bool token_ok(const char *have, const char *want)
{
	size_t hl = strlen(have), wl = strlen(want);
	unsigned char diff = hl != wl;
	for (size_t i = 0; i < wl; i++)
		diff |= (unsigned char)(want[i] ^ (i < hl ? have[i] : 0));
	return diff == 0;
}

static bool authorized(struct listener *l, struct MHD_Connection *c)
{
	if (!l->need_token)
		return true;
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	return token_ok(h + 7, l->srv->token);
}

static enum MHD_Result respond(struct listener *l, struct MHD_Connection *c, const char *url,
			       const char *method, struct conn *st)
{
	struct query_acc q = {0};
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_query, &q);
	struct api_request req = {
		.method = method, .path = url, .query = q.items, .nquery = q.n,
		.content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
		.accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT),
		.body = st->body, .body_len = st->len,
	};
	struct api_response resp;
	api_handle(&l->srv->api, &req, &resp);
	api_logf(&l->srv->api, API_LOG_DEBUG, "%s %s -> %d", method, url, resp.code);
	enum MHD_Result ret = resp.watch ? queue_watch(c, &resp)
				: queue_json(c, resp.code, resp.body, resp.content_type);
	api_response_clear(&resp);
	free(q.items);
	return ret;
}

static void take_body(struct conn *st, const char *data, size_t n)
{
	if (st->too_large || st->len + n > API_MAX_BODY) {
		st->too_large = true;
		return;
	}
	if (st->len + n + 1 > st->cap) {
		size_t cap = (st->len + n + 1) * 2;
		char *b = realloc(st->body, cap);
		if (!b) {
			st->too_large = true;
			return;
		}
		st->body = b;
		st->cap = cap;
	}
	memcpy(st->body + st->len, data, n);
	st->len += n;
	st->body[st->len] = 0;
}

static enum MHD_Result too_large(struct MHD_Connection *c)
{
	char msg[64];
	snprintf(msg, sizeof(msg), "Request entity too large: limit is %u", API_MAX_BODY);
	return queue_status(c, 413, "RequestEntityTooLarge", msg);
}

/* ---- pod streams: log, exec, attach ------------------------------------------------ */

struct log_stream {
	const struct api_pod_streams *ops;
	void *reader;
	int fd;
	struct api *api;
};

static ssize_t read_log(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct log_stream *s = cls;
	for (;;) {
		if (__atomic_load_n(&s->api->stopping, __ATOMIC_RELAXED))
			return MHD_CONTENT_READER_END_OF_STREAM;
		ssize_t n = s->ops->log_read(s->reader, buf, max, 250);
		if (n > 0)
			return n;
		if (n < 0 || peer_gone(s->fd))
			return MHD_CONTENT_READER_END_OF_STREAM;
	}
}

static void free_log(void *cls)
{
	struct log_stream *s = cls;
	s->ops->log_close(s->reader);
	free(s);
}

static int stream_error_code(int err, const char **reason)
{
	switch (err) {
	case -ENOENT: *reason = "NotFound"; return 404;
	case -EINVAL: *reason = "BadRequest"; return 400;
	case -EBUSY: *reason = "Conflict"; return 409;
	default: *reason = "InternalError"; return 500;
	}
}

static enum MHD_Result queue_stream_error(struct MHD_Connection *c, int err, char *msg)
{
	const char *reason;
	int code = stream_error_code(err, &reason);
	enum MHD_Result ret = queue_status(c, code, reason, msg ? msg : strerror(-err));
	free(msg);
	return ret;
}

static const char *arg(struct MHD_Connection *c, const char *key)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
}

static bool arg_true(struct MHD_Connection *c, const char *key)
{
	const char *v = arg(c, key);
	return v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

static enum MHD_Result serve_log(struct listener *l, struct MHD_Connection *c,
				 const char *ns, const char *name)
{
	const struct api_pod_streams *ops = l->srv->streams;
	const char *tail = arg(c, "tailLines");
	struct api_log_request r = {ns, name, arg(c, "container"), arg_true(c, "follow"),
				    tail ? atol(tail) : -1, arg_true(c, "previous")};
	struct log_stream *s = calloc(1, sizeof(*s));
	char *msg = NULL;
	if (!s)
		return MHD_NO;
	int err = ops->log_open(ops->ctx, &r, &s->reader, &msg);
	if (err < 0) {
		free(s);
		return queue_stream_error(c, err, msg);
	}
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	s->fd = ci ? ci->connect_fd : -1;
	s->ops = ops;
	s->api = &l->srv->api;
	struct MHD_Response *r2 = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024,
								    read_log, s, free_log);
	if (!r2) {
		free_log(s);
		return MHD_NO;
	}
	MHD_add_response_header(r2, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r2);
	MHD_destroy_response(r2);
	return ret;
}

struct upgraded {
	const struct api_pod_streams *ops;
	void *session;
	int fd;
	char *extra;
	size_t n;
	struct MHD_UpgradeResponseHandle *urh;
};

/* The session blocks for as long as the process runs: a thread of its own,
 * so MHD's connection thread is not held. */
static void *run_upgraded(void *arg_)
{
	struct upgraded *u = arg_;
	u->ops->stream_run(u->session, u->fd, u->extra, u->n);
	MHD_upgrade_action(u->urh, MHD_UPGRADE_ACTION_CLOSE);
	free(u->extra);
	free(u);
	return NULL;
}

static void on_upgrade(void *cls, struct MHD_Connection *c, void *con_cls, const char *extra,
		       size_t n, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct conn *st = con_cls;
	struct upgraded *u = calloc(1, sizeof(*u));
	pthread_t t;
	pthread_attr_t attr;
	if (u && n && (u->extra = malloc(n)))
		memcpy(u->extra, extra, n);
	if (!u || (n && !u->extra)) {
		free(u);
		st->ops->stream_abort(st->session);
		st->session = NULL;
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		return;
	}
	*u = (struct upgraded){st->ops, st->session, sock, u->extra, n, urh};
	st->session = NULL;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, run_upgraded, u) != 0) {
		u->ops->stream_abort(u->session);
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		free(u->extra);
		free(u);
	}
	pthread_attr_destroy(&attr);
}

/* The channel protocol kubectl offers that we speak, best first. */
static enum api_stream_proto ws_pick(const char *offer, bool pf, const char **name)
{
	static const struct { const char *name; enum api_stream_proto p; bool pf; } known[] = {
		{"v5.channel.k8s.io", API_STREAM_WS_V5, false},
		{"v4.channel.k8s.io", API_STREAM_WS_V4, false},
		{"SPDY/3.1+portforward.k8s.io", API_STREAM_PF_WS, true}};
	for (size_t i = 0; offer && i < sizeof(known) / sizeof(known[0]); i++) {
		if (known[i].pf != pf)
			continue;
		const char *p = offer;
		size_t n = strlen(known[i].name);
		while ((p = strstr(p, known[i].name)) != NULL) {
			bool start = p == offer || p[-1] == ',' || p[-1] == ' ';
			bool end = p[n] == 0 || p[n] == ',' || p[n] == ' ';
			if (start && end) {
				*name = known[i].name;
				return known[i].p;
			}
			p += n;
		}
	}
	return API_STREAM_NETPOL;
}

/* Which framing the client asks for: 0 and *proto, or a 400 queued.
 * Port-forward (pf) is SPDY/3.1, plain or in WebSocket; exec and attach
 * are netpol's framing or kubectl's channel protocols. */
static int upgrade_kind(struct MHD_Connection *c, bool pf, enum api_stream_proto *proto,
			const char **sub, char accept[29], enum MHD_Result *ret)
{
	const char *up = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_UPGRADE);
	*proto = pf ? API_STREAM_PF_SPDY : API_STREAM_NETPOL;
	if (up && strcasecmp(up, pf ? "SPDY/3.1" : "netpol-stream") == 0)
		return 0;
	if (!up || strcasecmp(up, "websocket") != 0) {
		*ret = queue_status(c, 400, "BadRequest",
				    pf ? "Upgrade request required (Upgrade: websocket or SPDY/3.1)"
				       : "Upgrade request required (Upgrade: websocket or netpol-stream)");
		return -1;
	}
	const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-WebSocket-Key");
	const char *ver = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-WebSocket-Version");
	*proto = ws_pick(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-WebSocket-Protocol"),
			 pf, sub);
	if (!key || !ver || strcmp(ver, "13") != 0 || ws_accept_key(key, accept) < 0) {
		*ret = queue_status(c, 400, "BadRequest", "invalid WebSocket handshake");
		return -1;
	}
	if (*proto == API_STREAM_NETPOL || *proto == API_STREAM_PF_SPDY) {
		*ret = queue_status(c, 400, "BadRequest",
				    pf ? "no supported subprotocol (SPDY/3.1+portforward.k8s.io)"
				       : "no supported subprotocol (v5.channel.k8s.io, v4.channel.k8s.io)");
		return -1;
	}
	return 0;
}

static enum MHD_Result queue_switch(struct MHD_Connection *c, const struct api_pod_streams *ops,
				    struct conn *st, enum api_stream_proto proto,
				    const char *sub, const char *accept)
{
	struct MHD_Response *resp = MHD_create_response_for_upgrade(on_upgrade, NULL);
	if (!resp) {
		ops->stream_abort(st->session);
		st->session = NULL;
		return MHD_NO;
	}
	if (proto == API_STREAM_NETPOL) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "netpol-stream");
	} else if (proto == API_STREAM_PF_SPDY) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "SPDY/3.1");
		MHD_add_response_header(resp, "X-Stream-Protocol-Version", "portforward.k8s.io");
	} else {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
		MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept);
		MHD_add_response_header(resp, "Sec-WebSocket-Protocol", sub);
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "Upgrade");
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result serve_upgrade(struct listener *l, struct MHD_Connection *c,
				     struct conn *st, const char *ns, const char *name,
				     bool attach, bool pf)
{
	const struct api_pod_streams *ops = l->srv->streams;
	enum api_stream_proto proto;
	const char *sub = NULL;
	char accept[29];
	enum MHD_Result ret = MHD_NO;
	if (upgrade_kind(c, pf, &proto, &sub, accept, &ret) < 0)
		return ret;
	struct query_acc q = {0};
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_query, &q);
	const char **cmd = calloc(q.n + 1, sizeof(*cmd));
	size_t ncmd = 0;
	for (size_t i = 0; cmd && i < q.n; i++)
		if (strcmp(q.items[i].key, "command") == 0 && q.items[i].value)
			cmd[ncmd++] = q.items[i].value;
	free(q.items);
	if (!cmd)
		return MHD_NO;
	struct api_stream_request r = {ns, name, arg(c, "container"), attach, cmd,
				       arg_true(c, "stdin"), arg_true(c, "stdout"),
				       arg_true(c, "stderr"), arg_true(c, "tty"), proto};
	char *msg = NULL;
	int err = ops->stream_open(ops->ctx, &r, &st->session, &msg);
	free(cmd);
	if (err < 0)
		return queue_stream_error(c, err, msg);
	st->ops = ops;
	return queue_switch(c, ops, st, proto, sub, accept);
}

/* /api/v1/namespaces/NS/pods/NAME/{log,exec,attach,portforward}: answered here when
 * streams are served, else false (the ordinary handler says 404). */
static bool pod_stream(struct listener *l, struct MHD_Connection *c, const char *url,
		       const char *method, struct conn *st, enum MHD_Result *ret)
{
	char ns[254], name[254], sub[16];
	int end = 0;
	if (!l->srv->streams ||
	    sscanf(url, "/api/v1/namespaces/%253[^/]/pods/%253[^/]/%15[a-z]%n", ns, name, sub,
		   &end) != 3 || url[end] != 0)
		return false;
	if (strcmp(sub, "log") == 0 && strcmp(method, "GET") == 0)
		*ret = serve_log(l, c, ns, name);
	else if ((strcmp(sub, "exec") == 0 || strcmp(sub, "attach") == 0) &&
		 (strcmp(method, "POST") == 0 || strcmp(method, "GET") == 0))
		*ret = serve_upgrade(l, c, st, ns, name, sub[0] == 'a', false);
	else if (strcmp(sub, "portforward") == 0 &&
		 (strcmp(method, "POST") == 0 || strcmp(method, "GET") == 0))
		*ret = serve_upgrade(l, c, st, ns, name, false, true);
	else
		return false;
	return true;
}

/* 401, and the connection closed: it has no business keeping it. */
static enum MHD_Result queue_unauthorized(struct MHD_Connection *c)
{
	json_t *st = api_status(401, "Unauthorized", "Unauthorized");
	char *text = st ? json_dumps(st, JSON_COMPACT) : NULL;
	json_decref(st);
	if (!text)
		return MHD_NO;
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text,
								 MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_UNAUTHORIZED, r);
	MHD_destroy_response(r);
	return ret;
}

/* First call of a request: refuse it before reading the body when the
 * token is missing or the announced body is too large. */
static enum MHD_Result on_headers(struct listener *l, struct MHD_Connection *c, void **con_cls)
{
	struct conn *st = calloc(1, sizeof(*st));
	if (!st)
		return MHD_NO;
	*con_cls = st;
	if (!authorized(l, c)) {
		api_logf(&l->srv->api, API_LOG_INFO, "refused a request without a valid token");
		return queue_unauthorized(c);
	}
	/* authenticated: from now on only idleness closes it */
	if (l->need_token)
		MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
					  (unsigned)API_IDLE_TIMEOUT_S);
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > API_MAX_BODY) {
		st->too_large = true;
		return too_large(c);
	}
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct listener *l = cls;
	struct conn *st = *con_cls;
	if (!st)
		return on_headers(l, c, con_cls);
	if (*upload_data_size) {
		take_body(st, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (st->too_large)
		return too_large(c);
	enum MHD_Result ret;
	if (pod_stream(l, c, url, method, st, &ret))
		return ret;
	return respond(l, c, url, method, st);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct listener *l = cls;
	struct conn *st = *con_cls;
	api_trimmer_note(&l->srv->trimmer);
	if (!st)
		return;
	if (st->session)
		st->ops->stream_abort(st->session);
	free(st->body);
	free(st);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct api_server *srv = cls;
	char *msg = NULL;
	if (!srv->api.log || vasprintf(&msg, fmt, ap) < 0)
		return;
	msg[strcspn(msg, "\n")] = 0;
	srv->api.log(srv->api.log_ctx, API_LOG_WARNING, msg);
	free(msg);
}

/* ---- listeners -------------------------------------------------------------------- */

/* At accept, before the connection gets a thread or a TLS session. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
	struct listener *l = cls;
	if (len < (socklen_t)sizeof(struct sockaddr_in) || addr->sa_family != AF_INET)
		return MHD_NO;
	return api_conns_admit(&l->conns, (const struct sockaddr_in *)addr) ? MHD_YES : MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct listener *l = cls;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!ci || !ci->client_addr || ci->client_addr->sa_family != AF_INET)
		return;
	uint16_t port = ntohs(((const struct sockaddr_in *)ci->client_addr)->sin_port);
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		api_conns_started(&l->conns, port);
	else
		api_conns_closed(&l->conns, port);
}

/* A socket file nobody answers on is left over from a crash: replace it. */
static int clear_stale_socket(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int ret = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 ? -EADDRINUSE : 0;
	close(fd);
	if (ret == 0 && unlink(sa->sun_path) < 0 && errno != ENOENT)
		ret = -errno;
	return ret;
}

static int unix_listen(const char *path, int *out, char **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return set_err(err, -ENAMETOOLONG, "socket path %s: %s", path);
	strcpy(sa.sun_path, path);
	int ret = clear_stale_socket(&sa);
	if (ret < 0)
		return set_err(err, ret, "socket %s: %s (is a daemon running?)", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return set_err(err, -errno, "socket %s: %s", path);
	/* created 0600 from the start: no window where others could connect */
	mode_t old = umask(0177);
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	umask(old);
	if (ret == 0 && (chmod(path, 0600) < 0 || listen(fd, 256) < 0))
		ret = -errno;
	if (ret < 0) {
		close(fd);
		return set_err(err, ret, "listening on %s: %s", path);
	}
	*out = fd;
	return 0;
}

static int parse_listen(const char *text, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(text, ':');
	if (!colon || (size_t)(colon - text) >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, (size_t)(colon - text));
	host[colon - text] = 0;
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || port < 0 || port > 65535)
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -EINVAL;
}

static int tcp_listen(const char *addr, int *out, int *port, char **err)
{
	struct sockaddr_in sa;
	if (parse_listen(addr, &sa) < 0)
		return set_err(err, -EINVAL, "--listen %s: %s (expected 127.0.0.1:PORT)", addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, ret = 0;
	socklen_t len = sizeof(sa);
	if (fd < 0)
		return set_err(err, -errno, "listening on %s: %s", addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 256) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		ret = -errno;
	if (ret < 0) {
		close(fd);
		return set_err(err, ret, "listening on %s: %s", addr);
	}
	*port = ntohs(sa.sin_port);
	*out = fd;
	return 0;
}

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = (char)(ch | 0x20);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Percent-decodes the path and each query key and value in place, as
 * MHD's own decoder would, except that a string with an invalid escape,
 * an escaped NUL or a result that is not UTF-8 is left as it came: MHD's
 * decoder cuts at a NUL (".../withrv%00junk" would name "withrv") and a
 * name that is not UTF-8 cannot be written back in a JSON Status. The '%'
 * left in place makes api_handle refuse the request with a Status. */
static size_t unescape_strict(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	size_t n = strlen(s), w = 0;
	char *out = malloc(n + 1);
	if (!out)
		return n;
	for (size_t r = 0; r < n; r++) {
		int hi, lo;
		if (s[r] != '%') {
			out[w++] = s[r];
			continue;
		}
		if (r + 2 >= n)
			goto keep;
		if ((hi = hex_digit(s[r + 1])) < 0 || (lo = hex_digit(s[r + 2])) < 0 ||
		    (hi == 0 && lo == 0))
			goto keep;
		out[w++] = (char)(hi << 4 | lo);
		r += 2;
	}
	if (!api_utf8_valid(out, w))
		goto keep;
	memcpy(s, out, w);
	s[w] = 0;
	free(out);
	return w;
keep:
	free(out);
	return n;
}

static int start_daemon(struct api_server *srv, struct listener *l, int fd, bool tls,
			char **err)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_ALLOW_UPGRADE |
			 (tls ? MHD_USE_TLS : 0);
	l->srv = srv;
	l->need_token = tls;
	/* MHD's own limit stays above ours so that it never refuses (and logs) first */
	if (tls)
		l->d = MHD_start_daemon(flags, 0, on_accept, l, on_request, l,
					MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
					MHD_OPTION_LISTEN_SOCKET, fd,
					MHD_OPTION_NOTIFY_COMPLETED, on_completed, l,
					MHD_OPTION_UNESCAPE_CALLBACK, unescape_strict, NULL,
					MHD_OPTION_NOTIFY_CONNECTION, on_connection, l,
					MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_MAX_CONNS + 16,
					MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_HANDSHAKE_TIMEOUT_S,
					MHD_OPTION_HTTPS_PRIORITIES, API_TLS_PRIORITIES,
					MHD_OPTION_HTTPS_MEM_KEY, srv->key,
					MHD_OPTION_HTTPS_MEM_CERT, srv->cert, MHD_OPTION_END);
	else
		l->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, l,
					MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
					MHD_OPTION_LISTEN_SOCKET, fd,
					MHD_OPTION_NOTIFY_COMPLETED, on_completed, l,
					MHD_OPTION_UNESCAPE_CALLBACK, unescape_strict, NULL,
					MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_IDLE_TIMEOUT_S,
					MHD_OPTION_END);
	if (!l->d) {
		close(fd);
		return set_msg(err, -EIO, tls ? "starting the HTTPS listener failed"
					      : "starting the unix socket listener failed");
	}
	return 0;
}

static int listener_conns_init(struct listener *l, int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return -errno;
	return api_conns_init(&l->conns, &sa);
}

static int start_tcp(struct api_server *srv, const struct api_options *o, char **err)
{
	int fd = -1;
	if (!o->state_dir)
		return set_msg(err, -EINVAL, "--listen needs a state directory for its certificates");
	int ret = api_pki_ensure(o->state_dir, err);
	if (ret == 0)
		ret = api_pki_load_server(o->state_dir, &srv->cert, &srv->key, err);
	if (ret == 0)
		ret = api_read_token(o->state_dir, &srv->token, err);
	if (ret == 0)
		ret = tcp_listen(o->listen, &fd, &srv->port, err);
	if (ret == 0 && (ret = listener_conns_init(&srv->tcp_l, fd)) < 0)
		close(fd);
	if (ret == 0)
		ret = start_daemon(srv, &srv->tcp_l, fd, true, err);
	return ret;
}

int api_start(const struct api_options *o, struct api_server **out, char **err)
{
	if (err)
		*err = NULL;
	struct api_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	json_object_seed(0);  /* before any thread makes objects */
	srv->api = (struct api){.store = o->store};
	api_ratelog_init(&srv->ratelog, o->log, o->log_ctx);
	if (o->log) {
		srv->api.log = api_ratelog_emit;
		srv->api.log_ctx = &srv->ratelog;
	}
	srv->streams = o->streams;
	int ret = api_trimmer_start(&srv->trimmer, srv->api.store), fd = -1;
	if (ret == 0 && o->socket_path) {
		if (!(srv->socket_path = strdup(o->socket_path)))
			ret = -ENOMEM;
		if (ret == 0 && (ret = unix_listen(o->socket_path, &fd, err)) < 0) {
			free(srv->socket_path);
			srv->socket_path = NULL;  /* not ours to remove */
		}
		if (ret == 0)
			ret = start_daemon(srv, &srv->unix_l, fd, false, err);
	}
	if (ret == 0 && o->listen)
		ret = start_tcp(srv, o, err);
	if (ret < 0) {
		api_stop(srv);
		return ret;
	}
	*out = srv;
	return 0;
}

int api_tcp_port(const struct api_server *srv)
{
	return srv->tcp_l.d ? srv->port : 0;
}

void api_stop(struct api_server *srv)
{
	if (!srv)
		return;
	/* watches notice within their poll interval and end their streams,
	 * so that the connection threads can be joined */
	__atomic_store_n(&srv->api.stopping, 1, __ATOMIC_RELAXED);
	if (srv->tcp_l.d)
		MHD_stop_daemon(srv->tcp_l.d);
	if (srv->unix_l.d)
		MHD_stop_daemon(srv->unix_l.d);
	api_trimmer_stop(&srv->trimmer);
	api_conns_clear(&srv->tcp_l.conns);
	api_ratelog_clear(&srv->ratelog);
	if (srv->socket_path)
		unlink(srv->socket_path);
	free(srv->socket_path);
	free(srv->token);
	free(srv->cert);
	free(srv->key);
	free(srv);
}
