/* Lint findings, each code on a minimal example and on its correction, and
 * the tutorial's policies step by step (verdicts and findings). */
#include "unit.h"
#include "cluster_yaml.h"
#include "policy/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- lint ---------------------------------------------------------------------------------------- */

/* The findings of lint on YAML text as "CODE:line ..." in report order,
 * and the number lint_cluster returned in *n. */
static char lint_out[1024];
static int lint_n;

static const char *lint_yaml(const char *text)
{
	struct np_cluster *cl = yaml(text);
	struct diag_list d = {0};
	lint_out[0] = '\0';
	lint_n = -1;
	if (!cl)
		return "(invalid)";
	struct engine *e = engine_new(cl);
	lint_n = lint_cluster(e, &d);
	for (size_t i = 0; i < d.n; i++) {
		size_t len = strlen(lint_out);
		snprintf(lint_out + len, sizeof(lint_out) - len, "%s%s:%d", len ? " " : "",
			 d.items[i].code, d.items[i].line);
	}
	diag_list_clear(&d);
	engine_free(e);
	cluster_free(cl);
	return lint_out;
}

/* The message of the only finding of text. */
static char lint_msg_buf[1024];

static const char *lint_message(const char *text)
{
	struct np_cluster *cl = yaml(text);
	struct diag_list d = {0};
	if (!cl)
		return "(invalid)";
	struct engine *e = engine_new(cl);
	lint_cluster(e, &d);
	snprintf(lint_msg_buf, sizeof(lint_msg_buf), "%s", d.n == 1 ? d.items[0].msg : "(not one finding)");
	diag_list_clear(&d);
	engine_free(e);
	cluster_free(cl);
	return lint_msg_buf;
}

#define PODS_XY                                                        \
	"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n  labels: {team: a}\n" \
	"---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  namespace: x\n"  \
	"  labels: {app: a}\nspec:\n  containers:\n  - name: c\n    image: i\n"   \
	"    ports:\n    - {name: http, containerPort: 80}\n"                  \
	"    - {name: metrics, containerPort: 9090, protocol: UDP}\n"           \
	"---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: b\n  namespace: z\n"  \
	"  labels: {app: b}\nspec:\n  containers:\n  - name: c\n    image: i\n"   \
	"---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: dns\n  namespace: kube-system\n" \
	"  labels: {k8s-app: kube-dns}\nspec:\n  containers:\n  - name: c\n    image: i\n" \
	"---\n"
/* PODS_XY is 42 lines: a policy after it starts on line 43. */

#define POLICY(name, ns) \
	"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n" \
	"  name: " name "\n  namespace: " ns "\nspec:\n"

TEST(lint_is_clean_on_a_sound_input)
{
	CHECK_STR(lint_yaml(PODS_XY POLICY("p", "x")
			    "  podSelector: {matchLabels: {app: a}}\n"
			    "  ingress:\n  - from:\n    - podSelector: {}\n    ports:\n    - port: http\n"),
		  "");
	CHECK_INT(lint_n, 0);
}

TEST(lint_np001_policy_selecting_no_pod)
{
	CHECK_STR(lint_yaml(PODS_XY POLICY("p", "x") "  podSelector: {matchLabels: {app: nope}}\n"),
		  "NP001:43");
	CHECK_INT(lint_n, 1);
	CHECK_STR(lint_yaml(PODS_XY POLICY("p", "x") "  podSelector: {matchLabels: {app: a}}\n"), "");
}

TEST(lint_np002_pod_selector_peer_matching_no_pod)
{
	CHECK_STR(lint_yaml(PODS_XY POLICY("p", "x")
			    "  podSelector: {}\n  ingress:\n  - from:\n"
			    "    - podSelector: {matchLabels: {app: b}}\n"),   /* app=b lives in z */
		  "NP002:52");
	CHECK_STR(lint_message(PODS_XY POLICY("p", "x")
			       "  podSelector: {}\n  ingress:\n  - from:\n"
			       "    - podSelector: {matchLabels: {app: b}}\n"),
		  "podSelector app=b matches no pod in namespace x");
	CHECK_STR(lint_yaml(PODS_XY POLICY("p", "x")
			    "  podSelector: {}\n  ingress:\n  - from:\n"
			    "    - podSelector: {matchLabels: {app: b}}\n"
			    "      namespaceSelector: {}\n"), "");
}

