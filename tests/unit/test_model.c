#include "unit.h"
#include "model/model.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* ---- helpers: results land in static buffers so a failed CHECK leaks
 * nothing ---------------------------------------------------------------- */

static const char *labels_str(const struct np_labels *l)
{
	static char buf[512];
	char *s = labels_to_string(l);
	snprintf(buf, sizeof(buf), "%s", s ? s : "(oom)");
	free(s);
	return buf;
}

static const char *sel_str(const struct np_selector *s)
{
	static char buf[512];
	char *t = selector_to_string(s);
	snprintf(buf, sizeof(buf), "%s", t ? t : "(oom)");
	free(t);
	return buf;
}

/* Canonical text of a parsed selector, or "error: <message>". */
static const char *parse_canon(const char *text)
{
	static char buf[512];
	struct np_selector s = {0};
	char *err = NULL;
	if (selector_parse(text, &s, &err) == 0) {
		snprintf(buf, sizeof(buf), "%s", sel_str(&s));
	} else {
		snprintf(buf, sizeof(buf), "error: %s", err ? err : "(no message)");
	}
	free(err);
	selector_clear(&s);
	return buf;
}

static bool parses(const char *text)
{
	return strncmp(parse_canon(text), "error: ", 7) != 0;
}

/* Builds labels from "k=v,k=v" (test input only, no escaping). */
static void labels_from(struct np_labels *l, const char *text)
{
	char *copy = strdup(text), *save = NULL;
	for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		*eq = '\0';
		labels_set(l, kv, eq + 1);
	}
	free(copy);
}

static bool sel_matches_text(const char *sel, const char *labels)
{
	struct np_selector s = {0};
	struct np_labels l = {0};
	selector_parse(sel, &s, NULL);
	labels_from(&l, labels);
	bool m = selector_matches(&s, &l);
	selector_clear(&s);
	labels_clear(&l);
	return m;
}

static const char *ip_canon(const char *text)
{
	static char buf[128];
	struct np_ip ip;
	if (ip_parse(text, &ip))
		return "invalid";
	return ip_to_string(&ip, buf, sizeof(buf));
}

static const char *cidr_canon(const char *text)
{
	static char buf[128];
	struct np_cidr c;
	bool host = false;
	if (cidr_parse(text, &c, &host))
		return "invalid";
	cidr_to_string(&c, buf, sizeof(buf));
	if (host)
		strcat(buf, " (host bits)");
	return buf;
}

static bool cidr_has(const char *cidr, const char *ip)
{
	struct np_cidr c;
	struct np_ip a;
	if (cidr_parse(cidr, &c, NULL) || ip_parse(ip, &a))
		abort();
	return cidr_contains_ip(&c, &a);
}

static bool cidr_in(const char *outer, const char *inner)
{
	struct np_cidr o, i;
	if (cidr_parse(outer, &o, NULL) || cidr_parse(inner, &i, NULL))
		abort();
	return cidr_contains_cidr(&o, &i);
}

/* ---- labels -------------------------------------------------------------- */

TEST(labels_stay_sorted_by_key_and_a_second_set_replaces_the_value)
{
	struct np_labels l = {0};
	CHECK_INT(labels_set(&l, "c", "3"), 0);
	CHECK_INT(labels_set(&l, "a", "1"), 0);
	CHECK_INT(labels_set(&l, "b", "2"), 0);
	CHECK_INT(labels_set(&l, "a", "one"), 0);
	CHECK_INT(l.n, 3);
	CHECK_STR(labels_str(&l), "a=one,b=2,c=3");
	CHECK_STR(labels_get(&l, "b"), "2");
	CHECK(labels_get(&l, "z") == NULL);
	labels_clear(&l);
}

TEST(labels_remove_reports_a_missing_key)
{
	struct np_labels l = {0};
	labels_from(&l, "a=1,b=2");
	CHECK_INT(labels_remove(&l, "a"), 0);
	CHECK_INT(labels_remove(&l, "a"), -ENOENT);
	CHECK_STR(labels_str(&l), "b=2");
	CHECK_INT(labels_remove(&l, "b"), 0);
	CHECK_INT(l.n, 0);
	CHECK_STR(labels_str(&l), "<none>");
	labels_clear(&l);
}

TEST(labels_copy_is_deep_and_equal)
{
	struct np_labels a = {0}, b = {0};
	labels_from(&a, "app=web,tier=front");
	labels_from(&b, "old=1");
	CHECK_INT(labels_copy(&b, &a), 0);
	CHECK(labels_equal(&a, &b));
	labels_set(&a, "app", "db");
	CHECK(!labels_equal(&a, &b));
	CHECK_STR(labels_get(&b, "app"), "web");
	labels_clear(&a);
	labels_clear(&b);
}

TEST(labels_empty_value_is_a_value)
{
	struct np_labels l = {0};
	labels_set(&l, "flag", "");
	CHECK_STR(labels_get(&l, "flag"), "");
	CHECK_STR(labels_str(&l), "flag=");
	labels_clear(&l);
}

