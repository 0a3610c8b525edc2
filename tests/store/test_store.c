#include "unit.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- fixtures ------------------------------------------------------------------ */

struct fixture {
	char dir[64];
	char path[96];
	struct store *s;
};

static struct store *open_at(const char *path, long log_size)
{
	struct store_options o = {.path = path, .event_log_size = log_size};
	struct store *s = NULL;
	char *err = NULL;
	if (store_open(&o, &s, &err) < 0) {
		fprintf(stderr, "store_open: %s\n", err ? err : "?");
		free(err);
		return NULL;
	}
	return s;
}

/* A fresh directory and the store's path in it, with no store yet. */
static bool fixture_dir(struct fixture *f)
{
	f->s = NULL;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_store.XXXXXX");
	if (!mkdtemp(f->dir))
		return false;
	snprintf(f->path, sizeof(f->path), "%s/store.db", f->dir);
	return true;
}

static bool fixture_open(struct fixture *f, long log_size)
{
	if (!fixture_dir(f))
		return false;
	f->s = open_at(f->path, log_size);
	return f->s != NULL;
}

static void fixture_close(struct fixture *f)
{
	char p[128];
	store_close(f->s);
	f->s = NULL;
	const char *suffix[] = {"", "-wal", "-shm", ".created", ".reserve"};
	for (int i = 0; i < 5; i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
		unlink(p);
	}
	rmdir(f->dir);
}

static json_t *object(const char *ns, const char *name, const char *labels_json)
{
	json_t *o = json_pack("{s:{s:s}}", "metadata", "name", name);
	if (ns)
		json_object_set_new(json_object_get(o, "metadata"), "namespace", json_string(ns));
	if (labels_json)
		json_object_set_new(json_object_get(o, "metadata"), "labels",
				    json_loads(labels_json, 0, NULL));
	return o;
}

static int create(struct store *s, enum store_resource r, const char *ns,
		  const char *name, const char *labels_json)
{
	json_t *o = object(ns, name, labels_json);
	int ret = store_create(s, r, o, 0, NULL);
	json_decref(o);
	return ret;
}

static const char *meta(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

static long long meta_int(json_t *obj, const char *key)
{
	return json_integer_value(json_object_get(json_object_get(obj, "metadata"), key));
}

static long long rv_of(json_t *obj)
{
	return atoll(meta(obj, "resourceVersion"));
}

/* ---- create, get ---------------------------------------------------------------- */

TEST(create_assigns_uid_timestamp_generation_and_resource_version)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	json_t *in = object(NULL, "team-a", NULL), *out = NULL;
	CHECK_INT(store_create(f.s, STORE_NAMESPACES, in, 0, &out), 0);
	CHECK_STR(json_string_value(json_object_get(out, "kind")), "Namespace");
	CHECK_STR(json_string_value(json_object_get(out, "apiVersion")), "v1");
	CHECK_INT(strlen(meta(out, "uid")), 36);
	CHECK_INT(meta(out, "uid")[14], '4');
	CHECK_INT(strlen(meta(out, "creationTimestamp")), 20);
	CHECK_INT(meta(out, "creationTimestamp")[19], 'Z');
	CHECK_INT(meta_int(out, "generation"), 1);
	CHECK_STR(meta(out, "resourceVersion"), "1");
	CHECK_INT(store_revision(f.s), 1);
	json_decref(in);
	json_decref(out);
	fixture_close(&f);
}

TEST(create_ignores_system_fields_sent_by_the_client)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	json_t *in = json_pack("{s:{s:s, s:s, s:s, s:i}}", "metadata", "name", "a", "uid",
			       "client-uid", "resourceVersion", "77", "generation", 9);
	json_t *out = NULL;
	CHECK_INT(store_create(f.s, STORE_NAMESPACES, in, 0, &out), 0);
	CHECK(strcmp(meta(out, "uid"), "client-uid") != 0);
	CHECK_STR(meta(out, "resourceVersion"), "1");
	CHECK_INT(meta_int(out, "generation"), 1);
	json_decref(in);
	json_decref(out);
	fixture_close(&f);
}

TEST(create_of_an_existing_name_fails_with_eexist)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), 0);
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), -EEXIST);
	CHECK_INT(create(f.s, STORE_PODS, "a", "p", NULL), 0);
	CHECK_INT(create(f.s, STORE_PODS, "a", "p", NULL), -EEXIST);
	/* same name, other kind: no clash */
	CHECK_INT(create(f.s, STORE_SERVICES, "a", "p", NULL), 0);
	CHECK_INT(store_revision(f.s), 3);
	fixture_close(&f);
}

TEST(create_in_a_missing_namespace_fails_with_enxio)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	CHECK_INT(create(f.s, STORE_PODS, "nowhere", "p", NULL), -ENXIO);
	CHECK_INT(store_revision(f.s), 0);
	fixture_close(&f);
}

TEST(create_without_name_or_namespace_is_invalid)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), 0);
	json_t *o = json_pack("{s:{}}", "metadata");
	CHECK_INT(store_create(f.s, STORE_NAMESPACES, o, 0, NULL), -EINVAL);
	json_decref(o);
	CHECK_INT(create(f.s, STORE_PODS, NULL, "p", NULL), -EINVAL);
	o = json_pack("[]");
	CHECK_INT(store_create(f.s, STORE_NAMESPACES, o, 0, NULL), -EINVAL);
	json_decref(o);
	fixture_close(&f);
}

TEST(generate_name_gets_a_five_character_suffix)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	json_t *in = json_pack("{s:{s:s}}", "metadata", "generateName", "web-"), *out = NULL;
	CHECK_INT(store_create(f.s, STORE_NAMESPACES, in, 0, &out), 0);
	CHECK_INT(strlen(meta(out, "name")), 9);
	CHECK_INT(strncmp(meta(out, "name"), "web-", 4), 0);
	json_decref(in);
	json_decref(out);
	fixture_close(&f);
}