TEST(lint_np002_namespace_selector_matching_no_namespace)
{
	/* team=z nearly matches namespace z (kubernetes.io/metadata.name=z): NP008 */
	CHECK_STR(lint_yaml(PODS_XY POLICY("p", "x")
			    "  podSelector: {}\n  ingress:\n  - from:\n"
			    "    - namespaceSelector: {matchLabels: {team: z}}\n"),
		  "NP002:52 NP008:52");
	CHECK_STR(lint_yaml(PODS_XY POLICY("p", "x")
			    "  podSelector: {}\n  ingress:\n  - from:\n"
			    "    - namespaceSelector: {matchLabels: {team: z}}\n"
			    "      podSelector: {matchLabels: {app: a}}\n"),
		  "NP002:52 NP008:52");
	CHECK_STR(lint_yaml(PODS_XY POLICY("p", "x")
			    "  podSelector: {}\n  ingress:\n  - from:\n"
			    "    - namespaceSelector: {matchLabels: {team: a}}\n"
			    "      podSelector: {matchLabels: {app: b}}\n"),
		  "NP002:52");
	CHECK_STR(lint_yaml(PODS_XY POLICY("p", "x")
			    "  podSelector: {}\n  ingress:\n  - from:\n"
			    "    - namespaceSelector: {matchLabels: {team: a}}\n"), "");
}

TEST(lint_np002_stays_silent_about_declared_namespaces_without_pods)
{
	CHECK_STR(lint_yaml(PODS_XY
			    "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: mon\n  labels: {role: mon}\n---\n"
			    POLICY("p", "x")
			    "  podSelector: {}\n  ingress:\n  - from:\n"
			    "    - namespaceSelector: {matchLabels: {role: mon}}\n"), "");
}

TEST(lint_np003_default_deny_egress_blocks_dns)
{
	CHECK_STR(lint_yaml(PODS_XY POLICY("deny", "x")
			    "  podSelector: {}\n  policyTypes: [Egress]\n"), "NP003:43");
	CHECK_INT(lint_n, 1);
	CHECK_STR(lint_message(PODS_XY POLICY("deny", "x")
			       "  podSelector: {}\n  policyTypes: [Egress]\n"),
		  "egress isolation blocks DNS for 1 pod in namespace x (a): UDP port 53 to the "
		  "cluster DNS (kube-system pods labelled k8s-app=kube-dns) is denied");
}

TEST(lint_np003_silent_when_dns_is_allowed_over_udp_and_tcp)
{
	CHECK_STR(lint_yaml(PODS_XY POLICY("deny", "x")
			    "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - to:\n"
			    "    - namespaceSelector: {}\n      podSelector: {matchLabels: {k8s-app: kube-dns}}\n"
			    "    ports:\n    - {protocol: UDP, port: 53}\n    - {protocol: TCP, port: 53}\n"),
		  "");
	CHECK_STR(lint_yaml(PODS_XY POLICY("deny", "x")
			    "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - ports:\n"
			    "    - {protocol: UDP, port: 53}\n    - {protocol: TCP, port: 53}\n"),
		  "");
}

TEST(lint_np007_note_when_dns_is_allowed_over_udp_only)
{
	CHECK_STR(lint_yaml(PODS_XY POLICY("deny", "x")
			    "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - to:\n"
			    "    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}\n"
			    "    ports:\n    - {protocol: UDP, port: 53}\n"),
		  "NP007:43");
	CHECK_INT(lint_n, 0);    /* notes are not warnings */
}

TEST(lint_np003_reports_once_per_namespace_at_the_default_deny)
{
	CHECK_STR(lint_yaml(PODS_XY
			    POLICY("allow-web", "x")
			    "  podSelector: {}\n  egress:\n  - ports:\n    - port: 80\n---\n"
			    POLICY("deny", "x")
			    "  podSelector: {}\n  policyTypes: [Egress]\n---\n"
			    POLICY("deny", "z")
			    "  podSelector: {}\n  policyTypes: [Egress]\n"),
		  "NP003:54 NP003:63");
}

