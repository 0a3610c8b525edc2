/* The compiled program against the engine, without a kernel: a small
 * interpreter of struct nft_prog (sim.c: sets with their element texts,
 * chains with their rule texts, nft's jump/goto/return semantics) runs every flow of
 * random clusters as the node would see it, and must reach the verdict
 * engine_evaluate gives for the directions this node enforces, with the
 * packet counted on exactly the rule (or iso element) that
 * nft_prog_attribute names for the engine's verdict.
 *
 * The interpreter knows exactly the shapes the compiler emits (compile.c):
 * a rule text or a set type it does not know makes the test fail, so a new
 * shape cannot be skipped silently. It also refuses what nft itself would
 * refuse or leave ambiguous: a range in a map without "flags interval",
 * two elements of one map that overlap, a jump to a missing chain. */
#include "unit.h"
#include "case.h"
#include "sim.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* ==== flows ================================================================ */

/* unit_rnd (tests/unit): a seed gives the same cluster (and sample of
 * flows) anywhere */

static u128 ip_u128(const struct np_ip *ip)
{
	u128 v = 0;
	for (int i = 0; i < (ip->family == AF_INET ? 4 : 16); i++)
		v = v << 8 | ip->addr[i];
	return v;
}

/* Addresses outside the pods, as sources and destinations: in and out of
 * the blocks the generator and the golden cases use. */
static const char *const outside_addrs[] = {
	"203.0.113.5", "203.0.113.200", "198.18.250.9", "192.0.2.7",  "8.8.8.8",
	"10.0.9.99",   "2001:db8:1::99", "2001:db8:7::1", "2001:db9::1", "2001:db8:3:ff::9",
	"fd00::99",
};
#define NOUTSIDE (sizeof(outside_addrs) / sizeof(*outside_addrs))

/* Addresses at the edges of the ipBlocks of the cluster's policies (first,
 * last, and their neighbours outside, for every cidr and except), where
 * the compiler cuts the address space into classes: up to MAX_EDGES of
 * them, a random choice when there are more. */
#define MAX_EDGES 12

static struct np_ip ip_of(u128 v, int family)
{
	struct np_ip ip = {.family = family};
	for (int i = (family == AF_INET ? 4 : 16) - 1; i >= 0; i--, v >>= 8)
		ip.addr[i] = (uint8_t)v;
	return ip;
}

static void edge_add(struct np_ip *v, size_t *n, size_t cap, const struct np_cidr *c)
{
	unsigned bits = c->ip.family == AF_INET ? 32 : 128;
	u128 top = bits == 32 ? ((u128)1 << 32) - 1 : ~(u128)0;
	u128 host = c->prefix == 0 ? top : c->prefix >= bits ? 0 : top >> c->prefix;
	u128 lo = ip_u128(&c->ip) & ~host & top, hi = lo | host;
	u128 pts[4] = {lo, hi, lo - 1, hi + 1};
	bool ok[4] = {true, true, lo > 0, hi < top};
	for (int i = 0; i < 4; i++) {
		if (!ok[i])
			continue;
		struct np_ip ip = ip_of(pts[i], c->ip.family);
		bool seen = false;
		for (size_t j = 0; j < *n && !seen; j++)
			seen = ip_equal(&v[j], &ip);
		if (!seen && *n < cap)
			v[(*n)++] = ip;
	}
}

static size_t block_edges(const struct np_cluster *cl, struct np_ip *out)
{
	struct np_ip all[512];
	size_t n = 0;
	for (size_t i = 0; i < cl->npolicies; i++) {
		const struct np_policy *pol = cl->policies[i];
		for (int d = 0; d < 2; d++) {
			const struct np_rule *rs = d ? pol->egress : pol->ingress;
			size_t nr = d ? pol->negress : pol->ningress;
			for (size_t r = 0; r < nr; r++)
				for (size_t j = 0; j < rs[r].npeers; j++) {
					const struct np_ipblock *b = &rs[r].peers[j].ipblock;
					if (!rs[r].peers[j].has_ipblock)
						continue;
					edge_add(all, &n, 512, &b->cidr);
					for (size_t k = 0; k < b->nexcept; k++)
						edge_add(all, &n, 512, &b->except[k]);
				}
		}
	}
	/* a random choice of MAX_EDGES (the generator's seed goes on) */
	for (size_t i = 0; i < n && i < MAX_EDGES; i++) {
		size_t j = i + unit_rnd((unsigned)(n - i));
		struct np_ip t = all[i];
		all[i] = all[j];
		all[j] = t;
	}
	n = n < MAX_EDGES ? n : MAX_EDGES;
	memcpy(out, all, n * sizeof(*out));
	return n;
}

struct end {
	const struct np_pod *pod;     /* NULL: outside */
	const char *ifname;           /* NULL: not an endpoint of this node */
	struct np_ip ip;
};

/* What the attributed verdicts exercised, per direction (ingress, egress),
 * so that the generator cannot drift into trivial clusters unnoticed. */
enum cover { CV_DROP, CV_PEERLESS, CV_SELECTOR, CV_IPBLOCK, CV_ALLPORTS, CV_PORT, CV_RANGE,
	     CV_PROTO, CV_NAMED, NCOVER };
static const char *const cover_name[NCOVER] = {"isolation drops", "rules without peers",
					       "selector peers", "ipBlock peers", "rules without ports",
					       "single ports", "port ranges", "whole protocols",
					       "named ports"};

