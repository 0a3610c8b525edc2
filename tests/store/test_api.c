/* The API server's request handling, without HTTP: requests go straight
 * to api_handle over a store in a temporary directory. (tests/api/suite.sh
 * covers the HTTP side, TLS, tokens and the real kubectl.) */
#include "unit.h"
#include "api_fixture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- discovery ---------------------------------------------------------------- */

TEST(discovery_lists_the_kinds_with_their_short_names)
{
	struct fixture f;
	CHECK(setup(&f, 0));
	struct api_response r = call(&f, "GET", "/api/v1", NULL);
	CHECK_INT(r.code, 200);
	CHECK_STR(str_at(r.body, "kind"), "APIResourceList");
	bool pods = false;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(r.body, "resources"), i, e) {
		if (strcmp(str_at(e, "name"), "pods") == 0)
			pods = strcmp(str_at(e, "shortNames.0"), "po") == 0 && json_is_true(at(e, "namespaced"));
	}
	CHECK(pods);
	api_response_clear(&r);
	r = call(&f, "GET", "/apis", NULL);
	CHECK_STR(str_at(r.body, "groups.0.name"), "apps");
	CHECK_STR(str_at(r.body, "groups.1.preferredVersion.groupVersion"), "networking.k8s.io/v1");
	api_response_clear(&r);
	r = call(&f, "GET", "/apis/networking.k8s.io/v1", NULL);
	CHECK_STR(str_at(r.body, "resources.0.kind"), "NetworkPolicy");
	api_response_clear(&r);
	r = call(&f, "GET", "/version", NULL);
	CHECK_STR(str_at(r.body, "major"), "1");
	api_response_clear(&r);
	CHECK_INT(code_of(&f, "GET", "/openapi/v2", NULL), 404);
	CHECK_INT(code_of(&f, "GET", "/openapi/v3", NULL), 200);
	CHECK_INT(code_of(&f, "POST", "/api/v1", "{}"), 405);
	teardown(&f);
}

TEST(unknown_paths_are_404_and_wrong_verbs_405)
{
	struct fixture f;
	CHECK(setup(&f, 0));
	CHECK_INT(code_of(&f, "GET", "/api/v1/widgets", NULL), 404);
	CHECK_INT(code_of(&f, "GET", "/apis/apps/v1/namespaces/default/pods", NULL), 404);
	CHECK_INT(code_of(&f, "GET", "/api/v1/pods/web", NULL), 404);
	CHECK_INT(code_of(&f, "GET", "/api/v1/namespaces/default/pods/web/logs", NULL), 404);
	CHECK_INT(code_of(&f, "PUT", "/api/v1/namespaces/default/pods", "{}"), 405);
	CHECK_INT(code_of(&f, "POST", "/api/v1/pods", pod_web), 405);
	struct api_response r = call(&f, "GET", "/nope", NULL);
	CHECK_STR(str_at(r.body, "kind"), "Status");
	CHECK_STR(str_at(r.body, "reason"), "NotFound");
	api_response_clear(&r);
	teardown(&f);
}

/* ---- CRUD for every kind ---------------------------------------------------------- */

struct kind_case {
	const char *collection, *item, *body, *new_label_patch;
};

static const struct kind_case kinds[] = {
	{"/api/v1/namespaces", "/api/v1/namespaces/team-a",
	 "{\"metadata\":{\"name\":\"team-a\"}}", NULL},
	{"/api/v1/namespaces/default/pods", "/api/v1/namespaces/default/pods/web", pod_web, NULL},
	{"/api/v1/namespaces/default/services", "/api/v1/namespaces/default/services/web",
	 "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"selector\":{\"app\":\"web\"},"
	 "\"ports\":[{\"port\":80}]}}", NULL},
	{"/api/v1/namespaces/default/endpoints", "/api/v1/namespaces/default/endpoints/web",
	 "{\"metadata\":{\"name\":\"web\"},\"subsets\":[{\"addresses\":[{\"ip\":\"10.0.0.1\"}],"
	 "\"ports\":[{\"port\":80}]}]}", NULL},
	{"/apis/apps/v1/namespaces/default/deployments",
	 "/apis/apps/v1/namespaces/default/deployments/web",
	 "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"replicas\":2,\"selector\":{\"matchLabels\":"
	 "{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":"
	 "{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}}}", NULL},
	{"/apis/networking.k8s.io/v1/namespaces/default/networkpolicies",
	 "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies/web",
	 "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"podSelector\":{}}}", NULL},
};

static bool round_trip(struct fixture *f, const struct kind_case *k, char *why, size_t len)
{
	struct api_response r = call(f, "POST", k->collection, k->body);
	int created = r.code;
	char rv[32];
	snprintf(rv, sizeof(rv), "%s", str_at(r.body, "metadata.resourceVersion") ?: "");
	api_response_clear(&r);
	r = call(f, "GET", k->collection, NULL);
	size_t listed = json_array_size(at(r.body, "items"));
	api_response_clear(&r);
	int got = code_of(f, "GET", k->item, NULL);
	struct api_response m = call_full(f, "PATCH", k->item, NULL, "application/merge-patch+json",
					  NULL, "{\"metadata\":{\"labels\":{\"x\":\"y\"}}}");
	int merged = m.code;
	bool labelled = str_at(m.body, "metadata.labels.x") != NULL;
	api_response_clear(&m);
	struct api_response g = call(f, "GET", k->item, NULL);
	char *obj = json_dumps(g.body, JSON_COMPACT);
	api_response_clear(&g);
	int updated = code_of(f, "PUT", k->item, obj);
	free(obj);
	r = call(f, "DELETE", k->item, NULL);
	int deleted = r.code;
	bool has_name = str_at(r.body, "metadata.name") != NULL;
	api_response_clear(&r);
	int gone = code_of(f, "GET", k->item, NULL);
	/* a Namespace stays, Terminating, until the namespace controller empties it */
	int want_gone = strcmp(k->collection, "/api/v1/namespaces") == 0 ? 200 : 404;
	snprintf(why, len, "%s: create %d list %zu get %d patch %d update %d delete %d gone %d",
		 k->collection, created, listed, got, merged, updated, deleted, gone);
	return created == 201 && *rv && listed >= 1 && got == 200 && merged == 200 && labelled &&
	       updated == 200 && deleted == 200 && has_name && gone == want_gone;
}

