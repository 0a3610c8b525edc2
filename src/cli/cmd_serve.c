/* cmd_serve.c: `netpol serve`, the lab's control plane: the store and the
 * Kubernetes-compatible API, until SIGTERM or SIGINT. */
#include "cmd_serve.h"
#include "cli.h"
#include "api/api.h"
#include "daemon/daemon.h"
#include "lab/lab.h"
#include "store/store.h"
#include "kubectl/commands.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_STATE_DIR "/var/lib/netpol"
#define DEFAULT_SOCKET "/run/netpol/api.sock"
/* Deletes of even the largest object (3 MiB bodies) fit in it twice. */
#define DISK_RESERVE (8ll << 20)

struct serve_opts {
	const char *state_dir;
	const char *socket;
	const char *listen;
	long history;
	long long history_bytes;
	bool verbose;
	const char *lab;
	bool agent;
	bool node;
	bool controllers;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: netpol serve [--state-dir DIR] [--socket PATH] [--listen 127.0.0.1:PORT]\n"
		"                    [--watch-history N] [--watch-history-bytes N] [--lab NAME]\n"
		"                    [--no-agent] [--no-node] [--no-controllers] [-v]\n\n"
		"Runs the lab's control plane: the object store (DIR/store.db) and the\n"
		"Kubernetes API on a unix socket (no token, mode 0600) and, with --listen,\n"
		"on TCP with TLS and a bearer token (DIR/pki, DIR/token) for kubectl;\n"
		"the controllers (Deployments, Namespaces, Services, Endpoints); and the\n"
		"lab's node: pods as network namespaces, Services, cluster DNS, the\n"
		"outside world, and the policy agent (`netpol agent`) as a child.\n"
		"SIGTERM or SIGINT removes everything the lab made.\n\n"
		"The store is checked at start (a corrupt one is refused, as is a missing or\n"
		"empty one where DIR/store.db.created says there was one); DIR/store.db.reserve\n"
		"holds 8 MiB so that deletes still work when the disk is full.\n\n"
		"  --state-dir DIR      state directory (default " DEFAULT_STATE_DIR ")\n"
		"  --socket PATH        unix socket (default " DEFAULT_SOCKET ")\n"
		"  --listen ADDR:PORT   also serve HTTPS there; PORT 0 picks a free port\n"
		"  --watch-history N    events kept for watches (default 10000)\n"
		"  --watch-history-bytes N  and at most N bytes of them (default 64 MiB)\n"
		"  --lab NAME           the lab's name, prefix of its kernel objects (default netpol)\n"
		"  --no-agent           do not run the policy agent (pods are ready without it)\n"
		"  --no-node            API and controllers only: no lab, pods stay Pending\n"
		"  --no-controllers     with --no-node: the store and the API alone\n"
		"  -v, --verbose        log every request to stderr\n");
}

static int parse_args(int argc, char **argv, struct serve_opts *o)
{
	static const struct option longopts[] = {
		{"state-dir", required_argument, NULL, 'd'},
		{"socket", required_argument, NULL, 's'},
		{"listen", required_argument, NULL, 'l'},
		{"watch-history", required_argument, NULL, 'H'},
		{"watch-history-bytes", required_argument, NULL, 'B'},
		{"verbose", no_argument, NULL, 'v'},
		{"lab", required_argument, NULL, 'L'},
		{"no-agent", no_argument, NULL, 'A'},
		{"no-node", no_argument, NULL, 'N'},
		{"no-controllers", no_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	*o = (struct serve_opts){DEFAULT_STATE_DIR, DEFAULT_SOCKET, NULL, 0, 0, false, "netpol",
				 true, true, true};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': o->state_dir = optarg; break;
		case 's': o->socket = optarg; break;
		case 'l': o->listen = optarg; break;
		case 'H': o->history = atol(optarg); break;
		case 'B': o->history_bytes = atoll(optarg); break;
		case 'v': o->verbose = true; break;
		case 'L': o->lab = optarg; break;
		case 'A': o->agent = false; break;
		case 'N': o->node = false; break;
		case 'C': o->controllers = false; break;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc || o->history < 0 || o->history_bytes < 0 || !lab_name_valid(o->lab)) {
		usage(stderr);
		return -1;
	}
	return 0;
}

static void log_line(void *ctx, enum api_log_level level, const char *msg)
{
	const struct serve_opts *o = ctx;
	static const char *const names[] = {"error", "warning", "info", "debug"};
	if (level == API_LOG_DEBUG && !o->verbose)
		return;
	fprintf(stderr, "netpol serve: %s: %s\n", names[level], msg);
}

/* mkdir -p, with mode for the directories it makes. */
static int make_dirs(const char *path, mode_t mode)
{
	char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	int ret = 0;
	for (char *s = p + 1; ret == 0; s++) {
		bool end = *s == 0;
		if (*s != '/' && !end)
			continue;
		*s = 0;
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			ret = -errno;
		if (end)
			break;
		*s = '/';
	}
	free(p);
	return ret;
}

static int make_parent_dir(const char *path)
{
	char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	char *slash = strrchr(p, '/');
	int ret = 0;
	if (slash && slash != p) {
		*slash = 0;
		ret = make_dirs(p, 0755);
	}
	free(p);
	return ret;
}

/* One daemon per state directory: the lock is held until exit. */
static int lock_state_dir(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/serve.lock", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "netpol serve: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		fprintf(stderr, "netpol serve: another daemon is using %s\n", dir);
		close(fd);
		return -1;
	}
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || write(fd, pid, (size_t)n) != n) {
		/* the pid is a courtesy for humans; the lock is what counts */
	}
	return fd;
}

