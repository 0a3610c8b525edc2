/* discovery.c: the documents clients read to learn what the server serves
 * (/version, /api, /api/v1, /apis, /apis/GROUP, /apis/GROUP/VERSION), in
 * the legacy (unaggregated) form every kubectl understands, and 404s for
 * OpenAPI, which makes kubectl fall back to its built-in types. */
#include "api_internal.h"

#include <stdio.h>
#include <string.h>

static const struct {
	enum store_resource r;
	const char *singular;
	const char *short_name;
	bool in_all;                 /* in the "all" category (kubectl get all) */
	bool has_status;             /* serves the /status subresource */
} served[] = {
	{STORE_NAMESPACES, "namespace", "ns", false, true},
	{STORE_PODS, "pod", "po", true, true},
	{STORE_SERVICES, "service", "svc", true, true},
	{STORE_ENDPOINTS, "endpoints", "ep", false, false},
	{STORE_DEPLOYMENTS, "deployment", "deploy", true, true},
	{STORE_NETWORKPOLICIES, "networkpolicy", "netpol", false, false},
};
#define NSERVED (sizeof(served) / sizeof(served[0]))

static const char *const groups[] = {"apps", "networking.k8s.io"};

static json_t *verbs(bool namespaced)
{
	json_t *v = json_pack("[s,s,s,s,s,s,s]", "create", "delete", "get", "list", "patch",
			      "update", "watch");
	if (namespaced)
		json_array_insert_new(v, 2, json_string("deletecollection"));
	return v;
}

static json_t *resource_entry(size_t i)
{
	enum store_resource r = served[i].r;
	json_t *e = json_pack("{s:s, s:s, s:b, s:s, s:o, s:[s]}", "name", store_resource_name(r),
			      "singularName", served[i].singular, "namespaced",
			      store_resource_namespaced(r), "kind", store_resource_kind(r),
			      "verbs", verbs(store_resource_namespaced(r)), "shortNames",
			      served[i].short_name);
	if (served[i].in_all)
		json_object_set_new(e, "categories", json_pack("[s]", "all"));
	return e;
}

static json_t *status_entry(size_t i)
{
	enum store_resource r = served[i].r;
	char name[64];
	snprintf(name, sizeof(name), "%s/status", store_resource_name(r));
	return json_pack("{s:s, s:s, s:b, s:s, s:[s,s,s]}", "name", name, "singularName", "",
			 "namespaced", store_resource_namespaced(r), "kind",
			 store_resource_kind(r), "verbs", "get", "patch", "update");
}

static json_t *resource_list(const char *group_version)
{
	json_t *res = json_array();
	for (size_t i = 0; i < NSERVED; i++) {
		if (strcmp(store_resource_api_version(served[i].r), group_version) != 0)
			continue;
		json_array_append_new(res, resource_entry(i));
		if (served[i].has_status)
			json_array_append_new(res, status_entry(i));
	}
	return json_pack("{s:s, s:s, s:s, s:o}", "kind", "APIResourceList", "apiVersion", "v1",
			 "groupVersion", group_version, "resources", res);
}

static json_t *group_doc(const char *group, bool with_type)
{
	char gv[64];
	snprintf(gv, sizeof(gv), "%s/v1", group);
	json_t *g = json_pack("{s:s, s:[{s:s, s:s}], s:{s:s, s:s}}", "name", group, "versions",
			      "groupVersion", gv, "version", "v1", "preferredVersion",
			      "groupVersion", gv, "version", "v1");
	if (with_type) {
		json_object_set_new(g, "kind", json_string("APIGroup"));
		json_object_set_new(g, "apiVersion", json_string("v1"));
	}
	return g;
}

static json_t *group_list(void)
{
	json_t *list = json_array();
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		json_array_append_new(list, group_doc(groups[i], false));
	return json_pack("{s:s, s:s, s:o}", "kind", "APIGroupList", "apiVersion", "v1",
			 "groups", list);
}

/* A recent minor version: kubectl (and gcloud's kubectl dispatcher, which
 * picks a client by the server's minor version) stays within skew. */
static json_t *version_doc(void)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "major", "1", "minor",
			 "32", "gitVersion", "v1.32.0-netpol", "gitCommit", "netpol",
			 "gitTreeState", "clean", "buildDate", "2025-01-01T00:00:00Z",
			 "goVersion", "none", "compiler", "gcc", "platform", "linux/amd64");
}

/* ---- OpenAPI v3 -------------------------------------------------------------------
 *
 * Not a schema: just enough for kubectl to see that PATCH on each kind
 * takes the fieldValidation parameter. kubectl then leaves validation to
 * the server (which runs the same validator as `netpol lint`) instead of
 * downloading a schema to validate client-side. With no request body
 * declared, kubectl apply builds its patches from its built-in types. */

