/* table.c: server-side printing. `kubectl get` asks for a
 * meta.k8s.io/v1 Table (Accept: application/json;as=Table;...) and prints
 * the columns the server chose; these are the columns and cell formats of
 * Kubernetes' own printers for the kinds we serve, so the output looks
 * like a real cluster's. Priority-1 columns are the -o wide ones. */
#include "api_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool api_wants_table(const struct api_request *req)
{
	return req->accept && strstr(req->accept, "as=Table") &&
	       strstr(req->accept, "g=meta.k8s.io");
}

/* ---- cells ------------------------------------------------------------------------ */

static json_t *get_path(json_t *obj, const char *a, const char *b)
{
	json_t *v = json_object_get(obj, a);
	return b ? json_object_get(v, b) : v;
}

static const char *str_or(json_t *v, const char *dflt)
{
	const char *s = json_string_value(v);
	return s && *s ? s : dflt;
}

/* Kubernetes' duration.HumanDuration. */
static void human_duration(long long s, char *buf, size_t len)
{
	long long m = s / 60, h = s / 3600, d = h / 24;
	if (s < -1)
		snprintf(buf, len, "<invalid>");
	else if (s < 0)
		snprintf(buf, len, "0s");
	else if (s < 120)
		snprintf(buf, len, "%llds", s);
	else if (m < 10)
		snprintf(buf, len, s % 60 ? "%lldm%llds" : "%lldm", m, s % 60);
	else if (m < 180)
		snprintf(buf, len, "%lldm", m);
	else if (h < 8)
		snprintf(buf, len, m % 60 ? "%lldh%lldm" : "%lldh", h, m % 60);
	else if (h < 48)
		snprintf(buf, len, "%lldh", h);
	else if (h < 24 * 8)
		snprintf(buf, len, h % 24 ? "%lldd%lldh" : "%lldd", d, h % 24);
	else if (h < 24 * 365 * 2)
		snprintf(buf, len, "%lldd", d);
	else if (h < 24 * 365 * 8)
		snprintf(buf, len, (d % 365) ? "%lldy%lldd" : "%lldy", d / 365, d % 365);
	else
		snprintf(buf, len, "%lldy", d / 365);
}

