/* controllers.c: the control loops of kube-controller-manager the lab needs,
 * reading and writing the store directly. Each pass looks only at the
 * current objects (never at the events that led there), so it is safe to
 * run after a restart or twice in a row: a converged store makes no write. */
#include "daemon_internal.h"
#include "decode/decode.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEMPLATE_HASH_LABEL "pod-template-hash"
#define MANAGED_BY "netpol.io/managed-by"
#define ENDPOINTS_MANAGER "endpoints-controller"

static json_t *list_all(struct store *s, enum store_resource r, const char *ns)
{
	struct store_filter f = {.ns = ns};
	json_t *items = NULL;
	if (store_list(s, r, &f, &items, NULL) < 0)
		return NULL;
	return items;
}

/* ---- namespaces --------------------------------------------------------- */

/* The Namespace named ns in nss, or NULL. */
static json_t *find_namespace(json_t *nss, const char *ns)
{
	size_t i;
	json_t *n;
	json_array_foreach(nss, i, n)
		if (strcmp(meta_name(n), ns) == 0)
			return n;
	return NULL;
}

static bool terminating(json_t *obj)
{
	return jget(obj, "metadata", "deletionTimestamp", NULL) != NULL;
}

/* The namespace controller: objects in a terminating Namespace (whose
 * deletion the API only marked) or in one that is gone are deleted,
 * Deployments first so none of them recreates its pods; a terminating
 * Namespace found empty is deleted for good, on the round after its
 * contents went. */
static int sync_namespaces(struct store *s)
{
	static const enum store_resource kinds[] = {STORE_DEPLOYMENTS, STORE_PODS,
		STORE_SERVICES, STORE_ENDPOINTS, STORE_NETWORKPOLICIES};
	json_t *nss = list_all(s, STORE_NAMESPACES, NULL), *busy = json_object();
	int writes = 0;
	if (!nss || !busy) {
		json_decref(nss);
		json_decref(busy);
		return -EIO;
	}
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		json_t *items = list_all(s, kinds[k], NULL), *o;
		size_t i;
		json_array_foreach(items, i, o) {
			json_t *n = find_namespace(nss, meta_ns(o));
			if (n && !terminating(n))
				continue;
			json_object_set_new(busy, meta_ns(o), json_true());
			if (store_delete(s, kinds[k], meta_ns(o), meta_name(o), NULL, 0, NULL) == 0)
				writes++;
		}
		json_decref(items);
	}
	size_t i;
	json_t *n;
	json_array_foreach(nss, i, n) {
		if (terminating(n) && !json_object_get(busy, meta_name(n)) &&
		    store_delete(s, STORE_NAMESPACES, NULL, meta_name(n), NULL, 0, NULL) == 0)
			writes++;
	}
	json_decref(busy);
	json_decref(nss);
	return writes;
}

/* ---- deployments -------------------------------------------------------- */

static bool owned_by(json_t *pod, const char *uid)
{
	size_t i;
	json_t *ref;
	json_array_foreach(jget(pod, "metadata", "ownerReferences", NULL), i, ref) {
		const char *u = jstr(ref, "uid", NULL), *kind = jstr(ref, "kind", NULL);
		if (u && kind && strcmp(kind, "Deployment") == 0 && (!uid || strcmp(u, uid) == 0))
			return true;
	}
	return false;
}

