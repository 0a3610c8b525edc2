#include "cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int cli_paths_add(struct cli_paths *p, const char *path)
{
	const char **items = realloc(p->items, (p->n + 1) * sizeof(*items));
	if (!items)
		return -ENOMEM;
	items[p->n++] = path;
	p->items = items;
	return 0;
}

void cli_paths_free(struct cli_paths *p)
{
	free(p->items);
	p->items = NULL;
	p->n = 0;
}

void cli_print_diags(FILE *f, struct diag_list *l)
{
	diag_sort(l);
	for (size_t i = 0; i < l->n; i++) {
		char *s = diag_format(&l->items[i]);
		if (s)
			fprintf(f, "%s\n", s);
		free(s);
	}
}

int cli_load(const struct cli_paths *paths, struct np_cluster **out)
{
	struct diag_list diags = {0};
	struct np_cluster *cl = cluster_new();
	if (!cl) {
		fprintf(stderr, "netpol: out of memory\n");
		return CLI_INVALID;
	}
	int r = decode_paths(paths->items, paths->n, cl, &diags);
	cli_print_diags(stderr, &diags);
	size_t nerr = diag_count(&diags, DIAG_ERROR);
	diag_list_clear(&diags);
	if (r < 0 || nerr) {
		if (nerr == 0)
			fprintf(stderr, "netpol: cannot read input: %s\n", strerror(-r));
		else
			fprintf(stderr, "%zu error%s; nothing evaluated\n", nerr, nerr == 1 ? "" : "s");
		cluster_free(cl);
		return CLI_INVALID;
	}
	*out = cl;
	return CLI_OK;
}

int cli_parse_port(const char *text, struct np_port *out)
{
	char *end;
	errno = 0;
	long n = strtol(text, &end, 10);
	if (errno || end == text || n < 1 || n > 65535)
		return -EINVAL;
	out->port = (int)n;
	out->proto = NP_TCP;
	if (*end == '\0')
		return 0;
	if (*end != '/')
		return -EINVAL;
	char proto[8];
	size_t len = strlen(end + 1);
	if (len == 0 || len >= sizeof(proto))
		return -EINVAL;
	for (size_t i = 0; i <= len; i++)
		proto[i] = (char)(end[1 + i] >= 'a' && end[1 + i] <= 'z' ? end[1 + i] - 32 : end[1 + i]);
	return proto_parse(proto, &out->proto);
}

int cli_parse_ports(const char *text, struct np_port **out, size_t *n)
{
	char *copy = strdup(text), *save = NULL;
	struct np_port *ports = NULL;
	size_t count = 0;
	int r = copy ? 0 : -ENOMEM;
	for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok && !r;
	     tok = strtok_r(NULL, ",", &save)) {
		struct np_port *grown = realloc(ports, (count + 1) * sizeof(*ports));
		if (!grown) {
			r = -ENOMEM;
			break;
		}
		ports = grown;
		r = cli_parse_port(tok, &ports[count]);
		count++;
	}
	if (!r && count == 0)
		r = -EINVAL;
	free(copy);
	if (r) {
		free(ports);
		return r;
	}
	*out = ports;
	*n = count;
	return 0;
}

static const struct np_pod *pod_with_ip(const struct np_cluster *cl, const struct np_ip *ip)
{
	for (size_t i = 0; i < cl->npods; i++)
		for (size_t j = 0; j < cl->pods[i]->nips; j++)
			if (ip_equal(&cl->pods[i]->ips[j], ip))
				return cl->pods[i];
	return NULL;
}

/* kubectl's resource names for the kinds an endpoint may name. */
enum ep_kind { EP_ANY, EP_POD, EP_DEPLOYMENT, EP_SERVICE, EP_NOT_A_KIND };

static enum ep_kind ep_kind_parse(const char *s, size_t len)
{
	static const struct {
		const char *name;
		enum ep_kind kind;
	} names[] = {
		{"pod", EP_POD}, {"pods", EP_POD}, {"po", EP_POD},
		{"deployment", EP_DEPLOYMENT}, {"deployments", EP_DEPLOYMENT}, {"deploy", EP_DEPLOYMENT},
		{"service", EP_SERVICE}, {"services", EP_SERVICE}, {"svc", EP_SERVICE},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == len && !strncmp(names[i].name, s, len))
			return names[i].kind;
	return EP_NOT_A_KIND;
}

/* The first pod (cluster order) of namespace ns that sel matches, or
 * whose labels include map (a Service's selector). */
static const struct np_pod *first_pod_matching(const struct np_cluster *cl, const char *ns,
					       const struct np_selector *sel,
					       const struct np_labels *map)
{
	for (size_t i = 0; i < cl->npods; i++) {
		const struct np_pod *p = cl->pods[i];
		if (strcmp(p->meta.namespace, ns))
			continue;
		if (sel && selector_matches(sel, &p->meta.labels))
			return p;
		bool all = map != NULL;
		for (size_t k = 0; map && k < map->n && all; k++) {
			const char *v = labels_get(&p->meta.labels, map->items[k].key);
			all = v && !strcmp(v, map->items[k].value);
		}
		if (all)
			return p;
	}
	return NULL;
}

static const struct np_deployment *find_deployment(const struct np_cluster *cl, const char *ns,
						   const char *name)
{
	for (size_t i = 0; i < cl->ndeployments; i++)
		if (!strcmp(cl->deployments[i]->meta.name, name) &&
		    !strcmp(cl->deployments[i]->meta.namespace, ns))
			return cl->deployments[i];
	return NULL;
}

