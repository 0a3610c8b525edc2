/* Decoding: YAML and JSON streams, files and directories into the model,
 * with positions, strict fields and all-or-nothing loading. The value rules
 * are in test_validate.c. Fixtures: tests/data/decode/ (paths relative to
 * the repository root, where tests/run.sh runs the suites). */
#include "unit.h"
#include "decode/decode.h"
#include "decode/decode_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DATA "tests/data/decode/"

/* Every diagnostic, sorted, formatted, one per line ("" when none). */
static char *diags_text(struct diag_list *d)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	diag_sort(d);
	for (size_t i = 0; i < d->n; i++) {
		char *s = diag_format(&d->items[i]);
		fprintf(f, "%s%s", i ? "\n" : "", s);
		free(s);
	}
	fclose(f);
	return out;
}

/* Decodes text as the file "t.yaml" into a fresh cluster and returns its
 * diagnostics; *rc gets decode_buffer's result when rc is non-NULL. */
static char *decode_text(const char *text, int *rc)
{
	struct np_cluster *cl = cluster_new();
	struct diag_list d = {0};
	int r = decode_buffer("t.yaml", text, strlen(text), cl, &d);
	if (rc)
		*rc = r;
	char *out = diags_text(&d);
	diag_list_clear(&d);
	cluster_free(cl);
	return out;
}

/* Decodes text that must give no diagnostic at all; NULL when it does. */
static struct np_cluster *decode_clean(const char *text)
{
	struct np_cluster *cl = cluster_new();
	struct diag_list d = {0};
	int r = decode_buffer("t.yaml", text, strlen(text), cl, &d);
	if (r != 0 || d.n != 0) {
		cluster_free(cl);
		cl = NULL;
	}
	diag_list_clear(&d);
	return cl;
}

static struct np_cluster *load(const char *path, struct diag_list *d, int *rc)
{
	struct np_cluster *cl = cluster_new();
	*rc = decode_paths(&path, 1, cl, d);
	return cl;
}

TEST(tutorial_manifests_decode_cleanly)
{
	struct diag_list d = {0};
	int rc;
	struct np_cluster *cl = load(DATA "tutorial.yaml", &d, &rc);
	CHECK_INT(d.n, 0);
	CHECK_INT(rc, 0);
	CHECK_INT(cl->nnamespaces, 2);
	CHECK_INT(cl->ndeployments, 1);
	CHECK_INT(cl->nservices, 1);
	CHECK_INT(cl->npolicies, 5);
	CHECK_INT(cl->npods, 3);   /* access and nginx's two replicas */
	const struct np_deployment *dep = cl->deployments[0];
	CHECK_INT(dep->replicas, 2);
	CHECK_INT(dep->nports, 1);
	CHECK_INT(dep->ports[0].port, 80);
	CHECK_STR(labels_get(&dep->template_labels, "run"), "nginx");
	const struct np_service *svc = cl->services[0];
	CHECK_STR(svc->type, "ClusterIP");
	CHECK(svc->has_selector);
	CHECK_INT(svc->ports[0].port, 80);
	CHECK_INT(svc->ports[0].target_port, 80);
	const struct np_policy *dns = cluster_find_policy(cl, "advanced-policy-demo", "allow-dns-access");
	CHECK(dns);
	CHECK(!dns->ingress_type && dns->egress_type && dns->types_written);
	CHECK_INT(dns->negress, 1);
	CHECK_INT(dns->egress[0].nports, 1);
	CHECK_INT(dns->egress[0].ports[0].proto, NP_UDP);
	CHECK_INT(dns->egress[0].ports[0].port, 53);
	CHECK(dns->egress[0].peers[0].has_ns_sel && !dns->egress[0].peers[0].has_pod_sel);
	const struct np_policy *nginx = cluster_find_policy(cl, "advanced-policy-demo", "access-nginx");
	CHECK(nginx && nginx->ingress_type && !nginx->egress_type && !nginx->types_written);
	CHECK(nginx->ingress[0].peers[0].has_pod_sel);
	CHECK(selector_is_empty(&nginx->ingress[0].peers[0].pod_sel));
	cluster_free(cl);
	diag_list_clear(&d);
}

TEST(multi_document_stream_yields_every_object)
{
	const char *text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n"
			   "---\n# only a comment\n---\n"
			   "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\n"
			   "...\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: q}\n";
	struct np_cluster *cl = decode_clean(text);
	CHECK(cl);
	CHECK_INT(cl->nnamespaces, 1);
	CHECK_INT(cl->npods, 2);
	CHECK(cluster_find_pod(cl, "a", "p"));
	CHECK(cluster_find_pod(cl, "default", "q"));   /* no namespace: default */
	CHECK_INT(cluster_find_pod(cl, "a", "p")->meta.pos.line, 7);
	cluster_free(cl);
}

TEST(list_items_are_objects_and_typed_lists_imply_the_kind)
{
	const char *text = "apiVersion: v1\nkind: List\nmetadata: {resourceVersion: \"\"}\nitems:\n"
			   "- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n"
			   "- apiVersion: v1\n  kind: Namespace\n  metadata: {name: n}\n"
			   "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicyList\nitems:\n"
			   "- metadata: {name: p, namespace: n}\n";
	struct np_cluster *cl = decode_clean(text);
	CHECK(cl);
	CHECK_INT(cl->npods, 1);
	CHECK_INT(cl->nnamespaces, 1);
	CHECK_INT(cl->npolicies, 1);
	CHECK_INT(cl->pods[0]->meta.pos.line, 5);
	CHECK_INT(cl->pods[0]->meta.pos.col, 3);
	cluster_free(cl);
}