struct stats {
	size_t rounds, flows, v6flows, allowed, denied, attributed, mismatches, fail_closed;
	size_t cover[2][NCOVER];
};

static void cover(struct stats *st, bool egress, const struct np_dir_verdict *d)
{
	size_t *c = st->cover[egress];
	if (!d->allowed) {
		c[CV_DROP]++;
		return;
	}
	const struct np_rule *r = &(egress ? d->policy->egress : d->policy->ingress)[d->rule];
	if (d->peer < 0)
		c[CV_PEERLESS]++;
	else
		c[r->peers[d->peer].has_ipblock ? CV_IPBLOCK : CV_SELECTOR]++;
	if (d->port < 0) {
		c[CV_ALLPORTS]++;
		return;
	}
	const struct np_port_spec *sp = &r->ports[d->port];
	c[sp->kind == PORT_ANY	   ? CV_PROTO
	  : sp->kind == PORT_NAMED ? CV_NAMED
	  : sp->end_port > sp->port ? CV_RANGE
				   : CV_PORT]++;
}

static void print_cover(const struct stats *st)
{
	for (int d = 0; d < 2; d++) {
		printf("  %s:", d ? "egress" : "ingress");
		for (int k = 0; k < NCOVER; k++)
			printf("%s %zu %s", k ? "," : "", st->cover[d][k], cover_name[k]);
		printf("\n");
	}
}

#define MAX_REPORTS 6

