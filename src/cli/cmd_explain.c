/* netpol explain: the verdict for one connection and why, direction by
 * direction, from the same engine as reach.
 *
 * Without -f it asks a running lab: the objects come from the lab's API
 * (the agent's own cache code reads them, so both see the same model), and
 * a "kernel" section shows the node's rules that account for each
 * direction, with their counters, read from its nftables table. */
#include "cli.h"
#include "agent/agent.h"
#include "client/client.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void explain_usage(FILE *f)
{
	fprintf(f,
		"usage: netpol explain -f PATH... --from ENDPOINT --to ENDPOINT --port N[/PROTO] [-o text|json]\n"
		"       netpol explain [--lab NAME] [--socket PATH] [--node-netns NAME] --from ... --to ... --port ...\n"
		"\n"
		"  -f, --filename PATH  file, directory (recursive) or - for standard input\n"
		"                       (without -f: the running lab, with the kernel's counters)\n"
		"      --lab NAME       the lab (default $NETPOL_LAB, else netpol)\n"
		"      --socket PATH    its API socket (default $NETPOL_SOCKET, else /run/netpol/api.sock)\n"
		"      --node-netns NAME  its node namespace (default <lab>-node)\n"
		"      --from ENDPOINT  [NAMESPACE/][TYPE/]NAME or an IP address; TYPE is pod, deployment\n"
		"                       (deploy) or svc (service), e.g. web/nginx-7d9f, web/deployment/nginx,\n"
		"                       web/svc/nginx; without TYPE a pod, else a Deployment, else a Service\n"
		"                       of that name; a Deployment or Service stands for its first pod\n"
		"      --to ENDPOINT    the same forms; a Service's port is mapped to its targetPort\n"
		"  -n, --namespace NS   the namespace of endpoints that name none (default \"default\")\n"
		"      --port N/PROTO   e.g. 80/TCP, 53/UDP (protocol defaults to TCP)\n"
		"  -o, --output FORMAT  text (default) or json\n"
		"\n"
		"A denied direction also lists near misses: policies that would allow the connection\n"
		"but for one term of one selector (a matchLabels entry or matchExpressions requirement).\n");
}

static char *selector_text(const struct np_selector *s)
{
	char *inner = selector_to_string(s), *out = NULL;
	if (!inner)
		return NULL;
	if (asprintf(&out, "{%s}", inner) < 0)
		out = NULL;
	free(inner);
	return out;
}

/* "podSelector {run=nginx} in namespaceSelector {name=kube-system}" etc. */
static char *peer_text(const struct np_peer *p)
{
	char *out = NULL;
	if (p->has_ipblock) {
		char cidr[64], ex[64];
		size_t len = 0;
		char *buf = NULL;
		FILE *f = open_memstream(&buf, &len);
		if (!f)
			return NULL;
		fprintf(f, "ipBlock %s", cidr_to_string(&p->ipblock.cidr, cidr, sizeof(cidr)));
		for (size_t i = 0; i < p->ipblock.nexcept; i++)
			fprintf(f, "%s%s", i ? ", " : " except ",
				cidr_to_string(&p->ipblock.except[i], ex, sizeof(ex)));
		fclose(f);
		return buf;
	}
	char *pod = p->has_pod_sel ? selector_text(&p->pod_sel) : NULL;
	char *ns = p->has_ns_sel ? selector_text(&p->ns_sel) : NULL;
	int r;
	if (pod && ns)
		r = asprintf(&out, "podSelector %s in namespaces namespaceSelector %s", pod, ns);
	else if (pod)
		r = asprintf(&out, "podSelector %s (same namespace)", pod);
	else
		r = asprintf(&out, "namespaceSelector %s (all pods)", ns ? ns : "?");
	free(pod);
	free(ns);
	return r < 0 ? NULL : out;
}