/* ---- selectors: matching ------------------------------------------------- */

TEST(selector_in_matches_only_listed_values_of_a_present_key)
{
	CHECK(sel_matches_text("app in (web,db)", "app=web"));
	CHECK(sel_matches_text("app in (web,db)", "app=db,x=y"));
	CHECK(!sel_matches_text("app in (web,db)", "app=cache"));
	CHECK(!sel_matches_text("app in (web,db)", "other=web"));
}

TEST(selector_not_in_matches_a_missing_key_and_other_values)
{
	CHECK(sel_matches_text("app notin (web)", "other=x"));
	CHECK(sel_matches_text("app notin (web)", ""));
	CHECK(sel_matches_text("app notin (web)", "app=db"));
	CHECK(!sel_matches_text("app notin (web)", "app=web"));
	CHECK(sel_matches_text("app!=web", "other=x"));
}

TEST(selector_exists_and_does_not_exist_look_only_at_the_key)
{
	CHECK(sel_matches_text("app", "app="));
	CHECK(sel_matches_text("app", "app=anything"));
	CHECK(!sel_matches_text("app", "other=app"));
	CHECK(sel_matches_text("!app", "other=app"));
	CHECK(!sel_matches_text("!app", "app="));
}

TEST(selector_empty_matches_everything)
{
	struct np_selector s = {0};
	struct np_labels l = {0};
	CHECK(selector_is_empty(&s));
	CHECK(selector_matches(&s, &l));
	labels_set(&l, "a", "b");
	CHECK(selector_matches(&s, &l));
	labels_clear(&l);
	CHECK_STR(sel_str(&s), "");
}

TEST(selector_requirements_are_anded)
{
	CHECK(sel_matches_text("a=1,b", "a=1,b=2"));
	CHECK(!sel_matches_text("a=1,b", "a=1"));
	CHECK(!sel_matches_text("a=1,b", "a=2,b=2"));
	CHECK(!sel_matches_text("a=1,!b", "a=1,b=2"));
}

/* ---- selectors: canonical form ------------------------------------------- */

TEST(selector_match_labels_and_in_expression_print_the_same)
{
	struct np_selector ml = {0}, me = {0};
	const char *b[] = {"b"};
	/* matchLabels {c: d, a: b} */
	const char *d[] = {"d"};
	CHECK_INT(selector_add(&ml, "c", SEL_IN, d, 1), 0);
	CHECK_INT(selector_add(&ml, "a", SEL_IN, b, 1), 0);
	/* matchExpressions [{a In [b]}, {c In [d]}] in the other order */
	CHECK_INT(selector_add(&me, "a", SEL_IN, b, 1), 0);
	CHECK_INT(selector_add(&me, "c", SEL_IN, d, 1), 0);
	char *x = selector_to_string(&ml), *y = selector_to_string(&me);
	bool same = strcmp(x, y) == 0;
	bool want = strcmp(x, "a=b,c=d") == 0;
	free(x);
	free(y);
	selector_clear(&ml);
	selector_clear(&me);
	CHECK(same);
	CHECK(want);
}

TEST(selector_values_are_sorted_and_unique)
{
	struct np_selector s = {0};
	const char *v[] = {"z", "a", "m", "a"};
	CHECK_INT(selector_add(&s, "k", SEL_NOT_IN, v, 4), 0);
	CHECK_INT(s.reqs[0].nvalues, 3);
	CHECK_STR(sel_str(&s), "k notin (a,m,z)");
	selector_clear(&s);
}

TEST(selector_orders_requirements_by_key_then_operator_and_drops_repeats)
{
	CHECK_STR(parse_canon("b,!a,a in (y,x),a notin (z),a,a=q"),
		  "a=q,a in (x,y),a notin (z),a,!a,b");
	CHECK_STR(parse_canon("a,a,a=1,a==1"), "a=1,a");
	CHECK_STR(parse_canon("a in (x,y),a in (y,x)"), "a in (x,y)");
}

TEST(selector_add_rejects_operators_with_wrong_values)
{
	struct np_selector s = {0};
	const char *v[] = {"x"};
	CHECK_INT(selector_add(&s, "a", SEL_IN, NULL, 0), -EINVAL);
	CHECK_INT(selector_add(&s, "a", SEL_NOT_IN, NULL, 0), -EINVAL);
	CHECK_INT(selector_add(&s, "a", SEL_EXISTS, v, 1), -EINVAL);
	CHECK_INT(selector_add(&s, "a", SEL_DOES_NOT_EXIST, v, 1), -EINVAL);
	CHECK_INT(s.n, 0);
}

TEST(selector_copy_is_deep)
{
	struct np_selector a = {0}, b = {0};
	CHECK_INT(selector_parse("x in (1,2),!y", &a, NULL), 0);
	CHECK_INT(selector_parse("old", &b, NULL), 0);
	CHECK_INT(selector_copy(&b, &a), 0);
	selector_clear(&a);
	CHECK_STR(sel_str(&b), "x in (1,2),!y");
	selector_clear(&b);
}

