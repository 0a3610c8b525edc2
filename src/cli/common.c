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

static const struct np_pod *deployment_first_pod(const struct np_cluster *cl, const char *ns,
						 const char *name)
{
	for (size_t i = 0; i < cl->npods; i++) {
		const struct np_pod *p = cl->pods[i];
		if (p->owner && !strcmp(p->owner, name) && !strcmp(p->meta.namespace, ns))
			return p;
	}
	return NULL;
}

int cli_resolve_endpoint(const struct np_cluster *cl, const char *text,
			 struct np_endpoint *out, char *note, size_t note_len)
{
	memset(out, 0, sizeof(*out));
	if (note_len)
		note[0] = '\0';
	if (ip_parse(text, &out->ip) == 0) {
		out->pod = pod_with_ip(cl, &out->ip);
		return 0;
	}
	char ns[256] = "default";
	const char *name = text;
	const char *slash = strchr(text, '/');
	if (slash) {
		size_t len = (size_t)(slash - text);
		if (len == 0 || len >= sizeof(ns)) {
			fprintf(stderr, "netpol: \"%s\" is not NAMESPACE/POD or an IP address\n", text);
			return -EINVAL;
		}
		memcpy(ns, text, len);
		ns[len] = '\0';
		name = slash + 1;
	}
	const struct np_pod *pod = cluster_find_pod(cl, ns, name);
	if (!pod) {
		pod = deployment_first_pod(cl, ns, name);
		if (pod)
			snprintf(note, note_len, "%s/%s is a Deployment; using its pod %s",
				 ns, name, pod->meta.name);
	}
	if (!pod) {
		fprintf(stderr, "netpol: no pod or deployment \"%s\" in namespace \"%s\" in the input\n",
			name, ns);
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
