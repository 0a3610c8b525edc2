/* The nftables dataplane without a kernel: the compiler's layout and
 * attribution, canonical text, the listing parser, and deltas. */
#include "unit.h"
#include "case.h"
#include "../../src/dataplane/nft/nft_internal.h"

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#define POD(name, ns, labels, ip)                                              \
	"apiVersion: v1\nkind: Pod\nmetadata: {name: " name ", namespace: " ns \
	", labels: " labels "}\nstatus: {podIP: " ip "}\n---\n"

static const char two_pods_one_policy[] =
	"# endpoint: default/web npweb\n"
	"# endpoint: default/client npclient\n"
	POD("web", "default", "{app: web}", "10.0.0.10")
	POD("client", "default", "{role: client}", "10.0.0.11")
	POD("client2", "default", "{role: client}", "10.0.0.12")
	"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	"metadata: {name: web-from-clients, namespace: default}\n"
	"spec:\n  podSelector: {matchLabels: {app: web}}\n"
	"  ingress:\n  - from:\n    - podSelector: {matchLabels: {role: client}}\n"
	"    ports:\n    - port: 80\n";

static bool load(const char *text, struct nft_case *c)
{
	char *err = NULL;
	int rc = nft_case_load("test.yaml", text, c, &err);
	if (rc < 0)
		printf("  load: %s\n", err ? err : "?");
	free(err);
	return rc == 0;
}

static const struct nft_rule *rule_with(const struct nft_prog *p, const char *chain,
					const char *text)
{
	const struct nft_chain *c = nft_prog_chain(p, chain);
	for (size_t i = 0; c && i < c->nrules; i++)
		if (strstr(c->rules[i].text, text))
			return &c->rules[i];
	return NULL;
}

static bool has_elem(const struct nft_set *s, const char *e)
{
	for (size_t i = 0; s && i < s->nelems; i++)
		if (strcmp(s->elems[i], e) == 0)
			return true;
	return false;
}

/* ---- canonical text -------------------------------------------------------------- */

TEST(elements_sort_numbers_as_numbers)
{
	CHECK(nft_elem_cmp("10.0.0.2", "10.0.0.10") < 0);
	CHECK(nft_elem_cmp("tcp . 80", "tcp . 443") < 0);
	CHECK(nft_elem_cmp("\"np1\" : accept", "\"np10\" : accept") < 0);
	CHECK(nft_elem_cmp("a", "a") == 0);
	CHECK(nft_elem_cmp("08", "8") != 0);
}

TEST(normalised_rules_drop_counter_values_and_sort_anonymous_sets)
{
	uint64_t pk = 0, by = 0;
	char *s = nft_rule_normalise("\t\tmeta l4proto { udp, tcp } counter packets 12 bytes 3400 "
				     "accept comment \"x { b, a }\"", &pk, &by);
	CHECK_STR(s, "meta l4proto { tcp, udp } counter accept comment \"x { b, a }\"");
	CHECK_INT(pk, 12);
	CHECK_INT(by, 3400);
	free(s);
	s = nft_rule_normalise("tcp dport { 443, 80 } counter accept", NULL, NULL);
	CHECK_STR(s, "tcp dport { 80, 443 } counter accept");
	free(s);
}

TEST(comments_are_cut_to_what_nft_accepts)
{
	char long_text[300];
	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	char *c = nft_comment(long_text);
	CHECK_INT(strlen(c), NFT_COMMENT_MAX);
	CHECK_STR(c + NFT_COMMENT_MAX - 3, "...");
	free(c);
	c = nft_comment("say \"hi\"");
	CHECK_STR(c, "say ?hi?");
	free(c);
}

/* ---- the layout ------------------------------------------------------------------ */

