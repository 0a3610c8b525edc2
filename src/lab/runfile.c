/* runfile.c: a lab's run files beside its state directory (its lock, the
 * agent's pid and ready files) and the netpol processes they name. A pid
 * file may outlive its process (a crash) and the pid may be reused, so a
 * process is only signalled after its command line shows it is `netpol
 * VERB` of this lab, and through a pidfd so that the pid cannot change
 * hands between the check and the signal. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "lab/lab_internal.h"

char *lab_run_file(const char *name, const char *state_dir, const char *suffix)
{
	return lab_strdup_printf("%s/%s%s", state_dir ? state_dir : LAB_STATE_DIR, name, suffix);
}

long lab_read_pid_file(const char *path)
{
	FILE *f = fopen(path, "re");
	long pid = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1 || pid <= 0)
		pid = 0;
	fclose(f);
	return pid;
}

int lab_write_pid_file(const char *path, pid_t pid)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld\n", (long)pid);
	return lab_write_file(path, buf, 0644);
}

/* /proc/PID/cmdline as a NUL-separated buffer of *len bytes. */
static char *read_cmdline(pid_t pid, size_t *len)
{
	char path[64], *buf = malloc(8192);
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (buf && fd >= 0)
		n = read(fd, buf, 8191);
	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

/* The --lab value among argv (either "--lab X" or "--lab=X"), else the
 * default lab's name. */
static const char *cmdline_lab(const char *buf, size_t len)
{
	for (const char *a = buf; a < buf + len; a += strlen(a) + 1) {
		if (strncmp(a, "--lab=", 6) == 0)
			return a + 6;
		if (strcmp(a, "--lab") == 0 && a + strlen(a) + 1 < buf + len)
			return a + strlen(a) + 1;
	}
	return LAB_DEFAULT_NAME;
}

bool lab_proc_is(pid_t pid, const char *verb, const char *name)
{
	size_t len = 0;
	char *buf = pid > 0 ? read_cmdline(pid, &len) : NULL;
	const char *arg1 = buf ? buf + strlen(buf) + 1 : NULL;
	bool is = arg1 && arg1 < buf + len && strcmp(arg1, verb) == 0 &&
		  (!name || strcmp(cmdline_lab(buf, len), name) == 0);

	free(buf);
	return is;
}

/* True once the process of pidfd has exited (within ms). Its parent then
 * reaps it, which callers that check the pid (kill 0) see: that is waited
 * for too, though not for long (a parent may be slow to reap). */
static bool pidfd_wait(int pidfd, pid_t pid, int ms)
{
	struct pollfd pf = {.fd = pidfd, .events = POLLIN};
	int64_t deadline = lab_now_ms() + ms, reaped_by;
	int r;

	do {
		int left = (int)(deadline - lab_now_ms());
		r = poll(&pf, 1, left > 0 ? left : 0);
	} while (r < 0 && errno == EINTR);
	if (r <= 0)
		return false;
	reaped_by = lab_now_ms() + 2000;
	while (kill(pid, 0) == 0 && lab_now_ms() < reaped_by)
		usleep(5000);
	return true;
}

int lab_stop_proc(pid_t pid, const char *verb, const char *name, int grace_ms)
{
	int pidfd = pid > 0 ? pidfd_open(pid, 0) : -1;
	int rc = 0;

	if (pidfd < 0)
		return pid > 0 && errno != ESRCH ? -errno : 0;
	/* checked after the pidfd is open: the pid cannot be reused since */
	if (!lab_proc_is(pid, verb, name))
		goto cleanup;
	rc = (int)pid;
	pidfd_send_signal(pidfd, SIGTERM, NULL, 0);
	if (pidfd_wait(pidfd, pid, grace_ms))
		goto cleanup;
	pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
	if (!pidfd_wait(pidfd, pid, 5000))
		rc = -ETIMEDOUT;
cleanup:
	close(pidfd);
	return rc;
}

/* The lock goes only when nobody holds it: a live lab keeps its file. */
static int remove_lock(const char *name, const char *state_dir)
{
	char *path = lab_run_file(name, state_dir, ".lock");
	int fd = path ? open(path, O_RDWR | O_CLOEXEC) : -1;
	int rc = path ? 0 : -ENOMEM;

	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 && unlink(path) < 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

static int remove_file(const char *name, const char *state_dir, const char *suffix)
{
	char *path = lab_run_file(name, state_dir, suffix);
	int rc = path ? 0 : -ENOMEM;

	if (path && unlink(path) < 0 && errno != ENOENT)
		rc = -errno;
	free(path);
	return rc;
}

int lab_run_files_remove(const char *name, const char *state_dir)
{
	int rc, r2, r3, r4;

	if (!lab_name_valid(name))
		return -EINVAL;
	rc = remove_file(name, state_dir, LAB_AGENT_PID_SUFFIX);
	r2 = remove_file(name, state_dir, LAB_AGENT_READY_SUFFIX);
	/* the daemon's record for `netpol status`, left by a killed daemon */
	r3 = remove_file(name, state_dir, ".daemon");
	r4 = remove_lock(name, state_dir);
	return rc < 0 ? rc : r2 < 0 ? r2 : r3 < 0 ? r3 : r4;
}
