/* selector: Kubernetes label selectors, their canonical text, and kubectl's
 * -l syntax.
 *
 * Requirements are kept in a canonical order (key, then operator, then
 * values) with exact duplicates dropped, so two selectors that are written
 * differently but mean the same thing (matchLabels {a: b} versus
 * matchExpressions [{a In [b]}]) print the same text. The policy engine
 * relies on that to share one peer set per distinct selector. */
#include "model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- matching ------------------------------------------------------------- */

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool req_has_value(const struct np_requirement *r, const char *v)
{
	if (r->nvalues == 0)
		return false;
	return bsearch(&v, r->values, r->nvalues, sizeof(*r->values), str_cmp) != NULL;
}

static bool req_matches(const struct np_requirement *r, const struct np_labels *l)
{
	const char *v = labels_get(l, r->key);
	switch (r->op) {
	case SEL_IN:
		return v && req_has_value(r, v);
	case SEL_NOT_IN:
		return !v || !req_has_value(r, v);
	case SEL_EXISTS:
		return v != NULL;
	case SEL_DOES_NOT_EXIST:
		return v == NULL;
	}
	return false;
}

bool selector_matches(const struct np_selector *s, const struct np_labels *l)
{
	for (size_t i = 0; i < s->n; i++) {
		if (!req_matches(&s->reqs[i], l))
			return false;
	}
	return true;
}

bool selector_is_empty(const struct np_selector *s)
{
	return s->n == 0;
}

/* ---- building ------------------------------------------------------------- */

static void req_clear(struct np_requirement *r)
{
	free(r->key);
	for (size_t i = 0; i < r->nvalues; i++)
		free(r->values[i]);
	free(r->values);
	memset(r, 0, sizeof(*r));
}

static int req_cmp(const struct np_requirement *a, const struct np_requirement *b)
{
	int c = strcmp(a->key, b->key);
	if (c)
		return c;
	if (a->op != b->op)
		return a->op < b->op ? -1 : 1;
	for (size_t i = 0; i < a->nvalues && i < b->nvalues; i++) {
		c = strcmp(a->values[i], b->values[i]);
		if (c)
			return c;
	}
	if (a->nvalues != b->nvalues)
		return a->nvalues < b->nvalues ? -1 : 1;
	return 0;
}

/* Copies values into r sorted and without duplicates. */
static int req_set_values(struct np_requirement *r, const char *const *values, size_t n)
{
	if (n == 0)
		return 0;
	r->values = calloc(n, sizeof(*r->values));
	if (!r->values)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		r->values[r->nvalues] = strdup(values[i]);
		if (!r->values[r->nvalues])
			return -ENOMEM;
		r->nvalues++;
	}
	qsort(r->values, r->nvalues, sizeof(*r->values), str_cmp);
	size_t out = 1;
	for (size_t i = 1; i < r->nvalues; i++) {
		if (strcmp(r->values[i], r->values[out - 1]) == 0)
			free(r->values[i]);
		else
			r->values[out++] = r->values[i];
	}
	r->nvalues = out;
	return 0;
}

static bool op_takes_values(enum np_sel_op op)
{
	return op == SEL_IN || op == SEL_NOT_IN;
}

/* Inserts r (taking ownership) at its canonical place; drops it when an
 * identical requirement is already there. */
static int selector_insert(struct np_selector *s, struct np_requirement *r)
{
	size_t at = 0;
	while (at < s->n) {
		int c = req_cmp(&s->reqs[at], r);
		if (c == 0) {
			req_clear(r);
			return 0;
		}
		if (c > 0)
			break;
		at++;
	}
	struct np_requirement *reqs = realloc(s->reqs, (s->n + 1) * sizeof(*reqs));
	if (!reqs)
		return -ENOMEM;
	memmove(&reqs[at + 1], &reqs[at], (s->n - at) * sizeof(*reqs));
	reqs[at] = *r;
	s->reqs = reqs;
	s->n++;
	return 0;
}

