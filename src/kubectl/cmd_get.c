/* cmd_get.c: `get KIND[,KIND] [NAME...] [-n NS | -A] [-o wide|yaml|json|name]
 * [--show-labels] [-l SELECTOR]`. Tables come from the server (Table
 * responses, as for kubectl) and are laid out like kubectl's tabwriter. */
#include "commands.h"
#include "kctl.h"

#include <stdlib.h>
#include <string.h>

#define TABLE_ACCEPT "application/json;as=Table;v=v1;g=meta.k8s.io"

static const char get_usage[] =
	"Display one or many resources.\n\n"
	"Usage:\n"
	"  kubectl get [(-o|--output=)json|yaml|name|wide] (TYPE[.VERSION][.GROUP] [NAME ...]) [flags] [options]\n";

struct get_opts {
	const char *output, *selector;
	bool all_ns, show_labels, multi, ignore_not_found;
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

static void table_print(struct table *t)
{
	size_t *w = calloc(t->cols, sizeof(*w));
	for (size_t r = 0; r < t->rows; r++)
		for (size_t c = 0; c < t->cols; c++) {
			size_t l = strlen(t->cells[r * t->cols + c]);
			if (l > w[c])
				w[c] = l;
		}
	for (size_t r = 0; r < t->rows; r++) {
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
	free(w);
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

/* Prints a Table answer; returns the number of rows. */
static size_t print_table(json_t *tbl, const struct kkind *kk, const struct get_opts *o)
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
	if (n)
		table_print(&t);
	table_free(&t);
	free(show);
	return n;
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
		{0},
	};
	int r = kctl_init(&k, argc, argv, flags, get_usage);
	if (r != 0)
		return r < 0 ? 1 : 0;
	int ret;
	if (o.output && strcmp(o.output, "wide") && strcmp(o.output, "yaml") &&
	    strcmp(o.output, "json") && strcmp(o.output, "name"))
		ret = kctl_error("unable to match a printer suitable for the output format \"%s\", "
				 "allowed formats are: json,name,wide,yaml", o.output);
	else if (k.args.n == 0)
		ret = kctl_error("You must specify the type of resource to get. Use \"%s api-resources\" "
				 "for a complete list of supported resources.\n", k.prog);
	else
		ret = get_all(&k, &o);
	kctl_done(&k);
	return ret ? 1 : 0;
}
