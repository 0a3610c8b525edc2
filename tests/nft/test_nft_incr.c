/* The incremental compiler against the whole one: random clusters fed to
 * the agent's cache as API events (so replaced objects are freed and their
 * addresses reused, as in the agent), and after every change the program
 * of nft_incr_compile must print exactly as a fresh nft_compile's, and the
 * delta from the previous program must be the same transaction. */
#include "agent/agent.h"
#include "case.h"
#include "unit.h"
#include "../../src/dataplane/nft/nft_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define NNS 4
#define NPODS 40
#define NPOLS 14
#define NLOCAL 10

static const char *const apps[] = {"a", "b", "c"};
static const char *const tiers[] = {"web", "db", "api"};
static const char *const teams[] = {"red", "blue"};

static json_t *gen_ns(int i)
{
	char name[16];
	snprintf(name, sizeof(name), "ns%d", i);
	json_t *labels = json_pack("{s:s}", "team", teams[unit_rnd(2)]);
	if (unit_rnd(2))
		json_object_set_new(labels, "env", json_string(unit_rnd(2) ? "prod" : "dev"));
	return json_pack("{s:{s:s,s:o}}", "metadata", "name", name, "labels", labels);
}

/* Pod i: local ones (i < NLOCAL) carry an interface; addresses IPv4,
 * sometimes IPv6 too, sometimes none; named ports that vary. */
static json_t *gen_pod(int i)
{
	char name[16], ns[16], ip4[32], ip6[48], ifn[16];
	snprintf(name, sizeof(name), "p%d", i);
	snprintf(ns, sizeof(ns), "ns%d", i % NNS);
	snprintf(ip4, sizeof(ip4), "10.0.%u.%u", unit_rnd(3), 1 + unit_rnd(120));
	snprintf(ip6, sizeof(ip6), "fd00::%x", 1 + unit_rnd(300));
	json_t *labels = json_pack("{s:s}", "app", apps[unit_rnd(3)]);
	if (unit_rnd(3))
		json_object_set_new(labels, "tier", json_string(tiers[unit_rnd(3)]));
	json_t *ports = json_array();
	if (unit_rnd(3))
		json_array_append_new(ports, json_pack("{s:s,s:i}", "name", "http", "containerPort",
						       8080 + (int)unit_rnd(2)));
	if (!unit_rnd(3))
		json_array_append_new(ports, json_pack("{s:s,s:i,s:s}", "name", "dns", "containerPort",
						       53, "protocol", "UDP"));
	json_t *pod = json_pack("{s:{s:s,s:s,s:o},s:{s:[{s:s,s:s,s:o}]}}", "metadata", "name", name,
				"namespace", ns, "labels", labels, "spec", "containers", "name",
				"c", "image", "x", "ports", ports);
	unsigned addr = unit_rnd(8);
	json_t *status = json_object();
	if (addr == 0)
		;   /* no address yet */
	else if (addr == 1)
		json_object_set_new(status, "podIPs", json_pack("[{s:s},{s:s}]", "ip", ip4, "ip", ip6));
	else
		json_object_set_new(status, "podIP", json_string(ip4));
	json_object_set_new(pod, "status", status);
	if (i < NLOCAL) {
		snprintf(ifn, sizeof(ifn), "np%d", unit_rnd(4) ? i : i + 100);
		json_object_set_new(json_object_get(pod, "metadata"), "annotations",
				    json_pack("{s:s}", "netpol.io/interface", ifn));
	}
	return pod;
}

