/* compile: the policies that apply to the pods of this node, as a program
 * whose packet path costs the same whatever the number of pods, policies
 * or rules (DESIGN.md says why it looks this way).
 *
 * Peers become address classes: for one direction, every address (a pod's,
 * or a range outside the pods) is put in the class of the peers that match
 * it (and, for egress, of the numbers its named ports resolve to). Two
 * addresses of one class are treated alike by every rule, so a rule allows
 * a class, not addresses. A packet then costs:
 *   the dispatch (verdict map by interface: isolated or not),
 *   its peer's class (one lookup: pod addresses exact, then ranges),
 *   the class's allows for this endpoint (lookups keyed by interface,
 *   protocol and port; a port range; interface and protocol; interface),
 *   the allows of rules without peers (the same, for any address),
 *   else the drop, counted on the pod's element of in-iso,
 * and an allow goes to a chain of its own, one per policy rule x peer x
 * port, with the counter and comment that attribute it. Names derive from
 * what they stand for (interface, policy, class content), never from an
 * order, so a change renames nothing else and the delta stays small. */
#include "classes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define BASE_HOOK "type filter hook forward priority filter; policy accept;"
#define INGRESS_STAGE "pod-ingress"
#define IFNAME_MAX 15


/* ---- names --------------------------------------------------------------------- */

static const char *ns_or_default(const char *ns)
{
	return ns ? ns : "default";
}

static char *policy_id(const struct np_policy *pol)
{
	char *s;
	if (asprintf(&s, "%s/%s", ns_or_default(pol->meta.namespace), pol->meta.name) < 0)
		return NULL;
	return s;
}

static char *pod_id(const struct np_pod *pod)
{
	char *s;
	if (asprintf(&s, "%s/%s", ns_or_default(pod->meta.namespace), pod->meta.name) < 0)
		return NULL;
	return s;
}

char *nft_rule_chain_name(const char *ns, const char *name, bool egress, int rule, int peer,
			  int port)
{
	char p[16], q[16], *id, *s = NULL;
	if (asprintf(&id, "%s/%s", ns_or_default(ns), name) < 0)
		return NULL;
	if (peer < 0)
		snprintf(p, sizeof(p), "any");
	else
		snprintf(p, sizeof(p), "%d", peer);
	if (port < 0)
		snprintf(q, sizeof(q), "any");
	else
		snprintf(q, sizeof(q), "%d", port);
	int rc = strlen(id) <= 200
			 ? asprintf(&s, "%s/%s/r%d/p%s/q%s", egress ? "eg" : "in", id, rule, p, q)
			 : asprintf(&s, "%s/h%016llx/r%d/p%s/q%s", egress ? "eg" : "in",
				    (unsigned long long)nft_hash(id), rule, p, q);
	free(id);
	return rc < 0 ? NULL : s;
}

static bool ifname_valid(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > max)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
			return false;
	return true;
}

/* ---- allow chains ---------------------------------------------------------------------- */

/* "ns/name ingress[0] from[1] ports[0]": the policy's id gives way to its
 * hash when the whole would be longer than nft allows. */
static char *allow_comment(const struct np_policy *pol, bool egress, int rule, int peer,
			   int port)
{
	struct sb b = {0};
	char *id = policy_id(pol);
	if (!id)
		return NULL;
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 0)
			sb_add(&b, id);
		else
			sb_addf(&b, "#%016llx", (unsigned long long)nft_hash(id));
		sb_addf(&b, " %s[%d]", egress ? "egress" : "ingress", rule);
		if (peer >= 0)
			sb_addf(&b, " %s[%d]", egress ? "to" : "from", peer);
		if (port >= 0)
			sb_addf(&b, " ports[%d]", port);
		if (b.oom || b.len <= NFT_COMMENT_MAX || pass == 1)
			break;
		sb_clear(&b);
	}
	free(id);
	return sb_take(&b);
}

/* The chain of one allow, made on first use: its name (owned by the
 * chain) and the name's hash. */
static int allow_chain(struct cc *c, const struct cdir *d, const struct np_policy *pol, int rule,
		       int peer, int port, const char **name, uint64_t *h)
{
	char *cname = nft_rule_chain_name(pol->meta.namespace, pol->meta.name, d->egress, rule,
					  peer, port);
	char *comment = NULL, *cm = NULL, *text = NULL;
	struct nft_chain *ch;
	struct nft_rule *r;
	int err = -ENOMEM;
	if (!cname)
		return -ENOMEM;
	if ((ch = smap_get(&c->chains, cname)) ||
	    (c->memo && (ch = incr_chain_reuse(c, cname, "", 0)))) {
		*name = ch->name;
		*h = nft_hash(ch->name);
		free(cname);
		return 0;
	}
	if (!(comment = allow_comment(pol, d->egress, rule, peer, port)) ||
	    !(cm = nft_comment(comment)) ||
	    asprintf(&text, "counter %s comment \"%s\"",
		     d->egress ? "goto " INGRESS_STAGE : "accept", cm) < 0) {
		text = NULL;
		goto cleanup;
	}
	if (!(ch = nft_chain_new(cname, NULL, NULL)))
		goto cleanup;
	if ((err = nft_prog_add_chain(c->p, ch)) < 0)
		goto cleanup;
	err = -ENOMEM;
	if (smap_put(&c->chains, ch->name, ch) < 0)
		goto cleanup;
	if (!(r = nft_chain_add(ch, text))) {
		text = NULL;
		goto cleanup;
	}
	text = NULL;
	r->role = NFT_ROLE_ALLOW;
	r->egress = d->egress;
	r->rule = rule;
	r->peer = peer;
	if (!(r->policies = calloc(1, sizeof(*r->policies))) ||
	    !(r->policies[0] = policy_id(pol)))
		goto cleanup;
	r->npolicies = 1;
	if (port >= 0) {
		if (!(r->ports = malloc(sizeof(*r->ports))))
			goto cleanup;
		r->ports[0] = port;
		r->nports = 1;
	}
	if (c->memo && (err = incr_chain_keep(c, ch->name, "", 0, ch)) < 0)
		goto cleanup;
	*name = ch->name;
	*h = nft_hash(ch->name);
	err = 0;
cleanup:
	free(cname);
	free(comment);
	free(cm);
	free(text);
	return err;
}

/* The allow chain of (rule, peer, port) of pol, through the policy's cache. */
static int target_of(struct cc *c, struct cdir *d, const struct np_policy *pol, int rule,
		     int peer, int port, struct target *t)
{
	struct polinfo *pi;
	int err = polinfo_get(d, pol, &pi);
	if (err < 0)
		return err;
	const struct np_rule *r = &(d->egress ? pol->egress : pol->ingress)[rule];
	struct target *slot = &pi->tg[rule][(size_t)(peer + 1) * (r->nports + 1) + (size_t)(port + 1)];
	if (!slot->name && (err = allow_chain(c, d, pol, rule, peer, port, &slot->name, &slot->h)) < 0)
		return err;
	*t = *slot;
	return 0;
}

/* ---- what one endpoint allows of one class --------------------------------------------- */

struct ival {
	int lo, hi;
	struct target t;
};

