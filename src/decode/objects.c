/* objects: Kubernetes objects from document trees, into the model.
 *
 * Every mapping is walked against a table of the fields the Kubernetes
 * schema has at that place: a field with a handler is modelled, a field
 * without one is known but not modelled (accepted and ignored, the whole
 * subtree), and a field that is not in the table is an error, as with
 * kubectl --validate=strict. Values are validated where they are read, so
 * every error points at the offending value.
 */
#include "decode_internal.h"
#include "schema.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DECODE_MAX_REPLICAS 100000

struct obj_in;

/* A handler that only records where a field's value is, for checks that
 * need the other fields of the same mapping first. */
#define NODE_SETTER(fn, type, member)                                         \
	static void fn(struct dctx *c, const struct doc_node *v, void *in)    \
	{                                                                     \
		((type *)in)->member = v;                                     \
	}

struct kind_info {
	const char *kind;
	const char *api_version;
	bool namespaced;
	const struct field *fields;           /* the object's top level */
	void *(*new)(void);
	void (*finish)(struct dctx *c, struct obj_in *o);
	int (*add)(struct np_cluster *cl, void *obj);
	void (*free)(void *obj);
	const struct np_meta *(*find)(const struct np_cluster *cl, const char *ns, const char *name);
};

/* What is being decoded: the object and what its finish step needs. */
struct obj_in {
	const struct kind_info *kind;
	struct np_meta *meta;      /* every model kind starts with its np_meta */
	void *obj;
	const struct doc_node *node;
	const struct doc_node *spec;
	/* Pod */
	struct np_ip pod_ip;
	bool has_pod_ip;
	/* Deployment */
	const struct doc_node *selector, *template, *template_labels;
	bool selector_bad;      /* errors inside spec.selector */
	/* Service */
	const struct doc_node *cluster_ips;
	/* NetworkPolicy */
	size_t ntypes;
};

_Static_assert(offsetof(struct np_namespace, meta) == 0, "meta first");
_Static_assert(offsetof(struct np_pod, meta) == 0, "meta first");
_Static_assert(offsetof(struct np_deployment, meta) == 0, "meta first");
_Static_assert(offsetof(struct np_service, meta) == 0, "meta first");
_Static_assert(offsetof(struct np_policy, meta) == 0, "meta first");

/* ---- labels, annotations, selectors ---------------------------------- */

enum map_kind { MAP_LABELS, MAP_ANNOTATIONS, MAP_SELECTOR };

/* Adds a requirement and records where it was written. */
static void add_requirement(struct dctx *c, struct np_selector *sel, const char *key,
			    enum np_sel_op op, const char *const *vals, size_t n,
			    const struct doc_node *at)
{
	int r = selector_add(sel, key, op, vals, n);
	if (r == -ENOMEM)
		dctx_oom(c);
	if (r < 0)
		return;
	/* selector_add may keep its requirements in any order */
	for (size_t i = sel->n; i-- > 0;)
		if (sel->reqs[i].op == op && strcmp(sel->reqs[i].key, key) == 0) {
			sel->reqs[i].pos = dctx_pos(c, at);
			return;
		}
}

/* A string-to-string map: labels, annotations, or matchLabels (into sel). */
static void string_map(struct dctx *c, const struct doc_node *map, enum map_kind kind,
		       struct np_labels *out, struct np_selector *sel)
{
	size_t total = 0;
	if (doc_want_map(c, map) < 0 || map->type != DOC_MAP)
		return;
	for (size_t i = 0; i < map->n; i++) {
		const struct doc_node *k = map->keys[i], *v = map->vals[i];
		const char *value = "";
		/* a null value is the empty string, as in a Go map[string]string */
		if (v->type != DOC_NULL && doc_want_string(c, v, &value) < 0)
			continue;
		total += strlen(k->text) + strlen(value);
		if (kind == MAP_ANNOTATIONS) {
			validate_annotation_key(c, k, NULL, k->text);
		} else {
			bool ok = validate_label_key(c, k, NULL, k->text);
			if (!validate_label_value(c, v, NULL, value) || !ok)
				continue;
		}
		if (kind == MAP_SELECTOR)
			add_requirement(c, sel, k->text, SEL_IN, &value, 1, k);
		else if (labels_set(out, k->text, value) < 0)
			dctx_oom(c);
	}
	if (kind == MAP_ANNOTATIONS && total > 256 * 1024)
		dctx_error(c, map, NULL, "%s: Too long: must have at most %d bytes", c->path, 256 * 1024);
}

struct req_in {
	const struct doc_node *key, *op, *values;
};

NODE_SETTER(f_req_key, struct req_in, key)
NODE_SETTER(f_req_op, struct req_in, op)
NODE_SETTER(f_req_values, struct req_in, values)

static const struct field req_fields[] = {
	{"key", f_req_key, NULL}, {"operator", f_req_op, NULL}, {"values", f_req_values, NULL},
	{NULL, NULL, NULL},
};

static bool parse_operator(const char *s, enum np_sel_op *op)
{
	static const struct { const char *name; enum np_sel_op op; } ops[] = {
		{"In", SEL_IN}, {"NotIn", SEL_NOT_IN},
		{"Exists", SEL_EXISTS}, {"DoesNotExist", SEL_DOES_NOT_EXIST},
	};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(s, ops[i].name) == 0) {
			*op = ops[i].op;
			return true;
		}
	return false;
}

/* The key of a requirement, validated; NULL after an error. */
static const char *requirement_key(struct dctx *c, const struct doc_node *item,
				   const struct doc_node *v)
{
	const char *key = NULL;
	size_t mark = dctx_push_key(c, "key");
	if (!v)
		validate_required(c, item, NULL, NULL);
	else if ((key = doc_string_of(c, v)) && !validate_label_key(c, v, NULL, key))
		key = NULL;
	dctx_pop(c, mark);
	return key;
}

/* The operator of a requirement; false after an error. */
static bool requirement_op(struct dctx *c, const struct doc_node *item,
			   const struct doc_node *v, enum np_sel_op *op)
{
	const char *name;
	bool ok = false;
	size_t mark = dctx_push_key(c, "operator");
	if (!v)
		validate_required(c, item, NULL, NULL);
	else if ((name = doc_string_of(c, v)) && !(ok = parse_operator(name, op)))
		validate_invalid_str(c, v, NULL, name, NULL, "not a valid selector operator");
	dctx_pop(c, mark);
	return ok;
}

/* The values of a requirement, each a valid label value; *ok is cleared on
 * any error. The strings belong to the tree. */
static const char **requirement_values(struct dctx *c, const struct doc_node *seq, size_t *n,
				       bool *ok)
{
	const char **vals = NULL;
	*n = 0;
	if (!seq)
		return NULL;
	if (doc_want_seq(c, seq) < 0) {
		*ok = false;
		return NULL;
	}
	size_t mark = dctx_push_key(c, "values");
	for (size_t i = 0; i < seq->n; i++) {
		size_t imark = dctx_push_index(c, i);
		const char *s = doc_string_of(c, seq->vals[i]);
		const char **slot = NULL;
		if (s && validate_label_value(c, seq->vals[i], NULL, s) &&
		    (slot = DCTX_APPEND(c, vals, *n)))
			*slot = s;
		else
			*ok = false;
		dctx_pop(c, imark);
	}
	dctx_pop(c, mark);
	return vals;
}

