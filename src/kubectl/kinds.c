/* kinds.c: the kinds the lab serves, their names as kubectl spells them,
 * API paths, and small value helpers (labels, selectors). */
#include "kctl.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct kkind kinds[] = {
	{"pods", "pod", "Pod", "", "/api/v1", "v1", "po", true},
	{"services", "service", "Service", "", "/api/v1", "v1", "svc", true},
	{"deployments", "deployment", "Deployment", "apps", "/apis/apps/v1", "apps/v1", "deploy", true},
	{"endpoints", "endpoints", "Endpoints", "", "/api/v1", "v1", "ep", true},
	{"namespaces", "namespace", "Namespace", "", "/api/v1", "v1", "ns", false},
	{"networkpolicies", "networkpolicy", "NetworkPolicy", "networking.k8s.io",
	 "/apis/networking.k8s.io/v1", "networking.k8s.io/v1", "netpol", true},
};

const struct kkind *kctl_kinds(size_t *n)
{
	*n = sizeof(kinds) / sizeof(kinds[0]);
	return kinds;
}

const struct kkind *kctl_kind(const char *name)
{
	char base[128];
	snprintf(base, sizeof(base), "%s", name);
	char *dot = strchr(base, '.');
	const char *group = dot ? dot + 1 : NULL;
	if (dot)
		*dot = 0;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const struct kkind *kk = &kinds[i];
		if (strcasecmp(base, kk->resource) && strcasecmp(base, kk->singular) &&
		    strcasecmp(base, kk->alias) && strcasecmp(base, kk->kind))
			continue;
		/* "deployments.apps", "deployments.v1.apps" */
		if (group && !strstr(group, kk->group))
			continue;
		if (group && !*kk->group)
			continue;
		return kk;
	}
	return NULL;
}

const struct kkind *kctl_kind_of_object(json_t *obj)
{
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	const char *av = json_string_value(json_object_get(obj, "apiVersion"));
	for (size_t i = 0; kind && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kind, kinds[i].kind) == 0 && (!av || strcmp(av, kinds[i].version) == 0))
			return &kinds[i];
	return NULL;
}

void kctl_kind_qualified(const struct kkind *kk, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", kk->singular, *kk->group ? "." : "", kk->group);
}

void kctl_resource_qualified(const struct kkind *kk, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", kk->resource, *kk->group ? "." : "", kk->group);
}

char *kctl_path(const struct kkind *kk, const char *ns, const char *name, const char *query)
{
	char *p = NULL;
	int n;
	if (kk->namespaced && ns)
		n = asprintf(&p, "%s/namespaces/%s/%s%s%s%s%s", kk->api, ns, kk->resource,
			     name ? "/" : "", name ? name : "", query ? "?" : "", query ? query : "");
	else
		n = asprintf(&p, "%s/%s%s%s%s%s", kk->api, kk->resource, name ? "/" : "",
			     name ? name : "", query ? "?" : "", query ? query : "");
	return n < 0 ? NULL : p;
}

char *kctl_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(strlen(s) * 3 + 1), *o = out;
	if (!out)
		return NULL;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		    strchr("-_.~", *c)) {
			*o++ = (char)*c;
		} else {
			*o++ = '%';
			*o++ = hex[*c >> 4];
			*o++ = hex[*c & 15];
		}
	}
	*o = 0;
	return out;
}

const char *kctl_str(json_t *obj, const char *path)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	char *save = NULL;
	for (char *p = strtok_r(buf, ".", &save); p && obj; p = strtok_r(NULL, ".", &save))
		obj = json_object_get(obj, p);
	return json_string_value(obj);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted "k=v" joined with sep; "" when empty. */
static char *join_pairs(json_t *map, const char *sep)
{
	size_t n = json_object_size(map), i = 0, total = 1;
	const char **keys = calloc(n + 1, sizeof(*keys));
	const char *key;
	json_t *v;
	json_object_foreach(map, key, v) {
		keys[i++] = key;
		total += strlen(key) + strlen(sep) + 1 + (json_string_value(v) ? strlen(json_string_value(v)) : 0);
	}
	qsort(keys, n, sizeof(*keys), cmp_str);
	char *out = calloc(1, total);
	for (i = 0; out && i < n; i++) {
		const char *s = json_string_value(json_object_get(map, keys[i]));
		if (i)
			strcat(out, sep);
		strcat(out, keys[i]);
		strcat(out, "=");
		strcat(out, s ? s : "");
	}
	free(keys);
	return out;
}

char *kctl_labels_string(json_t *labels)
{
	if (json_object_size(labels) == 0)
		return strdup("<none>");
	return join_pairs(labels, ",");
}

static void append(char **out, const char *fmt, const char *a, const char *b)
{
	char *piece = NULL, *joined = NULL;
	if (asprintf(&piece, fmt, a, b) < 0)
		return;
	if (asprintf(&joined, "%s%s%s", *out ? *out : "", *out && **out ? "," : "", piece) >= 0) {
		free(*out);
		*out = joined;
	}
	free(piece);
}

/* metav1.FormatLabelSelector: "<none>" for an empty selector. */
char *kctl_selector_string(json_t *sel)
{
	char *out = join_pairs(json_object_get(sel, "matchLabels"), ",");
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(sel, "matchExpressions"), i, e) {
		const char *key = kctl_str(e, "key"), *op = kctl_str(e, "operator");
		if (!key || !op)
			continue;
		if (strcmp(op, "Exists") == 0) {
			append(&out, "%s%s", key, "");
			continue;
		}
		if (strcmp(op, "DoesNotExist") == 0) {
			append(&out, "!%s%s", key, "");
			continue;
		}
		json_t *vals = json_object_get(e, "values");
		char *list = strdup("");
		size_t j;
		json_t *v;
		json_array_foreach(vals, j, v) {
			char *l = NULL;
			if (asprintf(&l, "%s%s%s", list, j ? "," : "", json_string_value(v)) >= 0) {
				free(list);
				list = l;
			}
		}
		char pre[300];
		snprintf(pre, sizeof(pre), "%s %s", key, strcmp(op, "In") == 0 ? "in" : "notin");
		append(&out, "%s (%s)", pre, list);
		free(list);
	}
	if (!out || !*out) {
		free(out);
		return strdup("<none>");
	}
	return out;
}

json_t *kctl_parse_labels(const char *text)
{
	json_t *out = json_object();
	char *copy = strdup(text), *save = NULL;
	for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq || eq == kv) {
			kctl_error("invalid label spec: %s", kv);
			json_decref(out);
			free(copy);
			return NULL;
		}
		*eq = 0;
		json_object_set_new(out, kv, json_string(eq + 1));
	}
	free(copy);
	return out;
}
