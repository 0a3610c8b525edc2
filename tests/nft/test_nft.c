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

/* The chain an element "KEY : goto CHAIN" of a map sends to. */
static const char *goto_target(const char *elem)
{
	const char *t = elem ? strstr(elem, " : goto ") : NULL;
	return t ? t + 8 : NULL;
}

/* Class chains of direction dir ("in", "eg"): DIR/c and 16 hex digits. */
static bool is_class(const char *name, const char *dir)
{
	size_t n = strlen(dir);
	if (strncmp(name, dir, n) != 0 || strncmp(name + n, "/c", 2) != 0 ||
	    strlen(name + n + 2) != 16)
		return false;
	for (const char *p = name + n + 2; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

static size_t count_classes(const struct nft_prog *p, const char *dir)
{
	size_t n = 0;
	for (size_t i = 0; i < p->nchains; i++)
		n += is_class(p->chains[i]->name, dir);
	return n;
}

/* The map "DIR-cHEX-SUFFIX" of class chain "DIR/cHEX". */
static const struct nft_set *class_map(const struct nft_prog *p, const char *cls, char suffix)
{
	char name[64];
	const char *slash = cls ? strchr(cls, '/') : NULL;
	if (!slash)
		return NULL;
	snprintf(name, sizeof(name), "%.*s-%s-%c", (int)(slash - cls), cls, slash + 1, suffix);
	return nft_prog_set(p, name);
}

/* A class chain is its three lookups, into its own maps. */
static bool class_chain_ok(const struct nft_prog *p, const char *cls)
{
	static const char suffix[4] = {'p', 'r', 't', 'a'};
	const struct nft_chain *ch = cls ? nft_prog_chain(p, cls) : NULL;
	const struct nft_set *m[4];
	char want[4][128];
	if (!ch)
		return false;
	for (int i = 0; i < 4; i++)
		if (!(m[i] = class_map(p, cls, suffix[i])))
			return false;
	bool eg = strncmp(cls, "eg/", 3) == 0;
	const char *key = eg ? "iifname" : "oifname", *dir = eg ? "eg" : "in";
	const char *hex = cls + 3;   /* "cHEX" */
	snprintf(want[0], sizeof(want[0]), "%s . meta l4proto . th dport vmap @%s-%s-p", key, dir, hex);
	snprintf(want[1], sizeof(want[1]), "%s . meta l4proto . th dport vmap @%s-%s-r", key, dir, hex);
	snprintf(want[2], sizeof(want[2]), "%s . meta l4proto vmap @%s-%s-t", key, dir, hex);
	snprintf(want[3], sizeof(want[3]), "%s vmap @%s-%s-a", key, dir, hex);
	/* a lookup for each map that has elements, most specific first */
	size_t r = 0;
	for (int i = 0; i < 4; i++) {
		if (!m[i]->nelems)
			continue;
		if (r >= ch->nrules || strcmp(ch->rules[r].text, want[i]) != 0 ||
		    ch->rules[r].role != NFT_ROLE_INFRA)
			return false;
		r++;
	}
	return r == ch->nrules && r > 0;
}

/* "ELEM : goto CHAIN" with CHAIN's text put in. */
static char *elem_to(const char *key, const char *chain)
{
	char *s = NULL;
	return asprintf(&s, "%s : goto %s", key, chain ? chain : "?") < 0 ? NULL : s;
}

static bool has_elem_to(const struct nft_set *s, const char *key, const char *chain)
{
	char *e = elem_to(key, chain);
	bool ok = e && has_elem(s, e);
	free(e);
	return ok;
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
	/* isolated for ingress: the shared isolated chain; not isolated:
	 * straight through; no chain per endpoint */
	CHECK(has_elem(nft_prog_set(c.prog, "ep-ingress"), "\"npweb\" : goto in/isolated"));
	CHECK(has_elem(nft_prog_set(c.prog, "ep-ingress"), "\"npclient\" : accept"));
	CHECK(has_elem(nft_prog_set(c.prog, "ep-egress"), "\"npweb\" : goto pod-ingress"));
	for (size_t i = 0; i < c.prog->nchains; i++)
		CHECK(strncmp(c.prog->chains[i]->name, "in-", 3) != 0 &&
		      strncmp(c.prog->chains[i]->name, "eg-", 3) != 0);
	nft_case_clear(&c);
}

/* An isolated pod's traffic: the peer's class (whose maps send what the
 * endpoint allows of it to the allow's own chain), the allows of rules
 * without peers, then the drop, counted on the pod's element of in-iso
 * whose comment names the isolating policies. */
TEST(isolated_chain_classifies_the_peer_then_drops_on_the_pods_counted_element)
{
	struct nft_case c;
	CHECK(load(two_pods_one_policy, &c));
	const struct nft_chain *ep = nft_prog_chain(c.prog, "in/isolated");
	CHECK(ep && ep->nrules == 4);
	CHECK_STR(ep->comment, "an isolated pod's ingress");
	CHECK_STR(ep->rules[0].text, "jump in/classify");
	CHECK_STR(ep->rules[1].text, "jump in/any");
	CHECK_STR(ep->rules[2].text, "oifname @in-iso drop");
	CHECK_STR(ep->rules[3].text, "counter drop comment \"isolated\"");
	for (int i = 0; i < 4; i++)
		CHECK_INT(ep->rules[i].role, NFT_ROLE_INFRA);
	const struct nft_set *iso = nft_prog_set(c.prog, "in-iso");
	CHECK(iso && !iso->map && iso->counter);
	CHECK_STR(iso->type, "ifname");
	CHECK_INT(iso->nelems, 1);
	CHECK_STR(iso->elems[0], "\"npweb\" counter comment \"default/web ingress isolated by "
				 "web-from-clients\"");
	CHECK_INT(iso->nattr, 1);
	const struct nft_rule *drop = &iso->attr[0];
	CHECK_STR(drop->text, iso->elems[0]);
	CHECK_STR(drop->set, "in-iso");
	CHECK_INT(drop->role, NFT_ROLE_ISOLATED);
	CHECK_INT(drop->npolicies, 1);
	CHECK_STR(drop->policies[0], "default/web-from-clients");
	CHECK_STR(drop->pod, "default/web");
	CHECK(!drop->egress);
	CHECK_INT(nft_prog_set(c.prog, "eg-iso")->nelems, 0);
	/* the allows of rules without peers: one chain for every endpoint,
	 * with no lookup while their maps are empty */
	const struct nft_chain *any = nft_prog_chain(c.prog, "in/any");
	CHECK(any && any->nrules == 0);
	CHECK(nft_prog_set(c.prog, "in-any-p") && nft_prog_set(c.prog, "in-any-t") &&
	      nft_prog_set(c.prog, "in-any-a"));
	/* the source's class */
	const struct nft_chain *cl = nft_prog_chain(c.prog, "in/classify");
	CHECK(cl && cl->nrules == 4);
	CHECK_STR(cl->rules[0].text, "ip saddr vmap @in-pod4");
	CHECK_STR(cl->rules[1].text, "ip saddr vmap @in-cidr4");
	CHECK_STR(cl->rules[2].text, "ip6 saddr vmap @in-pod6");
	CHECK_STR(cl->rules[3].text, "ip6 saddr vmap @in-cidr6");
	const struct nft_set *pods = nft_prog_set(c.prog, "in-pod4");
	CHECK(pods && pods->nelems == 2);
	const char *cls = goto_target(pods->elems[0]);
	CHECK(cls && is_class(cls, "in"));
	CHECK_INT(count_classes(c.prog, "in"), 1);
	CHECK(class_chain_ok(c.prog, cls));
	CHECK_STR(nft_prog_chain(c.prog, cls)->comment, "addresses of role=client in default");
	/* what web allows of that class: TCP 80, through the rule's chain */
	const struct nft_set *m = class_map(c.prog, cls, 'p');
	CHECK_INT(m->nelems, 1);
	CHECK_STR(m->elems[0], "\"npweb\" . tcp . 80 : goto in/default/web-from-clients/r0/p0/q0");
	CHECK_INT(class_map(c.prog, cls, 't')->nelems, 0);
	CHECK_INT(class_map(c.prog, cls, 'a')->nelems, 0);
	const struct nft_chain *allow = nft_prog_chain(c.prog, "in/default/web-from-clients/r0/p0/q0");
	CHECK(allow && allow->nrules == 1 && allow->comment == NULL);
	const struct nft_rule *r = &allow->rules[0];
	CHECK_STR(r->text, "counter accept comment "
			   "\"default/web-from-clients ingress[0] from[0] ports[0]\"");
	CHECK_INT(r->role, NFT_ROLE_ALLOW);
	CHECK_INT(r->npolicies, 1);
	CHECK_STR(r->policies[0], "default/web-from-clients");
	CHECK(!r->egress);
	CHECK_INT(r->rule, 0);
	CHECK_INT(r->peer, 0);
	CHECK_INT(r->nports, 1);
	CHECK_INT(r->ports[0], 0);
	nft_case_clear(&c);
}

/* in-pod4 / in-pod6: the exact addresses of the pods a peer selects, each
 * in the map of its family, all going to the class of that peer. */
TEST(pod_maps_hold_pod_addresses_per_family)
{
	struct nft_case c;
	CHECK(load("# endpoint: default/web npweb\n"
		   POD("web", "default", "{app: web}", "10.0.0.10")
		   POD("client", "default", "{role: client}", "10.0.0.11")
		   "apiVersion: v1\nkind: Pod\nmetadata: {name: client2, namespace: default, "
		   "labels: {role: client}}\nstatus: {podIPs: [{ip: 10.0.0.12}, {ip: \"fd00::12\"}]}\n---\n"
		   "apiVersion: v1\nkind: Pod\nmetadata: {name: client3, namespace: default, "
		   "labels: {role: client}}\nstatus: {podIPs: [{ip: \"fd00::9\"}]}\n---\n"
		   "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		   "metadata: {name: web-from-clients, namespace: default}\n"
		   "spec:\n  podSelector: {matchLabels: {app: web}}\n"
		   "  ingress:\n  - from:\n    - podSelector: {matchLabels: {role: client}}\n"
		   "    ports:\n    - port: 80\n", &c));
	const struct nft_set *p4 = nft_prog_set(c.prog, "in-pod4");
	const struct nft_set *p6 = nft_prog_set(c.prog, "in-pod6");
	CHECK(p4 && p4->map && p4->flags == NULL);
	CHECK(p6 && p6->map && p6->flags == NULL);
	CHECK_STR(p4->type, "ipv4_addr : verdict");
	CHECK_STR(p6->type, "ipv6_addr : verdict");
	CHECK_INT(count_classes(c.prog, "in"), 1);
	CHECK_INT(p4->nelems, 2);
	const char *cls = goto_target(p4->elems[0]);
	CHECK(cls && class_chain_ok(c.prog, cls));
	CHECK(has_elem_to(p4, "10.0.0.11", cls) && has_elem_to(p4, "10.0.0.12", cls));
	CHECK(strncmp(p4->elems[0], "10.0.0.11 ", 10) == 0);
	CHECK_INT(p6->nelems, 2);
	CHECK(has_elem_to(p6, "fd00::9", cls) && has_elem_to(p6, "fd00::12", cls));
	CHECK(strncmp(p6->elems[0], "fd00::9 ", 8) == 0);
	/* the endpoint's own address is no peer; no ranges either */
	CHECK_INT(nft_prog_set(c.prog, "in-cidr4")->nelems, 0);
	CHECK_INT(nft_prog_set(c.prog, "in-cidr6")->nelems, 0);
	CHECK(rule_with(c.prog, "in/classify", "ip saddr vmap @in-pod4"));
	CHECK(rule_with(c.prog, "in/classify", "ip6 saddr vmap @in-pod6"));
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
	const struct nft_chain *ch = nft_prog_chain(c.prog, "eg/default/out/r0/pany/q0");
	CHECK(ch && ch->nrules == 1);
	CHECK_STR(ch->rules[0].text, "counter goto pod-ingress comment "
				     "\"default/out egress[0] ports[0]\"");
	CHECK_INT(ch->rules[0].role, NFT_ROLE_ALLOW);
	CHECK(ch->rules[0].egress);
	CHECK_INT(ch->rules[0].peer, -1);
	/* a rule without peers: any destination, the endpoint's any-address map */
	const struct nft_set *m = nft_prog_set(c.prog, "eg-any-p");
	CHECK(m && m->nelems == 1);
	CHECK_STR(m->elems[0], "\"npa\" . udp . 53 : goto eg/default/out/r0/pany/q0");
	CHECK(rule_with(c.prog, "eg/isolated", "jump eg/any"));
	CHECK(rule_with(c.prog, "eg/any", "iifname . meta l4proto . th dport vmap @eg-any-p"));
	CHECK(has_elem(nft_prog_set(c.prog, "eg-iso"),
		       "\"npa\" counter comment \"default/a egress isolated by out\""));
	CHECK(has_elem(nft_prog_set(c.prog, "ep-egress"), "\"npa\" : goto eg/isolated"));
	/* no egress allow accepts */
	for (size_t i = 0; i < c.prog->nchains; i++)
		for (size_t j = 0; j < c.prog->chains[i]->nrules; j++) {
			const struct nft_rule *r = &c.prog->chains[i]->rules[j];
			CHECK(r->role != NFT_ROLE_ALLOW || !r->egress ||
			      strncmp(r->text, "counter goto pod-ingress ", 25) == 0);
		}
	nft_case_clear(&c);
}

/* A class is a set of peers: the same peer written two ways by two
 * policies is one peer, so its pods make one class (one chain, three
 * maps) whose maps hold both endpoints' allows. */
TEST(two_policies_naming_the_same_peer_give_one_class)
{
	struct nft_case c;
	CHECK(load("# endpoint: default/a npa\n# endpoint: default/b npb\n"
		   POD("a", "default", "{app: a}", "10.0.0.1")
		   POD("b", "default", "{app: b}", "10.0.0.2")
		   POD("c", "default", "{x: y}", "10.0.0.3")
		   "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		   "metadata: {name: pa, namespace: default}\n"
		   "spec:\n  podSelector: {matchLabels: {app: a}}\n"
		   "  ingress:\n  - from: [{podSelector: {matchLabels: {x: y}}}]\n---\n"
		   "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		   "metadata: {name: pb, namespace: default}\n"
		   "spec:\n  podSelector: {matchLabels: {app: b}}\n"
		   "  ingress:\n  - from: [{podSelector: {matchExpressions: "
		   "[{key: x, operator: In, values: [y]}]}}]\n", &c));
	CHECK_INT(count_classes(c.prog, "in"), 1);
	const struct nft_set *pods = nft_prog_set(c.prog, "in-pod4");
	CHECK(pods && pods->nelems == 1);
	const char *cls = goto_target(pods->elems[0]);
	CHECK(cls && class_chain_ok(c.prog, cls));
	CHECK(has_elem_to(pods, "10.0.0.3", cls));
	const struct nft_set *a = class_map(c.prog, cls, 'a');
	CHECK_INT(a->nelems, 2);
	CHECK_STR(a->elems[0], "\"npa\" : goto in/default/pa/r0/p0/qany");
	CHECK_STR(a->elems[1], "\"npb\" : goto in/default/pb/r0/p0/qany");
	struct nft_counts n;
	nft_prog_count(c.prog, &n);
	CHECK_INT(n.sets, 4);        /* ep-src4/6 (anti-spoof), in-iso, eg-iso */
	CHECK_INT(n.maps, 18 + 4);   /* the fixed ones, and the class's four, once */
	nft_case_clear(&c);
}

/* Ports of every protocol go in one map keyed by interface . protocol .
 * port (ranges as intervals), whole protocols in the protocol map; a port
 * an earlier range of the rule covers adds nothing. */
TEST(ports_of_several_protocols_are_one_concatenated_map)
{
	struct nft_case c;
	CHECK(load("# endpoint: default/a npa\n" POD("a", "default", "{app: a}", "10.0.0.1")
		   "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		   "metadata: {name: p, namespace: default}\n"
		   "spec:\n  podSelector: {}\n"
		   "  ingress:\n  - ports: [{port: 53, protocol: UDP}, {port: 53}, "
		   "{port: 80, endPort: 90}, {port: 85}, {protocol: SCTP}]\n", &c));
	/* single ports in a hash, ranges in an interval map */
	const struct nft_set *m = nft_prog_set(c.prog, "in-any-p");
	CHECK(m && m->map);
	CHECK_STR(m->type, "ifname . inet_proto . inet_service : verdict");
	CHECK(m->flags == NULL);
	CHECK_INT(m->nelems, 2);
	CHECK_STR(m->elems[0], "\"npa\" . tcp . 53 : goto in/default/p/r0/pany/q1");
	CHECK_STR(m->elems[1], "\"npa\" . udp . 53 : goto in/default/p/r0/pany/q0");
	const struct nft_set *r = nft_prog_set(c.prog, "in-any-r");
	CHECK(r && r->map);
	CHECK_STR(r->type, "ifname . inet_proto . inet_service : verdict");
	CHECK_STR(r->flags, "interval");
	CHECK_INT(r->nelems, 1);
	CHECK_STR(r->elems[0], "\"npa\" . tcp . 80-90 : goto in/default/p/r0/pany/q2");
	const struct nft_set *t = nft_prog_set(c.prog, "in-any-t");
	CHECK(t && t->nelems == 1);
	CHECK_STR(t->type, "ifname . inet_proto : verdict");
	CHECK_STR(t->elems[0], "\"npa\" . sctp : goto in/default/p/r0/pany/q4");
	CHECK_INT(nft_prog_set(c.prog, "in-any-a")->nelems, 0);
	CHECK_INT(count_classes(c.prog, "in"), 0);
	CHECK(rule_with(c.prog, "in/default/p/r0/pany/q2",
			"counter accept comment \"default/p ingress[0] ports[2]\""));
	CHECK(rule_with(c.prog, "in/default/p/r0/pany/q4",
			"counter accept comment \"default/p ingress[0] ports[4]\""));
	nft_case_clear(&c);
}

/* in-cidr4: the ranges ipBlocks cover, excepts carved out, each going to
 * the class of the blocks covering it. A block whose excepts cover it all
 * adds nothing; a pod inside a block needs no entry of its own. */
TEST(ipblock_excepts_are_carved_out_of_the_cidr_map_ranges)
{
	struct nft_case c;
	CHECK(load("# endpoint: default/a npa\n" POD("a", "default", "{app: a}", "10.0.0.1")
		   POD("inside", "default", "{}", "172.17.0.5")
		   POD("excepted", "default", "{}", "172.16.0.5")
		   "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		   "metadata: {name: p, namespace: default}\n"
		   "spec:\n  podSelector: {}\n"
		   "  ingress:\n  - from:\n    - ipBlock: {cidr: 172.16.0.0/12, except: "
		   "[172.16.0.0/16, 172.31.255.255/32, 172.20.0.0/15]}\n"
		   "    - ipBlock: {cidr: 192.168.0.0/24, except: [192.168.0.0/25, 192.168.0.128/25]}\n", &c));
	const struct nft_set *s = nft_prog_set(c.prog, "in-cidr4");
	CHECK(s && s->map);
	CHECK_STR(s->type, "ipv4_addr : verdict");
	CHECK_STR(s->flags, "interval");
	CHECK_INT(s->nelems, 2);
	const char *cls = goto_target(s->elems[0]);
	CHECK(cls && is_class(cls, "in") && class_chain_ok(c.prog, cls));
	char *e0 = elem_to("172.17.0.0-172.19.255.255", cls);
	char *e1 = elem_to("172.22.0.0-172.31.255.254", cls);
	bool ok = e0 && e1 && strcmp(s->elems[0], e0) == 0 && strcmp(s->elems[1], e1) == 0;
	free(e0);
	free(e1);
	CHECK(ok);
	CHECK_INT(count_classes(c.prog, "in"), 1);
	CHECK_STR(nft_prog_chain(c.prog, cls)->comment, "addresses of 172.16.0.0/12 except "
			"172.16.0.0/16, 172.20.0.0/15, 172.31.255.255/32");
	const struct nft_set *a = class_map(c.prog, cls, 'a');
	CHECK(a->nelems == 1);
	CHECK_STR(a->elems[0], "\"npa\" : goto in/default/p/r0/p0/qany");
	CHECK_INT(nft_prog_set(c.prog, "in-pod4")->nelems, 0);
	CHECK_INT(nft_prog_set(c.prog, "in-cidr6")->nelems, 0);
	nft_case_clear(&c);
}

/* Ingress: a named port is the endpoint's own, resolved when compiling
 * (the element carries the number). Egress: it is the destination's, so
 * the number is part of the destination's class: each destination pod
 * declaring it (in both families) goes to a class saying which number. */
TEST(ingress_named_ports_resolve_on_the_endpoint_and_egress_ones_per_destination_class)
{
	struct nft_case c;
	CHECK(load("# endpoint: default/a npa\n# endpoint: default/b npb\n"
		   "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: default}\n"
		   "spec:\n  containers:\n  - {name: c, image: x, ports: [{name: http, containerPort: 8080}]}\n"
		   "status: {podIP: 10.0.0.1}\n---\n"
		   "apiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: default}\n"
		   "spec:\n  containers:\n  - {name: c, image: x, ports: [{name: http, containerPort: 9090}]}\n"
		   "status: {podIPs: [{ip: 10.0.0.2}, {ip: \"fd00::2\"}]}\n---\n"
		   "apiVersion: v1\nkind: Pod\nmetadata: {name: c, namespace: default}\n"
		   "spec:\n  containers:\n  - {name: c, image: x, ports: [{name: http, containerPort: 8080, "
		   "protocol: UDP}]}\nstatus: {podIP: 10.0.0.3}\n---\n"
		   "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		   "metadata: {name: p, namespace: default}\n"
		   "spec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]\n"
		   "  ingress:\n  - ports: [{port: http}]\n  egress:\n  - ports: [{port: http}]\n", &c));
	/* ingress: each endpoint its own number, no classes needed */
	const struct nft_set *in = nft_prog_set(c.prog, "in-any-p");
	CHECK(in && in->nelems == 2);
	CHECK_STR(in->elems[0], "\"npa\" . tcp . 8080 : goto in/default/p/r0/pany/q0");
	CHECK_STR(in->elems[1], "\"npb\" . tcp . 9090 : goto in/default/p/r0/pany/q0");
	CHECK_INT(count_classes(c.prog, "in"), 0);
	CHECK_INT(nft_prog_set(c.prog, "in-pod4")->nelems, 0);
	/* egress: by the destination; c declares the name for UDP only */
	CHECK_INT(nft_prog_set(c.prog, "eg-any-p")->nelems, 0);
	CHECK_INT(nft_prog_set(c.prog, "eg-cidr4")->nelems, 0);
	CHECK_INT(count_classes(c.prog, "eg"), 2);
	const struct nft_set *p4 = nft_prog_set(c.prog, "eg-pod4"), *p6 = nft_prog_set(c.prog, "eg-pod6");
	CHECK(p4 && p4->nelems == 2 && p6 && p6->nelems == 1);
	CHECK(strncmp(p4->elems[0], "10.0.0.1 : goto ", 16) == 0);
	CHECK(strncmp(p4->elems[1], "10.0.0.2 : goto ", 16) == 0);
	const char *c8080 = goto_target(p4->elems[0]), *c9090 = goto_target(p4->elems[1]);
	CHECK(strcmp(c8080, c9090) != 0);
	CHECK(class_chain_ok(c.prog, c8080) && class_chain_ok(c.prog, c9090));
	CHECK(has_elem_to(p6, "fd00::2", c9090));
	CHECK_STR(nft_prog_chain(c.prog, c8080)->comment, "addresses of any address; http/TCP=8080");
	CHECK_STR(nft_prog_chain(c.prog, c9090)->comment, "addresses of any address; http/TCP=9090");
	const struct nft_set *m = class_map(c.prog, c8080, 'p');
	CHECK_INT(m->nelems, 2);
	CHECK_STR(m->elems[0], "\"npa\" . tcp . 8080 : goto eg/default/p/r0/pany/q0");
	CHECK_STR(m->elems[1], "\"npb\" . tcp . 8080 : goto eg/default/p/r0/pany/q0");
	m = class_map(c.prog, c9090, 'p');
	CHECK_INT(m->nelems, 2);
	CHECK_STR(m->elems[0], "\"npa\" . tcp . 9090 : goto eg/default/p/r0/pany/q0");
	CHECK_STR(m->elems[1], "\"npb\" . tcp . 9090 : goto eg/default/p/r0/pany/q0");
	CHECK(rule_with(c.prog, "eg/default/p/r0/pany/q0",
			"counter goto pod-ingress comment \"default/p egress[0] ports[0]\""));
	nft_case_clear(&c);
}

/* Addresses are sorted as numbers before they become text; a pod map must
 * come out in the order nft_elem_cmp gives the text, one element per
 * address (two pods may share one), and an egress named port resolved for
 * its own protocol only. */
TEST(pod_map_elements_come_out_in_numeric_order_unique_with_the_named_port_of_their_protocol)
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
		   "spec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]\n"
		   "  ingress:\n  - from: [{podSelector: {matchLabels: {k: v}}}]\n"
		   "  egress:\n  - to: [{podSelector: {matchLabels: {k: v}}}]\n"
		   "    ports: [{port: http}]\n", &c));
	/* ingress from k=v: every address of those pods, once */
	const struct nft_set *in = nft_prog_set(c.prog, "in-pod4");
	CHECK(in && in->nelems == 3);
	const char *cin = goto_target(in->elems[0]);
	CHECK(cin && class_chain_ok(c.prog, cin));
	const char *want_in[] = {"9.255.0.1", "10.0.0.9", "10.0.0.10"};
	for (size_t i = 0; i < 3; i++) {
		char *e = elem_to(want_in[i], cin);
		bool ok = e && strcmp(in->elems[i], e) == 0;
		free(e);
		CHECK(ok);
	}
	for (size_t i = 1; i < in->nelems; i++)
		CHECK(nft_elem_cmp(in->elems[i - 1], in->elems[i]) < 0);
	/* egress to k=v on http (TCP): a declares it for UDP, e is no k=v pod */
	const struct nft_set *eg = nft_prog_set(c.prog, "eg-pod4");
	CHECK(eg && eg->nelems == 2);
	const char *ceg = goto_target(eg->elems[0]);
	CHECK(ceg && class_chain_ok(c.prog, ceg));
	char *e0 = elem_to("9.255.0.1", ceg), *e1 = elem_to("10.0.0.9", ceg);
	bool ok = e0 && e1 && strcmp(eg->elems[0], e0) == 0 && strcmp(eg->elems[1], e1) == 0;
	free(e0);
	free(e1);
	CHECK(ok);
	CHECK_STR(nft_prog_chain(c.prog, ceg)->comment, "addresses of k=v in default; http/TCP=80");
	const struct nft_set *m = class_map(c.prog, ceg, 'p');
	CHECK_INT(m->nelems, 1);
	CHECK_STR(m->elems[0], "\"npa\" . tcp . 80 : goto eg/default/p/r0/p0/q0");
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
	CHECK_INT(n, 1);   /* the allow's own chain, for both families */
	const struct nft_chain *allow = nft_prog_chain(c.prog, "in/default/web-from-clients/r0/p0/q0");
	CHECK(allow && out[0] == &allow->rules[0]);
	CHECK_INT(out[0]->role, NFT_ROLE_ALLOW);
	CHECK_INT(out[0]->family, 0);
	CHECK_STR(out[0]->text, "counter accept comment "
				"\"default/web-from-clients ingress[0] from[0] ports[0]\"");
	CHECK_INT(engine_evaluate(c.e, &src, &dst, (struct np_port){81, NP_TCP}, &v), 0);
	n = nft_prog_attribute(c.prog, web, false, &v.ingress, out, 4);
	verdict_clear(&v);
	CHECK_INT(n, 1);
	CHECK_INT(out[0]->role, NFT_ROLE_ISOLATED);
	const struct nft_set *iso = nft_prog_set(c.prog, "in-iso");
	CHECK(iso && iso->nattr == 1 && out[0] == &iso->attr[0]);
	CHECK_STR(out[0]->set, "in-iso");
	CHECK(strstr(out[0]->text, "isolated by web-from-clients"));
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
	/* a listed element carries its counter's values: parsed aside */
	const struct nft_set *kiso = nft_prog_set(k, "in-iso");
	CHECK(kiso && kiso->nattr == 0);   /* our own text has no values */
	nft_prog_free(k);
	k = NULL;
	text = nft_prog_text(c.prog);
	char *listed = NULL, *at = strstr(text, "\"npweb\" counter comment");
	CHECK(at && asprintf(&listed, "%.*s\"npweb\" counter packets 7 bytes 700 comment%s",
			     (int)(at - text), text, at + strlen("\"npweb\" counter comment")) > 0);
	free(text);
	/* and a rule's counter (the first such drop listed: eg/isolated's) */
	char *listed2 = NULL;
	at = strstr(listed, "jump in/classify");
	CHECK(at && asprintf(&listed2, "%.*scounter packets 3 bytes 300 drop comment \"isolated\"%s",
			     (int)(strstr(listed, "counter drop comment \"isolated\"") - listed), listed,
			     strstr(listed, "counter drop comment \"isolated\"") +
				     strlen("counter drop comment \"isolated\"")) > 0);
	free(listed);
	CHECK_INT(nft_prog_parse(listed2, &k, NULL), 0);
	free(listed2);
	kiso = nft_prog_set(k, "in-iso");
	CHECK(kiso && kiso->nattr == 1 && kiso->attr[0].packets == 7);
	CHECK_STR(kiso->elems[0], "\"npweb\" counter comment \"default/web ingress isolated by "
				  "web-from-clients\"");
	struct nft_counts n;
	nft_prog_count(c.prog, &n);
	CHECK_INT(nft_prog_copy_counters(c.prog, k), n.rules + 1);
	nft_prog_free(k);
	const struct nft_set *iso = nft_prog_set(c.prog, "in-iso");
	const struct nft_rule *r = &iso->attr[0];
	CHECK(r->packets == 7 && r->bytes == 700 && r->role == NFT_ROLE_ISOLATED);
	r = rule_with(c.prog, "eg/isolated", "drop comment \"isolated\"");
	CHECK(r && r->packets == 3 && r->bytes == 300);
	r = rule_with(c.prog, "in/isolated", "drop comment \"isolated\"");
	CHECK(r && r->packets == 0);
	r = rule_with(c.prog, "in/isolated", "jump in/classify");
	CHECK(r && r->packets == 0 && r->bytes == 0);
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