static void f_match_expression(struct dctx *c, const struct doc_node *item, void *in)
{
	struct np_selector *sel = in;
	struct req_in r = {0};
	enum np_sel_op op = SEL_IN;
	size_t nvals;
	bool values_ok = true;
	doc_walk(c, item, req_fields, &r);
	if (item->type != DOC_MAP)
		return;
	const char *key = requirement_key(c, item, r.key);
	bool has_op = requirement_op(c, item, r.op, &op);
	const char **vals = requirement_values(c, r.values, &nvals, &values_ok);
	bool takes_values = op == SEL_IN || op == SEL_NOT_IN;
	if (has_op && takes_values && values_ok && nvals == 0) {
		validate_required(c, r.values ? r.values : item, "values",
				  "must be specified when `operator` is 'In' or 'NotIn'");
		values_ok = false;
	} else if (has_op && !takes_values && nvals > 0) {
		validate_forbidden(c, r.values, "values",
				   "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
		values_ok = false;
	}
	if (key && has_op && values_ok)
		add_requirement(c, sel, key, op, vals, nvals, item);
	free(vals);
}

static void f_match_labels(struct dctx *c, const struct doc_node *v, void *in)
{
	string_map(c, v, MAP_SELECTOR, NULL, in);
}

static void f_match_expressions(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_each_item(c, v, f_match_expression, in);
}

static const struct field selector_fields[] = {
	{"matchLabels", f_match_labels, NULL}, {"matchExpressions", f_match_expressions, NULL},
	{NULL, NULL, NULL},
};

/* ---- metadata -------------------------------------------------------- */

static void f_meta_name(struct dctx *c, const struct doc_node *v, void *in)
{
	struct obj_in *o = in;
	const char *name = doc_string_of(c, v);
	if (!name || !*name)
		return;
	const char *kind = o->kind->kind;
	if (strcmp(kind, "Namespace") == 0)
		validate_dns1123_label(c, v, NULL, name);
	else if (strcmp(kind, "Service") == 0)
		validate_dns1035_label(c, v, NULL, name);
	else
		validate_dns1123_subdomain(c, v, NULL, name);
	o->meta->name = dctx_strdup(c, name);
}

static void f_meta_namespace(struct dctx *c, const struct doc_node *v, void *in)
{
	struct obj_in *o = in;
	const char *ns = doc_string_of(c, v);
	/* the API server clears the namespace of cluster-scoped objects */
	if (!ns || !*ns || !o->kind->namespaced)
		return;
	validate_dns1123_label(c, v, NULL, ns);
	o->meta->namespace = dctx_strdup(c, ns);
}

static void f_meta_labels(struct dctx *c, const struct doc_node *v, void *in)
{
	string_map(c, v, MAP_LABELS, &((struct obj_in *)in)->meta->labels, NULL);
}

static void f_meta_annotations(struct dctx *c, const struct doc_node *v, void *in)
{
	string_map(c, v, MAP_ANNOTATIONS, &((struct obj_in *)in)->meta->annotations, NULL);
}

/* Typed and validated, not modelled. */
#define META_IGNORED                                                          \
	{"generateName", decode_f_string, NULL}, {"uid", decode_f_string, NULL},          \
	{"resourceVersion", decode_f_string, NULL}, {"generation", decode_f_int, NULL},   \
	{"creationTimestamp", decode_f_string, NULL},                               \
	{"deletionTimestamp", decode_f_string, NULL},                               \
	{"deletionGracePeriodSeconds", decode_f_int, NULL},                         \
	{"ownerReferences", decode_f_owner_refs, NULL},                             \
	{"finalizers", decode_f_finalizers, NULL},                                  \
	{"managedFields", decode_f_managed_fields, NULL}, {"selfLink", decode_f_string, NULL}

static const struct field meta_fields[] = {
	{"name", f_meta_name, NULL}, {"namespace", f_meta_namespace, NULL},
	{"labels", f_meta_labels, NULL}, {"annotations", f_meta_annotations, NULL},
	META_IGNORED, {NULL, NULL, NULL},
};

static void f_metadata(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_walk(c, v, meta_fields, in);
}

static void meta_finish(struct dctx *c, struct obj_in *o)
{
	if (!o->meta->name)
		validate_required(c, o->node, "metadata.name", NULL);
	if (o->kind->namespaced && !o->meta->namespace)
		o->meta->namespace = dctx_strdup(c, "default");
	o->meta->pos = dctx_pos(c, o->node);
}

/* ---- pods and pod templates ------------------------------------------ */

/* Where a pod spec's container ports go (a Pod, or a Deployment's template). */
struct ports_out {
	struct np_container_port **ports;
	size_t *n;
	size_t first;    /* the current container's first port */
};

struct cport_in {
	const struct doc_node *node, *name, *port, *proto, *host_port;
};

NODE_SETTER(f_cp_name, struct cport_in, name)
NODE_SETTER(f_cp_port, struct cport_in, port)
NODE_SETTER(f_cp_proto, struct cport_in, proto)
NODE_SETTER(f_cp_host_port, struct cport_in, host_port)

static const struct field container_port_fields[] = {
	{"name", f_cp_name, NULL}, {"containerPort", f_cp_port, NULL},
	{"protocol", f_cp_proto, NULL}, {"hostPort", f_cp_host_port, NULL},
	{"hostIP", NULL, &pb_core_ContainerPort}, {NULL, NULL, NULL},
};

/* Fills p from a containerPort entry; false after an error. */
static bool container_port(struct dctx *c, const struct cport_in *in, struct np_container_port *p)
{
	bool ok = true;
	long long v;
	const char *s;
	size_t mark = dctx_push_key(c, "containerPort");
	if (!in->port) {
		validate_required(c, in->node, NULL, NULL);
		ok = false;
	} else if (doc_want_int(c, in->port, &v) < 0 || !validate_port_number(c, in->port, NULL, v)) {
		ok = false;
	} else {
		p->port = (int)v;
	}
	dctx_pop(c, mark);
	mark = dctx_push_key(c, "hostPort");
	if (in->host_port && (doc_want_int(c, in->host_port, &v) < 0 ||
			      (v != 0 && !validate_port_number(c, in->host_port, NULL, v))))
		ok = false;
	dctx_pop(c, mark);
	p->proto = NP_TCP;
	mark = dctx_push_key(c, "protocol");
	if (in->proto && (!(s = doc_string_of(c, in->proto)) ||
			  !validate_protocol(c, in->proto, NULL, s, &p->proto)))
		ok = false;
	dctx_pop(c, mark);
	mark = dctx_push_key(c, "name");
	if (in->name && (!(s = doc_string_of(c, in->name)) || !validate_port_name(c, in->name, NULL, s)))
		ok = false;
	else if (in->name && !(p->name = dctx_strdup(c, s)))
		ok = false;
	dctx_pop(c, mark);
	return ok;
}

static void f_container_port(struct dctx *c, const struct doc_node *item, void *arg)
{
	struct ports_out *out = arg;
	struct cport_in in = {.node = item};
	struct np_container_port p = {0};
	doc_walk(c, item, container_port_fields, &in);
	if (item->type != DOC_MAP || !container_port(c, &in, &p)) {
		free(p.name);
		return;
	}
	/* port names are unique within a container */
	for (size_t i = out->first; p.name && i < *out->n; i++)
		if ((*out->ports)[i].name && strcmp((*out->ports)[i].name, p.name) == 0) {
			validate_duplicate(c, in.name, "name", p.name);
			free(p.name);
			return;
		}
	struct np_container_port *slot = DCTX_APPEND(c, *out->ports, *out->n);
	if (slot)
		*slot = p;
	else
		free(p.name);
}

static void f_container_ports(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_each_item(c, v, f_container_port, in);
}

static const struct field container_fields[] = {
	{"ports", f_container_ports, NULL}, {"name", decode_f_dns_label, NULL},
	{"image", decode_f_string, NULL}, {"command", decode_f_string_list, NULL},
	{"args", decode_f_string_list, NULL}, {"workingDir", decode_f_string, NULL},
	{"envFrom", NULL, &pb_core_Container}, {"env", decode_f_env, NULL},
	{"resources", NULL, &pb_core_Container}, {"resizePolicy", NULL, &pb_core_Container},
	{"restartPolicy", decode_f_string, NULL},
	{"restartPolicyRules", decode_f_restart_policy_rules, NULL},
	{"volumeMounts", NULL, &pb_core_Container}, {"volumeDevices", NULL, &pb_core_Container},
	{"livenessProbe", NULL, &pb_core_Container}, {"readinessProbe", NULL, &pb_core_Container},
	{"startupProbe", NULL, &pb_core_Container}, {"lifecycle", NULL, &pb_core_Container},
	{"terminationMessagePath", decode_f_string, NULL},
	{"terminationMessagePolicy", decode_f_termination_message_policy, NULL},
	{"imagePullPolicy", decode_f_pull_policy, NULL},
	{"securityContext", NULL, &pb_core_Container}, {"stdin", decode_f_bool, NULL},
	{"stdinOnce", decode_f_bool, NULL}, {"tty", decode_f_bool, NULL}, {NULL, NULL, NULL},
};

static void f_container(struct dctx *c, const struct doc_node *item, void *in)
{
	struct ports_out *out = in;
	out->first = *out->n;
	doc_walk(c, item, container_fields, out);
}

static void f_containers(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_each_item(c, v, f_container, in);
}

static const struct field pod_spec_fields[] = {
	{"containers", f_containers, NULL}, {"volumes", NULL, &pb_core_PodSpec},
	{"initContainers", NULL, &pb_core_PodSpec}, {"ephemeralContainers", NULL, &pb_core_PodSpec},
	{"restartPolicy", decode_f_restart_policy, NULL},
	{"terminationGracePeriodSeconds", decode_f_int, NULL},
	{"activeDeadlineSeconds", decode_f_int, NULL}, {"dnsPolicy", decode_f_dns_policy, NULL},
	{"nodeSelector", decode_f_string_map, NULL}, {"serviceAccountName", decode_f_string, NULL},
	{"serviceAccount", decode_f_string, NULL},
	{"automountServiceAccountToken", decode_f_bool, NULL}, {"nodeName", decode_f_string, NULL},
	{"hostNetwork", decode_f_bool, NULL}, {"hostPID", decode_f_bool, NULL},
	{"hostIPC", decode_f_bool, NULL}, {"shareProcessNamespace", decode_f_bool, NULL},
	{"securityContext", NULL, &pb_core_PodSpec}, {"imagePullSecrets", NULL, &pb_core_PodSpec},
	{"hostname", decode_f_dns_label, NULL}, {"subdomain", decode_f_dns_label, NULL},
	{"affinity", NULL, &pb_core_PodSpec}, {"schedulerName", decode_f_string, NULL},
	{"tolerations", NULL, &pb_core_PodSpec}, {"hostAliases", NULL, &pb_core_PodSpec},
	{"priorityClassName", decode_f_string, NULL}, {"priority", decode_f_int, NULL},
	{"dnsConfig", NULL, &pb_core_PodSpec}, {"readinessGates", NULL, &pb_core_PodSpec},
	{"runtimeClassName", decode_f_string, NULL}, {"enableServiceLinks", decode_f_bool, NULL},
	{"preemptionPolicy", decode_f_preemption_policy, NULL},
	{"overhead", NULL, &pb_core_PodSpec}, {"topologySpreadConstraints", NULL, &pb_core_PodSpec},
	{"setHostnameAsFQDN", decode_f_bool, NULL}, {"os", NULL, &pb_core_PodSpec},
	{"hostUsers", decode_f_bool, NULL}, {"schedulingGates", NULL, &pb_core_PodSpec},
	{"resourceClaims", NULL, &pb_core_PodSpec}, {"resources", NULL, &pb_core_PodSpec},
	{NULL, NULL, NULL},
};

/* Structure first; the rules only on a spec that decoded, as the API
 * server validates only what its strict decoder accepted. */
static void pod_spec(struct dctx *c, const struct doc_node *v, struct ports_out *out)
{
	size_t before = c->nerrors;
	doc_walk(c, v, pod_spec_fields, out);
	if (c->nerrors == before)
		decode_pod_spec_rules(c, v);
}

static void f_pod_spec(struct dctx *c, const struct doc_node *v, void *in)
{
	struct np_pod *pod = ((struct obj_in *)in)->obj;
	struct ports_out out = {&pod->ports, &pod->nports, 0};
	pod_spec(c, v, &out);
}

static void f_pod_ip_entry(struct dctx *c, const struct doc_node *v, void *in)
{
	struct np_pod *pod = ((struct obj_in *)in)->obj;
	struct np_ip ip;
	const char *s = doc_string_of(c, v);
	if (s && validate_ip(c, v, NULL, s, &ip)) {
		struct np_ip *slot = DCTX_APPEND(c, pod->ips, pod->nips);
		if (slot)
			*slot = ip;
	}
}

static const struct field pod_ip_fields[] = {{"ip", f_pod_ip_entry, NULL}, {NULL, NULL, NULL}};

static void f_pod_ips_item(struct dctx *c, const struct doc_node *item, void *in)
{
	doc_walk(c, item, pod_ip_fields, in);
}

static void f_pod_ips(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_each_item(c, v, f_pod_ips_item, in);
}

static void f_pod_ip(struct dctx *c, const struct doc_node *v, void *in)
{
	struct obj_in *o = in;
	const char *s = doc_string_of(c, v);
	if (s && *s && validate_ip(c, v, NULL, s, &o->pod_ip))
		o->has_pod_ip = true;
}

static const struct field pod_status_fields[] = {
	{"podIP", f_pod_ip, NULL}, {"podIPs", f_pod_ips, NULL}, {"phase", NULL, &pb_core_PodStatus},
	{"conditions", NULL, &pb_core_PodStatus}, {"message", NULL, &pb_core_PodStatus},
	{"reason", NULL, &pb_core_PodStatus}, {"nominatedNodeName", NULL, &pb_core_PodStatus},
	{"hostIP", NULL, &pb_core_PodStatus}, {"hostIPs", NULL, &pb_core_PodStatus},
	{"startTime", NULL, &pb_core_PodStatus},
	{"initContainerStatuses", NULL, &pb_core_PodStatus},
	{"containerStatuses", NULL, &pb_core_PodStatus},
	{"ephemeralContainerStatuses", NULL, &pb_core_PodStatus},
	{"qosClass", NULL, &pb_core_PodStatus}, {"resize", NULL, &pb_core_PodStatus},
	{"resourceClaimStatuses", NULL, &pb_core_PodStatus},
	{"observedGeneration", decode_f_int, NULL}, {NULL, NULL, NULL},
};

static void f_pod_status(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_walk(c, v, pod_status_fields, in);
}

static void pod_finish(struct dctx *c, struct obj_in *o)
{
	struct np_pod *pod = o->obj;
	/* podIPs, when given, lists podIP first; podIP alone is the old form */
	if (pod->nips == 0 && o->has_pod_ip) {
		struct np_ip *slot = DCTX_APPEND(c, pod->ips, pod->nips);
		if (slot)
			*slot = o->pod_ip;
	}
}

#define OBJECT_FIELDS                                                         \
	{"apiVersion", NULL, NULL}, {"kind", NULL, NULL}, {"metadata", f_metadata, NULL}

static const struct field pod_fields[] = {
	OBJECT_FIELDS, {"spec", f_pod_spec, NULL}, {"status", f_pod_status, NULL},
	{NULL, NULL, NULL},
};

/* ---- deployments ----------------------------------------------------- */

static void f_template_labels(struct dctx *c, const struct doc_node *v, void *in)
{
	struct obj_in *o = in;
	struct np_deployment *d = o->obj;
	o->template_labels = v;
	string_map(c, v, MAP_LABELS, &d->template_labels, NULL);
}

static void f_template_annotations(struct dctx *c, const struct doc_node *v, void *in)
{
	struct np_labels ignored = {0};
	string_map(c, v, MAP_ANNOTATIONS, &ignored, NULL);
	labels_clear(&ignored);
}

static const struct field template_meta_fields[] = {
	{"labels", f_template_labels, NULL}, {"annotations", f_template_annotations, NULL},
	{"name", decode_f_string, NULL}, {"namespace", decode_f_string, NULL}, META_IGNORED,
	{NULL, NULL, NULL},
};

static void f_template_meta(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_walk(c, v, template_meta_fields, in);
}

static void f_template_spec(struct dctx *c, const struct doc_node *v, void *in)
{
	struct np_deployment *d = ((struct obj_in *)in)->obj;
	struct ports_out out = {&d->ports, &d->nports, 0};
	pod_spec(c, v, &out);
}

static const struct field template_fields[] = {
	{"metadata", f_template_meta, NULL}, {"spec", f_template_spec, NULL}, {NULL, NULL, NULL},
};

static void f_template(struct dctx *c, const struct doc_node *v, void *in)
{
	((struct obj_in *)in)->template = v;
	doc_walk(c, v, template_fields, in);
}

static void f_replicas(struct dctx *c, const struct doc_node *v, void *in)
{
	struct np_deployment *d = ((struct obj_in *)in)->obj;
	long long n;
	if (doc_want_int(c, v, &n) < 0)
		return;
	/* the upper bound is ours: each replica becomes a pod in the model */
	if (n < 0 || n > DECODE_MAX_REPLICAS) {
		validate_invalid_int(c, v, NULL, n, n < 0 ? "must be greater than or equal to 0"
						      : "netpol models at most 100000 replicas");
		return;
	}
	d->replicas = (int)n;
}

static void f_deploy_selector(struct dctx *c, const struct doc_node *v, void *in)
{
	struct obj_in *o = in;
	struct np_deployment *d = o->obj;
	size_t errors_before = c->nerrors;
	o->selector = v;
	doc_walk(c, v, selector_fields, &d->selector);
	o->selector_bad = c->nerrors != errors_before;
}

static const struct field deploy_spec_fields[] = {
	{"replicas", f_replicas, NULL}, {"selector", f_deploy_selector, NULL},
	{"template", f_template, NULL}, {"minReadySeconds", NULL, &pb_apps_DeploymentSpec},
	{"strategy", NULL, &pb_apps_DeploymentSpec},
	{"revisionHistoryLimit", NULL, &pb_apps_DeploymentSpec},
	{"paused", NULL, &pb_apps_DeploymentSpec},
	{"progressDeadlineSeconds", NULL, &pb_apps_DeploymentSpec}, {NULL, NULL, NULL},
};

static void f_deploy_spec(struct dctx *c, const struct doc_node *v, void *in)
{
	((struct obj_in *)in)->spec = v;
	doc_walk(c, v, deploy_spec_fields, in);
}

static const struct field deployment_fields[] = {
	OBJECT_FIELDS, {"spec", f_deploy_spec, NULL}, {"status", decode_f_deployment_status, NULL},
	{NULL, NULL, NULL},
};

static void deployment_finish(struct dctx *c, struct obj_in *o)
{
	struct np_deployment *d = o->obj;
	const struct doc_node *spec = o->spec ? o->spec : o->node;
	size_t mark = dctx_push_key(c, "spec");
	if (!o->selector) {
		validate_required(c, spec, "selector", NULL);
	} else if (o->selector_bad) {
		/* already reported; a comparison would only add noise */
	} else if (selector_is_empty(&d->selector)) {
		dctx_error(c, o->selector, NULL, "%s.selector: Invalid value: {}: "
			   "empty selector is invalid for deployment", c->path);
	} else if (!selector_matches(&d->selector, &d->template_labels)) {
		char *labels = labels_to_string(&d->template_labels);
		const struct doc_node *at = o->template_labels ? o->template_labels
					  : o->template ? o->template : spec;
		if (!labels)
			dctx_oom(c);
		else
			validate_invalid_str(c, at, "template.metadata.labels", labels, NULL,
					     "`selector` does not match template `labels`");
		free(labels);
	}
	dctx_pop(c, mark);
}

/* ---- services -------------------------------------------------------- */

struct sport_in {
	const struct doc_node *node, *name, *proto, *port, *target;
};

NODE_SETTER(f_sp_name, struct sport_in, name)
NODE_SETTER(f_sp_proto, struct sport_in, proto)
NODE_SETTER(f_sp_port, struct sport_in, port)
NODE_SETTER(f_sp_target, struct sport_in, target)

static const struct field service_port_fields[] = {
	{"name", f_sp_name, NULL}, {"protocol", f_sp_proto, NULL}, {"port", f_sp_port, NULL},
	{"targetPort", f_sp_target, NULL}, {"nodePort", NULL, &pb_core_ServicePort},
	{"appProtocol", NULL, &pb_core_ServicePort}, {NULL, NULL, NULL},
};

/* Fills p from one entry of spec.ports; the name rules need every entry
 * and are checked by the caller. */
static void service_port(struct dctx *c, const struct sport_in *in, struct np_service_port *p)
{
	long long v;
	bool is_int;
	const char *s;
	p->proto = NP_TCP;
	size_t mark = dctx_push_key(c, "protocol");
	if (in->proto && (s = doc_string_of(c, in->proto)))
		validate_protocol(c, in->proto, NULL, s, &p->proto);
	dctx_pop(c, mark);
	mark = dctx_push_key(c, "port");
	if (!in->port)
		validate_required(c, in->node, NULL, NULL);
	else if (doc_want_int(c, in->port, &v) == 0 && validate_port_number(c, in->port, NULL, v))
		p->port = (int)v;
	dctx_pop(c, mark);
	mark = dctx_push_key(c, "targetPort");
	/* 0 and absent both mean "the same as port" */
	if (in->target && doc_want_int_or_string(c, in->target, &is_int, &v, &s) == 0) {
		if (is_int && v != 0 && validate_port_number(c, in->target, NULL, v))
			p->target_port = (int)v;
		else if (!is_int && validate_port_name(c, in->target, NULL, s))
			p->target_port_name = dctx_strdup(c, s);
	}
	dctx_pop(c, mark);
	if (in->name && (s = doc_string_of(c, in->name)) && *s)
		p->name = dctx_strdup(c, s);
}

/* Names are required when there is more than one port, and unique; so is
 * each port/protocol pair. */
static void service_port_names(struct dctx *c, struct np_service *svc, const struct sport_in *in)
{
	for (size_t i = 0; i < svc->nports; i++) {
		const struct np_service_port *p = &svc->ports[i];
		size_t mark = dctx_push_index(c, i);
		if (!p->name && svc->nports > 1)
			validate_required(c, in[i].node, "name", NULL);
		else if (p->name && validate_dns1123_label(c, in[i].name, "name", p->name))
			for (size_t j = 0; j < i; j++)
				if (svc->ports[j].name && strcmp(svc->ports[j].name, p->name) == 0) {
					validate_duplicate(c, in[i].name, "name", p->name);
					break;
				}
		for (size_t j = 0; p->port && j < i; j++)
			if (svc->ports[j].port == p->port && svc->ports[j].proto == p->proto) {
				char key[32];
				snprintf(key, sizeof(key), "%d/%s", p->port, proto_name(p->proto));
				validate_duplicate(c, in[i].node, NULL, key);
				break;
			}
		dctx_pop(c, mark);
	}
}

static void f_service_ports(struct dctx *c, const struct doc_node *v, void *in)
{
	struct np_service *svc = ((struct obj_in *)in)->obj;
	if (doc_want_seq(c, v) < 0 || v->n == 0)
		return;
	struct sport_in *ins = calloc(v->n, sizeof(*ins));
	svc->ports = calloc(v->n, sizeof(*svc->ports));
	if (!ins || !svc->ports) {
		free(ins);
		dctx_oom(c);
		return;
	}
	for (size_t i = 0; i < v->n; i++) {
		size_t mark = dctx_push_index(c, i);
		ins[i].node = v->vals[i];
		doc_walk(c, v->vals[i], service_port_fields, &ins[i]);
		service_port(c, &ins[i], &svc->ports[svc->nports++]);
		dctx_pop(c, mark);
	}
	service_port_names(c, svc, ins);
	free(ins);
}

static void f_service_selector(struct dctx *c, const struct doc_node *v, void *in)
{
	struct np_service *svc = ((struct obj_in *)in)->obj;
	string_map(c, v, MAP_LABELS, &svc->selector, NULL);
	/* an empty selector selects nothing, as no selector does */
	svc->has_selector = svc->selector.n > 0;
}

static void f_service_type(struct dctx *c, const struct doc_node *v, void *in)
{
	static const char *const types[] = {"ClusterIP", "ExternalName", "LoadBalancer",
					    "NodePort", NULL};
	struct np_service *svc = ((struct obj_in *)in)->obj;
	const char *s = doc_string_of(c, v);
	if (!s)
		return;
	for (size_t i = 0; types[i]; i++)
		if (strcmp(s, types[i]) == 0) {
			free(svc->type);
			svc->type = dctx_strdup(c, s);
			return;
		}
	validate_unsupported(c, v, NULL, s, types);
}

/* "" is unset, "None" is headless, else an IP address. */
static bool cluster_ip_value(struct dctx *c, const struct doc_node *v, const char **out)
{
	struct np_ip ip;
	const char *s = doc_string_of(c, v);
	*out = NULL;
	if (!s)
		return false;
	if (*s && strcmp(s, "None") != 0 && ip_parse(s, &ip) < 0) {
		validate_invalid_str(c, v, NULL, s, NULL, "must be a valid IP address or \"None\"");
		return false;
	}
	*out = *s ? s : NULL;
	return true;
}

static void f_cluster_ip(struct dctx *c, const struct doc_node *v, void *in)
{
	struct np_service *svc = ((struct obj_in *)in)->obj;
	const char *s;
	if (cluster_ip_value(c, v, &s) && s)
		svc->cluster_ip = dctx_strdup(c, s);
}

static void f_cluster_ips(struct dctx *c, const struct doc_node *v, void *in)
{
	struct obj_in *o = in;
	const char *s;
	if (doc_want_seq(c, v) < 0)
		return;
	o->cluster_ips = v;
	for (size_t i = 0; i < v->n; i++) {
		size_t mark = dctx_push_index(c, i);
		cluster_ip_value(c, v->vals[i], &s);
		dctx_pop(c, mark);
	}
}

static const struct field service_spec_fields[] = {
	{"selector", f_service_selector, NULL}, {"ports", f_service_ports, NULL},
	{"type", f_service_type, NULL}, {"clusterIP", f_cluster_ip, NULL},
	{"clusterIPs", f_cluster_ips, NULL}, {"externalIPs", NULL, &pb_core_ServiceSpec},
	{"sessionAffinity", NULL, &pb_core_ServiceSpec},
	{"loadBalancerIP", NULL, &pb_core_ServiceSpec},
	{"loadBalancerSourceRanges", NULL, &pb_core_ServiceSpec},
	{"externalName", NULL, &pb_core_ServiceSpec},
	{"externalTrafficPolicy", NULL, &pb_core_ServiceSpec},
	{"healthCheckNodePort", NULL, &pb_core_ServiceSpec},
	{"publishNotReadyAddresses", NULL, &pb_core_ServiceSpec},
	{"sessionAffinityConfig", NULL, &pb_core_ServiceSpec},
	{"ipFamilies", NULL, &pb_core_ServiceSpec}, {"ipFamilyPolicy", NULL, &pb_core_ServiceSpec},
	{"allocateLoadBalancerNodePorts", NULL, &pb_core_ServiceSpec},
	{"loadBalancerClass", NULL, &pb_core_ServiceSpec},
	{"internalTrafficPolicy", NULL, &pb_core_ServiceSpec},
	{"trafficDistribution", NULL, &pb_core_ServiceSpec}, {NULL, NULL, NULL},
};

static void f_service_spec(struct dctx *c, const struct doc_node *v, void *in)
{
	((struct obj_in *)in)->spec = v;
	doc_walk(c, v, service_spec_fields, in);
}

static const struct field service_fields[] = {
	OBJECT_FIELDS, {"spec", f_service_spec, NULL}, {"status", decode_f_service_status, NULL},
	{NULL, NULL, NULL},
};

static void service_finish(struct dctx *c, struct obj_in *o)
{
	struct np_service *svc = o->obj;
	const struct doc_node *ips = o->cluster_ips, *first = ips && ips->n ? ips->vals[0] : NULL;
	if (!svc->type)
		svc->type = dctx_strdup(c, "ClusterIP");
	if (first && first->type == DOC_STRING && *first->text) {
		if (!svc->cluster_ip)
			svc->cluster_ip = dctx_strdup(c, first->text);
		else if (strcmp(svc->cluster_ip, first->text) != 0)
			validate_invalid_str(c, first, NULL, first->text, NULL,
					     "must match `clusterIP` when both are specified");
	}
	bool headless = svc->cluster_ip && strcmp(svc->cluster_ip, "None") == 0;
	if (svc->nports == 0 && svc->type && strcmp(svc->type, "ExternalName") != 0 && !headless)
		validate_required(c, o->spec ? o->spec : o->node, "spec.ports", NULL);
}

/* ---- network policies ------------------------------------------------ */

struct npport_in {
	const struct doc_node *node, *proto, *port, *end;
};

NODE_SETTER(f_npp_proto, struct npport_in, proto)
NODE_SETTER(f_npp_port, struct npport_in, port)
NODE_SETTER(f_npp_end, struct npport_in, end)

static const struct field np_port_fields[] = {
	{"protocol", f_npp_proto, NULL}, {"port", f_npp_port, NULL}, {"endPort", f_npp_end, NULL},
	{NULL, NULL, NULL},
};

static void np_port_end(struct dctx *c, const struct npport_in *in, struct np_port_spec *p)
{
	long long end;
	if (!in->end || doc_want_int(c, in->end, &end) < 0)
		return;
	if (p->kind == PORT_ANY) {
		validate_invalid_int(c, in->end, NULL, end, "may not be specified when `port` is not specified");
	} else if (p->kind == PORT_NAMED) {
		validate_invalid_int(c, in->end, NULL, end, "may not be specified when `port` is non-numeric");
	} else {
		bool ok = true;
		if (end < p->port) {
			validate_invalid_int(c, in->end, NULL, end,
					     "must be greater than or equal to `port`");
			ok = false;
		}
		if (validate_port_number(c, in->end, NULL, end) && ok)
			p->end_port = (int)end;
	}
}

static void f_np_port(struct dctx *c, const struct doc_node *item, void *arg)
{
	struct np_rule *rule = arg;
	struct npport_in in = {.node = item};
	doc_walk(c, item, np_port_fields, &in);
	struct np_port_spec *p = DCTX_APPEND(c, rule->ports, rule->nports);
	if (!p)
		return;
	p->pos = dctx_pos(c, item);
	p->proto = NP_TCP;
	p->kind = PORT_ANY;
	const char *s;
	long long v;
	bool is_int;
	size_t mark = dctx_push_key(c, "protocol");
	if (in.proto && (s = doc_string_of(c, in.proto)))
		validate_protocol(c, in.proto, NULL, s, &p->proto);
	dctx_pop(c, mark);
	mark = dctx_push_key(c, "port");
	if (in.port && doc_want_int_or_string(c, in.port, &is_int, &v, &s) == 0) {
		p->kind = is_int ? PORT_NUMBER : PORT_NAMED;
		if (is_int && validate_port_number(c, in.port, NULL, v))
			p->port = (int)v;
		else if (!is_int && validate_port_name(c, in.port, NULL, s))
			p->name = dctx_strdup(c, s);
	}
	dctx_pop(c, mark);
	mark = dctx_push_key(c, "endPort");
	np_port_end(c, &in, p);
	dctx_pop(c, mark);
}

static void f_np_ports(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_each_item(c, v, f_np_port, in);
}

struct ipblock_in {
	const struct doc_node *cidr, *except;
};

NODE_SETTER(f_ipb_cidr, struct ipblock_in, cidr)
NODE_SETTER(f_ipb_except, struct ipblock_in, except)

static const struct field ipblock_fields[] = {
	{"cidr", f_ipb_cidr, NULL}, {"except", f_ipb_except, NULL}, {NULL, NULL, NULL},
};

static void ipblock_except(struct dctx *c, const struct doc_node *seq, struct np_ipblock *b,
			   bool cidr_ok)
{
	if (doc_want_seq(c, seq) < 0)
		return;
	for (size_t i = 0; i < seq->n; i++) {
		const struct doc_node *v = seq->vals[i];
		size_t mark = dctx_push_index(c, i);
		struct np_cidr ex;
		const char *s = doc_string_of(c, v);
		if (s && validate_cidr(c, v, NULL, s, &ex) && cidr_ok) {
			/* strictly inside: contained and longer prefix (so not equal) */
			if (!cidr_contains_cidr(&b->cidr, &ex) || ex.prefix <= b->cidr.prefix)
				validate_invalid_str(c, v, NULL, s, "NP006", "must be a strict subset of `cidr`");
			struct np_cidr *slot = DCTX_APPEND(c, b->except, b->nexcept);
			if (slot)
				*slot = ex;
		}
		dctx_pop(c, mark);
	}
}

static void f_ipblock(struct dctx *c, const struct doc_node *v, void *arg)
{
	struct np_peer *peer = arg;
	struct ipblock_in in = {0};
	peer->has_ipblock = true;
	peer->ipblock.pos = dctx_pos(c, v);
	doc_walk(c, v, ipblock_fields, &in);
	bool ok = false;
	size_t mark = dctx_push_key(c, "cidr");
	const char *s = in.cidr ? doc_string_of(c, in.cidr) : "";
	if (s && !*s)
		validate_required(c, in.cidr ? in.cidr : v, NULL, NULL);
	else if (s)
		ok = validate_cidr(c, in.cidr, NULL, s, &peer->ipblock.cidr);
	dctx_pop(c, mark);
	if (in.except) {
		mark = dctx_push_key(c, "except");
		ipblock_except(c, in.except, &peer->ipblock, ok);
		dctx_pop(c, mark);
	}
}

static void f_peer_pod_sel(struct dctx *c, const struct doc_node *v, void *arg)
{
	struct np_peer *peer = arg;
	peer->has_pod_sel = true;
	doc_walk(c, v, selector_fields, &peer->pod_sel);
}

static void f_peer_ns_sel(struct dctx *c, const struct doc_node *v, void *arg)
{
	struct np_peer *peer = arg;
	peer->has_ns_sel = true;
	doc_walk(c, v, selector_fields, &peer->ns_sel);
}

static const struct field peer_fields[] = {
	{"podSelector", f_peer_pod_sel, NULL}, {"namespaceSelector", f_peer_ns_sel, NULL},
	{"ipBlock", f_ipblock, NULL}, {NULL, NULL, NULL},
};

static void f_peer(struct dctx *c, const struct doc_node *item, void *arg)
{
	struct np_rule *rule = arg;
	struct np_peer *peer = DCTX_APPEND(c, rule->peers, rule->npeers);
	if (!peer)
		return;
	peer->pos = dctx_pos(c, item);
	doc_walk(c, item, peer_fields, peer);
	if (item->type != DOC_MAP && item->type != DOC_NULL)
		return;
	int n = peer->has_pod_sel + peer->has_ns_sel + peer->has_ipblock;
	if (n == 0)
		validate_required(c, item, NULL, "must specify a peer");
	else if (n > 1 && peer->has_ipblock)
		validate_forbidden(c, item, NULL, "may not specify both ipBlock and another peer");
}

static void f_peers(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_each_item(c, v, f_peer, in);
}

static const struct field ingress_rule_fields[] = {
	{"from", f_peers, NULL}, {"ports", f_np_ports, NULL}, {NULL, NULL, NULL},
};

static const struct field egress_rule_fields[] = {
	{"to", f_peers, NULL}, {"ports", f_np_ports, NULL}, {NULL, NULL, NULL},
};

static void rules(struct dctx *c, const struct doc_node *v, struct np_rule **arr, size_t *n,
		  const struct field *fields)
{
	if (doc_want_seq(c, v) < 0)
		return;
	for (size_t i = 0; i < v->n; i++) {
		size_t mark = dctx_push_index(c, i);
		struct np_rule *rule = DCTX_APPEND(c, *arr, *n);
		if (rule) {
			rule->pos = dctx_pos(c, v->vals[i]);
			doc_walk(c, v->vals[i], fields, rule);
		}
		dctx_pop(c, mark);
	}
}

static void f_ingress(struct dctx *c, const struct doc_node *v, void *in)
{
	struct np_policy *p = ((struct obj_in *)in)->obj;
	rules(c, v, &p->ingress, &p->ningress, ingress_rule_fields);
}

static void f_egress(struct dctx *c, const struct doc_node *v, void *in)
{
	struct np_policy *p = ((struct obj_in *)in)->obj;
	rules(c, v, &p->egress, &p->negress, egress_rule_fields);
}

static void f_policy_type(struct dctx *c, const struct doc_node *item, void *in)
{
	static const char *const types[] = {"Egress", "Ingress", NULL};
	struct obj_in *o = in;
	struct np_policy *p = o->obj;
	const char *s = doc_string_of(c, item);
	if (!s)
		return;
	bool *flag = strcmp(s, "Ingress") == 0 ? &p->ingress_type
		   : strcmp(s, "Egress") == 0 ? &p->egress_type : NULL;
	/* a repeated type is accepted, as the API server accepts it */
	if (!flag)
		validate_unsupported(c, item, NULL, s, types);
	else if (!*flag)
		*flag = true, o->ntypes++;
}

static void f_policy_types(struct dctx *c, const struct doc_node *v, void *in)
{
	if (v->type == DOC_SEQ && v->n > 2) {
		dctx_error(c, v, NULL, "%s: Invalid value: %zu items: may not specify more than two policyTypes",
			   c->path, v->n);
		return;
	}
	doc_each_item(c, v, f_policy_type, in);
}

static void f_np_pod_selector(struct dctx *c, const struct doc_node *v, void *in)
{
	struct np_policy *p = ((struct obj_in *)in)->obj;
	doc_walk(c, v, selector_fields, &p->pod_sel);
}

static const struct field np_spec_fields[] = {
	{"podSelector", f_np_pod_selector, NULL}, {"policyTypes", f_policy_types, NULL},
	{"ingress", f_ingress, NULL}, {"egress", f_egress, NULL}, {NULL, NULL, NULL},
};

static void f_np_spec(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_walk(c, v, np_spec_fields, in);
}

static const struct field policy_fields[] = {
	OBJECT_FIELDS, {"spec", f_np_spec, NULL}, {"status", decode_f_policy_status, NULL},
	{NULL, NULL, NULL},
};

static void policy_finish(struct dctx *c, struct obj_in *o)
{
	struct np_policy *p = o->obj;
	/* the API server's defaulting: an empty policyTypes means Ingress,
	 * plus Egress when there are egress rules */
	p->types_written = o->ntypes > 0;
	if (!p->types_written) {
		p->ingress_type = true;
		p->egress_type = p->negress > 0;
	}
}

/* ---- namespaces ------------------------------------------------------ */

static const struct field namespace_fields[] = {
	OBJECT_FIELDS, {"spec", decode_f_namespace_spec, NULL},
	{"status", decode_f_namespace_status, NULL}, {NULL, NULL, NULL},
};

/* ---- endpoints: validated for the API, not modelled ------------------ */

static const struct field endpoints_fields[] = {
	OBJECT_FIELDS, {"subsets", decode_f_endpoints_subsets, NULL}, {NULL, NULL, NULL},
};

static void *new_endpoints(void) { return calloc(1, sizeof(struct np_meta)); }

static void free_endpoints(void *o)
{
	if (o)
		meta_clear(o);
	free(o);
}

/* ---- kinds ----------------------------------------------------------- */

static void *new_namespace(void) { return namespace_new(); }
static void *new_pod(void) { return pod_new(); }
static void *new_deployment(void) { return deployment_new(); }
static void *new_service(void) { return service_new(); }
static void *new_policy(void) { return policy_new(); }
static int add_namespace(struct np_cluster *cl, void *o) { return cluster_add_namespace(cl, o); }
static int add_pod(struct np_cluster *cl, void *o) { return cluster_add_pod(cl, o); }
static int add_deployment(struct np_cluster *cl, void *o) { return cluster_add_deployment(cl, o); }
static int add_service(struct np_cluster *cl, void *o) { return cluster_add_service(cl, o); }
static int add_policy(struct np_cluster *cl, void *o) { return cluster_add_policy(cl, o); }
static void free_namespace(void *o) { namespace_free(o); }
static void free_pod(void *o) { pod_free(o); }
static void free_deployment(void *o) { deployment_free(o); }
static void free_service(void *o) { service_free(o); }
static void free_policy(void *o) { policy_free(o); }

static const struct np_meta *find_in(void *const *objs, size_t n, const char *ns, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		const struct np_meta *m = objs[i];
		if (strcmp(m->name, name) == 0 && (!ns || !m->namespace || strcmp(m->namespace, ns) == 0))
			return m;
	}
	return NULL;
}

