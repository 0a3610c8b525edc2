/* The policy engine: NetworkPolicy semantics one rule per test, the
 * attribution of verdicts, the index (against a naive scan, and
 * incremental against fresh), reach against evaluate on random clusters.
 * Lint and the tutorial are in test_lint.c. */
#include "unit.h"
#include "cluster_yaml.h"
#include "decode/decode.h"
#include "policy/policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- building clusters ------------------------------------------------------ */

/* "a=b,c=d" into l. */
static void set_labels(struct np_labels *l, const char *text)
{
	char *copy = strdup(text), *save = NULL;
	labels_clear(l);
	for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		*eq = '\0';
		labels_set(l, kv, eq + 1);
	}
	free(copy);
}

static struct np_namespace *add_ns(struct np_cluster *cl, const char *name, const char *labels)
{
	struct np_namespace *ns = namespace_new();
	ns->meta.name = strdup(name);
	set_labels(&ns->meta.labels, labels);
	labels_set(&ns->meta.labels, "kubernetes.io/metadata.name", name);
	cluster_add_namespace(cl, ns);
	return ns;
}

static void set_ip(struct np_pod *p, const char *ip)
{
	free(p->ips);
	p->ips = NULL;
	p->nips = 0;
	if (!ip)
		return;
	p->ips = calloc(1, sizeof(*p->ips));
	p->nips = 1;
	ip_parse(ip, &p->ips[0]);
}

/* ports: "http=80/TCP 81/TCP dns=53/UDP" */
static void set_ports(struct np_pod *p, const char *ports)
{
	char *copy = strdup(ports ? ports : ""), *save = NULL;
	for (size_t i = 0; i < p->nports; i++)
		free(p->ports[i].name);
	free(p->ports);
	p->ports = NULL;
	p->nports = 0;
	for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		struct np_container_port cp = {0};
		char *eq = strchr(t, '='), *slash = strchr(t, '/');
		if (eq) {
			*eq = '\0';
			cp.name = strdup(t);
			t = eq + 1;
		}
		*slash = '\0';
		cp.port = atoi(t);
		proto_parse(slash + 1, &cp.proto);
		p->ports = realloc(p->ports, (p->nports + 1) * sizeof(*p->ports));
		p->ports[p->nports++] = cp;
	}
	free(copy);
}

static struct np_pod *add_pod(struct np_cluster *cl, const char *ns, const char *name,
			      const char *labels, const char *ip, const char *ports)
{
	struct np_pod *p = pod_new();
	p->meta.name = strdup(name);
	p->meta.namespace = strdup(ns);
	set_labels(&p->meta.labels, labels);
	set_ip(p, ip);
	set_ports(p, ports);
	cluster_add_pod(cl, p);
	return p;
}

static void parse_sel(struct np_selector *s, const char *text)
{
	selector_clear(s);
	selector_parse(text, s, NULL);
}

/* types: "I", "E" or "IE". */
static struct np_policy *add_policy(struct np_cluster *cl, const char *ns, const char *name,
				    const char *podsel, const char *types)
{
	struct np_policy *p = policy_new();
	p->meta.name = strdup(name);
	p->meta.namespace = strdup(ns);
	parse_sel(&p->pod_sel, podsel);
	p->ingress_type = strchr(types, 'I') != NULL;
	p->egress_type = strchr(types, 'E') != NULL;
	p->types_written = true;
	cluster_add_policy(cl, p);
	return p;
}

/* The returned rule stays valid until the next add_rule on that policy. */
static struct np_rule *add_rule(struct np_policy *p, bool egress)
{
	struct np_rule **rules = egress ? &p->egress : &p->ingress;
	size_t *n = egress ? &p->negress : &p->ningress;
	*rules = realloc(*rules, (*n + 1) * sizeof(**rules));
	memset(&(*rules)[*n], 0, sizeof(**rules));
	return &(*rules)[(*n)++];
}

static struct np_peer *add_peer(struct np_rule *r)
{
	r->peers = realloc(r->peers, (r->npeers + 1) * sizeof(*r->peers));
	memset(&r->peers[r->npeers], 0, sizeof(*r->peers));
	return &r->peers[r->npeers++];
}

/* A peer: podsel and/or nssel (NULL = absent). */
static void peer_sel(struct np_rule *r, const char *podsel, const char *nssel)
{
	struct np_peer *p = add_peer(r);
	if (podsel) {
		p->has_pod_sel = true;
		parse_sel(&p->pod_sel, podsel);
	}
	if (nssel) {
		p->has_ns_sel = true;
		parse_sel(&p->ns_sel, nssel);
	}
}

/* An ipBlock peer: "10.0.0.0/8" and excepts "10.1.0.0/16 10.2.0.0/16". */
static void peer_block(struct np_rule *r, const char *cidr, const char *excepts)
{
	struct np_peer *p = add_peer(r);
	char *copy = strdup(excepts ? excepts : ""), *save = NULL;
	p->has_ipblock = true;
	cidr_parse(cidr, &p->ipblock.cidr, NULL);
	for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		p->ipblock.except = realloc(p->ipblock.except,
					    (p->ipblock.nexcept + 1) * sizeof(*p->ipblock.except));
		cidr_parse(t, &p->ipblock.except[p->ipblock.nexcept++], NULL);
	}
	free(copy);
}

/* "80/TCP", "80-90/TCP", "http/TCP", "UDP" (every port). */
static void rule_port(struct np_rule *r, const char *text)
{
	struct np_port_spec s = {0};
	char *copy = strdup(text), *slash = strchr(copy, '/');
	const char *proto = copy;
	if (slash) {
		*slash = '\0';
		proto = slash + 1;
		if (copy[0] >= '0' && copy[0] <= '9') {
			char *dash = strchr(copy, '-');
			s.kind = PORT_NUMBER;
			s.port = atoi(copy);
			s.end_port = dash ? atoi(dash + 1) : 0;
		} else {
			s.kind = PORT_NAMED;
			s.name = strdup(copy);
		}
	} else {
		s.kind = PORT_ANY;
	}
	proto_parse(proto, &s.proto);
	r->ports = realloc(r->ports, (r->nports + 1) * sizeof(*r->ports));
	r->ports[r->nports++] = s;
	free(copy);
}

/* The connection verdict between two pods ("ns/name") on port. */
static bool allowed(struct engine *e, const struct np_cluster *cl, const char *from,
		    const char *to, struct np_port port)
{
	char f[128], t[128];
	snprintf(f, sizeof(f), "%s", from);
	snprintf(t, sizeof(t), "%s", to);
	char *fs = strchr(f, '/'), *ts = strchr(t, '/');
	struct np_endpoint src = fs ? (*fs = 0, pod_ep(cl, f, fs + 1)) : ip_ep(f);
	struct np_endpoint dst = ts ? (*ts = 0, pod_ep(cl, t, ts + 1)) : ip_ep(t);
	struct np_verdict v;
	if (engine_evaluate(e, &src, &dst, port, &v) < 0)
		return false;
	bool ok = v.allowed;
	verdict_clear(&v);
	return ok;
}

/* A cluster with namespaces x (team=a) and y (team=b), pods x/a (app=a),
 * x/b (app=b), y/a (app=a), y/c (app=c), addresses 10.0.0.1.. */
