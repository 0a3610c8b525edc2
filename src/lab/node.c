/* The node: a network namespace that plays the host. Pods' veths end here
 * and it forwards between them; later the Service NAT and the policy tables
 * live here too. A lab also owns a state directory and a lock file: the
 * lock (flock, so a crash releases it) tells a live lab from leftovers. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "lab/lab_internal.h"

bool lab_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > LAB_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9')))
			return false;
	return true;
}

const char *lab_name(const struct lab *lab)
{
	return lab->name;
}

const char *lab_node_netns(const struct lab *lab)
{
	return lab->node_netns;
}

struct lab_ipam *lab_ipam(struct lab *lab)
{
	return lab->ipam;
}

static char *exe_sibling(const char *rel)
{
	char exe[PATH_MAX], *slash, *cand;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	cand = lab_strdup_printf("%s/%s", exe, rel);
	if (cand && access(cand, X_OK) == 0)
		return cand;
	free(cand);
	return NULL;
}

/* The probe program: explicit, environment, beside the executable (the
 * netpol binary in build/, or a test in build/src/lab/), then PATH. */
static char *find_probe(const char *explicit)
{
	static const char *const rels[] = {"netpol-probe", "src/probe/netpol-probe",
					    "../probe/netpol-probe"};
	const char *env = getenv("NETPOL_PROBE");
	char *p;

	if (explicit)
		return strdup(explicit);
	if (env && *env)
		return strdup(env);
	for (size_t i = 0; i < sizeof(rels) / sizeof(rels[0]); i++)
		if ((p = exe_sibling(rels[i])))
			return p;
	p = proc_find_program("netpol-probe", NULL, NULL);
	if (p && !strchr(p, '/')) {
		free(p);
		return NULL;
	}
	return p;
}

static int lab_fill_opts(struct lab *lab, const struct lab_opts *o)
{
	const char *bb = o && o->busybox_dir ? o->busybox_dir : getenv("NETPOL_BUSYBOX_DIR");

	lab->state_root = strdup(o && o->state_dir ? o->state_dir : LAB_STATE_DIR);
	lab->busybox_dir = strdup(bb && *bb ? bb : LAB_BUSYBOX_DIR);
	lab->dns_ip = strdup(o && o->dns_ip ? o->dns_ip : LAB_DNS_IP);
	lab->probe_path = find_probe(o ? o->probe_path : NULL);
	lab->stop_grace_ms = o && o->stop_grace_ms > 0 ? o->stop_grace_ms : 2000;
	lab->node_netns = lab_strdup_printf("%s-node", lab->name);
	lab->dir = lab_strdup_printf("%s/%s", lab->state_root, lab->name);
	if (!lab->state_root || !lab->busybox_dir || !lab->dns_ip ||
	    !lab->node_netns || !lab->dir)
		return -ENOMEM;
	return 0;
}

/* A child forked by the lab holds the lock's open file until it execs
 * (O_CLOEXEC closes it only then), so a lab started right after another
 * one stopped may find the lock briefly held by such a child: wait for it
 * a bounded time. A live daemon holds it for good and still gets -EBUSY. */
static int lab_lock_take(int fd)
{
	for (int tries = 0;; tries++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK)
			return -errno;
		if (tries >= 60)
			return -EBUSY;
		usleep(50 * 1000);
	}
}

/* Held for the lab's lifetime; a second owner of the same name fails. */
static int lab_lock(struct lab *lab)
{
	char *path = lab_strdup_printf("%s/%s.lock", lab->state_root, lab->name);
	int rc;

	if (!path)
		return -ENOMEM;
	rc = lab_mkdir_p(lab->state_root, 0755);
	if (rc == 0) {
		lab->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (lab->lock_fd < 0)
			rc = -errno;
		else
			rc = lab_lock_take(lab->lock_fd);
	}
	if (rc == 0)
		lab->lock_path = path;
	else
		free(path);
	return rc;
}

static int node_setup(struct lab *lab)
{
	int rc = netns_create(lab->node_netns);

	if (rc < 0)
		return rc;
	lab->node_fd = netns_open(lab->node_netns);
	if (lab->node_fd < 0)
		return lab->node_fd;
	rc = rtnl_open(lab->node_fd, &lab->nl);
	if (rc == 0)
		rc = rtnl_link_up(lab->nl, 1); /* lo is always 1 */
	if (rc == 0)
		rc = netns_sysctl(lab->node_fd, "net/ipv4/ip_forward", "1");
	if (rc == 0)
		rc = netns_sysctl(lab->node_fd, "net/ipv6/conf/all/forwarding", "1");
	/* A Service IP that nothing DNATs (no endpoints) is the node's own,
	 * so it is refused at once (a TCP reset, a port or protocol
	 * unreachable) as kube-proxy's reject does; routing errors would be
	 * rate-limited by the kernel, and too slow for "fails promptly". */
	if (rc == 0) {
		struct in_addr svc = {htonl(LAB_SVC_BASE)};
		rc = rtnl_route_local(lab->nl, AF_INET, &svc, 16);
	}
	if (rc == 0)
		rc = netns_sysctl(lab->node_fd, "net/ipv4/icmp_ratelimit", "0");
	return rc;
}

/* A lab to adopt: its node namespace and its state directory are there. */
static bool can_adopt(const struct lab *lab)
{
	char *ns = lab_strdup_printf(LAB_NETNS_DIR "/%s", lab->node_netns);
	char *pods = lab_strdup_printf("%s/pods", lab->dir);
	bool ok = ns && pods && access(ns, F_OK) == 0 && access(pods, F_OK) == 0;

	free(ns);
	free(pods);
	return ok;
}

