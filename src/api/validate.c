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

static void free_decoded(enum store_resource r, void *obj)
{
	switch (r) {
	case STORE_NAMESPACES:
		namespace_free(obj);
		break;
	case STORE_PODS:
		pod_free(obj);
		break;
	case STORE_DEPLOYMENTS:
		deployment_free(obj);
		break;
	case STORE_SERVICES:
		service_free(obj);
		break;
	case STORE_NETWORKPOLICIES:
		policy_free(obj);
		break;
	case STORE_ENDPOINTS:
		break;
	}
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
	if (out)
		free_decoded(r, out);
	diag_list_clear(&diags);
	return json_array_size(causes) - before;
}

/* RFC 1123 subdomain: what Endpoints names must be (the decoder does not
 * model Endpoints). */
static bool dns_subdomain(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!(islower(ch) || isdigit(ch) || ch == '-' || ch == '.'))
			return false;
		if (ch == '.' && (!isalnum((unsigned char)s[i - 1]) || !isalnum((unsigned char)s[i + 1])))
			return false;
	}
	return true;
}

static size_t endpoints_causes(json_t *obj, json_t *causes)
{
	const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
	if (!name || !*name) {
		add_cause(causes, "FieldValueRequired", "metadata.name",
			  "Required value: name or generateName is required");
		return 1;
	}
	if (!dns_subdomain(name)) {
		char *msg = NULL;
		if (asprintf(&msg, "Invalid value: \"%s\": a lowercase RFC 1123 subdomain must "
			     "consist of lower case alphanumeric characters, '-' or '.', and must "
			     "start and end with an alphanumeric character", name) >= 0)
			add_cause(causes, "FieldValueInvalid", "metadata.name", msg);
		free(msg);
		return 1;
	}
	json_t *subsets = json_object_get(obj, "subsets");
	if (subsets && !json_is_array(subsets)) {
		add_cause(causes, "FieldValueInvalid", "subsets", "Invalid value: must be a list");
		return 1;
	}
	return 0;
}

size_t api_validate(enum store_resource r, json_t *obj, bool creating, json_t *causes)
{
	if (r == STORE_ENDPOINTS)
		return endpoints_causes(obj, causes);
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
