/* watch.c: watches over one shared feed of events.
 *
 * A write publishes its event once, while the store lock is held right
 * after its transaction committed: one node appended to a singly linked
 * feed that every watch shares. A watch is a cursor into that feed (plus
 * a private queue for what it must see first: the current state, or the
 * events replayed from the log). Nodes are reference counted: the feed
 * holds its newest node, each node holds the next one and each cursor
 * holds the node it last passed, so a node is freed as soon as the
 * slowest cursor has passed it. Memory is therefore what lies between the
 * slowest cursor and the newest event, and that is bounded: a watch whose
 * cursor falls more than max_queue events or max_bytes bytes behind is
 * ended (-ERANGE, the API's 410 Expired), releasing what it held.
 *
 * A watch with nothing it wants ahead of it is moved along with the feed
 * as events it does not want are published, so an idle watch pins
 * nothing. Objects in events are shared between readers: read only. */
#include "store_internal.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* Bytes freed before glibc is asked to give memory back (malloc_trim):
 * a slow watcher ended after megabytes of events should not leave the
 * daemon's RSS at its peak. */
#define WATCH_TRIM_AFTER (8u << 20)

struct watch_node {
	struct store_event ev;        /* ev.object NULL: the feed's first node */
	uint64_t seq;                 /* position in the feed */
	uint64_t end_bytes;           /* bytes published up to and including it */
	size_t bytes;
	int refs;                     /* atomic */
	struct watch_node *next;      /* atomic: set once, by the publisher */
};

struct store_feed {
	struct watch_node *tail;      /* newest node; one reference */
};

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
	pthread_mutex_t mu;           /* guards what follows */
	pthread_cond_t cond;
	struct watch_item *head, *tail; /* private: initial state or replay */
	uint64_t private_bytes;
	struct watch_node *at;        /* last node passed; NULL once ended */
	long wanted;                  /* wanted nodes after at */
	long max;
	uint64_t max_bytes;
	bool cancelled, overflow;
	int efd;
};

static size_t trim_pending;       /* atomic: bytes freed since the last trim */

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

static void note_freed(size_t bytes)
{
	size_t total = __atomic_add_fetch(&trim_pending, bytes, __ATOMIC_RELAXED);
	if (total >= WATCH_TRIM_AFTER &&
	    __atomic_compare_exchange_n(&trim_pending, &total, 0, false, __ATOMIC_RELAXED,
					__ATOMIC_RELAXED))
		malloc_trim(0);
}

/* ---- the feed's nodes --------------------------------------------------------------- */

static struct watch_node *node_ref(struct watch_node *n)
{
	__atomic_add_fetch(&n->refs, 1, __ATOMIC_RELAXED);
	return n;
}

/* Drops a reference; a node nobody holds any more frees its successor's
 * reference too (iteratively: a long chain must not recurse). */
static void node_unref(struct watch_node *n)
{
	size_t freed = 0;
	while (n && __atomic_sub_fetch(&n->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		struct watch_node *next = __atomic_load_n(&n->next, __ATOMIC_ACQUIRE);
		json_decref(n->ev.object);
		freed += n->bytes;
		free(n);
		n = next;
	}
	if (freed)
		note_freed(freed);
}

static struct watch_node *node_next(struct watch_node *n)
{
	return __atomic_load_n(&n->next, __ATOMIC_ACQUIRE);
}

/* The feed, made on first use. Caller holds the store lock. */
static struct store_feed *feed_get(struct store *s)
{
	if (s->feed)
		return s->feed;
	struct store_feed *f = calloc(1, sizeof(*f));
	struct watch_node *n = calloc(1, sizeof(*n));
	if (!f || !n) {
		free(f);
		free(n);
		return NULL;
	}
	n->refs = 1;
	f->tail = n;
	s->feed = f;
	return f;
}

/* Size of obj as JSON text: what the event costs, give or take. */
static size_t json_bytes(json_t *obj)
{
	size_t n = json_dumpb(obj, NULL, 0, JSON_COMPACT);
	return n ? n : 1;
}

/* Appends a node that owns obj. Caller holds the store lock. */
static struct watch_node *feed_append(struct store_feed *f, uint64_t rv, enum store_event_type t,
				      enum store_resource r, json_t *obj)
{
	struct watch_node *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	struct watch_node *old = f->tail;
	n->ev = (struct store_event){.type = t, .resource = r, .rv = rv, .object = obj};
	n->bytes = json_bytes(obj);
	n->seq = old->seq + 1;
	n->end_bytes = old->end_bytes + n->bytes;
	n->refs = 2;                  /* the old tail's link, and the feed */
	__atomic_store_n(&old->next, n, __ATOMIC_RELEASE);
	f->tail = n;
	node_unref(old);
	return n;
}

/* ---- publishing -------------------------------------------------------------------- */

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
	w->private_bytes = 0;
}

