/* yaml: libyaml events to document trees, one per document of a stream.
 *
 * Aliases are expanded into copies, so every tree is a plain tree with one
 * owner per node; the copies are limited by a node budget per stream so that
 * a "billion laughs" input fails quickly instead of exhausting memory.
 * Merge keys ("<<") are applied once a document is complete. Keys are
 * JSON's: non-string keys become the strings sigs.k8s.io/yaml makes of
 * them, and a repeated key is an error.
 */
#include "decode_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct anchor {
	char *name;
	const struct doc_node *node;
};

struct builder {
	const char *name;
	struct diag_list *diags;
	struct doc_node *root;
	struct doc_node *stack[DECODE_MAX_DEPTH];
	struct doc_node *key[DECODE_MAX_DEPTH];   /* a mapping's key awaiting its value */
	char *anchor_of[DECODE_MAX_DEPTH];        /* anchor of an open collection */
	size_t depth;
	struct anchor *anchors;
	size_t nanchors;
	size_t budget;
};

static int build_error(struct builder *b, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int build_error(struct builder *b, int line, int col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = diag_addv(b->diags, DIAG_ERROR, b->name, line, col, NULL, fmt, ap);
	va_end(ap);
	return r < 0 ? -ENOMEM : -EINVAL;
}

static void builder_reset(struct builder *b)
{
	doc_free(b->root);
	b->root = NULL;
	for (size_t i = 0; i < DECODE_MAX_DEPTH; i++) {
		doc_free(b->key[i]);
		b->key[i] = NULL;
		free(b->anchor_of[i]);
		b->anchor_of[i] = NULL;
	}
	b->depth = 0;
	for (size_t i = 0; i < b->nanchors; i++)
		free(b->anchors[i].name);
	free(b->anchors);
	b->anchors = NULL;
	b->nanchors = 0;
}

static int add_anchor(struct builder *b, const char *name, const struct doc_node *node)
{
	if (!name)
		return 0;
	struct anchor *a = realloc(b->anchors, (b->nanchors + 1) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	b->anchors = a;
	a[b->nanchors].name = strdup(name);
	if (!a[b->nanchors].name)
		return -ENOMEM;
	a[b->nanchors++].node = node;
	return 0;
}

static const struct doc_node *find_anchor(const struct builder *b, const char *name)
{
	/* the latest definition wins: YAML allows redefining an anchor */
	for (size_t i = b->nanchors; i-- > 0;)
		if (strcmp(b->anchors[i].name, name) == 0)
			return b->anchors[i].node;
	return NULL;
}

/* JSON keys are strings: sigs.k8s.io/yaml writes int and bool keys as
 * their decimal and true/false; it would write a float key rounded to 32
 * bits and it refuses null keys, so both are errors. */
static int key_to_string(struct builder *b, struct doc_node *k)
{
	char buf[32];
	const char *text = buf;
	switch (k->type) {
	case DOC_STRING:
		return 0;
	case DOC_INT:
		snprintf(buf, sizeof(buf), "%lld", k->ival);
		break;
	case DOC_BOOL:
		text = k->bval ? "true" : "false";
		break;
	case DOC_MAP:
	case DOC_SEQ:
		return build_error(b, k->line, k->col, "a mapping key must be a scalar");
	default:
		return build_error(b, k->line, k->col, "a mapping key cannot be %s: %s",
				   k->type == DOC_NULL ? "null" : "a floating-point number", k->text);
	}
	char *t = strdup(text);
	if (!t)
		return -ENOMEM;
	free(k->text);
	k->text = t;
	k->type = DOC_STRING;
	return 0;
}

/* Attaches a new node to the open collection (or makes it the root); takes
 * ownership of node in every case. */
static int attach(struct builder *b, struct doc_node *node)
{
	if (b->depth == 0) {
		doc_free(b->root);
		b->root = node;
		return 0;
	}
	struct doc_node *parent = b->stack[b->depth - 1];
	struct doc_node **key = &b->key[b->depth - 1];
	int r;
	if (parent->type == DOC_SEQ) {
		r = doc_append(parent, NULL, node);
	} else if (!*key) {
		r = key_to_string(b, node);
		if (r < 0) {
			doc_free(node);
			return r;
		}
		*key = node;
		return 0;
	} else {
		r = doc_append(parent, *key, node);
		if (r == 0)
			*key = NULL;
	}
	if (r < 0)
		doc_free(node);
	return r;
}

/* The type an explicit core tag asks for, as go-yaml checks it: a !!float
 * takes an int too. Other tags are refused rather than guessed at. */
static int check_tag(struct builder *b, struct doc_node *n, const char *tag)
{
	static const struct { const char *tag; enum doc_type type; } tags[] = {
		{YAML_INT_TAG, DOC_INT}, {YAML_FLOAT_TAG, DOC_FLOAT},
		{YAML_BOOL_TAG, DOC_BOOL}, {YAML_NULL_TAG, DOC_NULL},
	};
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		if (strcmp(tag, tags[i].tag) != 0)
			continue;
		if (tags[i].type == DOC_FLOAT && n->type == DOC_INT) {
			n->type = DOC_FLOAT;
			n->fval = (double)n->ival;
		}
		if (n->type == tags[i].type)
			return 0;
		return build_error(b, n->line, n->col, "cannot decode %s as a !!%s", n->text,
				   tag + strlen("tag:yaml.org,2002:"));
	}
	return build_error(b, n->line, n->col, "unsupported tag %s", tag);
}

static struct doc_node *scalar_node(struct builder *b, const yaml_event_t *ev, int *r)
{
	const yaml_mark_t *m = &ev->start_mark;
	const char *tag = (const char *)ev->data.scalar.tag;
	bool str = tag && (strcmp(tag, YAML_STR_TAG) == 0 || strcmp(tag, "!") == 0);
	bool plain = !str && (tag || ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE);
	struct doc_node *n = doc_scalar_new((const char *)ev->data.scalar.value,
					    ev->data.scalar.length, plain,
					    (int)m->line + 1, (int)m->column + 1);
	*r = n ? 0 : -ENOMEM;
	if (n && n->problem)
		*r = build_error(b, n->line, n->col, "%s cannot be represented: %s", n->text,
				 n->problem);
	else if (n && tag && !str)
		*r = check_tag(b, n, tag);
	if (*r < 0) {
		doc_free(n);
		n = NULL;
	}
	return n;
}

static int on_scalar(struct builder *b, const yaml_event_t *ev)
{
	int r;
	struct doc_node *n = scalar_node(b, ev, &r);
	if (!n)
		return r;
	r = add_anchor(b, (const char *)ev->data.scalar.anchor, n);
	if (r < 0) {
		doc_free(n);
		return r;
	}
	return attach(b, n);
}

static int on_collection_start(struct builder *b, const yaml_event_t *ev, enum doc_type type)
{
	const yaml_mark_t *m = &ev->start_mark;
	if (b->depth == DECODE_MAX_DEPTH)
		return build_error(b, (int)m->line + 1, (int)m->column + 1,
				   "nesting deeper than %d levels", DECODE_MAX_DEPTH);
	const yaml_char_t *anchor = type == DOC_MAP ? ev->data.mapping_start.anchor
						    : ev->data.sequence_start.anchor;
	struct doc_node *n = doc_new(type, (int)m->line + 1, (int)m->column + 1);
	if (!n)
		return -ENOMEM;
	int r = attach(b, n);
	if (r < 0)
		return r;
	b->stack[b->depth] = n;
	if (anchor && !(b->anchor_of[b->depth] = strdup((const char *)anchor)))
		return -ENOMEM;
	b->depth++;
	return 0;
}

static bool is_merge_key(const struct doc_node *k);

static int cmp_key_at(const void *a, const void *b)
{
	const struct doc_node *const *x = a, *const *y = b;
	int c = strcmp((*x)->text, (*y)->text);
	return c ? c : (*x < *y ? -1 : *x > *y);
}

/* Where the open collection at level depth sits, as a field path
 * ("spec.ingress[0].ports"), for messages. NULL on ENOMEM. */
static char *open_path(const struct builder *b, size_t depth)
{
	char *path = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&path, &len);
	if (!f)
		return NULL;
	for (size_t i = 0; i < depth; i++) {
		const struct doc_node *p = b->stack[i];
		if (p->type == DOC_SEQ)
			fprintf(f, "[%zu]", p->n - 1);
		else
			fprintf(f, "%s%s", i ? "." : "", p->keys[p->n - 1]->text);
	}
	return fclose(f) == 0 ? path : NULL;
}