int selector_add(struct np_selector *s, const char *key, enum np_sel_op op,
		 const char *const *values, size_t nvalues)
{
	/* In/NotIn need values and Exists/DoesNotExist take none, as the API
	 * server insists; anything else has no sensible meaning. */
	if ((unsigned)op > SEL_DOES_NOT_EXIST || op_takes_values(op) != (nvalues > 0))
		return -EINVAL;
	struct np_requirement r = {.op = op};
	int err = -ENOMEM;
	r.key = strdup(key);
	if (!r.key)
		goto cleanup;
	err = req_set_values(&r, values, nvalues);
	if (err)
		goto cleanup;
	err = selector_insert(s, &r);
	if (err)
		goto cleanup;
	return 0;
cleanup:
	req_clear(&r);
	return err;
}

int selector_copy(struct np_selector *dst, const struct np_selector *src)
{
	struct np_selector tmp = {0};
	for (size_t i = 0; i < src->n; i++) {
		const struct np_requirement *r = &src->reqs[i];
		int err = selector_add(&tmp, r->key, r->op,
				       (const char *const *)r->values, r->nvalues);
		if (err) {
			selector_clear(&tmp);
			return err;
		}
		tmp.reqs[tmp.n - 1].pos = r->pos;
	}
	selector_clear(dst);
	*dst = tmp;
	return 0;
}

void selector_clear(struct np_selector *s)
{
	for (size_t i = 0; i < s->n; i++)
		req_clear(&s->reqs[i]);
	free(s->reqs);
	s->reqs = NULL;
	s->n = 0;
}

/* ---- canonical text ------------------------------------------------------- */

static int req_print(FILE *f, const struct np_requirement *r)
{
	switch (r->op) {
	case SEL_EXISTS:
		return fprintf(f, "%s", r->key);
	case SEL_DOES_NOT_EXIST:
		return fprintf(f, "!%s", r->key);
	case SEL_IN:
		if (r->nvalues == 1)
			return fprintf(f, "%s=%s", r->key, r->values[0]);
		fprintf(f, "%s in (", r->key);
		break;
	case SEL_NOT_IN:
		fprintf(f, "%s notin (", r->key);
		break;
	}
	for (size_t i = 0; i < r->nvalues; i++)
		fprintf(f, "%s%s", i ? "," : "", r->values[i]);
	return fprintf(f, ")");
}

