/* What the API server refuses, and what a client can therefore never
 * store: validation of every served kind (issue 12), concurrency checks,
 * strict paths and query numbers. Requests go straight to api_handle. */
#include "unit.h"
#include "api_fixture.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* {"metadata":{"name":NAME},"spec":{"a":{"a":...{}}}} nested depth levels. */
static char *deep_namespace(const char *name, int depth)
{
	size_t len = strlen(name) + (size_t)depth * 6 + 64;
	char *s = malloc(len), *p = s;
	p += sprintf(p, "{\"metadata\":{\"name\":\"%s\"},\"spec\":", name);
	for (int i = 0; i < depth; i++)
		p += sprintf(p, "{\"a\":");
	p += sprintf(p, "{}");
	for (int i = 0; i < depth; i++)
		*p++ = '}';
	strcpy(p, "}");
	return s;
}

static size_t list_size(struct fixture *f, const char *path, int *code)
{
	struct api_response r = call(f, "GET", path, NULL);
	size_t n = json_array_size(at(r.body, "items"));
	*code = r.code;
	api_response_clear(&r);
	return n;
}

TEST(a_deeply_nested_namespace_is_refused_and_lists_keep_working)
{
	struct fixture f;
	int code;
	CHECK(setup(&f, 0));
	/* the reader refuses the body */
	char *deep = deep_namespace("poison", 2046);
	struct api_response r = call(&f, "POST", "/api/v1/namespaces", deep);
	free(deep);
	CHECK_INT(r.code, 400);
	CHECK_STR(str_at(r.body, "reason"), "BadRequest");
	api_response_clear(&r);
	/* a JSON patch can nest deeper than its body: copying a subtree into
	 * itself doubles it */
	CHECK_INT(code_of(&f, "POST", "/api/v1/namespaces", "{\"metadata\":{\"name\":\"n\"}}"), 201);
	char *sub = deep_namespace("x", 100), *ops = malloc(strlen(sub) + 512), *p = ops;
	p += sprintf(p, "[{\"op\":\"add\",\"path\":\"/metadata/x\",\"value\":%s},"
		     "{\"op\":\"copy\",\"from\":\"/metadata/x\",\"path\":\"/metadata/x/spec", sub);
	for (int i = 0; i < 100; i++)
		p += sprintf(p, "/a");
	strcpy(p, "/b\"}]");
	r = call_full(&f, "PATCH", "/api/v1/namespaces/n", NULL, "application/json-patch+json",
		      NULL, ops);
	free(sub);
	free(ops);
	CHECK_INT(r.code, 422);
	CHECK_STR(str_at(r.body, "details.causes.0.message"),
		  "Too long: must have at most 128 levels of nesting");
	api_response_clear(&r);
	CHECK_INT(list_size(&f, "/api/v1/namespaces", &code), 2);
	CHECK_INT(code, 200);
	CHECK_INT(code_of(&f, "GET", "/api/v1/namespaces/poison", NULL), 404);
	teardown(&f);
}

TEST(namespace_spec_and_status_are_validated_field_by_field)
{
	static const char *const bad[] = {
		"{\"metadata\":{\"name\":\"n\"},\"spec\":{\"nope\":1}}",
		"{\"metadata\":{\"name\":\"n\"},\"spec\":{\"finalizers\":[\"not-qualified\"]}}",
		"{\"metadata\":{\"name\":\"n\"},\"spec\":{\"finalizers\":[{\"$patch\":\"delete\"}]}}",
		"{\"metadata\":{\"name\":\"n\"},\"status\":{\"phase\":\"Gone\"}}",
		("{\"metadata\":{\"name\":\"n\"},\"status\":{\"conditions\":[{\"type\":\"X\","
		 "\"status\":\"True\",\"extra\":1}]}}"),
		"{\"metadata\":{\"name\":\"n\",\"finalizers\":[\"a b\"]}}",
		"{\"metadata\":{\"name\":\"n\",\"ownerReferences\":[{\"kind\":\"K\",\"name\":\"o\"}]}}",
	};
	struct fixture f;
	CHECK(setup(&f, 0));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int code = code_of(&f, "POST", "/api/v1/namespaces", bad[i]);
		if (code != 422) {
			unit_fail(__FILE__, __LINE__, "%s: got %d, want 422", bad[i], code);
			return;
		}
	}
	struct api_response r = call(&f, "POST", "/api/v1/namespaces",
				     "{\"metadata\":{\"name\":\"n\"},\"spec\":{\"finalizers\":"
				     "[\"kubernetes\",\"example.com/x\"]}}");
	CHECK_INT(r.code, 201);
	api_response_clear(&r);
	/* a status write is validated too */
	r = call_full(&f, "PATCH", "/api/v1/namespaces/n/status", NULL,
		      "application/merge-patch+json", NULL, "{\"status\":{\"phase\":\"Gone\"}}");
	CHECK_INT(r.code, 422);
	CHECK_STR(str_at(r.body, "details.causes.0.field"), "status.phase");
	api_response_clear(&r);
	teardown(&f);
}

