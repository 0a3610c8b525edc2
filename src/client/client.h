/* client: HTTP/JSON client of the lab's Kubernetes-compatible API, over the
 * daemon's unix socket (or https://127.0.0.1:PORT with a bearer token),
 * built on libcurl. Used by the kubectl verbs and by the agent (which must
 * be able to run against any API server speaking list/watch).
 *
 * Library code: never prints. Errors come back as -errno plus, for HTTP
 * errors, the Kubernetes Status object the server sent.
 */
#ifndef NETPOL_CLIENT_H
#define NETPOL_CLIENT_H

#include <jansson.h>
#include <stdbool.h>

struct client;

struct client_options {
	const char *socket_path;  /* unix socket; or NULL with server set */
	const char *server;       /* "https://127.0.0.1:PORT" when no socket */
	const char *ca_file;      /* with server */
	const char *token;        /* bearer token, with server */
	int timeout_ms;           /* per request (not watch); 0 = 30 s */
};

int client_new(const struct client_options *o, struct client **out);
void client_free(struct client *c);

/* One request. body may be NULL; content_type defaults to
 * application/json (use "application/merge-patch+json" or
 * "application/strategic-merge-patch+json" for PATCH). On any HTTP answer
 * returns 0 with *status set and *response the parsed JSON body (NULL when
 * the body is not JSON; caller decrefs). Transport failures: -errno
 * (-ECONNREFUSED / -ENOENT when no daemon listens). */
int client_request(struct client *c, const char *method, const char *path,
		   json_t *body, const char *content_type, long *status,
		   json_t **response);

/* Raw body variant, for text endpoints such as pods/NAME/log. *out is
 * NUL-terminated; caller frees. */
int client_request_text(struct client *c, const char *method, const char *path,
			long *status, char **out, size_t *len);

/* A GET whose body is passed to fn as it arrives (e.g. logs?follow=true)
 * when the answer is 200; any other answer's body is returned as
 * *response (parsed JSON, or NULL). fn returning non-zero stops the
 * transfer (that value is returned). */
typedef int (*client_chunk_fn)(void *ctx, const char *data, size_t len);
int client_get_chunks(struct client *c, const char *path, client_chunk_fn fn, void *ctx,
		      long *status, json_t **response);

/* Streams a watch (path must include ?watch=1...): calls fn for every
 * WatchEvent ({"type":..,"object":..}) in order until fn returns non-zero
 * (that value is returned), the server ends the stream (returns 0), or a
 * transport error (-errno). A 410 Gone answer returns -ERANGE. */
typedef int (*client_watch_fn)(void *ctx, const char *type, json_t *object);
int client_watch(struct client *c, const char *path, client_watch_fn fn, void *ctx);

/* The Accept header of later requests (e.g. kubectl's Table:
 * "application/json;as=Table;v=v1;g=meta.k8s.io"); NULL restores
 * application/json. Returns 0 or -ENOMEM. */
int client_set_accept(struct client *c, const char *accept);

/* ---- pod streams (exec, attach) ----------------------------------------------
 * POST path with "Upgrade: netpol-stream"; after 101 the connection carries
 * frames: 1 byte channel, 4 bytes big-endian length, payload. */
enum { CLIENT_CH_STDIN = 0, CLIENT_CH_STDOUT = 1, CLIENT_CH_STDERR = 2,
       CLIENT_CH_EXIT = 3, CLIENT_CH_RESIZE = 4 };

struct client_stream;

/* Opens a stream on its own connection. On 101 returns 0 with *out set.
 * Any other HTTP answer returns 0 with *out NULL, *status set and
 * *response the Status body (or NULL). Transport failures: -errno. */
int client_stream_open(struct client *c, const char *path, long *status,
		       json_t **response, struct client_stream **out);
/* The socket, to poll for POLLIN before client_stream_fill. */
int client_stream_fd(struct client_stream *s);
/* Reads what the connection has: bytes read (> 0), 0 at end of stream,
 * -EAGAIN when nothing was ready, or -errno. */
int client_stream_fill(struct client_stream *s);
/* Takes the next complete frame out of what was read: returns 1 with
 * *channel, *data (valid until the next call on s) and *len, or 0. */
int client_stream_frame(struct client_stream *s, int *channel, const char **data,
			size_t *len);
/* Sends one frame (blocking until written). Returns 0 or -errno. */
int client_stream_send(struct client_stream *s, int channel, const void *data,
		       size_t len);
void client_stream_close(struct client_stream *s);

/* "Error from server (NotFound): pods \"x\" not found" as kubectl prints a
 * Status; caller frees. */
char *client_status_message(json_t *status);

#endif
