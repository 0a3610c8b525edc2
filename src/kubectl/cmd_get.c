/* cmd_get.c: `get KIND[,KIND] [NAME...] [-n NS | -A] [-o wide|yaml|json|name]
 * [--show-labels] [-l SELECTOR]`. Tables come from the server (Table
 * responses, as for kubectl) and are laid out like kubectl's tabwriter. */
#include "commands.h"
#include "kctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TABLE_ACCEPT "application/json;as=Table;v=v1;g=meta.k8s.io"

static const char get_usage[] =
	"Display one or many resources.\n\n"
	"Usage:\n"
	"  kubectl get [(-o|--output=)json|yaml|name|wide] (TYPE[.VERSION][.GROUP] [NAME ...]) [flags] [options]\n";

struct get_opts {
	const char *output, *selector;
	bool all_ns, show_labels, multi, ignore_not_found, watch;
};

/* ---- tables: kubectl's tabwriter (min width 6, padding 3) ------------------- */

struct table {
	char **cells; /* rows * cols */
	size_t rows, cols;
};

static void table_put(struct table *t, size_t row, size_t col, const char *text)
{
	t->cells[row * t->cols + col] = strdup(text ? text : "");
}

/* widths: one per column, kept across calls by a watch (kubectl's watch
 * output widens columns as longer cells come, never narrows them); the
 * header row is measured always, printed only when header is set. */
static void table_print(struct table *t, size_t *w, bool header)
{
	for (size_t r = 0; r < t->rows; r++)
		for (size_t c = 0; c < t->cols; c++) {
			size_t l = strlen(t->cells[r * t->cols + c]);
			if (l > w[c])
				w[c] = l;
		}
	for (size_t r = header ? 0 : 1; r < t->rows; r++) {
		for (size_t c = 0; c < t->cols; c++) {
			const char *s = t->cells[r * t->cols + c];
			if (c + 1 == t->cols) {
				printf("%s\n", s);
				continue;
			}
			size_t width = w[c] + 3 < 6 ? 6 : w[c] + 3;
			printf("%-*s", (int)width, s);
		}
	}
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->rows * t->cols; i++)
		free(t->cells[i]);
	free(t->cells);
}

static char *cell_text(json_t *v)
{
	char buf[64];
	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		return strdup(buf);
	}
	if (json_is_boolean(v))
		return strdup(json_is_true(v) ? "true" : "false");
	return strdup("<none>");
}

static void upper(char *s)
{
	for (; *s; s++)
		if (*s >= 'a' && *s <= 'z')
			*s -= 32;
}

/* The column widths a watch keeps between its lines. */
struct widths {
	size_t w[64];
	bool header_done;
};

/* Prints a Table answer; returns the number of rows. ws (may be NULL)
 * carries widths and whether the header was printed across calls. */
static size_t print_table_as(json_t *tbl, const struct kkind *kk, const struct get_opts *o,
			     struct widths *ws)
{
	json_t *defs = json_object_get(tbl, "columnDefinitions");
	json_t *rows = json_object_get(tbl, "rows");
	bool wide = o->output && strcmp(o->output, "wide") == 0;
	size_t ncols = 0, i;
	json_t *d;
	int *show = calloc(json_array_size(defs) + 1, sizeof(*show));
	json_array_foreach(defs, i, d)
		if (wide || json_integer_value(json_object_get(d, "priority")) == 0)
			show[ncols++] = (int)i;
	struct table t = {.rows = json_array_size(rows) + 1,
			  .cols = ncols + o->all_ns + o->show_labels};
	t.cells = calloc(t.rows * t.cols, sizeof(*t.cells));
	size_t c0 = o->all_ns;
	if (o->all_ns)
		table_put(&t, 0, 0, "NAMESPACE");
	for (size_t c = 0; c < ncols; c++) {
		char *h = strdup(kctl_str(json_array_get(defs, show[c]), "name"));
		upper(h);
		table_put(&t, 0, c0 + c, h);
		free(h);
	}
	if (o->show_labels)
		table_put(&t, 0, t.cols - 1, "LABELS");
	json_t *row;
	char q[96];
	kctl_kind_qualified(kk, q, sizeof(q));
	json_array_foreach(rows, i, row) {
		json_t *cells = json_object_get(row, "cells"), *meta = json_object_get(json_object_get(row, "object"), "metadata");
		if (o->all_ns)
			table_put(&t, i + 1, 0, kctl_str(meta, "namespace"));
		for (size_t c = 0; c < ncols; c++) {
			char *s = cell_text(json_array_get(cells, show[c]));
			if (c == 0 && o->multi) {
				char *n = NULL;
				if (asprintf(&n, "%s/%s", q, s) >= 0) {
					free(s);
					s = n;
				}
			}
			table_put(&t, i + 1, c0 + c, s);
			free(s);
		}
		if (o->show_labels) {
			char *l = kctl_labels_string(json_object_get(meta, "labels"));
			table_put(&t, i + 1, t.cols - 1, l);
			free(l);
		}
	}
	size_t n = json_array_size(rows);
	struct widths fresh = {0};
	if (!ws)
		ws = &fresh;
	if (n && t.cols <= sizeof(ws->w) / sizeof(ws->w[0])) {
		table_print(&t, ws->w, !ws->header_done);
		ws->header_done = true;
	}
	table_free(&t);
	free(show);
	return n;
}

