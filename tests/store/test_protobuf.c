/* Protobuf request bodies (src/api/protobuf.c): bodies built here with a
 * tiny encoder, as Go's generated marshallers write them (every non-pointer
 * scalar, zero or not; pointers only when set), must decode to exactly the
 * JSON kubectl sends for the same object; anything malformed or unknown is
 * refused with a message that names it. */
#include "api/api_internal.h"
#include "unit.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a tiny protobuf encoder ---------------------------------------------------------------- */

struct pbw {
	uint8_t b[4096];
	size_t n;
};

static void w_varint(struct pbw *w, uint64_t v)
{
	do {
		w->b[w->n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
}

static void w_key(struct pbw *w, unsigned num, unsigned wire)
{
	w_varint(w, (uint64_t)num << 3 | wire);
}

static void w_int(struct pbw *w, unsigned num, int64_t v)
{
	w_key(w, num, 0);
	w_varint(w, (uint64_t)v);
}

static void w_bytes(struct pbw *w, unsigned num, const void *p, size_t n)
{
	w_key(w, num, 2);
	w_varint(w, n);
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static void w_str(struct pbw *w, unsigned num, const char *s)
{
	w_bytes(w, num, s, strlen(s));
}

static void w_msg(struct pbw *w, unsigned num, const struct pbw *m)
{
	w_bytes(w, num, m->b, m->n);
}

static void w_map(struct pbw *w, unsigned num, const char *k, const char *v)
{
	struct pbw e = {.n = 0};
	w_str(&e, 1, k);
	w_str(&e, 2, v);
	w_msg(w, num, &e);
}

/* A Quantity map entry: {key, Quantity {string}}. */
static void w_quantity(struct pbw *w, unsigned num, const char *k, const char *v)
{
	struct pbw q = {.n = 0}, e = {.n = 0};
	w_str(&q, 1, v);
	w_str(&e, 1, k);
	w_msg(&e, 2, &q);
	w_msg(w, num, &e);
}

static void w_intstr_int(struct pbw *w, unsigned num, int v)
{
	struct pbw m = {.n = 0};
	w_int(&m, 1, 0);
	w_int(&m, 2, v);
	w_str(&m, 3, "");
	w_msg(w, num, &m);
}

static void w_intstr_str(struct pbw *w, unsigned num, const char *v)
{
	struct pbw m = {.n = 0};
	w_int(&m, 1, 1);
	w_int(&m, 2, 0);
	w_str(&m, 3, v);
	w_msg(w, num, &m);
}

static void w_empty(struct pbw *w, unsigned num)
{
	w_bytes(w, num, "", 0);
}

/* "k8s\0" + runtime.Unknown {typeMeta {apiVersion, kind}, raw, "", ""}. */
static void w_envelope(struct pbw *out, const char *api_version, const char *kind,
		       const struct pbw *raw)
{
	struct pbw tm = {.n = 0};
	memcpy(out->b, "k8s", 4);
	out->n = 4;
	w_str(&tm, 1, api_version);
	w_str(&tm, 2, kind);
	w_msg(out, 1, &tm);
	w_msg(out, 2, raw);
	w_str(out, 3, "");
	w_str(out, 4, "");
}

/* ObjectMeta as Go writes it for a new object: every string, generation,
 * an empty creationTimestamp. */
static void w_meta(struct pbw *w, unsigned num, const char *name, const char *label_value)
{
	struct pbw m = {.n = 0};
	w_str(&m, 1, name);
	w_str(&m, 2, "");
	w_str(&m, 3, "");
	w_str(&m, 4, "");
	w_str(&m, 5, "");
	w_str(&m, 6, "");
	w_int(&m, 7, 0);
	w_empty(&m, 8);
	if (label_value)
		w_map(&m, 11, "app", label_value);
	w_msg(w, num, &m);
}

/* ---- checking ------------------------------------------------------------------------------- */

/* Decodes an enveloped body and compares with the expected JSON text. */
static bool decodes_to(const struct pbw *body, const char *expected, char *why, size_t len)
{
	json_t *obj = NULL, *want = json_loads(expected, 0, NULL);
	char *err = NULL;
	int r = api_protobuf_decode(body->b, body->n, &obj, &err);
	bool ok = r == 0 && want && json_equal(obj, want);
	if (!ok) {
		char *got = obj ? json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		snprintf(why, len, "ret %d (%s), got %s, want %s", r, err ? err : "",
			 got ? got : "nothing", want ? expected : "(bad expected JSON)");
		free(got);
	}
	free(err);
	json_decref(obj);
	json_decref(want);
	return ok;
}

#define CHECK_DECODES(body, json)                                             \
	do {                                                                  \
		char why_[4096];                                              \
		if (!decodes_to((body), (json), why_, sizeof(why_))) {        \
			unit_fail(__FILE__, __LINE__, "%s", why_);            \
			return;                                               \
		}                                                             \
	} while (0)

/* Refused with ret, and the message contains needle. */
static bool refused(const void *b, size_t n, int ret, const char *needle, char *why, size_t len)
{
	json_t *obj = NULL;
	char *err = NULL;
	int r = api_protobuf_decode(b, n, &obj, &err);
	bool ok = r == ret && !obj && err && strstr(err, needle);
	if (!ok)
		snprintf(why, len, "ret %d (expected %d), message \"%s\" lacks \"%s\"", r, ret,
			 err ? err : "(none)", needle);
	free(err);
	json_decref(obj);
	return ok;
}

#define CHECK_REFUSED(b, n, ret, needle)                                      \
	do {                                                                  \
		char why_[1024];                                              \
		if (!refused((b), (n), (ret), (needle), why_, sizeof(why_))) { \
			unit_fail(__FILE__, __LINE__, "%s", why_);            \
			return;                                               \
		}                                                             \
	} while (0)

/* ---- kinds ---------------------------------------------------------------------------------- */

TEST(protobuf_namespace_is_the_json_kubectl_create_namespace_sends)
{
	struct pbw raw = {.n = 0}, body;
	w_meta(&raw, 1, "team-a", NULL);
	w_empty(&raw, 2);
	struct pbw status = {.n = 0};
	w_str(&status, 1, "");
	w_msg(&raw, 3, &status);
	w_envelope(&body, "v1", "Namespace", &raw);
	CHECK_DECODES(&body, "{\"kind\":\"Namespace\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":"
			     "\"team-a\",\"creationTimestamp\":null},\"spec\":{},\"status\":{}}");
}

/* The pod template kubectl create deployment writes: one container. */
static void w_template(struct pbw *w, unsigned num)
{
	struct pbw tpl = {.n = 0}, spec = {.n = 0}, c = {.n = 0}, res = {.n = 0};
	w_meta(&tpl, 1, "", "nginx");
	w_str(&c, 1, "nginx");
	w_str(&c, 2, "nginx");
	w_str(&c, 5, "");
	w_msg(&c, 8, &res);
	w_str(&c, 13, "");
	w_str(&c, 14, "");
	w_int(&c, 16, 0);
	w_int(&c, 17, 0);
	w_int(&c, 18, 0);
	w_str(&c, 20, "");
	w_msg(&spec, 2, &c);
	w_str(&spec, 3, "");
	w_str(&spec, 6, "");
	w_int(&spec, 11, 0);
	w_msg(&tpl, 2, &spec);
	w_msg(w, num, &tpl);
}

TEST(protobuf_deployment_is_the_json_kubectl_create_deployment_sends)
{
	struct pbw raw = {.n = 0}, spec = {.n = 0}, sel = {.n = 0}, strategy = {.n = 0};
	struct pbw status = {.n = 0}, body;
	w_meta(&raw, 1, "nginx", "nginx");
	w_int(&spec, 1, 2);
	w_map(&sel, 1, "app", "nginx");
	w_msg(&spec, 2, &sel);
	w_template(&spec, 3);
	w_str(&strategy, 1, "");
	w_msg(&spec, 4, &strategy);
	w_int(&spec, 5, 0);
	w_int(&spec, 7, 0);
	w_msg(&raw, 2, &spec);
	for (unsigned f = 1; f <= 7; f++)
		if (f != 6)
			w_int(&status, f, 0);
	w_msg(&raw, 3, &status);
	w_envelope(&body, "apps/v1", "Deployment", &raw);
	CHECK_DECODES(&body,
		      "{\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"metadata\":{\"name\":"
		      "\"nginx\",\"creationTimestamp\":null,\"labels\":{\"app\":\"nginx\"}},\"spec\":"
		      "{\"replicas\":2,\"selector\":{\"matchLabels\":{\"app\":\"nginx\"}},\"template\":"
		      "{\"metadata\":{\"creationTimestamp\":null,\"labels\":{\"app\":\"nginx\"}},"
		      "\"spec\":{\"containers\":[{\"name\":\"nginx\",\"image\":\"nginx\",\"resources\":"
		      "{}}]}},\"strategy\":{}},\"status\":{}}");
}

TEST(protobuf_deployment_keeps_replicas_zero_and_fills_what_go_always_writes)
{
	/* replicas is a pointer: 0 stays; a missing template is still {} and
	 * a missing selector (a pointer without omitempty) is null */
	struct pbw raw = {.n = 0}, spec = {.n = 0}, body;
	w_int(&spec, 1, 0);
	w_msg(&raw, 2, &spec);
	w_envelope(&body, "apps/v1", "Deployment", &raw);
	CHECK_DECODES(&body, "{\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"metadata\":"
			     "{\"creationTimestamp\":null},\"spec\":{\"replicas\":0,\"selector\":null,"
			     "\"template\":{\"metadata\":{\"creationTimestamp\":null},\"spec\":"
			     "{\"containers\":null}},\"strategy\":{}},\"status\":{}}");
}

TEST(protobuf_service_is_the_json_kubectl_create_service_sends)
{
	struct pbw raw = {.n = 0}, spec = {.n = 0}, port = {.n = 0}, named = {.n = 0};
	struct pbw status = {.n = 0}, lb = {.n = 0}, body;
	w_meta(&raw, 1, "web", "web");
	w_str(&port, 1, "80-8080");
	w_str(&port, 2, "TCP");
	w_int(&port, 3, 80);
	w_intstr_int(&port, 4, 8080);
	w_int(&port, 5, 0);
	w_msg(&spec, 1, &port);
	w_str(&named, 1, "");
	w_str(&named, 2, "UDP");
	w_int(&named, 3, 53);
	w_intstr_str(&named, 4, "dns");
	w_int(&named, 5, 0);
	w_msg(&spec, 1, &named);
	w_map(&spec, 2, "app", "web");
	w_str(&spec, 3, "");
	w_str(&spec, 4, "ClusterIP");
	w_str(&spec, 7, "");
	w_int(&spec, 12, 0);
	w_int(&spec, 13, 0);
	w_msg(&status, 1, &lb);
	w_msg(&raw, 2, &spec);
	w_msg(&raw, 3, &status);
	w_envelope(&body, "v1", "Service", &raw);
	CHECK_DECODES(&body,
		      "{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"web\","
		      "\"creationTimestamp\":null,\"labels\":{\"app\":\"web\"}},\"spec\":{\"ports\":"
		      "[{\"name\":\"80-8080\",\"protocol\":\"TCP\",\"port\":80,\"targetPort\":8080},"
		      "{\"protocol\":\"UDP\",\"port\":53,\"targetPort\":\"dns\"}],\"selector\":"
		      "{\"app\":\"web\"},\"type\":\"ClusterIP\"},\"status\":{\"loadBalancer\":{}}}");
}

TEST(protobuf_endpoints_decode)
{
	struct pbw raw = {.n = 0}, sub = {.n = 0}, addr = {.n = 0}, ref = {.n = 0};
	struct pbw port = {.n = 0}, body;
	w_meta(&raw, 1, "web", NULL);
	w_str(&addr, 1, "10.0.0.7");
	w_str(&ref, 1, "Pod");
	w_str(&ref, 2, "default");
	w_str(&ref, 3, "web-1");
	w_msg(&addr, 2, &ref);
	w_str(&addr, 3, "");
	w_str(&addr, 4, "node");
	w_msg(&sub, 1, &addr);
	w_str(&port, 1, "");
	w_int(&port, 2, 8080);
	w_str(&port, 3, "TCP");
	w_msg(&sub, 3, &port);
	w_msg(&raw, 2, &sub);
	w_envelope(&body, "v1", "Endpoints", &raw);
	CHECK_DECODES(&body,
		      "{\"kind\":\"Endpoints\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"web\","
		      "\"creationTimestamp\":null},\"subsets\":[{\"addresses\":[{\"ip\":\"10.0.0.7\","
		      "\"nodeName\":\"node\",\"targetRef\":{\"kind\":\"Pod\",\"namespace\":"
		      "\"default\",\"name\":\"web-1\"}}],\"ports\":[{\"port\":8080,\"protocol\":"
		      "\"TCP\"}]}]}");
}

TEST(protobuf_networkpolicy_keeps_empty_selectors_and_pointer_ports)
{
	struct pbw raw = {.n = 0}, spec = {.n = 0}, pod = {.n = 0}, rule = {.n = 0};
	struct pbw peer = {.n = 0}, ns = {.n = 0}, ipb = {.n = 0}, peer2 = {.n = 0};
	struct pbw port = {.n = 0}, body;
	w_meta(&raw, 1, "allow", NULL);
	w_map(&pod, 1, "app", "db");
	w_msg(&spec, 1, &pod);
	w_msg(&peer, 2, &ns); /* namespaceSelector: {} means every namespace */
	w_msg(&rule, 2, &peer);
	w_str(&ipb, 1, "10.0.0.0/8");
	w_str(&ipb, 2, "10.1.0.0/16");
	w_msg(&peer2, 3, &ipb);
	w_msg(&rule, 2, &peer2);
	w_str(&port, 1, "TCP");
	w_intstr_int(&port, 2, 5432);
	w_int(&port, 3, 5440);
	w_msg(&rule, 1, &port);
	w_msg(&spec, 2, &rule);
	w_str(&spec, 4, "Ingress");
	w_msg(&raw, 2, &spec);
	w_envelope(&body, "networking.k8s.io/v1", "NetworkPolicy", &raw);
	CHECK_DECODES(&body,
		      "{\"kind\":\"NetworkPolicy\",\"apiVersion\":\"networking.k8s.io/v1\","
		      "\"metadata\":{\"name\":\"allow\",\"creationTimestamp\":null},\"spec\":"
		      "{\"podSelector\":{\"matchLabels\":{\"app\":\"db\"}},\"ingress\":[{\"ports\":"
		      "[{\"protocol\":\"TCP\",\"port\":5432,\"endPort\":5440}],\"from\":"
		      "[{\"namespaceSelector\":{}},{\"ipBlock\":{\"cidr\":\"10.0.0.0/8\",\"except\":"
		      "[\"10.1.0.0/16\"]}}]}],\"policyTypes\":[\"Ingress\"]}}");
}

/* A Pod with what Pods commonly carry: owner references, managed fields,
 * times, resources, env from the downward API, a probe (inline handler,
 * named port), an emptyDir volume (inline source), a security context
 * whose zeros are pointers, a toleration, and status. */
static void w_pod_meta(struct pbw *raw)
{
	struct pbw meta = {.n = 0}, ts = {.n = 0}, owner = {.n = 0}, mf = {.n = 0};
	struct pbw fields = {.n = 0};
	w_str(&meta, 1, "web-1");
	w_str(&meta, 3, "default");
	w_int(&meta, 7, 3);
	w_int(&ts, 1, 1700000000);
	w_int(&ts, 2, 123456789);
	w_msg(&meta, 8, &ts);
	w_map(&meta, 12, "note", "");
	w_str(&owner, 1, "ReplicaSet");
	w_str(&owner, 3, "web-abc");
	w_str(&owner, 4, "u-1");
	w_str(&owner, 5, "apps/v1");
	w_int(&owner, 6, 1);
	w_int(&owner, 7, 0);
	w_msg(&meta, 13, &owner);
	w_str(&mf, 1, "kubectl");
	w_str(&mf, 2, "Update");
	w_str(&mf, 3, "v1");
	w_msg(&mf, 4, &ts);
	w_str(&mf, 6, "FieldsV1");
	w_str(&fields, 1, "{\"f:metadata\":{}}");
	w_msg(&mf, 7, &fields);
	w_msg(&meta, 17, &mf);
	w_msg(raw, 1, &meta);
}

static void w_pod_container(struct pbw *spec)
{
	struct pbw c = {.n = 0}, port = {.n = 0}, env = {.n = 0}, src = {.n = 0};
	struct pbw ref = {.n = 0}, res = {.n = 0}, probe = {.n = 0}, handler = {.n = 0};
	struct pbw get = {.n = 0}, sc = {.n = 0}, vm = {.n = 0};
	w_str(&c, 1, "web");
	w_str(&c, 2, "nginx:1.27");
	w_str(&c, 3, "nginx");
	w_str(&c, 4, "-g");
	w_str(&c, 4, "daemon off;");
	w_str(&port, 1, "http");
	w_int(&port, 2, 0);
	w_int(&port, 3, 80);
	w_str(&port, 4, "TCP");
	w_msg(&c, 6, &port);
	w_str(&env, 1, "POD_IP");
	w_str(&ref, 1, "v1");
	w_str(&ref, 2, "status.podIP");
	w_msg(&src, 1, &ref);
	w_msg(&env, 3, &src);
	w_msg(&c, 7, &env);
	w_quantity(&res, 1, "memory", "128Mi");
	w_quantity(&res, 2, "cpu", "100m");
	w_msg(&c, 8, &res);
	w_str(&vm, 1, "cache");
	w_int(&vm, 2, 1);
	w_str(&vm, 3, "/cache");
	w_msg(&c, 9, &vm);
	w_str(&get, 1, "/healthz");
	w_intstr_str(&get, 2, "http");
	w_msg(&handler, 2, &get);
	w_msg(&probe, 1, &handler);
	w_int(&probe, 4, 10);
	w_msg(&c, 11, &probe);
	w_int(&sc, 4, 0);
	w_int(&sc, 7, 0);
	w_msg(&c, 15, &sc);
	w_msg(spec, 2, &c);
}

TEST(protobuf_pod_with_what_pods_commonly_carry)
{
	struct pbw raw = {.n = 0}, spec = {.n = 0}, vol = {.n = 0}, src = {.n = 0};
	struct pbw ed = {.n = 0}, tol = {.n = 0}, status = {.n = 0}, body;
	w_pod_meta(&raw);
	w_str(&vol, 1, "cache");
	w_msg(&src, 2, &ed);
	w_msg(&vol, 2, &src);
	w_msg(&spec, 1, &vol);
	w_pod_container(&spec);
	w_str(&spec, 3, "Always");
	w_int(&spec, 4, 30);
	w_map(&spec, 7, "disk", "ssd");
	w_str(&tol, 1, "node.kubernetes.io/not-ready");
	w_str(&tol, 2, "Exists");
	w_str(&tol, 4, "NoExecute");
	w_int(&tol, 5, 300);
	w_msg(&spec, 22, &tol);
	w_msg(&raw, 2, &spec);
	w_str(&status, 1, "Pending");
	w_msg(&raw, 3, &status);
	w_envelope(&body, "v1", "Pod", &raw);
	CHECK_DECODES(&body,
		      "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"web-1\","
		      "\"namespace\":\"default\",\"generation\":3,\"creationTimestamp\":"
		      "\"2023-11-14T22:13:20Z\",\"annotations\":{\"note\":\"\"},\"ownerReferences\":"
		      "[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"web-abc\","
		      "\"uid\":\"u-1\",\"controller\":true,\"blockOwnerDeletion\":false}],"
		      "\"managedFields\":[{\"manager\":\"kubectl\",\"operation\":\"Update\","
		      "\"apiVersion\":\"v1\",\"time\":\"2023-11-14T22:13:20Z\",\"fieldsType\":"
		      "\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{}}}]},"
		      "\"spec\":{\"volumes\":[{\"name\":\"cache\",\"emptyDir\":{}}],\"containers\":"
		      "[{\"name\":\"web\",\"image\":\"nginx:1.27\",\"command\":[\"nginx\"],\"args\":"
		      "[\"-g\",\"daemon off;\"],\"ports\":[{\"name\":\"http\",\"containerPort\":80,"
		      "\"protocol\":\"TCP\"}],\"env\":[{\"name\":\"POD_IP\",\"valueFrom\":{\"fieldRef\":"
		      "{\"apiVersion\":\"v1\",\"fieldPath\":\"status.podIP\"}}}],\"resources\":"
		      "{\"limits\":{\"memory\":\"128Mi\"},\"requests\":{\"cpu\":\"100m\"}},"
		      "\"volumeMounts\":[{\"name\":\"cache\",\"readOnly\":true,\"mountPath\":"
		      "\"/cache\"}],\"readinessProbe\":{\"httpGet\":{\"path\":\"/healthz\",\"port\":"
		      "\"http\"},\"periodSeconds\":10},\"securityContext\":{\"runAsUser\":0,"
		      "\"allowPrivilegeEscalation\":false}}],\"restartPolicy\":\"Always\","
		      "\"terminationGracePeriodSeconds\":30,\"nodeSelector\":{\"disk\":\"ssd\"},"
		      "\"tolerations\":[{\"key\":\"node.kubernetes.io/not-ready\",\"operator\":"
		      "\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":300}]},"
		      "\"status\":{\"phase\":\"Pending\"}}");
}

