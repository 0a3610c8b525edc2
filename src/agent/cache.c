/* cache: API objects into the cluster model and the engine, one event at a
 * time.
 *
 * Each object is first cut down to what policy reads (its "essence":
 * names, labels, the interface annotation, container ports, addresses, a
 * policy's spec). Objects from a real API server carry much more
 * (managedFields, conditions, ...) that the strict decoder has no business
 * judging, and an event whose essence did not change (a status update, our
 * own dataplane annotation coming back) costs nothing.
 *
 * Replaced objects are swapped in the cluster's arrays and told to the
 * engine; namespaces are never freed (a deleted one forgets its labels), so
 * the engine's pointers to them stay valid.
 */
#include "agent.h"

#include "decode/decode.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct agent_cache {
	struct np_cluster *cl;
	struct engine *e;
	json_t *essence[AGENT_NKINDS];   /* "ns/name" -> essence */
};

static const char *const kind_paths[AGENT_NKINDS] = {
	"/api/v1/namespaces", "/api/v1/pods", "/apis/networking.k8s.io/v1/networkpolicies",
};

const char *agent_kind_path(enum agent_kind k)
{
	return k < AGENT_NKINDS ? kind_paths[k] : NULL;
}

struct agent_cache *agent_cache_new(void)
{
	struct agent_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cl = cluster_new();
	c->e = c->cl ? engine_new(c->cl) : NULL;
	for (int k = 0; k < AGENT_NKINDS; k++)
		if (!(c->essence[k] = json_object()))
			c->e = (engine_free(c->e), NULL);
	if (!c->e) {
		agent_cache_free(c);
		return NULL;
	}
	return c;
}

void agent_cache_free(struct agent_cache *c)
{
	if (!c)
		return;
	engine_free(c->e);
	cluster_free(c->cl);
	for (int k = 0; k < AGENT_NKINDS; k++)
		json_decref(c->essence[k]);
	free(c);
}

struct np_cluster *agent_cache_cluster(struct agent_cache *c)
{
	return c->cl;
}

struct engine *agent_cache_engine(struct agent_cache *c)
{
	return c->e;
}

/* ---- essences ------------------------------------------------------------------ */

static const char *meta_str(json_t *obj, const char *field)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), field));
}

static void copy_field(json_t *dst, json_t *src, const char *field)
{
	json_t *v = json_object_get(src, field);
	if (v && !json_is_null(v))
		json_object_set(dst, field, v);
}

static json_t *essence_meta(json_t *obj, bool with_interface)
{
	json_t *meta = json_object_get(obj, "metadata"), *m = json_object();
	copy_field(m, meta, "name");
	copy_field(m, meta, "namespace");
	copy_field(m, meta, "labels");
	json_t *ifname = json_object_get(json_object_get(meta, "annotations"), AGENT_IF_ANNOTATION);
	if (with_interface && json_is_string(ifname))
		json_object_set_new(m, "annotations",
				    json_pack("{s:O}", AGENT_IF_ANNOTATION, ifname));
	return m;
}

static json_t *essence_container(json_t *ctr)
{
	json_t *out = json_object(), *ports = json_object_get(ctr, "ports");
	copy_field(out, ctr, "name");
	copy_field(out, ctr, "image");
	if (json_array_size(ports)) {
		json_t *p, *list = json_array();
		size_t i;
		json_array_foreach(ports, i, p) {
			json_t *q = json_object();
			copy_field(q, p, "name");
			copy_field(q, p, "containerPort");
			copy_field(q, p, "protocol");
			json_array_append_new(list, q);
		}
		json_object_set_new(out, "ports", list);
	}
	return out;
}

static json_t *essence_pod(json_t *obj)
{
	json_t *spec = json_object_get(obj, "spec"), *status = json_object_get(obj, "status");
	json_t *ctrs = json_array(), *c;
	size_t i;
	json_array_foreach(json_object_get(spec, "containers"), i, c)
		json_array_append_new(ctrs, essence_container(c));
	json_t *out = json_pack("{s:s,s:s,s:o,s:{s:o}}", "apiVersion", "v1", "kind", "Pod",
				"metadata", essence_meta(obj, true), "spec", "containers", ctrs);
	/* A finished pod's address may already belong to another pod: like
	 * the upstream controllers, policy forgets it. */
	const char *phase = json_string_value(json_object_get(status, "phase"));
	if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")))
		return out;
	json_t *st = json_object();
	copy_field(st, status, "podIP");
	copy_field(st, status, "podIPs");
	json_object_set_new(out, "status", st);
	return out;
}