static char *port_text(const struct np_port_spec *p)
{
	char *out = NULL;
	int r;
	switch (p->kind) {
	case PORT_ANY:
		r = asprintf(&out, "every %s port", proto_name(p->proto));
		break;
	case PORT_NAMED:
		r = asprintf(&out, "named port %s/%s", p->name, proto_name(p->proto));
		break;
	default:
		if (p->end_port)
			r = asprintf(&out, "%d-%d/%s", p->port, p->end_port, proto_name(p->proto));
		else
			r = asprintf(&out, "%d/%s", p->port, proto_name(p->proto));
	}
	return r < 0 ? NULL : out;
}

static const char *pos_text(const struct np_pos *pos, char *buf, size_t len)
{
	if (pos->file && pos->line)
		snprintf(buf, len, "%s:%d", pos->file, pos->line);
	else
		snprintf(buf, len, "%s", pos->file ? pos->file : "from the API");
	return buf;
}

static const struct np_rule *verdict_rule(const struct np_dir_verdict *v, bool ingress)
{
	if (!v->policy || v->rule < 0)
		return NULL;
	return ingress ? &v->policy->ingress[v->rule] : &v->policy->egress[v->rule];
}

/* The near misses of one denied direction (empty for the others). */
struct misses {
	struct np_near_miss *v;
	size_t n;
};

static const char *miss_kind_name(enum np_miss_kind k)
{
	return k == NP_MISS_POD_SELECTOR ? "podSelector"
	       : k == NP_MISS_PEER_POD_SELECTOR ? "peerPodSelector" : "peerNamespaceSelector";
}

/* "its podSelector {run=nginx} does not match ns/pod" and the like. */
static void print_miss_text(const struct np_near_miss *m)
{
	char where[512], twhere[512], pod[300];
	char *sel = selector_text(m->selector);
	struct np_selector one = {(struct np_requirement *)m->term, 1};
	char *term = selector_to_string(&one), *labels = labels_to_string(m->labels);
	snprintf(pod, sizeof(pod), "%s/%s", m->pod->meta.namespace, m->pod->meta.name);
	printf("  near miss: %s/%s (%s) would allow this but ", m->policy->meta.namespace,
	       m->policy->meta.name, pos_text(&m->policy->meta.pos, where, sizeof(where)));
	if (m->kind == NP_MISS_POD_SELECTOR)
		printf("its podSelector %s does not match %s", sel ? sel : "?", pod);
	else
		printf("the %s %s of its %s[%d] %s[%d] does not match %s%s",
		       m->kind == NP_MISS_PEER_POD_SELECTOR ? "podSelector" : "namespaceSelector",
		       sel ? sel : "?", m->egress ? "egress" : "ingress", m->rule,
		       m->egress ? "to" : "from", m->peer,
		       m->kind == NP_MISS_PEER_NS_SELECTOR ? "the namespace of " : "", pod);
	printf(" (%slabels %s)\n    only its term %s (%s) fails\n",
	       m->kind == NP_MISS_PEER_NS_SELECTOR ? "namespace " : "", labels ? labels : "?",
	       term ? term : "?", pos_text(&m->term->pos, twhere, sizeof(twhere)));
	free(sel);
	free(term);
	free(labels);
}

static json_t *miss_json(const struct np_near_miss *m)
{
	char *pol = NULL, *pod = NULL;
	char *sel = selector_to_string(m->selector), *labels = labels_to_string(m->labels);
	struct np_selector one = {(struct np_requirement *)m->term, 1};
	char *term = selector_to_string(&one);
	if (asprintf(&pol, "%s/%s", m->policy->meta.namespace, m->policy->meta.name) < 0)
		pol = NULL;
	if (asprintf(&pod, "%s/%s", m->pod->meta.namespace, m->pod->meta.name) < 0)
		pod = NULL;
	json_t *j = json_pack("{s:s?,s:s,s:i,s:i,s:s?,s:s?,s:s?,s:i,s:s?,s:s?}", "policy", pol,
			      "selector", miss_kind_name(m->kind), "rule", m->rule, "peer", m->peer,
			      "selectorText", sel, "term", term, "file", m->term->pos.file,
			      "line", m->term->pos.line, "pod", pod, "labels", labels);
	free(pol);
	free(pod);
	free(sel);
	free(term);
	free(labels);
	return j;
}

