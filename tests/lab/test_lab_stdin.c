/* Containers with stdin: the container's own process reads a pipe (or,
 * with tty, a pty) whose other end the lab keeps; its output still goes to
 * the pod's log; each run gets a new stdin. Needs root. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lab_test.h"

static struct lab_pod *stdin_pod(struct lab *lab, const char *name, const char *image,
				 bool tty, enum lab_restart restart)
{
	struct lab_container c = {.name = "main", .image = image, .open_stdin = true,
				  .tty = tty};
	struct lab_pod_spec spec = {.ns = "default", .name = name, .restart = restart,
				    .containers = &c, .n_containers = 1};
	struct diag_list d = {0};
	struct lab_pod *pod = NULL;
	int rc = lab_pod_create(lab, &spec, &pod, &d);

	if (rc < 0)
		unit_fail(__FILE__, __LINE__, "lab_pod_create %s: %s: %s", name,
			  strerror(-rc), d.n ? d.items[0].msg : "");
	diag_list_clear(&d);
	return pod;
}

static int send_stdin(struct lab_pod *pod, const char *text)
{
	int fd = lab_pod_stdin_dup(pod, NULL);
	ssize_t n;

	if (fd < 0)
		return fd;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

/* Reaps until the pod reaches phase (or timeout); returns its phase. */
static enum lab_phase wait_phase(struct lab *lab, struct lab_pod *pod, enum lab_phase want,
				 int timeout_ms)
{
	struct lab_pod_status st;

	for (int64_t deadline = now_ms() + timeout_ms;; usleep(10000)) {
		lab_reap(lab);
		lab_pod_status(pod, &st);
		if (st.phase == want || now_ms() >= deadline)
			return st.phase;
	}
}

/* Polls the pod's log (reaping, so tty output is copied) for needle. */
static bool log_has(struct lab *lab, struct lab_pod *pod, const char *needle, int timeout_ms)
{
	char buf[8192];

	for (int64_t deadline = now_ms() + timeout_ms; now_ms() < deadline; usleep(10000)) {
		FILE *f = fopen(lab_pod_log_path(pod, NULL), "r");
		size_t n = 0;

		lab_reap(lab);
		if (f) {
			n = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
		}
		buf[n] = '\0';
		if (strstr(buf, needle))
			return true;
	}
	return false;
}

static void pipe_stdin(struct lab *lab)
{
	struct lab_pod *pod = stdin_pod(lab, "once", "busybox", false, LAB_RESTART_NEVER);
	struct lab_ctr_state st;
	struct lab_pod_status ps;

	CHECK(pod);
	CHECK_INT(lab_pod_wait_ready(lab, pod, WAIT_MS), 0);
	CHECK_INT(lab_pod_ctr_state(pod, NULL, &st), 0);
	CHECK(st.open_stdin && !st.tty && st.pid > 0);
	CHECK_INT(send_stdin(pod, "echo piped-$((6*7))\nexit 4\n"), 0);
	CHECK_INT(wait_phase(lab, pod, LAB_PHASE_FAILED, WAIT_MS), LAB_PHASE_FAILED);
	lab_pod_status(pod, &ps);
	CHECK_INT(ps.exit_code, 4);
	CHECK(log_has(lab, pod, "piped-42\n", WAIT_MS));
	CHECK_INT(lab_pod_stdin_dup(pod, NULL), -ENOENT);
}

TEST(the_default_shell_reads_its_stdin_pipe_and_its_exit_ends_the_pod)
{
	with_lab(pipe_stdin);
}

static void stdin_eof(struct lab *lab)
{
	struct lab_pod *pod = stdin_pod(lab, "eof", "busybox", false, LAB_RESTART_NEVER);

	CHECK(pod);
	CHECK_INT(lab_pod_wait_ready(lab, pod, WAIT_MS), 0);
	CHECK_INT(send_stdin(pod, "echo before-eof\n"), 0);
	CHECK_INT(lab_pod_stdin_close(pod, NULL), 0);
	CHECK_INT(wait_phase(lab, pod, LAB_PHASE_SUCCEEDED, WAIT_MS), LAB_PHASE_SUCCEEDED);
	CHECK(log_has(lab, pod, "before-eof\n", WAIT_MS));
}

