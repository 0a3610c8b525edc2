/* cmd_expose.c: `expose deployment|pod|service NAME [--port=P]
 * [--target-port=P] [--name=N] [--protocol=TCP] [--type=ClusterIP]`: a
 * Service selecting what the object selects, as kubectl does. */
#include "commands.h"
#include "kctl.h"

#include <stdlib.h>
#include <string.h>

static const char expose_usage[] =
	"Expose a resource as a new Kubernetes service.\n\n"
	"Usage:\n"
	"  kubectl expose (-f FILENAME | TYPE NAME) [--port=port] [--protocol=TCP|UDP|SCTP] "
	"[--target-port=number-or-name] [--name=name] [--type=type] [options]\n";

struct expose_opts {
	const char *port, *target, *name, *protocol, *type, *selector, *output;
};

static json_t *selector_of(const struct kkind *kk, json_t *obj)
{
	if (strcmp(kk->kind, "Deployment") == 0)
		return json_object_get(json_object_get(json_object_get(obj, "spec"), "selector"), "matchLabels");
	if (strcmp(kk->kind, "Service") == 0)
		return json_object_get(json_object_get(obj, "spec"), "selector");
	return json_object_get(json_object_get(obj, "metadata"), "labels");
}

/* The object's only container port when --port is not given. */
static long introspect_port(const struct kkind *kk, json_t *obj)
{
	json_t *spec = json_object_get(obj, "spec");
	if (strcmp(kk->kind, "Deployment") == 0)
		spec = json_object_get(json_object_get(spec, "template"), "spec");
	if (strcmp(kk->kind, "Service") == 0)
		return json_integer_value(json_object_get(json_array_get(json_object_get(spec, "ports"), 0), "port"));
	json_t *c = json_array_get(json_object_get(spec, "containers"), 0);
	return json_integer_value(json_object_get(json_array_get(json_object_get(c, "ports"), 0), "containerPort"));
}

static json_t *port_value(const char *text)
{
	char *end = NULL;
	long v = strtol(text, &end, 10);
	return *end ? json_string(text) : json_integer(v);
}

static json_t *service_for(const struct kkind *kk, json_t *obj, const struct expose_opts *o,
			   const char *name)
{
	json_t *sel = o->selector ? kctl_parse_labels(o->selector) : json_deep_copy(selector_of(kk, obj));
	if (!sel || json_object_size(sel) == 0) {
		json_decref(sel);
		kctl_error("couldn't retrieve selectors via --selector flag or introspection: the %s has no labels", kk->singular);
		return NULL;
	}
	long port = o->port ? strtol(o->port, NULL, 10) : introspect_port(kk, obj);
	if (port <= 0) {
		json_decref(sel);
		kctl_error("couldn't find port via --port flag or introspection\nSee '%s expose -h' for help and examples", "kubectl");
		return NULL;
	}
	json_t *p = json_pack("{s:I, s:s}", "port", (json_int_t)port, "protocol", o->protocol ? o->protocol : "TCP");
	json_object_set_new(p, "targetPort", o->target ? port_value(o->target) : json_integer(port));
	json_t *labels = json_object_get(json_object_get(obj, "metadata"), "labels");
	json_t *svc = json_pack("{s:s, s:s, s:{s:s}, s:{s:[o], s:o}}", "apiVersion", "v1", "kind",
				"Service", "metadata", "name", name, "spec", "ports", p, "selector", sel);
	if (json_object_size(labels))
		json_object_set(json_object_get(svc, "metadata"), "labels", labels);
	if (o->type)
		json_object_set_new(json_object_get(svc, "spec"), "type", json_string(o->type));
	return svc;
}

/* POSTs svc (unless a client dry run) and prints the outcome. */
static int expose_post(struct kctl *k, json_t *svc, const char *output)
{
	const struct kkind *sk = kctl_kind("services");
	const char *name = kctl_str(svc, "metadata.name");
	if (k->dry == KCTL_DRY_CLIENT) {
		if (kctl_validate(sk, svc) < 0)
			return 1;
		kctl_print_done(k, sk, name, "exposed", output, svc);
		return 0;
	}
	char *path = kctl_path(sk, k->ns, NULL, kctl_dry_query(k));
	long status = 0;
	json_t *resp = NULL;
	int ret = kctl_request(k, "POST", path, svc, NULL, &status, &resp);
	free(path);
	if (ret < 0)
		ret = 1;
	else if (status == 201 || status == 200)
		kctl_print_done(k, sk, name, "exposed", output, resp);
	else
		ret = kctl_print_status(resp, status);
	json_decref(resp);
	return ret;
}

static int expose(struct kctl *k, const struct kkind *kk, const char *name, const struct expose_opts *o)
{
	char *path = kctl_path(kk, k->ns, name, NULL);
	long status = 0;
	json_t *obj = NULL, *svc = NULL;
	int ret = kctl_request(k, "GET", path, NULL, NULL, &status, &obj);
	free(path);
	if (ret < 0)
		return 1;
	if (status != 200)
		ret = kctl_print_status(obj, status);
	else if (!(svc = service_for(kk, obj, o, o->name ? o->name : name)))
		ret = 1;
	else
		ret = expose_post(k, svc, o->output);
	json_decref(svc);
	json_decref(obj);
	return ret ? 1 : 0;
}

int cmd_expose(int argc, char **argv)
{
	struct kctl k;
	struct expose_opts o = {0};
	const struct kflag flags[] = {
		{"port", 0, KF_STRING, &o.port},
		{"target-port", 0, KF_STRING, &o.target},
		{"name", 0, KF_STRING, &o.name},
		{"protocol", 0, KF_STRING, &o.protocol},
		{"type", 0, KF_STRING, &o.type},
		{"selector", 'l', KF_STRING, &o.selector},
		{"output", 'o', KF_STRING, &o.output},
		{"dry-run", 0, KF_STRING, &k.dry_run},
		{0},
	};
	int r = kctl_init(&k, argc, argv, flags, expose_usage);
	if (r != 0)
		return r < 0 ? 1 : 0;
	int ret = 0;
	const char *first = k.args.n ? k.args.v[0] : "";
	const char *slash = strchr(first, '/');
	char kind[128];
	snprintf(kind, sizeof(kind), "%.*s", slash ? (int)(slash - first) : (int)strlen(first), first);
	const struct kkind *kk = kctl_kind(kind);
	const char *name = slash ? slash + 1 : k.args.n > 1 ? k.args.v[1] : NULL;
	if (kctl_check_output(o.output))
		ret = 1;
	else if (k.args.n == 0)
		ret = kctl_error("You must provide one or more resources by argument or filename.");
	else if (!kk)
		ret = kctl_error("the server doesn't have a resource type \"%s\"", kind);
	else if (strcmp(kk->kind, "Pod") && strcmp(kk->kind, "Deployment") && strcmp(kk->kind, "Service"))
		ret = kctl_error("cannot expose a %s", kk->kind);
	else if (!name)
		ret = kctl_error("resource(s) were provided, but no name was specified");
	else
		ret = expose(&k, kk, name, &o);
	kctl_done(&k);
	return ret;
}