/* ---- selectors: kubectl -l syntax ---------------------------------------- */

TEST(selector_parse_accepts_every_kubectl_form)
{
	CHECK_STR(parse_canon("a=b"), "a=b");
	CHECK_STR(parse_canon("a==b"), "a=b");
	CHECK_STR(parse_canon("a!=b"), "a notin (b)");
	CHECK_STR(parse_canon("a in (x, y)"), "a in (x,y)");
	CHECK_STR(parse_canon("a in (x)"), "a=x");
	CHECK_STR(parse_canon("a notin (x)"), "a notin (x)");
	CHECK_STR(parse_canon("a"), "a");
	CHECK_STR(parse_canon("!a"), "!a");
	CHECK_STR(parse_canon("app.kubernetes.io/name=web-1"), "app.kubernetes.io/name=web-1");
}

TEST(selector_parse_tolerates_whitespace)
{
	CHECK_STR(parse_canon("  tier = front ,\t! legacy ,env in(prod,  dev) , zone  "),
		  "env in (dev,prod),!legacy,tier=front,zone");
	CHECK_STR(parse_canon("a!= b"), "a notin (b)");
}

TEST(selector_parse_of_empty_text_is_the_empty_selector)
{
	CHECK_STR(parse_canon(""), "");
	CHECK_STR(parse_canon("   "), "");
}

TEST(selector_parse_empty_values_are_empty_strings)
{
	CHECK_STR(parse_canon("a="), "a=");
	CHECK_STR(parse_canon("a in ()"), "a=");
	CHECK_STR(parse_canon("a notin (,x)"), "a notin (,x)");
	CHECK(sel_matches_text("a=", "a="));
	CHECK(!sel_matches_text("a=", "a=x"));
}

TEST(selector_parse_keywords_are_keywords_only_after_a_key)
{
	CHECK_STR(parse_canon("in in (in, notin)"), "in in (in,notin)");
	CHECK_STR(parse_canon("notin=in"), "notin=in");
	CHECK_STR(parse_canon("inx=1"), "inx=1");
}

TEST(selector_parse_reports_what_it_found_and_expected)
{
	CHECK_STR(parse_canon("a in x"),
		  "error: unable to parse requirement at offset 5: found 'x', expected: '('");
	CHECK_STR(parse_canon("(a)"),
		  "error: unable to parse requirement at offset 0: found '(', expected: identifier");
	CHECK_STR(parse_canon("a b"),
		  "error: unable to parse requirement at offset 2: found 'b', expected: "
		  "'=', '==', '!=', 'in', 'notin' or ','");
	CHECK_STR(parse_canon("a,"),
		  "error: unable to parse requirement at offset 2: found end of input, expected: identifier");
	CHECK_STR(parse_canon("a in (x"),
		  "error: unable to parse requirement at offset 7: found end of input, expected: ',' or ')'");
}

TEST(selector_parse_rejects_malformed_text)
{
	const char *bad[] = {"=b", "!", "!a=b", "a=b=c", ",a", "a,,b", "a in (x) y",
			     "a notin", "a in", "a ! = b", "a=(b)", "a in (x,(y))", "!!a"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (parses(bad[i]))
			unit_fail(__FILE__, __LINE__, "\"%s\" parsed as \"%s\"", bad[i],
				  parse_canon(bad[i]));
	}
}

TEST(selector_parse_leaves_out_alone_on_error)
{
	struct np_selector s = {0};
	char *err = NULL;
	CHECK_INT(selector_parse("a=b", &s, NULL), 0);
	CHECK_INT(selector_parse("a in", &s, &err), -EINVAL);
	CHECK(err != NULL);
	free(err);
	CHECK_STR(sel_str(&s), "a=b");
	selector_clear(&s);
}

TEST(selector_canonical_text_parses_back_to_itself)
{
	const char *texts[] = {"a=b,c in (x,y,z),!d,e,f notin (,1)", "in=notin", "x=", "k in (,a)"};
	for (size_t i = 0; i < sizeof(texts) / sizeof(*texts); i++) {
		char once[512];
		snprintf(once, sizeof(once), "%s", parse_canon(texts[i]));
		CHECK_STR(parse_canon(once), once);
	}
}

/* ---- addresses ------------------------------------------------------------ */

TEST(ip_parse_accepts_strict_ipv4)
{
	CHECK_STR(ip_canon("192.168.1.10"), "192.168.1.10");
	CHECK_STR(ip_canon("0.0.0.0"), "0.0.0.0");
	CHECK_STR(ip_canon("255.255.255.255"), "255.255.255.255");
	CHECK_STR(ip_canon("10.0.0.0"), "10.0.0.0");
}

TEST(ip_parse_rejects_leading_zeros_and_junk)
{
	const char *bad[] = {"010.1.1.1", "1.2.3.04", "1.2.3.00", "1.2.3", "1.2.3.4.5",
			     "256.1.1.1", " 1.2.3.4", "1.2.3.4 ", "", "1.2.3.4/32", "0x1.2.3.4",
			     "fe80::1%eth0", "::ffff:01.2.3.4", "1::2::3", "12345::", "g::"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (strcmp(ip_canon(bad[i]), "invalid") != 0)
			unit_fail(__FILE__, __LINE__, "\"%s\" accepted", bad[i]);
	}
}