static size_t print_table(json_t *tbl, const struct kkind *kk, const struct get_opts *o)
{
	return print_table_as(tbl, kk, o, NULL);
}

/* ---- other formats ------------------------------------------------------------ */

static void print_object(json_t *obj, const struct kkind *kk, const char *output)
{
	if (strcmp(output, "name") == 0) {
		char q[96];
		kctl_kind_qualified(kk, q, sizeof(q));
		printf("%s/%s\n", q, kctl_str(obj, "metadata.name"));
	} else if (strcmp(output, "json") == 0) {
		kctl_json_print(stdout, obj);
	} else if (strncmp(output, "jsonpath=", 9) == 0) {
		char *err = NULL;
		if (kctl_jsonpath_print(stdout, output + 9, obj, &err) < 0)
			kctl_error("%s", err ? err : "invalid jsonpath template");
		free(err);
	} else {
		kctl_yaml_print(stdout, obj);
	}
}

static bool table_format(const char *output)
{
	return !output || strcmp(output, "wide") == 0;
}

static char *list_query(const struct get_opts *o)
{
	char *q = NULL;
	char *sel = o->selector ? kctl_escape(o->selector) : NULL;
	int n = asprintf(&q, "%s%s%s", sel ? "labelSelector=" : "", sel ? sel : "",
			 table_format(o->output) ? (sel ? "&includeObject=Object" : "includeObject=Object") : "");
	free(sel);
	return n < 0 ? NULL : q;
}

/* One kind: returns 0, or 1 after an error. *found counts objects. */
static int get_kind(struct kctl *k, const struct kkind *kk, const struct kstrs *names,
		    const struct get_opts *o, json_t *collected, size_t *found, bool *printed)
{
	const char *ns = o->all_ns ? NULL : k->ns;
	client_set_accept(kctl_client(k), table_format(o->output) ? TABLE_ACCEPT : NULL);
	int ret = 0;
	json_t *resp = NULL;
	long status = 0;
	if (names->n == 0) {
		char *q = list_query(o);
		char *path = kctl_path(kk, ns, NULL, q && *q ? q : NULL);
		free(q);
		ret = kctl_request(k, "GET", path, NULL, NULL, &status, &resp);
		free(path);
		if (ret < 0)
			return 1;
		if (status != 200) {
			ret = kctl_print_status(resp, status);
		} else if (table_format(o->output)) {
			if (*printed && json_array_size(json_object_get(resp, "rows")))
				printf("\n");
			size_t n = print_table(resp, kk, o);
			*found += n;
			*printed |= n > 0;
		} else {
			size_t i;
			json_t *item;
			json_array_foreach(json_object_get(resp, "items"), i, item) {
				json_object_set_new(item, "apiVersion", json_string(kk->version));
				json_object_set_new(item, "kind", json_string(kk->kind));
				json_array_append(collected, item);
				(*found)++;
			}
		}
		json_decref(resp);
		return ret;
	}
	json_t *rows = NULL, *tbl = NULL;
	for (size_t i = 0; i < names->n; i++) {
		char *path = kctl_path(kk, ns ? ns : k->ns, names->v[i], NULL);
		ret = kctl_request(k, "GET", path, NULL, NULL, &status, &resp);
		free(path);
		if (ret < 0)
			return 1;
		if (status != 200) {
			if (!(status == 404 && o->ignore_not_found))
				ret = kctl_print_status(resp, status);
		} else if (table_format(o->output)) {
			if (!tbl) {
				tbl = json_incref(resp);
				rows = json_object_get(tbl, "rows");
			} else {
				json_array_extend(rows, json_object_get(resp, "rows"));
			}
		} else {
			json_array_append(collected, resp);
		}
		(*found) += status == 200;
		json_decref(resp);
		resp = NULL;
	}
	if (tbl) {
		if (*printed)
			printf("\n");
		*printed |= print_table(tbl, kk, o) > 0;
		json_decref(tbl);
	}
	return ret;
}

