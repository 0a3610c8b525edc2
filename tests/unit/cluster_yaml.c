#include "cluster_yaml.h"
#include "decode/decode.h"
#include "policy/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A cluster from inline YAML, finished as decode_paths would. NULL (with
 * the diagnostics printed) when the YAML is rejected. */
struct np_cluster *yaml(const char *text)
{
	struct np_cluster *cl = cluster_new();
	struct diag_list d = {0};
	if (decode_buffer("test.yaml", text, strlen(text), cl, &d) < 0 || cluster_finish(cl) < 0) {
		for (size_t i = 0; i < d.n; i++) {
			char *s = diag_format(&d.items[i]);
			printf("  %s\n", s);
			free(s);
		}
		cluster_free(cl);
		cl = NULL;
	}
	diag_list_clear(&d);
	return cl;
}


struct np_port tcp(int port)
{
	return (struct np_port){port, NP_TCP};
}

struct np_port udp(int port)
{
	return (struct np_port){port, NP_UDP};
}

struct np_endpoint pod_ep(const struct np_cluster *cl, const char *ns, const char *name)
{
	struct np_endpoint ep = {cluster_find_pod(cl, ns, name), {0}};
	if (ep.pod && ep.pod->nips)
		ep.ip = ep.pod->ips[0];
	return ep;
}

struct np_endpoint ip_ep(const char *ip)
{
	struct np_endpoint ep = {0};
	ip_parse(ip, &ep.ip);
	return ep;
}