TEST(ip_parse_ipv6_prints_compressed)
{
	CHECK_STR(ip_canon("2001:0db8:0000:0000:0000:0000:0000:0001"), "2001:db8::1");
	CHECK_STR(ip_canon("::"), "::");
	CHECK_STR(ip_canon("::1"), "::1");
	CHECK_STR(ip_canon("FE80::A"), "fe80::a");
	CHECK_STR(ip_canon("::ffff:1.2.3.4"), "::ffff:1.2.3.4");
	struct np_ip ip;
	CHECK_INT(ip_parse("2001:db8::1", &ip), 0);
	CHECK_INT(ip.family, AF_INET6);
	CHECK_INT(ip_parse("1.2.3.4", &ip), 0);
	CHECK_INT(ip.family, AF_INET);
}

TEST(ip_equal_compares_family_and_address)
{
	struct np_ip a, b, c;
	ip_parse("10.0.0.1", &a);
	ip_parse("10.0.0.1", &b);
	ip_parse("::a00:1", &c);
	CHECK(ip_equal(&a, &b));
	CHECK(!ip_equal(&a, &c));
	ip_parse("10.0.0.2", &b);
	CHECK(!ip_equal(&a, &b));
}

TEST(cidr_parse_accepts_both_families)
{
	CHECK_STR(cidr_canon("198.18.0.0/16"), "198.18.0.0/16");
	CHECK_STR(cidr_canon("2001:db8::/32"), "2001:db8::/32");
	CHECK_STR(cidr_canon("0.0.0.0/0"), "0.0.0.0/0");
	CHECK_STR(cidr_canon("::/0"), "::/0");
	CHECK_STR(cidr_canon("10.1.2.3/32"), "10.1.2.3/32");
	CHECK_STR(cidr_canon("2001:db8::1/128"), "2001:db8::1/128");
}

TEST(cidr_parse_clears_and_reports_host_bits)
{
	CHECK_STR(cidr_canon("10.1.2.3/8"), "10.0.0.0/8 (host bits)");
	CHECK_STR(cidr_canon("10.255.0.0/9"), "10.128.0.0/9 (host bits)");
	CHECK_STR(cidr_canon("1.2.3.4/0"), "0.0.0.0/0 (host bits)");
	CHECK_STR(cidr_canon("2001:db8::1/64"), "2001:db8::/64 (host bits)");
	CHECK_STR(cidr_canon("2001:db8:ffff::/33"), "2001:db8:8000::/33 (host bits)");
	struct np_cidr c;
	CHECK_INT(cidr_parse("10.0.0.0/8", &c, NULL), 0);
	CHECK_INT(c.prefix, 8);
}

TEST(cidr_parse_rejects_bad_prefixes_and_addresses)
{
	const char *bad[] = {"1.2.3.4/33", "::/129", "1.2.3.4/", "1.2.3.4", "1.2.3.4/08",
			     "1.2.3.4/-1", "1.2.3.4/+8", "1.2.3.4/ 8", "1.2.3.4/8 ", "/8",
			     "010.0.0.0/8", "1.2.3.4/1000", "1.2.3.4/8/8", "fe80::/64%eth0",
			     "1.2.3.4//8"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (strcmp(cidr_canon(bad[i]), "invalid") != 0)
			unit_fail(__FILE__, __LINE__, "\"%s\" accepted as %s", bad[i],
				  cidr_canon(bad[i]));
	}
}

TEST(cidr_contains_ip_respects_prefix_and_family)
{
	CHECK(cidr_has("0.0.0.0/0", "203.0.113.9"));
	CHECK(!cidr_has("0.0.0.0/0", "::1"));
	CHECK(cidr_has("::/0", "2001:db8::1"));
	CHECK(!cidr_has("::/0", "1.2.3.4"));
	CHECK(cidr_has("10.1.2.3/32", "10.1.2.3"));
	CHECK(!cidr_has("10.1.2.3/32", "10.1.2.4"));
	CHECK(cidr_has("10.0.0.0/9", "10.127.255.255"));
	CHECK(!cidr_has("10.0.0.0/9", "10.128.0.0"));
	CHECK(cidr_has("2001:db8::1/128", "2001:db8::1"));
	CHECK(!cidr_has("2001:db8::1/128", "2001:db8::2"));
	CHECK(cidr_has("2001:db8::/32", "2001:db8:ffff::1"));
	CHECK(!cidr_has("2001:db8::/32", "2001:db9::"));
	/* An IPv4-mapped IPv6 address is IPv6 here, not IPv4. */
	CHECK(!cidr_has("1.2.3.0/24", "::ffff:1.2.3.4"));
}

