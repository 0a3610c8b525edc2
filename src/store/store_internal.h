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
	ST_EVENT_SIZES,
	ST_FREELIST,
	ST_NSTMT
};

struct store {
	pthread_mutex_t lock;        /* guards everything below */
	sqlite3 *db;
	sqlite3_stmt *st[ST_NSTMT];
	uint64_t rv;                 /* newest revision */
	uint64_t compacted;          /* events with rv <= compacted are gone */
	long log_size;
	uint64_t log_bytes;          /* bytes of the event bodies kept */
	uint64_t log_max_bytes;
	char *reserve_path;          /* NULL: no disk reserve */
	long long reserve_size;
	bool reserve_held;           /* the reserve is allocated on disk */
	bool corrupt;                /* SQLite found corruption: no more writes */
	struct store_watch *watches; /* open watches, linked by next */
	struct store_feed *feed;     /* events shared by the watches (watch.c) */
	uint64_t unreadable;         /* rows lists and replays skipped: not JSON */
};

/* What one write does to the event log, applied to struct store only
 * once its transaction committed. */
struct store_log_change {
	uint64_t added;              /* bytes of the new event */
	uint64_t freed;              /* bytes of the events compacted away */
	uint64_t compacted;          /* the new compaction point */
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
/* Appends an event, bumps nothing (caller chose rv); adds its size to
 * c->added. Caller holds lock. */
int store_log_event(struct store *s, uint64_t rv, enum store_event_type t,
		    enum store_resource r, json_t *obj, struct store_log_change *c);
/* Persists the revision and compacts the log to the newest events within
 * the count and byte bounds; fills c->freed and c->compacted. */
int store_set_revision(struct store *s, uint64_t rv, struct store_log_change *c);
/* The one integer sql yields (with text parameter key, if not NULL). */
int store_query_int(struct store *s, const char *sql, const char *key, uint64_t *out);
/* The negative errno for SQLite result rc (SQLITE_FULL is -ENOSPC);
 * corruption also stops every later write. */
int store_sql_errno(struct store *s, int rc);

/* disk.c: the database file's health and the space it takes. */
/* Before SQLite opens the file: a store that existed must still be there. */
int store_disk_check_file(const struct store_options *o, char **err);
/* After opening: PRAGMA quick_check, -EUCLEAN with a message naming the file. */
int store_disk_quick_check(struct store *s, const struct store_options *o, char **err);
/* Converts a database made without auto_vacuum (VACUUM once); a full
 * disk leaves it as it is for now. */
int store_disk_convert(struct store *s, char **err);
/* Writes PATH.created when asked for and not there yet. */
int store_disk_mark_created(const struct store_options *o, char **err);
/* Sets up the disk reserve (held when there is room for it). */
int store_disk_reserve_init(struct store *s, const struct store_options *o);
void store_disk_reserve_free(struct store *s);
/* 0 when a write may start; frees says it is a delete, which may use
 * the reserve. */
int store_disk_writable(struct store *s, bool frees);
/* Gives up the reserve: 0 when there was one to give up. */
int store_disk_release(struct store *s);
/* After a committed write: gives space back and re-makes the reserve. */
void store_disk_after_write(struct store *s);

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