TEST(base_chain_dispatches_through_verdict_maps_and_fails_closed)
{
	struct nft_case c;
	CHECK(load(two_pods_one_policy, &c));
	const struct nft_chain *fwd = nft_prog_chain(c.prog, "forward");
	CHECK(fwd && fwd->hook && strstr(fwd->hook, "hook forward"));
	CHECK(rule_with(c.prog, "forward", "ct state established,related counter accept"));
	CHECK(rule_with(c.prog, "forward", "ct state invalid counter drop"));
	CHECK(rule_with(c.prog, "forward", "iifname vmap @ep-egress"));
	CHECK(rule_with(c.prog, "forward", "iifname \"np*\" counter drop"));
	CHECK(rule_with(c.prog, "pod-ingress", "oifname vmap @ep-ingress"));
	CHECK(rule_with(c.prog, "pod-ingress", "oifname \"np*\" counter drop"));
	/* isolated for ingress: its chain; not isolated: straight through */
	CHECK(has_elem(nft_prog_set(c.prog, "ep-ingress"), "\"npweb\" : goto in-npweb"));
	CHECK(has_elem(nft_prog_set(c.prog, "ep-ingress"), "\"npclient\" : accept"));
	CHECK(has_elem(nft_prog_set(c.prog, "ep-egress"), "\"npweb\" : goto pod-ingress"));
	CHECK(!nft_prog_chain(c.prog, "in-npclient"));
	CHECK(!nft_prog_chain(c.prog, "eg-npweb"));
	nft_case_clear(&c);
}

TEST(endpoint_chain_jumps_to_shared_policy_chain_then_drops_with_its_id)
{
	struct nft_case c;
	CHECK(load(two_pods_one_policy, &c));
	const struct nft_chain *ep = nft_prog_chain(c.prog, "in-npweb");
	CHECK(ep && ep->nrules == 2);
	CHECK_STR(ep->rules[0].text, "counter jump in/default/web-from-clients comment "
				     "\"default/web-from-clients\"");
	CHECK_STR(ep->rules[1].text, "counter drop comment \"default/web ingress isolated by "
				     "web-from-clients\"");
	CHECK_INT(ep->rules[1].role, NFT_ROLE_ISOLATED);
	CHECK_STR(ep->rules[1].policies[0], "default/web-from-clients");
	const struct nft_rule *r = rule_with(c.prog, "in/default/web-from-clients", "ip saddr");
	CHECK(r);
	CHECK(strstr(r->text, "tcp dport 80 counter accept comment "
			      "\"default/web-from-clients ingress[0] from[0] ports[0]\""));
	CHECK_INT(r->role, NFT_ROLE_ALLOW);
	CHECK_INT(r->rule, 0);
	CHECK_INT(r->peer, 0);
	CHECK_INT(r->nports, 1);
	nft_case_clear(&c);
}

TEST(peer_sets_hold_pod_addresses_per_family)
{
	struct nft_case c;
	CHECK(load(two_pods_one_policy, &c));
	const struct nft_rule *r = rule_with(c.prog, "in/default/web-from-clients", "ip saddr @");
	CHECK(r);
	char name[64];
	CHECK(sscanf(r->text, "ip saddr @%63s", name) == 1);
	const struct nft_set *s = nft_prog_set(c.prog, name);
	CHECK(s && strcmp(s->type, "ipv4_addr") == 0);
	CHECK_INT(s->nelems, 2);
	CHECK_STR(s->elems[0], "10.0.0.11");
	CHECK_STR(s->elems[1], "10.0.0.12");
	name[3] = '6';
	CHECK(nft_prog_set(c.prog, name));
	CHECK(rule_with(c.prog, "in/default/web-from-clients", "ip6 saddr @"));
	nft_case_clear(&c);
}

TEST(egress_rules_go_on_to_the_destination_ingress_instead_of_accepting)
{
	struct nft_case c;
	CHECK(load("# endpoint: default/a npa\n" POD("a", "default", "{app: a}", "10.0.0.1")
		   "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		   "metadata: {name: out, namespace: default}\n"
		   "spec:\n  podSelector: {}\n  policyTypes: [Egress]\n"
		   "  egress:\n  - ports: [{port: 53, protocol: UDP}]\n", &c));
	const struct nft_chain *ch = nft_prog_chain(c.prog, "eg/default/out");
	CHECK(ch && ch->nrules == 1);
	CHECK_STR(ch->rules[0].text, "udp dport 53 counter goto pod-ingress comment "
				     "\"default/out egress[0] ports[0]\"");
	CHECK(has_elem(nft_prog_set(c.prog, "ep-egress"), "\"npa\" : goto eg-npa"));
	nft_case_clear(&c);
}

