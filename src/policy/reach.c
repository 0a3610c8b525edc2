/* reach: the whole verdict matrix at once, with bitsets over the pods.
 *
 * Per port: each destination d gets a row I[d] of the sources its ingress
 * admits, each source s a row E[s] of the destinations its egress admits;
 * allowed[s][d] = E[s][d] & I[d][s], i.e. E[s] & transpose(I)[s]. A row
 * is the OR of precomputed rule rows (the OR of the rule's peer sets), so
 * the cost is about pods x selecting policies x words, not pods^2 x rules.
 * Named ports are the one thing that depends on the destination: for
 * ingress they are checked per destination pod, for egress they become a
 * mask of the destinations declaring that name on that number. */
#include "policy_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct named {
	int *resolved;        /* per matrix pod: number, or -1 */
	uint64_t *bits;       /* pods where resolved == ports[port_k] */
	size_t port_k;
	bool have_bits;
};

struct rpol {
	const struct pol_entry *pe;
	uint64_t *ingu, *egu;      /* rule rows: [rule][word] */
	uint64_t *in_static;       /* this port: OR of ingress rules matching by number */
	uint64_t *eg_bits;         /* this port: what egress allows */
	bool in_named;             /* this port: some ingress rule needs a name resolved */
};

struct reach {
	struct engine *e;
	const struct np_port *ports;
	size_t npods, words;
	struct pod_entry **pes;    /* by matrix index */
	uint64_t *all;             /* every pod */
	size_t nsets;
	uint64_t *setbits;         /* [set rid][word] */
	size_t npols;
	struct rpol *pols;
	uint64_t *pool;            /* rows of the rpols */
	struct hmap named;         /* "proto/name" -> struct named */
	uint64_t *in, *in_t, *tmp; /* I, transpose(I), one scratch row */
};

static inline void row_or(uint64_t *dst, const uint64_t *src, size_t w)
{
	for (size_t i = 0; i < w; i++)
		dst[i] |= src[i];
}

static inline void row_and(uint64_t *dst, const uint64_t *a, const uint64_t *b, size_t w)
{
	for (size_t i = 0; i < w; i++)
		dst[i] = a[i] & b[i];
}

static inline void bit_set(uint64_t *row, size_t i)
{
	row[i / 64] |= 1ULL << (i % 64);
}

/* ---- setup ------------------------------------------------------------------- */

static int map_pods(struct reach *r, const struct np_cluster *cl)
{
	struct hmap_iter it = HMAP_ITER(&r->e->pods);
	void *v;
	/* Index entries that the matrix does not show stay out of every row. */
	while (hmap_next(&it, NULL, &v))
		((struct pod_entry *)v)->rid = SIZE_MAX;
	for (size_t i = 0; i < cl->npods; i++) {
		r->pes[i] = index_pod(r->e, cl->pods[i]);
		if (!r->pes[i])
			return -ESTALE;   /* the caller did not tell us about this pod */
		r->pes[i]->rid = i;
		bit_set(r->all, i);
	}
	return 0;
}

static int map_sets(struct reach *r)
{
	struct hmap_iter it = HMAP_ITER(&r->e->psets);
	void *v;
	size_t k = 0;
	r->nsets = r->e->psets.n;
	r->setbits = calloc(r->nsets * r->words + 1, sizeof(uint64_t));
	if (!r->setbits)
		return -ENOMEM;
	while (hmap_next(&it, NULL, &v)) {
		struct pset *ps = v;
		uint64_t *row = &r->setbits[k * r->words];
		ps->rid = k++;
		for (size_t i = 0; i < ps->n; i++)
			if (ps->m[i]->rid != SIZE_MAX)
				bit_set(row, ps->m[i]->rid);
	}
	return 0;
}

static void rule_row(struct reach *r, const struct rule_psets *rp, size_t npeers, uint64_t *row)
{
	if (npeers == 0) {
		memcpy(row, r->all, r->words * sizeof(*row));
		return;
	}
	for (size_t i = 0; i < rp->n; i++)
		if (rp->peers[i])
			row_or(row, &r->setbits[rp->peers[i]->rid * r->words], r->words);
}

