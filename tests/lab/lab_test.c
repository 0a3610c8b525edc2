/* Helpers for the lab's kernel tests (see lab_test.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab_test.h"

static char lab_names[64][LAB_NAME_MAX + 1];
static int n_labs;
static bool sweep_registered;

static void sweep_all(void);

void lab_test_sweep_at_exit(void)
{
	if (!sweep_registered)
		atexit(sweep_all);
	sweep_registered = true;
}

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *next_lab_name(void)
{
	const char *prefix = getenv("LAB_TEST_PREFIX");
	char *name = lab_names[n_labs % 64];

	if (prefix && *prefix)
		snprintf(name, LAB_NAME_MAX + 1, "%s%c", prefix, 'a' + n_labs % 26);
	else
		snprintf(name, LAB_NAME_MAX + 1, "t%da%d", (int)getpid() % 100000, n_labs);
	n_labs++;
	return name;
}

/* Whatever a crashed test left behind goes at exit. */
static void sweep_all(void)
{
	for (int i = 0; i < n_labs && i < 64; i++)
		lab_sweep(lab_names[i], NULL);
}

bool netns_exists(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	return access(path, F_OK) == 0;
}

/* Runs body with a fresh lab; the lab goes away whatever body does. */
void with_lab(void (*body)(struct lab *))
{
	struct diag_list d = {0};
	struct lab *lab = NULL;
	int rc;

	lab_test_sweep_at_exit();
	rc = lab_node_create(next_lab_name(), NULL, &lab, &d);
	if (rc < 0) {
		unit_fail(__FILE__, __LINE__, "lab_node_create: %s: %s", strerror(-rc),
			  d.n ? d.items[0].msg : "");
		diag_list_clear(&d);
		return;
	}
	body(lab);
	lab_destroy(lab);
}

struct lab_pod *make_pod(struct lab *lab, const char *ns, const char *name,
				const char *image, const char *const *command,
				const uint16_t *ports, size_t n_ports,
				enum lab_restart restart)
{
	struct lab_container c = {.name = "main", .image = image, .command = command,
				  .ports = ports, .n_ports = n_ports};
	struct lab_pod_spec spec = {.ns = ns, .name = name, .restart = restart,
				    .containers = &c, .n_containers = 1};
	struct diag_list d = {0};
	struct lab_pod *pod = NULL;
	int rc = lab_pod_create(lab, &spec, &pod, &d);

	if (rc < 0)
		unit_fail(__FILE__, __LINE__, "lab_pod_create %s/%s: %s: %s", ns, name,
			  strerror(-rc), d.n ? d.items[0].msg : "");
	diag_list_clear(&d);
	return pod;
}

/* Runs argv in pod; returns its exit status (-1 on error), output in out. */
int run_in(struct lab *lab, struct lab_pod *pod, const char *const *argv,
		  char *out, size_t len, int timeout_ms)
{
	int fds[2], status = -1;
	pid_t pid;
	size_t got = 0;
	int64_t deadline = now_ms() + timeout_ms;
	struct lab_exec_opts o = {.tty = false, .stdin_fd = -1};

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	o.stdout_fd = o.stderr_fd = fds[1];
	if (lab_exec(lab, pod, argv, &o, &pid, NULL) < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	close(fds[1]);
	for (;;) {
		struct pollfd p = {fds[0], POLLIN, 0};
		int left = (int)(deadline - now_ms());
		ssize_t n;

		if (left <= 0 || poll(&p, 1, left) <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		n = read(fds[0], out + got, len - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == len - 1)
			break;
	}
	out[got] = '\0';
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int probe_from(struct lab *lab, struct lab_pod *from, const char *ip,
		      const char *port, const char *proto, char *out, size_t len)
{
	const char *argv[] = {"probe", "connect", ip, port, "--protocol", proto,
			      "--timeout", PROBE_TIMEOUT, NULL};

	return run_in(lab, from, argv, out, len, WAIT_MS);
}

const char *const sleep_cmd[] = {"sleep", "3600", NULL};
const uint16_t probe_ports[2] = {8080, 9090};