static json_t *gv_paths_index(void)
{
	json_t *paths = json_object();
	const char *gvs[] = {"api/v1", "apis/apps/v1", "apis/networking.k8s.io/v1"};
	for (size_t i = 0; i < 3; i++) {
		char url[96];
		snprintf(url, sizeof(url), "/openapi/v3/%s", gvs[i]);
		json_object_set_new(paths, gvs[i], json_pack("{s:s}", "serverRelativeURL", url));
	}
	return json_pack("{s:o}", "paths", paths);
}

static json_t *patch_operation(enum store_resource r)
{
	const char *av = store_resource_api_version(r);
	const char *slash = strchr(av, '/');
	char group[64] = "";
	if (slash)
		snprintf(group, sizeof(group), "%.*s", (int)(slash - av), av);
	return json_pack("{s:{s:s, s:[{s:s, s:s, s:{s:s}}], s:{s:{s:s}}, s:{s:s, s:s, s:s}}}",
			 "patch", "description", "partially update the specified object",
			 "parameters", "name", "fieldValidation", "in", "query", "schema", "type",
			 "string", "responses", "200", "description", "OK",
			 "x-kubernetes-group-version-kind", "group", group, "version", "v1", "kind",
			 store_resource_kind(r));
}

static json_t *gv_openapi(const char *gv)
{
	json_t *paths = json_object();
	for (size_t i = 0; i < NSERVED; i++) {
		enum store_resource r = served[i].r;
		if (strcmp(store_resource_api_version(r), gv) != 0)
			continue;
		char path[160];
		snprintf(path, sizeof(path), "/%s%s/%s%s/{name}", strchr(gv, '/') ? "apis/" : "api/",
			 gv, store_resource_namespaced(r) ? "namespaces/{namespace}/" : "",
			 store_resource_name(r));
		json_object_set_new(paths, path, patch_operation(r));
	}
	return json_pack("{s:s, s:{s:s, s:s}, s:o, s:{s:{}}}", "openapi", "3.0.0", "info", "title",
			 "netpol lab", "version", "v1.32.0", "paths", paths, "components", "schemas");
}

static json_t *lookup(const char *p)
{
	if (strcmp(p, "/openapi/v3") == 0)
		return gv_paths_index();
	if (strcmp(p, "/openapi/v3/api/v1") == 0)
		return gv_openapi("v1");
	if (strncmp(p, "/openapi/v3/apis/", 17) == 0 &&
	    (strcmp(p + 17, "apps/v1") == 0 || strcmp(p + 17, "networking.k8s.io/v1") == 0))
		return gv_openapi(p + 17);
	if (strcmp(p, "/version") == 0)
		return version_doc();
	if (strcmp(p, "/api") == 0)
		return json_pack("{s:s, s:[s], s:[{s:s, s:s}]}", "kind", "APIVersions", "versions",
				 "v1", "serverAddressByClientCIDRs", "clientCIDR", "0.0.0.0/0",
				 "serverAddress", "127.0.0.1");
	if (strcmp(p, "/api/v1") == 0)
		return resource_list("v1");
	if (strcmp(p, "/apis") == 0)
		return group_list();
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		size_t n = strlen(groups[i]);
		if (strncmp(p, "/apis/", 6) != 0 || strncmp(p + 6, groups[i], n) != 0)
			continue;
		if (p[6 + n] == 0)
			return group_doc(groups[i], true);
		if (strcmp(p + 6 + n, "/v1") == 0)
			return resource_list(p + 6);
	}
	return NULL;
}

static bool is_health(const char *p)
{
	return strcmp(p, "/healthz") == 0 || strcmp(p, "/livez") == 0 ||
	       strcmp(p, "/readyz") == 0;
}

bool api_discovery(struct api *api, const struct api_request *req,
		   struct api_response *resp)
{
	size_t len = strlen(req->path);
	char p[256];
	if (len >= sizeof(p))
		return false;
	memcpy(p, req->path, len + 1);
	while (len > 1 && p[len - 1] == '/')
		p[--len] = 0;
	if (is_health(p) && strcmp(req->method, "GET") == 0) {
		resp->code = 200;
		resp->body = json_string("ok");
		resp->content_type = "text/plain";
		return true;
	}
	json_t *doc = lookup(p);
	if (!doc)
		return false;
	if (strcmp(req->method, "GET") != 0) {
		json_decref(doc);
		api_fail(resp, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
		return true;
	}
	resp->code = 200;
	resp->body = doc;
	return true;
}