static int map_policies(struct reach *r)
{
	struct hmap_iter it = HMAP_ITER(&r->e->pols);
	size_t nrows = 0, k = 0;
	void *v;
	r->npols = r->e->pols.n;
	r->pols = calloc(r->npols + 1, sizeof(*r->pols));
	if (!r->pols)
		return -ENOMEM;
	while (hmap_next(&it, NULL, &v)) {
		struct pol_entry *pe = v;
		pe->rid = k;
		r->pols[k++].pe = pe;
		nrows += pe->ning + pe->neg + 2;
	}
	r->pool = calloc(nrows * r->words + 1, sizeof(uint64_t));
	if (!r->pool)
		return -ENOMEM;
	uint64_t *p = r->pool;
	for (k = 0; k < r->npols; k++) {
		struct rpol *rp = &r->pols[k];
		const struct pol_entry *pe = rp->pe;
		rp->ingu = p;
		for (size_t i = 0; i < pe->ning; i++, p += r->words)
			rule_row(r, &pe->ing[i], pe->pol->ingress[i].npeers, p);
		rp->egu = p;
		for (size_t i = 0; i < pe->neg; i++, p += r->words)
			rule_row(r, &pe->eg[i], pe->pol->egress[i].npeers, p);
		rp->in_static = p;
		p += r->words;
		rp->eg_bits = p;
		p += r->words;
	}
	return 0;
}

/* ---- named ports --------------------------------------------------------------- */

static void named_free(void *p)
{
	struct named *n = p;
	if (!n)
		return;
	free(n->resolved);
	free(n->bits);
	free(n);
}

static struct named *named_get(struct reach *r, const struct np_port_spec *spec)
{
	char key[320];
	snprintf(key, sizeof(key), "%d/%s", (int)spec->proto, spec->name);
	struct named *n = hmap_get(&r->named, key);
	if (n)
		return n;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->resolved = calloc(r->npods + 1, sizeof(*n->resolved));
	n->bits = calloc(r->words + 1, sizeof(*n->bits));
	if (!n->resolved || !n->bits || hmap_put(&r->named, key, n) < 0) {
		named_free(n);
		return NULL;
	}
	for (size_t i = 0; i < r->npods; i++)
		n->resolved[i] = pod_resolve_named_port(r->pes[i]->pod, spec->name, spec->proto);
	return n;
}

/* The destinations on which spec names port k. */
static const uint64_t *named_bits(struct reach *r, const struct np_port_spec *spec, size_t k)
{
	struct named *n = named_get(r, spec);
	if (!n)
		return NULL;
	if (!n->have_bits || n->port_k != k) {
		memset(n->bits, 0, r->words * sizeof(*n->bits));
		for (size_t i = 0; i < r->npods; i++)
			if (n->resolved[i] == r->ports[k].port)
				bit_set(n->bits, i);
		n->port_k = k;
		n->have_bits = true;
	}
	return n->bits;
}

/* ---- one port --------------------------------------------------------------------- */

/* Whether rule ru matches port without resolving a name. */
static bool rule_static_match(const struct np_rule *ru, struct np_port port)
{
	if (ru->nports == 0)
		return true;
	for (size_t i = 0; i < ru->nports; i++)
		if (ru->ports[i].kind != PORT_NAMED && port_spec_matches(&ru->ports[i], port, NULL))
			return true;
	return false;
}

static bool rule_has_named(const struct np_rule *ru, struct np_port port)
{
	for (size_t i = 0; i < ru->nports; i++)
		if (ru->ports[i].kind == PORT_NAMED && ru->ports[i].proto == port.proto)
			return true;
	return false;
}

static int prepare_egress(struct reach *r, struct rpol *rp, size_t k)
{
	const struct np_policy *pol = rp->pe->pol;
	struct np_port port = r->ports[k];
	memset(rp->eg_bits, 0, r->words * sizeof(uint64_t));
	for (size_t i = 0; i < rp->pe->neg; i++) {
		const struct np_rule *ru = &pol->egress[i];
		const uint64_t *u = &rp->egu[i * r->words];
		if (rule_static_match(ru, port)) {
			row_or(rp->eg_bits, u, r->words);
			continue;
		}
		memset(r->tmp, 0, r->words * sizeof(uint64_t));
		for (size_t j = 0; j < ru->nports; j++) {
			const struct np_port_spec *s = &ru->ports[j];
			if (s->kind != PORT_NAMED || s->proto != port.proto || !s->name)
				continue;
			const uint64_t *nb = named_bits(r, s, k);
			if (!nb)
				return -ENOMEM;
			row_or(r->tmp, nb, r->words);
		}
		for (size_t w = 0; w < r->words; w++)
			rp->eg_bits[w] |= u[w] & r->tmp[w];
	}
	return 0;
}

static void prepare_ingress(struct reach *r, struct rpol *rp, size_t k)
{
	const struct np_policy *pol = rp->pe->pol;
	memset(rp->in_static, 0, r->words * sizeof(uint64_t));
	rp->in_named = false;
	for (size_t i = 0; i < rp->pe->ning; i++) {
		const struct np_rule *ru = &pol->ingress[i];
		if (rule_static_match(ru, r->ports[k]))
			row_or(rp->in_static, &rp->ingu[i * r->words], r->words);
		else if (rule_has_named(ru, r->ports[k]))
			rp->in_named = true;
	}
}

