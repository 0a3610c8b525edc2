/* Cluster DNS: dnsmasq in a kube-system pod behind the Service
 * kube-system/kube-dns. Services' records are files in a directory dnsmasq
 * watches (--hostsdir), so a Service coming or going changes one file and
 * dnsmasq never restarts: no query is dropped. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab/lab_internal.h"

int lab_dns_create(struct lab *lab, const char *pod_name, struct lab_pod **out,
		   struct diag_list *diags)
{
	char *hostsdir = lab_strdup_printf("--hostsdir=%s/dns/hosts", lab->dir);
	const char *const args[] = {
		hostsdir,
		"--local=/cluster.local/",      /* never forwarded: NXDOMAIN here */
		"--domain-needed",              /* nor are bare names */
		"--no-hosts",
		"--no-negcache",
		"--server=" LAB_WORLD_DNS_IP,
		"--log-queries",
		NULL};
	static const uint16_t port = 53;
	struct lab_container c = {.name = "dnsmasq", .image = "dnsmasq", .args = args,
				  .ports = &port, .n_ports = 1};
	struct lab_pod_spec spec = {.ns = "kube-system",
				    .name = pod_name ? pod_name : "kube-dns",
				    .restart = LAB_RESTART_ALWAYS, .containers = &c,
				    .n_containers = 1};
	struct lab_service_port ports[2] = {{IPPROTO_UDP, 53, 53}, {IPPROTO_TCP, 53, 53}};
	struct lab_service_spec svc = {.ns = "kube-system", .name = "kube-dns",
				       .cluster_ip = lab->dns_ip, .ports = ports,
				       .n_ports = 2, .n_endpoints = 1};
	struct lab_pod *pod = NULL;
	const char *ep;
	int rc = hostsdir ? services_init(lab) : -ENOMEM;

	if (out)
		*out = NULL;
	if (rc == 0)
		rc = lab_pod_create(lab, &spec, &pod, diags);
	free(hostsdir);
	if (rc < 0)
		return rc;
	rc = lab_pod_wait_ready(lab, pod, 5000);
	if (rc < 0) {
		diag_error(diags, "cluster DNS: dnsmasq did not start (see %s)",
			  lab_pod_log_path(pod, NULL));
		lab_pod_delete(lab, pod);
		return rc;
	}
	ep = lab_pod_ip(pod);
	svc.endpoints = &ep;
	rc = lab_service_apply(lab, &svc, NULL, diags);
	if (rc < 0) {
		lab_pod_delete(lab, pod);
		return rc;
	}
	if (out)
		*out = pod;
	return 0;
}
