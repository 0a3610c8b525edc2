/* kubelet.c: the node agent of the lab. Each pass makes the lab's pods and
 * Services what the store says (creating, deleting, adopting) and writes the
 * pods' status back: phase, podIP, Ready, containerStatuses and the
 * netpol.io/interface annotation the policy agent needs. */
#include "kubelet_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HOST_IP "203.0.113.2"   /* the node's address toward the world */
/* Calico's pod IP request, honoured so that tests can pin addresses. */
#define DAEMON_ANN_IPADDRS "cni.projectcalico.org/ipAddrs"

void klog(struct kubelet *k, enum api_log_level level, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	if (!k->log)
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) >= 0)
		k->log(k->log_ctx, level, msg);
	va_end(ap);
	free(msg);
}

struct kpod *kpod_find(struct kubelet *k, const char *ns, const char *name)
{
	for (struct kpod *p = k->pods; p; p = p->next)
		if (!strcmp(p->ns, ns) && !strcmp(p->name, name))
			return p;
	return NULL;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* ---- pod specs ------------------------------------------------------------ */

/* A JSON array of strings as a NULL-terminated vector (NULL when absent). */
static char **strv_from(json_t *arr, size_t extra_cap)
{
	if (!json_is_array(arr) && !extra_cap)
		return NULL;
	size_t n = json_array_size(arr), i;
	char **v = calloc(n + extra_cap + 1, sizeof(*v));
	json_t *s;
	json_array_foreach(arr, i, s)
		if (v && !(v[i] = strdup(json_string_value(s) ? json_string_value(s) : "")))
			return strv_free(v), NULL;
	return v;
}

static enum lab_restart restart_policy(json_t *pod)
{
	const char *r = jstr(pod, "spec", "restartPolicy", NULL);
	if (r && !strcmp(r, "Never"))
		return LAB_RESTART_NEVER;
	if (r && !strcmp(r, "OnFailure"))
		return LAB_RESTART_ON_FAILURE;
	return LAB_RESTART_ALWAYS;
}

struct spec_buf {
	struct lab_container *cs;
	char ***vecs;           /* command/args vectors to free */
	size_t n_vecs;
	uint16_t **ports;
	size_t n;
};

static void spec_buf_clear(struct spec_buf *b)
{
	for (size_t i = 0; i < b->n_vecs; i++)
		strv_free(b->vecs[i]);
	for (size_t i = 0; i < b->n; i++)
		free(b->ports[i]);
	free(b->vecs);
	free(b->ports);
	free(b->cs);
}

static int build_spec(json_t *pod, struct kpod *kp, struct lab_pod_spec *spec,
		      struct spec_buf *b)
{
	json_t *ctrs = jget(pod, "spec", "containers", NULL), *c;
	size_t i, j;
	memset(b, 0, sizeof(*b));
	b->n = json_array_size(ctrs);
	b->cs = calloc(b->n ? b->n : 1, sizeof(*b->cs));
	b->ports = calloc(b->n ? b->n : 1, sizeof(*b->ports));
	b->vecs = calloc(2 * b->n + 1, sizeof(*b->vecs));
	if (!b->cs || !b->ports || !b->vecs)
		return -ENOMEM;
	json_array_foreach(ctrs, i, c) {
		struct lab_container *lc = &b->cs[i];
		json_t *ports = json_object_get(c, "ports"), *p;
		lc->name = jstr(c, "name", NULL);
		lc->image = jstr(c, "image", NULL);
		/* stdin: true is the container's own stdin, kept by the lab
		 * for attach (whatever the image does with it) */
		lc->open_stdin = json_is_true(json_object_get(c, "stdin"));
		lc->tty = json_is_true(json_object_get(c, "tty"));
		char **cmd = strv_from(json_object_get(c, "command"), 0);
		char **args = strv_from(json_object_get(c, "args"), 0);
		b->vecs[b->n_vecs++] = cmd;
		b->vecs[b->n_vecs++] = args;
		lc->command = (const char *const *)cmd;
		lc->args = (const char *const *)args;
		b->ports[i] = calloc(json_array_size(ports) + 1, sizeof(uint16_t));
		if (!b->ports[i])
			return -ENOMEM;
		json_array_foreach(ports, j, p) {
			const char *proto = jstr(p, "protocol", NULL);
			/* readiness waits for TCP listeners only */
			if (proto && strcmp(proto, "TCP") != 0)
				continue;
			b->ports[i][lc->n_ports++] =
				(uint16_t)json_integer_value(json_object_get(p, "containerPort"));
		}
		lc->ports = b->ports[i];
	}
	*spec = (struct lab_pod_spec){.ns = kp->ns, .name = kp->name,
				      .restart = restart_policy(pod), .containers = b->cs,
				      .n_containers = b->n};
	return 0;
}

/* ---- pod lifecycle --------------------------------------------------------- */

static void set_failure(struct kpod *kp, const char *reason, struct diag_list *dl, int err)
{
	free(kp->reason);
	free(kp->message);
	kp->reason = strdup(reason);
	kp->message = dl->n ? strdup(dl->items[0].msg) : strdup(strerror(-err));
}

/* The node side of the pod's veth, from the pod.json the lab keeps beside
 * the pod's logs (lab.h has no accessor for it yet). */
static void read_ifname(struct kpod *kp)
{
	const char *log = lab_pod_log_path(kp->lp, NULL);
	const char *slash = log ? strrchr(log, '/') : NULL;
	char path[4096];
	if (!slash)
		return;
	snprintf(path, sizeof(path), "%.*s/pod.json", (int)(slash - log), log);
	json_t *j = json_load_file(path, 0, NULL);
	const char *ifname = jstr(j, "ifname", NULL);
	if (ifname)
		snprintf(kp->ifname, sizeof(kp->ifname), "%s", ifname);
	json_decref(j);
}

/* Calico's way to ask for a pod address: the annotation holds a JSON list
 * with one IPv4 address (the lab has no pod IPv6). Returns 0 with *ip
 * pointing into *arr, the parsed list the caller frees (NULL when there is
 * no annotation), or -EINVAL
 * with msg saying why the request cannot be met. The address must also be
 * free in the lab's IPAM: tried here (and given back at once) so that the
 * pod fails with a message naming the address, not as an image error. */
static int requested_ip(struct kubelet *k, json_t *pod, json_t **arr, const char **ip,
			char *msg, size_t len)
{
	const char *text = annotation(pod, DAEMON_ANN_IPADDRS);
	struct in_addr a;
	int err;
	*ip = NULL;
	if (!text)
		return 0;
	*arr = json_loads(text, JSON_DECODE_ANY, NULL);
	const char *s = json_string_value(json_array_get(*arr, 0));
	if (!json_is_array(*arr) || json_array_size(*arr) != 1 || !s ||
	    inet_pton(AF_INET, s, &a) != 1) {
		snprintf(msg, len, "annotation %s: want a list of one IPv4 address, like "
			 "'[\"198.18.1.1\"]', got '%s'", DAEMON_ANN_IPADDRS, text);
		return -EINVAL;
	}
	err = lab_ipam_reserve(lab_ipam(k->lab), s);
	if (err < 0) {
		snprintf(msg, len, "annotation %s: address %s %s", DAEMON_ANN_IPADDRS, s,
			 err == -EEXIST ? "is already in use" : "is not in the pod range " LAB_POD_CIDR);
		return -EINVAL;
	}
	lab_ipam_release(lab_ipam(k->lab), s);
	*ip = s;
	return 0;
}

static void start_pod(struct kubelet *k, struct kpod *kp, json_t *pod)
{
	struct diag_list dl = {0};
	struct lab_pod_spec spec;
	struct spec_buf b;
	json_t *ips = NULL;
	const char *ip = NULL;
	char msg[300];
	int err;
	daemon_now(kp->start_time, sizeof(kp->start_time));
	kp->lp = lab_pod_find(k->lab, kp->ns, kp->name);
	if (kp->lp) {
		klog(k, API_LOG_INFO, "adopted pod %s/%s", kp->ns, kp->name);
		read_ifname(kp);
		return;
	}
	if (kp->dns) {
		err = lab_dns_create(k->lab, kp->name, &kp->lp, &dl);
	} else if (requested_ip(k, pod, &ips, &ip, msg, sizeof(msg)) < 0) {
		free(kp->reason);
		free(kp->message);
		kp->reason = strdup("FailedCreatePodSandBox");
		kp->message = strdup(msg);
		klog(k, API_LOG_WARNING, "pod %s/%s: %s", kp->ns, kp->name, msg);
		json_decref(ips);
		return;
	} else {
		err = build_spec(pod, kp, &spec, &b);
		if (err == 0) {
			spec.ip = ip;
			err = lab_pod_create(k->lab, &spec, &kp->lp, &dl);
		}
		spec_buf_clear(&b);
	}
	json_decref(ips);
	if (err < 0) {
		set_failure(kp, err == -EINVAL ? "ErrImagePull" : "CreateContainerError", &dl, err);
		klog(k, API_LOG_WARNING, "pod %s/%s: %s", kp->ns, kp->name, kp->message);
		diag_list_clear(&dl);
		return;
	}
	diag_list_clear(&dl);
	read_ifname(kp);
}

/* delete_lab false: the caller removes the whole lab at once. */
static void kpod_free(struct kubelet *k, struct kpod *kp, bool delete_lab)
{
	for (size_t i = 0; i < kp->n_execs; i++)
		kill(-kp->execs[i], SIGKILL);
	if (kp->lp && delete_lab)
		lab_pod_delete(k->lab, kp->lp);
	free(kp->ns);
	free(kp->name);
	free(kp->uid);
	free(kp->reason);
	free(kp->message);
	free(kp->execs);
	free(kp);
}

static struct kpod *kpod_new(json_t *pod)
{
	struct kpod *kp = calloc(1, sizeof(*kp));
	const char *addon = annotation(pod, DAEMON_ANN_ADDON);
	if (!kp)
		return NULL;
	kp->ns = strdup(meta_ns(pod));
	kp->name = strdup(meta_name(pod));
	kp->uid = strdup(meta_uid(pod) ? meta_uid(pod) : "");
	kp->dns = addon && !strcmp(addon, "kube-dns") && !strcmp(kp->ns, "kube-system");
	if (!kp->ns || !kp->name || !kp->uid) {
		free(kp->ns);
		free(kp->name);
		free(kp->uid);
		free(kp);
		return NULL;
	}
	return kp;
}

static json_t *find_pod(json_t *pods, const char *ns, const char *name)
{
	size_t i;
	json_t *p;
	json_array_foreach(pods, i, p)
		if (!strcmp(meta_ns(p), ns) && !strcmp(meta_name(p), name))
			return p;
	return NULL;
}

/* Pods gone from the store (or replaced by one of the same name) leave the
 * lab. Called with k->mu held; lab_pod_delete may wait for a grace period. */
static void delete_stale(struct kubelet *k, json_t *pods)
{
	struct kpod **pp = &k->pods;
	while (*pp) {
		struct kpod *kp = *pp;
		json_t *p = find_pod(pods, kp->ns, kp->name);
		const char *uid = p ? meta_uid(p) : NULL;
		if (p && uid && !strcmp(uid, kp->uid)) {
			pp = &kp->next;
			continue;
		}
		*pp = kp->next;
		klog(k, API_LOG_INFO, "deleting pod %s/%s", kp->ns, kp->name);
		kpod_free(k, kp, true);
	}
}

/* ---- pod status ----------------------------------------------------------- */

struct pod_view {
	struct kubelet *k;
	struct kpod *kp;
	bool ready;
	const char *phase;
	bool running;
	int restarts;
	int exit_code;
};

static json_t *condition(const char *type, bool status, const char *since)
{
	return json_pack("{s:s, s:s, s:n, s:s}", "type", type, "status", status ? "True" : "False",
			 "lastProbeTime", "lastTransitionTime", since);
}

static json_t *container_state(const struct pod_view *v)
{
	const struct kpod *kp = v->kp;
	if (!kp->lp)
		return json_pack("{s:{s:s, s:s}}", "waiting", "reason", kp->reason ? kp->reason : "",
				 "message", kp->message ? kp->message : "");
	if (v->running)
		return json_pack("{s:{s:s}}", "running", "startedAt", kp->start_time);
	if (!strcmp(v->phase, "Running"))
		return json_pack("{s:{s:s}}", "waiting", "reason", "CrashLoopBackOff");
	return json_pack("{s:{s:i, s:s, s:s}}", "terminated", "exitCode", v->exit_code, "reason",
			 v->exit_code ? "Error" : "Completed", "startedAt", kp->start_time);
}

static json_t *container_statuses(json_t *pod, const struct pod_view *v)
{
	json_t *out = json_array(), *c;
	size_t i;
	json_array_foreach(jget(pod, "spec", "containers", NULL), i, c) {
		const char *name = jstr(c, "name", NULL), *image = jstr(c, "image", NULL);
		char id[600];
		snprintf(id, sizeof(id), "netpol://%s/%s/%s", v->kp->ns, v->kp->name,
			 name ? name : "");
		json_t *cs = json_pack("{s:s, s:o, s:b, s:i, s:s, s:s, s:b}", "name", name ? name : "",
				       "state", container_state(v), "ready", v->ready,
				       "restartCount", i == 0 ? v->restarts : 0, "image",
				       image ? image : "", "imageID", "", "started", v->running);
		if (v->kp->lp)
			json_object_set_new(cs, "containerID", json_string(id));
		json_array_append_new(out, cs);
	}
	return out;
}

static json_t *pod_status(json_t *pod, const struct pod_view *v)
{
	const struct kpod *kp = v->kp;
	const char *since = kp->ready_time[0] ? kp->ready_time : kp->start_time;
	json_t *st = json_pack("{s:s, s:[o, o, o, o], s:s, s:o, s:s, s:s}", "phase", v->phase,
			       "conditions",
			       condition("Initialized", true, kp->start_time),
			       condition("Ready", v->ready, since),
			       condition("ContainersReady", v->ready, since),
			       condition("PodScheduled", true, kp->start_time),
			       "hostIP", HOST_IP, "containerStatuses", container_statuses(pod, v),
			       "qosClass", "BestEffort", "startTime", kp->start_time);
	if (kp->lp) {
		json_object_set_new(st, "podIP", json_string(lab_pod_ip(kp->lp)));
		json_object_set_new(st, "podIPs", json_pack("[{s:s}]", "ip", lab_pod_ip(kp->lp)));
	}
	return st;
}

static int write_pod(json_t *obj, void *ctx)
{
	const struct pod_view *v = ctx;
	json_t *meta = json_object_get(obj, "metadata"), *spec = json_object_get(obj, "spec");
	if (!json_is_object(meta) || !json_is_object(spec))
		return -EINVAL;
	const char *uid = meta_uid(obj);
	if (!uid || strcmp(uid, v->kp->uid) != 0)
		return -ESTALE;  /* replaced meanwhile: the next pass handles it */
	json_object_set_new(spec, "nodeName", json_string(lab_name(v->k->lab)));
	if (v->kp->lp) {
		json_t *ann = json_object_get(meta, "annotations");
		if (!json_is_object(ann)) {
			ann = json_object();
			json_object_set_new(meta, "annotations", ann);
		}
		if (v->kp->ifname[0])
			json_object_set_new(ann, DAEMON_ANN_INTERFACE, json_string(v->kp->ifname));
	}
	json_object_set_new(obj, "status", pod_status(obj, v));
	return 0;
}

static void view_pod(struct kubelet *k, struct kpod *kp, json_t *pod, bool agent,
		     struct pod_view *v)
{
	struct lab_pod_status st = {0};
	*v = (struct pod_view){.k = k, .kp = kp, .phase = "Pending"};
	if (!kp->lp)
		return;
	lab_pod_status(kp->lp, &st);
	v->restarts = st.restarts;
	v->running = st.phase == LAB_PHASE_RUNNING && lab_pod_pid(kp->lp, NULL) > 0;
	v->phase = st.phase == LAB_PHASE_SUCCEEDED ? "Succeeded"
		 : st.phase == LAB_PHASE_FAILED ? "Failed" : "Running";
	bool ok = st.ready;
	v->exit_code = st.exit_code;
	if (agent) {
		const char *dp = annotation(pod, DAEMON_ANN_DATAPLANE);
		ok = ok && dp && !strcmp(dp, "programmed");
	}
	v->ready = ok;
	if (ok != kp->ready) {
		kp->ready = ok;
		daemon_now(kp->ready_time, sizeof(kp->ready_time));
	}
}

/* Writes the status only when it differs from the stored one. */
static void update_status(struct kubelet *k, struct kpod *kp, json_t *pod, bool agent)
{
	struct pod_view v;
	view_pod(k, kp, pod, agent, &v);
	json_t *want = json_deep_copy(pod);
	if (!want || write_pod(want, &v) < 0 || json_equal(want, pod)) {
		json_decref(want);
		return;
	}
	json_decref(want);
	int err = store_modify(k->store, STORE_PODS, kp->ns, kp->name, write_pod, &v, 0, NULL);
	if (err < 0 && err != -ENOENT && err != -ESTALE)
		klog(k, API_LOG_WARNING, "pod %s/%s: writing status: %s", kp->ns, kp->name,
		     strerror(-err));
}

static int sync_pods(struct kubelet *k, json_t *pods, bool agent, bool may_start)
{
	int delay = -1;
	size_t i;
	json_t *p;
	delete_stale(k, pods);
	json_array_foreach(pods, i, p) {
		struct kpod *kp = kpod_find(k, meta_ns(p), meta_name(p));
		if (!kp) {
			if (!may_start) {
				delay = 100;
				continue;
			}
			if (!(kp = kpod_new(p)))
				continue;
			kp->next = k->pods;
			k->pods = kp;
			start_pod(k, kp, p);
		}
		update_status(k, kp, p, agent);
		if (kp->lp && !kp->ready)
			delay = 50;
	}
	return delay;
}

/* ---- Services ------------------------------------------------------------- */

static uint8_t ip_proto(const char *p)
{
	if (p && !strcmp(p, "UDP"))
		return IPPROTO_UDP;
	if (p && !strcmp(p, "SCTP"))
		return IPPROTO_SCTP;
	return IPPROTO_TCP;
}

/* The target port of service port sp: from the Endpoints (where named
 * ports were resolved per pod), else the numeric targetPort, else port. */
static uint16_t target_port(json_t *sp, json_t *eps)
{
	const char *name = jstr(sp, "name", NULL), *proto = jstr(sp, "protocol", NULL);
	json_t *tp = json_object_get(sp, "targetPort"), *ep;
	size_t i;
	json_array_foreach(jget(eps, "subsets", NULL) ? json_object_get(json_array_get(
				   json_object_get(eps, "subsets"), 0), "ports") : NULL, i, ep) {
		const char *en = jstr(ep, "name", NULL), *epr = jstr(ep, "protocol", NULL);
		if ((!name || (en && !strcmp(en, name))) &&
		    !strcmp(epr ? epr : "TCP", proto ? proto : "TCP"))
			return (uint16_t)json_integer_value(json_object_get(ep, "port"));
	}
	if (json_is_integer(tp))
		return (uint16_t)json_integer_value(tp);
	return (uint16_t)json_integer_value(json_object_get(sp, "port"));
}

struct svc_buf {
	struct lab_service_port ports[64];
	const char *eps[1024];
};

static char *svc_build(json_t *svc, json_t *eps, struct lab_service_spec *spec,
		       struct svc_buf *b)
{
	json_t *sp, *sub, *a;
	size_t i, j;
	*spec = (struct lab_service_spec){.ns = meta_ns(svc), .name = meta_name(svc),
					  .cluster_ip = jstr(svc, "spec", "clusterIP", NULL),
					  .ports = b->ports, .endpoints = b->eps};
	json_array_foreach(jget(svc, "spec", "ports", NULL), i, sp) {
		if (spec->n_ports == 64)
			break;
		b->ports[spec->n_ports++] = (struct lab_service_port){
			ip_proto(jstr(sp, "protocol", NULL)),
			(uint16_t)json_integer_value(json_object_get(sp, "port")),
			target_port(sp, eps)};
	}
	json_array_foreach(json_object_get(eps, "subsets"), i, sub)
		json_array_foreach(json_object_get(sub, "addresses"), j, a)
			if (spec->n_endpoints < 1024 && jstr(a, "ip", NULL))
				b->eps[spec->n_endpoints++] = jstr(a, "ip", NULL);
	/* a fingerprint, to apply only what changed */
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	fprintf(f, "%s", spec->cluster_ip);
	for (i = 0; i < spec->n_ports; i++)
		fprintf(f, " %u/%u/%u", b->ports[i].protocol, b->ports[i].port, b->ports[i].target_port);
	for (i = 0; i < spec->n_endpoints; i++)
		fprintf(f, " %s", b->eps[i]);
	fclose(f);
	return text;
}

static struct ksvc **ksvc_find(struct kubelet *k, const char *ns, const char *name)
{
	struct ksvc **pp = &k->svcs;
	for (; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->ns, ns) && !strcmp((*pp)->name, name))
			break;
	return pp;
}