TEST(get_returns_the_stored_object_and_enoent_when_absent)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), 0);
	CHECK_INT(create(f.s, STORE_PODS, "a", "p", "{\"app\":\"web\"}"), 0);
	json_t *out = NULL;
	CHECK_INT(store_get(f.s, STORE_PODS, "a", "p", &out), 0);
	CHECK_STR(meta(out, "namespace"), "a");
	CHECK_STR(json_string_value(json_object_get(json_object_get(json_object_get(out, "metadata"), "labels"), "app")), "web");
	json_decref(out);
	CHECK_INT(store_get(f.s, STORE_PODS, "a", "q", &out), -ENOENT);
	CHECK_INT(store_get(f.s, STORE_PODS, "b", "p", &out), -ENOENT);
	CHECK_INT(store_get(f.s, STORE_SERVICES, "a", "p", &out), -ENOENT);
	fixture_close(&f);
}

TEST(namespace_gets_its_name_label_and_active_phase)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	json_t *out = NULL;
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "team-a", "{\"x\":\"y\"}"), 0);
	CHECK_INT(store_get(f.s, STORE_NAMESPACES, NULL, "team-a", &out), 0);
	json_t *labels = json_object_get(json_object_get(out, "metadata"), "labels");
	CHECK_STR(json_string_value(json_object_get(labels, "kubernetes.io/metadata.name")), "team-a");
	CHECK_STR(json_string_value(json_object_get(labels, "x")), "y");
	CHECK_STR(json_string_value(json_object_get(json_object_get(out, "status"), "phase")), "Active");
	json_decref(out);
	fixture_close(&f);
}

TEST(network_policy_types_default_as_in_kubernetes)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), 0);
	json_t *in = json_loads("{\"metadata\":{\"name\":\"np\",\"namespace\":\"a\"},"
				"\"spec\":{\"podSelector\":{},\"egress\":[{\"ports\":[{\"port\":53}]}]}}",
				0, NULL);
	json_t *out = NULL;
	CHECK_INT(store_create(f.s, STORE_NETWORKPOLICIES, in, 0, &out), 0);
	json_t *spec = json_object_get(out, "spec");
	char *types = json_dumps(json_object_get(spec, "policyTypes"), JSON_COMPACT);
	CHECK_STR(types, "[\"Ingress\",\"Egress\"]");
	free(types);
	json_t *port = json_array_get(json_object_get(json_array_get(json_object_get(spec, "egress"), 0), "ports"), 0);
	CHECK_STR(json_string_value(json_object_get(port, "protocol")), "TCP");
	CHECK_STR(json_string_value(json_object_get(out, "kind")), "NetworkPolicy");
	CHECK_STR(json_string_value(json_object_get(out, "apiVersion")), "networking.k8s.io/v1");
	json_decref(in);
	json_decref(out);
	fixture_close(&f);
}

TEST(service_ports_default_protocol_and_target_port)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), 0);
	json_t *in = json_loads("{\"metadata\":{\"name\":\"s\",\"namespace\":\"a\"},"
				"\"spec\":{\"ports\":[{\"port\":80}]}}", 0, NULL);
	json_t *out = NULL;
	CHECK_INT(store_create(f.s, STORE_SERVICES, in, 0, &out), 0);
	json_t *port = json_array_get(json_object_get(json_object_get(out, "spec"), "ports"), 0);
	CHECK_INT(json_integer_value(json_object_get(port, "targetPort")), 80);
	CHECK_STR(json_string_value(json_object_get(port, "protocol")), "TCP");
	CHECK_STR(json_string_value(json_object_get(json_object_get(out, "spec"), "type")), "ClusterIP");
	json_decref(in);
	json_decref(out);
	fixture_close(&f);
}

/* ---- update, modify, delete ------------------------------------------------------- */

static json_t *pod_with_image(const char *image, const char *rv)
{
	json_t *o = json_pack("{s:{s:s, s:s}, s:{s:[{s:s, s:s}]}}", "metadata", "name", "p",
			      "namespace", "a", "spec", "containers", "name", "c", "image", image);
	if (rv)
		json_object_set_new(json_object_get(o, "metadata"), "resourceVersion", json_string(rv));
	return o;
}

TEST(resource_version_increases_with_every_write)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), 0);
	json_t *p = pod_with_image("nginx", NULL), *out = NULL;
	CHECK_INT(store_create(f.s, STORE_PODS, p, 0, &out), 0);
	long long rv1 = rv_of(out);
	json_decref(out);
	json_decref(p);
	p = pod_with_image("httpd", NULL);
	CHECK_INT(store_update(f.s, STORE_PODS, p, 0, &out), 0);
	long long rv2 = rv_of(out);
	json_decref(out);
	json_decref(p);
	CHECK_INT(store_delete(f.s, STORE_PODS, "a", "p", NULL, 0, &out), 0);
	long long rv3 = rv_of(out);
	json_decref(out);
	CHECK(rv1 < rv2 && rv2 < rv3);
	CHECK_INT(store_revision(f.s), rv3);
	fixture_close(&f);
}

TEST(update_with_a_stale_resource_version_conflicts)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), 0);
	json_t *p = pod_with_image("nginx", NULL), *out = NULL;
	CHECK_INT(store_create(f.s, STORE_PODS, p, 0, &out), 0);
	char rv[24];
	snprintf(rv, sizeof(rv), "%s", meta(out, "resourceVersion"));
	json_decref(out);
	json_decref(p);
	p = pod_with_image("httpd", rv);
	CHECK_INT(store_update(f.s, STORE_PODS, p, 0, NULL), 0);
	/* the same rv again is now stale */
	CHECK_INT(store_update(f.s, STORE_PODS, p, 0, NULL), -ESTALE);
	json_decref(p);
	CHECK_INT(store_delete(f.s, STORE_PODS, "a", "p", rv, 0, NULL), -ESTALE);
	CHECK_INT(store_get(f.s, STORE_PODS, "a", "p", &out), 0);
	CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(json_object_get(out, "spec"), "containers"), 0), "image")), "httpd");
	json_decref(out);
	fixture_close(&f);
}

