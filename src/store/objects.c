/* objects.c: the write paths. Each write is one SQLite transaction that
 * changes the object's row, appends its event and bumps the revision; the
 * event reaches watches only after the transaction committed. */
#include "store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *obj_ns(enum store_resource r, json_t *obj)
{
	const char *ns = store_meta_str(obj, "namespace");
	return store_resource_namespaced(r) && ns ? ns : "";
}

/* INSERT, UPDATE or DELETE of obj's row, by event type. */
static int write_row(struct store *s, enum store_event_type t,
		     enum store_resource r, json_t *obj, uint64_t rv)
{
	static const enum store_stmt which[] = {
		[STORE_ADDED] = ST_INSERT, [STORE_MODIFIED] = ST_UPDATE,
		[STORE_DELETED] = ST_DELETE,
	};
	sqlite3_stmt *st = store_stmt(s, which[t]);
	sqlite3_bind_text(st, 1, store_resource_name(r), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, obj_ns(r, obj), -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, store_meta_str(obj, "name"), -1, SQLITE_TRANSIENT);
	if (t != STORE_DELETED) {
		char *body = json_dumps(obj, JSON_COMPACT);
		if (!body)
			return -ENOMEM;
		sqlite3_bind_int64(st, 4, (sqlite3_int64)rv);
		sqlite3_bind_text(st, 5, body, -1, free);
	}
	int rc = sqlite3_step(st);
	bool one = sqlite3_changes(s->db) == 1;
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_sql_errno(s, rc);
	return one ? 0 : -EIO;
}

/* The row, the event and the revision as one transaction. */
static int write_change(struct store *s, enum store_event_type t, enum store_resource r,
			json_t *obj, uint64_t rv, struct store_log_change *c)
{
	int ret = store_begin(s);
	if (ret < 0)
		return ret;
	if ((ret = write_row(s, t, r, obj, rv)) < 0 ||
	    (ret = store_log_event(s, rv, t, r, obj, c)) < 0 ||
	    (ret = store_set_revision(s, rv, c)) < 0 ||
	    (ret = store_commit(s)) < 0)
		store_rollback(s);
	return ret;
}

/* Writes obj as the next revision; on success the event is published.
 * A write that frees (a delete, or the mark that starts one) may give up
 * the disk reserve when the disk is full. Caller holds the lock. */
static int commit_change(struct store *s, enum store_event_type t,
			 enum store_resource r, json_t *obj, bool frees)
{
	uint64_t rv = s->rv + 1;
	struct store_log_change c = {0};
	int ret = store_disk_writable(s, frees);
	if (ret == 0)
		ret = store_set_rv(obj, rv);
	if (ret == 0)
		ret = write_change(s, t, r, obj, rv, &c);
	if (ret == -ENOSPC && frees && store_disk_release(s) == 0)
		ret = write_change(s, t, r, obj, rv, &c);
	if (ret < 0)
		return ret;
	s->rv = rv;
	s->compacted = c.compacted;
	s->log_bytes += c.added;
	s->log_bytes -= c.freed < s->log_bytes ? c.freed : s->log_bytes;
	store_watch_publish(s, rv, t, r, obj);
	store_disk_after_write(s);
	return 0;
}

/* 0 when objects may be created in ns: it exists and is not terminating. */
static int namespace_open(struct store *s, const char *ns)
{
	json_t *obj = NULL;
	int ret = store_load(s, STORE_NAMESPACES, "", ns ? ns : "", &obj);
	if (ret == 0 && store_meta_str(obj, "deletionTimestamp"))
		ret = -EPERM;
	json_decref(obj);
	return ret == -ENOENT ? -ENXIO : ret;
}

static void hand_out(json_t *obj, json_t **out)
{
	if (out)
		*out = obj;
	else
		json_decref(obj);
}

static int create_locked(struct store *s, enum store_resource r, json_t *obj,
			 unsigned flags)
{
	int ret = 0;
	if (store_resource_namespaced(r))
		ret = namespace_open(s, store_meta_str(obj, "namespace"));
	json_t *old = NULL;
	if (ret == 0 && (ret = store_load(s, r, obj_ns(r, obj), store_meta_str(obj, "name"), &old)) == 0)
		ret = -EEXIST;
	json_decref(old);
	if (ret != -ENOENT)
		return ret;
	if (flags & STORE_DRY_RUN)
		return 0;
	return commit_change(s, STORE_ADDED, r, obj, false);
}

int store_create(struct store *s, enum store_resource r, json_t *obj,
		 unsigned flags, json_t **out)
{
	json_t *copy = json_deep_copy(obj);
	if (!copy)
		return json_is_object(obj) ? -ENOMEM : -EINVAL;
	int ret = store_prepare_create(r, copy, flags);
	if (ret == 0) {
		pthread_mutex_lock(&s->lock);
		ret = create_locked(s, r, copy, flags);
		pthread_mutex_unlock(&s->lock);
	}
	if (ret < 0) {
		json_decref(copy);
		return ret;
	}
	hand_out(copy, out);
	return 0;
}

static bool rv_matches(json_t *old, const char *rv)
{
	const char *cur = store_meta_str(old, "resourceVersion");
	return !rv || !*rv || (cur && strcmp(cur, rv) == 0);
}

