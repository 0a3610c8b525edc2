/* Fuzzes the API server's request handling (api_handle, everything but
 * HTTP itself): the input is split into a request,
 *
 *   METHOD \n PATH \n QUERY \n CONTENT-TYPE \n ACCEPT \n BODY
 *
 * (QUERY as "k=v&k=v", already percent-decoded as the HTTP layer hands it
 * over; an empty line is an absent header), and answered against a fresh
 * store in a temporary directory holding the Namespace "default" and the
 * Pod "default/web", so that reads, patches and deletes meet an object.
 * A fresh store per input keeps runs deterministic and bounded: nothing
 * carries over or grows from one input to the next.
 *
 * Invariants: every request gets a response with an HTTP code and either
 * a JSON body that serialises or a watch; nothing crashes or leaks. */
#include "api/api_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_QUERY 16

static char dir[64], db[96];

static void remove_store(void)
{
	static const char *const suffix[] = {"", "-wal", "-shm"};
	char p[128];
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", db, suffix[i]);
		unlink(p);
	}
}

static void remove_dir(void)
{
	remove_store();
	rmdir(dir);
}

/* On tmpfs when there is one: every write is synced. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/fuzz_api.XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(db, sizeof(db), "%s/store.db", dir);
	atexit(remove_dir);
	return 0;
}

static struct store *fresh_store(void)
{
	static const char *const seeds[][2] = {
		{"namespaces", "{\"metadata\":{\"name\":\"default\"}}"},
		{"pods", "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\",\"labels\":"
			 "{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":"
			 "\"nginx\",\"ports\":[{\"containerPort\":80}]}]}}"},
	};
	struct store_options o = {.path = db, .event_log_size = 64};
	struct store *s = NULL;
	remove_store();
	if (store_open(&o, &s, NULL) < 0)
		abort();
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		enum store_resource r;
		json_t *obj = json_loads(seeds[i][1], 0, NULL);
		if (store_resource_parse(seeds[i][0], &r) < 0 || !obj ||
		    store_create(s, r, obj, 0, NULL) < 0)
			abort();
		json_decref(obj);
	}
	return s;
}

/* The next '\n'-terminated field of the input, NUL-terminated in place
 * (the copy the caller made); the rest when there is no '\n'. */
static char *next_field(char **cur, char *end)
{
	char *start = *cur, *nl = memchr(start, '\n', (size_t)(end - start));
	if (!nl) {
		*cur = end;
		return start;
	}
	*nl = 0;
	*cur = nl + 1;
	return start;
}

static size_t split_query(char *q, struct api_query *out)
{
	size_t n = 0;
	char *save = NULL;
	for (char *kv = strtok_r(q, "&", &save); kv && n < MAX_QUERY;
	     kv = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(kv, '=');
		if (eq)
			*eq++ = 0;
		out[n++] = (struct api_query){kv, eq};
	}
	return n;
}

/* A watch is read a little: its first events are the current state. */
static void drain_watch(struct api_watch *w)
{
	char buf[4096];
	for (int i = 0; i < 4 && api_watch_read(w, buf, sizeof(buf), 0) > 0; i++)
		;
}

static void check_response(struct api_response *resp)
{
	if (resp->code < 100 || resp->code > 599 || (!resp->body && !resp->watch))
		abort();
	if (resp->body) {
		char *text = json_dumps(resp->body, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!text)
			abort();
		free(text);
	}
	if (resp->watch)
		drain_watch(resp->watch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *cur = copy, *end = copy + size;
	struct api_query q[MAX_QUERY];
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = 0;
	char *method = next_field(&cur, end), *path = next_field(&cur, end);
	char *query = next_field(&cur, end), *ctype = next_field(&cur, end);
	char *accept = next_field(&cur, end);
	struct api_request req = {
		.method = method, .path = path, .query = q, .nquery = split_query(query, q),
		.content_type = *ctype ? ctype : NULL, .accept = *accept ? accept : NULL,
		.body = cur < end ? cur : NULL, .body_len = (size_t)(end - cur),
	};
	struct store *s = fresh_store();
	struct api api = {.store = s};
	struct api_response resp;
	api_handle(&api, &req, &resp);
	check_response(&resp);
	api_response_clear(&resp);
	store_close(s);
	free(copy);
	return 0;
}
