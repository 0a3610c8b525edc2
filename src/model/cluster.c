/* cluster: the set of objects netpol reasons about, and cluster_finish,
 * which fills in what the API server and controllers would have added
 * (Deployment pods, implicit Namespaces, the metadata.name label). */
#include "util/hash.h"
#include "model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METADATA_NAME_LABEL "kubernetes.io/metadata.name"
#define TEMPLATE_HASH_LABEL "pod-template-hash"

/* Alphabet of Kubernetes' rand.SafeEncodeString: no vowels, no look-alikes,
 * so generated names never spell words. */
static const char name_alphabet[] = "bcdfghjklmnpqrstvwxz2456789";

/* ---- generic list helpers (every kind starts with struct np_meta meta) ---- */

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool meta_is(const struct np_meta *m, const char *ns, const char *name)
{
	return str_eq(m->namespace, ns) && str_eq(m->name, name);
}

static int meta_cmp(const struct np_meta *a, const struct np_meta *b)
{
	int c = strcmp(a->namespace ? a->namespace : "", b->namespace ? b->namespace : "");
	return c ? c : strcmp(a->name ? a->name : "", b->name ? b->name : "");
}

/* Evaluates to the object with that namespace/name, or NULL (a scan: for
 * short lists that are not the cluster's). */
#define LIST_FIND(arr, n, ns, nm)                                             \
	({                                                                    \
		__typeof__(*(arr)) found_ = NULL;                             \
		for (size_t i_ = 0; i_ < (n) && !found_; i_++)                \
			if (meta_is(&(arr)[i_]->meta, (ns), (nm)))             \
				found_ = (arr)[i_];                           \
		found_;                                                       \
	})

/* ---- name index ------------------------------------------------------------
 * One open-addressing table per kind: hash of namespace/name -> position in
 * the list. The lists are public and edited in place by others (entries
 * replaced, removed with memmove, sorted), so the table is a hint checked
 * on every use: positions past its end are indexed on the next lookup, a
 * shorter list or a slot naming another object means it is stale, and it
 * is rebuilt from the list. A reordering can hide an entry from that check,
 * so whoever edits a list in place calls cluster_lists_changed(). */

#define INDEX_EMPTY SIZE_MAX

struct name_slot {
	uint64_t hash;
	size_t pos;
};

struct name_index {
	struct name_slot *slots;
	size_t cap;                /* power of two, or 0 */
	size_t indexed;            /* list entries [0, indexed) are in slots */
};

enum { IDX_NAMESPACES, IDX_PODS, IDX_DEPLOYMENTS, IDX_SERVICES, IDX_POLICIES, IDX_N };

struct cluster_index {
	struct name_index kinds[IDX_N];
};

static uint64_t name_hash(const char *ns, const char *name)
{
	uint64_t h = fnv1a64_update(FNV1A64_OFFSET, ns ? ns : "");
	return fnv1a64_update(fnv1a64_update(h, "/"), name ? name : "");
}

static void index_put(struct name_index *x, uint64_t h, size_t pos)
{
	size_t i = (size_t)h & (x->cap - 1);
	while (x->slots[i].pos != INDEX_EMPTY)
		i = (i + 1) & (x->cap - 1);
	x->slots[i] = (struct name_slot){h, pos};
}

