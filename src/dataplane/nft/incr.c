/* incr: the incremental compiler. It runs the same compile as
 * nft_compile, but remembers what the last program was made of, so that
 * the expensive part (element and rule texts) is only redone where an
 * input changed:
 *   - a set is shared with the last program when its key and its members
 *     (addresses and ports, compared as numbers, in the order the compile
 *     meets them) are the same: equal members make equal elements;
 *   - a policy chain is shared when its policy is the same object and was
 *     not reported changed (its text depends on the policy alone); the
 *     sets it uses are then looked up again, as a build would;
 *   - an endpoint chain is shared when its pod, direction and isolating
 *     policies (its whole input) are the same.
 * Shared objects are reference counted (nft_set.refs, nft_chain.refs), and
 * nft_delta_compute skips them by pointer. The walk itself (endpoints,
 * selecting policies, peer pods, named ports) is redone every time, so
 * pods, namespaces and endpoints need no reporting at all. Set names come
 * from hashes; should two keys ever hash alike, names depend on order and
 * the compiler falls back to whole compiles for good. */
#include "nft_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct incr_dep {
	bool port;               /* a named port set, else a peer's sets */
	bool egress;
	int rule, peer;          /* peer: indexes in the policy */
	char *key, *comment;     /* peer: its canonical key (NULL: matches nothing) */
	char *name;              /* port: its name, protocol and family */
	enum np_proto proto;
	int family;
};

struct incr_deps {
	struct incr_dep *v;
	size_t n, cap;
};

struct set_memo {
	char *key;
	struct nft_set *s;       /* one reference; NULL when forgotten */
	struct incr_members m;
	unsigned gen;            /* the compile that last used it */
};

struct pchain_memo {
	const struct np_policy *pol;
	struct nft_chain *ch;
	struct incr_deps deps;
	unsigned gen;
};

struct ep_memo {
	char *sig;
	struct nft_chain *ch;
	unsigned gen;
};

struct nft_incr {
	struct smap sets, pchains, epchains;   /* name -> memo (never removed) */
	unsigned gen;
	char *maps_sig;                        /* the verdict maps and what they say */
	struct nft_set *maps[2];
	bool collided;
	struct nft_incr_stats st;
};

/* ---- members and records -------------------------------------------------------- */

int incr_members_push(struct incr_members *m, const struct np_ip *ip, int port)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct incr_member *v = realloc(m->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		m->v = v;
		m->cap = cap;
	}
	struct incr_member *e = &m->v[m->n++];
	memset(e, 0, sizeof(*e));
	e->ip.family = ip->family;
	memcpy(e->ip.addr, ip->addr, ip->family == AF_INET ? 4 : 16);
	e->port = port;
	return 0;
}

static bool members_eq(const struct incr_members *a, const struct incr_members *b)
{
	/* members are zeroed before filling, so bytes compare */
	return a->n == b->n && (a->n == 0 || memcmp(a->v, b->v, a->n * sizeof(*a->v)) == 0);
}

static void deps_free(struct incr_deps *d)
{
	for (size_t i = 0; d && i < d->n; i++) {
		free(d->v[i].name);
		free(d->v[i].key);
		free(d->v[i].comment);
	}
	if (d)
		free(d->v);
}

static struct incr_dep *dep_add(struct cc *c)
{
	struct incr_deps *d = c->rec;
	if (!d && !(d = c->rec = calloc(1, sizeof(*d))))
		return NULL;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct incr_dep *v = realloc(d->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		d->v = v;
		d->cap = cap;
	}
	struct incr_dep *e = &d->v[d->n++];
	memset(e, 0, sizeof(*e));
	return e;
}

void incr_rec_begin(struct cc *c)
{
	deps_free(c->rec);
	free(c->rec);
	c->rec = NULL;
}

int incr_rec_peer(struct cc *c, const struct np_policy *pol, const struct np_peer *p,
		  bool egress, int rule, int peer)
{
	struct incr_dep *d;
	if (!c->memo)
		return 0;
	/* the key again (a build is rare; a reuse then skips it) */
	if (!(d = dep_add(c)) || cc_peer_key(pol, p, &d->key, &d->comment) < 0)
		return -ENOMEM;
	d->egress = egress;
	d->rule = rule;
	d->peer = peer;
	return 0;
}

int incr_rec_port(struct cc *c, const char *name, enum np_proto proto, int family)
{
	struct incr_dep *d;
	if (!c->memo)
		return 0;
	if (!(d = dep_add(c)) || !(d->name = strdup(name)))
		return -ENOMEM;
	d->port = true;
	d->proto = proto;
	d->family = family;
	return 0;
}

void incr_collision(struct cc *c)
{
	if (c->memo)
		c->memo->collided = true;
}

/* ---- memo entries --------------------------------------------------------------------- */

