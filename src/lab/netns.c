/* Named network namespaces, made the way iproute2 makes them (a bind mount
 * of the namespace on /run/netns/NAME), so `ip netns list` and
 * `ip netns exec` see ours and theirs alike. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lab/lab_internal.h"

static int netns_path(const char *name, char *buf, size_t len)
{
	if (!name || !*name || strchr(name, '/') || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return -EINVAL;
	if ((size_t)snprintf(buf, len, "%s/%s", LAB_NETNS_DIR, name) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* /run/netns must be a shared mount: a process that unshares its mount
 * namespace gets copies of the netns bind mounts, and only propagation lets
 * our later unmount reach those copies instead of pinning the namespace. */
static int netns_dir_prepare(void)
{
	if (mkdir(LAB_NETNS_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (mount("", LAB_NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) == 0)
		return 0;
	if (errno != EINVAL)
		return -errno;
	/* Not a mount point yet: make it one, then shared. */
	if (mount(LAB_NETNS_DIR, LAB_NETNS_DIR, "none", MS_BIND | MS_REC, NULL) < 0)
		return -errno;
	if (mount("", LAB_NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) < 0)
		return -errno;
	return 0;
}

int netns_create(const char *name)
{
	char path[PATH_MAX];
	int fd, saved = -1, rc;

	rc = netns_path(name, path, sizeof(path));
	if (rc < 0)
		return rc;
	rc = netns_dir_prepare();
	if (rc < 0)
		return rc;
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	close(fd);

	/* Only this thread moves; it moves back before we return. */
	saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (saved < 0) {
		rc = -errno;
		goto cleanup;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		rc = -errno;
		goto cleanup;
	}
	rc = 0;
	if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) < 0)
		rc = -errno;
	if (setns(saved, CLONE_NEWNET) < 0 && rc == 0)
		rc = -errno;
cleanup:
	if (saved >= 0)
		close(saved);
	if (rc < 0)
		unlink(path);
	return rc;
}

int netns_delete(const char *name)
{
	char path[PATH_MAX];
	int rc = netns_path(name, path, sizeof(path));

	if (rc < 0)
		return rc;
	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		rc = -errno;
	if (unlink(path) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

int netns_open(const char *name)
{
	char path[PATH_MAX];
	int fd, rc = netns_path(name, path, sizeof(path));

	if (rc < 0)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int netns_enter(int fd, int *saved)
{
	*saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*saved < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET) < 0) {
		int rc = -errno;
		close(*saved);
		*saved = -1;
		return rc;
	}
	return 0;
}

void netns_leave(int saved)
{
	if (saved < 0)
		return;
	/* Failing to return would leave the thread inside a lab namespace;
	 * there is no sane way to go on from there. */
	if (setns(saved, CLONE_NEWNET) < 0)
		abort();
	close(saved);
}

int netns_sysctl(int fd, const char *path, const char *value)
{
	char full[PATH_MAX];
	int saved, f, rc;
	size_t len = strlen(value);

	if ((size_t)snprintf(full, sizeof(full), "/proc/sys/%s", path) >= sizeof(full))
		return -ENAMETOOLONG;
	rc = netns_enter(fd, &saved);
	if (rc < 0)
		return rc;
	/* /proc/sys/net files belong to the namespace of whoever opens them. */
	f = open(full, O_WRONLY | O_CLOEXEC);
	if (f < 0)
		rc = -errno;
	else if (write(f, value, len) != (ssize_t)len)
		rc = -EIO;
	if (f >= 0)
		close(f);
	netns_leave(saved);
	return rc;
}

struct ns_id {
	dev_t dev;
	ino_t ino;
};

/* Sends sig to every process whose network namespace is one of ids.
 * Returns how many. */
static int signal_in(const struct ns_id *ids, size_t n, int sig)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int count = 0;
	pid_t self = getpid();

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char path[64], *end;
		struct stat st;
		long pid = strtol(e->d_name, &end, 10);

		if (*end || pid <= 0 || pid == self)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/ns/net", pid);
		/* Zombies and vanished processes fail here: nothing to kill. */
		if (stat(path, &st) < 0)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (st.st_dev == ids[i].dev && st.st_ino == ids[i].ino) {
				if (kill((pid_t)pid, sig) == 0)
					count++;
				break;
			}
		}
	}
	closedir(d);
	return count;
}

/* The namespaces' identities; names that do not exist are left out. */
static size_t ns_ids(char *const *names, size_t n, struct ns_id *ids)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX];
		struct stat st;

		if (netns_path(names[i], path, sizeof(path)) == 0 && stat(path, &st) == 0)
			ids[k++] = (struct ns_id){st.st_dev, st.st_ino};
	}
	return k;
}

int netns_signal_procs(const char *name, int sig)
{
	struct ns_id id;
	char *names[1] = {(char *)name};

	if (ns_ids(names, 1, &id) == 0)
		return -ENOENT;
	return signal_in(&id, 1, sig);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

int netns_kill_set(char *const *names, size_t n, int grace_ms)
{
	int64_t deadline = lab_now_ms() + grace_ms;
	struct ns_id *ids = calloc(n ? n : 1, sizeof(*ids));
	size_t k;
	int rc = -ETIMEDOUT;

	if (!ids)
		return -ENOMEM;
	k = ns_ids(names, n, ids);
	/* One pass over /proc per round, however many namespaces. */
	for (int i = 0; i < 400; i++) {
		int sig = lab_now_ms() >= deadline ? SIGKILL : SIGTERM;
		int left = k ? signal_in(ids, k, sig) : 0;

		if (left <= 0) {
			rc = left < 0 ? left : 0;
			break;
		}
		sleep_ms(i < 10 ? 5 : 25);
	}
	free(ids);
	return rc;
}

int netns_kill_all(const char *name, int grace_ms)
{
	char *names[1] = {(char *)name};

	return netns_kill_set(names, 1, grace_ms);
}

int netns_list(const char *prefix, char ***names, size_t *n)
{
	DIR *d = opendir(LAB_NETNS_DIR);
	struct dirent *e;
	size_t plen = strlen(prefix);
	int rc = 0;

	*names = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || strncmp(e->d_name, prefix, plen) != 0)
			continue;
		rc = lab_strv_push(names, n, e->d_name);
		if (rc < 0)
			break;
	}
	closedir(d);
	if (rc < 0) {
		lab_strv_free(*names);
		*names = NULL;
		*n = 0;
	}
	return rc;
}