TEST(protobuf_delete_options_keep_pointer_zeros)
{
	struct pbw raw = {.n = 0}, pre = {.n = 0}, body;
	w_int(&raw, 1, 0);
	w_str(&pre, 1, "u-1");
	w_msg(&raw, 2, &pre);
	w_str(&raw, 4, "Foreground");
	w_str(&raw, 5, "All");
	w_envelope(&body, "apps/v1", "DeleteOptions", &raw);
	CHECK_DECODES(&body, "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"apps/v1\","
			     "\"gracePeriodSeconds\":0,\"preconditions\":{\"uid\":\"u-1\"},"
			     "\"propagationPolicy\":\"Foreground\",\"dryRun\":[\"All\"]}");
}

TEST(protobuf_a_message_seen_twice_merges_and_the_last_scalar_wins)
{
	/* a message field seen twice merges; the last scalar wins */
	struct pbw raw = {.n = 0}, m1 = {.n = 0}, m2 = {.n = 0}, body;
	w_str(&m1, 1, "a");
	w_map(&m1, 11, "x", "1");
	w_str(&m2, 1, "b");
	w_map(&m2, 11, "y", "2");
	w_msg(&raw, 1, &m1);
	w_msg(&raw, 1, &m2);
	w_envelope(&body, "v1", "Namespace", &raw);
	CHECK_DECODES(&body, "{\"kind\":\"Namespace\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":"
			     "\"b\",\"creationTimestamp\":null,\"labels\":{\"x\":\"1\",\"y\":\"2\"}},"
			     "\"spec\":{},\"status\":{}}");
}

