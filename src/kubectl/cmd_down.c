/* cmd_down.c: `netpol down [--lab NAME]`: stops the lab's daemon (the pid
 * in SOCKET.pid, else the holder of STATE_DIR/serve.lock) and waits for it
 * to exit; then, for a daemon that crashed, what it left: its agent (the
 * lab's <lab>-agent.pid), the pods' processes and namespaces (the lab's
 * prefix), the lab's run files, and the socket. A pid is only signalled
 * when its command line shows `netpol serve|agent` of this lab. */
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

/* The daemon's pid: SOCKET.pid, else the pid in serve.lock while the lock
 * is held (a free lock means no daemon); 0 when neither names a daemon of
 * this lab. */
static long daemon_pid(const struct kctl *k, const char *lab)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s.pid", k->socket);
	long pid = lab_read_pid_file(path);
	if (pid > 0 && lab_proc_is((pid_t)pid, "serve", lab))
		return pid;
	snprintf(path, sizeof(path), "%s/serve.lock", k->state_dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	bool held = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	pid = held ? lab_read_pid_file(path) : 0;
	return pid > 0 && lab_proc_is((pid_t)pid, "serve", lab) ? pid : 0;
}

static int stop_daemon(const struct kctl *k, const char *lab)
{
	long pid = daemon_pid(k, lab);
	int r = pid > 0 ? lab_stop_proc((pid_t)pid, "serve", lab, 30000) : 0;
	if (r > 0)
		printf("netpol: stopped the lab daemon (pid %ld)\n", pid);
	else if (r == 0)
		printf("netpol: no lab daemon is running\n");
	else
		fprintf(stderr, "netpol: stopping the lab daemon (pid %ld): %s\n", pid, strerror(-r));
	return r < 0 ? r : 0;
}

/* The agent a crashed daemon left (one that dies with its daemon is gone). */
static int stop_agent(const char *lab)
{
	char *path = lab_run_file(lab, NULL, LAB_AGENT_PID_SUFFIX);
	long pid = path ? lab_read_pid_file(path) : 0;
	int r = pid > 0 ? lab_stop_proc((pid_t)pid, "agent", lab, 3000) : 0;
	if (r > 0)
		printf("netpol: stopped the agent (pid %ld) of lab %s\n", pid, lab);
	else if (r < 0)
		fprintf(stderr, "netpol: stopping the agent (pid %ld): %s\n", pid, strerror(-r));
	free(path);
	return r < 0 ? r : 0;
}

/* The socket and its pid file, once no daemon has the pid any more (a
 * socket shared with another lab's live daemon stays). */
static void remove_socket(const struct kctl *k)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s.pid", k->socket);
	long pid = lab_read_pid_file(path);
	if (pid > 0 && lab_proc_is((pid_t)pid, "serve", NULL))
		return;
	unlink(k->socket);
	unlink(path);
}

static int sweep(const struct kctl *k, const char *lab)
{
	int n = lab_sweep(lab, NULL), r = n < 0 ? n : lab_run_files_remove(lab, NULL);
	if (n < 0)
		fprintf(stderr, "netpol: sweeping lab %s: %s\n", lab, strerror(-n));
	else if (r < 0)
		fprintf(stderr, "netpol: removing the run files of lab %s: %s\n", lab, strerror(-r));
	else if (n > 0)
		printf("netpol: removed %d leftover namespace%s of lab %s\n", n, n == 1 ? "" : "s", lab);
	remove_socket(k);
	return n < 0 ? n : r;
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
	/* all of it, even when a step fails: what is left is the lab's */
	r = stop_daemon(&k, lab);
	r = stop_agent(lab) < 0 ? -1 : r;
	r = sweep(&k, lab) < 0 ? -1 : r;
	ret = r < 0 ? 1 : 0;
cleanup:
	kctl_done(&k);
	return ret;
}
