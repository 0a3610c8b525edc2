/* conn.c: reaching the lab daemon. When nobody answers on the socket the
 * first verb that needs the daemon starts `netpol serve` in the background
 * (its own session, output to STATE_DIR/daemon.log), says so in one line
 * and waits for the socket to answer. */
#include "kctl.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int mkdirs(const char *path, mode_t mode)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *s = buf + 1;; s++) {
		bool end = *s == 0;
		if (*s != '/' && !end)
			continue;
		*s = 0;
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		if (end)
			return 0;
		*s = '/';
	}
}

static void parent_dir(const char *path, char *out, size_t len)
{
	snprintf(out, len, "%s", path);
	char *slash = strrchr(out, '/');
	if (slash && slash != out)
		*slash = 0;
}

/* In the child: a session of its own so that the terminal's signals and
 * the CLI's exit do not reach it. */
static void exec_daemon(struct kctl *k, const char *log)
{
	setsid();
	int in = open("/dev/null", O_RDONLY);
	int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (in < 0 || out < 0)
		_exit(127);
	dup2(in, 0);
	dup2(out, 1);
	dup2(out, 2);
	const char *argv[12] = {"netpol", "serve", "--state-dir", k->state_dir, "--socket",
				k->socket, "--listen", "127.0.0.1:0"};
	int n = 8;
	if (k->lab) {
		argv[n++] = "--lab";
		argv[n++] = k->lab;
	}
	const char *extra = getenv("NETPOL_SERVE_FLAGS"); /* e.g. --no-agent, for tests */
	if (extra && *extra)
		argv[n++] = extra;
	argv[n] = NULL;
	execv("/proc/self/exe", (char **)argv);
	_exit(127);
}

static int answers(struct kctl *k)
{
	long status = 0;
	json_t *resp = NULL;
	int ret = client_request(k->client, "GET", "/version", NULL, NULL, &status, &resp);
	json_decref(resp);
	return ret == 0 && status == 200;
}

static int start_daemon(struct kctl *k)
{
	char dir[4096], log[4200];
	parent_dir(k->socket, dir, sizeof(dir));
	if (mkdirs(k->state_dir, 0700) < 0 || mkdirs(dir, 0755) < 0) {
		fprintf(stderr, "%s: cannot create %s or %s: %s\n", k->prog, k->state_dir, dir,
			strerror(errno));
		return -1;
	}
	snprintf(log, sizeof(log), "%s/daemon.log", k->state_dir);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		exec_daemon(k, log);
	fprintf(stderr, "netpol: started the lab daemon (pid %ld); stop it with 'netpol down'\n",
		(long)pid);
	for (int i = 0; i < 200; i++) {
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			fprintf(stderr, "netpol: the lab daemon exited at start; see %s\n", log);
			return -1;
		}
		if (answers(k))
			return 0;
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	}
	fprintf(stderr, "netpol: the lab daemon did not answer within 10 s; see %s\n", log);
	return -1;
}

struct client *kctl_client(struct kctl *k)
{
	if (k->client)
		return k->client;
	struct client_options o = {.socket_path = k->socket};
	if (client_new(&o, &k->client) < 0) {
		fprintf(stderr, "%s: out of memory\n", k->prog);
		return NULL;
	}
	return k->client;
}

int kctl_request(struct kctl *k, const char *method, const char *path, json_t *body,
		 const char *content_type, long *status, json_t **resp)
{
	*resp = NULL;
	if (!kctl_client(k))
		return -1;
	int ret = client_request(k->client, method, path, body, content_type, status, resp);
	/* only before the first answer: a daemon that goes away in the middle
	 * of a command (`netpol down`) must not be brought back by it */
	if ((ret == -ENOENT || ret == -ECONNREFUSED) && !k->started) {
		k->started = true;
		if (start_daemon(k) < 0)
			return -1;
		ret = client_request(k->client, method, path, body, content_type, status, resp);
	}
	k->started = true;
	if (ret < 0) {
		fprintf(stderr, "The connection to the server %s was refused - %s\n", k->socket,
			strerror(-ret));
		return -1;
	}
	return 0;
}

static const char *status_reason(json_t *resp, long status)
{
	const char *r = json_string_value(json_object_get(resp, "reason"));
	if (r && *r)
		return r;
	switch (status) {
	case 400: return "BadRequest";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "NotFound";
	case 409: return "Conflict";
	case 413: return "RequestEntityTooLarge";
	case 422: return "Invalid";
	default: return NULL;
	}
}

int kctl_print_status(json_t *resp, long status)
{
	return kctl_print_status_when(resp, status, NULL, NULL);
}

/* kubectl prints Invalid errors with causes its own way:
 * "The Kind \"name\" is invalid: field: msg", one "* " line per cause
 * when there are several. */
static bool print_invalid(json_t *resp)
{
	json_t *d = json_object_get(resp, "details"), *causes = json_object_get(d, "causes");
	const char *kind = json_string_value(json_object_get(d, "kind"));
	const char *name = json_string_value(json_object_get(d, "name"));
	if (!json_array_size(causes) || !kind)
		return false;
	fprintf(stderr, "The %s \"%s\" is invalid: ", kind, name ? name : "");
	size_t n = json_array_size(causes), i;
	json_t *c;
	json_array_foreach(causes, i, c) {
		const char *field = json_string_value(json_object_get(c, "field"));
		const char *msg = json_string_value(json_object_get(c, "message"));
		fprintf(stderr, "%s%s%s%s\n", n > 1 ? (i ? "* " : "\n* ") : "", field ? field : "",
			field ? ": " : "", msg ? msg : "");
	}
	return true;
}

int kctl_print_status_when(json_t *resp, long status, const char *when, const char *src)
{
	const char *r = json_string_value(json_object_get(resp, "reason"));
	if (r && strcmp(r, "Invalid") == 0 && print_invalid(resp))
		return 1;
	const char *reason = status_reason(resp, status);
	const char *msg = json_string_value(json_object_get(resp, "message"));
	char fallback[64];
	if (!msg) {
		snprintf(fallback, sizeof(fallback), "the server answered %ld", status);
		msg = fallback;
	}
	fprintf(stderr, "Error from server");
	if (reason)
		fprintf(stderr, " (%s)", reason);
	fprintf(stderr, ": ");
	if (when)
		fprintf(stderr, "error when %s \"%s\": ", when, src);
	fprintf(stderr, "%s\n", msg);
	return 1;
}