TEST(every_kind_round_trips_through_create_list_get_patch_update_delete)
{
	struct fixture f;
	CHECK(setup(&f, 0));
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		char why[256];
		if (!round_trip(&f, &kinds[i], why, sizeof(why))) {
			unit_fail(__FILE__, __LINE__, "%s", why);
			break;
		}
	}
	teardown(&f);
}

TEST(create_fills_in_the_namespace_from_the_url_and_returns_201)
{
	struct fixture f;
	CHECK(setup(&f, 0));
	struct api_response r = call(&f, "POST", "/api/v1/namespaces/default/pods", pod_web);
	CHECK_INT(r.code, 201);
	CHECK_STR(str_at(r.body, "metadata.namespace"), "default");
	CHECK_STR(str_at(r.body, "status.phase"), "Pending");
	CHECK(str_at(r.body, "metadata.uid") != NULL);
	api_response_clear(&r);
	teardown(&f);
}

TEST(create_errors_are_kubernetes_statuses)
{
	struct fixture f;
	CHECK(setup(&f, 0));
	CHECK_INT(code_of(&f, "POST", "/api/v1/namespaces/default/pods", pod_web), 201);
	struct api_response r = call(&f, "POST", "/api/v1/namespaces/default/pods", pod_web);
	CHECK_INT(r.code, 409);
	CHECK_STR(str_at(r.body, "reason"), "AlreadyExists");
	CHECK_STR(str_at(r.body, "message"), "pods \"web\" already exists");
	CHECK_STR(str_at(r.body, "details.kind"), "pods");
	api_response_clear(&r);
	r = call(&f, "POST", "/api/v1/namespaces/nowhere/pods", pod_web);
	CHECK_INT(r.code, 404);
	CHECK_STR(str_at(r.body, "message"), "namespaces \"nowhere\" not found");
	api_response_clear(&r);
	r = call(&f, "POST", "/api/v1/namespaces/other/pods",
		 "{\"metadata\":{\"name\":\"x\",\"namespace\":\"default\"}}");
	CHECK_INT(r.code, 400);
	CHECK_STR(str_at(r.body, "reason"), "BadRequest");
	api_response_clear(&r);
	CHECK_INT(code_of(&f, "POST", "/api/v1/namespaces/default/pods", "not json"), 400);
	CHECK_INT(code_of(&f, "POST", "/api/v1/namespaces/default/pods", "[1]"), 400);
	CHECK_INT(code_of(&f, "POST", "/api/v1/namespaces/default/services", pod_web), 400);
	teardown(&f);
}

TEST(invalid_objects_get_422_with_causes)
{
	struct fixture f;
	CHECK(setup(&f, 0));
	struct api_response r = call(&f, "POST", "/api/v1/namespaces/default/pods",
				     "{\"metadata\":{\"name\":\"Bad_Name\"},\"spec\":{\"containers\":"
				     "[{\"name\":\"c\",\"image\":\"x\",\"ports\":[{\"containerPort\":0}]}]}}");
	CHECK_INT(r.code, 422);
	CHECK_STR(str_at(r.body, "reason"), "Invalid");
	CHECK_STR(str_at(r.body, "details.kind"), "Pod");
	CHECK(json_array_size(at(r.body, "details.causes")) >= 2);
	CHECK_STR(str_at(r.body, "details.causes.0.field"), "metadata.name");
	CHECK(strncmp(str_at(r.body, "message"), "Pod \"Bad_Name\" is invalid: [", 28) == 0);
	api_response_clear(&r);
	r = call(&f, "POST", "/api/v1/namespaces/default/endpoints", "{\"metadata\":{}}");
	CHECK_INT(r.code, 422);
	CHECK_STR(str_at(r.body, "details.causes.0.reason"), "FieldValueRequired");
	api_response_clear(&r);
	teardown(&f);
}

TEST(generate_name_creates_a_fresh_name)
{
	struct fixture f;
	CHECK(setup(&f, 0));
	struct api_response r = call(&f, "POST", "/api/v1/namespaces",
				     "{\"metadata\":{\"generateName\":\"tmp-\"}}");
	CHECK_INT(r.code, 201);
	CHECK_INT(strlen(str_at(r.body, "metadata.name")), 9);
	api_response_clear(&r);
	teardown(&f);
}