TEST(list_item_errors_name_paths_inside_the_item)
{
	char *e = decode_text("apiVersion: v1\nkind: List\nitems:\n"
			      "- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n  spec: {bogus: 1}\n"
			      "- 42\n", NULL);
	CHECK_STR(e, "t.yaml:7:10: error: unknown field \"spec.bogus\"\n"
		     "t.yaml:8:3: error: a list item must be a Kubernetes object, got integer");
	free(e);
}

TEST(directories_are_read_recursively_in_byte_order)
{
	/* each file holds one object of a kind we skip, so the order of the
	 * warnings is the order in which files were read */
	struct diag_list d = {0};
	int rc;
	struct np_cluster *cl = load(DATA "tree", &d, &rc);
	CHECK_INT(rc, 0);
	CHECK_INT(d.n, 4);
	CHECK_STR(d.items[0].file, DATA "tree/a/1.json");
	CHECK_STR(d.items[1].file, DATA "tree/a/2.yml");
	CHECK_STR(d.items[2].file, DATA "tree/a/sub/x.yaml");
	CHECK_STR(d.items[3].file, DATA "tree/b.yaml");
	CHECK(strstr(d.items[0].msg, "\"One\""));
	CHECK(strstr(d.items[3].msg, "\"Four\""));
	cluster_free(cl);
	diag_list_clear(&d);
}

/* The parts of a policy that both encodings must give alike. */
static char *policy_summary(const struct np_policy *p)
{
	char *out = NULL, buf[64];
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	char *s = selector_to_string(&p->pod_sel);
	char *l = labels_to_string(&p->meta.labels);
	fprintf(f, "%s/%s [%s] labels=%s owner=%s in=%d eg=%d\n", p->meta.namespace, p->meta.name,
		s, l, labels_get(&p->meta.annotations, "example.com/owner"), p->ingress_type,
		p->egress_type);
	free(s);
	free(l);
	for (int dir = 0; dir < 2; dir++) {
		const struct np_rule *rules = dir ? p->egress : p->ingress;
		size_t n = dir ? p->negress : p->ningress;
		for (size_t i = 0; i < n; i++) {
			for (size_t j = 0; j < rules[i].npeers; j++) {
				const struct np_peer *peer = &rules[i].peers[j];
				char *ps = selector_to_string(&peer->pod_sel);
				char *ns = selector_to_string(&peer->ns_sel);
				fprintf(f, " peer pod=%d[%s] ns=%d[%s] ipb=%d", peer->has_pod_sel, ps,
					peer->has_ns_sel, ns, peer->has_ipblock);
				if (peer->has_ipblock)
					fprintf(f, " %s", cidr_to_string(&peer->ipblock.cidr, buf, sizeof(buf)));
				for (size_t k = 0; peer->has_ipblock && k < peer->ipblock.nexcept; k++)
					fprintf(f, " -%s", cidr_to_string(&peer->ipblock.except[k], buf, sizeof(buf)));
				fprintf(f, "\n");
				free(ps);
				free(ns);
			}
			for (size_t j = 0; j < rules[i].nports; j++) {
				const struct np_port_spec *ps = &rules[i].ports[j];
				fprintf(f, " port %s kind=%d %d-%d %s\n", proto_name(ps->proto), ps->kind,
					ps->port, ps->end_port, ps->name ? ps->name : "-");
			}
		}
	}
	fclose(f);
	return out;
}

TEST(json_and_yaml_give_the_same_model)
{
	struct diag_list d = {0};
	int rc1, rc2;
	struct np_cluster *y = load(DATA "every-field.yaml", &d, &rc1);
	struct np_cluster *j = load(DATA "every-field.json", &d, &rc2);
	CHECK_INT(rc1, 0);
	CHECK_INT(rc2, 0);
	CHECK_INT(d.n, 0);
	CHECK_INT(y->npolicies, 1);
	CHECK_INT(j->npolicies, 1);
	char *a = policy_summary(y->policies[0]), *b = policy_summary(j->policies[0]);
	CHECK_STR(a, b);
	CHECK_STR(a, "prod/every-field [app=web,tier notin (cache,db)] labels=team=web "
		     "owner=web team in=1 eg=1\n"
		     " peer pod=1[role=client] ns=1[env] ipb=0\n"
		     " peer pod=0[] ns=0[] ipb=1 10.0.0.0/8 -10.1.0.0/16\n"
		     " port TCP kind=1 80-0 -\n"
		     " port UDP kind=2 0-0 dns\n"
		     " port TCP kind=1 8000-8080 -\n"
		     " peer pod=0[] ns=0[] ipb=1 2001:db8::/32\n"
		     " port SCTP kind=0 0-0 -\n");
	free(a);
	free(b);
	/* JSON positions come from the same bytes */
	const struct np_policy *p = j->policies[0];
	CHECK_INT(p->ingress[0].ports[2].pos.line, 25);
	CHECK_INT(p->ingress[0].ports[2].pos.col, 9);
	cluster_free(y);
	cluster_free(j);
	diag_list_clear(&d);
}