static struct np_cluster *xy(void)
{
	struct np_cluster *cl = cluster_new();
	add_ns(cl, "x", "team=a");
	add_ns(cl, "y", "team=b");
	add_pod(cl, "x", "a", "app=a", "10.0.0.1", "http=80/TCP 81/TCP dns=53/UDP");
	add_pod(cl, "x", "b", "app=b", "10.0.0.2", "http=8080/TCP");
	add_pod(cl, "y", "a", "app=a", "10.0.1.1", "http=80/TCP");
	add_pod(cl, "y", "c", "app=c", "fd00::3", "web=80/TCP");
	cluster_finish(cl);
	return cl;
}

/* ---- isolation ---------------------------------------------------------------- */

TEST(pod_selected_by_no_policy_allows_everything_in_both_directions)
{
	struct np_cluster *cl = xy();
	struct engine *e = engine_new(cl);
	CHECK(allowed(e, cl, "x/a", "y/c", tcp(80)));
	CHECK(allowed(e, cl, "192.0.2.1", "x/a", udp(53)));
	CHECK(allowed(e, cl, "x/a", "192.0.2.1", tcp(443)));
	engine_free(e);
	cluster_free(cl);
}

TEST(ingress_policy_isolates_only_the_pods_it_selects_in_its_namespace)
{
	struct np_cluster *cl = xy();
	add_policy(cl, "x", "deny-a", "app=a", "I");
	struct engine *e = engine_new(cl);
	CHECK(!allowed(e, cl, "x/b", "x/a", tcp(80)));
	CHECK(!allowed(e, cl, "192.0.2.1", "x/a", tcp(80)));
	CHECK(allowed(e, cl, "x/a", "x/b", tcp(8080)));      /* x/b not selected */
	CHECK(allowed(e, cl, "x/b", "y/a", tcp(80)));        /* y/a: other namespace */
	CHECK(allowed(e, cl, "x/a", "y/c", tcp(80)));        /* egress of x/a untouched */
	engine_free(e);
	cluster_free(cl);
}

TEST(egress_isolation_is_independent_of_ingress_isolation)
{
	struct np_cluster *cl = xy();
	add_policy(cl, "x", "deny-egress", "", "E");
	struct engine *e = engine_new(cl);
	CHECK(!allowed(e, cl, "x/a", "y/a", tcp(80)));
	CHECK(!allowed(e, cl, "x/a", "x/b", tcp(8080)));
	CHECK(!allowed(e, cl, "x/a", "192.0.2.1", tcp(80)));
	CHECK(allowed(e, cl, "y/a", "x/a", tcp(80)));        /* ingress of x/a open */
	engine_free(e);
	cluster_free(cl);
}

TEST(policy_with_ingress_and_egress_types_but_no_rules_denies_both)
{
	struct np_cluster *cl = xy();
	add_policy(cl, "x", "deny-all", "app=a", "IE");
	struct engine *e = engine_new(cl);
	CHECK(!allowed(e, cl, "x/a", "x/b", tcp(8080)));
	CHECK(!allowed(e, cl, "x/b", "x/a", tcp(80)));
	CHECK(allowed(e, cl, "x/b", "y/a", tcp(80)));
	engine_free(e);
	cluster_free(cl);
}

TEST(allowed_traffic_is_the_union_of_every_selecting_policy)
{
	struct np_cluster *cl = xy();
	struct np_policy *p1 = add_policy(cl, "x", "from-b", "app=a", "I");
	peer_sel(add_rule(p1, false), "app=b", NULL);
	struct np_policy *p2 = add_policy(cl, "x", "from-y", "", "I");
	peer_sel(add_rule(p2, false), NULL, "team=b");
	struct engine *e = engine_new(cl);
	CHECK(allowed(e, cl, "x/b", "x/a", tcp(80)));        /* by from-b */
	CHECK(allowed(e, cl, "y/c", "x/a", tcp(80)));        /* by from-y */
	CHECK(!allowed(e, cl, "x/a", "x/b", tcp(8080)));     /* x/b: only from-y */
	CHECK(allowed(e, cl, "y/a", "x/b", tcp(8080)));
	engine_free(e);
	cluster_free(cl);
}

/* ---- empty versus missing lists ---------------------------------------------------- */

TEST(rule_without_peers_and_ports_allows_everyone_including_outside)
{
	struct np_cluster *cl = xy();
	add_rule(add_policy(cl, "x", "allow-all", "app=a", "I"), false);
	struct engine *e = engine_new(cl);
	CHECK(allowed(e, cl, "y/c", "x/a", tcp(1)));
	CHECK(allowed(e, cl, "203.0.113.9", "x/a", udp(9999)));
	CHECK(allowed(e, cl, "2001:db8::1", "x/a", tcp(80)));
	engine_free(e);
	cluster_free(cl);
}

TEST(empty_pod_selector_peer_means_every_pod_of_the_policy_namespace_only)
{
	struct np_cluster *cl = xy();
	peer_sel(add_rule(add_policy(cl, "x", "same-ns", "", "I"), false), "", NULL);
	struct engine *e = engine_new(cl);
	CHECK(allowed(e, cl, "x/b", "x/a", tcp(80)));
	CHECK(!allowed(e, cl, "y/a", "x/a", tcp(80)));
	CHECK(!allowed(e, cl, "10.0.1.1", "x/a", tcp(80)));  /* y/a's address, but not a pod endpoint */
	engine_free(e);
	cluster_free(cl);
}

TEST(empty_namespace_selector_peer_means_every_pod_of_every_namespace_but_not_outside)
{
	struct np_cluster *cl = xy();
	peer_sel(add_rule(add_policy(cl, "x", "all-pods", "", "I"), false), NULL, "");
	struct engine *e = engine_new(cl);
	CHECK(allowed(e, cl, "y/c", "x/a", tcp(80)));
	CHECK(allowed(e, cl, "x/b", "x/a", tcp(80)));
	CHECK(!allowed(e, cl, "192.0.2.1", "x/a", tcp(80)));
	engine_free(e);
	cluster_free(cl);
}

TEST(pod_and_namespace_selector_in_one_peer_must_both_match)
{
	struct np_cluster *cl = xy();
	peer_sel(add_rule(add_policy(cl, "x", "and", "", "I"), false), "app=a", "team=b");
	struct engine *e = engine_new(cl);
	CHECK(allowed(e, cl, "y/a", "x/b", tcp(8080)));
	CHECK(!allowed(e, cl, "y/c", "x/b", tcp(8080)));     /* namespace only */
	CHECK(!allowed(e, cl, "x/a", "x/b", tcp(8080)));     /* labels only */
	engine_free(e);
	cluster_free(cl);
}

TEST(pod_and_namespace_selector_in_two_peers_match_either)
{
	struct np_cluster *cl = xy();
	struct np_rule *r = add_rule(add_policy(cl, "x", "or", "", "I"), false);
	peer_sel(r, "app=a", NULL);
	peer_sel(r, NULL, "team=b");
	struct engine *e = engine_new(cl);
	CHECK(allowed(e, cl, "y/c", "x/b", tcp(8080)));      /* by namespace */
	CHECK(allowed(e, cl, "x/a", "x/b", tcp(8080)));      /* by pod, in x */
	CHECK(!allowed(e, cl, "x/b", "x/a", tcp(80)));
	engine_free(e);
	cluster_free(cl);
}

TEST(namespace_selector_can_use_the_metadata_name_label)
{
	struct np_cluster *cl = xy();
	peer_sel(add_rule(add_policy(cl, "x", "from-y", "", "I"), false), NULL,
		 "kubernetes.io/metadata.name=y");
	struct engine *e = engine_new(cl);
	CHECK(allowed(e, cl, "y/c", "x/a", tcp(80)));
	CHECK(!allowed(e, cl, "x/b", "x/a", tcp(80)));
	engine_free(e);
	cluster_free(cl);
}

