/* compile: the policies that apply to the pods of this node, as chains.
 *
 * The packet path costs two verdict-map lookups to find the endpoint
 * chains, then only the rules of the policies that select the pod; peers
 * and named ports are set lookups. Nothing scans all pods or all policies.
 * Names derive from what they stand for (interface, policy, canonical
 * peer), never from an order, so that a change renames nothing else and
 * the delta between two programs stays small. */
#include "nft_internal.h"

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

/* "in/NS/NAME" or "eg/NS/NAME"; a hash when that is longer than nft allows. */
char *nft_policy_chain_name(const char *ns, const char *name, bool egress)
{
	char *id, *s = NULL;
	if (asprintf(&id, "%s/%s", ns_or_default(ns), name) < 0)
		return NULL;
	if (strlen(id) <= 200) {
		if (asprintf(&s, "%s/%s", egress ? "eg" : "in", id) < 0)
			s = NULL;
	} else if (asprintf(&s, "%s/h%016llx", egress ? "eg" : "in",
			    (unsigned long long)nft_hash(id)) < 0) {
		s = NULL;
	}
	free(id);
	return s;
}

static char *policy_chain_name(const struct np_policy *pol, bool egress)
{
	return nft_policy_chain_name(pol->meta.namespace, pol->meta.name, egress);
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

/* ---- port groups ------------------------------------------------------------------ */

/* The ports of one rule, as the few nft matches that cover them: numbers
 * and ranges in one anonymous set, protocols without port in another, and
 * each named port on its own (resolved per destination by a set lookup).
 * Groups are ordered by their first port, as the engine looks at them. */
enum pg_kind { PG_NUMBERS, PG_PROTOS, PG_NAMED };

struct pgroup {
	enum pg_kind kind;
	char *match;              /* PG_NUMBERS, PG_PROTOS */
	const char *name;         /* PG_NAMED */
	enum np_proto proto;      /* PG_NAMED */
	int *idx;
	size_t nidx;
};

struct prange {
	enum np_proto proto;
	int lo, hi;
};

static int prange_qcmp(const void *a, const void *b)
{
	const struct prange *x = a, *y = b;
	if (x->proto != y->proto)
		return strcmp(nft_proto(x->proto), nft_proto(y->proto));
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return (x->hi > y->hi) - (x->hi < y->hi);
}

/* Sorted; with ranges, overlapping and adjacent ones merged (nft merges
 * the members of an interval set itself, so we print what it will list);
 * without, duplicates dropped. */
static size_t pranges_canon(struct prange *r, size_t n)
{
	bool ranges = false;
	size_t w = 0;
	for (size_t i = 0; i < n; i++)
		ranges |= r[i].hi > r[i].lo;
	qsort(r, n, sizeof(*r), prange_qcmp);
	for (size_t i = 0; i < n; i++) {
		struct prange *last = w ? &r[w - 1] : NULL;
		if (last && last->proto == r[i].proto &&
		    (ranges ? r[i].lo <= last->hi + 1 : r[i].lo == last->lo)) {
			if (r[i].hi > last->hi)
				last->hi = r[i].hi;
			continue;
		}
		r[w++] = r[i];
	}
	return w;
}

static void prange_text(struct sb *b, const struct prange *r, bool with_proto)
{
	if (with_proto)
		sb_addf(b, "%s . ", nft_proto(r->proto));
	if (r->hi > r->lo)
		sb_addf(b, "%d-%d", r->lo, r->hi);
	else
		sb_addf(b, "%d", r->lo);
}

static char *numbers_match(struct prange *r, size_t nspecs)
{
	struct sb b = {0};
	size_t n = pranges_canon(r, nspecs);
	bool one_proto = true;
	for (size_t i = 1; i < n; i++)
		one_proto &= r[i].proto == r[0].proto;
	if (one_proto)
		sb_addf(&b, "%s dport ", nft_proto(r[0].proto));
	else
		sb_add(&b, "meta l4proto . th dport ");
	if (nspecs == 1) {
		prange_text(&b, &r[0], false);
		return sb_take(&b);
	}
	sb_add(&b, "{ ");
	for (size_t i = 0; i < n; i++) {
		sb_add(&b, i ? ", " : "");
		prange_text(&b, &r[i], !one_proto);
	}
	sb_add(&b, " }");
	return sb_take(&b);
}

static char *protos_match(const struct np_port_spec *ports, const int *idx, size_t n)
{
	struct sb b = {0};
	bool seen[NP_NPROTO] = {0};
	if (n == 1) {
		sb_addf(&b, "meta l4proto %s", nft_proto(ports[idx[0]].proto));
		return sb_take(&b);
	}
	/* nft_rule_normalise puts the members in order afterwards */
	sb_add(&b, "meta l4proto {");
	for (size_t i = 0, listed = 0; i < n; i++) {
		enum np_proto p = ports[idx[i]].proto;
		if (!seen[p])
			sb_addf(&b, "%s %s", listed++ ? "," : "", nft_proto(p));
		seen[p] = true;
	}
	sb_add(&b, " }");
	return sb_take(&b);
}

static void pgroups_free(struct pgroup *g, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(g[i].match);
		free(g[i].idx);
	}
	free(g);
}