TEST(status_of_every_kind_is_typed)
{
	static const struct {
		const char *collection, *body;
	} bad[] = {
		{"/apis/apps/v1/namespaces/default/deployments",
		 "{\"metadata\":{\"name\":\"d\"},\"spec\":{\"selector\":{\"matchLabels\":"
		 "{\"a\":\"b\"}},\"template\":{\"metadata\":{\"labels\":{\"a\":\"b\"}}}},"
		 "\"status\":{\"replicas\":\"many\"}}"},
		{"/api/v1/namespaces/default/services",
		 "{\"metadata\":{\"name\":\"s\"},\"spec\":{\"ports\":[{\"port\":80}]},"
		 "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":1}]}}}"},
		{"/apis/networking.k8s.io/v1/namespaces/default/networkpolicies",
		 "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"podSelector\":{}},"
		 "\"status\":{\"anything\":{}}}"},
	};
	struct fixture f;
	CHECK(setup(&f, 0));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int code = code_of(&f, "POST", bad[i].collection, bad[i].body);
		if (code != 422) {
			unit_fail(__FILE__, __LINE__, "%s: got %d, want 422", bad[i].collection, code);
			return;
		}
	}
	teardown(&f);
}

TEST(a_pod_with_an_unknown_field_inside_a_volume_is_refused_and_not_stored)
{
	struct fixture f;
	CHECK(setup(&f, 0));
	struct api_response r = call(&f, "POST", "/api/v1/namespaces/default/pods",
		"{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\","
		"\"image\":\"i\"}],\"volumes\":[{\"name\":\"v\",\"emptyDir\":{},\"foo\":1}]}}");
	/* 422 with the field as the cause, as for every unknown field decode finds */
	CHECK_INT(r.code, 422);
	CHECK(strstr(str_at(r.body, "message") ? str_at(r.body, "message") : "",
		     "unknown field \"spec.volumes[0].foo\""));
	api_response_clear(&r);
	CHECK_INT(code_of(&f, "GET", "/api/v1/namespaces/default/pods/p", NULL), 404);
	teardown(&f);
}