/* The protocol x port space of one endpoint and class, filled in the
 * order the engine looks at rules: the first allow of a point keeps it.
 * Points are kept where a lookup finds them first: single ports and
 * ranges (interval . protocol . port), whole protocols (. protocol), any
 * protocol (alone); what an earlier, wider allow covers is left out. */
struct space {
	struct target any;
	struct target proto[NP_NPROTO];
	struct ival *iv[NP_NPROTO];
	size_t niv[NP_NPROTO], ivcap[NP_NPROTO];
};

static void space_reset(struct space *s)
{
	s->any.name = NULL;
	for (int p = 0; p < NP_NPROTO; p++) {
		s->proto[p].name = NULL;
		s->niv[p] = 0;
	}
}

static void space_free(struct space *s)
{
	for (int p = 0; p < NP_NPROTO; p++)
		free(s->iv[p]);
}

/* Whether some of [lo, hi] of proto is not held yet. */
static bool space_has_gap(const struct space *s, enum np_proto p, int lo, int hi)
{
	if (s->any.name || s->proto[p].name)
		return false;
	int cur = lo;
	for (size_t i = 0; i < s->niv[p] && cur <= hi; i++) {
		if (s->iv[p][i].hi < cur)
			continue;
		if (s->iv[p][i].lo > cur)
			return true;
		cur = s->iv[p][i].hi + 1;
	}
	return cur <= hi;
}

/* Adds [lo, hi] of proto where nothing holds it yet. */
static int space_ports(struct space *s, enum np_proto p, int lo, int hi, struct target t)
{
	if (s->any.name || s->proto[p].name)
		return 0;
	int cur = lo;
	size_t n = s->niv[p];
	/* intervals are kept sorted and disjoint; fill the gaps of [lo, hi] */
	for (size_t i = 0; i <= n && cur <= hi; i++) {
		int next_lo = i < n ? s->iv[p][i].lo : 65536;
		int next_hi = i < n ? s->iv[p][i].hi : 65536;
		if (next_hi < cur)
			continue;
		if (cur < next_lo) {
			int end = hi < next_lo - 1 ? hi : next_lo - 1;
			struct ival v = {cur, end, t};
			if (PUSH(s->iv[p], s->niv[p], s->ivcap[p], v) < 0)
				return -ENOMEM;
		}
		cur = next_hi + 1;
	}
	/* sort the new ones in */
	for (size_t i = n; i < s->niv[p]; i++)
		for (size_t k = i; k > 0 && s->iv[p][k - 1].lo > s->iv[p][k].lo; k--) {
			struct ival x = s->iv[p][k];
			s->iv[p][k] = s->iv[p][k - 1];
			s->iv[p][k - 1] = x;
		}
	return 0;
}

static int rec_push(struct recs *r, const char *ifname, uint64_t ifh, uint8_t kind, uint8_t proto,
		    int lo, int hi, struct target t)
{
	struct rec x = {ifname, t.name, ifh, t.h, kind, proto, (uint16_t)lo, (uint16_t)hi};
	return PUSH(r->v, r->n, r->cap, x);
}

static const uint8_t proto_num[NP_NPROTO] = {6, 17, 132};

/* The space's points as records of maps[NMAPS]. Neighbouring intervals with
 * one target are merged. */
static int space_emit(const struct space *s, struct recs *maps, const char *ifname, uint64_t ifh)
{
	/* protocols in the order their names sort: elements come out in order */
	static const enum np_proto by_name[NP_NPROTO] = {NP_SCTP, NP_TCP, NP_UDP};
	int err = 0;
	for (int pi = 0; pi < NP_NPROTO && !err; pi++) {
		enum np_proto p = by_name[pi];
		for (size_t i = 0; i < s->niv[p] && !err; i++) {
			size_t k = i;
			while (k + 1 < s->niv[p] && s->iv[p][k + 1].lo == s->iv[p][k].hi + 1 &&
			       s->iv[p][k + 1].t.name == s->iv[p][i].t.name)
				k++;
			bool range = s->iv[p][k].hi > s->iv[p][i].lo;
			err = rec_push(&maps[range ? MK_RANGE : MK_PORT], ifname, ifh,
				       range ? MK_RANGE : MK_PORT, proto_num[p], s->iv[p][i].lo,
				       s->iv[p][k].hi, s->iv[p][i].t);
			i = k;
		}
		if (!err && s->proto[p].name)
			err = rec_push(&maps[MK_PROTO], ifname, ifh, MK_PROTO, proto_num[p], 0, 0,
				       s->proto[p]);
	}
	if (!err && s->any.name)
		err = rec_push(&maps[MK_ANY], ifname, ifh, MK_ANY, 0, 0, 0, s->any);
	return err;
}

/* One rule's ports into the space. cl: the destination's class (egress),
 * for named ports; pod: the endpoint (ingress). */
static int space_rule(struct cc *c, struct cdir *d, struct space *s,
		      const struct np_policy *pol, int rule, int peer, const struct cls *cl,
		      const struct np_pod *pod)
{
	const struct np_rule *r = &(d->egress ? pol->egress : pol->ingress)[rule];
	struct target t;
	int err;
	if (s->any.name)
		return 0;
	if (r->nports == 0) {
		if ((err = target_of(c, d, pol, rule, peer, -1, &t)) < 0)
			return err;
		s->any = t;
		return 0;
	}
	for (size_t q = 0; q < r->nports; q++) {
		const struct np_port_spec *sp = &r->ports[q];
		enum np_proto p = sp->proto;
		int lo = -1, hi = -1;
		if (s->proto[p].name)
			continue;
		if (sp->kind == PORT_ANY) {
			if ((err = target_of(c, d, pol, rule, peer, (int)q, &t)) < 0)
				return err;
			s->proto[p] = t;
			continue;
		}
		if (sp->kind == PORT_NUMBER) {
			lo = sp->port;
			hi = sp->end_port > sp->port ? sp->end_port : sp->port;
		}
		bool multi = false;
		if (sp->kind == PORT_NAMED && !d->egress) {
			lo = hi = pod_resolve_named_port(pod, sp->name, p);
		} else if (sp->kind == PORT_NAMED) {
			/* every number the class's addresses give the name */
			multi = true;
		}
		if (!multi) {
			if (lo < 0 || !space_has_gap(s, p, lo, hi))
				continue;
			if ((err = target_of(c, d, pol, rule, peer, (int)q, &t)) < 0 ||
			    (err = space_ports(s, p, lo, hi, t)) < 0)
				return err;
			continue;
		}
		bool made = false;
		for (size_t k = 0; cl && k < cl->nrv; k++) {
			const struct pname *pn = &d->pnames[cl->rv[k].pname];
			if (pn->proto != p || strcmp(pn->name, sp->name) != 0 ||
			    !space_has_gap(s, p, cl->rv[k].port, cl->rv[k].port))
				continue;
			if (!made && (err = target_of(c, d, pol, rule, peer, (int)q, &t)) < 0)
				return err;
			made = true;
			if ((err = space_ports(s, p, cl->rv[k].port, cl->rv[k].port, t)) < 0)
				return err;
		}
	}
	return 0;
}

/* ---- endpoints ----------------------------------------------------------------------- */

/* (class, rule order, peer) of one endpoint: which classes its rules
 * allow, first peer of each rule. */
