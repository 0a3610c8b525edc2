/* manifest.c: -f FILE|DIR|- into JSON objects, with kubectl's messages for
 * missing files, unknown kinds and namespace conflicts. The bytes go
 * through decode's reader, the one netpol reach uses, so that the API
 * receives what reach reads; any problem in any file is printed as
 * file:line:col and nothing is sent. The server validates the objects. */
#include "kctl.h"
#include "cli/cli.h"
#include "decode/decode.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *read_stream(FILE *f, size_t *len)
{
	size_t cap = 8192, n = 0;
	char *buf = malloc(cap);
	size_t got;
	/* one byte past the reader's limit is enough for it to refuse */
	while (buf && n <= DECODE_MAX_BYTES && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += got;
		if (n + 1 == cap) {
			char *p = realloc(buf, cap *= 2);
			if (!p) {
				free(buf);
				return NULL;
			}
			buf = p;
		}
	}
	if (buf)
		buf[n] = 0;
	*len = n;
	return buf;
}

static int add_object(struct kmanifest *m, json_t *obj, const char *source)
{
	/* a List (kubectl get -o yaml output) contributes its items */
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	if (kind && strcmp(kind, "List") == 0) {
		size_t i;
		json_t *item;
		json_array_foreach(json_object_get(obj, "items"), i, item)
			if (add_object(m, json_incref(item), source) < 0)
				return -1;
		json_decref(obj);
		return 0;
	}
	struct kobj *p = realloc(m->items, (m->n + 1) * sizeof(*p));
	if (!p) {
		json_decref(obj);
		return -1;
	}
	m->items = p;
	m->items[m->n++] = (struct kobj){obj, source};
	return 0;
}

static const char *keep_source(struct kmanifest *m, const char *path)
{
	char **p = realloc(m->sources, (m->nsources + 1) * sizeof(*p));
	if (!p)
		return NULL;
	m->sources = p;
	return m->sources[m->nsources++] = strdup(path);
}

static int add_documents(struct kmanifest *m, json_t *docs, const char *source)
{
	size_t i;
	json_t *d;
	json_array_foreach(docs, i, d)
		if (add_object(m, json_incref(d), source) < 0)
			return -1;
	return 0;
}

/* A file whose text the reader refuses adds its problems to m->diags and
 * nothing else; the caller sends nothing when there are any. */
static int read_one(struct kmanifest *m, const char *path)
{
	bool in = strcmp(path, "-") == 0;
	const char *source = keep_source(m, in ? "STDIN" : path);
	FILE *f = in ? stdin : fopen(path, "r");
	if (!f || !source)
		return kctl_error("the path \"%s\" does not exist", path) ? -1 : -1;
	size_t len = 0;
	char *buf = read_stream(f, &len);
	if (!in)
		fclose(f);
	json_t *docs = NULL;
	int r = buf ? decode_read_json(source, buf, len, DECODE_READ_OBJECTS, &docs, &m->diags)
		    : -ENOMEM;
	free(buf);
	if (r == -ENOMEM)
		return kctl_error("reading %s: out of memory", source) ? -1 : -1;
	r = docs ? add_documents(m, docs, source) : 0;
	json_decref(docs);
	return r;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool manifest_name(const char *n)
{
	size_t l = strlen(n);
	return (l > 5 && !strcmp(n + l - 5, ".yaml")) || (l > 4 && !strcmp(n + l - 4, ".yml")) ||
	       (l > 5 && !strcmp(n + l - 5, ".json"));
}

static int read_dir(struct kmanifest *m, const char *dir)
{
	struct dirent **ents = NULL;
	int n = scandir(dir, &ents, NULL, NULL);
	if (n < 0)
		return kctl_error("the path \"%s\" does not exist", dir) ? -1 : -1;
	const char **names = calloc((size_t)n + 1, sizeof(*names));
	size_t k = 0;
	for (int i = 0; i < n; i++)
		if (manifest_name(ents[i]->d_name))
			names[k++] = ents[i]->d_name;
	qsort(names, k, sizeof(*names), cmp_names);
	int ret = 0;
	for (size_t i = 0; i < k && ret == 0; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		ret = read_one(m, path);
	}
	free(names);
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return ret;
}

int kctl_manifest_read(const struct kstrs *files, struct kmanifest *m)
{
	*m = (struct kmanifest){0};
	for (size_t i = 0; i < files->n; i++) {
		struct stat st;
		const char *p = files->v[i];
		int ret;
		if (strcmp(p, "-") != 0 && stat(p, &st) == 0 && S_ISDIR(st.st_mode))
			ret = read_dir(m, p);
		else if (strcmp(p, "-") != 0 && stat(p, &st) < 0)
			ret = kctl_error("the path \"%s\" does not exist", p) ? -1 : -1;
		else
			ret = read_one(m, p);
		if (ret < 0) {
			kctl_manifest_free(m);
			return -1;
		}
	}
	if (diag_count(&m->diags, DIAG_ERROR) == 0)
		return 0;
	cli_print_diags(stderr, &m->diags);
	kctl_manifest_free(m);
	return -1;
}

void kctl_manifest_free(struct kmanifest *m)
{
	for (size_t i = 0; i < m->n; i++)
		json_decref(m->items[i].obj);
	for (size_t i = 0; i < m->nsources; i++)
		free(m->sources[i]);
	free(m->items);
	free(m->sources);
	diag_list_clear(&m->diags);
	*m = (struct kmanifest){0};
}

const struct kkind *kctl_object_kind(json_t *obj, const char *source)
{
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	const char *av = json_string_value(json_object_get(obj, "apiVersion"));
	if (!kind || !*kind || !av || !*av) {
		bool no_av = !av || !*av, no_kind = !kind || !*kind;
		kctl_error("error validating \"%s\": error validating data: %s; if you choose "
			   "to ignore these errors, turn validation off with --validate=false",
			   source, no_av && no_kind ? "[apiVersion not set, kind not set]" :
			   no_av ? "apiVersion not set" : "kind not set");
		return NULL;
	}
	const struct kkind *kk = kctl_kind_of_object(obj);
	if (!kk) {
		const char *name = kctl_str(obj, "metadata.name");
		const char *ns = kctl_str(obj, "metadata.namespace");
		kctl_error("resource mapping not found for name: \"%s\" namespace: \"%s\" from \"%s\": "
			   "no matches for kind \"%s\" in version \"%s\"\nensure CRDs are installed first",
			   name ? name : "", ns ? ns : "", source, kind, av);
	}
	return kk;
}

int kctl_object_namespace(struct kctl *k, const struct kkind *kk, json_t *obj, const char **ns)
{
	*ns = NULL;
	if (!kk->namespaced)
		return 0;
	const char *own = kctl_str(obj, "metadata.namespace");
	if (own && *own && k->ns_given && strcmp(own, k->ns) != 0) {
		kctl_error("the namespace from the provided object \"%s\" does not match the namespace "
			   "\"%s\". You must pass '--namespace=%s' to perform this operation.",
			   own, k->ns, own);
		return -1;
	}
	*ns = own && *own ? own : k->ns;
	return 0;
}
