/* cmd_run.c: `run NAME --image=IMG [--replicas=N] [--port=P] [--labels=..]
 * [--env=K=V] [--rm] [-i] [-t] [--restart=..] [--command] [-- CMD...]`
 * with the meaning kubectl gave it up to 1.17: with --replicas a
 * Deployment labelled run=NAME, else a Pod labelled run=NAME; arguments
 * after NAME are the container's arguments (its command with --command).
 * With -i the pod's container is attached until its process ends; --rm
 * then deletes it. Also `attach POD [-i] [-t]`. */
#include "commands.h"
#include "kctl.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char run_usage[] =
	"Create and run a particular image in a pod.\n\n"
	"Usage:\n"
	"  kubectl run NAME --image=image [--env=\"key=value\"] [--port=port] [--replicas=N] "
	"[--dry-run=server|client] [--command] -- [COMMAND] [args...] [options]\n";

struct run_opts {
	const char *image, *labels, *restart, *port, *output;
	struct kstrs env;
	long replicas;
	bool rm, in, tty, command, quiet;
};

static json_t *container(const char *name, const struct run_opts *o, const struct kstrs *cmd)
{
	json_t *c = json_pack("{s:s, s:s}", "name", name, "image", o->image);
	if (cmd->n) {
		json_t *a = json_array();
		for (size_t i = 0; i < cmd->n; i++)
			json_array_append_new(a, json_string(cmd->v[i]));
		json_object_set_new(c, o->command ? "command" : "args", a);
	}
	if (o->port)
		json_object_set_new(c, "ports", json_pack("[{s:I}]", "containerPort",
							  (json_int_t)atol(o->port)));
	if (o->env.n) {
		json_t *env = json_array();
		for (size_t i = 0; i < o->env.n; i++) {
			const char *eq = strchr(o->env.v[i], '=');
			char *key = strndup(o->env.v[i], eq ? (size_t)(eq - o->env.v[i]) : strlen(o->env.v[i]));
			json_array_append_new(env, json_pack("{s:s, s:s}", "name", key, "value", eq ? eq + 1 : ""));
			free(key);
		}
		json_object_set_new(c, "env", env);
	}
	if (o->in) {
		json_object_set_new(c, "stdin", json_true());
		json_object_set_new(c, "stdinOnce", json_true());
	}
	if (o->tty)
		json_object_set_new(c, "tty", json_true());
	return c;
}

static json_t *run_object(const char *name, const struct run_opts *o, const struct kstrs *cmd,
			  bool deployment)
{
	json_t *labels = o->labels ? kctl_parse_labels(o->labels) : json_pack("{s:s}", "run", name);
	if (!labels)
		return NULL;
	json_t *spec = json_pack("{s:[o]}", "containers", container(name, o, cmd));
	if (!deployment) {
		json_object_set_new(spec, "restartPolicy", json_string(o->restart ? o->restart : "Always"));
		return json_pack("{s:s, s:s, s:{s:s, s:o}, s:o}", "apiVersion", "v1", "kind", "Pod",
				 "metadata", "name", name, "labels", labels, "spec", spec);
	}
	json_t *d = json_pack("{s:s, s:s, s:{s:s, s:O}, s:{s:I, s:{s:O}, s:{s:{s:O}, s:o}}}",
			      "apiVersion", "apps/v1", "kind", "Deployment", "metadata", "name", name,
			      "labels", labels, "spec", "replicas", (json_int_t)o->replicas, "selector",
			      "matchLabels", labels, "template", "metadata", "labels", labels, "spec", spec);
	json_decref(labels);
	return d;
}

static void delete_pod(struct kctl *k, const char *name)
{
	char *path = kctl_path(kctl_kind("pods"), k->ns, name, NULL);
	long status = 0;
	json_t *resp = NULL;
	if (kctl_request(k, "DELETE", path, NULL, NULL, &status, &resp) == 0) {
		if (status == 200 || status == 202)
			printf("pod \"%s\" deleted\n", name);
		else
			kctl_print_status(resp, status);
	}
	json_decref(resp);
	free(path);
}

static char *stream_path(struct kctl *k, const char *verb, const char *pod, const char *container,
			 bool in, bool tty)
{
	char *path = NULL;
	char *c = container ? kctl_escape(container) : NULL;
	if (asprintf(&path, "/api/v1/namespaces/%s/pods/%s/%s?%s%s%sstdin=%s&stdout=true&stderr=%s&tty=%s",
		     k->ns, pod, verb, c ? "container=" : "", c ? c : "", c ? "&" : "",
		     in ? "true" : "false", tty ? "false" : "true", tty ? "true" : "false") < 0)
		path = NULL;
	free(c);
	return path;
}

/* kubectl's rule: a TTY only when standard input is a terminal. */
static bool use_tty(bool tty, bool in, bool quiet)
{
	if (!tty)
		return false;
	if (!in || !isatty(STDIN_FILENO)) {
		if (!quiet && in)
			fprintf(stderr, "Unable to use a TTY - input is not a terminal or the right kind of file\n");
		return false;
	}
	return true;
}

static int attach_pod(struct kctl *k, const char *name, const char *container, bool in, bool tty,
		      bool quiet)
{
	char *phase = kctl_wait_pod_running(k, k->ns, name, 60);
	if (!phase)
		return 1;
	free(phase);
	tty = use_tty(tty, in, quiet);
	if (tty && !quiet)
		fprintf(stderr, "If you don't see a command prompt, try pressing enter.\n");
	char *path = stream_path(k, "attach", name, container, in, tty);
	int code = path ? kctl_stream_run(k, path, in, tty) : -1;
	free(path);
	return code < 0 ? 1 : code;
}

