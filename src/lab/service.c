/* Services: ClusterIPs load-balanced to endpoints by nftables DNAT in the
 * node, in a table of the lab's own, after kube-proxy's nftables mode (see
 * lab.h). Each change is one nftables transaction built as text and run
 * through libnftables inside the node namespace, so it applies whole or
 * not at all, and it touches only the chains and map elements of the one
 * Service that changed. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <nftables/libnftables.h>

#include "lab/lab_internal.h"

#define HAIRPIN_MARK "0x4000"


static const char *proto_name(uint8_t p)
{
	switch (p) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_SCTP: return "sctp";
	default: return NULL;
	}
}

/* Runs an nftables script in the node namespace. The error text, if any,
 * goes into diags. */
int nft_node_run(struct lab *lab, const char *script, struct diag_list *diags)
{
	struct nft_ctx *nft;
	int saved, rc = netns_enter(lab->node_fd, &saved);

	if (rc < 0)
		return rc;
	/* Created inside the node: its netlink socket belongs there. */
	nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!nft) {
		netns_leave(saved);
		return -ENOMEM;
	}
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	if (nft_run_cmd_from_buffer(nft, script) != 0) {
		const char *err = nft_ctx_get_error_buffer(nft);
		diag_error(diags, "nftables in %s: %s", lab->node_netns,
			  err && *err ? err : "transaction failed");
		rc = -EIO;
	}
	nft_ctx_free(nft);
	netns_leave(saved);
	return rc;
}

static bool is_dns_ip(const struct lab *lab, const char *ip)
{
	return strcmp(ip, lab->dns_ip) == 0;
}

static void svc_free(struct lab_svc *s)
{
	if (!s)
		return;
	free(s->ns);
	free(s->name);
	free(s->ports);
	free(s);
}

void services_free(struct lab *lab)
{
	while (lab->services) {
		struct lab_svc *s = lab->services;
		lab->services = s->next;
		svc_free(s);
	}
	lab_ipam_free(lab->svc_ipam);
	lab->svc_ipam = NULL;
}

static struct lab_svc *svc_find(struct lab *lab, const char *ns, const char *name)
{
	for (struct lab_svc *s = lab->services; s; s = s->next)
		if (strcmp(s->ns, ns) == 0 && strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

/* The base of the table, made once per lab (the node is fresh: leftovers
 * were swept with it). Hairpin traffic is marked by the endpoint chain and
 * SNATed here. */
static void emit_table(FILE *f, const char *t)
{
	fprintf(f,
		"table ip %s {\n"
		"  map service-ips { type ipv4_addr . inet_proto . inet_service : verdict; }\n"
		"  chain prerouting { type nat hook prerouting priority dstnat; policy accept;\n"
		"    ip daddr . meta l4proto . th dport vmap @service-ips; }\n"
		"  chain output { type nat hook output priority -100; policy accept;\n"
		"    ip daddr . meta l4proto . th dport vmap @service-ips; }\n"
		"  chain postrouting { type nat hook postrouting priority srcnat; policy accept;\n"
		"    meta mark & " HAIRPIN_MARK " == " HAIRPIN_MARK " snat ip to " LAB_GATEWAY_IP "; }\n"
		"}\n", t);
}

static void port_id(const struct lab_svc *s, const struct lab_service_port *p,
		    char *buf, size_t len)
{
	snprintf(buf, len, "%s-%s-%u", s->key, proto_name(p->protocol), p->port);
}

/* Removes the map element and chains of one programmed Service port. */
static void emit_port_removal(FILE *f, const char *t, const struct lab_svc *s,
			      const struct lab_service_port *p, size_t keep_eps,
			      bool keep_svc_chain)
{
	char id[64];

	port_id(s, p, id, sizeof(id));
	if (s->n_endpoints > 0)
		fprintf(f, "delete element ip %s service-ips { %s . %s . %u }\n", t, s->ip,
			proto_name(p->protocol), p->port);
	fprintf(f, "flush chain ip %s svc-%s\n", t, id);
	for (size_t i = keep_eps; i < s->n_endpoints; i++)
		fprintf(f, "delete chain ip %s ep-%s-%zu\n", t, id, i);
	if (!keep_svc_chain)
		fprintf(f, "delete chain ip %s svc-%s\n", t, id);
}

static void emit_port(FILE *f, const char *t, const struct lab_svc *s,
		      const struct lab_service_port *p, const char *const *eps, size_t n)
{
	const char *proto = proto_name(p->protocol);
	unsigned target = p->target_port ? p->target_port : p->port;
	char id[64];

	port_id(s, p, id, sizeof(id));
	fprintf(f, "add chain ip %s svc-%s\nflush chain ip %s svc-%s\n", t, id, t, id);
	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "add chain ip %s ep-%s-%zu\nflush chain ip %s ep-%s-%zu\n",
			t, id, i, t, id, i);
		fprintf(f, "add rule ip %s ep-%s-%zu ip saddr %s meta mark set meta mark | "
			HAIRPIN_MARK "\n", t, id, i, eps[i]);
		fprintf(f, "add rule ip %s ep-%s-%zu meta l4proto %s dnat ip to %s:%u\n",
			t, id, i, proto, eps[i], target);
	}
	fprintf(f, "add rule ip %s svc-%s numgen random mod %zu vmap {", t, id, n);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s %zu : goto ep-%s-%zu", i ? "," : "", i, id, i);
	fprintf(f, " }\n");
	fprintf(f, "add element ip %s service-ips { %s . %s . %u : goto svc-%s }\n", t,
		s->ip, proto, p->port, id);
}