#define DEFINE_FIND(kind, list, n, scoped)                                     \
	static const struct np_meta *find_##kind(const struct np_cluster *cl,  \
						 const char *ns, const char *name) \
	{                                                                     \
		return find_in((void *const *)cl->list, cl->n, scoped ? ns : NULL, name); \
	}

DEFINE_FIND(namespace, namespaces, nnamespaces, false)
DEFINE_FIND(pod, pods, npods, true)
DEFINE_FIND(deployment, deployments, ndeployments, true)
DEFINE_FIND(service, services, nservices, true)
DEFINE_FIND(policy, policies, npolicies, true)

static const struct kind_info kinds[] = {
	{"Namespace", "v1", false, namespace_fields, new_namespace, NULL,
	 add_namespace, free_namespace, find_namespace},
	{"Pod", "v1", true, pod_fields, new_pod, pod_finish, add_pod, free_pod, find_pod},
	{"Deployment", "apps/v1", true, deployment_fields, new_deployment, deployment_finish,
	 add_deployment, free_deployment, find_deployment},
	{"Service", "v1", true, service_fields, new_service, service_finish,
	 add_service, free_service, find_service},
	{"NetworkPolicy", "networking.k8s.io/v1", true, policy_fields, new_policy, policy_finish,
	 add_policy, free_policy, find_policy},
	/* no add: only decode_json_object decodes it; manifests skip it */
	{"Endpoints", "v1", true, endpoints_fields, new_endpoints, NULL, NULL, free_endpoints, NULL},
};

