/* podrules: the API server's rules across the parts of a pod spec netpol
 * does not model (core's ValidatePodSpec): volumes, volume mounts, probes,
 * resources, tolerations, container names, security contexts. They run on
 * a spec whose structure schema_check.c already accepted, so every value
 * has its type here; like the API server, which validates only what
 * decoded, they are skipped for a spec with structural errors. */
#include "decode_internal.h"

#include <stdio.h>

static const char *str_at(const struct doc_node *map, const char *key)
{
	const struct doc_node *v = map && map->type == DOC_MAP ? doc_get(map, key) : NULL;
	return v && v->type == DOC_STRING ? v->text : NULL;
}

static const struct doc_node *map_at(const struct doc_node *map, const char *key)
{
	const struct doc_node *v = map && map->type == DOC_MAP ? doc_get(map, key) : NULL;
	return v && v->type == DOC_MAP ? v : NULL;
}

static const struct doc_node *seq_at(const struct doc_node *map, const char *key)
{
	const struct doc_node *v = map && map->type == DOC_MAP ? doc_get(map, key) : NULL;
	return v && v->type == DOC_SEQ ? v : NULL;
}

/* Keys of a map whose values are not null (set fields, as in Go). */
static size_t set_fields(const struct doc_node *map, const char *except)
{
	size_t n = 0;
	for (size_t i = 0; i < map->n; i++)
		if (map->vals[i]->type != DOC_NULL && (!except || strcmp(map->keys[i]->text, except)))
			n++;
	return n;
}

