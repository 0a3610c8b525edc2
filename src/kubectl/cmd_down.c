/* cmd_down.c: `netpol down [--lab NAME]`: SIGTERM to the lab daemon (the
 * pid in SOCKET.pid, else the holder of STATE_DIR/serve.lock), wait for it
 * to exit, then sweep whatever the lab left in the kernel as a safety net. */
#include "commands.h"
#include "kctl.h"
#include "lab/lab.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

static const char down_usage[] =
	"usage: netpol down [--lab NAME] [--socket PATH] [--state-dir DIR]\n\n"
	"Stops the lab daemon and removes every namespace and process of the lab.\n";

static long read_pid(const char *path)
{
	FILE *f = fopen(path, "r");
	long pid = 0;
	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return pid;
}

/* The daemon's pid: SOCKET.pid, else the pid in serve.lock while the lock
 * is held (a free lock means no daemon). */
static long daemon_pid(const struct kctl *k)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s.pid", k->socket);
	long pid = read_pid(path);
	if (pid > 0 && kill((pid_t)pid, 0) == 0)
		return pid;
	snprintf(path, sizeof(path), "%s/serve.lock", k->state_dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	bool held = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return held ? read_pid(path) : 0;
}

static bool wait_exit(long pid, int ms)
{
	for (int i = 0; i < ms / 50; i++) {
		if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
			return true;
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	}
	return false;
}

int cmd_down(int argc, char **argv)
{
	struct kctl k;
	setenv("NETPOL_PROG", "netpol", 0);
	int r = kctl_init(&k, argc, argv, (const struct kflag[]){{0}}, down_usage);
	if (r != 0)
		return r < 0 ? 1 : 0;
	const char *lab = k.lab ? k.lab : KCTL_DEFAULT_LAB;
	int ret = 0;
	if (!lab_name_valid(lab)) {
		ret = kctl_error("invalid lab name \"%s\" (1-20 of [a-z0-9])", lab);
		goto cleanup;
	}
	long pid = daemon_pid(&k);
	if (pid > 0) {
		kill((pid_t)pid, SIGTERM);
		if (!wait_exit(pid, 30000)) {
			fprintf(stderr, "netpol: the lab daemon (pid %ld) did not stop in 30 s; killing it\n", pid);
			kill((pid_t)pid, SIGKILL);
			wait_exit(pid, 5000);
		}
		printf("netpol: stopped the lab daemon (pid %ld)\n", pid);
	} else {
		printf("netpol: no lab daemon is running\n");
	}
	int n = lab_sweep(lab, NULL);
	if (n < 0) {
		fprintf(stderr, "netpol: sweeping lab %s: %s\n", lab, strerror(-n));
		ret = 1;
	} else if (n > 0) {
		printf("netpol: removed %d leftover namespace%s of lab %s\n", n, n == 1 ? "" : "s", lab);
	}
cleanup:
	kctl_done(&k);
	return ret;
}
