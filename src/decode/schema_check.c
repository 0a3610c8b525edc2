/* schema_check: holds the JSON of the fields netpol does not model to the
 * Kubernetes types (schema.c), as the API server's strict decoder does:
 * every key a field of its message (else `unknown field "<path>"`), every
 * value of its Go type (strings, int32/int64, booleans, objects, arrays,
 * maps, IntOrString, Quantity, Time), null being Go's zero value. */
#include "decode_internal.h"
#include "schema.h"

#include <ctype.h>
#include <stdint.h>

static void check_value(struct dctx *c, const struct doc_node *v, const struct pb_field *fd);

/* A field by JSON name; embedded (inline) messages' fields join the parent's. */
static const struct pb_field *schema_lookup(const struct pb_message *m, const char *name)
{
	for (size_t i = 0; i < m->nfields; i++) {
		const struct pb_field *fd = &m->fields[i];
		const struct pb_field *in;
		if (fd->flags & PB_INLINE) {
			if (fd->msg && (in = schema_lookup(fd->msg, name)))
				return in;
		} else if (strcmp(fd->json, name) == 0) {
			return fd;
		}
	}
	return NULL;
}

static void check_int(struct dctx *c, const struct doc_node *v, bool is32)
{
	long long n;
	if (doc_want_int(c, v, &n) < 0)
		return;
	if (is32 && (n < INT32_MIN || n > INT32_MAX))
		validate_invalid_int(c, v, NULL, n, "must fit in a 32-bit integer");
}

static bool digits(const char **p)
{
	const char *s = *p;
	while (isdigit((unsigned char)**p))
		(*p)++;
	return *p > s;
}

/* resource.Quantity's syntax: <signedNumber><suffix>, the suffix a binary
 * (Ki..Ei) or decimal (n u m k M G T P E) SI one or an exponent (e3). */
static bool quantity_valid(const char *s)
{
	static const char *const suffixes[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u",
					       "m", "k", "M", "G", "T", "P", "E", NULL};
	if (*s == '+' || *s == '-')
		s++;
	bool whole = digits(&s), frac = false;
	if (*s == '.') {
		s++;
		frac = digits(&s);
	}
	if (!whole && !frac)
		return false;
	if ((*s == 'e' || *s == 'E') && s[1]) {
		const char *e = s + 1;
		if (*e == '+' || *e == '-')
			e++;
		if (digits(&e) && !*e)
			return true;
	}
	for (size_t i = 0; suffixes[i]; i++)
		if (strcmp(s, suffixes[i]) == 0)
			return true;
	return false;
}

