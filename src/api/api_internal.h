/* Internals shared by the API server's files. The HTTP layer (server.c)
 * turns each request into a struct api_request and hands it to
 * api_handle, which knows nothing of HTTP libraries; unit tests call
 * api_handle directly. */
#ifndef NETPOL_API_INTERNAL_H
#define NETPOL_API_INTERNAL_H

#include "api.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <time.h>
#include <stdbool.h>
#include <sys/types.h>

struct api {
	struct store *store;
	api_log_fn log;
	void *log_ctx;
	int stopping;                /* set (atomically) when shutting down */
};

struct api_query {
	const char *key, *value;
};

struct api_request {
	const char *method;
	const char *path;            /* without the query string */
	const struct api_query *query;
	size_t nquery;
	const char *content_type;    /* may be NULL */
	const char *accept;          /* may be NULL */
	const char *body;            /* may be NULL */
	size_t body_len;
};

struct api_watch;

struct api_response {
	int code;
	json_t *body;                /* owned; NULL with a watch */
	const char *content_type;    /* static; NULL = application/json */
	struct api_watch *watch;     /* owned; a streaming response */
};

/* handlers.c: answers one request; always fills resp. */
void api_handle(struct api *api, const struct api_request *req,
		struct api_response *resp);
void api_response_clear(struct api_response *resp);
const char *api_query_get(const struct api_request *req, const char *key);
/* True when obj passes every fieldSelector term ([[path, value, neq]]). */
bool api_fields_match(json_t *fields, json_t *obj);
void api_logf(struct api *api, enum api_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* status.c: Kubernetes Status objects. reason is e.g. "NotFound". */
json_t *api_status(int code, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Fills resp with a Status. */
void api_fail(struct api_response *resp, int code, const char *reason,
	      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* True when the n bytes at s are UTF-8 (RFC 3629). */
bool api_utf8_valid(const char *s, size_t n);
/* Sets details {name, group, kind} on a Status. */
void api_status_details(json_t *status, const char *name, const char *group,
			const char *kind);
/* The Status for a store error on resource r / name. */
void api_fail_store(struct api_response *resp, int err, enum store_resource r,
		    const char *name);
/* 422 Invalid with details.causes ([{reason, message, field}]). */
void api_fail_invalid(struct api_response *resp, enum store_resource r,
		      const char *name, json_t *causes);
const char *api_resource_group(enum store_resource r);

/* validate.c: the checks the API server makes before storing obj.
 * Appends {reason, message, field} causes; returns how many. */
size_t api_validate(enum store_resource r, json_t *obj, bool creating,
		    json_t *causes);

/* patch.c */
/* RFC 7386 JSON merge patch: returns the patched value (new reference). */
json_t *api_merge_patch(json_t *target, json_t *patch);
/* Strategic merge patch for the kinds we serve, applied to obj in place.
 * Returns 0, or -EINVAL with *err (caller frees) for a malformed patch. */
int api_strategic_merge_patch(enum store_resource r, json_t *obj, json_t *patch,
			      char **err);
/* RFC 6902 JSON patch. Returns the patched document in *out, or -EINVAL
 * with *err set. */
int api_json_patch(json_t *doc, json_t *ops, json_t **out, char **err);

/* protobuf.c: a Kubernetes protobuf body (only Namespace is understood;
 * -ENOTSUP for other kinds, -EINVAL when malformed; *err says why). */
int api_protobuf_decode(const void *buf, size_t len, json_t **out, char **err);

/* discovery.c: /version, /api, /apis..., or false when path is not one. */
bool api_discovery(struct api *api, const struct api_request *req,
		   struct api_response *resp);

/* table.c: a meta.k8s.io/v1 Table of objects of r, as kubectl get prints
 * them. items is an array of objects; list_meta may be NULL. */
json_t *api_table(enum store_resource r, json_t *items, json_t *list_meta,
		  bool include_object);
bool api_wants_table(const struct api_request *req);

/* pki.c: the server's certificate and key, PEM, for the TLS listener. */
int api_pki_load_server(const char *state_dir, char **cert, char **key, char **err);

/* watch.c */
struct api_watch_params {
	enum store_resource resource;
	struct store_filter filter;  /* borrowed during api_watch_start */
	const char *rv;              /* resourceVersion query parameter */
	long timeout_s;              /* 0 = none */
	bool table;                  /* events carry Table rows */
};
/* Opens a watch; -ERANGE when rv is older than the kept log. */
int api_watch_start(struct api *api, const struct api_watch_params *p,
		    struct api_watch **out);
/* Next bytes of the stream into buf (at most max). Waits up to wait_ms
 * for an event. Returns the byte count, 0 when nothing came in time, or
 * -1 at the end of the stream (timeout, shutdown, too far behind). */
/* Extra fieldSelector terms ([[path, value, neq]]) to check per event. */
void api_watch_set_fields(struct api_watch *w, json_t *fields);
ssize_t api_watch_read(struct api_watch *w, char *buf, size_t max, int wait_ms);
void api_watch_free(struct api_watch *w);

/* guard.c: defences against hostile clients. */
struct sockaddr_in;
/* The uid owning the client end of a loopback TCP connection to server:
 * 0, -ENOENT when no process holds it any more, or -errno. */
int api_peer_uid(const struct sockaddr_in *client, const struct sockaddr_in *server,
		 uid_t *uid);

struct api_conn_slot {
	uint16_t port;               /* the client's: unique among live ones */
	uid_t uid;
	bool started;                /* libmicrohttpd set the connection up */
	time_t since;
};

struct api_bucket {
	double tokens, last;
};

/* New connections of one uid (at most API_RATE_UIDS are remembered). */
#define API_RATE_UIDS 32
struct api_uid_rate {
	uid_t uid;
	struct api_bucket bucket;
};

/* Connections of one listener, per uid (at most API_MAX_CONNS slots). */
struct api_conns {
	pthread_mutex_t mu;
	struct sockaddr_in server;
	struct api_conn_slot *slots;
	size_t n;
	struct api_uid_rate rates[API_RATE_UIDS];
	size_t nrates;
	unsigned long refused;
};
int api_conns_init(struct api_conns *c, const struct sockaddr_in *server);
void api_conns_clear(struct api_conns *c);
/* At accept: true when the client may have one more connection. */
bool api_conns_admit(struct api_conns *c, const struct sockaddr_in *client);
void api_conns_started(struct api_conns *c, uint16_t port);
void api_conns_closed(struct api_conns *c, uint16_t port);


/* Wraps a log callback with a rate limit (api_ratelog_emit is an
 * api_log_fn whose ctx is the struct api_ratelog). */
struct api_ratelog {
	pthread_mutex_t mu;
	api_log_fn log;
	void *ctx;
	struct api_bucket normal, debug;
	unsigned long suppressed, debug_suppressed;
};
void api_ratelog_init(struct api_ratelog *rl, api_log_fn log, void *ctx);
void api_ratelog_clear(struct api_ratelog *rl);
void api_ratelog_emit(void *ctx, enum api_log_level level, const char *msg);

/* Returns freed memory to the system (malloc_trim) after requests end, at
 * most once a second, on a thread of its own. */
struct api_trimmer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool dirty, stop, running;
	struct store *store;         /* its page cache is given back too */
};
int api_trimmer_start(struct api_trimmer *t, struct store *store);
void api_trimmer_note(struct api_trimmer *t);  /* a request ended */
void api_trimmer_stop(struct api_trimmer *t);

#endif
