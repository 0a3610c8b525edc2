/* json: jansson decides whether a text is JSON and reports its syntax
 * errors. Because JSON is YAML flow syntax, libyaml then reads the same bytes
 * to give every node its line and column; when libyaml disagrees with
 * jansson (it knows YAML 1.1, not every JSON corner), the tree is built from
 * jansson's value instead, every node at the document's first position. */
#include "decode_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct doc_node *scalar_from_json(const json_t *j, int line, int col)
{
	char buf[64];
	const char *text = buf;
	size_t len;
	switch (json_typeof(j)) {
	case JSON_STRING:
		text = json_string_value(j);
		len = strlen(text);
		break;
	case JSON_INTEGER:
		len = (size_t)snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		break;
	case JSON_REAL:
		len = (size_t)snprintf(buf, sizeof(buf), "%.17g", json_real_value(j));
		break;
	case JSON_TRUE:
		text = "true", len = 4;
		break;
	case JSON_FALSE:
		text = "false", len = 5;
		break;
	default:
		text = "null", len = 4;
		break;
	}
	struct doc_node *n = doc_scalar_new(text, len, false, line, col);
	if (!n)
		return NULL;
	switch (json_typeof(j)) {
	case JSON_INTEGER: n->type = DOC_INT; n->ival = json_integer_value(j); break;
	case JSON_REAL: n->type = DOC_FLOAT; n->fval = json_real_value(j); break;
	case JSON_TRUE: case JSON_FALSE: n->type = DOC_BOOL; n->bval = json_is_true(j); break;
	case JSON_NULL: n->type = DOC_NULL; break;
	default: break;
	}
	return n;
}

/* Recursion depth is bounded by the reader's DECODE_MAX_DEPTH (or, for
 * values built in memory, by the caller). */
struct doc_node *decode_doc_from_json(const json_t *j, int line, int col)
{
	struct doc_node *n;
	if (json_is_object(j)) {
		n = doc_new(DOC_MAP, line, col);
		const char *key;
		json_t *v;
		json_object_foreach((json_t *)j, key, v) {
			struct doc_node *k = n ? doc_scalar_new(key, strlen(key), false, line, col) : NULL;
			struct doc_node *dv = k ? decode_doc_from_json(v, line, col) : NULL;
			if (!dv || doc_append(n, k, dv) < 0) {
				doc_free(k);
				doc_free(dv);
				doc_free(n);
				return NULL;
			}
		}
		return n;
	}
	if (json_is_array(j)) {
		n = doc_new(DOC_SEQ, line, col);
		for (size_t i = 0; n && i < json_array_size(j); i++) {
			struct doc_node *dv = decode_doc_from_json(json_array_get(j, i), line, col);
			if (!dv || doc_append(n, NULL, dv) < 0) {
				doc_free(dv);
				doc_free(n);
				return NULL;
			}
		}
		return n;
	}
	return scalar_from_json(j, line, col);
}

/* True when the libyaml tree means exactly what jansson read. */
static bool same_value(const struct doc_node *d, const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		if (d->type != DOC_MAP || d->n != json_object_size(j))
			return false;
		for (size_t i = 0; i < d->n; i++) {
			const json_t *v = json_object_get(j, d->keys[i]->text);
			if (d->keys[i]->type != DOC_STRING || !v || !same_value(d->vals[i], v))
				return false;
		}
		return true;
	case JSON_ARRAY:
		if (d->type != DOC_SEQ || d->n != json_array_size(j))
			return false;
		for (size_t i = 0; i < d->n; i++)
			if (!same_value(d->vals[i], json_array_get(j, i)))
				return false;
		return true;
	case JSON_STRING:
		return d->type == DOC_STRING && strlen(d->text) == json_string_length(j) &&
		       strcmp(d->text, json_string_value(j)) == 0;
	case JSON_INTEGER:
		return d->type == DOC_INT && d->ival == json_integer_value(j);
	case JSON_REAL:
		return d->type == DOC_FLOAT && d->fval == json_real_value(j);
	case JSON_TRUE:
	case JSON_FALSE:
		return d->type == DOC_BOOL && d->bval == json_is_true(j);
	default:
		return d->type == DOC_NULL;
	}
}

/* The position of the first byte that is not white space. */
static void first_position(const char *buf, size_t len, int *line, int *col)
{
	*line = *col = 1;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n')
			(*line)++, *col = 1;
		else if (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r')
			(*col)++;
		else
			break;
	}
}

/* jansson nests up to 2048 levels; the reader's limit is lower. */
static bool deeper_than(const json_t *j, int levels)
{
	if (!json_is_object(j) && !json_is_array(j))
		return false;
	if (levels == 0)
		return true;
	const char *key;
	json_t *v;
	size_t i;
	json_object_foreach((json_t *)j, key, v)
		if (deeper_than(v, levels - 1))
			return true;
	json_array_foreach(j, i, v)
		if (deeper_than(v, levels - 1))
			return true;
	return false;
}

static int too_deep(const char *name, const char *buf, size_t len, struct diag_list *diags)
{
	int line, col;
	first_position(buf, len, &line, &col);
	int r = diag_add(diags, DIAG_ERROR, name, line, col, NULL, "nesting deeper than %d levels",
			 DECODE_MAX_DEPTH);
	return r < 0 ? -ENOMEM : -EINVAL;
}

int decode_json_parse(const char *name, const char *buf, size_t len,
		      struct doc_stream *out, struct diag_list *diags)
{
	/* jansson does not skip a UTF-8 byte order mark */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		buf += 3, len -= 3;
	json_error_t err;
	json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
	if (!j) {
		int r = diag_add(diags, DIAG_ERROR, name, err.line > 0 ? err.line : 0,
				 err.column > 0 ? err.column : 0, NULL, "JSON syntax error: %s", err.text);
		return r < 0 ? -ENOMEM : -EINVAL;
	}
	if (deeper_than(j, DECODE_MAX_DEPTH)) {
		json_decref(j);
		return too_deep(name, buf, len, diags);
	}
	struct doc_stream ys = {0};
	struct diag_list ydiags = {0};
	struct doc_node *root = NULL;
	int r = decode_yaml_parse(name, buf, len, &ys, &ydiags);
	if (r == 0 && ys.n == 1 && ys.docs[0] && same_value(ys.docs[0], j)) {
		root = ys.docs[0];
		ys.docs[0] = NULL;
	} else {
		int line, col;
		first_position(buf, len, &line, &col);
		root = decode_doc_from_json(j, line, col);
	}
	r = root ? doc_stream_push(out, root) : -ENOMEM;
	if (r < 0)
		doc_free(root);
	doc_stream_clear(&ys);
	diag_list_clear(&ydiags);
	json_decref(j);
	return r;
}