TEST(closing_stdin_gives_the_shell_eof_and_it_succeeds)
{
	with_lab(stdin_eof);
}

static void tty_stdin(struct lab *lab)
{
	struct lab_pod *pod = stdin_pod(lab, "term", "busybox", true, LAB_RESTART_NEVER);

	CHECK(pod);
	CHECK_INT(lab_pod_wait_ready(lab, pod, WAIT_MS), 0);
	CHECK_INT(lab_pod_resize(pod, NULL, 100, 30), 0);
	CHECK_INT(send_stdin(pod, "tty; stty size; echo tty-$((6*7))\n"), 0);
	CHECK(log_has(lab, pod, "tty-42\r\n", WAIT_MS));
	CHECK(log_has(lab, pod, "/dev/pts/", 10));
	CHECK(log_has(lab, pod, "30 100\r\n", 10));
	CHECK_INT(lab_pod_stdin_close(pod, NULL), 0);       /* ^D */
	CHECK_INT(wait_phase(lab, pod, LAB_PHASE_SUCCEEDED, WAIT_MS), LAB_PHASE_SUCCEEDED);
}

TEST(with_tty_the_shell_runs_on_a_pty_whose_output_reaches_the_log)
{
	with_lab(tty_stdin);
}

static void restart_new_stdin(struct lab *lab)
{
	struct lab_pod *pod = stdin_pod(lab, "again", "busybox", false, LAB_RESTART_ALWAYS);
	struct lab_ctr_state st;

	CHECK(pod);
	CHECK_INT(lab_pod_wait_ready(lab, pod, WAIT_MS), 0);
	CHECK_INT(send_stdin(pod, "exit 1\n"), 0);
	for (int64_t deadline = now_ms() + WAIT_MS; now_ms() < deadline; usleep(10000)) {
		lab_reap(lab);
		lab_pod_ctr_state(pod, NULL, &st);
		if (st.restarts == 1 && st.pid > 0)
			break;
	}
	CHECK_INT(st.restarts, 1);
	CHECK_INT(st.exit_code, 1);
	CHECK_INT(send_stdin(pod, "echo second-run\n"), 0);
	CHECK(log_has(lab, pod, "second-run\n", WAIT_MS));
}

TEST(a_restarted_container_gets_a_new_stdin)
{
	with_lab(restart_new_stdin);
}

static void no_stdin(struct lab *lab)
{
	const char *const cat[] = {"cat", NULL};
	struct lab_pod *pod = make_pod(lab, "default", "cat", "busybox", cat, NULL, 0,
				       LAB_RESTART_NEVER);

	CHECK(pod);
	/* stdin is /dev/null: cat ends at once */
	CHECK_INT(wait_phase(lab, pod, LAB_PHASE_SUCCEEDED, WAIT_MS), LAB_PHASE_SUCCEEDED);
	CHECK_INT(lab_pod_stdin_dup(pod, NULL), -ENOENT);
}

TEST(without_stdin_a_container_reads_dev_null)
{
	with_lab(no_stdin);
}

static void nginx_stdin(struct lab *lab)
{
	const uint16_t port[] = {80};
	struct lab_container c = {.name = "web", .image = "nginx", .ports = port, .n_ports = 1,
				  .open_stdin = true, .tty = true};
	struct lab_pod_spec spec = {.ns = "default", .name = "web", .restart = LAB_RESTART_ALWAYS,
				    .containers = &c, .n_containers = 1};
	struct lab_pod *pod = NULL;

	CHECK_INT(lab_pod_create(lab, &spec, &pod, NULL), 0);
	CHECK_INT(lab_pod_wait_ready(lab, pod, WAIT_MS), 0);
	CHECK_INT(send_stdin(pod, "ignored\n"), 0);
	lab_reap(lab);
	CHECK(lab_pod_pid(pod, NULL) > 0);
}

TEST(nginx_with_stdin_and_tty_runs_as_usual)
{
	with_lab(nginx_stdin);
}
