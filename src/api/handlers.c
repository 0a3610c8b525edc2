/* handlers.c: routes a request to a resource and a verb, and the verbs:
 * list, watch, get, create, update, patch, delete, deletecollection. */
#include "api_internal.h"
#include "decode/decode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers --------------------------------------------------------------- */

void api_logf(struct api *api, enum api_log_level level, const char *fmt, ...)
{
	if (!api->log)
		return;
	char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) >= 0)
		api->log(api->log_ctx, level, msg);
	va_end(ap);
	free(msg);
}

const char *api_query_get(const struct api_request *req, const char *key)
{
	for (size_t i = 0; i < req->nquery; i++) {
		if (strcmp(req->query[i].key, key) == 0)
			return req->query[i].value ? req->query[i].value : "";
	}
	return NULL;
}

static bool query_true(const struct api_request *req, const char *key)
{
	const char *v = api_query_get(req, key);
	return v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

void api_response_clear(struct api_response *resp)
{
	json_decref(resp->body);
	api_watch_free(resp->watch);
	memset(resp, 0, sizeof(*resp));
}

/* Table rows carry the whole object only when asked (kubectl --sort-by). */
static bool full_objects(const struct api_request *req)
{
	const char *v = api_query_get(req, "includeObject");
	return v && strcmp(v, "Object") == 0;
}

static void reply(struct api_response *resp, int code, json_t *body)
{
	resp->code = code;
	resp->body = body;
}

static const char *meta_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

/* ---- routing ------------------------------------------------------------------------ */

struct route {
	enum store_resource r;
	const char *ns;              /* NULL: cluster-scoped or all namespaces */
	const char *name;            /* NULL: the collection */
	bool status;                 /* the /status subresource */
	bool watch;                  /* the legacy /watch/ prefix */
};

#define MAX_SEGS 10

/* Returns the segment count, MAX_SEGS + 1 when there are too many. */
static size_t split_path(char *p, char **segs)
{
	size_t n = 0;
	char *save = NULL, *tok;
	for (tok = strtok_r(p, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (n == MAX_SEGS)
			return MAX_SEGS + 1;
		segs[n++] = tok;
	}
	return n;
}

/* rest: what follows /api/v1 or /apis/GROUP/VERSION. */
static int parse_rest(char **rest, size_t n, const char *gv, struct route *rt)
{
	if (n > 0 && strcmp(rest[0], "watch") == 0) {
		rt->watch = true;
		rest++, n--;
	}
	enum store_resource r;
	size_t base = 0;
	if (n >= 3 && strcmp(rest[0], "namespaces") == 0 &&
	    store_resource_parse(rest[2], &r) == 0 && store_resource_namespaced(r)) {
		rt->ns = rest[1];
		base = 2;
	} else if (n == 0 || store_resource_parse(rest[0], &r) < 0) {
		return -ENOENT;
	}
	if (n - base > 3 || strcmp(store_resource_api_version(r), gv) != 0)
		return -ENOENT;
	rt->r = r;
	rt->name = n - base > 1 ? rest[base + 1] : NULL;
	if (n - base == 3) {
		if (strcmp(rest[base + 2], "status") != 0 || r == STORE_ENDPOINTS ||
		    r == STORE_NETWORKPOLICIES)
			return -ENOENT;
		rt->status = true;
	}
	if (rt->name && store_resource_namespaced(r) && !rt->ns)
		return -ENOENT;
	return 0;
}

static int parse_route(const char *path, struct route *rt, char *buf, size_t len)
{
	char *segs[MAX_SEGS], gv[128];
	if (strlen(path) >= len)
		return -ENOENT;
	strcpy(buf, path);
	size_t n = split_path(buf, segs);
	memset(rt, 0, sizeof(*rt));
	if (n > MAX_SEGS)
		return -ENOENT;
	if (n >= 2 && strcmp(segs[0], "api") == 0 && strcmp(segs[1], "v1") == 0)
		return parse_rest(segs + 2, n - 2, "v1", rt);
	if (n >= 3 && strcmp(segs[0], "apis") == 0) {
		snprintf(gv, sizeof(gv), "%s/%s", segs[1], segs[2]);
		return parse_rest(segs + 3, n - 3, gv, rt);
	}
	return -ENOENT;
}

/* ---- request bodies -------------------------------------------------------------------- */

static json_t *protobuf_body(const struct api_request *req, struct api_response *resp)
{
	json_t *obj = NULL;
	char *err = NULL;
	int ret = api_protobuf_decode(req->body ? req->body : "", req->body_len, &obj, &err);
	if (ret == -ENOTSUP)
		api_fail(resp, 415, "UnsupportedMediaType", "%s", err ? err : "unsupported body");
	else if (ret == -ENOMEM)
		api_fail(resp, 500, "InternalError", "out of memory");
	else if (ret < 0)
		api_fail(resp, 400, "BadRequest", "%s", err ? err : "malformed body");
	free(err);
	return ret < 0 ? NULL : obj;
}

static void body_format_error(struct api_response *resp, const struct diag_list *d)
{
	const struct diag *e = d->n ? &d->items[0] : NULL;
	if (e && e->line > 0)
		api_fail(resp, 400, "BadRequest", "the body of the request was in an unknown format - "
			 "accepted media types include: application/json: line %d, column %d: %s",
			 e->line, e->col, e->msg);
	else
		api_fail(resp, 400, "BadRequest", "the body of the request was in an unknown format - "
			 "accepted media types include: application/json: %s", e ? e->msg : "empty body");
}

/* JSON bodies go through decode's reader, the one kubectl -f and netpol
 * reach use: duplicate keys and numbers it cannot hold exactly are errors,
 * and integral numbers (80.0) are stored as the integers they mean. */
static json_t *json_body(const struct api_request *req, struct api_response *resp)
{
	struct diag_list d = {0};
	json_t *docs = NULL, *v = NULL;
	int r = req->body ? decode_read_json("body", req->body, req->body_len, DECODE_READ_JSON,
					     &docs, &d) : -EINVAL;
	if (r == -ENOMEM)
		api_fail(resp, 500, "InternalError", "out of memory");
	else if (r < 0 || json_array_size(docs) != 1)
		body_format_error(resp, &d);
	else
		v = json_incref(json_array_get(docs, 0));
	json_decref(docs);
	diag_list_clear(&d);
	return v;
}

static json_t *parse_body(const struct api_request *req, struct api_response *resp,
			  bool want_object)
{
	if (req->content_type && strstr(req->content_type, "application/vnd.kubernetes.protobuf"))
		return protobuf_body(req, resp);
	json_t *v = json_body(req, resp);
	if (!v)
		return NULL;
	if (want_object && !json_is_object(v)) {
		json_decref(v);
		api_fail(resp, 400, "BadRequest", "the body of the request must be a JSON object");
		return NULL;
	}
	return v;
}

/* kind and apiVersion, when the client wrote them, must be the URL's. */
static int check_type_meta(enum store_resource r, json_t *obj, struct api_response *resp)
{
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	const char *av = json_string_value(json_object_get(obj, "apiVersion"));
	if (av && *av && strcmp(av, store_resource_api_version(r)) != 0) {
		api_fail(resp, 400, "BadRequest",
			 "the API version in the data (%s) does not match the expected API "
			 "version (%s)", av, store_resource_api_version(r));
		return -EINVAL;
	}
	if (kind && *kind && strcmp(kind, store_resource_kind(r)) != 0) {
		api_fail(resp, 400, "BadRequest",
			 "the kind in the data (%s) does not match the expected kind (%s)", kind,
			 store_resource_kind(r));
		return -EINVAL;
	}
	return 0;
}

/* Fills in the URL's namespace; a different one in the body is an error. */
static int check_namespace(const struct route *rt, json_t *obj, struct api_response *resp)
{
	json_t *meta = json_object_get(obj, "metadata");
	if (!meta) {
		meta = json_object();
		json_object_set_new(obj, "metadata", meta);
	}
	if (!json_is_object(meta)) {
		api_fail(resp, 400, "BadRequest", "metadata must be an object");
		return -EINVAL;
	}
	if (!store_resource_namespaced(rt->r))
		return 0;
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	if (ns && *ns && strcmp(ns, rt->ns) != 0) {
		api_fail(resp, 400, "BadRequest",
			 "the namespace of the provided object does not match the namespace "
			 "sent on the request");
		return -EINVAL;
	}
	json_object_set_new(meta, "namespace", json_string(rt->ns));
	return 0;
}

static const char *go_json_type(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "bool";
	default:
		return "null";
	}
}

/* ObjectMeta's scalar fields with the wrong JSON type are refused by the
 * API server's decoder before anything compares them (400, not 422): a
 * resourceVersion of 5 is not the string "5" and must not pass as "no
 * precondition". Fills *msg (caller frees) and returns false. */
static bool meta_types_ok(json_t *obj, char **msg)
{
	static const struct {
		const char *field;
		bool integer;
	} fields[] = {
		{"name", false}, {"generateName", false}, {"namespace", false},
		{"uid", false}, {"resourceVersion", false}, {"selfLink", false},
		{"creationTimestamp", false}, {"deletionTimestamp", false},
		{"generation", true}, {"deletionGracePeriodSeconds", true},
	};
	json_t *meta = json_object_get(obj, "metadata");
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		json_t *v = json_object_get(meta, fields[i].field);
		if (!v || json_is_null(v) || (fields[i].integer ? json_is_integer(v) : json_is_string(v)))
			continue;
		if (asprintf(msg, "json: cannot unmarshal %s into Go struct field ObjectMeta.metadata.%s "
			     "of type %s", go_json_type(v), fields[i].field,
			     fields[i].integer ? "int64" : "string") < 0)
			*msg = NULL;
		return false;
	}
	return true;
}

