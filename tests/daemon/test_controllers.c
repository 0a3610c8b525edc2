/* The daemon's controllers against a real store, without a kernel. */
#include "daemon/daemon.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct store *open_store(char *dir)
{
	char path[256];
	struct store *s = NULL;
	struct store_options o = {.path = path};
	strcpy(dir, "/tmp/np-ctl-XXXXXX");
	if (!mkdtemp(dir))
		return NULL;
	snprintf(path, sizeof(path), "%s/store.db", dir);
	if (store_open(&o, &s, NULL) < 0)
		return NULL;
	json_t *ns = json_pack("{s:{s:s}}", "metadata", "name", "demo");
	store_create(s, STORE_NAMESPACES, ns, 0, NULL);
	json_decref(ns);
	return s;
}

static void close_store(struct store *s, const char *dir)
{
	char cmd[300];
	store_close(s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static void converge(struct store *s)
{
	for (int i = 0; i < 10 && controllers_sync(s) > 0; i++)
		;
}

static void create(struct store *s, enum store_resource r, const char *json)
{
	json_t *o = json_loads(json, 0, NULL);
	store_create(s, r, o, 0, NULL);
	json_decref(o);
}

static json_t *pods(struct store *s)
{
	json_t *items = NULL;
	struct store_filter f = {.ns = "demo"};
	store_list(s, STORE_PODS, &f, &items, NULL);
	return items;
}

static const char *const DEPLOY =
	"{\"metadata\":{\"name\":\"nginx\",\"namespace\":\"demo\"},"
	"\"spec\":{\"replicas\":2,\"selector\":{\"matchLabels\":{\"app\":\"nginx\"}},"
	"\"template\":{\"metadata\":{\"labels\":{\"app\":\"nginx\"}},"
	"\"spec\":{\"containers\":[{\"name\":\"nginx\",\"image\":\"nginx\","
	"\"ports\":[{\"name\":\"http\",\"containerPort\":80}]}]}}}}";

TEST(deployment_creates_its_replicas_with_template_labels_and_owner)
{
	char dir[64];
	struct store *s = open_store(dir);
	CHECK(s);
	create(s, STORE_DEPLOYMENTS, DEPLOY);
	converge(s);
	json_t *items = pods(s);
	CHECK_INT((int)json_array_size(items), 2);
	json_t *p = json_array_get(items, 0);
	const char *name = json_string_value(json_object_get(json_object_get(p, "metadata"), "name"));
	json_t *labels = json_object_get(json_object_get(p, "metadata"), "labels");
	CHECK(strncmp(name, "nginx-", 6) == 0 && strlen(name) == strlen("nginx-0123456789-abcde"));
	CHECK_STR(json_string_value(json_object_get(labels, "app")), "nginx");
	CHECK(json_object_get(labels, "pod-template-hash"));
	CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(
		json_object_get(p, "metadata"), "ownerReferences"), 0), "kind")), "Deployment");
	json_decref(items);
	CHECK_INT(controllers_sync(s), 0);
	close_store(s, dir);
}

TEST(deleted_replica_is_replaced_under_a_new_name)
{
	char dir[64];
	struct store *s = open_store(dir);
	CHECK(s);
	create(s, STORE_DEPLOYMENTS, DEPLOY);
	converge(s);
	json_t *items = pods(s);
	char gone[128];
	snprintf(gone, sizeof(gone), "%s", json_string_value(json_object_get(
		json_object_get(json_array_get(items, 0), "metadata"), "name")));
	json_decref(items);
	CHECK_INT(store_delete(s, STORE_PODS, "demo", gone, NULL, 0, NULL), 0);
	converge(s);
	items = pods(s);
	CHECK_INT((int)json_array_size(items), 2);
	for (size_t i = 0; i < 2; i++)
		CHECK(strcmp(json_string_value(json_object_get(json_object_get(
			json_array_get(items, i), "metadata"), "name")), gone) != 0);
	json_decref(items);
	close_store(s, dir);
}