/* Sorted by text, then by node address, which is not source order: the
 * later of two equal keys is found by position. */
static int report_duplicate(struct builder *b, const struct doc_node *x, const struct doc_node *y)
{
	const struct doc_node *later = x->line > y->line || (x->line == y->line && x->col > y->col) ? x : y;
	char *path = open_path(b, b->depth);
	if (!path)
		return -ENOMEM;
	int r = build_error(b, later->line, later->col, "duplicate field \"%s%s%s\"", path,
			    *path ? "." : "", later->text);
	free(path);
	return r;
}

/* JSON objects have one value per key: a repeated key (merge keys aside)
 * is an error rather than last-wins. */
static int check_duplicates(struct builder *b, const struct doc_node *map)
{
	if (map->n < 2)
		return 0;
	const struct doc_node **keys = calloc(map->n, sizeof(*keys));
	size_t n = 0;
	int r = 0;
	if (!keys)
		return -ENOMEM;
	for (size_t i = 0; i < map->n; i++)
		if (!is_merge_key(map->keys[i]))
			keys[n++] = map->keys[i];
	qsort(keys, n, sizeof(*keys), cmp_key_at);
	for (size_t i = 1; i < n && r == 0; i++)
		if (strcmp(keys[i - 1]->text, keys[i]->text) == 0)
			r = report_duplicate(b, keys[i - 1], keys[i]);
	free(keys);
	return r;
}