TEST(positions_point_at_objects_rules_peers_ports_and_requirements)
{
	struct diag_list d = {0};
	int rc;
	struct np_cluster *cl = load(DATA "every-field.yaml", &d, &rc);
	CHECK_INT(rc, 0);
	const struct np_policy *p = cl->policies[0];
	CHECK_STR(p->meta.pos.file, DATA "every-field.yaml");
	CHECK(p->meta.pos.file == cl->files[0]);   /* interned in the caller's cluster */
	CHECK_INT(p->meta.pos.line, 1);
	CHECK_INT(p->meta.pos.col, 1);
	const struct np_rule *r = &p->ingress[0];
	CHECK_INT(r->pos.line, 20);
	CHECK_INT(r->pos.col, 5);
	CHECK_INT(r->peers[0].pos.line, 21);
	CHECK_INT(r->peers[0].pos.col, 7);
	CHECK_INT(r->peers[1].ipblock.pos.line, 29);
	CHECK_INT(r->peers[1].ipblock.pos.col, 9);
	CHECK_INT(r->ports[1].pos.line, 34);
	CHECK_INT(r->ports[1].pos.col, 7);
	/* matchLabels at its key, matchExpressions at the requirement */
	const struct np_selector *s = &p->pod_sel;
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->reqs[i].key, "app") == 0) {
			CHECK_INT(s->reqs[i].pos.line, 13);
			CHECK_INT(s->reqs[i].pos.col, 7);
		} else {
			CHECK_INT(s->reqs[i].pos.line, 15);
			CHECK_INT(s->reqs[i].pos.col, 7);
		}
	}
	cluster_free(cl);
	diag_list_clear(&d);
}

TEST(unknown_field_is_an_error_at_its_key)
{
	char *e = decode_text("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
			      "metadata: {name: p}\nspec:\n  podSelector: {}\n  ingress:\n"
			      "  - from: []\n    to: []\n", NULL);
	CHECK_STR(e, "t.yaml:8:5: error: unknown field \"spec.ingress[0].to\"");
	free(e);
}

TEST(known_but_unmodelled_fields_are_accepted)
{
	int rc;
	char *e = decode_text(
		"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  uid: \"123e4567\"\n"
		"  resourceVersion: \"5\"\n  creationTimestamp: \"2024-01-01T00:00:00Z\"\n"
		"  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: r, uid: u1}]\n"
		"  managedFields: [{}]\n"
		"spec:\n  restartPolicy: Always\n  volumes: [{name: v, emptyDir: {}}]\n"
		"  containers:\n  - name: c\n    image: nginx\n    args: [a]\n"
		"    env: [{name: A, value: b}]\n    resources: {limits: {cpu: 1}}\n"
		"status:\n  phase: Running\n  hostIP: 10.0.0.1\n  podIP: 10.1.0.5\n", &rc);
	CHECK_STR(e, "");
	CHECK_INT(rc, 0);
	free(e);
}

/* Unmodelled metadata is still typed and validated as the API server
 * does, so that the lab's store never holds what a cluster would refuse. */
TEST(unmodelled_metadata_is_typed_and_validated)
{
	int rc;
	char *e = decode_text(
		"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: n\n  resourceVersion: 5\n"
		"  finalizers: [\"a b\"]\n  ownerReferences: [{kind: K, name: r}]\n"
		"spec:\n  finalizers: [foo, {$patch: delete}]\n  deep: {}\n"
		"status:\n  phase: Gone\n  conditions: [{status: 1}]\n", &rc);
	CHECK(strstr(e, "metadata.resourceVersion: Invalid type: expected string, got integer 5"));
	CHECK(strstr(e, "metadata.finalizers[0]: Invalid value: \"a b\""));
	CHECK(strstr(e, "metadata.ownerReferences[0].uid: Invalid value: \"\": uid must not be empty"));
	CHECK(strstr(e, "spec.finalizers[0]: Invalid value: \"foo\": name is neither a standard "
		     "finalizer name nor is it fully qualified"));
	CHECK(strstr(e, "spec.finalizers[1]: Invalid type: expected string, got object"));
	CHECK(strstr(e, "unknown field \"spec.deep\""));
	CHECK(strstr(e, "status.phase: Unsupported value: \"Gone\""));
	CHECK(strstr(e, "status.conditions[0].status: Invalid type: expected string, got integer 1"));
	CHECK(strstr(e, "status.conditions[0].type: Required value"));
	CHECK_INT(rc, -EINVAL);
	free(e);
}

TEST(pod_spec_scalars_are_typed_and_enumerated)
{
	int rc;
	char *e = decode_text(
		"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
		"  restartPolicy: Sometimes\n  dnsPolicy: 5\n  hostNetwork: \"yes\"\n"
		"  nodeSelector: {a: [b]}\n  hostname: Host_1\n"
		"  containers:\n  - name: Web_1\n    image: [x]\n    args: [a, {b: c}]\n"
		"    env: [{value: x}]\n    imagePullPolicy: Sometimes\n    tty: 1\n", &rc);
	CHECK(strstr(e, "spec.restartPolicy: Unsupported value: \"Sometimes\""));
	CHECK(strstr(e, "spec.dnsPolicy: Invalid type: expected string, got integer 5"));
	CHECK(strstr(e, "spec.hostNetwork: Invalid type: expected boolean, got string"));
	CHECK(strstr(e, "spec.nodeSelector.a: Invalid type: expected string, got array"));
	CHECK(strstr(e, "spec.hostname: Invalid value: \"Host_1\""));
	CHECK(strstr(e, "spec.containers[0].name: Invalid value: \"Web_1\""));
	CHECK(strstr(e, "spec.containers[0].image: Invalid type: expected string, got array"));
	CHECK(strstr(e, "spec.containers[0].args[1]: Invalid type: expected string, got object"));
	CHECK(strstr(e, "spec.containers[0].env[0].name: Required value"));
	CHECK(strstr(e, "spec.containers[0].imagePullPolicy: Unsupported value: \"Sometimes\""));
	CHECK(strstr(e, "spec.containers[0].tty: Invalid type: expected boolean, got integer 1"));
	CHECK_INT(rc, -EINVAL);
	free(e);
}

