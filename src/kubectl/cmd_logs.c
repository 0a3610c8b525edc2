/* cmd_logs.c: `logs [-f] [-p] (POD | TYPE/NAME | -l SELECTOR) [-c C]
 * [--tail=N] [--prefix] [--max-log-requests=N]`. TYPE/NAME is a pod, or a
 * Deployment or Service standing for one of its pods (a running one, the
 * oldest first), as kubectl picks; -l prints every matching pod's logs, one
 * after the other, or all at once with -f. */
#include "commands.h"
#include "kctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char logs_usage[] =
	"Print the logs for a container in a pod.\n\n"
	"Usage:\n"
	"  kubectl logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER] [options]\n"
	"  kubectl logs -l SELECTOR [-f] [--prefix] [options]\n\n"
	"TYPE/NAME: pod/NAME, deployment/NAME (deploy/NAME) or service/NAME (svc/NAME);\n"
	"a Deployment or Service stands for one of its pods.\n";

static const char *dflt_str(const char *s)
{
	return s ? s : "";
}

struct logs_opts {
	bool follow, prev, prefix;
	const char *container, *selector;
	long tail, max_requests;
};

/* ---- one pod's log ------------------------------------------------------------ */

struct sink {
	char *prefix;   /* "[pod/NAME/CONTAINER] " or NULL */
	char *line;     /* with a prefix: the line so far */
	size_t len;
};

static int emit(const char *data, size_t len)
{
	if (fwrite(data, 1, len, stdout) != len)
		return -EPIPE;
	return 0;
}

static int sink_chunk(void *ctx, const char *data, size_t len)
{
	struct sink *s = ctx;
	int ret = 0;
	if (!s->prefix) {
		ret = emit(data, len);
		fflush(stdout);
		return ret;
	}
	/* whole lines only, each behind the prefix */
	char *line = realloc(s->line, s->len + len);
	if (!line)
		return -ENOMEM;
	s->line = line;
	memcpy(s->line + s->len, data, len);
	s->len += len;
	char *nl;
	while (ret == 0 && (nl = memchr(s->line, '\n', s->len))) {
		size_t n = (size_t)(nl - s->line) + 1;
		ret = emit(s->prefix, strlen(s->prefix)) ?: emit(s->line, n);
		memmove(s->line, s->line + n, s->len - n);
		s->len -= n;
	}
	fflush(stdout);
	return ret;
}

static const char *first_container(json_t *pod)
{
	return kctl_str(json_array_get(json_object_get(json_object_get(pod, "spec"), "containers"), 0),
			"name");
}

static char *log_path(struct kctl *k, const char *pod, const struct logs_opts *o)
{
	char *c = o->container ? kctl_escape(o->container) : NULL, *path = NULL;
	char tail[40] = "";
	if (o->tail >= 0)
		snprintf(tail, sizeof(tail), "&tailLines=%ld", o->tail);
	if (asprintf(&path, "/api/v1/namespaces/%s/pods/%s/log?follow=%s%s%s%s%s", k->ns, pod,
		     o->follow ? "true" : "false", c ? "&container=" : "", c ? c : "", tail,
		     o->prev ? "&previous=true" : "") < 0)
		path = NULL;
	free(c);
	return path;
}

static int stream_pod(struct kctl *k, json_t *pod, const struct logs_opts *o)
{
	const char *name = kctl_str(pod, "metadata.name");
	struct sink s = {0};
	if (o->prefix && asprintf(&s.prefix, "[pod/%s/%s] ", name,
				  o->container ? o->container : dflt_str(first_container(pod))) < 0)
		s.prefix = NULL;
	char *path = log_path(k, name, o);
	struct client *cl = kctl_client(k);
	long status = 0;
	json_t *resp = NULL;
	int t = cl && path ? client_get_chunks(cl, path, sink_chunk, &s, &status, &resp) : -ENOMEM;
	int ret = 0;
	if (s.len)
		emit(s.line, s.len), emit("\n", 1);
	if (t < 0 && t != -EPIPE)
		ret = kctl_error("%s", strerror(-t));
	else if (t == 0 && status != 200)
		ret = kctl_print_status(resp, status);
	json_decref(resp);
	free(path);
	free(s.prefix);
	free(s.line);
	return ret;
}