/* Where the first occurrence of what starts a line is, or NULL. */
static const char *line_first(const char *t, const char *what)
{
	size_t n = strlen(what);
	for (const char *p = t; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, what, n) == 0)
			return p;
	return NULL;
}

static const char *line_last(const char *t, const char *what)
{
	const char *last = NULL;
	size_t n = strlen(what);
	for (const char *p = t; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, what, n) == 0)
			last = p;
	return last;
}

TEST(delta_from_nothing_declares_before_it_references)
{
	struct nft_case c;
	struct nft_delta *d = NULL;
	CHECK(load(two_pods_one_policy, &c));
	CHECK_INT(nft_delta_compute(NULL, c.prog, &d), 0);
	const char *t = d->text;
	CHECK(strncmp(t, "add table inet netpol\n", 22) == 0);
	/* chains and maps, then the rules (that name maps and chains), then
	 * the elements (that name chains) */
	const char *first_rule = line_first(t, "add rule"), *first_elem = line_first(t, "add element");
	const char *last_chain = line_last(t, "add chain"), *last_map = line_last(t, "add map");
	const char *last_rule = line_last(t, "add rule");
	CHECK(first_rule && first_elem && last_chain && last_map && last_rule);
	CHECK(last_chain < first_rule && last_map < first_rule && last_rule < first_elem);
	const char *last_set = line_last(t, "add set");
	CHECK(last_set && last_set < first_rule);
	CHECK(strstr(t, "\nadd set inet netpol ep-src4 { type ifname . ipv4_addr; }\n"));
	CHECK(strstr(t, "\nadd element inet netpol ep-src4 { \"npclient\" . 10.0.0.11, "
			"\"npweb\" . 10.0.0.10 }\n"));
	CHECK(strstr(t, "\nadd chain inet netpol in/default/web-from-clients/r0/p0/q0\n"));
	CHECK(strstr(t, "\nadd map inet netpol in-pod4 { type ipv4_addr : verdict; }\n"));
	CHECK(strstr(t, "\nadd rule inet netpol in/classify ip saddr vmap @in-pod4\n"));
	CHECK(strstr(t, "\nadd element inet netpol ep-ingress { \"npclient\" : accept, "
			"\"npweb\" : goto in/isolated }\n"));
	CHECK(strstr(t, "\nadd set inet netpol in-iso { type ifname; counter; }\n"));
	CHECK(strstr(t, "\nadd element inet netpol in-iso { \"npweb\" counter comment "
			"\"default/web ingress isolated by web-from-clients\" }\n"));
	const char *cls = goto_target(nft_prog_set(c.prog, "in-pod4")->elems[0]);
	char *want = NULL;
	CHECK(asprintf(&want, "\nadd element inet netpol in-pod4 { 10.0.0.11 : goto %s, "
			      "10.0.0.12 : goto %s }\n", cls, cls) > 0);
	bool ok = strstr(t, want) != NULL;
	free(want);
	CHECK(ok);
	struct nft_counts n;
	nft_prog_count(c.prog, &n);
	CHECK_INT(d->chains_added, n.chains);
	CHECK_INT(d->rules_written, n.rules);
	CHECK_INT(d->sets_added, n.sets + n.maps);
	CHECK_INT(d->elems_added, n.elems);
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

/* Applies the element lines of a delta for map NAME to a list of
 * entries (a tiny model of the kernel): "delete element ... NAME { K1, K2 }"
 * removes keys (refused when absent, as the kernel does), "add element"
 * adds entries (refused when the key is there). */
static bool model_apply(char ***ents, size_t *n, const char *delta, const char *name)
{
	char del[128], add[128];
	snprintf(del, sizeof(del), "delete element inet netpol %s { ", name);
	snprintf(add, sizeof(add), "add element inet netpol %s { ", name);
	for (const char *l = delta; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		bool is_del = strncmp(l, del, strlen(del)) == 0, is_add = strncmp(l, add, strlen(add)) == 0;
		if (!is_del && !is_add)
			continue;
		const char *p = l + strlen(is_del ? del : add), *end = strstr(p, " }");
		while (p < end) {
			const char *q = strstr(p, ", ");
			if (!q || q > end)
				q = end;
			char *item = strndup(p, (size_t)(q - p));
			size_t kl = strstr(item, " : ") ? (size_t)(strstr(item, " : ") - item) : strlen(item);
			size_t at = *n;
			for (size_t i = 0; i < *n; i++)
				if (strncmp((*ents)[i], item, kl) == 0 && (*ents)[i][kl] == ' ')
					at = i;
			if (is_del) {
				if (at == *n) {
					printf("  delete of absent key %s\n", item);
					free(item);
					return false;
				}
				free((*ents)[at]);
				(*ents)[at] = (*ents)[--*n];
				free(item);
			} else {
				if (at != *n) {
					printf("  add of present key %s\n", item);
					free(item);
					return false;
				}
				*ents = realloc(*ents, (*n + 1) * sizeof(**ents));
				(*ents)[(*n)++] = item;
			}
			p = q + 2;
		}
	}
	return true;
}

/* The delta of a map, applied to the old entries, gives the new ones
 * exactly, whatever the keys (numbers of every length, which sort as
 * numbers) and verdicts: many random pairs of maps. */
TEST(map_deltas_turn_the_old_entries_into_the_new_ones)
{
	unsigned seed = 12345;
	for (int round = 0; round < 300; round++) {
		struct nft_prog *a = nft_prog_new(NULL), *b = nft_prog_new(NULL);
		struct nft_set *sa = nft_set_new("m", true, "ipv4_addr : verdict", NULL, NULL);
		struct nft_set *sb = nft_set_new("m", true, "ipv4_addr : verdict", NULL, NULL);
		CHECK(a && b && sa && sb);
		nft_prog_add_set(a, sa);
		nft_prog_add_set(b, sb);
		for (int k = 0; k < 300; k++) {
			seed = seed * 1103515245 + 12345;
			unsigned x = seed >> 8 & 1023, v = seed >> 20 & 3;
			char *e1, *e2;
			/* keys like 10.0.3.7, 10.0.3.70, 10.0.31.7: prefixes of each other */
			CHECK(asprintf(&e1, "10.0.%u.%u : goto c%u", x / 100, x % 100, v) > 0);
			CHECK(asprintf(&e2, "10.0.%u.%u : goto c%u", x / 100, x % 100, (v + (x & 1)) & 3) > 0);
			if (seed >> 30 & 1)
				nft_set_add_elem(sa, e1);
			else
				free(e1);
			if ((seed >> 29 & 3) != 0)
				nft_set_add_elem(sb, e2);
			else
				free(e2);
		}
		/* one entry per key in each map, as a compile makes them */
		for (int w = 0; w < 2; w++) {
			struct nft_set *m = w ? sb : sa;
			nft_set_finish(m);
			size_t out = 0;
			for (size_t i = 0; i < m->nelems; i++) {
				size_t kl = (size_t)(strstr(m->elems[i], " : ") - m->elems[i]);
				if (out && strncmp(m->elems[out - 1], m->elems[i], kl) == 0 &&
				    m->elems[out - 1][kl] == ' ')
					free(m->elems[i]);
				else
					m->elems[out++] = m->elems[i];
			}
			m->nelems = out;
		}
		nft_prog_finish(a);
		nft_prog_finish(b);
		struct nft_delta *d = NULL;
		CHECK_INT(nft_delta_compute(a, b, &d), 0);
		char **ents = calloc(sa->nelems + 1, sizeof(*ents));
		size_t n = sa->nelems;
		for (size_t i = 0; i < n; i++)
			ents[i] = strdup(sa->elems[i]);
		bool ok = model_apply(&ents, &n, d->text, "m");
		qsort(ents, n, sizeof(*ents), nft_elem_qcmp);
		ok = ok && n == sb->nelems;
		for (size_t i = 0; ok && i < n; i++)
			ok = strcmp(ents[i], sb->elems[i]) == 0;
		for (size_t i = 0; i < n; i++)
			free(ents[i]);
		free(ents);
		nft_delta_free(d);
		nft_prog_free(a);
		nft_prog_free(b);
		CHECK(ok);
	}
}

/* A pod that stops matching a peer leaves the pod map: one element, and
 * nothing else changes (no class, chain or other map). */
TEST(delta_of_a_label_change_only_touches_pod_map_elements)
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
	CHECK_STR(d->text, "delete element inet netpol in-pod4 { 10.0.0.12 }\n");
	CHECK_INT(d->elems_deleted, 1);
	CHECK_INT(d->elems_added, 0);
	CHECK_INT(d->chains_added + d->chains_refilled + d->chains_deleted, 0);
	CHECK_INT(d->sets_added + d->sets_deleted + d->sets_replaced, 0);
	/* and back: one element again */
	nft_delta_free(d);
	d = NULL;
	before = c.prog;
	c.prog = NULL;
	labels_set(&cluster_find_pod(c.cl, "default", "client2")->meta.labels, "role", "client");
	CHECK_INT(nft_case_recompile(&c, NULL), 0);
	CHECK_INT(nft_delta_compute(before, c.prog, &d), 0);
	nft_prog_free(before);
	char *want = NULL;
	CHECK(asprintf(&want, "add element inet netpol in-pod4 { 10.0.0.12 : goto %s }\n",
		       goto_target(nft_prog_set(c.prog, "in-pod4")->elems[0])) > 0);
	bool ok = strcmp(d->text, want) == 0;
	if (!ok)
		printf("  got: %s  want: %s", d->text, want);
	free(want);
	CHECK(ok);
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
	CHECK(strstr(d->text, "delete element inet netpol ep-ingress { \"npclient\" }\n"
			      "add element inet netpol ep-ingress { \"npclient\" : goto in/isolated }\n"));
	CHECK(strstr(d->text, "add element inet netpol in-iso { \"npclient\" counter comment "
			      "\"default/client ingress isolated by web-from-clients\" }\n"));
	/* no chain per pod: nothing added, nothing refilled */
	CHECK_INT(d->chains_added, 0);
	CHECK_INT(d->chains_refilled, 0);
	nft_delta_free(d);
	nft_case_clear(&c);
}