/* ---- refusals ------------------------------------------------------------------------------- */

TEST(protobuf_unknown_field_numbers_are_refused_by_message_and_number)
{
	struct pbw raw = {.n = 0}, spec = {.n = 0}, c = {.n = 0}, body;
	w_str(&c, 1, "web");
	w_int(&c, 99, 1);
	w_msg(&spec, 2, &c);
	w_msg(&raw, 2, &spec);
	w_envelope(&body, "v1", "Pod", &raw);
	CHECK_REFUSED(body.b, body.n, -EINVAL, "unknown field number 99 in message Container");
	/* a field number since removed from ObjectMeta (clusterName) */
	struct pbw meta = {.n = 0};
	raw.n = 0;
	w_str(&meta, 15, "old");
	w_msg(&raw, 1, &meta);
	w_envelope(&body, "v1", "Namespace", &raw);
	CHECK_REFUSED(body.b, body.n, -EINVAL, "unknown field number 15 in message ObjectMeta");
}

TEST(protobuf_malformed_bodies_are_refused)
{
	struct pbw raw = {.n = 0}, meta = {.n = 0}, body;
	CHECK_REFUSED("k8s", 3, -EINVAL, "not a Kubernetes protobuf object");
	CHECK_REFUSED("{\"kind\":\"Pod\"}", 14, -EINVAL, "not a Kubernetes protobuf object");
	/* a wrong wire type for a string */
	w_int(&meta, 1, 5);
	w_msg(&raw, 1, &meta);
	w_envelope(&body, "v1", "Namespace", &raw);
	CHECK_REFUSED(body.b, body.n, -EINVAL, "field 1 (name) of ObjectMeta has wire type 0");
	/* invalid UTF-8 */
	raw.n = meta.n = 0;
	w_str(&meta, 1, "\xff\xfe");
	w_msg(&raw, 1, &meta);
	w_envelope(&body, "v1", "Namespace", &raw);
	CHECK_REFUSED(body.b, body.n, -EINVAL, "not valid UTF-8");
	/* a NUL, which JSON bodies cannot carry either */
	raw.n = meta.n = 0;
	w_bytes(&meta, 1, "a\0b", 3);
	w_msg(&raw, 1, &meta);
	w_envelope(&body, "v1", "Namespace", &raw);
	CHECK_REFUSED(body.b, body.n, -EINVAL, "name contains a NUL byte");
	/* an int32 out of range */
	struct pbw spec = {.n = 0};
	raw.n = 0;
	w_int(&spec, 1, 1LL << 40);
	w_msg(&raw, 2, &spec);
	w_envelope(&body, "apps/v1", "Deployment", &raw);
	CHECK_REFUSED(body.b, body.n, -EINVAL, "replicas is out of range");
	/* a length past the end, a truncated varint, a group */
	static const uint8_t trunc[] = {'k', '8', 's', 0, 0x0a, 0x0f, 0x0a, 0x02, 'v', '1', 0x12,
					0x09, 'N', 'a', 'm', 'e', 's', 'p', 'a', 'c', 'e',
					0x12, 0x04, 0x0a, 0x05, 0x0a, 0x01};
	CHECK_REFUSED(trunc, sizeof(trunc), -EINVAL, "Namespace is malformed");
	static const uint8_t group[] = {'k', '8', 's', 0, 0x0a, 0x0f, 0x0a, 0x02, 'v', '1', 0x12,
					0x09, 'N', 'a', 'm', 'e', 's', 'p', 'a', 'c', 'e',
					0x12, 0x01, 0x0b};
	CHECK_REFUSED(group, sizeof(group), -EINVAL, "Namespace is malformed");
	/* a bad time, IntOrString type 2, FieldsV1 that is not JSON */
	struct pbw ts = {.n = 0};
	raw.n = meta.n = 0;
	w_int(&ts, 2, 2000000000);
	w_msg(&meta, 8, &ts);
	w_msg(&raw, 1, &meta);
	w_envelope(&body, "v1", "Namespace", &raw);
	CHECK_REFUSED(body.b, body.n, -EINVAL, "Time is malformed or out of range");
}