static json_t *new_pod(json_t *dep, const char *hash, const char *name)
{
	json_t *tmeta = jget(dep, "spec", "template", "metadata", NULL);
	json_t *labels = json_copy(jget(tmeta, "labels", NULL));
	json_t *ann = json_deep_copy(jget(tmeta, "annotations", NULL));
	json_t *spec = json_deep_copy(jget(dep, "spec", "template", "spec", NULL));
	if (!json_is_object(labels)) {
		json_decref(labels);
		labels = json_object();
	}
	json_object_set_new(labels, TEMPLATE_HASH_LABEL, json_string(hash));
	json_t *ref = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "apiVersion", "apps/v1",
				"kind", "Deployment", "name", meta_name(dep), "uid",
				meta_uid(dep), "controller", 1, "blockOwnerDeletion", 1);
	json_t *meta = json_pack("{s:s, s:s, s:o, s:[o]}", "name", name, "namespace",
				 meta_ns(dep), "labels", labels, "ownerReferences", ref);
	if (meta && json_is_object(ann))
		json_object_set(meta, "annotations", ann);
	json_decref(ann);
	json_t *pod = json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "v1", "kind", "Pod",
				"metadata", meta, "spec", spec ? spec : json_object());
	return pod;
}

/* A fresh name NAME-<hash>-<5 chars>: the suffix is derived from the
 * store's revision, so a replacement never reuses the name of the pod it
 * replaces (which the kubelet may still be tearing down). */
static int create_replica(struct store *s, json_t *dep, const struct np_deployment *d,
			  const char *hash, long seq)
{
	for (int attempt = 0; attempt < 100; attempt++) {
		char suffix[6], *name = NULL;
		deployment_replica_suffix(d, hash, seq, attempt, suffix);
		if (asprintf(&name, "%s-%s-%s", meta_name(dep), hash, suffix) < 0)
			return -ENOMEM;
		json_t *pod = new_pod(dep, hash, name);
		int ret = pod ? store_create(s, STORE_PODS, pod, STORE_KEEP_STATUS, NULL) : -ENOMEM;
		json_decref(pod);
		free(name);
		if (ret != -EEXIST)
			return ret;
	}
	return -EEXIST;
}

struct dep_status {
	long replicas, ready, updated, generation;
};

static int set_dep_status(json_t *obj, void *ctx)
{
	const struct dep_status *ds = ctx;
	json_t *st = json_object_get(obj, "status");
	if (!json_is_object(st)) {
		st = json_object();
		json_object_set_new(obj, "status", st);
	}
	json_object_set_new(st, "observedGeneration", json_integer(ds->generation));
	json_object_set_new(st, "replicas", json_integer(ds->replicas));
	json_object_set_new(st, "updatedReplicas", json_integer(ds->updated));
	const char *keys[] = {"readyReplicas", "availableReplicas"};
	for (int i = 0; i < 2; i++) {
		if (ds->ready)
			json_object_set_new(st, keys[i], json_integer(ds->ready));
		else
			json_object_del(st, keys[i]);
	}
	if (ds->replicas > ds->ready)
		json_object_set_new(st, "unavailableReplicas",
				    json_integer(ds->replicas - ds->ready));
	else
		json_object_del(st, "unavailableReplicas");
	return 0;
}

static bool dep_status_same(json_t *dep, const struct dep_status *ds)
{
	json_t *copy = json_deep_copy(dep);
	set_dep_status(copy, (void *)ds);
	bool same = json_equal(copy, dep);
	json_decref(copy);
	return same;
}

/* Owned pods of the current template are kept up to replicas (surplus:
 * the last by name go); pods of an older template are replaced. */
