/* Services, cluster DNS and the outside world against the kernel: needs
 * root. Each test makes a lab of its own (see lab_test.h). */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab_test.h"

static const uint16_t web_port[] = {8080};
static char lab_test_last_node[64];

static struct lab_service_port svc_ports[] = {
	{IPPROTO_TCP, 80, 8080}, {IPPROTO_UDP, 80, 8080}, {IPPROTO_SCTP, 80, 8080}};

static int apply(struct lab *lab, const char *ns, const char *name,
		 const char *const *eps, size_t n, char *ip)
{
	struct lab_service_spec spec = {.ns = ns, .name = name, .ports = svc_ports,
					.n_ports = 3, .endpoints = eps, .n_endpoints = n};
	struct diag_list d = {0};
	int rc = lab_service_apply(lab, &spec, ip, &d);

	if (rc < 0)
		unit_fail(__FILE__, __LINE__, "lab_service_apply: %s: %s", strerror(-rc),
			  d.n ? d.items[0].msg : "");
	diag_list_clear(&d);
	return rc;
}

static void spreading(struct lab *lab)
{
	struct lab_pod *w1 = make_pod(lab, "shop", "web-1", "probe", NULL, web_port, 1,
				      LAB_RESTART_ALWAYS);
	struct lab_pod *w2 = make_pod(lab, "shop", "web-2", "probe", NULL, web_port, 1,
				      LAB_RESTART_ALWAYS);
	struct lab_pod *client = make_pod(lab, "other", "client", "probe", NULL, NULL, 0,
					  LAB_RESTART_ALWAYS);
	const char *eps[2];
	char ip[16], out[256];
	int seen1 = 0, seen2 = 0;

	CHECK(w1 && w2 && client);
	CHECK_INT(lab_pod_wait_ready(lab, w1, WAIT_MS), 0);
	CHECK_INT(lab_pod_wait_ready(lab, w2, WAIT_MS), 0);
	eps[0] = lab_pod_ip(w1);
	eps[1] = lab_pod_ip(w2);
	CHECK_INT(apply(lab, "shop", "web", eps, 2, ip), 0);
	CHECK(strncmp(ip, "198.19.", 7) == 0);
	for (int i = 0; i < 30; i++) {
		CHECK_INT(probe_from(lab, client, ip, "80", "tcp", out, sizeof(out)), 0);
		seen1 += strcmp(out, "web-1\n") == 0;
		seen2 += strcmp(out, "web-2\n") == 0;
	}
	CHECK(seen1 > 0 && seen2 > 0);
	CHECK_INT(seen1 + seen2, 30);
	CHECK_INT(probe_from(lab, client, ip, "80", "udp", out, sizeof(out)), 0);
	CHECK_INT(probe_from(lab, client, ip, "80", "sctp", out, sizeof(out)), 0);
	/* One replica goes: its endpoint goes, the other takes everything. */
	CHECK_INT(lab_pod_delete(lab, w1), 0);
	CHECK_INT(apply(lab, "shop", "web", eps + 1, 1, NULL), 0);
	for (int i = 0; i < 10; i++) {
		CHECK_INT(probe_from(lab, client, ip, "80", "tcp", out, sizeof(out)), 0);
		CHECK_STR(out, "web-2\n");
	}
}

TEST(a_service_spreads_over_its_endpoints_and_follows_their_changes)
{
	with_lab(spreading);
}

static void no_endpoints(struct lab *lab)
{
	struct lab_pod *client = make_pod(lab, "other", "client", "probe", NULL, NULL, 0,
					  LAB_RESTART_ALWAYS);
	const char *protos[] = {"tcp", "udp", "sctp"};
	char ip[16], out[256];

	CHECK(client);
	CHECK_INT(apply(lab, "shop", "empty", NULL, 0, ip), 0);
	/* Repeatedly: no ICMP rate limit may turn "refused" into a timeout. */
	for (int i = 0; i < 12; i++) {
		int64_t t0 = now_ms();
		int rc = probe_from(lab, client, ip, "80", protos[i % 3], out, sizeof(out));
		int64_t took = now_ms() - t0;

		if (rc != 1 || took >= PROMPT_MS)
			unit_fail(__FILE__, __LINE__, "%s: exit %d after %lld ms: %s",
				  protos[i % 3], rc, (long long)took, out);
	}
}

TEST(a_service_without_endpoints_fails_promptly)
{
	with_lab(no_endpoints);
}