static const char *peer_text(char *buf, size_t len)
{
	switch (unit_rnd(6)) {
	case 0:
		snprintf(buf, len, "{\"podSelector\":{\"matchLabels\":{\"app\":\"%s\"}}}", apps[unit_rnd(3)]);
		break;
	case 1:
		snprintf(buf, len, "{\"namespaceSelector\":{\"matchLabels\":{\"team\":\"%s\"}}}",
			 teams[unit_rnd(2)]);
		break;
	case 2:
		snprintf(buf, len,
			 "{\"namespaceSelector\":{\"matchExpressions\":[{\"key\":\"env\",\"operator\":"
			 "\"Exists\"}]},\"podSelector\":{\"matchLabels\":{\"tier\":\"%s\"}}}",
			 tiers[unit_rnd(3)]);
		break;
	case 3: {
		unsigned net = unit_rnd(3);
		snprintf(buf, len, "{\"ipBlock\":{\"cidr\":\"10.0.%u.0/24\",\"except\":[\"10.0.%u.%u/26\"]}}",
			 net, net, 64 * unit_rnd(4));
		break;
	}
	case 4:
		snprintf(buf, len, "{\"podSelector\":{}}");
		break;
	default:
		snprintf(buf, len, "{\"ipBlock\":{\"cidr\":\"fd00::/120\"}}");
		break;
	}
	return buf;
}

static const char *ports_text(char *buf, size_t len)
{
	switch (unit_rnd(5)) {
	case 0:
		snprintf(buf, len, "[{\"port\":\"http\"}]");
		break;
	case 1:
		snprintf(buf, len, "[{\"port\":80},{\"port\":\"dns\",\"protocol\":\"UDP\"}]");
		break;
	case 2:
		snprintf(buf, len, "[{\"port\":5000,\"endPort\":%u}]", 5000 + unit_rnd(100));
		break;
	case 3:
		snprintf(buf, len, "[{\"protocol\":\"UDP\"}]");
		break;
	default:
		snprintf(buf, len, "[]");
		break;
	}
	return buf;
}

static json_t *gen_policy(int i)
{
	char text[2048], sel[96], rules[2][900];
	for (int d = 0; d < 2; d++) {
		char peers[400] = "", ports[128], p[200];
		unsigned np = unit_rnd(3);
		for (unsigned k = 0; k < np; k++)
			snprintf(peers + strlen(peers), sizeof(peers) - strlen(peers), "%s%s",
				 k ? "," : "", peer_text(p, sizeof(p)));
		if (unit_rnd(4) == 0)
			snprintf(rules[d], sizeof(rules[d]), "[]");
		else
			snprintf(rules[d], sizeof(rules[d]), "[{\"%s\":[%s],\"ports\":%s}]",
				 d ? "to" : "from", peers, ports_text(ports, sizeof(ports)));
	}
	if (unit_rnd(3))
		snprintf(sel, sizeof(sel), "{\"matchLabels\":{\"app\":\"%s\"}}", apps[unit_rnd(3)]);
	else
		snprintf(sel, sizeof(sel), "{}");
	const char *types[] = {"[\"Ingress\"]", "[\"Egress\"]", "[\"Ingress\",\"Egress\"]"};
	snprintf(text, sizeof(text),
		 "{\"metadata\":{\"name\":\"pol%d\",\"namespace\":\"ns%u\"},\"spec\":{\"podSelector\":%s,"
		 "\"policyTypes\":%s,\"ingress\":%s,\"egress\":%s}}",
		 i, (unsigned)i % NNS, sel, types[unit_rnd(3)], rules[0], rules[1]);
	return json_loads(text, 0, NULL);
}

struct world {
	struct agent_cache *cache;
	struct nft_incr *incr;
	struct nft_prog *prev_incr, *prev_full;
	size_t reused_chains, reused_sets, built_chains;
};

static bool feed(struct world *w, enum agent_kind k, const char *type, json_t *obj)
{
	struct diag_list d = {0};
	/* nothing is reported to the incremental compiler, policies included:
	 * it must find every change itself */
	int r = agent_cache_apply(w->cache, k, type, obj, &d);
	if (r < 0)
		printf("  refused: %s\n", d.n ? d.items[0].msg : "?");
	diag_list_clear(&d);
	json_decref(obj);
	return r >= 0;
}