TEST(unknown_kind_is_skipped_with_one_warning_per_kind)
{
	int rc;
	char *e = decode_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
			      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n---\n"
			      "apiVersion: v1\nkind: Secret\nmetadata: {name: c}\n", &rc);
	CHECK_INT(rc, 0);
	CHECK_STR(e, "t.yaml:1:1: warning: skipping objects of kind \"ConfigMap\": netpol does "
		     "not model this kind\n"
		     "t.yaml:9:1: warning: skipping objects of kind \"Secret\": netpol does not "
		     "model this kind");
	free(e);
}

TEST(missing_kind_or_api_version_and_wrong_api_version_are_errors)
{
	char *e = decode_text("metadata: {name: a}\n---\nkind: Pod\nmetadata: {name: a}\n---\n"
			      "apiVersion: extensions/v1beta1\nkind: NetworkPolicy\nmetadata: {name: p}\n",
			      NULL);
	CHECK_STR(e, "t.yaml:1:1: error: kind: Required value\n"
		     "t.yaml:1:1: error: apiVersion: Required value\n"
		     "t.yaml:3:1: error: apiVersion: Required value\n"
		     "t.yaml:6:13: error: apiVersion: Unsupported value: \"extensions/v1beta1\": "
		     "supported values: \"networking.k8s.io/v1\"");
	free(e);
}

TEST(value_of_the_wrong_type_is_an_error_at_the_value)
{
	char *e = decode_text("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n"
			      "  labels: {version: 1.0, enabled: true}\nspec:\n  replicas: \"3\"\n"
			      "  selector: [app]\n  template: {}\n", NULL);
	CHECK_STR(e, "t.yaml:5:21: error: metadata.labels: Invalid type: expected string, got number 1.0\n"
		     "t.yaml:5:35: error: metadata.labels: Invalid type: expected string, got boolean true\n"
		     "t.yaml:7:13: error: spec.replicas: Invalid type: expected integer, got string \"3\"\n"
		     "t.yaml:8:13: error: spec.selector: Invalid type: expected object, got array");
	free(e);
}

TEST(scalars_resolve_as_kubernetes_yaml_does)
{
	/* problem: no JSON value holds it exactly, so the readers refuse it */
	static const struct {
		const char *text;
		bool plain;
		enum doc_type type;
		bool problem;
	} cases[] = {
		{"80", true, DOC_INT, false}, {"80", false, DOC_STRING, false},
		{"0x1F", true, DOC_INT, false}, {"0o17", true, DOC_INT, false},
		{"017", true, DOC_INT, false}, {"1_000", true, DOC_INT, false},
		{"-5", true, DOC_INT, false}, {"0b101", true, DOC_INT, false},
		{"08", true, DOC_FLOAT, false}, {"1.5", true, DOC_FLOAT, false},
		{"1_000.5", true, DOC_FLOAT, false}, {".5", true, DOC_FLOAT, false},
		{"1e3", true, DOC_FLOAT, false}, {"1e-999", true, DOC_FLOAT, false},
		{".inf", true, DOC_FLOAT, true}, {"-.Inf", true, DOC_FLOAT, true},
		{".NaN", true, DOC_FLOAT, true}, {"1e999", true, DOC_FLOAT, true},
		{"-1e999", true, DOC_FLOAT, true}, {".1e999", true, DOC_FLOAT, true},
		{"99999999999999999999", true, DOC_STRING, true},
		{"9223372036854775808", true, DOC_STRING, true},
		{"-9223372036854775808", true, DOC_INT, false},
		{"0x10000000000000000", true, DOC_STRING, true},
		{"1e999", false, DOC_STRING, false}, {".inf", false, DOC_STRING, false},
		{"true", true, DOC_BOOL, false}, {"No", true, DOC_BOOL, false},
		{"ON", true, DOC_BOOL, false}, {"y", true, DOC_STRING, false},
		{"n", true, DOC_STRING, false}, {"~", true, DOC_NULL, false},
		{"", true, DOC_NULL, false}, {"null", true, DOC_NULL, false},
		{"null", false, DOC_STRING, false}, {"1:20", true, DOC_STRING, false},
		{"2001-12-14", true, DOC_STRING, false}, {"web", true, DOC_STRING, false},
		{"0x", true, DOC_STRING, false}, {"+", true, DOC_STRING, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct doc_node *n = doc_scalar_new(cases[i].text, strlen(cases[i].text),
						    cases[i].plain, 1, 1);
		CHECK(n);
		enum doc_type t = n->type;
		bool problem = n->problem != NULL;
		doc_free(n);
		if (t != cases[i].type || problem != cases[i].problem)
			unit_fail(__FILE__, __LINE__, "\"%s\" (%s) resolved to %s%s", cases[i].text,
				  cases[i].plain ? "plain" : "quoted", doc_type_name(t),
				  problem ? " with a problem" : "");
	}
	struct doc_node *n = doc_scalar_new("0x1F", 4, true, 1, 1);
	CHECK_INT(n->ival, 31);
	doc_free(n);
	n = doc_scalar_new("017", 3, true, 1, 1);
	CHECK_INT(n->ival, 15);
	doc_free(n);
	n = doc_scalar_new("1_0_0_0", 7, true, 1, 1);
	CHECK_INT(n->ival, 1000);
	doc_free(n);
	n = doc_scalar_new("a\0b", 3, false, 1, 1);
	CHECK(n->problem);
	doc_free(n);
}

TEST(quoted_port_is_a_name_and_plain_port_a_number)
{
	char *e = decode_text("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
			      "metadata: {name: p}\nspec:\n  ingress:\n  - ports:\n"
			      "    - port: 80\n    - port: \"80\"\n    - port: 80.0\n", NULL);
	CHECK_STR(e, "t.yaml:8:13: error: spec.ingress[0].ports[1].port: Invalid value: \"80\": "
		     "must contain at least one letter (a-z)");
	free(e);
}

TEST(policy_types_default_to_ingress_plus_egress_when_egress_rules_exist)
{
	const char *text = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a}\n"
			   "spec:\n  egress: [{}]\n---\n"
			   "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: b}\n"
			   "spec:\n  egress: []\n  policyTypes: []\n---\n"
			   "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: c}\n"
			   "spec:\n  egress: [{}]\n  policyTypes: [Ingress]\n";
	struct np_cluster *cl = decode_clean(text);
	CHECK(cl);
	const struct np_policy *a = cluster_find_policy(cl, "default", "a");
	const struct np_policy *b = cluster_find_policy(cl, "default", "b");
	const struct np_policy *c = cluster_find_policy(cl, "default", "c");
	CHECK(a && b && c);
	CHECK(a->ingress_type && a->egress_type && !a->types_written);
	CHECK(b->ingress_type && !b->egress_type && !b->types_written);
	CHECK(c->ingress_type && !c->egress_type && c->types_written);
	CHECK_INT(c->negress, 1);
	cluster_free(cl);
}

