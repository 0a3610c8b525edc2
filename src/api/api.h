/* api: the lab's Kubernetes-compatible REST API server.
 *
 * Serves the store (src/store) over HTTP with libmicrohttpd, with the
 * paths, JSON shapes and Status errors of the Kubernetes API for
 * Namespaces, Pods, Services, Endpoints (core/v1), Deployments (apps/v1)
 * and NetworkPolicies (networking.k8s.io/v1): discovery, list, get,
 * create, update, patch (merge, strategic merge, JSON patch), delete,
 * labelSelector/fieldSelector and watch.
 *
 * Two listeners: a unix socket (mode 0600, no token: the file mode is the
 * access control) for the netpol CLI, and optionally 127.0.0.1:PORT with
 * TLS and bearer-token authentication for kubectl. The TLS material and
 * the token are made at first start in the state directory and reused.
 *
 * The library never prints: it reports through the log callback.
 */
#ifndef NETPOL_API_H
#define NETPOL_API_H

#include "../store/store.h"

#include <sys/types.h>

/* Files under the state directory (made by api_pki_ensure). */
#define API_CA_CERT_FILE "pki/ca.crt"
#define API_CA_KEY_FILE "pki/ca.key"
#define API_SERVER_CERT_FILE "pki/apiserver.crt"
#define API_SERVER_KEY_FILE "pki/apiserver.key"
#define API_TOKEN_FILE "token"

/* Requests with bodies larger than this are refused (413). */
#define API_MAX_BODY (3u * 1024 * 1024)

/* Bounds on what clients can make the server spend (guard.c says why).
 * The TLS listener holds at most API_MAX_CONNS connections; each uid but
 * root at most API_MAX_CONNS_PER_UID, and all of them together at most
 * API_MAX_CONNS - API_ROOT_RESERVE. Beyond that a connection is closed at
 * accept, before it gets a thread. */
#define API_MAX_CONNS 512
#define API_MAX_CONNS_PER_UID 64
#define API_ROOT_RESERVE 128
/* And each uid but root may open at most API_NEW_CONNS_PER_S connections a
 * second (after a burst of API_NEW_CONNS_BURST). */
#define API_NEW_CONNS_PER_S 10
#define API_NEW_CONNS_BURST 64
/* A TLS connection is closed after API_HANDSHAKE_TIMEOUT_S without traffic
 * until it has sent a request with a valid token (and at once after a
 * 401); after that, and on the unix socket, after API_IDLE_TIMEOUT_S idle
 * (longer than the 90 s and 118 s after which Go's and curl's clients
 * stop reusing one). These are libmicrohttpd's inactivity timeouts: a
 * client trickling bytes keeps its connection, within its uid's share. A watch or a log stream is not idle while it waits for data; a
 * watch whose client stops reading is closed by the same timeout once
 * its socket buffers are full. */
#define API_HANDSHAKE_TIMEOUT_S 10
#define API_IDLE_TIMEOUT_S 120
/* Log lines: a burst of API_LOG_BURST, then API_LOG_PER_S per second, and
 * one "N messages suppressed" line for what was dropped; debug lines (-v)
 * have their own allowance. */
#define API_LOG_BURST 20
#define API_LOG_PER_S 1
#define API_LOG_DEBUG_BURST 1000
#define API_LOG_DEBUG_PER_S 200

enum api_log_level { API_LOG_ERROR, API_LOG_WARNING, API_LOG_INFO, API_LOG_DEBUG };
typedef void (*api_log_fn)(void *ctx, enum api_log_level level, const char *msg);

/* Pod streams (log, exec, attach), served by whoever runs the pods (the
 * daemon's kubelet) so that this library does not depend on the runtime. */
/* netpol's own framing (contracts.md), or kubectl's WebSocket channel
 * protocols: v4.channel.k8s.io (exit status as a metav1.Status JSON on
 * channel 3, resize as JSON on channel 4) and v5, which adds channel 255
 * to close a stream (stdin). Port-forward is SPDY/3.1 (portforward.c). */
enum api_stream_proto { API_STREAM_NETPOL, API_STREAM_WS_V4, API_STREAM_WS_V5,
			/* port-forward: SPDY/3.1, plain or inside WebSocket */
			API_STREAM_PF_SPDY, API_STREAM_PF_WS };

struct api_stream_request {
	const char *ns, *name;
	const char *container;       /* NULL: the first */
	bool attach;                 /* attach, else exec */
	const char *const *command;  /* exec: NULL-terminated */
	bool in, out, err, tty;      /* stdin, stdout, stderr, tty */
	enum api_stream_proto proto; /* the framing on the upgraded connection */
};

struct api_log_request {
	const char *ns, *name;
	const char *container;       /* NULL: the first */
	bool follow;
	long tail_lines;             /* -1: all */
	bool previous;               /* the run before the current one */
};

struct api_pod_streams {
	void *ctx;
	/* exec/attach: checks the request and prepares a session. Returns 0
	 * and *session, or -ENOENT (404), -EINVAL (400) or -EBUSY (409, pod
	 * not running) with *msg (caller frees) saying why. */
	int (*stream_open)(void *ctx, const struct api_stream_request *r,
			   void **session, char **msg);
	/* Runs the session over fd, the upgraded connection, with the framed
	 * protocol (contracts.md); extra holds bytes the client sent after
	 * the request. Blocks until the session ends, then frees it. The
	 * caller closes fd. */
	void (*stream_run)(void *session, int fd, const char *extra, size_t n);
	/* Frees a session that will not run. */
	void (*stream_abort)(void *session);
	/* Log: 0 and *reader, or -errno and *msg as stream_open. */
	int (*log_open)(void *ctx, const struct api_log_request *r, void **reader,
			char **msg);
	/* Next bytes into buf: a count, 0 when nothing came within wait_ms,
	 * -1 at the end (not following, or the pod is gone). */
	ssize_t (*log_read)(void *reader, char *buf, size_t max, int wait_ms);
	void (*log_close)(void *reader);
};

/* Options; zero-initialise, then set what you need (the struct may grow). */
struct api_options {
	struct store *store;     /* borrowed; must outlive the server */
	const char *socket_path; /* unix socket to create; NULL = none */
	const char *listen;      /* "127.0.0.1:PORT" (PORT 0 = any free); NULL = none */
	const char *state_dir;   /* TLS material and token; needed with listen */
	api_log_fn log;          /* may be NULL */
	void *log_ctx;
	/* pods/NAME/log, exec, attach; NULL: those answer 404. Borrowed. */
	const struct api_pod_streams *streams;
};

struct api_server;

/* Starts serving on background threads. On failure returns -errno and,
 * when err is non-NULL, sets *err to a message the caller frees. A stale
 * socket file (nobody listening) is replaced; a live one is -EADDRINUSE. */
int api_start(const struct api_options *o, struct api_server **out, char **err);

/* The TCP port actually listened on (useful with PORT 0), or 0. */
int api_tcp_port(const struct api_server *srv);

/* Ends open watches, stops the listeners, removes the socket file and
 * frees. api_stop(NULL) is a no-op. */
void api_stop(struct api_server *srv);

/* Makes STATE_DIR/pki (a lab CA and a server certificate for 127.0.0.1
 * and localhost, ECDSA P-256, signed by the CA) and STATE_DIR/token (a
 * random bearer token, mode 0600) unless they exist. Returns 0 or -errno
 * with *err set as above. */
int api_pki_ensure(const char *state_dir, char **err);

/* Reads STATE_DIR/token into *token (caller frees). */
int api_read_token(const char *state_dir, char **token, char **err);

#endif
