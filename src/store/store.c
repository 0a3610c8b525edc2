/* store.c: the SQLite database, its statements and the read paths. */
#include "store_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- resources ------------------------------------------------------------- */

static const struct {
	const char *name, *kind, *api_version;
	bool namespaced;
} resources[STORE_NRESOURCES] = {
	[STORE_NAMESPACES] = {"namespaces", "Namespace", "v1", false},
	[STORE_PODS] = {"pods", "Pod", "v1", true},
	[STORE_DEPLOYMENTS] = {"deployments", "Deployment", "apps/v1", true},
	[STORE_SERVICES] = {"services", "Service", "v1", true},
	[STORE_ENDPOINTS] = {"endpoints", "Endpoints", "v1", true},
	[STORE_NETWORKPOLICIES] = {"networkpolicies", "NetworkPolicy",
				   "networking.k8s.io/v1", true},
};

const char *store_resource_name(enum store_resource r)
{
	return resources[r].name;
}

const char *store_resource_kind(enum store_resource r)
{
	return resources[r].kind;
}

const char *store_resource_api_version(enum store_resource r)
{
	return resources[r].api_version;
}

bool store_resource_namespaced(enum store_resource r)
{
	return resources[r].namespaced;
}

int store_resource_parse(const char *name, enum store_resource *out)
{
	for (int i = 0; i < STORE_NRESOURCES; i++) {
		if (strcmp(resources[i].name, name) == 0) {
			*out = (enum store_resource)i;
			return 0;
		}
	}
	return -ENOENT;
}

int store_resource_from_kind(const char *kind, enum store_resource *out)
{
	for (int i = 0; i < STORE_NRESOURCES; i++) {
		if (strcmp(resources[i].kind, kind) == 0) {
			*out = (enum store_resource)i;
			return 0;
		}
	}
	return -ENOENT;
}

/* ---- schema and statements ----------------------------------------------------- */

/* namespace is '' for cluster-scoped objects so the primary key works. */
static const char schema[] =
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS objects(resource TEXT NOT NULL, namespace TEXT NOT NULL,"
	" name TEXT NOT NULL, rv INTEGER NOT NULL, body TEXT NOT NULL,"
	" PRIMARY KEY(resource, namespace, name));"
	"CREATE TABLE IF NOT EXISTS events(rv INTEGER PRIMARY KEY, type INTEGER NOT NULL,"
	" resource TEXT NOT NULL, body TEXT NOT NULL);"
	"INSERT OR IGNORE INTO meta VALUES('revision', 0);"
	"INSERT OR IGNORE INTO meta VALUES('compacted', 0);";

static const char *const stmt_sql[ST_NSTMT] = {
	[ST_GET] = "SELECT body FROM objects WHERE resource=?1 AND namespace=?2 AND name=?3",
	[ST_LIST_ALL] = "SELECT body FROM objects WHERE resource=?1 ORDER BY namespace, name",
	[ST_LIST_NS] = "SELECT body FROM objects WHERE resource=?1 AND namespace=?2 ORDER BY name",
	[ST_INSERT] = "INSERT INTO objects(resource, namespace, name, rv, body) VALUES(?1, ?2, ?3, ?4, ?5)",
	[ST_UPDATE] = "UPDATE objects SET rv=?4, body=?5 WHERE resource=?1 AND namespace=?2 AND name=?3",
	[ST_DELETE] = "DELETE FROM objects WHERE resource=?1 AND namespace=?2 AND name=?3",
	[ST_EVENT] = "INSERT INTO events(rv, type, resource, body) VALUES(?1, ?2, ?3, ?4)",
	[ST_COMPACT] = "DELETE FROM events WHERE rv <= ?1",
	[ST_SET_META] = "UPDATE meta SET value=?2 WHERE key=?1",
	[ST_EVENTS_FROM] = "SELECT rv, type, resource, body FROM events WHERE rv > ?1 ORDER BY rv",
	/* length() of a BLOB reads no overflow page */
	[ST_EVENT_SIZES] = "SELECT rv, length(body) FROM events WHERE rv > ?1 AND rv < ?2 ORDER BY rv",
	[ST_FREELIST] = "PRAGMA freelist_count",
};

sqlite3_stmt *store_stmt(struct store *s, enum store_stmt which)
{
	sqlite3_stmt *st = s->st[which];
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

int store_sql_errno(struct store *s, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		s->corrupt = true;
		return -EUCLEAN;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_IOERR:
		/* e.g. growing the -shm file: SQLite says I/O error, the
		 * kernel said no space */
		if (sqlite3_system_errno(s->db) == ENOSPC)
			return -ENOSPC;
		return sqlite3_system_errno(s->db) == EDQUOT ? -EDQUOT : -EIO;
	default:
		return -EIO;
	}
}

static int exec_sql(struct store *s, const char *sql)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : store_sql_errno(s, rc);
}