TEST(null_and_empty_lists_and_selectors_keep_their_meaning)
{
	const char *text = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a}\n"
			   "spec:\n  podSelector:\n  ingress:\n  - from:\n    ports: []\n"
			   "  - from:\n    - namespaceSelector: {}\n      podSelector:\n";
	struct np_cluster *cl = decode_clean(text);
	CHECK(cl);
	const struct np_policy *p = cl->policies[0];
	CHECK(selector_is_empty(&p->pod_sel));
	CHECK_INT(p->ningress, 2);
	CHECK_INT(p->ingress[0].npeers, 0);
	CHECK_INT(p->ingress[0].nports, 0);
	CHECK_INT(p->ingress[1].npeers, 1);
	CHECK(p->ingress[1].peers[0].has_ns_sel);
	CHECK(!p->ingress[1].peers[0].has_pod_sel);   /* null is absent */
	cluster_free(cl);
}

TEST(pods_keep_container_ports_and_addresses)
{
	const char *text = "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\n"
			   "spec:\n  containers:\n  - name: c1\n    ports:\n"
			   "    - {name: http, containerPort: 80}\n"
			   "    - {name: dns, containerPort: 53, protocol: UDP}\n"
			   "  - name: c2\n    ports: [{containerPort: 9000, protocol: SCTP, hostPort: 9000}]\n"
			   "status:\n  podIP: 10.0.0.5\n  podIPs: [{ip: 10.0.0.5}, {ip: \"fd00::5\"}]\n";
	struct np_cluster *cl = decode_clean(text);
	CHECK(cl);
	const struct np_pod *p = cl->pods[0];
	CHECK_INT(p->nports, 3);
	CHECK_STR(p->ports[0].name, "http");
	CHECK_INT(p->ports[1].proto, NP_UDP);
	CHECK(p->ports[2].name == NULL);
	CHECK_INT(p->ports[2].proto, NP_SCTP);
	CHECK_INT(p->nips, 2);
	CHECK_INT(p->ips[1].family, 10 /* AF_INET6 */);
	CHECK_INT(pod_resolve_named_port(p, "dns", NP_UDP), 53);
	cluster_free(cl);
}

TEST(services_keep_selector_ports_type_and_cluster_ip)
{
	const char *text = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
			   "spec:\n  type: NodePort\n  clusterIPs: [10.96.0.10]\n  selector: {app: web}\n"
			   "  sessionAffinity: None\n  ports:\n"
			   "  - {name: http, port: 80, targetPort: http, nodePort: 30080}\n"
			   "  - {name: dns, port: 53, protocol: UDP, targetPort: 5353}\n";
	struct np_cluster *cl = decode_clean(text);
	CHECK(cl);
	const struct np_service *s = cl->services[0];
	CHECK_STR(s->type, "NodePort");
	CHECK_STR(s->cluster_ip, "10.96.0.10");
	CHECK_STR(labels_get(&s->selector, "app"), "web");
	CHECK_INT(s->nports, 2);
	CHECK_STR(s->ports[0].target_port_name, "http");
	CHECK_INT(s->ports[0].target_port, 0);
	CHECK_INT(s->ports[1].proto, NP_UDP);
	CHECK_INT(s->ports[1].target_port, 5353);
	cluster_free(cl);
}