TEST(update_with_a_stale_resource_version_is_a_409_conflict)
{
	struct fixture f;
	CHECK(setup(&f, 0));
	struct api_response r = call(&f, "POST", "/api/v1/namespaces/default/pods", pod_web);
	json_t *obj = json_deep_copy(r.body);
	api_response_clear(&r);
	json_object_set_new(at(obj, "metadata.labels"), "v", json_string("1"));
	char *body = json_dumps(obj, JSON_COMPACT);
	CHECK_INT(code_of(&f, "PUT", "/api/v1/namespaces/default/pods/web", body), 200);
	r = call(&f, "PUT", "/api/v1/namespaces/default/pods/web", body);
	CHECK_INT(r.code, 409);
	CHECK_STR(str_at(r.body, "reason"), "Conflict");
	CHECK(strstr(str_at(r.body, "message"), "the object has been modified") != NULL);
	api_response_clear(&r);
	free(body);
	json_decref(obj);
	CHECK_INT(code_of(&f, "PUT", "/api/v1/namespaces/default/pods/other", pod_web), 400);
	teardown(&f);
}

TEST(delete_with_a_stale_precondition_is_a_409_and_deletes_nothing)
{
	struct fixture f;
	CHECK(setup(&f, 0));
	CHECK_INT(code_of(&f, "POST", "/api/v1/namespaces/default/pods", pod_web), 201);
	CHECK_INT(code_of(&f, "DELETE", "/api/v1/namespaces/default/pods/web",
			  "{\"preconditions\":{\"resourceVersion\":\"1\"}}"), 409);
	CHECK_INT(code_of(&f, "GET", "/api/v1/namespaces/default/pods/web", NULL), 200);
	CHECK_INT(code_of(&f, "DELETE", "/api/v1/namespaces/default/pods/web", NULL), 200);
	CHECK_INT(code_of(&f, "DELETE", "/api/v1/namespaces/default/pods/web", NULL), 404);
	teardown(&f);
}

TEST(dry_run_create_stores_nothing)
{
	struct fixture f;
	CHECK(setup(&f, 0));
	struct api_response r = call_full(&f, "POST", "/api/v1/namespaces/default/pods",
					  "dryRun=All", NULL, NULL, pod_web);
	CHECK_INT(r.code, 201);
	api_response_clear(&r);
	CHECK_INT(code_of(&f, "GET", "/api/v1/namespaces/default/pods/web", NULL), 404);
	teardown(&f);
}

TEST(status_subresource_changes_only_status)
{
	struct fixture f;
	CHECK(setup(&f, 0));
	CHECK_INT(code_of(&f, "POST", "/api/v1/namespaces/default/pods", pod_web), 201);
	struct api_response r = call_full(&f, "PATCH", "/api/v1/namespaces/default/pods/web/status",
					  NULL, "application/merge-patch+json", NULL,
					  "{\"status\":{\"phase\":\"Running\",\"podIP\":\"10.1.0.5\"},"
					  "\"metadata\":{\"labels\":{\"sneaky\":\"yes\"}}}");
	CHECK_INT(r.code, 200);
	CHECK_STR(str_at(r.body, "status.phase"), "Running");
	CHECK(at(r.body, "metadata.labels.sneaky") == NULL);
	api_response_clear(&r);
	/* and a normal patch cannot change status */
	r = call_full(&f, "PATCH", "/api/v1/namespaces/default/pods/web", NULL,
		      "application/merge-patch+json", NULL, "{\"status\":{\"phase\":\"Failed\"}}");
	CHECK_STR(str_at(r.body, "status.phase"), "Running");
	api_response_clear(&r);
	teardown(&f);
}

/* ---- list, selectors, tables ---------------------------------------------------------- */

static void make_pod(struct fixture *f, const char *ns, const char *name, const char *labels)
{
	char body[512];
	snprintf(body, sizeof(body),
		 "{\"metadata\":{\"name\":\"%s\",\"labels\":%s},\"spec\":{\"containers\":"
		 "[{\"name\":\"c\",\"image\":\"nginx\"}]}}", name, labels);
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods", ns);
	struct api_response r = call(f, "POST", path, body);
	api_response_clear(&r);
}

TEST(list_filters_by_label_and_field_selectors_across_namespaces)
{
	struct fixture f;
	CHECK(setup(&f, 0));
	CHECK_INT(code_of(&f, "POST", "/api/v1/namespaces", "{\"metadata\":{\"name\":\"b\"}}"), 201);
	make_pod(&f, "default", "a1", "{\"app\":\"web\"}");
	make_pod(&f, "default", "a2", "{\"app\":\"db\"}");
	make_pod(&f, "b", "b1", "{\"app\":\"web\",\"tier\":\"x\"}");
	struct api_response r = call_full(&f, "GET", "/api/v1/pods", "labelSelector=app in (web)",
					  NULL, NULL, NULL);
	CHECK_INT(r.code, 200);
	CHECK_STR(str_at(r.body, "kind"), "PodList");
	CHECK(str_at(r.body, "metadata.resourceVersion") != NULL);
	char *n = item_names(r.body);
	CHECK_STR(n, "b1 a1");      /* sorted by namespace, then name */
	free(n);
	api_response_clear(&r);
	r = call_full(&f, "GET", "/api/v1/pods", "fieldSelector=metadata.namespace!=default", NULL,
		      NULL, NULL);
	n = item_names(r.body);
	CHECK_STR(n, "b1");
	free(n);
	api_response_clear(&r);
	r = call_full(&f, "GET", "/api/v1/namespaces/default/pods", "fieldSelector=metadata.name=a2",
		      NULL, NULL, NULL);
	n = item_names(r.body);
	CHECK_STR(n, "a2");
	free(n);
	api_response_clear(&r);
	r = call_full(&f, "GET", "/api/v1/pods", "labelSelector=app in (", NULL, NULL, NULL);
	CHECK_INT(r.code, 400);
	api_response_clear(&r);
	teardown(&f);
}

