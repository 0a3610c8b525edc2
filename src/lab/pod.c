/* Pods: a network namespace with eth0 (a veth whose other end is in the
 * node), a /32, a default route via the link-local gateway, the pod's own
 * resolv.conf and hosts, and its containers' processes.
 *
 * Both directions use static neighbour entries: the pod knows the gateway
 * at the node side's fixed MAC, the node knows the pod's address at the
 * pod's MAC (derived from its address), so no ARP is ever needed. */
#include <arpa/inet.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "lab/lab_internal.h"

#define NETNS_NAME_MAX 200

/* The node side of every pod veth: like Calico's, one MAC for all, since
 * each veth is a link of its own. */
static const uint8_t gateway_mac[6] = {0xee, 0xee, 0xee, 0xee, 0xee, 0xee};

/* ---- names and files --------------------------------------------------- */

static bool dns_name_valid(const char *s, size_t max, bool dots)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > max || s[0] == '-' || s[0] == '.' ||
	    s[n - 1] == '-' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		      (dots && c == '.')))
			return false;
	}
	return true;
}

static int spec_check(const struct lab_pod_spec *spec, struct diag_list *diags)
{
	if (!dns_name_valid(spec->ns, 63, false)) {
		diag_error(diags, "bad pod namespace \"%s\"", spec->ns ? spec->ns : "");
		return -EINVAL;
	}
	if (!dns_name_valid(spec->name, 253, true)) {
		diag_error(diags, "bad pod name \"%s\"", spec->name ? spec->name : "");
		return -EINVAL;
	}
	if (spec->n_containers == 0 || !spec->containers) {
		diag_error(diags, "pod %s/%s has no containers", spec->ns, spec->name);
		return -EINVAL;
	}
	for (size_t i = 0; i < spec->n_containers; i++) {
		const char *cn = spec->containers[i].name;
		if (cn && !dns_name_valid(cn, 63, false)) {
			diag_error(diags, "pod %s/%s: bad container name \"%s\"",
				  spec->ns, spec->name, cn);
			return -EINVAL;
		}
	}
	return 0;
}

static char *pod_netns_name(const struct lab *lab, const char *ns, const char *name)
{
	char *full = lab_strdup_printf("%s-p-%s-%s", lab->name, ns, name);
	char *key, *shortened;

	if (!full || strlen(full) <= NETNS_NAME_MAX)
		return full;
	key = lab_strdup_printf("%s/%s", ns, name);
	shortened = key ? lab_strdup_printf("%.*s-%016llx", NETNS_NAME_MAX - 17, full,
					    (unsigned long long)lab_hash64(key))
			: NULL;
	free(key);
	free(full);
	return shortened;
}

int pod_names(struct lab *lab, struct lab_pod *pod)
{
	char *key = lab_strdup_printf("%s/%s", pod->ns, pod->name);

	if (!key)
		return -ENOMEM;
	/* IFNAMSIZ: "np" and 12 hex digits of the pod's hash. */
	snprintf(pod->ifname, sizeof(pod->ifname), "np%012llx",
		 (unsigned long long)(lab_hash64(key) & 0xffffffffffffULL));
	free(key);
	pod->netns = pod_netns_name(lab, pod->ns, pod->name);
	pod->dir = lab_strdup_printf("%s/pods/%s/%s", lab->dir, pod->ns, pod->name);
	pod->resolv_conf = lab_strdup_printf("%s/resolv.conf", pod->dir ? pod->dir : "");
	pod->hosts = lab_strdup_printf("%s/hosts", pod->dir ? pod->dir : "");
	pod->hostname_file = lab_strdup_printf("%s/hostname", pod->dir ? pod->dir : "");
	if (!pod->netns || !pod->dir || !pod->resolv_conf || !pod->hosts || !pod->hostname_file)
		return -ENOMEM;
	return 0;
}