TEST(yaml_syntax_error_is_reported_at_libyaml_problem_mark)
{
	int rc;
	char *e = decode_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n"
			      "  labels: {app: web\nspec: {}\n", &rc);
	CHECK_INT(rc, -EINVAL);
	CHECK_STR(e, "t.yaml:6:5: error: YAML syntax error: did not find expected ',' or '}' "
		     "(while parsing a flow mapping at line 5, column 11)");
	free(e);
}

TEST(documents_before_a_syntax_error_are_still_checked)
{
	char *e = decode_text("apiVersion: v1\nkind: Pod\nmetadata: {name: A}\n---\n"
			      "key: [unclosed\n", NULL);
	const char *want = "t.yaml:3:18: error: metadata.name: Invalid value: \"A\"";
	CHECK(strncmp(e, want, strlen(want)) == 0);
	CHECK(strstr(e, "\nt.yaml:6:1: error: YAML syntax error: "));
	free(e);
}

TEST(json_syntax_error_is_reported_at_jansson_position)
{
	struct np_cluster *cl = cluster_new();
	struct diag_list d = {0};
	const char *text = "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Pod\",\n"
			   "  \"metadata\": {\"name\": \"a\",}\n}\n";
	CHECK_INT(decode_buffer("t.json", text, strlen(text), cl, &d), -EINVAL);
	char *e = diags_text(&d);
	CHECK_STR(e, "t.json:4:28: error: JSON syntax error: string or '}' expected near '}'");
	free(e);
	cluster_free(cl);
	diag_list_clear(&d);
}

TEST(json_that_libyaml_reads_differently_keeps_the_document_position)
{
	/* libyaml refuses escaped UTF-16 surrogates that jansson accepts */
	const char *text = "\n  {\"apiVersion\": \"v1\", \"kind\": \"Pod\",\n"
			   "   \"metadata\": {\"name\": \"\\ud83d\\ude00\"}}";
	struct np_cluster *cl = cluster_new();
	struct diag_list d = {0};
	CHECK_INT(decode_buffer("t.json", text, strlen(text), cl, &d), -EINVAL);
	char *e = diags_text(&d);
	const char *want = "t.json:2:3: error: metadata.name: Invalid value: \"\xf0\x9f\x98\x80\"";
	CHECK(strncmp(e, want, strlen(want)) == 0);
	free(e);
	cluster_free(cl);
	diag_list_clear(&d);
}

TEST(json_duplicate_keys_are_rejected)
{
	struct np_cluster *cl = cluster_new();
	struct diag_list d = {0};
	const char *text = "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"kind\": \"Pod\"}";
	CHECK_INT(decode_buffer("t.json", text, strlen(text), cl, &d), -EINVAL);
	CHECK_INT(d.n, 1);
	CHECK(strstr(d.items[0].msg, "duplicate object key"));
	cluster_free(cl);
	diag_list_clear(&d);
}

TEST(yaml_duplicate_field_is_an_error_at_the_second_key)
{
	char *e = decode_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  name: b\n", NULL);
	CHECK_STR(e, "t.yaml:5:3: error: duplicate field \"metadata.name\"");
	free(e);
}

TEST(one_bad_policy_rejects_the_manifest_and_leaves_the_cluster_untouched)
{
	struct np_cluster *cl = cluster_new();
	struct diag_list d = {0};
	const char *seed = "apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n";
	CHECK_INT(decode_buffer("seed.yaml", seed, strlen(seed), cl, &d), 0);
	const char *path = DATA "good-and-bad.yaml";
	CHECK_INT(decode_paths(&path, 1, cl, &d), -EINVAL);
	char *e = diags_text(&d);
	CHECK_STR(e, DATA "good-and-bad.yaml:21:13: error: spec.ingress[0].ports[0].port: "
		     "Invalid value: 70000: must be between 1 and 65535, inclusive\n"
		     DATA "good-and-bad.yaml:22:17: error: spec.ingress[0].ports[0].protocol: "
		     "Unsupported value: \"tcp\": supported values: \"SCTP\", \"TCP\", \"UDP\"");
	free(e);
	CHECK_INT(cl->npolicies, 0);
	CHECK_INT(cl->nnamespaces, 1);
	CHECK_INT(cl->npods, 0);
	CHECK_INT(cl->nfiles, 1);   /* not even the file name was added */
	cluster_free(cl);
	diag_list_clear(&d);
}

TEST(loading_adds_to_a_cluster_and_reports_objects_it_already_has)
{
	struct np_cluster *cl = cluster_new();
	struct diag_list d = {0};
	const char *a = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: x}\n";
	const char *b = "apiVersion: v1\nkind: Namespace\nmetadata: {name: x, labels: {team: a}}\n";
	CHECK_INT(decode_buffer("a.yaml", a, strlen(a), cl, &d), 0);
	CHECK_INT(cluster_finish(cl), 0);
	CHECK(cluster_find_namespace(cl, "x")->implicit);
	/* declaring a namespace that was only implied is not a conflict */
	CHECK_INT(decode_buffer("b.yaml", b, strlen(b), cl, &d), 0);
	CHECK(!cluster_find_namespace(cl, "x")->implicit);
	CHECK_STR(labels_get(&cluster_find_namespace(cl, "x")->meta.labels, "team"), "a");
	CHECK_STR(cluster_find_namespace(cl, "x")->meta.pos.file, "b.yaml");
	CHECK_INT(decode_buffer("c.yaml", a, strlen(a), cl, &d), -EINVAL);
	char *e = diags_text(&d);
	CHECK_STR(e, "c.yaml:1:1: error: Pod \"x/p\" already exists");
	free(e);
	CHECK_INT(cl->npods, 1);
	cluster_free(cl);
	diag_list_clear(&d);
}

