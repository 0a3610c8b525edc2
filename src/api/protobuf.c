/* protobuf.c: Kubernetes protobuf request bodies, turned into JSON.
 *
 * kubectl 1.32's typed clients (create namespace/deployment/service/...)
 * send built-in objects as application/vnd.kubernetes.protobuf and never
 * fall back to JSON: client-go switches to JSON after a 415 only for CBOR
 * bodies (and only with its CBOR feature gate). Responses may stay JSON:
 * those clients accept "application/vnd.kubernetes.protobuf,
 * application/json" and decode by the response's Content-Type. The envelope is the magic "k8s\0" and a
 * runtime.Unknown {typeMeta, raw, contentEncoding, contentType}; raw is the
 * object's own message.
 *
 * One walker reads any message with its table from decode/schema.c and
 * writes the JSON a Go JSON client would have sent for the same Go object
 * (omitempty, pointers that keep zero values, structs always present,
 * inline embedding), so the result goes through the same validation as a
 * JSON body. Anything the JSON could not say exactly is refused: a field
 * number the table lacks, a wrong wire type, truncation, invalid UTF-8,
 * out-of-range numbers. */
#include "api_internal.h"
#include "decode/schema.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Messages nest only as deep as the schema; this bounds hostile input. */
#define PB_MAX_DEPTH 32

struct pb {
	const uint8_t *p, *end;
};

struct pb_wire {
	uint32_t num;
	uint32_t wire;
	uint64_t v;                  /* varint */
	struct pb sub;               /* length-delimited payload */
};

struct pb_ctx {
	char *err;                   /* the first problem, owned */
	int ret;                     /* its code: -EINVAL or -ENOMEM */
	int depth;
};

static int pb_fail(struct pb_ctx *c, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int pb_fail(struct pb_ctx *c, int ret, const char *fmt, ...)
{
	if (!c->err) {
		va_list ap;
		va_start(ap, fmt);
		if (vasprintf(&c->err, fmt, ap) < 0)
			c->err = NULL;
		va_end(ap);
		c->ret = ret;
	}
	return ret;
}

static int pb_nomem(struct pb_ctx *c)
{
	return pb_fail(c, -ENOMEM, "out of memory");
}

/* After a step failed: its error, or out of memory when jansson failed. */
static int pb_err(struct pb_ctx *c)
{
	return c->err ? c->ret : pb_nomem(c);
}

/* ---- wire format --------------------------------------------------------------------------- */

static int pb_varint(struct pb *b, uint64_t *out)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (b->p >= b->end)
			return -EINVAL;
		uint8_t byte = *b->p++;
		v |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return -EINVAL;
}

/* Reads the next field; returns 1, 0 at the end, or -EINVAL. Groups
 * (wire types 3, 4) never occur in the Kubernetes schema. */
static int pb_next(struct pb *b, struct pb_wire *f)
{
	uint64_t key, len;
	if (b->p == b->end)
		return 0;
	if (pb_varint(b, &key) < 0 || (key >> 3) == 0 || (key >> 3) > UINT32_MAX)
		return -EINVAL;
	f->num = (uint32_t)(key >> 3);
	f->wire = (uint32_t)(key & 7);
	switch (f->wire) {
	case 0:
		return pb_varint(b, &f->v) < 0 ? -EINVAL : 1;
	case 1:
	case 5: {
		size_t n = f->wire == 1 ? 8 : 4;
		if ((size_t)(b->end - b->p) < n)
			return -EINVAL;
		f->sub = (struct pb){b->p, b->p + n};
		b->p += n;
		return 1;
	}
	case 2:
		if (pb_varint(b, &len) < 0 || len > (uint64_t)(b->end - b->p))
			return -EINVAL;
		f->sub = (struct pb){b->p, b->p + len};
		b->p += len;
		return 1;
	default:
		return -EINVAL;
	}
}

static size_t pb_len(struct pb b)
{
	return (size_t)(b.end - b.p);
}

/* ---- scalars -------------------------------------------------------------------------------- */

/* A NUL is refused as the JSON reader refuses \u0000: the server keeps
 * strings as C strings, which would cut it short. */