static void print_dir_text(const char *dir, const char *who, const struct np_dir_verdict *v,
			   bool ingress, const struct misses *ms)
{
	char where[512];
	printf("%s of %s: ", dir, who);
	if (!v->applies) {
		printf("allowed (outside the cluster: no policy applies)\n");
		return;
	}
	if (!v->isolated) {
		printf("allowed (not isolated: no policy with %s in its policyTypes selects it)\n",
		       ingress ? "Ingress" : "Egress");
		return;
	}
	printf("%s\n", v->allowed ? "allowed" : "DENIED");
	printf("  isolated by:");
	for (size_t i = 0; i < v->nisolating; i++)
		printf("%s %s/%s (%s)", i ? "," : "", v->isolating[i]->meta.namespace,
		       v->isolating[i]->meta.name, pos_text(&v->isolating[i]->meta.pos, where, sizeof(where)));
	printf("\n");
	const struct np_rule *rule = verdict_rule(v, ingress);
	if (!rule) {
		printf("  no %s rule of these policies matches this connection\n", dir);
		for (size_t i = 0; i < ms->n; i++)
			print_miss_text(&ms->v[i]);
		return;
	}
	const char *peers = ingress ? "from" : "to";
	printf("  allowed by %s/%s %s[%d] (%s)\n", v->policy->meta.namespace, v->policy->meta.name,
	       ingress ? "ingress" : "egress", v->rule, pos_text(&rule->pos, where, sizeof(where)));
	if (v->peer < 0) {
		printf("    %s: every peer (the rule lists none)\n", peers);
	} else {
		char *t = peer_text(&rule->peers[v->peer]);
		printf("    %s[%d]: %s\n", peers, v->peer, t ? t : "?");
		free(t);
	}
	if (v->port < 0) {
		printf("    ports: every port (the rule lists none)\n");
	} else {
		char *t = port_text(&rule->ports[v->port]);
		printf("    ports[%d]: %s\n", v->port, t ? t : "?");
		free(t);
	}
}

static json_t *dir_json(const struct np_dir_verdict *v, bool ingress, const struct misses *ms)
{
	json_t *iso = json_array();
	for (size_t i = 0; i < v->nisolating; i++) {
		char *s = NULL;
		if (asprintf(&s, "%s/%s", v->isolating[i]->meta.namespace, v->isolating[i]->meta.name) >= 0)
			json_array_append_new(iso, json_string(s));
		free(s);
	}
	json_t *by = json_null();
	const struct np_rule *rule = verdict_rule(v, ingress);
	if (rule) {
		char *pol = NULL;
		if (asprintf(&pol, "%s/%s", v->policy->meta.namespace, v->policy->meta.name) < 0)
			pol = NULL;
		by = json_pack("{s:s?,s:s,s:i,s:i,s:i,s:s?,s:i}", "policy", pol,
			       "direction", ingress ? "ingress" : "egress", "rule", v->rule,
			       "peer", v->peer, "port", v->port, "file", rule->pos.file,
			       "line", rule->pos.line);
		free(pol);
	}
	json_t *near = json_array();
	for (size_t i = 0; i < ms->n; i++)
		json_array_append_new(near, miss_json(&ms->v[i]));
	return json_pack("{s:b,s:b,s:o,s:b,s:o,s:o}", "applies", v->applies, "isolated", v->isolated,
			 "isolatedBy", iso, "allowed", v->allowed, "allowedBy", by, "nearMisses", near);
}

static void print_json(const char *from, const char *to, struct np_port port,
		       const struct np_verdict *v, const struct misses ms[2], json_t *kernel)
{
	json_t *root = json_pack("{s:s,s:s,s:i,s:s,s:b,s:o,s:o}", "from", from, "to", to,
				 "port", port.port, "protocol", proto_name(port.proto),
				 "allowed", v->allowed, "egress", dir_json(&v->egress, false, &ms[0]),
				 "ingress", dir_json(&v->ingress, true, &ms[1]));
	if (kernel)
		json_object_set(root, "kernel", kernel);
	json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(root);
}