/* ---- which pods --------------------------------------------------------------- */

/* The pods a selector matches, or NULL after printing. */
static json_t *pods_matching(struct kctl *k, const char *selector)
{
	char *sel = kctl_escape(selector), *q = NULL;
	if (!sel || asprintf(&q, "labelSelector=%s", sel) < 0)
		q = NULL;
	char *path = q ? kctl_path(kctl_kind("pods"), k->ns, NULL, q) : NULL;
	long status = 0;
	json_t *resp = NULL, *items = NULL;
	if (path && kctl_request(k, "GET", path, NULL, NULL, &status, &resp) == 0) {
		if (status == 200)
			items = json_incref(json_object_get(resp, "items"));
		else
			kctl_print_status(resp, status);
	}
	json_decref(resp);
	free(path);
	free(q);
	free(sel);
	return items;
}

/* kubectl's choice among a controller's pods: running before not,
 * then the oldest, then by name. */
static bool better(json_t *a, json_t *b)
{
	bool ra = strcmp(dflt_str(kctl_str(a, "status.phase")), "Running") == 0;
	bool rb = strcmp(dflt_str(kctl_str(b, "status.phase")), "Running") == 0;
	if (ra != rb)
		return ra;
	int c = strcmp(dflt_str(kctl_str(a, "metadata.creationTimestamp")),
		       dflt_str(kctl_str(b, "metadata.creationTimestamp")));
	if (c)
		return c < 0;
	return strcmp(dflt_str(kctl_str(a, "metadata.name")), dflt_str(kctl_str(b, "metadata.name"))) < 0;
}

/* The selector of a Deployment or Service, as a label-selector string. */
static char *selector_of(const struct kkind *kk, json_t *obj)
{
	if (strcmp(kk->kind, "Deployment") == 0)
		return kctl_selector_string(json_object_get(json_object_get(obj, "spec"), "selector"));
	json_t *sel = json_object_get(json_object_get(obj, "spec"), "selector");
	if (!json_object_size(sel))
		return NULL;
	json_t *ls = json_pack("{s:O}", "matchLabels", sel);
	char *out = kctl_selector_string(ls);
	json_decref(ls);
	return out;
}

/* One pod standing for a Deployment or Service, as an array. */
static json_t *pod_of(struct kctl *k, const struct kkind *kk, json_t *obj)
{
	char *sel = selector_of(kk, obj);
	json_t *items = sel && *sel ? pods_matching(k, sel) : NULL, *best = NULL, *p;
	size_t i;
	json_array_foreach(items, i, p)
		if (!best || better(p, best))
			best = p;
	json_t *out = NULL;
	if (best) {
		if (json_array_size(items) > 1)
			fprintf(stderr, "Found %zu pods, using pod/%s\n", json_array_size(items),
				kctl_str(best, "metadata.name"));
		out = json_pack("[O]", best);
	} else if (items || !sel || !*sel) {
		char q[96];
		kctl_kind_qualified(kk, q, sizeof(q));
		kctl_error("no pods found for %s/%s", q, kctl_str(obj, "metadata.name"));
	}
	json_decref(items);
	free(sel);
	return out;
}