TEST(update_of_a_missing_object_fails_with_enoent)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), 0);
	json_t *p = pod_with_image("nginx", NULL);
	CHECK_INT(store_update(f.s, STORE_PODS, p, 0, NULL), -ENOENT);
	json_decref(p);
	CHECK_INT(store_delete(f.s, STORE_PODS, "a", "p", NULL, 0, NULL), -ENOENT);
	fixture_close(&f);
}

TEST(update_bumps_generation_only_when_the_spec_changes)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), 0);
	json_t *p = pod_with_image("nginx", NULL), *out = NULL;
	CHECK_INT(store_create(f.s, STORE_PODS, p, 0, NULL), 0);
	json_object_set_new(json_object_get(p, "metadata"), "labels", json_pack("{s:s}", "a", "b"));
	CHECK_INT(store_update(f.s, STORE_PODS, p, 0, &out), 0);
	CHECK_INT(meta_int(out, "generation"), 1);
	CHECK_STR(meta(out, "resourceVersion"), "3");
	json_decref(out);
	json_decref(p);
	p = pod_with_image("httpd", NULL);
	CHECK_INT(store_update(f.s, STORE_PODS, p, 0, &out), 0);
	CHECK_INT(meta_int(out, "generation"), 2);
	json_decref(out);
	json_decref(p);
	fixture_close(&f);
}

TEST(update_that_changes_nothing_writes_nothing)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), 0);
	json_t *p = pod_with_image("nginx", NULL), *out = NULL;
	CHECK_INT(store_create(f.s, STORE_PODS, p, 0, NULL), 0);
	CHECK_INT(store_update(f.s, STORE_PODS, p, STORE_KEEP_STATUS, &out), 0);
	CHECK_STR(meta(out, "resourceVersion"), "2");
	CHECK_INT(store_revision(f.s), 2);
	json_decref(out);
	json_decref(p);
	fixture_close(&f);
}

TEST(update_keeps_uid_and_creation_timestamp)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), 0);
	json_t *p = pod_with_image("nginx", NULL), *first = NULL, *out = NULL;
	CHECK_INT(store_create(f.s, STORE_PODS, p, 0, &first), 0);
	json_decref(p);
	p = pod_with_image("httpd", NULL);
	json_object_set_new(json_object_get(p, "metadata"), "uid", json_string("forged"));
	CHECK_INT(store_update(f.s, STORE_PODS, p, 0, &out), 0);
	CHECK_STR(meta(out, "uid"), meta(first, "uid"));
	CHECK_STR(meta(out, "creationTimestamp"), meta(first, "creationTimestamp"));
	json_decref(out);
	json_decref(first);
	json_decref(p);
	fixture_close(&f);
}

TEST(keep_status_ignores_status_and_status_only_ignores_the_rest)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), 0);
	json_t *p = pod_with_image("nginx", NULL), *out = NULL;
	json_object_set_new(p, "status", json_pack("{s:s}", "phase", "Running"));
	CHECK_INT(store_create(f.s, STORE_PODS, p, STORE_KEEP_STATUS, &out), 0);
	CHECK_STR(json_string_value(json_object_get(json_object_get(out, "status"), "phase")), "Pending");
	json_decref(out);
	CHECK_INT(store_update(f.s, STORE_PODS, p, STORE_KEEP_STATUS, &out), 0);
	CHECK_STR(json_string_value(json_object_get(json_object_get(out, "status"), "phase")), "Pending");
	json_decref(out);
	json_decref(p);
	p = pod_with_image("httpd", NULL);
	json_object_set_new(p, "status", json_pack("{s:s}", "phase", "Running"));
	CHECK_INT(store_update(f.s, STORE_PODS, p, STORE_STATUS_ONLY, &out), 0);
	CHECK_STR(json_string_value(json_object_get(json_object_get(out, "status"), "phase")), "Running");
	CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(json_object_get(out, "spec"), "containers"), 0), "image")), "nginx");
	CHECK_INT(meta_int(out, "generation"), 1);
	json_decref(out);
	json_decref(p);
	fixture_close(&f);
}

static int add_label(json_t *obj, void *ctx)
{
	json_t *meta = json_object_get(obj, "metadata");
	json_t *labels = json_object_get(meta, "labels");
	if (!labels) {
		labels = json_object();
		json_object_set_new(meta, "labels", labels);
	}
	return json_object_set_new(labels, (const char *)ctx, json_string("yes"));
}

static int refuse(json_t *obj, void *ctx)
{
	return -EPERM;
}

TEST(modify_applies_a_change_to_the_stored_object)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), 0);
	CHECK_INT(create(f.s, STORE_PODS, "a", "p", "{\"app\":\"web\"}"), 0);
	json_t *out = NULL;
	CHECK_INT(store_modify(f.s, STORE_PODS, "a", "p", add_label, "tier", 0, &out), 0);
	json_t *labels = json_object_get(json_object_get(out, "metadata"), "labels");
	CHECK_STR(json_string_value(json_object_get(labels, "app")), "web");
	CHECK_STR(json_string_value(json_object_get(labels, "tier")), "yes");
	CHECK_STR(meta(out, "resourceVersion"), "3");
	json_decref(out);
	CHECK_INT(store_modify(f.s, STORE_PODS, "a", "p", refuse, NULL, 0, &out), -EPERM);
	CHECK_INT(store_modify(f.s, STORE_PODS, "a", "q", add_label, "x", 0, &out), -ENOENT);
	CHECK_INT(store_revision(f.s), 3);
	fixture_close(&f);
}

static int set_stale_rv(json_t *obj, void *ctx)
{
	return json_object_set_new(json_object_get(obj, "metadata"), "resourceVersion",
				   json_string("1"));
}