/* An endpoint leaves: its dispatch entries and the pod-map entries that
 * led to its class go first, then the chains that went away are flushed
 * (so nothing names the class's maps), the maps deleted, and the chains
 * last (map elements named them). */
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
	const char *cls = goto_target(nft_prog_set(before, "in-pod4")->elems[0]);
	CHECK(cls && is_class(cls, "in"));
	const char *hex = cls + 3;   /* "cHEX" */
	char *want = NULL;
	int rc = asprintf(&want,
			  "delete element inet netpol ep-egress { \"npweb\" }\n"
			  "delete element inet netpol ep-ingress { \"npweb\" }\n"
			  "delete element inet netpol ep-src4 { \"npweb\" . 10.0.0.10 }\n"
			  "delete element inet netpol in-iso { \"npweb\" }\n"
			  "delete element inet netpol in-pod4 { 10.0.0.11, 10.0.0.12 }\n"
			  "flush chain inet netpol in/%s\n"
			  "flush chain inet netpol in/default/web-from-clients/r0/p0/q0\n"
			  "delete map inet netpol in-%s-a\n"
			  "delete map inet netpol in-%s-p\n"
			  "delete map inet netpol in-%s-r\n"
			  "delete map inet netpol in-%s-t\n"
			  "delete chain inet netpol in/%s\n"
			  "delete chain inet netpol in/default/web-from-clients/r0/p0/q0\n",
			  hex, hex, hex, hex, hex, hex);
	nft_prog_free(before);
	CHECK(rc > 0);
	bool ok = strcmp(d->text, want) == 0;
	if (!ok)
		printf("  got:\n%s  want:\n%s", d->text, want);
	free(want);
	CHECK(ok);
	CHECK_INT(d->chains_deleted, 2);
	CHECK_INT(d->sets_deleted, 4);
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
	struct nft_chain *ch = (struct nft_chain *)nft_prog_chain(old, "in/isolated");
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