TEST(delete_collection_deletes_what_the_selector_matches)
{
	struct fixture f;
	CHECK(setup(&f, 0));
	make_pod(&f, "default", "a1", "{\"app\":\"web\"}");
	make_pod(&f, "default", "a2", "{\"app\":\"db\"}");
	struct api_response r = call_full(&f, "DELETE", "/api/v1/namespaces/default/pods",
					  "labelSelector=app=web", NULL, NULL, NULL);
	CHECK_INT(r.code, 200);
	char *n = item_names(r.body);
	CHECK_STR(n, "a1");
	free(n);
	api_response_clear(&r);
	r = call(&f, "GET", "/api/v1/namespaces/default/pods", NULL);
	n = item_names(r.body);
	CHECK_STR(n, "a2");
	free(n);
	api_response_clear(&r);
	teardown(&f);
}

static const char table_accept[] =
	"application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;"
	"g=meta.k8s.io,application/json";

TEST(kubectl_get_receives_a_table_with_the_kubernetes_columns)
{
	struct fixture f;
	CHECK(setup(&f, 0));
	make_pod(&f, "default", "a1", "{\"app\":\"web\"}");
	struct api_response r = call_full(&f, "GET", "/api/v1/namespaces/default/pods", NULL, NULL,
					  table_accept, NULL);
	CHECK_INT(r.code, 200);
	CHECK_STR(str_at(r.body, "kind"), "Table");
	CHECK_STR(r.content_type, "application/json;as=Table;v=v1;g=meta.k8s.io");
	const char *cols[] = {"Name", "Ready", "Status", "Restarts", "Age", "IP"};
	for (int i = 0; i < 6; i++) {
		char p[48];
		snprintf(p, sizeof(p), "columnDefinitions.%d.name", i);
		CHECK_STR(str_at(r.body, p), cols[i]);
	}
	CHECK_STR(str_at(r.body, "rows.0.cells.0"), "a1");
	CHECK_STR(str_at(r.body, "rows.0.cells.1"), "0/1");
	CHECK_STR(str_at(r.body, "rows.0.cells.2"), "Pending");
	CHECK_STR(str_at(r.body, "rows.0.object.kind"), "PartialObjectMetadata");
	CHECK_STR(str_at(r.body, "rows.0.object.metadata.labels.app"), "web");
	api_response_clear(&r);
	teardown(&f);
}