static json_t *pb_json_string(struct pb_ctx *c, struct pb s, const char *what)
{
	if (pb_len(s) && memchr(s.p, 0, pb_len(s))) {
		pb_fail(c, -EINVAL, "%s contains a NUL byte", what);
		return NULL;
	}
	json_t *v = json_stringn((const char *)s.p, pb_len(s));
	if (!v)
		pb_fail(c, -EINVAL, "%s is not valid UTF-8", what);
	return v;
}

static json_t *pb_base64(struct pb_ctx *c, struct pb s)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = pb_len(s), o = 0;
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	if (!out) {
		pb_nomem(c);
		return NULL;
	}
	for (size_t i = 0; i < n; i += 3) {
		uint32_t w = (uint32_t)s.p[i] << 16 | (i + 1 < n ? (uint32_t)s.p[i + 1] << 8 : 0) |
			     (i + 2 < n ? s.p[i + 2] : 0);
		out[o++] = abc[w >> 18];
		out[o++] = abc[(w >> 12) & 63];
		out[o++] = i + 1 < n ? abc[(w >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? abc[w & 63] : '=';
	}
	out[o] = 0;
	json_t *v = json_string(out);
	free(out);
	return v;
}

/* Raw JSON carried in bytes (FieldsV1, RawExtension); empty is null. */
static json_t *pb_raw_json(struct pb_ctx *c, struct pb s, const char *what)
{
	json_error_t jerr;
	if (pb_len(s) == 0)
		return json_null();
	json_t *v = json_loadb((const char *)s.p, pb_len(s), JSON_DECODE_ANY, &jerr);
	if (!v)
		pb_fail(c, -EINVAL, "%s does not hold JSON: %s", what, jerr.text);
	return v;
}

/* A message of one length-delimited field 1 (Quantity, FieldsV1, ...);
 * *out is empty when the field is absent. */
static int pb_only_field1(struct pb_ctx *c, struct pb b, const char *what, struct pb *out)
{
	struct pb_wire f;
	int r;
	*out = (struct pb){b.p, b.p};
	while ((r = pb_next(&b, &f)) > 0) {
		if (f.num != 1 || f.wire != 2)
			return pb_fail(c, -EINVAL, "unknown field %" PRIu32 " in %s", f.num, what);
		*out = f.sub;
	}
	return r < 0 ? pb_fail(c, -EINVAL, "%s is truncated", what) : 0;
}

/* Time and MicroTime: Timestamp {1: seconds, 2: nanos}. An empty message is
 * the zero time, which Go writes as null. Time keeps whole seconds (as the
 * API server does); MicroTime keeps microseconds. */
static json_t *pb_time(struct pb_ctx *c, struct pb b, bool micro)
{
	const char *what = micro ? "MicroTime" : "Time";
	int64_t sec = 0, nsec = 0;
	struct pb_wire f;
	int r;
	if (pb_len(b) == 0)
		return json_null();
	while ((r = pb_next(&b, &f)) > 0) {
		if ((f.num != 1 && f.num != 2) || f.wire != 0) {
			pb_fail(c, -EINVAL, "unknown field %" PRIu32 " in %s", f.num, what);
			return NULL;
		}
		*(f.num == 1 ? &sec : &nsec) = (int64_t)f.v;
	}
	/* Go's RFC 3339 has four-digit years only */
	struct tm tm;
	time_t t = (time_t)sec;
	if (r < 0 || nsec < 0 || nsec > 999999999 || sec < -62135596800LL ||
	    sec > 253402300799LL || !gmtime_r(&t, &tm)) {
		pb_fail(c, -EINVAL, "%s is malformed or out of range", what);
		return NULL;
	}
	char buf[40];
	size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof(buf) - n, micro ? ".%06" PRId64 "Z" : "Z", nsec / 1000);
	return json_string(buf);
}

