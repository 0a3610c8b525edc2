/* doc: the positioned document tree that both parsers produce, plain-scalar
 * type resolution, and the decoding context with its typed accessors. */
#include "decode_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- nodes ----------------------------------------------------------- */

struct doc_node *doc_new(enum doc_type type, int line, int col)
{
	struct doc_node *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->type = type;
	n->line = line;
	n->col = col;
	return n;
}

void doc_free(struct doc_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++) {
		if (n->keys)
			doc_free(n->keys[i]);
		doc_free(n->vals[i]);
	}
	free(n->keys);
	free(n->vals);
	free(n->text);
	free(n);
}

int doc_append(struct doc_node *coll, struct doc_node *key, struct doc_node *val)
{
	if (coll->n == coll->cap) {
		size_t cap = coll->cap ? coll->cap * 2 : 4;
		struct doc_node **vals = realloc(coll->vals, cap * sizeof(*vals));
		if (!vals)
			return -ENOMEM;
		coll->vals = vals;
		if (coll->type == DOC_MAP) {
			struct doc_node **keys = realloc(coll->keys, cap * sizeof(*keys));
			if (!keys)
				return -ENOMEM;
			coll->keys = keys;
		}
		coll->cap = cap;
	}
	if (coll->type == DOC_MAP)
		coll->keys[coll->n] = key;
	coll->vals[coll->n++] = val;
	return 0;
}

struct doc_node *doc_copy(const struct doc_node *n, size_t *budget)
{
	if (*budget == 0)
		return NULL;
	(*budget)--;
	struct doc_node *c = doc_new(n->type, n->line, n->col);
	if (!c)
		return NULL;
	c->quoted = n->quoted;
	c->problem = n->problem;
	c->bval = n->bval;
	c->ival = n->ival;
	c->fval = n->fval;
	if (n->text && !(c->text = strdup(n->text)))
		goto fail;
	for (size_t i = 0; i < n->n; i++) {
		struct doc_node *k = NULL, *v = doc_copy(n->vals[i], budget);
		if (v && n->type == DOC_MAP)
			k = doc_copy(n->keys[i], budget);
		if (!v || (n->type == DOC_MAP && !k) || doc_append(c, k, v) < 0) {
			doc_free(k);
			doc_free(v);
			goto fail;
		}
	}
	return c;
fail:
	doc_free(c);
	return NULL;
}

const struct doc_node *doc_get(const struct doc_node *map, const char *key)
{
	if (!map || map->type != DOC_MAP)
		return NULL;
	for (size_t i = map->n; i-- > 0;)
		if (strcmp(map->keys[i]->text, key) == 0)
			return map->vals[i];
	return NULL;
}

const char *doc_type_name(enum doc_type t)
{
	switch (t) {
	case DOC_NULL: return "null";
	case DOC_BOOL: return "boolean";
	case DOC_INT: return "integer";
	case DOC_FLOAT: return "number";
	case DOC_STRING: return "string";
	case DOC_MAP: return "object";
	default: return "array";
	}
}

int doc_stream_push(struct doc_stream *s, struct doc_node *root)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4;
		struct doc_node **docs = realloc(s->docs, cap * sizeof(*docs));
		if (!docs)
			return -ENOMEM;
		s->docs = docs;
		s->cap = cap;
	}
	s->docs[s->n++] = root;
	return 0;
}

void doc_stream_clear(struct doc_stream *s)
{
	for (size_t i = 0; i < s->n; i++)
		doc_free(s->docs[i]);
	free(s->docs);
	memset(s, 0, sizeof(*s));
}

/* ---- plain scalars, resolved as go-yaml v2 (sigs.k8s.io/yaml) does ---- */

static bool in_words(const char *s, const char *const *words)
{
	for (; *words; words++)
		if (strcmp(s, *words) == 0)
			return true;
	return false;
}

static const char *const null_words[] = {"", "~", "null", "Null", "NULL", NULL};
/* go-yaml v2 also reads y/Y/n/N as booleans; we do not, so that the
 * namespaces and pods called "y" and "n" that people (and the upstream e2e
 * model) use stay names. */