/* ---- ipBlock ---------------------------------------------------------------------- */

TEST(ipblock_with_except_ipv4)
{
	struct np_cluster *cl = xy();
	peer_block(add_rule(add_policy(cl, "x", "block", "app=a", "I"), false),
		   "192.168.0.0/16", "192.168.1.0/24 192.168.2.128/25");
	struct engine *e = engine_new(cl);
	CHECK(allowed(e, cl, "192.168.0.1", "x/a", tcp(80)));
	CHECK(allowed(e, cl, "192.168.255.255", "x/a", tcp(80)));
	CHECK(allowed(e, cl, "192.168.2.127", "x/a", tcp(80)));
	CHECK(!allowed(e, cl, "192.168.1.7", "x/a", tcp(80)));
	CHECK(!allowed(e, cl, "192.168.2.128", "x/a", tcp(80)));
	CHECK(!allowed(e, cl, "192.169.0.1", "x/a", tcp(80)));
	CHECK(!allowed(e, cl, "::ffff:192.168.0.1", "x/a", tcp(80)));  /* other family */
	engine_free(e);
	cluster_free(cl);
}

TEST(ipblock_with_except_ipv6)
{
	struct np_cluster *cl = xy();
	peer_block(add_rule(add_policy(cl, "x", "block6", "app=a", "I"), false),
		   "2001:db8::/32", "2001:db8:1::/48");
	struct engine *e = engine_new(cl);
	CHECK(allowed(e, cl, "2001:db8::1", "x/a", tcp(80)));
	CHECK(allowed(e, cl, "2001:db8:2::1", "x/a", tcp(80)));
	CHECK(!allowed(e, cl, "2001:db8:1::1", "x/a", tcp(80)));
	CHECK(!allowed(e, cl, "2001:db9::1", "x/a", tcp(80)));
	CHECK(!allowed(e, cl, "32.1.13.184", "x/a", tcp(80)));  /* 2001:db8 as IPv4 bytes */
	engine_free(e);
	cluster_free(cl);
}

TEST(ipblock_matches_pods_by_their_address)
{
	struct np_cluster *cl = xy();
	peer_block(add_rule(add_policy(cl, "x", "from-net", "app=a", "I"), false),
		   "10.0.1.0/24", NULL);
	struct engine *e = engine_new(cl);
	CHECK(allowed(e, cl, "y/a", "x/a", tcp(80)));        /* 10.0.1.1 */
	CHECK(!allowed(e, cl, "x/b", "x/a", tcp(80)));       /* 10.0.0.2 */
	CHECK(!allowed(e, cl, "y/c", "x/a", tcp(80)));       /* IPv6 */
	engine_free(e);
	cluster_free(cl);
}

TEST(pod_without_address_never_matches_an_ipblock)
{
	struct np_cluster *cl = xy();
	add_pod(cl, "y", "noip", "app=z", NULL, NULL);
	cluster_finish(cl);
	peer_block(add_rule(add_policy(cl, "x", "from-all", "app=a", "I"), false), "0.0.0.0/0", NULL);
	cluster_finish(cl);
	struct engine *e = engine_new(cl);
	CHECK(!allowed(e, cl, "y/noip", "x/a", tcp(80)));
	CHECK(allowed(e, cl, "y/a", "x/a", tcp(80)));
	engine_free(e);
	cluster_free(cl);
}

/* ---- outside the cluster -------------------------------------------------------------- */

TEST(outside_source_matches_only_ipblock_or_empty_peer_lists)
{
	struct np_cluster *cl = xy();
	struct np_rule *r = add_rule(add_policy(cl, "x", "sel", "app=a", "I"), false);
	peer_sel(r, "", NULL);
	peer_sel(r, NULL, "");
	peer_sel(r, "", "");
	struct engine *e = engine_new(cl);
	CHECK(!allowed(e, cl, "192.0.2.1", "x/a", tcp(80)));
	CHECK(allowed(e, cl, "y/c", "x/a", tcp(80)));
	engine_free(e);
	cluster_free(cl);
}

TEST(outside_endpoint_has_no_policy_of_its_own)
{
	struct np_cluster *cl = xy();
	struct engine *e = engine_new(cl);
	struct np_endpoint src = ip_ep("192.0.2.1"), dst = ip_ep("192.0.2.2");
	struct np_verdict v;
	CHECK_INT(engine_evaluate(e, &src, &dst, tcp(80), &v), 0);
	CHECK(v.allowed);
	CHECK(!v.egress.applies && v.egress.allowed && !v.egress.isolated);
	CHECK(!v.ingress.applies && v.ingress.allowed);
	verdict_clear(&v);
	engine_free(e);
	cluster_free(cl);
}

TEST(egress_to_outside_addresses_needs_an_ipblock_or_empty_peers)
{
	struct np_cluster *cl = xy();
	struct np_policy *p = add_policy(cl, "x", "out", "app=a", "E");
	peer_block(add_rule(p, true), "203.0.113.0/24", NULL);
	struct np_rule *r = add_rule(p, true);
	peer_sel(r, NULL, "");
	rule_port(r, "53/UDP");
	struct engine *e = engine_new(cl);
	CHECK(allowed(e, cl, "x/a", "203.0.113.5", tcp(443)));
	CHECK(!allowed(e, cl, "x/a", "198.51.100.5", tcp(443)));
	CHECK(!allowed(e, cl, "x/a", "198.51.100.5", udp(53)));   /* selectors: pods only */
	CHECK(allowed(e, cl, "x/a", "y/a", udp(53)));
	CHECK(!allowed(e, cl, "x/a", "y/a", tcp(80)));
	engine_free(e);
	cluster_free(cl);
}

TEST(connection_needs_the_source_egress_and_the_destination_ingress)
{
	struct np_cluster *cl = xy();
	peer_sel(add_rule(add_policy(cl, "x", "egress-to-b", "app=a", "E"), true), "app=b", NULL);
	add_policy(cl, "x", "deny-b", "app=b", "I");
	struct engine *e = engine_new(cl);
	struct np_endpoint src = pod_ep(cl, "x", "a"), dst = pod_ep(cl, "x", "b");
	struct np_verdict v;
	CHECK_INT(engine_evaluate(e, &src, &dst, tcp(8080), &v), 0);
	CHECK(v.egress.allowed);
	CHECK(!v.ingress.allowed);
	CHECK(!v.allowed);
	verdict_clear(&v);
	engine_free(e);
	cluster_free(cl);
}

/* ---- ports ---------------------------------------------------------------------------- */

TEST(port_must_match_number_and_protocol)
{
	struct np_cluster *cl = xy();
	rule_port(add_rule(add_policy(cl, "x", "p80", "app=a", "I"), false), "80/TCP");
	struct engine *e = engine_new(cl);
	CHECK(allowed(e, cl, "x/b", "x/a", tcp(80)));
	CHECK(!allowed(e, cl, "x/b", "x/a", tcp(81)));
	CHECK(!allowed(e, cl, "x/b", "x/a", udp(80)));
	CHECK(!allowed(e, cl, "x/b", "x/a", (struct np_port){80, NP_SCTP}));
	engine_free(e);
	cluster_free(cl);
}

TEST(end_port_makes_an_inclusive_range)
{
	struct np_cluster *cl = xy();
	rule_port(add_rule(add_policy(cl, "x", "range", "app=a", "I"), false), "80-82/TCP");
	struct engine *e = engine_new(cl);
	CHECK(!allowed(e, cl, "x/b", "x/a", tcp(79)));
	CHECK(allowed(e, cl, "x/b", "x/a", tcp(80)));
	CHECK(allowed(e, cl, "x/b", "x/a", tcp(82)));
	CHECK(!allowed(e, cl, "x/b", "x/a", tcp(83)));
	CHECK(!allowed(e, cl, "x/b", "x/a", udp(81)));
	engine_free(e);
	cluster_free(cl);
}