struct explain_args {
	struct cli_paths paths;
	const char *from, *to, *port, *output;
	const char *lab, *socket, *node;
	const char *ns;            /* -n: the namespace of endpoints that name none */
};

static int parse_args(int argc, char **argv, struct explain_args *a)
{
	static const struct option opts[] = {
		{"filename", required_argument, NULL, 'f'}, {"from", required_argument, NULL, 'F'},
		{"to", required_argument, NULL, 'T'},       {"port", required_argument, NULL, 'p'},
		{"output", required_argument, NULL, 'o'},   {"help", no_argument, NULL, 'h'},
		{"lab", required_argument, NULL, 'L'},      {"socket", required_argument, NULL, 'S'},
		{"node-netns", required_argument, NULL, 'N'},
		{"namespace", required_argument, NULL, 'n'},
		{0},
	};
	int c;
	a->output = "text";
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:o:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': cli_paths_add(&a->paths, optarg); break;
		case 'F': a->from = optarg; break;
		case 'T': a->to = optarg; break;
		case 'p': a->port = optarg; break;
		case 'o': a->output = optarg; break;
		case 'L': a->lab = optarg; break;
		case 'S': a->socket = optarg; break;
		case 'N': a->node = optarg; break;
		case 'n': a->ns = optarg; break;
		case 'h': explain_usage(stdout); return CLI_OK;
		default: explain_usage(stderr); return CLI_USAGE;
		}
	}
	bool live_opts = a->lab || a->socket || a->node;
	/* as the kubectl verbs: the environment chooses the lab, flags win */
	const char *env;
	if (!a->lab && (env = getenv("NETPOL_LAB")) && *env)
		a->lab = env;
	if (!a->socket && (env = getenv("NETPOL_SOCKET")) && *env)
		a->socket = env;
	if (optind < argc || (a->paths.n && live_opts) || !a->from || !a->to || !a->port ||
	    (strcmp(a->output, "text") && strcmp(a->output, "json"))) {
		fprintf(stderr, "netpol explain: needs --from, --to and --port, and either -f or the "
				"running lab (--lab/--socket); -o text|json\n");
		explain_usage(stderr);
		return CLI_USAGE;
	}
	return -1; /* go on */
}

/* ---- the running lab ------------------------------------------------------------- */

struct live {
	struct agent_cache *cache;
	char node[300];
	json_t *kernel;            /* the "kernel" section */
};

static const char *rule_chain(const struct nft_prog *p, const struct nft_rule *r)
{
	for (size_t i = 0; i < p->nchains; i++) {
		const struct nft_chain *ch = p->chains[i];
		if (ch->nrules && r >= ch->rules && r < ch->rules + ch->nrules)
			return ch->name;
	}
	return "?";
}

static bool endpoint_local(const struct nft_endpoint *eps, size_t n, const struct np_pod *pod)
{
	for (size_t i = 0; pod && i < n; i++)
		if (eps[i].pod == pod)
			return true;
	return false;
}

static void kernel_dir(json_t *rules, const struct nft_prog *p, const struct np_endpoint *ep,
		       bool egress, const struct np_dir_verdict *v)
{
	const struct nft_rule *found[16];
	size_t n = nft_prog_attribute(p, ep->pod, egress, v, found, 16);
	/* a rule: its chain; an element with a counter (an isolated pod's
	 * drop): its set, and the element as "rule" */
	for (size_t i = 0; i < n; i++)
		json_array_append_new(rules, json_pack("{s:s,s:s,s:s,s:I,s:I}", "direction",
			egress ? "egress" : "ingress", found[i]->set ? "set" : "chain",
			found[i]->set ? found[i]->set : rule_chain(p, found[i]),
			"rule", found[i]->text, "packets", (json_int_t)found[i]->packets,
			"bytes", (json_int_t)found[i]->bytes));
}

