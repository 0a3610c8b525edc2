/* The outside world: a namespace standing in for the internet, with a DNS
 * server and a web server, reached from pods through the node with source
 * NAT. It is built like a pod (its processes are supervised the same way)
 * but wired differently: a /24 link to the node instead of a /32. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab/lab_internal.h"

#define NODE_UPLINK "uplink"
#define NODE_UPLINK_IP "203.0.113.2"
#define WORLD_ROUTER_IP "203.0.113.1"

/* Starts like the tutorial's google.com page, which is what it checks. */
static const char world_page[] =
	"<!doctype html><html itemscope=\"\" itemtype=\"http://schema.org/WebPage\" lang=\"en\">"
	"<head><title>The outside world</title></head>\n"
	"<body><p>The netpol lab's stand-in for the internet: this page is served at "
	LAB_WORLD_WEB_IP " for google.com and example.com.</p></body></html>\n";

static const char world_nginx_conf[] =
	"daemon off;\n"
	"worker_processes 1;\n"
	"pid nginx.pid;\n"
	"error_log stderr notice;\n"
	"events { worker_connections 256; }\n"
	"http {\n"
	"    include /etc/nginx/mime.types;\n"
	"    access_log /dev/stdout;\n"
	"    client_body_temp_path tmp/body;\n"
	"    proxy_temp_path tmp/proxy;\n"
	"    fastcgi_temp_path tmp/fastcgi;\n"
	"    uwsgi_temp_path tmp/uwsgi;\n"
	"    scgi_temp_path tmp/scgi;\n"
	"    server {\n"
	"        listen " LAB_WORLD_WEB_IP ":80 default_server;\n"
	"        root www;\n"
	"        location / { try_files $uri /index.html; }\n"
	"    }\n"
	"}\n";

static int world_files(struct lab_pod *w)
{
	char *www = lab_strdup_printf("%s/web/www", w->dir);
	char *tmp = lab_strdup_printf("%s/web/tmp", w->dir);
	char *page = lab_strdup_printf("%s/web/www/index.html", w->dir);
	char *conf = lab_strdup_printf("%s/web/nginx.conf", w->dir);
	int rc = www && tmp && page && conf ? 0 : -ENOMEM;

	if (rc == 0)
		rc = lab_mkdir_p(www, 0755);
	if (rc == 0)
		rc = lab_mkdir_p(tmp, 0755);
	if (rc == 0)
		rc = lab_write_file(page, world_page, 0644);
	if (rc == 0)
		rc = lab_write_file(conf, world_nginx_conf, 0644);
	if (rc == 0)
		rc = lab_write_file(w->resolv_conf, "nameserver " LAB_WORLD_DNS_IP "\n", 0644);
	if (rc == 0)
		rc = lab_write_file(w->hosts, "127.0.0.1\tlocalhost\n", 0644);
	free(www);
	free(tmp);
	free(page);
	free(conf);
	return rc;
}

static int world_containers(struct lab *lab, struct lab_pod *w, struct diag_list *diags)
{
	char *prefix = lab_strdup_printf("%s/web", w->dir);
	char *conf = lab_strdup_printf("%s/web/nginx.conf", w->dir);
	const char *const web_cmd[] = {"nginx", "-p", prefix, "-c", conf, "-e", "stderr", NULL};
	const char *const dns_args[] = {"--no-hosts", "--log-queries",
		"--address=/google.com/" LAB_WORLD_WEB_IP,
		"--address=/example.com/" LAB_WORLD_WEB_IP, NULL};
	static const uint16_t web_port = 80, dns_port = 53;
	struct lab_container cs[2] = {
		{.name = "dns", .image = "dnsmasq", .args = dns_args, .ports = &dns_port, .n_ports = 1},
		{.name = "web", .image = "nginx", .command = web_cmd, .ports = &web_port, .n_ports = 1},
	};
	struct lab_pod_spec spec = {.ns = "world", .name = "world", .containers = cs,
				    .n_containers = 2};
	int rc = prefix && conf ? 0 : -ENOMEM;

	if (rc == 0)
		rc = (w->ctrs = calloc(2, sizeof(*w->ctrs))) ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < 2; i++) {
		struct lab_ctr *c = &w->ctrs[i];

		w->n_ctrs = i + 1;
		c->name = strdup(cs[i].name);
		c->log_path = lab_strdup_printf("%s/%s.log", w->dir, cs[i].name);
		rc = c->name && c->log_path ? 0 : -ENOMEM;
		if (rc == 0)
			rc = image_prepare(lab, &spec, &cs[i], w->dir, c, diags);
	}
	free(prefix);
	free(conf);
	return rc;
}