static int on_collection_end(struct builder *b)
{
	if (b->depth == 0)
		return 0;
	b->depth--;
	int r = 0;
	if (b->stack[b->depth]->type == DOC_MAP)
		r = check_duplicates(b, b->stack[b->depth]);
	if (r == 0)
		r = add_anchor(b, b->anchor_of[b->depth], b->stack[b->depth]);
	free(b->anchor_of[b->depth]);
	b->anchor_of[b->depth] = NULL;
	return r;
}

static int on_alias(struct builder *b, const yaml_event_t *ev)
{
	const yaml_mark_t *m = &ev->start_mark;
	const struct doc_node *target = find_anchor(b, (const char *)ev->data.alias.anchor);
	if (!target)
		return build_error(b, (int)m->line + 1, (int)m->column + 1, "unknown anchor \"%s\"",
				   (const char *)ev->data.alias.anchor);
	struct doc_node *n = doc_copy(target, &b->budget);
	if (!n) {
		if (b->budget == 0)
			return build_error(b, (int)m->line + 1, (int)m->column + 1,
					   "aliases expand to more than %d nodes",
					   DECODE_MAX_ALIAS_NODES);
		return -ENOMEM;
	}
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	return attach(b, n);
}

/* ---- merge keys ---------------------------------------------------------------- */

static bool has_key(const struct doc_node *map, const char *key)
{
	return doc_get(map, key) != NULL;
}

/* Moves src's entries whose keys map lacks into map; src keeps the rest
 * (and NULL holes, which doc_free skips) and is freed by its owner. */
static int merge_from(struct doc_node *map, struct doc_node *src)
{
	for (size_t i = 0; i < src->n; i++) {
		if (!src->keys[i] || has_key(map, src->keys[i]->text))
			continue;
		int r = doc_append(map, src->keys[i], src->vals[i]);
		if (r < 0)
			return r;
		src->keys[i] = NULL;
		src->vals[i] = NULL;
	}
	return 0;
}

