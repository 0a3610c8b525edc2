/* fields: the parts of ObjectMeta and of a Namespace that netpol does not
 * model but the API server types and validates (apimachinery's
 * ValidateObjectMeta, core's ValidateNamespace). Checking them here keeps
 * anything the decoder would not have accepted out of the lab's store. */
#include "decode_internal.h"

#include <stdio.h>

void decode_f_string(struct dctx *c, const struct doc_node *v, void *in)
{
	(void)in;
	doc_string_of(c, v);
}

void decode_f_int(struct dctx *c, const struct doc_node *v, void *in)
{
	long long ignored;
	(void)in;
	doc_want_int(c, v, &ignored);
}

void decode_f_bool(struct dctx *c, const struct doc_node *v, void *in)
{
	bool ignored;
	(void)in;
	doc_want_bool(c, v, &ignored);
}

void decode_f_string_list(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_each_item(c, v, decode_f_string, in);
}

/* ---- metadata ---------------------------------------------------------- */

static void f_finalizer(struct dctx *c, const struct doc_node *v, void *in)
{
	const char *s = doc_string_of(c, v);
	(void)in;
	if (s)
		validate_qualified_name(c, v, NULL, s);
	else if (v->type == DOC_NULL)
		validate_required(c, v, NULL, NULL);
}

void decode_f_finalizers(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_each_item(c, v, f_finalizer, in);
}

struct owner_in {
	const struct doc_node *node, *api_version, *kind, *name, *uid, *controller;
	size_t controllers;
};

#define OWNER_SETTER(fn, member)                                              \
	static void fn(struct dctx *c, const struct doc_node *v, void *in)    \
	{                                                                     \
		if (doc_string_of(c, v))                                      \
			((struct owner_in *)in)->member = v;                  \
	}

OWNER_SETTER(f_or_api_version, api_version)
OWNER_SETTER(f_or_kind, kind)
OWNER_SETTER(f_or_name, name)
OWNER_SETTER(f_or_uid, uid)

static void f_or_controller(struct dctx *c, const struct doc_node *v, void *in)
{
	bool b;
	if (doc_want_bool(c, v, &b) == 0 && b)
		((struct owner_in *)in)->controller = v;
}

static const struct field owner_ref_fields[] = {
	{"apiVersion", f_or_api_version, NULL}, {"kind", f_or_kind, NULL},
	{"name", f_or_name, NULL}, {"uid", f_or_uid, NULL}, {"controller", f_or_controller, NULL},
	{"blockOwnerDeletion", decode_f_bool, NULL}, {NULL, NULL, NULL},
};

/* apimachinery's validateOwnerReference: the four identifying fields. */
static void owner_required(struct dctx *c, const struct owner_in *o)
{
	static const struct {
		const char *field, *what;
		size_t off;
	} req[] = {
		{"apiVersion", "version must not be empty", offsetof(struct owner_in, api_version)},
		{"kind", "kind must not be empty", offsetof(struct owner_in, kind)},
		{"name", "name must not be empty", offsetof(struct owner_in, name)},
		{"uid", "uid must not be empty", offsetof(struct owner_in, uid)},
	};
	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		const struct doc_node *v = *(const struct doc_node *const *)((const char *)o + req[i].off);
		if (!v || !*v->text)
			validate_invalid_str(c, v ? v : o->node, req[i].field, "", NULL, req[i].what);
	}
}

static void f_owner_ref(struct dctx *c, const struct doc_node *item, void *in)
{
	struct owner_in *all = in;
	struct owner_in o = {.node = item};
	size_t errors = c->nerrors;
	doc_walk(c, item, owner_ref_fields, &o);
	if (item->type != DOC_MAP || c->nerrors != errors)
		return;
	owner_required(c, &o);
	all->controllers += o.controller != NULL;
}