TEST(service_and_policy_tables_format_ports_and_selectors)
{
	json_t *svc = json_loads("[{\"metadata\":{\"name\":\"s\"},\"spec\":{\"type\":\"ClusterIP\","
				 "\"clusterIP\":\"10.96.0.10\",\"ports\":[{\"port\":80,\"protocol\":\"TCP\"},"
				 "{\"port\":53,\"protocol\":\"UDP\"}]}}]", 0, NULL);
	json_t *t = api_table(STORE_SERVICES, svc, NULL, false);
	CHECK_STR(str_at(t, "rows.0.cells.2"), "10.96.0.10");
	CHECK_STR(str_at(t, "rows.0.cells.4"), "80/TCP,53/UDP");
	json_decref(t);
	json_decref(svc);
	json_t *np = json_loads("[{\"metadata\":{\"name\":\"p\"},\"spec\":{\"podSelector\":"
				"{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":[{\"key\":\"t\","
				"\"operator\":\"Exists\"}]}}}]", 0, NULL);
	t = api_table(STORE_NETWORKPOLICIES, np, NULL, false);
	CHECK_STR(str_at(t, "rows.0.cells.1"), "app=web,t");
	CHECK_STR(str_at(t, "rows.0.cells.2"), "<unknown>");
	json_decref(t);
	json_decref(np);
}

/* ---- patches ------------------------------------------------------------------------------ */

static char *merge(const char *target, const char *patch)
{
	json_t *t = json_loads(target, 0, NULL), *p = json_loads(patch, 0, NULL);
	json_t *res = api_merge_patch(t, p);
	char *s = json_dumps(res, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(t);
	json_decref(p);
	json_decref(res);
	return s;
}

TEST(merge_patch_follows_rfc_7386)
{
	char *s = merge("{\"a\":\"b\",\"c\":{\"d\":\"e\",\"f\":\"g\"}}",
			"{\"a\":\"z\",\"c\":{\"f\":null}}");
	CHECK_STR(s, "{\"a\":\"z\",\"c\":{\"d\":\"e\"}}");
	free(s);
	s = merge("{\"a\":[1,2]}", "{\"a\":[3]}");
	CHECK_STR(s, "{\"a\":[3]}");
	free(s);
	s = merge("{\"a\":\"b\"}", "{\"c\":{\"d\":null}}");
	CHECK_STR(s, "{\"a\":\"b\",\"c\":{}}");
	free(s);
	s = merge("{\"a\":{\"b\":1}}", "{\"a\":\"x\"}");
	CHECK_STR(s, "{\"a\":\"x\"}");
	free(s);
}

static char *smp(enum store_resource r, const char *target, const char *patch, int *ret)
{
	json_t *t = json_loads(target, 0, NULL), *p = json_loads(patch, 0, NULL);
	char *err = NULL;
	*ret = api_strategic_merge_patch(r, t, p, &err);
	free(err);
	char *s = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(t);
	json_decref(p);
	return s;
}

TEST(strategic_merge_patch_merges_containers_by_name_and_ports_by_number)
{
	int ret;
	char *s = smp(STORE_PODS,
		      "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"ports\":"
		      "[{\"containerPort\":80}]},{\"name\":\"b\",\"image\":\"y\"}]}}",
		      "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"z\",\"ports\":"
		      "[{\"containerPort\":443}]}],\"$setElementOrder/containers\":[{\"name\":\"a\"},"
		      "{\"name\":\"b\"}]}}", &ret);
	CHECK_INT(ret, 0);
	CHECK_STR(s, "{\"spec\":{\"containers\":[{\"image\":\"z\",\"name\":\"a\",\"ports\":"
		     "[{\"containerPort\":80},{\"containerPort\":443}]},{\"image\":\"y\",\"name\":\"b\"}]}}");
	free(s);
}

TEST(strategic_merge_patch_deletes_list_elements_and_honours_directives)
{
	int ret;
	char *s = smp(STORE_DEPLOYMENTS,
		      "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\"},"
		      "{\"name\":\"b\"}]}},\"strategy\":{\"type\":\"RollingUpdate\","
		      "\"rollingUpdate\":{\"maxSurge\":1}}}}",
		      "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\","
		      "\"$patch\":\"delete\"}]}},\"strategy\":{\"$retainKeys\":[\"type\"],"
		      "\"type\":\"Recreate\",\"rollingUpdate\":null}}}", &ret);
	CHECK_INT(ret, 0);
	CHECK_STR(s, "{\"spec\":{\"strategy\":{\"type\":\"Recreate\"},\"template\":{\"spec\":"
		     "{\"containers\":[{\"name\":\"b\"}]}}}}");
	free(s);
	s = smp(STORE_PODS, "{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
		"{\"metadata\":{\"finalizers\":[\"c\"],\"$deleteFromPrimitiveList/finalizers\":[\"a\"]}}",
		&ret);
	CHECK_STR(s, "{\"metadata\":{\"finalizers\":[\"b\",\"c\"]}}");
	free(s);
	s = smp(STORE_PODS, "{\"spec\":{\"x\":{\"a\":1,\"b\":2}}}",
		"{\"spec\":{\"x\":{\"$patch\":\"replace\",\"c\":3}}}", &ret);
	CHECK_STR(s, "{\"spec\":{\"x\":{\"c\":3}}}");
	free(s);
	s = smp(STORE_PODS, "{\"spec\":{}}", "{\"spec\":{\"$patch\":\"bogus\"}}", &ret);
	CHECK_INT(ret, -EINVAL);
	free(s);
}

TEST(strategic_merge_patch_set_element_order_orders_merged_lists)
{
	int ret;
	char *s = smp(STORE_PODS,
		      "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"},"
		      "{\"name\":\"c\"}]},\"metadata\":{\"finalizers\":[\"x/1\",\"x/2\"]}}",
		      "{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"c\"},{\"name\":\"a\"}],"
		      "\"containers\":[{\"name\":\"a\",\"image\":\"i\"}]},\"metadata\":"
		      "{\"$setElementOrder/finalizers\":[\"x/2\",\"x/1\"]}}", &ret);
	CHECK_INT(ret, 0);
	CHECK_STR(s, "{\"metadata\":{\"finalizers\":[\"x/2\",\"x/1\"]},\"spec\":{\"containers\":"
		  "[{\"name\":\"c\"},{\"image\":\"i\",\"name\":\"a\"},{\"name\":\"b\"}]}}");
	free(s);
	s = smp(STORE_PODS, "{}", "{\"spec\":{\"$setElementOrder/containers\":\"x\"}}", &ret);
	CHECK_INT(ret, -EINVAL);
	free(s);
}

TEST(strategic_merge_patch_replaces_lists_without_a_merge_key)
{
	int ret;
	char *s = smp(STORE_NETWORKPOLICIES,
		      "{\"spec\":{\"ingress\":[{\"ports\":[{\"port\":80}]}]}}",
		      "{\"spec\":{\"ingress\":[{\"ports\":[{\"port\":443}]}]}}", &ret);
	CHECK_STR(s, "{\"spec\":{\"ingress\":[{\"ports\":[{\"port\":443}]}]}}");
	free(s);
	s = smp(STORE_SERVICES, "{\"spec\":{\"ports\":[{\"port\":80,\"name\":\"http\"}]}}",
		"{\"spec\":{\"ports\":[{\"port\":443,\"name\":\"https\"}]}}", &ret);
	CHECK_STR(s, "{\"spec\":{\"ports\":[{\"name\":\"http\",\"port\":80},{\"name\":\"https\","
		     "\"port\":443}]}}");
	free(s);
}

static char *jpatch(const char *doc, const char *ops, int *ret)
{
	json_t *d = json_loads(doc, 0, NULL), *o = json_loads(ops, 0, NULL), *out = NULL;
	char *err = NULL;
	*ret = api_json_patch(d, o, &out, &err);
	free(err);
	char *s = out ? json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS) : strdup("(none)");
	json_decref(d);
	json_decref(o);
	json_decref(out);
	return s;
}

TEST(json_patch_follows_rfc_6902)
{
	int ret;
	char *s = jpatch("{\"a\":{\"b\":[1,2]},\"k/l\":1}",
			 "[{\"op\":\"add\",\"path\":\"/a/b/-\",\"value\":3},"
			 "{\"op\":\"add\",\"path\":\"/a/b/0\",\"value\":0},"
			 "{\"op\":\"replace\",\"path\":\"/k~1l\",\"value\":2},"
			 "{\"op\":\"test\",\"path\":\"/k~1l\",\"value\":2},"
			 "{\"op\":\"copy\",\"from\":\"/a/b\",\"path\":\"/c\"},"
			 "{\"op\":\"move\",\"from\":\"/c\",\"path\":\"/d\"},"
			 "{\"op\":\"remove\",\"path\":\"/a/b/1\"}]", &ret);
	CHECK_INT(ret, 0);
	CHECK_STR(s, "{\"a\":{\"b\":[0,2,3]},\"d\":[0,1,2,3],\"k/l\":2}");
	free(s);
	s = jpatch("{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":2}]", &ret);
	CHECK_INT(ret, -EINVAL);
	free(s);
	s = jpatch("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/b\"}]", &ret);
	CHECK_INT(ret, -EINVAL);
	free(s);
	s = jpatch("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/b\",\"value\":1}]", &ret);
	CHECK_INT(ret, -EINVAL);
	free(s);
}