static void wake(struct store_watch *w)
{
	uint64_t one = 1;
	if (write(w->efd, &one, sizeof(one)) < 0) {
		/* the counter is saturated: it polls readable anyway */
	}
	pthread_cond_signal(&w->cond);
}

/* Ends a watch that cannot keep up rather than let it skip an event: its
 * reader must list again. What it held is released now. Caller holds
 * w->mu. */
static void overflow(struct store_watch *w)
{
	w->overflow = true;
	drop_queue(w);
	node_unref(w->at);
	w->at = NULL;
	w->wanted = 0;
	wake(w);
}

static bool too_far_behind(struct store_watch *w, struct watch_node *tail)
{
	return tail->seq - w->at->seq > (uint64_t)w->max ||
	       tail->end_bytes - w->at->end_bytes > w->max_bytes;
}

/* Caller holds w->mu; n is the feed's new tail. */
static void offer(struct store_watch *w, struct watch_node *n)
{
	if (!w->at)
		return;
	if (wants(w, n->ev.resource, n->ev.object)) {
		w->wanted++;
		wake(w);
	} else if (w->wanted == 0 && !w->head) {
		/* nothing ahead that it wants: move along, pin nothing */
		node_unref(w->at);
		w->at = node_ref(n);
		return;
	}
	if (too_far_behind(w, n))
		overflow(w);
}

void store_watch_publish(struct store *s, uint64_t rv, enum store_event_type t,
			 enum store_resource r, json_t *obj)
{
	if (!s->watches)
		return;
	/* one copy for every reader: the caller may change obj afterwards */
	json_t *copy = json_deep_copy(obj);
	struct store_feed *f = feed_get(s);
	struct watch_node *n = f && copy ? feed_append(f, rv, t, r, copy) : NULL;
	for (struct store_watch *w = s->watches; w; w = w->next) {
		pthread_mutex_lock(&w->mu);
		if (n)
			offer(w, n);
		else if (w->at && wants(w, r, obj))
			overflow(w);      /* out of memory: it would miss this one */
		pthread_mutex_unlock(&w->mu);
	}
	if (!n)
		json_decref(copy);
}

void store_watch_detach_all(struct store *s)
{
	for (struct store_watch *w = s->watches; w; w = w->next)
		w->s = NULL;
	s->watches = NULL;
	if (s->feed) {
		node_unref(s->feed->tail);
		free(s->feed);
		s->feed = NULL;
	}
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
	w->max = o->max_queue > 0 ? o->max_queue : STORE_WATCH_MAX_EVENTS;
	w->max_bytes = o->max_bytes > 0 ? (uint64_t)o->max_bytes : STORE_WATCH_MAX_BYTES;
	if (w->efd < 0 || copy_filter(w, &o->filter) < 0) {
		store_watch_close(w);
		return NULL;
	}
	return w;
}

/* Queues an event for this watch alone; bounded when it is a replay
 * (the current state is bounded by the store's size, as any list is). */
static void push_private(struct store_watch *w, uint64_t rv, enum store_event_type t,
			 enum store_resource r, json_t *obj, bool bounded)
{
	struct store_event *ev = calloc(1, sizeof(*ev));
	struct watch_item *it = calloc(1, sizeof(*it));
	if (bounded && obj)
		w->private_bytes += json_bytes(obj);
	if (!ev || !it || !obj || w->overflow ||
	    (bounded && w->private_bytes > w->max_bytes)) {
		free(ev);
		free(it);
		json_decref(obj);
		w->overflow = true;
		drop_queue(w);
		return;
	}
	*ev = (struct store_event){.type = t, .resource = r, .rv = rv, .object = obj};
	it->ev = ev;
	if (w->tail)
		w->tail->next = it;
	else
		w->head = it;
	w->tail = it;
	wake(w);
}

