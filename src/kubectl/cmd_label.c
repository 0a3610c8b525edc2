/* cmd_label.c: `label [--overwrite] KIND NAME|KIND/NAME k=v... k-...`. */
#include "commands.h"
#include "kctl.h"

#include <stdlib.h>
#include <string.h>

static const char label_usage[] =
	"Update the labels on a resource.\n\n"
	"Usage:\n"
	"  kubectl label [--overwrite] (-f FILENAME | TYPE NAME) KEY_1=VAL_1 ... KEY_N=VAL_N [options]\n";

/* The merge patch of metadata.labels, checked against the live labels;
 * NULL after printing an error. *changes counts real changes. */
static json_t *label_patch(const struct kstrs *specs, size_t from, json_t *live, bool overwrite,
			   int *changes, int *added)
{
	json_t *labels = json_object();
	*changes = 0;
	for (size_t i = from; i < specs->n; i++) {
		const char *s = specs->v[i];
		size_t len = strlen(s);
		if (len > 1 && s[len - 1] == '-' && !strchr(s, '=')) {
			char *key = strndup(s, len - 1);
			if (json_object_get(live, key)) {
				json_object_set_new(labels, key, json_null());
				(*changes)++;
			} else {
				fprintf(stderr, "label \"%s\" not found.\n", key);
			}
			free(key);
			continue;
		}
		const char *eq = strchr(s, '=');
		if (!eq || eq == s) {
			kctl_error("at least one label update is required");
			json_decref(labels);
			return NULL;
		}
		char *key = strndup(s, (size_t)(eq - s));
		const char *old = json_string_value(json_object_get(live, key));
		if (old && !overwrite && strcmp(old, eq + 1) != 0) {
			kctl_error("'%s' already has a value (%s), and --overwrite is false", key, old);
			free(key);
			json_decref(labels);
			return NULL;
		}
		if (!old || strcmp(old, eq + 1) != 0)
			(*changes)++;
		(*added)++;
		json_object_set_new(labels, key, json_string(eq + 1));
		free(key);
	}
	return json_pack("{s:{s:o}}", "metadata", "labels", labels);
}

/* PATCHes (unless a client dry run) and prints the outcome. */
static int label_send(struct kctl *k, const struct kkind *kk, const char *name, json_t *patch,
		      const char *op, const char *output)
{
	if (k->dry == KCTL_DRY_CLIENT) {
		kctl_print_done(k, kk, name, op, output, NULL);
		return 0;
	}
	char *path = kctl_path(kk, k->ns, name, kctl_dry_query(k));
	long status = 0;
	json_t *resp = NULL;
	int ret = kctl_request(k, "PATCH", path, patch, "application/merge-patch+json", &status, &resp);
	free(path);
	if (ret < 0)
		ret = 1;
	else if (status == 200)
		kctl_print_done(k, kk, name, op, output, resp);
	else
		ret = kctl_print_status(resp, status);
	json_decref(resp);
	return ret;
}

static int label_one(struct kctl *k, const struct kkind *kk, const char *name, size_t from,
		     bool overwrite, const char *output)
{
	char *path = kctl_path(kk, k->ns, name, NULL);
	long status = 0;
	json_t *live = NULL;
	int ret = kctl_request(k, "GET", path, NULL, NULL, &status, &live);
	free(path);
	if (ret == 0 && status != 200)
		ret = kctl_print_status(live, status);
	int changes = 0, added = 0;
	json_t *labels = json_object_get(json_object_get(live, "metadata"), "labels");
	json_t *patch = ret == 0 ? label_patch(&k->args, from, labels, overwrite, &changes, &added) : NULL;
	if (ret == 0 && !patch)
		ret = 1;
	else if (ret == 0 && changes == 0)
		kctl_print_done(k, kk, name, "not labeled", output, live);
	else if (ret == 0)
		ret = label_send(k, kk, name, patch, added ? "labeled" : "unlabeled", output);
	json_decref(patch);
	json_decref(live);
	return ret ? 1 : 0;
}

int cmd_label(int argc, char **argv)
{
	struct kctl k;
	bool overwrite = false;
	const char *output = NULL;
	const struct kflag flags[] = {
		{"overwrite", 0, KF_BOOL, &overwrite},
		{"output", 'o', KF_STRING, &output},
		{"dry-run", 0, KF_STRING, &k.dry_run},
		{0},
	};
	int r = kctl_init(&k, argc, argv, flags, label_usage);
	if (r != 0)
		return r < 0 ? 1 : 0;
	int ret = 0;
	const char *first = k.args.n ? k.args.v[0] : "";
	const char *slash = strchr(first, '/');
	size_t from = slash ? 1 : 2;
	char kind[128];
	snprintf(kind, sizeof(kind), "%.*s", slash ? (int)(slash - first) : (int)strlen(first), first);
	const struct kkind *kk = k.args.n ? kctl_kind(kind) : NULL;
	if (kctl_check_output(output))
		ret = 1;
	else if (k.args.n == 0)
		ret = kctl_error("one or more resources must be specified as <resource> <name> or <resource>/<name>");
	else if (!kk)
		ret = kctl_error("the server doesn't have a resource type \"%s\"", kind);
	else if (k.args.n <= from)
		ret = kctl_error("at least one label update is required");
	else
		ret = label_one(&k, kk, slash ? slash + 1 : k.args.v[1], from, overwrite, output);
	kctl_done(&k);
	return ret;
}
