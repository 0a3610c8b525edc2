/* nearmiss: the policies that would have allowed a denied connection but
 * for one selector term, and the selectors that match nothing but would
 * with one term changed (lint NP008).
 *
 * A selector is the AND of its terms (a matchLabels entry or a
 * matchExpressions requirement), so "how far" a selector is from matching
 * some labels is the number of its terms that fail. A policy nearly allows
 * a connection when, for one of its rules, the failing terms of its
 * podSelector (on the pod it protects) plus those of the best peer (on the
 * other end) add up to exactly one, while everything that is not a term
 * (direction, ports, protocol, the peer's namespace, an ipBlock) allows
 * it. The typical mistake this finds: pods labelled app=nginx and a policy
 * selecting run=nginx. Only a failing term that looks like a slip counts
 * (term_is_near), so that a policy meant for other pods is not named. */
#include "policy_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FAR 2   /* two or more terms off, or something other than a term */

/* Whether a and b differ by one edit (a character inserted, removed,
 * replaced, or two neighbours swapped): a typo. */
static bool one_edit_apart(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i = 0;
	if (la < lb)
		return one_edit_apart(b, a);
	if (la - lb > 1)
		return false;
	while (i < lb && a[i] == b[i])
		i++;
	if (la > lb)
		return strcmp(a + i + 1, b + i) == 0;
	if (i == la)
		return false;   /* equal */
	if (strcmp(a + i + 1, b + i + 1) == 0)
		return true;
	return i + 1 < la && a[i] == b[i + 1] && a[i + 1] == b[i] && strcmp(a + i + 2, b + i + 2) == 0;
}

/* Whether labels carry value v under a key other than key, or key with a
 * value one typo away from v (of three characters or more, where a typo
 * is told apart from another name). */
static bool value_nearly_there(const char *key, const char *v, const struct np_labels *labels)
{
	for (size_t i = 0; i < labels->n; i++) {
		const struct np_label *l = &labels->items[i];
		bool same_key = strcmp(l->key, key) == 0;
		if ((!same_key && strcmp(l->value, v) == 0) ||
		    (same_key && strlen(v) >= 3 && one_edit_apart(l->value, v)))
			return true;
	}
	return false;
}

/* Whether the one failing term of sel looks like a slip rather than
 * another intent: the other terms of the selector do match (so a
 * selector of one term needs more evidence), or an In term whose value
 * the labels carry under another key (run=nginx on app=nginx) or with a
 * typo. Without this, every one-term selector would nearly match every
 * pod. */
static bool term_is_near(const struct np_selector *sel, const struct np_requirement *term,
			 const struct np_labels *labels)
{
	if (sel->n >= 2)
		return true;
	for (size_t i = 0; term->op == SEL_IN && i < term->nvalues; i++)
		if (value_nearly_there(term->key, term->values[i], labels))
			return true;
	return false;
}

/* The number of terms of sel that fail on labels (FAR when more than one,
 * or when the one failing is not near, see term_is_near), and the
 * failing one in *term. */
static int terms_failing(const struct np_selector *sel, const struct np_labels *labels,
			 const struct np_requirement **term)
{
	int n = 0;
	for (size_t i = 0; i < sel->n && n < FAR; i++) {
		struct np_selector one = {&sel->reqs[i], 1};
		if (!selector_matches(&one, labels)) {
			*term = &sel->reqs[i];
			n++;
		}
	}
	return n == 1 && !term_is_near(sel, *term, labels) ? FAR : n;
}

static const char *ns_or_default(const char *ns)
{
	return ns ? ns : "default";
}

/* How far peer is from matching ep, filling the miss's selector fields
 * when it is one term off. */
