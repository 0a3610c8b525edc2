/* jsonpath.c: kubectl's JSONPath templates for `get -o jsonpath=...`:
 * literal text and {actions}: fields (.a.b, ['a'], escaped dots a\.b),
 * wildcards ([*], .*), indexes and slices ([0], [-1], [1:3]), recursive
 * descent (..name), filters ([?(@.a=="x")], [?(@.a)]), string literals
 * ({"\n"}) and {range EXPR}...{end}. Missing fields print nothing (kubectl
 * get allows missing keys); what is outside this subset is a parse error
 * naming the template. */
#include "kctl.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum step_type { S_FIELD, S_WILD, S_RECURSE, S_INDEX, S_SLICE, S_FILTER };

struct jp_expr;

struct step {
	enum step_type type;
	char *name;                  /* S_FIELD */
	long a, b;                   /* S_INDEX (a), S_SLICE [a:b] */
	bool has_a, has_b;
	struct jp_expr *left, *right; /* S_FILTER: @-path op (path or literal) */
	char op[3];                  /* "", "==", "!=", "<", ... ("" = exists) */
	json_t *literal;             /* S_FILTER right side when not a path */
};

struct jp_expr {
	bool root;                   /* starts at $, else at the current node */
	struct step *steps;
	size_t n;
	char *string;                /* a string literal action instead */
};

enum node_type { N_TEXT, N_EXPR, N_RANGE, N_END };

struct node {
	enum node_type type;
	char *text;
	struct jp_expr *expr;
};

struct parser {
	const char *p;
	char *err;
};

static void expr_free(struct jp_expr *e);

static void set_err(struct parser *ps, const char *fmt, ...)
{
	if (ps->err)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&ps->err, fmt, ap) < 0)
		ps->err = NULL;
	va_end(ap);
	if (!ps->err)
		ps->err = strdup("out of memory");
}

static struct step *add_step(struct jp_expr *e, enum step_type t)
{
	struct step *s = realloc(e->steps, (e->n + 1) * sizeof(*s));
	if (!s)
		return NULL;
	e->steps = s;
	memset(&s[e->n], 0, sizeof(*s));
	s[e->n].type = t;
	return &s[e->n++];
}

/* A field name: up to '.', '[', ' ', ')', an operator or the end; "\."
 * is a dot inside the name. */
static char *parse_name(struct parser *ps)
{
	size_t cap = strlen(ps->p) + 1, n = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	while (*ps->p && !strchr(".[]() =!<>,}", *ps->p)) {
		if (ps->p[0] == '\\' && ps->p[1] == '.')
			ps->p++;
		out[n++] = *ps->p++;
	}
	out[n] = 0;
	return out;
}

static bool parse_long(struct parser *ps, long *v)
{
	char *end;
	const char *start = ps->p;
	*v = strtol(ps->p, &end, 10);
	ps->p = end;
	return end != start;
}

static struct jp_expr *parse_path(struct parser *ps, bool in_filter);

/* kubectl reads "{.a .b}" as a list of two nodes; that is not supported */
static void bad_char(struct parser *ps)
{
	const char *p = ps->p;
	while (*p == ' ')
		p++;
	if (p != ps->p && *p && strchr(".[$@\"'", *p))
		set_err(ps, "unsupported: more than one expression in an action");
	else
		set_err(ps, "unrecognized character in action: U+%04X '%c'", (unsigned char)*p, *p);
}

static json_t *parse_literal(struct parser *ps)
{
	if (*ps->p == '"' || *ps->p == '\'') {
		char q = *ps->p++;
		const char *end = strchr(ps->p, q);
		if (!end)
			return NULL;
		json_t *v = json_stringn(ps->p, (size_t)(end - ps->p));
		ps->p = end + 1;
		return v;
	}
	if (strncmp(ps->p, "true", 4) == 0 || strncmp(ps->p, "false", 5) == 0) {
		bool t = *ps->p == 't';
		ps->p += t ? 4 : 5;
		return json_boolean(t);
	}
	char *end;
	double d = strtod(ps->p, &end);
	if (end == ps->p)
		return NULL;
	ps->p = end;
	return json_real(d);
}

