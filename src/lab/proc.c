/* A pod's processes. Each one is forked into the pod's network namespace,
 * a mount namespace of its own where /etc/resolv.conf, /etc/hosts and
 * /etc/hostname are the pod's files, and a UTS namespace whose hostname is the pod's name. It
 * leads a session of its own, so the whole process tree (nginx's workers,
 * a shell's children) is signalled as one group.
 *
 * Between fork and exec the child may only make plain system calls (the
 * caller may be multithreaded): everything it needs is opened, resolved
 * and allocated before fork. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "lab/lab_internal.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

void ctr_clear(struct lab_ctr *c)
{
	if (!c)
		return;
	free(c->name);
	lab_strv_free(c->argv);
	lab_strv_free(c->env);
	free(c->ports);
	free(c->log_path);
	free(c->applet_dir);
	if (c->has_pidfd)
		close(c->pidfd);
	ctr_close_stdio(c);
	memset(c, 0, sizeof(*c));
}

void ctr_pump(struct lab_ctr *c)
{
	char buf[16384];

	if (!c->has_stdio || !c->tty)
		return;
	for (;;) {
		ssize_t n = read(c->in_fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;         /* EAGAIN, or EIO once the slave is gone */
		if (c->tty_log >= 0 && write(c->tty_log, buf, (size_t)n) < 0)
			return;         /* the log is best effort */
	}
}

void ctr_close_stdio(struct lab_ctr *c)
{
	if (!c->has_stdio)
		return;
	ctr_pump(c);
	if (c->in_fd >= 0)
		close(c->in_fd);
	if (c->tty_log >= 0)
		close(c->tty_log);
	c->has_stdio = false;
	c->in_fd = c->tty_log = -1;
}

static const char *env_get(char *const *env, const char *key)
{
	size_t klen = strlen(key);

	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], key, klen) == 0 && env[i][klen] == '=')
			return env[i] + klen + 1;
	return NULL;
}

/* In the busybox image /bin/sh is busybox's sh, as in the real image:
 * system paths of applets go to the applet links. */
static char *applet_for(const char *file, const char *applet_dir)
{
	static const char *const dirs[] = {"/bin/", "/usr/bin/", "/sbin/", "/usr/sbin/"};
	char *cand;

	if (!applet_dir)
		return NULL;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		size_t n = strlen(dirs[i]);

		if (strncmp(file, dirs[i], n) != 0 || strchr(file + n, '/'))
			continue;
		cand = lab_strdup_printf("%s/%s", applet_dir, file + n);
		if (cand && access(cand, X_OK) == 0)
			return cand;
		free(cand);
	}
	return NULL;
}

char *proc_find_program(const char *file, char *const *env, const char *applet_dir)
{
	const char *path = env_get(env, "PATH");
	char *copy, *dir, *save = NULL, *found = NULL;

	if ((found = applet_for(file, applet_dir)))
		return found;
	if (strchr(file, '/') || !*file)
		return strdup(file);
	copy = strdup(path ? path : DEFAULT_PATH);
	if (!copy)
		return NULL;
	for (dir = strtok_r(copy, ":", &save); dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		char *cand = lab_strdup_printf("%s/%s", dir, file);

		if (cand && access(cand, X_OK) == 0)
			found = cand;
		else
			free(cand);
	}
	free(copy);
	return found ? found : strdup(file);
}

/* ---- in the child: async-signal-safe calls only ------------------------ */

static void child_say(const char *what, int err)
{
	char num[16];
	int i = (int)sizeof(num);

	num[--i] = '\n';
	do {
		num[--i] = (char)('0' + err % 10);
		err /= 10;
	} while (err && i > 0);
	if (write(2, "netpol-lab: ", 12) < 0 || write(2, what, strlen(what)) < 0 ||
	    write(2, " failed: errno ", 15) < 0 ||
	    write(2, num + i, sizeof(num) - (size_t)i) < 0)
		return;
}

static _Noreturn void child_fail(const char *what)
{
	child_say(what, errno);
	_exit(127);
}

/* dup2 that also works when fd is already target (then dup2 would keep
 * close-on-exec set). */
static void child_dup(int fd, int target)
{
	if (fd == target) {
		if (fcntl(fd, F_SETFD, 0) < 0)
			child_fail("fcntl");
	} else if (dup2(fd, target) < 0) {
		child_fail("dup2");
	}
}