TEST(object_defined_twice_in_the_input_is_an_error)
{
	char *e = decode_text("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\n"
			      "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: default}\n", NULL);
	CHECK_STR(e, "t.yaml:5:1: error: Pod \"default/a\" is defined more than once "
		     "(first defined at t.yaml:1:1)");
	free(e);
}

TEST(aliases_and_merge_keys_are_expanded)
{
	const char *text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n"
			   "  labels: &common {app: web, tier: front}\n"
			   "  annotations:\n    <<: *common\n    tier: back\n";
	struct np_cluster *cl = decode_clean(text);
	CHECK(cl);
	const struct np_pod *p = cl->pods[0];
	CHECK_STR(labels_get(&p->meta.labels, "tier"), "front");
	CHECK_STR(labels_get(&p->meta.annotations, "app"), "web");
	CHECK_STR(labels_get(&p->meta.annotations, "tier"), "back");   /* explicit key wins */
	cluster_free(cl);
}

TEST(alias_expansion_is_bounded)
{
	char text[2048] = "a: &a [x,x,x,x,x,x,x,x,x,x]\n";
	for (char c = 'b'; c <= 'h'; c++) {
		char line[128];
		snprintf(line, sizeof(line), "%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n",
			 c, c, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1);
		strcat(text, line);
	}
	int rc;
	char *e = decode_text(text, &rc);
	CHECK_INT(rc, -EINVAL);
	CHECK(strstr(e, "error: aliases expand to more than 100000 nodes"));
	free(e);
}

TEST(deep_nesting_is_refused)
{
	char text[1024] = "x: ";
	for (int i = 0; i < 200; i++)
		strcat(text, "[");
	int rc;
	char *e = decode_text(text, &rc);
	CHECK_INT(rc, -EINVAL);
	CHECK_STR(e, "t.yaml:1:131: error: nesting deeper than 128 levels");
	free(e);
}

TEST(non_object_documents_are_errors)
{
	char *e = decode_text("- a\n- b\n---\nplain\n", NULL);
	CHECK_STR(e, "t.yaml:1:1: error: a document must be a Kubernetes object (a mapping), got array\n"
		     "t.yaml:4:1: error: a document must be a Kubernetes object (a mapping), got string");
	free(e);
}

TEST(unreadable_path_is_an_error_naming_it)
{
	struct diag_list d = {0};
	int rc;
	struct np_cluster *cl = load(DATA "no-such-file.yaml", &d, &rc);
	CHECK_INT(rc, -EINVAL);
	char *e = diags_text(&d);
	CHECK_STR(e, DATA "no-such-file.yaml: error: cannot read: No such file or directory");
	free(e);
	cluster_free(cl);
	diag_list_clear(&d);
}

TEST(decode_json_object_returns_the_object_and_path_errors_without_lines)
{
	json_error_t err;
	json_t *j = json_loads("{\"metadata\": {\"name\": \"p\", \"namespace\": \"x\"},"
			       " \"spec\": {\"ingress\": [{\"ports\": [{\"port\": 80}]}]}}", 0, &err);
	void *out = NULL;
	struct diag_list d = {0};
	CHECK(j);
	CHECK_INT(decode_json_object(j, "NetworkPolicy", &out, &d), 0);
	struct np_policy *p = out;
	CHECK(p);
	CHECK_STR(p->meta.name, "p");
	CHECK_INT(p->ingress[0].ports[0].port, 80);
	CHECK(p->meta.pos.file == NULL && p->meta.pos.line == 0);
	policy_free(p);
	json_decref(j);

	j = json_loads("{\"kind\": \"Pod\", \"apiVersion\": \"v1\", \"metadata\": {\"name\": \"p\"},"
		       " \"spec\": {\"containers\": [{\"ports\": [{\"containerPort\": 0}]}]}}", 0, &err);
	CHECK_INT(decode_json_object(j, "Pod", &out, &d), -EINVAL);
	CHECK(out == NULL);
	CHECK_INT(decode_json_object(j, "Service", &out, &d), -EINVAL);
	char *e = diags_text(&d);
	CHECK_STR(e, "error: spec.containers[0].ports[0].containerPort: Invalid value: 0: must be "
		     "between 1 and 65535, inclusive\n"
		     "error: kind: Invalid value: \"Pod\": expected \"Service\"");
	free(e);
	json_decref(j);
	diag_list_clear(&d);
}

/* ---- the reader on its own (decode_read_json: kubectl -f, API bodies) ---- */

/* The documents decode_read_json gives for text, compact with sorted keys,
 * or its sorted diagnostics after "error:" when it refuses the text. */