void decode_f_owner_refs(struct dctx *c, const struct doc_node *v, void *in)
{
	struct owner_in all = {.node = v};
	(void)in;
	doc_each_item(c, v, f_owner_ref, &all);
	if (all.controllers > 1)
		dctx_error(c, v, NULL, "%s: Invalid value: %zu controllers: Only one reference can "
			   "have Controller set to true", c->path, all.controllers);
}

static void f_mf_operation(struct dctx *c, const struct doc_node *v, void *in)
{
	static const char *const ops[] = {"Apply", "Update", NULL};
	const char *s = doc_string_of(c, v);
	(void)in;
	if (s && strcmp(s, ops[0]) != 0 && strcmp(s, ops[1]) != 0)
		validate_unsupported(c, v, NULL, s, ops);
}

/* fieldsV1 is a free-form set of field paths: only its type is checked. */
static void f_mf_fields(struct dctx *c, const struct doc_node *v, void *in)
{
	(void)in;
	doc_want_map(c, v);
}

static const struct field managed_field_fields[] = {
	{"manager", decode_f_string, NULL}, {"operation", f_mf_operation, NULL},
	{"apiVersion", decode_f_string, NULL}, {"time", decode_f_string, NULL},
	{"fieldsType", decode_f_string, NULL}, {"fieldsV1", f_mf_fields, NULL},
	{"subresource", decode_f_string, NULL}, {NULL, NULL, NULL},
};

static void f_managed_field(struct dctx *c, const struct doc_node *item, void *in)
{
	doc_walk(c, item, managed_field_fields, in);
}

void decode_f_managed_fields(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_each_item(c, v, f_managed_field, in);
}

/* ---- namespaces -------------------------------------------------------- */

/* core's validateFinalizerName: qualified, and either one of the
 * standard names or with a domain prefix. */
static void f_ns_finalizer(struct dctx *c, const struct doc_node *v, void *in)
{
	static const char *const standard[] = {"kubernetes", "orphan", "foregroundDeletion", NULL};
	const char *s = doc_string_of(c, v);
	(void)in;
	if (!s || !validate_qualified_name(c, v, NULL, s) || strchr(s, '/'))
		return;
	for (size_t i = 0; standard[i]; i++)
		if (strcmp(s, standard[i]) == 0)
			return;
	validate_invalid_str(c, v, NULL, s, NULL,
			     "name is neither a standard finalizer name nor is it fully qualified");
}

static void f_ns_finalizers(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_each_item(c, v, f_ns_finalizer, in);
}

static const struct field namespace_spec_fields[] = {
	{"finalizers", f_ns_finalizers, NULL}, {NULL, NULL, NULL},
};

void decode_f_namespace_spec(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_walk(c, v, namespace_spec_fields, in);
}

static void f_ns_phase(struct dctx *c, const struct doc_node *v, void *in)
{
	static const char *const phases[] = {"Active", "Terminating", NULL};
	const char *s = doc_string_of(c, v);
	(void)in;
	if (s && *s && strcmp(s, phases[0]) != 0 && strcmp(s, phases[1]) != 0)
		validate_unsupported(c, v, NULL, s, phases);
}

static const struct field ns_condition_fields[] = {
	{"type", decode_f_string, NULL}, {"status", decode_f_string, NULL},
	{"lastTransitionTime", decode_f_string, NULL}, {"reason", decode_f_string, NULL},
	{"message", decode_f_string, NULL}, {NULL, NULL, NULL},
};

static void f_ns_condition(struct dctx *c, const struct doc_node *item, void *in)
{
	doc_walk(c, item, ns_condition_fields, in);
	if (item->type == DOC_MAP && !doc_get(item, "type"))
		validate_required(c, item, "type", NULL);
}

static void f_ns_conditions(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_each_item(c, v, f_ns_condition, in);
}

static const struct field namespace_status_fields[] = {
	{"phase", f_ns_phase, NULL}, {"conditions", f_ns_conditions, NULL}, {NULL, NULL, NULL},
};

void decode_f_namespace_status(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_walk(c, v, namespace_status_fields, in);
}