/* Queues the logged events after from_rv. Caller holds the store lock. */
static int replay(struct store *s, struct store_watch *w, uint64_t from_rv)
{
	sqlite3_stmt *st = store_stmt(s, ST_EVENTS_FROM);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)from_rv);
	int rc, ret = 0;
	long n = 0;
	while (ret == 0 && !w->overflow && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		enum store_resource r;
		const char *res = (const char *)sqlite3_column_text(st, 2);
		const char *body = (const char *)sqlite3_column_text(st, 3);
		json_t *obj = body ? json_loads(body, 0, NULL) : NULL;
		if (!obj || !res || store_resource_parse(res, &r) < 0)
			s->unreadable++;  /* skipped, as lists skip such a row */
		else if (wants(w, r, obj) && ++n > w->max)
			w->overflow = true;  /* more than it may fall behind */
		else if (wants(w, r, obj))
			push_private(w, (uint64_t)sqlite3_column_int64(st, 0),
				     (enum store_event_type)sqlite3_column_int(st, 1), r,
				     json_incref(obj), true);
		json_decref(obj);
	}
	if (ret == 0 && !w->overflow && rc != SQLITE_DONE)
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
				push_private(w, s->rv, STORE_ADDED, (enum store_resource)r,
					     json_incref(obj), false);
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
	struct store_feed *f = feed_get(s);
	if (!f)
		return -ENOMEM;
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
	w->at = node_ref(f->tail);
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

static bool ready(struct store_watch *w)
{
	return w->head || w->wanted > 0;
}

static struct store_event *pop_private(struct store_watch *w)
{
	struct watch_item *it = w->head;
	struct store_event *ev = it->ev;
	w->head = it->next;
	if (!w->head)
		w->tail = NULL;
	free(it);
	return ev;
}

/* The next wanted node's event, sharing its object. Caller holds w->mu
 * and w->wanted > 0. */
static struct store_event *pop_shared(struct store_watch *w)
{
	struct watch_node *n;
	do {
		n = node_ref(node_next(w->at));
		node_unref(w->at);
		w->at = n;
	} while (!n->ev.object || !wants(w, n->ev.resource, n->ev.object));
	w->wanted--;
	struct store_event *ev = calloc(1, sizeof(*ev));
	if (ev) {
		*ev = n->ev;
		json_incref(ev->object);
	}
	return ev;
}

/* Caller holds w->mu and ready(w). */
static int pop(struct store_watch *w, struct store_event **out)
{
	struct store_event *ev = w->head ? pop_private(w) : pop_shared(w);
	if (!ready(w)) {
		uint64_t v;
		if (read(w->efd, &v, sizeof(v)) < 0) {
			/* already zero */
		}
	}
	if (!ev) {
		overflow(w);  /* out of memory: it cannot be given, so end */
		return -ERANGE;
	}
	*out = ev;
	return 0;
}

int store_watch_next(struct store_watch *w, int timeout_ms,
		     struct store_event **ev)
{
	struct timespec deadline;
	if (timeout_ms >= 0)
		deadline_after(&deadline, timeout_ms);
	int ret = 0;
	pthread_mutex_lock(&w->mu);
	while (!ready(w) && !w->cancelled && !w->overflow && ret == 0) {
		if (timeout_ms < 0)
			pthread_cond_wait(&w->cond, &w->mu);
		else if (pthread_cond_timedwait(&w->cond, &w->mu, &deadline) == ETIMEDOUT)
			ret = -ETIMEDOUT;
	}
	if (w->overflow)
		ret = -ERANGE;
	else if (w->cancelled)
		ret = -ECANCELED;
	else if (ready(w))
		ret = pop(w, ev);
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
	node_unref(w->at);
	if (w->efd >= 0)
		close(w->efd);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->mu);
	free(w->ns);
	free(w->name);
	selector_clear(&w->labels);
	free(w);
}