TEST(lint_np003_assumes_a_cluster_dns_when_the_input_has_none)
{
	/* No kube-dns pod: a stand-in in kube-system, with CoreDNS's port
	 * names, whose address is unknown. */
	const char *base =
		"apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  namespace: x\n"
		"spec:\n  containers:\n  - name: c\n    image: i\n---\n";
	char buf[2048];
	snprintf(buf, sizeof(buf), "%s" POLICY("deny", "x")
		 "  podSelector: {}\n  policyTypes: [Egress]\n", base);
	CHECK_STR(lint_yaml(buf), "NP003:11");
	CHECK(strstr(lint_message(buf), "none in the input, assumed") != NULL);
	snprintf(buf, sizeof(buf), "%s" POLICY("deny", "x")
		 "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - to:\n"
		 "    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}\n"
		 "      podSelector: {matchLabels: {k8s-app: kube-dns}}\n"
		 "    ports:\n    - {protocol: UDP, port: dns}\n    - {protocol: TCP, port: dns-tcp}\n", base);
	CHECK_STR(lint_yaml(buf), "");
	snprintf(buf, sizeof(buf), "%s" POLICY("deny", "x")
		 "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - to:\n"
		 "    - ipBlock: {cidr: 0.0.0.0/0}\n"
		 "    ports:\n    - {protocol: UDP, port: 53}\n    - {protocol: TCP, port: 53}\n", base);
	CHECK_STR(lint_yaml(buf), "");
	snprintf(buf, sizeof(buf), "%s" POLICY("deny", "x")
		 "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - to:\n"
		 "    - ipBlock: {cidr: 8.8.8.8/32}\n"
		 "    ports:\n    - {protocol: UDP, port: 53}\n", base);
	CHECK_STR(lint_yaml(buf), "NP003:11");
}

TEST(lint_np004_rule_shadowed_by_a_broader_rule)
{
	CHECK_STR(lint_yaml(PODS_XY POLICY("p", "x")
			    "  podSelector: {}\n  ingress:\n"
			    "  - from:\n    - podSelector: {matchLabels: {app: a}}\n    ports:\n    - port: 80\n"
			    "  - from:\n    - podSelector: {matchLabels: {app: a}}\n"
			    "    - namespaceSelector: {}\n    ports:\n    - {port: 70, endPort: 90}\n"),
		  "NP004:51");
	CHECK_STR(lint_yaml(PODS_XY POLICY("p", "x")
			    "  podSelector: {}\n  ingress:\n"
			    "  - from:\n    - podSelector: {matchLabels: {app: a}}\n    ports:\n    - port: 80\n"
			    "  - from:\n    - podSelector: {matchLabels: {app: a}}\n    ports:\n    - port: 81\n"),
		  "");
}

TEST(lint_np004_reports_only_the_later_of_two_equal_rules)
{
	CHECK_STR(lint_yaml(PODS_XY POLICY("p", "x")
			    "  podSelector: {}\n  egress:\n"
			    "  - to:\n    - podSelector: {matchLabels: {app: a}}\n"
			    "  - to:\n    - podSelector: {matchExpressions: [{key: app, operator: In, values: [a]}]}\n"),
		  "NP003:43 NP004:53");
	CHECK_STR(lint_yaml(PODS_XY POLICY("p", "x")
			    "  podSelector: {}\n  egress:\n"
			    "  - to:\n    - podSelector: {matchLabels: {app: a}}\n"
			    "  - {}\n"),
		  "NP004:51");
}

TEST(lint_np005_named_port_no_selected_pod_declares)
{
	CHECK_STR(lint_yaml(PODS_XY POLICY("p", "x")
			    "  podSelector: {}\n  ingress:\n  - ports:\n    - port: https\n"),
		  "NP005:52");
	CHECK_STR(lint_yaml(PODS_XY POLICY("p", "x")
			    "  podSelector: {}\n  ingress:\n  - ports:\n    - port: metrics\n"),
		  "NP005:52");   /* declared, but over UDP */
	CHECK(strstr(lint_message(PODS_XY POLICY("p", "x")
				  "  podSelector: {}\n  ingress:\n  - ports:\n    - port: metrics\n"),
		     "declared with protocol UDP") != NULL);
	CHECK_STR(lint_yaml(PODS_XY POLICY("p", "x")
			    "  podSelector: {}\n  ingress:\n  - ports:\n    - {port: metrics, protocol: UDP}\n"),
		  "");
}