static int peer_distance(struct engine *e, const char *pol_ns, const struct np_peer *peer,
			 const struct np_endpoint *ep, struct np_near_miss *m)
{
	if (peer->has_ipblock)
		return ep->ip.family && ipblock_contains(&peer->ipblock, &ep->ip) ? 0 : FAR;
	if (!ep->pod || (!peer->has_ns_sel && !peer->has_pod_sel))
		return FAR;
	const struct np_requirement *pt = NULL, *nt = NULL;
	int pod_off = peer->has_pod_sel ? terms_failing(&peer->pod_sel, &ep->pod->meta.labels, &pt) : 0;
	int ns_off = 0;
	const struct ns_entry *ns = index_ns(e, ep->pod->meta.namespace);
	if (peer->has_ns_sel)
		ns_off = ns ? terms_failing(&peer->ns_sel, &ns->labels, &nt) : FAR;
	else if (strcmp(ns_or_default(pol_ns), ns_or_default(ep->pod->meta.namespace)) != 0)
		return FAR;     /* another namespace: not a matter of one term */
	if (pod_off + ns_off != 1)
		return pod_off + ns_off;
	m->kind = pod_off ? NP_MISS_PEER_POD_SELECTOR : NP_MISS_PEER_NS_SELECTOR;
	m->selector = pod_off ? &peer->pod_sel : &peer->ns_sel;
	m->term = pod_off ? pt : nt;
	m->pod = ep->pod;
	m->labels = pod_off ? &ep->pod->meta.labels : &ns->labels;
	return 1;
}

static bool rule_port_matches(const struct np_rule *r, struct np_port port, const struct np_pod *dst)
{
	for (size_t i = 0; i < r->nports; i++)
		if (port_spec_matches(&r->ports[i], port, dst))
			return true;
	return r->nports == 0;
}

/* The best peer of rule r for ep: its index in *peer (-1: the rule lists
 * none) and its distance; m filled when it is 1. */
static int rule_distance(struct engine *e, const struct np_policy *pol, const struct np_rule *r,
			 const struct np_endpoint *ep, int *peer, struct np_near_miss *m)
{
	int best = FAR;
	*peer = -1;
	if (r->npeers == 0)
		return 0;
	for (size_t i = 0; i < r->npeers && best > 0; i++) {
		struct np_near_miss cand = *m;
		int d = peer_distance(e, pol->meta.namespace, &r->peers[i], ep, &cand);
		if (d < best) {
			best = d;
			*m = cand;          /* before *peer: it may point into *m */
			*peer = (int)i;
		}
	}
	return best;
}

/* Whether pol nearly allows the connection; fills m. */
static bool policy_near_miss(struct engine *e, const struct np_policy *pol, bool egress,
			     const struct np_endpoint *self, const struct np_endpoint *peer,
			     const struct np_pod *dst, struct np_port port, struct np_near_miss *m)
{
	const struct np_requirement *term = NULL;
	int self_off = terms_failing(&pol->pod_sel, &self->pod->meta.labels, &term);
	const struct np_rule *rules = egress ? pol->egress : pol->ingress;
	size_t n = egress ? pol->negress : pol->ningress;
	if (self_off >= FAR || !(egress ? pol->egress_type : pol->ingress_type))
		return false;
	for (size_t r = 0; r < n; r++) {
		struct np_near_miss cand = {.policy = pol, .egress = egress, .rule = (int)r};
		if (!rule_port_matches(&rules[r], port, dst))
			continue;
		int d = rule_distance(e, pol, &rules[r], peer, &cand.peer, &cand);
		if (self_off + d == 0)
			return false;     /* it allows: no near miss, a hit */
		if (self_off + d != 1)
			continue;
		if (self_off) {
			cand.kind = NP_MISS_POD_SELECTOR;
			cand.selector = &pol->pod_sel;
			cand.term = term;
			cand.pod = self->pod;
			cand.labels = &self->pod->meta.labels;
		}
		*m = cand;
		return true;
	}
	return false;
}

static int pod_name_cmp(const void *a, const void *b)
{
	const struct np_pod *const *x = a, *const *y = b;
	return strcmp((*x)->meta.name, (*y)->meta.name);
}

static int policy_name_cmp(const void *a, const void *b)
{
	const struct np_near_miss *x = a, *y = b;
	return strcmp(x->policy->meta.name, y->policy->meta.name);
}

