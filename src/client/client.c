/* client.c: requests to the lab API with libcurl. One easy handle per
 * client, reused, so consecutive requests share one connection (a CLI run
 * or the agent's list+watch pay the connect once). */
#include "client.h"
#include "client_internal.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

void client_free(struct client *c)
{
	if (!c)
		return;
	if (c->easy)
		curl_easy_cleanup(c->easy);
	free(c->socket_path);
	free(c->server);
	free(c->ca_file);
	free(c->token);
	free(c->accept);
	free(c);
}

int client_new(const struct client_options *o, struct client **out)
{
	*out = NULL;
	if (!o || (!o->socket_path && !o->server))
		return -EINVAL;
	pthread_once(&global_once, global_init);
	struct client *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->socket_path = dup_or_null(o->socket_path);
	c->server = strdup(o->socket_path ? "http://lab" : o->server);
	c->ca_file = dup_or_null(o->ca_file);
	c->token = dup_or_null(o->token);
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 30000;
	c->easy = curl_easy_init();
	if (!c->server || !c->easy || (o->socket_path && !c->socket_path) ||
	    (o->ca_file && !c->ca_file) || (o->token && !c->token)) {
		client_free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

/* ---- buffers ------------------------------------------------------------- */

int client_buf_append(struct client_buf *b, const void *data, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->data, cap);
		if (!p)
			return -ENOMEM;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct client_buf *b = ctx;
	return client_buf_append(b, data, size * nmemb) < 0 ? 0 : size * nmemb;
}

/* ---- one request ----------------------------------------------------------- */

/* Transport errors as -errno. A unix socket that does not exist is -ENOENT
 * so callers can tell "no daemon" from "daemon broken". */
int client_curl_error(struct client *c, CURLcode rc)
{
	struct stat st;
	switch (rc) {
	case CURLE_OK:
		return 0;
	case CURLE_COULDNT_CONNECT:
		if (c->socket_path && stat(c->socket_path, &st) < 0)
			return -ENOENT;
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CACERT_BADFILE:
		return -EPROTO;
	case CURLE_WRITE_ERROR:
		return -ECANCELED;
	default:
		return -EIO;
	}
}

/* Resets the handle to this client's connection settings and path. */
int client_prepare(struct client *c, const char *method, const char *path,
		   struct curl_slist **headers, const char *content_type)
{
	CURL *e = c->easy;
	char *url = NULL;
	if (asprintf(&url, "%s%s", c->server, path) < 0)
		return -ENOMEM;
	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, url);
	free(url); /* libcurl copies strings it is given */
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	if (c->socket_path)
		curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, c->socket_path);
	if (c->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	struct curl_slist *h = NULL;
	char line[512];
	snprintf(line, sizeof(line), "Accept: %s", c->accept ? c->accept : "application/json");
	h = curl_slist_append(h, line);
	if (content_type) {
		snprintf(line, sizeof(line), "Content-Type: %s", content_type);
		h = curl_slist_append(h, line);
	}
	if (c->token) {
		char *auth = NULL;
		if (asprintf(&auth, "Authorization: Bearer %s", c->token) < 0) {
			curl_slist_free_all(h);
			return -ENOMEM;
		}
		h = curl_slist_append(h, auth);
		free(auth);
	}
	/* no "Expect: 100-continue" round trip before bodies */
	h = curl_slist_append(h, "Expect:");
	if (!h)
		return -ENOMEM;
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	*headers = h;
	return 0;
}

static int perform(struct client *c, const char *method, const char *path, const char *body,
		   const char *content_type, long *status, struct client_buf *out)
{
	struct curl_slist *h = NULL;
	int ret = client_prepare(c, method, path, &h,
				 body ? (content_type ? content_type : "application/json") : NULL);
	if (ret < 0)
		return ret;
	CURL *e = c->easy;
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
	if (body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	ret = client_curl_error(c, curl_easy_perform(e));
	if (ret == 0)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
	return ret;
}

int client_request(struct client *c, const char *method, const char *path,
		   json_t *body, const char *content_type, long *status,
		   json_t **response)
{
	*response = NULL;
	char *text = NULL;
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		if (!text)
			return -ENOMEM;
	}
	struct client_buf out = {0};
	int ret = perform(c, method, path, text, content_type, status, &out);
	if (ret == 0 && out.len > 0)
		*response = json_loadb(out.data, out.len, 0, NULL);
	free(text);
	free(out.data);
	return ret;
}

int client_request_text(struct client *c, const char *method, const char *path,
			long *status, char **out, size_t *len)
{
	*out = NULL;
	if (len)
		*len = 0;
	struct client_buf b = {0};
	int ret = perform(c, method, path, NULL, NULL, status, &b);
	if (ret == 0 && !b.data)
		ret = client_buf_append(&b, "", 0);
	if (ret < 0) {
		free(b.data);
		return ret;
	}
	*out = b.data;
	if (len)
		*len = b.len;
	return 0;
}

/* ---- chunks ---------------------------------------------------------------- */

struct chunk_ctx {
	struct client *c;
	client_chunk_fn fn;
	void *ctx;
	long status;
	int result;
	struct client_buf other; /* a non-200 answer's body */
};