struct hit {
	struct cls *cls;
	uint32_t order;      /* policy * 65536 + rule */
	int peer;
	const struct np_policy *pol;
	int rule;
};

static int hit_qcmp(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	if (x->cls != y->cls)
		return x->cls->h < y->cls->h ? -1 : x->cls->h > y->cls->h ? 1
					  : strcmp(x->cls->name, y->cls->name);
	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return x->peer - y->peer;
}

struct wild {
	uint32_t order;
	const struct np_policy *pol;
	int rule;
};

/* What one isolated endpoint allows in direction d: records in the maps of
 * the classes it allows and in the any-address maps. */
static int endpoint_allows(struct cc *c, struct cdir *d, const struct nft_endpoint *ep,
			   const struct np_policy **iso, size_t niso)
{
	struct hit *hits = NULL;
	struct wild *wild = NULL;
	size_t nhits = 0, hitcap = 0, nwild = 0, wildcap = 0;
	struct space s = {0};
	uint64_t ifh = nft_hash(ep->ifname);
	int err = 0;
	for (size_t i = 0; i < niso && !err; i++) {
		struct polinfo *pi;
		if ((err = polinfo_get(d, iso[i], &pi)) < 0)
			break;
		const struct np_rule *rules = d->egress ? iso[i]->egress : iso[i]->ingress;
		for (size_t r = 0; r < pi->nrules && !err; r++) {
			uint32_t order = (uint32_t)(i << 16 | r);
			if (rules[r].npeers == 0 && pi->any[r] < 0) {
				struct wild w = {order, iso[i], (int)r};
				err = PUSH(wild, nwild, wildcap, w);
				continue;
			}
			size_t np = rules[r].npeers ? rules[r].npeers : 1;
			for (size_t j = 0; j < np && !err; j++) {
				int idx = rules[r].npeers ? pi->pidx[r][j] : pi->any[r];
				if (idx < 0)
					continue;
				struct peer *p = d->peers[idx];
				for (size_t k = 0; k < p->ncls && !err; k++) {
					struct hit h = {p->cls[k], order,
							rules[r].npeers ? (int)j : -1, iso[i], (int)r};
					err = PUSH(hits, nhits, hitcap, h);
				}
			}
		}
	}
	if (err)
		goto cleanup;
	if (nhits)
		qsort(hits, nhits, sizeof(*hits), hit_qcmp);
	for (size_t i = 0; i < nhits && !err;) {
		struct cls *cl = hits[i].cls;
		size_t j = i, w = 0;
		space_reset(&s);
		while (j < nhits && hits[j].cls == cl)
			j++;
		/* the class's rules merged with the rules without peers, in order;
		 * a rule's first peer only */
		for (size_t k = i; (k < j || w < nwild) && !err;) {
			if (k < j && k > i && hits[k].order == hits[k - 1].order) {
				k++;
				continue;
			}
			if (w < nwild && (k >= j || wild[w].order < hits[k].order)) {
				err = space_rule(c, d, &s, wild[w].pol, wild[w].rule, -1, cl, ep->pod);
				w++;
				continue;
			}
			err = space_rule(c, d, &s, hits[k].pol, hits[k].rule, hits[k].peer, cl,
					 ep->pod);
			k++;
		}
		if (!err)
			err = space_emit(&s, cl->recs, ep->ifname, ifh);
		i = j;
	}
	if (!err && nwild) {
		space_reset(&s);
		for (size_t w = 0; w < nwild && !err; w++)
			err = space_rule(c, d, &s, wild[w].pol, wild[w].rule, -1, NULL, ep->pod);
		if (!err)
			err = space_emit(&s, d->any, ep->ifname, ifh);
	}
cleanup:
	space_free(&s);
	free(hits);
	free(wild);
	return err;
}

/* ---- maps ----------------------------------------------------------------------------- */

static const char *const map_suffix[NMAPS] = {"p", "r", "t", "a"};

static const char *map_type(int kind)
{
	return kind == MK_PORT || kind == MK_RANGE ? "ifname . inet_proto . inet_service : verdict"
	       : kind == MK_PROTO		   ? "ifname . inet_proto : verdict"
						   : "ifname : verdict";
}

/* A bounded buffer that texts are put together in by hand: the formatting
 * of elements is most of what a change costs when big maps are rebuilt. */
struct wbuf {
	char b[512];
	size_t n;
};

/* Appends s; false when it does not fit. */
static bool put(struct wbuf *w, const char *s)
{
	size_t n = strlen(s);
	if (w->n + n >= sizeof(w->b))
		return false;
	memcpy(w->b + w->n, s, n);
	w->n += n;
	return true;
}

static bool put_u(struct wbuf *w, unsigned v)
{
	char tmp[12];
	int n = 0;
	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	if (w->n + (size_t)n >= sizeof(w->b))
		return false;
	while (n)
		w->b[w->n++] = tmp[--n];
	return true;
}

/* w's text as a new string (NULL when it overflowed or out of memory). */
static char *wbuf_take(struct wbuf *w, bool ok)
{
	return ok ? strndup(w->b, w->n) : NULL;
}

static char *rec_text(const struct rec *r)
{
	struct wbuf w;
	const char *proto = r->proto == 6 ? "tcp" : r->proto == 17 ? "udp" : "sctp";
	w.n = 0;
	bool ok = put(&w, "\"") && put(&w, r->ifname) && put(&w, "\"");
	if (ok && r->kind != MK_ANY)
		ok = put(&w, " . ") && put(&w, proto);
	if (ok && (r->kind == MK_PORT || r->kind == MK_RANGE)) {
		ok = put(&w, " . ") && put_u(&w, r->lo);
		if (ok && r->hi > r->lo)
			ok = put(&w, "-") && put_u(&w, r->hi);
	}
	ok = ok && put(&w, " : goto ") && put(&w, r->target);
	return wbuf_take(&w, ok);
}

/* A map of records, shared with the last program when they are the same. */
static int recs_map(struct cc *c, const char *name, int kind, const char *comment,
		    const struct recs *r)
{
	struct sb *sig = &c->sig;
	struct nft_set *s;
	int err;
	sig->len = 0;
	for (size_t i = 0; i < r->n; i++) {
		struct {
			uint64_t ifh, th;
			uint16_t lo, hi;
			uint8_t proto, kind;
		} x;
		memset(&x, 0, sizeof(x));
		x.ifh = r->v[i].ifh;
		x.th = r->v[i].th;
		x.lo = r->v[i].lo;
		x.hi = r->v[i].hi;
		x.proto = r->v[i].proto;
		x.kind = r->v[i].kind;
		sb_addn(sig, (const char *)&x, sizeof(x));
	}
	if (sig->oom)
		return -ENOMEM;
	if (c->memo && incr_set_reuse(c, name, sig->s ? sig->s : "", sig->len))
		return 0;
	if (!(s = nft_set_new(name, true, map_type(kind), kind == MK_RANGE ? "interval" : NULL,
			      comment)))
		return -ENOMEM;
	if ((err = nft_prog_add_set(c->p, s)) < 0)
		return err;
	for (size_t i = 0; i < r->n; i++)
		if ((err = nft_set_add_elem(s, rec_text(&r->v[i]))) < 0)
			return err;
	nft_set_finish(s);
	return c->memo ? incr_set_keep(c, name, sig->s ? sig->s : "", sig->len, s) : 0;
}

