/* patch.c: the three PATCH formats kubectl sends.
 *
 * JSON merge patch (RFC 7386): kubectl label/annotate and
 * `kubectl patch --type=merge`.
 * Strategic merge patch: kubectl apply for built-in kinds. Like a merge
 * patch, except that some lists are merged by a key (containers by name,
 * container ports by containerPort, Service ports by port, ...) instead
 * of replaced, and the $patch, $retainKeys, $setElementOrder and
 * $deleteFromPrimitiveList directives. The keys below are the
 * patchMergeKey tags of the Kubernetes types we serve.
 * JSON patch (RFC 6902): `kubectl patch --type=json`. */
#include "api_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- JSON merge patch ---------------------------------------------------------- */

json_t *api_merge_patch(json_t *target, json_t *patch)
{
	if (!json_is_object(patch))
		return json_deep_copy(patch);
	json_t *res = json_is_object(target) ? json_deep_copy(target) : json_object();
	const char *key;
	json_t *v;
	json_object_foreach(patch, key, v) {
		if (json_is_null(v))
			json_object_del(res, key);
		else
			json_object_set_new(res, key, api_merge_patch(json_object_get(res, key), v));
	}
	return res;
}

/* ---- strategic merge patch ------------------------------------------------------- */

struct merge_key {
	const char *path, *key;
};

/* Paths relative to a pod spec (a Pod's spec, a Deployment's template). */
static const struct merge_key pod_spec_keys[] = {
	{"containers", "name"}, {"initContainers", "name"}, {"ephemeralContainers", "name"},
	{"volumes", "name"}, {"imagePullSecrets", "name"}, {"hostAliases", "ip"},
	{"topologySpreadConstraints", "topologyKey"}, {"resourceClaims", "name"},
	{"schedulingGates", "name"},
	{"containers.ports", "containerPort"}, {"initContainers.ports", "containerPort"},
	{"ephemeralContainers.ports", "containerPort"},
	{"containers.env", "name"}, {"initContainers.env", "name"},
	{"ephemeralContainers.env", "name"},
	{"containers.volumeMounts", "mountPath"}, {"initContainers.volumeMounts", "mountPath"},
	{"ephemeralContainers.volumeMounts", "mountPath"},
	{"containers.volumeDevices", "devicePath"}, {"initContainers.volumeDevices", "devicePath"},
	{NULL, NULL},
};

static const struct merge_key object_keys[] = {
	{"metadata.ownerReferences", "uid"}, {"status.conditions", "type"},
	{"status.podIPs", "ip"}, {"status.hostIPs", "ip"}, {NULL, NULL},
};

static const char *find_key(const struct merge_key *t, const char *path)
{
	for (; t->path; t++) {
		if (strcmp(t->path, path) == 0)
			return t->key;
	}
	return NULL;
}

/* The merge key of the list at path, or NULL when the list is replaced. */
static const char *list_merge_key(enum store_resource r, const char *path)
{
	if (r == STORE_PODS && strncmp(path, "spec.", 5) == 0)
		return find_key(pod_spec_keys, path + 5);
	if (r == STORE_DEPLOYMENTS && strncmp(path, "spec.template.spec.", 19) == 0)
		return find_key(pod_spec_keys, path + 19);
	if (r == STORE_SERVICES && strcmp(path, "spec.ports") == 0)
		return "port";
	return find_key(object_keys, path);
}

/* Lists of scalars merged as sets rather than replaced. */
static bool primitive_merge_list(const char *path)
{
	return strcmp(path, "metadata.finalizers") == 0;
}

struct smp {
	enum store_resource r;
	char **err;
};

static int smp_fail(struct smp *c, const char *fmt, const char *arg)
{
	if (!*c->err && asprintf(c->err, fmt, arg) < 0)
		*c->err = NULL;
	return -EINVAL;
}

static int smp_map(struct smp *c, json_t *target, json_t *patch, const char *path);

static const char *directive(json_t *v)
{
	return json_string_value(json_object_get(v, "$patch"));
}

