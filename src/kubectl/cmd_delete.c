/* cmd_delete.c: `delete KIND NAME... | KIND/NAME | -f FILE | KIND -l SEL |
 * KIND --all`. Like kubectl it waits until each object is gone (a
 * Namespace goes once everything in it is gone). */
#include "commands.h"
#include "kctl.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char delete_usage[] =
	"Delete resources by file names, stdin, resources and names, or by resources and label selector.\n\n"
	"Usage:\n"
	"  kubectl delete ([-f FILENAME] | TYPE [(NAME | -l label | --all)]) [options]\n";

struct delete_opts {
	bool wait, all, ignore_not_found;
	const char *selector, *output;
};

static void wait_gone(struct kctl *k, const char *path)
{
	for (int i = 0; i < 1200; i++) { /* 60 s, as patient as a user */
		long status = 0;
		json_t *resp = NULL;
		if (kctl_request(k, "GET", path, NULL, NULL, &status, &resp) < 0)
			return;
		json_decref(resp);
		if (status == 404)
			return;
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	}
}

/* A client dry run only checks that the object is there. */
static int delete_request(struct kctl *k, const char *path, long *status, json_t **resp)
{
	if (k->dry != KCTL_DRY_CLIENT)
		return kctl_request(k, "DELETE", path, NULL, NULL, status, resp);
	return kctl_request(k, "GET", path, NULL, NULL, status, resp);
}

static int delete_one(struct kctl *k, const struct kkind *kk, const char *ns, const char *name,
		      const struct delete_opts *o, const char *source)
{
	char *path = kctl_path(kk, ns, name, NULL);
	char *dpath = kctl_path(kk, ns, name, kctl_dry_query(k));
	long status = 0;
	json_t *resp = NULL;
	int ret = delete_request(k, dpath, &status, &resp);
	char q[96];
	kctl_kind_qualified(kk, q, sizeof(q));
	if (ret < 0) {
		ret = 1;
	} else if (status == 200 || status == 202) {
		if (o->output && strcmp(o->output, "name") == 0)
			printf("%s/%s\n", q, name);
		else
			printf("%s \"%s\" deleted%s\n", q, name, kctl_dry_suffix(k));
		fflush(stdout);
		if (o->wait && !k->dry)
			wait_gone(k, path);
	} else if (status == 404 && o->ignore_not_found) {
		ret = 0;
	} else {
		ret = source ? kctl_print_status_when(resp, status, "deleting", source)
			     : kctl_print_status(resp, status);
	}
	json_decref(resp);
	free(path);
	free(dpath);
	return ret;
}

static int delete_files(struct kctl *k, const struct kstrs *files, const struct delete_opts *o)
{
	struct kmanifest m;
	if (kctl_manifest_read(files, &m) < 0)
		return 1;
	int ret = 0;
	for (size_t i = 0; i < m.n; i++) {
		json_t *obj = m.items[i].obj;
		const struct kkind *kk = kctl_object_kind(obj, m.items[i].source);
		const char *ns = NULL;
		if (!kk || kctl_object_namespace(k, kk, obj, &ns) < 0) {
			ret = 1;
			continue;
		}
		ret |= delete_one(k, kk, ns, kctl_str(obj, "metadata.name"), o, NULL);
	}
	kctl_manifest_free(&m);
	return ret;
}

/* -l SEL / --all: every object of the kind in the namespace. */
static int delete_listed(struct kctl *k, const struct kkind *kk, const struct delete_opts *o)
{
	char *sel = o->selector ? kctl_escape(o->selector) : NULL, *q = NULL;
	if (sel && asprintf(&q, "labelSelector=%s", sel) < 0)
		q = NULL;
	char *path = kctl_path(kk, k->ns, NULL, q);
	free(sel);
	free(q);
	long status = 0;
	json_t *resp = NULL;
	int ret = kctl_request(k, "GET", path, NULL, NULL, &status, &resp);
	free(path);
	if (ret < 0)
		return 1;
	if (status != 200) {
		ret = kctl_print_status(resp, status);
	} else {
		size_t i;
		json_t *item;
		json_array_foreach(json_object_get(resp, "items"), i, item)
			ret |= delete_one(k, kk, k->ns, kctl_str(item, "metadata.name"), o, NULL);
		if (json_array_size(json_object_get(resp, "items")) == 0)
			printf("No resources found\n");
	}
	json_decref(resp);
	return ret;
}

static int delete_named(struct kctl *k, const struct delete_opts *o)
{
	int ret = 0;
	if (strchr(k->args.v[0], '/')) {
		for (size_t i = 0; i < k->args.n; i++) {
			const char *a = k->args.v[i], *slash = strchr(a, '/');
			char kind[128];
			snprintf(kind, sizeof(kind), "%.*s", slash ? (int)(slash - a) : 0, a);
			const struct kkind *kk = slash ? kctl_kind(kind) : NULL;
			if (!kk)
				ret |= kctl_error("the server doesn't have a resource type \"%s\"", slash ? kind : a);
			else
				ret |= delete_one(k, kk, k->ns, slash + 1, o, NULL);
		}
		return ret;
	}
	const struct kkind *kk = kctl_kind(k->args.v[0]);
	if (!kk)
		return kctl_error("the server doesn't have a resource type \"%s\"", k->args.v[0]);
	if (k->args.n == 1 && (o->all || o->selector))
		return delete_listed(k, kk, o);
	if (k->args.n == 1)
		return kctl_error("resource(s) were provided, but no name was specified");
	for (size_t i = 1; i < k->args.n; i++)
		ret |= delete_one(k, kk, k->ns, k->args.v[i], o, NULL);
	return ret;
}

int cmd_delete(int argc, char **argv)
{
	struct kctl k;
	struct kstrs files = {0};
	struct delete_opts o = {.wait = true};
	const char *grace = NULL;
	bool now = false, force = false;
	const struct kflag flags[] = {
		{"filename", 'f', KF_LIST, &files},
		{"selector", 'l', KF_STRING, &o.selector},
		{"all", 0, KF_BOOL, &o.all},
		{"wait", 0, KF_BOOL, &o.wait},
		{"ignore-not-found", 0, KF_BOOL, &o.ignore_not_found},
		{"output", 'o', KF_STRING, &o.output},
		{"grace-period", 0, KF_STRING, &grace},
		{"now", 0, KF_BOOL, &now},
		{"force", 0, KF_BOOL, &force},
		{"dry-run", 0, KF_STRING, &k.dry_run},
		{0},
	};
	int r = kctl_init(&k, argc, argv, flags, delete_usage);
	if (r != 0) {
		kctl_strs_free(&files);
		return r < 0 ? 1 : 0;
	}
	int ret;
	if (files.n && k.args.n)
		ret = kctl_error("cannot specify both -f and resource names");
	else if (files.n)
		ret = delete_files(&k, &files, &o);
	else if (k.args.n == 0)
		ret = kctl_error("You must provide one or more resources by argument or filename.\n"
				 "Example resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n"
				 "   '<resource> <name>'\n   '<resource>'");
	else
		ret = delete_named(&k, &o);
	kctl_strs_free(&files);
	kctl_done(&k);
	return ret ? 1 : 0;
}
