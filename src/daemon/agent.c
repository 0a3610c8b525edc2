/* agent.c: `netpol agent` as a supervised child of the daemon: started at
 * daemon start, restarted (with a back-off) when it dies, stopped with
 * SIGTERM at shutdown. Pods start only once the agent has made its table,
 * so no pod interface ever exists without the fail-closed dispatch.
 *
 * Never two agents of a lab: the child dies with the daemon
 * (PR_SET_PDEATHSIG), the daemon records its pid in the lab's run file
 * <lab>-agent.pid, and a new daemon stops the agent that file names before
 * it starts its own. One ready file, <lab>-agent.ready: removed before each
 * start, touched by that agent once in sync, read here. */
#include "daemon_internal.h"
#include "lab/lab.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Crashes in a row back off from BACKOFF_MIN_MS to BACKOFF_MAX_MS; an agent
 * that ran HEALTHY_MS was not crash-looping, and its successor starts at
 * once, so a crash costs policy changes well under a second. */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 10000
#define HEALTHY_MS 3000
#define STOP_GRACE_MS 3000
#define READY_POLL_MS 50

struct agent {
	char *lab, *socket, *ready_file, *pid_file;
	daemon_log_fn log;
	void *log_ctx;
	bool ready;             /* the running agent touched ready_file */
	pid_t pid;
	int pidfd;              /* readable once pid exited; -1 */
	int backoff_ms;         /* the next restart's delay, 0 at once */
	int64_t started_at, start_at;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void alog(struct agent *a, enum api_log_level l, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void alog(struct agent *a, enum api_log_level l, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	if (!a->log)
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) >= 0)
		a->log(a->log_ctx, l, msg);
	va_end(ap);
	free(msg);
}

/* An agent of this lab left by a daemon that died without stopping it. */
static void agent_stop_stale(struct agent *a)
{
	long pid = lab_read_pid_file(a->pid_file);
	int r = pid > 0 ? lab_stop_proc((pid_t)pid, "agent", a->lab, STOP_GRACE_MS) : 0;
	if (r > 0)
		alog(a, API_LOG_WARNING, "stopped agent pid %d left running by a previous daemon", r);
	else if (r < 0)
		alog(a, API_LOG_ERROR, "stopping agent pid %ld left by a previous daemon: %s",
		     pid, strerror(-r));
	unlink(a->pid_file);
	unlink(a->ready_file);
}

struct agent *agent_new(const char *lab, const char *socket, daemon_log_fn log, void *log_ctx)
{
	struct agent *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->log = log;
	a->log_ctx = log_ctx;
	a->pidfd = -1;
	a->lab = strdup(lab);
	a->socket = strdup(socket);
	a->ready_file = lab_run_file(lab, NULL, LAB_AGENT_READY_SUFFIX);
	a->pid_file = lab_run_file(lab, NULL, LAB_AGENT_PID_SUFFIX);
	if (!a->lab || !a->socket || !a->ready_file || !a->pid_file) {
		agent_free(a);
		return NULL;
	}
	agent_stop_stale(a);
	return a;
}

bool agent_enabled(const struct agent *a)
{
	return a != NULL;
}

/* In the child, between fork and exec. PR_SET_PDEATHSIG fires when the
 * thread that forked exits, which is why only the daemon's loop thread (it
 * lives as long as the daemon) calls agent_tick; a daemon that died before
 * prctl is caught by the parent check. */
static void agent_exec(const struct agent *a, pid_t daemon)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != daemon)
		_exit(126);
	execl("/proc/self/exe", "netpol", "agent", "--lab", a->lab, "--socket", a->socket,
	      "--ready-file", a->ready_file, (char *)NULL);
	_exit(127);
}

static void agent_spawn(struct agent *a)
{
	pid_t daemon = getpid();
	unlink(a->ready_file);  /* only the new agent's counts */
	a->ready = false;
	pid_t pid = fork();
	if (pid < 0) {
		alog(a, API_LOG_ERROR, "starting the agent: %s", strerror(errno));
		a->start_at = mono_ms() + BACKOFF_MAX_MS;
		return;
	}
	if (pid == 0)
		agent_exec(a, daemon);
	a->pid = pid;
	a->started_at = mono_ms();
	a->pidfd = pidfd_open(pid, 0);
	int r = lab_write_pid_file(a->pid_file, pid);
	if (r < 0)
		alog(a, API_LOG_WARNING, "%s: %s", a->pid_file, strerror(-r));
	alog(a, API_LOG_INFO, "agent started (pid %d)", (int)pid);
}

/* The child exited: the next start waits out the back-off. */
static void agent_exited(struct agent *a, int status)
{
	int64_t now = mono_ms();
	alog(a, API_LOG_WARNING, "agent (pid %d) exited with %s %d after %.1f s; restarting it",
	     (int)a->pid, WIFEXITED(status) ? "status" : "signal",
	     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
	     (double)(now - a->started_at) / 1000);
	if (now - a->started_at >= HEALTHY_MS)
		a->backoff_ms = 0;
	a->start_at = now + a->backoff_ms;
	a->backoff_ms = a->backoff_ms ? a->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (a->backoff_ms > BACKOFF_MAX_MS)
		a->backoff_ms = BACKOFF_MAX_MS;
	if (a->pidfd >= 0)
		close(a->pidfd);
	a->pidfd = -1;
	a->pid = 0;
	a->ready = false;
	unlink(a->pid_file);
	unlink(a->ready_file);
}

static void agent_check_ready(struct agent *a)
{
	struct stat st;
	if (a->ready || stat(a->ready_file, &st) < 0)
		return;
	a->ready = true;
	alog(a, API_LOG_INFO, "agent ready (pid %d)", (int)a->pid);
}

int agent_tick(struct agent *a)
{
	int status;
	if (!a)
		return -1;
	if (a->pid > 0 && waitpid(a->pid, &status, WNOHANG) == a->pid)
		agent_exited(a, status);
	if (a->pid == 0 && mono_ms() >= a->start_at)
		agent_spawn(a);
	if (a->pid == 0)
		return (int)(a->start_at - mono_ms());
	agent_check_ready(a);
	return a->ready ? -1 : READY_POLL_MS;
}

int agent_fd(const struct agent *a)
{
	return a ? a->pidfd : -1;
}

bool agent_ready(const struct agent *a)
{
	return !a || a->ready;
}

static void agent_stop(struct agent *a)
{
	kill(a->pid, SIGTERM);
	int64_t deadline = mono_ms() + STOP_GRACE_MS;
	while (waitpid(a->pid, NULL, WNOHANG) == 0) {
		if (mono_ms() >= deadline) {
			kill(a->pid, SIGKILL);
			waitpid(a->pid, NULL, 0);
			break;
		}
		usleep(10000);
	}
}

void agent_free(struct agent *a)
{
	if (!a)
		return;
	if (a->pid > 0) {
		agent_stop(a);
		unlink(a->pid_file);
		unlink(a->ready_file);
	}
	if (a->pidfd >= 0)
		close(a->pidfd);
	free(a->lab);
	free(a->socket);
	free(a->ready_file);
	free(a->pid_file);
	free(a);
}