static int parse_kinds(const char *spec, const struct kkind **out, size_t *n)
{
	char *copy = strdup(spec), *save = NULL;
	*n = 0;
	int ret = 0;
	for (char *p = strtok_r(copy, ",", &save); p && ret == 0; p = strtok_r(NULL, ",", &save)) {
		if (strcmp(p, "all") == 0) {
			out[(*n)++] = kctl_kind("pods");
			out[(*n)++] = kctl_kind("services");
			out[(*n)++] = kctl_kind("deployments");
			continue;
		}
		const struct kkind *kk = kctl_kind(p);
		if (!kk || *n >= 16)
			ret = kctl_error("the server doesn't have a resource type \"%s\"", p);
		else
			out[(*n)++] = kk;
	}
	free(copy);
	return ret;
}

static void print_collected(json_t *items, bool single, const char *output)
{
	if (strcmp(output, "name") == 0) {
		size_t i;
		json_t *it;
		json_array_foreach(items, i, it)
			print_object(it, kctl_kind_of_object(it), output);
		return;
	}
	if (single && json_array_size(items) == 1) {
		json_t *it = json_array_get(items, 0);
		print_object(it, kctl_kind_of_object(it), output);
		return;
	}
	json_t *list = json_pack("{s:s, s:O, s:s, s:{s:s}}", "apiVersion", "v1", "items", items,
				 "kind", "List", "metadata", "resourceVersion", "");
	print_object(list, NULL, output);
	json_decref(list);
}

static int get_all(struct kctl *k, struct get_opts *o)
{
	const struct kkind *kinds[16];
	size_t nk = 0;
	const char *spec = k->args.v[0];
	struct kstrs names = {0};
	/* "pod/nginx" forms */
	if (strchr(spec, '/')) {
		for (size_t i = 0; i < k->args.n; i++) {
			const char *slash = strchr(k->args.v[i], '/');
			if (!slash)
				return kctl_error("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'kubectl get resource/<resource_name>' instead of 'kubectl get resource resource/<resource_name>'");
		}
	}
	int ret = 0;
	json_t *collected = json_array();
	size_t found = 0;
	bool printed = false, single = false;
	if (strchr(spec, '/')) {
		o->multi = k->args.n > 1;
		for (size_t i = 0; i < k->args.n && ret == 0; i++) {
			char kind[128];
			const char *slash = strchr(k->args.v[i], '/');
			snprintf(kind, sizeof(kind), "%.*s", (int)(slash - k->args.v[i]), k->args.v[i]);
			const struct kkind *kk = kctl_kind(kind);
			if (!kk) {
				ret = kctl_error("the server doesn't have a resource type \"%s\"", kind);
				break;
			}
			struct kstrs one = {(const char *[]){slash + 1}, 1};
			ret |= get_kind(k, kk, &one, o, collected, &found, &printed);
		}
		single = k->args.n == 1;
	} else if (parse_kinds(spec, kinds, &nk) == 0) {
		for (size_t i = 1; i < k->args.n; i++)
			kctl_strs_add(&names, k->args.v[i]);
		o->multi = nk > 1;
		single = nk == 1 && names.n == 1;
		for (size_t i = 0; i < nk; i++)
			ret |= get_kind(k, kinds[i], &names, o, collected, &found, &printed);
	} else {
		ret = 1;
	}
	if (!table_format(o->output) && (found || ret == 0))
		print_collected(collected, single, o->output);
	else if (found == 0 && ret == 0 && names.n == 0 && !strchr(spec, '/')) {
		if (o->all_ns || (nk == 1 && !kinds[0]->namespaced))
			fprintf(stderr, "No resources found\n");
		else
			fprintf(stderr, "No resources found in %s namespace.\n", k->ns);
	}
	json_decref(collected);
	kctl_strs_free(&names);
	return ret;
}