TEST(modify_that_writes_an_old_resource_version_conflicts)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), 0);
	CHECK_INT(create(f.s, STORE_PODS, "a", "p", NULL), 0);
	CHECK_INT(store_modify(f.s, STORE_PODS, "a", "p", set_stale_rv, NULL, 0, NULL), -ESTALE);
	fixture_close(&f);
}

TEST(delete_returns_the_object_with_the_deletion_revision)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), 0);
	CHECK_INT(create(f.s, STORE_PODS, "a", "p", NULL), 0);
	json_t *out = NULL;
	CHECK_INT(store_delete(f.s, STORE_PODS, "a", "p", "2", 0, &out), 0);
	CHECK_STR(meta(out, "name"), "p");
	CHECK_STR(meta(out, "resourceVersion"), "3");
	json_decref(out);
	CHECK_INT(store_get(f.s, STORE_PODS, "a", "p", &out), -ENOENT);
	/* the name is free again */
	CHECK_INT(create(f.s, STORE_PODS, "a", "p", NULL), 0);
	fixture_close(&f);
}

TEST(dry_run_changes_nothing)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), 0);
	json_t *o = object("a", "p", NULL), *out = NULL;
	CHECK_INT(store_create(f.s, STORE_PODS, o, STORE_DRY_RUN, &out), 0);
	CHECK_STR(meta(out, "name"), "p");
	json_decref(out);
	json_decref(o);
	CHECK_INT(store_get(f.s, STORE_PODS, "a", "p", &out), -ENOENT);
	CHECK_INT(store_delete(f.s, STORE_NAMESPACES, NULL, "a", NULL, STORE_DRY_RUN, NULL), 0);
	CHECK_INT(store_get(f.s, STORE_NAMESPACES, NULL, "a", &out), 0);
	json_decref(out);
	CHECK_INT(store_revision(f.s), 1);
	fixture_close(&f);
}

/* ---- list --------------------------------------------------------------------------- */

static char *names(json_t *items)
{
	char *buf = calloc(1, 256);
	size_t i;
	json_t *o;
	json_array_foreach(items, i, o) {
		if (i)
			strcat(buf, " ");
		if (meta(o, "namespace")) {
			strcat(buf, meta(o, "namespace"));
			strcat(buf, "/");
		}
		strcat(buf, meta(o, "name"));
	}
	return buf;
}

TEST(list_is_sorted_and_filters_by_namespace_name_and_labels)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "b", NULL), 0);
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), 0);
	CHECK_INT(create(f.s, STORE_PODS, "b", "web", "{\"app\":\"web\"}"), 0);
	CHECK_INT(create(f.s, STORE_PODS, "a", "db", "{\"app\":\"db\"}"), 0);
	CHECK_INT(create(f.s, STORE_PODS, "a", "api", "{\"app\":\"web\",\"tier\":\"x\"}"), 0);
	json_t *items = NULL;
	uint64_t rv = 0;
	CHECK_INT(store_list(f.s, STORE_PODS, NULL, &items, &rv), 0);
	char *n = names(items);
	CHECK_STR(n, "a/api a/db b/web");
	free(n);
	json_decref(items);
	CHECK_INT(rv, 5);
	struct np_selector sel = {0};
	CHECK_INT(selector_parse("app=web", &sel, NULL), 0);
	struct store_filter flt = {.labels = &sel};
	CHECK_INT(store_list(f.s, STORE_PODS, &flt, &items, NULL), 0);
	n = names(items);
	CHECK_STR(n, "a/api b/web");
	free(n);
	json_decref(items);
	flt.ns = "b";
	CHECK_INT(store_list(f.s, STORE_PODS, &flt, &items, NULL), 0);
	n = names(items);
	CHECK_STR(n, "b/web");
	free(n);
	json_decref(items);
	struct store_filter byname = {.name = "db"};
	CHECK_INT(store_list(f.s, STORE_PODS, &byname, &items, NULL), 0);
	n = names(items);
	CHECK_STR(n, "a/db");
	free(n);
	json_decref(items);
	CHECK_INT(store_list(f.s, STORE_NAMESPACES, NULL, &items, NULL), 0);
	n = names(items);
	CHECK_STR(n, "a b");
	free(n);
	json_decref(items);
	selector_clear(&sel);
	fixture_close(&f);
}

/* ---- watches ---------------------------------------------------------------------------- */

/* "ADDED a/p@3 MODIFIED ..." for the events a watch has ready now. */
static char *drain(struct store_watch *w, int timeout_ms)
{
	char *buf = calloc(1, 4096);
	struct store_event *ev;
	while (store_watch_next(w, timeout_ms, &ev) == 0) {
		char one[160];
		const char *ns = meta(ev->object, "namespace");
		snprintf(one, sizeof(one), "%s%s %s%s%s@%llu", *buf ? " " : "",
			 store_event_type_name(ev->type), ns ? ns : "", ns ? "/" : "",
			 meta(ev->object, "name"), (unsigned long long)ev->rv);
		strcat(buf, one);
		store_event_free(ev);
	}
	return buf;
}

static void churn(struct store *s)
{
	create(s, STORE_NAMESPACES, NULL, "a", NULL);          /* 1 */
	create(s, STORE_PODS, "a", "p", NULL);                  /* 2 */
	create(s, STORE_SERVICES, "a", "s", NULL);              /* 3 */
	store_modify(s, STORE_PODS, "a", "p", add_label, "x", 0, NULL); /* 4 */
	store_delete(s, STORE_PODS, "a", "p", NULL, 0, NULL);   /* 5 */
}

TEST(watch_replays_from_a_revision_in_order)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	churn(f.s);
	struct store_watch_options o = {.from_rv = 1};
	struct store_watch *w = NULL;
	CHECK_INT(store_watch_open(f.s, &o, &w), 0);
	char *got = drain(w, 0);
	CHECK_STR(got, "ADDED a/p@2 ADDED a/s@3 MODIFIED a/p@4 DELETED a/p@5");
	free(got);
	store_watch_close(w);
	fixture_close(&f);
}