static const struct np_service *find_service(const struct np_cluster *cl, const char *ns,
					     const char *name)
{
	for (size_t i = 0; i < cl->nservices; i++)
		if (!strcmp(cl->services[i]->meta.name, name) &&
		    !strcmp(cl->services[i]->meta.namespace, ns))
			return cl->services[i];
	return NULL;
}

/* A Service's traffic reaches its pod on the targetPort of the service
 * port that port names; *port becomes that (when there is one). */
static void service_target(const struct np_service *svc, const struct np_pod *pod,
			   struct np_port *port, char *note, size_t note_len)
{
	for (size_t i = 0; port && i < svc->nports; i++) {
		const struct np_service_port *sp = &svc->ports[i];
		if (sp->port != port->port || sp->proto != port->proto)
			continue;
		int target = sp->target_port_name
				     ? pod_resolve_named_port(pod, sp->target_port_name, sp->proto)
				     : sp->target_port ? sp->target_port : sp->port;
		if (target <= 0)
			return;
		size_t len = strlen(note);
		snprintf(note + len, note_len - len, ", on its targetPort %d for port %d/%s",
			 target, port->port, proto_name(port->proto));
		port->port = target;
		return;
	}
}

/* The first pod of Deployment ns/name: one derived from it (offline), or
 * else one its selector matches (the lab's pods do not say their owner). */
static const struct np_pod *deployment_pod(const struct np_cluster *cl, const char *ns,
					   const char *name)
{
	for (size_t i = 0; i < cl->npods; i++)
		if (cl->pods[i]->owner && !strcmp(cl->pods[i]->owner, name) &&
		    !strcmp(cl->pods[i]->meta.namespace, ns))
			return cl->pods[i];
	const struct np_deployment *d = find_deployment(cl, ns, name);
	return d ? first_pod_matching(cl, ns, &d->selector, NULL) : NULL;
}

/* Looks up name in ns as kind (EP_ANY: a pod, else a Deployment, else a
 * Service), writing how it was resolved into note. */
static const struct np_pod *resolve_named(const struct np_cluster *cl, const char *ns,
					  const char *name, enum ep_kind kind,
					  struct np_port *port, char *note, size_t note_len)
{
	const struct np_pod *pod = NULL;
	if (kind == EP_ANY || kind == EP_POD)
		pod = cluster_find_pod(cl, ns, name);
	if (pod || kind == EP_POD)
		return pod;
	if (kind != EP_SERVICE && (pod = deployment_pod(cl, ns, name))) {
		snprintf(note, note_len, "%s/%s is a Deployment; using its pod %s", ns, name,
			 pod->meta.name);
		return pod;
	}
	const struct np_service *svc = kind == EP_DEPLOYMENT ? NULL : find_service(cl, ns, name);
	if (svc && svc->has_selector && (pod = first_pod_matching(cl, ns, NULL, &svc->selector))) {
		snprintf(note, note_len, "%s/%s is a Service; using its pod %s", ns, name,
			 pod->meta.name);
		service_target(svc, pod, port, note, note_len);
	}
	return pod;
}

static const char *const kind_words[] = {"pod, deployment or service", "pod", "deployment",
					 "service"};

int cli_resolve_endpoint(const struct np_cluster *cl, const char *text, const char *def_ns,
			 struct np_endpoint *out, struct np_port *port, char *note,
			 size_t note_len)
{
	memset(out, 0, sizeof(*out));
	if (note_len)
		note[0] = '\0';
	if (ip_parse(text, &out->ip) == 0) {
		out->pod = pod_with_ip(cl, &out->ip);
		return 0;
	}
	char ns[256];
	snprintf(ns, sizeof(ns), "%s", def_ns ? def_ns : "default");
	enum ep_kind kind = EP_ANY;
	const char *name = text, *s1 = strchr(text, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
	size_t first = s1 ? (size_t)(s1 - text) : 0;
	bool type_name = false;   /* kubectl's TYPE/NAME, in the namespace def_ns */
	if (s1 && s2) {
		kind = ep_kind_parse(s1 + 1, (size_t)(s2 - s1 - 1));
	} else if (s1 && ep_kind_parse(text, first) != EP_NOT_A_KIND && first < sizeof(ns)) {
		char word[256];
		snprintf(word, sizeof(word), "%.*s", (int)first, text);
		/* a namespace of that name wins: NS/NAME as before */
		type_name = !cluster_find_namespace(cl, word);
		kind = type_name ? ep_kind_parse(text, first) : EP_ANY;
	}
	if ((s1 && first == 0) || (s2 && strchr(s2 + 1, '/')) || kind == EP_NOT_A_KIND ||
	    first >= sizeof(ns)) {
		fprintf(stderr, "netpol: \"%s\" is not [NAMESPACE/][TYPE/]NAME or an IP address "
				"(TYPE: pod, deployment, svc)\n", text);
		return -EINVAL;
	}
	if (type_name) {
		name = s1 + 1;
	} else if (s1) {
		snprintf(ns, sizeof(ns), "%.*s", (int)first, text);
		name = s2 ? s2 + 1 : s1 + 1;
	}
	const struct np_pod *pod = resolve_named(cl, ns, name, kind, port, note, note_len);
	if (!pod) {
		fprintf(stderr, "netpol: no %s \"%s\"%s in namespace \"%s\"\n", kind_words[kind],
			name, kind == EP_POD ? "" : " with a pod", ns);
		return -ENOENT;
	}
	out->pod = pod;
	if (pod->nips)
		out->ip = pod->ips[0];
	return 0;
}

const char *cli_endpoint_name(const struct np_endpoint *ep, char *buf, size_t len)
{
	if (ep->pod)
		snprintf(buf, len, "%s/%s", ep->pod->meta.namespace, ep->pod->meta.name);
	else
		ip_to_string(&ep->ip, buf, len);
	return buf;
}
