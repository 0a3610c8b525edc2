/* Near misses: the policies that would allow a denied connection but for
 * one selector term (explain), and the selectors one term away from
 * matching (lint NP008). The cluster is the tutorial as Calico's docs
 * create it today: `kubectl create deployment nginx` labels its pods
 * app=nginx, while the tutorial's policies select run=nginx. */
#include "unit.h"
#include "cluster_yaml.h"
#include "policy/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS "advanced-policy-demo"

#define CLUSTER                                                                        \
	"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " NS "\n---\n"             \
	"apiVersion: v1\nkind: Pod\nmetadata:\n  name: nginx\n  namespace: " NS "\n"     \
	"  labels: {app: nginx, tier: web}\nspec:\n  containers:\n"                      \
	"  - {name: nginx, image: nginx, ports: [{name: http, containerPort: 80}]}\n---\n" \
	"apiVersion: v1\nkind: Pod\nmetadata:\n  name: access\n  namespace: " NS "\n"    \
	"  labels: {run: access}\nspec:\n  containers:\n  - {name: access, image: busybox}\n---\n" \
	"apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-dns\n  namespace: kube-system\n" \
	"  labels: {k8s-app: kube-dns}\nspec:\n  containers:\n  - {name: dns, image: dnsmasq}\n---\n" \
	"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"             \
	"  name: default-deny\n  namespace: " NS "\nspec:\n  podSelector: {}\n"           \
	"  policyTypes: [Ingress, Egress]\n---\n"

#define POLICY(name)                                                                   \
	"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"             \
	"  name: " name "\n  namespace: " NS "\nspec:\n"

/* The near misses of one direction as "policy:kind:rule:peer:term", one
 * per miss, joined by spaces; "(denied)" is left out: callers ask about
 * denied connections. */
static char got[1024];

static const char *misses(const char *text, bool egress, const char *from_ns, const char *from,
			  const char *to_ns, const char *to, struct np_port port)
{
	static const char *kinds[] = {"podSelector", "peerPodSelector", "peerNamespaceSelector"};
	struct np_cluster *cl = yaml(text);
	struct np_near_miss *m = NULL;
	size_t n = 0;
	got[0] = '\0';
	if (!cl)
		return "(invalid)";
	struct engine *e = engine_new(cl);
	struct np_endpoint src = pod_ep(cl, from_ns, from), dst = pod_ep(cl, to_ns, to);
	if (engine_near_misses(e, egress, &src, &dst, port, &m, &n) < 0)
		snprintf(got, sizeof(got), "(error)");
	for (size_t i = 0; i < n; i++) {
		struct np_selector one = {(struct np_requirement *)m[i].term, 1};
		char *term = selector_to_string(&one);
		size_t len = strlen(got);
		snprintf(got + len, sizeof(got) - len, "%s%s:%s:%d:%d:%s", len ? " " : "",
			 m[i].policy->meta.name, kinds[m[i].kind], m[i].rule, m[i].peer, term);
		free(term);
	}
	free(m);
	engine_free(e);
	cluster_free(cl);
	return got;
}

#define INGRESS_TO_NGINX(text) misses(text, false, NS, "access", NS, "nginx", tcp(80))
#define EGRESS_OF_ACCESS(text) misses(text, true, NS, "access", NS, "nginx", tcp(80))

TEST(near_miss_one_match_labels_term_of_the_pod_selector)
{
	CHECK_STR(INGRESS_TO_NGINX(CLUSTER POLICY("access-nginx")
				   "  podSelector: {matchLabels: {run: nginx}}\n"
				   "  ingress:\n  - from:\n    - podSelector: {}\n"),
		  "access-nginx:podSelector:0:0:run=nginx");
}

TEST(near_miss_one_match_expressions_term)
{
	CHECK_STR(INGRESS_TO_NGINX(CLUSTER POLICY("access-nginx")
				   "  podSelector:\n    matchExpressions:\n"
				   "    - {key: run, operator: In, values: [nginx]}\n"
				   "  ingress:\n  - {}\n"),
		  "access-nginx:podSelector:0:-1:run=nginx");
	/* the other terms match (tier=web): the failing one is named */
	CHECK_STR(INGRESS_TO_NGINX(CLUSTER POLICY("access-nginx")
				   "  podSelector:\n    matchLabels: {tier: web}\n    matchExpressions:\n"
				   "    - {key: app, operator: NotIn, values: [nginx]}\n"
				   "  ingress:\n  - {}\n"),
		  "access-nginx:podSelector:0:-1:app notin (nginx)");
}

TEST(near_miss_one_term_of_a_peer_pod_selector)
{
	CHECK_STR(EGRESS_OF_ACCESS(CLUSTER POLICY("to-nginx")
				   "  podSelector: {}\n  policyTypes: [Egress]\n"
				   "  egress:\n  - to:\n    - podSelector: {matchLabels: {run: nginx}}\n"),
		  "to-nginx:peerPodSelector:0:0:run=nginx");
}

TEST(near_miss_one_term_of_a_namespace_selector)
{
	/* the tutorial's step 5 before `kubectl label namespace kube-system name=kube-system` */
	CHECK_STR(misses(CLUSTER POLICY("allow-dns")
			 "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - to:\n"
			 "    - namespaceSelector: {matchLabels: {name: kube-system}}\n"
			 "    ports:\n    - {protocol: UDP, port: 53}\n",
			 true, NS, "access", "kube-system", "kube-dns", udp(53)),
		  "allow-dns:peerNamespaceSelector:0:0:name=kube-system");
}

