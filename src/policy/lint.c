/* lint: what a reviewer wants flagged, each finding at the place it was
 * written. Every check errs on the side of silence: a finding must be a
 * certain consequence of the input, never a guess about the cluster
 * beyond it (no finding for a namespace that is declared but has no pods,
 * for an empty podSelector in an empty namespace, for a named port where
 * there is no pod to resolve it on). */
#include "policy_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DNS_NS "kube-system"
#define DNS_KEY "k8s-app"
#define DNS_VALUE "kube-dns"
#define LIST_MAX 5     /* pods named in one finding before "and N more" */

struct lint {
	struct engine *e;
	struct diag_list found;
	int warnings;
};

static int finding(struct lint *l, enum diag_level level, struct np_pos pos, const char *code,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int finding(struct lint *l, enum diag_level level, struct np_pos pos, const char *code,
		   const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int err = diag_addv(&l->found, level, pos.file, pos.line, pos.col, code, fmt, ap);
	va_end(ap);
	l->warnings += !err && level == DIAG_WARNING;
	return err;
}

/* a when it was written somewhere, else b. */
static struct np_pos pos_or(struct np_pos a, struct np_pos b)
{
	return a.line ? a : b;
}

/* Selector text for messages: "{}" for the empty selector. */
static char *sel_text(const struct np_selector *s)
{
	if (selector_is_empty(s))
		return strdup("{}");
	return selector_to_string(s);
}

static const char *dir_name(bool egress)
{
	return egress ? "egress" : "ingress";
}

/* One direction of a policy: its rules and their peer sets side by side. */
struct dir_rules {
	bool egress;
	const struct np_rule *rules;
	const struct rule_psets *sets;
	size_t n;
};

typedef int (*rule_fn)(struct lint *l, const struct pol_entry *pe, const struct dir_rules *d,
		       size_t i);

/* Calls fn on every rule of both directions; stops at the first error. */
static int each_rule(struct lint *l, const struct pol_entry *pe, rule_fn fn)
{
	for (int egress = 0; egress < 2; egress++) {
		struct dir_rules d = {egress, egress ? pe->pol->egress : pe->pol->ingress,
				      egress ? pe->eg : pe->ing, egress ? pe->neg : pe->ning};
		for (size_t i = 0; i < d.n; i++) {
			int err = fn(l, pe, &d, i);
			if (err)
				return err;
		}
	}
	return 0;
}

static char *name_list(const struct ptrvec *pods, const char *(*name_of)(const void *));

static const char *pod_name_of(const void *pod)
{
	return ((const struct np_pod *)pod)->meta.name;
}

static char *pod_list(const struct ptrvec *pods)
{
	return name_list(pods, pod_name_of);
}

/* ---- NP008: a selector that matches nothing but would with one term changed ---------- */

/* what: "policy x/y: podSelector", "policy x/y: peer podSelector". */
static int lint_near_selector(struct lint *l, struct np_pos pos, const char *what,
			      const struct np_selector *sel, const char *ns)
{
	const struct np_requirement *term;
	const struct np_pod **pods;
	size_t n;
	int err = engine_selector_near_pods(l->e, sel, ns, &term, &pods, &n);
	if (err || !term) {
		free(pods);
		return err;
	}
	struct np_selector one = {(struct np_requirement *)term, 1};
	struct ptrvec pv = {(void **)pods, n, n};
	char *st = sel_text(sel), *tt = selector_to_string(&one), *names = pod_list(&pv);
	char *labels = labels_to_string(&pods[0]->meta.labels);
	if (!st || !tt || !names || !labels)
		err = -ENOMEM;
	else
		err = finding(l, DIAG_WARNING, pos_or(term->pos, pos), "NP008",
			      "%s {%s} matches no pod in namespace %s, but only its term %s keeps "
			      "it from matching %zu pod%s: %s (labels %s)", what, st, ns,
			      tt, n, n == 1 ? "" : "s", names, labels);
	free(st);
	free(tt);
	free(names);
	free(labels);
	free(pods);
	return err;
}

static int lint_near_namespaces(struct lint *l, const struct pol_entry *pe, struct np_pos pos,
				const struct np_selector *sel)
{
	const struct np_requirement *term;
	const struct np_labels *labels;
	const char **names;
	size_t n;
	int err = engine_selector_near_namespaces(l->e, sel, &term, &names, &labels, &n);
	if (err || !term) {
		free(names);
		return err;
	}
	struct np_selector one = {(struct np_requirement *)term, 1};
	struct ptrvec pv = {(void **)names, n, n};
	char *st = sel_text(sel), *tt = selector_to_string(&one), *list = name_list(&pv, NULL);
	char *lt = labels_to_string(labels);
	if (!st || !tt || !list || !lt)
		err = -ENOMEM;
	else
		err = finding(l, DIAG_WARNING, pos_or(term->pos, pos), "NP008",
			      "policy %s/%s: namespaceSelector {%s} matches no namespace, but only its "
			      "term %s keeps it from matching namespace%s %s (labels %s)", pe->ns->name,
			      pe->pol->meta.name, st, tt, n == 1 ? "" : "s", list, lt);
	free(st);
	free(tt);
	free(list);
	free(lt);
	free(names);
	return err;
}

/* ---- NP001: a policy that selects nothing ------------------------------------------- */

static int lint_selects_nothing(struct lint *l, const struct pol_entry *pe)
{
	const struct np_policy *pol = pe->pol;
	if (pe->selected->n > 0)
		return 0;
	char *s = sel_text(&pol->pod_sel), *what = NULL;
	if (!s)
		return -ENOMEM;
	int err = finding(l, DIAG_WARNING, pol->meta.pos, "NP001",
			  "policy %s/%s selects no pod in the input (podSelector %s)",
			  pe->ns->name, pol->meta.name, s);
	free(s);
	if (!err && asprintf(&what, "policy %s/%s: podSelector", pe->ns->name, pol->meta.name) < 0)
		return -ENOMEM;
	if (!err)
		err = lint_near_selector(l, pol->meta.pos, what, &pol->pod_sel, pe->ns->name);
	free(what);
	return err;
}

/* ---- NP002: a peer selector that matches nothing ------------------------------------- */

/* Namespaces every cluster has, whether the input declares them or not. */
static const char *const well_known_ns[] = {"default", "kube-system", "kube-public",
					    "kube-node-lease"};

/* Whether sel matches a namespace of the input or one every cluster has
 * (with its kubernetes.io/metadata.name label). *pods: pods of the input
 * in the matching namespaces. */
static bool ns_sel_matches_some(struct engine *e, const struct np_selector *sel, size_t *pods)
{
	if (index_count_namespaces(e, sel, pods) > 0)
		return true;
	for (size_t i = 0; i < sizeof(well_known_ns) / sizeof(well_known_ns[0]); i++) {
		struct np_label l = {(char *)"kubernetes.io/metadata.name", (char *)well_known_ns[i]};
		struct np_labels only = {&l, 1};
		if (!index_ns(e, well_known_ns[i]) && selector_matches(sel, &only))
			return true;
	}
	return false;
}

static int lint_peer(struct lint *l, const struct pol_entry *pe, const struct np_rule *ru,
		     const struct np_peer *peer, const struct pset *ps)
{
	struct np_pos pos = pos_or(peer->pos, pos_or(ru->pos, pe->pol->meta.pos));
	char *ps_text = NULL, *ns_text = NULL;
	size_t ns_pods = 0;
	int err = 0;
	if (peer->has_ipblock || !ps || ps->n > 0)
		return 0;
	if (peer->has_ns_sel && !ns_sel_matches_some(l->e, &peer->ns_sel, &ns_pods)) {
		if (!(ns_text = sel_text(&peer->ns_sel)))
			return -ENOMEM;
		err = finding(l, DIAG_WARNING, pos, "NP002",
			      "namespaceSelector %s matches no namespace in the input", ns_text);
		free(ns_text);
		return err ? err : lint_near_namespaces(l, pe, pos, &peer->ns_sel);
	}
	/* An empty podSelector only finds nothing when the namespaces have no
	 * pods in the input, and namespaces whose pods the input does not
	 * describe say nothing about the selector: both are no mistake. */
	if (!peer->has_pod_sel || selector_is_empty(&peer->pod_sel) ||
	    (peer->has_ns_sel && ns_pods == 0))
		return 0;
	if (!(ps_text = sel_text(&peer->pod_sel)) ||
	    (peer->has_ns_sel && !(ns_text = sel_text(&peer->ns_sel))))
		err = -ENOMEM;
	else if (peer->has_ns_sel)
		err = finding(l, DIAG_WARNING, pos, "NP002",
			      "podSelector %s matches no pod in the namespaces that "
			      "namespaceSelector %s selects", ps_text, ns_text);
	else
		err = finding(l, DIAG_WARNING, pos, "NP002",
			      "podSelector %s matches no pod in namespace %s", ps_text, pe->ns->name);
	free(ps_text);
	if (!err && !peer->has_ns_sel) {
		char *what = NULL;
		if (asprintf(&what, "policy %s/%s: peer podSelector", pe->ns->name, pe->pol->meta.name) < 0)
			return -ENOMEM;
		err = lint_near_selector(l, pos, what, &peer->pod_sel, pe->ns->name);
		free(what);
	}
	free(ns_text);
	return err;
}

static int lint_rule_peers(struct lint *l, const struct pol_entry *pe,
			   const struct dir_rules *d, size_t i)
{
	for (size_t j = 0; j < d->sets[i].n; j++) {
		int err = lint_peer(l, pe, &d->rules[i], &d->rules[i].peers[j], d->sets[i].peers[j]);
		if (err)
			return err;
	}
	return 0;
}

/* ---- NP004: a rule shadowed by another of the same policy and direction ------------------- */

static bool full_range(const struct np_port_spec *q)
{
	return q->kind == PORT_NUMBER && q->port <= 1 && q->end_port >= 65535;
}

static bool port_covered(const struct np_port_spec *a, const struct np_rule *b)
{
	if (b->nports == 0)
		return true;
	for (size_t i = 0; i < b->nports; i++) {
		const struct np_port_spec *q = &b->ports[i];
		if (q->proto != a->proto)
			continue;
		if (q->kind == PORT_ANY || full_range(q))
			return true;
		if (a->kind == PORT_NUMBER && q->kind == PORT_NUMBER &&
		    q->port <= a->port &&
		    (a->end_port ? a->end_port : a->port) <= (q->end_port ? q->end_port : q->port))
			return true;
		if (a->kind == PORT_NAMED && q->kind == PORT_NAMED && a->name && q->name &&
		    strcmp(a->name, q->name) == 0)
			return true;
	}
	return false;
}

/* Whether rule b allows everything rule a allows, judged on the text
 * alone (peers canonically equal, ports contained), so it holds whatever
 * pods exist. */
static bool rule_covered(const struct np_rule *a, const struct rule_psets *as,
			 const struct np_rule *b, const struct rule_psets *bs)
{
	if (b->npeers > 0) {
		if (a->npeers == 0)
			return false;
		for (size_t i = 0; i < as->n; i++) {
			bool found = false;
			for (size_t j = 0; as->peers[i] && j < bs->n && !found; j++)
				found = bs->peers[j] == as->peers[i];
			if (!found)
				return false;
		}
	}
	if (b->nports > 0) {
		if (a->nports == 0)
			return false;
		for (size_t i = 0; i < a->nports; i++)
			if (!port_covered(&a->ports[i], b))
				return false;
	}
	return true;
}

static int lint_rule_shadowed(struct lint *l, const struct pol_entry *pe,
			      const struct dir_rules *d, size_t a)
{
	for (size_t b = 0; b < d->n; b++) {
		if (a == b || !rule_covered(&d->rules[a], &d->sets[a], &d->rules[b], &d->sets[b]))
			continue;
		/* Two equivalent rules: only the later one is redundant. */
		if (b > a && rule_covered(&d->rules[b], &d->sets[b], &d->rules[a], &d->sets[a]))
			continue;
		return finding(l, DIAG_WARNING, pos_or(d->rules[a].pos, pe->pol->meta.pos), "NP004",
			       "%s rule %zu of policy %s/%s is shadowed by rule %zu: every peer "
			       "and port it allows is allowed there", dir_name(d->egress), a,
			       pe->ns->name, pe->pol->meta.name, b);
	}
	return 0;
}

/* ---- NP005: a named port that no pod declares where it is resolved -------------------------- */

struct named_scan {
	const struct np_port_spec *spec;
	size_t pods;        /* pods looked at */
	bool declared;      /* some pod declares name and protocol */
	int other_proto;    /* a protocol some pod declares the name with, or -1 */
};

static void scan_pod(struct named_scan *s, const struct np_pod *pod)
{
	s->pods++;
	for (size_t i = 0; i < pod->nports; i++) {
		const struct np_container_port *cp = &pod->ports[i];
		if (!cp->name || strcmp(cp->name, s->spec->name) != 0)
			continue;
		if (cp->proto == s->spec->proto)
			s->declared = true;
		else
			s->other_proto = (int)cp->proto;
	}
}

static void scan_set(struct named_scan *s, const struct pset *ps)
{
	for (size_t i = 0; ps && i < ps->n && !s->declared; i++)
		scan_pod(s, ps->m[i]->pod);
}

static int lint_named_port(struct lint *l, const struct pol_entry *pe, bool egress,
			   const struct np_rule *ru, const struct rule_psets *rs,
			   const struct np_port_spec *spec)
{
	const struct np_cluster *cl = l->e->cl;
	struct named_scan s = {spec, 0, false, -1};
	const char *where;
	if (!egress) {
		scan_set(&s, pe->selected);
		where = "no pod the policy selects";
	} else if (ru->npeers == 0) {
		for (size_t i = 0; i < cl->npods && !s.declared; i++)
			scan_pod(&s, cl->pods[i]);
		where = "no pod in the input";
	} else {
		for (size_t i = 0; i < rs->n && !s.declared; i++)
			scan_set(&s, rs->peers[i]);
		where = "no pod the rule's peers match";
	}
	/* No pod at all: NP001/NP002 tell the story; nothing to add. */
	if (s.declared || s.pods == 0)
		return 0;
	char hint[64] = "";
	if (s.other_proto >= 0)
		snprintf(hint, sizeof(hint), " (it is declared with protocol %s)",
			 proto_name((enum np_proto)s.other_proto));
	return finding(l, DIAG_WARNING, pos_or(spec->pos, pos_or(ru->pos, pe->pol->meta.pos)),
		       "NP005", "named port \"%s\" (%s) in %s is declared by %s%s",
		       spec->name, proto_name(spec->proto), pe->pol->meta.name, where, hint);
}

static int lint_rule_named_ports(struct lint *l, const struct pol_entry *pe,
				 const struct dir_rules *d, size_t i)
{
	for (size_t j = 0; j < d->rules[i].nports; j++) {
		const struct np_port_spec *spec = &d->rules[i].ports[j];
		if (spec->kind != PORT_NAMED || !spec->name)
			continue;
		int err = lint_named_port(l, pe, d->egress, &d->rules[i], &d->sets[i], spec);
		if (err)
			return err;
	}
	return 0;
}

/* ---- NP003 / NP007: egress isolation that blocks DNS ------------------------------------------------ */

/* The cluster DNS: the input's kube-system pods labelled k8s-app=kube-dns,
 * or else a stand-in with the labels and named ports CoreDNS really has
 * (its address unknown). */
struct dns {
	const struct np_pod **pods;
	size_t n;
	struct np_pod stand_in;
	struct np_container_port stand_in_ports[3];
	const struct np_pod *stand_in_ptr;
};

static bool is_dns_pod(const struct np_pod *p)
{
	const char *v = labels_get(&p->meta.labels, DNS_KEY);
	return p->meta.namespace && strcmp(p->meta.namespace, DNS_NS) == 0 && v &&
	       strcmp(v, DNS_VALUE) == 0;
}

static int dns_find(const struct np_cluster *cl, struct dns *d)
{
	memset(d, 0, sizeof(*d));
	d->pods = calloc(cl->npods + 1, sizeof(*d->pods));
	if (!d->pods)
		return -ENOMEM;
	for (size_t i = 0; i < cl->npods; i++)
		if (is_dns_pod(cl->pods[i]))
			d->pods[d->n++] = cl->pods[i];
	if (d->n)
		return 0;
	d->stand_in.meta.name = (char *)DNS_VALUE;
	d->stand_in.meta.namespace = (char *)DNS_NS;
	if (labels_set(&d->stand_in.meta.labels, DNS_KEY, DNS_VALUE) < 0)
		return -ENOMEM;
	d->stand_in_ports[0] = (struct np_container_port){(char *)"dns", 53, NP_UDP};
	d->stand_in_ports[1] = (struct np_container_port){(char *)"dns-tcp", 53, NP_TCP};
	d->stand_in_ports[2] = (struct np_container_port){(char *)"metrics", 9153, NP_TCP};
	d->stand_in.ports = d->stand_in_ports;
	d->stand_in.nports = 3;
	d->stand_in_ptr = &d->stand_in;
	d->pods[d->n++] = d->stand_in_ptr;
	return 0;
}

static void dns_clear(struct dns *d)
{
	labels_clear(&d->stand_in.meta.labels);
	free(d->pods);
}

static struct np_endpoint endpoint_of(const struct np_pod *p)
{
	struct np_endpoint ep = {p, {0}};
	if (p->nips)
		ep.ip = p->ips[0];
	return ep;
}

/* Per namespace: the egress-isolated pods that cannot reach the DNS on
 * UDP 53 (blocked) or only on UDP (no_tcp), and the policy to blame. */
struct dns_group {
	const char *ns;
	struct ptrvec blocked, no_tcp;
	const struct np_policy *blame_udp, *blame_tcp;
};

/* The policy a reader should look at: one that isolates without allowing
 * anything (a default deny) before one that allows something, then the
 * first written. */
static bool blame_better(const struct np_policy *a, const struct np_policy *b)
{
	if (!b)
		return true;
	if ((a->negress == 0) != (b->negress == 0))
		return a->negress == 0;
	int c = strcmp(a->meta.pos.file ? a->meta.pos.file : "", b->meta.pos.file ? b->meta.pos.file : "");
	if (c)
		return c < 0;
	if (a->meta.pos.line != b->meta.pos.line)
		return a->meta.pos.line < b->meta.pos.line;
	return strcmp(a->meta.name, b->meta.name) < 0;
}

static void blame(const struct np_policy **who, const struct np_dir_verdict *v)
{
	for (size_t i = 0; i < v->nisolating; i++)
		if (blame_better(v->isolating[i], *who))
			*who = v->isolating[i];
}

/* Judges the egress of pod to every DNS pod on proto 53. *isolated
 * tells whether pod is egress-isolated at all; v keeps one verdict of a
 * denial (for blame), or is cleared. */
static int dns_denied(struct lint *l, const struct np_pod *pod, const struct dns *d,
		      enum np_proto proto, bool *isolated, bool *denied, struct np_dir_verdict *v)
{
	struct dir_opts opts = {.unknown_ip_in_slash0 = true};
	struct np_endpoint src = endpoint_of(pod);
	*denied = false;
	for (size_t i = 0; i < d->n && !*denied; i++) {
		struct np_endpoint dst = endpoint_of(d->pods[i]);
		free(v->isolating);
		int err = engine_judge(l->e, true, &src, &dst, (struct np_port){53, proto}, &opts, v);
		if (err)
			return err;
		*isolated = v->isolated;
		*denied = !v->allowed;
		if (!v->isolated)
			break;
	}
	return 0;
}

static int dns_judge_pod(struct lint *l, const struct np_pod *pod, const struct dns *d,
			 struct dns_group *g)
{
	struct np_dir_verdict v = {0};
	bool isolated = false, udp_denied, tcp_denied = false;
	int err = dns_denied(l, pod, d, NP_UDP, &isolated, &udp_denied, &v);
	if (!err && isolated && udp_denied) {
		blame(&g->blame_udp, &v);
		err = ptrvec_push(&g->blocked, (void *)pod);
	} else if (!err && isolated) {
		err = dns_denied(l, pod, d, NP_TCP, &isolated, &tcp_denied, &v);
		if (!err && tcp_denied) {
			blame(&g->blame_tcp, &v);
			err = ptrvec_push(&g->no_tcp, (void *)pod);
		}
	}
	free(v.isolating);
	return err;
}

/* "a, b, c and 4 more": the names of pods, or the strings themselves when
 * name_of is NULL. */
static char *name_list(const struct ptrvec *pods, const char *(*name_of)(const void *))
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	for (size_t i = 0; i < pods->n && i < LIST_MAX; i++)
		fprintf(f, "%s%s", i ? ", " : "", name_of ? name_of(pods->v[i]) : (const char *)pods->v[i]);
	if (pods->n > LIST_MAX)
		fprintf(f, " and %zu more", pods->n - LIST_MAX);
	fclose(f);
	return out;
}