static int node_adopt(struct lab *lab, struct diag_list *diags)
{
	int rc;

	lab->node_fd = netns_open(lab->node_netns);
	if (lab->node_fd < 0)
		return lab->node_fd;
	rc = rtnl_open(lab->node_fd, &lab->nl);
	if (rc == 0)
		rc = lab_adopt(lab, diags);
	if (rc < 0)
		diag_error(diags, "lab %s: cannot adopt it: %s", lab->name, strerror(-rc));
	return rc;
}

/* <dir>/bin: the lab's own programs under the names pods know them by. */
static int lab_bin_dir(struct lab *lab)
{
	static const char *const names[] = {"probe", "netpol-probe"};
	char *bin = lab_strdup_printf("%s/bin", lab->dir);
	int rc = bin ? lab_mkdir_p(bin, 0755) : -ENOMEM;

	for (size_t i = 0; rc == 0 && lab->probe_path && i < 2; i++) {
		char *link = lab_strdup_printf("%s/%s", bin, names[i]);
		char *abs = realpath(lab->probe_path, NULL);

		if (!link || !abs)
			rc = -ENOMEM;
		else if (symlink(abs, link) < 0 && errno != EEXIST)
			rc = -errno;
		free(link);
		free(abs);
	}
	free(bin);
	return rc;
}

/* A new lab: leftovers of the name swept, the node made, state dirs made. */
static int node_fresh(struct lab *lab)
{
	char *pods = lab_strdup_printf("%s/pods", lab->dir);
	int rc = pods ? lab_sweep(lab->name, lab->state_root) : -ENOMEM;

	if (rc >= 0)
		rc = node_setup(lab);
	if (rc == 0)
		rc = lab_mkdir_p(pods, 0755);
	if (rc == 0)
		rc = lab_bin_dir(lab);
	free(pods);
	return rc;
}

int lab_node_create(const char *name, const struct lab_opts *opts,
		    struct lab **out, struct diag_list *diags)
{
	struct lab *lab;
	int rc;

	*out = NULL;
	if (!lab_name_valid(name)) {
		diag_error(diags, "bad lab name \"%s\": use 1-%d of a-z and 0-9",
			  name ? name : "", LAB_NAME_MAX);
		return -EINVAL;
	}
	lab = calloc(1, sizeof(*lab));
	if (!lab)
		return -ENOMEM;
	lab->node_fd = lab->lock_fd = -1;
	lab->name = strdup(name);
	lab->ipam = lab_ipam_new();
	rc = lab->name && lab->ipam ? lab_fill_opts(lab, opts) : -ENOMEM;
	if (rc == 0 && (rc = lab_lock(lab)) == -EBUSY)
		diag_error(diags, "lab %s is in use (another handle holds its lock)", name);
	if (rc < 0)
		goto cleanup;
	if (opts && opts->adopt && can_adopt(lab)) {
		rc = node_adopt(lab, diags);
		if (rc < 0)
			goto cleanup;
	} else if ((rc = node_fresh(lab)) < 0) {
		diag_error(diags, "lab %s: cannot create the node: %s", name, strerror(-rc));
		lab_destroy(lab);
		return rc;
	}
	*out = lab;
	return 0;
cleanup:
	lab_free(lab);
	return rc;
}

void lab_free(struct lab *lab)
{
	if (!lab)
		return;
	while (lab->pods) {
		struct lab_pod *p = lab->pods;
		lab->pods = p->next;
		lab_pod_free_internal(p);
	}
	lab_pod_free_internal(lab->world);
	services_free(lab);
	rtnl_close(lab->nl);
	if (lab->node_fd >= 0)
		close(lab->node_fd);
	if (lab->lock_fd >= 0)
		close(lab->lock_fd);
	lab_ipam_free(lab->ipam);
	free(lab->lock_path);
	free(lab->name);
	free(lab->node_netns);
	free(lab->state_root);
	free(lab->dir);
	free(lab->probe_path);
	free(lab->busybox_dir);
	free(lab->dns_ip);
	free(lab);
}

int lab_destroy(struct lab *lab)
{
	int rc = 0, r;

	if (!lab)
		return 0;
	/* Processes get their grace period all at once; then the sweep
	 * removes every namespace in one go, and the kernel tears their
	 * veths down in a batch instead of one link at a time. */
	pods_stop_all(lab);
	if (lab->world)
		proc_stop_all(lab->world->ctrs, lab->world->n_ctrs, lab->stop_grace_ms);
	rtnl_close(lab->nl);
	lab->nl = NULL;
	if (lab->node_fd >= 0)
		close(lab->node_fd);
	lab->node_fd = -1;
	/* Whatever is left with our prefix (the node, a half-made pod) goes
	 * the way a crashed lab's leftovers go. */
	r = lab_sweep(lab->name, lab->state_root);
	if (r < 0 && rc == 0)
		rc = r;
	if (lab->lock_path)
		unlink(lab->lock_path);
	lab_free(lab);
	return rc;
}

int lab_sweep(const char *name, const char *state_dir)
{
	char **names = NULL, *prefix, *dir;
	size_t n = 0;
	int rc, removed = 0;

	if (!lab_name_valid(name))
		return -EINVAL;
	prefix = lab_strdup_printf("%s-", name);
	dir = lab_strdup_printf("%s/%s", state_dir ? state_dir : LAB_STATE_DIR, name);
	rc = prefix && dir ? netns_list(prefix, &names, &n) : -ENOMEM;
	/* Kill everything first: a process in one of the namespaces would
	 * keep it (and its veths) alive after the unmount. */
	if (rc == 0 && n > 0)
		netns_kill_set(names, n, 0);
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (netns_delete(names[i]) == 0)
			removed++;
	if (rc == 0)
		rc = lab_rm_rf(dir);
	lab_strv_free(names);
	free(prefix);
	free(dir);
	return rc < 0 ? rc : removed;
}
