/* read: the manifest reader every caller shares. Bytes become document
 * trees under one set of limits (size here, depth and alias expansion in
 * yaml.c) and one set of scalar rules (doc.c); decode_read_json then hands
 * the trees on as the JSON the API receives, so that kubectl -f sends, and
 * the API server stores, exactly what netpol reach reads. */
#include "decode_internal.h"

#include <errno.h>
#include <string.h>

bool decode_looks_like_json(const char *buf, size_t len)
{
	size_t i = 0;
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	return i < len && (buf[i] == '{' || buf[i] == '[');
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

bool decode_is_json(const char *name, const char *buf, size_t len)
{
	if (has_suffix(name, ".json"))
		return true;
	if (has_suffix(name, ".yaml") || has_suffix(name, ".yml"))
		return false;
	return decode_looks_like_json(buf, len);
}

int decode_read_docs(const char *name, const char *buf, size_t len, bool json,
		     struct doc_stream *out, struct diag_list *diags)
{
	if (len > DECODE_MAX_BYTES) {
		int r = diag_add(diags, DIAG_ERROR, name, 0, 0, NULL,
				 "larger than the %u bytes a manifest may have", DECODE_MAX_BYTES);
		return r < 0 ? -ENOMEM : -EINVAL;
	}
	return json ? decode_json_parse(name, buf, len, out, diags)
		    : decode_yaml_parse(name, buf, len, out, diags);
}

static json_t *scalar_to_json(const struct doc_node *n)
{
	switch (n->type) {
	case DOC_NULL: return json_null();
	case DOC_BOOL: return json_boolean(n->bval);
	case DOC_INT: return json_integer(n->ival);
	case DOC_STRING: return json_string(n->text);
	default: break;
	}
	if (doc_float_is_integral(n->fval))
		return json_integer((json_int_t)n->fval);
	return json_real(n->fval);   /* NULL for what the readers let through by mistake */
}

/* Integral floats become integers, as in sigs.k8s.io/yaml's output and as
 * doc_want_int reads them. The readers bound the depth. NULL on ENOMEM. */
json_t *decode_doc_to_json(const struct doc_node *n)
{
	if (n->type != DOC_MAP && n->type != DOC_SEQ)
		return scalar_to_json(n);
	json_t *j = n->type == DOC_MAP ? json_object() : json_array();
	for (size_t i = 0; j && i < n->n; i++) {
		json_t *v = decode_doc_to_json(n->vals[i]);
		int r = !v ? -1
			: n->type == DOC_MAP ? json_object_set_new(j, n->keys[i]->text, v)
					     : json_array_append_new(j, v);
		if (r < 0) {
			json_decref(j);
			j = NULL;
		}
	}
	return j;
}

static int not_an_object(const char *name, const struct doc_node *root, struct diag_list *diags)
{
	int r = diag_add(diags, DIAG_ERROR, name, root->line, root->col, NULL,
			 "a document must be a Kubernetes object (a mapping), got %s",
			 doc_type_name(root->type));
	return r < 0 ? -ENOMEM : -EINVAL;
}

static int docs_to_json(const char *name, const struct doc_stream *s, unsigned flags,
			json_t *docs, struct diag_list *diags)
{
	int ret = 0;
	for (size_t i = 0; i < s->n && ret != -ENOMEM; i++) {
		const struct doc_node *root = s->docs[i];
		if (!root || root->type == DOC_NULL)
			continue;
		if ((flags & DECODE_READ_OBJECTS) && root->type != DOC_MAP) {
			ret = not_an_object(name, root, diags);
			continue;
		}
		json_t *j = decode_doc_to_json(root);
		if (!j || json_array_append_new(docs, j) < 0)
			ret = -ENOMEM;
	}
	return ret;
}

int decode_read_json(const char *name, const char *buf, size_t len, unsigned flags,
		     json_t **docs, struct diag_list *diags)
{
	struct doc_stream s = {0};
	bool json = (flags & DECODE_READ_JSON) || decode_is_json(name, buf, len);
	int r = decode_read_docs(name, buf, len, json, &s, diags);
	json_t *out = r == 0 ? json_array() : NULL;
	if (r == 0)
		r = out ? docs_to_json(name, &s, flags, out, diags) : -ENOMEM;
	doc_stream_clear(&s);
	if (r < 0) {
		json_decref(out);
		out = NULL;
	}
	*docs = out;
	return r;
}