TEST(watch_filters_by_resource_and_namespace)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	churn(f.s);
	create(f.s, STORE_NAMESPACES, NULL, "b", NULL);        /* 6 */
	create(f.s, STORE_PODS, "b", "q", NULL);                /* 7 */
	struct store_watch_options o = {.resources = 1u << STORE_PODS, .filter.ns = "b"};
	struct store_watch *w = NULL;
	CHECK_INT(store_watch_open(f.s, &o, &w), 0);
	char *got = drain(w, 0);
	CHECK_STR(got, "ADDED b/q@7");
	free(got);
	store_watch_close(w);
	fixture_close(&f);
}

TEST(watch_follows_live_writes_after_the_replay)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	create(f.s, STORE_NAMESPACES, NULL, "a", NULL);
	struct store_watch_options o = {.from_rv = 0};
	struct store_watch *w = NULL;
	CHECK_INT(store_watch_open(f.s, &o, &w), 0);
	create(f.s, STORE_PODS, "a", "p", NULL);
	store_delete(f.s, STORE_PODS, "a", "p", NULL, 0, NULL);
	char *got = drain(w, 0);
	CHECK_STR(got, "ADDED a@1 ADDED a/p@2 DELETED a/p@3");
	free(got);
	store_watch_close(w);
	fixture_close(&f);
}

TEST(watch_with_initial_state_lists_then_follows)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	churn(f.s);
	struct store_watch_options o = {.initial_state = true,
					.resources = (1u << STORE_PODS) | (1u << STORE_SERVICES)};
	struct store_watch *w = NULL;
	CHECK_INT(store_watch_open(f.s, &o, &w), 0);
	create(f.s, STORE_PODS, "a", "z", NULL);
	char *got = drain(w, 0);
	CHECK_STR(got, "ADDED a/s@5 ADDED a/z@6");
	free(got);
	store_watch_close(w);
	fixture_close(&f);
}

TEST(watch_from_before_the_kept_log_is_gone)
{
	struct fixture f;
	CHECK(fixture_open(&f, 3));
	churn(f.s);             /* revisions 1..5, log keeps 3, 4, 5 */
	struct store_watch_options o = {.from_rv = 1};
	struct store_watch *w = NULL;
	CHECK_INT(store_watch_open(f.s, &o, &w), -ERANGE);
	o.from_rv = 2;
	CHECK_INT(store_watch_open(f.s, &o, &w), 0);
	char *got = drain(w, 0);
	CHECK_STR(got, "ADDED a/s@3 MODIFIED a/p@4 DELETED a/p@5");
	free(got);
	store_watch_close(w);
	fixture_close(&f);
}

TEST(watch_that_falls_too_far_behind_is_ended)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	struct store_watch_options o = {.max_queue = 2};
	struct store_watch *w = NULL;
	CHECK_INT(store_watch_open(f.s, &o, &w), 0);
	churn(f.s);
	struct store_event *ev = NULL;
	CHECK_INT(store_watch_next(w, 0, &ev), -ERANGE);
	store_watch_close(w);
	fixture_close(&f);
}

/* A pod whose annotation holds n bytes: a large event. */
static int create_big(struct store *s, const char *name, size_t n)
{
	char *blob = malloc(n + 1);
	if (!blob)
		return -ENOMEM;
	memset(blob, 'x', n);
	blob[n] = 0;
	json_t *o = object("a", name, NULL);
	json_object_set_new(json_object_get(o, "metadata"), "annotations",
			    json_pack("{s:s}", "blob", blob));
	int ret = store_create(s, STORE_PODS, o, 0, NULL);
	json_decref(o);
	free(blob);
	return ret;
}

TEST(watch_that_falls_too_many_bytes_behind_is_ended_while_a_reader_goes_on)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), 0);
	struct store_watch_options o = {.from_rv = 1, .max_bytes = 100000};
	/* wants nothing of it: pins nothing, so it is not ended */
	struct store_watch_options other = {.from_rv = 1, .max_bytes = 100000,
					    .filter.ns = "b"};
	struct store_watch *slow = NULL, *fast = NULL, *idle = NULL;
	CHECK_INT(store_watch_open(f.s, &o, &slow), 0);
	CHECK_INT(store_watch_open(f.s, &o, &fast), 0);
	CHECK_INT(store_watch_open(f.s, &other, &idle), 0);
	struct store_event *ev = NULL;
	int got = 0;
	for (int i = 0; i < 10; i++) {
		char name[16];
		snprintf(name, sizeof(name), "p%d", i);
		CHECK_INT(create_big(f.s, name, 30000), 0);
		while (store_watch_next(fast, 0, &ev) == 0) {
			store_event_free(ev);
			got++;
		}
	}
	CHECK_INT(got, 10);
	CHECK_INT(store_watch_next(slow, 0, &ev), -ERANGE);
	CHECK_INT(store_watch_next(idle, 0, &ev), -ETIMEDOUT);
	store_watch_close(idle);
	store_watch_close(slow);
	store_watch_close(fast);
	fixture_close(&f);
}

TEST(watches_share_one_copy_of_each_event)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	struct store_watch_options o = {0};
	struct store_watch *w1 = NULL, *w2 = NULL;
	CHECK_INT(store_watch_open(f.s, &o, &w1), 0);
	CHECK_INT(store_watch_open(f.s, &o, &w2), 0);
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), 0);
	struct store_event *e1 = NULL, *e2 = NULL;
	CHECK_INT(store_watch_next(w1, 0, &e1), 0);
	CHECK_INT(store_watch_next(w2, 0, &e2), 0);
	bool shared = e1->object == e2->object;
	store_event_free(e1);
	store_event_free(e2);
	store_watch_close(w1);
	store_watch_close(w2);
	fixture_close(&f);
	CHECK(shared);
}

