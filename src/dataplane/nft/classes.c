/* classes: peers become address classes (classes.h says what is here;
 * DESIGN.md why). For one direction, an address's class is the set of
 * distinct peers matching it (and, for egress, the numbers its named
 * ports resolve to); a class's name is a hash of that content. */
#include "classes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static size_t umap_slot(const struct umap *m, uint64_t k)
{
	size_t i = (size_t)(k * 0x9E3779B97F4A7C15ULL >> 17) & (m->cap - 1);
	while (m->vals[i] && m->keys[i] != k)
		i = (i + 1) & (m->cap - 1);
	return i;
}

void *umap_get(const struct umap *m, uint64_t k)
{
	return m->cap ? m->vals[umap_slot(m, k)] : NULL;
}

int umap_put(struct umap *m, uint64_t k, void *val)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct umap g = {.cap = m->cap ? m->cap * 2 : 64};
		if (!(g.keys = calloc(g.cap, sizeof(*g.keys))) ||
		    !(g.vals = calloc(g.cap, sizeof(*g.vals)))) {
			free(g.keys);
			return -ENOMEM;
		}
		for (size_t i = 0; i < m->cap; i++)
			if (m->vals[i]) {
				size_t j = umap_slot(&g, m->keys[i]);
				g.keys[j] = m->keys[i];
				g.vals[j] = m->vals[i];
			}
		g.n = m->n;
		free(m->keys);
		free(m->vals);
		*m = g;
	}
	size_t i = umap_slot(m, k);
	m->keys[i] = k;
	m->vals[i] = val;
	m->n++;
	return 0;
}

void umap_clear(struct umap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

/* ---- the working state --------------------------------------------------------- */

static void cls_free(struct cls *c)
{
	free(c->pv);
	free(c->rv);
	for (int k = 0; k < NMAPS; k++)
		free(c->recs[k].v);
	free(c);
}

void cdir_free(struct cdir *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->npeers; i++) {
		free(d->peers[i]->key);
		free(d->peers[i]->comment);
		free(d->peers[i]->r);
		free(d->peers[i]->cls);
		free(d->peers[i]);
	}
	free(d->peers);
	smap_clear(&d->peer_by_key);
	for (size_t i = 0; i < d->npolv; i++) {
		for (size_t r = 0; r < d->polv[i]->nrules; r++) {
			free(d->polv[i]->pidx[r]);
			free(d->polv[i]->tg[r]);
		}
		free(d->polv[i]->tg);
		free(d->polv[i]->pidx);
		free(d->polv[i]->any);
		free(d->polv[i]);
	}
	free(d->polv);
	umap_clear(&d->pols);
	free(d->pnames);
	free(d->at);
	free(d->ati);
	free(d->pairs);
	free(d->rpairs);
	for (size_t i = 0; i < d->ncls; i++)
		cls_free(d->cls[i]);
	free(d->cls);
	umap_clear(&d->cls_by_hash);
	free(d->segs);
	for (int k = 0; k < NMAPS; k++)
		free(d->any[k].v);
	free(d);
}

/* ---- peers ---------------------------------------------------------------------------- */

static int peer_add(struct cdir *d, char *key, char *comment, const struct np_policy *pol,
		    const struct np_peer *np)
{
	struct peer *p = smap_get(&d->peer_by_key, key);
	int err;
	if (p) {
		free(key);
		free(comment);
		for (size_t i = 0; i < d->npeers; i++)
			if (d->peers[i] == p)
				return (int)i;
		return -EINVAL;
	}
	if (!(p = calloc(1, sizeof(*p)))) {
		free(key);
		free(comment);
		return -ENOMEM;
	}
	p->key = key;
	p->comment = comment;
	p->h = nft_hash(key);
	p->pol = pol;
	p->np = np;
	if (!np) {
		p->block = true;
	} else if (np->has_ipblock) {
		p->block = true;
		p->family = np->ipblock.cidr.ip.family;
		if ((err = cc_ipblock_ranges(&np->ipblock, &p->r, &p->nr)) < 0)
			goto fail;
	}
	if ((err = PUSH(d->peers, d->npeers, d->peercap, p)) < 0)
		goto fail;
	if (smap_put(&d->peer_by_key, p->key, p) < 0) {
		d->npeers--;
		err = -ENOMEM;
		goto fail;
	}
	return (int)d->npeers - 1;
fail:
	free(p->key);
	free(p->comment);
	free(p->r);
	free(p);
	return err;
}