/* The memo of name in m, created empty when new. */
static void *memo_get(struct smap *m, const char *name, size_t size, bool create)
{
	void *v = smap_get(m, name);
	if (v || !create)
		return v;
	if (!(v = calloc(1, size)))
		return NULL;
	if (smap_put(m, name, v) < 0) {
		free(v);
		return NULL;
	}
	return v;
}

static void set_release(struct set_memo *sm)
{
	nft_set_free(sm->s);
	free(sm->key);
	free(sm->m.v);
	memset(sm, 0, sizeof(*sm));
}

static void pchain_release(struct pchain_memo *pm)
{
	nft_chain_free(pm->ch);
	deps_free(&pm->deps);
	memset(pm, 0, sizeof(*pm));
}

static void ep_release(struct ep_memo *em)
{
	nft_chain_free(em->ch);
	free(em->sig);
	memset(em, 0, sizeof(*em));
}

/* Adds a shared set / chain to c's program. */
static int adopt_set(struct cc *c, struct nft_set *s)
{
	s->refs++;
	if (nft_prog_add_set(c->p, s) < 0)
		return -ENOMEM;   /* the reference was dropped */
	return smap_put(&c->sets, s->name, s);
}

static int adopt_chain(struct cc *c, struct nft_chain *ch)
{
	ch->refs++;
	if (nft_prog_add_chain(c->p, ch) < 0)
		return -ENOMEM;
	return smap_put(&c->chains, ch->name, ch);
}

struct nft_set *incr_set_reuse(struct cc *c, const char *name, const char *key,
			       const struct incr_members *m)
{
	struct set_memo *sm = memo_get(&c->memo->sets, name, sizeof(*sm), false);
	if (!sm || !sm->s || strcmp(sm->key, key) != 0 || !members_eq(&sm->m, m) ||
	    adopt_set(c, sm->s) < 0)
		return NULL;
	sm->gen = c->memo->gen;
	c->memo->st.sets_reused++;
	return sm->s;
}

int incr_set_keep(struct cc *c, const char *name, const char *key,
		  const struct incr_members *m, struct nft_set *s)
{
	struct set_memo *sm = memo_get(&c->memo->sets, name, sizeof(*sm), true);
	if (!sm)
		return -ENOMEM;
	set_release(sm);
	c->memo->st.sets_built++;
	if (!(sm->key = strdup(key)) ||
	    (m->n && !(sm->m.v = malloc(m->n * sizeof(*m->v))))) {
		set_release(sm);
		return -ENOMEM;
	}
	if (m->n)
		memcpy(sm->m.v, m->v, m->n * sizeof(*m->v));
	sm->m.n = sm->m.cap = m->n;
	sm->s = s;
	s->refs++;
	sm->gen = c->memo->gen;
	return 0;
}

/* The sets a reused policy chain uses, looked up as its build did. */
static int replay_deps(struct cc *c, const struct np_policy *pol, const struct incr_deps *d)
{
	int err = 0;
	for (size_t i = 0; i < d->n && !err; i++) {
		const struct incr_dep *x = &d->v[i];
		const char *a, *b;
		if (x->port) {
			err = cc_port_set(c, x->name, x->proto, x->family, &a);
			continue;
		}
		const struct np_rule *rules = x->egress ? pol->egress : pol->ingress;
		err = cc_peer_sets_keyed(c, pol, &rules[x->rule].peers[x->peer], x->key, x->comment,
					 &a, &b);
	}
	return err;
}

int incr_pchain_reuse(struct cc *c, const char *name, const struct np_policy *pol)
{
	struct pchain_memo *pm = memo_get(&c->memo->pchains, name, sizeof(*pm), false);
	int err;
	if (!pm || !pm->ch || pm->pol != pol)
		return 0;
	if ((err = adopt_chain(c, pm->ch)) < 0)
		return err;
	pm->gen = c->memo->gen;
	c->memo->st.chains_reused++;
	return (err = replay_deps(c, pol, &pm->deps)) < 0 ? err : 1;
}

int incr_pchain_keep(struct cc *c, const char *name, const struct np_policy *pol,
		     struct nft_chain *ch)
{
	struct pchain_memo *pm = memo_get(&c->memo->pchains, name, sizeof(*pm), true);
	if (!pm)
		return -ENOMEM;
	pchain_release(pm);
	c->memo->st.chains_built++;
	pm->pol = pol;
	pm->ch = ch;
	ch->refs++;
	if (c->rec) {
		pm->deps = *c->rec;
		free(c->rec);
		c->rec = NULL;
	}
	pm->gen = c->memo->gen;
	return 0;
}

struct nft_chain *incr_epchain_reuse(struct cc *c, const char *name, const char *sig)
{
	struct ep_memo *em = memo_get(&c->memo->epchains, name, sizeof(*em), false);
	if (!em || !em->ch || strcmp(em->sig, sig) != 0 || adopt_chain(c, em->ch) < 0)
		return NULL;
	em->gen = c->memo->gen;
	c->memo->st.chains_reused++;
	return em->ch;
}