static const struct kind_info *find_kind(const char *kind, size_t len)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strlen(kinds[i].kind) == len && strncmp(kinds[i].kind, kind, len) == 0)
			return &kinds[i];
	return NULL;
}

/* Hands a decoded object to the cluster (or to decode_json_object's
 * caller); an object with errors is dropped. */
static void emit(struct dctx *c, const struct kind_info *k, void *obj, const struct doc_node *at,
		 size_t errors_before)
{
	struct np_meta *m = obj;
	if (c->nerrors != errors_before || c->oom) {
		k->free(obj);
		return;
	}
	if (!c->cl) {
		c->out = obj;
		return;
	}
	int r = k->add(c->cl, obj);
	if (r == 0)
		return;
	if (r == -EEXIST) {
		const struct np_meta *first = k->find(c->cl, m->namespace, m->name);
		char where[512] = "";
		if (first && first->pos.file && first->pos.line)
			snprintf(where, sizeof(where), " (first defined at %s:%d:%d)", first->pos.file,
				 first->pos.line, first->pos.col);
		if (m->namespace)
			dctx_error(c, at, NULL, "%s \"%s/%s\" is defined more than once%s", k->kind,
				   m->namespace, m->name, where);
		else
			dctx_error(c, at, NULL, "%s \"%s\" is defined more than once%s", k->kind, m->name,
				   where);
	} else {
		dctx_oom(c);
	}
	k->free(obj);
}

