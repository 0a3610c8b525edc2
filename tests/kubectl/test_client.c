/* The API client against a real API server (src/api) on a unix socket in a
 * temporary directory: requests, Status errors, text bodies, watches. */
#include "unit.h"
#include "api/api.h"
#include "client/client.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fixture {
	char dir[64], db[96], sock[96];
	struct store *s;
	struct api_server *srv;
	struct client *c;
};

static bool setup(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_client.XXXXXX");
	if (!mkdtemp(f->dir))
		return false;
	snprintf(f->db, sizeof(f->db), "%s/store.db", f->dir);
	snprintf(f->sock, sizeof(f->sock), "%s/api.sock", f->dir);
	struct store_options so = {.path = f->db};
	if (store_open(&so, &f->s, NULL) < 0)
		return false;
	json_t *ns = json_pack("{s:{s:s}}", "metadata", "name", "default");
	int ret = store_create(f->s, STORE_NAMESPACES, ns, 0, NULL);
	json_decref(ns);
	struct api_options ao = {.store = f->s, .socket_path = f->sock};
	if (ret < 0 || api_start(&ao, &f->srv, NULL) < 0)
		return false;
	struct client_options co = {.socket_path = f->sock};
	return client_new(&co, &f->c) == 0;
}

static void teardown(struct fixture *f)
{
	client_free(f->c);
	api_stop(f->srv);
	store_close(f->s);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", f->dir);
}

static json_t *pod(const char *name)
{
	return json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:[{s:s, s:s}]}}", "apiVersion", "v1",
			 "kind", "Pod", "metadata", "name", name, "labels", "app", "web", "spec",
			 "containers", "name", "c", "image", "nginx");
}

TEST(create_then_get_returns_the_stored_object)
{
	struct fixture f;
	CHECK(setup(&f));
	long status = 0;
	json_t *resp = NULL, *p = pod("web");
	int ret = client_request(f.c, "POST", "/api/v1/namespaces/default/pods", p, NULL, &status, &resp);
	json_decref(p);
	json_decref(resp);
	resp = NULL;
	bool ok = ret == 0 && status == 201;
	ret = client_request(f.c, "GET", "/api/v1/namespaces/default/pods/web", NULL, NULL, &status, &resp);
	const char *uid = json_string_value(json_object_get(json_object_get(resp, "metadata"), "uid"));
	ok = ok && ret == 0 && status == 200 && uid && *uid;
	json_decref(resp);
	teardown(&f);
	CHECK(ok);
}

TEST(a_missing_object_gives_404_and_kubectls_message)
{
	struct fixture f;
	CHECK(setup(&f));
	long status = 0;
	json_t *resp = NULL;
	int ret = client_request(f.c, "GET", "/api/v1/namespaces/default/pods/x", NULL, NULL, &status, &resp);
	char *msg = client_status_message(resp);
	bool ok = ret == 0 && status == 404 && msg &&
		  strcmp(msg, "Error from server (NotFound): pods \"x\" not found") == 0;
	if (!ok)
		fprintf(stderr, "got %d %ld %s\n", ret, status, msg ? msg : "(null)");
	free(msg);
	json_decref(resp);
	teardown(&f);
	CHECK(ok);
}

TEST(merge_patch_sends_the_given_content_type)
{
	struct fixture f;
	CHECK(setup(&f));
	long status = 0;
	json_t *resp = NULL, *p = pod("web");
	client_request(f.c, "POST", "/api/v1/namespaces/default/pods", p, NULL, &status, &resp);
	json_decref(p);
	json_decref(resp);
	json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "labels", "tier", "front");
	int ret = client_request(f.c, "PATCH", "/api/v1/namespaces/default/pods/web", patch,
				 "application/merge-patch+json", &status, &resp);
	json_decref(patch);
	json_t *labels = json_object_get(json_object_get(resp, "metadata"), "labels");
	bool ok = ret == 0 && status == 200 &&
		  json_string_value(json_object_get(labels, "tier")) &&
		  json_string_value(json_object_get(labels, "app"));
	json_decref(resp);
	teardown(&f);
	CHECK(ok);
}

TEST(text_requests_return_the_raw_body)
{
	struct fixture f;
	CHECK(setup(&f));
	long status = 0;
	char *text = NULL;
	size_t len = 0;
	int ret = client_request_text(f.c, "GET", "/version", &status, &text, &len);
	bool ok = ret == 0 && status == 200 && text && len == strlen(text) && strstr(text, "gitVersion");
	free(text);
	teardown(&f);
	CHECK(ok);
}

TEST(no_socket_file_is_enoent)
{
	struct client *c = NULL;
	struct client_options co = {.socket_path = "/tmp/test_client.does-not-exist.sock"};
	CHECK_INT(client_new(&co, &c), 0);
	long status = 0;
	json_t *resp = NULL;
	int ret = client_request(c, "GET", "/version", NULL, NULL, &status, &resp);
	client_free(c);
	CHECK_INT(ret, -ENOENT);
	CHECK(resp == NULL);
}

struct seen {
	int n;
	char types[4][16];
	char names[4][16];
};

static int on_event(void *ctx, const char *type, json_t *obj)
{
	struct seen *s = ctx;
	const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
	snprintf(s->types[s->n], sizeof(s->types[0]), "%s", type);
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name ? name : "");
	return ++s->n == 2 ? 7 : 0;
}

TEST(watch_delivers_events_in_order_until_the_callback_stops_it)
{
	struct fixture f;
	CHECK(setup(&f));
	long status = 0;
	json_t *resp = NULL, *p = pod("a");
	client_request(f.c, "POST", "/api/v1/namespaces/default/pods", p, NULL, &status, &resp);
	json_decref(p);
	json_decref(resp);
	p = pod("b");
	client_request(f.c, "POST", "/api/v1/namespaces/default/pods", p, NULL, &status, &resp);
	json_decref(p);
	json_decref(resp);
	struct seen s = {0};
	int ret = client_watch(f.c, "/api/v1/pods?watch=1&resourceVersion=1", on_event, &s);
	teardown(&f);
	CHECK_INT(ret, 7);
	CHECK_INT(s.n, 2);
	CHECK_STR(s.types[0], "ADDED");
	CHECK_STR(s.names[0], "a");
	CHECK_STR(s.names[1], "b");
}

TEST(status_message_without_reason_uses_the_code)
{
	json_t *st = json_pack("{s:s, s:i}", "message", "nope", "code", 409);
	char *msg = client_status_message(st);
	json_decref(st);
	CHECK_STR(msg, "Error from server (Conflict): nope");
	free(msg);
}
