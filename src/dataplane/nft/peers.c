/* peers: what the compiler needs to know of peers: a canonical key per
 * distinct peer (its class name and the comment come from it), ipBlocks
 * as disjoint address ranges (excepts carved out), and which pods declare
 * a named port. */
#include "nft_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef unsigned __int128 u128;

const char *nft_proto(enum np_proto p)
{
	switch (p) {
	case NP_TCP:
		return "tcp";
	case NP_UDP:
		return "udp";
	case NP_SCTP:
		return "sctp";
	}
	return "tcp";
}

static const char *ns_or_default(const char *ns)
{
	return ns ? ns : "default";
}

/* ---- selector peers ---------------------------------------------------------------- */

static char *selector_key(const char *ns, const struct np_peer *peer, char **comment)
{
	char *ps = peer->has_pod_sel ? selector_to_string(&peer->pod_sel) : strdup("");
	char *nss = peer->has_ns_sel ? selector_to_string(&peer->ns_sel) : strdup("");
	char *key = NULL;
	int r1 = -1, r2 = -1;
	*comment = NULL;
	if (!ps || !nss)
		goto cleanup;
	if (peer->has_ns_sel) {
		r1 = asprintf(&key, "ns|%s|%s", nss, ps);
		r2 = asprintf(comment, "%s in %s", *ps ? ps : "all pods",
			      *nss ? nss : "all namespaces");
	} else {
		r1 = asprintf(&key, "pods|%s|%s", ns, ps);
		r2 = asprintf(comment, "%s in %s", *ps ? ps : "all pods", ns);
	}
cleanup:
	if (r1 < 0)
		key = NULL;
	if (r2 < 0)
		*comment = NULL;
	if (!key || !*comment) {
		free(key);
		free(*comment);
		key = *comment = NULL;
	}
	free(ps);
	free(nss);
	return key;
}

/* Writes the decimal digits of v at p; returns the end. */
static char *put_uint(char *p, unsigned v)
{
	char tmp[12];
	int n = 0;
	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (n)
		*p++ = tmp[--n];
	return p;
}

char *cc_v4_text(uint32_t addr, char *buf)
{
	char *p = buf;
	for (int shift = 24; shift >= 0; shift -= 8) {
		p = put_uint(p, addr >> shift & 255);
		*p++ = shift ? '.' : '\0';
	}
	return p - 1;
}

/* ---- ipBlock peers ------------------------------------------------------------------- */


static unsigned ip_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

nft_u128 cc_ip_value(const struct np_ip *ip)
{
	u128 v = 0;
	for (unsigned i = 0; i < ip_bits(ip->family) / 8; i++)
		v = v << 8 | ip->addr[i];
	return v;
}

static struct nft_range cidr_range(const struct np_cidr *c)
{
	unsigned host = ip_bits(c->ip.family) - c->prefix;
	u128 mask = host >= 128 ? ~(u128)0 : ((u128)1 << host) - 1;
	u128 lo = cc_ip_value(&c->ip) & ~mask;
	return (struct nft_range){lo, lo | mask};
}

static void value_text(u128 v, int family, char *buf, size_t len)
{
	struct np_ip ip = {.family = family};
	for (int i = (int)ip_bits(family) / 8 - 1; i >= 0; i--, v >>= 8)
		ip.addr[i] = (uint8_t)v;
	ip_to_string(&ip, buf, len);
}

static unsigned popcount128(u128 v)
{
	return (unsigned)(__builtin_popcountll((unsigned long long)v) +
			  __builtin_popcountll((unsigned long long)(v >> 64)));
}