static void decode_kind(struct dctx *c, const struct doc_node *node, const struct kind_info *k)
{
	size_t errors_before = c->nerrors;
	void *obj = k->new();
	if (!obj) {
		dctx_oom(c);
		return;
	}
	struct obj_in o = {.kind = k, .meta = obj, .obj = obj, .node = node};
	doc_walk(c, node, k->fields, &o);
	meta_finish(c, &o);
	if (k->finish)
		k->finish(c, &o);
	emit(c, k, obj, node, errors_before);
}

/* ---- documents, lists and kinds we skip ------------------------------ */

static void skip_kind(struct dctx *c, const struct doc_node *node, const char *kind)
{
	for (size_t i = 0; i < c->nskipped; i++)
		if (strcmp(c->skipped[i], kind) == 0)
			return;
	char *copy = strdup(kind);
	char **slot = copy ? DCTX_APPEND(c, c->skipped, c->nskipped) : NULL;
	if (!slot) {
		free(copy);
		dctx_oom(c);
		return;
	}
	*slot = copy;
	dctx_warning(c, node, "skipping objects of kind \"%s\": netpol does not model this kind", kind);
}

static void decode_object(struct dctx *c, const struct doc_node *node,
			  const struct kind_info *implied);

static void f_list_item(struct dctx *c, const struct doc_node *item, void *in)
{
	/* an item's field paths start at the item, as they would if it
	 * were sent to the API server on its own */
	char *path = c->path;
	size_t plen = c->plen, pcap = c->pcap;
	c->path = NULL;
	c->plen = c->pcap = 0;
	if (item->type != DOC_MAP)
		dctx_error(c, item, NULL, "a list item must be a Kubernetes object, got %s",
			   doc_type_name(item->type));
	else
		decode_object(c, item, in);
	free(c->path);
	c->path = path;
	c->plen = plen;
	c->pcap = pcap;
}