/* Both compiles, their texts and their deltas from the last ones. */
static bool compare(struct world *w, int step)
{
	struct nft_endpoint *eps = NULL;
	size_t n = 0;
	struct nft_opts o = {.pod_ifprefix = "np"};
	struct nft_prog *pi = NULL, *pf = NULL;
	struct nft_delta *di = NULL, *df = NULL;
	struct nft_incr_stats st;
	char *ti = NULL, *tf = NULL;
	bool ok = false;
	struct engine *e = agent_cache_engine(w->cache);
	const struct np_cluster *cl = agent_cache_cluster(w->cache);
	if (agent_cache_endpoints(w->cache, &eps, &n, NULL) < 0 ||
	    nft_incr_compile(w->incr, e, cl, eps, n, &o, &pi, NULL) < 0 ||
	    nft_compile(e, cl, eps, n, &o, &pf, NULL) < 0)
		goto cleanup;
	ti = nft_prog_text(pi);
	tf = nft_prog_text(pf);
	if (!ti || !tf || strcmp(ti, tf) != 0) {
		printf("  step %d: programs differ\n--- incremental\n%s\n--- whole\n%s\n", step,
		       ti ? ti : "?", tf ? tf : "?");
		goto cleanup;
	}
	if (nft_delta_compute(w->prev_incr, pi, &di) < 0 ||
	    nft_delta_compute(w->prev_full, pf, &df) < 0 || strcmp(di->text, df->text) != 0) {
		printf("  step %d: deltas differ\n", step);
		goto cleanup;
	}
	nft_incr_get_stats(w->incr, &st);
	w->reused_chains += st.chains_reused;
	w->reused_sets += st.sets_reused;
	w->built_chains += st.chains_built;
	/* the agent keeps the last program; free the older one first or
	 * last, alternately, to exercise shared ownership both ways */
	if (step % 2) {
		nft_prog_free(w->prev_incr);
		w->prev_incr = pi;
	} else {
		struct nft_prog *old = w->prev_incr;
		w->prev_incr = pi;
		nft_prog_free(old);
	}
	pi = NULL;
	nft_prog_free(w->prev_full);
	w->prev_full = pf;
	pf = NULL;
	ok = true;
cleanup:
	free(eps);
	free(ti);
	free(tf);
	nft_prog_free(pi);
	nft_prog_free(pf);
	nft_delta_free(di);
	nft_delta_free(df);
	return ok;
}

static const char *name_of(char *buf, size_t len, const char *fmt, int i)
{
	snprintf(buf, len, fmt, i);
	return buf;
}

/* One random change; returns false when the cache refused it. */
static bool change(struct world *w, bool *present, bool *pol_present)
{
	char buf[64];
	switch (unit_rnd(9)) {
	case 0: case 1: case 2: { /* pod added, relabelled, re-addressed, new ports */
		int i = (int)unit_rnd(NPODS);
		bool was = present[i];
		present[i] = true;
		return feed(w, AGENT_PODS, was ? "MODIFIED" : "ADDED", gen_pod(i));
	}
	case 3: { /* pod deleted */
		int i = (int)unit_rnd(NPODS);
		if (!present[i])
			return true;
		present[i] = false;
		json_t *o = json_pack("{s:{s:s,s:s}}", "metadata", "name", name_of(buf, sizeof(buf), "p%d", i),
				      "namespace", "");
		json_object_set_new(json_object_get(o, "metadata"), "namespace",
				    json_string(name_of(buf, sizeof(buf), "ns%d", i % NNS)));
		return feed(w, AGENT_PODS, "DELETED", o);
	}
	case 4: /* namespace relabelled */
		return feed(w, AGENT_NAMESPACES, "MODIFIED", gen_ns((int)unit_rnd(NNS)));
	case 5: case 6: { /* policy added or edited */
		int i = (int)unit_rnd(NPOLS);
		bool was = pol_present[i];
		pol_present[i] = true;
		return feed(w, AGENT_POLICIES, was ? "MODIFIED" : "ADDED", gen_policy(i));
	}
	case 7: { /* policy deleted */
		int i = (int)unit_rnd(NPOLS);
		if (!pol_present[i])
			return true;
		pol_present[i] = false;
		json_t *o = json_pack("{s:{s:s,s:s}}", "metadata", "name", name_of(buf, sizeof(buf), "pol%d", i),
				      "namespace", "");
		json_object_set_new(json_object_get(o, "metadata"), "namespace",
				    json_string(name_of(buf, sizeof(buf), "ns%d", i % NNS)));
		return feed(w, AGENT_POLICIES, "DELETED", o);
	}
	default: /* nothing changed: everything is reused */
		return true;
	}
}