/* IntOrString: {1: type (0 int, 1 string), 2: intVal, 3: strVal}. */
static json_t *pb_int_or_string(struct pb_ctx *c, struct pb b)
{
	int64_t type = 0, iv = 0;
	struct pb sv = {b.p, b.p};
	struct pb_wire f;
	int r;
	while ((r = pb_next(&b, &f)) > 0) {
		if (f.num == 1 && f.wire == 0)
			type = (int64_t)f.v;
		else if (f.num == 2 && f.wire == 0)
			iv = (int64_t)f.v;
		else if (f.num == 3 && f.wire == 2)
			sv = f.sub;
		else
			break;
	}
	if (r != 0 || (type != 0 && type != 1) || iv < INT32_MIN || iv > INT32_MAX) {
		pb_fail(c, -EINVAL, "IntOrString is malformed");
		return NULL;
	}
	return type == 0 ? json_integer(iv) : pb_json_string(c, sv, "IntOrString");
}

static json_t *pb_special(struct pb_ctx *c, const struct pb_field *fd, struct pb b)
{
	struct pb one;
	switch (fd->type) {
	case PB_TIME:
	case PB_MICROTIME:
		return pb_time(c, b, fd->type == PB_MICROTIME);
	case PB_INTORSTR:
		return pb_int_or_string(c, b);
	case PB_QUANTITY:
		if (pb_only_field1(c, b, "Quantity", &one) < 0)
			return NULL;
		return pb_len(one) ? pb_json_string(c, one, "Quantity") : json_string("0");
	case PB_FIELDSV1:
	case PB_RAWEXT:
		if (pb_only_field1(c, b, fd->type == PB_RAWEXT ? "RawExtension" : "FieldsV1",
				   &one) < 0)
			return NULL;
		return pb_raw_json(c, one, fd->json);
	default:
		pb_fail(c, -EINVAL, "field %s has a type we cannot write as JSON", fd->json);
		return NULL;
	}
}

/* ---- messages ------------------------------------------------------------------------------- */

static int pb_message(struct pb_ctx *c, const struct pb_message *m, struct pb b, json_t *obj);

static bool pb_is_varint(uint8_t type)
{
	return type == PB_BOOL || type == PB_INT32 || type == PB_INT64;
}

static json_t *pb_number(struct pb_ctx *c, const struct pb_field *fd, uint64_t v)
{
	int64_t i = (int64_t)v;
	if (fd->type == PB_BOOL)
		return json_boolean(v != 0);
	if (fd->type == PB_INT32 && (i < INT32_MIN || i > INT32_MAX)) {
		pb_fail(c, -EINVAL, "field %s is out of range for int32", fd->json);
		return NULL;
	}
	return json_integer(i);
}

/* One value of field fd from a length-delimited payload. */
static json_t *pb_value(struct pb_ctx *c, const struct pb_field *fd, struct pb s)
{
	switch (fd->type) {
	case PB_STRING:
		return pb_json_string(c, s, fd->json);
	case PB_BYTES:
		return pb_base64(c, s);
	case PB_MSG: {
		json_t *o = json_object();
		if (!o)
			pb_nomem(c);
		else if (pb_message(c, fd->msg, s, o) < 0)
			json_decref(o), o = NULL;
		return o;
	}
	default:
		return pb_special(c, fd, s);
	}
}

/* Go's zero value of a field's type, as its JSON would say it. */
static json_t *pb_zero(struct pb_ctx *c, const struct pb_field *fd)
{
	static const uint8_t empty[1];
	switch (fd->type) {
	case PB_STRING: return json_string("");
	case PB_BYTES:
	case PB_TIME:
	case PB_MICROTIME:
	case PB_FIELDSV1:
	case PB_RAWEXT: return json_null();
	case PB_BOOL: return json_false();
	case PB_INT32:
	case PB_INT64:
	case PB_INTORSTR: return json_integer(0);
	case PB_QUANTITY: return json_string("0");
	case PB_DURATION: return json_string("0s");
	default: return pb_value(c, fd, (struct pb){empty, empty});
	}
}

static bool pb_is_zero(json_t *v)
{
	return json_is_false(v) ||
	       (json_is_integer(v) && json_integer_value(v) == 0) ||
	       (json_is_string(v) && json_string_length(v) == 0);
}

static json_t *pb_child(json_t *obj, const char *key, json_t *(*make)(void))
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v)) {
		v = make();
		if (v && json_object_set_new(obj, key, v) < 0)
			v = NULL;
	}
	return v;
}