static void f_list_items(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_each_item(c, v, f_list_item, in);
}

static const struct field list_fields[] = {
	{"apiVersion", NULL, NULL}, {"kind", NULL, NULL}, {"metadata", NULL, NULL},
	{"items", f_list_items, NULL},
	{NULL, NULL, NULL},
};

/* kind and apiVersion, type-checked; NULL when absent or empty. */
static const char *header_field(struct dctx *c, const struct doc_node *node, const char *name,
				bool *bad)
{
	const struct doc_node *v = doc_get(node, name);
	const char *s = NULL;
	if (!v || v->type == DOC_NULL)
		return NULL;
	size_t mark = dctx_push_key(c, name);
	if (doc_want_string(c, v, &s) < 0)
		*bad = true;
	dctx_pop(c, mark);
	return s && *s ? s : NULL;
}

static bool check_api_version(struct dctx *c, const struct doc_node *node, const char *api,
			      const char *want)
{
	const char *supported[] = {want, NULL};
	if (!api || strcmp(api, want) == 0)
		return true;
	size_t mark = dctx_push_key(c, "apiVersion");
	validate_unsupported(c, doc_get(node, "apiVersion"), NULL, api, supported);
	dctx_pop(c, mark);
	return false;
}

static void decode_list(struct dctx *c, const struct doc_node *node, const char *api,
			const struct kind_info *item_kind)
{
	if (!check_api_version(c, node, api, item_kind ? item_kind->api_version : "v1"))
		return;
	if (c->want_kind) {
		dctx_error(c, node, NULL, "kind: Invalid value: \"List\": expected \"%s\"", c->want_kind);
		return;
	}
	doc_walk(c, node, list_fields, (void *)item_kind);
}