TEST(watch_next_times_out_and_cancel_wakes_it)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	struct store_watch_options o = {0};
	struct store_watch *w = NULL;
	CHECK_INT(store_watch_open(f.s, &o, &w), 0);
	struct store_event *ev = NULL;
	CHECK_INT(store_watch_next(w, 10, &ev), -ETIMEDOUT);
	store_watch_cancel(w);
	CHECK_INT(store_watch_next(w, -1, &ev), -ECANCELED);
	store_watch_close(w);
	fixture_close(&f);
}

TEST(watch_fd_polls_readable_while_events_are_queued)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	struct store_watch_options o = {0};
	struct store_watch *w = NULL;
	CHECK_INT(store_watch_open(f.s, &o, &w), 0);
	uint64_t v;
	CHECK(read(store_watch_fd(w), &v, sizeof(v)) < 0);
	create(f.s, STORE_NAMESPACES, NULL, "a", NULL);
	struct store_event *ev = NULL;
	CHECK_INT(store_watch_next(w, 0, &ev), 0);
	store_event_free(ev);
	CHECK(read(store_watch_fd(w), &v, sizeof(v)) < 0);
	store_watch_close(w);
	fixture_close(&f);
}

/* ---- concurrency and durability ----------------------------------------------------------- */

struct writer {
	struct store *s;
	int id;
	int ok;
};

static void *write_many(void *arg)
{
	struct writer *wr = arg;
	for (int i = 0; i < 50; i++) {
		char name[32];
		snprintf(name, sizeof(name), "p-%d-%d", wr->id, i);
		if (create(wr->s, STORE_PODS, "a", name, NULL) == 0)
			wr->ok++;
	}
	return NULL;
}

TEST(concurrent_writers_each_get_their_own_revision_and_watchers_see_all_in_order)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), 0);
	struct store_watch_options o = {.from_rv = 1};
	struct store_watch *w = NULL;
	CHECK_INT(store_watch_open(f.s, &o, &w), 0);
	pthread_t t[4];
	struct writer wr[4];
	for (int i = 0; i < 4; i++) {
		wr[i] = (struct writer){.s = f.s, .id = i};
		pthread_create(&t[i], NULL, write_many, &wr[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 4; i++)
		CHECK_INT(wr[i].ok, 50);
	CHECK_INT(store_revision(f.s), 201);
	uint64_t last = 1;
	struct store_event *ev;
	int n = 0;
	while (store_watch_next(w, 0, &ev) == 0) {
		bool in_order = ev->rv == last + 1;
		last = ev->rv;
		store_event_free(ev);
		CHECK(in_order);
		n++;
	}
	CHECK_INT(n, 200);
	store_watch_close(w);
	fixture_close(&f);
}

TEST(objects_revision_and_event_log_survive_reopening)
{
	struct fixture f;
	CHECK(fixture_open(&f, 3));
	churn(f.s);
	store_close(f.s);
	f.s = open_at(f.path, 3);
	CHECK(f.s != NULL);
	CHECK_INT(store_revision(f.s), 5);
	json_t *out = NULL;
	CHECK_INT(store_get(f.s, STORE_SERVICES, "a", "s", &out), 0);
	CHECK_STR(meta(out, "resourceVersion"), "3");
	json_decref(out);
	CHECK_INT(store_get(f.s, STORE_PODS, "a", "p", &out), -ENOENT);
	struct store_watch_options o = {.from_rv = 1};
	struct store_watch *w = NULL;
	CHECK_INT(store_watch_open(f.s, &o, &w), -ERANGE);
	o.from_rv = 3;
	CHECK_INT(store_watch_open(f.s, &o, &w), 0);
	char *got = drain(w, 0);
	CHECK_STR(got, "MODIFIED a/p@4 DELETED a/p@5");
	free(got);
	store_watch_close(w);
	CHECK_INT(create(f.s, STORE_PODS, "a", "p", NULL), 0);
	CHECK_INT(store_revision(f.s), 6);
	fixture_close(&f);
}

TEST(resources_map_between_names_and_kinds)
{
	enum store_resource r;
	CHECK_INT(store_resource_parse("networkpolicies", &r), 0);
	CHECK_INT(r, STORE_NETWORKPOLICIES);
	CHECK_STR(store_resource_kind(r), "NetworkPolicy");
	CHECK_INT(store_resource_from_kind("Deployment", &r), 0);
	CHECK_STR(store_resource_name(r), "deployments");
	CHECK_STR(store_resource_api_version(r), "apps/v1");
	CHECK(!store_resource_namespaced(STORE_NAMESPACES));
	CHECK(store_resource_namespaced(STORE_ENDPOINTS));
	CHECK_INT(store_resource_parse("widgets", &r), -ENOENT);
}

TEST(marking_a_namespace_deleted_sets_terminating_and_keeps_it)
{
	struct fixture f;
	json_t *out = NULL;
	CHECK(fixture_open(&f, 0));
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), 0);
	CHECK_INT(store_mark_deleted(f.s, STORE_NAMESPACES, NULL, "a", NULL, 0, &out), 0);
	CHECK(meta(out, "deletionTimestamp") != NULL);
	CHECK_STR(json_string_value(json_object_get(json_object_get(out, "status"), "phase")),
		  "Terminating");
	CHECK_INT(rv_of(out), 2);
	json_decref(out);
	CHECK_INT(store_get(f.s, STORE_NAMESPACES, NULL, "a", &out), 0);
	CHECK(meta(out, "deletionTimestamp") != NULL);
	json_decref(out);
	fixture_close(&f);
}

TEST(marking_twice_writes_nothing_and_update_keeps_the_mark)
{
	struct fixture f;
	json_t *out = NULL;
	CHECK(fixture_open(&f, 0));
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), 0);
	CHECK_INT(store_mark_deleted(f.s, STORE_NAMESPACES, NULL, "a", NULL, 0, NULL), 0);
	CHECK_INT(store_mark_deleted(f.s, STORE_NAMESPACES, NULL, "a", NULL, 0, NULL), 0);
	CHECK_INT(store_revision(f.s), 2);
	json_t *in = object(NULL, "a", "{\"x\":\"y\"}");
	CHECK_INT(store_update(f.s, STORE_NAMESPACES, in, STORE_KEEP_STATUS, &out), 0);
	CHECK(meta(out, "deletionTimestamp") != NULL);
	json_decref(out);
	json_decref(in);
	CHECK_INT(store_mark_deleted(f.s, STORE_NAMESPACES, NULL, "b", NULL, 0, NULL), -ENOENT);
	CHECK_INT(store_mark_deleted(f.s, STORE_NAMESPACES, NULL, "a", "1", 0, NULL), -ESTALE);
	fixture_close(&f);
}

