/* yaml.c: JSON to YAML in kubectl's -o yaml style. (Manifests are read by
 * decode's reader, in manifest.c.) */
#include "kctl.h"
#include "decode/decode.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
	/* what our reader (decode's, which kubectl -f uses) reads it as */
	json_t *as_yaml = NULL;
	struct diag_list d = {0};
	decode_read_json("value.yaml", s, strlen(s), 0, &as_yaml, &d);
	diag_list_clear(&d);
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