static bool has_port(const struct lab_service_port *ports, size_t n,
		     const struct lab_service_port *p)
{
	for (size_t i = 0; i < n; i++)
		if (ports[i].protocol == p->protocol && ports[i].port == p->port)
			return true;
	return false;
}

/* The whole change for one Service, old state (s) to new. */
static char *build_script(struct lab *lab, const struct lab_svc *s,
			  const struct lab_service_spec *spec)
{
	char *buf = NULL, t[64];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	snprintf(t, sizeof(t), "%s-services", lab->name);
	if (!lab->svc_table_ready)
		emit_table(f, t);
	/* Old ports: their elements go; chains of ports that stay are
	 * flushed and reused, the others deleted. */
	for (size_t i = 0; i < s->n_ports; i++) {
		bool stays = spec && has_port(spec->ports, spec->n_ports, &s->ports[i]);
		size_t keep = stays ? spec->n_endpoints : 0;
		emit_port_removal(f, t, s, &s->ports[i], keep, stays);
	}
	for (size_t i = 0; spec && i < spec->n_ports; i++)
		emit_port(f, t, s, &spec->ports[i], spec->endpoints, spec->n_endpoints);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int spec_check(const struct lab_service_spec *spec, struct diag_list *diags)
{
	struct in_addr a;

	if (!spec->ns || !spec->name || !*spec->ns || !*spec->name ||
	    strchr(spec->ns, '/') || strchr(spec->name, '/') || spec->ns[0] == '.' ||
	    spec->name[0] == '.') {
		diag_error(diags, "bad Service name");
		return -EINVAL;
	}
	for (size_t i = 0; i < spec->n_ports; i++) {
		if (!proto_name(spec->ports[i].protocol) || spec->ports[i].port == 0) {
			diag_error(diags, "Service %s/%s: bad port %u", spec->ns, spec->name,
				  spec->ports[i].port);
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < spec->n_endpoints; i++) {
		if (!spec->endpoints[i] || inet_pton(AF_INET, spec->endpoints[i], &a) != 1) {
			diag_error(diags, "Service %s/%s: bad endpoint \"%s\"", spec->ns,
				  spec->name, spec->endpoints[i] ? spec->endpoints[i] : "");
			return -EINVAL;
		}
	}
	return 0;
}

static int svc_new(struct lab *lab, const struct lab_service_spec *spec,
		   struct lab_svc **out, struct diag_list *diags)
{
	struct lab_svc *s = calloc(1, sizeof(*s));
	char *key = lab_strdup_printf("%s/%s", spec->ns, spec->name);
	int rc = s && key ? 0 : -ENOMEM;

	if (rc == 0) {
		snprintf(s->key, sizeof(s->key), "%012llx",
			 (unsigned long long)(lab_hash64(key) & 0xffffffffffffULL));
		s->ns = strdup(spec->ns);
		s->name = strdup(spec->name);
		rc = s->ns && s->name ? 0 : -ENOMEM;
	}
	free(key);
	if (rc == 0 && spec->cluster_ip) {
		rc = is_dns_ip(lab, spec->cluster_ip) ? 0
			: lab_ipam_reserve(lab->svc_ipam, spec->cluster_ip);
		if (rc < 0)
			diag_error(diags, "Service %s/%s: ClusterIP %s %s", spec->ns, spec->name,
				  spec->cluster_ip, rc == -EEXIST ? "is in use"
							: "is not in " LAB_SERVICE_CIDR);
		else
			snprintf(s->ip, sizeof(s->ip), "%s", spec->cluster_ip);
	} else if (rc == 0) {
		rc = lab_ipam_alloc(lab->svc_ipam, s->ip, sizeof(s->ip));
		if (rc < 0)
			diag_error(diags, "no free ClusterIP in " LAB_SERVICE_CIDR);
	}
	if (rc < 0) {
		svc_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

/* The DNS record: one hosts file per Service in the directory the cluster
 * DNS watches, replaced by rename so it is never read half-written. */
static int dns_record(struct lab *lab, const struct lab_svc *s, bool present)
{
	char *path = lab_strdup_printf("%s/dns/hosts/%s.%s", lab->dir, s->ns, s->name);
	char *tmp = lab_strdup_printf("%s/dns/.%s.%s", lab->dir, s->ns, s->name);
	char *line = lab_strdup_printf("%s\t%s.%s.svc.cluster.local\n", s->ip, s->name, s->ns);
	int rc = path && tmp && line ? 0 : -ENOMEM;

	if (rc == 0 && !present)
		rc = unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	else if (rc == 0)
		rc = lab_write_file(tmp, line, 0644);
	if (rc == 0 && present && rename(tmp, path) < 0)
		rc = -errno;
	free(path);
	free(tmp);
	free(line);
	return rc;
}

int services_init(struct lab *lab)
{
	char *dir;
	int rc;

	if (lab->svc_ipam)
		return 0;
	lab->svc_ipam = ipam_new_range(LAB_SVC_BASE);
	dir = lab_strdup_printf("%s/dns/hosts", lab->dir);
	rc = lab->svc_ipam && dir ? lab_mkdir_p(dir, 0755) : -ENOMEM;
	/* The cluster DNS's address is never handed to another Service. */
	if (rc == 0)
		rc = lab_ipam_reserve(lab->svc_ipam, lab->dns_ip);
	free(dir);
	return rc;
}


static int svc_set_ports(struct lab_svc *s, const struct lab_service_spec *spec)
{
	struct lab_service_port *ports = NULL;

	if (spec->n_ports) {
		ports = calloc(spec->n_ports, sizeof(*ports));
		if (!ports)
			return -ENOMEM;
		memcpy(ports, spec->ports, spec->n_ports * sizeof(*ports));
	}
	free(s->ports);
	s->ports = ports;
	s->n_ports = spec->n_ports;
	s->n_endpoints = spec->n_endpoints;
	return 0;
}

int lab_service_apply(struct lab *lab, const struct lab_service_spec *spec,
		      char *ip, struct diag_list *diags)
{
	struct lab_svc *s;
	bool created = false;
	char *script;
	int rc = spec_check(spec, diags);

	if (rc == 0)
		rc = services_init(lab);
	if (rc < 0)
		return rc;
	s = svc_find(lab, spec->ns, spec->name);
	if (s && spec->cluster_ip && strcmp(spec->cluster_ip, s->ip) != 0) {
		diag_error(diags, "Service %s/%s: ClusterIP %s cannot change to %s",
			  spec->ns, spec->name, s->ip, spec->cluster_ip);
		return -EINVAL;
	}
	if (!s) {
		rc = svc_new(lab, spec, &s, diags);
		if (rc < 0)
			return rc;
		created = true;
	}
	script = build_script(lab, s, spec);
	rc = script ? nft_node_run(lab, script, diags) : -ENOMEM;
	free(script);
	if (rc == 0)
		lab->svc_table_ready = true;
	if (rc == 0)
		rc = svc_set_ports(s, spec);
	if (rc == 0)
		rc = dns_record(lab, s, true);
	if (rc == 0)
		rc = svc_save(lab, s);
	if (rc < 0 && created) {
		if (!is_dns_ip(lab, s->ip))
			lab_ipam_release(lab->svc_ipam, s->ip);
		svc_free(s);
		return rc;
	}
	if (created) {
		s->next = lab->services;
		lab->services = s;
	}
	if (ip)
		snprintf(ip, 16, "%s", s->ip);
	return rc;
}

int lab_service_delete(struct lab *lab, const char *ns, const char *name)
{
	struct lab_svc *s = svc_find(lab, ns, name);
	char *script;
	int rc;

	if (!s)
		return -ENOENT;
	script = build_script(lab, s, NULL);
	rc = script ? nft_node_run(lab, script, NULL) : -ENOMEM;
	free(script);
	if (rc < 0)
		return rc;
	dns_record(lab, s, false);
	svc_unsave(lab, s);
	if (!is_dns_ip(lab, s->ip))
		lab_ipam_release(lab->svc_ipam, s->ip);
	for (struct lab_svc **pp = &lab->services; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	svc_free(s);
	return 0;
}