/* A patch value with its directives applied to nothing: what is stored
 * when the target has no value there yet. */
static json_t *smp_fresh(struct smp *c, json_t *v, const char *path)
{
	if (!json_is_object(v))
		return json_deep_copy(v);
	json_t *o = json_object();
	if (smp_map(c, o, v, path) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static char *child_path(const char *path, const char *key)
{
	char *p = NULL;
	if (asprintf(&p, "%s%s%s", path, *path ? "." : "", key) < 0)
		return NULL;
	return p;
}

static long find_by_key(json_t *list, const char *mk, json_t *kv)
{
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e) {
		if (json_equal(json_object_get(e, mk), kv))
			return (long)i;
	}
	return -1;
}

static long find_value(json_t *list, json_t *v)
{
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e) {
		if (json_equal(e, v))
			return (long)i;
	}
	return -1;
}

/* {"$patch": "replace"} in a list: the list becomes the other elements. */
static bool list_replaces(json_t *patch)
{
	size_t i;
	json_t *e;
	json_array_foreach(patch, i, e) {
		const char *d = directive(e);
		if (d && strcmp(d, "replace") == 0)
			return true;
	}
	return false;
}

static int merge_element(struct smp *c, json_t *res, json_t *e, const char *mk,
			 const char *path)
{
	if (!json_is_object(e)) {
		if (!mk && find_value(res, e) >= 0)
			return 0;
		return json_array_append(res, e);
	}
	json_t *kv = json_object_get(e, mk);
	const char *d = directive(e);
	if (!kv)
		return smp_fail(c, "%s: an element of a merged list lacks its merge key", path);
	long at = find_by_key(res, mk, kv);
	if (d && strcmp(d, "delete") == 0) {
		while ((at = find_by_key(res, mk, kv)) >= 0)
			json_array_remove(res, (size_t)at);
		return 0;
	}
	if (at >= 0)
		return smp_map(c, json_array_get(res, (size_t)at), e, path);
	json_t *fresh = smp_fresh(c, e, path);
	return fresh ? json_array_append_new(res, fresh) : -EINVAL;
}

/* Merges patch into the list target (which may be absent); mk is the
 * merge key, NULL for a list of scalars merged as a set. */
static json_t *smp_list(struct smp *c, json_t *target, json_t *patch, const char *mk,
			const char *path)
{
	bool replace = list_replaces(patch);
	json_t *res = json_is_array(target) && !replace ? json_deep_copy(target) : json_array();
	size_t i;
	json_t *e;
	json_array_foreach(patch, i, e) {
		const char *d = directive(e);
		if (replace && d && strcmp(d, "replace") == 0)
			continue;
		int ret = replace ? json_array_append(res, e) : merge_element(c, res, e, mk, path);
		if (ret < 0) {
			json_decref(res);
			return NULL;
		}
	}
	return res;
}

static int patch_list_field(struct smp *c, json_t *target, const char *key, json_t *v,
			    const char *path)
{
	const char *mk = list_merge_key(c->r, path);
	json_t *res;
	if (mk || primitive_merge_list(path))
		res = smp_list(c, json_object_get(target, key), v, mk, path);
	else
		res = json_deep_copy(v);
	if (!res)
		return -EINVAL;
	return json_object_set_new(target, key, res);
}

/* $deleteFromPrimitiveList/FIELD: [values] removes values from FIELD. */
static void delete_from_list(json_t *target, const char *field, json_t *values)
{
	json_t *list = json_object_get(target, field);
	size_t i;
	json_t *v;
	json_array_foreach(values, i, v) {
		long at;
		while ((at = find_value(list, v)) >= 0)
			json_array_remove(list, (size_t)at);
	}
}

static void retain_keys(json_t *target, json_t *keep)
{
	const char *key;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(target, tmp, key, v) {
		bool kept = false;
		size_t i;
		json_t *k;
		json_array_foreach(keep, i, k)
			kept = kept || (json_is_string(k) && strcmp(json_string_value(k), key) == 0);
		if (!kept)
			json_object_del(target, key);
	}
}