static int port_cmp(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static void add_port(int *v, size_t *n, size_t cap, int p)
{
	if (p < 1 || p > 65535 || *n >= cap)
		return;
	for (size_t i = 0; i < *n; i++)
		if (v[i] == p)
			return;
	v[(*n)++] = p;
}

/* The ports worth trying: those the rules say, their neighbours, the
 * middle of ranges, the numbers of named ports, and two far away. */
static size_t ports_of(const struct np_cluster *cl, int *v, size_t cap)
{
	size_t n = 0;
	add_port(v, &n, cap, 1);
	add_port(v, &n, cap, 65535);
	for (size_t i = 0; i < cl->npolicies; i++) {
		const struct np_policy *pol = cl->policies[i];
		for (int d = 0; d < 2; d++) {
			const struct np_rule *rs = d ? pol->egress : pol->ingress;
			size_t nr = d ? pol->negress : pol->ningress;
			for (size_t r = 0; r < nr; r++)
				for (size_t q = 0; q < rs[r].nports; q++) {
					const struct np_port_spec *sp = &rs[r].ports[q];
					if (sp->kind != PORT_NUMBER)
						continue;
					int lo = sp->port, hi = sp->end_port > lo ? sp->end_port : lo;
					add_port(v, &n, cap, lo - 1);
					add_port(v, &n, cap, lo);
					add_port(v, &n, cap, lo + 1);
					add_port(v, &n, cap, (lo + hi) / 2);
					add_port(v, &n, cap, hi - 1);
					add_port(v, &n, cap, hi);
					add_port(v, &n, cap, hi + 1);
				}
		}
	}
	for (size_t i = 0; i < cl->npods; i++)
		for (size_t j = 0; j < cl->pods[i]->nports; j++) {
			int p = cl->pods[i]->ports[j].port;
			add_port(v, &n, cap, p - 1);
			add_port(v, &n, cap, p);
			add_port(v, &n, cap, p + 1);
		}
	qsort(v, n, sizeof(*v), port_cmp);
	return n;
}

static const char *ifname_of(const struct nft_case *c, const struct np_pod *pod)
{
	for (size_t i = 0; i < c->neps; i++)
		if (c->eps[i].pod == pod)
			return c->eps[i].ifname;
	return NULL;
}

static const char *end_text(const struct end *e, char *buf, size_t len)
{
	char ip[64];
	ip_to_string(&e->ip, ip, sizeof(ip));
	if (e->pod)
		snprintf(buf, len, "%s/%s (%s, %s)", e->pod->meta.namespace ? e->pod->meta.namespace : "default",
			 e->pod->meta.name, ip, e->ifname ? e->ifname : "not on this node");
	else
		snprintf(buf, len, "outside %s", ip);
	return buf;
}

static void dir_text(const struct np_dir_verdict *d, char *buf, size_t len)
{
	if (!d->applies)
		snprintf(buf, len, "n/a");
	else if (!d->isolated)
		snprintf(buf, len, "not isolated");
	else if (!d->allowed)
		snprintf(buf, len, "denied (isolated by %zu)", d->nisolating);
	else
		snprintf(buf, len, "allowed by %s/%s rule %d peer %d port %d",
			 d->policy->meta.namespace ? d->policy->meta.namespace : "default",
			 d->policy->meta.name, d->rule, d->peer, d->port);
}

static const char *counted_text(const void *p, const struct sim *s)
{
	if (!p)
		return "(nothing)";
	/* a rule or element record (struct nft_rule), else an element text */
	for (size_t i = 0; i < s->nsets; i++)
		for (size_t j = 0; j < s->sets[i].ne; j++)
			if (s->sets[i].e[j].text == p)
				return s->sets[i].e[j].text;
	return ((const struct nft_rule *)p)->text;
}

struct ctx {
	const char *label;
	struct stats *st;
	const char *yaml;       /* printed with the first mismatch of a case */
	bool yaml_shown;
	unsigned sample;        /* > 1: one (source, destination) pair in sample */
};

static void report(struct ctx *x, struct sim *s, const struct pkt *k, const struct end *src,
		   const struct end *dst, const char *proto, const struct np_verdict *v,
		   const char *what)
{
	char a[160], b[160], e[200], i[200];
	struct sres r = {.tracing = true};
	x->st->mismatches++;
	if (x->st->mismatches > MAX_REPORTS)
		return;
	sim_run(s, k, &r);
	dir_text(&v->egress, e, sizeof(e));
	dir_text(&v->ingress, i, sizeof(i));
	printf("  %s: %s\n    flow %s -> %s %s/%d\n    engine: egress %s; ingress %s\n"
	       "    program: %s, counted egress on %s, ingress on %s\n    path:%s\n",
	       x->label, what, end_text(src, a, sizeof(a)), end_text(dst, b, sizeof(b)), proto,
	       k->dport, e, i, r.verdict == V_ACCEPT ? "accept" : "drop",
	       counted_text(r.last[1], s), counted_text(r.last[0], s), r.trace);
	if (x->yaml && !x->yaml_shown) {
		x->yaml_shown = true;
		printf("    input:\n%s\n", x->yaml);
	}
}

/* The attribution check of one direction the node enforced. */
static bool attribution_ok(const struct nft_prog *p, const struct np_pod *pod, bool egress,
			   const struct np_dir_verdict *d, const void *counted, char *why, size_t wl)
{
	const struct nft_rule *out[4];
	size_t n = nft_prog_attribute(p, pod, egress, d, out, 4);
	if (n != 1) {
		snprintf(why, wl, "nft_prog_attribute gave %zu rules for the %s verdict", n,
			 egress ? "egress" : "ingress");
		return false;
	}
	if ((const void *)out[0] != counted) {
		snprintf(why, wl, "%s counted elsewhere than on nft_prog_attribute's \"%s\"",
			 egress ? "egress" : "ingress", out[0]->text);
		return false;
	}
	return true;
}

/* What no policy decides: a pod sending from an address not its own, and
 * an interface of the pod prefix that has no program, are dropped, and
 * counted in no direction. false: the interpreter stopped. */
static bool fail_closed(struct ctx *x, struct sim *s, const struct pkt *flow, const struct end *src,
			const struct end *dst)
{
	struct pkt k[2] = {*flow, *flow};
	const char *what[2] = {NULL, NULL};
	int n = 0;
	k[0].proto = k[1].proto = 6;
	k[0].dport = k[1].dport = 80;
	if (src->ifname) {
		/* spoofed: the next address, never the pod's own */
		k[n].saddr = flow->saddr + 1;
		what[n++] = "a spoofed source address was not dropped";
	} else if (!dst->ifname) {
		k[n].iif = "npghost";
		what[n++] = "a pod interface without a program was not dropped (from)";
	}
	/* (from a pod of the node, its egress would count first) */
	if (!src->ifname && !dst->ifname) {
		k[n].oif = "npghost";
		what[n++] = "a pod interface without a program was not dropped (to)";
	}
	for (int i = 0; i < n; i++) {
		struct sres r = {0};
		if (sim_run(s, &k[i], &r) < 0)
			return false;
		x->st->fail_closed++;
		if (r.verdict != V_DROP || r.last[0] || r.last[1]) {
			struct np_verdict none = {0};
			report(x, s, &k[i], src, dst, "tcp", &none, what[i]);
		}
	}
	return true;
}

/* Every flow of the case: sources (pods of each address, outside
 * addresses) x destinations x ports x protocols. Returns false when the
 * interpreter could not run (s->err says why); mismatches are counted. */
static bool diff_case(struct nft_case *c, struct sim *s, struct ctx *x)
{
	static const int proto_num[NP_NPROTO] = {6, 17, 132};
	static const char *const proto_txt[NP_NPROTO] = {"tcp", "udp", "sctp"};
	const struct np_cluster *cl = c->cl;
	size_t nend = 0, cap = NOUTSIDE + MAX_EDGES + 1;
	int ports[512];
	size_t nports = ports_of(cl, ports, sizeof(ports) / sizeof(*ports));
	for (size_t i = 0; i < cl->npods; i++)
		cap += cl->pods[i]->nips;
	struct end *ends = calloc(cap, sizeof(*ends));
	bool ok = false;
	if (!ends)
		return false;
	for (size_t i = 0; i < cl->npods; i++)
		for (size_t j = 0; j < cl->pods[i]->nips; j++)
			ends[nend++] = (struct end){cl->pods[i], ifname_of(c, cl->pods[i]), cl->pods[i]->ips[j]};
	struct np_ip edges[MAX_EDGES];
	size_t nedges = block_edges(cl, edges);
	for (size_t i = 0; i < NOUTSIDE + nedges; i++) {
		struct end e = {0};
		if (i >= NOUTSIDE)
			e.ip = edges[i - NOUTSIDE];
		else if (ip_parse(outside_addrs[i], &e.ip) < 0)
			goto cleanup;
		bool taken = false;
		for (size_t j = 0; j < nend && !taken; j++)
			taken = ip_equal(&ends[j].ip, &e.ip);
		if (!taken)
			ends[nend++] = e;
	}
	for (size_t a = 0; a < nend; a++)
		for (size_t b = 0; b < nend; b++) {
			const struct end *src = &ends[a], *dst = &ends[b];
			if (x->sample > 1 && unit_rnd(x->sample))
				continue;
			if (src->ip.family != dst->ip.family || (!src->pod && !dst->pod) ||
			    (src->pod && src->pod == dst->pod))
				continue;
			struct np_endpoint es = {src->pod, src->ip}, ed = {dst->pod, dst->ip};
			struct pkt k = {src->ip.family, ip_u128(&src->ip), ip_u128(&dst->ip), 0, 0,
					src->ifname ? src->ifname : "eth0",
					dst->ifname ? dst->ifname : "eth1"};
			if (!fail_closed(x, s, &k, src, dst))
				goto cleanup;
			for (int pr = 0; pr < NP_NPROTO; pr++)
				for (size_t q = 0; q < nports; q++) {
					struct np_verdict v;
					struct sres r = {0};
					char why[400];
					k.proto = proto_num[pr];
					k.dport = ports[q];
					if (engine_evaluate(c->e, &es, &ed, (struct np_port){ports[q], (enum np_proto)pr},
							    &v) < 0) {
						snprintf(s->err, sizeof(s->err), "engine_evaluate failed");
						goto cleanup;
					}
					if (sim_run(s, &k, &r) < 0) {
						verdict_clear(&v);
						goto cleanup;
					}
					x->st->flows++;
					x->st->v6flows += k.family == AF_INET6;
					/* what this node enforces: the source's egress when the
					 * source is its endpoint, the destination's ingress alike */
					bool eg_on = src->ifname && v.egress.applies;
					bool in_on = dst->ifname && v.ingress.applies;
					bool eg_ok = !eg_on || v.egress.allowed;
					bool want = eg_ok && (!in_on || v.ingress.allowed);
					bool got = r.verdict == V_ACCEPT;
					want ? x->st->allowed++ : x->st->denied++;
					if (want != got) {
						snprintf(why, sizeof(why), "verdicts differ: engine %s, program %s",
							 want ? "allows" : "denies", got ? "accepts" : "drops");
						report(x, s, &k, src, dst, proto_txt[pr], &v, why);
						verdict_clear(&v);
						continue;
					}
					/* attribution: egress when enforced and isolated; ingress
					 * when the packet got there */
					bool eg_att = eg_on && v.egress.isolated;
					bool in_att = eg_ok && in_on && v.ingress.isolated;
					if (eg_att && !attribution_ok(c->prog, src->pod, true, &v.egress, r.last[1],
								      why, sizeof(why)))
						report(x, s, &k, src, dst, proto_txt[pr], &v, why);
					else if (!eg_att && r.last[1])
						report(x, s, &k, src, dst, proto_txt[pr], &v,
						       "counted in egress though the node does not police it");
					else if (in_att && !attribution_ok(c->prog, dst->pod, false, &v.ingress,
									   r.last[0], why, sizeof(why)))
						report(x, s, &k, src, dst, proto_txt[pr], &v, why);
					else if (!in_att && r.last[0])
						report(x, s, &k, src, dst, proto_txt[pr], &v,
						       "counted in ingress though the node does not police it");
					else {
						x->st->attributed += (size_t)eg_att + (size_t)in_att;
						if (eg_att)
							cover(x->st, true, &v.egress);
						if (in_att)
							cover(x->st, false, &v.ingress);
					}
					verdict_clear(&v);
				}
		}
	ok = true;
cleanup:
	free(ends);
	return ok;
}

/* Loads, builds the interpreter, runs every flow. false: could not run. */
static bool diff_text(const char *label, const char *yaml, struct stats *st, bool show_yaml,
		      unsigned sample)
{
	struct nft_case c;
	struct sim s;
	char *err = NULL;
	struct ctx x = {label, st, show_yaml ? yaml : NULL, false, sample};
	if (nft_case_load(label, yaml, &c, &err) < 0) {
		printf("  %s: load: %s\n", label, err ? err : "?");
		if (show_yaml)
			printf("    input:\n%s\n", yaml);
		free(err);
		nft_case_clear(&c);
		return false;
	}
	free(err);
	bool ok = sim_build(c.prog, &s) == 0 && diff_case(&c, &s, &x);
	if (!ok)
		printf("  %s: the interpreter stopped: %s\n", label, s.err);
	st->rounds++;
	sim_free(&s);
	nft_case_clear(&c);
	return ok;
}

/* ==== random clusters ======================================================= */

struct cport {
	const char *name;
	int port;
	const char *proto;
};

/* Names on several numbers and protocols: "http" 80 and 8080 over TCP and
 * UDP, "dns" 53 and 5353, "web" TCP and UDP on other numbers. */
static const struct cport cports[] = {
	{"http", 80, "TCP"},     {"http", 8080, "TCP"},  {"http", 8080, "UDP"},
	{"dns", 53, "UDP"},      {"dns", 53, "TCP"},     {"dns", 5353, "UDP"},
	{"metrics", 9090, "TCP"}, {"metrics", 9100, "TCP"}, {NULL, 443, "TCP"},
	{"web", 5005, "TCP"},    {"web", 5007, "UDP"},   {"sx", 7000, "SCTP"},
};
#define NCPORTS (sizeof(cports) / sizeof(*cports))

struct gpod {
	unsigned ns, app, role, net, v6net;
	bool dual, local;
	unsigned ports;      /* bits of cports */
};

static const char *const apps[] = {"a", "b", "c"};
static const char *const roles[] = {"x", "y"};
static const char *const teams[] = {"red", "blue"};

static void gen_peer(FILE *m, const struct gpod *pods, unsigned npods, unsigned nns)
{
	const struct gpod *p = &pods[unit_rnd(npods)];
	switch (unit_rnd(11)) {
	case 0:
		fprintf(m, "{podSelector: {matchLabels: {app: %s}}}", apps[unit_rnd(3)]);
		break;
	case 1:
		fprintf(m, "{podSelector: {}}");
		break;
	case 2:
		fprintf(m, "{namespaceSelector: {matchLabels: {team: %s}}}", teams[unit_rnd(2)]);
		break;
	case 3:
		fprintf(m, "{namespaceSelector: {}}");
		break;
	case 4:
		fprintf(m, "{namespaceSelector: {matchLabels: {team: %s}}, podSelector: {matchLabels: {app: %s}}}",
			teams[unit_rnd(2)], apps[unit_rnd(3)]);
		break;
	case 5:
		/* n<nns> is never declared: implicit, with its name label only */
		fprintf(m, "{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: n%u}}, "
			   "podSelector: {matchExpressions: [{key: role, operator: %s}]}}",
			unit_rnd(nns + 1), unit_rnd(2) ? "Exists" : "DoesNotExist");
		break;
	case 6:
		fprintf(m, "{namespaceSelector: {matchExpressions: [{key: env, operator: %s}]}, "
			   "podSelector: {matchExpressions: [{key: app, operator: NotIn, values: [%s]}]}}",
			unit_rnd(2) ? "Exists" : "DoesNotExist", apps[unit_rnd(3)]);
		break;
	default: {
		unsigned i = (unsigned)(p - pods);
		switch (unit_rnd(14)) {
		case 0:
			fprintf(m, "{ipBlock: {cidr: \"198.18.0.0/16\", except: [\"198.18.1.0/24\"]}}");
			break;
		case 11:
			/* excepts that overlap, one of them the whole block's half */
			fprintf(m, "{ipBlock: {cidr: \"198.18.%u.0/24\", except: [\"198.18.%u.0/25\", "
				   "\"198.18.%u.%u/28\", \"198.18.%u.%u/32\"]}}",
				p->net, p->net, p->net, 16 * unit_rnd(16), p->net, 10 + i);
			break;
		case 12:
			fprintf(m, "{ipBlock: {cidr: \"2001:db8:%u::/48\", except: [\"2001:db8:%u::%x/128\"]}}",
				p->v6net, p->v6net, 0x10 + i);
			break;
		case 13:
			/* host bits set: the block is the /26 they are in */
			fprintf(m, "{ipBlock: {cidr: \"198.18.%u.%u/26\"}}", p->net, 10 + i);
			break;
		case 1:
			fprintf(m, "{ipBlock: {cidr: \"198.18.%u.0/24\"}}", unit_rnd(3));
			break;
		case 2:
			fprintf(m, "{ipBlock: {cidr: \"198.18.%u.%u/32\"}}", p->net, 10 + i);
			break;
		case 3:
			fprintf(m, "{ipBlock: {cidr: \"198.18.0.0/16\", except: [\"198.18.%u.%u/32\", "
				   "\"198.18.2.0/24\"]}}", p->net, 10 + i);
			break;
		case 4:
			fprintf(m, "{ipBlock: {cidr: \"203.0.113.0/24\", except: [\"203.0.113.128/25\"]}}");
			break;
		case 5:
			fprintf(m, "{ipBlock: {cidr: \"203.0.113.0/25\"}}");
			break;
		case 6:
			fprintf(m, "{ipBlock: {cidr: \"0.0.0.0/0\", except: [\"198.18.0.0/16\"]}}");
			break;
		case 7:
			fprintf(m, "{ipBlock: {cidr: \"0.0.0.0/0\"}}");
			break;
		case 8:
			fprintf(m, "{ipBlock: {cidr: \"2001:db8::/32\", except: [\"2001:db8:1::/48\"]}}");
			break;
		case 9:
			fprintf(m, "{ipBlock: {cidr: \"2001:db8:%u::/48\"}}", unit_rnd(3));
			break;
		default:
			fprintf(m, "{ipBlock: {cidr: \"::/0\", except: [\"2001:db8::/32\"]}}");
			break;
		}
	}
	}
}

/* Narrow clusters: every rule names ports, none a whole protocol, so that
 * single ports, ranges and named ports decide more flows (wide allows
 * hide them otherwise). */
static bool narrow;
/* Large clusters: 70-150 pods (more than 64 addresses take another path
 * through the compiler's sorting), more policies; flows are sampled. */
static bool large;
#define MAXPODS 150

static void gen_port(FILE *m)
{
	static const int nums[] = {53, 80, 443, 5000, 5005, 8080, 9090};
	static const int starts[] = {5000, 5003, 8000, 79, 9000};
	static const char *const names[] = {"http", "dns", "metrics", "web", "http", "nope"};
	unsigned k = unit_rnd(12);
	if (narrow && (k == 2 || k == 3))
		k = 4 + unit_rnd(5);
	switch (k) {
	case 0:
		fprintf(m, "{port: %d}", nums[unit_rnd(7)]);
		break;
	case 1:
		fprintf(m, "{protocol: UDP, port: %d}", nums[unit_rnd(7)]);
		break;
	case 2:
		fprintf(m, "{protocol: TCP}");
		break;
	case 3:
		fprintf(m, "{protocol: UDP}");
		break;
	case 4: {
		int a = starts[unit_rnd(5)];
		fprintf(m, "{port: %d, endPort: %d}", a, a + 1 + (int)unit_rnd(8));
		break;
	}
	case 5: {
		int a = starts[unit_rnd(5)];
		fprintf(m, "{protocol: UDP, port: %d, endPort: %d}", a, a + (int)unit_rnd(6));
		break;
	}
	case 6:
	case 10:
		fprintf(m, "{port: %s}", names[unit_rnd(6)]);
		break;
	case 7:
		fprintf(m, "{protocol: UDP, port: %s}", names[unit_rnd(6)]);
		break;
	case 8:
	case 11:
		fprintf(m, "{protocol: TCP, port: %s}", names[unit_rnd(6)]);
		break;
	default:
		switch (narrow ? 1 + unit_rnd(2) : unit_rnd(3)) {
		case 0: fprintf(m, "{protocol: SCTP}"); break;
		case 1: fprintf(m, "{protocol: SCTP, port: 7000}"); break;
		default: fprintf(m, "{protocol: SCTP, port: sx}"); break;
		}
		break;
	}
}

static void gen_rules(FILE *m, const char *key, const char *peers, const struct gpod *pods,
		      unsigned npods, unsigned nns)
{
	unsigned n = unit_rnd(4);
	fprintf(m, "  %s:%s\n", key, n ? "" : " []");
	for (unsigned r = 0; r < n; r++) {
		unsigned np = unit_rnd(4) == 0 ? 0 : 1 + unit_rnd(3);
		unsigned nq = !narrow && unit_rnd(4) == 0 ? 0 : 1 + unit_rnd(3);
		const char *lead = "  - ";
		if (np) {
			fprintf(m, "%s%s:\n", lead, peers);
			for (unsigned j = 0; j < np; j++) {
				fprintf(m, "    - ");
				gen_peer(m, pods, npods, nns);
				fprintf(m, "\n");
			}
			lead = "    ";
		}
		if (nq) {
			fprintf(m, "%sports:\n", lead);
			for (unsigned j = 0; j < nq; j++) {
				fprintf(m, "    - ");
				gen_port(m);
				fprintf(m, "\n");
			}
		}
		if (!np && !nq)
			fprintf(m, "  - {}\n");
	}
}

/* A cluster of 2-3 namespaces, 4-8 pods (some of this node), 1-5
 * policies; a fixed seed gives the same text. */
static char *gen_yaml(unsigned seed)
{
	struct gpod pods[MAXPODS];
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		return NULL;
	unit_rng = 0x9E3779B97F4A7C15ULL * (seed + 1);
	unsigned nns = 2 + unit_rnd(2), npods = 4 + unit_rnd(5), npol = 1 + unit_rnd(5);
	/* pods of namespace n<nns> (never declared) come out implicit */
	if (large) {
		npods = 70 + unit_rnd(MAXPODS - 69);
		npol = 4 + unit_rnd(9);
	}
	bool any_local = false;
	for (unsigned i = 0; i < npods; i++) {
		struct gpod *p = &pods[i];
		p->ns = unit_rnd(8) ? unit_rnd(nns) : nns;
		p->app = unit_rnd(3);
		p->role = unit_rnd(3);   /* 2: none */
		p->net = unit_rnd(3);
		p->v6net = unit_rnd(3);
		p->local = large ? unit_rnd(3) == 0 : unit_rnd(2);
		/* a local pod of one family cannot receive the other's flows */
		p->dual = unit_rnd(p->local ? 2 : 3) == 0;
		p->ports = 0;
		for (unsigned k = unit_rnd(5); k; k--)
			p->ports |= 1u << unit_rnd(NCPORTS);
		any_local |= p->local;
	}
	if (!any_local)
		pods[0].local = true;
	fprintf(m, "# %s%sseed %u\n", narrow ? "narrow " : "", large ? "large " : "", seed);
	for (unsigned i = 0; i < npods; i++)
		if (pods[i].local)
			fprintf(m, "# endpoint: n%u/p%u npp%u\n", pods[i].ns, i, i);
	for (unsigned i = 0; i < nns; i++) {
		fprintf(m, "apiVersion: v1\nkind: Namespace\nmetadata: {name: n%u, labels: {team: %s",
			i, teams[unit_rnd(2)]);
		if (unit_rnd(2))
			fprintf(m, ", env: prod");
		fprintf(m, "}}\n---\n");
	}
	for (unsigned i = 0; i < npods; i++) {
		const struct gpod *p = &pods[i];
		fprintf(m, "apiVersion: v1\nkind: Pod\nmetadata: {name: p%u, namespace: n%u, labels: {app: %s",
			i, p->ns, apps[p->app]);
		if (p->role < 2)
			fprintf(m, ", role: %s", roles[p->role]);
		fprintf(m, "}}\n");
		if (p->ports) {
			/* a random order: the first declaration of a name (and
			 * protocol) wins; names are unique within a container, so a
			 * name met again opens another container */
			unsigned start = unit_rnd(NCPORTS), seen = 0, nc = 0;
			fprintf(m, "spec:\n  containers:\n");
			for (unsigned k = 0; k < NCPORTS; k++) {
				unsigned idx = (start + k) % NCPORTS;
				const struct cport *cp = &cports[idx];
				if (!(p->ports & (1u << idx)))
					continue;
				bool again = false;
				for (unsigned j = 0; j < NCPORTS && cp->name; j++)
					again |= (seen & (1u << j)) && cports[j].name &&
						 !strcmp(cports[j].name, cp->name);
				if (!nc || again) {
					fprintf(m, "  - name: c%u\n    image: x\n    ports:\n", nc++);
					seen = 0;
				}
				seen |= 1u << idx;
				fprintf(m, "    - {containerPort: %d, protocol: %s", cp->port, cp->proto);
				if (cp->name)
					fprintf(m, ", name: %s", cp->name);
				fprintf(m, "}\n");
			}
		}
		if (p->dual)
			fprintf(m, "status: {podIPs: [{ip: 198.18.%u.%u}, {ip: \"2001:db8:%u::%x\"}]}\n---\n",
				p->net, 10 + i, p->v6net, 0x10 + i);
		else
			fprintf(m, "status: {podIP: 198.18.%u.%u}\n---\n", p->net, 10 + i);
	}
	for (unsigned i = 0; i < npol; i++) {
		unsigned types = unit_rnd(4);   /* 0: not written */
		fprintf(m, "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
			   "metadata: {name: pol%u, namespace: n%u}\nspec:\n", i, unit_rnd(8) ? unit_rnd(nns) : nns);
		switch (unit_rnd(4)) {
		case 0:
			fprintf(m, "  podSelector: {}\n");
			break;
		case 1:
			fprintf(m, "  podSelector: {matchExpressions: [{key: app, operator: In, values: [%s, %s]}]}\n",
				apps[unit_rnd(3)], apps[unit_rnd(3)]);
			break;
		default:
			fprintf(m, "  podSelector: {matchLabels: {app: %s}}\n", apps[unit_rnd(3)]);
			break;
		}
		if (types)
			fprintf(m, "  policyTypes: [%s]\n",
				types == 1 ? "Ingress" : types == 2 ? "Egress" : "Ingress, Egress");
		if (types != 2 && unit_rnd(5))
			gen_rules(m, "ingress", "from", pods, npods, nns);
		if (types >= 2 || (types == 0 && unit_rnd(2)))
			gen_rules(m, "egress", "to", pods, npods, nns);
		fprintf(m, "---\n");
	}
	fclose(m);
	return buf;
}

/* ==== tests ================================================================= */

/* A sanitized build (ASan + UBSan, about ten times slower) runs a third of
 * the rounds: the same code paths, in a few seconds. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifdef SANITIZED
#define ROUNDS 100
#define LARGE_ROUNDS 4
#else
#define ROUNDS 300
#define LARGE_ROUNDS 12
#endif

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void random_clusters(bool narrow_rules, bool large_clusters, unsigned rounds,
			    unsigned sample)
{
	struct stats st = {0};
	double t0 = now();
	size_t stopped = 0;
	/* NFT_SIM_ROUNDS=N: N times the rounds, for a longer search by hand */
	const char *more = getenv("NFT_SIM_ROUNDS");
	if (more && atoi(more) > 0)
		rounds *= (unsigned)atoi(more);
	narrow = narrow_rules;
	large = large_clusters;
	for (unsigned seed = 1; seed <= rounds; seed++) {
		char label[48], *yaml = gen_yaml(seed);
		size_t before = st.mismatches;
		CHECK(yaml);
		snprintf(label, sizeof(label), "%s%sseed %u", narrow ? "narrow " : "",
			 large ? "large " : "", seed);
		if (!diff_text(label, yaml, &st, true, sample))
			stopped++;
		else if (st.mismatches > before && before < MAX_REPORTS)
			printf("  seed %u: %zu mismatches\n", seed, st.mismatches - before);
		free(yaml);
	}
	printf("  %zu rounds, %zu flows (%zu IPv6; %zu allowed, %zu denied), %zu attributions, "
	       "%zu spoofed or unknown-interface packets, %.2f s\n", st.rounds, st.flows, st.v6flows,
	       st.allowed, st.denied, st.attributed, st.fail_closed, now() - t0);
	print_cover(&st);
	CHECK_INT(stopped, 0);
	CHECK_INT(st.mismatches, 0);
	CHECK(st.allowed > 0 && st.denied > 0 && st.attributed > 0 && st.v6flows > 0 &&
	      st.fail_closed > 0);
	for (int d = 0; d < 2; d++)
		for (int k = 0; k < NCOVER; k++)
			if (!narrow_rules || (k != CV_PROTO && k != CV_ALLPORTS))
				CHECK(st.cover[d][k] > 0);
}