static int check_meta_types(json_t *obj, struct api_response *resp)
{
	char *msg = NULL;
	if (meta_types_ok(obj, &msg))
		return 0;
	api_fail(resp, 400, "BadRequest", "%s", msg ? msg : "metadata has a field of the wrong type");
	free(msg);
	return -EINVAL;
}

static unsigned dry_run_flag(const struct api_request *req, json_t *opts)
{
	const char *q = api_query_get(req, "dryRun");
	json_t *d = json_object_get(opts, "dryRun");
	if ((q && strcmp(q, "All") == 0) || json_array_size(d) > 0)
		return STORE_DRY_RUN;
	return 0;
}

static bool validation_fails(const struct route *rt, json_t *obj, bool creating,
			     struct api_response *resp)
{
	json_t *causes = json_array();
	bool bad = api_validate(rt->r, obj, creating, causes) > 0;
	if (bad)
		api_fail_invalid(resp, rt->r, meta_str(obj, "name"), causes);
	json_decref(causes);
	return bad;
}

/* ---- selectors ---------------------------------------------------------------------------- */

struct selectors {
	struct np_selector labels;
	bool has_labels;
	struct store_filter filter;
	json_t *fields;              /* [[path, value, neq]] checked on each object */
};

static void selectors_clear(struct selectors *s)
{
	selector_clear(&s->labels);
	json_decref(s->fields);
}