static int patch_field(struct smp *c, json_t *target, const char *key, json_t *v,
		       const char *path)
{
	const char *d = json_is_object(v) ? directive(v) : NULL;
	json_t *cur = json_object_get(target, key);
	if (json_is_null(v) || (d && strcmp(d, "delete") == 0)) {
		json_object_del(target, key);
		return 0;
	}
	if (json_is_array(v))
		return patch_list_field(c, target, key, v, path);
	if (json_is_object(v) && json_is_object(cur) && !(d && strcmp(d, "replace") == 0))
		return smp_map(c, cur, v, path);
	json_t *fresh = smp_fresh(c, v, path);
	return fresh ? json_object_set_new(target, key, fresh) : -EINVAL;
}

static bool all_strings(json_t *list)
{
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e)
		if (!json_is_string(e))
			return false;
	return json_is_array(list);
}

/* The directives a map may hold, with values of their shape; anything
 * else starting with '$' is refused, never stored as a field. */
static int smp_check_directives(struct smp *c, json_t *patch)
{
	const char *key;
	json_t *v;
	json_object_foreach(patch, key, v) {
		if (key[0] != '$')
			continue;
		if (strcmp(key, "$patch") == 0 && !json_is_string(v))
			return smp_fail(c, "%s: the value must be a string", key);
		if (strcmp(key, "$retainKeys") == 0 && !all_strings(v))
			return smp_fail(c, "%s: the value must be a list of strings", key);
		if ((strncmp(key, "$setElementOrder/", 17) == 0 ||
		     strncmp(key, "$deleteFromPrimitiveList/", 25) == 0) && !json_is_array(v))
			return smp_fail(c, "%s: the value must be a list", key);
		if (strcmp(key, "$patch") != 0 && strcmp(key, "$retainKeys") != 0 &&
		    strncmp(key, "$setElementOrder/", 17) != 0 &&
		    strncmp(key, "$deleteFromPrimitiveList/", 25) != 0)
			return smp_fail(c, "unknown patch directive \"%s\"", key);
	}
	return 0;
}

/* $setElementOrder/FIELD: [entries]: the elements an entry names (by
 * merge key, or by value in a list of scalars) come first, in the order
 * given; the others follow in the order they had. */
static void set_element_order(struct smp *c, json_t *target, const char *field,
			      json_t *order, const char *path)
{
	json_t *list = json_object_get(target, field), *sorted = json_array();
	char *p = child_path(path, field);
	const char *mk = p ? list_merge_key(c->r, p) : NULL;
	size_t i;
	json_t *e;
	free(p);
	if (!json_is_array(list) || !sorted) {
		json_decref(sorted);
		return;
	}
	json_array_foreach(order, i, e) {
		long at = mk && json_is_object(e) ? find_by_key(list, mk, json_object_get(e, mk))
						  : find_value(list, e);
		if (at < 0)
			continue;
		json_array_append(sorted, json_array_get(list, (size_t)at));
		json_array_remove(list, (size_t)at);
	}
	json_array_extend(sorted, list);
	json_object_set_new(target, field, sorted);
}

static void set_element_orders(struct smp *c, json_t *target, json_t *patch, const char *path)
{
	const char *key;
	json_t *v;
	json_object_foreach(patch, key, v)
		if (strncmp(key, "$setElementOrder/", 17) == 0)
			set_element_order(c, target, key + 17, v, path);
}