char *selector_to_string(const struct np_selector *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		if (i)
			fputc(',', f);
		req_print(f, &s->reqs[i]);
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- kubectl -l syntax ---------------------------------------------------- */

/* A small recursive-descent parser over the text. Keywords "in" and "notin"
 * are only recognised after a key, so a key or a value may itself be
 * spelt "in"; that keeps every canonical string parseable. */
struct sel_parser {
	const char *text;
	const char *p;
	char *err;
};

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

static bool is_ident_char(char ch)
{
	return ch && !is_space(ch) && !strchr(",=!()", ch);
}

static void skip_space(struct sel_parser *ps)
{
	while (is_space(*ps->p))
		ps->p++;
}

/* Describes the token at p for error messages. */
static void describe_token(const char *p, char *buf, size_t len)
{
	if (!*p) {
		snprintf(buf, len, "end of input");
	} else if (is_ident_char(*p)) {
		size_t n = 0;
		while (is_ident_char(p[n]) && n < 40)
			n++;
		snprintf(buf, len, "'%.*s'", (int)n, p);
	} else if ((p[0] == '=' || p[0] == '!') && p[1] == '=') {
		snprintf(buf, len, "'%.2s'", p);
	} else {
		snprintf(buf, len, "'%c'", *p);
	}
}

static int parse_fail(struct sel_parser *ps, const char *expected)
{
	if (!ps->err) {
		char tok[64];
		describe_token(ps->p, tok, sizeof(tok));
		if (asprintf(&ps->err, "unable to parse requirement at offset %zu: found %s, expected: %s",
			     (size_t)(ps->p - ps->text), tok, expected) < 0)
			ps->err = NULL;
	}
	return -EINVAL;
}

/* Reads an identifier (possibly empty when allow_empty) into a new string. */
static int parse_ident(struct sel_parser *ps, bool allow_empty, char **out)
{
	skip_space(ps);
	const char *start = ps->p;
	while (is_ident_char(*ps->p))
		ps->p++;
	if (ps->p == start && !allow_empty)
		return parse_fail(ps, "identifier");
	*out = strndup(start, (size_t)(ps->p - start));
	return *out ? 0 : -ENOMEM;
}

static bool at_keyword(struct sel_parser *ps, const char *kw)
{
	size_t n = strlen(kw);
	return strncmp(ps->p, kw, n) == 0 && !is_ident_char(ps->p[n]);
}

struct str_list {
	char **v;
	size_t n;
};

static void str_list_clear(struct str_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int str_list_push(struct str_list *l, char *s)
{
	char **v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v) {
		free(s);
		return -ENOMEM;
	}
	v[l->n++] = s;
	l->v = v;
	return 0;
}

/* "(v1, v2, ...)": empty entries are the empty string, as in kubectl. */
static int parse_value_set(struct sel_parser *ps, struct str_list *vals)
{
	skip_space(ps);
	if (*ps->p != '(')
		return parse_fail(ps, "'('");
	ps->p++;
	for (;;) {
		char *v = NULL;
		int err = parse_ident(ps, true, &v);
		if (!err)
			err = str_list_push(vals, v);
		if (err)
			return err;
		skip_space(ps);
		if (*ps->p == ')') {
			ps->p++;
			return 0;
		}
		if (*ps->p != ',')
			return parse_fail(ps, "',' or ')'");
		ps->p++;
	}
}

/* After a key: "=v", "==v", "!=v", "in (..)", "notin (..)", or nothing. */
static int parse_operator(struct sel_parser *ps, enum np_sel_op *op, struct str_list *vals)
{
	skip_space(ps);
	char *v = NULL;
	int err;
	if (*ps->p == ',' || !*ps->p) {
		*op = SEL_EXISTS;
		return 0;
	}
	if (*ps->p == '=' || (ps->p[0] == '!' && ps->p[1] == '=')) {
		*op = *ps->p == '!' ? SEL_NOT_IN : SEL_IN;
		ps->p += (ps->p[1] == '=') ? 2 : 1;
		err = parse_ident(ps, true, &v);
		return err ? err : str_list_push(vals, v);
	}
	if (at_keyword(ps, "in") || at_keyword(ps, "notin")) {
		*op = ps->p[0] == 'i' ? SEL_IN : SEL_NOT_IN;
		ps->p += *op == SEL_IN ? 2 : 5;
		return parse_value_set(ps, vals);
	}
	return parse_fail(ps, "'=', '==', '!=', 'in', 'notin' or ','");
}

static int parse_requirement(struct sel_parser *ps, struct np_selector *s)
{
	struct str_list vals = {0};
	char *key = NULL;
	enum np_sel_op op = SEL_DOES_NOT_EXIST;
	int err;
	skip_space(ps);
	if (*ps->p == '!') {
		ps->p++;
		err = parse_ident(ps, false, &key);
	} else {
		err = parse_ident(ps, false, &key);
		if (!err)
			err = parse_operator(ps, &op, &vals);
	}
	if (!err)
		err = selector_add(s, key, op, (const char *const *)vals.v, vals.n);
	free(key);
	str_list_clear(&vals);
	return err;
}

int selector_parse(const char *text, struct np_selector *out, char **err)
{
	struct sel_parser ps = {.text = text, .p = text};
	struct np_selector tmp = {0};
	int r = 0;
	if (err)
		*err = NULL;
	skip_space(&ps);
	/* The empty string is the empty selector, as for kubectl -l "". */
	while (*ps.p) {
		r = parse_requirement(&ps, &tmp);
		if (r)
			goto cleanup;
		skip_space(&ps);
		if (*ps.p == ',') {
			ps.p++;
			skip_space(&ps);
			if (!*ps.p) {
				r = parse_fail(&ps, "identifier");
				goto cleanup;
			}
		} else if (*ps.p) {
			r = parse_fail(&ps, "','");
			goto cleanup;
		}
	}
	selector_clear(out);
	*out = tmp;
	return 0;
cleanup:
	selector_clear(&tmp);
	if (err && r == -EINVAL)
		*err = ps.err;
	else
		free(ps.err);
	return r;
}
