/* index: which policies select a pod, which pods a peer matches, answered
 * from inverted lists instead of scans, and kept current one change at a
 * time (see policy_internal.h for the pieces).
 *
 * Peer sets are shared by canonical key, so the answer for a selector that
 * ten policies use is computed and maintained once; the dataplane later
 * builds one kernel set per pset. After -ENOMEM from any upkeep call the
 * index is incomplete and the engine must be rebuilt (fail closed). */
#include "util/hash.h"
#include "policy_internal.h"

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#define METADATA_NAME "kubernetes.io/metadata.name"

/* ---- containers ------------------------------------------------------------ */

void *vec_grow(void *v, size_t *cap, size_t need, size_t elsz)
{
	if (need <= *cap)
		return v;
	size_t ncap = *cap ? *cap * 2 : 8;
	while (ncap < need)
		ncap *= 2;
	void *nv = realloc(v, ncap * elsz);
	if (nv)
		*cap = ncap;
	return nv;
}

int ptrvec_push(struct ptrvec *pv, void *p)
{
	void **nv = vec_grow(pv->v, &pv->cap, pv->n + 1, sizeof(*pv->v));
	if (!nv)
		return -ENOMEM;
	pv->v = nv;
	pv->v[pv->n++] = p;
	return 0;
}

bool ptrvec_remove(struct ptrvec *pv, const void *p)
{
	for (size_t i = 0; i < pv->n; i++) {
		if (pv->v[i] == p) {
			pv->v[i] = pv->v[--pv->n];
			return true;
		}
	}
	return false;
}

void ptrvec_clear(struct ptrvec *pv)
{
	free(pv->v);
	memset(pv, 0, sizeof(*pv));
}

/* ---- hash map -------------------------------------------------------------------- */

struct hnode {
	struct hnode *next;
	size_t hash;
	const void *key;
	void *val;
	char str[];      /* the key's copy for string maps */
};

static size_t hash_key(const struct hmap *m, const void *key)
{
	uint64_t h;
	if (m->strkeys) {
		h = fnv1a64(key);
	} else {
		h = (uint64_t)(uintptr_t)key;   /* a 64-bit finaliser */
		h ^= h >> 33;
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 33;
	}
	return (size_t)h;
}

static bool key_equal(const struct hmap *m, const void *a, const void *b)
{
	return m->strkeys ? strcmp(a, b) == 0 : a == b;
}

void hmap_init(struct hmap *m, bool strkeys)
{
	memset(m, 0, sizeof(*m));
	m->strkeys = strkeys;
}

static struct hnode **hmap_slot(const struct hmap *m, const void *key, size_t h)
{
	struct hnode **pp = &m->b[h & (m->nb - 1)];
	while (*pp && !((*pp)->hash == h && key_equal(m, (*pp)->key, key)))
		pp = &(*pp)->next;
	return pp;
}

void *hmap_get(const struct hmap *m, const void *key)
{
	if (m->n == 0)
		return NULL;
	struct hnode *n = *hmap_slot(m, key, hash_key(m, key));
	return n ? n->val : NULL;
}