static int scale_to_one(json_t *obj, void *ctx)
{
	json_object_set_new(json_object_get(obj, "spec"), "replicas", json_integer(1));
	return 0;
}

TEST(scaling_down_and_deleting_the_deployment_remove_pods)
{
	char dir[64];
	struct store *s = open_store(dir);
	CHECK(s);
	create(s, STORE_DEPLOYMENTS, DEPLOY);
	converge(s);
	store_modify(s, STORE_DEPLOYMENTS, "demo", "nginx", scale_to_one, NULL, STORE_KEEP_STATUS,
		     NULL);
	converge(s);
	json_t *items = pods(s);
	CHECK_INT((int)json_array_size(items), 1);
	json_decref(items);
	json_t *dep = NULL;
	store_get(s, STORE_DEPLOYMENTS, "demo", "nginx", &dep);
	CHECK_INT((int)json_integer_value(json_object_get(json_object_get(dep, "status"),
							   "replicas")), 1);
	json_decref(dep);
	store_delete(s, STORE_DEPLOYMENTS, "demo", "nginx", NULL, 0, NULL);
	converge(s);
	items = pods(s);
	CHECK_INT((int)json_array_size(items), 0);
	json_decref(items);
	close_store(s, dir);
}

static int make_ready(json_t *obj, void *ctx)
{
	json_t *st = json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "phase", "Running", "podIP",
			       (const char *)ctx, "conditions", "type", "Ready", "status", "True");
	json_object_set_new(obj, "status", st);
	return 0;
}

TEST(service_gets_a_cluster_ip_and_endpoints_follow_ready_pods)
{
	char dir[64];
	struct store *s = open_store(dir);
	CHECK(s);
	create(s, STORE_DEPLOYMENTS, DEPLOY);
	create(s, STORE_SERVICES, "{\"metadata\":{\"name\":\"nginx\",\"namespace\":\"demo\"},"
		  "\"spec\":{\"selector\":{\"app\":\"nginx\"},\"ports\":[{\"port\":8080,"
		  "\"targetPort\":\"http\",\"protocol\":\"TCP\"}]}}");
	converge(s);
	json_t *svc = NULL, *ep = NULL, *items = pods(s);
	store_get(s, STORE_SERVICES, "demo", "nginx", &svc);
	CHECK_STR(json_string_value(json_object_get(json_object_get(svc, "spec"), "clusterIP")),
		  "198.19.0.11");
	json_decref(svc);
	const char *first = json_string_value(json_object_get(
		json_object_get(json_array_get(items, 0), "metadata"), "name"));
	store_modify(s, STORE_PODS, "demo", first, make_ready, "198.18.0.7", STORE_STATUS_ONLY,
		     NULL);
	json_decref(items);
	converge(s);
	store_get(s, STORE_ENDPOINTS, "demo", "nginx", &ep);
	CHECK(ep);
	json_t *sub = json_array_get(json_object_get(ep, "subsets"), 0);
	CHECK_INT((int)json_array_size(json_object_get(sub, "addresses")), 1);
	CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(sub, "addresses"),
								   0), "ip")), "198.18.0.7");
	CHECK_INT((int)json_integer_value(json_object_get(json_array_get(json_object_get(sub, "ports"),
									 0), "port")), 80);
	json_decref(ep);
	close_store(s, dir);
}

TEST(deleting_a_namespace_deletes_what_it_held)
{
	char dir[64];
	struct store *s = open_store(dir);
	CHECK(s);
	create(s, STORE_DEPLOYMENTS, DEPLOY);
	converge(s);
	store_delete(s, STORE_NAMESPACES, NULL, "demo", NULL, 0, NULL);
	converge(s);
	json_t *items = pods(s), *deps = NULL;
	CHECK_INT((int)json_array_size(items), 0);
	store_list(s, STORE_DEPLOYMENTS, NULL, &deps, NULL);
	CHECK_INT((int)json_array_size(deps), 0);
	json_decref(items);
	json_decref(deps);
	close_store(s, dir);
}