static int sync_deployment(struct store *s, json_t *dep, json_t *pods)
{
	struct np_deployment *d = NULL;
	char hash[11];
	int writes = 0;
	if (decode_json_object(dep, "Deployment", (void **)&d, NULL) < 0 || !d)
		return 0;  /* the API validated it; nothing sensible to do */
	if (deployment_template_hash(d, hash) < 0) {
		deployment_free(d);
		return -ENOMEM;
	}
	json_t *ri = jget(dep, "spec", "replicas", NULL);
	long want = json_is_integer(ri) ? (long)json_integer_value(ri) : 1;
	struct dep_status ds = {.generation = (long)json_integer_value(
					jget(dep, "metadata", "generation", NULL))};
	long current = 0;
	size_t i;
	json_t *p;
	json_array_foreach(pods, i, p) {
		if (!owned_by(p, meta_uid(dep)))
			continue;
		const char *h = jstr(p, "metadata", "labels", TEMPLATE_HASH_LABEL, NULL);
		bool fresh = h && strcmp(h, hash) == 0;
		if (!fresh || current >= want) {
			if (store_delete(s, STORE_PODS, meta_ns(p), meta_name(p), NULL, 0, NULL) == 0)
				writes++;
			continue;
		}
		current++;
		ds.replicas++;
		ds.updated++;
		ds.ready += daemon_pod_ready(p);
	}
	for (long seq = (long)store_revision(s); current < want; current++, seq++) {
		int ret = create_replica(s, dep, d, hash, seq);
		if (ret < 0)
			break;
		writes++;
		ds.replicas++;
		ds.updated++;
	}
	deployment_free(d);
	if (!dep_status_same(dep, &ds) &&
	    store_modify(s, STORE_DEPLOYMENTS, meta_ns(dep), meta_name(dep), set_dep_status, &ds,
			 STORE_STATUS_ONLY, NULL) == 0)
		writes++;
	return writes;
}

static int sync_deployments(struct store *s)
{
	json_t *deps = list_all(s, STORE_DEPLOYMENTS, NULL);
	json_t *pods = list_all(s, STORE_PODS, NULL);
	int writes = 0;
	size_t i, j;
	json_t *o, *p;
	if (!deps || !pods) {
		json_decref(deps);
		json_decref(pods);
		return -EIO;
	}
	json_array_foreach(deps, i, o) {
		int w = sync_deployment(s, o, pods);
		writes += w > 0 ? w : 0;
	}
	/* garbage collection: pods whose Deployment is gone */
	json_array_foreach(pods, i, p) {
		bool alive = !owned_by(p, NULL);
		json_array_foreach(deps, j, o)
			alive = alive || owned_by(p, meta_uid(o));
		if (!alive && store_delete(s, STORE_PODS, meta_ns(p), meta_name(p), NULL, 0, NULL) == 0)
			writes++;
	}
	json_decref(deps);
	json_decref(pods);
	return writes;
}

/* ---- services: ClusterIPs ---------------------------------------------- */

static bool wants_cluster_ip(json_t *svc)
{
	const char *type = jstr(svc, "spec", "type", NULL);
	const char *ip = jstr(svc, "spec", "clusterIP", NULL);
	return (!type || strcmp(type, "ExternalName") != 0) && (!ip || !*ip);
}

static int set_cluster_ip(json_t *obj, void *ctx)
{
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return -EINVAL;
	const char *ip = jstr(spec, "clusterIP", NULL);
	if (ip && *ip)
		return 0;  /* someone set one meanwhile */
	json_object_set_new(spec, "clusterIP", json_string(ctx));
	json_object_set_new(spec, "clusterIPs", json_pack("[s]", (const char *)ctx));
	return 0;
}

/* The lowest free address after the DNS Service's; the address lives in
 * the Service, so allocations survive restarts without a table of their own. */
static int next_cluster_ip(json_t *svcs, uint32_t *next, char *buf, size_t len)
{
	for (; (*next & 0xffff) != 0xffff; (*next)++) {
		struct in_addr a = {htonl(*next)};
		inet_ntop(AF_INET, &a, buf, (socklen_t)len);
		bool used = strcmp(buf, DAEMON_DNS_IP) == 0;
		size_t i;
		json_t *o;
		json_array_foreach(svcs, i, o) {
			const char *ip = jstr(o, "spec", "clusterIP", NULL);
			used = used || (ip && strcmp(ip, buf) == 0);
		}
		if (!used) {
			(*next)++;
			return 0;
		}
	}
	return -ENOSPC;
}

