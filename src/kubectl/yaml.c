/* yaml.c: manifests to JSON (libyaml documents, scalars typed as YAML 1.1
 * does, like kubectl's sigs.k8s.io/yaml) and JSON to YAML in kubectl's
 * -o yaml style. */
#include "kctl.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ---- reading ---------------------------------------------------------------- */

static bool is_int(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static bool is_float(const char *s)
{
	char *end = NULL;
	if (!*s || !(isdigit((unsigned char)*s) || *s == '-' || *s == '+' || *s == '.'))
		return false;
	strtod(s, &end);
	return *end == 0;
}

static json_t *scalar(yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value;
	/* libyaml's loader tags every untagged scalar !!str, so only the style
	 * says whether YAML would resolve it */
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return json_stringn(s, n->data.scalar.length);
	if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"))
		return json_null();
	static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
	static const char *const no[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
	for (size_t i = 0; i < 9; i++) {
		if (!strcmp(s, yes[i]))
			return json_true();
		if (!strcmp(s, no[i]))
			return json_false();
	}
	if (is_int(s))
		return json_integer(strtoll(s, NULL, 10));
	if (is_float(s))
		return json_real(strtod(s, NULL));
	return json_stringn(s, n->data.scalar.length);
}

static json_t *convert(yaml_document_t *d, yaml_node_t *n, int depth)
{
	if (!n || depth > 100)
		return json_null();
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return scalar(n);
	case YAML_SEQUENCE_NODE: {
		json_t *a = json_array();
		for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++)
			json_array_append_new(a, convert(d, yaml_document_get_node(d, *i), depth + 1));
		return a;
	}
	case YAML_MAPPING_NODE: {
		json_t *o = json_object();
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(d, p->key);
			if (!k || k->type != YAML_SCALAR_NODE)
				continue;
			json_object_set_new(o, (const char *)k->data.scalar.value,
					    convert(d, yaml_document_get_node(d, p->value), depth + 1));
		}
		return o;
	}
	default:
		return json_null();
	}
}

static char *yaml_problem(yaml_parser_t *p)
{
	char *err = NULL;
	const yaml_mark_t *m = p->context ? &p->context_mark : &p->problem_mark;
	if (p->problem_mark.line || !p->context)
		m = &p->problem_mark;
	if (asprintf(&err, "yaml: line %zu: %s", m->line + 1, p->problem ? p->problem : "syntax error") < 0)
		err = NULL;
	return err;
}

json_t *kctl_yaml_load(const char *buf, size_t len, char **err)
{
	*err = NULL;
	const char *s = buf;
	while (s < buf + len && isspace((unsigned char)*s))
		s++;
	if (s < buf + len && (*s == '{' || *s == '[')) {
		json_error_t je;
		json_t *v = json_loadb(buf, len, JSON_DISABLE_EOF_CHECK, &je);
		if (!v) {
			if (asprintf(err, "%s", je.text) < 0)
				*err = NULL;
			return NULL;
		}
		return json_pack("[o]", v);
	}
	yaml_parser_t p;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	json_t *docs = json_array();
	for (;;) {
		yaml_document_t d;
		if (!yaml_parser_load(&p, &d)) {
			*err = yaml_problem(&p);
			json_decref(docs);
			docs = NULL;
			break;
		}
		yaml_node_t *root = yaml_document_get_root_node(&d);
		if (!root) {
			yaml_document_delete(&d);
			break;
		}
		json_t *v = convert(&d, root, 0);
		yaml_document_delete(&d);
		if (!json_is_null(v))
			json_array_append_new(docs, v);
		else
			json_decref(v);
	}
	yaml_parser_delete(&p);
	return docs;
}

/* ---- writing ------------------------------------------------------------------ */

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char **sorted_keys(json_t *o, size_t *n)
{
	*n = json_object_size(o);
	const char **keys = calloc(*n + 1, sizeof(*keys));
	size_t i = 0;
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v)
		keys[i++] = k;
	qsort(keys, *n, sizeof(*keys), cmp_keys);
	return keys;
}

/* Strings a YAML reader would take for something else are quoted. */
static bool needs_quotes(const char *s)
{
	if (!*s || isspace((unsigned char)s[0]) || isspace((unsigned char)s[strlen(s) - 1]))
		return true;
	if (strchr("-?:,[]{}#&*!|>'\"%@`", s[0]) && !(s[0] == '-' && s[1] && s[1] != ' ' && !isdigit((unsigned char)s[1])))
		return true;
	if (strstr(s, ": ") || strstr(s, " #") || s[strlen(s) - 1] == ':')
		return true;
	json_t *as_yaml = NULL;
	char *err = NULL;
	as_yaml = kctl_yaml_load(s, strlen(s), &err);
	free(err);
	json_t *v = json_array_get(as_yaml, 0);
	bool other = !v || !json_is_string(v) || strcmp(json_string_value(v), s) != 0;
	json_decref(as_yaml);
	if (other)
		return true;
	/* timestamps: go-yaml quotes them */
	return isdigit((unsigned char)s[0]) && strlen(s) >= 10 && s[4] == '-' && s[7] == '-';
}

