/* Validation: one test per rule of the API server that netpol applies,
 * each with its exact message and the position of the offending value. */
#include "unit.h"
#include "decode/decode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decodes text and returns its diagnostics as "line:col: message" lines
 * (with "[code] " when there is a code), sorted. */
static char *errors(const char *text)
{
	struct np_cluster *cl = cluster_new();
	struct diag_list d = {0};
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	int rc = decode_buffer("t.yaml", text, strlen(text), cl, &d);
	diag_sort(&d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(f, "%s%d:%d: %s%s%s%s", i ? "\n" : "", d.items[i].line, d.items[i].col,
			d.items[i].code ? "[" : "", d.items[i].code ? d.items[i].code : "",
			d.items[i].code ? "] " : "", d.items[i].msg);
	/* every error must also fail the decode and leave the cluster empty */
	if (diag_count(&d, DIAG_ERROR) && (rc != -EINVAL || cl->npolicies || cl->npods))
		fprintf(f, "\n(decode_buffer returned %d and kept objects)", rc);
	fclose(f);
	diag_list_clear(&d);
	cluster_free(cl);
	return out;
}

#define POLICY "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n" \
	       "metadata: {name: p, namespace: ns}\nspec:\n"   /* spec starts on line 5 */
#define POD "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n" \
	    "  - name: c\n    ports:\n"                      /* ports start on line 8 */
#define SERVICE "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n"
#define DEPLOYMENT "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n"

#define EXPECT(text, want)                                                    \
	do {                                                                  \
		char *got_ = errors(text);                                    \
		bool same_ = strcmp(got_, want) == 0;                         \
		if (!same_)                                                   \
			unit_fail(__FILE__, __LINE__, "errors are\n%s\nexpected\n%s", got_, want); \
		free(got_);                                                   \
		if (!same_)                                                   \
			return;                                               \
	} while (0)

/* ---- names ------------------------------------------------------------------ */

TEST(policy_name_must_be_a_dns1123_subdomain)
{
	EXPECT("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: Bad_Name\n",
	       "4:9: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must "
	       "consist of lower case alphanumeric characters, '-' or '.', and must start and end "
	       "with an alphanumeric character");
}

TEST(name_longer_than_253_characters_is_invalid)
{
	char text[512], name[300];
	memset(name, 'a', 254);
	name[254] = '\0';
	snprintf(text, sizeof(text), "apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\n", name);
	char want[600];
	snprintf(want, sizeof(want), "3:18: metadata.name: Invalid value: \"%s\": must be no more "
		 "than 253 characters", name);
	EXPECT(text, want);
}

TEST(namespace_name_must_be_a_dns1123_label)
{
	EXPECT("apiVersion: v1\nkind: Namespace\nmetadata: {name: a.b}\n",
	       "3:18: metadata.name: Invalid value: \"a.b\": a lowercase RFC 1123 label must consist "
	       "of lower case alphanumeric characters or '-', and must start and end with an "
	       "alphanumeric character");
}

TEST(service_name_must_be_a_dns1035_label)
{
	EXPECT("apiVersion: v1\nkind: Service\nmetadata: {name: 1web}\nspec: {clusterIP: None}\n",
	       "3:18: metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of lower "
	       "case alphanumeric characters or '-', start with an alphabetic character, and end "
	       "with an alphanumeric character");
}

TEST(object_namespace_must_be_a_dns1123_label)
{
	EXPECT("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: Prod}\n",
	       "3:32: metadata.namespace: Invalid value: \"Prod\": a lowercase RFC 1123 label must "
	       "consist of lower case alphanumeric characters or '-', and must start and end with "
	       "an alphanumeric character");
}

TEST(name_is_required)
{
	EXPECT("apiVersion: v1\nkind: Pod\nmetadata: {labels: {a: b}}\n",
	       "1:1: metadata.name: Required value");
	EXPECT("apiVersion: v1\nkind: Pod\nmetadata: {name: \"\"}\n",
	       "1:1: metadata.name: Required value");
}

/* ---- labels and annotations --------------------------------------------------- */

TEST(label_key_name_part_must_be_alphanumeric_with_inner_dashes_dots_underscores)
{
	EXPECT("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {\"-app\": x}\n",
	       "5:12: metadata.labels: Invalid value: \"-app\": name part must consist of "
	       "alphanumeric characters, '-', '_' or '.', and must start and end with an "
	       "alphanumeric character");
}

TEST(label_key_name_part_is_at_most_63_characters)
{
	char text[256], key[80];
	memset(key, 'k', 64);
	key[64] = '\0';
	snprintf(text, sizeof(text), "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n"
		 "  labels:\n    %s: x\n", key);
	char want[256];
	snprintf(want, sizeof(want), "6:5: metadata.labels: Invalid value: \"%s\": name part must "
		 "be no more than 63 characters", key);
	EXPECT(text, want);
}

TEST(label_key_prefix_must_be_a_dns_subdomain)
{
	EXPECT("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {Example.com/app: x}\n",
	       "5:12: metadata.labels: Invalid value: \"Example.com/app\": prefix part a lowercase "
	       "RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
	       "and must start and end with an alphanumeric character");
}

TEST(label_key_prefix_and_name_must_not_be_empty)
{
	EXPECT("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {/app: x, example.com/: y}\n",
	       "5:12: metadata.labels: Invalid value: \"/app\": prefix part must be non-empty\n"
	       "5:21: metadata.labels: Invalid value: \"example.com/\": name part must be non-empty");
}

TEST(label_key_has_at_most_one_slash)
{
	EXPECT("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {a/b/c: x}\n",
	       "5:12: metadata.labels: Invalid value: \"a/b/c\": a qualified name must consist of "
	       "alphanumeric characters, '-', '_' or '.', and must start and end with an "
	       "alphanumeric character, with an optional DNS subdomain prefix and '/' (e.g. "
	       "'example.com/MyName')");
}

TEST(label_value_may_be_empty_but_not_malformed)
{
	EXPECT("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {a: \"\", b: \"x y\"}\n",
	       "5:22: metadata.labels: Invalid value: \"x y\": a valid label must be an empty string "
	       "or consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
	       "an alphanumeric character");
}

TEST(label_value_is_at_most_63_characters)
{
	char text[256], value[80];
	memset(value, 'v', 64);
	value[64] = '\0';
	snprintf(text, sizeof(text), "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n"
		 "  labels:\n    a: %s\n", value);
	char want[256];
	snprintf(want, sizeof(want), "6:8: metadata.labels: Invalid value: \"%s\": must be no more "
		 "than 63 characters", value);
	EXPECT(text, want);
}

TEST(annotation_keys_are_qualified_names_in_any_case)
{
	EXPECT("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n"
	       "  annotations: {Example.COM/Owner: ok, \"bad key\": x}\n",
	       "5:40: metadata.annotations: Invalid value: \"bad key\": name part must consist of "
	       "alphanumeric characters, '-', '_' or '.', and must start and end with an "
	       "alphanumeric character");
}

TEST(annotations_are_at_most_256_kib_in_total)
{
	size_t n = 256 * 1024;
	char *text = malloc(n + 128);
	CHECK(text);
	int len = sprintf(text, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    a: ");
	memset(text + len, 'x', n);
	text[len + n] = '\0';
	char *got = errors(text);
	free(text);
	CHECK_STR(got, "6:5: metadata.annotations: Too long: must have at most 262144 bytes");
	free(got);
}

/* ---- label selectors ------------------------------------------------------------ */

TEST(selector_operator_must_be_known)
{
	EXPECT(POLICY "  podSelector:\n    matchExpressions:\n    - {key: app, operator: in, values: [a]}\n",
	       "7:28: spec.podSelector.matchExpressions[0].operator: Invalid value: \"in\": "
	       "not a valid selector operator");
}

TEST(selector_in_and_not_in_need_values)
{
	EXPECT(POLICY "  podSelector:\n    matchExpressions:\n    - {key: app, operator: In}\n"
	       "    - {key: app, operator: NotIn, values: []}\n",
	       "7:7: spec.podSelector.matchExpressions[0].values: Required value: must be specified "
	       "when `operator` is 'In' or 'NotIn'\n"
	       "8:43: spec.podSelector.matchExpressions[1].values: Required value: must be specified "
	       "when `operator` is 'In' or 'NotIn'");
}

TEST(selector_exists_and_does_not_exist_take_no_values)
{
	EXPECT(POLICY "  podSelector:\n    matchExpressions:\n    - {key: app, operator: Exists, values: [a]}\n"
	       "    - {key: app, operator: DoesNotExist}\n",
	       "7:44: spec.podSelector.matchExpressions[0].values: Forbidden: may not be specified "
	       "when `operator` is 'Exists' or 'DoesNotExist'");
}

TEST(selector_requirement_key_is_required_and_a_label_key)
{
	EXPECT(POLICY "  podSelector:\n    matchExpressions:\n    - {operator: Exists}\n"
	       "    - {key: \"a b\", operator: Exists}\n",
	       "7:7: spec.podSelector.matchExpressions[0].key: Required value\n"
	       "8:13: spec.podSelector.matchExpressions[1].key: Invalid value: \"a b\": name part must "
	       "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
	       "alphanumeric character");
}

TEST(selector_values_are_label_values)
{
	EXPECT(POLICY "  podSelector:\n    matchExpressions:\n    - {key: app, operator: In, values: [ok, \"no!\"]}\n",
	       "7:45: spec.podSelector.matchExpressions[0].values[1]: Invalid value: \"no!\": a valid "
	       "label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
	       "and must start and end with an alphanumeric character");
}

TEST(match_labels_are_validated_as_labels)
{
	EXPECT(POLICY "  ingress:\n  - from:\n    - namespaceSelector:\n        matchLabels: {team: \"a/b\"}\n",
	       "8:29: spec.ingress[0].from[0].namespaceSelector.matchLabels: Invalid value: \"a/b\": a "
	       "valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
	       "or '.', and must start and end with an alphanumeric character");
}

/* ---- policy ports ------------------------------------------------------------------ */

TEST(port_number_must_be_between_1_and_65535)
{
	EXPECT(POLICY "  ingress:\n  - ports:\n    - port: 70000\n    - port: 0\n",
	       "7:13: spec.ingress[0].ports[0].port: Invalid value: 70000: must be between 1 and "
	       "65535, inclusive\n"
	       "8:13: spec.ingress[0].ports[1].port: Invalid value: 0: must be between 1 and 65535, "
	       "inclusive");
}

TEST(port_name_is_at_most_15_characters)
{
	EXPECT(POLICY "  egress:\n  - ports:\n    - port: abcdefghijklmnop\n",
	       "7:13: spec.egress[0].ports[0].port: Invalid value: \"abcdefghijklmnop\": must be no "
	       "more than 15 characters");
}

TEST(port_name_uses_lower_case_alphanumerics_and_hyphens)
{
	EXPECT(POLICY "  egress:\n  - ports:\n    - port: Http\n",
	       "7:13: spec.egress[0].ports[0].port: Invalid value: \"Http\": must contain only lower "
	       "case alphanumeric characters (a-z, 0-9) and hyphens (-)");
}

TEST(port_name_needs_a_letter)
{
	EXPECT(POLICY "  egress:\n  - ports:\n    - port: \"8080\"\n",
	       "7:13: spec.egress[0].ports[0].port: Invalid value: \"8080\": must contain at least one "
	       "letter (a-z)");
}

TEST(port_name_has_no_double_or_edge_hyphens)
{
	EXPECT(POLICY "  egress:\n  - ports:\n    - port: a--b\n    - port: -ab\n",
	       "7:13: spec.egress[0].ports[0].port: Invalid value: \"a--b\": must not contain "
	       "consecutive hyphens\n"
	       "8:13: spec.egress[0].ports[1].port: Invalid value: \"-ab\": must not begin or end "
	       "with a hyphen");
}

TEST(end_port_needs_a_numeric_port_not_below_it)
{
	EXPECT(POLICY "  egress:\n  - ports:\n    - {port: 100, endPort: 99}\n"
	       "    - {port: http, endPort: 100}\n    - {endPort: 100}\n    - {port: 1, endPort: 65536}\n",
	       "7:28: spec.egress[0].ports[0].endPort: Invalid value: 99: must be greater than or "
	       "equal to `port`\n"
	       "8:29: spec.egress[0].ports[1].endPort: Invalid value: 100: may not be specified when "
	       "`port` is non-numeric\n"
	       "9:17: spec.egress[0].ports[2].endPort: Invalid value: 100: may not be specified when "
	       "`port` is not specified\n"
	       "10:26: spec.egress[0].ports[3].endPort: Invalid value: 65536: must be between 1 and "
	       "65535, inclusive");
}

TEST(protocol_is_tcp_udp_or_sctp_exactly)
{
	EXPECT(POLICY "  egress:\n  - ports:\n    - protocol: udp\n    - protocol: ICMP\n",
	       "7:17: spec.egress[0].ports[0].protocol: Unsupported value: \"udp\": supported values: "
	       "\"SCTP\", \"TCP\", \"UDP\"\n"
	       "8:17: spec.egress[0].ports[1].protocol: Unsupported value: \"ICMP\": supported values: "
	       "\"SCTP\", \"TCP\", \"UDP\"");
}

/* ---- peers and ipBlocks ------------------------------------------------------------- */

TEST(ip_block_cidr_is_required_and_valid)
{
	EXPECT(POLICY "  egress:\n  - to:\n    - ipBlock: {}\n    - ipBlock: {cidr: 10.0.0.0/33}\n"
	       "    - ipBlock: {cidr: \"300.1.2.3/8\"}\n    - ipBlock: {cidr: \"fd00::/129\"}\n",
	       "7:16: spec.egress[0].to[0].ipBlock.cidr: Required value\n"
	       "8:23: spec.egress[0].to[1].ipBlock.cidr: Invalid value: \"10.0.0.0/33\": must be a "
	       "valid CIDR value (e.g. 10.9.8.0/24 or 2001:db8::/64)\n"
	       "9:23: spec.egress[0].to[2].ipBlock.cidr: Invalid value: \"300.1.2.3/8\": must be a "
	       "valid CIDR value (e.g. 10.9.8.0/24 or 2001:db8::/64)\n"
	       "10:23: spec.egress[0].to[3].ipBlock.cidr: Invalid value: \"fd00::/129\": must be a "
	       "valid CIDR value (e.g. 10.9.8.0/24 or 2001:db8::/64)");
}

TEST(ip_block_accepts_ipv6_and_host_bits)
{
	EXPECT(POLICY "  egress:\n  - to:\n    - ipBlock: {cidr: \"2001:db8::/32\", except: [\"2001:db8:1::/48\"]}\n"
	       "    - ipBlock: {cidr: 10.0.0.1/8, except: [10.1.0.0/16]}\n", "");
}

TEST(except_outside_its_cidr_is_np006)
{
	EXPECT(POLICY "  ingress:\n  - from:\n    - ipBlock:\n        cidr: 10.0.0.0/16\n"
	       "        except: [10.1.0.0/24, 10.0.0.0/16, 10.0.0.0/8, \"fd00::/64\", 10.0.1.0/24]\n",
	       "9:18: [NP006] spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: \"10.1.0.0/24\": "
	       "must be a strict subset of `cidr`\n"
	       "9:31: [NP006] spec.ingress[0].from[0].ipBlock.except[1]: Invalid value: \"10.0.0.0/16\": "
	       "must be a strict subset of `cidr`\n"
	       "9:44: [NP006] spec.ingress[0].from[0].ipBlock.except[2]: Invalid value: \"10.0.0.0/8\": "
	       "must be a strict subset of `cidr`\n"
	       "9:56: [NP006] spec.ingress[0].from[0].ipBlock.except[3]: Invalid value: \"fd00::/64\": "
	       "must be a strict subset of `cidr`");
}

TEST(except_must_be_a_valid_cidr)
{
	EXPECT(POLICY "  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0]}\n",
	       "7:44: spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: \"10.1.0.0\": must be "
	       "a valid CIDR value (e.g. 10.9.8.0/24 or 2001:db8::/64)");
}

TEST(peer_must_set_a_selector_or_an_ip_block)
{
	EXPECT(POLICY "  ingress:\n  - from:\n    - {}\n    -\n",
	       "7:7: spec.ingress[0].from[0]: Required value: must specify a peer\n"
	       "8:6: spec.ingress[0].from[1]: Required value: must specify a peer");
}

TEST(ip_block_cannot_be_combined_with_selectors)
{
	EXPECT(POLICY "  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/8}\n      namespaceSelector: {}\n",
	       "7:7: spec.ingress[0].from[0]: Forbidden: may not specify both ipBlock and another peer");
}

TEST(policy_types_are_ingress_or_egress_at_most_two)
{
	EXPECT(POLICY "  policyTypes: [Ingress, ingress]\n",
	       "5:26: spec.policyTypes[1]: Unsupported value: \"ingress\": supported values: "
	       "\"Egress\", \"Ingress\"");
	EXPECT(POLICY "  policyTypes: [Ingress, Egress, Ingress]\n",
	       "5:16: spec.policyTypes: Invalid value: 3 items: may not specify more than two policyTypes");
}

TEST(policy_types_may_repeat_a_type_as_the_api_server_allows)
{
	EXPECT(POLICY "  policyTypes: [Ingress, Ingress]\n", "");
}

/* ---- pods and deployments ----------------------------------------------------------- */

TEST(container_port_is_required_and_in_range)
{
	EXPECT(POD "    - {name: http}\n    - {containerPort: 65536}\n",
	       "8:7: spec.containers[0].ports[0].containerPort: Required value\n"
	       "9:23: spec.containers[0].ports[1].containerPort: Invalid value: 65536: must be "
	       "between 1 and 65535, inclusive");
}

TEST(container_host_port_is_in_range_when_set)
{
	EXPECT(POD "    - {containerPort: 80, hostPort: 0}\n    - {containerPort: 81, hostPort: 70000}\n",
	       "9:37: spec.containers[0].ports[1].hostPort: Invalid value: 70000: must be between 1 "
	       "and 65535, inclusive");
}

TEST(container_port_name_is_an_iana_service_name_unique_in_its_container)
{
	EXPECT(POD "    - {containerPort: 80, name: web}\n    - {containerPort: 81, name: web}\n"
	       "    - {containerPort: 82, name: Web}\n"
	       "  - name: d\n    ports: [{containerPort: 80, name: web}]\n",
	       "9:33: spec.containers[0].ports[1].name: Duplicate value: \"web\"\n"
	       "10:33: spec.containers[0].ports[2].name: Invalid value: \"Web\": must contain only "
	       "lower case alphanumeric characters (a-z, 0-9) and hyphens (-)");
}

TEST(container_port_protocol_is_supported)
{
	EXPECT(POD "    - {containerPort: 80, protocol: HTTP}\n",
	       "8:37: spec.containers[0].ports[0].protocol: Unsupported value: \"HTTP\": supported "
	       "values: \"SCTP\", \"TCP\", \"UDP\"");
}

TEST(pod_ips_must_be_addresses)
{
	EXPECT("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus:\n  podIP: 10.0.0.256\n"
	       "  podIPs: [{ip: \"fd00::1::2\"}]\n",
	       "5:10: status.podIP: Invalid value: \"10.0.0.256\": must be a valid IP address (e.g. "
	       "10.9.8.7 or 2001:db8::ffff)\n"
	       "6:17: status.podIPs[0].ip: Invalid value: \"fd00::1::2\": must be a valid IP address "
	       "(e.g. 10.9.8.7 or 2001:db8::ffff)");
}

TEST(deployment_replicas_are_not_negative)
{
	EXPECT(DEPLOYMENT "  replicas: -1\n  selector: {matchLabels: {a: b}}\n"
	       "  template: {metadata: {labels: {a: b}}}\n",
	       "5:13: spec.replicas: Invalid value: -1: must be greater than or equal to 0");
}

TEST(deployment_selector_is_required_and_not_empty)
{
	EXPECT(DEPLOYMENT "  template: {metadata: {labels: {a: b}}}\n",
	       "5:3: spec.selector: Required value");
	EXPECT(DEPLOYMENT "  selector: {}\n  template: {metadata: {labels: {a: b}}}\n",
	       "5:13: spec.selector: Invalid value: {}: empty selector is invalid for deployment");
}

TEST(deployment_selector_must_match_template_labels)
{
	EXPECT(DEPLOYMENT "  selector: {matchLabels: {app: web}}\n"
	       "  template:\n    metadata:\n      labels: {app: db, tier: x}\n",
	       "8:15: spec.template.metadata.labels: Invalid value: \"app=db,tier=x\": `selector` "
	       "does not match template `labels`");
}

/* ---- services ------------------------------------------------------------------------ */

TEST(service_needs_ports_unless_headless_or_external_name)
{
	EXPECT(SERVICE "  selector: {app: web}\n", "5:3: spec.ports: Required value");
	EXPECT(SERVICE "  clusterIP: None\n", "");
	EXPECT(SERVICE "  type: ExternalName\n  externalName: example.com\n", "");
}

TEST(service_port_is_required_and_in_range)
{
	EXPECT(SERVICE "  ports:\n  - {name: a, port: 0}\n  - {name: b}\n",
	       "6:21: spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive\n"
	       "7:5: spec.ports[1].port: Required value");
}

TEST(service_port_names_are_required_with_several_ports_and_unique_labels)
{
	EXPECT(SERVICE "  ports:\n  - {port: 80}\n  - {name: Web, port: 81}\n  - {name: dns, port: 53}\n"
	       "  - {name: dns, port: 54}\n",
	       "6:5: spec.ports[0].name: Required value\n"
	       "7:12: spec.ports[1].name: Invalid value: \"Web\": a lowercase RFC 1123 label must "
	       "consist of lower case alphanumeric characters or '-', and must start and end with an "
	       "alphanumeric character\n"
	       "9:12: spec.ports[3].name: Duplicate value: \"dns\"");
}

TEST(service_port_and_protocol_pairs_are_unique)
{
	EXPECT(SERVICE "  ports:\n  - {name: a, port: 53, protocol: UDP}\n  - {name: b, port: 53}\n"
	       "  - {name: c, port: 53, protocol: UDP}\n",
	       "8:5: spec.ports[2]: Duplicate value: \"53/UDP\"");
}

TEST(service_target_port_is_a_port_number_or_name)
{
	EXPECT(SERVICE "  ports:\n  - {name: a, port: 80, targetPort: 70000}\n"
	       "  - {name: b, port: 81, targetPort: web_port}\n  - {name: c, port: 82, targetPort: 0}\n",
	       "6:37: spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, "
	       "inclusive\n"
	       "7:37: spec.ports[1].targetPort: Invalid value: \"web_port\": must contain only lower "
	       "case alphanumeric characters (a-z, 0-9) and hyphens (-)");
}

TEST(service_type_and_cluster_ip_are_checked)
{
	EXPECT(SERVICE "  type: Internal\n  clusterIP: 10.0.0.300\n  ports: [{port: 80}]\n",
	       "5:9: spec.type: Unsupported value: \"Internal\": supported values: \"ClusterIP\", "
	       "\"ExternalName\", \"LoadBalancer\", \"NodePort\"\n"
	       "6:14: spec.clusterIP: Invalid value: \"10.0.0.300\": must be a valid IP address or "
	       "\"None\"");
}

TEST(service_selector_is_validated_as_labels)
{
	EXPECT(SERVICE "  selector: {app: \"web server\"}\n  ports: [{port: 80}]\n",
	       "5:19: spec.selector: Invalid value: \"web server\": a valid label must be an empty "
	       "string or consist of alphanumeric characters, '-', '_' or '.', and must start and "
	       "end with an alphanumeric character");
}

/* ---- all at once ---------------------------------------------------------------------- */

TEST(every_problem_of_every_document_is_reported)
{
	EXPECT(POLICY "  ingress:\n  - ports:\n    - {port: 0, protocol: tcp}\n"
	       "---\napiVersion: v1\nkind: Pod\nmetadata: {name: A, labels: {\"a b\": c}}\n",
	       "7:14: spec.ingress[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, "
	       "inclusive\n"
	       "7:27: spec.ingress[0].ports[0].protocol: Unsupported value: \"tcp\": supported "
	       "values: \"SCTP\", \"TCP\", \"UDP\"\n"
	       "11:18: metadata.name: Invalid value: \"A\": a lowercase RFC 1123 subdomain must "
	       "consist of lower case alphanumeric characters, '-' or '.', and must start and end "
	       "with an alphanumeric character\n"
	       "11:30: metadata.labels: Invalid value: \"a b\": name part must consist of "
	       "alphanumeric characters, '-', '_' or '.', and must start and end with an "
	       "alphanumeric character");
}
