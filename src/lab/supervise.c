/* Supervision: reaping containers, restarting them per restartPolicy with a
 * growing back-off (as kubelet's CrashLoopBackOff, on a lab's time scale),
 * pod status, and exec into a pod. */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "lab/lab_internal.h"

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define RAN_LONG_MS 10000       /* a run this long resets the back-off */

static bool wants_restart(enum lab_restart policy, int code)
{
	return policy == LAB_RESTART_ALWAYS ||
	       (policy == LAB_RESTART_ON_FAILURE && code != 0);
}

static void ctr_exited(struct lab_ctr *c, enum lab_restart policy, int code,
		       int64_t now)
{
	c->exit_code = code;
	c->pid = 0;
	if (!wants_restart(policy, c->exit_code)) {
		c->finished = true;
		return;
	}
	if (now - c->started_ms >= RAN_LONG_MS)
		c->backoff_ms = 0;
	c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (c->backoff_ms > BACKOFF_MAX_MS)
		c->backoff_ms = BACKOFF_MAX_MS;
	c->restart_at_ms = now + c->backoff_ms;
}

int pod_reap(struct lab_pod *pod, int64_t now)
{
	struct proc_pod_env pe = {pod->netns, pod->name, pod->resolv_conf, pod->hosts,
				  pod->hostname_file};
	int reaped = 0;

	bool changed = false;

	for (size_t i = 0; i < pod->n_ctrs; i++) {
		struct lab_ctr *c = &pod->ctrs[i];
		int code;

		ctr_pump(c);
		if (c->pid > 0 && proc_exited(c, &code)) {
			/* what it wrote last goes to the log; the next run
			 * gets a new stdin */
			ctr_close_stdio(c);
			ctr_exited(c, pod->restart, code, now);
			reaped++;
			changed = true;
		}
		if (c->pid == 0 && !c->finished && now >= c->restart_at_ms &&
		    proc_start(&pe, c) == 0) {
			c->restarts++;
			changed = true;
		}
	}
	/* What a restarted daemon needs to adopt the pod as it is now. */
	if (changed)
		pod_save(pod);
	return reaped;
}

int lab_reap(struct lab *lab)
{
	int64_t now = lab_now_ms();
	int n = 0;

	for (struct lab_pod *p = lab->pods; p; p = p->next)
		n += pod_reap(p, now);
	if (lab->world)
		n += pod_reap(lab->world, now);
	return n;
}

static bool ctr_ready(const struct lab_ctr *c)
{
	if (c->pid <= 0)
		return false;
	for (size_t i = 0; i < c->n_ports; i++)
		if (!proc_tcp_listening(c->pid, c->ports[i]))
			return false;
	return true;
}

void lab_pod_status(struct lab_pod *pod, struct lab_pod_status *st)
{
	bool all_finished = true, all_ready = true, failed = false;

	memset(st, 0, sizeof(*st));
	memcpy(st->ip, pod->ip, sizeof(st->ip));
	if (pod->n_ctrs)
		st->exit_code = pod->ctrs[0].exit_code;
	for (size_t i = 0; i < pod->n_ctrs; i++) {
		const struct lab_ctr *c = &pod->ctrs[i];

		st->restarts += c->restarts;
		all_finished = all_finished && c->finished;
		failed = failed || (c->finished && c->exit_code != 0);
		all_ready = all_ready && ctr_ready(c);
	}
	if (all_finished)
		st->phase = failed ? LAB_PHASE_FAILED : LAB_PHASE_SUCCEEDED;
	else
		st->phase = LAB_PHASE_RUNNING;
	st->ready = !all_finished && all_ready;
}

int lab_pod_wait_ready(struct lab *lab, struct lab_pod *pod, int timeout_ms)
{
	int64_t deadline = lab_now_ms() + timeout_ms;
	struct lab_pod_status st;

	for (;;) {
		lab_reap(lab);
		lab_pod_status(pod, &st);
		if (st.ready)
			return 0;
		if (st.phase == LAB_PHASE_SUCCEEDED || st.phase == LAB_PHASE_FAILED)
			return -ECHILD;
		if (lab_now_ms() >= deadline)
			return -ETIMEDOUT;
		nanosleep(&(struct timespec){0, 5000000}, NULL);
	}
}

static struct lab_ctr *ctr_find(const struct lab_pod *pod, const char *container)
{
	for (size_t i = 0; i < pod->n_ctrs; i++)
		if (!container || strcmp(pod->ctrs[i].name, container) == 0)
			return &pod->ctrs[i];
	return NULL;
}