static int add_rule(struct nft_chain *ch, const char *text, enum nft_role role,
		    struct nft_rule **out)
{
	char *t = strdup(text);
	struct nft_rule *r = nft_chain_add(ch, t);
	if (!r)
		return -ENOMEM;
	r->role = role;
	if (out)
		*out = r;
	return 0;
}

/* "in/cHEX": the class's three lookups. */
static char *class_comment(const struct cdir *d, const struct cls *cl)
{
	struct sb b = {0};
	sb_add(&b, "addresses of");
	for (size_t i = 0; i < cl->npv; i++) {
		if (b.len > NFT_COMMENT_MAX)
			break;
		sb_addf(&b, "%s %s", i ? ";" : "", d->peers[cl->pv[i]]->comment);
	}
	for (size_t i = 0; i < cl->nrv; i++) {
		if (b.len > NFT_COMMENT_MAX)
			break;
		sb_addf(&b, "%s %s/%s=%d", i || cl->npv ? ";" : "", d->pnames[cl->rv[i].pname].name,
			proto_name(d->pnames[cl->rv[i].pname].proto), cl->rv[i].port);
	}
	return sb_take(&b);
}

/* The lookups of a class chain or of in/any: one per map that has
 * elements (an empty map is not looked up: fewer steps per packet). */
static int lookup_rules(struct nft_chain *ch, const char *key, char mname[NMAPS][48],
			const struct recs *recs)
{
	static const char *const fmt[NMAPS] = {"%s . meta l4proto . th dport vmap @%s",
					       "%s . meta l4proto . th dport vmap @%s",
					       "%s . meta l4proto vmap @%s", "%s vmap @%s"};
	char text[200];
	int err = 0;
	for (int k = 0; k < NMAPS && !err; k++) {
		if (!recs[k].n)
			continue;
		snprintf(text, sizeof(text), fmt[k], key, mname[k]);
		err = add_rule(ch, text, NFT_ROLE_INFRA, NULL);
	}
	return err;
}

static int class_objects(struct cc *c, struct cdir *d, struct cls *cl)
{
	const char *key = d->egress ? "iifname" : "oifname";
	char mname[NMAPS][48], *comment;
	struct nft_chain *ch;
	struct sb sig = {0};
	int err = 0;
	for (int k = 0; k < NMAPS; k++)
		snprintf(mname[k], sizeof(mname[k]), "%s-c%016llx-%s", dname(d),
			 (unsigned long long)cl->h, map_suffix[k]);
	if (!(comment = class_comment(d, cl)))
		return -ENOMEM;
	for (int k = 0; k < NMAPS && !err; k++)
		err = recs_map(c, mname[k], k, NULL, &cl->recs[k]);
	sb_add(&sig, comment);
	for (int k = 0; k < NMAPS; k++)
		sb_add(&sig, cl->recs[k].n ? "+" : "-");
	if (sig.oom)
		err = -ENOMEM;
	if (err || (c->memo && incr_chain_reuse(c, cl->name, sig.s, sig.len)))
		goto cleanup;
	err = -ENOMEM;
	if (!(ch = nft_chain_new(cl->name, NULL, comment)))
		goto cleanup;
	if ((err = nft_prog_add_chain(c->p, ch)) < 0)
		goto cleanup;
	if ((err = smap_put(&c->chains, ch->name, ch)) < 0)
		goto cleanup;
	if ((err = lookup_rules(ch, key, mname, cl->recs)) < 0)
		goto cleanup;
	err = c->memo ? incr_chain_keep(c, ch->name, sig.s, sig.len, ch) : 0;
cleanup:
	sb_clear(&sig);
	free(comment);
	return err;
}

static bool cls_used(const struct cls *cl)
{
	return cl && (cl->recs[MK_PORT].n || cl->recs[MK_RANGE].n || cl->recs[MK_PROTO].n ||
		      cl->recs[MK_ANY].n);
}

struct pelem {
	u128 v;
	const struct cls *cls;
};

static int pelem_qcmp(const void *a, const void *b)
{
	const struct pelem *x = a, *y = b;
	return x->v < y->v ? -1 : x->v > y->v;
}

/* in-pod4 / in-pod6: addresses of pods that a selector or a named port
 * puts in a class of their own, exact. */
static int pod_map(struct cc *c, struct cdir *d, int family)
{
	struct pelem *v = calloc(d->atn + 1, sizeof(*v));
	size_t n = 0;
	struct sb *sig = &c->sig;
	char name[32];
	int err = -ENOMEM;
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < d->atn; i++) {
		const struct addr *a = &d->at[i];
		if (a->by_pod && a->ip.family == family && cls_used(a->cls))
			v[n++] = (struct pelem){cc_ip_value(&a->ip), a->cls};
	}
	if (family == AF_INET && n > 64) {
		/* addresses of 32 bits: two passes of 16 bits */
		struct pelem *tmp = malloc(n * sizeof(*tmp)), *a = v, *b = tmp;
		if (!tmp)
			goto cleanup;
		for (int shift = 0; shift < 32; shift += 16) {
			size_t *count = calloc(65537, sizeof(*count));
			if (!count) {
				free(tmp);
				goto cleanup;
			}
			for (size_t i = 0; i < n; i++)
				count[((uint32_t)a[i].v >> shift & 0xffff) + 1]++;
			for (size_t i = 1; i <= 65536; i++)
				count[i] += count[i - 1];
			for (size_t i = 0; i < n; i++)
				b[count[(uint32_t)a[i].v >> shift & 0xffff]++] = a[i];
			free(count);
			struct pelem *t = a;
			a = b;
			b = t;
		}
		free(tmp);   /* two passes: the result is back in v */
	} else if (n) {
		qsort(v, n, sizeof(*v), pelem_qcmp);
	}
	sig->len = 0;
	for (size_t i = 0; i < n; i++) {
		sb_addn(sig, (const char *)&v[i].v, sizeof(v[i].v));
		sb_addn(sig, (const char *)&v[i].cls->h, sizeof(v[i].cls->h));
	}
	snprintf(name, sizeof(name), "%s-pod%d", dname(d), family == AF_INET ? 4 : 6);
	if (sig->oom)
		goto cleanup;
	if (c->memo && incr_set_reuse(c, name, sig->s ? sig->s : "", sig->len)) {
		err = 0;
		goto cleanup;
	}
	/* the last map's elements, where address and class are the same */
	const void *lsig = NULL;
	size_t llen = 0, at = 0;
	const struct nft_set *last = family == AF_INET ? incr_set_last(c, name, &lsig, &llen) : NULL;
	const size_t rec = sizeof(v[0].v) + sizeof(v[0].cls->h);
	if (last && (!last->in_order || llen / rec != last->nelems))
		last = NULL;
	struct nft_set *s = nft_set_new(name, true,
					family == AF_INET ? "ipv4_addr : verdict" : "ipv6_addr : verdict",
					NULL, NULL);
	if (!s || (err = nft_prog_add_set(c->p, s)) < 0)
		goto cleanup;
	err = -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char buf[64], *e = NULL;
		while (last && at < last->nelems) {
			u128 lv;
			uint64_t lh;
			memcpy(&lv, (const char *)lsig + at * rec, sizeof(lv));
			memcpy(&lh, (const char *)lsig + at * rec + sizeof(lv), sizeof(lh));
			if (lv < v[i].v) {
				at++;
				continue;
			}
			if (lv == v[i].v && lh == v[i].cls->h && !(e = strdup(last->elems[at])))
				goto cleanup;
			break;
		}
		if (!e) {
			if (family == AF_INET) {
				cc_v4_text((uint32_t)v[i].v, buf);
			} else {
				char *t = cc_range_text((struct nft_range){v[i].v, v[i].v}, AF_INET6);
				if (!t)
					goto cleanup;
				snprintf(buf, sizeof(buf), "%s", t);
				free(t);
			}
			struct wbuf w;
			w.n = 0;
			if (!(e = wbuf_take(&w, put(&w, buf) && put(&w, " : goto ") &&
						    put(&w, v[i].cls->name))))
				goto cleanup;
		}
		if ((err = nft_set_add_elem(s, e)) < 0)
			goto cleanup;
		err = -ENOMEM;
	}
	nft_set_finish(s);
	err = c->memo ? incr_set_keep(c, name, sig->s ? sig->s : "", sig->len, s) : 0;