TEST(cidr_contains_cidr_needs_a_longer_or_equal_prefix_inside)
{
	CHECK(cidr_in("10.0.0.0/8", "10.1.0.0/16"));
	CHECK(cidr_in("10.0.0.0/8", "10.0.0.0/8"));
	CHECK(!cidr_in("10.1.0.0/16", "10.0.0.0/8"));
	CHECK(!cidr_in("10.0.0.0/8", "11.0.0.0/16"));
	CHECK(cidr_in("0.0.0.0/0", "1.2.3.4/32"));
	CHECK(!cidr_in("0.0.0.0/0", "::/0"));
	CHECK(cidr_in("2001:db8::/32", "2001:db8:1::/48"));
	CHECK(!cidr_in("2001:db8::/32", "2001:db9::/48"));
}

/* ---- protocols -------------------------------------------------------------- */

TEST(proto_parse_is_exact_and_case_sensitive)
{
	enum np_proto p;
	CHECK_INT(proto_parse("TCP", &p), 0);
	CHECK_INT(p, NP_TCP);
	CHECK_INT(proto_parse("UDP", &p), 0);
	CHECK_INT(p, NP_UDP);
	CHECK_INT(proto_parse("SCTP", &p), 0);
	CHECK_INT(p, NP_SCTP);
	CHECK_INT(proto_parse("tcp", &p), -EINVAL);
	CHECK_INT(proto_parse("TCP ", &p), -EINVAL);
	CHECK_INT(proto_parse("", &p), -EINVAL);
	CHECK_STR(proto_name(NP_UDP), "UDP");
	CHECK_STR(proto_name(NP_SCTP), "SCTP");
}

/* ---- objects ------------------------------------------------------------------ */

static struct np_pod *mkpod(const char *ns, const char *name, const char *labels)
{
	struct np_pod *p = pod_new();
	p->meta.name = strdup(name);
	p->meta.namespace = ns ? strdup(ns) : NULL;
	if (labels)
		labels_from(&p->meta.labels, labels);
	return p;
}

static struct np_namespace *mkns(const char *name)
{
	struct np_namespace *ns = namespace_new();
	ns->meta.name = strdup(name);
	return ns;
}

static void add_port(struct np_container_port **ports, size_t *n, const char *name, int port,
		     enum np_proto proto)
{
	*ports = realloc(*ports, (*n + 1) * sizeof(**ports));
	(*ports)[*n] = (struct np_container_port){name ? strdup(name) : NULL, port, proto};
	(*n)++;
}

static struct np_deployment *mkdeploy(const char *ns, const char *name, int replicas,
				      const char *labels)
{
	struct np_deployment *d = deployment_new();
	d->meta.name = strdup(name);
	d->meta.namespace = strdup(ns);
	d->replicas = replicas;
	labels_from(&d->template_labels, labels);
	selector_parse(labels, &d->selector, NULL);
	add_port(&d->ports, &d->nports, "http", 80, NP_TCP);
	add_port(&d->ports, &d->nports, NULL, 53, NP_UDP);
	return d;
}

TEST(pod_resolve_named_port_matches_name_and_protocol)
{
	struct np_pod *p = mkpod("x", "a", NULL);
	add_port(&p->ports, &p->nports, "dns", 53, NP_UDP);
	add_port(&p->ports, &p->nports, "dns", 5353, NP_TCP);
	add_port(&p->ports, &p->nports, "http", 80, NP_TCP);
	add_port(&p->ports, &p->nports, NULL, 81, NP_TCP);
	int udp = pod_resolve_named_port(p, "dns", NP_UDP);
	int tcp = pod_resolve_named_port(p, "dns", NP_TCP);
	int http_udp = pod_resolve_named_port(p, "http", NP_UDP);
	int http_sctp = pod_resolve_named_port(p, "http", NP_SCTP);
	int missing = pod_resolve_named_port(p, "nope", NP_TCP);
	pod_free(p);
	CHECK_INT(udp, 53);
	CHECK_INT(tcp, 5353);
	CHECK_INT(http_udp, -ENOENT);
	CHECK_INT(http_sctp, -ENOENT);
	CHECK_INT(missing, -ENOENT);
}

TEST(deployment_new_defaults_to_one_replica)
{
	struct np_deployment *d = deployment_new();
	CHECK_INT(d->replicas, 1);
	deployment_free(d);
}

