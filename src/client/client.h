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

/* Streams a watch (path must include ?watch=1...): calls fn for every
 * WatchEvent ({"type":..,"object":..}) in order until fn returns non-zero
 * (that value is returned), the server ends the stream (returns 0), or a
 * transport error (-errno). A 410 Gone answer returns -ERANGE. */
typedef int (*client_watch_fn)(void *ctx, const char *type, json_t *object);
int client_watch(struct client *c, const char *path, client_watch_fn fn, void *ctx);

/* "Error from server (NotFound): pods \"x\" not found" as kubectl prints a
 * Status; caller frees. */
char *client_status_message(json_t *status);

#endif