static bool run_world(unsigned long long seed, int changes, struct world *w)
{
	bool present[NPODS] = {0}, pol_present[NPOLS] = {0};
	bool ok = true;
	unit_rng = seed;
	for (int i = 0; i < NNS && ok; i++)
		ok = feed(w, AGENT_NAMESPACES, "ADDED", gen_ns(i));
	for (int i = 0; i < NPODS && ok; i++) {
		present[i] = unit_rnd(4) != 0;
		ok = !present[i] || feed(w, AGENT_PODS, "ADDED", gen_pod(i));
	}
	for (int i = 0; i < NPOLS && ok; i++) {
		pol_present[i] = unit_rnd(2) != 0;
		ok = !pol_present[i] || feed(w, AGENT_POLICIES, "ADDED", gen_policy(i));
	}
	ok = ok && compare(w, 0);
	for (int k = 1; k <= changes && ok; k++) {
		/* sometimes several changes in one commit, as the agent batches */
		int batch = unit_rnd(4) == 0 ? 2 + (int)unit_rnd(3) : 1;
		for (int b = 0; b < batch && ok; b++)
			ok = change(w, present, pol_present);
		ok = ok && compare(w, k);
	}
	return ok;
}

TEST(incremental_program_equals_a_fresh_compile_after_every_random_change)
{
	size_t chains = 0, sets = 0, built = 0;
	for (unsigned long long seed = 1; seed <= 10; seed++) {
		struct world w = {.cache = agent_cache_new(), .incr = nft_incr_new()};
		CHECK(w.cache && w.incr);
		CHECK(run_world(seed * 0x9E3779B97F4A7C15ull, 150, &w));
		chains += w.reused_chains;
		sets += w.reused_sets;
		built += w.built_chains;
		nft_prog_free(w.prev_incr);
		nft_incr_free(w.incr);
		nft_prog_free(w.prev_full);
		agent_cache_free(w.cache);
	}
	printf("  reused %zu chains and %zu sets, built %zu chains\n", chains, sets, built);
	/* the comparison means something only if sharing happened */
	CHECK(chains > built);
	CHECK(sets > 0);
}

TEST(incremental_compile_shares_everything_when_nothing_changed)
{
	struct world w = {.cache = agent_cache_new(), .incr = nft_incr_new()};
	struct nft_incr_stats st;
	struct nft_delta *d = NULL;
	CHECK(run_world(42, 0, &w));
	CHECK(compare(&w, 1));
	nft_incr_get_stats(w.incr, &st);
	CHECK_INT(st.chains_built, 0);
	CHECK_INT(st.sets_built, 0);
	CHECK(nft_delta_compute(w.prev_incr, w.prev_incr, &d) == 0 && nft_delta_empty(d));
	nft_delta_free(d);
	nft_prog_free(w.prev_incr);
	nft_incr_free(w.incr);   /* before the program: either order is fine */
	nft_prog_free(w.prev_full);
	agent_cache_free(w.cache);
}

TEST(incremental_compile_of_a_node_without_pods_then_with_one)
{
	struct world w = {.cache = agent_cache_new(), .incr = nft_incr_new()};
	unit_rng = 7;
	CHECK(compare(&w, 0));       /* nothing at all: empty maps */
	CHECK(compare(&w, 1));
	CHECK(feed(&w, AGENT_NAMESPACES, "ADDED", gen_ns(0)));
	CHECK(feed(&w, AGENT_POLICIES, "ADDED", gen_policy(0)));
	CHECK(compare(&w, 2));
	CHECK(feed(&w, AGENT_PODS, "ADDED", gen_pod(0)));
	CHECK(compare(&w, 3));
	nft_prog_free(w.prev_incr);
	nft_incr_free(w.incr);
	nft_prog_free(w.prev_full);
	agent_cache_free(w.cache);
}

static bool has_elem(const struct nft_set *s, const char *e)
{
	for (size_t i = 0; s && i < s->nelems; i++)
		if (strcmp(s->elems[i], e) == 0)
			return true;
	return false;
}