int lab_pod_ctr_state(const struct lab_pod *pod, const char *container,
		      struct lab_ctr_state *st)
{
	const struct lab_ctr *c = ctr_find(pod, container);

	if (!c)
		return -ENOENT;
	*st = (struct lab_ctr_state){c->pid, c->restarts, c->finished, c->exit_code,
				     c->open_stdin, c->tty, c->log_start, c->prev_log_start, c->name};
	return 0;
}

int lab_pod_stdin_dup(const struct lab_pod *pod, const char *container)
{
	const struct lab_ctr *c = ctr_find(pod, container);
	int fd;

	if (!c || !c->has_stdio || c->in_fd < 0 || c->pid <= 0)
		return -ENOENT;
	fd = fcntl(c->in_fd, F_DUPFD_CLOEXEC, 3);
	return fd < 0 ? -errno : fd;
}

int lab_pod_stdin_close(struct lab_pod *pod, const char *container)
{
	struct lab_ctr *c = ctr_find(pod, container);

	if (!c || !c->has_stdio || c->in_fd < 0)
		return -ENOENT;
	if (c->tty)
		return write(c->in_fd, "\004", 1) == 1 ? 0 : -EIO;
	/* only the pipe's end: the run keeps its (closed) stdin */
	close(c->in_fd);
	c->in_fd = -1;
	return 0;
}

int lab_pod_resize(struct lab_pod *pod, const char *container,
		   unsigned short cols, unsigned short rows)
{
	struct lab_ctr *c = ctr_find(pod, container);
	struct winsize ws = {.ws_row = rows, .ws_col = cols};

	if (!c || !c->has_stdio)
		return -ENOENT;
	if (!c->tty)
		return -ENOTTY;
	return ioctl(c->in_fd, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

void lab_pod_pump(struct lab_pod *pod)
{
	for (size_t i = 0; i < pod->n_ctrs; i++)
		ctr_pump(&pod->ctrs[i]);
}

static int exec_env(const struct lab_pod *pod, const struct lab_exec_opts *o,
		    char ***out)
{
	char **env = NULL;
	size_t n = 0;
	int rc = 0;
	bool has_term = false;

	for (size_t i = 0; rc == 0 && pod->n_ctrs && pod->ctrs[0].env &&
			   pod->ctrs[0].env[i]; i++)
		rc = lab_strv_push(&env, &n, pod->ctrs[0].env[i]);
	for (size_t i = 0; rc == 0 && o->env && o->env[i]; i++)
		rc = lab_strv_push(&env, &n, o->env[i]);
	for (size_t i = 0; i < n; i++)
		has_term = has_term || strncmp(env[i], "TERM=", 5) == 0;
	if (rc == 0 && o->tty && !has_term)
		rc = lab_strv_push(&env, &n, "TERM=xterm");
	if (rc == 0 && !env)
		env = calloc(1, sizeof(*env));
	if (rc < 0 || !env) {
		lab_strv_free(env);
		return rc < 0 ? rc : -ENOMEM;
	}
	*out = env;
	return 0;
}

int lab_exec(struct lab *lab, struct lab_pod *pod, const char *const *argv,
	     const struct lab_exec_opts *opts, pid_t *pid, int *pty_master)
{
	struct lab_exec_opts none = {false, -1, -1, -1, NULL};
	struct proc_pod_env pe = {pod->netns, pod->name, pod->resolv_conf, pod->hosts,
				  pod->hostname_file};
	char **env = NULL, **av = NULL;
	int rc;

	(void)lab;
	if (!argv || !argv[0])
		return -EINVAL;
	if (!opts)
		opts = &none;
	if (pty_master)
		*pty_master = -1;
	rc = exec_env(pod, opts, &env);
	if (rc == 0 && !(av = lab_strv_dup(argv)))
		rc = -ENOMEM;
	if (rc == 0) {
		char *prog = proc_find_program(av[0], env, pod->n_ctrs ? pod->ctrs[0].applet_dir : NULL);
		if (!prog) {
			rc = -ENOMEM;
		} else {
			free(av[0]);
			av[0] = prog;
		}
	}
	if (rc == 0)
		rc = proc_exec(&pe, av, env, opts, pid, pty_master);
	lab_strv_free(env);
	lab_strv_free(av);
	return rc;
}
