/* The lab runtime against the kernel: needs root. Every test makes a lab of
 * its own, named from LAB_TEST_PREFIX (default "t<pid>") so parallel runs
 * never meet, and destroys it even when a check fails. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab_test.h"

/* ---- node and pod wiring ------------------------------------------------ */

static void node_is_a_named_namespace(struct lab *lab)
{
	char name[64];

	snprintf(name, sizeof(name), "%s-node", lab_name(lab));
	CHECK_STR(lab_node_netns(lab), name);
	CHECK(netns_exists(name));
}

TEST(node_is_a_named_namespace_ip_netns_can_see)
{
	with_lab(node_is_a_named_namespace);
}

static void second_owner(struct lab *lab)
{
	struct diag_list d = {0};
	struct lab *other = NULL;

	CHECK_INT(lab_node_create(lab_name(lab), NULL, &other, &d), -EBUSY);
	CHECK(other == NULL);
	CHECK(d.n == 1 && strstr(d.items[0].msg, "is in use"));
	diag_list_clear(&d);
	CHECK(netns_exists(lab_node_netns(lab)));
}

TEST(a_live_lab_cannot_be_created_twice)
{
	with_lab(second_owner);
}

static void pod_wiring(struct lab *lab)
{
	struct lab_pod *pod = make_pod(lab, "default", "web", "probe", NULL,
				       probe_ports, 2, LAB_RESTART_ALWAYS);
	char out[4096];
	const char *addr[] = {"ip", "-4", "-o", "addr", "show", "dev", "eth0", NULL};
	const char *route[] = {"ip", "route", NULL};
	const char *neigh[] = {"ip", "neigh", NULL};
	const char *host[] = {"hostname", NULL};
	const char *resolv[] = {"cat", "/etc/resolv.conf", NULL};

	CHECK(pod);
	CHECK_STR(lab_pod_ip(pod), "198.18.0.1");
	CHECK(netns_exists(lab_pod_netns(pod)));
	CHECK_INT(run_in(lab, pod, addr, out, sizeof(out), WAIT_MS), 0);
	CHECK(strstr(out, "inet 198.18.0.1/32"));
	CHECK_INT(run_in(lab, pod, route, out, sizeof(out), WAIT_MS), 0);
	CHECK(strstr(out, "default via 169.254.1.1 dev eth0"));
	CHECK_INT(run_in(lab, pod, neigh, out, sizeof(out), WAIT_MS), 0);
	CHECK(strstr(out, "169.254.1.1 dev eth0 lladdr ee:ee:ee:ee:ee:ee PERMANENT"));
	CHECK_INT(run_in(lab, pod, host, out, sizeof(out), WAIT_MS), 0);
	CHECK_STR(out, "web\n");
	CHECK_INT(run_in(lab, pod, resolv, out, sizeof(out), WAIT_MS), 0);
	CHECK(strstr(out, "search default.svc.cluster.local svc.cluster.local cluster.local\n"));
	CHECK(strstr(out, "nameserver 198.19.0.10\n"));
	CHECK(strstr(out, "options ndots:5\n"));
}

TEST(pod_gets_eth0_a_32_a_gateway_route_its_hostname_and_resolv_conf)
{
	with_lab(pod_wiring);
}

/* ---- traffic ----------------------------------------------------------- */

static void probes_between_pods(struct lab *lab)
{
	struct lab_pod *a = make_pod(lab, "alpha", "client", "probe", NULL, NULL, 0,
				     LAB_RESTART_ALWAYS);
	struct lab_pod *b = make_pod(lab, "beta", "server", "probe", NULL,
				     probe_ports, 2, LAB_RESTART_ALWAYS);
	const char *protos[] = {"tcp", "udp", "sctp"};
	char out[256];

	CHECK(a && b);
	CHECK_INT(lab_pod_wait_ready(lab, b, WAIT_MS), 0);
	for (int i = 0; i < 3; i++) {
		int rc = probe_from(lab, a, lab_pod_ip(b), "9090", protos[i], out, sizeof(out));
		if (rc != 0)
			unit_fail(__FILE__, __LINE__, "%s: exit %d: %s", protos[i], rc, out);
		CHECK_INT(rc, 0);
		CHECK_STR(out, "server\n");
	}
}

TEST(probe_reaches_a_pod_in_another_namespace_over_tcp_udp_and_sctp)
{
	with_lab(probes_between_pods);
}