TEST(free_functions_accept_null_and_release_nested_objects)
{
	namespace_free(NULL);
	pod_free(NULL);
	deployment_free(NULL);
	service_free(NULL);
	policy_free(NULL);

	struct np_policy *p = policy_new();
	p->meta.name = strdup("deny");
	p->meta.namespace = strdup("x");
	labels_set(&p->meta.annotations, "note", "n");
	selector_parse("app=web", &p->pod_sel, NULL);
	p->ingress = calloc(1, sizeof(*p->ingress));
	p->ningress = 1;
	struct np_rule *r = &p->ingress[0];
	r->peers = calloc(2, sizeof(*r->peers));
	r->npeers = 2;
	r->peers[0].has_pod_sel = r->peers[0].has_ns_sel = true;
	selector_parse("a", &r->peers[0].pod_sel, NULL);
	selector_parse("b=c", &r->peers[0].ns_sel, NULL);
	r->peers[1].has_ipblock = true;
	cidr_parse("10.0.0.0/8", &r->peers[1].ipblock.cidr, NULL);
	r->peers[1].ipblock.except = calloc(1, sizeof(struct np_cidr));
	r->peers[1].ipblock.nexcept = 1;
	r->ports = calloc(1, sizeof(*r->ports));
	r->nports = 1;
	r->ports[0] = (struct np_port_spec){.kind = PORT_NAMED, .name = strdup("http")};
	p->egress = calloc(1, sizeof(*p->egress));
	p->negress = 1;
	policy_free(p);

	struct np_service *s = service_new();
	s->meta.name = strdup("svc");
	labels_set(&s->selector, "app", "web");
	s->ports = calloc(1, sizeof(*s->ports));
	s->nports = 1;
	s->ports[0] = (struct np_service_port){strdup("web"), NP_TCP, 80, 0, strdup("http")};
	s->type = strdup("ClusterIP");
	s->cluster_ip = strdup("10.96.0.10");
	service_free(s);

	struct np_deployment *d = mkdeploy("x", "web", 2, "app=web");
	deployment_free(d);

	struct np_peer peer = {0};
	selector_parse("a", &peer.pod_sel, NULL);
	peer_clear(&peer);
	CHECK_INT(peer.pod_sel.n, 0);
}

/* ---- cluster -------------------------------------------------------------------- */

TEST(cluster_rejects_duplicates_of_the_same_kind_namespace_and_name)
{
	struct np_cluster *c = cluster_new();
	struct np_pod *dup = mkpod("x", "a", NULL);
	struct np_namespace *nsdup = mkns("x");
	CHECK_INT(cluster_add_pod(c, mkpod("x", "a", NULL)), 0);
	CHECK_INT(cluster_add_pod(c, mkpod("y", "a", NULL)), 0);
	int r_pod = cluster_add_pod(c, dup);
	CHECK_INT(cluster_add_namespace(c, mkns("x")), 0);
	int r_ns = cluster_add_namespace(c, nsdup);
	struct np_policy *pol = policy_new();
	pol->meta.name = strdup("a");
	pol->meta.namespace = strdup("x");
	int r_pol = cluster_add_policy(c, pol);
	struct np_policy *poldup = policy_new();
	poldup->meta.name = strdup("a");
	poldup->meta.namespace = strdup("x");
	int r_poldup = cluster_add_policy(c, poldup);
	pod_free(dup);
	namespace_free(nsdup);
	policy_free(poldup);
	cluster_free(c);
	CHECK_INT(r_pod, -EEXIST);
	CHECK_INT(r_ns, -EEXIST);
	CHECK_INT(r_pol, 0);
	CHECK_INT(r_poldup, -EEXIST);
}

TEST(cluster_find_looks_up_by_namespace_and_name)
{
	struct np_cluster *c = cluster_new();
	cluster_add_pod(c, mkpod("x", "a", NULL));
	cluster_add_pod(c, mkpod("y", "a", "app=y"));
	cluster_add_namespace(c, mkns("x"));
	struct np_pod *p = cluster_find_pod(c, "y", "a");
	bool found = p && strcmp(labels_get(&p->meta.labels, "app"), "y") == 0;
	bool missing = cluster_find_pod(c, "z", "a") == NULL;
	bool ns = cluster_find_namespace(c, "x") != NULL && !cluster_find_namespace(c, "y");
	bool nopol = cluster_find_policy(c, "x", "a") == NULL;
	cluster_free(c);
	CHECK(found);
	CHECK(missing);
	CHECK(ns);
	CHECK(nopol);
}

TEST(cluster_intern_file_returns_one_pointer_per_name)
{
	struct np_cluster *c = cluster_new();
	const char *a = cluster_intern_file(c, "a.yaml");
	const char *b = cluster_intern_file(c, "b.yaml");
	const char *a2 = cluster_intern_file(c, "a.yaml");
	bool ok = a && b && a == a2 && a != b && strcmp(b, "b.yaml") == 0 && c->nfiles == 2;
	cluster_free(c);
	CHECK(ok);
}

static bool is_generated(const char *s, size_t n)
{
	static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
	for (size_t i = 0; i < n; i++)
		if (!s[i] || !strchr(alphabet, s[i]))
			return false;
	return true;
}

/* "web-<10>-<5>" */
static bool looks_derived(const char *name, const char *deploy)
{
	size_t n = strlen(deploy);
	return strncmp(name, deploy, n) == 0 && name[n] == '-' && is_generated(name + n + 1, 10) &&
	       name[n + 11] == '-' && is_generated(name + n + 12, 5) && strlen(name) == n + 17;
}

