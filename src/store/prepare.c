/* prepare.c: what the API server's registry strategies and defaulting do
 * to an object before it is stored: system metadata (uid, timestamps,
 * generation, resourceVersion), status handling and the defaults a real
 * cluster fills in, so that objects read back look like a cluster's. */
#include "store_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* ---- small helpers ------------------------------------------------------------ */

const char *store_meta_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

int store_set_meta_str(json_t *obj, const char *key, const char *value)
{
	json_t *meta = json_object_get(obj, "metadata");
	return json_object_set_new(meta, key, json_string(value)) == 0 ? 0 : -ENOMEM;
}

int store_set_rv(json_t *obj, uint64_t rv)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%" PRIu64, rv);
	return store_set_meta_str(obj, "resourceVersion", buf);
}

/* 0 for anything that is not a plain decimal number. */
uint64_t store_parse_rv(const char *text)
{
	if (!text || !*text)
		return 0;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno || *end || text[0] == '-' || text[0] == '+')
		return 0;
	return (uint64_t)v;
}

int store_random_uuid(char out[37])
{
	uint8_t b[16];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return -EIO;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
		 b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

void store_now_rfc3339(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The random suffix of generateName, from the alphabet Kubernetes uses
 * (no vowels, no look-alikes, so no words and no confusion). */
static int generate_name(json_t *meta)
{
	static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
	const char *prefix = json_string_value(json_object_get(meta, "generateName"));
	uint8_t b[5];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return -EIO;
	char *name;
	if (asprintf(&name, "%s%c%c%c%c%c", prefix, alphabet[b[0] % 27], alphabet[b[1] % 27],
		     alphabet[b[2] % 27], alphabet[b[3] % 27], alphabet[b[4] % 27]) < 0)
		return -ENOMEM;
	int ret = json_object_set_new(meta, "name", json_string(name)) == 0 ? 0 : -ENOMEM;
	free(name);
	return ret;
}

/* Returns obj[key], creating an empty object there when absent. */
static json_t *child_object(json_t *obj, const char *key)
{
	json_t *c = json_object_get(obj, key);
	if (json_is_object(c))
		return c;
	c = json_object();
	if (json_object_set_new(obj, key, c) < 0)
		return NULL;
	return c;
}

static void set_default_str(json_t *obj, const char *key, const char *value)
{
	if (json_is_object(obj) && !json_object_get(obj, key))
		json_object_set_new(obj, key, json_string(value));
}

static void set_default_int(json_t *obj, const char *key, json_int_t value)
{
	if (json_is_object(obj) && !json_object_get(obj, key))
		json_object_set_new(obj, key, json_integer(value));
}

/* ---- defaults, as the API server's defaulting fills them ------------------------- */

static void default_ports_protocol(json_t *ports)
{
	size_t i;
	json_t *p;
	json_array_foreach(ports, i, p)
		set_default_str(p, "protocol", "TCP");
}

static void default_pod_spec(json_t *spec)
{
	if (!json_is_object(spec))
		return;
	set_default_str(spec, "restartPolicy", "Always");
	set_default_str(spec, "dnsPolicy", "ClusterFirst");
	set_default_int(spec, "terminationGracePeriodSeconds", 30);
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(spec, "containers"), i, c)
		default_ports_protocol(json_object_get(c, "ports"));
	json_array_foreach(json_object_get(spec, "initContainers"), i, c)
		default_ports_protocol(json_object_get(c, "ports"));
}

static void default_service(json_t *spec)
{
	if (!json_is_object(spec))
		return;
	set_default_str(spec, "type", "ClusterIP");
	set_default_str(spec, "sessionAffinity", "None");
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(spec, "ports"), i, p) {
		set_default_str(p, "protocol", "TCP");
		json_t *port = json_object_get(p, "port");
		if (json_is_object(p) && port && !json_object_get(p, "targetPort"))
			json_object_set(p, "targetPort", port);
	}
}

static void default_rules(json_t *rules)
{
	size_t i;
	json_t *rule;
	json_array_foreach(rules, i, rule)
		default_ports_protocol(json_object_get(rule, "ports"));
}

/* policyTypes defaults to Ingress, plus Egress when egress rules exist. */
static void default_network_policy(json_t *spec)
{
	if (!json_is_object(spec))
		return;
	default_rules(json_object_get(spec, "ingress"));
	default_rules(json_object_get(spec, "egress"));
	json_t *types = json_object_get(spec, "policyTypes");
	if (json_is_array(types) && json_array_size(types) > 0)
		return;
	types = json_array();
	json_array_append_new(types, json_string("Ingress"));
	if (json_array_size(json_object_get(spec, "egress")) > 0)
		json_array_append_new(types, json_string("Egress"));
	json_object_set_new(spec, "policyTypes", types);
}