static void ksvc_free(struct ksvc *s)
{
	free(s->ns);
	free(s->name);
	free(s->applied);
	free(s);
}

static void apply_service(struct kubelet *k, json_t *svc, json_t *eps)
{
	struct lab_service_spec spec;
	struct svc_buf *b = calloc(1, sizeof(*b));
	char *text = b ? svc_build(svc, eps, &spec, b) : NULL;
	struct ksvc **pp = ksvc_find(k, meta_ns(svc), meta_name(svc));
	if (text && (!*pp || strcmp((*pp)->applied, text) != 0)) {
		struct diag_list dl = {0};
		int err = lab_service_apply(k->lab, &spec, NULL, &dl);
		if (err < 0) {
			klog(k, API_LOG_WARNING, "service %s/%s: %s", spec.ns, spec.name,
			     dl.n ? dl.items[0].msg : strerror(-err));
		} else if (*pp) {
			free((*pp)->applied);
			(*pp)->applied = text;
			text = NULL;
		} else if ((*pp = calloc(1, sizeof(**pp)))) {
			(*pp)->ns = strdup(spec.ns);
			(*pp)->name = strdup(spec.name);
			(*pp)->applied = text;
			text = NULL;
		}
		diag_list_clear(&dl);
	}
	free(text);
	free(b);
}