/* An interval as nft prints it: an address, a prefix, or lo-hi. */
char *cc_range_text(struct nft_range r, int family)
{
	char lo[INET6_ADDRSTRLEN], hi[INET6_ADDRSTRLEN], *out = NULL;
	u128 span = r.hi - r.lo;
	int rc;
	value_text(r.lo, family, lo, sizeof(lo));
	if (span == 0)
		return strdup(lo);
	if ((span & (span + 1)) == 0 && (r.lo & span) == 0) {
		rc = asprintf(&out, "%s/%u", lo, ip_bits(family) - popcount128(span));
	} else {
		value_text(r.hi, family, hi, sizeof(hi));
		rc = asprintf(&out, "%s-%s", lo, hi);
	}
	return rc < 0 ? NULL : out;
}

static int range_qcmp(const void *a, const void *b)
{
	const struct nft_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

int cc_ipblock_ranges(const struct np_ipblock *b, struct nft_range **out, size_t *nout)
{
	struct nft_range all = cidr_range(&b->cidr), *ex = calloc(b->nexcept + 1, sizeof(*ex));
	struct nft_range *r = calloc(b->nexcept + 2, sizeof(*r));
	size_t n = 0, nr = 0;
	int family = b->cidr.ip.family;
	bool done = false;
	if (!ex || !r) {
		free(ex);
		free(r);
		return -ENOMEM;
	}
	for (size_t i = 0; i < b->nexcept; i++) {
		if (b->except[i].ip.family != family)
			continue;
		struct nft_range x = cidr_range(&b->except[i]);
		if (x.hi < all.lo || x.lo > all.hi)
			continue;
		x.lo = x.lo < all.lo ? all.lo : x.lo;
		x.hi = x.hi > all.hi ? all.hi : x.hi;
		ex[n++] = x;
	}
	qsort(ex, n, sizeof(*ex), range_qcmp);
	u128 cur = all.lo;
	for (size_t i = 0; i < n && !done; i++) {
		if (ex[i].hi < cur)
			continue;
		if (ex[i].lo > cur)
			r[nr++] = (struct nft_range){cur, ex[i].lo - 1};
		if (ex[i].hi >= all.hi)
			done = true;
		else
			cur = ex[i].hi + 1;
	}
	if (!done)
		r[nr++] = (struct nft_range){cur, all.hi};
	free(ex);
	*out = r;
	*nout = nr;
	return 0;
}

static int cidr_text_qcmp(const void *a, const void *b)
{
	return nft_elem_cmp(*(char *const *)a, *(char *const *)b);
}

/* "ip|CIDR|E1,E2" (excepts sorted) and "CIDR except E1, E2". */
static char *ipblock_key(const struct np_ipblock *b, char **comment)
{
	struct sb k = {0}, d = {0};
	char buf[64], **ex = calloc(b->nexcept + 1, sizeof(*ex));
	char *key = NULL;
	*comment = NULL;
	if (!ex)
		return NULL;
	for (size_t i = 0; i < b->nexcept; i++)
		if (!(ex[i] = strdup(cidr_to_string(&b->except[i], buf, sizeof(buf)))))
			goto cleanup;
	qsort(ex, b->nexcept, sizeof(*ex), cidr_text_qcmp);
	cidr_to_string(&b->cidr, buf, sizeof(buf));
	sb_addf(&k, "ip|%s|", buf);
	sb_add(&d, buf);
	for (size_t i = 0; i < b->nexcept; i++) {
		sb_addf(&k, "%s%s", i ? "," : "", ex[i]);
		sb_addf(&d, "%s%s", i ? ", " : " except ", ex[i]);
	}
	key = sb_take(&k);
	*comment = sb_take(&d);
	if (!key || !*comment) {
		free(key);
		free(*comment);
		key = *comment = NULL;
	}
cleanup:
	for (size_t i = 0; i < b->nexcept; i++)
		free(ex[i]);
	free(ex);
	sb_clear(&k);
	sb_clear(&d);
	return key;
}

int cc_peer_key(const struct np_policy *pol, const struct np_peer *peer, char **key,
		char **comment)
{
	*key = *comment = NULL;
	if (peer->has_ipblock)
		*key = ipblock_key(&peer->ipblock, comment);
	else if (peer->has_pod_sel || peer->has_ns_sel)
		*key = selector_key(ns_or_default(pol->meta.namespace), peer, comment);
	else
		return 0;      /* matches nothing (validation rejects it anyway) */
	return *key ? 0 : -ENOMEM;
}

/* ---- named ports ------------------------------------------------------------------- */

/* Pods declaring a named port, with the number, for every name and
 * protocol at once: one pass over the pods for all the port sets. */

struct named_uses {
	struct cc_named_use *v;
	size_t n, cap;
};

static void named_index_free(struct smap *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		struct named_uses *u = m->keys[i] ? m->vals[i] : NULL;
		if (u)
			free(u->v);
		free(u);
	}
	smap_clear(m);
}

