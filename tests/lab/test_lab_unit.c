/* Lab pieces that need no privileges: IPAM, names, SCTP packets, run files. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "lab/lab.h"
#include "probe/sctp.h"
#include "unit.h"

TEST(ipam_hands_out_addresses_from_the_pod_range)
{
	struct lab_ipam *ipam = lab_ipam_new();
	char ip[16];

	CHECK(ipam);
	CHECK_INT(lab_ipam_alloc(ipam, ip, sizeof(ip)), 0);
	CHECK_STR(ip, "198.18.0.1");
	CHECK_INT(lab_ipam_alloc(ipam, ip, sizeof(ip)), 0);
	CHECK_STR(ip, "198.18.0.2");
	CHECK_INT(lab_ipam_in_use(ipam), 2);
	lab_ipam_free(ipam);
}

TEST(ipam_skips_addresses_seeded_as_in_use)
{
	struct lab_ipam *ipam = lab_ipam_new();
	char ip[16];

	CHECK_INT(lab_ipam_reserve(ipam, "198.18.0.1"), 0);
	CHECK_INT(lab_ipam_reserve(ipam, "198.18.0.2"), 0);
	CHECK_INT(lab_ipam_reserve(ipam, "198.18.0.2"), -EEXIST);
	CHECK_INT(lab_ipam_alloc(ipam, ip, sizeof(ip)), 0);
	CHECK_STR(ip, "198.18.0.3");
	lab_ipam_free(ipam);
}

TEST(ipam_does_not_reuse_a_released_address_at_once)
{
	struct lab_ipam *ipam = lab_ipam_new();
	char a[16], b[16];

	CHECK_INT(lab_ipam_alloc(ipam, a, sizeof(a)), 0);
	CHECK_INT(lab_ipam_release(ipam, a), 0);
	CHECK_INT(lab_ipam_release(ipam, a), -ENOENT);
	CHECK_INT(lab_ipam_alloc(ipam, b, sizeof(b)), 0);
	CHECK(strcmp(a, b) != 0);
	lab_ipam_free(ipam);
}

TEST(ipam_rejects_addresses_outside_the_pool)
{
	struct lab_ipam *ipam = lab_ipam_new();

	CHECK_INT(lab_ipam_reserve(ipam, "10.0.0.1"), -EINVAL);
	CHECK_INT(lab_ipam_reserve(ipam, "198.19.0.10"), -EINVAL);
	CHECK_INT(lab_ipam_reserve(ipam, "198.18.0.0"), -EINVAL);
	CHECK_INT(lab_ipam_reserve(ipam, "198.18.255.255"), -EINVAL);
	CHECK_INT(lab_ipam_reserve(ipam, "not an ip"), -EINVAL);
	lab_ipam_free(ipam);
}

TEST(ipam_reports_exhaustion_and_wraps_around_to_freed_addresses)
{
	struct lab_ipam *ipam = lab_ipam_new();
	char ip[16];
	int rc = 0;

	for (int i = 0; i < 65534 && rc == 0; i++)
		rc = lab_ipam_alloc(ipam, ip, sizeof(ip));
	CHECK_INT(rc, 0);
	CHECK_STR(ip, "198.18.255.254");
	CHECK_INT(lab_ipam_alloc(ipam, ip, sizeof(ip)), -ENOSPC);
	CHECK_INT(lab_ipam_release(ipam, "198.18.7.7"), 0);
	CHECK_INT(lab_ipam_alloc(ipam, ip, sizeof(ip)), 0);
	CHECK_STR(ip, "198.18.7.7");
	lab_ipam_free(ipam);
}

TEST(lab_names_are_lowercase_alphanumerics_without_hyphens)
{
	CHECK(lab_name_valid("demo"));
	CHECK(lab_name_valid("t12345x0"));
	CHECK(!lab_name_valid(""));
	CHECK(!lab_name_valid(NULL));
	CHECK(!lab_name_valid("demo-1"));
	CHECK(!lab_name_valid("Demo"));
	CHECK(!lab_name_valid("a/b"));
	CHECK(!lab_name_valid("abcdefghijklmnopqrstu"));
}

TEST(lab_node_create_rejects_a_bad_name_with_a_diagnostic)
{
	struct diag_list d = {0};
	struct lab *lab = (struct lab *)1;

	CHECK_INT(lab_node_create("bad-name", NULL, &lab, &d), -EINVAL);
	CHECK(lab == NULL);
	CHECK_INT(diag_count(&d, DIAG_ERROR), 1);
	CHECK(strstr(d.items[0].msg, "bad-name") != NULL);
	diag_list_clear(&d);
}

TEST(known_images_are_listed)
{
	CHECK_STR(lab_images(), "busybox, dnsmasq, nginx, probe");
}

TEST(sctp_checksum_is_crc32c)
{
	/* The CRC-32C check value (RFC 3720, B.4). */
	CHECK_INT(sctp_crc32c((const uint8_t *)"123456789", 9), 0xE3069283u);
}

