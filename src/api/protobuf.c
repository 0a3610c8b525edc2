/* protobuf.c: the one protobuf body kubectl sends us.
 *
 * kubectl 1.32's typed clients send built-in objects as Kubernetes
 * protobuf (Content-Type: application/vnd.kubernetes.protobuf) and do not
 * fall back to JSON, and `kubectl create namespace NAME` uses one. The
 * envelope is the magic "k8s\0" and a runtime.Unknown {typeMeta, raw};
 * raw is the object's own message. We decode Namespaces (metadata and
 * spec.finalizers) into the same JSON a client would have sent; other
 * kinds get 415 and come as JSON from every verb we support. */
#include "api_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pb {
	const uint8_t *p, *end;
};

struct pb_field {
	uint32_t num;
	uint32_t wire;
	uint64_t v;                  /* varint / fixed value */
	struct pb sub;               /* length-delimited payload */
};

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

/* Reads the next field; returns 1, 0 at the end, or -EINVAL. */
static int pb_next(struct pb *b, struct pb_field *f)
{
	uint64_t key, len;
	if (b->p == b->end)
		return 0;
	if (pb_varint(b, &key) < 0)
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

static json_t *pb_string(const struct pb_field *f)
{
	return json_stringn((const char *)f->sub.p, (size_t)(f->sub.end - f->sub.p));
}

/* A map<string,string> entry: {1: key, 2: value}. */
static int pb_map_entry(struct pb b, json_t *map)
{
	struct pb_field f;
	json_t *k = NULL, *v = NULL;
	int r;
	while ((r = pb_next(&b, &f)) > 0) {
		if (f.wire == 2 && f.num == 1)
			json_decref(k), k = pb_string(&f);
		else if (f.wire == 2 && f.num == 2)
			json_decref(v), v = pb_string(&f);
	}
	if (r == 0 && k && json_string_value(k))
		json_object_set_new(map, json_string_value(k), v ? json_incref(v) : json_string(""));
	json_decref(k);
	json_decref(v);
	return r < 0 || !k ? -EINVAL : 0;
}

static json_t *child(json_t *obj, const char *key, json_t *(*make)(void))
{
	json_t *c = json_object_get(obj, key);
	if (!c) {
		c = make();
		json_object_set_new(obj, key, c);
	}
	return c;
}

/* ObjectMeta: the fields a client may set. */
static int pb_object_meta(struct pb b, json_t *meta)
{
	static const char *const strings[] = {[1] = "name", [2] = "generateName", [3] = "namespace"};
	struct pb_field f;
	int r;
	while ((r = pb_next(&b, &f)) > 0) {
		if (f.wire != 2)
			continue;
		/* proto2 writes unset strings as "": keep only what was set */
		if (f.num >= 1 && f.num <= 3 && f.sub.end > f.sub.p)
			json_object_set_new(meta, strings[f.num], pb_string(&f));
		else if ((f.num == 11 || f.num == 12) &&
			 pb_map_entry(f.sub, child(meta, f.num == 11 ? "labels" : "annotations",
						   json_object)) < 0)
			return -EINVAL;
		else if (f.num == 14)
			json_array_append_new(child(meta, "finalizers", json_array), pb_string(&f));
	}
	return r;
}

static int pb_namespace(struct pb b, json_t *obj)
{
	struct pb_field f;
	int r;
	while ((r = pb_next(&b, &f)) > 0) {
		if (f.wire != 2)
			continue;
		if (f.num == 1 && pb_object_meta(f.sub, child(obj, "metadata", json_object)) < 0)
			return -EINVAL;
		if (f.num == 2) {
			struct pb s = f.sub;
			struct pb_field g;
			json_t *spec = child(obj, "spec", json_object);
			while ((r = pb_next(&s, &g)) > 0) {
				if (g.wire == 2 && g.num == 1)
					json_array_append_new(child(spec, "finalizers", json_array),
							      pb_string(&g));
			}
			if (r < 0)
				return r;
		}
	}
	return r;
}

/* runtime.Unknown: {1: TypeMeta {1: apiVersion, 2: kind}, 2: raw}. */
static int pb_unknown(struct pb b, char *kind, size_t klen, struct pb *raw)
{
	struct pb_field f, g;
	int r;
	*kind = 0;
	*raw = (struct pb){NULL, NULL};
	while ((r = pb_next(&b, &f)) > 0) {
		if (f.wire == 2 && f.num == 2)
			*raw = f.sub;
		if (f.wire != 2 || f.num != 1)
			continue;
		struct pb t = f.sub;
		while ((r = pb_next(&t, &g)) > 0) {
			size_t n = (size_t)(g.sub.end - g.sub.p);
			if (g.wire == 2 && g.num == 2 && n < klen) {
				memcpy(kind, g.sub.p, n);
				kind[n] = 0;
			}
		}
		if (r < 0)
			return r;
	}
	return r < 0 || !raw->p ? -EINVAL : 0;
}

int api_protobuf_decode(const void *buf, size_t len, json_t **out, char **err)
{
	static const uint8_t magic[4] = {'k', '8', 's', 0};
	char kind[64];
	struct pb raw, b = {(const uint8_t *)buf + 4, (const uint8_t *)buf + len};
	*err = NULL;
	if (len < 4 || memcmp(buf, magic, 4) != 0 || pb_unknown(b, kind, sizeof(kind), &raw) < 0) {
		*err = strdup("the body is not a Kubernetes protobuf object");
		return -EINVAL;
	}
	if (strcmp(kind, "Namespace") != 0) {
		if (asprintf(err, "protobuf bodies are accepted for Namespace only, not %s; "
			     "send application/json", kind) < 0)
			*err = NULL;
		return -ENOTSUP;
	}
	json_t *obj = json_pack("{s:s, s:s}", "apiVersion", "v1", "kind", "Namespace");
	if (pb_namespace(raw, obj) < 0) {
		json_decref(obj);
		*err = strdup("the protobuf Namespace is malformed");
		return -EINVAL;
	}
	*out = obj;
	return 0;
}