TEST(two_policies_naming_the_same_peer_share_one_set)
{
	struct nft_case c;
	CHECK(load("# endpoint: default/a npa\n# endpoint: default/b npb\n"
		   POD("a", "default", "{app: a}", "10.0.0.1")
		   POD("b", "default", "{app: b}", "10.0.0.2")
		   "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		   "metadata: {name: pa, namespace: default}\n"
		   "spec:\n  podSelector: {matchLabels: {app: a}}\n"
		   "  ingress:\n  - from: [{podSelector: {matchLabels: {x: y}}}]\n---\n"
		   "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		   "metadata: {name: pb, namespace: default}\n"
		   "spec:\n  podSelector: {matchLabels: {app: b}}\n"
		   "  ingress:\n  - from: [{podSelector: {matchExpressions: "
		   "[{key: x, operator: In, values: [y]}]}}]\n", &c));
	struct nft_counts n;
	nft_prog_count(c.prog, &n);
	CHECK_INT(n.sets, 2);   /* sel4-H and sel6-H, once */
	nft_case_clear(&c);
}

TEST(ports_of_several_protocols_are_one_concatenated_set)
{
	struct nft_case c;
	CHECK(load("# endpoint: default/a npa\n" POD("a", "default", "{app: a}", "10.0.0.1")
		   "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		   "metadata: {name: p, namespace: default}\n"
		   "spec:\n  podSelector: {}\n"
		   "  ingress:\n  - ports: [{port: 53, protocol: UDP}, {port: 53}, "
		   "{port: 80, endPort: 90}, {port: 85}, {protocol: SCTP}]\n", &c));
	CHECK(rule_with(c.prog, "in/default/p",
			"meta l4proto . th dport { tcp . 53, tcp . 80-90, udp . 53 } counter accept "
			"comment \"default/p ingress[0] ports[0,1,2,3]\""));
	CHECK(rule_with(c.prog, "in/default/p", "meta l4proto sctp counter accept comment "
						"\"default/p ingress[0] ports[4]\""));
	nft_case_clear(&c);
}

TEST(ipblock_excepts_are_carved_out_of_one_interval_set)
{
	struct nft_case c;
	CHECK(load("# endpoint: default/a npa\n" POD("a", "default", "{app: a}", "10.0.0.1")
		   "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		   "metadata: {name: p, namespace: default}\n"
		   "spec:\n  podSelector: {}\n"
		   "  ingress:\n  - from:\n    - ipBlock: {cidr: 172.16.0.0/12, except: "
		   "[172.16.0.0/16, 172.31.255.255/32, 172.20.0.0/15]}\n"
		   "    - ipBlock: {cidr: 192.168.0.0/24, except: [192.168.0.0/25, 192.168.0.128/25]}\n", &c));
	const struct nft_set *s = NULL, *empty = NULL;
	for (size_t i = 0; i < c.prog->nsets; i++) {
		if (!strncmp(c.prog->sets[i]->name, "cidr4-", 6) && c.prog->sets[i]->nelems)
			s = c.prog->sets[i];
		else if (!strncmp(c.prog->sets[i]->name, "cidr4-", 6))
			empty = c.prog->sets[i];
	}
	CHECK(s && empty);
	CHECK_STR(s->flags, "interval");
	CHECK_INT(s->nelems, 2);
	CHECK_STR(s->elems[0], "172.17.0.0-172.19.255.255");
	CHECK_STR(s->elems[1], "172.22.0.0-172.31.255.254");
	nft_case_clear(&c);
}