/* ---- -w / --watch: the list, then a line per change ---------------------------- */

struct watch_ctx {
	const struct kkind *kk;
	const struct get_opts *o;
	struct widths ws;
	size_t printed;              /* objects printed in a non-table format */
	char rv[32];
};

static void watch_note_rv(struct watch_ctx *w, json_t *meta)
{
	const char *rv = kctl_str(meta, "resourceVersion");
	if (rv && *rv)
		snprintf(w->rv, sizeof(w->rv), "%s", rv);
}

static void watch_print_object(struct watch_ctx *w, json_t *obj)
{
	if (strcmp(w->o->output, "yaml") == 0 && w->printed)
		printf("---\n");
	json_object_set_new(obj, "apiVersion", json_string(w->kk->version));
	json_object_set_new(obj, "kind", json_string(w->kk->kind));
	print_object(obj, w->kk, w->o->output);
	w->printed++;
}

static int on_watch_event(void *ctx, const char *type, json_t *obj)
{
	struct watch_ctx *w = ctx;
	if (strcmp(type, "ERROR") == 0) {
		char *msg = client_status_message(obj);
		fprintf(stderr, "%s\n", msg ? msg : "error: the watch failed");
		free(msg);
		return 1;
	}
	if (table_format(w->o->output)) {
		json_t *row = json_array_get(json_object_get(obj, "rows"), 0);
		watch_note_rv(w, json_object_get(json_object_get(row, "object"), "metadata"));
		if (strcmp(type, "BOOKMARK") != 0)
			print_table_as(obj, w->kk, w->o, &w->ws);
	} else {
		watch_note_rv(w, json_object_get(obj, "metadata"));
		if (strcmp(type, "BOOKMARK") != 0)
			watch_print_object(w, obj);
	}
	fflush(stdout);
	return 0;
}

/* The first answer: the current objects, and the revision to watch from. */
static int watch_list(struct kctl *k, struct watch_ctx *w, const char *path)
{
	long status = 0;
	json_t *resp = NULL;
	if (kctl_request(k, "GET", path, NULL, NULL, &status, &resp) < 0)
		return 1;
	int ret = 0;
	if (status != 200) {
		ret = kctl_print_status(resp, status);
	} else {
		watch_note_rv(w, json_object_get(resp, "metadata"));
		size_t i;
		json_t *item;
		if (table_format(w->o->output))
			print_table_as(resp, w->kk, w->o, &w->ws);
		else
			json_array_foreach(json_object_get(resp, "items"), i, item)
				watch_print_object(w, item);
		fflush(stdout);
	}
	json_decref(resp);
	return ret;
}

static char *watch_query(const struct get_opts *o, const char *name, const char *rv)
{
	char *base = list_query(o), *fs = NULL, *q = NULL;
	if (name) {
		char *n = NULL;
		if (asprintf(&n, "metadata.name=%s", name) >= 0)
			fs = kctl_escape(n);
		free(n);
	}
	if (asprintf(&q, "%s%s%s%s%s%s", base ? base : "", base && *base ? "&" : "",
		     fs ? "fieldSelector=" : "", fs ? fs : "", fs ? "&" : "",
		     rv ? "watch=1&allowWatchBookmarks=true&resourceVersion=" : "") < 0)
		q = NULL;
	char *full = NULL;
	if (q && rv && asprintf(&full, "%s%s", q, rv) >= 0) {
		free(q);
		q = full;
	}
	/* a trailing '&' when nothing followed the field selector */
	if (q && *q && q[strlen(q) - 1] == '&')
		q[strlen(q) - 1] = 0;
	free(base);
	free(fs);
	return q;
}