static void decode_object(struct dctx *c, const struct doc_node *node,
			  const struct kind_info *implied)
{
	bool bad_kind = false, bad_api = false;
	const char *kind = header_field(c, node, "kind", &bad_kind);
	const char *api = header_field(c, node, "apiVersion", &bad_api);
	if (!kind && !bad_kind && implied)
		kind = implied->kind;
	if (!api && !bad_api && implied)
		api = implied->api_version;
	if (!kind && !bad_kind)
		validate_required(c, node, "kind", NULL);
	if (!api && !bad_api)
		validate_required(c, node, "apiVersion", NULL);
	if (!kind)
		return;
	size_t klen = strlen(kind);
	if (strcmp(kind, "List") == 0 || (klen > 4 && strcmp(kind + klen - 4, "List") == 0 &&
					  find_kind(kind, klen - 4))) {
		decode_list(c, node, api, klen > 4 ? find_kind(kind, klen - 4) : NULL);
		return;
	}
	const struct kind_info *k = find_kind(kind, klen);
	if (c->want_kind && strcmp(kind, c->want_kind) != 0) {
		char *q = validate_quote(kind);
		if (q)
			dctx_error(c, doc_get(node, "kind"), NULL, "kind: Invalid value: %s: expected \"%s\"",
				   q, c->want_kind);
		free(q);
		return;
	}
	if (!k || (!k->add && c->cl)) {
		skip_kind(c, node, kind);
		return;
	}
	if (api && check_api_version(c, node, api, k->api_version))
		decode_kind(c, node, k);
}