static void default_deployment(json_t *spec)
{
	if (!json_is_object(spec))
		return;
	set_default_int(spec, "replicas", 1);
	set_default_int(spec, "revisionHistoryLimit", 10);
	set_default_int(spec, "progressDeadlineSeconds", 600);
	if (!json_object_get(spec, "strategy"))
		json_object_set_new(spec, "strategy",
				    json_pack("{s:s, s:{s:s, s:s}}", "type", "RollingUpdate",
					      "rollingUpdate", "maxUnavailable", "25%",
					      "maxSurge", "25%"));
	default_pod_spec(json_object_get(json_object_get(spec, "template"), "spec"));
}

static void default_endpoints(json_t *obj)
{
	size_t i;
	json_t *subset;
	json_array_foreach(json_object_get(obj, "subsets"), i, subset)
		default_ports_protocol(json_object_get(subset, "ports"));
}

/* The namespace's name label is forced, as the API server does, so that
 * namespaceSelectors can always select a namespace by name. */
static int default_namespace(json_t *obj)
{
	json_t *meta = json_object_get(obj, "metadata");
	json_t *labels = child_object(meta, "labels");
	if (!labels)
		return -ENOMEM;
	json_object_set(labels, "kubernetes.io/metadata.name", json_object_get(meta, "name"));
	json_t *spec = child_object(obj, "spec");
	if (spec && !json_object_get(spec, "finalizers"))
		json_object_set_new(spec, "finalizers", json_pack("[s]", "kubernetes"));
	return spec ? 0 : -ENOMEM;
}

static int apply_defaults(enum store_resource r, json_t *obj)
{
	json_t *spec = json_object_get(obj, "spec");
	switch (r) {
	case STORE_NAMESPACES:
		return default_namespace(obj);
	case STORE_PODS:
		default_pod_spec(spec);
		break;
	case STORE_DEPLOYMENTS:
		default_deployment(spec);
		break;
	case STORE_SERVICES:
		default_service(spec);
		break;
	case STORE_ENDPOINTS:
		default_endpoints(obj);
		break;
	case STORE_NETWORKPOLICIES:
		default_network_policy(spec);
		break;
	}
	return 0;
}

/* The status a new object starts with when its writer may not set one. */
static json_t *initial_status(enum store_resource r)
{
	switch (r) {
	case STORE_NAMESPACES:
		return json_pack("{s:s}", "phase", "Active");
	case STORE_PODS:
		return json_pack("{s:s}", "phase", "Pending");
	case STORE_DEPLOYMENTS:
		return json_object();
	case STORE_SERVICES:
		return json_pack("{s:{}}", "loadBalancer");
	default:
		return NULL;
	}
}

static bool has_status(enum store_resource r)
{
	return r != STORE_ENDPOINTS && r != STORE_NETWORKPOLICIES;
}

/* ---- create ------------------------------------------------------------------------ */

/* Fields only the server writes; a client's values are dropped. */
static const char *const system_fields[] = {
	"uid", "resourceVersion", "creationTimestamp", "generation",
	"deletionTimestamp", "deletionGracePeriodSeconds", "selfLink",
	"managedFields",
};

static void drop_system_fields(json_t *meta)
{
	for (size_t i = 0; i < sizeof(system_fields) / sizeof(system_fields[0]); i++)
		json_object_del(meta, system_fields[i]);
}

/* apiVersion and kind first, as the API server writes them. */
static int set_type_meta(enum store_resource r, json_t *obj)
{
	json_t *copy = json_copy(obj);
	if (!copy)
		return -ENOMEM;
	json_object_clear(obj);
	json_object_set_new(obj, "apiVersion", json_string(store_resource_api_version(r)));
	json_object_set_new(obj, "kind", json_string(store_resource_kind(r)));
	const char *key;
	json_t *v;
	json_object_foreach(copy, key, v) {
		if (strcmp(key, "apiVersion") != 0 && strcmp(key, "kind") != 0)
			json_object_set(obj, key, v);
	}
	json_decref(copy);
	return 0;
}