int engine_near_misses(struct engine *e, bool egress, const struct np_endpoint *src,
		       const struct np_endpoint *dst, struct np_port port,
		       struct np_near_miss **out, size_t *n)
{
	const struct np_endpoint *self = egress ? src : dst, *peer = egress ? dst : src;
	const struct ns_entry *ns = self->pod ? index_ns(e, self->pod->meta.namespace) : NULL;
	*out = NULL;
	*n = 0;
	if (!ns)
		return 0;    /* outside the cluster: no policy of its own */
	struct np_near_miss *v = calloc(ns->policies.n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < ns->policies.n; i++) {
		const struct pol_entry *pe = ns->policies.v[i];
		*n += policy_near_miss(e, pe->pol, egress, self, peer, dst->pod, port, &v[*n]);
	}
	qsort(v, *n, sizeof(*v), policy_name_cmp);
	*out = v;
	return 0;
}

/* ---- selectors that nearly match (lint NP008) ------------------------------------------- */

/* The labels of element i of a list of pod or namespace entries. */
typedef const struct np_labels *(*labels_of_fn)(void *entry);

static const struct np_labels *pod_entry_labels(void *entry)
{
	return &((struct pod_entry *)entry)->pod->meta.labels;
}

static const struct np_labels *ns_entry_labels(void *entry)
{
	return &((struct ns_entry *)entry)->labels;
}

/* The term of sel that most entries miss alone (NULL: none), and those
 * entries into v (room for list->n). */
static const struct np_requirement *near_entries(const struct np_selector *sel,
						 const struct ptrvec *list, labels_of_fn labels,
						 void **v, size_t *n)
{
	const struct np_requirement *best_term = NULL, *t;
	size_t best = 0;
	for (size_t i = 0; i < sel->n; i++) {
		size_t k = 0;
		for (size_t j = 0; j < list->n; j++)
			k += terms_failing(sel, labels(list->v[j]), &t) == 1 && t == &sel->reqs[i];
		if (k > best) {
			best = k;
			best_term = &sel->reqs[i];
		}
	}
	*n = 0;
	for (size_t j = 0; best_term && j < list->n; j++)
		if (terms_failing(sel, labels(list->v[j]), &t) == 1 && t == best_term)
			v[(*n)++] = list->v[j];
	return best_term;
}

int engine_selector_near_pods(struct engine *e, const struct np_selector *sel, const char *ns_name,
			      const struct np_requirement **term, const struct np_pod ***pods,
			      size_t *n)
{
	const struct ns_entry *ns = index_ns(e, ns_name);
	*term = NULL;
	*pods = NULL;
	*n = 0;
	if (!ns)
		return 0;
	void **v = calloc(ns->pods.n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	*term = near_entries(sel, &ns->pods, pod_entry_labels, v, n);
	for (size_t i = 0; i < *n; i++)
		v[i] = (void *)((struct pod_entry *)v[i])->pod;
	qsort(v, *n, sizeof(*v), pod_name_cmp);
	*pods = (const struct np_pod **)v;
	return 0;
}

static int ns_entry_cmp(const void *a, const void *b)
{
	const struct ns_entry *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

int engine_selector_near_namespaces(struct engine *e, const struct np_selector *sel,
				    const struct np_requirement **term, const char ***names,
				    const struct np_labels **labels, size_t *n)
{
	void **v = calloc(e->all_ns.n + 1, sizeof(*v));
	*term = NULL;
	*names = NULL;
	*labels = NULL;
	*n = 0;
	if (!v)
		return -ENOMEM;
	*term = near_entries(sel, &e->all_ns, ns_entry_labels, v, n);
	qsort(v, *n, sizeof(*v), ns_entry_cmp);
	if (*n)
		*labels = &((struct ns_entry *)v[0])->labels;
	for (size_t i = 0; i < *n; i++)
		v[i] = ((struct ns_entry *)v[i])->name;
	*names = (const char **)v;
	return 0;
}