TEST(endpoints_are_validated_as_the_api_server_does)
{
	static const struct {
		const char *subsets, *field;
	} bad[] = {
		{"[{\"addresses\":[{\"ip\":\"nope\"}]}]", "subsets[0].addresses[0].ip"},
		{"[{\"addresses\":[{\"ip\":\"127.0.0.1\"}]}]", "subsets[0].addresses[0].ip"},
		{"[{\"addresses\":[{}]}]", "subsets[0].addresses[0].ip"},
		{"[{\"addresses\":[{\"ip\":\"10.0.0.1\",\"hostname\":\"A_B\"}]}]",
		 "subsets[0].addresses[0].hostname"},
		{"[{\"addresses\":[{\"ip\":\"10.0.0.1\",\"targetRef\":{\"kind\":1}}]}]",
		 "subsets[0].addresses[0].targetRef.kind"},
		{"[{\"notReadyAddresses\":[{\"ip\":\"10.0.0.1\",\"x\":1}]}]", ""},
		{"[{\"ports\":[{\"port\":80}]}]", "subsets[0]"},
		{"[{\"addresses\":[{\"ip\":\"10.0.0.1\"}],\"ports\":[{\"port\":0}]}]",
		 "subsets[0].ports[0].port"},
		{"[{\"addresses\":[{\"ip\":\"10.0.0.1\"}],\"ports\":[{\"port\":80,\"protocol\":\"tcp\"}]}]",
		 "subsets[0].ports[0].protocol"},
		{"[{\"addresses\":[{\"ip\":\"10.0.0.1\"}],\"ports\":[{\"port\":80},{\"port\":81}]}]",
		 "subsets[0].ports[0].name"},
		{"[{\"addresses\":[{\"ip\":\"10.0.0.1\"}],\"ports\":[{\"name\":\"a\",\"port\":80},"
		 "{\"name\":\"a\",\"port\":81}]}]", "subsets[0].ports[1].name"},
		{"{\"a\":{\"a\":1}}", "subsets"},
	};
	struct fixture f;
	CHECK(setup(&f, 0));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char body[512];
		snprintf(body, sizeof(body), "{\"metadata\":{\"name\":\"e\"},\"subsets\":%s}",
			 bad[i].subsets);
		struct api_response r = call(&f, "POST", "/api/v1/namespaces/default/endpoints", body);
		const char *field = str_at(r.body, "details.causes.0.field");
		bool ok = r.code == 422 && (!*bad[i].field || (field && strcmp(field, bad[i].field) == 0));
		if (!ok)
			unit_fail(__FILE__, __LINE__, "%s: got %d %s", bad[i].subsets, r.code,
				  str_at(r.body, "message"));
		api_response_clear(&r);
		if (!ok)
			return;
	}
	CHECK_INT(code_of(&f, "POST", "/api/v1/namespaces/default/endpoints",
			  "{\"metadata\":{\"name\":\"e\"},\"subsets\":[{\"addresses\":[{\"ip\":"
			  "\"10.0.0.1\",\"nodeName\":\"node-1\",\"targetRef\":{\"kind\":\"Pod\","
			  "\"name\":\"p\"}}],\"ports\":[{\"name\":\"http\",\"port\":80,"
			  "\"protocol\":\"TCP\"},{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"}]}]}"),
		  201);
	teardown(&f);
}

TEST(strategic_merge_patch_directives_are_never_stored)
{
	static const char *const patches[] = {
		"{\"metadata\":{\"finalizers\":[{\"$patch\":\"delete\"}]}}",
		"{\"spec\":{\"finalizers\":[{\"$patch\":\"delete\"}]}}",
		"{\"metadata\":{\"labels\":{\"$patch\":\"nonsense\"}}}",
		"{\"spec\":{\"$retainKeys\":\"x\",\"finalizers\":[\"kubernetes\"]}}",
	};
	struct fixture f;
	CHECK(setup(&f, 0));
	CHECK_INT(code_of(&f, "POST", "/api/v1/namespaces",
			  "{\"metadata\":{\"name\":\"n\",\"finalizers\":[\"example.com/f\"]}}"), 201);
	for (size_t i = 0; i < sizeof(patches) / sizeof(patches[0]); i++) {
		struct api_response r = call_full(&f, "PATCH", "/api/v1/namespaces/n", NULL,
						  "application/strategic-merge-patch+json", NULL,
						  patches[i]);
		int code = r.code;
		api_response_clear(&r);
		if (code < 400 || code >= 500) {
			unit_fail(__FILE__, __LINE__, "%s: got %d", patches[i], code);
			return;
		}
	}
	struct api_response r = call(&f, "GET", "/api/v1/namespaces/n", NULL);
	char *text = json_dumps(r.body, JSON_COMPACT);
	CHECK(text && !strchr(text, '$'));
	CHECK_STR(str_at(r.body, "metadata.finalizers.0"), "example.com/f");
	CHECK_STR(str_at(r.body, "metadata.resourceVersion"), "2");
	free(text);
	api_response_clear(&r);
	teardown(&f);
}