TEST(random_clusters_program_agrees_with_engine)
{
	random_clusters(false, false, ROUNDS, 1);
}

TEST(random_narrow_clusters_program_agrees_with_engine)
{
	random_clusters(true, false, ROUNDS, 1);
}

TEST(random_large_clusters_program_agrees_with_engine)
{
	random_clusters(false, true, LARGE_ROUNDS, 40);
}

static int name_qcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The golden cases and the dual-stack case of suite.sh: real layouts. */
TEST(golden_cases_program_agrees_with_engine)
{
	DIR *d = opendir(NFT_GOLDEN_DIR);
	char *names[64];
	size_t n = 0, stopped = 0;
	struct stats st = {0};
	CHECK(d);
	for (struct dirent *e; (e = readdir(d)) && n < 63;) {
		size_t l = strlen(e->d_name);
		if (l > 5 && !strcmp(e->d_name + l - 5, ".yaml") &&
		    asprintf(&names[n], NFT_GOLDEN_DIR "/%s", e->d_name) >= 0)
			n++;
	}
	closedir(d);
	if (asprintf(&names[n], NFT_GOLDEN_DIR "/../dual-stack.yaml") >= 0)
		n++;
	qsort(names, n, sizeof(*names), name_qcmp);
	for (size_t i = 0; i < n; i++) {
		char *text = nft_case_slurp(names[i]);
		unit_rng = 0x9E3779B97F4A7C15ULL * (i + 1);   /* the choice of block edges */
		if (!text || !diff_text(strrchr(names[i], '/') + 1, text, &st, false, 1))
			stopped++;
		free(text);
		free(names[i]);
	}
	printf("  %zu cases, %zu flows (%zu IPv6), %zu attributions\n", st.rounds, st.flows,
	       st.v6flows, st.attributed);
	print_cover(&st);
	CHECK(n >= 14);
	CHECK_INT(stopped, 0);
	CHECK_INT(st.mismatches, 0);
	CHECK(st.flows > 1000 && st.attributed > 0);
}