static int pod_files(struct lab *lab, struct lab_pod *pod)
{
	char *resolv, *hosts;
	int rc = lab_mkdir_p(pod->dir, 0755);

	if (rc < 0)
		return rc;
	/* What kubelet writes for dnsPolicy ClusterFirst. */
	resolv = lab_strdup_printf("search %s.svc.cluster.local svc.cluster.local cluster.local\n"
				   "nameserver %s\n"
				   "options ndots:5\n", pod->ns, lab->dns_ip);
	hosts = lab_strdup_printf("# Kubernetes-managed hosts file.\n"
				  "127.0.0.1\tlocalhost\n"
				  "::1\tlocalhost ip6-localhost ip6-loopback\n"
				  "fe00::0\tip6-localnet\n"
				  "fe00::0\tip6-mcastprefix\n"
				  "fe00::1\tip6-allnodes\n"
				  "fe00::2\tip6-allrouters\n"
				  "%s\t%s\n", pod->ip, pod->name);
	rc = resolv && hosts ? 0 : -ENOMEM;
	if (rc == 0)
		rc = lab_write_file(pod->resolv_conf, resolv, 0644);
	if (rc == 0)
		rc = lab_write_file(pod->hosts, hosts, 0644);
	if (rc == 0) {
		char *name = lab_strdup_printf("%s\n", pod->name);
		rc = name ? lab_write_file(pod->hostname_file, name, 0644) : -ENOMEM;
		free(name);
	}
	free(resolv);
	free(hosts);
	return rc;
}

/* ---- network ----------------------------------------------------------- */

static void pod_mac(const struct lab_pod *pod, uint8_t mac[6])
{
	const uint8_t *a = (const uint8_t *)&pod->addr.s_addr;

	/* Locally administered, unicast, unique within the lab. */
	mac[0] = 0x02;
	mac[1] = 0x00;
	memcpy(mac + 2, a, 4);
}

static int pod_wire_inside(struct lab_pod *pod, int pod_fd)
{
	struct in_addr gw;
	struct rtnl *nl;
	int eth0, rc;

	inet_pton(AF_INET, LAB_GATEWAY_IP, &gw);
	rc = rtnl_open(pod_fd, &nl);
	if (rc < 0)
		return rc;
	rc = rtnl_link_up(nl, 1);
	eth0 = rc == 0 ? rtnl_link_index(nl, "eth0") : rc;
	rc = eth0 < 0 ? eth0 : 0;
	if (rc == 0)
		rc = rtnl_link_up(nl, eth0);
	if (rc == 0)
		rc = rtnl_addr_add(nl, eth0, AF_INET, &pod->addr, 32);
	if (rc == 0)
		rc = rtnl_neigh_add(nl, eth0, AF_INET, &gw, gateway_mac);
	if (rc == 0)
		rc = rtnl_route_add(nl, AF_INET, NULL, 0, &gw, eth0, true);
	rtnl_close(nl);
	return rc;
}

static int pod_wire(struct lab *lab, struct lab_pod *pod)
{
	uint8_t mac[6];
	int pod_fd, node_if, rc;

	pod_mac(pod, mac);
	rc = netns_create(pod->netns);
	if (rc < 0)
		return rc;
	pod_fd = netns_open(pod->netns);
	if (pod_fd < 0)
		return pod_fd;
	rc = rtnl_veth_create(lab->nl, pod->ifname, gateway_mac, "eth0", mac, pod_fd);
	node_if = rc == 0 ? rtnl_link_index(lab->nl, pod->ifname) : rc;
	rc = node_if < 0 ? node_if : 0;
	if (rc == 0)
		rc = rtnl_route_add(lab->nl, AF_INET, &pod->addr, 32, NULL, node_if, false);
	if (rc == 0)
		rc = rtnl_neigh_add(lab->nl, node_if, AF_INET, &pod->addr, mac);
	if (rc == 0)
		rc = pod_wire_inside(pod, pod_fd);
	/* A probe to a closed port fails at once however often it runs. */
	if (rc == 0)
		rc = netns_sysctl(pod_fd, "net/ipv4/icmp_ratelimit", "0");
	close(pod_fd);
	return rc;
}

/* Deleting the node side removes the pair at once; a namespace's own
 * teardown is asynchronous and would keep the name busy for a while. */
static void pod_unwire(struct lab *lab, struct lab_pod *pod)
{
	int node_if;

	if (lab->nl) {
		node_if = rtnl_link_index(lab->nl, pod->ifname);
		if (node_if > 0)
			rtnl_link_del(lab->nl, node_if);
	}
	netns_kill_all(pod->netns, lab->stop_grace_ms);
	netns_delete(pod->netns);
}