static char *with_rv(struct fixture *f, const char *path, json_t *rv)
{
	struct api_response r = call(f, "GET", path, NULL);
	json_object_set(at(r.body, "metadata"), "resourceVersion", rv);
	json_object_set_new(at(r.body, "metadata.labels"), "changed", json_string("yes"));
	char *body = json_dumps(r.body, JSON_COMPACT);
	api_response_clear(&r);
	json_decref(rv);
	return body;
}

TEST(a_resource_version_that_is_not_a_string_is_a_400_and_overwrites_nothing)
{
	struct fixture f;
	CHECK(setup(&f, 0));
	const char *pod = "/api/v1/namespaces/default/pods/web";
	CHECK_INT(code_of(&f, "POST", "/api/v1/namespaces/default/pods", pod_web), 201);
	CHECK_INT(code_of(&f, "PATCH", pod, NULL), 415);
	char *stale_int = with_rv(&f, pod, json_integer(1));
	char *stale_str = with_rv(&f, pod, json_string("1"));
	char *padded = with_rv(&f, pod, json_string("02"));
	struct api_response r = call(&f, "PUT", pod, stale_int);
	CHECK_INT(r.code, 400);
	CHECK_STR(str_at(r.body, "reason"), "BadRequest");
	CHECK(strstr(str_at(r.body, "message"), "metadata.resourceVersion of type string"));
	api_response_clear(&r);
	CHECK_INT(code_of(&f, "POST", "/api/v1/namespaces/default/pods",
			  "{\"metadata\":{\"name\":\"x\",\"namespace\":5}}"), 400);
	CHECK_INT(code_of(&f, "PUT", pod, stale_str), 409);
	CHECK_INT(code_of(&f, "PUT", pod, padded), 409);
	r = call_full(&f, "PATCH", pod, NULL, "application/merge-patch+json", NULL,
		      "{\"metadata\":{\"resourceVersion\":1,\"labels\":{\"changed\":\"yes\"}}}");
	CHECK_INT(r.code, 400);
	api_response_clear(&r);
	r = call(&f, "GET", pod, NULL);
	CHECK(at(r.body, "metadata.labels.changed") == NULL);
	CHECK_STR(str_at(r.body, "metadata.resourceVersion"), "2");
	api_response_clear(&r);
	free(stale_int);
	free(stale_str);
	free(padded);
	teardown(&f);
}

TEST(delete_honours_the_uid_precondition)
{
	struct fixture f;
	CHECK(setup(&f, 0));
	const char *pod = "/api/v1/namespaces/default/pods/web";
	struct api_response r = call(&f, "POST", "/api/v1/namespaces/default/pods", pod_web);
	char uid[64], body[160];
	snprintf(uid, sizeof(uid), "%s", str_at(r.body, "metadata.uid"));
	api_response_clear(&r);
	r = call(&f, "DELETE", pod, "{\"preconditions\":{\"uid\":\"not-the-uid\"}}");
	CHECK_INT(r.code, 409);
	CHECK_STR(str_at(r.body, "reason"), "Conflict");
	char want[256];
	snprintf(want, sizeof(want), "Operation cannot be fulfilled on pods \"web\": Precondition "
		 "failed: UID in precondition: not-the-uid, UID in object meta: %s", uid);
	CHECK_STR(str_at(r.body, "message"), want);
	api_response_clear(&r);
	CHECK_INT(code_of(&f, "DELETE", pod, "{\"preconditions\":{\"resourceVersion\":2}}"), 400);
	CHECK_INT(code_of(&f, "DELETE", pod, "{\"preconditions\":\"x\"}"), 400);
	CHECK_INT(code_of(&f, "DELETE", pod, "{\"preconditions\":{},\"unknown\":1}"), 400);
	CHECK_INT(code_of(&f, "DELETE", pod, "{\"gracePeriodSeconds\":\"soon\"}"), 400);
	CHECK_INT(code_of(&f, "DELETE", pod, "{\"propagationPolicy\":\"Sideways\"}"), 422);
	CHECK_INT(code_of(&f, "DELETE", pod, "{\"dryRun\":[\"Maybe\"]}"), 422);
	CHECK_INT(code_of(&f, "GET", pod, NULL), 200);
	snprintf(body, sizeof(body), "{\"preconditions\":{\"uid\":\"%s\",\"resourceVersion\":\"2\"}}",
		 uid);
	CHECK_INT(code_of(&f, "DELETE", pod, body), 200);
	CHECK_INT(code_of(&f, "GET", pod, NULL), 404);
	/* a Namespace's first phase too */
	CHECK_INT(code_of(&f, "POST", "/api/v1/namespaces", "{\"metadata\":{\"name\":\"n\"}}"), 201);
	CHECK_INT(code_of(&f, "DELETE", "/api/v1/namespaces/n",
			  "{\"preconditions\":{\"uid\":\"nope\"}}"), 409);
	r = call(&f, "GET", "/api/v1/namespaces/n", NULL);
	CHECK_STR(str_at(r.body, "status.phase"), "Active");
	api_response_clear(&r);
	teardown(&f);
}