static size_t on_chunk(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct chunk_ctx *k = ctx;
	size_t n = size * nmemb;
	if (!k->status)
		curl_easy_getinfo(k->c->easy, CURLINFO_RESPONSE_CODE, &k->status);
	if (k->status != 200)
		return client_buf_append(&k->other, data, n) < 0 ? 0 : n;
	k->result = k->fn(k->ctx, data, n);
	return k->result ? 0 : n;
}

int client_get_chunks(struct client *c, const char *path, client_chunk_fn fn, void *ctx,
		      long *status, json_t **response)
{
	struct chunk_ctx k = {.c = c, .fn = fn, .ctx = ctx};
	struct curl_slist *h = NULL;
	*response = NULL;
	int ret = client_prepare(c, "GET", path, &h, NULL);
	if (ret < 0)
		return ret;
	CURL *e = c->easy;
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_chunk);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &k);
	ret = client_curl_error(c, curl_easy_perform(e));
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
	if (k.result)
		ret = k.result;
	if (k.other.len)
		*response = json_loadb(k.other.data, k.other.len, 0, NULL);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
	free(k.other.data);
	return ret;
}

/* ---- watch ----------------------------------------------------------------- */

struct watch_ctx {
	struct client *c;
	client_watch_fn fn;
	void *ctx;
	struct client_buf line;
	long status;      /* HTTP status, read at the first body bytes */
	int result;       /* fn's non-zero answer, or -ERANGE */
};

/* Handles one newline-terminated event; returns non-zero to stop. */
static int watch_event(struct watch_ctx *w, const char *text, size_t n)
{
	json_t *ev = json_loadb(text, n, 0, NULL);
	if (!ev)
		return 0; /* blank keep-alive lines */
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *obj = json_object_get(ev, "object");
	int ret = 0;
	if (type && strcmp(type, "ERROR") == 0 &&
	    json_integer_value(json_object_get(obj, "code")) == 410)
		ret = -ERANGE;
	else if (type && obj)
		ret = w->fn(w->ctx, type, obj);
	json_decref(ev);
	return ret;
}

static size_t on_watch(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct watch_ctx *w = ctx;
	size_t n = size * nmemb;
	if (!w->status)
		curl_easy_getinfo(w->c->easy, CURLINFO_RESPONSE_CODE, &w->status);
	if (client_buf_append(&w->line, data, n) < 0)
		return 0;
	if (w->status != 200)
		return n; /* keep the Status body; judged after the transfer */
	char *start = w->line.data, *nl;
	while ((nl = memchr(start, '\n', w->line.len - (size_t)(start - w->line.data)))) {
		int ret = watch_event(w, start, (size_t)(nl - start));
		start = nl + 1;
		if (ret) {
			w->result = ret;
			return 0;
		}
	}
	size_t rest = w->line.len - (size_t)(start - w->line.data);
	memmove(w->line.data, start, rest);
	w->line.len = rest;
	w->line.data[rest] = '\0';
	return n;
}

int client_watch(struct client *c, const char *path, client_watch_fn fn, void *ctx)
{
	struct watch_ctx w = {.c = c, .fn = fn, .ctx = ctx};
	struct curl_slist *h = NULL;
	int ret = client_prepare(c, "GET", path, &h, NULL);
	if (ret < 0)
		return ret;
	CURL *e = c->easy;
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_watch);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &w);
	ret = client_curl_error(c, curl_easy_perform(e));
	if (w.result)
		ret = w.result; /* fn stopped us (or 410 in the stream) */
	else if (ret == 0) {
		long status = 0;
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
		if (status == 410)
			ret = -ERANGE;
		else if (status != 200)
			ret = status == 404 ? -ENOENT : status == 401 || status == 403 ? -EACCES : -EPROTO;
		else if (w.line.len > 0)
			ret = watch_event(&w, w.line.data, w.line.len);
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
	free(w.line.data);
	return ret;
}

int client_set_accept(struct client *c, const char *accept)
{
	char *a = NULL;
	if (accept && !(a = strdup(accept)))
		return -ENOMEM;
	free(c->accept);
	c->accept = a;
	return 0;
}

/* ---- messages --------------------------------------------------------------- */

char *client_status_message(json_t *status)
{
	const char *reason = json_string_value(json_object_get(status, "reason"));
	const char *msg = json_string_value(json_object_get(status, "message"));
	long code = (long)json_integer_value(json_object_get(status, "code"));
	char *out = NULL;
	if (!msg)
		msg = "an error on the server has prevented the request from succeeding";
	if (!reason || !*reason) {
		/* kubectl's fallbacks for Status objects without a reason */
		switch (code) {
		case 401: reason = "Unauthorized"; break;
		case 403: reason = "Forbidden"; break;
		case 404: reason = "NotFound"; break;
		case 409: reason = "Conflict"; break;
		case 422: reason = "Invalid"; break;
		default: reason = NULL;
		}
	}
	int n = reason ? asprintf(&out, "Error from server (%s): %s", reason, msg)
		       : asprintf(&out, "Error from server: %s", msg);
	return n < 0 ? NULL : out;
}