/* ---- status of Deployments and Services --------------------------------- */

/* A replica count or generation: an integer, never negative. */
static void f_count(struct dctx *c, const struct doc_node *v, void *in)
{
	long long n;
	(void)in;
	if (doc_want_int(c, v, &n) == 0 && n < 0)
		validate_invalid_int(c, v, NULL, n, "must be greater than or equal to 0");
}

static const struct field deployment_condition_fields[] = {
	{"type", decode_f_string, NULL}, {"status", decode_f_string, NULL},
	{"lastUpdateTime", decode_f_string, NULL}, {"lastTransitionTime", decode_f_string, NULL},
	{"reason", decode_f_string, NULL}, {"message", decode_f_string, NULL}, {NULL, NULL, NULL},
};

static void f_deployment_condition(struct dctx *c, const struct doc_node *item, void *in)
{
	doc_walk(c, item, deployment_condition_fields, in);
}

static void f_deployment_conditions(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_each_item(c, v, f_deployment_condition, in);
}

static const struct field deployment_status_fields[] = {
	{"observedGeneration", f_count, NULL}, {"replicas", f_count, NULL},
	{"updatedReplicas", f_count, NULL}, {"readyReplicas", f_count, NULL},
	{"availableReplicas", f_count, NULL}, {"unavailableReplicas", f_count, NULL},
	{"terminatingReplicas", f_count, NULL}, {"collisionCount", f_count, NULL},
	{"conditions", f_deployment_conditions, NULL}, {NULL, NULL, NULL},
};

void decode_f_deployment_status(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_walk(c, v, deployment_status_fields, in);
}

/* metav1.Condition, as Service status carries them. */
static const struct field meta_condition_fields[] = {
	{"type", decode_f_string, NULL}, {"status", decode_f_string, NULL},
	{"observedGeneration", f_count, NULL}, {"lastTransitionTime", decode_f_string, NULL},
	{"reason", decode_f_string, NULL}, {"message", decode_f_string, NULL}, {NULL, NULL, NULL},
};

static void f_meta_condition(struct dctx *c, const struct doc_node *item, void *in)
{
	doc_walk(c, item, meta_condition_fields, in);
}

static void f_meta_conditions(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_each_item(c, v, f_meta_condition, in);
}

static const struct field port_status_fields[] = {
	{"port", decode_f_int, NULL}, {"protocol", decode_f_string, NULL},
	{"error", decode_f_string, NULL}, {NULL, NULL, NULL},
};

static void f_port_status(struct dctx *c, const struct doc_node *item, void *in)
{
	doc_walk(c, item, port_status_fields, in);
}

static void f_port_statuses(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_each_item(c, v, f_port_status, in);
}

static const struct field lb_ingress_fields[] = {
	{"ip", decode_f_string, NULL}, {"hostname", decode_f_string, NULL},
	{"ipMode", decode_f_string, NULL}, {"ports", f_port_statuses, NULL}, {NULL, NULL, NULL},
};

static void f_lb_ingress(struct dctx *c, const struct doc_node *item, void *in)
{
	doc_walk(c, item, lb_ingress_fields, in);
}

static void f_lb_ingresses(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_each_item(c, v, f_lb_ingress, in);
}

static const struct field load_balancer_fields[] = {
	{"ingress", f_lb_ingresses, NULL}, {NULL, NULL, NULL},
};

static void f_load_balancer(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_walk(c, v, load_balancer_fields, in);
}

static const struct field service_status_fields[] = {
	{"loadBalancer", f_load_balancer, NULL}, {"conditions", f_meta_conditions, NULL},
	{NULL, NULL, NULL},
};

void decode_f_service_status(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_walk(c, v, service_status_fields, in);
}

static const struct field policy_status_fields[] = {
	{"conditions", f_meta_conditions, NULL}, {NULL, NULL, NULL},
};

void decode_f_policy_status(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_walk(c, v, policy_status_fields, in);
}