/* ---- create / delete --------------------------------------------------- */

void lab_pod_free_internal(struct lab_pod *pod)
{
	if (!pod)
		return;
	for (size_t i = 0; i < pod->n_ctrs; i++)
		ctr_clear(&pod->ctrs[i]);
	free(pod->ctrs);
	free(pod->ns);
	free(pod->name);
	free(pod->netns);
	free(pod->dir);
	free(pod->resolv_conf);
	free(pod->hosts);
	free(pod->hostname_file);
	free(pod);
}

static int pod_ip(struct lab *lab, struct lab_pod *pod, const char *want,
		  struct diag_list *diags)
{
	int rc;

	if (want) {
		rc = lab_ipam_reserve(lab->ipam, want);
		if (rc < 0) {
			diag_error(diags, "pod %s/%s: address %s %s", pod->ns, pod->name,
				  want, rc == -EEXIST ? "is in use" : "is not in " LAB_POD_CIDR);
			return rc;
		}
		snprintf(pod->ip, sizeof(pod->ip), "%s", want);
	} else {
		rc = lab_ipam_alloc(lab->ipam, pod->ip, sizeof(pod->ip));
		if (rc < 0) {
			diag_error(diags, "pod %s/%s: no free address in " LAB_POD_CIDR,
				  pod->ns, pod->name);
			return rc;
		}
	}
	inet_pton(AF_INET, pod->ip, &pod->addr);
	return 0;
}