/* map<string, T> entry: {1: key, 2: value}; a missing value is T's zero. */
static int pb_map_entry(struct pb_ctx *c, const struct pb_message *m,
			const struct pb_field *fd, struct pb b, json_t *map)
{
	struct pb key = {b.p, b.p}, val = {NULL, NULL};
	struct pb_wire f;
	int r;
	while ((r = pb_next(&b, &f)) > 0) {
		if (f.wire != 2 || f.num > 2)
			break;
		*(f.num == 1 ? &key : &val) = f.sub;
	}
	if (r != 0)
		return pb_fail(c, -EINVAL, "map %s in %s has a malformed entry", fd->json,
			       m->name);
	json_t *k = pb_json_string(c, key, fd->json);
	json_t *v = !k ? NULL : val.p ? pb_value(c, fd, val) : pb_zero(c, fd);
	r = v ? json_object_setn_new(map, json_string_value(k), json_string_length(k), v) : -1;
	json_decref(k);
	return r < 0 ? pb_err(c) : 0;
}

/* Sets obj[fd->json] = v (stolen), keeping Go's omitempty rule. */
static int pb_set(struct pb_ctx *c, const struct pb_field *fd, json_t *obj, json_t *v)
{
	/* omitempty never leaves out a struct (Time, Quantity, IntOrString) */
	bool scalar = pb_is_varint(fd->type) || fd->type == PB_STRING || fd->type == PB_BYTES;
	if (scalar && !(fd->flags & PB_POINTER) && (fd->flags & PB_OMITEMPTY) && pb_is_zero(v)) {
		json_object_del(obj, fd->json);
		json_decref(v);
		return 0;
	}
	return json_object_set_new(obj, fd->json, v) < 0 ? pb_nomem(c) : 0;
}

static int pb_packed(struct pb_ctx *c, const struct pb_field *fd, struct pb s, json_t *arr)
{
	uint64_t v;
	while (s.p < s.end) {
		json_t *j;
		if (pb_varint(&s, &v) < 0)
			return pb_fail(c, -EINVAL, "field %s is truncated", fd->json);
		if (!(j = pb_number(c, fd, v)) || json_array_append_new(arr, j) < 0)
			return pb_err(c);
	}
	return 0;
}

static int pb_repeated(struct pb_ctx *c, const struct pb_message *m,
		       const struct pb_field *fd, const struct pb_wire *w, json_t *obj)
{
	json_t *arr = pb_child(obj, fd->json, json_array), *v;
	if (!arr)
		return pb_nomem(c);
	if (pb_is_varint(fd->type) && w->wire == 2)
		return pb_packed(c, fd, w->sub, arr);
	v = w->wire == 0 ? pb_number(c, fd, w->v) : pb_value(c, fd, w->sub);
	if (!v || json_array_append_new(arr, v) < 0)
		return pb_err(c);
	return 0;
}

/* One field off the wire into obj. */
static int pb_field(struct pb_ctx *c, const struct pb_message *m, const struct pb_field *fd,
		    const struct pb_wire *w, json_t *obj)
{
	bool varint = pb_is_varint(fd->type);
	if (w->wire != (varint ? 0u : 2u) && !(varint && w->wire == 2 && (fd->flags & PB_REPEATED)))
		return pb_fail(c, -EINVAL, "field %" PRIu32 " (%s) of %s has wire type %" PRIu32,
			       w->num, fd->json, m->name, w->wire);
	if (fd->flags & PB_REPEATED)
		return pb_repeated(c, m, fd, w, obj);
	if (fd->flags & PB_MAP) {
		json_t *map = pb_child(obj, fd->json, json_object);
		return map ? pb_map_entry(c, m, fd, w->sub, map) : pb_nomem(c);
	}
	if (fd->flags & PB_INLINE)
		return pb_message(c, fd->msg, w->sub, obj);
	if (fd->type == PB_MSG && json_is_object(json_object_get(obj, fd->json)))
		/* a message seen twice merges, as in protobuf */
		return pb_message(c, fd->msg, w->sub, json_object_get(obj, fd->json));
	json_t *v = varint ? pb_number(c, fd, w->v) : pb_value(c, fd, w->sub);
	return v ? pb_set(c, fd, obj, v) : pb_err(c);
}

