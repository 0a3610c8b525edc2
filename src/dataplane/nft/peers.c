/* peers: the named sets of a program. One set (per address family) for
 * each distinct peer, whatever number of policies and rules use it; one
 * interval set per distinct ipBlock with its excepts carved out, so that
 * a packet costs one lookup; one set of address . port per named port. */
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

/* ---- naming ------------------------------------------------------------------ */

/* The hash part of the names of key's sets: 16 hex digits of its hash,
 * with "-N" added in the (unlikely) case that another key has it. */
static const char *peer_name(struct cc *c, const char *key, bool *fresh)
{
	char *name = smap_get(&c->peer_names, key);
	char buf[40];
	*fresh = false;
	if (name)
		return name;
	snprintf(buf, sizeof(buf), "%016llx", (unsigned long long)nft_hash(key));
	for (int i = 2; smap_get(&c->name_keys, buf); i++) {
		snprintf(buf, sizeof(buf), "%016llx-%d", (unsigned long long)nft_hash(key), i);
		incr_collision(c);
	}
	char *k = strdup(key);
	if (!k || !(name = strdup(buf)) || smap_put(&c->name_keys, buf, k) < 0) {
		free(k);
		free(name);
		return NULL;
	}
	if (smap_put(&c->peer_names, key, name) < 0) {
		free(name);
		return NULL;     /* k stays owned by name_keys */
	}
	*fresh = true;
	return name;
}

/* Adds a new set to the program and the name index. */
static struct nft_set *add_set(struct cc *c, const char *name, const char *type,
			       const char *flags, const char *comment)
{
	struct nft_set *s = nft_set_new(name, false, type, flags, comment);
	if (!s || nft_prog_add_set(c->p, s) < 0)
		return NULL;
	if (smap_put(&c->sets, s->name, s) < 0)
		return NULL;     /* s is owned by the program already */
	return s;
}

static int add_ip(struct nft_set *s, const struct np_ip *ip, const char *suffix)
{
	char buf[INET6_ADDRSTRLEN + 16], *e;
	ip_to_string(ip, buf, sizeof(buf));
	if (asprintf(&e, "%s%s", buf, suffix ? suffix : "") < 0)
		return -ENOMEM;
	return nft_set_add_elem(s, e);
}

static int add_ip_port(struct nft_set *s, const struct np_ip *ip, int port)
{
	char suffix[16];
	snprintf(suffix, sizeof(suffix), " . %d", port);
	return add_ip(s, ip, suffix);
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

/* IPv4 elements, "A.B.C.D" or "A.B.C.D . PORT": sorted as numbers they
 * come out in the order nft_elem_cmp gives their text, so the set needs no
 * text sort (the cost of a compile is mostly its set elements). */
struct v4elem {
	uint32_t addr;
	int port;           /* -1: none */
};

struct v4list {
	struct v4elem *v;
	size_t n, cap;
};

static int v4_push(struct v4list *l, const struct np_ip *ip, int port)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct v4elem *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct v4elem){(uint32_t)ip->addr[0] << 24 | (uint32_t)ip->addr[1] << 16 |
					       (uint32_t)ip->addr[2] << 8 | ip->addr[3], port};
	return 0;
}