TEST(update_with_another_uid_is_a_409_precondition_failure)
{
	struct fixture f;
	CHECK(setup(&f, 0));
	const char *pod = "/api/v1/namespaces/default/pods/web";
	CHECK_INT(code_of(&f, "POST", "/api/v1/namespaces/default/pods", pod_web), 201);
	struct api_response r = call(&f, "GET", pod, NULL);
	char uid[64];
	snprintf(uid, sizeof(uid), "%s", str_at(r.body, "metadata.uid"));
	json_object_set_new(at(r.body, "metadata"), "uid", json_string("other-uid"));
	json_object_del(at(r.body, "metadata"), "resourceVersion");
	json_object_set_new(at(r.body, "metadata.labels"), "changed", json_string("yes"));
	char *body = json_dumps(r.body, JSON_COMPACT);
	api_response_clear(&r);
	r = call(&f, "PUT", pod, body);
	free(body);
	CHECK_INT(r.code, 409);
	char want[256];
	snprintf(want, sizeof(want), "Operation cannot be fulfilled on pods \"web\": Precondition "
		 "failed: UID in precondition: other-uid, UID in object meta: %s", uid);
	CHECK_STR(str_at(r.body, "message"), want);
	api_response_clear(&r);
	r = call(&f, "GET", pod, NULL);
	CHECK(at(r.body, "metadata.labels.changed") == NULL);
	api_response_clear(&r);
	teardown(&f);
}

TEST(paths_with_bad_escapes_nul_or_invalid_utf8_get_a_400_status)
{
	static const char *const paths[] = {
		"/api/v1/namespaces/%ff", "/api/v1/namespaces/withrv%00junk",
		"/api/v1/namespaces/\xff", "/api/v1/namespaces/a\x01", "/api/v1/namespaces/%zz",
		"/api/v1/namespaces/default/pods/%c3%28",
	};
	struct fixture f;
	CHECK(setup(&f, 0));
	CHECK_INT(code_of(&f, "POST", "/api/v1/namespaces", "{\"metadata\":{\"name\":\"withrv\"}}"), 201);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const char *methods[] = {"GET", "DELETE"};
		for (size_t m = 0; m < 2; m++) {
			struct api_response r = call(&f, methods[m], paths[i], NULL);
			bool ok = r.code == 400 && str_at(r.body, "kind") &&
				  strcmp(str_at(r.body, "kind"), "Status") == 0;
			api_response_clear(&r);
			if (!ok) {
				unit_fail(__FILE__, __LINE__, "%s %zu: no 400 Status", methods[m], i);
				return;
			}
		}
	}
	struct api_response r = call(&f, "GET", "/api/v1/namespaces/withrv", NULL);
	CHECK_INT(r.code, 200);
	CHECK(at(r.body, "metadata.deletionTimestamp") == NULL);
	api_response_clear(&r);
	/* a name with bytes that are not UTF-8 in a query still gets a Status */
	r = call_full(&f, "GET", "/api/v1/pods", "fieldSelector=\xff\xfe", NULL, NULL, NULL);
	CHECK_INT(r.code, 400);
	CHECK(r.body != NULL);
	api_response_clear(&r);
	teardown(&f);
}