TEST(sctp_init_ack_round_trips_with_its_cookie)
{
	uint8_t pkt[256];
	struct sctp_view v;
	size_t len = sctp_build_init_ack(pkt, 80, 40000, 0x11223344, 0x55667788, 7,
					 "netpol-probe\nweb\n", 17);

	CHECK_INT(len % 4, 0);
	CHECK_INT(sctp_parse(pkt, len, &v), 0);
	CHECK_INT(v.chunk, SCTP_INIT_ACK);
	CHECK_INT(v.sport, 80);
	CHECK_INT(v.dport, 40000);
	CHECK_INT(v.vtag, 0x11223344);
	CHECK_INT(v.init_tag, 0x55667788);
	CHECK_INT(v.cookie_len, 17);
	CHECK(memcmp(v.cookie, "netpol-probe\nweb\n", 17) == 0);
}

TEST(sctp_parse_rejects_a_corrupted_packet)
{
	uint8_t pkt[64];
	struct sctp_view v;
	size_t len = sctp_build_init(pkt, 40000, 80, 0xabcdef01, 1);

	CHECK_INT(sctp_parse(pkt, len, &v), 0);
	CHECK_INT(v.chunk, SCTP_INIT);
	CHECK_INT(v.vtag, 0);
	CHECK_INT(v.init_tag, 0xabcdef01);
	pkt[20] ^= 1;
	CHECK_INT(sctp_parse(pkt, len, &v), -1);
}

TEST(sctp_abort_carries_the_init_tag_without_the_t_bit)
{
	uint8_t pkt[64];
	struct sctp_view v;
	size_t len = sctp_build_abort(pkt, 80, 40000, 0x01020304);

	CHECK_INT(sctp_parse(pkt, len, &v), 0);
	CHECK_INT(v.chunk, SCTP_ABORT);
	CHECK_INT(v.vtag, 0x01020304);
	CHECK_INT(pkt[13], 0);
}

/* A process whose command line is "netpol agent --lab x1": sh running a
 * script named "agent" from dir, blocked reading a pipe until *in closes. */
static pid_t fake_agent(const char *dir, int *in)
{
	int p[2];
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[0], 0);
		close(p[1]);
		if (chdir(dir) == 0)
			execl("/bin/sh", "netpol", "agent", "--lab", "x1", (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	*in = p[1];
	return pid;
}

static bool write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	bool ok = f && fputs(text, f) >= 0;

	return f && fclose(f) == 0 && ok;
}

static bool cmdline_shows(pid_t pid, const char *verb)
{
	for (int i = 0; i < 200; i++) {  /* until sh has exec'd */
		if (lab_proc_is(pid, verb, NULL))
			return true;
		usleep(10000);
	}
	return false;
}

TEST(lab_stop_proc_stops_only_netpol_verb_of_its_lab)
{
	char dir[] = "/tmp/netpol-runfile.XXXXXX", *script;
	int in = -1;
	pid_t pid;
	time_t t0;

	CHECK(mkdtemp(dir) != NULL);
	signal(SIGCHLD, SIG_IGN);  /* reaped at once: gone for kill(pid, 0) */
	script = lab_run_file("agent", dir, "");
	CHECK(script && write_text(script, "read x\n"));
	pid = fake_agent(dir, &in);
	CHECK(pid > 0 && cmdline_shows(pid, "agent"));
	CHECK(lab_proc_is(pid, "agent", "x1"));
	CHECK(!lab_proc_is(pid, "agent", "x2"));
	CHECK(!lab_proc_is(pid, "serve", "x1"));
	CHECK(!lab_proc_is(getpid(), "agent", NULL));
	CHECK_INT(lab_stop_proc(pid, "agent", "x2", 100), 0);
	CHECK_INT(lab_stop_proc(pid, "serve", "x1", 100), 0);
	CHECK_INT(kill(pid, 0), 0);
	t0 = time(NULL);
	CHECK_INT(lab_stop_proc(pid, "agent", "x1", 5000), pid);
	CHECK(kill(pid, 0) < 0 && errno == ESRCH);
	CHECK(time(NULL) - t0 < 4);  /* SIGTERM did it, before the grace ran out */
	signal(SIGCHLD, SIG_DFL);
	close(in);
	unlink(script);
	free(script);
	rmdir(dir);
}

TEST(lab_run_files_hold_pids_and_go_unless_a_lab_holds_its_lock)
{
	char dir[] = "/tmp/netpol-runfile.XXXXXX", *pidf, *ready, *lock;
	int fd;

	CHECK(mkdtemp(dir) != NULL);
	pidf = lab_run_file("x1", dir, LAB_AGENT_PID_SUFFIX);
	ready = lab_run_file("x1", dir, LAB_AGENT_READY_SUFFIX);
	lock = lab_run_file("x1", dir, ".lock");
	CHECK(pidf && ready && lock && strstr(pidf, "/x1-agent.pid"));
	CHECK_INT(lab_read_pid_file(pidf), 0);
	CHECK_INT(lab_write_pid_file(pidf, 4242), 0);
	CHECK_INT(lab_read_pid_file(pidf), 4242);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	CHECK(fd >= 0 && flock(fd, LOCK_EX) == 0);
	CHECK(lab_write_pid_file(ready, 1) == 0);
	CHECK_INT(lab_run_files_remove("x1", dir), 0);
	CHECK(access(pidf, F_OK) < 0 && access(ready, F_OK) < 0);
	CHECK_INT(access(lock, F_OK), 0);  /* held: kept */
	close(fd);
	CHECK_INT(lab_run_files_remove("x1", dir), 0);
	CHECK(access(lock, F_OK) < 0);
	CHECK_INT(lab_run_files_remove("bad-name", dir), -EINVAL);
	free(pidf);
	free(ready);
	free(lock);
	rmdir(dir);
}