static int sync_cluster_ips(struct store *s, json_t *svcs)
{
	uint32_t next = 0xc613000bu;  /* 198.19.0.11 */
	int writes = 0;
	size_t i;
	json_t *o;
	json_array_foreach(svcs, i, o) {
		char ip[16];
		if (!wants_cluster_ip(o))
			continue;
		if (next_cluster_ip(svcs, &next, ip, sizeof(ip)) < 0)
			break;
		if (store_modify(s, STORE_SERVICES, meta_ns(o), meta_name(o), set_cluster_ip, ip,
				 STORE_KEEP_STATUS, NULL) == 0)
			writes++;
	}
	return writes;
}

/* ---- endpoints ---------------------------------------------------------- */

static int container_port(json_t *pod, const char *name, const char *proto)
{
	size_t i, j;
	json_t *c, *p;
	json_array_foreach(jget(pod, "spec", "containers", NULL), i, c) {
		json_array_foreach(json_object_get(c, "ports"), j, p) {
			const char *n = jstr(p, "name", NULL), *pr = jstr(p, "protocol", NULL);
			if (n && strcmp(n, name) == 0 && strcmp(pr ? pr : "TCP", proto) == 0)
				return (int)json_integer_value(json_object_get(p, "containerPort"));
		}
	}
	return -1;
}

/* The Endpoints ports of svc for pod: targetPort resolved (a named target
 * port through the pod's containerPorts). A port the pod lacks is left out. */
static json_t *pod_ports(json_t *svc, json_t *pod)
{
	json_t *ports = json_array(), *sp;
	size_t i;
	json_array_foreach(jget(svc, "spec", "ports", NULL), i, sp) {
		const char *proto = jstr(sp, "protocol", NULL);
		json_t *tp = json_object_get(sp, "targetPort");
		int port = (int)json_integer_value(json_object_get(sp, "port"));
		if (json_is_integer(tp))
			port = (int)json_integer_value(tp);
		else if (json_is_string(tp))
			port = container_port(pod, json_string_value(tp), proto ? proto : "TCP");
		if (port <= 0)
			continue;
		json_t *ep = json_pack("{s:i, s:s}", "port", port, "protocol", proto ? proto : "TCP");
		const char *name = jstr(sp, "name", NULL);
		if (name && *name)
			json_object_set_new(ep, "name", json_string(name));
		json_array_append_new(ports, ep);
	}
	return ports;
}

static json_t *address(json_t *pod)
{
	return json_pack("{s:s, s:{s:s, s:s, s:s, s:s}}", "ip", jstr(pod, "status", "podIP", NULL),
			 "targetRef", "kind", "Pod", "namespace", meta_ns(pod), "name",
			 meta_name(pod), "uid", meta_uid(pod));
}

/* Pods with the same resolved ports share a subset, as in Kubernetes. */
static void add_to_subsets(json_t *subsets, json_t *ports, json_t *addr, bool ready)
{
	const char *key = ready ? "addresses" : "notReadyAddresses";
	size_t i;
	json_t *sub;
	json_array_foreach(subsets, i, sub) {
		if (json_equal(json_object_get(sub, "ports"), ports)) {
			json_t *list = json_object_get(sub, key);
			if (!list) {
				list = json_array();
				json_object_set_new(sub, key, list);
			}
			json_array_append_new(list, addr);
			json_decref(ports);
			return;
		}
	}
	json_array_append_new(subsets, json_pack("{s:[o], s:o}", key, addr, "ports", ports));
}

static json_t *endpoints_subsets(json_t *svc, json_t *pods)
{
	json_t *subsets = json_array(), *p;
	size_t i;
	json_array_foreach(pods, i, p) {
		const char *ip = jstr(p, "status", "podIP", NULL);
		const char *phase = jstr(p, "status", "phase", NULL);
		if (!ip || !*ip || strcmp(meta_ns(p), meta_ns(svc)) != 0 ||
		    (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))) ||
		    !labels_match(jget(svc, "spec", "selector", NULL),
				  jget(p, "metadata", "labels", NULL)))
			continue;
		json_t *ports = pod_ports(svc, p);
		if (json_array_size(ports) == 0) {
			json_decref(ports);
			continue;
		}
		add_to_subsets(subsets, ports, address(p), daemon_pod_ready(p));
	}
	return subsets;
}