/* The index of the ANY peer, added on first use. */
static int any_peer(struct cdir *d)
{
	if (d->anyp >= 0)
		return d->anyp;
	char *key = strdup("any|"), *comment = strdup("any address");
	if (!key || !comment) {
		free(key);
		free(comment);
		return -ENOMEM;
	}
	int i = peer_add(d, key, comment, NULL, NULL);
	if (i >= 0)
		d->anyp = i;
	return i;
}

static bool rule_has_named(const struct np_rule *r)
{
	for (size_t i = 0; i < r->nports; i++)
		if (r->ports[i].kind == PORT_NAMED)
			return true;
	return false;
}

static int pname_add(struct cdir *d, const char *name, enum np_proto proto)
{
	for (size_t i = 0; i < d->npnames; i++)
		if (d->pnames[i].proto == proto && strcmp(d->pnames[i].name, name) == 0)
			return 0;
	struct pname pn = {name, proto, mix64(nft_hash(name), (uint64_t)proto + 1)};
	return PUSH(d->pnames, d->npnames, d->pncap, pn);
}

/* The peers of pol in this direction, registered on first use. */
int polinfo_get(struct cdir *d, const struct np_policy *pol, struct polinfo **out)
{
	struct polinfo *pi = umap_get(&d->pols, (uint64_t)(uintptr_t)pol);
	const struct np_rule *rules = d->egress ? pol->egress : pol->ingress;
	size_t n = d->egress ? pol->negress : pol->ningress;
	int err = -ENOMEM;
	if (pi) {
		*out = pi;
		return 0;
	}
	if (!(pi = calloc(1, sizeof(*pi))) || !(pi->pidx = calloc(n + 1, sizeof(*pi->pidx))) ||
	    !(pi->any = calloc(n + 1, sizeof(*pi->any))) ||
	    !(pi->tg = calloc(n + 1, sizeof(*pi->tg)))) {
		if (pi) {
			free(pi->pidx);
			free(pi->any);
		}
		free(pi);
		return -ENOMEM;
	}
	pi->pol = pol;
	pi->nrules = n;
	if (PUSH(d->polv, d->npolv, d->polcap, pi) < 0) {
		free(pi->pidx);
		free(pi->any);
		free(pi->tg);
		free(pi);
		return -ENOMEM;
	}
	if (umap_put(&d->pols, (uint64_t)(uintptr_t)pol, pi) < 0)
		return -ENOMEM;
	for (size_t r = 0; r < n; r++) {
		const struct np_rule *rule = &rules[r];
		pi->any[r] = -1;
		if (!(pi->pidx[r] = calloc(rule->npeers + 1, sizeof(int))) ||
		    !(pi->tg[r] = calloc((rule->npeers + 1) * (rule->nports + 1), sizeof(**pi->tg))))
			return -ENOMEM;
		for (size_t j = 0; j < rule->nports; j++)
			if (d->egress && rule->ports[j].kind == PORT_NAMED &&
			    (err = pname_add(d, rule->ports[j].name, rule->ports[j].proto)) < 0)
				return err;
		if (rule->npeers == 0 && d->egress && rule_has_named(rule)) {
			/* the number depends on the destination: classes tell */
			if ((pi->any[r] = any_peer(d)) < 0)
				return pi->any[r];
		}
		for (size_t j = 0; j < rule->npeers; j++) {
			char *key, *comment;
			if ((err = cc_peer_key(pol, &rule->peers[j], &key, &comment)) < 0)
				return err;
			if (!key) {
				pi->pidx[r][j] = -1;
				continue;
			}
			int idx = peer_add(d, key, comment, pol, &rule->peers[j]);
			if (idx < 0)
				return idx;
			pi->pidx[r][j] = idx;
		}
	}
	*out = pi;
	return 0;
}

/* ---- addresses -------------------------------------------------------------------------- */

static uint64_t ip_hash(const struct np_ip *ip)
{
	uint64_t w[2] = {0, 0};
	memcpy(w, ip->addr, ip->family == AF_INET ? 4 : 16);
	uint64_t h = (w[0] ^ (w[1] * 0xC2B2AE3D27D4EB4FULL) ^ (uint64_t)ip->family) *
		     0x9E3779B97F4A7C15ULL;
	return h ^ (h >> 29);
}