static int open_store(const struct serve_opts *o, struct store **s)
{
	char path[4096], *err = NULL;
	snprintf(path, sizeof(path), "%s/store.db", o->state_dir);
	struct store_options so = {
		.path = path, .event_log_size = o->history, .event_log_bytes = o->history_bytes,
		.disk_reserve = DISK_RESERVE, .created_marker = true,
	};
	if (store_open(&so, s, &err) < 0) {
		fprintf(stderr, "netpol serve: %s\n", err ? err : "cannot open the store");
		free(err);
		return -1;
	}
	return 0;
}

/* default and kube-system exist from the start, as in any cluster. */
static int ensure_namespaces(struct store *s)
{
	static const char *const names[] = {"default", "kube-system"};
	for (size_t i = 0; i < 2; i++) {
		json_t *ns = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
				       "metadata", "name", names[i]);
		int ret = ns ? store_create(s, STORE_NAMESPACES, ns, STORE_KEEP_STATUS, NULL) : -ENOMEM;
		json_decref(ns);
		if (ret < 0 && ret != -EEXIST) {
			fprintf(stderr, "netpol serve: creating namespace %s: %s\n", names[i],
				strerror(-ret));
			return -1;
		}
	}
	return 0;
}

static int start_api(struct serve_opts *o, struct store *s, struct daemon *d,
		     struct api_server **srv)
{
	struct api_options ao = {
		.store = s, .socket_path = o->socket, .listen = o->listen,
		.state_dir = o->state_dir, .log = log_line, .log_ctx = o,
		.streams = daemon_streams(d),
	};
	char *err = NULL;
	if (api_start(&ao, srv, &err) < 0) {
		fprintf(stderr, "netpol serve: %s\n", err ? err : "cannot start the API server");
		free(err);
		return -1;
	}
	printf("netpol serve: serving on unix:%s\n", o->socket);
	if (o->listen)
		printf("netpol serve: serving on https://127.0.0.1:%d\n", api_tcp_port(*srv));
	fflush(stdout);
	return 0;
}

static int start_daemon(struct serve_opts *o, struct store *s, struct daemon **d)
{
	struct daemon_options dopt = {
		.store = s, .lab = o->lab, .socket = o->socket, .state_dir = o->state_dir,
		.node = o->node, .agent = o->agent, .no_controllers = !o->controllers,
		.log = log_line, .log_ctx = o,
	};
	char *err = NULL;
	if (daemon_new(&dopt, d, &err) < 0) {
		fprintf(stderr, "netpol serve: %s\n", err ? err : "cannot start the daemon");
		free(err);
		return -1;
	}
	return 0;
}

/* `netpol down` finds the daemon through <socket>.pid. */
static char *write_pid_file(const char *socket)
{
	char *path = NULL;
	if (asprintf(&path, "%s.pid", socket) < 0)
		return NULL;
	FILE *f = fopen(path, "we");
	if (f) {
		fprintf(f, "%ld\n", (long)getpid());
		fclose(f);
	}
	return path;
}

int cmd_serve(int argc, char **argv)
{
	struct serve_opts o;
	int r = parse_args(argc, argv, &o);
	if (r != 0)
		return r > 0 ? CLI_OK : CLI_USAGE;
	if ((r = make_dirs(o.state_dir, 0700)) < 0 || (r = make_parent_dir(o.socket)) < 0) {
		fprintf(stderr, "netpol serve: creating the directories of %s and %s: %s\n",
			o.state_dir, o.socket, strerror(-r));
		return CLI_INVALID;
	}
	int lock = lock_state_dir(o.state_dir);
	if (lock < 0)
		return CLI_INVALID;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* The API serves each connection on a thread; glibc would give up to
	 * 8 per core their own arena, each keeping freed memory of its own.
	 * Two keep RSS close to what is in use after a burst of clients. */
	mallopt(M_ARENA_MAX, 2);
	/* the daemon's loop polls this for SIGTERM/SIGINT */
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	struct store *s = NULL;
	struct api_server *srv = NULL;
	struct daemon *d = NULL;
	char *pid_file = NULL;
	int ret = CLI_INVALID;
	if (sfd >= 0 && open_store(&o, &s) == 0 && ensure_namespaces(s) == 0 &&
	    start_daemon(&o, s, &d) == 0 && start_api(&o, s, d, &srv) == 0) {
		pid_file = write_pid_file(o.socket);
		kctl_status_record(o.lab, o.socket, o.state_dir, o.listen ? api_tcp_port(srv) : 0);
		ret = daemon_run(d, sfd) < 0 ? CLI_INVALID : CLI_OK;
		kctl_status_unrecord(o.lab);
	}
	/* the lab goes first: its end also ends open exec/attach streams,
	 * which the API server waits for */
	daemon_free(d);
	api_stop(srv);
	store_close(s);
	if (pid_file)
		unlink(pid_file);
	free(pid_file);
	if (sfd >= 0)
		close(sfd);
	close(lock);
	return ret;
}