cleanup:
	free(v);
	return err;
}

/* in-cidr4 / in-cidr6: the other addresses that blocks cover. */
static int cidr_map(struct cc *c, struct cdir *d, int family)
{
	struct sb *sig = &c->sig;
	char name[32];
	int err;
	struct nft_set *s;
	snprintf(name, sizeof(name), "%s-cidr%d", dname(d), family == AF_INET ? 4 : 6);
	sig->len = 0;
	for (size_t i = 0; i < d->nsegs; i++) {
		const struct seg *g = &d->segs[i];
		if (g->family != family || !cls_used(g->cls))
			continue;
		sb_addn(sig, (const char *)&g->r, sizeof(g->r));
		sb_addn(sig, (const char *)&g->cls->h, sizeof(g->cls->h));
	}
	if (sig->oom)
		return -ENOMEM;
	if (c->memo && incr_set_reuse(c, name, sig->s ? sig->s : "", sig->len))
		return 0;
	if (!(s = nft_set_new(name, true,
			      family == AF_INET ? "ipv4_addr : verdict" : "ipv6_addr : verdict",
			      "interval", NULL)))
		return -ENOMEM;
	if ((err = nft_prog_add_set(c->p, s)) < 0)
		return err;
	for (size_t i = 0; i < d->nsegs; i++) {
		const struct seg *g = &d->segs[i];
		if (g->family != family || !cls_used(g->cls))
			continue;
		/* neighbours of one class merge (nft would list them merged) */
		struct nft_range r = g->r;
		while (i + 1 < d->nsegs && d->segs[i + 1].family == family &&
		       d->segs[i + 1].cls == g->cls && d->segs[i + 1].r.lo == r.hi + 1)
			r.hi = d->segs[++i].r.hi;
		char *t = cc_range_text(r, family), *e;
		if (!t)
			return -ENOMEM;
		int rc = asprintf(&e, "%s : goto %s", t, g->cls->name);
		free(t);
		if (rc < 0 || (err = nft_set_add_elem(s, e)) < 0)
			return -ENOMEM;
	}
	nft_set_finish(s);
	return c->memo ? incr_set_keep(c, name, sig->s ? sig->s : "", sig->len, s) : 0;
}

/* in/any: the allows of rules without peers, shared by every endpoint
 * chain (one chain for the kernel to check, not one per endpoint). */
static int any_chain(struct cc *c, const struct cdir *d)
{
	const char *key = d->egress ? "iifname" : "oifname";
	char name[32], mname[NMAPS][48], sig[NMAPS + 1];
	struct nft_chain *ch;
	int err;
	snprintf(name, sizeof(name), "%s/any", dname(d));
	for (int k = 0; k < NMAPS; k++) {
		snprintf(mname[k], sizeof(mname[k]), "%s-any-%s", dname(d), map_suffix[k]);
		sig[k] = d->any[k].n ? '+' : '-';
	}
	sig[NMAPS] = '\0';
	if (c->memo && incr_chain_reuse(c, name, sig, strlen(sig)))
		return 0;
	if (!(ch = nft_chain_new(name, NULL, "the allows of rules without peers")))
		return -ENOMEM;
	if ((err = nft_prog_add_chain(c->p, ch)) < 0 || (err = smap_put(&c->chains, ch->name, ch)) < 0)
		return err;
	if ((err = lookup_rules(ch, key, mname, d->any)) < 0)
		return err;
	return c->memo ? incr_chain_keep(c, ch->name, sig, strlen(sig), ch) : 0;
}

/* in/classify: the peer's class. */
static int classify_chain(struct cc *c, const struct cdir *d)
{
	const char *dir = d->egress ? "daddr" : "saddr";
	char name[32], text[160];
	struct nft_chain *ch;
	int err;
	snprintf(name, sizeof(name), "%s/classify", dname(d));
	if (c->memo && incr_chain_reuse(c, name, dir, strlen(dir)))
		return 0;
	if (!(ch = nft_chain_new(name, NULL, d->egress ? "the destination's class"
						       : "the source's class")))
		return -ENOMEM;
	if ((err = nft_prog_add_chain(c->p, ch)) < 0 || (err = smap_put(&c->chains, ch->name, ch)) < 0)
		return err;
	for (int f = 0; f < 2; f++) {
		const char *fam = f ? "ip6" : "ip";
		snprintf(text, sizeof(text), "%s %s vmap @%s-pod%d", fam, dir, dname(d), f ? 6 : 4);
		if ((err = add_rule(ch, text, NFT_ROLE_INFRA, NULL)) < 0)
			return err;
		snprintf(text, sizeof(text), "%s %s vmap @%s-cidr%d", fam, dir, dname(d), f ? 6 : 4);
		if ((err = add_rule(ch, text, NFT_ROLE_INFRA, NULL)) < 0)
			return err;
	}
	return c->memo ? incr_chain_keep(c, ch->name, dir, strlen(dir), ch) : 0;
}

/* ---- endpoint chains --------------------------------------------------------------- */

/* "ns/pod ingress isolated by a, b": as many names as fit, then "+N". */
static char *isolated_comment(const char *pod, bool egress, const struct np_policy **iso,
			      size_t n)
{
	struct sb b = {0};
	sb_addf(&b, "%s %s isolated by", pod, egress ? "egress" : "ingress");
	for (size_t i = 0; i < n; i++) {
		size_t need = strlen(iso[i]->meta.name) + 2 + (i + 1 < n ? 12 : 0);
		if (b.len + need > NFT_COMMENT_MAX) {
			sb_addf(&b, " +%zu more", n - i);
			break;
		}
		sb_addf(&b, "%s %s", i ? "," : "", iso[i]->meta.name);
	}
	return sb_take(&b);
}