static int dns_report(struct lint *l, struct dns_group *g, const struct dns *d)
{
	const char *assumed = d->stand_in_ptr ? "; none in the input, assumed" : "";
	char *names = NULL;
	int err = 0;
	if (g->blocked.n) {
		if (!(names = pod_list(&g->blocked)))
			return -ENOMEM;
		err = finding(l, DIAG_WARNING, g->blame_udp->meta.pos, "NP003",
			      "egress isolation blocks DNS for %zu pod%s in namespace %s (%s): "
			      "UDP port 53 to the cluster DNS (" DNS_NS " pods labelled "
			      DNS_KEY "=" DNS_VALUE "%s) is denied", g->blocked.n,
			      g->blocked.n == 1 ? "" : "s", g->ns, names, assumed);
		free(names);
	}
	if (!err && g->no_tcp.n) {
		if (!(names = pod_list(&g->no_tcp)))
			return -ENOMEM;
		err = finding(l, DIAG_NOTE, g->blame_tcp->meta.pos, "NP007",
			      "DNS over TCP is blocked for %zu pod%s in namespace %s (%s): UDP "
			      "port 53 to the cluster DNS is allowed but TCP port 53 is not, and "
			      "answers too large for UDP are retried over TCP", g->no_tcp.n,
			      g->no_tcp.n == 1 ? "" : "s", g->ns, names);
		free(names);
	}
	return err;
}