TEST(patch_verbs_pick_the_format_from_the_content_type)
{
	struct fixture f;
	CHECK(setup(&f, 0));
	CHECK_INT(code_of(&f, "POST", "/api/v1/namespaces/default/pods", pod_web), 201);
	const char *item = "/api/v1/namespaces/default/pods/web";
	struct api_response r = call_full(&f, "PATCH", item, NULL,
					  "application/strategic-merge-patch+json", NULL,
					  "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"httpd\"}]}}");
	CHECK_INT(r.code, 200);
	CHECK_STR(str_at(r.body, "spec.containers.0.image"), "httpd");
	CHECK(at(r.body, "spec.containers.0.ports.0") != NULL);
	api_response_clear(&r);
	r = call_full(&f, "PATCH", item, NULL, "application/json-patch+json", NULL,
		      "[{\"op\":\"add\",\"path\":\"/metadata/labels/tier\",\"value\":\"front\"}]");
	CHECK_INT(r.code, 200);
	CHECK_STR(str_at(r.body, "metadata.labels.tier"), "front");
	api_response_clear(&r);
	r = call_full(&f, "PATCH", item, NULL, "application/apply-patch+yaml", NULL, "{}");
	CHECK_INT(r.code, 415);
	api_response_clear(&r);
	r = call_full(&f, "PATCH", item, NULL, "application/merge-patch+json", NULL,
		      "{\"metadata\":{\"labels\":{\"bad key!\":\"x\"}}}");
	CHECK_INT(r.code, 422);
	api_response_clear(&r);
	r = call_full(&f, "PATCH", item, NULL, "application/merge-patch+json", NULL,
		      "{\"metadata\":{\"resourceVersion\":\"1\",\"labels\":{\"a\":\"b\"}}}");
	CHECK_INT(r.code, 409);
	api_response_clear(&r);
	r = call_full(&f, "PATCH", "/api/v1/namespaces/default/pods/nope", NULL,
		      "application/merge-patch+json", NULL, "{}");
	CHECK_INT(r.code, 404);
	api_response_clear(&r);
	teardown(&f);
}

/* ---- watch -------------------------------------------------------------------------------- */

/* Reads whole event lines, "TYPE name" each, until nothing comes in time. */
static char *read_events(struct api_watch *w)
{
	char *out = calloc(1, 4096), buf[8192];
	size_t len = 0;
	ssize_t n;
	char *acc = calloc(1, 65536);
	while ((n = api_watch_read(w, buf, sizeof(buf), 50)) > 0) {
		memcpy(acc + len, buf, (size_t)n);
		len += (size_t)n;
	}
	for (char *line = strtok(acc, "\n"); line; line = strtok(NULL, "\n")) {
		json_t *ev = json_loads(line, 0, NULL);
		char one[128];
		snprintf(one, sizeof(one), "%s%s %s", *out ? " " : "", str_at(ev, "type"),
			 str_at(ev, "object.metadata.name") ?: str_at(ev, "object.reason"));
		strcat(out, one);
		json_decref(ev);
	}
	free(acc);
	return out;
}

TEST(watch_streams_events_after_the_resource_version_in_order)
{
	struct fixture f;
	CHECK(setup(&f, 0));
	make_pod(&f, "default", "a", "{}");          /* rv 2 */
	make_pod(&f, "default", "b", "{}");          /* rv 3 */
	CHECK_INT(code_of(&f, "DELETE", "/api/v1/namespaces/default/pods/a", NULL), 200);
	struct api_response r = call_full(&f, "GET", "/api/v1/namespaces/default/pods",
					  "watch=1&resourceVersion=2", NULL, NULL, NULL);
	CHECK_INT(r.code, 200);
	CHECK(r.watch != NULL);
	make_pod(&f, "default", "c", "{}");
	char *got = read_events(r.watch);
	CHECK_STR(got, "ADDED b DELETED a ADDED c");
	free(got);
	api_response_clear(&r);
	teardown(&f);
}

TEST(watch_without_a_resource_version_starts_with_the_current_state)
{
	struct fixture f;
	CHECK(setup(&f, 0));
	make_pod(&f, "default", "a", "{\"app\":\"web\"}");
	make_pod(&f, "default", "b", "{}");
	struct api_response r = call_full(&f, "GET", "/api/v1/pods", "watch=true&labelSelector=app=web",
					  NULL, NULL, NULL);
	make_pod(&f, "default", "c", "{\"app\":\"web\"}");
	char *got = read_events(r.watch);
	CHECK_STR(got, "ADDED a ADDED c");
	free(got);
	api_response_clear(&r);
	teardown(&f);
}

TEST(watch_from_a_compacted_resource_version_is_410_gone)
{
	struct fixture f;
	CHECK(setup(&f, 2));
	make_pod(&f, "default", "a", "{}");
	make_pod(&f, "default", "b", "{}");
	make_pod(&f, "default", "c", "{}");
	struct api_response r = call_full(&f, "GET", "/api/v1/pods", "watch=1&resourceVersion=1",
					  NULL, NULL, NULL);
	CHECK_INT(r.code, 410);
	CHECK_STR(str_at(r.body, "reason"), "Expired");
	CHECK_STR(str_at(r.body, "kind"), "Status");
	api_response_clear(&r);
	teardown(&f);
}