static json_t *age_cell(json_t *obj)
{
	const char *ts = json_string_value(get_path(json_object_get(obj, "metadata"),
						    "creationTimestamp", NULL));
	struct tm tm = {0};
	char buf[32];
	if (!ts || !strptime(ts, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return json_string("<unknown>");
	human_duration((long long)(time(NULL) - timegm(&tm)), buf, sizeof(buf));
	return json_string(buf);
}

static json_t *name_cell(json_t *obj)
{
	return json_string(str_or(get_path(obj, "metadata", "name"), ""));
}

/* ---- per kind ------------------------------------------------------------------------ */

static void namespace_cells(json_t *obj, json_t *cells)
{
	json_array_append_new(cells, json_string(str_or(get_path(obj, "status", "phase"), "")));
}

static long ready_containers(json_t *pod, long long *restarts)
{
	long ready = 0;
	size_t i;
	json_t *cs;
	json_array_foreach(get_path(pod, "status", "containerStatuses"), i, cs) {
		ready += json_is_true(json_object_get(cs, "ready"));
		*restarts += json_integer_value(json_object_get(cs, "restartCount"));
	}
	return ready;
}

static const char *pod_status(json_t *pod)
{
	if (get_path(pod, "metadata", "deletionTimestamp"))
		return "Terminating";
	const char *reason = str_or(get_path(pod, "status", "reason"), NULL);
	size_t i;
	json_t *cs;
	json_array_foreach(get_path(pod, "status", "containerStatuses"), i, cs) {
		const char *waiting = str_or(get_path(json_object_get(cs, "state"), "waiting", "reason"), NULL);
		const char *term = str_or(get_path(json_object_get(cs, "state"), "terminated", "reason"), NULL);
		if (waiting)
			reason = waiting;
		else if (term)
			reason = term;
	}
	return reason ? reason : str_or(get_path(pod, "status", "phase"), "Pending");
}

static void pod_cells(json_t *obj, json_t *cells)
{
	long long restarts = 0;
	long ready = ready_containers(obj, &restarts);
	char buf[32];
	snprintf(buf, sizeof(buf), "%ld/%zu", ready,
		 json_array_size(get_path(obj, "spec", "containers")));
	json_array_append_new(cells, json_string(buf));
	json_array_append_new(cells, json_string(pod_status(obj)));
	json_array_append_new(cells, json_integer(restarts));
}

static void pod_wide_cells(json_t *obj, json_t *cells)
{
	json_array_append_new(cells, json_string(str_or(get_path(obj, "status", "podIP"), "<none>")));
	json_array_append_new(cells, json_string(str_or(get_path(obj, "spec", "nodeName"), "<none>")));
	json_array_append_new(cells, json_string("<none>"));
	json_array_append_new(cells, json_string("<none>"));
}

static void deployment_cells(json_t *obj, json_t *cells)
{
	json_t *st = json_object_get(obj, "status");
	json_t *replicas = get_path(obj, "spec", "replicas");
	char buf[48];
	snprintf(buf, sizeof(buf), "%lld/%lld",
		 (long long)json_integer_value(json_object_get(st, "readyReplicas")),
		 replicas ? (long long)json_integer_value(replicas) : 1LL);
	json_array_append_new(cells, json_string(buf));
	json_array_append_new(cells, json_integer(json_integer_value(json_object_get(st, "updatedReplicas"))));
	json_array_append_new(cells, json_integer(json_integer_value(json_object_get(st, "availableReplicas"))));
}

/* "a=b,c in (x,y)" from a LabelSelector, as metav1.FormatLabelSelector. */
static char *format_label_selector(json_t *sel)
{
	char *out = strdup("");
	const char *key;
	json_t *v;
	json_object_foreach(json_object_get(sel, "matchLabels"), key, v) {
		char *n = NULL;
		if (asprintf(&n, "%s%s%s=%s", out, *out ? "," : "", key, str_or(v, "")) < 0)
			break;
		free(out);
		out = n;
	}
	size_t i;
	json_array_foreach(json_object_get(sel, "matchExpressions"), i, v) {
		const char *op = str_or(json_object_get(v, "operator"), "");
		char *vals = json_dumps(json_object_get(v, "values"), JSON_COMPACT);
		char *n = NULL;
		const char *k = str_or(json_object_get(v, "key"), "");
		int r = strcmp(op, "Exists") == 0 ? asprintf(&n, "%s%s%s", out, *out ? "," : "", k)
			: strcmp(op, "DoesNotExist") == 0 ? asprintf(&n, "%s%s!%s", out, *out ? "," : "", k)
			: asprintf(&n, "%s%s%s %s %s", out, *out ? "," : "", k,
				   strcmp(op, "In") == 0 ? "in" : "notin", vals ? vals : "[]");
		free(vals);
		if (r < 0)
			break;
		free(out);
		out = n;
	}
	if (out && !*out) {
		free(out);
		out = strdup("<none>");
	}
	return out;
}

static char *map_selector(json_t *m)
{
	char *out = strdup("");
	const char *key;
	json_t *v;
	json_object_foreach(m, key, v) {
		char *n = NULL;
		if (asprintf(&n, "%s%s%s=%s", out, *out ? "," : "", key, str_or(v, "")) < 0)
			break;
		free(out);
		out = n;
	}
	if (out && !*out) {
		free(out);
		out = strdup("<none>");
	}
	return out;
}

static void append_owned(json_t *cells, char *s)
{
	json_array_append_new(cells, json_string(s ? s : ""));
	free(s);
}

static void deployment_wide_cells(json_t *obj, json_t *cells)
{
	json_t *containers = get_path(get_path(obj, "spec", "template"), "spec", "containers");
	char names[512] = "", images[1024] = "";
	size_t i;
	json_t *c;
	json_array_foreach(containers, i, c) {
		size_t nl = strlen(names), il = strlen(images);
		snprintf(names + nl, sizeof(names) - nl, "%s%s", i ? "," : "",
			 str_or(json_object_get(c, "name"), ""));
		snprintf(images + il, sizeof(images) - il, "%s%s", i ? "," : "",
			 str_or(json_object_get(c, "image"), ""));
	}
	json_array_append_new(cells, json_string(names));
	json_array_append_new(cells, json_string(images));
	append_owned(cells, format_label_selector(get_path(obj, "spec", "selector")));
}

static char *service_ports(json_t *ports)
{
	char buf[1024] = "";
	size_t i;
	json_t *p;
	json_array_foreach(ports, i, p) {
		size_t l = strlen(buf);
		json_t *np = json_object_get(p, "nodePort");
		if (np)
			snprintf(buf + l, sizeof(buf) - l, "%s%lld:%lld/%s", i ? "," : "",
				 (long long)json_integer_value(json_object_get(p, "port")),
				 (long long)json_integer_value(np), str_or(json_object_get(p, "protocol"), "TCP"));
		else
			snprintf(buf + l, sizeof(buf) - l, "%s%lld/%s", i ? "," : "",
				 (long long)json_integer_value(json_object_get(p, "port")),
				 str_or(json_object_get(p, "protocol"), "TCP"));
	}
	return strdup(*buf ? buf : "<none>");
}

static void service_cells(json_t *obj, json_t *cells)
{
	json_t *spec = json_object_get(obj, "spec");
	const char *type = str_or(json_object_get(spec, "type"), "ClusterIP");
	json_array_append_new(cells, json_string(type));
	json_array_append_new(cells, json_string(str_or(json_object_get(spec, "clusterIP"), "<none>")));
	json_t *ext = json_object_get(spec, "externalIPs");
	const char *ext_ip = json_array_size(ext) ? str_or(json_array_get(ext, 0), "<none>")
			     : strcmp(type, "LoadBalancer") == 0 ? "<pending>" : "<none>";
	json_array_append_new(cells, json_string(ext_ip));
	append_owned(cells, service_ports(json_object_get(spec, "ports")));
}

static void service_wide_cells(json_t *obj, json_t *cells)
{
	append_owned(cells, map_selector(get_path(obj, "spec", "selector")));
}

/* "ip:port,ip:port + N more...", at most three, as Kubernetes prints. */
static void endpoints_cells(json_t *obj, json_t *cells)
{
	char buf[512] = "";
	int shown = 0, total = 0;
	size_t i, j, k;
	json_t *ss, *a, *p;
	json_array_foreach(json_object_get(obj, "subsets"), i, ss) {
		json_t *ports = json_object_get(ss, "ports");
		json_array_foreach(json_object_get(ss, "addresses"), j, a) {
			const char *ip = str_or(json_object_get(a, "ip"), "");
			size_t np = json_array_size(ports);
			for (k = 0; k < (np ? np : 1); k++) {
				total++;
				if (shown == 3)
					continue;
				p = json_array_get(ports, k);
				size_t l = strlen(buf);
				if (p)
					snprintf(buf + l, sizeof(buf) - l, "%s%s:%lld", shown ? "," : "", ip,
						 (long long)json_integer_value(json_object_get(p, "port")));
				else
					snprintf(buf + l, sizeof(buf) - l, "%s%s", shown ? "," : "", ip);
				shown++;
			}
		}
	}
	if (total > shown) {
		size_t l = strlen(buf);
		snprintf(buf + l, sizeof(buf) - l, " + %d more...", total - shown);
	}
	json_array_append_new(cells, json_string(*buf ? buf : "<none>"));
}

static void policy_cells(json_t *obj, json_t *cells)
{
	append_owned(cells, format_label_selector(get_path(obj, "spec", "podSelector")));
}

/* ---- columns -------------------------------------------------------------------------- */

struct printer {
	const char *const *columns;      /* after Name, before Age */
	const char *const *wide;         /* after Age, priority 1 */
	void (*cells)(json_t *obj, json_t *cells);
	void (*wide_cells)(json_t *obj, json_t *cells);
};

static const char *const ns_cols[] = {"Status", NULL};
static const char *const pod_cols[] = {"Ready", "Status", "Restarts", NULL};
static const char *const pod_wide[] = {"IP", "Node", "Nominated Node", "Readiness Gates", NULL};
static const char *const deploy_cols[] = {"Ready", "Up-to-date", "Available", NULL};
static const char *const deploy_wide[] = {"Containers", "Images", "Selector", NULL};
static const char *const svc_cols[] = {"Type", "Cluster-IP", "External-IP", "Port(s)", NULL};
static const char *const svc_wide[] = {"Selector", NULL};
static const char *const ep_cols[] = {"Endpoints", NULL};
static const char *const np_cols[] = {"Pod-Selector", NULL};
static const char *const none[] = {NULL};

static const struct printer printers[STORE_NRESOURCES] = {
	[STORE_NAMESPACES] = {ns_cols, none, namespace_cells, NULL},
	[STORE_PODS] = {pod_cols, pod_wide, pod_cells, pod_wide_cells},
	[STORE_DEPLOYMENTS] = {deploy_cols, deploy_wide, deployment_cells, deployment_wide_cells},
	[STORE_SERVICES] = {svc_cols, svc_wide, service_cells, service_wide_cells},
	[STORE_ENDPOINTS] = {ep_cols, none, endpoints_cells, NULL},
	[STORE_NETWORKPOLICIES] = {np_cols, none, policy_cells, NULL},
};

static void add_column(json_t *defs, const char *name, int priority)
{
	bool is_int = strcmp(name, "Restarts") == 0 || strcmp(name, "Up-to-date") == 0 ||
		      strcmp(name, "Available") == 0;
	json_array_append_new(defs, json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", name, "type",
					      is_int ? "integer" : "string", "format",
					      strcmp(name, "Name") == 0 ? "name" : "", "description",
					      "", "priority", priority));
}

static json_t *columns(const struct printer *p)
{
	json_t *defs = json_array();
	add_column(defs, "Name", 0);
	for (const char *const *c = p->columns; *c; c++)
		add_column(defs, *c, 0);
	add_column(defs, "Age", 0);
	for (const char *const *c = p->wide; *c; c++)
		add_column(defs, *c, 1);
	return defs;
}

static json_t *row_object(json_t *obj, bool include_object)
{
	if (include_object)
		return json_incref(obj);
	return json_pack("{s:s, s:s, s:O}", "kind", "PartialObjectMetadata", "apiVersion",
			 "meta.k8s.io/v1", "metadata", json_object_get(obj, "metadata"));
}

static json_t *row(const struct printer *p, json_t *obj, bool include_object)
{
	json_t *cells = json_array();
	json_array_append_new(cells, name_cell(obj));
	p->cells(obj, cells);
	json_array_append_new(cells, age_cell(obj));
	if (p->wide_cells)
		p->wide_cells(obj, cells);
	return json_pack("{s:o, s:o}", "cells", cells, "object", row_object(obj, include_object));
}

json_t *api_table(enum store_resource r, json_t *items, json_t *list_meta, bool include_object)
{
	const struct printer *p = &printers[r];
	json_t *rows = json_array();
	size_t i;
	json_t *obj;
	json_array_foreach(items, i, obj)
		json_array_append_new(rows, row(p, obj, include_object));
	json_t *meta = list_meta ? json_deep_copy(list_meta) : json_object();
	return json_pack("{s:s, s:s, s:o, s:o, s:o}", "kind", "Table", "apiVersion",
			 "meta.k8s.io/v1", "metadata", meta, "columnDefinitions", columns(p),
			 "rows", rows);
}