/* The kernel's side: the program the engine compiles for the node's pods,
 * with the counters of the same rules read from the node's table. */
static int live_kernel(struct live *l, const struct np_endpoint *src,
		       const struct np_endpoint *dst, const struct np_verdict *v)
{
	struct diag_list d = {0};
	struct nft_conn *conn = NULL;
	struct nft_prog *have = NULL, *want = NULL;
	struct nft_endpoint *eps = NULL;
	struct nft_opts opts = {.pod_ifprefix = AGENT_POD_IFPREFIX};
	size_t neps = 0;
	int err = agent_cache_endpoints(l->cache, &eps, &neps, NULL);
	if (!err)
		err = nft_compile(agent_cache_engine(l->cache), agent_cache_cluster(l->cache), eps,
				  neps, &opts, &want, &d);
	if (!err && !(err = nft_conn_new(l->node, &conn)))
		err = nft_read(conn, NULL, &have, &d);
	if (err < 0) {
		fprintf(stderr, "netpol explain: reading the node's table (%s): %s\n", l->node,
			d.n ? d.items[0].msg : strerror(-err));
		goto cleanup;
	}
	json_t *rules = json_array();
	nft_prog_copy_counters(want, have);
	bool src_local = endpoint_local(eps, neps, src->pod), dst_local = endpoint_local(eps, neps, dst->pod);
	if (src_local)
		kernel_dir(rules, want, src, true, &v->egress);
	if (dst_local)
		kernel_dir(rules, want, dst, false, &v->ingress);
	l->kernel = json_pack("{s:s,s:s,s:b,s:b,s:b,s:o}", "node", l->node, "table",
			      "inet " NFT_TABLE, "inSync", nft_prog_equal(want, have),
			      "fromOnNode", src_local, "toOnNode", dst_local, "rules", rules);
cleanup:
	diag_list_clear(&d);
	free(eps);
	nft_prog_free(have);
	nft_prog_free(want);
	nft_conn_free(conn);
	return err;
}

static void print_kernel_text(json_t *k, const char *from, const char *to)
{
	json_t *r;
	size_t i;
	printf("\nkernel (%s, table %s):\n", json_string_value(json_object_get(k, "node")),
	       json_string_value(json_object_get(k, "table")));
	if (!json_is_true(json_object_get(k, "inSync")))
		printf("  note: the table differs from the engine's program (is the agent running and in sync?)\n");
	if (!json_is_true(json_object_get(k, "fromOnNode")))
		printf("  egress of %s: not a pod of this node (no rules)\n", from);
	if (!json_is_true(json_object_get(k, "toOnNode")))
		printf("  ingress of %s: not a pod of this node (no rules)\n", to);
	json_array_foreach(json_object_get(k, "rules"), i, r)
		printf("  %-7s %s%s: packets %lld bytes %lld\n    %s\n",
		       json_string_value(json_object_get(r, "direction")),
		       json_object_get(r, "set") ? "set " : "chain ",
		       json_string_value(json_object_get(r, "set") ? json_object_get(r, "set")
								  : json_object_get(r, "chain")),
		       (long long)json_integer_value(json_object_get(r, "packets")),
		       (long long)json_integer_value(json_object_get(r, "bytes")),
		       json_string_value(json_object_get(r, "rule")));
	if (!json_array_size(json_object_get(k, "rules")))
		printf("  no rule of its own decides (directions not isolated are let through by dispatch)\n");
}

/* What endpoint resolution reads of a Deployment or a Service (the
 * agent's cache holds neither): the fields an API server may add to the
 * objects it serves stay out of the strict decoder. */