/* The group a port spec goes to (created at the end when new). */
static struct pgroup *pgroup_for(struct pgroup *g, size_t *n, const struct np_port_spec *s)
{
	enum pg_kind k = s->kind == PORT_NUMBER ? PG_NUMBERS : s->kind == PORT_ANY ? PG_PROTOS
										  : PG_NAMED;
	for (size_t i = 0; i < *n; i++)
		if (g[i].kind == k && (k != PG_NAMED || (g[i].proto == s->proto &&
							 strcmp(g[i].name, s->name) == 0)))
			return &g[i];
	g[*n] = (struct pgroup){.kind = k, .name = s->name, .proto = s->proto};
	return &g[(*n)++];
}

static int pgroups_build(const struct np_rule *r, struct pgroup **out, size_t *nout)
{
	struct pgroup *g = calloc(r->nports + 1, sizeof(*g));
	struct prange *nums = calloc(r->nports + 1, sizeof(*nums));
	size_t n = 0, nnums = 0;
	int err = -ENOMEM;
	if (!g || !nums)
		goto cleanup;
	for (size_t i = 0; i < r->nports; i++) {
		const struct np_port_spec *s = &r->ports[i];
		struct pgroup *pg = pgroup_for(g, &n, s);
		int *idx = realloc(pg->idx, (pg->nidx + 1) * sizeof(*idx));
		if (!idx)
			goto cleanup;
		pg->idx = idx;
		pg->idx[pg->nidx++] = (int)i;
		if (s->kind == PORT_NUMBER)
			nums[nnums++] = (struct prange){s->proto, s->port,
							s->end_port > s->port ? s->end_port : s->port};
	}
	for (size_t i = 0; i < n; i++) {
		if (g[i].kind == PG_NUMBERS && !(g[i].match = numbers_match(nums, nnums)))
			goto cleanup;
		if (g[i].kind == PG_PROTOS &&
		    !(g[i].match = protos_match(r->ports, g[i].idx, g[i].nidx)))
			goto cleanup;
	}
	*out = g;
	*nout = n;
	g = NULL;
	err = 0;
cleanup:
	if (g)
		pgroups_free(g, n);
	free(nums);
	return err;
}

/* ---- policy chains ------------------------------------------------------------------ */

struct rule_ctx {
	struct cc *c;
	struct nft_chain *chain;
	const struct np_policy *pol;
	bool egress;
	int rule, peer;
};

/* "ns/name ingress[0] from[1] ports[0,2]": the policy's id gives way to
 * its hash when the whole would be longer than nft allows. */
static char *allow_comment(const struct rule_ctx *x, const struct pgroup *g)
{
	struct sb b = {0};
	char *id = policy_id(x->pol), *s;
	if (!id)
		return NULL;
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 0)
			sb_add(&b, id);
		else
			sb_addf(&b, "#%016llx", (unsigned long long)nft_hash(id));
		sb_addf(&b, " %s[%d]", x->egress ? "egress" : "ingress", x->rule);
		if (x->peer >= 0)
			sb_addf(&b, " %s[%d]", x->egress ? "to" : "from", x->peer);
		for (size_t i = 0; g && i < g->nidx; i++)
			sb_addf(&b, "%s%d", i ? "," : " ports[", g->idx[i]);
		sb_add(&b, g ? "]" : "");
		if (b.oom || b.len <= NFT_COMMENT_MAX || pass == 1)
			break;
		sb_clear(&b);
	}
	free(id);
	s = sb_take(&b);
	return s;
}