/* Ingress rules of rp that match port k only through a name, on dst. */
static void ingress_named(struct reach *r, const struct rpol *rp, size_t k,
			  const struct np_pod *dst, uint64_t *row)
{
	const struct np_policy *pol = rp->pe->pol;
	for (size_t i = 0; i < rp->pe->ning; i++) {
		const struct np_rule *ru = &pol->ingress[i];
		if (rule_static_match(ru, r->ports[k]))
			continue;
		for (size_t j = 0; j < ru->nports; j++) {
			if (port_spec_matches(&ru->ports[j], r->ports[k], dst)) {
				row_or(row, &rp->ingu[i * r->words], r->words);
				break;
			}
		}
	}
}

/* The row of sources (ingress) or destinations (egress) pod d admits. */
static void admit_row(struct reach *r, size_t d, size_t k, bool egress, uint64_t *row)
{
	const struct pod_entry *pe = r->pes[d];
	bool isolated = false;
	memset(row, 0, r->words * sizeof(*row));
	for (size_t i = 0; i < pe->nsel; i++) {
		const struct rpol *rp = &r->pols[pe->selp[i]->rid];
		if (!(egress ? rp->pe->pol->egress_type : rp->pe->pol->ingress_type))
			continue;
		isolated = true;
		row_or(row, egress ? rp->eg_bits : rp->in_static, r->words);
		if (!egress && rp->in_named)
			ingress_named(r, rp, k, pe->pod, row);
	}
	if (!isolated)
		memcpy(row, r->all, r->words * sizeof(*row));
}

/* Transposes a 64x64 bit block in place: bit c of a[r] <-> bit r of a[c]. */
static void transpose64(uint64_t a[64])
{
	uint64_t m = 0x00000000FFFFFFFFULL;
	for (int j = 32; j != 0; j >>= 1, m ^= m << j) {
		for (int k = 0; k < 64; k = ((k | j) + 1) & ~j) {
			uint64_t t = ((a[k] >> j) ^ a[k | j]) & m;
			a[k] ^= t << j;
			a[k | j] ^= t;
		}
	}
}

static void transpose(const struct reach *r, const uint64_t *in, uint64_t *out)
{
	uint64_t blk[64];
	for (size_t bd = 0; bd < r->words; bd++) {
		for (size_t bs = 0; bs < r->words; bs++) {
			for (size_t i = 0; i < 64; i++) {
				size_t d = bd * 64 + i;
				blk[i] = d < r->npods ? in[d * r->words + bs] : 0;
			}
			transpose64(blk);
			for (size_t j = 0; j < 64; j++) {
				size_t s = bs * 64 + j;
				if (s < r->npods)
					out[s * r->words + bd] = blk[j];
			}
		}
	}
}

static int reach_port(struct reach *r, size_t k, uint64_t *bits)
{
	for (size_t i = 0; i < r->npols; i++) {
		if (prepare_egress(r, &r->pols[i], k) < 0)
			return -ENOMEM;
		prepare_ingress(r, &r->pols[i], k);
	}
	for (size_t d = 0; d < r->npods; d++)
		admit_row(r, d, k, false, &r->in[d * r->words]);
	transpose(r, r->in, r->in_t);
	for (size_t s = 0; s < r->npods; s++) {
		uint64_t *row = &bits[s * r->words];
		admit_row(r, s, k, true, r->tmp);
		row_and(row, r->tmp, &r->in_t[s * r->words], r->words);
	}
	return 0;
}

/* ---- entry points -------------------------------------------------------------------- */

static void reach_clear(struct reach *r)
{
	free(r->pes);
	free(r->all);
	free(r->setbits);
	free(r->pols);
	free(r->pool);
	free(r->in);
	free(r->in_t);
	free(r->tmp);
	hmap_clear(&r->named, named_free);
}

static int reach_setup(struct reach *r, struct engine *e, const struct np_port *ports)
{
	const struct np_cluster *cl = e->cl;
	int err;
	r->e = e;
	r->ports = ports;
	r->npods = cl->npods;
	r->words = (cl->npods + 63) / 64;
	hmap_init(&r->named, true);
	r->pes = calloc(r->npods + 1, sizeof(*r->pes));
	r->all = calloc(r->words + 1, sizeof(*r->all));
	r->tmp = calloc(r->words + 1, sizeof(*r->tmp));
	r->in = calloc(r->npods * r->words + 1, sizeof(*r->in));
	r->in_t = calloc(r->npods * r->words + 1, sizeof(*r->in_t));
	if (!r->pes || !r->all || !r->tmp || !r->in || !r->in_t)
		return -ENOMEM;
	if ((err = map_pods(r, cl)) < 0 || (err = index_refresh_selection(e)) < 0 ||
	    (err = map_sets(r)) < 0 || (err = map_policies(r)) < 0)
		return err;
	return 0;
}

