/* cmd_describe.c: `describe KIND [NAME...]` in kubectl's layout: "Key:\tvalue"
 * lines aligned by a tabwriter (padding 2), nested sections indented by two
 * spaces per level; a NetworkPolicy is explained in words as kubectl does. */
#include "commands.h"
#include "kctl.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char describe_usage[] =
	"Show details of a specific resource or group of resources.\n\n"
	"Usage:\n"
	"  kubectl describe (-f FILENAME | TYPE [NAME_PREFIX | -l label] | TYPE/NAME) [options]\n";

/* ---- a small tabwriter -------------------------------------------------------- */

struct out {
	char **lines;
	size_t n;
};

static void w(struct out *o, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void w(struct out *o, int level, const char *fmt, ...)
{
	va_list ap;
	char *body = NULL, *line = NULL;
	va_start(ap, fmt);
	if (vasprintf(&body, fmt, ap) < 0)
		body = NULL;
	va_end(ap);
	if (body && asprintf(&line, "%*s%s", level * 2, "", body) >= 0) {
		char **p = realloc(o->lines, (o->n + 1) * sizeof(*p));
		if (p) {
			o->lines = p;
			o->lines[o->n++] = line;
			line = NULL;
		}
	}
	free(line);
	free(body);
}

/* Cells of consecutive lines with tabs are aligned, padding 2. */
static void flush(struct out *o)
{
	for (size_t i = 0; i < o->n;) {
		size_t j = i;
		size_t width[8] = {0};
		while (j < o->n && strchr(o->lines[j], '\t')) {
			const char *s = o->lines[j];
			for (int c = 0; c < 8; c++) {
				const char *t = strchr(s, '\t');
				if (!t)
					break;
				if ((size_t)(t - s) + 2 > width[c])
					width[c] = (size_t)(t - s) + 2;
				s = t + 1;
			}
			j++;
		}
		if (j == i) {
			fputs(o->lines[i], stdout);
			i++;
			continue;
		}
		for (; i < j; i++) {
			const char *s = o->lines[i];
			for (int c = 0;; c++) {
				const char *t = c < 8 ? strchr(s, '\t') : NULL;
				if (!t) {
					fputs(s, stdout);
					break;
				}
				printf("%-*.*s", (int)width[c], (int)(t - s), s);
				s = t + 1;
			}
		}
	}
	for (size_t i = 0; i < o->n; i++)
		free(o->lines[i]);
	free(o->lines);
	*o = (struct out){0};
}

/* ---- shared pieces -------------------------------------------------------------- */

static const char *dflt(const char *s, const char *d)
{
	return s && *s ? s : d;
}

/* "Mon, 02 Jan 2006 15:04:05 -0700", kubectl's describe time format. */
static void when(json_t *obj, const char *path, char *buf, size_t len)
{
	const char *ts = kctl_str(obj, path);
	struct tm tm = {0};
	if (!ts || !strptime(ts, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
		snprintf(buf, len, "<unknown>");
		return;
	}
	strftime(buf, len, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of a map of strings, sorted, less the one to skip; caller
 * frees the array (not the keys). */
static const char **sorted_keys(json_t *map, const char *skip, size_t *n)
{
	const char **keys = calloc(json_object_size(map) + 1, sizeof(*keys));
	const char *key;
	json_t *v;
	*n = 0;
	json_object_foreach(map, key, v)
		if (keys && (!skip || strcmp(key, skip) != 0))
			keys[(*n)++] = key;
	if (keys)
		qsort(keys, *n, sizeof(*keys), cmp_str);
	return keys;
}

/* kubectl's printLabelsMultiline: one sorted "k=v" per line. */
static void labels_multiline(struct out *o, json_t *map)
{
	size_t n = 0;
	const char **keys = sorted_keys(map, NULL, &n);
	if (!n)
		w(o, 0, "Labels:\t<none>\n");
	for (size_t i = 0; i < n; i++)
		w(o, 0, "%s\t%s=%s\n", i ? "" : "Labels:", keys[i],
		  dflt(json_string_value(json_object_get(map, keys[i])), ""));
	free(keys);
}

#define MAX_ANNOTATION_LEN 140

/* kubectl's printAnnotationsMultiline: sorted "k: v", the last-applied
 * configuration left out, a long or multi-line value on lines of its
 * own, each cut at 138 characters with "...". */
static void annotations_multiline(struct out *o, json_t *map)
{
	size_t n = 0;
	const char **keys = sorted_keys(map, "kubectl.kubernetes.io/last-applied-configuration", &n);
	if (!n)
		w(o, 0, "Annotations:\t<none>\n");
	for (size_t i = 0; i < n; i++) {
		const char *title = i ? "" : "Annotations:";
		char *val = strdup(dflt(json_string_value(json_object_get(map, keys[i])), ""));
		size_t len = strlen(val);
		if (len && val[len - 1] == '\n')
			val[--len] = 0;
		if (len + strlen(keys[i]) + 2 <= MAX_ANNOTATION_LEN && !strchr(val, '\n')) {
			w(o, 0, "%s\t%s: %s\n", title, keys[i], val);
			free(val);
			continue;
		}
		w(o, 0, "%s\t%s:\n", title, keys[i]);
		char *save = NULL;
		for (char *line = strtok_r(val, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			w(o, 0, "\t  %.*s%s\n", MAX_ANNOTATION_LEN - 2, line,
			  strlen(line) > MAX_ANNOTATION_LEN - 2 ? "..." : "");
		free(val);
	}
	free(keys);
}

static void meta_lines(struct out *o, json_t *obj, bool ns)
{
	w(o, 0, "Name:\t%s\n", dflt(kctl_str(obj, "metadata.name"), ""));
	if (ns)
		w(o, 0, "Namespace:\t%s\n", dflt(kctl_str(obj, "metadata.namespace"), ""));
}

static void labels_annotations(struct out *o, json_t *obj)
{
	json_t *meta = json_object_get(obj, "metadata");
	labels_multiline(o, json_object_get(meta, "labels"));
	annotations_multiline(o, json_object_get(meta, "annotations"));
}

/* ---- NetworkPolicy ----------------------------------------------------------------- */

static void port_lines(struct out *o, json_t *ports, const char *ind, const char *dir)
{
	if (json_array_size(ports) == 0) {
		w(o, 0, "%s%s: <any> (traffic allowed to all ports)\n", ind, dir);
		return;
	}
	size_t i;
	json_t *p;
	json_array_foreach(ports, i, p) {
		json_t *port = json_object_get(p, "port");
		const char *proto = dflt(kctl_str(p, "protocol"), "TCP");
		char pbuf[64];
		if (json_is_integer(port))
			snprintf(pbuf, sizeof(pbuf), "%lld", (long long)json_integer_value(port));
		else
			snprintf(pbuf, sizeof(pbuf), "%s", dflt(json_string_value(port), "<nil>"));
		json_t *end = json_object_get(p, "endPort");
		if (json_is_integer(end))
			w(o, 0, "%s%s: %s-%lld/%s\n", ind, dir, pbuf, (long long)json_integer_value(end), proto);
		else
			w(o, 0, "%s%s: %s/%s\n", ind, dir, pbuf, proto);
	}
}

static void peer_lines(struct out *o, json_t *peers, const char *ind, const char *title,
		       const char *any)
{
	if (json_array_size(peers) == 0) {
		w(o, 0, "%s%s: %s\n", ind, title, any);
		return;
	}
	size_t i;
	json_t *p;
	json_array_foreach(peers, i, p) {
		json_t *pod = json_object_get(p, "podSelector"), *ns = json_object_get(p, "namespaceSelector");
		json_t *ip = json_object_get(p, "ipBlock");
		w(o, 0, "%s%s:\n", ind, title);
		char *ps = pod ? kctl_selector_string(pod) : NULL, *nss = ns ? kctl_selector_string(ns) : NULL;
		if (ns)
			w(o, 1, "%sNamespaceSelector: %s\n", ind, nss);
		if (pod)
			w(o, 1, "%sPodSelector: %s\n", ind, ps);
		if (!pod && !ns && ip) {
			w(o, 1, "%sIPBlock:\n", ind);
			w(o, 2, "%sCIDR: %s\n", ind, dflt(kctl_str(ip, "cidr"), ""));
			char exc[1024] = "";
			size_t j;
			json_t *e;
			json_array_foreach(json_object_get(ip, "except"), j, e) {
				size_t l = strlen(exc);
				snprintf(exc + l, sizeof(exc) - l, "%s%s", j ? ", " : "", json_string_value(e));
			}
			w(o, 2, "%sExcept: %s\n", ind, exc);
		}
		free(ps);
		free(nss);
	}
}

static void rules(struct out *o, json_t *list, bool ingress)
{
	const char *ind = "    ";
	if (json_array_size(list) == 0) {
		w(o, 0, "%s<none> (Selected pods are isolated for %s connectivity)\n", ind,
		  ingress ? "ingress" : "egress");
		return;
	}
	size_t i;
	json_t *r;
	json_array_foreach(list, i, r) {
		port_lines(o, json_object_get(r, "ports"), ind, "To Port");
		if (ingress)
			peer_lines(o, json_object_get(r, "from"), ind, "From", "<any> (traffic not restricted by source)");
		else
			peer_lines(o, json_object_get(r, "to"), ind, "To", "<any> (traffic not restricted by destination)");
		if (i + 1 < json_array_size(list))
			w(o, 0, "%s----------\n", ind);
	}
}

static void describe_policy(struct out *o, json_t *obj)
{
	json_t *spec = json_object_get(obj, "spec");
	char created[64];
	const char *ts = kctl_str(obj, "metadata.creationTimestamp");
	struct tm tm = {0};
	if (ts && strptime(ts, "%Y-%m-%dT%H:%M:%SZ", &tm))
		strftime(created, sizeof(created), "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
	else
		snprintf(created, sizeof(created), "<unknown>");
	meta_lines(o, obj, true);
	w(o, 0, "Created on:\t%s\n", created);
	labels_annotations(o, obj);
	w(o, 0, "Spec:\n");
	json_t *ps = json_object_get(spec, "podSelector");
	char *sel = kctl_selector_string(ps);
	if (strcmp(sel, "<none>") == 0)
		w(o, 1, "PodSelector:     <none> (Allowing the specific traffic to all pods in this namespace)\n");
	else
		w(o, 1, "PodSelector:     %s\n", sel);
	free(sel);
	bool in = false, eg = false;
	char types[64] = "";
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(spec, "policyTypes"), i, t) {
		const char *s = json_string_value(t);
		in |= s && !strcmp(s, "Ingress");
		eg |= s && !strcmp(s, "Egress");
		size_t l = strlen(types);
		snprintf(types + l, sizeof(types) - l, "%s%s", i ? ", " : "", s ? s : "");
	}
	if (in) {
		w(o, 1, "Allowing ingress traffic:\n");
		rules(o, json_object_get(spec, "ingress"), true);
	} else {
		w(o, 1, "Not affecting ingress traffic\n");
	}
	if (eg) {
		w(o, 1, "Allowing egress traffic:\n");
		rules(o, json_object_get(spec, "egress"), false);
	} else {
		w(o, 1, "Not affecting egress traffic\n");
	}
	w(o, 1, "Policy Types: %s\n", types);
}

/* ---- the other kinds ---------------------------------------------------------------- */

static void describe_namespace(struct out *o, json_t *obj)
{
	meta_lines(o, obj, false);
	labels_annotations(o, obj);
	w(o, 0, "Status:\t%s\n", dflt(kctl_str(obj, "status.phase"), "Active"));
}

static void container_lines(struct out *o, json_t *c, json_t *status, const char *prefix)
{
	const int level = 1;
	w(o, 0, "%s%s:\n", prefix, dflt(kctl_str(c, "name"), ""));
	w(o, level + 1, "Image:\t%s\n", dflt(kctl_str(c, "image"), ""));
	json_t *p = json_array_get(json_object_get(c, "ports"), 0);
	if (p)
		w(o, level + 1, "Port:\t%lld/%s\n", (long long)json_integer_value(json_object_get(p, "containerPort")),
		  dflt(kctl_str(p, "protocol"), "TCP"));
	else
		w(o, level + 1, "Port:\t<none>\n");
	w(o, level + 1, "Host Port:\t<none>\n");
	const char *lists[] = {"command", "args"}, *titles[] = {"Command", "Args"};
	for (int k = 0; k < 2; k++) {
		json_t *a = json_object_get(c, lists[k]);
		if (!json_array_size(a))
			continue;
		w(o, level + 1, "%s:\n", titles[k]);
		size_t i;
		json_t *s;
		json_array_foreach(a, i, s)
			w(o, level + 2, "%s\n", dflt(json_string_value(s), ""));
	}
	if (status) {
		json_t *state = json_object_get(status, "state");
		const char *st = json_object_get(state, "running") ? "Running" :
				 json_object_get(state, "terminated") ? "Terminated" : "Waiting";
		w(o, level + 1, "State:\t%s\n", st);
		w(o, level + 1, "Ready:\t%s\n", json_is_true(json_object_get(status, "ready")) ? "True" : "False");
		w(o, level + 1, "Restart Count:\t%lld\n", (long long)json_integer_value(json_object_get(status, "restartCount")));
	}
	w(o, level + 1, "Environment:\t%s\n", json_array_size(json_object_get(c, "env")) ? "" : "<none>");
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(c, "env"), i, e)
		w(o, level + 2, "%s:\t%s\n", dflt(kctl_str(e, "name"), ""), dflt(kctl_str(e, "value"), ""));
	w(o, level + 1, "Mounts:\t<none>\n");
}

static void describe_pod(struct out *o, json_t *obj)
{
	char start[64];
	json_t *spec = json_object_get(obj, "spec"), *st = json_object_get(obj, "status");
	meta_lines(o, obj, true);
	if (json_object_get(spec, "priority"))
		w(o, 0, "Priority:\t%lld\n", (long long)json_integer_value(json_object_get(spec, "priority")));
	if (kctl_str(spec, "serviceAccountName"))
		w(o, 0, "Service Account:\t%s\n", kctl_str(spec, "serviceAccountName"));
	w(o, 0, "Node:\t%s\n", dflt(kctl_str(spec, "nodeName"), "<none>"));
	if (kctl_str(st, "startTime")) {
		when(obj, "status.startTime", start, sizeof(start));
		w(o, 0, "Start Time:\t%s\n", start);
	}
	labels_annotations(o, obj);
	w(o, 0, "Status:\t%s\n", dflt(kctl_str(st, "phase"), "Pending"));
	w(o, 0, "IP:\t%s\n", dflt(kctl_str(st, "podIP"), ""));
	size_t i;
	json_t *ip, *ips = json_object_get(st, "podIPs");
	if (!json_array_size(ips))
		w(o, 0, "IPs:\t<none>\n");
	else
		w(o, 0, "IPs:\n");
	json_array_foreach(ips, i, ip)
		w(o, 1, "IP:\t%s\n", dflt(kctl_str(ip, "ip"), ""));
	json_t *ref;
	json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "ownerReferences"), i, ref)
		if (json_is_true(json_object_get(ref, "controller")))
			w(o, 0, "Controlled By:\t%s/%s\n", dflt(kctl_str(ref, "kind"), ""), dflt(kctl_str(ref, "name"), ""));
	w(o, 0, "Containers:\n");
	json_t *c, *statuses = json_object_get(st, "containerStatuses");
	json_array_foreach(json_object_get(spec, "containers"), i, c)
		container_lines(o, c, json_array_get(statuses, i), "  ");
	json_t *conds = json_object_get(st, "conditions"), *cond;
	if (json_array_size(conds)) {
		w(o, 0, "Conditions:\n");
		w(o, 1, "Type\tStatus\n");
	}
	json_array_foreach(conds, i, cond)
		w(o, 1, "%s \t%s \n", dflt(kctl_str(cond, "type"), ""), dflt(kctl_str(cond, "status"), ""));
	w(o, 0, "Volumes:\t<none>\n");
	w(o, 0, "QoS Class:\tBestEffort\n");
	w(o, 0, "Node-Selectors:\t<none>\n");
	w(o, 0, "Tolerations:\t<none>\n");
	w(o, 0, "Events:\t<none>\n");
}

static void describe_deployment(struct out *o, json_t *obj)
{
	char created[64];
	json_t *spec = json_object_get(obj, "spec"), *st = json_object_get(obj, "status");
	meta_lines(o, obj, true);
	when(obj, "metadata.creationTimestamp", created, sizeof(created));
	w(o, 0, "CreationTimestamp:\t%s\n", created);
	labels_annotations(o, obj);
	char *sel = kctl_selector_string(json_object_get(spec, "selector"));
	w(o, 0, "Selector:\t%s\n", sel);
	free(sel);
	long long want = json_integer_value(json_object_get(spec, "replicas"));
	long long upd = json_integer_value(json_object_get(st, "updatedReplicas"));
	long long tot = json_integer_value(json_object_get(st, "replicas"));
	long long av = json_integer_value(json_object_get(st, "availableReplicas"));
	w(o, 0, "Replicas:\t%lld desired | %lld updated | %lld total | %lld available | %lld unavailable\n",
	  want, upd, tot, av, tot > av ? tot - av : 0);
	w(o, 0, "StrategyType:\tRollingUpdate\n");
	w(o, 0, "MinReadySeconds:\t0\n");
	w(o, 0, "RollingUpdateStrategy:\t25%% max unavailable, 25%% max surge\n");
	w(o, 0, "Pod Template:\n");
	json_t *tmpl = json_object_get(spec, "template");
	char *labels = kctl_labels_string(json_object_get(json_object_get(tmpl, "metadata"), "labels"));
	w(o, 1, "Labels:\t%s\n", labels);
	free(labels);
	w(o, 1, "Containers:\n");
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(json_object_get(tmpl, "spec"), "containers"), i, c) {
		container_lines(o, c, NULL, "   "); /* kubectl indents these by 3 */
	}
	w(o, 1, "Volumes:\t<none>\n");
	w(o, 1, "Node-Selectors:\t<none>\n");
	w(o, 1, "Tolerations:\t<none>\n");
	w(o, 0, "Events:\t<none>\n");
}

static char *endpoints_text(struct kctl *k, json_t *svc)
{
	char *path = kctl_path(kctl_kind("endpoints"), kctl_str(svc, "metadata.namespace"),
			       kctl_str(svc, "metadata.name"), NULL);
	long status = 0;
	json_t *ep = NULL;
	char buf[2048] = "";
	if (path && kctl_request(k, "GET", path, NULL, NULL, &status, &ep) == 0 && status == 200) {
		size_t i, j, m;
		json_t *sub, *a, *p;
		json_array_foreach(json_object_get(ep, "subsets"), i, sub)
			json_array_foreach(json_object_get(sub, "addresses"), j, a)
				json_array_foreach(json_object_get(sub, "ports"), m, p) {
					size_t l = strlen(buf);
					snprintf(buf + l, sizeof(buf) - l, "%s%s:%lld", *buf ? "," : "",
						 dflt(kctl_str(a, "ip"), ""), (long long)json_integer_value(json_object_get(p, "port")));
				}
	}
	json_decref(ep);
	free(path);
	return strdup(*buf ? buf : "<none>");
}

static void describe_service(struct out *o, json_t *obj, struct kctl *k)
{
	json_t *spec = json_object_get(obj, "spec");
	meta_lines(o, obj, true);
	labels_annotations(o, obj);
	char *sel = kctl_labels_string(json_object_get(spec, "selector"));
	w(o, 0, "Selector:\t%s\n", sel);
	free(sel);
	w(o, 0, "Type:\t%s\n", dflt(kctl_str(spec, "type"), "ClusterIP"));
	if (kctl_str(spec, "ipFamilyPolicy"))
		w(o, 0, "IP Family Policy:\t%s\n", kctl_str(spec, "ipFamilyPolicy"));
	json_t *fams = json_object_get(spec, "ipFamilies");
	w(o, 0, "IP Families:\t%s\n", json_array_size(fams) ? dflt(json_string_value(json_array_get(fams, 0)), "") : "<none>");
	w(o, 0, "IP:\t%s\n", dflt(kctl_str(spec, "clusterIP"), "<none>"));
	w(o, 0, "IPs:\t%s\n", dflt(kctl_str(spec, "clusterIP"), "<none>"));
	size_t i;
	json_t *p;
	char *eps = endpoints_text(k, obj);
	json_array_foreach(json_object_get(spec, "ports"), i, p) {
		const char *proto = dflt(kctl_str(p, "protocol"), "TCP");
		w(o, 0, "Port:\t%s\t%lld/%s\n", dflt(kctl_str(p, "name"), "<unset>"),
		  (long long)json_integer_value(json_object_get(p, "port")), proto);
		json_t *tp = json_object_get(p, "targetPort");
		if (json_is_string(tp))
			w(o, 0, "TargetPort:\t%s/%s\n", json_string_value(tp), proto);
		else
			w(o, 0, "TargetPort:\t%lld/%s\n", (long long)(tp ? json_integer_value(tp) : json_integer_value(json_object_get(p, "port"))), proto);
		w(o, 0, "Endpoints:\t%s\n", eps);
	}
	free(eps);
	w(o, 0, "Session Affinity:\t%s\n", dflt(kctl_str(spec, "sessionAffinity"), "None"));
	if (kctl_str(spec, "internalTrafficPolicy"))
		w(o, 0, "Internal Traffic Policy:\t%s\n", kctl_str(spec, "internalTrafficPolicy"));
	w(o, 0, "Events:\t<none>\n");
}

static void describe_endpoints(struct out *o, json_t *obj)
{
	meta_lines(o, obj, true);
	labels_annotations(o, obj);
	w(o, 0, "Subsets:\n");
	size_t i, j;
	json_t *s, *a;
	json_array_foreach(json_object_get(obj, "subsets"), i, s) {
		char addrs[2048] = "";
		json_array_foreach(json_object_get(s, "addresses"), j, a) {
			size_t l = strlen(addrs);
			snprintf(addrs + l, sizeof(addrs) - l, "%s%s", j ? "," : "", dflt(kctl_str(a, "ip"), ""));
		}
		w(o, 1, "Addresses:\t%s\n", *addrs ? addrs : "<none>");
	}
	w(o, 0, "Events:\t<none>\n");
}

static void describe_object(struct kctl *k, const struct kkind *kk, json_t *obj)
{
	struct out o = {0};
	if (!strcmp(kk->kind, "NetworkPolicy"))
		describe_policy(&o, obj);
	else if (!strcmp(kk->kind, "Namespace"))
		describe_namespace(&o, obj);
	else if (!strcmp(kk->kind, "Pod"))
		describe_pod(&o, obj);
	else if (!strcmp(kk->kind, "Deployment"))
		describe_deployment(&o, obj);
	else if (!strcmp(kk->kind, "Service"))
		describe_service(&o, obj, k);
	else
		describe_endpoints(&o, obj);
	flush(&o);
}

static int describe(struct kctl *k, const struct kkind *kk, const char *name, const char *selector)
{
	char *q = NULL, *sel = selector ? kctl_escape(selector) : NULL;
	if (sel && asprintf(&q, "labelSelector=%s", sel) < 0)
		q = NULL;
	char *path = kctl_path(kk, k->ns, name, name ? NULL : q);
	free(q);
	free(sel);
	long status = 0;
	json_t *resp = NULL;
	int ret = kctl_request(k, "GET", path, NULL, NULL, &status, &resp);
	free(path);
	if (ret < 0)
		return 1;
	if (status != 200) {
		ret = kctl_print_status(resp, status);
	} else if (name) {
		describe_object(k, kk, resp);
	} else {
		size_t i;
		json_t *item;
		json_array_foreach(json_object_get(resp, "items"), i, item) {
			if (i)
				printf("\n\n");
			describe_object(k, kk, item);
		}
		if (!json_array_size(json_object_get(resp, "items")))
			fprintf(stderr, "No resources found in %s namespace.\n", k->ns);
	}
	json_decref(resp);
	return ret;
}

int cmd_describe(int argc, char **argv)
{
	struct kctl k;
	const char *selector = NULL;
	const struct kflag flags[] = {{"selector", 'l', KF_STRING, &selector}, {0}};
	int r = kctl_init(&k, argc, argv, flags, describe_usage);
	if (r != 0)
		return r < 0 ? 1 : 0;
	int ret = 0;
	const char *first = k.args.n ? k.args.v[0] : "";
	const char *slash = strchr(first, '/');
	char kind[128];
	snprintf(kind, sizeof(kind), "%.*s", slash ? (int)(slash - first) : (int)strlen(first), first);
	const struct kkind *kk = kctl_kind(kind);
	if (k.args.n == 0)
		ret = kctl_error("You must specify the type of resource to describe. Use \"%s api-resources\" for a complete list of supported resources.", k.prog);
	else if (!kk)
		ret = kctl_error("the server doesn't have a resource type \"%s\"", kind);
	else if (slash)
		ret = describe(&k, kk, slash + 1, NULL);
	else if (k.args.n == 1)
		ret = describe(&k, kk, NULL, selector);
	else
		for (size_t i = 1; i < k.args.n; i++) {
			if (i > 1)
				printf("\n\n");
			ret |= describe(&k, kk, k.args.v[i], NULL);
		}
	kctl_done(&k);
	return ret ? 1 : 0;
}