/* 0 when st stepped to its end, else the errno of what failed. */
static int step_done(struct store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	return rc == SQLITE_DONE ? 0 : store_sql_errno(s, rc);
}

int store_begin(struct store *s)
{
	return exec_sql(s, "BEGIN IMMEDIATE");
}

int store_commit(struct store *s)
{
	return exec_sql(s, "COMMIT");
}

void store_rollback(struct store *s)
{
	exec_sql(s, "ROLLBACK");
}

/* The one integer sql yields (with text parameter key, if not NULL). */
int store_query_int(struct store *s, const char *sql, const char *key, uint64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_sql_errno(s, rc);
	if (key)
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	int ret = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -EIO : store_sql_errno(s, rc);
	if (ret == 0)
		*out = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return ret;
}

static int read_meta(struct store *s, const char *key, uint64_t *out)
{
	return store_query_int(s, "SELECT value FROM meta WHERE key=?1", key, out);
}

static int set_err(char **err, int ret, const char *what, sqlite3 *db)
{
	if (err && asprintf(err, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory") < 0)
		*err = NULL;
	return ret;
}

/* WAL + synchronous=FULL: a COMMIT returns only once the WAL is synced.
 * auto_vacuum must come before the first table (store_disk_convert
 * handles older files); journal_size_limit trims the WAL after each
 * checkpoint so one large write does not keep its space for good. */
static int setup_db(struct store *s, char **err)
{
	int ret;
	if ((ret = exec_sql(s, "PRAGMA auto_vacuum=INCREMENTAL")) < 0 ||
	    (ret = exec_sql(s, "PRAGMA journal_mode=WAL")) < 0 ||
	    (ret = exec_sql(s, "PRAGMA synchronous=FULL")) < 0 ||
	    (ret = exec_sql(s, "PRAGMA journal_size_limit=4194304")) < 0 ||
	    (ret = exec_sql(s, "PRAGMA foreign_keys=OFF")) < 0 ||
	    (ret = exec_sql(s, schema)) < 0)
		return set_err(err, ret, "initialising the store", s->db);
	for (int i = 0; i < ST_NSTMT; i++) {
		int rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					    &s->st[i], NULL);
		if (rc != SQLITE_OK)
			return set_err(err, store_sql_errno(s, rc), "preparing statements", s->db);
	}
	if ((ret = read_meta(s, "revision", &s->rv)) < 0 ||
	    (ret = read_meta(s, "compacted", &s->compacted)) < 0 ||
	    (ret = store_query_int(s, "SELECT coalesce(sum(length(body)), 0) FROM events", NULL,
			     &s->log_bytes)) < 0)
		return set_err(err, ret, "reading the revision", s->db);
	return 0;
}

/* Everything after SQLite opened the file, in the order that keeps a bad
 * file untouched: check, then set up, then mark and reserve. */
static int open_checked(struct store *s, const struct store_options *opts, char **err)
{
	int ret;
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, 5000);
	if ((ret = store_disk_quick_check(s, opts, err)) < 0 ||
	    (ret = setup_db(s, err)) < 0 ||
	    (ret = store_disk_convert(s, err)) < 0 ||
	    (ret = store_disk_mark_created(opts, err)) < 0)
		return ret;
	return store_disk_reserve_init(s, opts);
}