/* Node: 203.0.113.2/24 and the default route; world: the router and the
 * servers' addresses, and no route beyond its /24. */
static int world_wire(struct lab *lab, struct lab_pod *w)
{
	struct in_addr node_ip, router, addrs[3];
	const char *world_ips[3] = {WORLD_ROUTER_IP, LAB_WORLD_DNS_IP, LAB_WORLD_WEB_IP};
	struct rtnl *nl = NULL;
	int fd, uplink, eth0, rc;

	inet_pton(AF_INET, NODE_UPLINK_IP, &node_ip);
	inet_pton(AF_INET, WORLD_ROUTER_IP, &router);
	for (int i = 0; i < 3; i++)
		inet_pton(AF_INET, world_ips[i], &addrs[i]);
	rc = netns_create(w->netns);
	if (rc < 0)
		return rc;
	fd = netns_open(w->netns);
	if (fd < 0)
		return fd;
	rc = rtnl_veth_create(lab->nl, NODE_UPLINK, NULL, "eth0", NULL, fd);
	uplink = rc == 0 ? rtnl_link_index(lab->nl, NODE_UPLINK) : rc;
	rc = uplink < 0 ? uplink : rtnl_addr_add(lab->nl, uplink, AF_INET, &node_ip, 24);
	if (rc == 0)
		rc = rtnl_route_add(lab->nl, AF_INET, NULL, 0, &router, uplink, false);
	if (rc == 0)
		rc = rtnl_open(fd, &nl);
	if (rc == 0)
		rc = rtnl_link_up(nl, 1);
	eth0 = rc == 0 ? rtnl_link_index(nl, "eth0") : rc;
	rc = eth0 < 0 ? eth0 : rtnl_link_up(nl, eth0);
	for (int i = 0; rc == 0 && i < 3; i++)
		rc = rtnl_addr_add(nl, eth0, AF_INET, &addrs[i], 24);
	rtnl_close(nl);
	close(fd);
	return rc;
}

/* natOutgoing: pods' traffic leaving for the world takes the node's
 * address, so the world needs no route back to pods. */
static int world_nat(struct lab *lab, struct diag_list *diags)
{
	char *script = lab_strdup_printf(
		"table ip %s-nat-outgoing {\n"
		"  chain postrouting { type nat hook postrouting priority srcnat; policy accept;\n"
		"    oifname \"" NODE_UPLINK "\" ip saddr " LAB_POD_CIDR " masquerade; }\n"
		"}\n", lab->name);
	int rc = script ? nft_node_run(lab, script, diags) : -ENOMEM;

	free(script);
	return rc;
}

int lab_world_create(struct lab *lab, struct diag_list *diags)
{
	struct lab_pod *w;
	int rc;

	if (lab->world)
		return -EEXIST;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	snprintf(w->ifname, sizeof(w->ifname), NODE_UPLINK);
	snprintf(w->ip, sizeof(w->ip), WORLD_ROUTER_IP);
	inet_pton(AF_INET, WORLD_ROUTER_IP, &w->addr);
	w->restart = LAB_RESTART_ALWAYS;
	w->ns = strdup("world");
	w->name = strdup("world");
	w->netns = lab_strdup_printf("%s-world", lab->name);
	w->dir = lab_strdup_printf("%s/world", lab->dir);
	w->resolv_conf = lab_strdup_printf("%s/world/resolv.conf", lab->dir);
	w->hosts = lab_strdup_printf("%s/world/hosts", lab->dir);
	rc = w->ns && w->name && w->netns && w->dir && w->resolv_conf && w->hosts
		? lab_mkdir_p(w->dir, 0755) : -ENOMEM;
	if (rc == 0)
		rc = world_files(w);
	if (rc == 0)
		rc = world_containers(lab, w, diags);
	if (rc == 0)
		rc = world_wire(lab, w);
	if (rc == 0)
		rc = world_nat(lab, diags);
	if (rc == 0)
		rc = pod_start(w);
	if (rc == 0)
		rc = pod_save(w);
	if (rc < 0) {
		diag_error(diags, "lab %s: cannot create the outside world: %s", lab->name,
			  strerror(-rc));
		pod_discard(lab, w, true, false);
		return rc;
	}
	lab->world = w;
	rc = lab_pod_wait_ready(lab, w, 5000);
	if (rc < 0)
		diag_error(diags, "lab %s: the outside world's servers did not start (see %s)",
			  lab->name, w->dir);
	return rc;
}