static void probes_to_unserved_port(struct lab *lab)
{
	struct lab_pod *a = make_pod(lab, "alpha", "client", "probe", NULL, NULL, 0,
				     LAB_RESTART_ALWAYS);
	struct lab_pod *b = make_pod(lab, "beta", "server", "probe", NULL,
				     probe_ports, 2, LAB_RESTART_ALWAYS);
	const char *protos[] = {"tcp", "udp", "sctp"};
	char out[256];

	CHECK(a && b);
	CHECK_INT(lab_pod_wait_ready(lab, b, WAIT_MS), 0);
	for (int i = 0; i < 12; i++) {
		int64_t t0 = now_ms();
		int rc = probe_from(lab, a, lab_pod_ip(b), "7777", protos[i % 3], out,
				    sizeof(out));
		int64_t took = now_ms() - t0;

		if (rc != 1 || took >= PROMPT_MS)
			unit_fail(__FILE__, __LINE__, "%s: exit %d after %lld ms: %s",
				  protos[i % 3], rc, (long long)took, out);
		CHECK_INT(rc, 1);
		CHECK(took < PROMPT_MS);
	}
}

TEST(probe_fails_promptly_to_a_port_nobody_serves)
{
	with_lab(probes_to_unserved_port);
}

static void pod_without_server(struct lab *lab)
{
	struct lab_pod *a = make_pod(lab, "alpha", "client", "probe", NULL, NULL, 0,
				     LAB_RESTART_ALWAYS);
	struct lab_pod *b = make_pod(lab, "beta", "quiet", "busybox", sleep_cmd, NULL, 0,
				     LAB_RESTART_ALWAYS);
	char out[256];
	int64_t t0;
	int rc;

	CHECK(a && b);
	CHECK_INT(lab_pod_wait_ready(lab, b, WAIT_MS), 0);
	t0 = now_ms();
	/* No SCTP stack and no raw socket there: the kernel's ICMP protocol
	 * unreachable is the answer. */
	rc = probe_from(lab, a, lab_pod_ip(b), "9", "sctp", out, sizeof(out));
	CHECK_INT(rc, 1);
	CHECK(now_ms() - t0 < PROMPT_MS);
}

TEST(sctp_probe_fails_promptly_when_the_pod_runs_no_probe)
{
	with_lab(pod_without_server);
}

static void nginx_and_busybox(struct lab *lab)
{
	struct lab_pod *web = make_pod(lab, "demo", "nginx", "nginx", NULL, NULL, 0,
				       LAB_RESTART_ALWAYS);
	struct lab_pod *bb = make_pod(lab, "demo", "access", "busybox", sleep_cmd, NULL, 0,
				      LAB_RESTART_ALWAYS);
	char url[64], out[8192];
	const char *wget[] = {"wget", "-q", "--timeout=5", url, "-O", "-", NULL};

	CHECK(web && bb);
	CHECK_INT(lab_pod_wait_ready(lab, web, WAIT_MS), 0);
	snprintf(url, sizeof(url), "http://%s", lab_pod_ip(web));
	CHECK_INT(run_in(lab, bb, wget, out, sizeof(out), WAIT_MS), 0);
	CHECK(strstr(out, "<title>Welcome to nginx!</title>"));
}

TEST(busybox_wget_gets_the_nginx_welcome_page)
{
	with_lab(nginx_and_busybox);
}

static void wget_times_out(struct lab *lab)
{
	struct lab_pod *web = make_pod(lab, "demo", "nginx", "nginx", NULL, NULL, 0,
				       LAB_RESTART_ALWAYS);
	struct lab_pod *bb = make_pod(lab, "demo", "access", "busybox", sleep_cmd, NULL, 0,
				      LAB_RESTART_ALWAYS);
	char url[64], out[8192];
	const char *wget[] = {"wget", "-q", "--timeout=2", url, "-O", "-", NULL};
	/* What a deny policy does: drop silently, in the pod's namespace. */
	const char *drop[] = {"nft", "add table inet deny; add chain inet deny in "
			      "{ type filter hook input priority 0; policy accept; }; "
			      "add rule inet deny in tcp dport 80 drop", NULL};
	int64_t t0;

	CHECK(web && bb);
	CHECK_INT(lab_pod_wait_ready(lab, web, WAIT_MS), 0);
	CHECK_INT(run_in(lab, web, drop, out, sizeof(out), WAIT_MS), 0);
	snprintf(url, sizeof(url), "http://%s", lab_pod_ip(web));
	t0 = now_ms();
	CHECK_INT(run_in(lab, bb, wget, out, sizeof(out), WAIT_MS), 1);
	CHECK_STR(out, "wget: download timed out\n");
	CHECK(now_ms() - t0 < 2000 + PROMPT_MS);   /* --timeout=2, not the default */
}