static int emit_allow(const struct rule_ctx *x, const char *addr, const char *port,
		      const struct pgroup *g, int family)
{
	struct sb b = {0};
	char *comment = allow_comment(x, g), *cm = comment ? nft_comment(comment) : NULL;
	struct nft_rule *r;
	int err = -ENOMEM;
	if (!cm)
		goto cleanup;
	if (addr)
		sb_addf(&b, "%s ", addr);
	if (port)
		sb_addf(&b, "%s ", port);
	sb_addf(&b, "counter %s comment \"%s\"", x->egress ? "goto " INGRESS_STAGE : "accept", cm);
	char *text = sb_take(&b), *canon = text ? nft_rule_normalise(text, NULL, NULL) : NULL;
	free(text);
	if (!(r = nft_chain_add(x->chain, canon)))
		goto cleanup;
	r->role = NFT_ROLE_ALLOW;
	r->egress = x->egress;
	r->rule = x->rule;
	r->peer = x->peer;
	r->family = family;
	if (!(r->policies = calloc(1, sizeof(*r->policies))) ||
	    !(r->policies[0] = policy_id(x->pol)))
		goto cleanup;
	r->npolicies = 1;
	if (g && g->nidx) {
		if (!(r->ports = malloc(g->nidx * sizeof(*r->ports))))
			goto cleanup;
		memcpy(r->ports, g->idx, g->nidx * sizeof(*r->ports));
		r->nports = g->nidx;
	}
	err = 0;
cleanup:
	sb_clear(&b);
	free(comment);
	free(cm);
	return err;
}

/* One address match (family 0: any address) times the port groups. */
static int emit_addr(const struct rule_ctx *x, const char *addr, int family,
		     const struct pgroup *g, size_t ng)
{
	int err = 0;
	if (ng == 0)
		return emit_allow(x, addr, NULL, NULL, family);
	for (size_t i = 0; i < ng && !err; i++) {
		if (g[i].kind != PG_NAMED) {
			err = emit_allow(x, addr, g[i].match, &g[i], family);
			continue;
		}
		/* a named port is looked up with the destination address, so
		 * per family; the peer's family when it has one */
		for (int f = AF_INET; f && !err; f = f == AF_INET ? AF_INET6 : 0) {
			const char *set;
			char match[160];
			if (family && f != family)
				continue;
			if ((err = cc_port_set(x->c, g[i].name, g[i].proto, f, &set)) < 0 ||
			    (err = incr_rec_port(x->c, g[i].name, g[i].proto, f)) < 0)
				break;
			snprintf(match, sizeof(match), "%s daddr . %s dport @%s",
				 f == AF_INET ? "ip" : "ip6", nft_proto(g[i].proto), set);
			err = emit_allow(x, addr, match, &g[i], f);
		}
	}
	return err;
}

static int emit_peer(struct rule_ctx *x, const struct np_peer *peer, const struct pgroup *g,
		     size_t ng)
{
	const char *v4, *v6, *dir = x->egress ? "daddr" : "saddr";
	char addr[160];
	int err;
	if (!peer)
		return emit_addr(x, NULL, 0, g, ng);
	if ((err = cc_peer_sets(x->c, x->pol, peer, &v4, &v6)) < 0 ||
	    (err = incr_rec_peer(x->c, x->pol, peer, x->egress, x->rule, x->peer)) < 0)
		return err;
	if (v4) {
		snprintf(addr, sizeof(addr), "ip %s @%s", dir, v4);
		if ((err = emit_addr(x, addr, AF_INET, g, ng)) < 0)
			return err;
	}
	if (v6) {
		snprintf(addr, sizeof(addr), "ip6 %s @%s", dir, v6);
		if ((err = emit_addr(x, addr, AF_INET6, g, ng)) < 0)
			return err;
	}
	return 0;
}

static int emit_rule(struct rule_ctx *x, const struct np_rule *r)
{
	struct pgroup *g = NULL;
	size_t ng = 0;
	int err = pgroups_build(r, &g, &ng);
	if (err < 0)
		return err;
	if (r->npeers == 0) {
		x->peer = -1;
		err = emit_peer(x, NULL, g, ng);
	}
	for (size_t j = 0; j < r->npeers && !err; j++) {
		x->peer = (int)j;
		err = emit_peer(x, &r->peers[j], g, ng);
	}
	pgroups_free(g, ng);
	return err;
}