TEST(metadata_name_cannot_be_changed_by_put_or_patch)
{
	static const struct {
		const char *ct, *patch;
	} renames[] = {
		{"application/merge-patch+json", "{\"metadata\":{\"name\":\"other\"}}"},
		{"application/strategic-merge-patch+json", "{\"metadata\":{\"name\":\"other\"}}"},
		{"application/json-patch+json",
		 "[{\"op\":\"replace\",\"path\":\"/metadata/name\",\"value\":\"other\"}]"},
		{"application/json-patch+json", "[{\"op\":\"remove\",\"path\":\"/metadata/name\"}]"},
		{"application/merge-patch+json", "{\"metadata\":{\"namespace\":\"kube-system\"}}"},
	};
	struct fixture f;
	CHECK(setup(&f, 0));
	const char *pod = "/api/v1/namespaces/default/pods/web";
	CHECK_INT(code_of(&f, "POST", "/api/v1/namespaces/default/pods", pod_web), 201);
	for (size_t i = 0; i < sizeof(renames) / sizeof(renames[0]); i++) {
		struct api_response r = call_full(&f, "PATCH", pod, NULL, renames[i].ct, NULL,
						  renames[i].patch);
		bool ok = r.code == 400 && strstr(str_at(r.body, "message") ?: "", "does not match");
		api_response_clear(&r);
		if (!ok) {
			unit_fail(__FILE__, __LINE__, "%s: not refused", renames[i].patch);
			return;
		}
	}
	struct api_response r = call(&f, "PATCH", pod, NULL);
	api_response_clear(&r);
	char *renamed = strdup(pod_web);
	memcpy(strstr(renamed, "\"web\""), "\"wex\"", 5);
	r = call(&f, "PUT", pod, renamed);
	CHECK_INT(r.code, 400);
	CHECK_STR(str_at(r.body, "message"),
		  "the name of the object (wex) does not match the name on the URL (web)");
	api_response_clear(&r);
	free(renamed);
	CHECK_INT(code_of(&f, "GET", "/api/v1/namespaces/default/pods/other", NULL), 404);
	r = call(&f, "GET", pod, NULL);
	CHECK_STR(str_at(r.body, "metadata.resourceVersion"), "2");
	api_response_clear(&r);
	teardown(&f);
}

TEST(json_patch_errors_name_the_failing_operation)
{
	struct fixture f;
	CHECK(setup(&f, 0));
	CHECK_INT(code_of(&f, "POST", "/api/v1/namespaces/default/pods", pod_web), 201);
	struct api_response r = call_full(&f, "PATCH", "/api/v1/namespaces/default/pods/web", NULL,
					  "application/json-patch+json", NULL,
					  "[{\"op\":\"test\",\"path\":\"/metadata/name\",\"value\":\"web\"},"
					  "{\"op\":\"add\",\"path\":\"/metadata/labels/a\",\"value\":\"b\"},"
					  "{\"op\":\"replace\",\"path\":\"/spec/nope\",\"value\":1}]");
	CHECK_INT(r.code, 422);
	CHECK_STR(str_at(r.body, "message"),
		  "json patch operation 2 (replace) failed: the path \"/spec/nope\" does not exist");
	api_response_clear(&r);
	r = call_full(&f, "PATCH", "/api/v1/namespaces/default/pods/web", NULL,
		      "application/json-patch+json", NULL, "[{\"op\":\"frob\",\"path\":\"/a\"}]");
	CHECK(strstr(str_at(r.body, "message"), "json patch operation 0 (frob) failed") != NULL);
	api_response_clear(&r);
	teardown(&f);
}