/* [?(@.path OP value)] or [?(@.path)], after "[?(". */
static int parse_filter(struct parser *ps, struct step *s)
{
	while (*ps->p == ' ')
		ps->p++;
	if (*ps->p != '@') {
		set_err(ps, "unsupported filter: it must start with @");
		return -EINVAL;
	}
	ps->p++;
	if (!(s->left = parse_path(ps, true)))
		return -EINVAL;
	while (*ps->p == ' ')
		ps->p++;
	static const char *const ops[] = {"==", "!=", "<=", ">=", "<", ">"};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]) && !s->op[0]; i++) {
		if (strncmp(ps->p, ops[i], strlen(ops[i])) == 0) {
			snprintf(s->op, sizeof(s->op), "%s", ops[i]);
			ps->p += strlen(ops[i]);
		}
	}
	while (*ps->p == ' ')
		ps->p++;
	if (s->op[0] && *ps->p == '@') {
		ps->p++;
		if (!(s->right = parse_path(ps, true)))
			return -EINVAL;
	} else if (s->op[0] && !(s->literal = parse_literal(ps))) {
		set_err(ps, "unrecognized filter value at %s", ps->p);
		return -EINVAL;
	}
	while (*ps->p == ' ')
		ps->p++;
	if (strncmp(ps->p, ")]", 2) != 0) {
		set_err(ps, "unclosed filter, expect )]");
		return -EINVAL;
	}
	ps->p += 2;
	return 0;
}

/* After '[': *, N, A:B, 'key' or ?(...). */
static int parse_bracket(struct parser *ps, struct jp_expr *e)
{
	struct step *s;
	if (strncmp(ps->p, "?(", 2) == 0) {
		ps->p += 2;
		if (!(s = add_step(e, S_FILTER)))
			return -ENOMEM;
		return parse_filter(ps, s);
	}
	const char *close = strchr(ps->p, ']');
	if (!close) {
		set_err(ps, "unclosed array expect ]");
		return -EINVAL;
	}
	if (*ps->p == '\'') {
		const char *end = strchr(ps->p + 1, '\'');
		if (!end || end[1] != ']') {
			set_err(ps, "unsupported subscript %.*s (only one 'key')",
				(int)(close - ps->p + 1), ps->p);
			return -EINVAL;
		}
		if (!(s = add_step(e, S_FIELD)) ||
		    !(s->name = strndup(ps->p + 1, (size_t)(end - ps->p - 1))))
			return -ENOMEM;
		ps->p = end + 2;
		return 0;
	}
	if (strncmp(ps->p, "*]", 2) == 0) {
		ps->p += 2;
		return add_step(e, S_WILD) ? 0 : -ENOMEM;
	}
	const char *start = ps->p;
	if (!(s = add_step(e, S_INDEX)))
		return -ENOMEM;
	s->has_a = parse_long(ps, &s->a);
	if (*ps->p == ':') {
		ps->p++;
		s->type = S_SLICE;
		s->has_b = parse_long(ps, &s->b);
	}
	if (*ps->p != ']' || (s->type == S_INDEX && !s->has_a)) {
		set_err(ps, "invalid array index %.*s", (int)(close - start), start);
		return -EINVAL;
	}
	ps->p++;
	return 0;
}

/* Steps up to the end of the action (or of the operand of a filter). */
static struct jp_expr *parse_path(struct parser *ps, bool in_filter)
{
	struct jp_expr *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	if (!in_filter && *ps->p == '$') {
		e->root = true;
		ps->p++;
	}
	while (*ps->p && !ps->err) {
		if (in_filter && strchr(" =!<>)", *ps->p))
			break;
		struct step *s;
		if (strncmp(ps->p, "..", 2) == 0) {
			ps->p += 2;
			if (!add_step(e, S_RECURSE))
				break;
			if (*ps->p == '*' || *ps->p == '[')
				continue;
		} else if (*ps->p == '.') {
			ps->p++;
		} else if (*ps->p == '[') {
			ps->p++;
			parse_bracket(ps, e);
			continue;
		} else if (*ps->p == '@' && e->n == 0) {
			ps->p++;
			continue;
		} else {
			bad_char(ps);
			break;
		}
		if (*ps->p == '*') {
			ps->p++;
			add_step(e, S_WILD);
			continue;
		}
		char *name = parse_name(ps);
		if (name && !*name && *ps->p && *ps->p != '[') {
			bad_char(ps);
			free(name);
			break;
		}
		if (name && *name && (s = add_step(e, S_FIELD)))
			s->name = name;
		else
			free(name);
	}
	if (ps->err) {
		expr_free(e);
		return NULL;
	}
	return e;
}