static char *incr_text(struct nft_incr *x, struct nft_case *c)
{
	struct nft_opts o = {.pod_ifprefix = "np"};
	struct nft_prog *p = NULL;
	char *t = nft_incr_compile(x, c->e, c->cl, c->eps, c->neps, &o, &p, NULL) == 0
			  ? nft_prog_text(p) : NULL;
	nft_prog_free(p);
	return t;
}

static char *full_text(struct nft_case *c)
{
	struct nft_opts o = {.pod_ifprefix = "np"};
	struct nft_prog *p = NULL;
	char *t = nft_compile(c->e, c->cl, c->eps, c->neps, &o, &p, NULL) == 0 ? nft_prog_text(p)
										: NULL;
	nft_prog_free(p);
	return t;
}

/* The contract: nothing is remembered by policy, so a policy edited in
 * place (or replaced by one at the same address) shows up in the next
 * incremental compile without being reported. */
TEST(a_policy_edited_in_place_shows_up_in_the_next_incremental_compile)
{
	static const char text[] =
		"# endpoint: default/web npweb\n"
		"apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: default, labels: {app: web}}\n"
		"status: {podIP: 10.0.0.10}\n---\n"
		"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		"metadata: {name: web, namespace: default}\n"
		"spec:\n  podSelector: {matchLabels: {app: web}}\n"
		"  ingress:\n  - ports:\n    - port: 80\n";
	static const char elem80[] =
		"elements = { \"npweb\" . tcp . 80 : goto in/default/web/r0/pany/q0 }";
	static const char elem81[] =
		"elements = { \"npweb\" . tcp . 81 : goto in/default/web/r0/pany/q0 }";
	struct nft_case c = {0};
	struct nft_incr *x = nft_incr_new();
	struct nft_incr_stats st;
	char *err = NULL, *a = NULL, *b = NULL, *f = NULL;
	CHECK(nft_case_load("t.yaml", text, &c, &err) == 0);
	CHECK((a = incr_text(x, &c)) && strstr(a, elem80));
	struct np_policy *pol = cluster_find_policy(c.cl, "default", "web");
	CHECK(pol && pol->ningress == 1 && pol->ingress[0].nports == 1);
	pol->ingress[0].ports[0].port = 81;
	CHECK(engine_policy_changed(c.e, pol) == 0);
	/* not reported: the next compile sees it all the same */
	CHECK((b = incr_text(x, &c)) && (f = full_text(&c)));
	CHECK_STR(b, f);
	CHECK(strstr(b, elem81) != NULL);
	CHECK(strstr(b, "tcp . 80 ") == NULL);
	/* only the map that changed was made again */
	nft_incr_get_stats(x, &st);
	CHECK_INT(st.sets_built, 1);
	CHECK_INT(st.chains_built, 0);
	free(a);
	free(b);
	free(f);
	free(err);
	nft_incr_free(x);
	nft_case_clear(&c);
}

/* An egress named port that many destination pods declare: every one of
 * their addresses goes into eg-pod4, which must come out in nft's order
 * (addresses are sorted as numbers), one element per distinct address
 * (pods may share one), each going to the class of the numbers that
 * address gives the name. */