static const struct pb_field *pb_lookup(const struct pb_message *m, uint32_t num)
{
	for (size_t i = 0; i < m->nfields; i++)
		if (m->fields[i].num == num)
			return &m->fields[i];
	return NULL;
}

/* What Go's JSON says for a field the body left out: nothing for omitempty
 * values, slices, maps and pointers, null for those without omitempty, and
 * structs always (omitempty never leaves a struct out). */
static int pb_absent(struct pb_ctx *c, const struct pb_field *fd, json_t *obj)
{
	static const uint8_t empty[1];
	bool many = fd->flags & (PB_REPEATED | PB_MAP);
	if (fd->flags & PB_INLINE)
		return pb_message(c, fd->msg, (struct pb){empty, empty}, obj);
	if ((many || (fd->flags & PB_POINTER)) && !(fd->flags & PB_OMITEMPTY))
		return json_object_set_new(obj, fd->json, json_null()) < 0 ? pb_nomem(c) : 0;
	if (many || (fd->flags & PB_POINTER) || json_object_get(obj, fd->json))
		return 0;
	if ((fd->flags & PB_OMITEMPTY) && pb_is_varint(fd->type))
		return 0;
	if ((fd->flags & PB_OMITEMPTY) && (fd->type == PB_STRING || fd->type == PB_BYTES))
		return 0;
	json_t *v = pb_zero(c, fd);
	if (!v)
		return pb_err(c);
	return json_object_set_new(obj, fd->json, v) < 0 ? pb_nomem(c) : 0;
}

static int pb_message(struct pb_ctx *c, const struct pb_message *m, struct pb b, json_t *obj)
{
	bool seen[PB_MAX_FIELDS] = {0};
	struct pb_wire w;
	int r;
	if (++c->depth > PB_MAX_DEPTH) {
		c->depth--;
		return pb_fail(c, -EINVAL, "messages are nested too deeply");
	}
	while ((r = pb_next(&b, &w)) > 0) {
		const struct pb_field *fd = pb_lookup(m, w.num);
		if (!fd) {
			r = pb_fail(c, -EINVAL, "unknown field number %" PRIu32 " in message %s",
				    w.num, m->name);
			break;
		}
		seen[fd - m->fields] = true;
		if ((r = pb_field(c, m, fd, &w, obj)) < 0)
			break;
	}
	if (r < 0 && !c->err)
		pb_fail(c, -EINVAL, "message %s is truncated or malformed", m->name);
	for (size_t i = 0; r == 0 && i < m->nfields; i++)
		if (!seen[i])
			r = pb_absent(c, &m->fields[i], obj);
	c->depth--;
	return r < 0 ? pb_err(c) : 0;
}

/* ---- the envelope --------------------------------------------------------------------------- */

struct pb_envelope {
	struct pb api_version, kind, raw, encoding, content_type;
};

static int pb_type_meta(struct pb b, struct pb_envelope *e)
{
	struct pb_wire f;
	int r;
	while ((r = pb_next(&b, &f)) > 0) {
		if (f.wire != 2 || f.num > 2)
			return -EINVAL;
		*(f.num == 1 ? &e->api_version : &e->kind) = f.sub;
	}
	return r;
}

/* runtime.Unknown: {1: TypeMeta {1: apiVersion, 2: kind}, 2: raw,
 * 3: contentEncoding, 4: contentType}. */
static int pb_unknown(struct pb b, struct pb_envelope *e)
{
	struct pb *slot[] = {NULL, NULL, &e->raw, &e->encoding, &e->content_type};
	struct pb_wire f;
	int r;
	while ((r = pb_next(&b, &f)) > 0) {
		if (f.wire != 2 || f.num > 4)
			return -EINVAL;
		if (f.num == 1 && pb_type_meta(f.sub, e) < 0)
			return -EINVAL;
		if (f.num > 1)
			*slot[f.num] = f.sub;
	}
	return r;
}

struct pb_kind {
	const char *kind, *api_version; /* NULL: any version (DeleteOptions) */
	const struct pb_message *msg;
};