static struct np_matrix *matrix_new(const struct np_cluster *cl, const struct np_port *ports,
				    size_t nports)
{
	struct np_matrix *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->npods = cl->npods;
	m->nports = nports;
	m->words = (cl->npods + 63) / 64;
	m->pods = calloc(cl->npods + 1, sizeof(*m->pods));
	m->ports = calloc(nports + 1, sizeof(*m->ports));
	m->bits = calloc(nports * cl->npods * m->words + 1, sizeof(*m->bits));
	if (!m->pods || !m->ports || !m->bits) {
		matrix_free(m);
		return NULL;
	}
	for (size_t i = 0; i < cl->npods; i++)
		m->pods[i] = cl->pods[i];
	if (nports)
		memcpy(m->ports, ports, nports * sizeof(*ports));
	return m;
}

int engine_reach(struct engine *e, const struct np_port *ports, size_t nports,
		 struct np_matrix **out)
{
	struct reach r = {0};
	struct np_matrix *m = matrix_new(e->cl, ports, nports);
	int err = m ? 0 : -ENOMEM;
	*out = NULL;
	if (!err)
		err = reach_setup(&r, e, m->ports);
	for (size_t k = 0; !err && k < nports; k++)
		err = reach_port(&r, k, &m->bits[k * m->npods * m->words]);
	reach_clear(&r);
	if (err) {
		matrix_free(m);
		return err;
	}
	*out = m;
	return 0;
}

bool matrix_allowed(const struct np_matrix *m, size_t port, size_t src, size_t dst)
{
	const uint64_t *row = &m->bits[(port * m->npods + src) * m->words];
	return (row[dst / 64] >> (dst % 64)) & 1;
}

void matrix_free(struct np_matrix *m)
{
	if (!m)
		return;
	free(m->pods);
	free(m->ports);
	free(m->bits);
	free(m);
}

static int port_cmp(const void *a, const void *b)
{
	const struct np_port *x = a, *y = b;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return (x->port > y->port) - (x->port < y->port);
}

/* A growing list of ports. */
struct port_list {
	struct np_port *v;
	size_t n, cap;
	int err;
};

static void port_list_add(struct port_list *l, int port, enum np_proto proto)
{
	struct np_port *grown = l->err ? NULL : vec_grow(l->v, &l->cap, l->n + 1, sizeof(*l->v));
	if (!grown) {
		l->err = -ENOMEM;
		return;
	}
	l->v = grown;
	l->v[l->n++] = (struct np_port){port, proto};
}

/* A Service sends to its targetPort (the port itself when none is
 * written); a named one resolves to a containerPort, listed already. */
static void service_ports(struct port_list *l, const struct np_service *svc)
{
	for (size_t j = 0; j < svc->nports; j++) {
		const struct np_service_port *sp = &svc->ports[j];
		if (!sp->target_port_name)
			port_list_add(l, sp->target_port ? sp->target_port : sp->port, sp->proto);
	}
}

/* The numbers the rules of a policy name (a range by its first port). */
static void policy_ports(struct port_list *l, const struct np_policy *pol)
{
	for (int egress = 0; egress < 2; egress++) {
		const struct np_rule *rules = egress ? pol->egress : pol->ingress;
		size_t nrules = egress ? pol->negress : pol->ningress;
		for (size_t r = 0; r < nrules; r++)
			for (size_t k = 0; k < rules[r].nports; k++)
				if (rules[r].ports[k].kind == PORT_NUMBER)
					port_list_add(l, rules[r].ports[k].port, rules[r].ports[k].proto);
	}
}

int cluster_ports(const struct np_cluster *cl, struct np_port **out, size_t *n)
{
	struct port_list l = {0};
	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < cl->npods; i++)
		for (size_t j = 0; j < cl->pods[i]->nports; j++)
			port_list_add(&l, cl->pods[i]->ports[j].port, cl->pods[i]->ports[j].proto);
	for (size_t i = 0; i < cl->nservices; i++)
		service_ports(&l, cl->services[i]);
	for (size_t i = 0; i < cl->npolicies; i++)
		policy_ports(&l, cl->policies[i]);
	if (!l.err && !l.v && !(l.v = calloc(1, sizeof(*l.v))))
		l.err = -ENOMEM;    /* *out is an array even when empty */
	if (l.err) {
		free(l.v);
		return l.err;
	}
	qsort(l.v, l.n, sizeof(*l.v), port_cmp);
	size_t u = 0;
	for (size_t i = 0; i < l.n; i++)
		if (u == 0 || port_cmp(&l.v[u - 1], &l.v[i]) != 0)
			l.v[u++] = l.v[i];
	*out = l.v;
	*n = u;
	return 0;
}