static int attach_policies(struct nft_rule *r, const struct np_policy **pols, size_t n)
{
	if (!(r->policies = calloc(n + 1, sizeof(*r->policies))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!(r->policies[i] = policy_id(pols[i])))
			return -ENOMEM;
		r->npolicies++;
	}
	return 0;
}

/* The isolating policies of every endpoint and direction. */
struct episo {
	const struct np_policy **iso[2];
	size_t niso[2];
};

/* in-iso / eg-iso: the isolated endpoints, each element with its own
 * counter and the comment that says which policies isolate the pod (the
 * drop of in/isolated counts there: no chain per endpoint for the kernel
 * to validate on every change). */
static int iso_set(struct cc *c, const struct cdir *d, const struct nft_endpoint *eps,
		   struct episo *ei, size_t n)
{
	int dir = d->egress ? 1 : 0, err;
	char name[32];
	struct sb *sig = &c->sig;
	snprintf(name, sizeof(name), "%s-iso", dname(d));
	sig->len = 0;
	for (size_t i = 0; i < n; i++) {
		if (!ei[i].niso[dir])
			continue;
		sb_add(sig, eps[i].ifname);
		sb_addn(sig, "", 1);
		sb_add(sig, ns_or_default(eps[i].pod->meta.namespace));
		sb_add(sig, "/");
		sb_add(sig, eps[i].pod->meta.name);
		for (size_t k = 0; k < ei[i].niso[dir]; k++) {
			sb_addn(sig, "", 1);
			sb_add(sig, ei[i].iso[dir][k]->meta.name);
		}
		sb_addn(sig, "\n", 1);
	}
	if (sig->oom)
		return -ENOMEM;
	if (c->memo && incr_set_reuse(c, name, sig->s ? sig->s : "", sig->len))
		return 0;
	/* the last set: an endpoint whose pod and isolating policies are the
	 * same keeps its element's text (the comments are most of the work) */
	const void *lsig;
	size_t llen, at = 0;
	const struct nft_set *last = c->memo ? incr_set_last(c, name, &lsig, &llen) : NULL;
	struct nft_set *s = nft_set_new(name, false, "ifname", NULL, NULL);
	if (!s)
		return -ENOMEM;
	s->counter = true;
	if ((err = nft_prog_add_set(c->p, s)) < 0)
		return err;
	for (size_t i = 0; i < n; i++) {
		if (!ei[i].niso[dir])
			continue;
		char *pid = pod_id(eps[i].pod), *why = NULL, *cm = NULL, *e = NULL;
		struct nft_rule *r;
		size_t il = strlen(eps[i].ifname);
		/* the last set's element of this interface, if any (both in order) */
		const struct nft_rule *prev = NULL;
		while (last && at < last->nattr) {
			const char *t = last->attr[at].text;
			int cmp = nft_elem_ncmp(t + 1, strcspn(t + 1, "\""), eps[i].ifname, il);
			if (cmp < 0) {
				at++;
				continue;
			}
			if (cmp == 0)
				prev = &last->attr[at];
			break;
		}
		if (prev && pid && prev->pod && strcmp(prev->pod, pid) == 0 &&
		    prev->npolicies == ei[i].niso[dir]) {
			for (size_t k = 0; prev && k < prev->npolicies; k++) {
				const struct np_policy *pol = ei[i].iso[dir][k];
				const char *ns = ns_or_default(pol->meta.namespace), *pn = prev->policies[k];
				size_t nl = strlen(ns);
				if (strncmp(pn, ns, nl) != 0 || pn[nl] != '/' || strcmp(pn + nl + 1, pol->meta.name))
					prev = NULL;
			}
		} else {
			prev = NULL;
		}
		err = -ENOMEM;
		if (pid && prev)
			e = strdup(prev->text);
		else if (pid && (why = isolated_comment(pid, d->egress, ei[i].iso[dir], ei[i].niso[dir])) &&
			 (cm = nft_comment(why)) &&
			 asprintf(&e, "\"%s\" counter comment \"%s\"", eps[i].ifname, cm) < 0)
			e = NULL;
		if (e && (r = nft_set_add_attr(s, e))) {
			r->role = NFT_ROLE_ISOLATED;
			r->egress = d->egress;
			if ((err = attach_policies(r, ei[i].iso[dir], ei[i].niso[dir])) == 0 &&
			    !(r->pod = strdup(pid)))
				err = -ENOMEM;
			if (!err) {
				err = nft_set_add_elem(s, e);
				e = NULL;
			}
		}
		free(pid);
		free(why);
		free(cm);
		free(e);
		if (err < 0)
			return err;
	}
	nft_set_finish(s);
	return c->memo ? incr_set_keep(c, name, sig->s ? sig->s : "", sig->len, s) : 0;
}

/* in/isolated: where an isolated pod's traffic goes. The peer's class
 * decides (a class's allows go straight to their allow chains), then the
 * allows of rules without peers, then the drop, counted on the pod's
 * element of in-iso. */
static int isolated_chain(struct cc *c, const struct cdir *d)
{
	const char *key = d->egress ? "iifname" : "oifname";
	char name[32], text[160];
	struct nft_chain *ch;
	int err;
	snprintf(name, sizeof(name), "%s/isolated", dname(d));
	if (c->memo && incr_chain_reuse(c, name, key, strlen(key)))
		return 0;
	if (!(ch = nft_chain_new(name, NULL, d->egress ? "an isolated pod's egress"
						     : "an isolated pod's ingress")))
		return -ENOMEM;
	if ((err = nft_prog_add_chain(c->p, ch)) < 0 || (err = smap_put(&c->chains, ch->name, ch)) < 0)
		return err;
	snprintf(text, sizeof(text), "jump %s/classify", dname(d));
	if ((err = add_rule(ch, text, NFT_ROLE_INFRA, NULL)) < 0)
		return err;
	snprintf(text, sizeof(text), "jump %s/any", dname(d));
	if ((err = add_rule(ch, text, NFT_ROLE_INFRA, NULL)) < 0)
		return err;
	snprintf(text, sizeof(text), "%s @%s-iso drop", key, dname(d));
	if ((err = add_rule(ch, text, NFT_ROLE_INFRA, NULL)) < 0)
		return err;
	/* never reached while the dispatch and in-iso agree (one transaction) */
	if ((err = add_rule(ch, "counter drop comment \"isolated\"", NFT_ROLE_INFRA, NULL)) < 0)
		return err;
	return c->memo ? incr_chain_keep(c, ch->name, key, strlen(key), ch) : 0;
}

static int map_elem(struct nft_set *m, const char *ifname, const char *verdict)
{
	char *e;
	if (asprintf(&e, "\"%s\" : %s", ifname, verdict) < 0)
		return -ENOMEM;
	return nft_set_add_elem(m, e);
}

/* The two dispatch maps: an endpoint's entries say where its traffic goes
 * (its chain when isolated). */
