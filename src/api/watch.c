/* watch.c: a watch as a byte stream of WatchEvent JSON lines
 * ({"type":"ADDED","object":{...}}\n), fed by a store watch. A watch that
 * falls too far behind ends with an ERROR event carrying a 410 Expired
 * Status, as Kubernetes does, so that clients list again. */
#include "api_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct api_watch {
	struct api *api;
	struct store_watch *sw;
	enum store_resource r;
	json_t *fields;              /* extra field selector terms, or NULL */
	bool table;
	time_t deadline;             /* monotonic seconds; 0 = none */
	char *pending;               /* serialized event not yet fully read */
	size_t plen, poff;
	bool last;                   /* end after pending */
};

static time_t now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

int api_watch_start(struct api *api, const struct api_watch_params *p,
		    struct api_watch **out)
{
	struct store_watch_options o = {.resources = 1u << p->resource, .filter = p->filter};
	char *end = NULL;
	unsigned long long rv = p->rv ? strtoull(p->rv, &end, 10) : 0;
	/* "" and "0": the current state first, as Kubernetes does */
	if (!p->rv || !*p->rv || *end || rv == 0)
		o.initial_state = true;
	else
		o.from_rv = rv;
	struct api_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	int ret = store_watch_open(api->store, &o, &w->sw);
	if (ret < 0) {
		free(w);
		return ret;
	}
	w->api = api;
	w->r = p->resource;
	w->table = p->table;
	w->deadline = p->timeout_s > 0 ? now_s() + p->timeout_s : 0;
	*out = w;
	return 0;
}

void api_watch_set_fields(struct api_watch *w, json_t *fields)
{
	json_decref(w->fields);
	w->fields = json_array_size(fields) ? json_incref(fields) : NULL;
}

void api_watch_free(struct api_watch *w)
{
	if (!w)
		return;
	store_watch_close(w->sw);
	json_decref(w->fields);
	free(w->pending);
	free(w);
}

static int set_pending(struct api_watch *w, const char *type, json_t *obj)
{
	json_t *ev = json_pack("{s:s, s:O}", "type", type, "object", obj);
	char *text = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
	json_decref(ev);
	if (!text)
		return -ENOMEM;
	size_t n = strlen(text);
	char *grown = realloc(text, n + 2);
	if (!grown) {
		free(text);
		return -ENOMEM;
	}
	free(w->pending);
	w->pending = grown;
	memcpy(w->pending + n, "\n", 2);
	w->plen = n + 1;
	w->poff = 0;
	return 0;
}

static int event_to_pending(struct api_watch *w, struct store_event *ev)
{
	if (w->fields && !api_fields_match(w->fields, ev->object))
		return 0;
	json_t *obj = ev->object;
	json_t *items = NULL;
	if (w->table) {
		items = json_pack("[O]", obj);
		obj = api_table(w->r, items, NULL, false);
	}
	int ret = set_pending(w, store_event_type_name(ev->type), obj);
	if (w->table)
		json_decref(obj);
	json_decref(items);
	return ret < 0 ? ret : 1;
}

static ssize_t take_pending(struct api_watch *w, char *buf, size_t max)
{
	size_t n = w->plen - w->poff;
	if (n > max)
		n = max;
	memcpy(buf, w->pending + w->poff, n);
	w->poff += n;
	if (w->poff == w->plen) {
		free(w->pending);
		w->pending = NULL;
		w->plen = w->poff = 0;
	}
	return (ssize_t)n;
}

/* The wait for the next event, bounded by the watch's own timeout. */
static int wait_ms_for(struct api_watch *w, int wait_ms)
{
	if (!w->deadline)
		return wait_ms;
	time_t left = w->deadline - now_s();
	if (left <= 0)
		return -1;
	return left * 1000 < wait_ms ? (int)(left * 1000) : wait_ms;
}

ssize_t api_watch_read(struct api_watch *w, char *buf, size_t max, int wait_ms)
{
	if (w->pending)
		return take_pending(w, buf, max);
	if (w->last || __atomic_load_n(&w->api->stopping, __ATOMIC_RELAXED))
		return -1;
	int ms = wait_ms_for(w, wait_ms);
	if (ms < 0)
		return -1;
	struct store_event *ev = NULL;
	int ret = store_watch_next(w->sw, ms, &ev);
	if (ret == -ETIMEDOUT)
		return 0;
	if (ret == -ERANGE) {
		json_t *st = api_status(410, "Expired", "the watch fell too far behind; list again");
		ret = set_pending(w, "ERROR", st);
		json_decref(st);
		w->last = true;
		return ret < 0 ? -1 : take_pending(w, buf, max);
	}
	if (ret < 0)
		return -1;
	ret = event_to_pending(w, ev);
	store_event_free(ev);
	if (ret < 0)
		return -1;
	return ret == 0 ? 0 : take_pending(w, buf, max);
}
