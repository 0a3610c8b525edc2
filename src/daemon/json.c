/* json.c: small helpers for reading Kubernetes objects. */
#include "daemon_internal.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

static json_t *vget(json_t *obj, va_list ap)
{
	const char *k;
	while (obj && (k = va_arg(ap, const char *)))
		obj = json_object_get(obj, k);
	return obj;
}

json_t *jget(json_t *obj, ...)
{
	va_list ap;
	va_start(ap, obj);
	json_t *v = vget(obj, ap);
	va_end(ap);
	return v;
}

const char *jstr(json_t *obj, ...)
{
	va_list ap;
	va_start(ap, obj);
	json_t *v = vget(obj, ap);
	va_end(ap);
	return json_string_value(v);
}

const char *meta_name(json_t *obj)
{
	return jstr(obj, "metadata", "name", NULL);
}

const char *meta_ns(json_t *obj)
{
	return jstr(obj, "metadata", "namespace", NULL);
}

const char *meta_uid(json_t *obj)
{
	return jstr(obj, "metadata", "uid", NULL);
}

const char *annotation(json_t *obj, const char *key)
{
	return jstr(obj, "metadata", "annotations", key, NULL);
}

bool labels_match(json_t *sel, json_t *labels)
{
	const char *k;
	json_t *v;
	if (!json_is_object(sel) || json_object_size(sel) == 0)
		return false;
	json_object_foreach(sel, k, v) {
		const char *have = json_string_value(json_object_get(labels, k));
		if (!have || !json_is_string(v) || strcmp(have, json_string_value(v)) != 0)
			return false;
	}
	return true;
}

void daemon_now(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

bool daemon_pod_ready(json_t *pod)
{
	size_t i;
	json_t *c;
	json_array_foreach(jget(pod, "status", "conditions", NULL), i, c) {
		const char *t = jstr(c, "type", NULL), *st = jstr(c, "status", NULL);
		if (t && st && strcmp(t, "Ready") == 0)
			return strcmp(st, "True") == 0;
	}
	return false;
}