TEST(lint_np005_named_port_in_egress_looks_at_the_destinations)
{
	CHECK_STR(lint_yaml(PODS_XY POLICY("p", "z")
			    "  podSelector: {}\n  egress:\n  - to:\n    - namespaceSelector: {}\n"
			    "      podSelector: {matchLabels: {app: a}}\n    ports:\n    - port: http\n"),
		  "NP003:43");
	CHECK_STR(lint_yaml(PODS_XY POLICY("p", "x")
			    "  podSelector: {}\n  egress:\n  - to:\n    - namespaceSelector: {}\n"
			    "      podSelector: {matchLabels: {app: b}}\n    ports:\n    - port: http\n"),
		  "NP003:43 NP005:55");
}

TEST(lint_findings_come_sorted_by_position)
{
	CHECK_STR(lint_yaml(PODS_XY
			    POLICY("z", "x") "  podSelector: {matchLabels: {app: none}}\n---\n"
			    POLICY("a", "x") "  podSelector: {matchLabels: {app: none2}}\n"),
		  "NP001:43 NP001:51");
}

/* ---- the Calico advanced-policy tutorial ------------------------------------------------------------ */

#define TUT_CLUSTER                                                                   \
	"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: advanced-policy-demo\n---\n" \
	"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: nginx\n"            \
	"  namespace: advanced-policy-demo\nspec:\n  replicas: 2\n"                   \
	"  selector: {matchLabels: {run: nginx}}\n  template:\n"                      \
	"    metadata: {labels: {run: nginx}}\n"                                      \
	"    spec:\n      containers:\n      - {name: nginx, image: nginx, ports: [{containerPort: 80}]}\n---\n" \
	"apiVersion: v1\nkind: Pod\nmetadata:\n  name: access\n  namespace: advanced-policy-demo\n" \
	"  labels: {run: access}\nspec:\n  containers:\n  - {name: access, image: busybox}\n---\n" \
	"apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-dns\n  namespace: kube-system\n" \
	"  labels: {k8s-app: kube-dns}\nspec:\n  containers:\n  - name: dnsmasq\n    image: dnsmasq\n" \
	"    ports:\n    - {name: dns, containerPort: 53, protocol: UDP}\n"             \
	"    - {name: dns-tcp, containerPort: 53, protocol: TCP}\n---\n"
#define TUT_KUBE_SYSTEM "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: kube-system\n---\n"
#define TUT_KUBE_SYSTEM_LABELLED \
	"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: kube-system\n  labels: {name: kube-system}\n---\n"
#define TUT_STEP2 POLICY("default-deny-ingress", "advanced-policy-demo") \
	"  podSelector:\n    matchLabels: {}\n  policyTypes:\n  - Ingress\n---\n"
#define TUT_STEP3 POLICY("access-nginx", "advanced-policy-demo") \
	"  podSelector:\n    matchLabels:\n      run: nginx\n  ingress:\n    - from:\n" \
	"      - podSelector:\n          matchLabels: {}\n---\n"
#define TUT_STEP4 POLICY("default-deny-egress", "advanced-policy-demo") \
	"  podSelector:\n    matchLabels: {}\n  policyTypes:\n  - Egress\n---\n"
#define TUT_STEP5 POLICY("allow-dns-access", "advanced-policy-demo") \
	"  podSelector:\n    matchLabels: {}\n  policyTypes:\n  - Egress\n  egress:\n  - to:\n" \
	"    - namespaceSelector:\n        matchLabels:\n          name: kube-system\n" \
	"    ports:\n    - protocol: UDP\n      port: 53\n---\n"
#define TUT_STEP6 POLICY("allow-egress-to-advance-policy-ns", "advanced-policy-demo") \
	"  podSelector:\n    matchLabels: {}\n  policyTypes:\n  - Egress\n  egress:\n  - to:\n" \
	"    - podSelector:\n        matchLabels:\n          run: nginx\n---\n"

/* The tutorial's checks, from the access pod (an nginx pod's name is
 * derived, so it is looked up by label). */
static const struct np_pod *tut_nginx(const struct np_cluster *cl)
{
	for (size_t i = 0; i < cl->npods; i++)
		if (labels_get(&cl->pods[i]->meta.labels, "run") &&
		    strcmp(labels_get(&cl->pods[i]->meta.labels, "run"), "nginx") == 0)
			return cl->pods[i];
	return NULL;
}

