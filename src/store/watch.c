/* watch.c: watches. Each watch has its own queue; a write publishes its
 * event to every matching queue while the store lock is held, right after
 * its transaction committed, so every queue sees events in revision order
 * and a watch opened at revision N misses nothing after N. */
#include "store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

struct watch_item {
	struct store_event *ev;
	struct watch_item *next;
};

struct store_watch {
	struct store *s;              /* NULL once detached */
	struct store_watch *next;     /* in s->watches */
	unsigned resources;
	struct store_filter filter;   /* points into the fields below */
	char *ns, *name;
	struct np_selector labels;
	pthread_mutex_t mu;           /* guards the queue and the flags */
	pthread_cond_t cond;
	struct watch_item *head, *tail;
	long n, max;
	bool cancelled, overflow;
	int efd;
};

const char *store_event_type_name(enum store_event_type t)
{
	static const char *const names[] = {"ADDED", "MODIFIED", "DELETED"};
	return names[t];
}

void store_event_free(struct store_event *e)
{
	if (!e)
		return;
	json_decref(e->object);
	free(e);
}

static bool wants(struct store_watch *w, enum store_resource r, json_t *obj)
{
	if (w->resources && !(w->resources & (1u << r)))
		return false;
	return store_filter_matches(&w->filter, obj);
}

static void drop_queue(struct store_watch *w)
{
	while (w->head) {
		struct watch_item *it = w->head;
		w->head = it->next;
		store_event_free(it->ev);
		free(it);
	}
	w->tail = NULL;
	w->n = 0;
}

/* Takes ownership of obj. Caller holds w->mu. */
static void push(struct store_watch *w, uint64_t rv, enum store_event_type t,
		 enum store_resource r, json_t *obj)
{
	struct store_event *ev = calloc(1, sizeof(*ev));
	struct watch_item *it = calloc(1, sizeof(*it));
	if (!ev || !it || !obj || w->overflow || w->n >= w->max) {
		/* A watch that cannot keep up is ended rather than allowed to
		 * skip an event: its reader must list again. */
		free(ev);
		free(it);
		json_decref(obj);
		w->overflow = true;
		drop_queue(w);
	} else {
		*ev = (struct store_event){.type = t, .resource = r, .rv = rv, .object = obj};
		it->ev = ev;
		if (w->tail)
			w->tail->next = it;
		else
			w->head = it;
		w->tail = it;
		w->n++;
	}
	uint64_t one = 1;
	if (write(w->efd, &one, sizeof(one)) < 0) {
		/* the counter is saturated: it polls readable anyway */
	}
	pthread_cond_signal(&w->cond);
}

void store_watch_publish(struct store *s, uint64_t rv, enum store_event_type t,
			 enum store_resource r, json_t *obj)
{
	for (struct store_watch *w = s->watches; w; w = w->next) {
		if (!wants(w, r, obj))
			continue;
		/* Each reader gets its own copy: readers run on other threads
		 * and may change what they get. */
		json_t *copy = json_deep_copy(obj);
		pthread_mutex_lock(&w->mu);
		push(w, rv, t, r, copy);
		pthread_mutex_unlock(&w->mu);
	}
}

void store_watch_detach_all(struct store *s)
{
	for (struct store_watch *w = s->watches; w; w = w->next)
		w->s = NULL;
	s->watches = NULL;
}

/* ---- opening ------------------------------------------------------------------------ */

static int copy_filter(struct store_watch *w, const struct store_filter *f)
{
	if (f->ns && !(w->ns = strdup(f->ns)))
		return -ENOMEM;
	if (f->name && !(w->name = strdup(f->name)))
		return -ENOMEM;
	if (f->labels && selector_copy(&w->labels, f->labels) < 0)
		return -ENOMEM;
	w->filter.ns = w->ns;
	w->filter.name = w->name;
	w->filter.labels = f->labels ? &w->labels : NULL;
	return 0;
}

static struct store_watch *watch_new(const struct store_watch_options *o)
{
	struct store_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&w->mu, NULL);
	w->resources = o->resources;
	w->max = o->max_queue > 0 ? o->max_queue : 100000;
	if (w->efd < 0 || copy_filter(w, &o->filter) < 0) {
		store_watch_close(w);
		return NULL;
	}
	return w;
}