static json_t *workload_essence(bool service, json_t *obj)
{
	json_t *meta = json_object_get(obj, "metadata"), *spec = json_object_get(obj, "spec");
	json_t *m = json_pack("{s:O?,s:O?,s:O?}", "name", json_object_get(meta, "name"),
			      "namespace", json_object_get(meta, "namespace"),
			      "labels", json_object_get(meta, "labels"));
	if (service) {
		json_t *ports = json_array(), *p;
		size_t i;
		json_array_foreach(json_object_get(spec, "ports"), i, p)
			json_array_append_new(ports, json_pack("{s:O?,s:O?,s:O?,s:O?}", "name",
				json_object_get(p, "name"), "protocol", json_object_get(p, "protocol"),
				"port", json_object_get(p, "port"), "targetPort",
				json_object_get(p, "targetPort")));
		return json_pack("{s:s,s:s,s:o,s:{s:O?,s:o}}", "apiVersion", "v1", "kind", "Service",
				 "metadata", m, "spec", "selector", json_object_get(spec, "selector"),
				 "ports", ports);
	}
	json_t *tmpl = json_object_get(spec, "template");
	return json_pack("{s:s,s:s,s:o,s:{s:O?,s:{s:{s:O?},s:{s:[{s:s,s:s}]}}}}", "apiVersion",
			 "apps/v1", "kind", "Deployment", "metadata", m, "spec", "selector",
			 json_object_get(spec, "selector"), "template", "metadata", "labels",
			 json_object_get(json_object_get(tmpl, "metadata"), "labels"), "spec",
			 "containers", "name", "c", "image", "i");
}

/* Adds the lab's Deployments and Services to cl, for --to NS/svc/NAME and
 * the like. An object that does not decode is skipped with a warning. */
static int live_workloads(struct np_cluster *cl, const char *socket, struct diag_list *d)
{
	static const char *const paths[2] = {"/apis/apps/v1/deployments", "/api/v1/services"};
	struct client_options co = {.socket_path = socket};
	struct client *c = NULL;
	int err = client_new(&co, &c);
	for (int k = 0; !err && k < 2; k++) {
		long status = 0;
		json_t *resp = NULL, *obj;
		size_t i;
		err = client_request(c, "GET", paths[k], NULL, NULL, &status, &resp);
		json_array_foreach(err || status != 200 ? NULL : json_object_get(resp, "items"), i, obj) {
			json_t *ess = workload_essence(k == 1, obj);
			struct diag_list why = {0};
			void *out = NULL;
			int r = ess ? decode_json_object(ess, k ? "Service" : "Deployment", &out, &why) : -ENOMEM;
			if (!r)
				r = k ? cluster_add_service(cl, out) : cluster_add_deployment(cl, out);
			if (r && out)
				k ? service_free(out) : deployment_free(out);
			if (r && r != -ENOMEM)
				diag_add(d, DIAG_WARNING, NULL, 0, 0, NULL, "%s: skipped an object (%s)",
					 paths[k], why.n ? why.items[0].msg : strerror(-r));
			err = r == -ENOMEM ? r : 0;
			diag_list_clear(&why);
			json_decref(ess);
		}
		json_decref(resp);
	}
	client_free(c);
	return err;
}

static int live_load(struct live *l, const struct explain_args *a)
{
	struct diag_list d = {0};
	const char *lab = a->lab ? a->lab : "netpol";
	if (a->node && strchr(a->node, '/'))
		snprintf(l->node, sizeof(l->node), "%s", a->node);
	else if (a->node)
		snprintf(l->node, sizeof(l->node), "/run/netns/%s", a->node);
	else
		snprintf(l->node, sizeof(l->node), "/run/netns/%s-node", lab);
	const char *socket = a->socket ? a->socket : "/run/netpol/api.sock";
	const char *state = getenv("NETPOL_STATE_DIR");
	int err = agent_cache_fetch(socket, &l->cache, &d);
	if (!err)
		err = live_workloads(agent_cache_cluster(l->cache), socket, &d);
	if (err < 0 || diag_count(&d, DIAG_ERROR)) {
		cli_print_diags(stderr, &d);
		fprintf(stderr, "netpol explain: cannot read the lab's objects at %s: %s\n", socket,
			err < 0 ? strerror(-err) : "the API refused");
		if (err == -ENOENT || err == -ECONNREFUSED)
			fprintf(stderr, "netpol explain: is the lab running? (its log: %s/daemon.log)\n",
				state && *state ? state : "/var/lib/netpol");
		err = err < 0 ? err : -EPROTO;
	}
	diag_list_clear(&d);
	return err;
}