static int v4_qcmp(const void *a, const void *b)
{
	const struct v4elem *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return (x->port > y->port) - (x->port < y->port);
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

/* "A.B.C.D" or "A.B.C.D . PORT" as a new string (snprintf would be most
 * of the cost of a compile: there is one per address of the node's peers). */
static char *v4_text(const struct v4elem *e, char buf[32])
{
	char *p = buf;
	for (int shift = 24; shift >= 0; shift -= 8) {
		p = put_uint(p, e->addr >> shift & 255);
		*p++ = shift ? '.' : '\0';
	}
	if (e->port >= 0) {
		memcpy(p - 1, " . ", 3);
		p = put_uint(p + 2, (unsigned)e->port);
		*p++ = '\0';
	}
	return strndup(buf, (size_t)(p - buf));
}

/* Sorts like v4_qcmp, in linear time: a named port's set holds every pod
 * that declares it, and a changed pod rebuilds it. Key: address, then
 * port + 1 (17 bits; -1, no port, first), least significant byte first. */
static int v4_radix(struct v4list *l)
{
	struct v4elem *tmp = malloc(l->n * sizeof(*tmp)), *a = l->v, *b = tmp;
	if (!tmp)
		return -ENOMEM;
	for (int shift = 0; shift < 49; shift += 8) {
		size_t count[257] = {0};
		for (size_t i = 0; i < l->n; i++)
			count[((uint64_t)a[i].addr << 17 | (uint64_t)(a[i].port + 1)) >> shift & 255]++;
		if (count[((uint64_t)a[0].addr << 17 | (uint64_t)(a[0].port + 1)) >> shift & 255] == l->n)
			continue;   /* one digit for all: nothing to move */
		for (size_t i = 0, sum = 0; i < 256; i++) {
			size_t c = count[i];
			count[i] = sum;
			sum += c;
		}
		for (size_t i = 0; i < l->n; i++)
			b[count[((uint64_t)a[i].addr << 17 | (uint64_t)(a[i].port + 1)) >> shift & 255]++] = a[i];
		struct v4elem *t = a;
		a = b;
		b = t;
	}
	if (a != l->v)
		memcpy(l->v, a, l->n * sizeof(*a));
	free(tmp);
	return 0;
}

/* Appends l's elements, sorted and unique, to s (empty before: else the
 * set is sorted as text later, as usual). Frees l's storage. */
static int v4_flush(struct nft_set *s, struct v4list *l)
{
	int err = 0;
	bool fresh = s->nelems == 0;
	if (l->n >= 512 && v4_radix(l) == 0)
		;   /* sorted */
	else if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), v4_qcmp);
	for (size_t i = 0; i < l->n && !err; i++) {
		const struct v4elem *e = &l->v[i];
		char buf[32];
		if (i && v4_qcmp(e, e - 1) == 0)
			continue;
		err = nft_set_add_elem(s, v4_text(e, buf));
	}
	s->in_order = fresh && !err;
	free(l->v);
	memset(l, 0, sizeof(*l));
	return err;
}

/* A set's elements from its members: IPv4 sorted as numbers, IPv6 as
 * text (nft_set_finish). */
static int fill_members(struct nft_set *s, int family, const struct incr_members *m)
{
	struct v4list l4 = {0};
	int err = 0;
	for (size_t i = 0; i < m->n && !err; i++) {
		const struct incr_member *e = &m->v[i];
		if (family == AF_INET)
			err = v4_push(&l4, &e->ip, e->port);
		else
			err = e->port >= 0 ? add_ip_port(s, &e->ip, e->port) : add_ip(s, &e->ip, NULL);
	}
	if (!err && family == AF_INET)
		return v4_flush(s, &l4);
	free(l4.v);
	return err;
}

/* The set name of the last program when its members are the same, else
 * a new one filled from them. */
static int members_set(struct cc *c, const char *name, const char *key, const char *type,
		       const char *flags, const char *comment, int family,
		       const struct incr_members *m)
{
	struct nft_set *s = c->memo ? incr_set_reuse(c, name, key, m) : NULL;
	int err;
	if (s)
		return 0;
	if (!(s = add_set(c, name, type, flags, comment)))
		return -ENOMEM;
	if ((err = fill_members(s, family, m)) < 0)
		return err;
	return c->memo ? incr_set_keep(c, name, key, m, s) : 0;
}

static int selector_members(struct cc *c, const struct np_policy *pol,
			    const struct np_peer *peer, struct incr_members *m4,
			    struct incr_members *m6)
{
	const struct np_pod *const *pods;
	size_t n = engine_peer_pods(c->e, pol, peer, &pods);
	int err = 0;
	for (size_t i = 0; i < n && !err; i++)
		for (size_t j = 0; j < pods[i]->nips && !err; j++) {
			const struct np_ip *ip = &pods[i]->ips[j];
			err = incr_members_push(ip->family == AF_INET ? m4 : m6, ip, -1);
		}
	return err;
}