static json_t *essence(enum agent_kind k, json_t *obj)
{
	switch (k) {
	case AGENT_NAMESPACES:
		return json_pack("{s:s,s:s,s:o}", "apiVersion", "v1", "kind", "Namespace",
				 "metadata", essence_meta(obj, false));
	case AGENT_PODS:
		return essence_pod(obj);
	default:
		return json_pack("{s:s,s:s,s:o,s:O?}", "apiVersion", "networking.k8s.io/v1",
				 "kind", "NetworkPolicy", "metadata", essence_meta(obj, false),
				 "spec", json_object_get(obj, "spec"));
	}
}

static const char *const kind_names[AGENT_NKINDS] = {"Namespace", "Pod", "NetworkPolicy"};

/* "ns/name" (or "name" for namespaces) into buf; false when unnamed. */
static bool object_key(enum agent_kind k, json_t *obj, char *buf, size_t len)
{
	const char *name = meta_str(obj, "name"), *ns = meta_str(obj, "namespace");
	if (!name || !*name)
		return false;
	if (k == AGENT_NAMESPACES)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "%s/%s", ns && *ns ? ns : "default", name);
	return true;
}

/* ---- the model ---------------------------------------------------------------------- */

/* After -ENOMEM the engine's index is incomplete: build it again whole. */
static int engine_result(struct agent_cache *c, int err)
{
	if (err != -ENOMEM)
		return err;
	engine_free(c->e);
	c->e = engine_new(c->cl);
	return c->e ? 0 : -ENOMEM;
}

static void array_remove(void **v, size_t *n, const void *item)
{
	for (size_t i = 0; i < *n; i++) {
		if (v[i] == item) {
			memmove(&v[i], &v[i + 1], (*n - i - 1) * sizeof(*v));
			(*n)--;
			return;
		}
	}
}

static void array_replace(void **v, size_t n, const void *old, void *now)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == old)
			v[i] = now;
}

static void set_programmed(struct np_pod *pod, json_t *obj)
{
	json_t *a = json_object_get(json_object_get(obj, "metadata"), "annotations");
	const char *v = json_string_value(json_object_get(a, AGENT_DP_ANNOTATION));
	if (v)
		labels_set(&pod->meta.annotations, AGENT_DP_ANNOTATION, v);
	else
		labels_remove(&pod->meta.annotations, AGENT_DP_ANNOTATION);
}

bool agent_pod_programmed(const struct np_pod *pod)
{
	const char *v = labels_get(&pod->meta.annotations, AGENT_DP_ANNOTATION);
	return v && !strcmp(v, AGENT_DP_PROGRAMMED);
}

static int namespace_put(struct agent_cache *c, struct np_namespace *fresh)
{
	struct np_namespace *ns = cluster_find_namespace(c->cl, fresh->meta.name);
	if (!ns) {
		int err = cluster_add_namespace(c->cl, fresh);
		if (err < 0) {
			namespace_free(fresh);
			return err;
		}
		return engine_result(c, engine_namespace_changed(c->e, fresh));
	}
	int err = labels_copy(&ns->meta.labels, &fresh->meta.labels);
	ns->implicit = false;
	namespace_free(fresh);
	return err < 0 ? err : engine_result(c, engine_namespace_changed(c->e, ns));
}

static int namespace_gone(struct agent_cache *c, const char *name)
{
	struct np_namespace *ns = cluster_find_namespace(c->cl, name);
	if (!ns)
		return 0;
	labels_clear(&ns->meta.labels);
	ns->implicit = true;
	return engine_result(c, engine_namespace_changed(c->e, ns));
}

static int pod_put(struct agent_cache *c, struct np_pod *fresh)
{
	struct np_pod *old = cluster_find_pod(c->cl, fresh->meta.namespace, fresh->meta.name);
	if (old) {
		engine_pod_removed(c->e, old);
		array_replace((void **)c->cl->pods, c->cl->npods, old, fresh);
		pod_free(old);
	} else {
		int err = cluster_add_pod(c->cl, fresh);
		if (err < 0) {
			pod_free(fresh);
			return err;
		}
	}
	return engine_result(c, engine_pod_changed(c->e, fresh));
}

static int pod_gone(struct agent_cache *c, const char *ns, const char *name)
{
	struct np_pod *old = cluster_find_pod(c->cl, ns, name);
	if (!old)
		return 0;
	engine_pod_removed(c->e, old);
	array_remove((void **)c->cl->pods, &c->cl->npods, old);
	cluster_lists_changed(c->cl);
	pod_free(old);
	return 0;
}