static int pod_containers(struct lab *lab, struct lab_pod *pod,
			  const struct lab_pod_spec *spec, struct diag_list *diags)
{
	pod->ctrs = calloc(spec->n_containers, sizeof(*pod->ctrs));
	if (!pod->ctrs)
		return -ENOMEM;
	pod->n_ctrs = spec->n_containers;
	for (size_t i = 0; i < spec->n_containers; i++) {
		const struct lab_container *sc = &spec->containers[i];
		struct lab_ctr *c = &pod->ctrs[i];
		int rc;

		c->name = strdup(sc->name ? sc->name : "main");
		c->open_stdin = sc->open_stdin;
		c->tty = sc->open_stdin && sc->tty;
		c->log_path = c->name ? lab_strdup_printf("%s/%s.log", pod->dir, c->name) : NULL;
		if (!c->name || !c->log_path)
			return -ENOMEM;
		for (size_t j = 0; j < i; j++) {
			if (strcmp(pod->ctrs[j].name, c->name) == 0) {
				diag_error(diags, "pod %s/%s: two containers named %s",
					  pod->ns, pod->name, c->name);
				return -EINVAL;
			}
		}
		rc = image_prepare(lab, spec, sc, pod->dir, c, diags);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int pod_start(struct lab_pod *pod)
{
	struct proc_pod_env pe = {pod->netns, pod->name, pod->resolv_conf, pod->hosts,
				  pod->hostname_file};

	for (size_t i = 0; i < pod->n_ctrs; i++) {
		int rc = proc_start(&pe, &pod->ctrs[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void pod_discard(struct lab *lab, struct lab_pod *pod, bool wired, bool has_ip)
{
	proc_stop_all(pod->ctrs, pod->n_ctrs, lab->stop_grace_ms);
	if (wired)
		pod_unwire(lab, pod);
	if (has_ip)
		lab_ipam_release(lab->ipam, pod->ip);
	if (pod->dir)
		lab_rm_rf(pod->dir);
	lab_pod_free_internal(pod);
}

int lab_pod_create(struct lab *lab, const struct lab_pod_spec *spec,
		   struct lab_pod **out, struct diag_list *diags)
{
	struct lab_pod *pod;
	bool has_ip = false, wired = false;
	int rc;

	if (out)
		*out = NULL;
	rc = spec_check(spec, diags);
	if (rc < 0)
		return rc;
	if (lab_pod_find(lab, spec->ns, spec->name)) {
		diag_error(diags, "pod %s/%s exists already", spec->ns, spec->name);
		return -EEXIST;
	}
	pod = calloc(1, sizeof(*pod));
	if (!pod)
		return -ENOMEM;
	pod->ns = strdup(spec->ns);
	pod->name = strdup(spec->name);
	pod->restart = spec->restart;
	rc = pod->ns && pod->name ? pod_names(lab, pod) : -ENOMEM;
	if (rc == 0)
		rc = pod_ip(lab, pod, spec->ip, diags);
	has_ip = rc == 0;
	if (rc == 0)
		rc = pod_files(lab, pod);
	if (rc == 0)
		rc = pod_containers(lab, pod, spec, diags);
	if (rc == 0) {
		wired = true;
		rc = pod_wire(lab, pod);
		if (rc < 0)
			diag_error(diags, "pod %s/%s: cannot wire its network: %s",
				  spec->ns, spec->name, strerror(-rc));
	}
	if (rc == 0)
		rc = pod_start(pod);
	if (rc == 0)
		rc = pod_save(pod);
	if (rc < 0) {
		pod_discard(lab, pod, wired, has_ip);
		return rc;
	}
	pod->next = lab->pods;
	lab->pods = pod;
	lab->n_pods++;
	if (out)
		*out = pod;
	return 0;
}

static void pod_unlink(struct lab *lab, struct lab_pod *pod)
{
	for (struct lab_pod **pp = &lab->pods; *pp; pp = &(*pp)->next) {
		if (*pp == pod) {
			*pp = pod->next;
			lab->n_pods--;
			return;
		}
	}
}

int lab_pod_delete(struct lab *lab, struct lab_pod *pod)
{
	if (!pod)
		return -EINVAL;
	pod_unlink(lab, pod);
	pod_discard(lab, pod, true, true);
	return 0;
}

void pods_stop_all(struct lab *lab)
{
	int64_t deadline = lab_now_ms() + lab->stop_grace_ms;
	size_t left;

	for (struct lab_pod *p = lab->pods; p; p = p->next) {
		for (size_t i = 0; i < p->n_ctrs; i++)
			p->ctrs[i].finished = true;
		proc_signal_all(p->ctrs, p->n_ctrs, SIGTERM);
	}
	do {
		left = 0;
		for (struct lab_pod *p = lab->pods; p; p = p->next)
			left += proc_reap_stopped(p->ctrs, p->n_ctrs);
		if (left && lab_now_ms() >= deadline) {
			for (struct lab_pod *p = lab->pods; p; p = p->next)
				proc_signal_all(p->ctrs, p->n_ctrs, SIGKILL);
			deadline = INT64_MAX;
		}
		if (left) {
			struct timespec ts = {0, 5000000};
			nanosleep(&ts, NULL);
		}
	} while (left);
}

/* ---- lookups ----------------------------------------------------------- */

struct lab_pod *lab_pod_find(struct lab *lab, const char *ns, const char *name)
{
	for (struct lab_pod *p = lab->pods; p; p = p->next)
		if (strcmp(p->ns, ns) == 0 && strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

size_t lab_pod_count(const struct lab *lab)
{
	return lab->n_pods;
}

const char *lab_pod_ip(const struct lab_pod *pod)
{
	return pod->ip;
}

const char *lab_pod_netns(const struct lab_pod *pod)
{
	return pod->netns;
}

int lab_pod_socket(const struct lab_pod *pod)
{
	int saved = -1, ns = netns_open(pod->netns), fd, rc;
	if (ns < 0)
		return ns;
	rc = netns_enter(ns, &saved);
	close(ns);
	if (rc < 0)
		return rc;
	/* a socket stays in the namespace it was made in */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	rc = fd < 0 ? -errno : fd;
	netns_leave(saved);
	return rc;
}

const char *lab_pod_log_path(const struct lab_pod *pod, const char *container)
{
	for (size_t i = 0; i < pod->n_ctrs; i++)
		if (!container || strcmp(pod->ctrs[i].name, container) == 0)
			return pod->ctrs[i].log_path;
	return NULL;
}

pid_t lab_pod_pid(const struct lab_pod *pod, const char *container)
{
	for (size_t i = 0; i < pod->n_ctrs; i++)
		if (!container || strcmp(pod->ctrs[i].name, container) == 0)
			return pod->ctrs[i].pid;
	return 0;
}