static int check_name(enum store_resource r, json_t *meta)
{
	json_t *name = json_object_get(meta, "name");
	if (!json_is_string(name) || !*json_string_value(name)) {
		if (!json_is_string(json_object_get(meta, "generateName")))
			return -EINVAL;
		int ret = generate_name(meta);
		if (ret < 0)
			return ret;
	}
	if (!store_resource_namespaced(r)) {
		json_object_del(meta, "namespace");
		return 0;
	}
	json_t *ns = json_object_get(meta, "namespace");
	return json_is_string(ns) && *json_string_value(ns) ? 0 : -EINVAL;
}

static int set_status_on_create(enum store_resource r, json_t *obj, unsigned flags)
{
	if (!has_status(r))
		return 0;
	json_t *status = json_object_get(obj, "status");
	if ((flags & STORE_KEEP_STATUS) || !json_is_object(status)) {
		json_t *init = initial_status(r);
		if (!init)
			return -ENOMEM;
		return json_object_set_new(obj, "status", init) == 0 ? 0 : -ENOMEM;
	}
	return 0;
}

int store_prepare_create(enum store_resource r, json_t *obj, unsigned flags)
{
	json_t *meta = json_object_get(obj, "metadata");
	if (!json_is_object(obj) || !json_is_object(meta))
		return -EINVAL;
	int ret = check_name(r, meta);
	if (ret < 0)
		return ret;
	drop_system_fields(meta);
	char uid[37], ts[32];
	if ((ret = store_random_uuid(uid)) < 0)
		return ret;
	store_now_rfc3339(ts);
	json_object_set_new(meta, "uid", json_string(uid));
	json_object_set_new(meta, "creationTimestamp", json_string(ts));
	json_object_set_new(meta, "generation", json_integer(1));
	if ((ret = set_type_meta(r, obj)) < 0 || (ret = apply_defaults(r, obj)) < 0)
		return ret;
	return set_status_on_create(r, obj, flags);
}

/* ---- update ------------------------------------------------------------------------- */

/* Everything but metadata and status: what a generation counts. */
static bool spec_equal(json_t *a, json_t *b)
{
	json_t *ca = json_copy(a), *cb = json_copy(b);
	bool eq = false;
	if (ca && cb) {
		json_object_del(ca, "metadata");
		json_object_del(ca, "status");
		json_object_del(cb, "metadata");
		json_object_del(cb, "status");
		eq = json_equal(ca, cb);
	}
	json_decref(ca);
	json_decref(cb);
	return eq;
}

static void copy_key(json_t *dst, json_t *src, const char *key)
{
	json_t *v = json_object_get(src, key);
	if (v)
		json_object_set(dst, key, v);
	else
		json_object_del(dst, key);
}

/* System metadata always comes from the stored object. */
static void carry_metadata(json_t *meta, json_t *old_meta)
{
	drop_system_fields(meta);
	for (size_t i = 0; i < sizeof(system_fields) / sizeof(system_fields[0]); i++)
		copy_key(meta, old_meta, system_fields[i]);
	copy_key(meta, old_meta, "name");
	copy_key(meta, old_meta, "namespace");
}

/* The status subresource takes only status; the rest stays as stored. */
static int status_only(json_t *old, json_t *obj)
{
	json_t *status = json_object_get(obj, "status");
	if (status)
		json_incref(status);
	json_t *copy = json_deep_copy(old);
	if (!copy) {
		json_decref(status);
		return -ENOMEM;
	}
	json_object_clear(obj);
	json_object_update(obj, copy);
	json_decref(copy);
	if (status)
		json_object_set_new(obj, "status", status);
	else
		json_object_del(obj, "status");
	return 0;
}

int store_prepare_update(enum store_resource r, json_t *old, json_t *obj,
			 unsigned flags, bool *spec_changed)
{
	json_t *meta = json_object_get(obj, "metadata");
	if (!json_is_object(obj) || !json_is_object(meta))
		return -EINVAL;
	int ret;
	if ((flags & STORE_STATUS_ONLY) && (ret = status_only(old, obj)) < 0)
		return ret;
	meta = json_object_get(obj, "metadata");
	carry_metadata(meta, json_object_get(old, "metadata"));
	if (has_status(r) && (flags & STORE_KEEP_STATUS))
		copy_key(obj, old, "status");
	if ((ret = set_type_meta(r, obj)) < 0 || (ret = apply_defaults(r, obj)) < 0)
		return ret;
	*spec_changed = !spec_equal(old, obj);
	if (*spec_changed) {
		json_int_t gen = json_integer_value(json_object_get(json_object_get(old, "metadata"),
								    "generation"));
		json_object_set_new(json_object_get(obj, "metadata"), "generation",
				    json_integer(gen + 1));
	}
	return 0;
}