/* The chain of one policy and direction, built the first time it is
 * needed. *name points into the chain. */
static int policy_chain(struct cc *c, const struct np_policy *pol, bool egress,
			const char **name)
{
	/* asked once per endpoint that a policy isolates: the usual name is
	 * put together on the stack */
	const char *ns = ns_or_default(pol->meta.namespace);
	size_t nl = strlen(ns), ml = strlen(pol->meta.name);
	char buf[256], *cname = NULL, *id = NULL, *comment = NULL;
	struct nft_chain *ch;
	int err = -ENOMEM;
	if (nl + 1 + ml <= 200) {
		memcpy(buf, egress ? "eg/" : "in/", 3);
		memcpy(buf + 3, ns, nl);
		buf[3 + nl] = '/';
		memcpy(buf + 4 + nl, pol->meta.name, ml + 1);
		cname = buf;
	} else if (!(cname = policy_chain_name(pol, egress))) {
		goto cleanup;
	}
	ch = smap_get(&c->chains, cname);
	if (!ch && c->memo && (err = incr_pchain_reuse(c, cname, pol)) != 0) {
		if (err < 0)
			goto cleanup;
		ch = smap_get(&c->chains, cname);
	}
	if (ch) {
		*name = ch->name;
		err = 0;
		goto cleanup;
	}
	err = -ENOMEM;
	if (!(id = policy_id(pol)))
		goto cleanup;
	if (asprintf(&comment, "policy %s %s", id, egress ? "egress" : "ingress") < 0) {
		comment = NULL;
		goto cleanup;
	}
	if (!(ch = nft_chain_new(cname, NULL, comment)) || nft_prog_add_chain(c->p, ch) < 0 ||
	    smap_put(&c->chains, ch->name, ch) < 0)
		goto cleanup;
	struct rule_ctx x = {.c = c, .chain = ch, .pol = pol, .egress = egress};
	const struct np_rule *rules = egress ? pol->egress : pol->ingress;
	size_t n = egress ? pol->negress : pol->ningress;
	err = 0;
	incr_rec_begin(c);
	for (size_t i = 0; i < n && !err; i++) {
		x.rule = (int)i;
		err = emit_rule(&x, &rules[i]);
	}
	if (!err && c->memo)
		err = incr_pchain_keep(c, cname, pol, ch);
	*name = ch->name;
cleanup:
	if (cname != buf)
		free(cname);
	free(id);
	free(comment);
	return err;
}

int cc_policy_chain(struct cc *c, const struct np_policy *pol, bool egress, const char **name)
{
	return policy_chain(c, pol, egress, name);
}

/* ---- endpoint chains --------------------------------------------------------------- */

static char *pod_id(const struct np_pod *pod)
{
	char *s;
	if (asprintf(&s, "%s/%s", ns_or_default(pod->meta.namespace), pod->meta.name) < 0)
		return NULL;
	return s;
}

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

static int add_jump(struct cc *c, struct nft_chain *ch, const char *pid,
		    const struct np_policy *pol, bool egress)
{
	char *id = policy_id(pol), *cm = id ? nft_comment(id) : NULL, *text = NULL;
	const char *target;
	struct nft_rule *r = NULL;
	int err = cm ? policy_chain(c, pol, egress, &target) : -ENOMEM;
	if (!err && asprintf(&text, "counter jump %s comment \"%s\"", target, cm) < 0) {
		text = NULL;
		err = -ENOMEM;
	}
	if (!err && (err = add_rule(ch, text, NFT_ROLE_JUMP, &r)) == 0 &&
	    (err = attach_policies(r, &pol, 1)) == 0 && !(r->pod = strdup(pid)))
		err = -ENOMEM;
	if (!err)
		r->egress = egress;
	free(id);
	free(cm);
	free(text);
	return err;
}

static int add_isolated_drop(struct nft_chain *ch, const char *pid, bool egress,
			     const struct np_policy **iso, size_t niso)
{
	char *why = isolated_comment(pid, egress, iso, niso), *cm = why ? nft_comment(why) : NULL;
	char *text = NULL;
	struct nft_rule *r = NULL;
	int err = -ENOMEM;
	if (cm && asprintf(&text, "counter drop comment \"%s\"", cm) < 0)
		text = NULL;
	if (text && (err = add_rule(ch, text, NFT_ROLE_ISOLATED, &r)) == 0 &&
	    (err = attach_policies(r, iso, niso)) == 0 && !(r->pod = strdup(pid)))
		err = -ENOMEM;
	if (!err)
		r->egress = egress;
	free(why);
	free(cm);
	free(text);
	return err;
}