TEST(cluster_finish_derives_deployment_pods)
{
	struct np_cluster *c = cluster_new();
	cluster_add_deployment(c, mkdeploy("x", "web", 3, "app=web,tier=front"));
	CHECK_INT(cluster_finish(c), 0);
	CHECK_INT(c->npods, 3);
	for (size_t i = 0; i < c->npods; i++) {
		struct np_pod *p = c->pods[i];
		CHECK(looks_derived(p->meta.name, "web"));
		CHECK_STR(p->meta.namespace, "x");
		CHECK_STR(p->owner, "web");
		CHECK_STR(labels_get(&p->meta.labels, "app"), "web");
		CHECK_STR(labels_get(&p->meta.labels, "tier"), "front");
		const char *hash = labels_get(&p->meta.labels, "pod-template-hash");
		CHECK(hash && strlen(hash) == 10 && strncmp(p->meta.name + 4, hash, 10) == 0);
		CHECK_INT(p->nports, 2);
		CHECK_STR(p->ports[0].name, "http");
		CHECK_INT(p->ports[1].port, 53);
		CHECK(p->ports[1].name == NULL);
		CHECK_INT(p->nips, 0);
		CHECK(selector_matches(&c->deployments[0]->selector, &p->meta.labels));
	}
	CHECK(strcmp(c->pods[0]->meta.name, c->pods[1]->meta.name) < 0);
	CHECK(strcmp(c->pods[1]->meta.name, c->pods[2]->meta.name) < 0);
	cluster_free(c);
}

/* Names of the derived pods of one deployment, joined. */
static const char *derived_names(const char *ns, const char *name, int replicas, const char *labels)
{
	static char buf[1024];
	struct np_cluster *c = cluster_new();
	cluster_add_deployment(c, mkdeploy(ns, name, replicas, labels));
	buf[0] = '\0';
	if (cluster_finish(c) == 0) {
		for (size_t i = 0; i < c->npods; i++) {
			strcat(buf, c->pods[i]->meta.name);
			strcat(buf, " ");
		}
	}
	cluster_free(c);
	return buf;
}

TEST(cluster_finish_pod_names_are_deterministic)
{
	char first[1024];
	snprintf(first, sizeof(first), "%s", derived_names("x", "web", 4, "app=web"));
	CHECK(first[0]);
	CHECK_STR(derived_names("x", "web", 4, "app=web"), first);
	/* A different template gives a different hash. */
	char other[1024];
	snprintf(other, sizeof(other), "%s", derived_names("x", "web", 4, "app=web2"));
	CHECK(strncmp(first, other, 15) != 0);
	/* The same deployment in another namespace keeps its hash but not its suffixes. */
	snprintf(other, sizeof(other), "%s", derived_names("y", "web", 1, "app=web"));
	CHECK(strncmp(first, other, 15) == 0);
	CHECK(strncmp(first, other, 21) != 0);
}

TEST(cluster_finish_twice_changes_nothing)
{
	struct np_cluster *c = cluster_new();
	cluster_add_deployment(c, mkdeploy("x", "web", 2, "app=web"));
	cluster_add_pod(c, mkpod("x", "solo", NULL));
	CHECK_INT(cluster_finish(c), 0);
	CHECK_INT(c->npods, 3);
	CHECK_INT(c->nnamespaces, 1);
	struct np_pod *p0 = c->pods[0];
	char *before = strdup(p0->meta.name);
	int again = cluster_finish(c);
	bool same = c->npods == 3 && c->nnamespaces == 1 && c->pods[0] == p0 &&
		    strcmp(c->pods[0]->meta.name, before) == 0 &&
		    c->namespaces[0]->meta.labels.n == 1;
	free(before);
	cluster_free(c);
	CHECK_INT(again, 0);
	CHECK(same);
}

TEST(cluster_finish_zero_replicas_derives_no_pods)
{
	struct np_cluster *c = cluster_new();
	cluster_add_deployment(c, mkdeploy("x", "web", 0, "app=web"));
	int r = cluster_finish(c);
	size_t npods = c->npods;
	cluster_free(c);
	CHECK_INT(r, 0);
	CHECK_INT(npods, 0);
}

TEST(cluster_finish_many_replicas_get_distinct_names)
{
	struct np_cluster *c = cluster_new();
	cluster_add_deployment(c, mkdeploy("x", "big", 3000, "app=big"));
	int r = cluster_finish(c);
	bool distinct = c->npods == 3000;
	for (size_t i = 1; distinct && i < c->npods; i++)
		distinct = strcmp(c->pods[i - 1]->meta.name, c->pods[i]->meta.name) < 0;
	cluster_free(c);
	CHECK_INT(r, 0);
	CHECK(distinct);
}

TEST(cluster_finish_rejects_a_derived_name_taken_by_a_declared_pod)
{
	char name[128];
	snprintf(name, sizeof(name), "%s", derived_names("x", "web", 1, "app=web"));
	name[strlen(name) - 1] = '\0';
	struct np_cluster *c = cluster_new();
	cluster_add_pod(c, mkpod("x", name, NULL));
	cluster_add_deployment(c, mkdeploy("x", "web", 3, "app=web"));
	int r = cluster_finish(c);
	size_t npods = c->npods;
	cluster_free(c);
	CHECK_INT(r, -EEXIST);
	CHECK_INT(npods, 1);
}