static int merge_value(struct builder *b, struct doc_node *map, struct doc_node *v)
{
	static const char msg[] = "a merge key (<<) takes a mapping or a list of mappings";
	if (v->type == DOC_MAP)
		return merge_from(map, v);
	if (v->type != DOC_SEQ)
		return build_error(b, v->line, v->col, "%s", msg);
	for (size_t i = 0; i < v->n; i++)
		if (v->vals[i]->type != DOC_MAP)
			return build_error(b, v->vals[i]->line, v->vals[i]->col, "%s", msg);
	/* earlier mappings of the list win */
	for (size_t i = 0; i < v->n; i++) {
		int r = merge_from(map, v->vals[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static bool is_merge_key(const struct doc_node *k)
{
	return k && !k->quoted && strcmp(k->text, "<<") == 0;
}

static int apply_merges(struct builder *b, struct doc_node *n)
{
	for (size_t i = 0; i < n->n; i++) {
		int r = apply_merges(b, n->vals[i]);
		if (r < 0)
			return r;
	}
	if (n->type != DOC_MAP)
		return 0;
	/* explicit keys win over merged ones, whatever their order, so the
	 * merge entries are taken out first and applied afterwards */
	struct doc_node **merges = calloc(n->n ? n->n : 1, sizeof(*merges));
	size_t nm = 0, kept = 0;
	int r = 0;
	if (!merges)
		return -ENOMEM;
	for (size_t i = 0; i < n->n; i++) {
		if (is_merge_key(n->keys[i])) {
			doc_free(n->keys[i]);
			merges[nm++] = n->vals[i];
		} else {
			n->keys[kept] = n->keys[i];
			n->vals[kept++] = n->vals[i];
		}
	}
	n->n = kept;
	for (size_t i = 0; i < nm && r == 0; i++)
		r = merge_value(b, n, merges[i]);
	for (size_t i = 0; i < nm; i++)
		doc_free(merges[i]);
	free(merges);
	return r;
}

/* ---- the event loop ------------------------------------------------------------- */

static int syntax_error(struct builder *b, const yaml_parser_t *p, const char *buf, size_t len)
{
	if (p->error == YAML_MEMORY_ERROR)
		return -ENOMEM;
	yaml_mark_t m = p->problem_mark;
	if (p->error == YAML_READER_ERROR) {
		/* the reader reports a byte offset, not a mark */
		m.line = m.column = 0;
		for (size_t i = 0; i < p->problem_offset && i < len; i++) {
			if (buf[i] == '\n')
				m.line++, m.column = 0;
			else if (((unsigned char)buf[i] & 0xc0) != 0x80)
				m.column++;
		}
	}
	const char *problem = p->problem ? p->problem : "unknown error";
	int r;
	if (p->context)
		r = diag_add(b->diags, DIAG_ERROR, b->name, (int)m.line + 1, (int)m.column + 1, NULL,
			     "YAML syntax error: %s (%s at line %d, column %d)", problem, p->context,
			     (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
	else
		r = diag_add(b->diags, DIAG_ERROR, b->name, (int)m.line + 1, (int)m.column + 1, NULL,
			     "YAML syntax error: %s", problem);
	return r < 0 ? -ENOMEM : -EINVAL;
}

static int on_event(struct builder *b, const yaml_event_t *ev, struct doc_stream *out)
{
	int r;
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		builder_reset(b);
		return 0;
	case YAML_DOCUMENT_END_EVENT:
		r = b->root ? apply_merges(b, b->root) : 0;
		if (r == 0) {
			r = doc_stream_push(out, b->root);
			if (r == 0)
				b->root = NULL;
		}
		builder_reset(b);
		return r;
	case YAML_SCALAR_EVENT:
		return on_scalar(b, ev);
	case YAML_SEQUENCE_START_EVENT:
		return on_collection_start(b, ev, DOC_SEQ);
	case YAML_MAPPING_START_EVENT:
		return on_collection_start(b, ev, DOC_MAP);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return on_collection_end(b);
	case YAML_ALIAS_EVENT:
		return on_alias(b, ev);
	default:
		return 0;
	}
}

int decode_yaml_parse(const char *name, const char *buf, size_t len,
		      struct doc_stream *out, struct diag_list *diags)
{
	struct builder b = {.name = name, .diags = diags, .budget = DECODE_MAX_ALIAS_NODES};
	yaml_parser_t p;
	int r = 0;
	if (!yaml_parser_initialize(&p))
		return -ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	for (bool done = false; !done && r == 0;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			r = syntax_error(&b, &p, buf, len);
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		r = on_event(&b, &ev, out);
		yaml_event_delete(&ev);
	}
	builder_reset(&b);
	yaml_parser_delete(&p);
	return r;
}