static const char *const true_words[] = {"yes", "Yes", "YES", "true", "True", "TRUE",
					 "on", "On", "ON", NULL};
static const char *const false_words[] = {"no", "No", "NO", "false", "False", "FALSE",
					  "off", "Off", "OFF", NULL};

static bool all_digits(const char *s, int base)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		int d = (*s >= '0' && *s <= '9') ? *s - '0'
			: (*s >= 'a' && *s <= 'f') ? *s - 'a' + 10
			: (*s >= 'A' && *s <= 'F') ? *s - 'A' + 10 : 99;
		if (d >= base)
			return false;
	}
	return true;
}

/* The text without '_', as go-yaml reads numbers. NULL on ENOMEM. */
static char *strip_underscores(const char *text)
{
	char *buf = malloc(strlen(text) + 1);
	size_t n = 0;
	if (!buf)
		return NULL;
	for (const char *p = text; *p; p++)
		if (*p != '_')
			buf[n++] = *p;
	buf[n] = '\0';
	return buf;
}

enum num_result { NUM_NO, NUM_OK, NUM_RANGE };

/* Go's strconv.ParseInt(s, 0, 64): sign, then 0x / 0o / 0b / leading-0
 * octal / decimal. NUM_RANGE: the syntax of an integer that int64 cannot
 * hold (go-yaml would read it as uint64, a float or a string). */
static enum num_result parse_go_int(const char *s, long long *out)
{
	bool neg = *s == '-';
	if (*s == '-' || *s == '+')
		s++;
	int base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		base = 16, s += 2;
	else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
		base = 8, s += 2;
	else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
		base = 2, s += 2;
	else if (s[0] == '0' && s[1])
		base = 8, s += 1;
	if (!all_digits(s, base))
		return NUM_NO;
	errno = 0;
	unsigned long long u = strtoull(s, NULL, base);
	if (errno == ERANGE || u > (unsigned long long)LLONG_MAX + (neg ? 1 : 0))
		return NUM_RANGE;
	*out = neg ? (long long)(0 - u) : (long long)u;
	return NUM_OK;
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool is_yaml_float(const char *s)
{
	size_t d = 0;
	if (*s == '-' || *s == '+')
		s++;
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++)
			d++;
		if (!d)
			return false;
	} else {
		for (; *s >= '0' && *s <= '9'; s++)
			d++;
		if (!d)
			return false;
		if (*s == '.')
			for (s++; *s >= '0' && *s <= '9'; s++)
				;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		d = 0;
		for (; *s >= '0' && *s <= '9'; s++)
			d++;
		if (!d)
			return false;
	}
	return *s == '\0';
}

static const char *const inf_words[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF",
					"-.inf", "-.Inf", "-.INF", NULL};
static const char *const nan_words[] = {".nan", ".NaN", ".NAN", NULL};

/* go-yaml v2 reads a plain scalar that starts with a sign or a digit as an
 * int (after removing every '_'), else a float, else a string; one that
 * starts with '.' as a float or a string. Numbers it would read as uint64,
 * as an overflowing float or as a string because they overflow are errors
 * here, as no JSON number we send or store can hold them. */
static int resolve_number(struct doc_node *n)
{
	char *buf = n->text[0] == '.' ? strdup(n->text) : strip_underscores(n->text);
	enum num_result r = NUM_NO;
	if (!buf)
		return -ENOMEM;
	if (n->text[0] != '.')
		r = parse_go_int(buf, &n->ival);
	if (r == NUM_OK) {
		n->type = DOC_INT;
	} else if (r == NUM_RANGE) {
		n->problem = "number out of range";
	} else if (is_yaml_float(buf)) {
		errno = 0;
		n->type = DOC_FLOAT;
		n->fval = strtod(buf, NULL);
		/* underflow rounds to zero, as Go's ParseFloat does */
		if (errno == ERANGE && (n->fval > 1.0 || n->fval < -1.0))
			n->problem = "number out of range";
	}
	free(buf);
	return 0;
}