/* The near misses of each denied direction: ms[0] egress, ms[1] ingress. */
static int find_misses(struct engine *e, const struct np_endpoint *src,
		       const struct np_endpoint *dst, struct np_port port,
		       const struct np_verdict *v, struct misses ms[2])
{
	int err = 0;
	if (v->egress.isolated && !v->egress.allowed)
		err = engine_near_misses(e, true, src, dst, port, &ms[0].v, &ms[0].n);
	if (!err && v->ingress.isolated && !v->ingress.allowed)
		err = engine_near_misses(e, false, src, dst, port, &ms[1].v, &ms[1].n);
	return err;
}

int cmd_explain(int argc, char **argv)
{
	struct misses ms[2] = {{0}};
	struct explain_args a = {0};
	struct np_cluster *cl = NULL;
	struct engine *e = NULL, *eng;
	struct live l = {0};
	struct np_verdict v = {0};
	struct np_endpoint src, dst;
	struct np_port port;
	char note_from[512], note_to[512], from[300], to[300];
	int rc = parse_args(argc, argv, &a);
	if (rc >= 0)
		goto cleanup;
	rc = CLI_USAGE;
	if (cli_parse_port(a.port, &port) < 0) {
		fprintf(stderr, "netpol explain: bad --port \"%s\": expected N[/TCP|UDP|SCTP]\n", a.port);
		goto cleanup;
	}
	rc = CLI_INVALID;
	if (a.paths.n) {
		if ((rc = cli_load(&a.paths, &cl)) != CLI_OK)
			goto cleanup;
		rc = CLI_INVALID;
		e = engine_new(cl);
		eng = e;
	} else {
		if (live_load(&l, &a) < 0)
			goto cleanup;
		cl = agent_cache_cluster(l.cache);
		eng = agent_cache_engine(l.cache);
	}
	if (cli_resolve_endpoint(cl, a.from, a.ns, &src, NULL, note_from, sizeof(note_from)) < 0 ||
	    cli_resolve_endpoint(cl, a.to, a.ns, &dst, &port, note_to, sizeof(note_to)) < 0)
		goto cleanup;
	if (!eng || engine_evaluate(eng, &src, &dst, port, &v) < 0 ||
	    find_misses(eng, &src, &dst, port, &v, ms) < 0) {
		fprintf(stderr, "netpol explain: out of memory\n");
		goto cleanup;
	}
	if (l.cache && live_kernel(&l, &src, &dst, &v) < 0)
		goto cleanup;
	cli_endpoint_name(&src, from, sizeof(from));
	cli_endpoint_name(&dst, to, sizeof(to));
	if (!strcmp(a.output, "json")) {
		print_json(from, to, port, &v, ms, l.kernel);
	} else {
		if (note_from[0])
			printf("note: %s\n", note_from);
		if (note_to[0])
			printf("note: %s\n", note_to);
		printf("%s -> %s on %d/%s: %s\n\n", from, to, port.port, proto_name(port.proto),
		       v.allowed ? "ALLOWED" : "DENIED");
		print_dir_text("egress", from, &v.egress, false, &ms[0]);
		print_dir_text("ingress", to, &v.ingress, true, &ms[1]);
		if (l.kernel)
			print_kernel_text(l.kernel, from, to);
	}
	rc = CLI_OK;
cleanup:
	free(ms[0].v);
	free(ms[1].v);
	verdict_clear(&v);
	engine_free(e);
	if (l.cache)
		agent_cache_free(l.cache);   /* owns cl in live mode */
	else
		cluster_free(cl);
	json_decref(l.kernel);
	cli_paths_free(&a.paths);
	return rc;
}