int store_open(const struct store_options *opts, struct store **out, char **err)
{
	if (err)
		*err = NULL;
	struct store *s = calloc(1, sizeof(*s));
	if (!s)
		return set_err(err, -ENOMEM, "opening the store", NULL);
	pthread_mutex_init(&s->lock, NULL);
	s->log_size = opts->event_log_size > 0 ? opts->event_log_size : 10000;
	s->log_max_bytes = opts->event_log_bytes > 0 ? (uint64_t)opts->event_log_bytes
						     : 64ull << 20;
	int ret = store_disk_check_file(opts, err);
	if (ret < 0) {
		store_close(s);
		return ret;
	}
	int rc = sqlite3_open_v2(opts->path, &s->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
				 NULL);
	if (rc != SQLITE_OK) {
		ret = set_err(err, -EIO, opts->path, s->db);
		store_close(s);
		return ret;
	}
	ret = open_checked(s, opts, err);
	if (ret < 0) {
		store_close(s);
		return ret;
	}
	*out = s;
	return 0;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	store_watch_detach_all(s);
	for (int i = 0; i < ST_NSTMT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	store_disk_reserve_free(s);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

uint64_t store_unreadable_rows(struct store *s)
{
	pthread_mutex_lock(&s->lock);
	uint64_t n = s->unreadable;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void store_release_memory(struct store *s)
{
	pthread_mutex_lock(&s->lock);
	sqlite3_db_release_memory(s->db);
	pthread_mutex_unlock(&s->lock);
}

uint64_t store_revision(struct store *s)
{
	pthread_mutex_lock(&s->lock);
	uint64_t rv = s->rv;
	pthread_mutex_unlock(&s->lock);
	return rv;
}

/* ---- helpers for the write paths ------------------------------------------------ */

static const char *key_ns(enum store_resource r, const char *ns)
{
	return store_resource_namespaced(r) && ns ? ns : "";
}

static int load_body(sqlite3_stmt *st, json_t **out)
{
	const char *text = (const char *)sqlite3_column_text(st, 0);
	json_t *obj = text ? json_loads(text, 0, NULL) : NULL;
	if (!obj)
		return -EIO;
	*out = obj;
	return 0;
}

int store_load(struct store *s, enum store_resource r, const char *ns,
	       const char *name, json_t **out)
{
	sqlite3_stmt *st = store_stmt(s, ST_GET);
	sqlite3_bind_text(st, 1, store_resource_name(r), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key_ns(r, ns), -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	int ret = rc == SQLITE_ROW ? load_body(st, out)
		  : rc == SQLITE_DONE ? -ENOENT : store_sql_errno(s, rc);
	sqlite3_reset(st);
	return ret;
}

/* Bodies go in as BLOBs so that length() counts bytes without reading
 * them (reading with sqlite3_column_text works the same). */
int store_log_event(struct store *s, uint64_t rv, enum store_event_type t,
		    enum store_resource r, json_t *obj, struct store_log_change *c)
{
	char *body = json_dumps(obj, JSON_COMPACT);
	if (!body)
		return -ENOMEM;
	size_t len = strlen(body);
	sqlite3_stmt *st = store_stmt(s, ST_EVENT);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)rv);
	sqlite3_bind_int(st, 2, (int)t);
	sqlite3_bind_text(st, 3, store_resource_name(r), -1, SQLITE_STATIC);
	sqlite3_bind_blob64(st, 4, body, len, free);
	int ret = step_done(s, st);
	sqlite3_reset(st);
	c->added = len;
	return ret;
}

static int set_meta(struct store *s, const char *key, uint64_t value)
{
	sqlite3_stmt *st = store_stmt(s, ST_SET_META);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)value);
	int ret = step_done(s, st);
	sqlite3_reset(st);
	return ret;
}

/* Walks the log from its oldest event and moves c->compacted past every
 * event beyond the count bound, then past more while the bytes kept
 * exceed the byte bound; the newest event rv always stays. */
static int compaction_point(struct store *s, uint64_t rv, struct store_log_change *c)
{
	uint64_t by_count = rv > (uint64_t)s->log_size ? rv - (uint64_t)s->log_size : 0;
	uint64_t total = s->log_bytes + c->added;
	c->compacted = s->compacted;
	c->freed = 0;
	if (by_count <= s->compacted && total <= s->log_max_bytes)
		return 0;
	sqlite3_stmt *st = store_stmt(s, ST_EVENT_SIZES);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)s->compacted);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)rv);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t erv = (uint64_t)sqlite3_column_int64(st, 0);
		if (erv > by_count && total - c->freed <= s->log_max_bytes)
			break;
		c->freed += (uint64_t)sqlite3_column_int64(st, 1);
		c->compacted = erv;
	}
	int ret = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_sql_errno(s, rc);
	sqlite3_reset(st);
	if (by_count > c->compacted)
		c->compacted = by_count;  /* a gap in the log: nothing to free */
	return ret;
}

