/* cmd_create.c: `create ns NAME`, `create -f FILE|-` and `apply -f`. */
#include "commands.h"
#include "kctl.h"

#include <stdlib.h>
#include <string.h>

#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

static const char create_usage[] =
	"Create a resource from a file or from stdin.\n\n"
	"Usage:\n"
	"  kubectl create -f FILENAME [options]\n"
	"  kubectl create namespace NAME [options]\n";

static const char apply_usage[] =
	"Apply a configuration to a resource by file name or stdin.\n\n"
	"Usage:\n"
	"  kubectl apply -f FILENAME [options]\n";

static char *applied_text(json_t *obj);
static void set_applied(json_t *obj, const char *text);

/* POSTs obj (unless a client dry run) and prints the outcome. */
static int create_post(struct kctl *k, const struct kkind *kk, const char *ns, json_t *obj,
		       const char *source, const char *output)
{
	if (k->dry == KCTL_DRY_CLIENT) {
		if (kctl_validate(kk, obj) < 0)
			return 1;
		kctl_print_done(k, kk, kctl_str(obj, "metadata.name"), "created", output, obj);
		return 0;
	}
	char *path = kctl_path(kk, ns, NULL, kctl_dry_query(k));
	long status = 0;
	json_t *resp = NULL;
	int ret = kctl_request(k, "POST", path, obj, NULL, &status, &resp);
	free(path);
	if (ret < 0)
		return 1;
	if (status == 200 || status == 201) {
		kctl_print_done(k, kk, kctl_str(resp, "metadata.name"), "created", output, resp);
		ret = 0;
	} else if (source) {
		ret = kctl_print_status_when(resp, status, "creating", source);
	} else {
		ret = kctl_print_status(resp, status);
	}
	json_decref(resp);
	return ret;
}

/* --save-config: created as `apply` would have, so that a later apply
 * has the configuration to compare with. */
static int keep_applied(json_t *obj)
{
	char *text = applied_text(obj);
	if (!text)
		return kctl_error("out of memory");
	set_applied(obj, text);
	free(text);
	return 0;
}

static int create_one(struct kctl *k, json_t *obj, const char *source, const char *output,
		      bool save)
{
	const struct kkind *kk = kctl_object_kind(obj, source);
	const char *ns = NULL;
	if (!kk || kctl_object_namespace(k, kk, obj, &ns) < 0 || (save && keep_applied(obj)))
		return 1;
	return create_post(k, kk, ns, obj, source, output);
}

static int create_namespace(struct kctl *k, const char *name, const char *output, bool save)
{
	json_t *obj = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
				"metadata", "name", name);
	int ret = save && keep_applied(obj) ? 1 : create_post(k, kctl_kind("namespace"), NULL, obj, NULL, output);
	json_decref(obj);
	return ret;
}

int cmd_create(int argc, char **argv)
{
	struct kctl k;
	struct kstrs files = {0};
	const char *output = NULL;
	bool save_config = false;
	const char *validate = NULL;
	const struct kflag flags[] = {
		{"filename", 'f', KF_LIST, &files},
		{"output", 'o', KF_STRING, &output},
		{"save-config", 0, KF_BOOL, &save_config},
		{"validate", 0, KF_STRING, &validate},
		{"dry-run", 0, KF_STRING, &k.dry_run},
		{0},
	};
	int r = kctl_init(&k, argc, argv, flags, create_usage);
	if (r != 0) {
		kctl_strs_free(&files);
		return r < 0 ? 1 : 0;
	}
	int ret = 0;
	if (kctl_check_output(output))
		ret = 1;
	else if (k.args.n >= 1 && (strcmp(k.args.v[0], "ns") == 0 || strcmp(k.args.v[0], "namespace") == 0)) {
		if (k.args.n != 2)
			ret = kctl_error("exactly one NAME is required, got %zu\nSee '%s create namespace -h' for help and examples",
					 k.args.n - 1, k.prog);
		else
			ret = create_namespace(&k, k.args.v[1], output, save_config);
	} else if (k.args.n >= 1) {
		ret = kctl_error("Unexpected args: [%s]\nSee '%s create -h' for help and examples", k.args.v[0], k.prog);
	} else if (files.n == 0) {
		ret = kctl_error("must specify one of -f and -k");
	} else {
		struct kmanifest m;
		if (kctl_manifest_read(&files, &m) < 0) {
			ret = 1;
		} else {
			for (size_t i = 0; i < m.n; i++)
				ret |= create_one(&k, m.items[i].obj, m.items[i].source, output, save_config);
			if (m.n == 0)
				ret = kctl_error("no objects passed to create");
			kctl_manifest_free(&m);
		}
	}
	kctl_strs_free(&files);
	kctl_done(&k);
	return ret;
}

/* ---- apply ------------------------------------------------------------------ */

/* The JSON merge patch that takes the live object from the previously
 * applied configuration to the new one: new fields set, fields that
 * were applied before and are gone now deleted (null), fields others
 * wrote left alone (kubectl's three-way merge, for these kinds). */
static json_t *merge_patch(json_t *old_applied, json_t *applied)
{
	json_t *patch = json_object();
	const char *key;
	json_t *v;
	json_object_foreach(applied, key, v) {
		json_t *old = json_object_get(old_applied, key);
		if (json_is_object(v) && json_is_object(old))
			json_object_set_new(patch, key, merge_patch(old, v));
		else
			json_object_set(patch, key, v);
	}
	json_object_foreach(old_applied, key, v)
		if (!json_object_get(applied, key))
			json_object_set_new(patch, key, json_null());
	return patch;
}

