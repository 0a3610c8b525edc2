/* agent: list/watch threads feed one queue; the main thread applies what
 * arrived to the model, compiles the node's program and commits the
 * difference in one nft transaction.
 *
 * Felix's rules, kept here:
 *   - nothing in the kernel changes until every kind has been listed
 *     (in sync), except creating the table fail-closed when there is none;
 *   - the program depends only on the current model, never on the events
 *     that led to it, so a re-list after 410 Gone is just more events;
 *   - at start the kernel's table is read and converged with the fewest
 *     changes (nft_sync), so a restart opens or closes no flow whose
 *     verdict did not change; at stop the table stays (fail-static).
 * Events that arrive while a transaction commits are batched into the
 * next one.
 */
#include "agent.h"

#include "client/client.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- the event queue ---------------------------------------------------------------- */

struct event {
	enum agent_kind kind;
	char *type;          /* ADDED, MODIFIED, DELETED; "LIST": obj is items */
	json_t *obj;
	double arrived;      /* CLOCK_MONOTONIC seconds */
	struct event *next;
};

struct queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct event *head, **tail;
};

/* Shared with the watch threads. Never freed once they run: they block in
 * a watch until the process exits. */
struct shared {
	struct queue q;
	const struct agent_options *o;
};

struct watcher {
	struct shared *sh;
	enum agent_kind kind;
	struct client *c;
	char rv[64];
	bool gone;           /* the watch said 410: list again */
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void logf_(const struct agent_options *o, enum agent_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void logf_(const struct agent_options *o, enum agent_log_level lvl, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	if (!o->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o->log(o->log_ctx, lvl, msg);
}

static void queue_push(struct queue *q, enum agent_kind k, const char *type, json_t *obj)
{
	struct event *ev = calloc(1, sizeof(*ev));
	if (!ev || !(ev->type = strdup(type))) {
		free(ev);
		return;   /* out of memory: the next re-list repairs it */
	}
	ev->kind = k;
	ev->obj = json_incref(obj);
	ev->arrived = now_s();
	pthread_mutex_lock(&q->mu);
	*q->tail = ev;
	q->tail = &ev->next;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* Everything queued, waiting up to wait_ms for the first. */
static struct event *queue_take(struct queue *q, int wait_ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (long)wait_ms * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&q->mu);
	if (!q->head)
		pthread_cond_timedwait(&q->cv, &q->mu, &until);
	struct event *all = q->head;
	q->head = NULL;
	q->tail = &q->head;
	pthread_mutex_unlock(&q->mu);
	return all;
}

static void event_free(struct event *ev)
{
	json_decref(ev->obj);
	free(ev->type);
	free(ev);
}

/* ---- watch threads ------------------------------------------------------------------- */

static void remember_rv(struct watcher *w, json_t *obj)
{
	const char *rv = json_string_value(
		json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
	if (rv)
		snprintf(w->rv, sizeof(w->rv), "%s", rv);
}

static int on_watch_event(void *ctx, const char *type, json_t *obj)
{
	struct watcher *w = ctx;
	if (*w->sh->o->stop)
		return 1;
	if (!strcmp(type, "ERROR")) {
		/* 410 Expired: our resourceVersion is gone from history */
		w->gone = json_integer_value(json_object_get(obj, "code")) == 410;
		return w->gone ? 2 : 3;
	}
	remember_rv(w, obj);
	if (strcmp(type, "BOOKMARK"))
		queue_push(&w->sh->q, w->kind, type, obj);
	return 0;
}

static int list_once(struct watcher *w)
{
	long status = 0;
	json_t *resp = NULL;
	int err = client_request(w->c, "GET", agent_kind_path(w->kind), NULL, NULL, &status, &resp);
	if (err == 0 && status == 200 && json_is_array(json_object_get(resp, "items"))) {
		remember_rv(w, resp);
		queue_push(&w->sh->q, w->kind, "LIST", json_object_get(resp, "items"));
	} else {
		logf_(w->sh->o, AGENT_LOG_WARNING, "listing %s failed: %s",
		      agent_kind_path(w->kind), err ? strerror(-err) : "unexpected answer");
		err = err ? err : -EPROTO;
	}
	json_decref(resp);
	return err;
}

static void *watch_thread(void *arg)
{
	struct watcher *w = arg;
	char path[256];
	while (!*w->sh->o->stop) {
		if (list_once(w) < 0) {
			usleep(500 * 1000);
			continue;
		}
		w->gone = false;
		while (!*w->sh->o->stop && !w->gone) {
			snprintf(path, sizeof(path), "%s?watch=1&allowWatchBookmarks=true&resourceVersion=%s",
				 agent_kind_path(w->kind), w->rv);
			int r = client_watch(w->c, path, on_watch_event, w);
			if (r == -ERANGE)
				w->gone = true;
			else if (r < 0 || r == 3)
				usleep(300 * 1000);   /* the server went away: watch again */
		}
	}
	return NULL;
}

/* ---- the commit loop ------------------------------------------------------------------ */

struct agent {
	const struct agent_options *o;
	struct agent_cache *cache;
	struct nft_conn *conn;
	struct client *c;             /* the main thread's: annotations */
	struct nft_prog *cur;         /* what the kernel holds (as we made it) */
	struct nft_incr *incr;        /* compiles only what changed since the last */
	bool listed[AGENT_NKINDS];
	bool synced;
	bool dirty;                   /* the last commit failed: retry */
	json_t *patched;              /* "ns/name" annotated programmed */
	FILE *latency;
	double *lat;                  /* latencies of changes that committed */
	size_t nlat, latcap;
};

static void log_diags(struct agent *a, struct diag_list *d)
{
	for (size_t i = 0; i < d->n; i++)
		logf_(a->o, d->items[i].level == DIAG_ERROR ? AGENT_LOG_ERROR : AGENT_LOG_WARNING,
		      "%s", d->items[i].msg);
	diag_list_clear(d);
}

static int compile(struct agent *a, struct nft_prog **out)
{
	struct diag_list d = {0};
	struct nft_endpoint *eps = NULL;
	size_t n = 0;
	struct nft_opts opts = {.pod_ifprefix = a->o->pod_ifprefix ? a->o->pod_ifprefix
								   : AGENT_POD_IFPREFIX};
	int err = agent_cache_endpoints(a->cache, &eps, &n, &d);
	if (!err)
		err = nft_incr_compile(a->incr, agent_cache_engine(a->cache),
				       agent_cache_cluster(a->cache), eps, n, &opts, out, &d);
	log_diags(a, &d);
	free(eps);
	return err;
}

static void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
}

/* Creates the table, fail-closed, when the kernel has none: pod interfaces
 * drop until their program comes. An existing table is left alone until
 * the agent is in sync. */
static int ensure_table(struct agent *a)
{
	struct diag_list d = {0};
	struct nft_prog *have = NULL, *empty = NULL;
	int err = nft_read(a->conn, NULL, &have, &d);
	diag_list_clear(&d);
	if (err == -ENOENT) {
		err = compile(a, &empty);
		if (!err)
			err = nft_sync(a->conn, empty, NULL, &d);
		if (!err)
			logf_(a->o, AGENT_LOG_INFO, "created table inet %s (fail closed)", NFT_TABLE);
		log_diags(a, &d);
	} else if (err == -EINVAL) {
		err = 0;   /* not readable: replaced whole at the first sync */
	}
	nft_prog_free(have);
	nft_prog_free(empty);
	return err;
}

struct judge_ctx {
	struct agent *a;
	struct nft_endpoint *eps;
	size_t neps;
};

static bool is_local(const struct judge_ctx *j, const struct np_pod *pod)
{
	for (size_t i = 0; pod && i < j->neps; i++)
		if (j->eps[i].pod == pod)
			return true;
	return false;
}

/* A flow is cut when this node enforces a direction that now denies it. */
static bool judge_flow(void *ctx, const struct agent_flow *f)
{
	struct judge_ctx *j = ctx;
	struct np_endpoint src = {agent_cache_pod_by_ip(j->a->cache, &f->src), f->src};
	struct np_endpoint dst = {agent_cache_pod_by_ip(j->a->cache, &f->dst), f->dst};
	struct np_verdict v = {0};
	bool cut = false;
	if (!is_local(j, src.pod) && !is_local(j, dst.pod))
		return false;
	if (engine_evaluate(agent_cache_engine(j->a->cache), &src, &dst, f->port, &v) == 0)
		cut = (is_local(j, src.pod) && !v.egress.allowed) ||
		      (is_local(j, dst.pod) && !v.ingress.allowed);
	verdict_clear(&v);
	return cut;
}

static void cut_denied(struct agent *a)
{
	struct judge_ctx j = {a, NULL, 0};
	size_t cut = 0;
	if (agent_cache_endpoints(a->cache, &j.eps, &j.neps, NULL) < 0)
		return;
	int err = agent_ct_cut(a->o->node_netns, judge_flow, &j, &cut);
	if (err < 0)
		logf_(a->o, AGENT_LOG_WARNING, "cutting denied connections: %s", strerror(-err));
	else if (cut)
		logf_(a->o, AGENT_LOG_INFO, "cut %zu denied connection(s)", cut);
	free(j.eps);
}

/* Tells the API which pods' programs are in the kernel (merge PATCH). */
static void annotate(struct agent *a)
{
	struct nft_endpoint *eps = NULL;
	size_t n = 0;
	if (agent_cache_endpoints(a->cache, &eps, &n, NULL) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct np_pod *pod = eps[i].pod;
		char key[600], path[700];
		snprintf(key, sizeof(key), "%s/%s", pod->meta.namespace, pod->meta.name);
		if (agent_pod_programmed(pod) || json_object_get(a->patched, key))
			continue;
		snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s", pod->meta.namespace,
			 pod->meta.name);
		json_t *body = json_pack("{s:{s:{s:s}}}", "metadata", "annotations",
					 AGENT_DP_ANNOTATION, AGENT_DP_PROGRAMMED);
		long status = 0;
		json_t *resp = NULL;
		int err = client_request(a->c, "PATCH", path, body, "application/merge-patch+json",
					 &status, &resp);
		if (err == 0 && status == 200)
			json_object_set_new(a->patched, key, json_true());
		else
			logf_(a->o, AGENT_LOG_WARNING, "annotating %s: %s", key,
			      err ? strerror(-err) : "refused");
		json_decref(body);
		json_decref(resp);
	}
	free(eps);
}

static int commit(struct agent *a, struct nft_delta **applied)
{
	struct diag_list d = {0};
	struct nft_prog *want = NULL;
	struct nft_delta *delta = NULL;
	int err = compile(a, &want);
	if (err < 0)
		goto cleanup;
	if (!a->synced) {
		/* first time: converge with what a previous agent left */
		err = nft_sync(a->conn, want, &delta, &d);
	} else if (!(err = nft_delta_compute(a->cur, want, &delta))) {
		err = nft_apply(a->conn, delta, &d);
		if (err < 0) {
			/* the kernel is not what we thought: converge from it */
			log_diags(a, &d);
			nft_delta_free(delta);
			delta = NULL;
			err = nft_sync(a->conn, want, &delta, &d);
		}
	}
	if (err < 0)
		goto cleanup;
	nft_prog_free(a->cur);
	a->cur = want;
	want = NULL;
	*applied = delta;
	delta = NULL;
cleanup:
	log_diags(a, &d);
	nft_prog_free(want);
	nft_delta_free(delta);
	return err;
}

static void note_latency(struct agent *a, double l, bool changed)
{
	if (a->latency)
		fprintf(a->latency, "%.0f %d\n", l * 1e6, changed);
	if (!changed)
		return;
	if (a->nlat == a->latcap) {
		size_t cap = a->latcap ? a->latcap * 2 : 256;
		double *v = realloc(a->lat, cap * sizeof(*v));
		if (!v)
			return;
		a->lat = v;
		a->latcap = cap;
	}
	a->lat[a->nlat++] = l;
}

/* Applies a batch of events; returns whether the model changed. */
static bool apply_events(struct agent *a, struct event *evs)
{
	struct diag_list d = {0};
	bool changed = false;
	for (struct event *ev = evs; ev; ev = ev->next) {
		int r;
		if (!strcmp(ev->type, "LIST")) {
			r = agent_cache_replace(a->cache, ev->kind, ev->obj, &d);
			a->listed[ev->kind] = true;
		} else {
			r = agent_cache_apply(a->cache, ev->kind, ev->type, ev->obj, &d);
			if (ev->kind == AGENT_PODS && !strcmp(ev->type, "DELETED")) {
				char key[600];
				json_t *m = json_object_get(ev->obj, "metadata");
				snprintf(key, sizeof(key), "%s/%s",
					 json_string_value(json_object_get(m, "namespace")) ?: "",
					 json_string_value(json_object_get(m, "name")) ?: "");
				json_object_del(a->patched, key);
			}
		}
		if (r == -ENOMEM)
			logf_(a->o, AGENT_LOG_ERROR, "out of memory applying an event");
		changed |= r != 0;
	}
	log_diags(a, &d);
	return changed;
}

static void step(struct agent *a, struct event *evs)
{
	bool changed = apply_events(a, evs), all = true;
	struct nft_delta *delta = NULL;
	for (int k = 0; k < AGENT_NKINDS; k++)
		all &= a->listed[k];
	if (!all || (a->synced && !changed && !a->dirty))
		return;
	double t0 = now_s();
	if (commit(a, &delta) < 0) {
		if (!a->dirty)
			logf_(a->o, AGENT_LOG_ERROR, "commit failed; retrying");
		a->dirty = true;
		return;
	}
	a->dirty = false;
	double t1 = now_s();
	bool nonempty = !nft_delta_empty(delta);
	if (nonempty)
		logf_(a->o, AGENT_LOG_DEBUG,
		      "committed in %.2f ms: chains +%zu ~%zu -%zu, sets +%zu -%zu, elements +%zu -%zu",
		      (t1 - t0) * 1e3, delta->chains_added, delta->chains_refilled,
		      delta->chains_deleted, delta->sets_added, delta->sets_deleted,
		      delta->elems_added, delta->elems_deleted);
	if (!a->synced) {
		a->synced = true;
		/* logged first: whoever saw the file, saw the line before it */
		logf_(a->o, AGENT_LOG_INFO, "in sync: %s", nonempty ? "kernel converged" :
			    "kernel already held the program");
		if (a->o->ready_file)
			touch(a->o->ready_file);
	} else {
		for (struct event *ev = evs; ev; ev = ev->next)
			note_latency(a, t1 - ev->arrived, nonempty);
	}
	if (nonempty && a->o->cut_denied)
		cut_denied(a);
	nft_delta_free(delta);
	annotate(a);
	if (a->latency)
		fflush(a->latency);
}

static int dbl_cmp(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

static void report_latency(struct agent *a)
{
	if (!a->nlat)
		return;
	qsort(a->lat, a->nlat, sizeof(*a->lat), dbl_cmp);
	logf_(a->o, AGENT_LOG_INFO, "apply latency over %zu changes: p50 %.2f ms, p99 %.2f ms",
	      a->nlat, a->lat[a->nlat / 2] * 1e3, a->lat[(a->nlat * 99) / 100] * 1e3);
}

static int start_watchers(struct agent *a, struct shared *sh)
{
	struct client_options co = {.socket_path = a->o->socket_path};
	for (int k = 0; k < AGENT_NKINDS; k++) {
		struct watcher *w = calloc(1, sizeof(*w));
		pthread_t t;
		int err;
		if (!w)
			return -ENOMEM;
		w->sh = sh;
		w->kind = (enum agent_kind)k;
		if ((err = client_new(&co, &w->c)) < 0) {
			free(w);
			return err;
		}
		if ((err = pthread_create(&t, NULL, watch_thread, w)) != 0) {
			client_free(w->c);
			free(w);
			return -err;
		}
		pthread_detach(t);
	}
	return 0;
}

/* The node's namespace may not exist yet (the daemon makes it): wait. */
static int open_node(struct agent *a)
{
	int err;
	for (;;) {
		err = nft_conn_new(a->o->node_netns, &a->conn);
		if (err != -ENOENT || *a->o->stop)
			return err;
		usleep(100 * 1000);
	}
}

static void agent_clear(struct agent *a)
{
	nft_conn_free(a->conn);
	client_free(a->c);
	agent_cache_free(a->cache);
	nft_prog_free(a->cur);
	nft_incr_free(a->incr);
	json_decref(a->patched);
	if (a->latency)
		fclose(a->latency);
	free(a->lat);
}

int agent_run(const struct agent_options *o)
{
	struct agent a = {.o = o};
	struct client_options co = {.socket_path = o->socket_path};
	struct shared *sh = NULL;
	int err = -ENOMEM;
	if (o->ready_file)
		unlink(o->ready_file);
	if (!(a.cache = agent_cache_new()) || !(a.patched = json_object()) ||
	    !(a.incr = nft_incr_new()))
		goto cleanup;
	if (o->latency_file && !(a.latency = fopen(o->latency_file, "we"))) {
		err = -errno;
		goto cleanup;
	}
	if ((err = client_new(&co, &a.c)) < 0 || (err = open_node(&a)) < 0 ||
	    (err = ensure_table(&a)) < 0)
		goto cleanup;
	if (o->cut_denied && (err = agent_ct_strict_tcp(o->node_netns)) < 0)
		logf_(o, AGENT_LOG_WARNING, "nf_conntrack_tcp_loose: %s (a cut TCP flow may be picked up again)",
		      strerror(-err));
	if (!(sh = calloc(1, sizeof(*sh)))) {
		err = -ENOMEM;
		goto cleanup;
	}
	sh->o = o;
	pthread_mutex_init(&sh->q.mu, NULL);
	pthread_cond_init(&sh->q.cv, NULL);
	sh->q.tail = &sh->q.head;
	if ((err = start_watchers(&a, sh)) < 0)
		goto cleanup;
	while (!*o->stop) {
		struct event *evs = queue_take(&sh->q, a.dirty ? 1000 : 100);
		if (evs || a.dirty)
			step(&a, evs);
		while (evs) {
			struct event *next = evs->next;
			event_free(evs);
			evs = next;
		}
	}
	report_latency(&a);
	err = 0;
cleanup:
	if (o->ready_file)
		unlink(o->ready_file);
	agent_clear(&a);
	/* sh stays: the watch threads still use it until the process exits */
	return err;
}

/* ---- one-shot listing (live explain) --------------------------------------------------- */

int agent_cache_fetch(const char *socket_path, struct agent_cache **out,
		      struct diag_list *diags)
{
	struct client_options co = {.socket_path = socket_path};
	struct client *c = NULL;
	struct agent_cache *cache = agent_cache_new();
	int err = cache ? client_new(&co, &c) : -ENOMEM;
	*out = NULL;
	for (int k = 0; !err && k < AGENT_NKINDS; k++) {
		long status = 0;
		json_t *resp = NULL;
		err = client_request(c, "GET", agent_kind_path(k), NULL, NULL, &status, &resp);
		json_t *items = json_object_get(resp, "items");
		if (!err && (status != 200 || !json_is_array(items))) {
			char *msg = client_status_message(resp);
			diag_add(diags, DIAG_ERROR, NULL, 0, 0, NULL, "listing %s: %s",
				 agent_kind_path(k), msg ? msg : "unexpected answer");
			free(msg);
			err = -EPROTO;
		}
		if (!err) {
			int r = agent_cache_replace(cache, k, items, diags);
			err = r == -ENOMEM ? r : 0;
		}
		json_decref(resp);
	}
	client_free(c);
	if (err < 0) {
		agent_cache_free(cache);
		return err;
	}
	*out = cache;
	return 0;
}
