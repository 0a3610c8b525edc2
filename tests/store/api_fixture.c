/* The fixture of the API's unit tests: a store in a temporary directory
 * and requests handed straight to api_handle. */
#include "api_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool setup(struct fixture *f, long log_size)
{
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_api.XXXXXX");
	if (!mkdtemp(f->dir))
		return false;
	snprintf(f->path, sizeof(f->path), "%s/store.db", f->dir);
	struct store_options o = {.path = f->path, .event_log_size = log_size};
	if (store_open(&o, &f->s, NULL) < 0)
		return false;
	f->api = (struct api){.store = f->s};
	json_t *ns = json_pack("{s:{s:s}}", "metadata", "name", "default");
	int ret = store_create(f->s, STORE_NAMESPACES, ns, 0, NULL);
	json_decref(ns);
	return ret == 0;
}

void teardown(struct fixture *f)
{
	char p[128];
	store_close(f->s);
	const char *suffix[] = {"", "-wal", "-shm"};
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
		unlink(p);
	}
	rmdir(f->dir);
}

struct api_response call_full(struct fixture *f, const char *method, const char *path,
				     const char *query, const char *ctype, const char *accept,
				     const char *body)
{
	struct api_query q[8];
	char qbuf[512];
	size_t nq = 0;
	if (query) {
		snprintf(qbuf, sizeof(qbuf), "%s", query);
		char *save = NULL;
		for (char *kv = strtok_r(qbuf, "&", &save); kv && nq < 8; kv = strtok_r(NULL, "&", &save)) {
			char *eq = strchr(kv, '=');
			if (eq)
				*eq = 0;
			q[nq++] = (struct api_query){kv, eq ? eq + 1 : ""};
		}
	}
	struct api_request req = {
		.method = method, .path = path, .query = q, .nquery = nq,
		.content_type = ctype ? ctype : "application/json", .accept = accept,
		.body = body, .body_len = body ? strlen(body) : 0,
	};
	struct api_response resp;
	api_handle(&f->api, &req, &resp);
	return resp;
}

struct api_response call(struct fixture *f, const char *method, const char *path,
				const char *body)
{
	return call_full(f, method, path, NULL, NULL, NULL, body);
}

int code_of(struct fixture *f, const char *method, const char *path, const char *body)
{
	struct api_response r = call(f, method, path, body);
	int code = r.code;
	api_response_clear(&r);
	return code;
}

json_t *at(json_t *v, const char *path)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	char *save = NULL;
	for (char *k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save)) {
		char *end;
		long i = strtol(k, &end, 10);
		v = *end == 0 && json_is_array(v) ? json_array_get(v, (size_t)i) : json_object_get(v, k);
	}
	return v;
}

const char *str_at(json_t *v, const char *path)
{
	return json_string_value(at(v, path));
}

const char pod_web[] =
	"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\","
	"\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"c\","
	"\"image\":\"nginx\",\"ports\":[{\"containerPort\":80}]}]}}";

char *item_names(json_t *list)
{
	char *out = calloc(1, 256);
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(list, "items"), i, o) {
		strcat(out, i ? " " : "");
		strcat(out, str_at(o, "metadata.name"));
	}
	return out;
}