static int smp_map(struct smp *c, json_t *target, json_t *patch, const char *path)
{
	const char *d = directive(patch);
	if (smp_check_directives(c, patch) < 0)
		return -EINVAL;
	if (d && strcmp(d, "replace") == 0)
		json_object_clear(target);
	else if (d && strcmp(d, "merge") != 0)
		return smp_fail(c, "unknown patch directive \"%s\"", d);
	const char *key;
	json_t *v;
	int ret = 0;
	json_object_foreach(patch, key, v) {
		if (ret < 0)
			break;
		if (strcmp(key, "$patch") == 0 || strcmp(key, "$retainKeys") == 0 ||
		    strncmp(key, "$setElementOrder/", 17) == 0)
			continue;
		if (strncmp(key, "$deleteFromPrimitiveList/", 25) == 0) {
			delete_from_list(target, key + 25, v);
			continue;
		}
		char *p = child_path(path, key);
		ret = p ? patch_field(c, target, key, v, p) : -ENOMEM;
		free(p);
	}
	json_t *keep = json_object_get(patch, "$retainKeys");
	if (ret == 0 && json_is_array(keep))
		retain_keys(target, keep);
	if (ret == 0)
		set_element_orders(c, target, patch, path);
	return ret;
}

int api_strategic_merge_patch(enum store_resource r, json_t *obj, json_t *patch,
			      char **err)
{
	struct smp c = {.r = r, .err = err};
	*err = NULL;
	if (!json_is_object(patch))
		return smp_fail(&c, "%s", "a strategic merge patch must be a JSON object");
	return smp_map(&c, obj, patch, "");
}

/* ---- JSON patch ------------------------------------------------------------------ */

static int jp_fail(char **err, const char *fmt, const char *arg)
{
	if (!*err && asprintf(err, fmt, arg ? arg : "") < 0)
		*err = NULL;
	return -EINVAL;
}

/* Unescapes one reference token (~1 is '/', ~0 is '~') in place. */
static void unescape_token(char *t)
{
	char *w = t;
	for (char *r = t; *r; r++) {
		if (r[0] == '~' && r[1] == '1')
			*w++ = '/', r++;
		else if (r[0] == '~' && r[1] == '0')
			*w++ = '~', r++;
		else
			*w++ = *r;
	}
	*w = 0;
}

static bool array_index(const char *tok, size_t limit, size_t *out)
{
	char *end;
	if (!*tok || (tok[0] == '0' && tok[1]) || tok[0] == '-' || tok[0] == '+')
		return false;
	unsigned long v = strtoul(tok, &end, 10);
	if (*end || v > limit)
		return false;
	*out = v;
	return true;
}

/* Finds the container of the value at ptr; *last gets the final token
 * (points into buf). Returns NULL when a step does not exist. */
static json_t *jp_parent(json_t *doc, const char *ptr, char *buf, size_t len, char **last)
{
	if (ptr[0] != '/' || strlen(ptr) >= len)
		return NULL;
	strcpy(buf, ptr + 1);
	json_t *cur = doc;
	char *tok = buf;
	for (char *slash; (slash = strchr(tok, '/')); tok = slash + 1) {
		*slash = 0;
		unescape_token(tok);
		size_t i;
		if (json_is_object(cur))
			cur = json_object_get(cur, tok);
		else if (json_is_array(cur) && array_index(tok, json_array_size(cur) - 1, &i))
			cur = json_array_get(cur, i);
		else
			return NULL;
	}
	unescape_token(tok);
	*last = tok;
	return cur;
}

static json_t *jp_get(json_t *doc, const char *ptr)
{
	char buf[1024], *last;
	if (!*ptr)
		return doc;
	json_t *parent = jp_parent(doc, ptr, buf, sizeof(buf), &last);
	size_t i;
	if (json_is_object(parent))
		return json_object_get(parent, last);
	if (json_is_array(parent) && json_array_size(parent) &&
	    array_index(last, json_array_size(parent) - 1, &i))
		return json_array_get(parent, i);
	return NULL;
}