void cc_named_ports_clear(struct cc *c)
{
	named_index_free(&c->named_ports);
	c->named_ports_built = false;
}

static struct named_uses *named_uses_get(struct smap *m, const char *key)
{
	struct named_uses *u = smap_get(m, key);
	if (!u) {
		if (!(u = calloc(1, sizeof(*u))))
			return NULL;
		if (smap_put(m, key, u) < 0) {
			free(u);
			return NULL;
		}
	}
	return u;
}

static int named_use_add(struct named_uses *u, const struct np_pod *pod, int port)
{
	if (u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 16;
		struct cc_named_use *v = realloc(u->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		u->v = v;
		u->cap = cap;
	}
	u->v[u->n++] = (struct cc_named_use){pod, port};
	return 0;
}

/* "PROTO|NAME" -> the pods, in cluster order, with the port the name
 * resolves to (pod_resolve_named_port: the first declaration wins). Runs
 * on every compile over every pod, so the few names in use are kept at
 * hand rather than formatted and hashed for each pod. */
static int named_index_build(struct cc *c)
{
	struct {
		const char *name;
		enum np_proto proto;
		struct named_uses *u;
	} recent[8];
	size_t nrecent = 0, next = 0;
	char key[160];
	for (size_t i = 0; i < c->cl->npods; i++) {
		const struct np_pod *pod = c->cl->pods[i];
		for (size_t j = 0; j < pod->nports; j++) {
			const struct np_container_port *cp = &pod->ports[j];
			struct named_uses *u = NULL;
			bool earlier = false;
			if (!cp->name)
				continue;
			for (size_t k = 0; k < j && !earlier; k++)
				earlier = pod->ports[k].name && pod->ports[k].proto == cp->proto &&
					  strcmp(pod->ports[k].name, cp->name) == 0;
			if (earlier)
				continue;
			for (size_t k = 0; k < nrecent && !u; k++)
				if (recent[k].proto == cp->proto && strcmp(recent[k].name, cp->name) == 0)
					u = recent[k].u;
			if (!u) {
				snprintf(key, sizeof(key), "%d|%s", (int)cp->proto, cp->name);
				if (!(u = named_uses_get(&c->named_ports, key)))
					return -ENOMEM;
				recent[next].name = cp->name;
				recent[next].proto = cp->proto;
				recent[next].u = u;
				next = (next + 1) % 8;
				nrecent += nrecent < 8;
			}
			if (named_use_add(u, pod, cp->port) < 0)
				return -ENOMEM;
		}
	}
	c->named_ports_built = true;
	return 0;
}

int cc_named_uses(struct cc *c, const char *name, enum np_proto proto,
		  const struct cc_named_use **out, size_t *n)
{
	struct named_uses *u;
	char key[160];
	*out = NULL;
	*n = 0;
	if (!c->named_ports_built && named_index_build(c) < 0)
		return -ENOMEM;
	/* a longer key than any in the index: no pod declares it (container
	 * port names are at most 15 characters) */
	if (snprintf(key, sizeof(key), "%d|%s", (int)proto, name) >= (int)sizeof(key) ||
	    !(u = smap_get(&c->named_ports, key)))
		return 0;
	*out = u->v;
	*n = u->n;
	return 0;
}