TEST(busybox_wget_to_a_dropping_pod_prints_download_timed_out)
{
	with_lab(wget_times_out);
}

/* ---- processes ---------------------------------------------------------- */

static void unknown_image(struct lab *lab)
{
	struct lab_container c = {.image = "postgres:16"};
	struct lab_pod_spec spec = {.ns = "default", .name = "db", .containers = &c,
				    .n_containers = 1};
	struct diag_list d = {0};
	char pattern[128];

	CHECK_INT(lab_pod_create(lab, &spec, NULL, &d), -EINVAL);
	CHECK_INT(d.n, 1);
	CHECK(strstr(d.items[0].msg, "unknown image \"postgres:16\""));
	CHECK(strstr(d.items[0].msg, "busybox, dnsmasq, nginx, probe"));
	diag_list_clear(&d);
	CHECK_INT(lab_pod_count(lab), 0);
	snprintf(pattern, sizeof(pattern), "%s-p-default-db", lab_name(lab));
	CHECK(!netns_exists(pattern));
	CHECK_INT(lab_ipam_in_use(lab_ipam(lab)), 0);
}

TEST(an_unknown_image_is_an_error_listing_the_known_ones)
{
	with_lab(unknown_image);
}

static void restart_policies(struct lab *lab)
{
	const char *const fail[] = {"sh", "-c", "echo ran; exit 3", NULL};
	const char *const ok[] = {"sh", "-c", "echo ran", NULL};
	struct lab_pod *never = make_pod(lab, "jobs", "never", "busybox", fail, NULL, 0,
					 LAB_RESTART_NEVER);
	struct lab_pod *onfail = make_pod(lab, "jobs", "onfail", "busybox", fail, NULL, 0,
					  LAB_RESTART_ON_FAILURE);
	struct lab_pod *done = make_pod(lab, "jobs", "done", "busybox", ok, NULL, 0,
					LAB_RESTART_ON_FAILURE);
	struct lab_pod_status st;
	int64_t deadline = now_ms() + WAIT_MS;

	CHECK(never && onfail && done);
	while (now_ms() < deadline) {
		lab_reap(lab);
		lab_pod_status(onfail, &st);
		if (st.restarts >= 2)
			break;
		usleep(20000);
	}
	CHECK(st.restarts >= 2);
	CHECK_INT(st.phase, LAB_PHASE_RUNNING);
	lab_pod_status(never, &st);
	CHECK_INT(st.phase, LAB_PHASE_FAILED);
	CHECK_INT(st.restarts, 0);
	lab_pod_status(done, &st);
	CHECK_INT(st.phase, LAB_PHASE_SUCCEEDED);
	CHECK(!st.ready);
}

TEST(restart_policy_always_onfailure_never_is_followed)
{
	with_lab(restart_policies);
}