TEST(protocol_without_port_allows_every_port_of_that_protocol)
{
	struct np_cluster *cl = xy();
	rule_port(add_rule(add_policy(cl, "x", "udp", "app=a", "I"), false), "UDP");
	struct engine *e = engine_new(cl);
	CHECK(allowed(e, cl, "x/b", "x/a", udp(1)));
	CHECK(allowed(e, cl, "x/b", "x/a", udp(65535)));
	CHECK(!allowed(e, cl, "x/b", "x/a", tcp(53)));
	engine_free(e);
	cluster_free(cl);
}

TEST(named_port_is_resolved_on_the_destination_pod_for_ingress)
{
	struct np_cluster *cl = xy();
	rule_port(add_rule(add_policy(cl, "x", "http", "", "I"), false), "http/TCP");
	struct engine *e = engine_new(cl);
	CHECK(allowed(e, cl, "x/b", "x/a", tcp(80)));        /* x/a: http=80 */
	CHECK(!allowed(e, cl, "x/b", "x/a", tcp(8080)));
	CHECK(allowed(e, cl, "x/a", "x/b", tcp(8080)));      /* x/b: http=8080 */
	CHECK(!allowed(e, cl, "x/a", "x/b", tcp(80)));
	engine_free(e);
	cluster_free(cl);
}

TEST(named_port_is_resolved_per_protocol)
{
	struct np_cluster *cl = xy();
	struct np_rule *r = add_rule(add_policy(cl, "x", "dns", "app=a", "I"), false);
	rule_port(r, "dns/TCP");    /* x/a declares dns on UDP only */
	struct engine *e = engine_new(cl);
	CHECK(!allowed(e, cl, "x/b", "x/a", tcp(53)));
	CHECK(!allowed(e, cl, "x/b", "x/a", udp(53)));
	engine_free(e);
	cluster_free(cl);
	cl = xy();
	r = add_rule(add_policy(cl, "x", "dns", "app=a", "I"), false);
	rule_port(r, "dns/UDP");
	e = engine_new(cl);
	CHECK(allowed(e, cl, "x/b", "x/a", udp(53)));
	CHECK(!allowed(e, cl, "x/b", "x/a", tcp(53)));
	engine_free(e);
	cluster_free(cl);
}

TEST(named_port_in_egress_is_resolved_on_each_destination)
{
	struct np_cluster *cl = xy();
	rule_port(add_rule(add_policy(cl, "x", "egress-http", "app=a", "E"), true), "http/TCP");
	struct engine *e = engine_new(cl);
	CHECK(allowed(e, cl, "x/a", "x/b", tcp(8080)));
	CHECK(!allowed(e, cl, "x/a", "x/b", tcp(80)));
	CHECK(allowed(e, cl, "x/a", "y/a", tcp(80)));
	CHECK(!allowed(e, cl, "x/a", "y/c", tcp(80)));       /* y/c names 80 "web" */
	CHECK(!allowed(e, cl, "x/a", "192.0.2.1", tcp(80))); /* outside: no names */
	engine_free(e);
	cluster_free(cl);
}

/* ---- attribution -------------------------------------------------------------------------- */

TEST(verdict_lists_isolating_policies_sorted_by_name)
{
	struct np_cluster *cl = xy();
	add_policy(cl, "x", "zeta", "", "I");
	add_policy(cl, "x", "alpha", "app=a", "IE");
	add_policy(cl, "x", "mid", "app=b", "I");       /* does not select x/a */
	add_policy(cl, "x", "beta", "", "E");          /* egress only */
	cluster_finish(cl);
	struct engine *e = engine_new(cl);
	struct np_endpoint src = pod_ep(cl, "y", "a"), dst = pod_ep(cl, "x", "a");
	struct np_verdict v;
	CHECK_INT(engine_evaluate(e, &src, &dst, tcp(80), &v), 0);
	CHECK(v.ingress.applies && v.ingress.isolated && !v.ingress.allowed);
	CHECK_INT(v.ingress.nisolating, 2);
	CHECK_STR(v.ingress.isolating[0]->meta.name, "alpha");
	CHECK_STR(v.ingress.isolating[1]->meta.name, "zeta");
	CHECK(v.ingress.policy == NULL);
	CHECK(v.egress.applies && !v.egress.isolated && v.egress.allowed);
	CHECK_INT(v.egress.nisolating, 0);
	verdict_clear(&v);
	const struct np_policy *const *pols;
	CHECK_INT(engine_policies_selecting(e, dst.pod, &pols), 3);
	CHECK_STR(pols[0]->meta.name, "alpha");
	CHECK_STR(pols[1]->meta.name, "beta");
	CHECK_STR(pols[2]->meta.name, "zeta");
	engine_free(e);
	cluster_free(cl);
}

TEST(verdict_names_the_first_matching_policy_rule_peer_and_port)
{
	struct np_cluster *cl = xy();
	struct np_policy *b = add_policy(cl, "x", "b-second", "app=a", "I");
	struct np_rule *r = add_rule(b, false);
	peer_sel(r, "app=b", NULL);
	rule_port(r, "80/TCP");
	struct np_policy *a = add_policy(cl, "x", "a-first", "app=a", "I");
	r = add_rule(a, false);
	peer_sel(r, "app=nothing", NULL);              /* rule 0: no peer matches */
	r = add_rule(a, false);
	peer_sel(r, "app=zzz", NULL);                  /* rule 1: peer 1 matches */
	peer_sel(r, NULL, "team=a");
	rule_port(r, "UDP");
	rule_port(r, "70-90/TCP");                     /* port 1 matches */
	cluster_finish(cl);
	struct engine *e = engine_new(cl);
	struct np_endpoint src = pod_ep(cl, "x", "b"), dst = pod_ep(cl, "x", "a");
	struct np_verdict v;
	CHECK_INT(engine_evaluate(e, &src, &dst, tcp(80), &v), 0);
	CHECK(v.allowed && v.ingress.allowed);
	CHECK_STR(v.ingress.policy->meta.name, "a-first");
	CHECK_INT(v.ingress.rule, 1);
	CHECK_INT(v.ingress.peer, 1);
	CHECK_INT(v.ingress.port, 1);
	verdict_clear(&v);
	engine_free(e);
	cluster_free(cl);
}

TEST(verdict_uses_minus_one_for_a_rule_without_peers_or_ports)
{
	struct np_cluster *cl = xy();
	struct np_policy *p = add_policy(cl, "x", "p", "app=a", "E");
	rule_port(add_rule(p, true), "81/TCP");
	add_rule(p, true);
	struct engine *e = engine_new(cl);
	struct np_endpoint src = pod_ep(cl, "x", "a"), dst = ip_ep("192.0.2.1");
	struct np_verdict v;
	CHECK_INT(engine_evaluate(e, &src, &dst, tcp(81), &v), 0);
	CHECK(v.allowed);
	CHECK_INT(v.egress.rule, 0);
	CHECK_INT(v.egress.peer, -1);
	CHECK_INT(v.egress.port, 0);
	verdict_clear(&v);
	CHECK_INT(engine_evaluate(e, &src, &dst, tcp(82), &v), 0);
	CHECK_INT(v.egress.rule, 1);
	CHECK_INT(v.egress.peer, -1);
	CHECK_INT(v.egress.port, -1);
	CHECK(!v.ingress.applies);
	verdict_clear(&v);
	engine_free(e);
	cluster_free(cl);
}