static void print_string(FILE *f, const char *s, int indent)
{
	if (strchr(s, '\n')) {
		/* go-yaml prints multi-line strings as literal blocks */
		bool trailing = s[strlen(s) - 1] == '\n';
		fprintf(f, "|%s\n", trailing ? "" : "-");
		for (const char *line = s; *line;) {
			const char *nl = strchr(line, '\n');
			size_t n = nl ? (size_t)(nl - line) : strlen(line);
			if (n)
				fprintf(f, "%*s%.*s\n", indent, "", (int)n, line);
			else
				fputc('\n', f);
			line += n + (nl ? 1 : 0);
		}
		return;
	}
	if (!needs_quotes(s)) {
		fprintf(f, "%s\n", s);
		return;
	}
	if (!strchr(s, '\'') && !strchr(s, '\\') && !strchr(s, '"')) {
		fprintf(f, "\"%s\"\n", s);
		return;
	}
	fputc('\'', f);
	for (const char *c = s; *c; c++) {
		if (*c == '\'')
			fputc('\'', f);
		fputc(*c, f);
	}
	fputs("'\n", f);
}

static void print_value(FILE *f, json_t *v, int indent);

static void print_key(FILE *f, const char *key)
{
	if (needs_quotes(key))
		fprintf(f, "\"%s\":", key);
	else
		fprintf(f, "%s:", key);
}

static void print_scalar(FILE *f, json_t *v, int indent)
{
	switch (json_typeof(v)) {
	case JSON_STRING: print_string(f, json_string_value(v), indent); break;
	case JSON_INTEGER: fprintf(f, "%lld\n", (long long)json_integer_value(v)); break;
	case JSON_REAL: fprintf(f, "%g\n", json_real_value(v)); break;
	case JSON_TRUE: fputs("true\n", f); break;
	case JSON_FALSE: fputs("false\n", f); break;
	default: fputs("null\n", f); break;
	}
}

/* After "key:" or "- ": a scalar on the same line, a collection below. */
static void print_child(FILE *f, json_t *v, int indent, bool in_seq)
{
	if (json_is_object(v) && json_object_size(v)) {
		fputc('\n', f);
		print_value(f, v, indent + 2);
	} else if (json_is_array(v) && json_array_size(v)) {
		fputc('\n', f);
		/* sequences under a key are not indented */
		print_value(f, v, in_seq ? indent + 2 : indent);
	} else if (json_is_object(v)) {
		fputs(" {}\n", f);
	} else if (json_is_array(v)) {
		fputs(" []\n", f);
	} else {
		fputc(' ', f);
		print_scalar(f, v, indent + 2);
	}
}

static void print_value(FILE *f, json_t *v, int indent)
{
	if (json_is_object(v)) {
		size_t n;
		const char **keys = sorted_keys(v, &n);
		for (size_t i = 0; i < n; i++) {
			fprintf(f, "%*s", indent, "");
			print_key(f, keys[i]);
			print_child(f, json_object_get(v, keys[i]), indent, false);
		}
		free(keys);
		return;
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *item;
		json_array_foreach(v, i, item) {
			fprintf(f, "%*s-", indent, "");
			if (json_is_object(item) && json_object_size(item)) {
				/* the first key shares the "- " line */
				size_t n;
				const char **keys = sorted_keys(item, &n);
				for (size_t j = 0; j < n; j++) {
					if (j)
						fprintf(f, "%*s", indent + 2, "");
					else
						fputc(' ', f);
					print_key(f, keys[j]);
					print_child(f, json_object_get(item, keys[j]), indent + 2, false);
				}
				free(keys);
			} else {
				print_child(f, item, indent, true);
			}
		}
		return;
	}
	print_scalar(f, v, indent);
}

void kctl_yaml_print(FILE *f, json_t *v)
{
	if (!json_is_object(v) && !json_is_array(v)) {
		print_scalar(f, v, 0);
		return;
	}
	print_value(f, v, 0);
}

void kctl_json_print(FILE *f, json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(4) | JSON_SORT_KEYS);
	if (s)
		fprintf(f, "%s\n", s);
	free(s);
}
