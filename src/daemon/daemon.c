/* daemon.c: the daemon's loop. Every pass runs the controllers until the
 * store converges, then the kubelet; passes run when the store changed
 * (a watch on every resource), when the kubelet asked for one (a pod not
 * ready yet), when the agent exits (its pidfd) and once a second anyway. */
#include "kubelet_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LAB "netpol"
#define IDLE_PASS_MS 1000
#define MAX_CONTROLLER_ROUNDS 8

struct daemon {
	struct store *store;
	struct lab *lab;
	struct kubelet *kubelet;
	struct agent *agent;
	struct store_watch *watch;
	daemon_log_fn log;
	void *log_ctx;
	bool controllers;
};

static void dlog(struct daemon *d, enum api_log_level l, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void dlog(struct daemon *d, enum api_log_level l, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	if (!d->log)
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) >= 0)
		d->log(d->log_ctx, l, msg);
	va_end(ap);
	free(msg);
}

static int create_if_missing(struct store *s, enum store_resource r, json_t *obj)
{
	int ret = obj ? store_create(s, r, obj, 0, NULL) : -ENOMEM;
	json_decref(obj);
	return ret == -EEXIST ? 0 : ret;
}

/* The cluster DNS add-on, as objects: the kubelet runs the pod with
 * lab_dns_create (dnsmasq reading the lab's Service records). */
static int ensure_dns_objects(struct store *s)
{
	json_t *dep = json_pack(
		"{s:s, s:s, s:{s:s, s:s, s:{s:s}},"
		" s:{s:i, s:{s:{s:s}}, s:{s:{s:{s:s}, s:{s:s}},"
		"    s:{s:[{s:s, s:s, s:[{s:s, s:i, s:s}, {s:s, s:i, s:s}]}]}}}}",
		"apiVersion", "apps/v1", "kind", "Deployment",
		"metadata", "name", "kube-dns", "namespace", "kube-system",
		"labels", "k8s-app", "kube-dns",
		"spec", "replicas", 1, "selector", "matchLabels", "k8s-app", "kube-dns",
		"template", "metadata", "labels", "k8s-app", "kube-dns",
		"annotations", DAEMON_ANN_ADDON, "kube-dns",
		"spec", "containers", "name", "dnsmasq", "image", "dnsmasq",
		"ports", "name", "dns", "containerPort", 53, "protocol", "UDP",
		"name", "dns-tcp", "containerPort", 53, "protocol", "TCP");
	json_t *svc = json_pack(
		"{s:s, s:s, s:{s:s, s:s, s:{s:s}},"
		" s:{s:s, s:[s], s:{s:s}, s:[{s:s, s:i, s:s, s:i}, {s:s, s:i, s:s, s:i}]}}",
		"apiVersion", "v1", "kind", "Service",
		"metadata", "name", "kube-dns", "namespace", "kube-system",
		"labels", "k8s-app", "kube-dns",
		"spec", "clusterIP", DAEMON_DNS_IP, "clusterIPs", DAEMON_DNS_IP,
		"selector", "k8s-app", "kube-dns",
		"ports", "name", "dns", "port", 53, "protocol", "UDP", "targetPort", 53,
		"name", "dns-tcp", "port", 53, "protocol", "TCP", "targetPort", 53);
	int ret = create_if_missing(s, STORE_DEPLOYMENTS, dep);
	int ret2 = create_if_missing(s, STORE_SERVICES, svc);
	return ret < 0 ? ret : ret2;
}