void decode_document(struct dctx *c, const struct doc_node *root)
{
	if (!root || root->type == DOC_NULL)
		return;
	if (root->type != DOC_MAP) {
		dctx_error(c, root, NULL, "a document must be a Kubernetes object (a mapping), got %s",
			   doc_type_name(root->type));
		return;
	}
	decode_object(c, root, NULL);
}

/* ---- the REST entry point -------------------------------------------- */

void decode_object_free(const char *kind, void *obj)
{
	const struct kind_info *k = kind ? find_kind(kind, strlen(kind)) : NULL;
	if (k && obj)
		k->free(obj);
}

int decode_json_object(json_t *obj, const char *expected_kind, void **out,
		       struct diag_list *diags)
{
	*out = NULL;
	if (!obj || !expected_kind)
		return -EINVAL;
	const struct kind_info *k = find_kind(expected_kind, strlen(expected_kind));
	struct dctx c = {.diags = diags, .want_kind = expected_kind};
	struct doc_node *root = decode_doc_from_json(obj, 0, 0);
	if (!root)
		return -ENOMEM;
	if (!k)
		dctx_error(&c, NULL, NULL, "kind: Unsupported value: \"%s\"", expected_kind);
	else if (root->type != DOC_MAP)
		dctx_error(&c, NULL, NULL, "expected a %s object, got %s", expected_kind,
			   doc_type_name(root->type));
	else
		decode_object(&c, root, k);   /* kind and apiVersion may be left out */
	int r = c.oom ? -ENOMEM : c.nerrors || !c.out ? -EINVAL : 0;
	if (r == 0)
		*out = c.out;
	else if (c.out)
		k->free(c.out);
	doc_free(root);
	dctx_clear(&c);
	return r;
}