static void expr_free(struct jp_expr *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++) {
		free(e->steps[i].name);
		expr_free(e->steps[i].left);
		expr_free(e->steps[i].right);
		json_decref(e->steps[i].literal);
	}
	free(e->steps);
	free(e->string);
	free(e);
}

/* "\n", "\t", "\\", "\"" as Go's strconv.Unquote reads them. */
static char *unquote(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	for (size_t i = 0; out && i < n; i++) {
		if (s[i] != '\\' || i + 1 == n) {
			*o++ = s[i];
			continue;
		}
		char c = s[++i];
		*o++ = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
	}
	if (out)
		*o = 0;
	return out;
}

static struct jp_expr *parse_action(struct parser *ps, const char *text)
{
	ps->p = text;
	while (*ps->p == ' ')
		ps->p++;
	if (*ps->p == '"') {
		size_t n = strlen(ps->p);
		while (n > 1 && ps->p[n - 1] == ' ')
			n--;
		struct jp_expr *e = calloc(1, sizeof(*e));
		if (n < 2 || ps->p[n - 1] != '"') {
			set_err(ps, "unterminated quoted string");
			free(e);
			return NULL;
		}
		if (e && !(e->string = unquote(ps->p + 1, n - 2))) {
			free(e);
			e = NULL;
		}
		return e;
	}
	char *trimmed = strdup(ps->p);
	if (!trimmed)
		return NULL;
	for (size_t n = strlen(trimmed); n > 0 && trimmed[n - 1] == ' '; n--)
		trimmed[n - 1] = 0;
	ps->p = trimmed;
	struct jp_expr *e = parse_path(ps, false);
	bool rest = e && *ps->p;
	free(trimmed);
	if (rest) {
		set_err(ps, "unsupported: more than one expression in {%s}", text);
		expr_free(e);
		return NULL;
	}
	return e;
}

/* ---- the template ------------------------------------------------------------------ */

struct jp_template {
	struct node *nodes;
	size_t n;
};

static void template_free(struct jp_template *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->nodes[i].text);
		expr_free(t->nodes[i].expr);
	}
	free(t->nodes);
}

static struct node *add_node(struct jp_template *t, enum node_type type, const char *text,
			     size_t n)
{
	struct node *nodes = realloc(t->nodes, (t->n + 1) * sizeof(*nodes));
	if (!nodes)
		return NULL;
	t->nodes = nodes;
	struct node *nd = &nodes[t->n++];
	memset(nd, 0, sizeof(*nd));
	nd->type = type;
	nd->text = strndup(text, n);
	return nd;
}

/* The end of the action starting after '{': its '}' outside quotes. */
static const char *action_end(const char *p)
{
	char quote = 0;
	for (; *p; p++) {
		if (quote) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == quote)
				quote = 0;
		} else if (*p == '"' || *p == '\'') {
			quote = *p;
		} else if (*p == '}') {
			return p;
		}
	}
	return NULL;
}