static void hairpin(struct lab *lab)
{
	struct lab_pod *w = make_pod(lab, "shop", "web-1", "probe", NULL, web_port, 1,
				     LAB_RESTART_ALWAYS);
	const char *eps[1];
	char ip[16], out[256];

	CHECK(w);
	CHECK_INT(lab_pod_wait_ready(lab, w, WAIT_MS), 0);
	eps[0] = lab_pod_ip(w);
	CHECK_INT(apply(lab, "shop", "web", eps, 1, ip), 0);
	CHECK_INT(probe_from(lab, w, ip, "80", "tcp", out, sizeof(out)), 0);
	CHECK_STR(out, "web-1\n");
	CHECK_INT(probe_from(lab, w, ip, "80", "udp", out, sizeof(out)), 0);
}

TEST(a_pod_reaches_itself_through_its_own_service)
{
	with_lab(hairpin);
}

static void deletion(struct lab *lab)
{
	struct lab_pod *w = make_pod(lab, "shop", "web-1", "probe", NULL, web_port, 1,
				     LAB_RESTART_ALWAYS);
	const char *eps[1];
	char ip[16], ip2[16], out[8192], cmd[256];
	FILE *p;
	size_t n;

	CHECK(w);
	CHECK_INT(lab_pod_wait_ready(lab, w, WAIT_MS), 0);
	eps[0] = lab_pod_ip(w);
	CHECK_INT(apply(lab, "shop", "web", eps, 1, ip), 0);
	CHECK_INT(lab_service_delete(lab, "shop", "web"), 0);
	CHECK_INT(lab_service_delete(lab, "shop", "web"), -ENOENT);
	CHECK_INT(probe_from(lab, w, ip, "80", "tcp", out, sizeof(out)), 1);
	snprintf(cmd, sizeof(cmd), "ip netns exec %s nft list table ip %s-services",
		 lab_node_netns(lab), lab_name(lab));
	p = popen(cmd, "r");
	CHECK(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	pclose(p);
	CHECK(strstr(out, "service-ips"));
	CHECK(!strstr(out, "svc-"));
	CHECK(!strstr(out, "ep-"));
	/* The address is free again, but is not the next one handed out. */
	CHECK_INT(apply(lab, "shop", "web2", eps, 1, ip2), 0);
	CHECK(strcmp(ip, ip2) != 0);
}

TEST(deleting_a_service_removes_its_chains_and_elements)
{
	with_lab(deletion);
}

static void cluster_ip_fixed(struct lab *lab)
{
	struct lab_service_spec spec = {.ns = "a", .name = "b", .cluster_ip = "198.19.3.3",
					.ports = svc_ports, .n_ports = 1};
	struct diag_list d = {0};
	char ip[16];

	CHECK_INT(lab_service_apply(lab, &spec, ip, &d), 0);
	CHECK_STR(ip, "198.19.3.3");
	spec.cluster_ip = "198.19.3.4";
	CHECK_INT(lab_service_apply(lab, &spec, ip, &d), -EINVAL);
	CHECK(d.n == 1 && strstr(d.items[0].msg, "cannot change"));
	diag_list_clear(&d);
	spec.name = "c";
	spec.cluster_ip = "198.19.3.3";
	CHECK_INT(lab_service_apply(lab, &spec, ip, &d), -EEXIST);
	spec.cluster_ip = "10.0.0.1";
	CHECK_INT(lab_service_apply(lab, &spec, ip, &d), -EINVAL);
	diag_list_clear(&d);
}

TEST(a_cluster_ip_is_kept_unique_and_cannot_change)
{
	with_lab(cluster_ip_fixed);
}

/* ---- the tutorial's checks: DNS, Service by name, the outside world ---- */

static struct lab_pod *tutorial_setup(struct lab *lab, char *svc_ip)
{
	static struct lab_service_port http[] = {{IPPROTO_TCP, 80, 80}};
	struct lab_service_spec spec = {.ns = "advanced-policy-demo", .name = "nginx",
					.ports = http, .n_ports = 1, .n_endpoints = 2};
	struct diag_list d = {0};
	struct lab_pod *n1, *n2, *access;
	const char *eps[2];
	int rc;

	rc = lab_world_create(lab, &d);
	if (rc == 0)
		rc = lab_dns_create(lab, NULL, NULL, &d);
	if (rc < 0) {
		unit_fail(__FILE__, __LINE__, "world/dns: %s: %s", strerror(-rc),
			  d.n ? d.items[0].msg : "");
		diag_list_clear(&d);
		return NULL;
	}
	n1 = make_pod(lab, "advanced-policy-demo", "nginx-1", "nginx", NULL, NULL, 0,
		      LAB_RESTART_ALWAYS);
	n2 = make_pod(lab, "advanced-policy-demo", "nginx-2", "nginx", NULL, NULL, 0,
		      LAB_RESTART_ALWAYS);
	access = make_pod(lab, "advanced-policy-demo", "access", "busybox", sleep_cmd,
			  NULL, 0, LAB_RESTART_ALWAYS);
	if (!n1 || !n2 || !access || lab_pod_wait_ready(lab, n1, WAIT_MS) < 0 ||
	    lab_pod_wait_ready(lab, n2, WAIT_MS) < 0)
		return NULL;
	eps[0] = lab_pod_ip(n1);
	eps[1] = lab_pod_ip(n2);
	spec.endpoints = eps;
	if (lab_service_apply(lab, &spec, svc_ip, &d) < 0) {
		diag_list_clear(&d);
		return NULL;
	}
	return access;
}

static void tutorial(struct lab *lab)
{
	char svc_ip[16], out[8192];
	struct lab_pod *access = tutorial_setup(lab, svc_ip);
	const char *wget_nginx[] = {"wget", "-q", "--timeout=5", "nginx", "-O", "-", NULL};
	const char *wget_google[] = {"wget", "-q", "--timeout=5", "google.com", "-O", "-", NULL};
	const char *nslookup[] = {"nslookup", "nginx", NULL};
	const char *nslookup_bad[] = {"nslookup", "nosuchservice", NULL};

	CHECK(access);
	CHECK_INT(run_in(lab, access, wget_nginx, out, sizeof(out), WAIT_MS), 0);
	CHECK(strstr(out, "<title>Welcome to nginx!</title>"));
	CHECK_INT(run_in(lab, access, nslookup, out, sizeof(out), WAIT_MS), 0);
	CHECK(strstr(out, "198.19.0.10"));
	CHECK(strstr(out, svc_ip));
	CHECK(strstr(out, "nginx.advanced-policy-demo.svc.cluster.local"));
	CHECK_INT(run_in(lab, access, wget_google, out, sizeof(out), WAIT_MS), 0);
	CHECK(strncmp(out, "<!doctype html><html itemscope=\"\"", 33) == 0);
	CHECK(run_in(lab, access, nslookup_bad, out, sizeof(out), WAIT_MS) != 0);
	CHECK(strstr(out, "can't resolve 'nosuchservice'"));
}

TEST(busybox_gets_nginx_by_service_name_resolves_it_and_reaches_google_com)
{
	with_lab(tutorial);
}

static void dns_follows_services(struct lab *lab)
{
	struct diag_list d = {0};
	struct lab_pod *dns = NULL, *access;
	const char *look[] = {"nslookup", "late.default.svc.cluster.local", NULL};
	char out[4096], ip[16];
	pid_t dns_pid;

	CHECK_INT(lab_dns_create(lab, "coredns", &dns, &d), 0);
	diag_list_clear(&d);
	dns_pid = lab_pod_pid(dns, NULL);
	access = make_pod(lab, "default", "access", "busybox", sleep_cmd, NULL, 0,
			  LAB_RESTART_ALWAYS);
	CHECK(access);
	CHECK(run_in(lab, access, look, out, sizeof(out), WAIT_MS) != 0);
	CHECK_INT(apply(lab, "default", "late", NULL, 0, ip), 0);
	CHECK_INT(run_in(lab, access, look, out, sizeof(out), WAIT_MS), 0);
	CHECK(strstr(out, ip));
	CHECK_INT(lab_service_delete(lab, "default", "late"), 0);
	CHECK(run_in(lab, access, look, out, sizeof(out), WAIT_MS) != 0);
	/* All without restarting dnsmasq. */
	CHECK_INT(lab_pod_pid(dns, NULL), dns_pid);
}

TEST(cluster_dns_follows_services_without_restarting)
{
	with_lab(dns_follows_services);
}

/* ---- a daemon restart: lab_free, then adopt ----------------------------- */

static void adopted_lab_body(struct lab *lab, char *name)
{
	struct diag_list d = {0};
	struct lab_opts opts = {.adopt = true};
	struct lab_pod *web, *client, *access;
	struct lab *again = NULL;
	const char *eps[1];
	const char *look[] = {"nslookup", "web.shop.svc.cluster.local", NULL};
	const char *google[] = {"wget", "-q", "--timeout=5", "google.com", "-O", "-", NULL};
	char ip[16], ip2[16], out[4096];
	pid_t web_pid, dns_pid, new_pid;

	CHECK_INT(lab_world_create(lab, &d), 0);
	CHECK_INT(lab_dns_create(lab, NULL, NULL, &d), 0);
	diag_list_clear(&d);
	web = make_pod(lab, "shop", "web-1", "probe", NULL, web_port, 1, LAB_RESTART_ALWAYS);
	client = make_pod(lab, "other", "client", "probe", NULL, NULL, 0, LAB_RESTART_ALWAYS);
	access = make_pod(lab, "other", "access", "busybox", sleep_cmd, NULL, 0,
			  LAB_RESTART_ALWAYS);
	CHECK(web && client && access);
	CHECK_INT(lab_pod_wait_ready(lab, web, WAIT_MS), 0);
	eps[0] = lab_pod_ip(web);
	CHECK_INT(apply(lab, "shop", "web", eps, 1, ip), 0);
	web_pid = lab_pod_pid(web, NULL);
	dns_pid = lab_pod_pid(lab_pod_find(lab, "kube-system", "kube-dns"), NULL);

	/* The daemon goes away; everything in the kernel stays. */
	lab_free(lab);
	CHECK_INT(lab_node_create(name, &opts, &again, &d), 0);
	for (size_t i = 0; i < d.n; i++)
		unit_fail(__FILE__, __LINE__, "adopting: %s", d.items[i].msg);
	diag_list_clear(&d);
	CHECK_INT(lab_pod_count(again), 4);
	web = lab_pod_find(again, "shop", "web-1");
	client = lab_pod_find(again, "other", "client");
	access = lab_pod_find(again, "other", "access");
	CHECK(web && client && access);
	CHECK_INT(lab_pod_pid(web, NULL), web_pid);
	CHECK_INT(lab_pod_pid(lab_pod_find(again, "kube-system", "kube-dns"), NULL), dns_pid);
	CHECK_INT(probe_from(again, client, ip, "80", "tcp", out, sizeof(out)), 0);
	CHECK_STR(out, "web-1\n");
	CHECK_INT(run_in(again, access, look, out, sizeof(out), WAIT_MS), 0);
	CHECK(strstr(out, ip));
	CHECK_INT(run_in(again, access, google, out, sizeof(out), WAIT_MS), 0);
	CHECK(strstr(out, "<!doctype html>"));

	/* Adopted processes are still supervised... */
	kill(web_pid, SIGKILL);
	for (int64_t end = now_ms() + WAIT_MS; now_ms() < end; usleep(10000)) {
		lab_reap(again);
		new_pid = lab_pod_pid(web, NULL);
		if (new_pid > 0 && new_pid != web_pid)
			break;
	}
	CHECK(lab_pod_pid(web, NULL) != web_pid);
	CHECK_INT(lab_pod_wait_ready(again, web, WAIT_MS), 0);
	/* ...Services still update, and their addresses are still taken. */
	eps[0] = lab_pod_ip(web);
	CHECK_INT(apply(again, "shop", "web", eps, 1, ip2), 0);
	CHECK_STR(ip2, ip);
	CHECK_INT(apply(again, "shop", "other", eps, 1, ip2), 0);
	CHECK(strcmp(ip2, ip) != 0);
	CHECK_INT(probe_from(again, client, ip2, "80", "tcp", out, sizeof(out)), 0);
	CHECK_INT(lab_destroy(again), 0);
	CHECK(!netns_exists(lab_test_last_node));
}

static void adopted_lab(void)
{
	struct diag_list d = {0};
	struct lab *lab = NULL;
	char name[LAB_NAME_MAX + 1];

	lab_test_sweep_at_exit();
	snprintf(name, sizeof(name), "%s", next_lab_name());
	CHECK_INT(lab_node_create(name, NULL, &lab, &d), 0);
	snprintf(lab_test_last_node, sizeof(lab_test_last_node), "%s", lab_node_netns(lab));
	adopted_lab_body(lab, name);
	diag_list_clear(&d);
}

TEST(a_restarted_daemon_adopts_the_running_lab_without_restarting_pods)
{
	adopted_lab();
}