static bool tut_allowed(struct engine *e, const struct np_cluster *cl, const char *to,
			struct np_port port)
{
	struct np_endpoint src = pod_ep(cl, "advanced-policy-demo", "access"), dst;
	struct np_verdict v;
	if (strcmp(to, "nginx") == 0)
		dst = (struct np_endpoint){tut_nginx(cl), {0}};
	else if (strcmp(to, "kube-dns") == 0)
		dst = pod_ep(cl, "kube-system", "kube-dns");
	else
		dst = ip_ep(to);
	if (engine_evaluate(e, &src, &dst, port, &v) < 0)
		return false;
	bool ok = v.allowed;
	verdict_clear(&v);
	return ok;
}

TEST(tutorial_verdicts_follow_each_step)
{
	static const char *const steps[] = {
		TUT_CLUSTER TUT_KUBE_SYSTEM,
		TUT_CLUSTER TUT_KUBE_SYSTEM TUT_STEP2,
		TUT_CLUSTER TUT_KUBE_SYSTEM TUT_STEP2 TUT_STEP3,
		TUT_CLUSTER TUT_KUBE_SYSTEM TUT_STEP2 TUT_STEP3 TUT_STEP4,
		TUT_CLUSTER TUT_KUBE_SYSTEM_LABELLED TUT_STEP2 TUT_STEP3 TUT_STEP4 TUT_STEP5,
		TUT_CLUSTER TUT_KUBE_SYSTEM_LABELLED TUT_STEP2 TUT_STEP3 TUT_STEP4 TUT_STEP5 TUT_STEP6,
	};
	/* nginx:80, google:80, kube-dns UDP 53, kube-dns TCP 53 after each step */
	static const bool want[][4] = {
		{1, 1, 1, 1}, {0, 1, 1, 1}, {1, 1, 1, 1}, {0, 0, 0, 0}, {0, 0, 1, 0}, {1, 0, 1, 0},
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct np_cluster *cl = yaml(steps[i]);
		CHECK(cl != NULL);
		struct engine *e = engine_new(cl);
		bool got[4] = {tut_allowed(e, cl, "nginx", tcp(80)), tut_allowed(e, cl, "142.250.74.78", tcp(80)),
			       tut_allowed(e, cl, "kube-dns", udp(53)), tut_allowed(e, cl, "kube-dns", tcp(53))};
		engine_free(e);
		cluster_free(cl);
		for (int k = 0; k < 4; k++) {
			if (got[k] != want[i][k])
				printf("  after step %zu, check %d: %d\n", i + 1, k, got[k]);
			CHECK(got[k] == want[i][k]);
		}
	}
}

TEST(tutorial_lint_flags_only_the_dns_trap_of_step_4)
{
	CHECK_STR(lint_yaml(TUT_CLUSTER TUT_KUBE_SYSTEM TUT_STEP2 TUT_STEP3), "");
	CHECK_STR(lint_yaml(TUT_CLUSTER TUT_KUBE_SYSTEM TUT_STEP2 TUT_STEP3 TUT_STEP4), "NP003:74");
	CHECK_INT(lint_n, 1);
	CHECK_STR(lint_yaml(TUT_CLUSTER TUT_KUBE_SYSTEM TUT_STEP2 TUT_STEP3 TUT_STEP4 TUT_STEP6),
		  "NP003:74");
}

TEST(tutorial_lint_leaves_only_a_tcp_note_once_dns_is_allowed)
{
	CHECK_STR(lint_yaml(TUT_CLUSTER TUT_KUBE_SYSTEM_LABELLED TUT_STEP2 TUT_STEP3 TUT_STEP4
			    TUT_STEP5 TUT_STEP6), "NP007:75");
	CHECK_INT(lint_n, 0);
	/* Without the label of step 5, the namespaceSelector finds nothing,
	 * and NP008 says that kube-system is one term away (its name is the
	 * value of kubernetes.io/metadata.name). */
	CHECK_STR(lint_yaml(TUT_CLUSTER TUT_KUBE_SYSTEM TUT_STEP2 TUT_STEP3 TUT_STEP4 TUT_STEP5),
		  "NP003:74 NP002:97 NP008:99");
}