TEST(named_ports_resolve_per_destination_pod_through_address_port_sets)
{
	struct nft_case c;
	CHECK(load("# endpoint: default/a npa\n"
		   "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: default}\n"
		   "spec:\n  containers:\n  - {name: c, image: x, ports: [{name: http, containerPort: 8080}]}\n"
		   "status: {podIP: 10.0.0.1}\n---\n"
		   "apiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: default}\n"
		   "spec:\n  containers:\n  - {name: c, image: x, ports: [{name: http, containerPort: 9090}]}\n"
		   "status: {podIP: 10.0.0.2}\n---\n"
		   "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		   "metadata: {name: p, namespace: default}\n"
		   "spec:\n  podSelector: {}\n  ingress:\n  - ports: [{port: http}]\n", &c));
	const struct nft_set *s = nft_prog_set(c.prog, "port4-http-tcp");
	CHECK(s && strcmp(s->type, "ipv4_addr . inet_service") == 0);
	CHECK_INT(s->nelems, 2);
	CHECK_STR(s->elems[0], "10.0.0.1 . 8080");
	CHECK_STR(s->elems[1], "10.0.0.2 . 9090");
	CHECK(rule_with(c.prog, "in/default/p", "ip daddr . tcp dport @port4-http-tcp counter accept"));
	CHECK(rule_with(c.prog, "in/default/p", "ip6 daddr . tcp dport @port6-http-tcp counter accept"));
	nft_case_clear(&c);
}

/* Addresses are sorted as numbers before they become text; the result must
 * be the order nft_elem_cmp gives the text, unique, a port name resolved
 * for its own protocol only. */
TEST(address_sets_come_out_in_numeric_order_unique_with_the_named_port_of_their_protocol)
{
	struct nft_case c;
	CHECK(load("# endpoint: default/a npa\n"
		   "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: default, labels: {k: v}}\n"
		   "spec:\n  containers:\n  - {name: c, image: x, ports: [{name: web, containerPort: 81},"
		   " {name: http, containerPort: 82, protocol: UDP}]}\n"
		   "status: {podIP: 10.0.0.10}\n---\n"
		   "apiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: default, labels: {k: v}}\n"
		   "spec:\n  containers:\n  - {name: c, image: x, ports: [{name: http, containerPort: 80}]}\n"
		   "status: {podIP: 10.0.0.9}\n---\n"
		   "apiVersion: v1\nkind: Pod\nmetadata: {name: c, namespace: default, labels: {k: v}}\n"
		   "spec:\n  containers:\n  - {name: c, image: x, ports: [{name: http, containerPort: 80}]}\n"
		   "status: {podIP: 9.255.0.1}\n---\n"
		   "apiVersion: v1\nkind: Pod\nmetadata: {name: d, namespace: default, labels: {k: v}}\n"
		   "spec:\n  containers:\n  - {name: c, image: x, ports: [{name: http, containerPort: 80}]}\n"
		   "status: {podIP: 10.0.0.9}\n---\n"
		   "apiVersion: v1\nkind: Pod\nmetadata: {name: e, namespace: default}\n"
		   "spec:\n  containers:\n  - {name: c, image: x, ports: [{name: http, containerPort: 81}]}\n"
		   "status: {podIP: 10.0.0.11}\n---\n"
		   "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		   "metadata: {name: p, namespace: default}\n"
		   "spec:\n  podSelector: {}\n  ingress:\n  - from: [{podSelector: {matchLabels: {k: v}}}]\n"
		   "    ports: [{port: http}]\n", &c));
	const struct nft_set *ports = nft_prog_set(c.prog, "port4-http-tcp"), *sel = NULL;
	for (size_t i = 0; i < c.prog->nsets; i++)
		if (strncmp(c.prog->sets[i]->name, "sel4-", 5) == 0)
			sel = c.prog->sets[i];
	CHECK(ports && sel);
	CHECK_INT(ports->nelems, 3);
	CHECK_STR(ports->elems[0], "9.255.0.1 . 80");
	CHECK_STR(ports->elems[1], "10.0.0.9 . 80");
	CHECK_STR(ports->elems[2], "10.0.0.11 . 81");
	CHECK_INT(sel->nelems, 3);
	CHECK_STR(sel->elems[0], "9.255.0.1");
	CHECK_STR(sel->elems[1], "10.0.0.9");
	CHECK_STR(sel->elems[2], "10.0.0.10");
	for (size_t i = 1; i < sel->nelems; i++)
		CHECK(nft_elem_cmp(sel->elems[i - 1], sel->elems[i]) < 0);
	nft_case_clear(&c);
}