int incr_epchain_keep(struct cc *c, const char *name, const char *sig, struct nft_chain *ch)
{
	struct ep_memo *em = memo_get(&c->memo->epchains, name, sizeof(*em), true);
	if (!em)
		return -ENOMEM;
	ep_release(em);
	c->memo->st.chains_built++;
	if (!(em->sig = strdup(sig)))
		return -ENOMEM;
	em->ch = ch;
	ch->refs++;
	em->gen = c->memo->gen;
	return 0;
}

int incr_maps_reuse(struct cc *c, const char *sig)
{
	struct nft_incr *x = c->memo;
	if (!x->maps_sig || strcmp(x->maps_sig, sig) != 0)
		return 0;
	for (int i = 0; i < 2; i++) {
		x->maps[i]->refs++;
		if (nft_prog_add_set(c->p, x->maps[i]) < 0)
			return -ENOMEM;
	}
	x->st.sets_reused += 2;
	return 1;
}

static void maps_release(struct nft_incr *x)
{
	free(x->maps_sig);
	nft_set_free(x->maps[0]);
	nft_set_free(x->maps[1]);
	x->maps_sig = NULL;
	x->maps[0] = x->maps[1] = NULL;
}

int incr_maps_keep(struct cc *c, const char *sig, struct nft_set *eg, struct nft_set *in)
{
	struct nft_incr *x = c->memo;
	maps_release(x);
	x->st.sets_built += 2;
	if (!(x->maps_sig = strdup(sig)))
		return -ENOMEM;
	x->maps[0] = eg;
	x->maps[1] = in;
	eg->refs++;
	in->refs++;
	return 0;
}

/* ---- the object ------------------------------------------------------------------------ */

struct nft_incr *nft_incr_new(void)
{
	return calloc(1, sizeof(struct nft_incr));
}

/* Releases what the last compile did not use (all when all is true);
 * with free_too the memo entries themselves go as well. */
static void sweep(struct nft_incr *x, bool all, bool free_too)
{
	for (size_t i = 0; i < x->sets.cap; i++) {
		struct set_memo *sm = x->sets.keys[i] ? x->sets.vals[i] : NULL;
		if (sm && (all || sm->gen != x->gen))
			set_release(sm);
		if (sm && free_too)
			free(sm);
	}
	for (size_t i = 0; i < x->pchains.cap; i++) {
		struct pchain_memo *pm = x->pchains.keys[i] ? x->pchains.vals[i] : NULL;
		if (pm && (all || pm->gen != x->gen))
			pchain_release(pm);
		if (pm && free_too)
			free(pm);
	}
	for (size_t i = 0; i < x->epchains.cap; i++) {
		struct ep_memo *em = x->epchains.keys[i] ? x->epchains.vals[i] : NULL;
		if (em && (all || em->gen != x->gen))
			ep_release(em);
		if (em && free_too)
			free(em);
	}
	if (all)
		maps_release(x);
	if (free_too) {
		smap_clear(&x->sets);
		smap_clear(&x->pchains);
		smap_clear(&x->epchains);
	}
}

void nft_incr_free(struct nft_incr *x)
{
	if (!x)
		return;
	sweep(x, true, true);
	free(x);
}

void nft_incr_forget(struct nft_incr *x)
{
	if (x)
		sweep(x, true, false);
}

void nft_incr_policy_changed(struct nft_incr *x, const char *ns, const char *name)
{
	for (int egress = 0; x && egress < 2; egress++) {
		char *cname = nft_policy_chain_name(ns, name, egress);
		struct pchain_memo *pm = cname ? smap_get(&x->pchains, cname) : NULL;
		if (pm)
			pchain_release(pm);
		else if (!cname)
			nft_incr_forget(x);   /* out of memory: forget all rather than guess */
		free(cname);
	}
}

void nft_incr_get_stats(const struct nft_incr *x, struct nft_incr_stats *out)
{
	*out = x->st;
}

int nft_incr_compile(struct nft_incr *x, struct engine *e, const struct np_cluster *cl,
		     const struct nft_endpoint *eps, size_t neps, const struct nft_opts *opts,
		     struct nft_prog **out, struct diag_list *diags)
{
	struct cc c = {.e = e, .cl = cl, .diags = diags, .memo = x};
	int err;
	memset(&x->st, 0, sizeof(x->st));
	if (x->collided)
		return nft_compile(e, cl, eps, neps, opts, out, diags);
	x->gen++;
	if ((err = nft_compile_cc(&c, eps, neps, opts, out)) < 0) {
		nft_incr_forget(x);   /* half-made memos: start over next time */
		return err;
	}
	if (x->collided) {
		nft_prog_free(*out);
		*out = NULL;
		nft_incr_forget(x);
		return nft_compile(e, cl, eps, neps, opts, out, diags);
	}
	sweep(x, false, false);
	return 0;
}