TEST(create_in_a_terminating_namespace_fails_with_eperm)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), 0);
	CHECK_INT(create(f.s, STORE_PODS, "a", "p", NULL), 0);
	CHECK_INT(store_mark_deleted(f.s, STORE_NAMESPACES, NULL, "a", NULL, STORE_DRY_RUN, NULL), 0);
	CHECK_INT(create(f.s, STORE_PODS, "a", "q", NULL), 0);
	CHECK_INT(store_mark_deleted(f.s, STORE_NAMESPACES, NULL, "a", NULL, 0, NULL), 0);
	CHECK_INT(create(f.s, STORE_PODS, "a", "r", NULL), -EPERM);
	/* what is there can still go, and then the namespace itself */
	CHECK_INT(store_delete(f.s, STORE_PODS, "a", "p", NULL, 0, NULL), 0);
	CHECK_INT(store_delete(f.s, STORE_NAMESPACES, NULL, "a", NULL, 0, NULL), 0);
	CHECK_INT(create(f.s, STORE_PODS, "a", "r", NULL), -ENXIO);
	fixture_close(&f);
}

/* ---- the database file: integrity, markers, bounds ------------------------------------ */

static struct store *open_with(const struct store_options *o, int *ret, char **err)
{
	struct store *s = NULL;
	*err = NULL;
	*ret = store_open(o, &s, err);
	return s;
}

static long long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* The database and its WAL: what the store takes on disk. */
static long long store_bytes(const char *path)
{
	char wal[128];
	snprintf(wal, sizeof(wal), "%s-wal", path);
	return file_size(path) + file_size(wal);
}

/* One integer from sql, run on a connection of our own. */
static long long sql_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long v = -1;
	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* Another connection's write: the store's connection then drops its page
 * cache and reads the file again, as after another process wrote. */
static bool touch_db(const char *path, int n)
{
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", n);
	sqlite3 *db = NULL;
	bool ok = sqlite3_open(path, &db) == SQLITE_OK &&
		  sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
	sqlite3_close(db);
	return ok;
}

/* Writes page (1-based) of the file: garbage when data is NULL. The
 * page's old bytes go to saved when not NULL. */
static bool write_page(const char *path, long long page, const char *data, char *saved)
{
	char garbage[4096];
	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = (char)(i * 37 + 11);
	int fd = open(path, O_RDWR);
	off_t at = (off_t)(page - 1) * 4096;
	bool ok = fd >= 0 && (!saved || pread(fd, saved, 4096, at) == 4096) &&
		  pwrite(fd, data ? data : garbage, 4096, at) == 4096;
	if (fd >= 0)
		close(fd);
	return ok;
}

static long long root_page(const char *path, const char *table)
{
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT rootpage FROM sqlite_master WHERE name='%s'", table);
	return sql_int(path, sql);
}

TEST(a_corrupt_leaf_page_is_refused_at_open_naming_the_file_and_the_way_out)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), 0);
	store_close(f.s);
	f.s = NULL;
	/* with one object the table's root is its only leaf */
	CHECK_INT(sql_int(f.path, "PRAGMA page_size"), 4096);
	CHECK(write_page(f.path, root_page(f.path, "objects"), NULL, NULL));
	struct store_options o = {.path = f.path};
	int ret;
	char *err;
	f.s = open_with(&o, &ret, &err);
	CHECK_INT(ret, -EUCLEAN);
	CHECK(f.s == NULL);
	CHECK(err && strstr(err, f.path) && strstr(err, "is corrupt (quick_check: "));
	CHECK(strstr(err, "restore it from a backup, or move ") && strstr(err, "aside"));
	free(err);
	/* a file that is no database at all */
	CHECK(write_page(f.path, 1, NULL, NULL));
	f.s = open_with(&o, &ret, &err);
	CHECK_INT(ret, -EUCLEAN);
	CHECK(err && strstr(err, "is corrupt (quick_check: file is not a database)"));
	free(err);
	fixture_close(&f);
}

TEST(a_missing_or_empty_store_is_refused_where_the_marker_says_one_was_made)
{
	struct fixture f;
	char marker[128];
	int ret;
	char *err;
	CHECK(fixture_dir(&f));
	snprintf(marker, sizeof(marker), "%s.created", f.path);
	struct store_options o = {.path = f.path, .created_marker = true};
	/* a fresh directory starts empty, and is marked */
	CHECK((f.s = open_with(&o, &ret, &err)) != NULL);
	CHECK_INT(store_revision(f.s), 0);
	CHECK(access(marker, F_OK) == 0);
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), 0);
	store_close(f.s);
	f.s = NULL;
	CHECK_INT(unlink(f.path), 0);
	f.s = open_with(&o, &ret, &err);
	CHECK_INT(ret, -ENOENT);
	CHECK(f.s == NULL && err && strstr(err, f.path) && strstr(err, " is missing, but "));
	CHECK(strstr(err, marker) && strstr(err, "restore it from a backup"));
	CHECK(access(f.path, F_OK) < 0);  /* and nothing was made in its place */
	free(err);
	CHECK_INT(close(open(f.path, O_CREAT | O_WRONLY, 0600)), 0);
	f.s = open_with(&o, &ret, &err);
	CHECK_INT(ret, -EUCLEAN);
	CHECK(err && strstr(err, " is empty (0 bytes), but "));
	free(err);
	/* without the marker, as the message says, an empty store it is */
	CHECK_INT(unlink(marker), 0);
	CHECK((f.s = open_with(&o, &ret, &err)) != NULL);
	CHECK_INT(store_revision(f.s), 0);
	fixture_close(&f);
}