/* Queues the logged events after from_rv. Caller holds the store lock. */
static int replay(struct store *s, struct store_watch *w, uint64_t from_rv)
{
	sqlite3_stmt *st = store_stmt(s, ST_EVENTS_FROM);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)from_rv);
	int rc, ret = 0;
	while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		enum store_resource r;
		const char *res = (const char *)sqlite3_column_text(st, 2);
		const char *body = (const char *)sqlite3_column_text(st, 3);
		json_t *obj = body ? json_loads(body, 0, NULL) : NULL;
		if (!obj || !res || store_resource_parse(res, &r) < 0)
			s->unreadable++;  /* skipped, as lists skip such a row */
		else if (wants(w, r, obj))
			push(w, (uint64_t)sqlite3_column_int64(st, 0),
			     (enum store_event_type)sqlite3_column_int(st, 1), r, json_incref(obj));
		json_decref(obj);
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_sql_errno(s, rc);
	sqlite3_reset(st);
	return ret;
}

/* Queues an ADDED event per existing object. Caller holds the store lock. */
static int initial_state(struct store *s, struct store_watch *w)
{
	for (int r = 0; r < STORE_NRESOURCES; r++) {
		if (w->resources && !(w->resources & (1u << r)))
			continue;
		json_t *items = json_array();
		int ret = items ? store_list_locked(s, (enum store_resource)r, &w->filter, items) : -ENOMEM;
		size_t i;
		json_t *obj;
		if (ret == 0) {
			json_array_foreach(items, i, obj)
				push(w, s->rv, STORE_ADDED, (enum store_resource)r,
				     json_incref(obj));
		}
		json_decref(items);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int open_locked(struct store *s, const struct store_watch_options *o,
		       struct store_watch *w)
{
	int ret;
	if (o->initial_state)
		ret = initial_state(s, w);
	else if (o->from_rv < s->compacted)
		ret = -ERANGE;
	else
		ret = replay(s, w, o->from_rv);
	if (ret == 0 && w->overflow)
		ret = -ERANGE;
	if (ret < 0)
		return ret;
	w->s = s;
	w->next = s->watches;
	s->watches = w;
	return 0;
}

int store_watch_open(struct store *s, const struct store_watch_options *o,
		     struct store_watch **out)
{
	struct store_watch *w = watch_new(o);
	if (!w)
		return -ENOMEM;
	pthread_mutex_lock(&s->lock);
	pthread_mutex_lock(&w->mu);
	int ret = open_locked(s, o, w);
	pthread_mutex_unlock(&w->mu);
	pthread_mutex_unlock(&s->lock);
	if (ret < 0) {
		store_watch_close(w);
		return ret;
	}
	*out = w;
	return 0;
}

/* ---- reading ---------------------------------------------------------------------------- */

static void deadline_after(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Caller holds w->mu and the queue is not empty. */
static struct store_event *pop(struct store_watch *w)
{
	struct watch_item *it = w->head;
	struct store_event *ev = it->ev;
	w->head = it->next;
	if (!w->head)
		w->tail = NULL;
	w->n--;
	free(it);
	if (!w->head) {
		uint64_t v;
		if (read(w->efd, &v, sizeof(v)) < 0) {
			/* already zero */
		}
	}
	return ev;
}

int store_watch_next(struct store_watch *w, int timeout_ms,
		     struct store_event **ev)
{
	struct timespec deadline;
	if (timeout_ms >= 0)
		deadline_after(&deadline, timeout_ms);
	int ret = 0;
	pthread_mutex_lock(&w->mu);
	while (!w->head && !w->cancelled && !w->overflow && ret == 0) {
		if (timeout_ms < 0)
			pthread_cond_wait(&w->cond, &w->mu);
		else if (pthread_cond_timedwait(&w->cond, &w->mu, &deadline) == ETIMEDOUT)
			ret = -ETIMEDOUT;
	}
	if (w->overflow)
		ret = -ERANGE;
	else if (w->cancelled)
		ret = -ECANCELED;
	else if (w->head)
		ret = 0, *ev = pop(w);
	pthread_mutex_unlock(&w->mu);
	return ret;
}

int store_watch_fd(struct store_watch *w)
{
	return w->efd;
}

void store_watch_cancel(struct store_watch *w)
{
	pthread_mutex_lock(&w->mu);
	w->cancelled = true;
	uint64_t one = 1;
	if (write(w->efd, &one, sizeof(one)) < 0) {
		/* saturated: readable anyway */
	}
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mu);
}

static void unlink_watch(struct store *s, struct store_watch *w)
{
	pthread_mutex_lock(&s->lock);
	for (struct store_watch **p = &s->watches; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
}

void store_watch_close(struct store_watch *w)
{
	if (!w)
		return;
	if (w->s)
		unlink_watch(w->s, w);
	drop_queue(w);
	if (w->efd >= 0)
		close(w->efd);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->mu);
	free(w->ns);
	free(w->name);
	selector_clear(&w->labels);
	free(w);
}