static bool ip_eq(const struct np_ip *a, const struct np_ip *b)
{
	return a->family == b->family &&
	       memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

static int at_grow(struct cdir *d)
{
	size_t cap = d->atcap ? d->atcap * 2 : 1024;
	uint32_t *ati = calloc(cap, sizeof(*ati));
	if (!ati)
		return -ENOMEM;
	for (size_t i = 0; i < d->atn; i++) {
		size_t j = (size_t)ip_hash(&d->at[i].ip) & (cap - 1);
		while (ati[j])
			j = (j + 1) & (cap - 1);
		ati[j] = (uint32_t)i + 1;
	}
	free(d->ati);
	d->ati = ati;
	d->atcap = cap;
	return 0;
}

static struct addr *addr_get(struct cdir *d, const struct np_ip *ip)
{
	if ((d->atn + 1) * 2 > d->atcap && at_grow(d) < 0)
		return NULL;
	size_t j = (size_t)ip_hash(ip) & (d->atcap - 1);
	while (d->ati[j] && !ip_eq(&d->at[d->ati[j] - 1].ip, ip))
		j = (j + 1) & (d->atcap - 1);
	if (d->ati[j])
		return &d->at[d->ati[j] - 1];
	if (d->atn == d->atalloc) {
		size_t n = d->atalloc ? d->atalloc * 2 : 1024;
		struct addr *v = realloc(d->at, n * sizeof(*v));
		if (!v)
			return NULL;
		d->at = v;
		d->atalloc = n;
	}
	struct addr *a = &d->at[d->atn];
	memset(a, 0, sizeof(*a));
	a->ip.family = ip->family;
	memcpy(a->ip.addr, ip->addr, ip->family == AF_INET ? 4 : 16);
	d->ati[j] = (uint32_t)++d->atn;
	return a;
}

/* A well mixed 64-bit value: class hashes are sums of these. */
static uint64_t smix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ULL;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
	return x ^ (x >> 31);
}

static uint64_t res_hash(const struct cdir *d, const struct res *r)
{
	return smix(mix64(d->pnames[r->pname].h, (uint64_t)r->port));
}

static int addr_peer(struct cdir *d, struct addr *a, uint32_t idx)
{
	if (a->last == idx + 1)
		return 0;   /* two pods of one address, one peer */
	struct pair p = {(uint32_t)(a - d->at), idx};
	a->last = idx + 1;
	a->h += smix(d->peers[idx]->h);
	a->n++;
	return PUSH(d->pairs, d->npairs, d->paircap, p);
}

/* Counted in the address's hash by classes(), once duplicates are gone. */
static int addr_res(struct cdir *d, struct addr *a, struct res r)
{
	struct rpair p = {(uint32_t)(a - d->at), r};
	return PUSH(d->rpairs, d->nrpairs, d->rpaircap, p);
}

static int rpair_qcmp(const void *a, const void *b)
{
	const struct rpair *x = a, *y = b;
	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	if (x->r.pname != y->r.pname)
		return x->r.pname < y->r.pname ? -1 : 1;
	return (x->r.port > y->r.port) - (x->r.port < y->r.port);
}

static bool range_has(const struct peer *p, const struct np_ip *ip)
{
	if (!p->np)
		return true;     /* ANY */
	if (ip->family != p->family)
		return false;
	u128 v = cc_ip_value(ip);
	for (size_t i = 0; i < p->nr; i++)
		if (v >= p->r[i].lo && v <= p->r[i].hi)
			return true;
	return false;
}

/* Every address of the cluster's pods with the peers that match it and
 * the numbers of the named ports it declares. */