/* ---- the index ---------------------------------------------------------------------------- */

/* Naive answers, by scanning everything, to check the index against. */
static int meta_order(const void *a, const void *b)
{
	const struct np_pod *x = *(const struct np_pod *const *)a, *y = *(const struct np_pod *const *)b;
	int c = strcmp(x->meta.namespace, y->meta.namespace);
	return c ? c : strcmp(x->meta.name, y->meta.name);
}

static bool naive_ns_matches(const struct np_cluster *cl, const struct np_selector *sel, const char *ns)
{
	const struct np_namespace *obj = cluster_find_namespace(cl, ns);
	struct np_labels l = {0};
	if (obj)
		labels_copy(&l, &obj->meta.labels);
	labels_set(&l, "kubernetes.io/metadata.name", ns);
	bool m = selector_matches(sel, &l);
	labels_clear(&l);
	return m;
}

static bool naive_peer_has(const struct np_cluster *cl, const struct np_policy *pol,
			   const struct np_peer *peer, const struct np_pod *pod)
{
	if (peer->has_ipblock) {
		if (!pod->nips || !cidr_contains_ip(&peer->ipblock.cidr, &pod->ips[0]))
			return false;
		for (size_t i = 0; i < peer->ipblock.nexcept; i++)
			if (cidr_contains_ip(&peer->ipblock.except[i], &pod->ips[0]))
				return false;
		return true;
	}
	if (peer->has_pod_sel && !selector_matches(&peer->pod_sel, &pod->meta.labels))
		return false;
	if (peer->has_ns_sel)
		return naive_ns_matches(cl, &peer->ns_sel, pod->meta.namespace);
	return strcmp(pod->meta.namespace, pol->meta.namespace) == 0;
}

static size_t naive_peer_pods(const struct np_cluster *cl, const struct np_policy *pol,
			      const struct np_peer *peer, const struct np_pod **out)
{
	size_t n = 0;
	for (size_t i = 0; i < cl->npods; i++)
		if (naive_peer_has(cl, pol, peer, cl->pods[i]))
			out[n++] = cl->pods[i];
	if (n > 1)
		qsort(out, n, sizeof(*out), meta_order);
	return n;
}