static int selector_sets(struct cc *c, const struct np_policy *pol, const struct np_peer *peer,
			 const char *key, const char *comment, const char **v4, const char **v6)
{
	char n4[64], n6[64];
	const char *h;
	bool fresh;
	struct incr_members m4 = {0}, m6 = {0};
	int err = -ENOMEM;
	if (!key || !(h = peer_name(c, key, &fresh)))
		goto cleanup;
	snprintf(n4, sizeof(n4), "sel4-%s", h);
	snprintf(n6, sizeof(n6), "sel6-%s", h);
	if (fresh && ((err = selector_members(c, pol, peer, &m4, &m6)) < 0 ||
		      (err = members_set(c, n4, key, "ipv4_addr", NULL, comment, AF_INET, &m4)) < 0 ||
		      (err = members_set(c, n6, key, "ipv6_addr", NULL, comment, AF_INET6, &m6)) < 0))
		goto cleanup;
	*v4 = ((struct nft_set *)smap_get(&c->sets, n4))->name;
	*v6 = ((struct nft_set *)smap_get(&c->sets, n6))->name;
	err = 0;
cleanup:
	free(m4.v);
	free(m6.v);
	return err;
}

/* ---- ipBlock peers ------------------------------------------------------------------- */

struct range {
	u128 lo, hi;
};

static unsigned ip_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

static u128 ip_value(const struct np_ip *ip)
{
	u128 v = 0;
	for (unsigned i = 0; i < ip_bits(ip->family) / 8; i++)
		v = v << 8 | ip->addr[i];
	return v;
}