int cdir_addresses(struct cc *c, struct cdir *d)
{
	int err;
	size_t nblocks = 0;
	/* sized for every pod address at once: no growing on the way */
	while (d->atcap < 2 * (c->cl->npods + 16))
		if ((err = at_grow(d)) < 0)
			return err;
	if (!d->at) {
		d->atalloc = c->cl->npods + 16;
		if (!(d->at = malloc(d->atalloc * sizeof(*d->at))))
			return -ENOMEM;
	}
	for (size_t i = 0; i < d->npeers; i++) {
		struct peer *p = d->peers[i];
		if (p->block) {
			nblocks++;
			continue;
		}
		const struct np_pod *const *pods;
		size_t n = engine_peer_pods(c->e, p->pol, p->np, &pods);
		if (n && !pods)
			return -ENOMEM;
		for (size_t k = 0; k < n; k++)
			for (size_t j = 0; j < pods[k]->nips; j++) {
				struct addr *a = addr_get(d, &pods[k]->ips[j]);
				if (!a || addr_peer(d, a, (uint32_t)i) < 0)
					return -ENOMEM;
				a->by_pod = true;
			}
	}
	for (size_t i = 0; i < d->npnames; i++) {
		const struct cc_named_use *u;
		size_t n;
		if ((err = cc_named_uses(c, d->pnames[i].name, d->pnames[i].proto, &u, &n)) < 0)
			return err;
		for (size_t k = 0; k < n; k++)
			for (size_t j = 0; j < u[k].pod->nips; j++) {
				struct addr *a = addr_get(d, &u[k].pod->ips[j]);
				struct res r = {(uint32_t)i, u[k].port};
				if (!a || addr_res(d, a, r) < 0)
					return -ENOMEM;
				a->by_pod = true;
			}
	}
	if (!nblocks)
		return 0;
	/* blocks match pods by address too: every pod address is tested */
	uint32_t *blocks = malloc(nblocks * sizeof(*blocks));
	size_t nb = 0;
	if (!blocks)
		return -ENOMEM;
	for (size_t i = 0; i < d->npeers; i++)
		if (d->peers[i]->block)
			blocks[nb++] = (uint32_t)i;
	err = 0;
	for (size_t k = 0; k < c->cl->npods && !err; k++) {
		const struct np_pod *pod = c->cl->pods[k];
		for (size_t j = 0; j < pod->nips && !err; j++) {
			struct addr *a = NULL;
			for (size_t b = 0; b < nb && !err; b++) {
				if (!range_has(d->peers[blocks[b]], &pod->ips[j]))
					continue;
				if ((!a && !(a = addr_get(d, &pod->ips[j]))) || addr_peer(d, a, blocks[b]) < 0)
					err = -ENOMEM;
			}
		}
	}
	free(blocks);
	return err;
}

/* ---- classes ------------------------------------------------------------------------- */

static int u32_qcmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static int res_qcmp(const void *a, const void *b)
{
	const struct res *x = a, *y = b;
	if (x->pname != y->pname)
		return x->pname < y->pname ? -1 : 1;
	return (x->port > y->port) - (x->port < y->port);
}


/* The class of hash h (a sum of smix'd membership hashes), made on first
 * sight. Its name comes from the hash, so it does not depend on the order
 * anything was met in. pv (sorted peer indexes) may be given; else the
 * memberships are filled in later from the pairs (cls_fill). */
static struct cls *class_get(struct cdir *d, uint64_t h, const uint32_t *pv, size_t npv)
{
	struct cls *cl = umap_get(&d->cls_by_hash, h);
	if (cl)
		return cl;
	if (!(cl = calloc(1, sizeof(*cl))))
		return NULL;
	cl->h = h;
	snprintf(cl->name, sizeof(cl->name), "%s/c%016llx", dname(d), (unsigned long long)h);
	if ((npv && !(cl->pv = malloc(npv * sizeof(*pv)))) || PUSH(d->cls, d->ncls, d->clscap, cl) < 0) {
		cls_free(cl);
		return NULL;
	}
	if (npv)
		memcpy(cl->pv, pv, npv * sizeof(*pv));
	cl->npv = npv;
	cl->filled = npv > 0;
	if (umap_put(&d->cls_by_hash, h, cl) < 0)
		return NULL;   /* owned by d->cls */
	return cl;
}

static uint64_t pv_hash(const struct cdir *d, const uint32_t *pv, size_t npv)
{
	uint64_t h = 0;
	for (size_t i = 0; i < npv; i++)
		h += smix(d->peers[pv[i]]->h);
	return h;
}

struct event {
	u128 at;
	uint32_t peer;
	int delta;
};

static int event_qcmp(const void *a, const void *b)
{
	const struct event *x = a, *y = b;
	return x->at < y->at ? -1 : x->at > y->at;
}

/* A piece [lo, hi] covered by the peers whose count is not zero. */
static int segment_add(struct cdir *d, int family, u128 lo, u128 hi, const int *count,
		       size_t nact)
{
	uint32_t *pv = malloc((nact + 1) * sizeof(*pv));
	size_t w = 0;
	if (!pv)
		return -ENOMEM;
	for (size_t k = 0; k < d->npeers; k++)
		if (count[k])
			pv[w++] = (uint32_t)k;
	struct seg s = {{lo, hi}, family, class_get(d, pv_hash(d, pv, w), pv, w)};
	free(pv);
	if (!s.cls || PUSH(d->segs, d->nsegs, d->segcap, s) < 0)
		return -ENOMEM;
	return 0;
}

/* The address space outside the pods, cut where blocks start and end:
 * each piece gets the class of the blocks covering it. */