static char *applied_text(json_t *obj)
{
	char *s = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS), *out = NULL;
	if (s && asprintf(&out, "%s\n", s) < 0)
		out = NULL;
	free(s);
	return out;
}

static void set_applied(json_t *obj, const char *text)
{
	json_t *meta = json_object_get(obj, "metadata");
	if (!json_is_object(meta))
		json_object_set_new(obj, "metadata", meta = json_object());
	json_t *ann = json_object_get(meta, "annotations");
	if (!json_is_object(ann))
		json_object_set_new(meta, "annotations", ann = json_object());
	json_object_set_new(ann, LAST_APPLIED, json_string(text));
}

static int apply_existing(struct kctl *k, const struct kkind *kk, const char *path, json_t *live,
			  json_t *obj, const char *text, const char *output)
{
	/* not kctl_str: the key has dots */
	const char *prev = json_string_value(json_object_get(
		json_object_get(json_object_get(live, "metadata"), "annotations"), LAST_APPLIED));
	const char *name = kctl_str(obj, "metadata.name");
	if (!prev) {
		/* kubectl warns about this and then takes ownership */
		fprintf(stderr, "Warning: resource %s/%s is missing the %s annotation which is required "
			"by kubectl apply. kubectl apply should only be used on resources created "
			"declaratively by either kubectl create --save-config or kubectl apply. The "
			"missing annotation will be patched automatically.\n",
			kk->resource, name, LAST_APPLIED);
	} else if (strcmp(prev, text) == 0) {
		kctl_print_done(k, kk, name, "unchanged", output, live);
		return 0;
	}
	if (k->dry == KCTL_DRY_CLIENT) {
		if (kctl_validate(kk, obj) < 0)
			return 1;
		kctl_print_done(k, kk, name, "configured", output, obj);
		return 0;
	}
	json_t *old = prev ? json_loads(prev, 0, NULL) : json_object();
	json_t *patch = merge_patch(old ? old : json_object(), obj);
	json_decref(old);
	long status = 0;
	json_t *resp = NULL;
	char *ppath = NULL;
	if (asprintf(&ppath, "%s%s%s", path, k->dry ? "?" : "", k->dry ? kctl_dry_query(k) : "") < 0)
		ppath = NULL;
	int ret = ppath ? kctl_request(k, "PATCH", ppath, patch, "application/merge-patch+json",
				       &status, &resp) : -1;
	free(ppath);
	json_decref(patch);
	if (ret == 0 && status == 200)
		kctl_print_done(k, kk, name, "configured", output, resp);
	else if (ret == 0)
		ret = kctl_print_status_when(resp, status, "applying patch to", name);
	json_decref(resp);
	return ret ? 1 : 0;
}

static int apply_one(struct kctl *k, json_t *obj, const char *source, const char *output)
{
	const struct kkind *kk = kctl_object_kind(obj, source);
	const char *ns = NULL, *name = kctl_str(obj, "metadata.name");
	if (!kk || kctl_object_namespace(k, kk, obj, &ns) < 0)
		return 1;
	if (!name || !*name)
		return kctl_error("error when retrieving current configuration of:\nResource: \"%s\", "
				  "Name: \"\", Namespace: \"%s\"\nfrom server for: \"%s\": resource name may not be empty",
				  kk->resource, ns ? ns : "", source);
	char *text = applied_text(obj);
	json_t *body = json_deep_copy(obj);
	set_applied(body, text);
	char *path = kctl_path(kk, ns, name, NULL);
	long status = 0;
	json_t *live = NULL;
	int ret = kctl_request(k, "GET", path, NULL, NULL, &status, &live);
	if (ret == 0 && status == 404) {
		ret = create_post(k, kk, ns, body, source, output);
	} else if (ret == 0 && status == 200) {
		json_t *applied = json_deep_copy(obj);
		set_applied(applied, text);
		ret = apply_existing(k, kk, path, live, applied, text, output);
		json_decref(applied);
	} else if (ret == 0) {
		ret = kctl_print_status(live, status);
	}
	json_decref(live);
	json_decref(body);
	free(path);
	free(text);
	return ret ? 1 : 0;
}

int cmd_apply(int argc, char **argv)
{
	struct kctl k;
	struct kstrs files = {0};
	const char *output = NULL, *validate = NULL;
	const struct kflag flags[] = {
		{"filename", 'f', KF_LIST, &files},
		{"output", 'o', KF_STRING, &output},
		{"validate", 0, KF_STRING, &validate},
		{"dry-run", 0, KF_STRING, &k.dry_run},
		{0},
	};
	int r = kctl_init(&k, argc, argv, flags, apply_usage);
	if (r != 0) {
		kctl_strs_free(&files);
		return r < 0 ? 1 : 0;
	}
	int ret = 0;
	struct kmanifest m;
	if (kctl_check_output(output))
		ret = 1;
	else if (files.n == 0)
		ret = kctl_error("must specify one of -f and -k");
	else if (kctl_manifest_read(&files, &m) < 0)
		ret = 1;
	else {
		for (size_t i = 0; i < m.n; i++)
			ret |= apply_one(&k, m.items[i].obj, m.items[i].source, output);
		if (m.n == 0)
			ret = kctl_error("no objects passed to apply");
		kctl_manifest_free(&m);
	}
	kctl_strs_free(&files);
	kctl_done(&k);
	return ret;
}