/* add (replace=false) or replace: takes a reference to v. */
static int jp_put(json_t **doc, const char *ptr, json_t *v, bool replace, char **err)
{
	char buf[1024], *last;
	if (!*ptr) {
		json_decref(*doc);
		*doc = v;
		return 0;
	}
	json_t *parent = jp_parent(*doc, ptr, buf, sizeof(buf), &last);
	size_t i, n = json_array_size(parent);
	int ret = -EINVAL;
	if (json_is_object(parent) && (!replace || json_object_get(parent, last)))
		ret = json_object_set_new(parent, last, v);
	else if (json_is_array(parent) && replace && n && array_index(last, n - 1, &i))
		ret = json_array_set_new(parent, i, v);
	else if (json_is_array(parent) && !replace && strcmp(last, "-") == 0)
		ret = json_array_append_new(parent, v);
	else if (json_is_array(parent) && !replace && array_index(last, n, &i))
		ret = json_array_insert_new(parent, i, v);
	else
		json_decref(v);
	return ret < 0 ? jp_fail(err, "the path \"%s\" does not exist", ptr) : 0;
}

static int jp_remove(json_t *doc, const char *ptr, char **err)
{
	char buf[1024], *last;
	json_t *parent = *ptr ? jp_parent(doc, ptr, buf, sizeof(buf), &last) : NULL;
	size_t i, n = json_array_size(parent);
	if (json_is_object(parent) && json_object_del(parent, last) == 0)
		return 0;
	if (json_is_array(parent) && n && array_index(last, n - 1, &i))
		return json_array_remove(parent, i);
	return jp_fail(err, "the path \"%s\" does not exist", ptr);
}

static int jp_op(json_t **doc, json_t *op, char **err)
{
	const char *name = json_string_value(json_object_get(op, "op"));
	const char *path = json_string_value(json_object_get(op, "path"));
	const char *from = json_string_value(json_object_get(op, "from"));
	json_t *value = json_object_get(op, "value");
	if (!name || !path)
		return jp_fail(err, "%s", "a JSON patch operation needs \"op\" and \"path\"");
	bool needs_value = strcmp(name, "add") == 0 || strcmp(name, "replace") == 0 ||
			   strcmp(name, "test") == 0;
	if (needs_value && !value)
		return jp_fail(err, "operation \"%s\" needs a \"value\"", name);
	if (strcmp(name, "add") == 0 || strcmp(name, "replace") == 0)
		return jp_put(doc, path, json_deep_copy(value), name[0] == 'r', err);
	if (strcmp(name, "remove") == 0)
		return jp_remove(*doc, path, err);
	if (strcmp(name, "test") == 0)
		return json_equal(jp_get(*doc, path), value) ? 0
			: jp_fail(err, "test of \"%s\" failed", path);
	json_t *src = from ? jp_get(*doc, from) : NULL;
	if (!src)
		return jp_fail(err, "the \"from\" path \"%s\" does not exist", from);
	if (strcmp(name, "copy") == 0)
		return jp_put(doc, path, json_deep_copy(src), false, err);
	if (strcmp(name, "move") == 0) {
		json_incref(src);
		if (jp_remove(*doc, from, err) < 0) {
			json_decref(src);
			return -EINVAL;
		}
		return jp_put(doc, path, src, false, err);
	}
	return jp_fail(err, "unknown JSON patch operation \"%s\"", name);
}

/* Which operation failed, as a client needs to know in a long patch:
 * "json patch operation 2 (replace) failed: ...". */
static int jp_name_op(char **err, size_t i, json_t *op)
{
	const char *name = json_string_value(json_object_get(op, "op"));
	char *msg = NULL;
	if (asprintf(&msg, "json patch operation %zu (%s) failed: %s", i, name ? name : "?",
		     *err ? *err : "it cannot be applied") >= 0) {
		free(*err);
		*err = msg;
	}
	return -EINVAL;
}

int api_json_patch(json_t *doc, json_t *ops, json_t **out, char **err)
{
	*err = NULL;
	if (!json_is_array(ops))
		return jp_fail(err, "%s", "a JSON patch must be an array of operations");
	json_t *res = json_deep_copy(doc);
	size_t i;
	json_t *op;
	json_array_foreach(ops, i, op) {
		if (jp_op(&res, op, err) < 0) {
			json_decref(res);
			return jp_name_op(err, i, op);
		}
	}
	*out = res;
	return 0;
}