static struct range cidr_range(const struct np_cidr *c)
{
	unsigned host = ip_bits(c->ip.family) - c->prefix;
	u128 mask = host >= 128 ? ~(u128)0 : ((u128)1 << host) - 1;
	u128 lo = ip_value(&c->ip) & ~mask;
	return (struct range){lo, lo | mask};
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
static char *range_text(struct range r, int family)
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
	const struct range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The block minus its excepts, as disjoint intervals in address order. */
static int carve(struct nft_set *s, const struct np_ipblock *b)
{
	struct range all = cidr_range(&b->cidr), *ex = calloc(b->nexcept + 1, sizeof(*ex));
	size_t n = 0;
	int family = b->cidr.ip.family, err = 0;
	bool done = false;
	if (!ex)
		return -ENOMEM;
	for (size_t i = 0; i < b->nexcept; i++) {
		if (b->except[i].ip.family != family)
			continue;
		struct range r = cidr_range(&b->except[i]);
		if (r.hi < all.lo || r.lo > all.hi)
			continue;
		r.lo = r.lo < all.lo ? all.lo : r.lo;
		r.hi = r.hi > all.hi ? all.hi : r.hi;
		ex[n++] = r;
	}
	qsort(ex, n, sizeof(*ex), range_qcmp);
	u128 cur = all.lo;
	for (size_t i = 0; i < n && !done && !err; i++) {
		if (ex[i].hi < cur)
			continue;
		if (ex[i].lo > cur)
			err = nft_set_add_elem(s, range_text((struct range){cur, ex[i].lo - 1}, family));
		if (ex[i].hi >= all.hi)
			done = true;
		else
			cur = ex[i].hi + 1;
	}
	if (!done && !err)
		err = nft_set_add_elem(s, range_text((struct range){cur, all.hi}, family));
	free(ex);
	return err;
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

static int ipblock_set(struct cc *c, const struct np_ipblock *b, const char *key,
		       const char *comment, const char **v4, const char **v6)
{
	char name[64];
	bool v6fam = b->cidr.ip.family == AF_INET6, fresh;
	const char *h;
	int err = -ENOMEM;
	if (!key || !(h = peer_name(c, key, &fresh)))
		goto cleanup;
	snprintf(name, sizeof(name), "cidr%c-%s", v6fam ? '6' : '4', h);
	if (fresh) {
		/* the key says it all: no members */
		struct incr_members none = {0};
		struct nft_set *s = c->memo ? incr_set_reuse(c, name, key, &none) : NULL;
		if (!s) {
			s = add_set(c, name, v6fam ? "ipv6_addr" : "ipv4_addr", "interval", comment);
			if (!s || (err = carve(s, b)) < 0 ||
			    (c->memo && (err = incr_set_keep(c, name, key, &none, s)) < 0))
				goto cleanup;
		}
	}
	*(v6fam ? v6 : v4) = ((struct nft_set *)smap_get(&c->sets, name))->name;
	err = 0;
cleanup:
	return err;
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

int cc_peer_sets_keyed(struct cc *c, const struct np_policy *pol, const struct np_peer *peer,
		       const char *key, const char *comment, const char **v4, const char **v6)
{
	*v4 = *v6 = NULL;
	if (!key)
		return 0;
	if (peer->has_ipblock)
		return ipblock_set(c, &peer->ipblock, key, comment, v4, v6);
	return selector_sets(c, pol, peer, key, comment, v4, v6);
}

int cc_peer_sets(struct cc *c, const struct np_policy *pol, const struct np_peer *peer,
		 const char **v4, const char **v6)
{
	char *key, *comment;
	int err = cc_peer_key(pol, peer, &key, &comment);
	if (!err)
		err = cc_peer_sets_keyed(c, pol, peer, key, comment, v4, v6);
	free(key);
	free(comment);
	return err;
}

/* ---- named ports ------------------------------------------------------------------- */

/* Port names are IANA service names ([a-z0-9-], at most 15): they fit in a
 * set name as they are; anything else is named by its hash. */
static void port_set_name(char *buf, size_t len, const char *name, enum np_proto proto,
			  int family)
{
	bool plain = strlen(name) <= 15 && name[0];
	for (const char *p = name; *p && plain; p++)
		plain = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-';
	if (plain)
		snprintf(buf, len, "port%d-%s-%s", family == AF_INET ? 4 : 6, name, nft_proto(proto));
	else
		snprintf(buf, len, "port%d-h%016llx-%s", family == AF_INET ? 4 : 6,
			 (unsigned long long)nft_hash(name), nft_proto(proto));
}

/* Pods declaring a named port, with the number, for every name and
 * protocol at once: one pass over the pods for all the port sets. */
struct named_use {
	const struct np_pod *pod;
	int port;
};

struct named_uses {
	struct named_use *v;
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
		struct named_use *v = realloc(u->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		u->v = v;
		u->cap = cap;
	}
	u->v[u->n++] = (struct named_use){pod, port};
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

static int port_members(struct cc *c, const char *name, enum np_proto proto, int family,
			struct incr_members *m)
{
	struct named_uses *u;
	char key[160];
	int err = 0;
	if (!c->named_ports_built && named_index_build(c) < 0)
		return -ENOMEM;
	if (snprintf(key, sizeof(key), "%d|%s", (int)proto, name) >= (int)sizeof(key))
		/* longer than any index key: no pod declares it (names are
		 * checked to be short); resolve the slow way to be exact */
		u = NULL;
	else if (!(u = smap_get(&c->named_ports, key)))
		return 0;
	for (size_t i = 0; !u && i < c->cl->npods && !err; i++) {
		const struct np_pod *pod = c->cl->pods[i];
		int port = pod_resolve_named_port(pod, name, proto);
		for (size_t j = 0; port >= 0 && j < pod->nips && !err; j++)
			if (pod->ips[j].family == family)
				err = incr_members_push(m, &pod->ips[j], port);
	}
	for (size_t i = 0; u && i < u->n && !err; i++) {
		const struct np_pod *pod = u->v[i].pod;
		for (size_t j = 0; j < pod->nips && !err; j++)
			if (pod->ips[j].family == family)
				err = incr_members_push(m, &pod->ips[j], u->v[i].port);
	}
	return err;
}

int cc_port_set(struct cc *c, const char *name, enum np_proto proto, int family,
		const char **out)
{
	char sname[96], comment[96], *key = NULL;
	struct incr_members m = {0};
	struct nft_set *s;
	int err = 0;
	port_set_name(sname, sizeof(sname), name, proto, family);
	s = smap_get(&c->sets, sname);
	if (!s) {
		snprintf(comment, sizeof(comment), "named port %s/%s", name, proto_name(proto));
		if (asprintf(&key, "port|%d|%d|%s", (int)proto, family, name) < 0) {
			key = NULL;
			err = -ENOMEM;
		}
		if (!err)
			err = port_members(c, name, proto, family, &m);
		if (!err)
			err = members_set(c, sname, key, family == AF_INET ? "ipv4_addr . inet_service"
									   : "ipv6_addr . inet_service",
					  NULL, comment, family, &m);
		free(key);
		free(m.v);
		if (err < 0)
			return err;
		s = smap_get(&c->sets, sname);
	}
	*out = s->name;
	return 0;
}
