/* Internals shared by the store's files. */
#ifndef NETPOL_STORE_INTERNAL_H
#define NETPOL_STORE_INTERNAL_H

#include "store.h"

#include <pthread.h>
#include <sqlite3.h>

enum store_stmt {
	ST_GET,
	ST_LIST_ALL,
	ST_LIST_NS,
	ST_INSERT,
	ST_UPDATE,
	ST_DELETE,
	ST_EVENT,
	ST_COMPACT,
	ST_SET_META,
	ST_EVENTS_FROM,
	ST_NSTMT
};

struct store {
	pthread_mutex_t lock;        /* guards everything below */
	sqlite3 *db;
	sqlite3_stmt *st[ST_NSTMT];
	uint64_t rv;                 /* newest revision */
	uint64_t compacted;          /* events with rv <= compacted are gone */
	long log_size;
	struct store_watch *watches; /* open watches, linked by next */
	struct store_feed *feed;     /* events shared by the watches (watch.c) */
};

/* store.c */
int store_begin(struct store *s);
int store_commit(struct store *s);
void store_rollback(struct store *s);
/* Resets and binds a statement for reuse (text params, NULL = SQL NULL). */
sqlite3_stmt *store_stmt(struct store *s, enum store_stmt which);
/* Loads an object; -ENOENT when absent. Caller holds the lock. */
int store_load(struct store *s, enum store_resource r, const char *ns,
	       const char *name, json_t **out);
/* Appends to items every object of r passing f. Caller holds the lock. */
int store_list_locked(struct store *s, enum store_resource r,
		      const struct store_filter *f, json_t *items);
/* Appends an event, bumps nothing (caller chose rv). Caller holds lock. */
int store_log_event(struct store *s, uint64_t rv, enum store_event_type t,
		    enum store_resource r, json_t *obj);
/* Persists the revision and compacts the log to the newest events. */
int store_set_revision(struct store *s, uint64_t rv);

/* prepare.c: what the API server's registry strategies do. */
const char *store_meta_str(json_t *obj, const char *key);
int store_set_meta_str(json_t *obj, const char *key, const char *value);
int store_prepare_create(enum store_resource r, json_t *obj, unsigned flags);
/* Carries system fields from old into obj and applies flags; sets
 * *spec_changed when anything but metadata and status differs. */
int store_prepare_update(enum store_resource r, json_t *old, json_t *obj,
			 unsigned flags, bool *spec_changed);
int store_set_rv(json_t *obj, uint64_t rv);
uint64_t store_parse_rv(const char *text);
int store_random_uuid(char out[37]);
void store_now_rfc3339(char out[32]);

/* watch.c: hands a committed event to every matching watch (lock held). */
void store_watch_publish(struct store *s, uint64_t rv, enum store_event_type t,
			 enum store_resource r, json_t *obj);
/* Cancels every watch (used by store_close as a safety net). */
void store_watch_detach_all(struct store *s);

#endif