/* fieldSelector: "a=b,c!=d"; metadata.name and metadata.namespace
 * equalities go to the store, the rest is checked on each object. */
static int parse_fields(const char *text, struct selectors *s, char **err)
{
	char *copy = strdup(text), *save = NULL;
	int ret = copy ? 0 : -ENOMEM;
	s->fields = json_array();
	for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t && ret == 0;
	     t = strtok_r(NULL, ",", &save)) {
		char *op = strstr(t, "!=");
		bool neq = op != NULL;
		if (!op)
			op = strchr(t, '=');
		if (!op || op == t) {
			ret = -EINVAL;
			if (asprintf(err, "invalid selector: '%s'; can't understand '%s'", text, t) < 0)
				*err = NULL;
			break;
		}
		*op = 0;
		const char *value = op + (neq || op[1] == '=' ? 2 : 1);
		json_array_append_new(s->fields, json_pack("[s,s,b]", t, value, neq));
	}
	free(copy);
	return ret;
}

static const char *field_value(json_t *obj, const char *path, char *buf, size_t len)
{
	char tmp[256];
	snprintf(tmp, sizeof(tmp), "%s", path);
	json_t *v = obj;
	char *save = NULL;
	for (char *k = strtok_r(tmp, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
		v = json_object_get(v, k);
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
	else
		buf[0] = 0;
	return buf;
}

bool api_fields_match(json_t *fields, json_t *obj)
{
	size_t i;
	json_t *f;
	json_array_foreach(fields, i, f) {
		char buf[64];
		const char *have = field_value(obj, json_string_value(json_array_get(f, 0)), buf,
					       sizeof(buf));
		bool eq = strcmp(have, json_string_value(json_array_get(f, 1))) == 0;
		if (eq == json_is_true(json_array_get(f, 2)))
			return false;
	}
	return true;
}

static int parse_selectors(const struct api_request *req, const struct route *rt,
			   struct selectors *s, struct api_response *resp)
{
	memset(s, 0, sizeof(*s));
	s->filter.ns = rt->ns;
	const char *ls = api_query_get(req, "labelSelector");
	const char *fs = api_query_get(req, "fieldSelector");
	char *err = NULL;
	if (ls && *ls) {
		if (selector_parse(ls, &s->labels, &err) < 0) {
			api_fail(resp, 400, "BadRequest", "unable to parse requirement: %s",
				 err ? err : ls);
			free(err);
			return -EINVAL;
		}
		s->filter.labels = &s->labels;
	}
	if (fs && *fs && parse_fields(fs, s, &err) < 0) {
		api_fail(resp, 400, "BadRequest", "%s", err ? err : "invalid field selector");
		free(err);
		return -EINVAL;
	}
	return 0;
}

/* ---- the verbs ----------------------------------------------------------------------------- */

static json_t *list_doc(enum store_resource r, json_t *items, uint64_t rv)
{
	char kind[64], rvs[24];
	snprintf(kind, sizeof(kind), "%sList", store_resource_kind(r));
	snprintf(rvs, sizeof(rvs), "%llu", (unsigned long long)rv);
	return json_pack("{s:s, s:s, s:{s:s}, s:o}", "kind", kind, "apiVersion",
			 store_resource_api_version(r), "metadata", "resourceVersion", rvs,
			 "items", items);
}

static json_t *filter_fields(json_t *items, json_t *fields)
{
	if (!json_array_size(fields))
		return items;
	json_t *out = json_array();
	size_t i;
	json_t *o;
	json_array_foreach(items, i, o) {
		if (api_fields_match(fields, o))
			json_array_append(out, o);
	}
	json_decref(items);
	return out;
}

/* A decimal uint64, as strconv.ParseUint reads resourceVersion and the
 * other numbers of a query; "" is absent. *why says what is wrong. */
static bool query_number(const char *text, unsigned long long *out, const char **why)
{
	*out = 0;
	*why = "invalid syntax";
	if (!text || !*text)
		return true;
	for (const char *p = text; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	char *end;
	errno = 0;
	*out = strtoull(text, &end, 10);
	*why = "value out of range";
	return errno == 0 && *end == 0;
}

/* The query's resourceVersion and timeoutSeconds, or a 400 as the API
 * server answers (never a silent 0). */
static int watch_numbers(const struct api_request *req, unsigned long long *timeout,
			 struct api_response *resp)
{
	static const char *const keys[] = {"resourceVersion", "timeoutSeconds"};
	unsigned long long v;
	const char *why;
	for (size_t i = 0; i < 2; i++) {
		const char *text = api_query_get(req, keys[i]);
		if (!query_number(text, &v, &why)) {
			api_fail(resp, 400, "BadRequest", "%s: Invalid value: \"%s\": "
				 "strconv.ParseUint: parsing \"%s\": %s", keys[i], text, text, why);
			return -EINVAL;
		}
		if (i == 1)
			*timeout = v;
	}
	return 0;
}

static void do_watch(struct api *api, const struct api_request *req, const struct route *rt,
		     struct selectors *sel, unsigned long long to, struct api_response *resp)
{
	/* a year outlives any daemon; more would overflow the deadline */
	struct api_watch_params p = {
		.resource = rt->r, .filter = sel->filter, .rv = api_query_get(req, "resourceVersion"),
		.timeout_s = to > 365ull * 86400 ? 365L * 86400 : (long)to,
		.table = api_wants_table(req),
	};
	struct api_watch *w = NULL;
	uint64_t unreadable = store_unreadable_rows(api->store);
	int ret = api_watch_start(api, &p, &w);
	if (store_unreadable_rows(api->store) != unreadable)
		api_logf(api, API_LOG_ERROR, "watch of %s left out stored objects or events that "
			 "cannot be read back", store_resource_name(rt->r));
	if (ret == -ERANGE) {
		api_fail(resp, 410, "Expired", "too old resource version: %s (%llu)", p.rv,
			 (unsigned long long)store_revision(api->store));
		return;
	}
	if (ret < 0) {
		api_fail_store(resp, ret, rt->r, "");
		return;
	}
	api_watch_set_fields(w, sel->fields);
	resp->code = 200;
	resp->watch = w;
}

static void do_list(struct api *api, const struct api_request *req, const struct route *rt,
		    struct api_response *resp)
{
	struct selectors sel;
	unsigned long long to = 0;
	if (parse_selectors(req, rt, &sel, resp) < 0 || watch_numbers(req, &to, resp) < 0) {
		selectors_clear(&sel);
		return;
	}
	if (query_true(req, "watch") || rt->watch) {
		do_watch(api, req, rt, &sel, to, resp);
		selectors_clear(&sel);
		return;
	}
	json_t *items = NULL;
	uint64_t rv = 0, unreadable = store_unreadable_rows(api->store);
	int ret = store_list(api->store, rt->r, &sel.filter, &items, &rv);
	if (store_unreadable_rows(api->store) != unreadable)
		api_logf(api, API_LOG_ERROR, "list of %s left out stored objects that cannot be "
			 "read back", store_resource_name(rt->r));
	if (ret < 0) {
		api_fail_store(resp, ret, rt->r, "");
	} else {
		json_t *doc = list_doc(rt->r, filter_fields(items, sel.fields), rv);
		if (api_wants_table(req)) {
			json_t *t = api_table(rt->r, json_object_get(doc, "items"),
					      json_object_get(doc, "metadata"), full_objects(req));
			json_decref(doc);
			doc = t;
			resp->content_type = "application/json;as=Table;v=v1;g=meta.k8s.io";
		}
		reply(resp, 200, doc);
	}
	selectors_clear(&sel);
}

static void do_get(struct api *api, const struct api_request *req, const struct route *rt,
		   struct api_response *resp)
{
	json_t *obj = NULL;
	int ret = store_get(api->store, rt->r, rt->ns, rt->name, &obj);
	if (ret < 0) {
		api_fail_store(resp, ret, rt->r, rt->name);
		return;
	}
	if (api_wants_table(req)) {
		json_t *items = json_pack("[o]", obj);
		obj = api_table(rt->r, items, NULL, full_objects(req));
		json_decref(items);
		resp->content_type = "application/json;as=Table;v=v1;g=meta.k8s.io";
	}
	reply(resp, 200, obj);
}

/* The NamespaceLifecycle admission's answer. */
static void fail_terminating(struct api_response *resp, const struct route *rt,
			     const char *name)
{
	const char *group = api_resource_group(rt->r);
	api_fail(resp, 403, "Forbidden",
		 "%s%s%s \"%s\" is forbidden: unable to create new content in namespace %s "
		 "because it is being terminated", store_resource_name(rt->r), *group ? "." : "",
		 group, name ? name : "", rt->ns);
	api_status_details(resp->body, name ? name : "", group, store_resource_name(rt->r));
	json_object_set_new(json_object_get(resp->body, "details"), "causes",
			    json_pack("[{s:s, s:s, s:s}]", "reason", "NamespaceTerminating",
				      "message", "namespace is being terminated", "field",
				      "metadata.namespace"));
}

static void do_create(struct api *api, const struct api_request *req, const struct route *rt,
		      struct api_response *resp)
{
	json_t *obj = parse_body(req, resp, true), *out = NULL;
	if (!obj || check_type_meta(rt->r, obj, resp) < 0 || check_meta_types(obj, resp) < 0 ||
	    check_namespace(rt, obj, resp) < 0 || validation_fails(rt, obj, true, resp)) {
		json_decref(obj);
		return;
	}
	unsigned flags = STORE_KEEP_STATUS | dry_run_flag(req, NULL);
	int ret = store_create(api->store, rt->r, obj, flags, &out);
	if (ret == -ENXIO)
		api_fail_store(resp, -ENOENT, STORE_NAMESPACES, rt->ns);
	else if (ret == -EPERM)
		fail_terminating(resp, rt, meta_str(obj, "name"));
	else if (ret < 0)
		api_fail_store(resp, ret, rt->r, meta_str(obj, "name"));
	else
		reply(resp, 201, out);
	json_decref(obj);
}

/* DeleteOptions.preconditions: strings or null, as the decoder types them. */
struct preconditions {
	const char *uid, *rv;
};

static int parse_preconditions(json_t *opts, struct preconditions *pc,
			       struct api_response *resp)
{
	static const char *const keys[] = {"uid", "resourceVersion"};
	const char **slots[] = {&pc->uid, &pc->rv};
	json_t *p = json_object_get(opts, "preconditions");
	memset(pc, 0, sizeof(*pc));
	if (p && !json_is_null(p) && !json_is_object(p)) {
		api_fail(resp, 400, "BadRequest", "json: cannot unmarshal %s into Go struct field "
			 "DeleteOptions.preconditions of type v1.Preconditions", go_json_type(p));
		return -EINVAL;
	}
	for (size_t i = 0; i < 2; i++) {
		json_t *v = json_object_get(p, keys[i]);
		if (v && !json_is_null(v) && !json_is_string(v)) {
			api_fail(resp, 400, "BadRequest", "json: cannot unmarshal %s into Go struct "
				 "field Preconditions.preconditions.%s of type string",
				 go_json_type(v), keys[i]);
			return -EINVAL;
		}
		*slots[i] = json_string_value(v);
	}
	return 0;
}

/* As the storage layer's checkPreconditions: 409 with both values. */
static bool preconditions_hold(json_t *obj, const struct preconditions *pc,
			       const struct route *rt, struct api_response *resp)
{
	const char *uid = meta_str(obj, "uid"), *rv = meta_str(obj, "resourceVersion");
	const char *what = NULL, *want = NULL, *have = NULL;
	if (pc->uid && strcmp(pc->uid, uid ? uid : "") != 0)
		what = "UID", want = pc->uid, have = uid;
	else if (pc->rv && strcmp(pc->rv, rv ? rv : "") != 0)
		what = "ResourceVersion", want = pc->rv, have = rv;
	if (!what)
		return true;
	const char *group = api_resource_group(rt->r);
	api_fail(resp, 409, "Conflict", "Operation cannot be fulfilled on %s%s%s \"%s\": "
		 "Precondition failed: %s in precondition: %s, %s in object meta: %s",
		 store_resource_name(rt->r), *group ? "." : "", group, rt->name, what, want, what,
		 have ? have : "");
	api_status_details(resp->body, rt->name, group, store_resource_name(rt->r));
	return false;
}

struct put_ctx {
	json_t *obj;                 /* the body */
	json_t *stored;              /* the stored object, when its uid differs */
};

/* A PUT replaces the stored object; a uid in the body is a precondition
 * (the API server's update preconditions), and a resourceVersion one as
 * in store_update. */
static int put_fn(json_t *cur, void *ctx)
{
	struct put_ctx *p = ctx;
	const char *uid = meta_str(p->obj, "uid"), *have = meta_str(cur, "uid");
	if (uid && *uid && strcmp(uid, have ? have : "") != 0) {
		p->stored = json_deep_copy(cur);
		return -ECANCELED;
	}
	json_t *copy = json_deep_copy(p->obj);
	if (!copy)
		return -ENOMEM;
	json_object_clear(cur);
	json_object_update(cur, copy);
	json_decref(copy);
	return 0;
}

static void do_update(struct api *api, const struct api_request *req, const struct route *rt,
		      struct api_response *resp)
{
	json_t *obj = parse_body(req, resp, true), *out = NULL;
	if (!obj || check_type_meta(rt->r, obj, resp) < 0 || check_meta_types(obj, resp) < 0 ||
	    check_namespace(rt, obj, resp) < 0)
		goto out;
	const char *name = meta_str(obj, "name");
	if (!name || !*name) {
		json_object_set_new(json_object_get(obj, "metadata"), "name", json_string(rt->name));
	} else if (strcmp(name, rt->name) != 0) {
		api_fail(resp, 400, "BadRequest",
			 "the name of the object (%s) does not match the name on the URL (%s)",
			 name, rt->name);
		goto out;
	}
	if (validation_fails(rt, obj, false, resp))
		goto out;
	unsigned flags = (rt->status ? STORE_STATUS_ONLY : STORE_KEEP_STATUS) |
			 dry_run_flag(req, NULL);
	struct put_ctx pc = {.obj = obj};
	int ret = store_modify(api->store, rt->r, rt->ns, rt->name, put_fn, &pc, flags, &out);
	if (ret == -ECANCELED) {
		struct preconditions want = {.uid = meta_str(obj, "uid")};
		preconditions_hold(pc.stored, &want, rt, resp);
	} else if (ret < 0) {
		api_fail_store(resp, ret, rt->r, rt->name);
	} else {
		reply(resp, 200, out);
	}
	json_decref(pc.stored);
out:
	json_decref(obj);
}

/* ---- patch ---------------------------------------------------------------------------------- */

enum patch_type { PATCH_MERGE, PATCH_STRATEGIC, PATCH_JSON };

struct patch_ctx {
	enum patch_type type;
	enum store_resource r;
	const struct route *rt;
	json_t *patch;
	json_t *causes;
	char *err;
	bool bad_request;            /* err is a 400 BadRequest, not a 422 */
};

static int patch_type_of(const char *ct, enum patch_type *out)
{
	static const struct {
		const char *name;
		enum patch_type t;
	} types[] = {
		{"application/merge-patch+json", PATCH_MERGE},
		{"application/strategic-merge-patch+json", PATCH_STRATEGIC},
		{"application/json-patch+json", PATCH_JSON},
	};
	size_t n = ct ? strcspn(ct, "; ") : 0;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (n == strlen(types[i].name) && strncmp(ct, types[i].name, n) == 0) {
			*out = types[i].t;
			return 0;
		}
	}
	return -ENOTSUP;
}

static int apply_patch(json_t *obj, struct patch_ctx *c)
{
	json_t *res = NULL;
	int ret = 0;
	switch (c->type) {
	case PATCH_MERGE:
		res = api_merge_patch(obj, c->patch);
		break;
	case PATCH_STRATEGIC:
		return api_strategic_merge_patch(c->r, obj, c->patch, &c->err);
	case PATCH_JSON:
		ret = api_json_patch(obj, c->patch, &res, &c->err);
		break;
	}
	if (ret == 0 && !json_is_object(res)) {
		ret = -EINVAL;
		if (!c->err)
			c->err = strdup("the patched object is not a JSON object");
	}
	if (ret == 0) {
		json_object_clear(obj);
		json_object_update(obj, res);
	}
	json_decref(res);
	return ret;
}

/* A key that starts with '$' anywhere in obj: a strategic merge patch
 * directive that was not applied (no field of the kinds we serve has such
 * a name). Returns its path (caller frees) or NULL. */
static char *leftover_directive(json_t *v, const char *path)
{
	const char *key;
	json_t *e;
	char *found = NULL, *p = NULL;
	if (json_is_object(v)) {
		json_object_foreach(v, key, e) {
			if (asprintf(&p, "%s%s%s", path, *path ? "." : "", key) < 0)
				return NULL;
			found = key[0] == '$' ? p : leftover_directive(e, p);
			if (found != p)
				free(p);
			if (found)
				return found;
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_array_foreach(v, i, e) {
			if (asprintf(&p, "%s[%zu]", path, i) < 0)
				return NULL;
			found = leftover_directive(e, p);
			free(p);
			if (found)
				return found;
		}
	}
	return NULL;
}

static int patch_bad_request(struct patch_ctx *c, char *msg)
{
	free(c->err);
	c->err = msg;
	c->bad_request = true;
	return -EPROTO;
}

/* What the API server's patch handler checks on the patched object before
 * validation (checkName): it may not rename or move the object. */
static int patched_identity(struct patch_ctx *c, json_t *obj)
{
	char *msg = NULL;
	if (!meta_types_ok(obj, &msg))
		return patch_bad_request(c, msg);
	const char *name = meta_str(obj, "name"), *ns = meta_str(obj, "namespace");
	if (!name || strcmp(name, c->rt->name) != 0) {
		if (asprintf(&msg, "the name of the object (%s) does not match the name on the URL "
			     "(%s)", name ? name : "", c->rt->name) < 0)
			msg = NULL;
		return patch_bad_request(c, msg);
	}
	if (c->rt->ns && ns && *ns && strcmp(ns, c->rt->ns) != 0) {
		if (asprintf(&msg, "the namespace of the object (%s) does not match the namespace "
			     "on the URL (%s)", ns, c->rt->ns) < 0)
			msg = NULL;
		return patch_bad_request(c, msg);
	}
	return 0;
}

/* Runs inside the store's read-modify-write: patch, then validate. */
static int patch_fn(json_t *obj, void *ctx)
{
	struct patch_ctx *c = ctx;
	int ret = apply_patch(obj, c);
	/* the API server: a malformed strategic merge patch is a BadRequest */
	if (ret < 0 && c->type == PATCH_STRATEGIC)
		c->bad_request = true;
	if (ret < 0)
		return -EPROTO;
	if (!json_is_object(json_object_get(obj, "metadata"))) {
		c->err = strdup("metadata must be an object");
		return -EPROTO;
	}
	char *left = c->type == PATCH_STRATEGIC ? leftover_directive(obj, "") : NULL, *msg = NULL;
	if (left) {
		if (asprintf(&msg, "the strategic merge patch directive at %s cannot be applied "
			     "there", left) < 0)
			msg = NULL;
		free(left);
		return patch_bad_request(c, msg);
	}
	if ((ret = patched_identity(c, obj)) < 0)
		return ret;
	if (api_validate(c->r, obj, false, c->causes) > 0)
		return -EBADMSG;
	return 0;
}

static void do_patch(struct api *api, const struct api_request *req, const struct route *rt,
		     struct api_response *resp)
{
	struct patch_ctx c = {.r = rt->r, .rt = rt};
	if (patch_type_of(req->content_type, &c.type) < 0) {
		api_fail(resp, 415, "UnsupportedMediaType",
			 "the body of the request was in an unknown format - accepted media types "
			 "include: application/json-patch+json, application/merge-patch+json, "
			 "application/strategic-merge-patch+json");
		return;
	}
	if (!(c.patch = parse_body(req, resp, c.type != PATCH_JSON)))
		return;
	c.causes = json_array();
	json_t *out = NULL;
	unsigned flags = (rt->status ? STORE_STATUS_ONLY : STORE_KEEP_STATUS) |
			 dry_run_flag(req, NULL);
	int ret = store_modify(api->store, rt->r, rt->ns, rt->name, patch_fn, &c, flags, &out);
	if (ret == -EBADMSG)
		api_fail_invalid(resp, rt->r, rt->name, c.causes);
	else if (ret == -EPROTO && c.bad_request)
		api_fail(resp, 400, "BadRequest", "%s", c.err ? c.err : "the patch cannot be applied");
	else if (ret == -EPROTO)
		api_fail(resp, 422, "Invalid", "%s", c.err ? c.err : "the patch cannot be applied");
	else if (ret < 0)
		api_fail_store(resp, ret, rt->r, rt->name);
	else
		reply(resp, 200, out);
	free(c.err);
	json_decref(c.causes);
	json_decref(c.patch);
}

/* ---- delete ------------------------------------------------------------------------------------ */

/* DeleteOptions as the API server decodes (strictly: 400) and validates
 * them (422); preconditions are parse_preconditions'. */
static int check_delete_options(json_t *opts, struct api_response *resp)
{
	static const struct {
		const char *key;
		json_type type;
	} fields[] = {
		{"kind", JSON_STRING}, {"apiVersion", JSON_STRING},
		{"gracePeriodSeconds", JSON_INTEGER}, {"preconditions", JSON_OBJECT},
		{"orphanDependents", JSON_TRUE}, {"propagationPolicy", JSON_STRING},
		{"dryRun", JSON_ARRAY}, {"ignoreStoreReadErrorWithClusterBreakingPotential", JSON_TRUE},
	};
	const char *key;
	json_t *v;
	json_object_foreach(opts, key, v) {
		size_t i = 0;
		while (i < sizeof(fields) / sizeof(fields[0]) && strcmp(fields[i].key, key) != 0)
			i++;
		if (i == sizeof(fields) / sizeof(fields[0])) {
			api_fail(resp, 400, "BadRequest", "strict decoding error: unknown field \"%s\"",
				 key);
			return -EINVAL;
		}
		json_type t = json_typeof(v) == JSON_FALSE ? JSON_TRUE : json_typeof(v);
		if (t != fields[i].type && t != JSON_NULL && strcmp(key, "preconditions") != 0) {
			api_fail(resp, 400, "BadRequest", "json: cannot unmarshal %s into Go struct "
				 "field DeleteOptions.%s", go_json_type(v), key);
			return -EINVAL;
		}
	}
	const char *pp = json_string_value(json_object_get(opts, "propagationPolicy"));
	if (pp && strcmp(pp, "Orphan") != 0 && strcmp(pp, "Background") != 0 &&
	    strcmp(pp, "Foreground") != 0) {
		api_fail(resp, 422, "Invalid", "DeleteOptions.meta.k8s.io \"\" is invalid: "
			 "propagationPolicy: Unsupported value: \"%s\": supported values: "
			 "\"Foreground\", \"Background\", \"Orphan\", \"nil\"", pp);
		return -EINVAL;
	}
	size_t i;
	json_array_foreach(json_object_get(opts, "dryRun"), i, v) {
		if (!json_is_string(v) || strcmp(json_string_value(v), "All") != 0) {
			api_fail(resp, 422, "Invalid", "DeleteOptions.meta.k8s.io \"\" is invalid: "
				 "dryRun: Unsupported value: %s: supported values: \"All\"",
				 json_is_string(v) ? json_string_value(v) : go_json_type(v));
			return -EINVAL;
		}
	}
	return 0;
}

static int delete_at(struct api *api, const struct route *rt, const char *rv,
		     unsigned flags, json_t **out)
{
	/* a Namespace goes in two phases: Terminating now, gone once the
	 * namespace controller has emptied it */
	if (rt->r == STORE_NAMESPACES)
		return store_mark_deleted(api->store, rt->r, NULL, rt->name, rv, flags, out);
	return store_delete(api->store, rt->r, rt->ns, rt->name, rv, flags, out);
}

/* With preconditions: read, check, then delete at the revision read, so
 * that nothing can change in between; a write that came between is
 * checked again. */
static int delete_checked(struct api *api, const struct route *rt,
			  const struct preconditions *pc, unsigned flags,
			  struct api_response *resp, json_t **out)
{
	int ret = -ESTALE;
	for (int tries = 0; tries < 16 && ret == -ESTALE; tries++) {
		json_t *cur = NULL;
		if ((ret = store_get(api->store, rt->r, rt->ns, rt->name, &cur)) < 0)
			break;
		if (!preconditions_hold(cur, pc, rt, resp)) {
			json_decref(cur);
			return -ECANCELED;
		}
		ret = delete_at(api, rt, meta_str(cur, "resourceVersion"), flags, out);
		json_decref(cur);
	}
	return ret;
}

static void do_delete(struct api *api, const struct api_request *req, const struct route *rt,
		      struct api_response *resp)
{
	json_t *opts = NULL, *out = NULL;
	struct preconditions pc;
	/* DeleteOptions: typed clients may send them as protobuf */
	if (req->body_len > 0 && !(opts = parse_body(req, resp, true)))
		return;
	if (check_delete_options(opts, resp) < 0 || parse_preconditions(opts, &pc, resp) < 0)
		goto out;
	unsigned flags = dry_run_flag(req, opts);
	int ret = pc.uid || pc.rv ? delete_checked(api, rt, &pc, flags, resp, &out)
				  : delete_at(api, rt, NULL, flags, &out);
	if (ret == -ECANCELED)
		goto out;
	if (ret < 0)
		api_fail_store(resp, ret, rt->r, rt->name);
	else
		reply(resp, 200, out);
out:
	json_decref(opts);
}

static void do_delete_collection(struct api *api, const struct api_request *req,
				 const struct route *rt, struct api_response *resp)
{
	struct selectors sel;
	json_t *items = NULL, *deleted = json_array();
	if (parse_selectors(req, rt, &sel, resp) < 0)
		goto out;
	uint64_t rv = 0;
	int ret = store_list(api->store, rt->r, &sel.filter, &items, &rv);
	items = ret == 0 ? filter_fields(items, sel.fields) : NULL;
	size_t i;
	json_t *o;
	json_array_foreach(items, i, o) {
		json_t *gone = NULL;
		int r = store_delete(api->store, rt->r, meta_str(o, "namespace"), meta_str(o, "name"),
				     NULL, dry_run_flag(req, NULL), &gone);
		if (r == 0)
			json_array_append_new(deleted, gone);
		else if (r != -ENOENT)
			ret = r;
	}
	if (ret < 0) {
		api_fail_store(resp, ret, rt->r, "");
	} else {
		reply(resp, 200, list_doc(rt->r, deleted, store_revision(api->store)));
		deleted = NULL;
	}
out:
	json_decref(items);
	json_decref(deleted);
	selectors_clear(&sel);
}

/* ---- dispatch ------------------------------------------------------------------------------------ */

static bool method_is(const struct api_request *req, const char *m)
{
	return strcmp(req->method, m) == 0;
}

static void dispatch_collection(struct api *api, const struct api_request *req,
				const struct route *rt, struct api_response *resp)
{
	bool all_ns = store_resource_namespaced(rt->r) && !rt->ns;
	if (method_is(req, "GET"))
		do_list(api, req, rt, resp);
	else if (method_is(req, "POST") && !all_ns)
		do_create(api, req, rt, resp);
	else if (method_is(req, "DELETE") && !all_ns && store_resource_namespaced(rt->r))
		do_delete_collection(api, req, rt, resp);
	else
		api_fail(resp, 405, "MethodNotAllowed",
			 "the server does not allow this method on the requested resource");
}

static void dispatch_item(struct api *api, const struct api_request *req,
			  const struct route *rt, struct api_response *resp)
{
	if (rt->watch)
		api_fail(resp, 405, "MethodNotAllowed", "watch of a single object: use fieldSelector");
	else if (method_is(req, "GET"))
		do_get(api, req, rt, resp);
	else if (method_is(req, "PUT"))
		do_update(api, req, rt, resp);
	else if (method_is(req, "PATCH"))
		do_patch(api, req, rt, resp);
	else if (method_is(req, "DELETE") && !rt->status)
		do_delete(api, req, rt, resp);
	else
		api_fail(resp, 405, "MethodNotAllowed",
			 "the server does not allow this method on the requested resource");
}

/* The HTTP layer percent-decodes paths and leaves one with an invalid
 * escape, an escaped NUL or a result that is not UTF-8 as it came, so a
 * '%' left in a path marks a bad one (no name or resource may hold '%').
 * Control bytes could not be told apart in messages either. */
static bool path_ok(const char *path)
{
	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		if (*p == '%' || *p < 0x20 || *p == 0x7f)
			return false;
	return api_utf8_valid(path, strlen(path));
}

void api_handle(struct api *api, const struct api_request *req, struct api_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	if (!req->path || !req->method || !path_ok(req->path)) {
		api_fail(resp, 400, "BadRequest",
			 "invalid request path: a path may not hold an invalid percent-escape, an "
			 "escaped NUL, control characters or bytes that are not UTF-8");
		return;
	}
	if (api_discovery(api, req, resp))
		return;
	struct route rt;
	char buf[1024];
	if (parse_route(req->path, &rt, buf, sizeof(buf)) < 0) {
		api_fail(resp, 404, "NotFound", "the server could not find the requested resource");
		return;
	}
	if (rt.name)
		dispatch_item(api, req, &rt, resp);
	else
		dispatch_collection(api, req, &rt, resp);
}