/* Indexes entries [x->indexed, n) (all of them when reset); -ENOMEM. */
static int index_catch_up(struct name_index *x, struct np_meta *const *metas, size_t n,
			  bool reset)
{
	if (reset)
		x->indexed = 0;
	size_t cap = x->cap ? x->cap : 64;
	while (cap < 2 * n + 2)
		cap *= 2;
	if (cap != x->cap || reset) {
		struct name_slot *s = malloc(cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		for (size_t i = 0; i < cap; i++)
			s[i].pos = INDEX_EMPTY;
		free(x->slots);
		x->slots = s;
		x->cap = cap;
		x->indexed = 0;
	}
	for (; x->indexed < n; x->indexed++)
		index_put(x, name_hash(metas[x->indexed]->namespace, metas[x->indexed]->name),
			  x->indexed);
	return 0;
}

/* The position of ns/name in the list, INDEX_EMPTY when absent, or
 * INDEX_EMPTY - 1 when the index is stale (the caller rebuilds it). */
static size_t index_probe(const struct name_index *x, struct np_meta *const *metas, size_t n,
			  const char *ns, const char *name)
{
	uint64_t h = name_hash(ns, name);
	for (size_t i = (size_t)h & (x->cap - 1); x->slots[i].pos != INDEX_EMPTY;
	     i = (i + 1) & (x->cap - 1)) {
		if (x->slots[i].hash != h)
			continue;
		size_t pos = x->slots[i].pos;
		if (pos < n && meta_is(metas[pos], ns, name))
			return pos;
		if (pos >= n || name_hash(metas[pos]->namespace, metas[pos]->name) != h)
			return INDEX_EMPTY - 1;
	}
	return INDEX_EMPTY;
}

/* metas: the list's objects seen through their leading meta (every kind
 * starts with struct np_meta meta). Falls back to a scan when the index
 * cannot be built (out of memory). */
static size_t index_find(const struct np_cluster *c, int kind, struct np_meta *const *metas,
			 size_t n, const char *ns, const char *name)
{
	struct np_cluster *mc = (struct np_cluster *)c; /* the index is a cache */
	if (!mc->index && !(mc->index = calloc(1, sizeof(*mc->index))))
		goto scan;
	struct name_index *x = &mc->index->kinds[kind];
	for (int attempt = 0; attempt < 2; attempt++) {
		if (index_catch_up(x, metas, n, attempt > 0 || n < x->indexed) < 0)
			goto scan;
		size_t pos = index_probe(x, metas, n, ns, name);
		if (pos != INDEX_EMPTY - 1)
			return pos;
	}
scan:
	for (size_t i = 0; i < n; i++)
		if (meta_is(metas[i], ns, name))
			return i;
	return INDEX_EMPTY;
}

static void index_free(struct cluster_index *ix)
{
	if (!ix)
		return;
	for (int k = 0; k < IDX_N; k++)
		free(ix->kinds[k].slots);
	free(ix);
}

void cluster_lists_changed(struct np_cluster *c)
{
	index_free(c->index);
	c->index = NULL;
}

/* Evaluates to the object with that namespace/name, or NULL. The cast is
 * sound: every kind starts with its struct np_meta. */
#define LIST_FIND_IDX(c, kind, arr, n, ns, nm)                                \
	({                                                                    \
		size_t pos_ = index_find((c), (kind), (struct np_meta *const *)(void *)(arr), \
					 (n), (ns), (nm));                    \
		pos_ == INDEX_EMPTY ? NULL : (arr)[pos_];                     \
	})

/* Appends obj; evaluates to 0 or -ENOMEM (the array is unchanged then). */
#define LIST_PUSH(arr, n, obj)                                                \
	({                                                                    \
		__typeof__(arr) grown_ = realloc((arr), ((n) + 1) * sizeof(*grown_)); \
		int r_ = -ENOMEM;                                             \
		if (grown_) {                                                 \
			(arr) = grown_;                                       \
			(arr)[(n)++] = (obj);                                 \
			r_ = 0;                                               \
		}                                                             \
		r_;                                                           \
	})

#define LIST_ADD(c, kind, arr, n, obj)                                        \
	({                                                                    \
		int ra_ = !(obj)->meta.name ? -EINVAL : 0;                    \
		if (!ra_ && LIST_FIND_IDX(c, kind, arr, n, (obj)->meta.namespace, (obj)->meta.name)) \
			ra_ = -EEXIST;                                        \
		if (!ra_)                                                     \
			ra_ = LIST_PUSH(arr, n, obj);                         \
		ra_;                                                          \
	})

#define DEFINE_META_CMP(kind)                                                 \
	static int kind##_cmp(const void *a, const void *b)                   \
	{                                                                     \
		return meta_cmp(&(*(struct np_##kind *const *)a)->meta,       \
				&(*(struct np_##kind *const *)b)->meta);      \
	}

DEFINE_META_CMP(namespace)
DEFINE_META_CMP(pod)
DEFINE_META_CMP(deployment)
DEFINE_META_CMP(service)
DEFINE_META_CMP(policy)

/* ---- lifetime ------------------------------------------------------------- */

struct np_cluster *cluster_new(void)
{
	return calloc(1, sizeof(struct np_cluster));
}

void cluster_free(struct np_cluster *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nnamespaces; i++)
		namespace_free(c->namespaces[i]);
	for (size_t i = 0; i < c->npods; i++)
		pod_free(c->pods[i]);
	for (size_t i = 0; i < c->ndeployments; i++)
		deployment_free(c->deployments[i]);
	for (size_t i = 0; i < c->nservices; i++)
		service_free(c->services[i]);
	for (size_t i = 0; i < c->npolicies; i++)
		policy_free(c->policies[i]);
	for (size_t i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	free(c->namespaces);
	free(c->pods);
	free(c->deployments);
	free(c->services);
	free(c->policies);
	free(c->files);
	index_free(c->index);
	free(c);
}

const char *cluster_intern_file(struct np_cluster *c, const char *name)
{
	for (size_t i = 0; i < c->nfiles; i++) {
		if (strcmp(c->files[i], name) == 0)
			return c->files[i];
	}
	char *copy = strdup(name);
	if (!copy || LIST_PUSH(c->files, c->nfiles, copy)) {
		free(copy);
		return NULL;
	}
	return copy;
}

/* ---- adding and finding --------------------------------------------------- */

int cluster_add_namespace(struct np_cluster *c, struct np_namespace *ns)
{
	return LIST_ADD(c, IDX_NAMESPACES, c->namespaces, c->nnamespaces, ns);
}

int cluster_add_pod(struct np_cluster *c, struct np_pod *pod)
{
	return LIST_ADD(c, IDX_PODS, c->pods, c->npods, pod);
}

int cluster_add_deployment(struct np_cluster *c, struct np_deployment *d)
{
	return LIST_ADD(c, IDX_DEPLOYMENTS, c->deployments, c->ndeployments, d);
}

int cluster_add_service(struct np_cluster *c, struct np_service *s)
{
	return LIST_ADD(c, IDX_SERVICES, c->services, c->nservices, s);
}

int cluster_add_policy(struct np_cluster *c, struct np_policy *p)
{
	return LIST_ADD(c, IDX_POLICIES, c->policies, c->npolicies, p);
}

struct np_namespace *cluster_find_namespace(const struct np_cluster *c, const char *name)
{
	return LIST_FIND_IDX(c, IDX_NAMESPACES, c->namespaces, c->nnamespaces, NULL, name);
}

struct np_pod *cluster_find_pod(const struct np_cluster *c, const char *ns, const char *name)
{
	return LIST_FIND_IDX(c, IDX_PODS, c->pods, c->npods, ns, name);
}

struct np_policy *cluster_find_policy(const struct np_cluster *c, const char *ns, const char *name)
{
	return LIST_FIND_IDX(c, IDX_POLICIES, c->policies, c->npolicies, ns, name);
}

/* ---- deployment pods ---------------------------------------------------------- */

static uint64_t fnv1a(uint64_t h, const char *s)
{
	h = fnv1a64_update(h, s);
	/* A separator byte, so ("ab","c") and ("a","bc") hash differently. */
	return (h ^ 0xff) * FNV1A64_PRIME;
}

static void encode_name(uint64_t h, char *out, size_t n)
{
	const uint64_t base = sizeof(name_alphabet) - 1;
	for (size_t i = 0; i < n; i++) {
		out[i] = name_alphabet[h % base];
		h /= base;
	}
	out[n] = '\0';
}

/* The pod-template-hash: depends only on what the pods look like (labels,
 * ports) and whose they are, so re-reading the same manifest gives the same
 * pod names. */
int deployment_template_hash(const struct np_deployment *d, char out[11])
{
	char *labels = labels_to_string(&d->template_labels);
	if (!labels)
		return -ENOMEM;
	uint64_t h = fnv1a(FNV1A64_OFFSET, d->meta.name);
	h = fnv1a(h, labels);
	free(labels);
	for (size_t i = 0; i < d->nports; i++) {
		char port[64];
		snprintf(port, sizeof(port), "%d/%s", d->ports[i].port, proto_name(d->ports[i].proto));
		h = fnv1a(h, d->ports[i].name ? d->ports[i].name : "");
		h = fnv1a(h, port);
	}
	encode_name(h, out, 10);
	return 0;
}

void deployment_replica_suffix(const struct np_deployment *d, const char *hash, long index,
			       int attempt, char out[6])
{
	char num[32];
	uint64_t h = fnv1a(FNV1A64_OFFSET, d->meta.namespace);
	h = fnv1a(h, d->meta.name);
	h = fnv1a(h, hash);
	snprintf(num, sizeof(num), "%ld/%d", index, attempt);
	h = fnv1a(h, num);
	encode_name(h, out, 5);
}

static int copy_ports(struct np_pod *p, const struct np_deployment *d)
{
	if (d->nports == 0)
		return 0;
	p->ports = calloc(d->nports, sizeof(*p->ports));
	if (!p->ports)
		return -ENOMEM;
	for (; p->nports < d->nports; p->nports++) {
		p->ports[p->nports] = d->ports[p->nports];
		p->ports[p->nports].name = NULL;
		if (d->ports[p->nports].name) {
			p->ports[p->nports].name = strdup(d->ports[p->nports].name);
			if (!p->ports[p->nports].name)
				return -ENOMEM;
		}
	}
	return 0;
}

static struct np_pod *derived_pod_new(const struct np_deployment *d, const char *hash,
				      const char *name)
{
	struct np_pod *p = pod_new();
	if (!p)
		return NULL;
	p->meta.name = strdup(name);
	p->meta.namespace = strdup(d->meta.namespace);
	p->owner = strdup(d->meta.name);
	p->meta.pos = d->meta.pos;
	if (!p->meta.name || !p->meta.namespace || !p->owner ||
	    labels_copy(&p->meta.labels, &d->template_labels) ||
	    labels_set(&p->meta.labels, TEMPLATE_HASH_LABEL, hash) || copy_ports(p, d)) {
		pod_free(p);
		return NULL;
	}
	return p;
}

struct pod_list {
	struct np_pod **pods;
	size_t n;
};

static void pod_list_clear(struct pod_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		pod_free(l->pods[i]);
	free(l->pods);
}

static bool deployment_expanded(const struct np_cluster *c, const struct np_deployment *d)
{
	for (size_t i = 0; i < c->npods; i++) {
		const struct np_pod *p = c->pods[i];
		if (p->owner && str_eq(p->owner, d->meta.name) &&
		    str_eq(p->meta.namespace, d->meta.namespace))
			return true;
	}
	return false;
}

/* Adds the pods of d to out. A name taken by a declared pod is a conflict
 * (-EEXIST); a clash between two replicas of d (possible with 27^5 names)
 * is resolved by deterministically trying the next candidate. */
static int derive_pods(const struct np_cluster *c, const struct np_deployment *d,
		       struct pod_list *out)
{
	char hash[11], suffix[6];
	int err = deployment_template_hash(d, hash);
	for (int i = 0; !err && i < d->replicas; i++) {
		char *name = NULL;
		for (int attempt = 0; !err; attempt++) {
			deployment_replica_suffix(d, hash, i, attempt, suffix);
			free(name);
			if (asprintf(&name, "%s-%s-%s", d->meta.name, hash, suffix) < 0) {
				name = NULL;
				err = -ENOMEM;
			} else if (cluster_find_pod(c, d->meta.namespace, name)) {
				err = -EEXIST;
			} else if (!LIST_FIND(out->pods, out->n, d->meta.namespace, name)) {
				break;
			}
		}
		struct np_pod *p = err ? NULL : derived_pod_new(d, hash, name);
		if (!err && (!p || LIST_PUSH(out->pods, out->n, p))) {
			pod_free(p);
			err = -ENOMEM;
		}
		free(name);
	}
	return err;
}

/* All or nothing: derived pods join the cluster only when every one of them
 * could be made. */
static int cluster_derive_pods(struct np_cluster *c)
{
	struct pod_list fresh = {0};
	int err = 0;
	for (size_t i = 0; !err && i < c->ndeployments; i++) {
		const struct np_deployment *d = c->deployments[i];
		if (d->replicas > 0 && !deployment_expanded(c, d))
			err = derive_pods(c, d, &fresh);
	}
	if (err || fresh.n == 0)
		goto cleanup;
	struct np_pod **pods = realloc(c->pods, (c->npods + fresh.n) * sizeof(*pods));
	if (!pods) {
		err = -ENOMEM;
		goto cleanup;
	}
	memcpy(&pods[c->npods], fresh.pods, fresh.n * sizeof(*pods));
	c->pods = pods;
	c->npods += fresh.n;
	fresh.n = 0;
cleanup:
	pod_list_clear(&fresh);
	return err;
}

/* ---- namespaces ------------------------------------------------------------- */

/* Namespaced objects written without a namespace live in "default", as
 * kubectl would put them there. */
static int default_namespace(struct np_meta *m)
{
	if (m->namespace)
		return 0;
	m->namespace = strdup("default");
	return m->namespace ? 0 : -ENOMEM;
}

static int cluster_default_namespaces(struct np_cluster *c)
{
	int err = 0;
	for (size_t i = 0; !err && i < c->npods; i++)
		err = default_namespace(&c->pods[i]->meta);
	for (size_t i = 0; !err && i < c->ndeployments; i++)
		err = default_namespace(&c->deployments[i]->meta);
	for (size_t i = 0; !err && i < c->nservices; i++)
		err = default_namespace(&c->services[i]->meta);
	for (size_t i = 0; !err && i < c->npolicies; i++)
		err = default_namespace(&c->policies[i]->meta);
	return err;
}

static int ensure_namespace(struct np_cluster *c, const char *name)
{
	if (cluster_find_namespace(c, name))
		return 0;
	struct np_namespace *ns = namespace_new();
	if (!ns)
		return -ENOMEM;
	ns->implicit = true;
	ns->meta.name = strdup(name);
	int err = ns->meta.name ? cluster_add_namespace(c, ns) : -ENOMEM;
	if (err)
		namespace_free(ns);
	return err;
}

static int cluster_implicit_namespaces(struct np_cluster *c)
{
	int err = 0;
	for (size_t i = 0; !err && i < c->npods; i++)
		err = ensure_namespace(c, c->pods[i]->meta.namespace);
	for (size_t i = 0; !err && i < c->ndeployments; i++)
		err = ensure_namespace(c, c->deployments[i]->meta.namespace);
	for (size_t i = 0; !err && i < c->nservices; i++)
		err = ensure_namespace(c, c->services[i]->meta.namespace);
	for (size_t i = 0; !err && i < c->npolicies; i++)
		err = ensure_namespace(c, c->policies[i]->meta.namespace);
	for (size_t i = 0; !err && i < c->nnamespaces; i++) {
		struct np_meta *m = &c->namespaces[i]->meta;
		err = labels_set(&m->labels, METADATA_NAME_LABEL, m->name);
	}
	return err;
}

/* ---- finishing ------------------------------------------------------------- */

/* qsort's base must not be NULL, even for zero elements. */
#define LIST_SORT(arr, n, cmp)                                                \
	do {                                                                  \
		if ((n) > 1)                                                  \
			qsort((arr), (n), sizeof(*(arr)), (cmp));             \
	} while (0)

static void cluster_sort(struct np_cluster *c)
{
	LIST_SORT(c->namespaces, c->nnamespaces, namespace_cmp);
	LIST_SORT(c->pods, c->npods, pod_cmp);
	LIST_SORT(c->deployments, c->ndeployments, deployment_cmp);
	LIST_SORT(c->services, c->nservices, service_cmp);
	LIST_SORT(c->policies, c->npolicies, policy_cmp);
	cluster_lists_changed(c);
}

int cluster_finish(struct np_cluster *c)
{
	int err = cluster_default_namespaces(c);
	if (!err)
		err = cluster_derive_pods(c);
	if (!err)
		err = cluster_implicit_namespaces(c);
	if (!err)
		cluster_sort(c);
	return err;
}