static int set_subsets(json_t *obj, void *ctx)
{
	json_object_set(obj, "subsets", ctx);
	return 0;
}

static int sync_one_endpoints(struct store *s, json_t *svc, json_t *pods, json_t *eps)
{
	json_t *subsets = endpoints_subsets(svc, pods), *cur = NULL, *e;
	size_t i;
	int ret = 0;
	json_array_foreach(eps, i, e)
		if (!strcmp(meta_ns(e), meta_ns(svc)) && !strcmp(meta_name(e), meta_name(svc)))
			cur = e;
	if (!cur) {
		json_t *labels = json_deep_copy(jget(svc, "metadata", "labels", NULL));
		json_t *obj = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:O}", "apiVersion", "v1",
					"kind", "Endpoints", "metadata", "name", meta_name(svc),
					"namespace", meta_ns(svc), "annotations", MANAGED_BY,
					ENDPOINTS_MANAGER, "subsets", subsets);
		if (obj && labels)
			json_object_set(json_object_get(obj, "metadata"), "labels", labels);
		json_decref(labels);
		ret = obj ? store_create(s, STORE_ENDPOINTS, obj, 0, NULL) : -ENOMEM;
		json_decref(obj);
	} else if (!json_equal(json_object_get(cur, "subsets"), subsets) &&
		   (json_array_size(subsets) > 0 || json_array_size(json_object_get(cur, "subsets")))) {
		ret = store_modify(s, STORE_ENDPOINTS, meta_ns(svc), meta_name(svc), set_subsets,
				   subsets, 0, NULL);
	} else {
		ret = 1;  /* nothing to write */
	}
	json_decref(subsets);
	return ret == 0 ? 1 : 0;
}

static bool has_selector(json_t *svc)
{
	json_t *sel = jget(svc, "spec", "selector", NULL);
	return json_is_object(sel) && json_object_size(sel) > 0;
}

static int sync_endpoints(struct store *s, json_t *svcs)
{
	json_t *pods = list_all(s, STORE_PODS, NULL), *eps = list_all(s, STORE_ENDPOINTS, NULL);
	int writes = 0;
	size_t i, j;
	json_t *o, *e;
	if (!pods || !eps) {
		json_decref(pods);
		json_decref(eps);
		return -EIO;
	}
	json_array_foreach(svcs, i, o)
		if (has_selector(o))
			writes += sync_one_endpoints(s, o, pods, eps);
	/* ours, whose Service is gone or lost its selector */
	json_array_foreach(eps, i, e) {
		const char *m = annotation(e, MANAGED_BY);
		bool keep = !m || strcmp(m, ENDPOINTS_MANAGER) != 0;
		json_array_foreach(svcs, j, o)
			keep = keep || (!strcmp(meta_ns(e), meta_ns(o)) &&
					!strcmp(meta_name(e), meta_name(o)) && has_selector(o));
		if (!keep && store_delete(s, STORE_ENDPOINTS, meta_ns(e), meta_name(e), NULL, 0,
					  NULL) == 0)
			writes++;
	}
	json_decref(pods);
	json_decref(eps);
	return writes;
}

static int sync_services(struct store *s)
{
	json_t *svcs = list_all(s, STORE_SERVICES, NULL);
	if (!svcs)
		return -EIO;
	int writes = sync_cluster_ips(s, svcs);
	int w = sync_endpoints(s, svcs);
	json_decref(svcs);
	return w < 0 ? w : writes + w;
}

int controllers_sync(struct store *s)
{
	int total = 0, w;
	if ((w = sync_namespaces(s)) < 0)
		return w;
	total += w;
	if ((w = sync_deployments(s)) < 0)
		return w;
	total += w;
	if ((w = sync_services(s)) < 0)
		return w;
	return total + w;
}