TEST(protobuf_kinds_and_encodings_we_do_not_read_get_415)
{
	struct pbw raw = {.n = 0}, body;
	w_envelope(&body, "v1", "ConfigMap", &raw);
	CHECK_REFUSED(body.b, body.n, -ENOTSUP, "not ConfigMap (v1); send application/json");
	w_envelope(&body, "extensions/v1beta1", "Deployment", &raw);
	CHECK_REFUSED(body.b, body.n, -ENOTSUP, "not Deployment (extensions/v1beta1)");
	struct pbw tm = {.n = 0};
	memcpy(body.b, "k8s", 4);
	body.n = 4;
	w_str(&tm, 1, "v1");
	w_str(&tm, 2, "Namespace");
	w_msg(&body, 1, &tm);
	w_msg(&body, 2, &raw);
	w_str(&body, 3, "gzip");
	CHECK_REFUSED(body.b, body.n, -ENOTSUP, "encoded in a way we do not read");
}

TEST(protobuf_every_prefix_and_bit_flip_of_a_pod_is_handled)
{
	/* under ASan this checks no read past the end and no leak */
	struct pbw raw = {.n = 0}, spec = {.n = 0}, body;
	w_pod_meta(&raw);
	w_pod_container(&spec);
	w_msg(&raw, 2, &spec);
	w_envelope(&body, "v1", "Pod", &raw);
	for (size_t n = 0; n <= body.n; n++) {
		json_t *obj = NULL;
		char *err = NULL;
		int r = api_protobuf_decode(body.b, n, &obj, &err);
		CHECK(r == 0 ? obj && !err : !obj && err);
		json_decref(obj);
		free(err);
	}
	for (size_t i = 4; i < body.n * 8; i += 3) {
		struct pbw b = body;
		json_t *obj = NULL;
		char *err = NULL;
		b.b[i / 8] ^= (uint8_t)(1u << (i % 8));
		int r = api_protobuf_decode(b.b, b.n, &obj, &err);
		CHECK(r == 0 ? obj && !err : !obj && err);
		json_decref(obj);
		free(err);
	}
}