static int segments(struct cdir *d, int family)
{
	u128 top = family == AF_INET ? ((u128)1 << 32) - 1 : ~(u128)0;
	struct event *ev = NULL;
	size_t nev = 0, evcap = 0, nact = 0;
	int *count = calloc(d->npeers + 1, sizeof(*count)), err = -ENOMEM;
	if (!count)
		goto cleanup;
	for (size_t i = 0; i < d->npeers; i++) {
		struct peer *p = d->peers[i];
		if (!p->block || (p->np && p->family != family))
			continue;
		struct nft_range all = {0, top};
		const struct nft_range *r = p->np ? p->r : &all;
		size_t nr = p->np ? p->nr : 1;
		for (size_t k = 0; k < nr; k++) {
			struct event a = {r[k].lo, (uint32_t)i, 1}, b = {r[k].hi + 1, (uint32_t)i, -1};
			if (PUSH(ev, nev, evcap, a) < 0 ||
			    (r[k].hi < top && PUSH(ev, nev, evcap, b) < 0))
				goto cleanup;
		}
	}
	if (nev)
		qsort(ev, nev, sizeof(*ev), event_qcmp);
	u128 prev = 0;
	for (size_t i = 0; i < nev;) {
		u128 at = ev[i].at;
		if (nact && at > prev && (err = segment_add(d, family, prev, at - 1, count, nact)) < 0)
			goto cleanup;
		for (; i < nev && ev[i].at == at; i++) {
			int before = count[ev[i].peer];
			count[ev[i].peer] += ev[i].delta;
			nact += (before == 0 && count[ev[i].peer]) ? 1 : 0;
			nact -= (before && count[ev[i].peer] == 0) ? 1 : 0;
		}
		prev = at;
	}
	if (nact && (err = segment_add(d, family, prev, top, count, nact)) < 0)
		goto cleanup;
	err = 0;
cleanup:
	free(ev);
	free(count);
	return err;
}

int cdir_classes(struct cdir *d)
{
	int err;
	/* named-port numbers: the same one twice (two pods of one address) once */
	if (d->nrpairs > 1)
		qsort(d->rpairs, d->nrpairs, sizeof(*d->rpairs), rpair_qcmp);
	size_t w = 0;
	for (size_t i = 0; i < d->nrpairs; i++) {
		if (w && rpair_qcmp(&d->rpairs[w - 1], &d->rpairs[i]) == 0)
			continue;
		d->rpairs[w++] = d->rpairs[i];
		struct addr *a = &d->at[d->rpairs[i].slot];
		a->h += res_hash(d, &d->rpairs[i].r);
		a->n++;
	}
	d->nrpairs = w;
	for (size_t i = 0; i < d->atn; i++) {
		struct addr *a = &d->at[i];
		if (!a->n)
			continue;
		if (!(a->cls = class_get(d, a->h, NULL, 0)))
			return -ENOMEM;
		if (!a->cls->filled && !a->cls->rep)
			a->cls->rep = (uint32_t)i + 1;
	}
	/* the memberships of new classes, from one address of each */
	for (size_t i = 0; i < d->npairs; i++) {
		struct cls *cl = d->at[d->pairs[i].slot].cls;
		if (cl && !cl->filled && cl->rep == d->pairs[i].slot + 1 &&
		    PUSH(cl->pv, cl->npv, cl->pvcap, d->pairs[i].peer) < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < d->nrpairs; i++) {
		struct cls *cl = d->at[d->rpairs[i].slot].cls;
		if (cl && !cl->filled && cl->rep == d->rpairs[i].slot + 1 &&
		    PUSH(cl->rv, cl->nrv, cl->rvcap, d->rpairs[i].r) < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < d->ncls; i++) {
		struct cls *cl = d->cls[i];
		if (cl->npv > 1)
			qsort(cl->pv, cl->npv, sizeof(*cl->pv), u32_qcmp);
		if (cl->nrv > 1)
			qsort(cl->rv, cl->nrv, sizeof(*cl->rv), res_qcmp);
		cl->filled = true;
	}
	if ((err = segments(d, AF_INET)) < 0 || (err = segments(d, AF_INET6)) < 0)
		return err;
	for (size_t i = 0; i < d->ncls; i++) {
		struct cls *cl = d->cls[i];
		for (size_t k = 0; k < cl->npv; k++) {
			struct peer *p = d->peers[cl->pv[k]];
			if (PUSH(p->cls, p->ncls, p->clscap, cl) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}