static size_t naive_selecting(const struct np_cluster *cl, const struct np_pod *pod,
			      const struct np_policy **out)
{
	size_t n = 0;
	for (size_t i = 0; i < cl->npolicies; i++) {
		const struct np_policy *p = cl->policies[i];
		if (strcmp(p->meta.namespace, pod->meta.namespace) == 0 &&
		    selector_matches(&p->pod_sel, &pod->meta.labels))
			out[n++] = p;
	}
	for (size_t i = 1; i < n; i++)       /* insertion sort by name */
		for (size_t j = i; j > 0 && strcmp(out[j - 1]->meta.name, out[j]->meta.name) > 0; j--) {
			const struct np_policy *t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

/* Every answer of the index equals the naive one. Returns a description
 * of the first difference, or NULL. */
static const char *index_agrees_with_naive(struct engine *e, const struct np_cluster *cl)
{
	static char why[256];
	const struct np_policy **want_pol = calloc(cl->npolicies + 1, sizeof(*want_pol));
	const struct np_pod **want_pod = calloc(cl->npods + 1, sizeof(*want_pod));
	const char *bad = NULL;
	for (size_t i = 0; !bad && i < cl->npods; i++) {
		const struct np_policy *const *got;
		size_t n = engine_policies_selecting(e, cl->pods[i], &got);
		size_t m = naive_selecting(cl, cl->pods[i], want_pol);
		if (n != m || (n && memcmp(got, want_pol, n * sizeof(*got)) != 0)) {
			snprintf(why, sizeof(why), "policies selecting %s/%s: %zu, expected %zu",
				 cl->pods[i]->meta.namespace, cl->pods[i]->meta.name, n, m);
			bad = why;
		}
	}
	for (size_t i = 0; !bad && i < cl->npolicies; i++) {
		const struct np_policy *p = cl->policies[i];
		for (int dir = 0; dir < 2 && !bad; dir++) {
			const struct np_rule *rules = dir ? p->egress : p->ingress;
			size_t nr = dir ? p->negress : p->ningress;
			for (size_t r = 0; r < nr && !bad; r++) {
				for (size_t k = 0; k < rules[r].npeers && !bad; k++) {
					const struct np_pod *const *got;
					size_t n = engine_peer_pods(e, p, &rules[r].peers[k], &got);
					size_t m = naive_peer_pods(cl, p, &rules[r].peers[k], want_pod);
					if (n != m || (n && memcmp(got, want_pod, n * sizeof(*got)) != 0)) {
						snprintf(why, sizeof(why), "peer pods of %s/%s %s[%zu] peer %zu: %zu, expected %zu",
							 p->meta.namespace, p->meta.name, dir ? "egress" : "ingress",
							 r, k, n, m);
						bad = why;
					}
				}
			}
		}
	}
	free(want_pol);
	free(want_pod);
	return bad;
}

TEST(policies_selecting_a_pod_come_from_its_namespace_only)
{
	struct np_cluster *cl = xy();
	add_policy(cl, "y", "all-in-y", "", "I");
	add_policy(cl, "x", "a-in-x", "app=a", "I");
	cluster_finish(cl);
	struct engine *e = engine_new(cl);
	const struct np_policy *const *pols;
	CHECK_INT(engine_policies_selecting(e, cluster_find_pod(cl, "x", "a"), &pols), 1);
	CHECK_STR(pols[0]->meta.name, "a-in-x");
	CHECK_INT(engine_policies_selecting(e, cluster_find_pod(cl, "x", "b"), &pols), 0);
	CHECK(pols != NULL);
	CHECK_INT(engine_policies_selecting(e, cluster_find_pod(cl, "y", "c"), &pols), 1);
	CHECK(index_agrees_with_naive(e, cl) == NULL);
	engine_free(e);
	cluster_free(cl);
}

TEST(peer_pods_follow_each_kind_of_peer)
{
	struct np_cluster *cl = xy();
	struct np_rule *r = add_rule(add_policy(cl, "x", "p", "", "I"), false);
	peer_sel(r, "app=a", NULL);             /* x/a */
	peer_sel(r, NULL, "team=b");            /* y/a, y/c */
	peer_sel(r, "app in (a,c)", "");        /* x/a, y/a, y/c */
	peer_block(r, "10.0.0.0/16", "10.0.0.2/32");   /* x/a, y/a */
	peer_block(r, "fd00::/64", NULL);       /* y/c */
	cluster_finish(cl);
	struct engine *e = engine_new(cl);
	const struct np_policy *p = cluster_find_policy(cl, "x", "p");
	const struct np_pod *const *pods;
	static const size_t want[] = {1, 2, 3, 2, 1};
	for (size_t i = 0; i < 5; i++)
		CHECK_INT(engine_peer_pods(e, p, &p->ingress[0].peers[i], &pods), want[i]);
	CHECK_INT(engine_peer_pods(e, p, &p->ingress[0].peers[1], &pods), 2);
	CHECK_STR(pods[0]->meta.name, "a");
	CHECK_STR(pods[1]->meta.name, "c");
	CHECK(index_agrees_with_naive(e, cl) == NULL);
	engine_free(e);
	cluster_free(cl);
}

TEST(identical_peers_share_one_peer_set)
{
	struct np_cluster *cl = xy();
	struct np_policy *p1 = add_policy(cl, "x", "p1", "", "I");
	peer_sel(add_rule(p1, false), "app in (a)", "team=b");
	struct np_policy *p2 = add_policy(cl, "y", "p2", "", "E");
	peer_sel(add_rule(p2, true), "app=a", "team in (b)");   /* same meaning */
	struct np_policy *p3 = add_policy(cl, "y", "p3", "", "E");
	peer_sel(add_rule(p3, true), "app=a", NULL);    /* in y: not the same */
	struct np_policy *p4 = add_policy(cl, "x", "p4", "", "E");
	peer_sel(add_rule(p4, true), "app=a", NULL);    /* in x */
	cluster_finish(cl);
	struct engine *e = engine_new(cl);
	const struct np_pod *const *a, *const *b, *const *c, *const *d;
	engine_peer_pods(e, p1, &p1->ingress[0].peers[0], &a);
	engine_peer_pods(e, p2, &p2->egress[0].peers[0], &b);
	engine_peer_pods(e, p3, &p3->egress[0].peers[0], &c);
	engine_peer_pods(e, p4, &p4->egress[0].peers[0], &d);
	CHECK(a == b);
	CHECK(a != c && c != d);
	engine_free(e);
	cluster_free(cl);
}

TEST(peer_pods_of_a_peer_the_engine_never_saw_are_computed_on_demand)
{
	struct np_cluster *cl = xy();
	add_policy(cl, "x", "p", "", "I");
	cluster_finish(cl);
	struct engine *e = engine_new(cl);
	struct np_peer peer = {0};
	peer.has_ns_sel = true;
	selector_parse("team=b", &peer.ns_sel, NULL);
	const struct np_pod *const *pods;
	CHECK_INT(engine_peer_pods(e, cluster_find_policy(cl, "x", "p"), &peer, &pods), 2);
	peer_clear(&peer);
	engine_free(e);
	cluster_free(cl);
}

TEST(cluster_ports_are_distinct_and_sorted_by_protocol_then_number)
{
	struct np_cluster *cl = xy();
	struct np_port *p;
	size_t n;
	CHECK_INT(cluster_ports(cl, &p, &n), 0);
	CHECK_INT(n, 4);
	CHECK(p[0].proto == NP_TCP && p[0].port == 80);
	CHECK(p[1].proto == NP_TCP && p[1].port == 81);
	CHECK(p[2].proto == NP_TCP && p[2].port == 8080);
	CHECK(p[3].proto == NP_UDP && p[3].port == 53);
	free(p);
	cluster_free(cl);
	cl = cluster_new();
	CHECK_INT(cluster_ports(cl, &p, &n), 0);
	CHECK_INT(n, 0);
	free(p);
	cluster_free(cl);
}

TEST(cluster_ports_include_service_target_ports_and_ports_policies_name)
{
	struct np_cluster *cl = yaml(
		"apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: x}\n"
		"spec:\n  selector: {app: web}\n  ports:\n  - {name: a, port: 80, targetPort: 8080}\n"
		"  - {name: b, port: 443}\n  - {name: c, port: 9000, targetPort: metrics}\n"
		"  - {name: d, port: 53, protocol: UDP}\n---\n"
		"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: x}\n"
		"spec:\n  podSelector: {}\n  ingress:\n  - ports:\n    - {port: 81}\n"
		"    - {port: 1000, endPort: 2000}\n    - {port: http}\n    - {protocol: SCTP}\n"
		"  egress:\n  - ports:\n    - {port: 5353, protocol: UDP}\n");
	struct np_port *p;
	size_t n;
	CHECK(cl);
	CHECK_INT(cluster_ports(cl, &p, &n), 0);
	char got[256] = "";
	for (size_t i = 0; i < n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%d/%s", i ? " " : "",
			 p[i].port, proto_name(p[i].proto));
	CHECK_STR(got, "81/TCP 443/TCP 1000/TCP 8080/TCP 53/UDP 5353/UDP");
	free(p);
	cluster_free(cl);
}

/* ---- random clusters ------------------------------------------------------------------------ */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;    /* xorshift64: fixed seed, same clusters every run */
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

#define PICK(arr) (arr)[rnd(sizeof(arr) / sizeof((arr)[0]))]

static const char *const rnd_ns[] = {"x", "y", "z"};
static const char *const rnd_ns_labels[] = {"", "team=a", "team=b", "team=a,env=p", "env=q"};
static const char *const rnd_pod_labels[] = {"", "app=a", "app=b", "app=c", "app=a,tier=f",
					     "app=b,tier=b", "tier=f"};
static const char *const rnd_ips[] = {NULL, "10.0.0.1", "10.0.0.2", "10.0.0.5", "10.0.0.9",
				      "10.0.1.1", "10.0.1.200", "fd00::1", "fd00::102", "fd00::2"};
static const char *const rnd_pod_ports[] = {"", "http=80/TCP", "http=81/TCP dns=53/UDP",
					    "81/TCP http=80/UDP", "dns=53/UDP 80/TCP",
					    "web=80/TCP 81/SCTP"};
static const char *const rnd_pod_sels[] = {"", "app=a", "app=b", "app in (a,b)", "app notin (a)",
					   "tier", "!tier", "app=a,tier=f", "app!=c"};
static const char *const rnd_ns_sels[] = {"", "team=a", "team in (a,b)", "!team", "env",
					  "kubernetes.io/metadata.name=x", "team=c"};
static const char *const rnd_port_specs[] = {"80/TCP", "81/TCP", "80-81/TCP", "http/TCP",
					     "dns/UDP", "53/UDP", "UDP", "SCTP", "http/UDP",
					     "81/SCTP", "web/TCP"};
static const char *const rnd_blocks[][2] = {
	{"10.0.0.0/29", "10.0.0.4/30"}, {"10.0.0.0/8", NULL}, {"0.0.0.0/0", "10.0.1.0/24"},
	{"fd00::/120", NULL}, {"::/0", "fd00::/127"}, {"10.0.1.0/24", "10.0.1.128/25 10.0.1.1/32"},
};
static const struct np_port rnd_ports[] = {{80, NP_TCP}, {81, NP_TCP}, {53, NP_UDP},
					   {80, NP_UDP}, {81, NP_SCTP}};
#define NRND_PORTS (sizeof(rnd_ports) / sizeof(rnd_ports[0]))

static void random_rules(struct np_policy *p, bool egress)
{
	unsigned nrules = rnd(4);
	for (unsigned i = 0; i < nrules; i++) {
		struct np_rule *r = add_rule(p, egress);
		unsigned npeers = rnd(3), nports = rnd(3);
		for (unsigned k = 0; k < npeers; k++) {
			switch (rnd(4)) {
			case 0:
				peer_sel(r, PICK(rnd_pod_sels), NULL);
				break;
			case 1:
				peer_sel(r, NULL, PICK(rnd_ns_sels));
				break;
			case 2:
				peer_sel(r, PICK(rnd_pod_sels), PICK(rnd_ns_sels));
				break;
			default: {
				unsigned b = rnd(sizeof(rnd_blocks) / sizeof(rnd_blocks[0]));
				peer_block(r, rnd_blocks[b][0], rnd_blocks[b][1]);
			}
			}
		}
		for (unsigned k = 0; k < nports; k++)
			rule_port(r, PICK(rnd_port_specs));
	}
}

static void clear_rules(struct np_policy *p)
{
	for (size_t i = 0; i < p->ningress; i++)
		rule_clear(&p->ingress[i]);
	for (size_t i = 0; i < p->negress; i++)
		rule_clear(&p->egress[i]);
	free(p->ingress);
	free(p->egress);
	p->ingress = p->egress = NULL;
	p->ningress = p->negress = 0;
}

static void randomise_policy(struct np_policy *p)
{
	clear_rules(p);
	parse_sel(&p->pod_sel, PICK(rnd_pod_sels));
	random_rules(p, false);
	random_rules(p, true);
	unsigned t = rnd(4);
	p->ingress_type = t != 1 || p->ningress;
	p->egress_type = t >= 1 || p->negress;
}

static int name_counter;

static struct np_pod *random_pod(struct np_cluster *cl)
{
	char name[32];
	snprintf(name, sizeof(name), "p%d", name_counter++);
	return add_pod(cl, PICK(rnd_ns), name, PICK(rnd_pod_labels), PICK(rnd_ips),
		       PICK(rnd_pod_ports));
}

static struct np_policy *random_policy(struct np_cluster *cl)
{
	char name[32];
	snprintf(name, sizeof(name), "np%d", name_counter++);
	struct np_policy *p = add_policy(cl, PICK(rnd_ns), name, "", "I");
	randomise_policy(p);
	return p;
}

static struct np_cluster *random_cluster_of(unsigned min_pods, unsigned more_pods)
{
	struct np_cluster *cl = cluster_new();
	for (size_t i = 0; i < 3; i++)
		if (rnd(4))   /* sometimes a namespace is only implied by its pods */
			add_ns(cl, rnd_ns[i], PICK(rnd_ns_labels));
	unsigned npods = min_pods + rnd(more_pods), npols = rnd(6);
	for (unsigned i = 0; i < npods; i++)
		random_pod(cl);
	for (unsigned i = 0; i < npols; i++)
		random_policy(cl);
	if (rnd(2))
		cluster_finish(cl);
	return cl;
}

static struct np_cluster *random_cluster(void)
{
	return random_cluster_of(2, 9);
}

/* Every cell of the matrix equals engine_evaluate on the same pods
 * (judged by their first address). NULL or what differs. */
static const char *reach_agrees_with_evaluate(struct engine *e, const struct np_cluster *cl,
					      const struct np_matrix *m)
{
	static char why[256];
	for (size_t k = 0; k < m->nports; k++) {
		for (size_t s = 0; s < m->npods; s++) {
			for (size_t d = 0; d < m->npods; d++) {
				struct np_endpoint src = {m->pods[s], {0}}, dst = {m->pods[d], {0}};
				struct np_verdict v;
				if (src.pod->nips)
					src.ip = src.pod->ips[0];
				if (dst.pod->nips)
					dst.ip = dst.pod->ips[0];
				if (engine_evaluate(e, &src, &dst, m->ports[k], &v) < 0)
					return "evaluate failed";
				bool want = v.allowed;
				verdict_clear(&v);
				if (matrix_allowed(m, k, s, d) != want) {
					snprintf(why, sizeof(why), "%s/%s -> %s/%s %d/%s: reach %d, evaluate %d",
						 src.pod->meta.namespace, src.pod->meta.name,
						 dst.pod->meta.namespace, dst.pod->meta.name, m->ports[k].port,
						 proto_name(m->ports[k].proto), !want, want);
					return why;
				}
			}
		}
	}
	(void)cl;
	return NULL;
}

TEST(reach_equals_evaluate_on_every_pair_and_port_of_random_clusters)
{
	rng = 0x1234567887654321ULL;
	for (int round = 0; round < 400; round++) {
		struct np_cluster *cl = random_cluster();
		struct engine *e = engine_new(cl);
		struct np_matrix *m = NULL;
		CHECK(e != NULL);
		CHECK_INT(engine_reach(e, rnd_ports, NRND_PORTS, &m), 0);
		CHECK_INT(m->npods, cl->npods);
		const char *why = reach_agrees_with_evaluate(e, cl, m);
		if (!why)
			why = index_agrees_with_naive(e, cl);
		if (why)
			printf("  round %d: %s\n", round, why);
		matrix_free(m);
		engine_free(e);
		cluster_free(cl);
		CHECK(why == NULL);
	}
}

TEST(reach_equals_evaluate_when_rows_span_several_words)
{
	rng = 0x0ddba11deadbeefULL;
	for (int round = 0; round < 4; round++) {
		struct np_cluster *cl = random_cluster_of(63, 140);
		struct engine *e = engine_new(cl);
		struct np_matrix *m = NULL;
		CHECK_INT(engine_reach(e, rnd_ports, 2, &m), 0);
		CHECK(m->words >= 1 && m->npods > 62);
		const char *why = reach_agrees_with_evaluate(e, cl, m);
		if (why)
			printf("  round %d: %s\n", round, why);
		matrix_free(m);
		engine_free(e);
		cluster_free(cl);
		CHECK(why == NULL);
	}
}

TEST(reach_refuses_a_cluster_with_pods_the_engine_was_not_told_about)
{
	struct np_cluster *cl = xy();
	struct engine *e = engine_new(cl);
	struct np_matrix *m = NULL;
	add_pod(cl, "x", "late", "app=a", NULL, NULL);
	CHECK_INT(engine_reach(e, rnd_ports, 1, &m), -ESTALE);
	CHECK(m == NULL);
	CHECK_INT(engine_pod_changed(e, cluster_find_pod(cl, "x", "late")), 0);
	CHECK_INT(engine_reach(e, rnd_ports, 1, &m), 0);
	CHECK_INT(m->npods, 5);
	matrix_free(m);
	struct np_pod stranger = {0};
	CHECK_INT(engine_pod_removed(e, &stranger), -ENOENT);
	engine_free(e);
	cluster_free(cl);
}

TEST(policies_selecting_a_pod_the_engine_does_not_index_are_still_answered)
{
	struct np_cluster *cl = xy();
	add_policy(cl, "x", "p", "app=a", "I");
	struct engine *e = engine_new(cl);
	struct np_pod *stranger = pod_new();
	stranger->meta.name = strdup("s");
	stranger->meta.namespace = strdup("x");
	set_labels(&stranger->meta.labels, "app=a");
	const struct np_policy *const *pols;
	CHECK_INT(engine_policies_selecting(e, stranger, &pols), 1);
	CHECK_STR(pols[0]->meta.name, "p");
	pod_free(stranger);
	engine_free(e);
	cluster_free(cl);
}

TEST(reach_of_an_empty_cluster_or_no_ports_is_empty)
{
	struct np_cluster *cl = cluster_new();
	struct engine *e = engine_new(cl);
	struct np_matrix *m = NULL;
	CHECK_INT(engine_reach(e, rnd_ports, 2, &m), 0);
	CHECK_INT(m->npods, 0);
	matrix_free(m);
	engine_free(e);
	cluster_free(cl);
	cl = xy();
	e = engine_new(cl);
	CHECK_INT(engine_reach(e, NULL, 0, &m), 0);
	CHECK_INT(m->nports, 0);
	CHECK_INT(m->npods, 4);
	matrix_free(m);
	engine_free(e);
	cluster_free(cl);
}

/* A thousand pods in twenty namespaces, two hundred policies that each
 * isolate a namespace both ways and allow a few selectors in: the
 * single-port matrix (a million verdicts) must take well under a second
 * (it takes milliseconds; the margin is for sanitizers and busy hosts). */
TEST(reach_of_a_thousand_pods_and_two_hundred_policies_takes_well_under_a_second)
{
	struct np_cluster *cl = cluster_new();
	char ns[16], name[16], labels[64], ip[32];
	for (int i = 0; i < 20; i++) {
		snprintf(ns, sizeof(ns), "ns%d", i);
		snprintf(labels, sizeof(labels), "team=t%d", i % 5);
		add_ns(cl, ns, labels);
	}
	for (int i = 0; i < 1000; i++) {
		snprintf(ns, sizeof(ns), "ns%d", i / 50);
		snprintf(name, sizeof(name), "p%d", i);
		snprintf(labels, sizeof(labels), "app=a%d,tier=t%d", i % 10, i % 4);
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i / 250, i % 250, 1 + i % 7);
		add_pod(cl, ns, name, labels, ip, "http=8080/TCP");
	}
	for (int i = 0; i < 200; i++) {
		snprintf(ns, sizeof(ns), "ns%d", i % 20);
		snprintf(name, sizeof(name), "np%d", i);
		snprintf(labels, sizeof(labels), "tier=t%d", i % 4);
		struct np_policy *p = add_policy(cl, ns, name, i % 3 ? labels : "", "IE");
		struct np_rule *r = add_rule(p, false);
		snprintf(labels, sizeof(labels), "app=a%d", i % 10);
		peer_sel(r, labels, NULL);
		snprintf(labels, sizeof(labels), "team=t%d", i % 5);
		peer_sel(r, "tier in (t1,t2)", labels);
		rule_port(r, "http/TCP");
		r = add_rule(p, true);
		peer_block(r, "10.0.0.0/8", "10.1.0.0/16");
		rule_port(r, "8000-8100/TCP");
	}
	cluster_finish(cl);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct engine *e = engine_new(cl);
	struct np_matrix *m = NULL;
	struct np_port port = {8080, NP_TCP};
	CHECK_INT(engine_reach(e, &port, 1, &m), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	size_t n = 0;
	for (size_t s = 0; s < m->npods; s++)
		for (size_t d = 0; d < m->npods; d++)
			n += matrix_allowed(m, 0, s, d);
	CHECK(n > 0 && n < 1000000);     /* some allowed, some not */
	matrix_free(m);
	engine_free(e);
	cluster_free(cl);
	CHECK(secs < 0.5);
}

/* ---- incremental upkeep --------------------------------------------------------------------- */

static void remove_pod_at(struct np_cluster *cl, size_t i)
{
	pod_free(cl->pods[i]);
	memmove(&cl->pods[i], &cl->pods[i + 1], (cl->npods - i - 1) * sizeof(*cl->pods));
	cl->npods--;
	cluster_lists_changed(cl);
}

static void remove_policy_at(struct np_cluster *cl, size_t i)
{
	policy_free(cl->policies[i]);
	memmove(&cl->policies[i], &cl->policies[i + 1], (cl->npolicies - i - 1) * sizeof(*cl->policies));
	cl->npolicies--;
	cluster_lists_changed(cl);
}

/* One random change to the cluster, told to the engine. */
static int random_change(struct engine *e, struct np_cluster *cl)
{
	switch (rnd(9)) {
	case 0:
		if (cl->npods) {
			struct np_pod *p = cl->pods[rnd((unsigned)cl->npods)];
			set_labels(&p->meta.labels, PICK(rnd_pod_labels));
			return engine_pod_changed(e, p);
		}
		return 0;
	case 1:
		if (cl->npods) {
			struct np_pod *p = cl->pods[rnd((unsigned)cl->npods)];
			set_ip(p, PICK(rnd_ips));
			return engine_pod_changed(e, p);
		}
		return 0;
	case 2:
		return engine_pod_changed(e, random_pod(cl));
	case 3:
		if (cl->npods) {
			size_t i = rnd((unsigned)cl->npods);
			int err = engine_pod_removed(e, cl->pods[i]);
			remove_pod_at(cl, i);
			return err;
		}
		return 0;
	case 4: {
		const char *name = PICK(rnd_ns);
		struct np_namespace *ns = cluster_find_namespace(cl, name);
		if (!ns)
			ns = add_ns(cl, name, "");
		set_labels(&ns->meta.labels, PICK(rnd_ns_labels));
		labels_set(&ns->meta.labels, "kubernetes.io/metadata.name", name);
		return engine_namespace_changed(e, ns);
	}
	case 5:
	case 6:
		if (cl->npolicies) {
			struct np_policy *p = cl->policies[rnd((unsigned)cl->npolicies)];
			randomise_policy(p);
			return engine_policy_changed(e, p);
		}
		return engine_policy_changed(e, random_policy(cl));
	case 7:
		return engine_policy_changed(e, random_policy(cl));
	default:
		if (cl->npolicies) {
			size_t i = rnd((unsigned)cl->npolicies);
			int err = engine_policy_removed(e, cl->policies[i]);
			remove_policy_at(cl, i);
			return err;
		}
		return 0;
	}
}

/* Both engines give the same answers to every question. */
static const char *engines_agree(struct engine *a, struct engine *b, const struct np_cluster *cl)
{
	for (size_t i = 0; i < cl->npods; i++) {
		const struct np_policy *const *pa, *const *pb;
		size_t na = engine_policies_selecting(a, cl->pods[i], &pa);
		size_t nb = engine_policies_selecting(b, cl->pods[i], &pb);
		if (na != nb || (na && memcmp(pa, pb, na * sizeof(*pa)) != 0))
			return "policies selecting differ";
	}
	for (size_t i = 0; i < cl->npolicies; i++) {
		const struct np_policy *p = cl->policies[i];
		for (int dir = 0; dir < 2; dir++) {
			const struct np_rule *rules = dir ? p->egress : p->ingress;
			size_t nr = dir ? p->negress : p->ningress;
			for (size_t r = 0; r < nr; r++) {
				for (size_t k = 0; k < rules[r].npeers; k++) {
					const struct np_pod *const *xa, *const *xb;
					size_t na = engine_peer_pods(a, p, &rules[r].peers[k], &xa);
					size_t nb = engine_peer_pods(b, p, &rules[r].peers[k], &xb);
					if (na != nb || (na && memcmp(xa, xb, na * sizeof(*xa)) != 0))
						return "peer pods differ";
				}
			}
		}
	}
	struct np_matrix *ma = NULL, *mb = NULL;
	const char *why = NULL;
	if (engine_reach(a, rnd_ports, NRND_PORTS, &ma) < 0 || engine_reach(b, rnd_ports, NRND_PORTS, &mb) < 0)
		why = "reach failed";
	else if (memcmp(ma->bits, mb->bits, NRND_PORTS * ma->npods * ma->words * sizeof(uint64_t)) != 0)
		why = "matrices differ";
	matrix_free(ma);
	matrix_free(mb);
	return why;
}

TEST(incrementally_updated_index_answers_like_a_freshly_built_one)
{
	rng = 0xfeedfacecafebeefULL;
	for (int round = 0; round < 150; round++) {
		struct np_cluster *cl = random_cluster();
		struct engine *e = engine_new(cl);
		const char *why = NULL;
		CHECK(e != NULL);
		for (int step = 0; step < 25 && !why; step++) {
			if (random_change(e, cl) < 0)
				why = "upkeep failed";
			if (why || step % 5 != 4)
				continue;
			struct engine *fresh = engine_new(cl);
			why = engines_agree(e, fresh, cl);
			if (!why)
				why = index_agrees_with_naive(e, cl);
			engine_free(fresh);
		}
		if (why)
			printf("  round %d: %s\n", round, why);
		engine_free(e);
		cluster_free(cl);
		CHECK(why == NULL);
	}
}