TEST(corruption_found_while_running_stops_every_later_write)
{
	struct fixture f;
	char good[4096];
	CHECK(fixture_open(&f, 0));
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), 0);
	store_close(f.s);
	CHECK((f.s = open_at(f.path, 0)) != NULL);
	long long page = root_page(f.path, "objects");
	CHECK(write_page(f.path, page, NULL, good));
	CHECK(touch_db(f.path, 1));
	json_t *out = NULL;
	CHECK_INT(store_get(f.s, STORE_NAMESPACES, NULL, "a", &out), -EUCLEAN);
	/* even once the page is good again: a store that was found corrupt
	 * must be checked before anything is written to it */
	CHECK(write_page(f.path, page, good, NULL));
	CHECK(touch_db(f.path, 2));
	CHECK_INT(store_get(f.s, STORE_NAMESPACES, NULL, "a", &out), 0);
	json_decref(out);
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "b", NULL), -EUCLEAN);
	CHECK_INT(store_delete(f.s, STORE_NAMESPACES, NULL, "a", NULL, 0, NULL), -EUCLEAN);
	CHECK_INT(store_revision(f.s), 1);
	fixture_close(&f);
}

static json_t *pod_of_size(const char *name, size_t bytes, int variant)
{
	char *big = malloc(bytes + 1);
	memset(big, 'a' + variant % 26, bytes);
	big[bytes] = 0;
	json_t *p = object("a", name, NULL);
	json_object_set_new(json_object_get(p, "metadata"), "annotations",
			    json_pack("{s:s}", "big", big));
	free(big);
	return p;
}

/* 1,000 writes of 8 KiB each (8 MB of events) against a log bounded to
 * 1 MiB: the database stays under 2 MiB and with its WAL under 6 MiB
 * (the WAL runs to 1000 pages between checkpoints). */
TEST(the_event_log_is_bounded_in_bytes_and_the_file_with_it)
{
	struct fixture f;
	CHECK(fixture_dir(&f));
	struct store_options o = {.path = f.path, .event_log_bytes = 1 << 20};
	int ret;
	char *err;
	CHECK((f.s = open_with(&o, &ret, &err)) != NULL);
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), 0);
	long long peak = 0;
	for (int i = 0; i < 1000; i++) {
		json_t *p = pod_of_size("p", 8192, i);
		ret = i ? store_update(f.s, STORE_PODS, p, 0, NULL) : store_create(f.s, STORE_PODS, p, 0, NULL);
		json_decref(p);
		CHECK_INT(ret, 0);
		long long now = store_bytes(f.path);
		peak = now > peak ? now : peak;
	}
	CHECK(file_size(f.path) < 2 << 20);
	CHECK(peak < 6 << 20);
	/* 1 MiB holds the newest 100 events but not the first */
	struct store_watch_options wo = {.from_rv = 1};
	struct store_watch *w = NULL;
	CHECK_INT(store_watch_open(f.s, &wo, &w), -ERANGE);
	wo.from_rv = store_revision(f.s) - 100;
	CHECK_INT(store_watch_open(f.s, &wo, &w), 0);
	store_watch_close(w);
	/* the count of bytes kept survives reopening */
	store_close(f.s);
	CHECK((f.s = open_with(&o, &ret, &err)) != NULL);
	json_t *p = pod_of_size("p", 8192, 7);
	CHECK_INT(store_update(f.s, STORE_PODS, p, 0, NULL), 0);
	json_decref(p);
	CHECK(file_size(f.path) < 2 << 20);
	fixture_close(&f);
}

/* 40 objects of 64 KiB, then deleted, then their events compacted away:
 * the database file gives the space back (from about 7 MB with its WAL to
 * under 1 MiB). */
TEST(space_of_deleted_objects_and_compacted_events_goes_back_to_the_disk)
{
	struct fixture f;
	char name[16];
	CHECK(fixture_open(&f, 20));
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), 0);
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		json_t *p = pod_of_size(name, 65536, i);
		CHECK_INT(store_create(f.s, STORE_PODS, p, 0, NULL), 0);
		json_decref(p);
	}
	long long full = store_bytes(f.path);
	CHECK(full > 3 << 20);
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		CHECK_INT(store_delete(f.s, STORE_PODS, "a", name, NULL, 0, NULL), 0);
	}
	for (int i = 0; i < 25; i++) {
		snprintf(name, sizeof(name), "{\"n\":\"%d\"}", i);
		json_t *ns = object(NULL, "a", name);
		CHECK_INT(store_update(f.s, STORE_NAMESPACES, ns, 0, NULL), 0);
		json_decref(ns);
	}
	/* the WAL runs to 1000 pages between checkpoints */
	CHECK(file_size(f.path) < 1 << 20);
	CHECK(store_bytes(f.path) < 5 << 20 && store_bytes(f.path) < full / 2);
	fixture_close(&f);
}

TEST(an_old_database_without_auto_vacuum_is_converted_and_keeps_its_objects)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0));
	CHECK_INT(create(f.s, STORE_NAMESPACES, NULL, "a", NULL), 0);
	store_close(f.s);
	f.s = NULL;
	sqlite3 *db = NULL;
	CHECK(sqlite3_open(f.path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "PRAGMA auto_vacuum=NONE; VACUUM", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CHECK_INT(sql_int(f.path, "PRAGMA auto_vacuum"), 0);
	CHECK((f.s = open_at(f.path, 0)) != NULL);
	CHECK_INT(sql_int(f.path, "PRAGMA auto_vacuum"), 2);
	json_t *out = NULL;
	CHECK_INT(store_get(f.s, STORE_NAMESPACES, NULL, "a", &out), 0);
	json_decref(out);
	CHECK_INT(store_revision(f.s), 1);
	fixture_close(&f);
}