static void sync_services(struct kubelet *k)
{
	json_t *svcs = NULL, *eps = NULL, *s;
	size_t i;
	if (store_list(k->store, STORE_SERVICES, NULL, &svcs, NULL) < 0 ||
	    store_list(k->store, STORE_ENDPOINTS, NULL, &eps, NULL) < 0)
		goto cleanup;
	json_array_foreach(svcs, i, s) {
		const char *ip = jstr(s, "spec", "clusterIP", NULL);
		if (ip && *ip && strcmp(ip, "None") != 0)
			apply_service(k, s, find_pod(eps, meta_ns(s), meta_name(s)));
	}
	for (struct ksvc **pp = &k->svcs; *pp;) {
		struct ksvc *ks = *pp;
		json_t *svc = find_pod(svcs, ks->ns, ks->name);
		if (svc) {
			pp = &ks->next;
			continue;
		}
		lab_service_delete(k->lab, ks->ns, ks->name);
		*pp = ks->next;
		ksvc_free(ks);
	}
cleanup:
	json_decref(svcs);
	json_decref(eps);
}

/* ---- the kubelet ---------------------------------------------------------- */

int kubelet_new(struct store *s, struct lab *lab, daemon_log_fn log, void *log_ctx,
		struct kubelet **out)
{
	struct kubelet *k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	pthread_mutex_init(&k->mu, NULL);
	pthread_cond_init(&k->idle, NULL);
	k->store = s;
	k->lab = lab;
	k->log = log;
	k->log_ctx = log_ctx;
	streams_init(k);
	*out = k;
	return 0;
}