/* POD or TYPE/NAME: the pods whose logs to print, or NULL after printing. */
static json_t *pods_named(struct kctl *k, const char *arg)
{
	const char *slash = strchr(arg, '/');
	char type[128];
	snprintf(type, sizeof(type), "%.*s", slash ? (int)(slash - arg) : 3, slash ? arg : "pod");
	const struct kkind *kk = kctl_kind(type);
	const char *name = slash ? slash + 1 : arg;
	if (!kk) {
		kctl_error("the server doesn't have a resource type \"%s\"", type);
		return NULL;
	}
	if (strcmp(kk->kind, "Pod") && strcmp(kk->kind, "Deployment") && strcmp(kk->kind, "Service")) {
		kctl_error("cannot get the logs from %s: selector for %s not implemented", kk->kind, kk->kind);
		return NULL;
	}
	char *path = kctl_path(kk, k->ns, name, NULL);
	long status = 0;
	json_t *obj = NULL, *pods = NULL;
	if (path && kctl_request(k, "GET", path, NULL, NULL, &status, &obj) == 0) {
		if (status != 200)
			kctl_print_status(obj, status);
		else if (strcmp(kk->kind, "Pod") == 0)
			pods = json_pack("[O]", obj);
		else
			pods = pod_of(k, kk, obj);
	}
	json_decref(obj);
	free(path);
	return pods;
}

/* ---- several at once ------------------------------------------------------------ */

/* -f on several pods: one child per stream, as kubectl's concurrent
 * readers; each child has its own connection. */
static int follow_all(struct kctl *k, json_t *pods, const struct logs_opts *o)
{
	size_t i, started = 0;
	json_t *p;
	fflush(stdout);
	json_array_foreach(pods, i, p) {
		pid_t pid = fork();
		if (pid == 0) {
			k->client = NULL; /* the parent's; this child opens its own */
			int ret = stream_pod(k, p, o);
			fflush(stdout);
			_exit(ret);
		}
		started += pid > 0;
	}
	int ret = started == json_array_size(pods) ? 0 : 1, st;
	while (started-- > 0)
		if (wait(&st) > 0 && (!WIFEXITED(st) || WEXITSTATUS(st)))
			ret = 1;
	return ret;
}

static int logs(struct kctl *k, const struct logs_opts *o)
{
	json_t *pods = o->selector ? pods_matching(k, o->selector) : pods_named(k, k->args.v[0]);
	if (!pods)
		return 1;
	size_t n = json_array_size(pods), i;
	int ret = 0;
	json_t *p;
	if (n == 0 && o->selector)
		fprintf(stderr, "No resources found in %s namespace.\n", k->ns);
	else if (o->follow && n > (size_t)o->max_requests)
		ret = kctl_error("you are attempting to follow %zu log streams, but maximum allowed "
				 "concurrency is %ld, use --max-log-requests to increase the limit",
				 n, o->max_requests);
	else if (o->follow && n > 1)
		ret = follow_all(k, pods, o);
	else
		json_array_foreach(pods, i, p)
			ret |= stream_pod(k, p, o);
	json_decref(pods);
	return ret;
}

int cmd_logs(int argc, char **argv)
{
	struct kctl k;
	struct logs_opts o = {.tail = -1, .max_requests = 5};
	const struct kflag flags[] = {
		{"follow", 'f', KF_BOOL, &o.follow},
		{"container", 'c', KF_STRING, &o.container},
		{"tail", 0, KF_INT, &o.tail},
		{"previous", 'p', KF_BOOL, &o.prev},
		{"selector", 'l', KF_STRING, &o.selector},
		{"prefix", 0, KF_BOOL, &o.prefix},
		{"max-log-requests", 0, KF_INT, &o.max_requests},
		{0},
	};
	int r = kctl_init(&k, argc, argv, flags, logs_usage);
	if (r != 0)
		return r < 0 ? 1 : 0;
	int ret;
	if (o.selector && k.args.n)
		ret = kctl_error("only a selector (-l) or a POD name is allowed");
	else if (!o.selector && k.args.n != 1)
		ret = kctl_error("expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\nPOD or "
				 "TYPE/NAME is a required argument for the logs command\nSee '%s logs -h' "
				 "for help and examples", k.prog);
	else
		ret = logs(&k, &o);
	kctl_done(&k);
	return ret;
}