static int verdict_maps(struct cc *c, const struct nft_endpoint *eps, const unsigned *isolated,
			size_t n)
{
	struct sb *sig = &c->sig;
	char verdict[48];
	int err;
	for (int dir = 0; dir < 2; dir++) {
		bool egress = dir == 1;
		const char *name = egress ? "ep-egress" : "ep-ingress";
		sig->len = 0;
		for (size_t i = 0; i < n; i++) {
			sb_add(sig, eps[i].ifname);
			sb_add(sig, isolated[i] & (1u << dir) ? " i\n" : " -\n");
		}
		if (sig->oom)
			return -ENOMEM;
		if (c->memo && incr_set_reuse(c, name, sig->s ? sig->s : "", sig->len))
			continue;
		struct nft_set *m = nft_set_new(name, true, "ifname : verdict", NULL, NULL);
		if (!m)
			return -ENOMEM;
		if ((err = nft_prog_add_set(c->p, m)) < 0)
			return err;
		for (size_t i = 0; i < n; i++) {
			if (isolated[i] & (1u << dir))
				snprintf(verdict, sizeof(verdict), "goto %s/isolated",
					 egress ? "eg" : "in");
			else
				snprintf(verdict, sizeof(verdict), "%s",
					 egress ? "goto " INGRESS_STAGE : "accept");
			if ((err = map_elem(m, eps[i].ifname, verdict)) < 0)
				return err;
		}
		nft_set_finish(m);
		if (c->memo && (err = incr_set_keep(c, name, sig->s ? sig->s : "", sig->len, m)) < 0)
			return err;
	}
	return 0;
}

/* ep-src4 / ep-src6: interface . address of every endpoint, for the
 * anti-spoof check (one lookup, before conntrack). */
static int source_sets(struct cc *c, const struct nft_endpoint *eps, size_t n)
{
	struct sb *sig = &c->sig;
	int err;
	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;
		const char *name = f ? "ep-src6" : "ep-src4";
		sig->len = 0;
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < eps[i].pod->nips; j++) {
				const struct np_ip *ip = &eps[i].pod->ips[j];
				if (ip->family != family)
					continue;
				sb_add(sig, eps[i].ifname);
				sb_addn(sig, "", 1);
				sb_addn(sig, (const char *)ip->addr, f ? 16 : 4);
			}
		if (sig->oom)
			return -ENOMEM;
		if (c->memo && incr_set_reuse(c, name, sig->s ? sig->s : "", sig->len))
			continue;
		struct nft_set *s = nft_set_new(name, false, f ? "ifname . ipv6_addr" : "ifname . ipv4_addr",
						NULL, NULL);
		if (!s)
			return -ENOMEM;
		if ((err = nft_prog_add_set(c->p, s)) < 0)
			return err;
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < eps[i].pod->nips; j++) {
				const struct np_ip *ip = &eps[i].pod->ips[j];
				char buf[64], *e;
				if (ip->family != family)
					continue;
				ip_to_string(ip, buf, sizeof(buf));
				if (asprintf(&e, "\"%s\" . %s", eps[i].ifname, buf) < 0)
					return -ENOMEM;
				if ((err = nft_set_add_elem(s, e)) < 0)
					return err;
			}
		nft_set_finish(s);
		if (c->memo && (err = incr_set_keep(c, name, sig->s ? sig->s : "", sig->len, s)) < 0)
			return err;
	}
	return 0;
}

/* ---- the fixed part ------------------------------------------------------------------ */

enum fixed_when { ALWAYS, WITH_PREFIX, WITH_SPOOF_CHECK };

/* "%1$s" stands for the pod interface prefix. */
static const struct fixed_rule {
	const char *chain;
	enum fixed_when when;
	const char *text;
} fixed_rules[] = {
	/* first: a spoofed packet could otherwise ride a tracked flow */
	{"forward", WITH_SPOOF_CHECK, "iifname \"%1$s*\" iifname . ip saddr != @ep-src4 counter drop "
				      "comment \"source address not the pod's own (or a pod without a program)\""},
	{"forward", WITH_SPOOF_CHECK, "iifname \"%1$s*\" iifname . ip6 saddr != @ep-src6 counter drop "
				      "comment \"source address not the pod's own (or a pod without a program)\""},
	{"forward", ALWAYS, "ct state established,related counter accept comment \"established\""},
	{"forward", ALWAYS, "ct state invalid counter drop comment \"invalid\""},
	{"forward", ALWAYS, "counter iifname vmap @ep-egress comment \"from a pod: its egress\""},
	{"forward", WITH_PREFIX, "iifname \"%1$s*\" counter drop comment \"pod without a program\""},
	{"forward", ALWAYS, "counter goto " INGRESS_STAGE " comment \"from elsewhere\""},
	{INGRESS_STAGE, ALWAYS, "counter oifname vmap @ep-ingress comment \"to a pod: its ingress\""},
	{INGRESS_STAGE, WITH_PREFIX, "oifname \"%1$s*\" counter drop comment \"pod without a program\""},
	{INGRESS_STAGE, ALWAYS, "counter accept comment \"not to a pod of this node\""},
};

static int base_chains(struct cc *c)
{
	struct nft_chain *fwd = nft_chain_new("forward", BASE_HOOK, NULL);
	struct nft_chain *ing = nft_chain_new(INGRESS_STAGE, NULL, "the destination's ingress");
	int err = nft_prog_add_chain(c->p, fwd);   /* takes fwd, even on error */
	if (err < 0) {
		nft_chain_free(ing);
		return err;
	}
	if ((err = nft_prog_add_chain(c->p, ing)) < 0)
		return err;
	for (size_t i = 0; i < sizeof(fixed_rules) / sizeof(*fixed_rules) && !err; i++) {
		const struct fixed_rule *f = &fixed_rules[i];
		char buf[200];
		if ((f->when != ALWAYS && !c->ifprefix) || (f->when == WITH_SPOOF_CHECK && !c->anti_spoof))
			continue;
		snprintf(buf, sizeof(buf), f->text, c->ifprefix ? c->ifprefix : "");
		err = add_rule(strcmp(f->chain, "forward") ? ing : fwd, buf, NFT_ROLE_INFRA, NULL);
	}
	return err;
}

static int check_endpoints(const struct nft_endpoint *eps, size_t n, const struct nft_opts *o,
			   struct diag_list *diags)
{
	struct smap seen = {0};
	int err = 0;
	if (o && o->pod_ifprefix && !ifname_valid(o->pod_ifprefix, IFNAME_MAX - 1)) {
		diag_error(diags, "pod interface prefix \"%s\": expected 1-14 of [A-Za-z0-9_.-]",
			 o->pod_ifprefix);
		err = -EINVAL;
	}
	for (size_t i = 0; i < n && err != -ENOMEM; i++) {
		if (!eps[i].pod || !ifname_valid(eps[i].ifname, IFNAME_MAX)) {
			diag_error(diags, "endpoint %zu: interface \"%s\": expected 1-15 of [A-Za-z0-9_.-]%s",
				 i, eps[i].ifname ? eps[i].ifname : "",
				 eps[i].pod ? "" : ", and a pod");
			err = -EINVAL;
		} else if (smap_get(&seen, eps[i].ifname)) {
			diag_error(diags, "interface \"%s\" given to two endpoints", eps[i].ifname);
			err = -EINVAL;
		} else if (smap_put(&seen, eps[i].ifname, (void *)&eps[i]) < 0) {
			err = -ENOMEM;
		}
	}
	smap_clear(&seen);
	return err;
}

/* Endpoints in the order their elements ("IF" ...) sort in, so that every
 * map keyed by interface comes out in order without a sort. */