static int start_node(struct daemon *d, const struct daemon_options *o)
{
	struct lab_opts lo = {.adopt = true};
	struct diag_list dl = {0};
	const char *name = o->lab ? o->lab : DEFAULT_LAB;
	int err = lab_node_create(name, &lo, &d->lab, &dl);
	if (err == 0) {
		err = lab_world_create(d->lab, &dl);
		if (err == -EEXIST)
			err = 0;  /* adopted with the lab */
	}
	if (err < 0) {
		dlog(d, API_LOG_ERROR, "lab %s: %s; running without a node (pods stay Pending)",
		     name, dl.n ? dl.items[0].msg : strerror(-err));
		lab_destroy(d->lab);
		d->lab = NULL;
		diag_list_clear(&dl);
		return 0;
	}
	diag_list_clear(&dl);
	dlog(d, API_LOG_INFO, "lab %s: node %s", name, lab_node_netns(d->lab));
	if ((err = kubelet_new(d->store, d->lab, d->log, d->log_ctx, &d->kubelet)) < 0)
		return err;
	if (o->agent && !(d->agent = agent_new(name, o->socket, d->log, d->log_ctx)))
		return -ENOMEM;
	return ensure_dns_objects(d->store);
}

static int open_watch(struct daemon *d)
{
	struct store_watch_options wo = {.from_rv = store_revision(d->store)};
	store_watch_close(d->watch);
	d->watch = NULL;
	return store_watch_open(d->store, &wo, &d->watch);
}

int daemon_new(const struct daemon_options *o, struct daemon **out, char **err)
{
	struct daemon *d = calloc(1, sizeof(*d));
	int ret;
	*err = NULL;
	if (!d)
		return -ENOMEM;
	d->store = o->store;
	d->log = o->log;
	d->log_ctx = o->log_ctx;
	d->controllers = !o->no_controllers;
	ret = open_watch(d);
	if (ret == 0 && o->node)
		ret = start_node(d, o);
	if (ret < 0) {
		if (asprintf(err, "starting the daemon: %s", strerror(-ret)) < 0)
			*err = NULL;
		daemon_free(d);
		return ret;
	}
	*out = d;
	return 0;
}

const struct api_pod_streams *daemon_streams(struct daemon *d)
{
	return d->kubelet ? kubelet_streams(d->kubelet) : NULL;
}

/* Takes every queued event: they only say "something changed". */
static void drain(struct daemon *d)
{
	struct store_event *ev;
	int ret;
	while ((ret = store_watch_next(d->watch, 0, &ev)) == 0)
		store_event_free(ev);
	if (ret == -ERANGE && open_watch(d) < 0)
		dlog(d, API_LOG_ERROR, "cannot watch the store");
}

static int pass(struct daemon *d)
{
	for (int i = 0; d->controllers && i < MAX_CONTROLLER_ROUNDS; i++) {
		int w = controllers_sync(d->store);
		if (w < 0)
			dlog(d, API_LOG_WARNING, "controllers: %s", strerror(-w));
		if (w <= 0)
			break;
	}
	if (!d->kubelet)
		return -1;
	int agent_delay = agent_tick(d->agent);
	int delay = kubelet_sync(d->kubelet, agent_enabled(d->agent), agent_ready(d->agent));
	return delay < 0 || (agent_delay >= 0 && agent_delay < delay) ? agent_delay : delay;
}

int daemon_run(struct daemon *d, int stop_fd)
{
	for (;;) {
		int delay = pass(d);
		struct pollfd pf[3] = {{.fd = stop_fd, .events = POLLIN},
				       {.fd = d->watch ? store_watch_fd(d->watch) : -1,
					.events = POLLIN},
				       {.fd = agent_fd(d->agent), .events = POLLIN}};
		int r = poll(pf, 3, delay < 0 || delay > IDLE_PASS_MS ? IDLE_PASS_MS : delay);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (pf[0].revents)
			return 0;
		if (pf[1].revents)
			drain(d);
	}
}

void daemon_free(struct daemon *d)
{
	if (!d)
		return;
	agent_free(d->agent);
	kubelet_free(d->kubelet);
	if (d->lab) {
		int err = lab_destroy(d->lab);
		if (err < 0)
			dlog(d, API_LOG_WARNING, "removing the lab: %s", strerror(-err));
	}
	store_watch_close(d->watch);
	free(d);
}