TEST(long_policy_names_get_hashed_chain_names_and_comments_that_fit)
{
	char name[254], *text = NULL;
	memset(name, 'p', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	CHECK(asprintf(&text, "# endpoint: default/a npa\n" POD("a", "default", "{app: a}", "10.0.0.1")
			      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
			      "metadata: {name: %s, namespace: default}\n"
			      "spec:\n  podSelector: {}\n  ingress:\n  - {}\n", name) > 0);
	struct nft_case c;
	bool ok = load(text, &c);
	free(text);
	CHECK(ok);
	const struct nft_chain *ch = NULL;
	for (size_t i = 0; i < c.prog->nchains; i++)
		if (!strncmp(c.prog->chains[i]->name, "in/h", 4))
			ch = c.prog->chains[i];
	CHECK(ch && strlen(ch->name) < 64 && ch->nrules == 1);
	CHECK(strstr(ch->rules[0].text, "comment \"#"));
	for (size_t i = 0; i < c.prog->nchains; i++)
		for (size_t j = 0; j < c.prog->chains[i]->nrules; j++) {
			const char *cm = strstr(c.prog->chains[i]->rules[j].text, "comment \"");
			CHECK(!cm || strlen(cm) - 10 <= NFT_COMMENT_MAX);
		}
	nft_case_clear(&c);
}

TEST(bad_and_duplicate_interface_names_are_rejected)
{
	struct nft_case c;
	CHECK(load(two_pods_one_policy, &c));
	struct nft_endpoint eps[] = {{c.eps[0].pod, "bad name"}, {c.eps[0].pod, "np0"},
				     {c.eps[1].pod, "np0"}, {c.eps[1].pod, "waytoolonginterface"}};
	struct diag_list d = {0};
	struct nft_prog *p = NULL;
	CHECK_INT(nft_compile(c.e, c.cl, eps, 4, NULL, &p, &d), -EINVAL);
	CHECK(p == NULL);
	CHECK_INT(d.n, 3);
	CHECK(strstr(d.items[1].msg, "\"np0\" given to two endpoints"));
	diag_list_clear(&d);
	nft_case_clear(&c);
}

TEST(without_a_prefix_there_is_no_fail_closed_or_spoof_rule)
{
	struct nft_case c;
	CHECK(load(two_pods_one_policy, &c));
	struct nft_prog *p = NULL;
	CHECK_INT(nft_compile(c.e, c.cl, c.eps, c.neps, NULL, &p, NULL), 0);
	CHECK(!rule_with(p, "forward", "fib"));
	CHECK(!rule_with(p, "forward", "iifname \""));
	CHECK(!rule_with(p, "pod-ingress", "oifname \""));
	nft_prog_free(p);
	nft_case_clear(&c);
}

TEST(compiling_does_not_depend_on_the_order_of_endpoints)
{
	struct nft_case c;
	CHECK(load(two_pods_one_policy, &c));
	struct nft_endpoint rev[] = {c.eps[1], c.eps[0]};
	struct nft_opts o = {.pod_ifprefix = "np"};
	struct nft_prog *p = NULL;
	CHECK_INT(nft_compile(c.e, c.cl, rev, 2, &o, &p, NULL), 0);
	CHECK(nft_prog_equal(p, c.prog));
	nft_prog_free(p);
	nft_case_clear(&c);
}

TEST(attribution_finds_the_allow_rule_or_the_isolation_drop)
{
	struct nft_case c;
	CHECK(load(two_pods_one_policy, &c));
	const struct np_pod *web = cluster_find_pod(c.cl, "default", "web");
	const struct np_pod *client = cluster_find_pod(c.cl, "default", "client");
	struct np_endpoint src = {client, client->ips[0]}, dst = {web, web->ips[0]};
	struct np_verdict v;
	const struct nft_rule *out[4];
	CHECK_INT(engine_evaluate(c.e, &src, &dst, (struct np_port){80, NP_TCP}, &v), 0);
	size_t n = nft_prog_attribute(c.prog, web, false, &v.ingress, out, 4);
	verdict_clear(&v);
	CHECK_INT(n, 2);   /* the rule for each address family */
	CHECK(strstr(out[0]->text, "ip saddr @sel4-") && out[0]->family == AF_INET);
	CHECK(strstr(out[1]->text, "ip6 saddr @sel6-") && out[1]->family == AF_INET6);
	CHECK_INT(engine_evaluate(c.e, &src, &dst, (struct np_port){81, NP_TCP}, &v), 0);
	n = nft_prog_attribute(c.prog, web, false, &v.ingress, out, 4);
	verdict_clear(&v);
	CHECK_INT(n, 1);
	CHECK_INT(out[0]->role, NFT_ROLE_ISOLATED);
	nft_case_clear(&c);
}

/* ---- parsing ---------------------------------------------------------------------- */

TEST(printed_programs_parse_back_equal)
{
	struct nft_case c;
	CHECK(load(two_pods_one_policy, &c));
	char *text = nft_prog_text(c.prog);
	struct nft_prog *p = NULL;
	CHECK_INT(nft_prog_parse(text, &p, NULL), 0);
	free(text);
	CHECK(nft_prog_equal(p, c.prog));
	nft_prog_free(p);
	nft_case_clear(&c);
}

TEST(nft_listings_parse_with_wrapped_elements_and_counters)
{
	const char *listing =
		"table inet netpol {\n"
		"\tset s {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\tcomment \"x, y\"\n"
		"\t\telements = { 10.0.0.10, 10.0.0.2,\n\t\t\t     10.1.0.0/16 }\n\t}\n\n"
		"\tmap m {\n\t\ttype ifname : verdict\n"
		"\t\telements = { \"a,b\" : goto c,\n\t\t\t     \"np1\" : accept }\n\t}\n\n"
		"\tchain c {\n\t\tcomment \"pod\"\n"
		"\t\tip saddr @s counter packets 5 bytes 420 accept comment \"p\"\n\t}\n}\n";
	struct nft_prog *p = NULL;
	CHECK_INT(nft_prog_parse(listing, &p, NULL), 0);
	const struct nft_set *s = nft_prog_set(p, "s");
	CHECK(s && s->nelems == 3 && !s->map);
	CHECK_STR(s->elems[0], "10.0.0.2");
	CHECK_STR(s->comment, "x, y");
	const struct nft_set *m = nft_prog_set(p, "m");
	CHECK(m && m->map && m->nelems == 2);
	CHECK_STR(m->elems[0], "\"a,b\" : goto c");
	const struct nft_chain *ch = nft_prog_chain(p, "c");
	CHECK(ch && ch->nrules == 1 && ch->rules[0].packets == 5 && ch->rules[0].bytes == 420);
	CHECK_STR(ch->rules[0].text, "ip saddr @s counter accept comment \"p\"");
	CHECK_STR(ch->comment, "pod");
	nft_prog_free(p);
}

TEST(listings_with_objects_netpol_never_writes_are_refused)
{
	struct diag_list d = {0};
	struct nft_prog *p = NULL;
	CHECK_INT(nft_prog_parse("table inet netpol {\n\tcounter x {\n\t}\n}\n", &p, &d), -EINVAL);
	CHECK_INT(nft_prog_parse("table inet netpol {\n\tset s {\n\t\ttype ipv4_addr\n"
				 "\t\ttimeout 1m\n\t}\n}\n", &p, &d), -EINVAL);
	CHECK_INT(nft_prog_parse("table inet netpol {\n\tchain c {\n", &p, &d), -EINVAL);
	CHECK(p == NULL);
	CHECK(d.n == 3 && strstr(d.items[0].msg, "not something netpol writes"));
	diag_list_clear(&d);
}

TEST(counters_read_back_are_copied_to_the_compiled_rules)
{
	struct nft_case c;
	CHECK(load(two_pods_one_policy, &c));
	char *text = nft_prog_text(c.prog);
	struct nft_prog *k = NULL;
	CHECK_INT(nft_prog_parse(text, &k, NULL), 0);
	free(text);
	struct nft_chain *ch = (struct nft_chain *)nft_prog_chain(k, "in-npweb");
	ch->rules[1].packets = 7;
	ch->rules[1].bytes = 700;
	struct nft_counts n;
	nft_prog_count(c.prog, &n);
	CHECK_INT(nft_prog_copy_counters(c.prog, k), n.rules);
	nft_prog_free(k);
	const struct nft_rule *r = rule_with(c.prog, "in-npweb", "isolated by");
	CHECK(r && r->packets == 7 && r->bytes == 700 && r->role == NFT_ROLE_ISOLATED);
	nft_case_clear(&c);
}

TEST(listings_with_duplicate_names_or_stray_bytes_are_refused)
{
	struct nft_prog *p = NULL;
	CHECK_INT(nft_prog_parse("table inet netpol {\n\tchain c {\n\t}\n\tchain c {\n\t}\n}\n",
				 &p, NULL), -EINVAL);
	CHECK_INT(nft_prog_parse("table inet netpol {\n\tchain c {\n\t\taccept\x01\n\t}\n}\n",
				 &p, NULL), -EINVAL);
	CHECK_INT(nft_prog_parse("table inet netpol {\n\tchain c d {\n\t}\n}\n", &p, NULL), -EINVAL);
	CHECK_INT(nft_prog_parse("table inet netpol {\n\tchain c {\n\t\ttcp dport { 80 accept\n"
				 "\t}\n}\n", &p, NULL), -EINVAL);
	CHECK(p == NULL);
}

/* ---- deltas ------------------------------------------------------------------------- */

static size_t count(const char *text, const char *what)
{
	size_t n = 0;
	for (const char *p = text; (p = strstr(p, what)); p++)
		n++;
	return n;
}

TEST(delta_from_nothing_declares_before_it_references)
{
	struct nft_case c;
	struct nft_delta *d = NULL;
	CHECK(load(two_pods_one_policy, &c));
	CHECK_INT(nft_delta_compute(NULL, c.prog, &d), 0);
	const char *t = d->text;
	CHECK(strncmp(t, "add table inet netpol\n", 22) == 0);
	const char *first_rule = strstr(t, "add rule"), *last_decl = NULL, *p = t;
	while ((p = strstr(p, "\nadd set")))
		last_decl = p++;
	CHECK(first_rule && last_decl && last_decl < first_rule);
	CHECK(strstr(t, "add chain inet netpol in/default/web-from-clients { comment "));
	CHECK(strstr(t, "add element inet netpol ep-ingress { \"npclient\" : accept, "
			"\"npweb\" : goto in-npweb }"));
	struct nft_counts n;
	nft_prog_count(c.prog, &n);
	CHECK_INT(d->chains_added, n.chains);
	CHECK_INT(d->rules_written, n.rules);
	CHECK_INT(d->sets_added, n.sets + n.maps);
	nft_delta_free(d);
	nft_case_clear(&c);
}

TEST(delta_between_equal_programs_is_empty)
{
	struct nft_case a, b;
	struct nft_delta *d = NULL;
	CHECK(load(two_pods_one_policy, &a));
	CHECK(load(two_pods_one_policy, &b));
	CHECK_INT(nft_delta_compute(a.prog, b.prog, &d), 0);
	CHECK(nft_delta_empty(d));
	nft_delta_free(d);
	nft_case_clear(&a);
	nft_case_clear(&b);
}

TEST(delta_of_a_label_change_only_touches_set_elements)
{
	struct nft_case c;
	struct nft_delta *d = NULL;
	CHECK(load(two_pods_one_policy, &c));
	struct nft_prog *before = c.prog;
	c.prog = NULL;
	labels_set(&cluster_find_pod(c.cl, "default", "client2")->meta.labels, "role", "other");
	CHECK_INT(nft_case_recompile(&c, NULL), 0);
	CHECK_INT(nft_delta_compute(before, c.prog, &d), 0);
	nft_prog_free(before);
	CHECK(strncmp(d->text, "delete element inet netpol sel4-", 32) == 0);
	CHECK(strstr(d->text, " { 10.0.0.12 }\n"));
	CHECK_INT(count(d->text, "\n"), 1);
	nft_delta_free(d);
	nft_case_clear(&c);
}

TEST(delta_of_a_changed_map_entry_deletes_and_adds_its_key)
{
	struct nft_case c;
	struct nft_delta *d = NULL;
	CHECK(load(two_pods_one_policy, &c));
	struct nft_prog *before = c.prog;
	c.prog = NULL;
	/* client becomes selected too: isolated for ingress */
	labels_set(&cluster_find_pod(c.cl, "default", "client")->meta.labels, "app", "web");
	CHECK_INT(nft_case_recompile(&c, NULL), 0);
	CHECK_INT(nft_delta_compute(before, c.prog, &d), 0);
	nft_prog_free(before);
	CHECK(strstr(d->text, "add chain inet netpol in-npclient { comment \"pod default/client ingress\"; }\n"));
	CHECK(strstr(d->text, "delete element inet netpol ep-ingress { \"npclient\" }\n"
			      "add element inet netpol ep-ingress { \"npclient\" : goto in-npclient }\n"));
	/* the new chain exists before the map entry points at it */
	CHECK(strstr(d->text, "add chain") < strstr(d->text, "add element inet netpol ep-ingress"));
	CHECK_INT(d->chains_added, 1);
	CHECK_INT(d->chains_refilled, 0);
	nft_delta_free(d);
	nft_case_clear(&c);
}

TEST(delta_deletes_what_is_gone_after_everything_that_used_it)
{
	struct nft_case c;
	struct nft_delta *d = NULL;
	CHECK(load(two_pods_one_policy, &c));
	struct nft_prog *before = c.prog;
	c.prog = NULL;
	c.neps = 1;   /* web leaves the node */
	if (strcmp(c.eps[0].ifname, "npweb") == 0)
		c.eps[0] = c.eps[1];
	CHECK_INT(nft_case_recompile(&c, NULL), 0);
	CHECK_INT(nft_delta_compute(before, c.prog, &d), 0);
	nft_prog_free(before);
	const char *del_map = strstr(d->text, "delete element inet netpol ep-ingress { \"npweb\" }");
	const char *flush = strstr(d->text, "flush chain inet netpol in-npweb");
	const char *del_chain = strstr(d->text, "delete chain inet netpol in/default/web-from-clients");
	const char *del_set = strstr(d->text, "delete set inet netpol sel4-");
	CHECK(del_map && flush && del_chain && del_set);
	CHECK(del_map < flush && flush < del_chain && del_chain < del_set);
	CHECK_INT(d->chains_deleted, 2);
	CHECK_INT(d->sets_deleted, 2);
	nft_delta_free(d);
	nft_case_clear(&c);
}

TEST(delta_with_a_changed_declaration_replaces_the_table_in_one_go)
{
	struct nft_case c;
	struct nft_delta *d = NULL;
	CHECK(load(two_pods_one_policy, &c));
	char *text = nft_prog_text(c.prog);
	struct nft_prog *old = NULL;
	CHECK_INT(nft_prog_parse(text, &old, NULL), 0);
	free(text);
	struct nft_chain *ch = (struct nft_chain *)nft_prog_chain(old, "in-npweb");
	free(ch->comment);
	ch->comment = strdup("an older wording");
	CHECK_INT(nft_delta_compute(old, c.prog, &d), 0);
	nft_prog_free(old);
	const char *head = "add table inet netpol\ndelete table inet netpol\ntable inet netpol {\n";
	CHECK(strncmp(d->text, head, strlen(head)) == 0);
	CHECK(d->sets_replaced > 0);
	nft_delta_free(d);
	nft_case_clear(&c);
}