/* The check can fail: a program missing one allow element disagrees with
 * the engine; a rule the interpreter does not know stops it. */
static const char mutated_case[] =
	"# endpoint: default/web npweb\n"
	"# endpoint: default/client npclient\n"
	"apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: default, labels: {app: web}}\n"
	"status: {podIP: 198.18.0.10}\n---\n"
	"apiVersion: v1\nkind: Pod\nmetadata: {name: client, namespace: default, labels: {app: client}}\n"
	"status: {podIP: 198.18.0.11}\n---\n"
	"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	"metadata: {name: web, namespace: default}\n"
	"spec:\n  podSelector: {matchLabels: {app: web}}\n"
	"  ingress:\n  - from: [{podSelector: {matchLabels: {app: client}}}]\n"
	"    ports: [{port: 80}, {port: 5000, endPort: 5010}]\n";

static struct nft_set *find_set(struct nft_prog *p, const char *prefix, const char *suffix)
{
	for (size_t i = 0; i < p->nsets; i++) {
		const char *n = p->sets[i]->name;
		size_t l = strlen(n), sl = strlen(suffix);
		if (!strncmp(n, prefix, strlen(prefix)) && l > sl && !strcmp(n + l - sl, suffix) &&
		    p->sets[i]->nelems)
			return p->sets[i];
	}
	return NULL;
}