TEST(near_miss_not_when_two_terms_are_off)
{
	CHECK_STR(INGRESS_TO_NGINX(CLUSTER POLICY("access-nginx")
				   "  podSelector: {matchLabels: {run: nginx, tier: frontend}}\n"
				   "  ingress:\n  - {}\n"), "");
	/* one term off in the podSelector and one in the peer */
	CHECK_STR(INGRESS_TO_NGINX(CLUSTER POLICY("access-nginx")
				   "  podSelector: {matchLabels: {run: nginx}}\n"
				   "  ingress:\n  - from:\n    - podSelector: {matchLabels: {app: access}}\n"),
		  "");
}

TEST(near_miss_not_when_the_port_is_wrong_too)
{
	CHECK_STR(INGRESS_TO_NGINX(CLUSTER POLICY("access-nginx")
				   "  podSelector: {matchLabels: {run: nginx}}\n"
				   "  ingress:\n  - ports:\n    - {port: 8080}\n"), "");
	CHECK_STR(INGRESS_TO_NGINX(CLUSTER POLICY("access-nginx")
				   "  podSelector: {matchLabels: {run: nginx}}\n"
				   "  ingress:\n  - ports:\n    - {port: 80, protocol: UDP}\n"), "");
	/* a named port is resolved on the destination as usual */
	CHECK_STR(INGRESS_TO_NGINX(CLUSTER POLICY("access-nginx")
				   "  podSelector: {matchLabels: {run: nginx}}\n"
				   "  ingress:\n  - ports:\n    - {port: http}\n"),
		  "access-nginx:podSelector:0:-1:run=nginx");
}

TEST(near_miss_not_for_a_policy_meant_for_other_pods)
{
	/* app=db: nothing of nginx's labels suggests a slip */
	CHECK_STR(INGRESS_TO_NGINX(CLUSTER POLICY("access-db")
				   "  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - {}\n"), "");
	/* but a typo of a value is one */
	CHECK_STR(INGRESS_TO_NGINX(CLUSTER POLICY("access-nginx")
				   "  podSelector: {matchLabels: {app: ngnix}}\n  ingress:\n  - {}\n"),
		  "access-nginx:podSelector:0:-1:app=ngnix");
}

TEST(near_miss_not_for_the_wrong_direction_or_namespace)
{
	CHECK_STR(INGRESS_TO_NGINX(CLUSTER POLICY("egress-only")
				   "  podSelector: {matchLabels: {run: nginx}}\n"
				   "  policyTypes: [Egress]\n  egress:\n  - {}\n"), "");
	/* a peer podSelector without namespaceSelector never reaches another namespace */
	CHECK_STR(misses(CLUSTER POLICY("to-dns")
			 "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - to:\n"
			 "    - podSelector: {matchLabels: {app: kube-dns}}\n",
			 true, NS, "access", "kube-system", "kube-dns", udp(53)), "");
}

/* ---- lint NP008 --------------------------------------------------------------------- */

static char lint_buf[2048];

static const char *lint_codes(const char *text, const char *code)
{
	struct np_cluster *cl = yaml(text);
	struct diag_list d = {0};
	lint_buf[0] = '\0';
	if (!cl)
		return "(invalid)";
	struct engine *e = engine_new(cl);
	lint_cluster(e, &d);
	for (size_t i = 0; i < d.n; i++) {
		size_t len = strlen(lint_buf);
		if (!strcmp(d.items[i].code, code))
			snprintf(lint_buf + len, sizeof(lint_buf) - len, "%s%d: %s", len ? "\n" : "",
				 d.items[i].line, d.items[i].msg);
	}
	diag_list_clear(&d);
	engine_free(e);
	cluster_free(cl);
	return lint_buf;
}

TEST(lint_np008_pod_selector_one_term_from_matching)
{
	/* CLUSTER is 45 lines: the policy starts on 46, its matchLabels entry is on 53 */
	CHECK_STR(lint_codes(CLUSTER POLICY("access-nginx")
			     "  podSelector:\n    matchLabels:\n      run: nginx\n  ingress:\n  - {}\n",
			     "NP008"),
		  "53: policy " NS "/access-nginx: podSelector {run=nginx} matches no pod in "
		  "namespace " NS ", but only its term run=nginx keeps it from matching 1 pod: "
		  "nginx (labels app=nginx,tier=web)");
	CHECK_STR(lint_codes(CLUSTER POLICY("access-db")
			     "  podSelector:\n    matchLabels:\n      app: db\n  ingress:\n  - {}\n",
			     "NP008"), "");
	CHECK_STR(lint_codes(CLUSTER POLICY("access-nginx")
			     "  podSelector:\n    matchLabels:\n      app: nginx\n  ingress:\n  - {}\n",
			     "NP008"), "");
}

TEST(lint_np008_peer_selectors_one_term_from_matching)
{
	CHECK_STR(lint_codes(CLUSTER POLICY("to-nginx")
			     "  podSelector: {}\n  egress:\n  - to:\n"
			     "    - podSelector: {matchLabels: {run: nginx}}\n", "NP008"),
		  "54: policy " NS "/to-nginx: peer podSelector {run=nginx} matches no pod in "
		  "namespace " NS ", but only its term run=nginx keeps it from matching 1 pod: "
		  "nginx (labels app=nginx,tier=web)");
	CHECK_STR(lint_codes(CLUSTER POLICY("to-dns")
			     "  podSelector: {}\n  egress:\n  - to:\n"
			     "    - namespaceSelector: {matchLabels: {name: kube-system}}\n", "NP008"),
		  "54: policy " NS "/to-dns: namespaceSelector {name=kube-system} matches no "
		  "namespace, but only its term name=kube-system keeps it from matching namespace "
		  "kube-system (labels kubernetes.io/metadata.name=kube-system)");
}