static int watch_kind(struct kctl *k, const struct kkind *kk, const char *name,
		      const struct get_opts *o)
{
	const char *ns = o->all_ns ? NULL : k->ns;
	struct watch_ctx w = {.kk = kk, .o = o};
	client_set_accept(kctl_client(k), table_format(o->output) ? TABLE_ACCEPT : NULL);
	if (name) { /* kubectl answers NotFound before it watches */
		char *path = kctl_path(kk, k->ns, name, NULL);
		long status = 0;
		json_t *resp = NULL;
		int ret = kctl_request(k, "GET", path, NULL, NULL, &status, &resp);
		free(path);
		if (ret == 0 && status != 200)
			ret = kctl_print_status(resp, status) ? -1 : 0;
		json_decref(resp);
		if (ret < 0)
			return 1;
	}
	char *q = watch_query(o, name, NULL), *path = kctl_path(kk, ns, NULL, q && *q ? q : NULL);
	int ret = watch_list(k, &w, path);
	free(q);
	free(path);
	/* the server may end a watch (timeoutSeconds); go on from the last
	 * revision seen, as kubectl's watcher does */
	while (ret == 0) {
		q = watch_query(o, name, w.rv);
		path = kctl_path(kk, ns, NULL, q);
		int r = client_watch(kctl_client(k), path, on_watch_event, &w);
		free(q);
		free(path);
		if (r == -ERANGE)
			ret = kctl_error("the watch expired: too old resource version %s", w.rv);
		else if (r < 0)
			ret = kctl_error("the watch failed: %s", strerror(-r));
		else if (r > 0)
			ret = 1;
	}
	return ret;
}

static int watch_get(struct kctl *k, struct get_opts *o)
{
	const char *spec = k->args.v[0], *slash = strchr(spec, '/'), *name = NULL;
	char kind[128];
	if (k->args.n > 2 || (slash && k->args.n > 1))
		return kctl_error("watch is only supported on individual resources and resource "
				  "collections, but %zu resources were found", k->args.n - !slash);
	snprintf(kind, sizeof(kind), "%.*s", slash ? (int)(slash - spec) : (int)strlen(spec), spec);
	if (strchr(kind, ','))
		return kctl_error("you may only specify a single resource type");
	const struct kkind *kk = kctl_kind(kind);
	if (!kk)
		return kctl_error("the server doesn't have a resource type \"%s\"", kind);
	name = slash ? slash + 1 : k->args.n == 2 ? k->args.v[1] : NULL;
	return watch_kind(k, kk, name, o);
}

int cmd_get(int argc, char **argv)
{
	struct kctl k;
	struct get_opts o = {0};
	const struct kflag flags[] = {
		{"output", 'o', KF_STRING, &o.output},
		{"selector", 'l', KF_STRING, &o.selector},
		{"all-namespaces", 'A', KF_BOOL, &o.all_ns},
		{"show-labels", 0, KF_BOOL, &o.show_labels},
		{"ignore-not-found", 0, KF_BOOL, &o.ignore_not_found},
		{"watch", 'w', KF_BOOL, &o.watch},
		{0},
	};
	int r = kctl_init(&k, argc, argv, flags, get_usage);
	if (r != 0)
		return r < 0 ? 1 : 0;
	int ret;
	char *jp_err = NULL;
	if (o.output && (strcmp(o.output, "jsonpath") == 0 || strcmp(o.output, "jsonpath=") == 0))
		ret = kctl_error("template format specified but no template given");
	else if (o.output && strncmp(o.output, "jsonpath=", 9) == 0 &&
		 kctl_jsonpath_check(o.output + 9, &jp_err) < 0)
		ret = kctl_error("%s", jp_err ? jp_err : "invalid jsonpath template");
	else if (o.output && strcmp(o.output, "wide") && strcmp(o.output, "yaml") &&
		 strcmp(o.output, "json") && strcmp(o.output, "name") &&
		 strncmp(o.output, "jsonpath=", 9))
		ret = kctl_error("unable to match a printer suitable for the output format \"%s\", "
				 "allowed formats are: json,jsonpath,name,wide,yaml", o.output);
	else if (k.args.n == 0)
		ret = kctl_error("You must specify the type of resource to get. Use \"%s api-resources\" "
				 "for a complete list of supported resources.\n", k.prog);
	else if (o.watch)
		ret = watch_get(&k, &o);
	else
		ret = get_all(&k, &o);
	free(jp_err);
	kctl_done(&k);
	return ret ? 1 : 0;
}