static int parse_template(const char *tmpl, struct jp_template *t, char **err)
{
	struct parser ps = {0};
	const char *p = tmpl;
	memset(t, 0, sizeof(*t));
	while (*p && !ps.err) {
		const char *open = strchr(p, '{');
		if (!open) {
			add_node(t, N_TEXT, p, strlen(p));
			break;
		}
		if (open > p)
			add_node(t, N_TEXT, p, (size_t)(open - p));
		const char *close = action_end(open + 1);
		if (!close) {
			set_err(&ps, "unclosed action");
			break;
		}
		char *inner = strndup(open + 1, (size_t)(close - open - 1));
		const char *body = inner;
		while (*body == ' ')
			body++;
		struct node *nd = NULL;
		if (strcmp(body, "end") == 0) {
			nd = add_node(t, N_END, "", 0);
		} else if (strncmp(body, "range ", 6) == 0) {
			if ((nd = add_node(t, N_RANGE, "", 0)))
				nd->expr = parse_action(&ps, body + 6);
		} else if ((nd = add_node(t, N_EXPR, "", 0))) {
			nd->expr = parse_action(&ps, body);
		}
		free(inner);
		p = close + 1;
	}
	if (ps.err) {
		if (asprintf(err, "error parsing jsonpath %s, %s", tmpl, ps.err) < 0)
			*err = NULL;
		free(ps.err);
		template_free(t);
		return -EINVAL;
	}
	return 0;
}

/* ---- evaluation ---------------------------------------------------------------------- */

static void eval_expr(const struct jp_expr *e, json_t *root, json_t *cur, json_t *out);

static void descendants(json_t *v, json_t *out)
{
	json_array_append(out, v);
	size_t i;
	const char *k;
	json_t *c;
	if (json_is_array(v))
		json_array_foreach(v, i, c)
			descendants(c, out);
	else if (json_is_object(v))
		json_object_foreach(v, k, c)
			descendants(c, out);
}

static int compare(json_t *a, json_t *b, const char *op)
{
	int cmp;
	if (json_is_number(a) && json_is_number(b)) {
		double x = json_number_value(a), y = json_number_value(b);
		cmp = x < y ? -1 : x > y;
	} else if (json_is_string(a) && json_is_string(b)) {
		cmp = strcmp(json_string_value(a), json_string_value(b));
	} else {
		cmp = json_equal(a, b) ? 0 : 2;
		if (strcmp(op, "==") && strcmp(op, "!="))
			return 0;
	}
	if (!strcmp(op, "=="))
		return cmp == 0;
	if (!strcmp(op, "!="))
		return cmp != 0;
	if (cmp == 2)
		return 0;
	return !strcmp(op, "<") ? cmp < 0 : !strcmp(op, ">") ? cmp > 0 :
	       !strcmp(op, "<=") ? cmp <= 0 : cmp >= 0;
}

static bool filter_keeps(const struct step *s, json_t *root, json_t *item)
{
	json_t *l = json_array(), *r = json_array();
	eval_expr(s->left, root, item, l);
	bool keep;
	if (!s->op[0]) {
		keep = json_array_size(l) > 0;
	} else {
		if (s->right)
			eval_expr(s->right, root, item, r);
		else
			json_array_append(r, s->literal);
		keep = json_array_size(l) && json_array_size(r) &&
		       compare(json_array_get(l, 0), json_array_get(r, 0), s->op);
	}
	json_decref(l);
	json_decref(r);
	return keep;
}

static void slice(const struct step *s, json_t *arr, json_t *out)
{
	long n = (long)json_array_size(arr);
	long a = s->has_a ? s->a : 0, b = s->has_b ? s->b : n;
	if (a < 0)
		a += n;
	if (b < 0)
		b += n;
	if (a < 0)
		a = 0;
	if (b > n)
		b = n;
	for (long i = a; i < b; i++)
		json_array_append(out, json_array_get(arr, (size_t)i));
}

static void apply_step(const struct step *s, json_t *root, json_t *v, json_t *out)
{
	size_t i;
	const char *k;
	json_t *c;
	switch (s->type) {
	case S_FIELD:
		if ((c = json_object_get(v, s->name)))
			json_array_append(out, c);
		break;
	case S_WILD:
		if (json_is_array(v))
			json_array_extend(out, v);
		else if (json_is_object(v))
			json_object_foreach(v, k, c)
				json_array_append(out, c);
		break;
	case S_RECURSE:
		descendants(v, out);
		break;
	case S_INDEX: {
		long n = (long)json_array_size(v), at = s->a < 0 ? s->a + n : s->a;
		if (json_is_array(v) && at >= 0 && at < n)
			json_array_append(out, json_array_get(v, (size_t)at));
		break;
	}
	case S_SLICE:
		if (json_is_array(v))
			slice(s, v, out);
		break;
	case S_FILTER:
		json_array_foreach(v, i, c)
			if (filter_keeps(s, root, c))
				json_array_append(out, c);
		break;
	}
}