TEST(a_wrong_program_is_caught)
{
	struct nft_case c;
	struct sim s;
	struct stats st = {0};
	struct ctx x = {"mutated", &st, NULL, false, 1};
	char *err = NULL;
	int rc = nft_case_load("mutated", mutated_case, &c, &err);
	unit_rng = 1;
	free(err);
	CHECK(rc == 0);
	/* as compiled: no mismatch */
	CHECK(sim_build(c.prog, &s) == 0);
	CHECK(diff_case(&c, &s, &x));
	sim_free(&s);
	CHECK_INT(st.mismatches, 0);
	/* one allow element less: port 80 is dropped where the engine allows */
	struct nft_set *m = find_set(c.prog, "in-c", "-p");
	CHECK(m && m->nelems == 1);
	char *gone = m->elems[0];
	m->nelems = 0;
	printf("  (expected mismatches follow)\n");
	CHECK(sim_build(c.prog, &s) == 0);
	CHECK(diff_case(&c, &s, &x));
	sim_free(&s);
	m->elems[0] = gone;
	m->nelems = 1;
	CHECK(st.mismatches > 0);
	/* the range element re-pointed to another allow: verdicts agree, the
	 * attribution does not */
	size_t before = st.mismatches;
	struct nft_set *r = find_set(c.prog, "in-c", "-r");
	CHECK(r && r->nelems == 1);
	char *orig = r->elems[0], *moved = NULL;
	CHECK(asprintf(&moved, "%.*s: goto %s", (int)(strstr(orig, ": goto ") - orig), orig,
		       strstr(m->elems[0], ": goto ") + 7) > 0);
	r->elems[0] = moved;
	CHECK(sim_build(c.prog, &s) == 0);
	CHECK(diff_case(&c, &s, &x));
	sim_free(&s);
	r->elems[0] = orig;
	free(moved);
	CHECK(st.mismatches > before);
	/* a rule text the interpreter does not know: it stops */
	struct nft_chain *fwd = NULL;
	for (size_t i = 0; i < c.prog->nchains; i++)
		if (!strcmp(c.prog->chains[i]->name, "forward"))
			fwd = c.prog->chains[i];
	CHECK(fwd && fwd->nrules > 0);
	char *text = fwd->rules[0].text, unknown[] = "meta mark 0x1 accept";
	fwd->rules[0].text = unknown;
	rc = sim_build(c.prog, &s);
	fwd->rules[0].text = text;
	CHECK(rc < 0 && strstr(s.err, "unknown expression"));
	sim_free(&s);
	/* a port range in a map without flags interval: nft would refuse it */
	char *flags = r->flags;
	r->flags = NULL;
	rc = sim_build(c.prog, &s);
	r->flags = flags;
	CHECK(rc < 0 && strstr(s.err, "without flags interval"));
	sim_free(&s);
	nft_case_clear(&c);
}