TEST(a_large_egress_named_port_pod_map_is_sorted_and_unique)
{
	struct world w = {.cache = agent_cache_new(), .incr = nft_incr_new()};
	char text[600];
	unsigned ports[256 * 4 * 3] = {0};   /* address -> bit per number (8000, 8001) */
	size_t distinct = 0;
	unit_rng = 99;
	CHECK(feed(&w, AGENT_NAMESPACES, "ADDED", gen_ns(0)));
	static const unsigned first[] = {10, 172, 9, 192};
	for (int i = 0; i < 900; i++) {
		/* F.A.B.C: few enough values that some repeat */
		unsigned a = unit_rnd(4), b = unit_rnd(256), port = 8000 + unit_rnd(2);
		snprintf(text, sizeof(text),
			 "{\"metadata\":{\"name\":\"q%d\",\"namespace\":\"ns0\"},\"spec\":{\"containers\":"
			 "[{\"name\":\"c\",\"ports\":[{\"name\":\"http\",\"containerPort\":%u}]}]},"
			 "\"status\":{\"podIP\":\"%u.%u.%u.%u\"}}",
			 i, port, first[a], a, b, (unsigned)i % 3);
		ports[(a * 256 + b) * 3 + (unsigned)i % 3] |= 1u << (port - 8000);
		CHECK(feed(&w, AGENT_PODS, "ADDED", json_loads(text, 0, NULL)));
	}
	/* and two pods of one address giving the name two numbers */
	for (unsigned k = 0; k < 2; k++) {
		snprintf(text, sizeof(text),
			 "{\"metadata\":{\"name\":\"both%u\",\"namespace\":\"ns0\"},\"spec\":"
			 "{\"containers\":[{\"name\":\"c\",\"ports\":[{\"name\":\"http\","
			 "\"containerPort\":%u}]}]},\"status\":{\"podIP\":\"10.0.7.1\"}}",
			 k, 8000 + k);
		ports[(0 * 256 + 7) * 3 + 1] |= 1u << k;
		CHECK(feed(&w, AGENT_PODS, "ADDED", json_loads(text, 0, NULL)));
	}
	size_t both = 0;
	for (size_t i = 0; i < 256 * 4 * 3; i++) {
		distinct += ports[i] != 0;
		both += ports[i] == 3;
	}
	CHECK(both > 0);
	/* the local pod: no named port, an address none of the others has */
	CHECK(feed(&w, AGENT_PODS, "ADDED",
		   json_loads("{\"metadata\":{\"name\":\"local\",\"namespace\":\"ns0\","
			      "\"annotations\":{\"netpol.io/interface\":\"np0\"}},"
			      "\"status\":{\"podIP\":\"10.255.255.254\"}}", 0, NULL)));
	snprintf(text, sizeof(text),
		 "{\"metadata\":{\"name\":\"pol\",\"namespace\":\"ns0\"},\"spec\":{\"podSelector\":{},"
		 "\"policyTypes\":[\"Egress\"],\"egress\":[{\"ports\":[{\"port\":\"http\"}]}]}}");
	CHECK(feed(&w, AGENT_POLICIES, "ADDED", json_loads(text, 0, NULL)));
	CHECK(compare(&w, 0));
	const struct nft_set *set = nft_prog_set(w.prev_incr, "eg-pod4");
	CHECK(set != NULL);
	CHECK(has_elem(nft_prog_set(w.prev_incr, "ep-egress"), "\"np0\" : goto eg/isolated"));
	CHECK_INT(set->nelems, distinct);
	for (size_t i = 1; i < set->nelems; i++)
		CHECK(nft_elem_cmp(set->elems[i - 1], set->elems[i]) < 0);
	for (size_t i = 0; i < set->nelems; i++) {
		unsigned o[4];
		char cls[64], mname[80];
		CHECK(sscanf(set->elems[i], "%u.%u.%u.%u : goto %63s", &o[0], &o[1], &o[2], &o[3],
			     cls) == 5);
		CHECK(o[1] < 4 && o[0] == first[o[1]] && o[2] < 256 && o[3] < 3);
		unsigned want = ports[(o[1] * 256 + o[2]) * 3 + o[3]];
		CHECK(want != 0);
		/* the class's allows: the numbers of that address, no other
		 * (two neighbours with one allow are one interval) */
		CHECK(strncmp(cls, "eg/c", 4) == 0);
		/* single numbers in the class's port map, two in its range map */
		snprintf(mname, sizeof(mname), "eg-%s-%c", cls + 3, want == 3 ? 'r' : 'p');
		const struct nft_set *m = nft_prog_set(w.prev_incr, mname);
		CHECK(m && m->nelems == 1);
		CHECK_STR(m->elems[0], want == 1   ? "\"np0\" . tcp . 8000 : goto eg/ns0/pol/r0/pany/q0"
				       : want == 2 ? "\"np0\" . tcp . 8001 : goto eg/ns0/pol/r0/pany/q0"
						   : "\"np0\" . tcp . 8000-8001 : goto eg/ns0/pol/r0/pany/q0");
	}
	nft_prog_free(w.prev_incr);
	nft_incr_free(w.incr);
	nft_prog_free(w.prev_full);
	agent_cache_free(w.cache);
}