static int policy_put(struct agent_cache *c, struct np_policy *fresh)
{
	struct np_policy *old = cluster_find_policy(c->cl, fresh->meta.namespace, fresh->meta.name);
	if (!old) {
		int err = cluster_add_policy(c->cl, fresh);
		if (err < 0) {
			policy_free(fresh);
			return err;
		}
		return engine_result(c, engine_policy_changed(c->e, fresh));
	}
	/* index the new one before dropping the old, so that the peer sets
	 * both use are kept, not torn down and rebuilt */
	array_replace((void **)c->cl->policies, c->cl->npolicies, old, fresh);
	int err = engine_policy_changed(c->e, fresh);
	engine_policy_removed(c->e, old);
	policy_free(old);
	return engine_result(c, err);
}

static int policy_gone(struct agent_cache *c, const char *ns, const char *name)
{
	struct np_policy *old = cluster_find_policy(c->cl, ns, name);
	if (!old)
		return 0;
	engine_policy_removed(c->e, old);
	array_remove((void **)c->cl->policies, &c->cl->npolicies, old);
	cluster_lists_changed(c->cl);
	policy_free(old);
	return 0;
}

/* "ns/name" -> ns into buf, returns name. */
static const char *key_split(const char *key, char *ns, size_t len)
{
	const char *slash = strchr(key, '/');
	snprintf(ns, len, "%.*s", slash ? (int)(slash - key) : 0, key);
	return slash ? slash + 1 : key;
}

static int model_remove(struct agent_cache *c, enum agent_kind k, const char *key)
{
	char ns[256];
	const char *name = key_split(key, ns, sizeof(ns));
	json_object_del(c->essence[k], key);
	if (k == AGENT_NAMESPACES)
		return namespace_gone(c, key);
	return k == AGENT_PODS ? pod_gone(c, ns, name) : policy_gone(c, ns, name);
}

static int model_put(struct agent_cache *c, enum agent_kind k, json_t *obj, json_t *ess,
		     struct diag_list *diags)
{
	void *out = NULL;
	struct diag_list why = {0};
	int err = decode_json_object(ess, kind_names[k], &out, &why);
	if (err < 0) {
		if (diags)
			diag_add(diags, DIAG_WARNING, NULL, 0, 0, NULL, "%s %s/%s ignored: %s",
				 kind_names[k], meta_str(obj, "namespace") ? meta_str(obj, "namespace") : "",
				 meta_str(obj, "name"), why.n ? why.items[0].msg : strerror(-err));
		diag_list_clear(&why);
		return err;
	}
	diag_list_clear(&why);
	if (k == AGENT_NAMESPACES)
		return namespace_put(c, out);
	if (k == AGENT_PODS) {
		set_programmed(out, obj);
		return pod_put(c, out);
	}
	return policy_put(c, out);
}

int agent_cache_apply(struct agent_cache *c, enum agent_kind k, const char *type,
		      json_t *obj, struct diag_list *diags)
{
	char key[600];
	if (k >= AGENT_NKINDS || !object_key(k, obj, key, sizeof(key)))
		return -EINVAL;
	if (type && !strcmp(type, "DELETED")) {
		bool had = json_object_get(c->essence[k], key) != NULL;
		int err = model_remove(c, k, key);
		return err < 0 ? err : had;
	}
	json_t *ess = essence(k, obj);
	if (!ess)
		return -ENOMEM;
	json_t *prev = json_object_get(c->essence[k], key);
	if (prev && json_equal(prev, ess)) {
		if (k == AGENT_PODS) {
			char ns[256];
			const char *name = key_split(key, ns, sizeof(ns));
			struct np_pod *pod = cluster_find_pod(c->cl, ns, name);
			if (pod)
				set_programmed(pod, obj);
		}
		json_decref(ess);
		return 0;
	}
	int err = model_put(c, k, obj, ess, diags);
	if (err == -EINVAL) {
		/* what does not decode does not exist for policy */
		int gone = model_remove(c, k, key);
		json_decref(ess);
		return gone < 0 ? gone : err;
	}
	if (err < 0 || json_object_set_new(c->essence[k], key, ess) < 0) {
		if (err >= 0)
			err = -ENOMEM;
		else
			json_decref(ess);
		return err;
	}
	return 1;
}