TEST(watch_and_list_resource_versions_must_be_numbers)
{
	static const char *const queries[] = {
		"watch=1&resourceVersion=abc", "watch=1&resourceVersion=-1",
		"watch=1&resourceVersion=99999999999999999999999", "resourceVersion=1x",
		"watch=1&timeoutSeconds=soon",
	};
	struct fixture f;
	CHECK(setup(&f, 0));
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		struct api_response r = call_full(&f, "GET", "/api/v1/pods", queries[i], NULL, NULL,
						  NULL);
		bool ok = r.code == 400 && !r.watch && str_at(r.body, "reason") &&
			  strcmp(str_at(r.body, "reason"), "BadRequest") == 0;
		api_response_clear(&r);
		if (!ok) {
			unit_fail(__FILE__, __LINE__, "%s: not a 400 Status", queries[i]);
			return;
		}
	}
	struct api_response r = call_full(&f, "GET", "/api/v1/pods", "watch=1&resourceVersion=abc",
					  NULL, NULL, NULL);
	CHECK_STR(str_at(r.body, "message"), "resourceVersion: Invalid value: \"abc\": "
		  "strconv.ParseUint: parsing \"abc\": invalid syntax");
	api_response_clear(&r);
	r = call_full(&f, "GET", "/api/v1/pods", "watch=1&resourceVersion=0&timeoutSeconds=1",
		      NULL, NULL, NULL);
	CHECK_INT(r.code, 200);
	api_response_clear(&r);
	teardown(&f);
}

static void count_errors(void *ctx, enum api_log_level level, const char *msg)
{
	(void)msg;
	if (level == API_LOG_ERROR)
		++*(int *)ctx;
}

/* A row that cannot be read back (as the 2,046-level namespace could not
 * be before it was refused) is left out of a LIST, which still answers,
 * and the API logs it. */
TEST(a_stored_row_that_cannot_be_read_is_skipped_by_lists_and_logged)
{
	struct fixture f;
	sqlite3 *db = NULL;
	int errors = 0, code;
	CHECK(setup(&f, 0));
	f.api.log = count_errors;
	f.api.log_ctx = &errors;
	CHECK_INT(code_of(&f, "POST", "/api/v1/namespaces", "{\"metadata\":{\"name\":\"a\"}}"), 201);
	CHECK_INT(code_of(&f, "POST", "/api/v1/namespaces", "{\"metadata\":{\"name\":\"b\"}}"), 201);
	CHECK_INT(sqlite3_open(f.path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "UPDATE objects SET body='{\"not json' WHERE name='a'", NULL,
			       NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	struct api_response r = call(&f, "GET", "/api/v1/namespaces", NULL);
	CHECK_INT(r.code, 200);
	char *names = item_names(r.body);
	CHECK_STR(names, "b default");
	free(names);
	api_response_clear(&r);
	CHECK_INT(errors, 1);
	CHECK_INT(list_size(&f, "/api/v1/namespaces", &code), 2);
	teardown(&f);
}

/* Nor does an event that cannot be read end a watch replayed over it. */
TEST(a_logged_event_that_cannot_be_read_is_skipped_by_watches)
{
	struct fixture f;
	sqlite3 *db = NULL;
	CHECK(setup(&f, 0));
	CHECK_INT(code_of(&f, "POST", "/api/v1/namespaces", "{\"metadata\":{\"name\":\"a\"}}"), 201);
	CHECK_INT(code_of(&f, "POST", "/api/v1/namespaces", "{\"metadata\":{\"name\":\"b\"}}"), 201);
	CHECK_INT(sqlite3_open(f.path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "UPDATE events SET body='{\"not json' WHERE rv=2", NULL, NULL,
			       NULL), SQLITE_OK);
	sqlite3_close(db);
	struct api_response r = call_full(&f, "GET", "/api/v1/namespaces",
					  "watch=1&resourceVersion=1&timeoutSeconds=1", NULL, NULL, NULL);
	CHECK_INT(r.code, 200);
	CHECK(r.watch != NULL);
	char buf[4096], all[8192] = "";
	ssize_t n;
	int rounds = 0;
	while ((n = api_watch_read(r.watch, buf, sizeof(buf) - 1, 200)) >= 0 && rounds++ < 50) {
		buf[n] = 0;
		if (strlen(all) + (size_t)n < sizeof(all))
			strcat(all, buf);
	}
	api_response_clear(&r);
	CHECK(strstr(all, "\"name\":\"b\"") != NULL);
	CHECK(strstr(all, "\"name\":\"a\"") == NULL);
	CHECK_INT(store_unreadable_rows(f.s), 1);
	teardown(&f);
}