static void logs_kept(struct lab *lab)
{
	const char *const hello[] = {"sh", "-c", "echo out; echo err >&2; hostname", NULL};
	struct lab_pod *pod = make_pod(lab, "default", "talker", "busybox", hello, NULL, 0,
				       LAB_RESTART_NEVER);
	char buf[256] = "";
	FILE *f;
	size_t n;

	CHECK(pod);
	for (int64_t deadline = now_ms() + WAIT_MS; now_ms() < deadline;) {
		struct lab_pod_status st;

		lab_reap(lab);
		lab_pod_status(pod, &st);
		if (st.phase == LAB_PHASE_SUCCEEDED)
			break;
		usleep(10000);
	}
	CHECK_INT(lab_pod_wait_ready(lab, pod, 10), -ECHILD);
	f = fopen(lab_pod_log_path(pod, NULL), "r");
	CHECK(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	CHECK_STR(buf, "out\nerr\ntalker\n");
}

TEST(container_output_goes_to_the_pods_log)
{
	with_lab(logs_kept);
}

static void exec_with_tty(struct lab *lab)
{
	struct lab_pod *pod = make_pod(lab, "default", "shell", "busybox", sleep_cmd, NULL, 0,
				       LAB_RESTART_ALWAYS);
	const char *const argv[] = {"sh", NULL};
	struct lab_exec_opts o = {.tty = true};
	char buf[1024];
	size_t got = 0;
	int master = -1, status;
	pid_t pid;
	const char cmd[] = "tty -s && echo has-a-tty-$(hostname); exit 0\n";

	CHECK(pod);
	CHECK_INT(lab_exec(lab, pod, argv, &o, &pid, &master), 0);
	CHECK(master >= 0);
	CHECK(write(master, cmd, sizeof(cmd) - 1) == (ssize_t)sizeof(cmd) - 1);
	for (int64_t deadline = now_ms() + WAIT_MS; now_ms() < deadline && got < sizeof(buf) - 1;) {
		struct pollfd p = {master, POLLIN, 0};
		ssize_t n;

		if (poll(&p, 1, 200) <= 0)
			continue;
		n = read(master, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
		if (strstr(buf, "has-a-tty-shell\r\n"))
			break;
	}
	buf[got] = '\0';
	close(master);
	CHECK_INT(waitpid(pid, &status, 0), pid);
	CHECK(strstr(buf, "has-a-tty-shell\r\n"));
}

TEST(exec_with_a_tty_runs_an_interactive_shell_in_the_pod)
{
	with_lab(exec_with_tty);
}

static void bin_sh_is_busybox(struct lab *lab)
{
	struct lab_pod *pod = make_pod(lab, "default", "bb", "busybox", sleep_cmd, NULL, 0,
				       LAB_RESTART_ALWAYS);
	const char *argv[] = {"/bin/sh", "-c", "readlink /proc/$$/exe; wget --help 2>&1; true", NULL};
	char out[4096];

	CHECK(pod);
	CHECK_INT(run_in(lab, pod, argv, out, sizeof(out), WAIT_MS), 0);
	CHECK(strstr(out, "/busybox\n"));
	CHECK(strstr(out, "[-T SEC]"));
}

TEST(in_the_busybox_image_bin_sh_is_busybox_and_wget_has_a_timeout)
{
	with_lab(bin_sh_is_busybox);
}

/* ---- deletion, teardown, sweep ----------------------------------------- */

static bool pid_alive(pid_t pid)
{
	return kill(pid, 0) == 0;
}

static void pod_delete(struct lab *lab)
{
	struct lab_pod *pod = make_pod(lab, "default", "gone", "nginx", NULL, NULL, 0,
				       LAB_RESTART_ALWAYS);
	char netns[256], ip[16];
	const char *argv[] = {"sleep", "3600", NULL};
	pid_t stray;
	struct lab_exec_opts o = {.stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};

	CHECK(pod);
	CHECK_INT(lab_pod_wait_ready(lab, pod, WAIT_MS), 0);
	snprintf(netns, sizeof(netns), "%s", lab_pod_netns(pod));
	snprintf(ip, sizeof(ip), "%s", lab_pod_ip(pod));
	/* An exec'd process the caller forgot: deletion must not leave it. */
	CHECK_INT(lab_exec(lab, pod, argv, &o, &stray, NULL), 0);
	CHECK_INT(lab_pod_delete(lab, pod), 0);
	waitpid(stray, NULL, 0);
	CHECK(!netns_exists(netns));
	CHECK(!lab_pod_find(lab, "default", "gone"));
	CHECK_INT(lab_ipam_in_use(lab_ipam(lab)), 0);
	/* The same pod can come back at once. */
	pod = make_pod(lab, "default", "gone", "nginx", NULL, NULL, 0, LAB_RESTART_ALWAYS);
	CHECK(pod);
	CHECK_INT(lab_pod_wait_ready(lab, pod, WAIT_MS), 0);
	(void)ip;
}

TEST(pod_delete_stops_its_processes_and_removes_its_namespace)
{
	with_lab(pod_delete);
}

static void teardown_body(struct lab *lab)
{
	struct lab_pod *p1 = make_pod(lab, "a", "one", "nginx", NULL, NULL, 0,
				      LAB_RESTART_ALWAYS);
	struct lab_pod *p2 = make_pod(lab, "b", "two", "probe", NULL, probe_ports, 2,
				      LAB_RESTART_ALWAYS);
	char name[LAB_NAME_MAX + 1], node[64];
	pid_t pids[2];
	struct diag_list d = {0};
	struct lab *again = NULL;

	CHECK(p1 && p2);
	CHECK_INT(lab_pod_wait_ready(lab, p1, WAIT_MS), 0);
	CHECK_INT(lab_pod_wait_ready(lab, p2, WAIT_MS), 0);
	pids[0] = lab_pod_pid(p1, NULL);
	pids[1] = lab_pod_pid(p2, NULL);
	CHECK(pids[0] > 0 && pids[1] > 0);
	snprintf(name, sizeof(name), "%s", lab_name(lab));
	snprintf(node, sizeof(node), "%s", lab_node_netns(lab));
	/* A crash: the handle goes, everything in the kernel stays... */
	lab_free(lab);
	CHECK(pid_alive(pids[0]) && pid_alive(pids[1]));
	/* ...until the next lab of that name sweeps it. */
	CHECK_INT(lab_node_create(name, NULL, &again, &d), 0);
	diag_list_clear(&d);
	waitpid(pids[0], NULL, 0);
	waitpid(pids[1], NULL, 0);
	CHECK(!pid_alive(pids[0]) && !pid_alive(pids[1]));
	CHECK_INT(lab_pod_count(again), 0);
	lab_destroy(again);
	CHECK(!netns_exists(node));
}

static void teardown_after_crash(void)
{
	struct diag_list d = {0};
	struct lab *lab = NULL;

	lab_test_sweep_at_exit();
	CHECK_INT(lab_node_create(next_lab_name(), NULL, &lab, &d), 0);
	teardown_body(lab);
}

TEST(a_crashed_labs_leftovers_are_swept_by_the_next_lab_of_that_name)
{
	teardown_after_crash();
}

static bool netns_with_prefix(const char *prefix)
{
	char cmd[128], line[256];
	FILE *p;
	bool found = false;

	snprintf(cmd, sizeof(cmd), "ip netns list");
	p = popen(cmd, "r");
	if (!p)
		return true;
	while (fgets(line, sizeof(line), p))
		found = found || strncmp(line, prefix, strlen(prefix)) == 0;
	pclose(p);
	return found;
}

static void destroy_leaves_nothing(void)
{
	struct diag_list d = {0};
	struct lab *lab = NULL;
	struct lab_pod *pods[3];
	pid_t pids[3];
	char prefix[32];

	lab_test_sweep_at_exit();
	CHECK_INT(lab_node_create(next_lab_name(), NULL, &lab, &d), 0);
	snprintf(prefix, sizeof(prefix), "%s-", lab_name(lab));
	pods[0] = make_pod(lab, "a", "web", "nginx", NULL, NULL, 0, LAB_RESTART_ALWAYS);
	pods[1] = make_pod(lab, "a", "probe", "probe", NULL, probe_ports, 2,
			   LAB_RESTART_ALWAYS);
	pods[2] = make_pod(lab, "b", "sh", "busybox", sleep_cmd, NULL, 0,
			   LAB_RESTART_ALWAYS);
	for (int i = 0; i < 3; i++) {
		if (!pods[i]) {
			lab_destroy(lab);
			CHECK(pods[i]);
		}
		pids[i] = lab_pod_pid(pods[i], NULL);
	}
	CHECK(netns_with_prefix(prefix));
	CHECK_INT(lab_destroy(lab), 0);
	CHECK(!netns_with_prefix(prefix));
	for (int i = 0; i < 3; i++)
		CHECK(!pid_alive(pids[i]));
}

TEST(lab_destroy_leaves_no_namespace_and_no_process)
{
	destroy_leaves_nothing();
}

/* Started means running and listening: probe pods, each serving a port. */
static void hundred_pods(struct lab *lab)
{
	struct lab_pod *pods[100];
	int64_t t0 = now_ms(), took;
	char name[32];

	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "pod-%03d", i);
		pods[i] = make_pod(lab, "scale", name, "probe", NULL, probe_ports, 1,
				   LAB_RESTART_ALWAYS);
		CHECK(pods[i]);
	}
	for (int i = 0; i < 100; i++)
		CHECK_INT(lab_pod_wait_ready(lab, pods[i], WAIT_MS), 0);
	took = now_ms() - t0;
	printf("# 100 pods started and ready in %lld ms (%.1f ms per pod)\n",
	       (long long)took, (double)took / 100);
	CHECK_INT(lab_pod_count(lab), 100);
	CHECK_INT(lab_ipam_in_use(lab_ipam(lab)), 100);
	/* a guard against a hang, not a measure: speed is make bench's */
	CHECK(took < 60000);
}

TEST(a_hundred_pods_start_and_run)
{
	with_lab(hundred_pods);
}