int agent_cache_replace(struct agent_cache *c, enum agent_kind k, json_t *items,
			struct diag_list *diags)
{
	json_t *seen = json_object(), *obj, *v;
	const char *key;
	void *tmp;
	size_t i;
	int changed = 0, err = 0;
	char buf[600];
	if (!seen)
		return -ENOMEM;
	json_array_foreach(items, i, obj) {
		if (!object_key(k, obj, buf, sizeof(buf)))
			continue;
		json_object_set_new(seen, buf, json_true());
		int r = agent_cache_apply(c, k, "MODIFIED", obj, diags);
		if (r == -ENOMEM) {
			err = r;
			goto cleanup;
		}
		changed |= r > 0 || r == -EINVAL;
	}
	json_object_foreach_safe(c->essence[k], tmp, key, v) {
		if (json_object_get(seen, key))
			continue;
		snprintf(buf, sizeof(buf), "%s", key);
		if ((err = model_remove(c, k, buf)) < 0)
			goto cleanup;
		changed = 1;
	}
cleanup:
	json_decref(seen);
	return err < 0 ? err : changed;
}

/* ---- endpoints ---------------------------------------------------------------------- */

static bool ifname_valid(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 15)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '_' || ch == '.' || ch == '-'))
			return false;
	}
	return true;
}

static int endpoint_cmp(const void *a, const void *b)
{
	const struct nft_endpoint *x = a, *y = b;
	int r = strcmp(x->pod->meta.namespace, y->pod->meta.namespace);
	return r ? r : strcmp(x->pod->meta.name, y->pod->meta.name);
}

static int ifname_qcmp(const void *a, const void *b)
{
	const struct nft_endpoint *const *x = a, *const *y = b;
	return strcmp((*x)->ifname, (*y)->ifname);
}

/* dup[i]: another endpoint claims the interface of eps[i]. Sorted by
 * name, the claimants of one interface are neighbours. */
static int find_shared_ifnames(const struct nft_endpoint *eps, size_t n, bool *dup)
{
	const struct nft_endpoint **by = calloc(n + 1, sizeof(*by));
	if (!by)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		by[i] = &eps[i];
	qsort(by, n, sizeof(*by), ifname_qcmp);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && !strcmp(by[i]->ifname, by[j]->ifname))
			j++;
		for (size_t k = i; j - i > 1 && k < j; k++)
			dup[by[k] - eps] = true;
		i = j;
	}
	free(by);
	return 0;
}

int agent_cache_endpoints(struct agent_cache *c, struct nft_endpoint **out, size_t *n,
			  struct diag_list *diags)
{
	struct nft_endpoint *eps = calloc(c->cl->npods + 1, sizeof(*eps));
	size_t count = 0;
	*out = NULL;
	*n = 0;
	if (!eps)
		return -ENOMEM;
	for (size_t i = 0; i < c->cl->npods; i++) {
		const struct np_pod *pod = c->cl->pods[i];
		const char *ifname = labels_get(&pod->meta.annotations, AGENT_IF_ANNOTATION);
		if (!ifname || !pod->nips)
			continue;
		if (!ifname_valid(ifname)) {
			if (diags)
				diag_add(diags, DIAG_WARNING, NULL, 0, 0, NULL,
					 "pod %s/%s: bad interface name \"%s\": not programmed",
					 pod->meta.namespace, pod->meta.name, ifname);
			continue;
		}
		eps[count++] = (struct nft_endpoint){pod, ifname};
	}
	qsort(eps, count, sizeof(*eps), endpoint_cmp);
	/* two pods claiming one interface: neither can be trusted with it */
	bool *dup = calloc(count + 1, sizeof(*dup));
	if (!dup || find_shared_ifnames(eps, count, dup) < 0) {
		free(dup);
		free(eps);
		return -ENOMEM;
	}
	size_t kept = 0;
	for (size_t i = 0; i < count; i++) {
		if (dup[i] && diags)
			diag_add(diags, DIAG_WARNING, NULL, 0, 0, NULL,
				 "pod %s/%s: interface \"%s\" claimed by another pod: not programmed",
				 eps[i].pod->meta.namespace, eps[i].pod->meta.name, eps[i].ifname);
		if (!dup[i])
			eps[kept++] = eps[i];
	}
	free(dup);
	*out = eps;
	*n = kept;
	return 0;
}

const struct np_pod *agent_cache_pod_by_ip(struct agent_cache *c, const struct np_ip *ip)
{
	for (size_t i = 0; i < c->cl->npods; i++)
		for (size_t j = 0; j < c->cl->pods[i]->nips; j++)
			if (ip_equal(&c->cl->pods[i]->ips[j], ip))
				return c->cl->pods[i];
	return NULL;
}