TEST(watch_timeout_ends_the_stream)
{
	struct fixture f;
	CHECK(setup(&f, 0));
	struct api_response r = call_full(&f, "GET", "/api/v1/pods",
					  "watch=1&resourceVersion=1&timeoutSeconds=1", NULL, NULL, NULL);
	char buf[64];
	ssize_t n;
	int rounds = 0;
	while ((n = api_watch_read(r.watch, buf, sizeof(buf), 200)) == 0 && rounds < 20)
		rounds++;
	CHECK_INT(n, -1);
	api_response_clear(&r);
	teardown(&f);
}

/* ---- protobuf ------------------------------------------------------------------------------ */

TEST(protobuf_namespace_from_kubectl_create_namespace_decodes)
{
	/* "k8s\0" + Unknown{typeMeta{apiVersion "v1", kind "Namespace"},
	 * raw Namespace{metadata{name "team-a", labels{a: b}}, spec{}, status{}}} */
	static const unsigned char body[] = {
		'k', '8', 's', 0,
		0x0a, 0x0f, 0x0a, 0x02, 'v', '1', 0x12, 0x09, 'N', 'a', 'm', 'e', 's', 'p', 'a', 'c', 'e',
		0x12, 0x16,
		0x0a, 0x10, 0x0a, 0x06, 't', 'e', 'a', 'm', '-', 'a', 0x5a, 0x06, 0x0a, 0x01, 'a', 0x12, 0x01, 'b',
		0x12, 0x00, 0x1a, 0x00,
		0x1a, 0x00, 0x22, 0x00,
	};
	json_t *obj = NULL;
	char *err = NULL;
	CHECK_INT(api_protobuf_decode(body, sizeof(body), &obj, &err), 0);
	CHECK_STR(str_at(obj, "metadata.name"), "team-a");
	CHECK_STR(str_at(obj, "metadata.labels.a"), "b");
	CHECK_STR(str_at(obj, "kind"), "Namespace");
	json_decref(obj);
	CHECK_INT(api_protobuf_decode("k8s", 3, &obj, &err), -EINVAL);
	free(err);
	/* a kind the API does not serve */
	static const unsigned char cm[] = {'k', '8', 's', 0, 0x0a, 0x0f, 0x0a, 0x02, 'v', '1', 0x12,
					   0x09, 'C', 'o', 'n', 'f', 'i', 'g', 'M', 'a', 'p', 0x12, 0x00};
	CHECK_INT(api_protobuf_decode(cm, sizeof(cm), &obj, &err), -ENOTSUP);
	free(err);
}

/* ---- the HTTP server itself -------------------------------------------------------------- */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends a raw request (Connection: close) and returns the whole answer. */
static char *http(const char *sock, const char *request)
{
	int fd = connect_unix(sock);
	if (fd < 0)
		return strdup("(no connection)");
	if (write(fd, request, strlen(request)) != (ssize_t)strlen(request)) {
		close(fd);
		return strdup("(short write)");
	}
	size_t cap = 65536, len = 0;
	char *out = calloc(1, cap);
	ssize_t n;
	while (len + 1 < cap && (n = read(fd, out + len, cap - len - 1)) > 0)
		len += (size_t)n;
	close(fd);
	return out;
}

struct server_fixture {
	struct fixture f;
	char sock[100];
	struct api_server *srv;
};

static bool server_setup(struct server_fixture *sf)
{
	if (!setup(&sf->f, 0))
		return false;
	snprintf(sf->sock, sizeof(sf->sock), "%s/api.sock", sf->f.dir);
	struct api_options o = {.store = sf->f.s, .socket_path = sf->sock};
	return api_start(&o, &sf->srv, NULL) == 0;
}

static void server_teardown(struct server_fixture *sf)
{
	api_stop(sf->srv);
	teardown(&sf->f);
}