static int hmap_grow(struct hmap *m)
{
	size_t nb = m->nb ? m->nb * 2 : 16;
	struct hnode **b = calloc(nb, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < m->nb; i++) {
		struct hnode *n = m->b[i], *next;
		for (; n; n = next) {
			next = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
	return 0;
}

int hmap_put(struct hmap *m, const void *key, void *val)
{
	if (m->n >= m->nb && hmap_grow(m) < 0)
		return -ENOMEM;
	size_t h = hash_key(m, key);
	struct hnode **pp = hmap_slot(m, key, h);
	if (*pp) {
		(*pp)->val = val;
		return 0;
	}
	size_t extra = m->strkeys ? strlen(key) + 1 : 0;
	struct hnode *n = malloc(sizeof(*n) + extra);
	if (!n)
		return -ENOMEM;
	n->next = NULL;
	n->hash = h;
	n->val = val;
	n->key = key;
	if (m->strkeys) {
		memcpy(n->str, key, extra);
		n->key = n->str;
	}
	*pp = n;
	m->n++;
	return 0;
}

void *hmap_del(struct hmap *m, const void *key)
{
	if (m->n == 0)
		return NULL;
	struct hnode **pp = hmap_slot(m, key, hash_key(m, key));
	struct hnode *n = *pp;
	if (!n)
		return NULL;
	void *val = n->val;
	*pp = n->next;
	free(n);
	m->n--;
	return val;
}

bool hmap_next(struct hmap_iter *it, const void **key, void **val)
{
	if (it->node)
		it->node = it->node->next;
	while (!it->node && it->b < it->m->nb)
		it->node = it->m->b[it->b++];
	if (!it->node)
		return false;
	if (key)
		*key = it->node->key;
	if (val)
		*val = it->node->val;
	return true;
}

void hmap_clear(struct hmap *m, void (*free_val)(void *))
{
	for (size_t i = 0; i < m->nb; i++) {
		struct hnode *n = m->b[i], *next;
		for (; n; n = next) {
			next = n->next;
			if (free_val)
				free_val(n->val);
			free(n);
		}
	}
	free(m->b);
	hmap_init(m, m->strkeys);
}

/* ---- inverted label lists --------------------------------------------------------- */

/* "k=v" (neither part can contain '='), in buf when it fits, else in
 * *heap which the caller frees. NULL when out of memory. */
static const char *kv_text(char *buf, size_t len, const char *k, const char *v, char **heap)
{
	*heap = NULL;
	int n = snprintf(buf, len, "%s=%s", k, v);
	if (n >= 0 && (size_t)n < len)
		return buf;
	if (asprintf(heap, "%s=%s", k, v) < 0) {
		*heap = NULL;
		return NULL;
	}
	return *heap;
}

static const struct ptrvec *list_get(const struct hmap *m, const char *k, const char *v)
{
	char buf[256], *heap;
	if (!v)
		return hmap_get(m, k);
	const char *key = kv_text(buf, sizeof(buf), k, v, &heap);
	const struct ptrvec *pv = key ? hmap_get(m, key) : NULL;
	free(heap);
	return pv;
}

static int list_add(struct hmap *m, const char *key, void *item)
{
	struct ptrvec *pv = hmap_get(m, key);
	if (!pv) {
		pv = calloc(1, sizeof(*pv));
		if (!pv || hmap_put(m, key, pv) < 0) {
			free(pv);
			return -ENOMEM;
		}
	}
	return ptrvec_push(pv, item);
}

static void list_remove(struct hmap *m, const char *key, void *item)
{
	struct ptrvec *pv = hmap_get(m, key);
	if (!pv)
		return;
	ptrvec_remove(pv, item);
	if (pv->n == 0) {
		hmap_del(m, key);
		ptrvec_clear(pv);
		free(pv);
	}
}

static void list_free(void *pv)
{
	ptrvec_clear(pv);
	free(pv);
}

/* Adds (add) or removes item under every "k=v" and "k" of l. */
static int labels_index(struct hmap *kv, struct hmap *k, const struct np_labels *l,
			void *item, bool add)
{
	char buf[256], *heap;
	for (size_t i = 0; i < l->n; i++) {
		const char *key = kv_text(buf, sizeof(buf), l->items[i].key, l->items[i].value, &heap);
		int err = key ? 0 : -ENOMEM;
		if (key && add)
			err = list_add(kv, key, item);
		else if (key)
			list_remove(kv, key, item);
		free(heap);
		if (!err && add)
			err = list_add(k, l->items[i].key, item);
		else if (!add)
			list_remove(k, l->items[i].key, item);
		if (err)
			return err;
	}
	return 0;
}

/* Calls fn on a superset of the items of scope that sel can match: the
 * lists of the cheapest In or Exists requirement, or scope itself. Items
 * from the lists may lie outside scope; fn filters. */
typedef int (*visit_fn)(void *item, void *ctx);

static size_t req_cost(const struct hmap *kv, const struct hmap *k, const struct np_requirement *r)
{
	const struct ptrvec *pv;
	size_t cost = 0;
	if (r->op == SEL_EXISTS) {
		pv = list_get(k, r->key, NULL);
		return pv ? pv->n : 0;
	}
	for (size_t i = 0; i < r->nvalues; i++) {
		pv = list_get(kv, r->key, r->values[i]);
		cost += pv ? pv->n : 0;
	}
	return cost;
}

static int visit_list(const struct ptrvec *pv, visit_fn fn, void *ctx)
{
	for (size_t i = 0; pv && i < pv->n; i++) {
		int err = fn(pv->v[i], ctx);
		if (err)
			return err;
	}
	return 0;
}

static int visit_candidates(const struct hmap *kv, const struct hmap *k,
			    const struct np_selector *sel, const struct ptrvec *scope,
			    visit_fn fn, void *ctx)
{
	const struct np_requirement *best = NULL;
	size_t best_cost = scope->n;
	for (size_t i = 0; i < sel->n; i++) {
		const struct np_requirement *r = &sel->reqs[i];
		if (r->op != SEL_IN && r->op != SEL_EXISTS)
			continue;
		size_t cost = req_cost(kv, k, r);
		if (cost < best_cost) {
			best = r;
			best_cost = cost;
		}
	}
	if (!best)
		return visit_list(scope, fn, ctx);
	if (best->op == SEL_EXISTS)
		return visit_list(list_get(k, best->key, NULL), fn, ctx);
	/* A pod has one value per key, so the value lists are disjoint. */
	for (size_t i = 0; i < best->nvalues; i++) {
		int err = visit_list(list_get(kv, best->key, best->values[i]), fn, ctx);
		if (err)
			return err;
	}
	return 0;
}

/* ---- addresses ------------------------------------------------------------------------ */

static void ip_normalise(struct np_ip *ip)
{
	/* IPv4 keeps its address in the first 4 bytes; zero the rest so that
	 * addresses compare with one memcmp. */
	if (ip->family == AF_INET)
		memset(ip->addr + 4, 0, sizeof(ip->addr) - 4);
}

static int ip_cmp(const struct np_ip *a, const struct np_ip *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->addr, b->addr, sizeof(a->addr));
}

/* First slot whose address is >= ip. */
static size_t ip_lower(const struct engine *e, const struct np_ip *ip)
{
	size_t lo = 0, hi = e->nips;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ip_cmp(&e->ips[mid].ip, ip) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int ip_slot_add(struct engine *e, struct pod_entry *pe)
{
	struct ip_slot *ns = vec_grow(e->ips, &e->ipcap, e->nips + 1, sizeof(*e->ips));
	if (!ns)
		return -ENOMEM;
	e->ips = ns;
	size_t at = ip_lower(e, &pe->ip);
	memmove(&e->ips[at + 1], &e->ips[at], (e->nips - at) * sizeof(*e->ips));
	e->ips[at] = (struct ip_slot){pe->ip, pe};
	e->nips++;
	return 0;
}

static void ip_slot_remove(struct engine *e, struct pod_entry *pe)
{
	for (size_t i = ip_lower(e, &pe->ip); i < e->nips && ip_cmp(&e->ips[i].ip, &pe->ip) == 0; i++) {
		if (e->ips[i].pe == pe) {
			memmove(&e->ips[i], &e->ips[i + 1], (e->nips - i - 1) * sizeof(*e->ips));
			e->nips--;
			return;
		}
	}
}

/* ---- peer sets ----------------------------------------------------------------------------- */

static int pod_entry_cmp(const struct pod_entry *a, const struct pod_entry *b)
{
	int c = strcmp(a->ns->name, b->ns->name);
	return c ? c : strcmp(a->name, b->name);
}

static int pod_entry_qcmp(const void *a, const void *b)
{
	return pod_entry_cmp(*(struct pod_entry *const *)a, *(struct pod_entry *const *)b);
}

static size_t pset_lower(const struct pset *ps, const struct pod_entry *pe)
{
	size_t lo = 0, hi = ps->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (pod_entry_cmp(ps->m[mid], pe) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool pset_has(const struct pset *ps, const struct pod_entry *pe)
{
	size_t at = pset_lower(ps, pe);
	return at < ps->n && ps->m[at] == pe;
}

static int pset_push(struct pset *ps, struct pod_entry *pe)
{
	struct pod_entry **nm = vec_grow(ps->m, &ps->cap, ps->n + 1, sizeof(*ps->m));
	if (!nm)
		return -ENOMEM;
	ps->m = nm;
	ps->m[ps->n++] = pe;
	ps->out_valid = false;
	return 0;
}

static int pset_insert(struct pset *ps, struct pod_entry *pe)
{
	size_t at = pset_lower(ps, pe);
	if (at < ps->n && ps->m[at] == pe)
		return 0;
	int err = pset_push(ps, pe);
	if (err)
		return err;
	memmove(&ps->m[at + 1], &ps->m[at], (ps->n - 1 - at) * sizeof(*ps->m));
	ps->m[at] = pe;
	return 0;
}

static void pset_erase(struct pset *ps, struct pod_entry *pe)
{
	size_t at = pset_lower(ps, pe);
	if (at >= ps->n || ps->m[at] != pe)
		return;
	memmove(&ps->m[at], &ps->m[at + 1], (ps->n - at - 1) * sizeof(*ps->m));
	ps->n--;
	ps->out_valid = false;
}

/* The definition of membership, on the labels and address as indexed. */
static bool pset_wants(const struct pset *ps, const struct pod_entry *pe)
{
	switch (ps->kind) {
	case PSET_PODS:
		return pe->ns == ps->ns && selector_matches(&ps->pod_sel, &pe->labels);
	case PSET_NS:
		return selector_matches(&ps->ns_sel, &pe->ns->labels) &&
		       selector_matches(&ps->pod_sel, &pe->labels);
	case PSET_IP:
		return pe->ip.family != 0 && ipblock_contains(&ps->block, &pe->ip);
	}
	return false;
}

struct fill_ctx {
	struct engine *e;
	struct pset *ps;
	const struct ns_entry *only;   /* PSET_NS: the namespace being visited */
};

static int fill_pod(void *item, void *ctx)
{
	struct fill_ctx *fc = ctx;
	struct pod_entry *pe = item;
	if (fc->only && pe->ns != fc->only)
		return 0;
	return pset_wants(fc->ps, pe) ? pset_push(fc->ps, pe) : 0;
}

static int fill_ns(void *item, void *ctx)
{
	struct fill_ctx *fc = ctx;
	struct ns_entry *ns = item;
	if (!selector_matches(&fc->ps->ns_sel, &ns->labels))
		return 0;
	fc->only = ns;
	return visit_candidates(&fc->e->pod_kv, &fc->e->pod_k, &fc->ps->pod_sel, &ns->pods,
				fill_pod, fc);
}

static int fill_ip(struct engine *e, struct pset *ps)
{
	struct np_ip lo = ps->block.cidr.ip;
	ip_normalise(&lo);
	for (size_t i = ip_lower(e, &lo); i < e->nips; i++) {
		if (!cidr_contains_ip(&ps->block.cidr, &e->ips[i].ip))
			break;
		if (pset_wants(ps, e->ips[i].pe) && pset_push(ps, e->ips[i].pe) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int pset_fill(struct engine *e, struct pset *ps)
{
	struct fill_ctx fc = {e, ps, NULL};
	int err = 0;
	if (ps->kind == PSET_PODS)
		err = visit_candidates(&e->pod_kv, &e->pod_k, &ps->pod_sel, &ps->ns->pods, fill_pod, &fc);
	else if (ps->kind == PSET_NS)
		err = visit_candidates(&e->ns_kv, &e->ns_k, &ps->ns_sel, &e->all_ns, fill_ns, &fc);
	else
		err = fill_ip(e, ps);
	if (!err && ps->n > 1)   /* qsort wants a non-NULL base even for nothing */
		qsort(ps->m, ps->n, sizeof(*ps->m), pod_entry_qcmp);
	return err;
}

static struct ptrvec *pset_home(struct engine *e, const struct pset *ps)
{
	if (ps->kind == PSET_PODS)
		return &ps->ns->psets;
	return ps->kind == PSET_NS ? &e->ns_psets : &e->ip_psets;
}

static void pset_free(struct pset *ps)
{
	if (!ps)
		return;
	free(ps->key);
	selector_clear(&ps->pod_sel);
	selector_clear(&ps->ns_sel);
	free(ps->block.except);
	free(ps->m);
	free(ps->out);
	free(ps);
}

static int cidr_text_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "ip|cidr|except,except" with the excepts sorted. */
static char *ipblock_key(const struct np_ipblock *b)
{
	char cidr[64], **ex = calloc(b->nexcept + 1, sizeof(*ex));
	char *key = NULL;
	size_t len = 0;
	if (!ex)
		return NULL;
	for (size_t i = 0; i < b->nexcept; i++) {
		char buf[64];
		ex[i] = strdup(cidr_to_string(&b->except[i], buf, sizeof(buf)));
		if (!ex[i])
			goto cleanup;
		len += strlen(ex[i]) + 1;
	}
	qsort(ex, b->nexcept, sizeof(*ex), cidr_text_cmp);
	cidr_to_string(&b->cidr, cidr, sizeof(cidr));
	key = malloc(strlen(cidr) + len + 5);
	if (!key)
		goto cleanup;
	char *p = key + sprintf(key, "ip|%s|", cidr);
	for (size_t i = 0; i < b->nexcept; i++)
		p += sprintf(p, "%s%s", i ? "," : "", ex[i]);
cleanup:
	for (size_t i = 0; i < b->nexcept; i++)
		free(ex[i]);
	free(ex);
	return key;
}

/* The canonical key of a peer written in namespace ns: equal keys match
 * the same pods. NULL for a peer with nothing set (and out of memory). */
static char *peer_key(const char *ns, const struct np_peer *peer)
{
	char *key = NULL, *ps = NULL, *nss = NULL;
	if (peer->has_ipblock)
		return ipblock_key(&peer->ipblock);
	if (!peer->has_pod_sel && !peer->has_ns_sel)
		return NULL;
	ps = peer->has_pod_sel ? selector_to_string(&peer->pod_sel) : strdup("");
	nss = peer->has_ns_sel ? selector_to_string(&peer->ns_sel) : NULL;
	if (ps && peer->has_ns_sel && nss) {
		if (asprintf(&key, "ns|%s|%s", nss, ps) < 0)
			key = NULL;
	} else if (ps && !peer->has_ns_sel) {
		if (asprintf(&key, "pods|%s|%s", ns, ps) < 0)
			key = NULL;
	}
	free(ps);
	free(nss);
	return key;
}

static int pset_init(struct engine *e, struct pset *ps, const char *ns, const struct np_peer *peer)
{
	if (peer->has_ipblock) {
		ps->kind = PSET_IP;
		ps->block = peer->ipblock;
		ps->block.except = NULL;
		ps->block.nexcept = 0;
		if (peer->ipblock.nexcept) {
			ps->block.except = calloc(peer->ipblock.nexcept, sizeof(*ps->block.except));
			if (!ps->block.except)
				return -ENOMEM;
			memcpy(ps->block.except, peer->ipblock.except,
			       peer->ipblock.nexcept * sizeof(*ps->block.except));
			ps->block.nexcept = peer->ipblock.nexcept;
		}
		return 0;
	}
	ps->kind = peer->has_ns_sel ? PSET_NS : PSET_PODS;
	if (ps->kind == PSET_PODS && !(ps->ns = index_ns_get(e, ns)))
		return -ENOMEM;
	if (peer->has_pod_sel && selector_copy(&ps->pod_sel, &peer->pod_sel) < 0)
		return -ENOMEM;
	if (peer->has_ns_sel && selector_copy(&ps->ns_sel, &peer->ns_sel) < 0)
		return -ENOMEM;
	return 0;
}

/* The shared set for a peer (created and filled when new), with one more
 * reference when ref. NULL with *err = 0 for a peer that has nothing set. */
static struct pset *pset_get(struct engine *e, const char *ns, const struct np_peer *peer,
			     bool ref, int *err)
{
	char *key = peer_key(ns, peer);
	struct pset *ps;
	*err = 0;
	if (!key) {
		if (peer->has_ipblock || peer->has_pod_sel || peer->has_ns_sel)
			*err = -ENOMEM;
		return NULL;
	}
	ps = hmap_get(&e->psets, key);
	if (ps) {
		free(key);
		ps->refs += ref;
		return ps;
	}
	ps = calloc(1, sizeof(*ps));
	if (!ps) {
		free(key);
		*err = -ENOMEM;
		return NULL;
	}
	ps->key = key;
	if ((*err = pset_init(e, ps, ns, peer)) < 0 || (*err = pset_fill(e, ps)) < 0 ||
	    (*err = hmap_put(&e->psets, key, ps)) < 0)
		goto fail;
	if ((*err = ptrvec_push(pset_home(e, ps), ps)) < 0) {
		hmap_del(&e->psets, key);
		goto fail;
	}
	ps->refs = ref;
	return ps;
fail:
	pset_free(ps);
	return NULL;
}

static void pset_release(struct engine *e, struct pset *ps)
{
	if (!ps || --ps->refs > 0)
		return;
	hmap_del(&e->psets, ps->key);
	ptrvec_remove(pset_home(e, ps), ps);
	pset_free(ps);
}

/* ---- namespaces -------------------------------------------------------------------------------- */

struct ns_entry *index_ns(struct engine *e, const char *name)
{
	return hmap_get(&e->nss, name ? name : "default");
}

static void ns_entry_free(struct ns_entry *ns)
{
	if (!ns)
		return;
	free(ns->name);
	labels_clear(&ns->labels);
	ptrvec_clear(&ns->pods);
	ptrvec_clear(&ns->policies);
	ptrvec_clear(&ns->psets);
	free(ns);
}

struct ns_entry *index_ns_get(struct engine *e, const char *name)
{
	struct ns_entry *ns = index_ns(e, name);
	if (ns)
		return ns;
	ns = calloc(1, sizeof(*ns));
	if (!ns || !(ns->name = strdup(name ? name : "default")))
		goto fail;
	if (labels_set(&ns->labels, METADATA_NAME, ns->name) < 0 ||
	    labels_index(&e->ns_kv, &e->ns_k, &ns->labels, ns, true) < 0)
		goto fail;
	if (hmap_put(&e->nss, ns->name, ns) < 0)
		goto fail;
	if (ptrvec_push(&e->all_ns, ns) < 0) {
		hmap_del(&e->nss, ns->name);
		goto fail;
	}
	return ns;
fail:
	if (ns)
		labels_index(&e->ns_kv, &e->ns_k, &ns->labels, ns, false);
	ns_entry_free(ns);
	return NULL;
}

/* Moves the pods of ns into or out of one PSET_NS set whose namespace
 * selector changed its mind about ns. */
static int ns_flip(struct pset *ps, struct ns_entry *ns, bool now)
{
	for (size_t i = 0; i < ns->pods.n; i++) {
		struct pod_entry *pe = ns->pods.v[i];
		if (!now)
			pset_erase(ps, pe);
		else if (selector_matches(&ps->pod_sel, &pe->labels) && pset_insert(ps, pe) < 0)
			return -ENOMEM;
	}
	return 0;
}

int engine_namespace_changed(struct engine *e, const struct np_namespace *obj)
{
	struct np_labels fresh = {0};
	bool *was = NULL;
	int err = -ENOMEM;
	struct ns_entry *ns = index_ns_get(e, obj->meta.name);
	if (!ns)
		return -ENOMEM;
	ns->obj = obj;
	if (labels_copy(&fresh, &obj->meta.labels) < 0 ||
	    labels_set(&fresh, METADATA_NAME, ns->name) < 0)
		goto cleanup;
	err = 0;
	if (labels_equal(&fresh, &ns->labels))
		goto cleanup;
	err = -ENOMEM;
	was = calloc(e->ns_psets.n + 1, sizeof(*was));
	if (!was)
		goto cleanup;
	for (size_t i = 0; i < e->ns_psets.n; i++)
		was[i] = selector_matches(&((struct pset *)e->ns_psets.v[i])->ns_sel, &ns->labels);
	labels_index(&e->ns_kv, &e->ns_k, &ns->labels, ns, false);
	labels_clear(&ns->labels);
	ns->labels = fresh;
	fresh = (struct np_labels){0};
	if (labels_index(&e->ns_kv, &e->ns_k, &ns->labels, ns, true) < 0)
		goto cleanup;
	for (size_t i = 0; i < e->ns_psets.n; i++) {
		struct pset *ps = e->ns_psets.v[i];
		bool now = selector_matches(&ps->ns_sel, &ns->labels);
		if (now != was[i] && ns_flip(ps, ns, now) < 0)
			goto cleanup;
	}
	err = 0;
cleanup:
	labels_clear(&fresh);
	free(was);
	return err;
}

struct ns_count {
	const struct np_selector *sel;
	size_t n, pods;
};

static int count_ns(void *item, void *ctx)
{
	struct ns_entry *ns = item;
	struct ns_count *c = ctx;
	if (selector_matches(c->sel, &ns->labels)) {
		c->n++;
		c->pods += ns->pods.n;
	}
	return 0;
}

size_t index_count_namespaces(struct engine *e, const struct np_selector *sel, size_t *pods)
{
	struct ns_count c = {sel, 0, 0};
	visit_candidates(&e->ns_kv, &e->ns_k, sel, &e->all_ns, count_ns, &c);
	if (pods)
		*pods = c.pods;
	return c.n;
}

/* ---- pods ------------------------------------------------------------------------------------------ */

struct pod_entry *index_pod(const struct engine *e, const struct np_pod *pod)
{
	return hmap_get(&e->pods, pod);
}

static void pod_entry_free(struct pod_entry *pe)
{
	if (!pe)
		return;
	free(pe->name);
	labels_clear(&pe->labels);
	free(pe->sel);
	free(pe->selp);
	free(pe);
}

/* Every set a pod can belong to: those scoped to its namespace, every
 * namespace-selector set and, when it has an address, every ipBlock set. */
static void pod_homes(struct engine *e, struct pod_entry *pe, struct ptrvec *homes[3])
{
	homes[0] = &pe->ns->psets;
	homes[1] = &e->ns_psets;
	homes[2] = pe->ip.family ? &e->ip_psets : NULL;
}

static void pod_unindex(struct engine *e, struct pod_entry *pe)
{
	struct ptrvec *homes[3];
	pod_homes(e, pe, homes);
	for (int h = 0; h < 3; h++)
		for (size_t i = 0; homes[h] && i < homes[h]->n; i++)
			pset_erase(homes[h]->v[i], pe);
	labels_index(&e->pod_kv, &e->pod_k, &pe->labels, pe, false);
	if (pe->ip.family)
		ip_slot_remove(e, pe);
	ptrvec_remove(&pe->ns->pods, pe);
	hmap_del(&e->pods, pe->pod);
	pod_entry_free(pe);
}

static int pod_index(struct engine *e, const struct np_pod *pod)
{
	struct ptrvec *homes[3];
	struct pod_entry *pe = calloc(1, sizeof(*pe));
	if (!pe)
		return -ENOMEM;
	pe->pod = pod;
	pe->name = strdup(pod->meta.name ? pod->meta.name : "");
	pe->ns = index_ns_get(e, pod->meta.namespace);
	if (!pe->name || !pe->ns || labels_copy(&pe->labels, &pod->meta.labels) < 0 ||
	    hmap_put(&e->pods, pod, pe) < 0) {
		pod_entry_free(pe);
		return -ENOMEM;
	}
	if (pod->nips) {
		pe->ip = pod->ips[0];
		ip_normalise(&pe->ip);
	}
	if (ptrvec_push(&pe->ns->pods, pe) < 0 ||
	    labels_index(&e->pod_kv, &e->pod_k, &pe->labels, pe, true) < 0 ||
	    (pe->ip.family && ip_slot_add(e, pe) < 0))
		return -ENOMEM;
	pod_homes(e, pe, homes);
	for (int h = 0; h < 3; h++) {
		for (size_t i = 0; homes[h] && i < homes[h]->n; i++) {
			struct pset *ps = homes[h]->v[i];
			if (pset_wants(ps, pe) && pset_insert(ps, pe) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

int engine_pod_changed(struct engine *e, const struct np_pod *pod)
{
	struct pod_entry *pe = index_pod(e, pod);
	if (pe)
		pod_unindex(e, pe);
	return pod_index(e, pod);
}

int engine_pod_removed(struct engine *e, const struct np_pod *pod)
{
	struct pod_entry *pe = index_pod(e, pod);
	if (!pe)
		return -ENOENT;
	pod_unindex(e, pe);
	return 0;
}

/* ---- policies ----------------------------------------------------------------------------------------- */

struct pol_entry *index_policy(const struct engine *e, const struct np_policy *pol)
{
	return hmap_get(&e->pols, pol);
}

static void rules_release(struct engine *e, struct rule_psets *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++) {
		for (size_t j = 0; j < r[i].n; j++)
			pset_release(e, r[i].peers[j]);
		free(r[i].peers);
	}
	free(r);
}

static void pol_entry_free(struct engine *e, struct pol_entry *pe)
{
	if (!pe)
		return;
	pset_release(e, pe->selected);
	rules_release(e, pe->ing, pe->ning);
	rules_release(e, pe->eg, pe->neg);
	free(pe);
}

static int rules_acquire(struct engine *e, const char *ns, const struct np_rule *rules,
			 size_t n, struct rule_psets **out)
{
	int err = 0;
	*out = calloc(n + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct rule_psets *r = &(*out)[i];
		r->peers = calloc(rules[i].npeers + 1, sizeof(*r->peers));
		if (!r->peers)
			return -ENOMEM;
		for (; r->n < rules[i].npeers; r->n++) {
			r->peers[r->n] = pset_get(e, ns, &rules[i].peers[r->n], true, &err);
			if (err)
				return err;
		}
	}
	return 0;
}

static struct pol_entry *pol_entry_build(struct engine *e, const struct np_policy *pol, int *err)
{
	struct pol_entry *pe = calloc(1, sizeof(*pe));
	struct np_peer self = {.has_pod_sel = true, .pod_sel = pol->pod_sel};
	*err = -ENOMEM;
	if (!pe)
		return NULL;
	pe->pol = pol;
	if (!(pe->ns = index_ns_get(e, pol->meta.namespace)))
		goto fail;
	pe->selected = pset_get(e, pe->ns->name, &self, true, err);
	if (*err < 0)
		goto fail;
	pe->ning = pol->ningress;
	if ((*err = rules_acquire(e, pe->ns->name, pol->ingress, pol->ningress, &pe->ing)) < 0)
		goto fail;
	pe->neg = pol->negress;
	if ((*err = rules_acquire(e, pe->ns->name, pol->egress, pol->negress, &pe->eg)) < 0)
		goto fail;
	return pe;
fail:
	pol_entry_free(e, pe);
	return NULL;
}

static void pol_unindex(struct engine *e, struct pol_entry *pe)
{
	ptrvec_remove(&pe->ns->policies, pe);
	pe->ns->gen++;
	hmap_del(&e->pols, pe->pol);
	pol_entry_free(e, pe);
}

int engine_policy_changed(struct engine *e, const struct np_policy *pol)
{
	int err;
	/* Build the new entry before dropping the old one, so that sets both
	 * share are kept rather than torn down and rebuilt. */
	struct pol_entry *pe = pol_entry_build(e, pol, &err);
	struct pol_entry *old = index_policy(e, pol);
	if (!pe)
		return err;
	if (old)
		pol_unindex(e, old);
	if (hmap_put(&e->pols, pol, pe) < 0 || ptrvec_push(&pe->ns->policies, pe) < 0) {
		hmap_del(&e->pols, pol);
		pol_entry_free(e, pe);
		return -ENOMEM;
	}
	pe->ns->gen++;
	return 0;
}

int engine_policy_removed(struct engine *e, const struct np_policy *pol)
{
	struct pol_entry *pe = index_policy(e, pol);
	if (!pe)
		return -ENOENT;
	pol_unindex(e, pe);
	return 0;
}

/* ---- queries ---------------------------------------------------------------------------------------------- */

static int pol_entry_name_cmp(const void *a, const void *b)
{
	const struct pol_entry *x = *(struct pol_entry *const *)a;
	const struct pol_entry *y = *(struct pol_entry *const *)b;
	int c = strcmp(x->ns->name, y->ns->name);
	return c ? c : strcmp(x->pol->meta.name, y->pol->meta.name);
}

static int sel_push(struct pod_entry *pe, struct pol_entry *pol)
{
	if (pe->nsel == pe->selcap) {
		size_t cap = pe->selcap ? pe->selcap * 2 : 4;
		const struct np_policy **s = realloc(pe->sel, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		pe->sel = s;
		struct pol_entry **sp = realloc(pe->selp, cap * sizeof(*sp));
		if (!sp)
			return -ENOMEM;
		pe->selp = sp;
		pe->selcap = cap;
	}
	pe->sel[pe->nsel] = pol->pol;
	pe->selp[pe->nsel++] = pol;
	return 0;
}

static int pod_selection(struct pod_entry *pe)
{
	struct ns_entry *ns = pe->ns;
	if (pe->sel_valid && pe->sel_gen == ns->gen)
		return 0;
	pe->nsel = 0;
	for (size_t i = 0; i < ns->policies.n; i++) {
		struct pol_entry *pol = ns->policies.v[i];
		if (pset_has(pol->selected, pe) && sel_push(pe, pol) < 0)
			return -ENOMEM;
	}
	if (pe->nsel > 1)
		qsort(pe->selp, pe->nsel, sizeof(*pe->selp), pol_entry_name_cmp);
	for (size_t i = 0; i < pe->nsel; i++)
		pe->sel[i] = pe->selp[i]->pol;
	pe->sel_gen = ns->gen;
	pe->sel_valid = true;
	return 0;
}

int index_refresh_selection(struct engine *e)
{
	struct hmap_iter it = HMAP_ITER(&e->pods);
	struct pod_entry *pe;
	struct pol_entry **pols;
	size_t n = 0, stale = 0;
	void *v;
	while (hmap_next(&it, NULL, &v)) {
		pe = v;
		stale += !(pe->sel_valid && pe->sel_gen == pe->ns->gen);
	}
	if (!stale)
		return 0;
	pols = calloc(e->pols.n + 1, sizeof(*pols));
	if (!pols)
		return -ENOMEM;
	it = HMAP_ITER(&e->pols);
	while (hmap_next(&it, NULL, &v))
		pols[n++] = v;
	/* In namespace/name order, appending yields each pod's sorted list. */
	qsort(pols, n, sizeof(*pols), pol_entry_name_cmp);
	it = HMAP_ITER(&e->pods);
	while (hmap_next(&it, NULL, &v))
		((struct pod_entry *)v)->nsel = 0;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < pols[i]->selected->n; j++) {
			if (sel_push(pols[i]->selected->m[j], pols[i]) < 0) {
				free(pols);
				return -ENOMEM;
			}
		}
	}
	it = HMAP_ITER(&e->pods);
	while (hmap_next(&it, NULL, &v)) {
		pe = v;
		pe->sel_gen = pe->ns->gen;
		pe->sel_valid = true;
	}
	free(pols);
	return 0;
}

/* A pod the index does not know: the answer from its namespace's
 * policies, by their selectors, in the engine's scratch list. */
static size_t unindexed_selection(struct engine *e, const struct np_pod *pod,
				  const struct np_policy *const **out)
{
	struct ns_entry *ns = index_ns(e, pod->meta.namespace);
	struct pol_entry **tmp;
	size_t n = 0;
	e->nscratch = 0;
	*out = e->scratch;
	if (!ns || !(tmp = calloc(ns->policies.n + 1, sizeof(*tmp))))
		return 0;
	for (size_t i = 0; i < ns->policies.n; i++) {
		struct pol_entry *pol = ns->policies.v[i];
		if (selector_matches(&pol->pol->pod_sel, &pod->meta.labels))
			tmp[n++] = pol;
	}
	qsort(tmp, n, sizeof(*tmp), pol_entry_name_cmp);
	const struct np_policy **s = vec_grow(e->scratch, &e->scratchcap, n + 1, sizeof(*s));
	if (s) {
		e->scratch = s;
		for (size_t i = 0; i < n; i++)
			e->scratch[e->nscratch++] = tmp[i]->pol;
	}
	free(tmp);
	*out = e->scratch;
	return e->nscratch;
}

size_t engine_policies_selecting(struct engine *e, const struct np_pod *pod,
				 const struct np_policy *const **out)
{
	struct pod_entry *pe = index_pod(e, pod);
	if (!pe)
		return unindexed_selection(e, pod, out);
	if (pod_selection(pe) < 0) {
		pe->sel_valid = false;
		*out = NULL;
		return 0;
	}
	/* NULL means failure to callers; an empty answer is a real array. */
	static const struct np_policy *const none[1];
	*out = pe->sel ? pe->sel : none;
	return pe->nsel;
}

struct pset *index_peer_pset(const struct engine *e, const struct np_policy *pol,
			     const struct np_peer *peer)
{
	const struct pol_entry *pe = index_policy(e, pol);
	if (!pe)
		return NULL;
	/* Compare addresses with uintptr_t: the peer may belong to any array. */
	uintptr_t p = (uintptr_t)peer;
	for (size_t i = 0; i < pe->ning && i < pol->ningress; i++) {
		const struct np_rule *r = &pol->ingress[i];
		if (p >= (uintptr_t)r->peers && p < (uintptr_t)(r->peers + r->npeers) && pe->ing[i].n == r->npeers)
			return pe->ing[i].peers[peer - r->peers];
	}
	for (size_t i = 0; i < pe->neg && i < pol->negress; i++) {
		const struct np_rule *r = &pol->egress[i];
		if (p >= (uintptr_t)r->peers && p < (uintptr_t)(r->peers + r->npeers) && pe->eg[i].n == r->npeers)
			return pe->eg[i].peers[peer - r->peers];
	}
	return NULL;
}

size_t engine_peer_pods(struct engine *e, const struct np_policy *pol,
			const struct np_peer *peer, const struct np_pod *const **out)
{
	int err;
	struct pset *ps = index_peer_pset(e, pol, peer);
	*out = NULL;
	/* A peer the engine has not indexed: keep its set too (unreferenced
	 * sets live until the engine is freed, maintained like the others). */
	if (!ps)
		ps = pset_get(e, pol->meta.namespace ? pol->meta.namespace : "default", peer, false, &err);
	if (!ps)
		return 0;
	if (!ps->out_valid) {
		size_t cap = 0;
		const struct np_pod **o = vec_grow(NULL, &cap, ps->n + 1, sizeof(*o));
		if (!o)
			return 0;
		for (size_t i = 0; i < ps->n; i++)
			o[i] = ps->m[i]->pod;
		free(ps->out);
		ps->out = o;
		ps->out_valid = true;
	}
	*out = ps->out;
	return ps->n;
}

/* ---- lifetime ---------------------------------------------------------------------------------------------- */

static void pset_free_v(void *p)
{
	pset_free(p);
}

static void pod_entry_free_v(void *p)
{
	pod_entry_free(p);
}

static void ns_entry_free_v(void *p)
{
	ns_entry_free(p);
}

struct engine *engine_new(const struct np_cluster *cl)
{
	struct engine *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->cl = cl;
	hmap_init(&e->nss, true);
	hmap_init(&e->pods, false);
	hmap_init(&e->pols, false);
	hmap_init(&e->psets, true);
	hmap_init(&e->pod_kv, true);
	hmap_init(&e->pod_k, true);
	hmap_init(&e->ns_kv, true);
	hmap_init(&e->ns_k, true);
	for (size_t i = 0; i < cl->nnamespaces; i++)
		if (engine_namespace_changed(e, cl->namespaces[i]) < 0)
			goto fail;
	for (size_t i = 0; i < cl->npods; i++)
		if (engine_pod_changed(e, cl->pods[i]) < 0)
			goto fail;
	for (size_t i = 0; i < cl->npolicies; i++)
		if (engine_policy_changed(e, cl->policies[i]) < 0)
			goto fail;
	return e;
fail:
	engine_free(e);
	return NULL;
}

void engine_free(struct engine *e)
{
	struct hmap_iter it;
	void *v;
	if (!e)
		return;
	it = HMAP_ITER(&e->pols);
	while (hmap_next(&it, NULL, &v))
		pol_entry_free(e, v);   /* releases sets; the map is cleared below */
	hmap_clear(&e->pols, NULL);
	hmap_clear(&e->psets, pset_free_v);  /* the unreferenced ones */
	hmap_clear(&e->pods, pod_entry_free_v);
	hmap_clear(&e->nss, ns_entry_free_v);
	hmap_clear(&e->pod_kv, list_free);
	hmap_clear(&e->pod_k, list_free);
	hmap_clear(&e->ns_kv, list_free);
	hmap_clear(&e->ns_k, list_free);
	ptrvec_clear(&e->all_ns);
	ptrvec_clear(&e->ns_psets);
	ptrvec_clear(&e->ip_psets);
	free(e->ips);
	free(e->scratch);
	free(e);
}
