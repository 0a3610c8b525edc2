/* status.c: errors as Kubernetes Status objects, with the codes, reasons
 * and messages kubectl shows ("Error from server (NotFound): ..."). */
#include "api_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the UTF-8 sequence at s (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
		   : (c & 0xf8) == 0xf0 ? 4 : 0;
	if (len == 0 || len > n || c == 0xc0 || c == 0xc1 || c > 0xf4)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
		return 0;
	return len;
}

bool api_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0, len; i < n; i += len)
		if (!(len = utf8_seq(p + i, n - i)))
			return false;
	return true;
}

/* Messages echo what clients sent; bytes that are not UTF-8 become '?'
 * so that the Status can always be written as JSON. */
static void utf8_sanitize(char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0, len; i < n; i += len) {
		if (!(len = utf8_seq((unsigned char *)s + i, n - i))) {
			s[i] = '?';
			len = 1;
		}
	}
}

static json_t *status_v(int code, const char *reason, const char *fmt, va_list ap)
{
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	if (msg)
		utf8_sanitize(msg);
	json_t *st = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status",
			       "apiVersion", "v1", "metadata", "status", "Failure", "message",
			       msg ? msg : reason, "reason", reason, "code", code);
	free(msg);
	return st;
}

json_t *api_status(int code, const char *reason, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_t *st = status_v(code, reason, fmt, ap);
	va_end(ap);
	return st;
}

void api_fail(struct api_response *resp, int code, const char *reason,
	      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_decref(resp->body);
	resp->body = status_v(code, reason, fmt, ap);
	resp->code = code;
	resp->content_type = NULL;
	va_end(ap);
}

void api_status_details(json_t *status, const char *name, const char *group,
			const char *kind)
{
	json_t *d = json_object();
	if (name)
		json_object_set_new(d, "name", json_string(name));
	if (group && *group)
		json_object_set_new(d, "group", json_string(group));
	if (kind)
		json_object_set_new(d, "kind", json_string(kind));
	json_object_set_new(status, "details", d);
}

const char *api_resource_group(enum store_resource r)
{
	const char *gv = store_resource_api_version(r);
	static const char *const groups[] = {"", "apps", "networking.k8s.io"};
	if (strcmp(gv, "apps/v1") == 0)
		return groups[1];
	if (strcmp(gv, "networking.k8s.io/v1") == 0)
		return groups[2];
	return groups[0];
}

/* "pods" or "deployments.apps", as Kubernetes names a resource in errors. */
static void qualified(enum store_resource r, char *buf, size_t len)
{
	const char *g = api_resource_group(r);
	snprintf(buf, len, "%s%s%s", store_resource_name(r), *g ? "." : "", g);
}

void api_fail_store(struct api_response *resp, int err, enum store_resource r,
		    const char *name)
{
	char res[64];
	qualified(r, res, sizeof(res));
	switch (err) {
	case -ENOENT:
		api_fail(resp, 404, "NotFound", "%s \"%s\" not found", res, name);
		break;
	case -EEXIST:
		api_fail(resp, 409, "AlreadyExists", "%s \"%s\" already exists", res, name);
		break;
	case -ESTALE:
		api_fail(resp, 409, "Conflict",
			 "Operation cannot be fulfilled on %s \"%s\": the object has been "
			 "modified; please apply your changes to the latest version and try again",
			 res, name);
		break;
	case -EINVAL:
		api_fail(resp, 400, "BadRequest", "the object is malformed");
		return;
	case -ENOSPC:
	case -EDQUOT:
		/* 507, as WebDAV: kubectl shows the reason and the message */
		api_fail(resp, 507, "InsufficientStorage",
			 "the disk of the store is full: creates and updates are refused until "
			 "there is space again; deletes still work");
		return;
	case -EUCLEAN:
		api_fail(resp, 500, "InternalError",
			 "Internal error occurred: the store's database is corrupt, so it accepts "
			 "no more writes; restart netpol serve, which checks the database and says "
			 "how to recover");
		return;
	default:
		api_fail(resp, 500, "InternalError",
			 "Internal error occurred: the store failed: %s", strerror(-err));
		return;
	}
	api_status_details(resp->body, name, api_resource_group(r), store_resource_name(r));
}

/* "[a, b]" when there are several causes, as Kubernetes' aggregate. */
static char *join_causes(json_t *causes)
{
	size_t n = json_array_size(causes), len = 3, i;
	json_t *c;
	json_array_foreach(causes, i, c) {
		len += strlen(json_string_value(json_object_get(c, "field")) ?: "") + 2;
		len += strlen(json_string_value(json_object_get(c, "message")) ?: "") + 2;
	}
	char *out = calloc(1, len);
	if (!out)
		return NULL;
	if (n > 1)
		strcat(out, "[");
	json_array_foreach(causes, i, c) {
		const char *field = json_string_value(json_object_get(c, "field"));
		if (i)
			strcat(out, ", ");
		if (field && *field) {
			strcat(out, field);
			strcat(out, ": ");
		}
		strcat(out, json_string_value(json_object_get(c, "message")) ?: "");
	}
	if (n > 1)
		strcat(out, "]");
	return out;
}

void api_fail_invalid(struct api_response *resp, enum store_resource r,
		      const char *name, json_t *causes)
{
	char *joined = join_causes(causes);
	api_fail(resp, 422, "Invalid", "%s \"%s\" is invalid: %s", store_resource_kind(r),
		 name ? name : "", joined ? joined : "");
	free(joined);
	api_status_details(resp->body, name, api_resource_group(r), store_resource_kind(r));
	json_object_set(json_object_get(resp->body, "details"), "causes", causes);
}