/* Appends every value e selects to out. */
static void eval_expr(const struct jp_expr *e, json_t *root, json_t *cur, json_t *out)
{
	if (e->string) {
		json_array_append_new(out, json_string(e->string));
		return;
	}
	json_t *vals = json_pack("[O]", e->root ? root : cur);
	for (size_t i = 0; i < e->n; i++) {
		json_t *next = json_array(), *v;
		size_t j;
		json_array_foreach(vals, j, v)
			apply_step(&e->steps[i], root, v, next);
		json_decref(vals);
		vals = next;
	}
	json_array_extend(out, vals);
	json_decref(vals);
}

/* Strings as they are, everything else as compact JSON with sorted keys
 * (Go's encoding/json, which kubectl uses). */
static void print_value(FILE *f, json_t *v)
{
	if (json_is_string(v)) {
		fputs(json_string_value(v), f);
		return;
	}
	char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (s)
		fputs(s, f);
	free(s);
}

/* Runs nodes [from, to) against cur; returns the index after them. */
static size_t run_nodes(const struct jp_template *t, size_t from, json_t *root, json_t *cur,
			FILE *f, bool print);

/* The matching {end} of the {range} at i (t->n when missing). */
static size_t range_end(const struct jp_template *t, size_t i)
{
	int depth = 0;
	for (size_t j = i; j < t->n; j++) {
		depth += t->nodes[j].type == N_RANGE;
		depth -= t->nodes[j].type == N_END;
		if (depth == 0)
			return j;
	}
	return t->n;
}

static size_t run_nodes(const struct jp_template *t, size_t from, json_t *root, json_t *cur,
			FILE *f, bool print)
{
	size_t i = from;
	while (i < t->n) {
		const struct node *nd = &t->nodes[i];
		if (nd->type == N_END)
			return i;
		if (nd->type == N_TEXT) {
			if (print)
				fputs(nd->text, f);
			i++;
			continue;
		}
		json_t *vals = json_array(), *v;
		size_t j;
		eval_expr(nd->expr, root, cur, vals);
		if (nd->type == N_EXPR) {
			json_array_foreach(vals, j, v) {
				if (print && j > 0)
					fputc(' ', f);
				if (print)
					print_value(f, v);
			}
			i++;
		} else {
			size_t end = range_end(t, i);
			json_array_foreach(vals, j, v)
				run_nodes(t, i + 1, root, v, f, print);
			i = end < t->n ? end + 1 : t->n;
		}
		json_decref(vals);
	}
	return i;
}

static bool ends_balanced(const struct jp_template *t)
{
	int depth = 0;
	for (size_t i = 0; i < t->n; i++) {
		depth += t->nodes[i].type == N_RANGE;
		depth -= t->nodes[i].type == N_END;
		if (depth < 0)
			return false;
	}
	return true;
}

int kctl_jsonpath_check(const char *tmpl, char **err)
{
	struct jp_template t;
	*err = NULL;
	if (parse_template(tmpl, &t, err) < 0)
		return -EINVAL;
	template_free(&t);
	return 0;
}

int kctl_jsonpath_print(FILE *f, const char *tmpl, json_t *data, char **err)
{
	struct jp_template t;
	*err = NULL;
	if (parse_template(tmpl, &t, err) < 0)
		return -EINVAL;
	if (!ends_balanced(&t)) {
		if (asprintf(err, "error executing jsonpath \"%s\": Error executing template: "
			     "not in range, nothing to end", tmpl) < 0)
			*err = NULL;
		template_free(&t);
		return -EINVAL;
	}
	run_nodes(&t, 0, data, data, f, true);
	template_free(&t);
	return 0;
}