/* Writes obj over old unless nothing changed; *out gets the result. */
static int update_locked(struct store *s, enum store_resource r, json_t *old,
			 json_t *obj, unsigned flags, json_t **out)
{
	bool spec_changed;
	int ret = store_prepare_update(r, old, obj, flags, &spec_changed);
	if (ret < 0)
		return ret;
	if (json_equal(old, obj) || (flags & STORE_DRY_RUN)) {
		*out = json_equal(old, obj) ? json_incref(old) : json_incref(obj);
		return 0;
	}
	if ((ret = commit_change(s, STORE_MODIFIED, r, obj, false)) < 0)
		return ret;
	*out = json_incref(obj);
	return 0;
}

int store_update(struct store *s, enum store_resource r, json_t *obj,
		 unsigned flags, json_t **out)
{
	const char *name = store_meta_str(obj, "name");
	if (!name)
		return -EINVAL;
	json_t *copy = json_deep_copy(obj), *old = NULL, *res = NULL;
	if (!copy)
		return -ENOMEM;
	pthread_mutex_lock(&s->lock);
	int ret = store_load(s, r, obj_ns(r, obj), name, &old);
	if (ret == 0 && !rv_matches(old, store_meta_str(obj, "resourceVersion")))
		ret = -ESTALE;
	if (ret == 0)
		ret = update_locked(s, r, old, copy, flags, &res);
	pthread_mutex_unlock(&s->lock);
	json_decref(old);
	json_decref(copy);
	if (ret < 0)
		return ret;
	hand_out(res, out);
	return 0;
}

static int modify_locked(struct store *s, enum store_resource r, const char *ns,
			 const char *name, store_mutate_fn fn, void *ctx,
			 unsigned flags, json_t **out)
{
	json_t *old = NULL, *copy = NULL;
	int ret = store_load(s, r, ns, name, &old);
	if (ret < 0)
		return ret;
	if (!(copy = json_deep_copy(old)))
		ret = -ENOMEM;
	if (ret == 0)
		ret = fn(copy, ctx);
	/* A resourceVersion the change wrote is a precondition, as in a
	 * PATCH body; one it left alone is the stored one. */
	if (ret == 0 && !json_is_object(json_object_get(copy, "metadata")))
		ret = -EINVAL;
	if (ret == 0 && !rv_matches(old, store_meta_str(copy, "resourceVersion")))
		ret = -ESTALE;
	if (ret == 0)
		ret = update_locked(s, r, old, copy, flags, out);
	json_decref(old);
	json_decref(copy);
	return ret;
}

int store_modify(struct store *s, enum store_resource r, const char *ns,
		 const char *name, store_mutate_fn fn, void *ctx,
		 unsigned flags, json_t **out)
{
	json_t *res = NULL;
	pthread_mutex_lock(&s->lock);
	int ret = modify_locked(s, r, ns, name, fn, ctx, flags, &res);
	pthread_mutex_unlock(&s->lock);
	if (ret < 0)
		return ret;
	hand_out(res, out);
	return 0;
}

static int delete_locked(struct store *s, enum store_resource r, const char *ns,
			 const char *name, const char *rv, unsigned flags,
			 json_t **out)
{
	json_t *old = NULL;
	int ret = store_load(s, r, ns, name, &old);
	if (ret == 0 && !rv_matches(old, rv))
		ret = -ESTALE;
	if (ret == 0 && !(flags & STORE_DRY_RUN))
		ret = commit_change(s, STORE_DELETED, r, old, true);
	if (ret < 0) {
		json_decref(old);
		return ret;
	}
	*out = old;
	return 0;
}

int store_delete(struct store *s, enum store_resource r, const char *ns,
		 const char *name, const char *rv, unsigned flags, json_t **out)
{
	json_t *res = NULL;
	if (!name)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	int ret = delete_locked(s, r, ns, name, rv, flags, &res);
	pthread_mutex_unlock(&s->lock);
	if (ret < 0)
		return ret;
	hand_out(res, out);
	return 0;
}

/* Sets what marks obj as being deleted; false when it already was. */
static bool mark(enum store_resource r, json_t *obj)
{
	json_t *meta = json_object_get(obj, "metadata");
	if (json_object_get(meta, "deletionTimestamp"))
		return false;
	char ts[32];
	store_now_rfc3339(ts);
	json_object_set_new(meta, "deletionTimestamp", json_string(ts));
	json_object_set_new(meta, "deletionGracePeriodSeconds", json_integer(0));
	if (r == STORE_NAMESPACES) {
		json_t *st = json_object_get(obj, "status");
		if (!json_is_object(st)) {
			st = json_object();
			json_object_set_new(obj, "status", st);
		}
		json_object_set_new(st, "phase", json_string("Terminating"));
	}
	return true;
}

static int mark_locked(struct store *s, enum store_resource r, const char *ns,
		       const char *name, const char *rv, unsigned flags, json_t **out)
{
	json_t *obj = NULL;
	int ret = store_load(s, r, ns, name, &obj);
	if (ret == 0 && !rv_matches(obj, rv))
		ret = -ESTALE;
	/* the write goes around store_prepare_update on purpose: the
	 * deletion fields are system fields it would restore */
	if (ret == 0 && mark(r, obj) && !(flags & STORE_DRY_RUN))
		ret = commit_change(s, STORE_MODIFIED, r, obj, true);
	if (ret < 0) {
		json_decref(obj);
		return ret;
	}
	*out = obj;
	return 0;
}

int store_mark_deleted(struct store *s, enum store_resource r, const char *ns,
		       const char *name, const char *rv, unsigned flags, json_t **out)
{
	json_t *res = NULL;
	if (!name)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	int ret = mark_locked(s, r, store_resource_namespaced(r) && ns ? ns : "", name, rv,
			      flags, &res);
	pthread_mutex_unlock(&s->lock);
	if (ret < 0)
		return ret;
	hand_out(res, out);
	return 0;
}