/* in-IF / eg-IF: a jump to each isolating policy's chain (any of them may
 * allow), then the drop that says which policies isolate the pod. */
static int endpoint_chain(struct cc *c, const struct nft_endpoint *ep, bool egress,
			  const struct np_policy **iso, size_t niso)
{
	char name[32], *pid = NULL, *comment = NULL;
	struct nft_chain *ch;
	struct sb *sig = &c->sig;
	int err = -ENOMEM;
	snprintf(name, sizeof(name), "%s-%s", egress ? "eg" : "in", ep->ifname);
	if (c->memo) {
		/* everything the chain is made of, without formatting it */
		sig->len = 0;
		sb_add(sig, egress ? "eg " : "in ");
		sb_add(sig, ns_or_default(ep->pod->meta.namespace));
		sb_add(sig, "/");
		sb_add(sig, ep->pod->meta.name);
		for (size_t i = 0; i < niso; i++) {
			sb_add(sig, "\n");
			sb_add(sig, ns_or_default(iso[i]->meta.namespace));
			sb_add(sig, "/");
			sb_add(sig, iso[i]->meta.name);
		}
		if (sig->oom)
			goto cleanup;
		if ((ch = incr_epchain_reuse(c, name, sig->s))) {
			const char *target;
			err = 0;
			for (size_t i = 0; i < niso && !err; i++)
				err = policy_chain(c, iso[i], egress, &target);
			goto cleanup;
		}
	}
	if (!(pid = pod_id(ep->pod)) ||
	    asprintf(&comment, "pod %s %s", pid, egress ? "egress" : "ingress") < 0) {
		comment = NULL;
		goto cleanup;
	}
	if (!(ch = nft_chain_new(name, NULL, comment)) || (err = nft_prog_add_chain(c->p, ch)) < 0)
		goto cleanup;
	for (size_t i = 0; i < niso && !err; i++)
		err = add_jump(c, ch, pid, iso[i], egress);
	if (!err)
		err = add_isolated_drop(ch, pid, egress, iso, niso);
	if (!err && c->memo)
		err = incr_epchain_keep(c, name, sig->s, ch);
cleanup:
	free(pid);
	free(comment);
	return err;
}

static int map_elem(struct nft_set *m, const char *ifname, const char *verdict)
{
	char *e;
	if (asprintf(&e, "\"%s\" : %s", ifname, verdict) < 0)
		return -ENOMEM;
	return nft_set_add_elem(m, e);
}

/* Both directions of one endpoint: the chains of the directions in which
 * a policy isolates the pod; *isolated gets bit 0 for ingress, 1 for egress. */
static int endpoint(struct cc *c, const struct nft_endpoint *ep, unsigned *isolated)
{
	const struct np_policy *const *sel;
	size_t n = engine_policies_selecting(c->e, ep->pod, &sel);
	const struct np_policy **iso = calloc(n + 1, sizeof(*iso));
	int err = -ENOMEM;
	*isolated = 0;
	if (!sel || !iso)
		goto cleanup;
	for (int dir = 0; dir < 2; dir++) {
		bool egress = dir == 1;
		size_t niso = 0;
		for (size_t i = 0; i < n; i++)
			if (egress ? sel[i]->egress_type : sel[i]->ingress_type)
				iso[niso++] = sel[i];
		if (niso) {
			*isolated |= 1u << dir;
			if ((err = endpoint_chain(c, ep, egress, iso, niso)) < 0)
				goto cleanup;
		}
	}
	err = 0;
cleanup:
	free(iso);
	return err;
}

/* The two verdict maps: an endpoint's entries say where its traffic goes
 * (its chain when isolated). */