static void check_quantity(struct dctx *c, const struct doc_node *v)
{
	if (v->type == DOC_INT || v->type == DOC_FLOAT)
		return; /* a JSON number is a Quantity too */
	const char *s = doc_string_of(c, v);
	if (s && !quantity_valid(s))
		validate_invalid_str(c, v, NULL, s, NULL,
				     "quantities must match the regular expression "
				     "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
}

static bool num2(const char *s, int lo, int hi, int *out)
{
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
		return false;
	*out = (s[0] - '0') * 10 + (s[1] - '0');
	return *out >= lo && *out <= hi;
}

static int days_in(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : d[m - 1];
}

/* Go's time.RFC3339 layout, as metav1.Time reads it. */
static bool rfc3339_valid(const char *s)
{
	int y, mo, d, h, mi, se, zh, zm;
	for (int i = 0; i < 4; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	y = atoi(s);
	if (s[4] != '-' || !num2(s + 5, 1, 12, &mo) || s[7] != '-' || !num2(s + 8, 1, 31, &d) ||
	    d > days_in(y, mo) || s[10] != 'T' || !num2(s + 11, 0, 23, &h) || s[13] != ':' ||
	    !num2(s + 14, 0, 59, &mi) || s[16] != ':' || !num2(s + 17, 0, 59, &se))
		return false;
	s += 19;
	if (*s == '.') {
		s++;
		if (!digits(&s))
			return false;
	}
	if (*s == 'Z')
		return s[1] == '\0';
	return (*s == '+' || *s == '-') && num2(s + 1, 0, 23, &zh) && s[3] == ':' &&
	       num2(s + 4, 0, 59, &zm) && s[6] == '\0';
}

static void check_time(struct dctx *c, const struct doc_node *v)
{
	const char *s = doc_string_of(c, v);
	if (s && !rfc3339_valid(s))
		validate_invalid_str(c, v, NULL, s, NULL, "must be an RFC 3339 time");
}

static void check_message(struct dctx *c, const struct doc_node *v, const struct pb_message *m)
{
	if (doc_want_map(c, v) < 0 || v->type != DOC_MAP)
		return;
	for (size_t i = 0; i < v->n; i++) {
		const struct doc_node *k = v->keys[i];
		const struct pb_field *fd = schema_lookup(m, k->text);
		size_t mark = dctx_push_key(c, k->text);
		if (!fd)
			dctx_error(c, k, NULL, "unknown field \"%s\"", c->path);
		else
			check_value(c, v->vals[i], fd);
		dctx_pop(c, mark);
	}
}

/* One value of the field's element type (an item, a map value, or the
 * field itself). */
static void check_element(struct dctx *c, const struct doc_node *v, const struct pb_field *fd)
{
	bool b;
	const char *s;
	if (v->type == DOC_NULL)
		return;
	switch ((enum pb_type)fd->type) {
	case PB_STRING:
	case PB_BYTES:
	case PB_DURATION:
		doc_want_string(c, v, &s);
		break;
	case PB_BOOL:
		doc_want_bool(c, v, &b);
		break;
	case PB_INT32:
	case PB_INT64:
		check_int(c, v, fd->type == PB_INT32);
		break;
	case PB_MSG:
		check_message(c, v, fd->msg);
		break;
	case PB_TIME:
	case PB_MICROTIME:
		check_time(c, v);
		break;
	case PB_QUANTITY:
		check_quantity(c, v);
		break;
	case PB_INTORSTR: {
		bool is_int;
		long long iv;
		if (doc_want_int_or_string(c, v, &is_int, &iv, &s) == 0 && is_int)
			check_int(c, v, true);
		break;
	}
	case PB_FIELDSV1:
	case PB_RAWEXT:
		break; /* any JSON */
	}
}

static void check_value(struct dctx *c, const struct doc_node *v, const struct pb_field *fd)
{
	if (v->type == DOC_NULL)
		return;
	if (fd->flags & PB_MAP) {
		if (doc_want_map(c, v) < 0)
			return;
		for (size_t i = 0; i < v->n; i++) {
			size_t mark = dctx_push_key(c, v->keys[i]->text);
			check_element(c, v->vals[i], fd);
			dctx_pop(c, mark);
		}
	} else if (fd->flags & PB_REPEATED) {
		if (doc_want_seq(c, v) < 0)
			return;
		for (size_t i = 0; i < v->n; i++) {
			size_t mark = dctx_push_index(c, i);
			check_element(c, v->vals[i], fd);
			dctx_pop(c, mark);
		}
	} else {
		check_element(c, v, fd);
	}
}

/* Multipliers of the suffixes quantity_valid accepts. */
static double quantity_scale(const char *suffix)
{
	static const struct {
		const char *s;
		double m;
	} scales[] = {
		{"", 1}, {"Ki", 0x1p10}, {"Mi", 0x1p20}, {"Gi", 0x1p30}, {"Ti", 0x1p40},
		{"Pi", 0x1p50}, {"Ei", 0x1p60}, {"n", 1e-9}, {"u", 1e-6}, {"m", 1e-3},
		{"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"P", 1e15}, {"E", 1e18},
	};
	for (size_t i = 0; i < sizeof(scales) / sizeof(scales[0]); i++)
		if (strcmp(suffix, scales[i].s) == 0)
			return scales[i].m;
	return 1; /* an exponent, which strtod has read */
}

bool schema_quantity_value(const struct doc_node *v, double *out)
{
	char *end;
	if (v->type == DOC_INT || v->type == DOC_FLOAT) {
		*out = v->type == DOC_INT ? (double)v->ival : v->fval;
		return true;
	}
	if (v->type != DOC_STRING || !quantity_valid(v->text))
		return false;
	*out = strtod(v->text, &end);
	*out *= quantity_scale(end);
	return true;
}

void schema_check_field(struct dctx *c, const struct doc_node *v, const struct pb_message *m,
			const char *name)
{
	const struct pb_field *fd = schema_lookup(m, name);
	/* A table naming a field its message lacks is our bug: refuse the
	 * value rather than accept it unchecked. */
	if (!fd) {
		dctx_error(c, v, NULL, "unknown field \"%s\"", c->path ? c->path : name);
		return;
	}
	check_value(c, v, fd);
}

void schema_check_message(struct dctx *c, const struct doc_node *v, const struct pb_message *m)
{
	check_message(c, v, m);
}