static int lint_dns(struct lint *l)
{
	const struct np_cluster *cl = l->e->cl;
	struct dns d;
	struct dns_group g = {0};
	int err = dns_find(cl, &d);
	/* Pods are grouped by namespace; cl->pods keeps a namespace's pods
	 * together after cluster_finish, and a namespace seen twice would
	 * only split its finding in two. */
	for (size_t i = 0; !err && i <= cl->npods; i++) {
		const struct np_pod *pod = i < cl->npods ? cl->pods[i] : NULL;
		const char *ns = pod ? (pod->meta.namespace ? pod->meta.namespace : "default") : NULL;
		if (g.ns && (!ns || strcmp(ns, g.ns) != 0)) {
			err = dns_report(l, &g, &d);
			ptrvec_clear(&g.blocked);
			ptrvec_clear(&g.no_tcp);
			memset(&g, 0, sizeof(g));
		}
		if (err || !pod || is_dns_pod(pod))
			continue;
		g.ns = ns;
		err = dns_judge_pod(l, pod, &d, &g);
	}
	ptrvec_clear(&g.blocked);
	ptrvec_clear(&g.no_tcp);
	dns_clear(&d);
	return err;
}

/* ---- entry point ---------------------------------------------------------------------------------- */

static int lint_policy(struct lint *l, const struct np_policy *pol)
{
	const struct pol_entry *pe = index_policy(l->e, pol);
	int err;
	if (!pe)
		return -ESTALE;

	if ((err = lint_selects_nothing(l, pe)) < 0 || (err = each_rule(l, pe, lint_rule_peers)) < 0 ||
	    (err = each_rule(l, pe, lint_rule_shadowed)) < 0 ||
	    (err = each_rule(l, pe, lint_rule_named_ports)) < 0)
		return err;
	return 0;
}

int lint_cluster(struct engine *e, struct diag_list *out)
{
	struct lint l = {.e = e};
	int err = 0;
	for (size_t i = 0; !err && i < e->cl->npolicies; i++)
		err = lint_policy(&l, e->cl->policies[i]);
	if (!err)
		err = lint_dns(&l);
	diag_sort(&l.found);
	for (size_t i = 0; !err && i < l.found.n; i++) {
		const struct diag *d = &l.found.items[i];
		err = diag_add(out, d->level, d->file, d->line, d->col, d->code, "%s", d->msg);
	}
	diag_list_clear(&l.found);
	return err ? err : l.warnings;
}