static char *read_json(const char *name, const char *text, size_t len, unsigned flags)
{
	json_t *docs = (json_t *)1;
	struct diag_list d = {0};
	int r = decode_read_json(name, text, len, flags, &docs, &d);
	char *out = NULL;
	if (r == 0 && docs && d.n == 0) {
		out = json_dumps(docs, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	} else if (r == -EINVAL && !docs) {
		char *e = diags_text(&d);
		if (asprintf(&out, "error:%s", e) < 0)
			out = NULL;
		free(e);
	}
	json_decref(r == 0 ? docs : NULL);
	diag_list_clear(&d);
	return out;
}

#define READ(text) read_json("t.yaml", (text), strlen(text), 0)

TEST(reader_gives_the_json_that_decode_reads)
{
	char *j = READ("a: 80.0\nb: 8e1\nc: 010\nd: 0o120\ne: 1_000\nf: 0x50\ng: 0.5\nh: ~\n"
		       "i: y\nj: no\nk: \"010\"\n1: int key\ntrue: bool key\n0x10: hex key\n"
		       "---\n---\nm: &m {p: 1, q: 2}\nn: {<<: *m, q: 3}\n");
	CHECK_STR(j, "[{\"1\":\"int key\",\"16\":\"hex key\",\"a\":80,\"b\":80,\"c\":8,\"d\":80,"
		     "\"e\":1000,\"f\":80,\"g\":0.5,\"h\":null,\"i\":\"y\",\"j\":false,\"k\":\"010\","
		     "\"true\":\"bool key\"},{\"m\":{\"p\":1,\"q\":2},\"n\":{\"p\":1,\"q\":3}}]");
	free(j);
	j = read_json("body", "{\"a\": 80.0, \"b\": [1e2, -0.0, 2.5]}", 34, DECODE_READ_JSON);
	CHECK_STR(j, "[{\"a\":80,\"b\":[100,0,2.5]}]");
	free(j);
}

TEST(reader_refuses_what_json_cannot_hold_exactly_at_its_position)
{
	static const struct { const char *text, *want; } cases[] = {
		{"a: {b: 1e999}\n", "error:t.yaml:1:8: error: 1e999 cannot be represented: number out of range"},
		{"a: [.inf]\n", "error:t.yaml:1:5: error: .inf cannot be represented: JSON has no infinity or NaN"},
		{"a: .NaN\n", "error:t.yaml:1:4: error: .NaN cannot be represented: JSON has no infinity or NaN"},
		{"a: 18446744073709551615\n",
		 "error:t.yaml:1:4: error: 18446744073709551615 cannot be represented: number out of range"},
		{"a: \"x\\0y\"\n", "error:t.yaml:1:4: error: x cannot be represented: NUL character in a string"},
		{"~: a\n", "error:t.yaml:1:1: error: a mapping key cannot be null: ~"},
		{"1.5: a\n", "error:t.yaml:1:1: error: a mapping key cannot be a floating-point number: 1.5"},
		{"a:\n  b: 1\n  c: 2\n  b: 3\n", "error:t.yaml:4:3: error: duplicate field \"a.b\""},
		{"a: {1: x, \"1\": y}\n", "error:t.yaml:1:11: error: duplicate field \"a.1\""},
		{"a: !!int abc\n", "error:t.yaml:1:4: error: cannot decode abc as a !!int"},
		{"a: !foo abc\n", "error:t.yaml:1:4: error: unsupported tag !foo"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *j = READ(cases[i].text);
		if (!j || strcmp(j, cases[i].want) != 0)
			unit_fail(__FILE__, __LINE__, "%s gave %s", cases[i].text, j ? j : "NULL");
		free(j);
	}
	char *j = READ("a: -.nan\n");   /* "-.nan" is a string in go-yaml */
	CHECK_STR(j, "[{\"a\":\"-.nan\"}]");
	free(j);
}

TEST(reader_limits_depth_size_and_aliases_for_json_too)
{
	char deep[512] = "";
	for (int i = 0; i < DECODE_MAX_DEPTH + 1; i++)
		strcat(deep, "[");
	char *j = read_json("t.json", deep, strlen(deep), 0);
	CHECK(j && strstr(j, "error: JSON syntax error"));   /* unclosed */
	free(j);
	for (int i = 0; i < DECODE_MAX_DEPTH + 1; i++)
		strcat(deep, "]");
	j = read_json("body", deep, strlen(deep), DECODE_READ_JSON);
	CHECK_STR(j, "error:body:1:1: error: nesting deeper than 128 levels");
	free(j);
	j = READ(deep);
	CHECK_STR(j, "error:t.yaml:1:129: error: nesting deeper than 128 levels");
	free(j);
	size_t big = DECODE_MAX_BYTES + 1;
	char *text = malloc(big);
	CHECK(text);
	memset(text, ' ', big);
	j = read_json("t.yaml", text, big, 0);
	CHECK_STR(j, "error:t.yaml: error: larger than the 67108864 bytes a manifest may have");
	free(j);
	free(text);
}

TEST(reader_with_objects_refuses_other_documents)
{
	const char *text = "a: 1\n---\n- x\n---\n~\n";
	char *j = read_json("t.yaml", text, strlen(text), DECODE_READ_OBJECTS);
	CHECK_STR(j, "error:t.yaml:3:1: error: a document must be a Kubernetes object (a mapping), got array");
	free(j);
	j = read_json("t.yaml", text, strlen(text), 0);
	CHECK_STR(j, "[{\"a\":1},[\"x\"]]");
	free(j);
}