static int resolve_plain(struct doc_node *n)
{
	const char *t = n->text;
	if (in_words(t, null_words)) {
		n->type = DOC_NULL;
	} else if (in_words(t, true_words) || in_words(t, false_words)) {
		n->type = DOC_BOOL;
		n->bval = in_words(t, true_words);
	} else if (in_words(t, inf_words) || in_words(t, nan_words)) {
		/* go-yaml reads them; JSON, and so the API, cannot carry them */
		n->type = DOC_FLOAT;
		n->fval = 0;
		n->problem = "JSON has no infinity or NaN";
	} else if (strchr("+-.0123456789", t[0])) {
		return resolve_number(n);
	}
	return 0;
}

struct doc_node *doc_scalar_new(const char *text, size_t len, bool plain, int line, int col)
{
	struct doc_node *n = doc_new(DOC_STRING, line, col);
	if (!n)
		return NULL;
	n->text = strndup(text, len);
	if (!n->text) {
		free(n);
		return NULL;
	}
	n->quoted = !plain;
	if (memchr(text, '\0', len))
		n->problem = "NUL character in a string";
	else if (plain && resolve_plain(n) < 0) {
		doc_free(n);
		return NULL;
	}
	return n;
}

bool doc_float_is_integral(double v)
{
	return v >= -9007199254740992.0 && v <= 9007199254740992.0 && v == (double)(long long)v;
}

/* ---- decoding context ------------------------------------------------ */

void dctx_clear(struct dctx *c)
{
	free(c->path);
	for (size_t i = 0; i < c->nskipped; i++)
		free(c->skipped[i]);
	free(c->skipped);
	c->path = NULL;
	c->skipped = NULL;
	c->plen = c->pcap = c->nskipped = 0;
}

int dctx_oom(struct dctx *c)
{
	c->oom = true;
	return -ENOMEM;
}

static void path_append(struct dctx *c, const char *s, size_t n)
{
	if (c->plen + n + 1 > c->pcap) {
		size_t cap = c->pcap ? c->pcap : 128;
		while (cap < c->plen + n + 1)
			cap *= 2;
		char *p = realloc(c->path, cap);
		if (!p) {
			dctx_oom(c);
			return;
		}
		c->path = p;
		c->pcap = cap;
	}
	memcpy(c->path + c->plen, s, n);
	c->plen += n;
	c->path[c->plen] = '\0';
}

size_t dctx_push_key(struct dctx *c, const char *key)
{
	size_t mark = c->plen;
	if (c->plen)
		path_append(c, ".", 1);
	path_append(c, key, strlen(key));
	return mark;
}

size_t dctx_push_index(struct dctx *c, size_t i)
{
	char buf[32];
	size_t mark = c->plen;
	int n = snprintf(buf, sizeof(buf), "[%zu]", i);
	path_append(c, buf, (size_t)n);
	return mark;
}

void dctx_pop(struct dctx *c, size_t mark)
{
	if (mark <= c->plen) {
		c->plen = mark;
		if (c->path)
			c->path[mark] = '\0';
	}
}

struct np_pos dctx_pos(const struct dctx *c, const struct doc_node *at)
{
	struct np_pos p = {c->pos_file, at ? at->line : 0, at ? at->col : 0};
	return p;
}

static void dctx_vadd(struct dctx *c, enum diag_level level, const struct doc_node *at,
		      const char *code, const char *fmt, va_list ap)
{
	if (level == DIAG_ERROR)
		c->nerrors++;
	if (diag_addv(c->diags, level, c->file, at ? at->line : 0, at ? at->col : 0, code,
		      fmt, ap) < 0)
		dctx_oom(c);
}

void dctx_error(struct dctx *c, const struct doc_node *at, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	dctx_vadd(c, DIAG_ERROR, at, code, fmt, ap);
	va_end(ap);
}

void dctx_warning(struct dctx *c, const struct doc_node *at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	dctx_vadd(c, DIAG_WARNING, at, NULL, fmt, ap);
	va_end(ap);
}

/* ---- typed accessors ------------------------------------------------- */