static int run(struct kctl *k, struct run_opts *o)
{
	const char *name = k->args.v[0];
	struct kstrs cmd = {0};
	for (size_t i = 1; i < k->args.n; i++)
		kctl_strs_add(&cmd, k->args.v[i]);
	for (size_t i = 0; i < k->after.n; i++)
		kctl_strs_add(&cmd, k->after.v[i]);
	bool deployment = o->replicas > 0 && (!o->restart || strcmp(o->restart, "Always") == 0);
	json_t *obj = run_object(name, o, &cmd, deployment);
	kctl_strs_free(&cmd);
	if (!obj)
		return 1;
	const struct kkind *kk = kctl_kind(deployment ? "deployments" : "pods");
	int ret = 0;
	json_t *resp = NULL;
	if (k->dry == KCTL_DRY_CLIENT) {
		ret = kctl_validate(kk, obj) < 0;
	} else {
		char *path = kctl_path(kk, k->ns, NULL, kctl_dry_query(k));
		long status = 0;
		ret = kctl_request(k, "POST", path, obj, NULL, &status, &resp);
		free(path);
		if (ret == 0 && status != 201 && status != 200)
			ret = kctl_print_status(resp, status);
		else if (ret < 0)
			ret = 1;
	}
	if (ret == 0 && (k->dry || (!o->in && !o->tty)))
		kctl_print_done(k, kk, name, "created", o->output, resp ? resp : obj);
	json_decref(resp);
	json_decref(obj);
	if (ret || k->dry || (!o->in && !o->tty))
		return ret;
	fflush(stdout);
	ret = attach_pod(k, name, name, o->in, o->tty, o->quiet);
	if (o->rm)
		delete_pod(k, name);
	return ret;
}

int cmd_run(int argc, char **argv)
{
	struct kctl k;
	struct run_opts o = {0};
	const char *generator = NULL;
	const struct kflag flags[] = {
		{"image", 0, KF_STRING, &o.image},
		{"replicas", 'r', KF_INT, &o.replicas},
		{"port", 0, KF_STRING, &o.port},
		{"labels", 'l', KF_STRING, &o.labels},
		{"env", 0, KF_LIST, &o.env},
		{"restart", 0, KF_STRING, &o.restart},
		{"rm", 0, KF_BOOL, &o.rm},
		{"stdin", 'i', KF_BOOL, &o.in},
		{"tty", 't', KF_BOOL, &o.tty},
		{"command", 0, KF_BOOL, &o.command},
		{"quiet", 'q', KF_BOOL, &o.quiet},
		{"output", 'o', KF_STRING, &o.output},
		{"dry-run", 0, KF_STRING, &k.dry_run},
		{"generator", 0, KF_STRING, &generator},
		{0},
	};
	int r = kctl_init(&k, argc, argv, flags, run_usage);
	if (r != 0) {
		kctl_strs_free(&o.env);
		return r < 0 ? 1 : 0;
	}
	int ret;
	if (k.args.n == 0)
		ret = kctl_error("NAME is required for run\nSee '%s run -h' for help and examples", k.prog);
	else if (!o.image || !*o.image)
		ret = kctl_error("required flag(s) \"image\" not set");
	else if (o.rm && !o.in && !o.tty)
		ret = kctl_error("--rm should only be used for attached containers");
	else if (k.dry && (o.in || o.tty))
		ret = kctl_error("--dry-run=[server|client] can't be used with attached containers options (--attach, --stdin, or --tty)");
	else if (kctl_check_output(o.output))
		ret = 1;
	else if (o.tty && !o.in)
		ret = kctl_error("-i/--stdin is required for containers with -t/--tty=true");
	else if (o.restart && strcmp(o.restart, "Always") && strcmp(o.restart, "OnFailure") &&
		 strcmp(o.restart, "Never"))
		ret = kctl_error("invalid restart policy: %s", o.restart);
	else
		ret = run(&k, &o);
	kctl_strs_free(&o.env);
	kctl_done(&k);
	return ret;
}

int cmd_attach(int argc, char **argv)
{
	struct kctl k;
	bool in = false, tty = false, quiet = false;
	const char *container = NULL;
	const struct kflag flags[] = {
		{"stdin", 'i', KF_BOOL, &in},
		{"tty", 't', KF_BOOL, &tty},
		{"container", 'c', KF_STRING, &container},
		{"quiet", 'q', KF_BOOL, &quiet},
		{0},
	};
	int r = kctl_init(&k, argc, argv, flags, "Usage:\n  kubectl attach (POD | TYPE/NAME) -c CONTAINER [options]\n");
	if (r != 0)
		return r < 0 ? 1 : 0;
	int ret;
	if (k.args.n != 1)
		ret = kctl_error("expected POD, TYPE/NAME, or TYPE NAME, (at most 2 arguments) saw %zu: [...]", k.args.n);
	else {
		const char *pod = k.args.v[0];
		if (strncmp(pod, "pod/", 4) == 0)
			pod += 4;
		ret = attach_pod(&k, pod, container, in, tty, quiet);
	}
	kctl_done(&k);
	return ret;
}