TEST(unix_socket_serves_requests_and_is_private)
{
	struct server_fixture sf;
	CHECK(server_setup(&sf));
	struct stat st;
	CHECK_INT(stat(sf.sock, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0600);
	char *r = http(sf.sock, "GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	CHECK(strncmp(r, "HTTP/1.1 200", 12) == 0);
	CHECK(strstr(r, "\"NamespaceList\"") != NULL);
	free(r);
	const char *body = "{\"metadata\":{\"name\":\"team-a\"}}";
	char req[512];
	snprintf(req, sizeof(req), "POST /api/v1/namespaces HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
	r = http(sf.sock, req);
	CHECK(strncmp(r, "HTTP/1.1 201", 12) == 0);
	free(r);
	server_teardown(&sf);
	CHECK(access(sf.sock, F_OK) < 0);
}

TEST(announced_bodies_over_3_mib_are_refused_before_they_are_read)
{
	struct server_fixture sf;
	CHECK(server_setup(&sf));
	char *r = http(sf.sock, "POST /api/v1/namespaces HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
			 "Content-Type: application/json\r\nContent-Length: 4000000\r\n\r\n{");
	CHECK(strncmp(r, "HTTP/1.1 413", 12) == 0);
	CHECK(strstr(r, "RequestEntityTooLarge") != NULL);
	free(r);
	server_teardown(&sf);
}

TEST(watch_streams_chunked_events_until_its_timeout)
{
	struct server_fixture sf;
	CHECK(server_setup(&sf));
	make_pod(&sf.f, "default", "a", "{}");
	char *r = http(sf.sock, "GET /api/v1/pods?watch=1&resourceVersion=1&timeoutSeconds=1 HTTP/1.1\r\n"
			 "Host: x\r\nConnection: close\r\n\r\n");
	CHECK(strncmp(r, "HTTP/1.1 200", 12) == 0);
	CHECK(strstr(r, "Transfer-Encoding: chunked") != NULL);
	CHECK(strstr(r, "{\"type\":\"ADDED\",\"object\":{") != NULL);
	free(r);
	server_teardown(&sf);
}

TEST(a_live_socket_is_not_taken_over_but_a_stale_one_is)
{
	struct server_fixture sf;
	CHECK(server_setup(&sf));
	struct api_options o = {.store = sf.f.s, .socket_path = sf.sock};
	struct api_server *other = NULL;
	char *err = NULL;
	CHECK_INT(api_start(&o, &other, &err), -EADDRINUSE);
	CHECK(err && strstr(err, sf.sock));
	free(err);
	api_stop(sf.srv);
	sf.srv = NULL;
	/* a socket file nobody listens on, as a crash leaves it */
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sf.sock);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_INT(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	CHECK_INT(api_start(&o, &other, NULL), 0);
	api_stop(other);
	server_teardown(&sf);
}

TEST(pki_is_made_once_with_private_keys)
{
	struct fixture f;
	CHECK(setup(&f, 0));
	char *err = NULL;
	CHECK_INT(api_pki_ensure(f.dir, &err), 0);
	char path[256], *token = NULL, *token2 = NULL;
	struct stat st, st2;
	snprintf(path, sizeof(path), "%s/%s", f.dir, API_CA_KEY_FILE);
	CHECK_INT(stat(path, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0600);
	CHECK_INT(api_read_token(f.dir, &token, NULL), 0);
	CHECK_INT(strlen(token), 64);
	snprintf(path, sizeof(path), "%s/%s", f.dir, API_CA_CERT_FILE);
	CHECK_INT(stat(path, &st), 0);
	CHECK_INT(api_pki_ensure(f.dir, NULL), 0);
	CHECK_INT(stat(path, &st2), 0);
	CHECK_INT(st.st_ino, st2.st_ino);
	CHECK_INT(api_read_token(f.dir, &token2, NULL), 0);
	CHECK_STR(token, token2);
	free(token);
	free(token2);
	const char *files[] = {API_CA_CERT_FILE, API_CA_KEY_FILE, API_SERVER_CERT_FILE,
			       API_SERVER_KEY_FILE, API_TOKEN_FILE};
	for (int i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "%s/%s", f.dir, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/pki", f.dir);
	rmdir(path);
	teardown(&f);
}

TEST(tcp_listener_reports_the_port_it_picked)
{
	struct fixture f;
	CHECK(setup(&f, 0));
	struct api_options o = {.store = f.s, .listen = "127.0.0.1:0", .state_dir = f.dir};
	struct api_server *srv = NULL;
	char *err = NULL;
	int ret = api_start(&o, &srv, &err);
	if (ret < 0)
		unit_fail(__FILE__, __LINE__, "api_start: %s", err ? err : "?");
	free(err);
	CHECK_INT(ret, 0);
	CHECK(api_tcp_port(srv) > 0);
	api_stop(srv);
	o.listen = "10.0.0.1";
	CHECK_INT(api_start(&o, &srv, NULL), -EINVAL);
	char path[256];
	const char *files[] = {API_CA_CERT_FILE, API_CA_KEY_FILE, API_SERVER_CERT_FILE,
			       API_SERVER_KEY_FILE, API_TOKEN_FILE};
	for (int i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "%s/%s", f.dir, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/pki", f.dir);
	rmdir(path);
	teardown(&f);
}

TEST(deleting_a_namespace_marks_it_terminating_and_refuses_new_content)
{
	struct fixture f;
	CHECK(setup(&f, 0));
	CHECK_INT(code_of(&f, "POST", "/api/v1/namespaces", "{\"metadata\":{\"name\":\"t\"}}"),
		  201);
	struct api_response r = call(&f, "DELETE", "/api/v1/namespaces/t", NULL);
	CHECK_INT(r.code, 200);
	CHECK_STR(str_at(r.body, "status.phase"), "Terminating");
	CHECK(str_at(r.body, "metadata.deletionTimestamp") != NULL);
	api_response_clear(&r);
	r = call(&f, "GET", "/api/v1/namespaces/t", NULL);
	CHECK_STR(str_at(r.body, "status.phase"), "Terminating");
	api_response_clear(&r);
	CHECK_INT(code_of(&f, "DELETE", "/api/v1/namespaces/t", NULL), 200);
	r = call(&f, "POST", "/api/v1/namespaces/t/pods", pod_web);
	CHECK_INT(r.code, 403);
	CHECK_STR(str_at(r.body, "reason"), "Forbidden");
	CHECK_STR(str_at(r.body, "message"),
		  "pods \"web\" is forbidden: unable to create new content in namespace t "
		  "because it is being terminated");
	api_response_clear(&r);
	r = call(&f, "POST", "/apis/networking.k8s.io/v1/namespaces/t/networkpolicies",
		 "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"podSelector\":{}}}");
	CHECK_STR(str_at(r.body, "message"),
		  "networkpolicies.networking.k8s.io \"p\" is forbidden: unable to create new "
		  "content in namespace t because it is being terminated");
	api_response_clear(&r);
	teardown(&f);
}