TEST(cluster_finish_adds_implicit_namespaces_with_metadata_name)
{
	struct np_cluster *c = cluster_new();
	cluster_add_pod(c, mkpod("y", "a", NULL));
	cluster_add_pod(c, mkpod("x", "a", NULL));
	struct np_namespace *x = mkns("x");
	labels_set(&x->meta.labels, "team", "blue");
	cluster_add_namespace(c, x);
	CHECK_INT(cluster_finish(c), 0);
	CHECK_INT(c->nnamespaces, 2);
	CHECK_STR(c->namespaces[0]->meta.name, "x");
	CHECK(!c->namespaces[0]->implicit);
	CHECK_STR(labels_str(&c->namespaces[0]->meta.labels),
		  "kubernetes.io/metadata.name=x,team=blue");
	CHECK_STR(c->namespaces[1]->meta.name, "y");
	CHECK(c->namespaces[1]->implicit);
	CHECK_STR(labels_str(&c->namespaces[1]->meta.labels), "kubernetes.io/metadata.name=y");
	cluster_free(c);
}

TEST(cluster_finish_overrides_a_user_metadata_name_label)
{
	struct np_cluster *c = cluster_new();
	struct np_namespace *x = mkns("x");
	labels_set(&x->meta.labels, "kubernetes.io/metadata.name", "spoofed");
	cluster_add_namespace(c, x);
	CHECK_INT(cluster_finish(c), 0);
	CHECK_STR(labels_get(&x->meta.labels, "kubernetes.io/metadata.name"), "x");
	cluster_free(c);
}

TEST(cluster_finish_puts_objects_without_namespace_in_default)
{
	struct np_cluster *c = cluster_new();
	cluster_add_pod(c, mkpod(NULL, "a", NULL));
	CHECK_INT(cluster_finish(c), 0);
	CHECK_STR(c->pods[0]->meta.namespace, "default");
	CHECK_INT(c->nnamespaces, 1);
	CHECK_STR(c->namespaces[0]->meta.name, "default");
	CHECK(c->namespaces[0]->implicit);
	cluster_free(c);
}

TEST(cluster_finish_sorts_every_list_by_namespace_then_name)
{
	struct np_cluster *c = cluster_new();
	cluster_add_pod(c, mkpod("z", "a", NULL));
	cluster_add_pod(c, mkpod("x", "c", NULL));
	cluster_add_pod(c, mkpod("x", "b", NULL));
	cluster_add_pod(c, mkpod("y", "a", NULL));
	cluster_add_namespace(c, mkns("z"));
	const char *pols[][2] = {{"y", "p"}, {"x", "q"}, {"x", "p"}};
	for (size_t i = 0; i < 3; i++) {
		struct np_policy *p = policy_new();
		p->meta.namespace = strdup(pols[i][0]);
		p->meta.name = strdup(pols[i][1]);
		cluster_add_policy(c, p);
	}
	CHECK_INT(cluster_finish(c), 0);
	char buf[256] = "";
	for (size_t i = 0; i < c->npods; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s/%s ",
			 c->pods[i]->meta.namespace, c->pods[i]->meta.name);
	CHECK_STR(buf, "x/b x/c y/a z/a ");
	buf[0] = '\0';
	for (size_t i = 0; i < c->nnamespaces; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s ",
			 c->namespaces[i]->meta.name);
	CHECK_STR(buf, "x y z ");
	buf[0] = '\0';
	for (size_t i = 0; i < c->npolicies; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s/%s ",
			 c->policies[i]->meta.namespace, c->policies[i]->meta.name);
	CHECK_STR(buf, "x/p x/q y/p ");
	cluster_free(c);
}

TEST(find_sees_every_object_after_lookups_adds_sorting_and_removals)
{
	struct np_cluster *c = cluster_new();
	char name[32];
	/* added in reverse order, looked up between adds, so that the lookup
	 * index is partly built when cluster_finish reorders the list */
	for (int i = 99; i >= 0; i--) {
		snprintf(name, sizeof(name), "p%02d", i);
		CHECK_INT(cluster_add_pod(c, mkpod("ns", name, "")), 0);
		if (i % 7 == 0 && i > 10) /* the last ones stay unindexed */
			CHECK(cluster_find_pod(c, "ns", name) != NULL);
	}
	CHECK_INT(cluster_finish(c), 0);
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "p%02d", i);
		struct np_pod *p = cluster_find_pod(c, "ns", name);
		CHECK(p != NULL);
		CHECK_STR(p->meta.name, name);
	}
	/* an in-place removal, announced as the contract says */
	pod_free(c->pods[0]);
	memmove(&c->pods[0], &c->pods[1], (c->npods - 1) * sizeof(*c->pods));
	c->npods--;
	cluster_lists_changed(c);
	CHECK(cluster_find_pod(c, "ns", "p00") == NULL);
	CHECK(cluster_find_pod(c, "ns", "p99") != NULL);
	CHECK(cluster_find_pod(c, "ns", "p50") == c->pods[49]);
	cluster_free(c);
}