static int verdict_maps(struct cc *c, const struct nft_endpoint *eps, const unsigned *isolated,
			size_t n)
{
	struct nft_set *eg = NULL, *in = NULL;
	struct sb *sig = &c->sig;
	char verdict[48];
	int err;
	if (c->memo) {
		sig->len = 0;
		for (size_t i = 0; i < n; i++) {
			sb_add(sig, eps[i].ifname);
			sb_add(sig, isolated[i] & 1 ? " i" : " -");
			sb_add(sig, isolated[i] & 2 ? "e\n" : "-\n");
		}
		if (sig->oom)
			return -ENOMEM;
		if ((err = incr_maps_reuse(c, sig->s ? sig->s : "")) != 0)
			return err < 0 ? err : 0;
	}
	eg = nft_set_new("ep-egress", true, "ifname : verdict", NULL, NULL);
	in = nft_set_new("ep-ingress", true, "ifname : verdict", NULL, NULL);
	if ((err = nft_prog_add_set(c->p, eg)) < 0) {
		nft_set_free(in);
		return err;
	}
	if ((err = nft_prog_add_set(c->p, in)) < 0)
		return err;
	for (size_t i = 0; i < n; i++) {
		for (int dir = 0; dir < 2; dir++) {
			bool egress = dir == 1;
			if (isolated[i] & (1u << dir))
				snprintf(verdict, sizeof(verdict), "goto %s-%s", egress ? "eg" : "in",
					 eps[i].ifname);
			else
				snprintf(verdict, sizeof(verdict), "%s",
					 egress ? "goto " INGRESS_STAGE : "accept");
			if ((err = map_elem(egress ? eg : in, eps[i].ifname, verdict)) < 0)
				return err;
		}
	}
	nft_set_finish(eg);
	nft_set_finish(in);
	return c->memo ? incr_maps_keep(c, sig->s ? sig->s : "", eg, in) : 0;
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
	{"forward", WITH_SPOOF_CHECK, "iifname \"%1$s*\" fib saddr . iif oif missing counter drop "
				      "comment \"source address not routed to this pod\""},
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

static int ep_qcmp(const void *a, const void *b)
{
	return strcmp(((const struct nft_endpoint *)a)->ifname,
		      ((const struct nft_endpoint *)b)->ifname);
}

static void free_vals(struct smap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i])
			free(m->vals[i]);
	smap_clear(m);
}

static int compile_all(struct cc *c, struct nft_endpoint *eps, size_t n)
{
	unsigned *isolated = calloc(n + 1, sizeof(*isolated));
	int err = isolated ? base_chains(c) : -ENOMEM;
	if (err < 0)
		goto cleanup;
	qsort(eps, n, sizeof(*eps), ep_qcmp);
	for (size_t i = 0; i < n; i++)
		if ((err = endpoint(c, &eps[i], &isolated[i])) < 0)
			goto cleanup;
	if ((err = verdict_maps(c, eps, isolated, n)) < 0)
		goto cleanup;
	nft_prog_finish(c->p);
cleanup:
	free(isolated);
	return err;
}

void nft_cc_clear(struct cc *c)
{
	nft_prog_free(c->p);
	c->p = NULL;
	smap_clear(&c->sets);
	smap_clear(&c->chains);
	free_vals(&c->peer_names);
	free_vals(&c->name_keys);
	cc_named_ports_clear(c);
	incr_rec_begin(c);
	sb_clear(&c->sig);
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

static bool has_port(const struct nft_rule *r, int port)
{
	if (port < 0)
		return r->nports == 0;
	for (size_t i = 0; i < r->nports; i++)
		if (r->ports[i] == port)
			return true;
	return false;
}

size_t nft_prog_attribute(const struct nft_prog *p, const struct np_pod *pod, bool egress,
			  const struct np_dir_verdict *v, const struct nft_rule **out,
			  size_t max)
{
	size_t n = 0;
	if (!v->applies || !v->isolated)
		return 0;
	char *want = v->allowed ? policy_chain_name(v->policy, egress) : pod_id(pod);
	if (!want)
		return 0;
	for (size_t i = 0; i < p->nchains && n < max; i++) {
		const struct nft_chain *ch = p->chains[i];
		if (v->allowed && strcmp(ch->name, want) != 0)
			continue;
		for (size_t j = 0; j < ch->nrules && n < max; j++) {
			const struct nft_rule *r = &ch->rules[j];
			if (r->egress != egress)
				continue;
			if (v->allowed ? r->role == NFT_ROLE_ALLOW && r->rule == v->rule &&
						 r->peer == v->peer && has_port(r, v->port)
				       : r->role == NFT_ROLE_ISOLATED && strcmp(r->pod, want) == 0)
				out[n++] = r;
		}
	}
	free(want);
	return n;
}