static const struct pb_kind pb_kinds[] = {
	{"Namespace", "v1", &pb_core_Namespace},
	{"Pod", "v1", &pb_core_Pod},
	{"Service", "v1", &pb_core_Service},
	{"Endpoints", "v1", &pb_core_Endpoints},
	{"Deployment", "apps/v1", &pb_apps_Deployment},
	{"NetworkPolicy", "networking.k8s.io/v1", &pb_networking_NetworkPolicy},
	/* typed clients encode it in the group version of the resource */
	{"DeleteOptions", NULL, &pb_meta_DeleteOptions},
};

static bool pb_equals(struct pb s, const char *str)
{
	return pb_len(s) == strlen(str) && memcmp(s.p, str, pb_len(s)) == 0;
}

static const struct pb_kind *pb_find_kind(const struct pb_envelope *e)
{
	for (size_t i = 0; i < sizeof(pb_kinds) / sizeof(pb_kinds[0]); i++)
		if (pb_equals(e->kind, pb_kinds[i].kind) &&
		    (!pb_kinds[i].api_version || pb_equals(e->api_version, pb_kinds[i].api_version)))
			return &pb_kinds[i];
	return NULL;
}

/* {"kind", "apiVersion"} from the envelope, as a JSON client writes them
 * (TypeMeta's fields are omitempty strings). */
static int pb_type_meta_json(struct pb_ctx *c, const struct pb_envelope *e, json_t *obj)
{
	static const struct pb_field fields[] = {
		{2, "kind", PB_STRING, PB_OMITEMPTY, NULL},
		{1, "apiVersion", PB_STRING, PB_OMITEMPTY, NULL},
	};
	const struct pb *values[] = {&e->kind, &e->api_version};
	for (size_t i = 0; i < 2; i++) {
		if (pb_len(*values[i]) == 0)
			continue;
		json_t *v = pb_value(c, &fields[i], *values[i]);
		if (!v || pb_set(c, &fields[i], obj, v) < 0)
			return pb_err(c);
	}
	return 0;
}

static int pb_refuse_kind(const struct pb_envelope *e, char **err)
{
	const char *kind = e->kind.p ? (const char *)e->kind.p : "";
	const char *av = e->api_version.p ? (const char *)e->api_version.p : "";
	if (asprintf(err, "protobuf bodies are accepted for Namespace, Pod, Service, Endpoints, "
		     "Deployment, NetworkPolicy and DeleteOptions, not %.*s (%.*s); "
		     "send application/json", (int)pb_len(e->kind), kind,
		     (int)pb_len(e->api_version), av) < 0)
		*err = NULL;
	return -ENOTSUP;
}

int api_protobuf_decode(const void *buf, size_t len, json_t **out, char **err)
{
	static const uint8_t magic[4] = {'k', '8', 's', 0};
	struct pb_envelope e;
	struct pb_ctx c = {0};
	*out = NULL;
	*err = NULL;
	memset(&e, 0, sizeof(e));
	if (len < 4 || memcmp(buf, magic, 4) != 0 ||
	    pb_unknown((struct pb){(const uint8_t *)buf + 4, (const uint8_t *)buf + len}, &e) < 0 ||
	    !e.raw.p) {
		*err = strdup("the body is not a Kubernetes protobuf object");
		return -EINVAL;
	}
	if (pb_len(e.encoding) || (pb_len(e.content_type) &&
				   !pb_equals(e.content_type, "application/vnd.kubernetes.protobuf"))) {
		*err = strdup("the protobuf body is encoded in a way we do not read");
		return -ENOTSUP;
	}
	const struct pb_kind *k = pb_find_kind(&e);
	if (!k)
		return pb_refuse_kind(&e, err);
	json_t *obj = json_object();
	if (!obj || pb_type_meta_json(&c, &e, obj) < 0 || pb_message(&c, k->msg, e.raw, obj) < 0) {
		json_decref(obj);
		if (asprintf(err, "the protobuf %s is malformed: %s", k->kind,
			     c.err ? c.err : "out of memory") < 0)
			*err = NULL;
		free(c.err);
		return c.ret == -ENOMEM || !c.err ? -ENOMEM : -EINVAL;
	}
	*out = obj;
	return 0;
}