/* The caller applies c to struct store only after the commit. */
int store_set_revision(struct store *s, uint64_t rv, struct store_log_change *c)
{
	int ret = set_meta(s, "revision", rv);
	if (ret == 0)
		ret = compaction_point(s, rv, c);
	if (ret < 0 || c->compacted <= s->compacted)
		return ret;
	sqlite3_stmt *st = store_stmt(s, ST_COMPACT);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)c->compacted);
	ret = step_done(s, st);
	sqlite3_reset(st);
	return ret < 0 ? ret : set_meta(s, "compacted", c->compacted);
}

/* ---- reads ------------------------------------------------------------------------ */

int store_get(struct store *s, enum store_resource r, const char *ns,
	      const char *name, json_t **out)
{
	if (!name)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	int ret = store_load(s, r, ns, name, out);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static json_t *meta_labels(json_t *obj)
{
	return json_object_get(json_object_get(obj, "metadata"), "labels");
}

/* Labels as the model sees them; values that are not strings are skipped
 * (validation rejects them before they are stored). */
static int labels_of(json_t *obj, struct np_labels *out)
{
	const char *key;
	json_t *v;
	json_object_foreach(meta_labels(obj), key, v) {
		if (json_is_string(v) && labels_set(out, key, json_string_value(v)) < 0)
			return -ENOMEM;
	}
	return 0;
}

bool store_filter_matches(const struct store_filter *f, json_t *obj)
{
	if (!f)
		return true;
	json_t *meta = json_object_get(obj, "metadata");
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	const char *name = json_string_value(json_object_get(meta, "name"));
	if (f->ns && (!ns || strcmp(ns, f->ns) != 0))
		return false;
	if (f->name && (!name || strcmp(name, f->name) != 0))
		return false;
	if (!f->labels)
		return true;
	struct np_labels l = {0};
	bool ok = labels_of(obj, &l) == 0 && selector_matches(f->labels, &l);
	labels_clear(&l);
	return ok;
}

static int list_locked(struct store *s, enum store_resource r,
		       const struct store_filter *f, json_t *items)
{
	bool by_ns = f && f->ns && store_resource_namespaced(r);
	sqlite3_stmt *st = store_stmt(s, by_ns ? ST_LIST_NS : ST_LIST_ALL);
	sqlite3_bind_text(st, 1, store_resource_name(r), -1, SQLITE_STATIC);
	if (by_ns)
		sqlite3_bind_text(st, 2, f->ns, -1, SQLITE_TRANSIENT);
	int rc, ret = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *obj = NULL;
		/* one row that cannot be read (written by an older version, or
		 * damaged) must not hide every other object from every client:
		 * it is skipped and counted (store_unreadable_rows) */
		if ((ret = load_body(st, &obj)) == -EIO) {
			s->unreadable++;
			ret = 0;
			continue;
		}
		if (ret == 0 && store_filter_matches(f, obj) && json_array_append(items, obj) < 0)
			ret = -ENOMEM;
		json_decref(obj);
		if (ret < 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_sql_errno(s, rc);
	sqlite3_reset(st);
	return ret;
}

int store_list(struct store *s, enum store_resource r,
	       const struct store_filter *f, json_t **items, uint64_t *rv)
{
	json_t *arr = json_array();
	if (!arr)
		return -ENOMEM;
	pthread_mutex_lock(&s->lock);
	int ret = list_locked(s, r, f, arr);
	if (rv)
		*rv = s->rv;
	pthread_mutex_unlock(&s->lock);
	if (ret < 0) {
		json_decref(arr);
		return ret;
	}
	*items = arr;
	return 0;
}

int store_list_locked(struct store *s, enum store_resource r,
		      const struct store_filter *f, json_t *items)
{
	return list_locked(s, r, f, items);
}