static int ep_qcmp(const void *a, const void *b)
{
	return nft_elem_cmp(((const struct nft_endpoint *)a)->ifname,
			    ((const struct nft_endpoint *)b)->ifname);
}

static int direction(struct cc *c, struct cdir *d, const struct nft_endpoint *eps,
		     struct episo *ei, size_t n)
{
	int err = 0;
	int dir = d->egress ? 1 : 0;
	/* register every peer first: classes need them all */
	for (size_t i = 0; i < n && !err; i++)
		for (size_t k = 0; k < ei[i].niso[dir] && !err; k++) {
			struct polinfo *pi;
			err = polinfo_get(d, ei[i].iso[dir][k], &pi);
		}
	if (err || (err = cdir_addresses(c, d)) < 0)
		return err;
	if ((err = cdir_classes(d)) < 0)
		return err;
	for (size_t i = 0; i < n && !err; i++)
		if (ei[i].niso[dir])
			err = endpoint_allows(c, d, &eps[i], ei[i].iso[dir], ei[i].niso[dir]);
	for (size_t i = 0; i < d->ncls && !err; i++)
		if (cls_used(d->cls[i]))
			err = class_objects(c, d, d->cls[i]);
	for (int k = 0; k < NMAPS && !err; k++) {
		char name[32];
		snprintf(name, sizeof(name), "%s-any-%s", dname(d), map_suffix[k]);
		err = recs_map(c, name, k, NULL, &d->any[k]);
	}
	if (!err)
		err = pod_map(c, d, AF_INET);
	if (!err)
		err = pod_map(c, d, AF_INET6);
	if (!err)
		err = cidr_map(c, d, AF_INET);
	if (!err)
		err = cidr_map(c, d, AF_INET6);
	if (!err)
		err = classify_chain(c, d);
	if (!err)
		err = any_chain(c, d);
	if (!err)
		err = iso_set(c, d, eps, ei, n);
	if (!err)
		err = isolated_chain(c, d);
	return err;
}

static int compile_all(struct cc *c, struct nft_endpoint *eps, size_t n)
{
	unsigned *isolated = calloc(n + 1, sizeof(*isolated));
	struct episo *ei = calloc(n + 1, sizeof(*ei));
	int err = isolated && ei ? base_chains(c) : -ENOMEM;
	if (err < 0)
		goto cleanup;
	qsort(eps, n, sizeof(*eps), ep_qcmp);
	for (size_t i = 0; i < n; i++) {
		const struct np_policy *const *sel;
		size_t ns = engine_policies_selecting(c->e, eps[i].pod, &sel);
		err = -ENOMEM;
		if (!sel)
			goto cleanup;
		for (int dir = 0; dir < 2; dir++) {
			if (!(ei[i].iso[dir] = calloc(ns + 1, sizeof(*ei[i].iso[dir]))))
				goto cleanup;
			for (size_t k = 0; k < ns; k++)
				if (dir ? sel[k]->egress_type : sel[k]->ingress_type)
					ei[i].iso[dir][ei[i].niso[dir]++] = sel[k];
			if (ei[i].niso[dir])
				isolated[i] |= 1u << dir;
		}
	}
	for (int dir = 0; dir < 2; dir++) {
		if (!(c->dir[dir] = calloc(1, sizeof(*c->dir[dir])))) {
			err = -ENOMEM;
			goto cleanup;
		}
		c->dir[dir]->egress = dir == 1;
		c->dir[dir]->anyp = -1;
		if ((err = direction(c, c->dir[dir], eps, ei, n)) < 0)
			goto cleanup;
	}
	if ((err = verdict_maps(c, eps, isolated, n)) < 0)
		goto cleanup;
	if (c->ifprefix && c->anti_spoof && (err = source_sets(c, eps, n)) < 0)
		goto cleanup;
	nft_prog_finish(c->p);
	err = 0;
cleanup:
	for (size_t i = 0; ei && i < n; i++) {
		free(ei[i].iso[0]);
		free(ei[i].iso[1]);
	}
	free(ei);
	free(isolated);
	return err;
}

void nft_cc_clear(struct cc *c)
{
	nft_prog_free(c->p);
	c->p = NULL;
	smap_clear(&c->chains);
	cc_named_ports_clear(c);
	sb_clear(&c->sig);
	for (int dir = 0; dir < 2; dir++) {
		cdir_free(c->dir[dir]);
		c->dir[dir] = NULL;
	}
}

/* c has its engine, cluster, diags and memo set. */
int nft_compile_cc(struct cc *c, const struct nft_endpoint *eps, size_t neps,
		   const struct nft_opts *opts, struct nft_prog **out)
{
	struct nft_endpoint *sorted = NULL;
	int err;
	*out = NULL;
	if ((err = check_endpoints(eps, neps, opts, c->diags)) < 0)
		return err;
	c->ifprefix = opts ? opts->pod_ifprefix : NULL;
	c->anti_spoof = !(opts && opts->no_anti_spoof);
	if (!(c->p = nft_prog_new(opts ? opts->table : NULL)) ||
	    !(sorted = calloc(neps + 1, sizeof(*sorted)))) {
		err = -ENOMEM;
		goto cleanup;
	}
	memcpy(sorted, eps, neps * sizeof(*sorted));
	if ((err = compile_all(c, sorted, neps)) < 0)
		goto cleanup;
	*out = c->p;
	c->p = NULL;
cleanup:
	free(sorted);
	nft_cc_clear(c);
	return err;
}

int nft_compile(struct engine *e, const struct np_cluster *cl,
		const struct nft_endpoint *eps, size_t neps,
		const struct nft_opts *opts, struct nft_prog **out,
		struct diag_list *diags)
{
	struct cc c = {.e = e, .cl = cl, .diags = diags};
	return nft_compile_cc(&c, eps, neps, opts, out);
}

/* ---- attribution ------------------------------------------------------------------- */

size_t nft_prog_attribute(const struct nft_prog *p, const struct np_pod *pod, bool egress,
			  const struct np_dir_verdict *v, const struct nft_rule **out,
			  size_t max)
{
	size_t n = 0;
	if (!v->applies || !v->isolated || max == 0)
		return 0;
	if (v->allowed) {
		char *name = nft_rule_chain_name(v->policy->meta.namespace, v->policy->meta.name,
						 egress, v->rule, v->peer, v->port);
		const struct nft_chain *ch = name ? nft_prog_chain(p, name) : NULL;
		free(name);
		for (size_t j = 0; ch && j < ch->nrules && n < max; j++)
			if (ch->rules[j].role == NFT_ROLE_ALLOW)
				out[n++] = &ch->rules[j];
		return n;
	}
	char *want = pod_id(pod);
	const struct nft_set *iso = nft_prog_set(p, egress ? "eg-iso" : "in-iso");
	if (!want)
		return 0;
	for (size_t i = 0; iso && i < iso->nattr && n < max; i++) {
		const struct nft_rule *r = &iso->attr[i];
		if (r->role == NFT_ROLE_ISOLATED && r->egress == egress && r->pod &&
		    strcmp(r->pod, want) == 0)
			out[n++] = r;
	}
	free(want);
	return n;
}