static int type_error(struct dctx *c, const struct doc_node *n, const char *want)
{
	const char *path = c->path ? c->path : "";
	char *q = NULL;
	if (n->type == DOC_MAP || n->type == DOC_SEQ || n->type == DOC_NULL)
		dctx_error(c, n, NULL, "%s: Invalid type: expected %s, got %s", path, want,
			   doc_type_name(n->type));
	else if (n->type != DOC_STRING)
		dctx_error(c, n, NULL, "%s: Invalid type: expected %s, got %s %s", path, want,
			   doc_type_name(n->type), n->text);
	else if ((q = validate_quote(n->text)))
		dctx_error(c, n, NULL, "%s: Invalid type: expected %s, got string %s", path, want, q);
	else
		dctx_oom(c);
	free(q);
	return -EINVAL;
}

int doc_want_string(struct dctx *c, const struct doc_node *n, const char **out)
{
	if (n->type != DOC_STRING)
		return type_error(c, n, "string");
	*out = n->text;
	return 0;
}

int doc_want_int(struct dctx *c, const struct doc_node *n, long long *out)
{
	if (n->type == DOC_INT) {
		*out = n->ival;
		return 0;
	}
	if (n->type == DOC_FLOAT && doc_float_is_integral(n->fval)) {
		*out = (long long)n->fval;
		return 0;
	}
	return type_error(c, n, "integer");
}

int doc_want_bool(struct dctx *c, const struct doc_node *n, bool *out)
{
	if (n->type != DOC_BOOL)
		return type_error(c, n, "boolean");
	*out = n->bval;
	return 0;
}

int doc_want_map(struct dctx *c, const struct doc_node *n)
{
	return n->type == DOC_MAP || n->type == DOC_NULL ? 0 : type_error(c, n, "object");
}

int doc_want_seq(struct dctx *c, const struct doc_node *n)
{
	return n->type == DOC_SEQ || n->type == DOC_NULL ? 0 : type_error(c, n, "array");
}

int doc_want_int_or_string(struct dctx *c, const struct doc_node *n, bool *is_int,
			   long long *iv, const char **sv)
{
	if (n->type == DOC_STRING) {
		*is_int = false;
		*sv = n->text;
		return 0;
	}
	if (n->type == DOC_INT || (n->type == DOC_FLOAT && doc_float_is_integral(n->fval))) {
		*is_int = true;
		*iv = n->type == DOC_INT ? n->ival : (long long)n->fval;
		return 0;
	}
	return type_error(c, n, "integer or string");
}

/* ---- walking mappings and sequences ---------------------------------- */

const struct field *doc_find_field(const struct field *fields, const char *name)
{
	for (; fields->name; fields++)
		if (strcmp(fields->name, name) == 0)
			return fields;
	return NULL;
}

void doc_walk(struct dctx *c, const struct doc_node *map, const struct field *fields, void *in)
{
	if (doc_want_map(c, map) < 0 || map->type != DOC_MAP)
		return;
	for (size_t i = 0; i < map->n; i++) {
		const struct doc_node *k = map->keys[i], *v = map->vals[i];
		const struct field *f = doc_find_field(fields, k->text);
		size_t mark = dctx_push_key(c, k->text);
		if (!f)
			dctx_error(c, k, NULL, "unknown field \"%s\"", c->path);
		else if (f->fn && v->type != DOC_NULL)
			f->fn(c, v, in);
		else if (f->schema && v->type != DOC_NULL)
			schema_check_field(c, v, f->schema, k->text);
		dctx_pop(c, mark);
	}
}

void doc_each_item(struct dctx *c, const struct doc_node *seq, field_fn fn, void *in)
{
	if (doc_want_seq(c, seq) < 0)
		return;
	for (size_t i = 0; i < seq->n; i++) {
		size_t mark = dctx_push_index(c, i);
		fn(c, seq->vals[i], in);
		dctx_pop(c, mark);
	}
}

const char *doc_string_of(struct dctx *c, const struct doc_node *v)
{
	const char *s = NULL;
	if (v->type == DOC_NULL || doc_want_string(c, v, &s) < 0)
		return NULL;
	return s;
}

char *dctx_strdup(struct dctx *c, const char *s)
{
	char *d = strdup(s);
	if (!d)
		dctx_oom(c);
	return d;
}
