/* validate.c: server-side validation. Every object a client writes goes
 * through the same decoder and validator as the offline commands
 * (decode_json_object), so a manifest `netpol lint` accepts is one the
 * lab accepts and the other way round. Its diagnostics ("field: Reason:
 * detail") become the causes of a 422 Invalid Status. */
#include "api_internal.h"
#include "../decode/decode.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_cause(json_t *causes, const char *reason, const char *field,
		      const char *message)
{
	json_array_append_new(causes, json_pack("{s:s, s:s, s:s}", "reason", reason, "message",
						message, "field", field));
}

/* Kubernetes' cause reasons, from the message's "Reason:" part. */
static const char *cause_reason(const char *msg)
{
	static const struct {
		const char *prefix, *reason;
	} map[] = {
		{"Required value", "FieldValueRequired"},
		{"Unsupported value", "FieldValueNotSupported"},
		{"Duplicate value", "FieldValueDuplicate"},
		{"Forbidden", "FieldValueForbidden"},
		{"Too long", "FieldValueTooLong"},
		{"Too many", "FieldValueTooMany"},
		{"Invalid value", "FieldValueInvalid"},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strncmp(msg, map[i].prefix, strlen(map[i].prefix)) == 0)
			return map[i].reason;
	}
	return "FieldValueInvalid";
}

/* "spec.ports[0].port: Invalid value: 0: must be ..." → field + message. */
static void cause_from_diag(json_t *causes, const char *msg)
{
	const char *sep = strstr(msg, ": ");
	bool is_path = sep && sep != msg;
	for (const char *p = msg; is_path && p < sep; p++)
		is_path = !isspace((unsigned char)*p) && *p != '"';
	if (!is_path) {
		add_cause(causes, cause_reason(msg), "", msg);
		return;
	}
	char *field = strndup(msg, (size_t)(sep - msg));
	add_cause(causes, cause_reason(sep + 2), field ? field : "", sep + 2);
	free(field);
}

static size_t decode_causes(enum store_resource r, json_t *obj, json_t *causes)
{
	struct diag_list diags = {0};
	void *out = NULL;
	int ret = decode_json_object(obj, store_resource_kind(r), &out, &diags);
	size_t before = json_array_size(causes);
	for (size_t i = 0; i < diags.n; i++) {
		if (diags.items[i].level == DIAG_ERROR)
			cause_from_diag(causes, diags.items[i].msg);
	}
	if (ret < 0 && json_array_size(causes) == before)
		add_cause(causes, "FieldValueInvalid", "",
			  ret == -ENOMEM ? "out of memory" : "the object is invalid");
	decode_object_free(store_resource_kind(r), out);
	diag_list_clear(&diags);
	return json_array_size(causes) - before;
}

/* The reader refuses bodies nested deeper than DECODE_MAX_DEPTH; a patch
 * can still build a deeper object (a JSON patch copying a subtree into
 * itself), which is held to the same limit: deep enough for every kind we
 * serve, and far from the 2048 levels jansson can read back, past which a
 * stored object would break every LIST and watch that includes it. */
static size_t depth_of(json_t *v, size_t limit)
{
	size_t max = 0, d;
	const char *key;
	json_t *e;
	if (limit == 0)
		return 1;
	if (json_is_object(v)) {
		json_object_foreach(v, key, e)
			if ((d = depth_of(e, limit - 1)) > max)
				max = d;
	} else if (json_is_array(v)) {
		size_t i;
		json_array_foreach(v, i, e)
			if ((d = depth_of(e, limit - 1)) > max)
				max = d;
	} else {
		return 0;
	}
	return max + 1;
}

static bool too_deep(json_t *obj, json_t *causes)
{
	if (depth_of(obj, DECODE_MAX_DEPTH) <= DECODE_MAX_DEPTH)
		return false;
	char msg[128];
	snprintf(msg, sizeof(msg), "Too long: must have at most %d levels of nesting",
		 DECODE_MAX_DEPTH);
	add_cause(causes, "FieldValueTooLong", "<object>", msg);
	return true;
}

size_t api_validate(enum store_resource r, json_t *obj, bool creating, json_t *causes)
{
	if (too_deep(obj, causes))
		return 1;
	json_t *meta = json_object_get(obj, "metadata");
	const char *gen = json_string_value(json_object_get(meta, "generateName"));
	const char *name = json_string_value(json_object_get(meta, "name"));
	if (!creating || !gen || (name && *name))
		return decode_causes(r, obj, causes);
	/* generateName: validate with a name of the shape the store makes */
	json_t *copy = json_deep_copy(obj);
	char *made = NULL;
	size_t n = 0;
	if (copy && asprintf(&made, "%sbcdfg", gen) >= 0) {
		json_object_set_new(json_object_get(copy, "metadata"), "name", json_string(made));
		n = decode_causes(r, copy, causes);
	}
	free(made);
	json_decref(copy);
	return n;
}