static bool in_list(const char *s, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

/* ---- volumes ------------------------------------------------------------- */

static void volume_rules(struct dctx *c, const struct doc_node *vol, const struct doc_node *vols,
			 size_t idx)
{
	const char *name = str_at(vol, "name");
	if (!name || !*name)
		validate_required(c, vol, "name", NULL);
	else if (validate_dns1123_label(c, doc_get(vol, "name"), "name", name))
		for (size_t j = 0; j < idx; j++)
			if (vols->vals[j]->type == DOC_MAP && str_at(vols->vals[j], "name") &&
			    strcmp(str_at(vols->vals[j], "name"), name) == 0) {
				validate_duplicate(c, doc_get(vol, "name"), "name", name);
				break;
			}
	size_t sources = set_fields(vol, "name");
	if (sources == 0)
		validate_required(c, vol, NULL, "must specify a volume type");
	else if (sources > 1)
		validate_forbidden(c, vol, NULL, "may not specify more than 1 volume type");
}

static void volumes_rules(struct dctx *c, const struct doc_node *spec)
{
	const struct doc_node *vols = seq_at(spec, "volumes");
	size_t mark = dctx_push_key(c, "volumes");
	for (size_t i = 0; vols && i < vols->n; i++) {
		size_t m2 = dctx_push_index(c, i);
		if (vols->vals[i]->type == DOC_MAP)
			volume_rules(c, vols->vals[i], vols, i);
		dctx_pop(c, m2);
	}
	dctx_pop(c, mark);
}

static bool volume_exists(const struct doc_node *spec, const char *name)
{
	const struct doc_node *vols = seq_at(spec, "volumes");
	for (size_t i = 0; vols && i < vols->n; i++) {
		const char *n = str_at(vols->vals[i], "name");
		if (n && strcmp(n, name) == 0)
			return true;
	}
	return false;
}

static void mounts_rules(struct dctx *c, const struct doc_node *spec,
			 const struct doc_node *container)
{
	const struct doc_node *mounts = seq_at(container, "volumeMounts");
	size_t mark = dctx_push_key(c, "volumeMounts");
	for (size_t i = 0; mounts && i < mounts->n; i++) {
		const struct doc_node *m = mounts->vals[i];
		const char *name = str_at(m, "name"), *path = str_at(m, "mountPath");
		size_t m2 = dctx_push_index(c, i);
		if (!name || !*name)
			validate_required(c, m, "name", NULL);
		else if (!volume_exists(spec, name)) {
			size_t m3 = dctx_push_key(c, "name");
			char *q = validate_quote(name);
			dctx_error(c, doc_get(m, "name"), NULL, "%s: Not found: %s", c->path,
				   q ? q : name);
			free(q);
			dctx_pop(c, m3);
		}
		if (!path || !*path)
			validate_required(c, m, "mountPath", NULL);
		dctx_pop(c, m2);
	}
	dctx_pop(c, mark);
}

/* ---- probes -------------------------------------------------------------- */

static void probe_port(struct dctx *c, const struct doc_node *handler, const char *child)
{
	const struct doc_node *p = handler ? doc_get(handler, "port") : NULL;
	size_t mark = dctx_push_key(c, child);
	if (!p || p->type == DOC_NULL)
		validate_required(c, handler, "port", NULL);
	else if (p->type == DOC_STRING)
		validate_port_name(c, p, "port", p->text);
	else if (p->type == DOC_INT)
		validate_port_number(c, p, "port", p->ival);
	dctx_pop(c, mark);
}

static void probe_rules(struct dctx *c, const struct doc_node *container, const char *which)
{
	static const char *const handlers[] = {"exec", "httpGet", "tcpSocket", "grpc", NULL};
	const struct doc_node *probe = map_at(container, which);
	if (!probe)
		return;
	size_t n = 0, mark = dctx_push_key(c, which);
	for (size_t i = 0; handlers[i]; i++) {
		const struct doc_node *h = doc_get(probe, handlers[i]);
		if (!h || h->type == DOC_NULL)
			continue;
		if (++n > 1)
			validate_forbidden(c, h, handlers[i], "may not specify more than 1 handler type");
		else if (i == 1 || i == 2 || i == 3)
			probe_port(c, h, handlers[i]);
	}
	if (n == 0)
		validate_required(c, probe, NULL, "must specify a handler type");
	dctx_pop(c, mark);
}

/* ---- resources ----------------------------------------------------------- */

static void resource_nonnegative(struct dctx *c, const struct doc_node *list)
{
	for (size_t i = 0; list && i < list->n; i++) {
		double q;
		const struct doc_node *v = list->vals[i];
		if (schema_quantity_value(v, &q) && q < 0) {
			size_t mark = dctx_push_key(c, list->keys[i]->text);
			validate_invalid_str(c, v, NULL, v->text, NULL,
					     "must be greater than or equal to 0");
			dctx_pop(c, mark);
		}
	}
}

static void resources_rules(struct dctx *c, const struct doc_node *container)
{
	const struct doc_node *res = map_at(container, "resources");
	const struct doc_node *lim = map_at(res, "limits"), *req = map_at(res, "requests");
	size_t mark = dctx_push_key(c, "resources");
	size_t m2 = dctx_push_key(c, "limits");
	resource_nonnegative(c, lim);
	dctx_pop(c, m2);
	m2 = dctx_push_key(c, "requests");
	resource_nonnegative(c, req);
	for (size_t i = 0; req && lim && i < req->n; i++) {
		const struct doc_node *l = doc_get(lim, req->keys[i]->text);
		double rq, lq;
		if (l && schema_quantity_value(req->vals[i], &rq) && schema_quantity_value(l, &lq) &&
		    rq > lq) {
			char why[256];
			snprintf(why, sizeof(why), "must be less than or equal to %s limit of %s",
				 req->keys[i]->text, l->text);
			size_t m3 = dctx_push_key(c, req->keys[i]->text);
			validate_invalid_str(c, req->vals[i], NULL, req->vals[i]->text, NULL, why);
			dctx_pop(c, m3);
		}
	}
	dctx_pop(c, m2);
	dctx_pop(c, mark);
}

/* ---- security contexts --------------------------------------------------- */

static void security_rules(struct dctx *c, const struct doc_node *owner)
{
	static const char *const ids[] = {"runAsUser", "runAsGroup", NULL};
	const struct doc_node *sc = map_at(owner, "securityContext");
	size_t mark = dctx_push_key(c, "securityContext");
	for (size_t i = 0; sc && ids[i]; i++) {
		const struct doc_node *v = doc_get(sc, ids[i]);
		if (v && v->type == DOC_INT && (v->ival < 0 || v->ival > 2147483647))
			validate_invalid_int(c, v, ids[i], v->ival,
					     "must be between 0 and 2147483647, inclusive");
	}
	dctx_pop(c, mark);
}

/* ---- containers ---------------------------------------------------------- */

static void container_rules(struct dctx *c, const struct doc_node *spec,
			    const struct doc_node *ctr)
{
	mounts_rules(c, spec, ctr);
	probe_rules(c, ctr, "livenessProbe");
	probe_rules(c, ctr, "readinessProbe");
	probe_rules(c, ctr, "startupProbe");
	resources_rules(c, ctr);
	security_rules(c, ctr);
}

/* Names are unique across containers and initContainers; as in the API
 * server, an init container repeating a container's name is the duplicate. */
static bool name_taken(const struct doc_node *spec, const char *list, size_t upto,
		       const char *name)
{
	const struct doc_node *ctrs = seq_at(spec, list);
	for (size_t i = 0; ctrs && i < ctrs->n && i < upto; i++) {
		const char *n = str_at(ctrs->vals[i], "name");
		if (n && strcmp(n, name) == 0)
			return true;
	}
	return false;
}

static void containers_rules(struct dctx *c, const struct doc_node *spec, const char *list)
{
	const struct doc_node *ctrs = seq_at(spec, list);
	bool init = strcmp(list, "initContainers") == 0;
	size_t mark = dctx_push_key(c, list);
	for (size_t i = 0; ctrs && i < ctrs->n; i++) {
		const struct doc_node *ctr = ctrs->vals[i];
		const char *name = str_at(ctr, "name");
		size_t m2 = dctx_push_index(c, i);
		if (name && *name &&
		    (name_taken(spec, list, i, name) ||
		     (init && name_taken(spec, "containers", SIZE_MAX, name))))
			validate_duplicate(c, doc_get(ctr, "name"), "name", name);
		if (ctr->type == DOC_MAP)
			container_rules(c, spec, ctr);
		dctx_pop(c, m2);
	}
	dctx_pop(c, mark);
}

/* ---- tolerations --------------------------------------------------------- */

static void toleration_rules(struct dctx *c, const struct doc_node *t)
{
	static const char *const ops[] = {"Equal", "Exists", NULL};
	static const char *const effects[] = {"NoExecute", "NoSchedule", "PreferNoSchedule",
					      NULL};
	const char *op = str_at(t, "operator"), *effect = str_at(t, "effect");
	if (op && *op && !in_list(op, ops))
		validate_unsupported(c, doc_get(t, "operator"), "operator", op, ops);
	if (effect && *effect && !in_list(effect, effects))
		validate_unsupported(c, doc_get(t, "effect"), "effect", effect, effects);
}

static void tolerations_rules(struct dctx *c, const struct doc_node *spec)
{
	const struct doc_node *ts = seq_at(spec, "tolerations");
	size_t mark = dctx_push_key(c, "tolerations");
	for (size_t i = 0; ts && i < ts->n; i++) {
		size_t m2 = dctx_push_index(c, i);
		if (ts->vals[i]->type == DOC_MAP)
			toleration_rules(c, ts->vals[i]);
		dctx_pop(c, m2);
	}
	dctx_pop(c, mark);
}

void decode_pod_spec_rules(struct dctx *c, const struct doc_node *spec)
{
	if (!spec || spec->type != DOC_MAP)
		return;
	volumes_rules(c, spec);
	containers_rules(c, spec, "initContainers");
	containers_rules(c, spec, "containers");
	tolerations_rules(c, spec);
	security_rules(c, spec);
}