int kubelet_sync(struct kubelet *k, bool agent, bool agent_ready)
{
	json_t *pods = NULL;
	int delay = -1;
	pthread_mutex_lock(&k->mu);
	lab_reap(k->lab);
	if (store_list(k->store, STORE_PODS, NULL, &pods, NULL) == 0)
		delay = sync_pods(k, pods, agent, !agent || agent_ready);
	sync_services(k);
	pthread_mutex_unlock(&k->mu);
	json_decref(pods);
	return delay;
}

const struct api_pod_streams *kubelet_streams(struct kubelet *k)
{
	return &k->ops;
}

void kubelet_free(struct kubelet *k)
{
	if (!k)
		return;
	pthread_mutex_lock(&k->mu);
	__atomic_store_n(&k->stopping, 1, __ATOMIC_RELAXED);
	while (k->pods) {
		struct kpod *kp = k->pods;
		k->pods = kp->next;
		kpod_free(k, kp, false);
	}
	while (k->svcs) {
		struct ksvc *s = k->svcs;
		k->svcs = s->next;
		ksvc_free(s);
	}
	/* with their pods gone, sessions end within a poll or two */
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	while (k->sessions > 0 && pthread_cond_timedwait(&k->idle, &k->mu, &until) == 0)
		;
	bool busy = k->sessions > 0;
	pthread_mutex_unlock(&k->mu);
	if (busy)
		return;  /* a session still runs: leaking k beats freeing it under it */
	pthread_cond_destroy(&k->idle);
	pthread_mutex_destroy(&k->mu);
	free(k);
}