static void child_enter_pod(const struct proc_pod_env *pe, int nsfd)
{
	if (setns(nsfd, CLONE_NEWNET) < 0)
		child_fail("setns(net)");
	if (unshare(CLONE_NEWNS | CLONE_NEWUTS) < 0)
		child_fail("unshare(mnt|uts)");
	/* Slave, not private: unmounts of /run/netns still reach this copy. */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		child_fail("mount(/, slave)");
	if (mount(pe->resolv_conf, "/etc/resolv.conf", NULL, MS_BIND, NULL) < 0)
		child_fail("bind /etc/resolv.conf");
	if (mount(pe->hosts, "/etc/hosts", NULL, MS_BIND, NULL) < 0)
		child_fail("bind /etc/hosts");
	/* pods made before this file existed (adopted) keep the node's */
	if (pe->hostname_file && access(pe->hostname_file, F_OK) == 0 &&
	    mount(pe->hostname_file, "/etc/hostname", NULL, MS_BIND, NULL) < 0)
		child_fail("bind /etc/hostname");
	if (sethostname(pe->hostname, strlen(pe->hostname)) < 0)
		child_fail("sethostname");
}

static void child_reset_signals(void)
{
	sigset_t none;
	struct sigaction dfl = {.sa_handler = SIG_DFL};

	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static _Noreturn void child_exec(char *const *argv, char *const *env)
{
	if (close_range(3, ~0U, 0) < 0)
		child_fail("close_range");
	if (chdir("/") < 0)
		child_fail("chdir");
	execve(argv[0], argv, env);
	child_say("exec", errno);
	if (write(2, argv[0], strlen(argv[0])) < 0 || write(2, "\n", 1) < 0)
		_exit(127);
	_exit(127);
}

/* ---- in the parent ----------------------------------------------------- */

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

static int open_pty(int *master, char *slave, size_t len);

/* The run's stdin: *child_fd for the child (the pipe's read end; -1 with a
 * tty, whose slave path is in slave), the lab's end in c. */
static int stdio_open(struct lab_ctr *c, int *child_fd, char *slave, size_t len)
{
	int p[2], master, rc;

	*child_fd = -1;
	if (!c->open_stdin)
		return 0;
	if (c->tty) {
		rc = open_pty(&master, slave, len);
		if (rc < 0)
			return rc;
		c->in_fd = master;
		c->tty_log = open(c->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	} else {
		if (pipe2(p, O_CLOEXEC) < 0)
			return -errno;
		*child_fd = p[0];
		c->in_fd = p[1];
		c->tty_log = -1;
	}
	/* Nobody may block on a process that does not read its stdin. */
	fcntl(c->in_fd, F_SETFL, fcntl(c->in_fd, F_GETFL) | O_NONBLOCK);
	c->has_stdio = true;
	return 0;
}

static long long log_size(int fd)
{
	struct stat sb;

	return fstat(fd, &sb) == 0 ? (long long)sb.st_size : 0;
}

int proc_start(const struct proc_pod_env *pe, struct lab_ctr *c)
{
	int nsfd, logfd = -1, nullfd = -1, infd = -1, rc = 0;
	char slave[64] = "";
	pid_t pid;

	nsfd = netns_open(pe->netns);
	if (nsfd < 0)
		return nsfd;
	ctr_close_stdio(c);
	logfd = open(c->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (logfd < 0 || nullfd < 0) {
		rc = -errno;
		goto cleanup;
	}
	/* started_ms is 0 until the first run */
	c->prev_log_start = c->started_ms ? c->log_start : -1;
	c->log_start = log_size(logfd);
	rc = stdio_open(c, &infd, slave, sizeof(slave));
	if (rc < 0)
		goto cleanup;
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		ctr_close_stdio(c);
		goto cleanup;
	}
	if (pid == 0) {
		int tty = -1;

		setsid();
		child_dup(logfd, 2);
		if (slave[0]) {
			/* The session leader's first tty becomes its
			 * controlling terminal; TIOCSCTTY makes sure. */
			tty = open(slave, O_RDWR | O_CLOEXEC);
			if (tty < 0 || ioctl(tty, TIOCSCTTY, 0) < 0)
				child_fail("open pty");
		}
		child_enter_pod(pe, nsfd);
		child_dup(tty >= 0 ? tty : infd >= 0 ? infd : nullfd, 0);
		child_dup(tty >= 0 ? tty : logfd, 1);
		if (tty >= 0)
			child_dup(tty, 2);
		child_reset_signals();
		child_exec(c->argv, c->env);
	}
	c->pid = pid;
	c->start_time = proc_start_time(pid);
	c->started_ms = lab_now_ms();
cleanup:
	close(nsfd);
	if (logfd >= 0)
		close(logfd);
	if (nullfd >= 0)
		close(nullfd);
	if (infd >= 0)
		close(infd);
	return rc;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

bool proc_exited(struct lab_ctr *c, int *code)
{
	int status;
	pid_t rc;

	if (c->has_pidfd) {
		/* Adopted: maybe not our child, so the pidfd says when it
		 * exits; the code is known only if it is our child after all. */
		struct pollfd p = {c->pidfd, POLLIN, 0};

		if (poll(&p, 1, 0) <= 0)
			return false;
		rc = waitpid(c->pid, &status, WNOHANG);
		*code = rc == c->pid ? exit_code(status) : 255;
		close(c->pidfd);
		c->has_pidfd = false;
		return true;
	}
	rc = waitpid(c->pid, &status, WNOHANG);
	if (rc == c->pid) {
		*code = exit_code(status);
		return true;
	}
	if (rc < 0 && errno == ECHILD) {
		*code = 255;
		return true;
	}
	return false;
}

size_t proc_reap_stopped(struct lab_ctr *cs, size_t n)
{
	size_t left = 0;

	for (size_t i = 0; i < n; i++) {
		int code;

		if (cs[i].pid <= 0)
			continue;
		if (proc_exited(&cs[i], &code)) {
			cs[i].exit_code = code;
			cs[i].pid = 0;
			continue;
		}
		left++;
	}
	return left;
}

void proc_signal_all(struct lab_ctr *cs, size_t n, int sig)
{
	for (size_t i = 0; i < n; i++) {
		if (cs[i].pid <= 0)
			continue;
		if (kill(-cs[i].pid, sig) < 0)
			kill(cs[i].pid, sig);
	}
}

void proc_stop_all(struct lab_ctr *cs, size_t n, int grace_ms)
{
	int64_t deadline = lab_now_ms() + grace_ms;

	for (size_t i = 0; i < n; i++)
		cs[i].finished = true;
	proc_signal_all(cs, n, SIGTERM);
	while (proc_reap_stopped(cs, n) > 0) {
		if (lab_now_ms() >= deadline) {
			proc_signal_all(cs, n, SIGKILL);
			deadline = INT64_MAX;
		}
		sleep_ms(5);
	}
}

static int open_stdio(int fd, int flags)
{
	if (fd >= 0)
		return fcntl(fd, F_DUPFD_CLOEXEC, 3);
	return open("/dev/null", flags | O_CLOEXEC);
}

static int open_pty(int *master, char *slave, size_t len)
{
	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0)
		return -errno;
	if (grantpt(*master) < 0 || unlockpt(*master) < 0 ||
	    ptsname_r(*master, slave, len) != 0) {
		int rc = -errno;
		close(*master);
		*master = -1;
		return rc;
	}
	return 0;
}

int proc_exec(const struct proc_pod_env *pe, char *const *argv,
	      char *const *env, const struct lab_exec_opts *opts, pid_t *pid,
	      int *pty_master)
{
	int fds[3] = {-1, -1, -1}, master = -1, nsfd, rc = 0;
	char slave[64];
	pid_t child;

	nsfd = netns_open(pe->netns);
	if (nsfd < 0)
		return nsfd;
	if (opts->tty) {
		rc = open_pty(&master, slave, sizeof(slave));
	} else {
		fds[0] = open_stdio(opts->stdin_fd, O_RDONLY);
		fds[1] = open_stdio(opts->stdout_fd, O_WRONLY);
		fds[2] = open_stdio(opts->stderr_fd, O_WRONLY);
		if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0)
			rc = -errno;
	}
	if (rc < 0)
		goto cleanup;
	child = fork();
	if (child < 0) {
		rc = -errno;
		goto cleanup;
	}
	if (child == 0) {
		setsid();
		if (opts->tty) {
			int s = open(slave, O_RDWR);

			/* The session leader's first tty becomes its
			 * controlling terminal; TIOCSCTTY makes sure. */
			if (s < 0 || ioctl(s, TIOCSCTTY, 0) < 0)
				child_fail("open pty");
			fds[0] = fds[1] = fds[2] = s;
		}
		child_dup(fds[2], 2);
		child_enter_pod(pe, nsfd);
		child_dup(fds[0], 0);
		child_dup(fds[1], 1);
		child_reset_signals();
		child_exec(argv, env);
	}
	*pid = child;
	if (pty_master) {
		*pty_master = master;
		master = -1;
	}
cleanup:
	close(nsfd);
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (master >= 0)
		close(master);
	return rc;
}

unsigned long long proc_start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long t = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command may hold spaces and parentheses: fields count from
	 * the last ')'. starttime is field 22, the 20th after it. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
			 "%*s %*s %*s %*s %*s %*s %llu", &t) != 1)
		return 0;
	return t;
}

static bool tcp_table_listens(const char *path, uint16_t port)
{
	FILE *f = fopen(path, "re");
	char line[512];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned int lport, state;

		if (sscanf(line, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x",
			   &lport, &state) == 2)
			found = lport == port && state == 0x0A; /* TCP_LISTEN */
	}
	fclose(f);
	return found;
}

bool proc_tcp_listening(pid_t pid, uint16_t port)
{
	char path[64];

	/* /proc/PID/net shows the tables of PID's network namespace. */
	snprintf(path, sizeof(path), "/proc/%d/net/tcp", (int)pid);
	if (tcp_table_listens(path, port))
		return true;
	snprintf(path, sizeof(path), "/proc/%d/net/tcp6", (int)pid);
	return tcp_table_listens(path, port);
}
