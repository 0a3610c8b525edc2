/* store: the lab's embedded object store.
 *
 * Kubernetes objects are kept as their JSON (jansson json_t in memory, text
 * in SQLite) keyed by (resource, namespace, name). SQLite runs in WAL mode
 * with synchronous=FULL, so a write is on disk before the call returns: a
 * caller that acknowledges a write after store_* returned 0 never loses it,
 * even if the process is killed right after.
 *
 * One global revision counter plays the role of etcd's revision: every
 * write bumps it inside its transaction, stores it as the object's
 * metadata.resourceVersion and appends an event (ADDED, MODIFIED, DELETED)
 * to an event log. Watches replay the log from a revision and then follow
 * live writes, in revision order. The log keeps the newest N events, and
 * no more than B bytes of them; a watch from before them fails with -ERANGE
 * (the API answers 410 Gone). Space the log gives up goes back to the file
 * system (auto_vacuum=INCREMENTAL, WAL checkpoints that truncate).
 *
 * The store refuses to open a corrupt database (PRAGMA quick_check) and
 * stops writing when SQLite finds corruption later (-EUCLEAN). A full disk
 * is -ENOSPC; with a disk reserve, deletes still work on a full disk.
 *
 * Every function is thread-safe. Objects passed in are borrowed (the store
 * copies what it keeps); objects handed out are new references the caller
 * must json_decref. Functions return 0 or -errno and never print; errors
 * worth telling a user come back as text in *err where offered.
 *
 * Error codes used throughout:
 *   -ENOENT  the object does not exist
 *   -EEXIST  create of a name that exists
 *   -ESTALE  a resourceVersion precondition failed (HTTP 409 Conflict)
 *   -ENXIO   create in a namespace that does not exist
 *   -EPERM   create in a namespace that is being terminated
 *   -EINVAL  the object lacks what the store needs (name, metadata)
 *   -ERANGE  watch from a revision older than the kept event log
 *   -ENOSPC  the disk is full, or the disk reserve cannot be made again
 *            (-EDQUOT when a quota is what is full)
 *   -EUCLEAN the database is corrupt; no write is accepted any more
 *   -EIO     SQLite failed otherwise
 */
#ifndef NETPOL_STORE_H
#define NETPOL_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "../model/model.h"

/* ---- resources ------------------------------------------------------------- */

enum store_resource {
	STORE_NAMESPACES,
	STORE_PODS,
	STORE_DEPLOYMENTS,
	STORE_SERVICES,
	STORE_ENDPOINTS,
	STORE_NETWORKPOLICIES,
};
#define STORE_NRESOURCES 6

/* Plural lower-case name as in URLs: "pods", "networkpolicies". */
const char *store_resource_name(enum store_resource r);
/* Kind as in objects: "Pod", "NetworkPolicy". */
const char *store_resource_kind(enum store_resource r);
/* "v1", "apps/v1", "networking.k8s.io/v1". */
const char *store_resource_api_version(enum store_resource r);
bool store_resource_namespaced(enum store_resource r);
/* Accepts the plural resource name. Returns 0 or -ENOENT. */
int store_resource_parse(const char *name, enum store_resource *out);
/* Accepts a kind ("Pod"). Returns 0 or -ENOENT. */
int store_resource_from_kind(const char *kind, enum store_resource *out);

/* ---- opening and closing ----------------------------------------------------- */

struct store;

/* Options; zero-initialise, then set what you need (the struct may grow). */
struct store_options {
	const char *path;       /* the database file, e.g. STATE_DIR/store.db */
	long event_log_size;    /* events kept for watches; 0 = 10000 */
	/* Bytes of event bodies kept for watches; 0 = 64 MiB. The newest
	 * event is kept whatever its size. */
	long long event_log_bytes;
	/* Bytes preallocated in PATH.reserve; 0 = no reserve. When a delete
	 * finds the disk full, the reserve is given up so that the delete
	 * goes through; until it can be made again, creates and updates fail
	 * with -ENOSPC, so only deletes can use the space it freed. */
	long long disk_reserve;
	/* Write PATH.created once the store exists, and while it exists
	 * refuse a missing or empty PATH, which would otherwise open as a new
	 * empty store and lose every object without a word. */
	bool created_marker;
};

/* Opens (creating if needed) the database after checking it: -EUCLEAN
 * when it is corrupt or empty while PATH.created exists, -ENOENT when it
 * is missing while PATH.created exists. On failure returns -errno and,
 * when err is non-NULL, sets *err to a message the caller frees (for a
 * corrupt or missing store it names the file and how to recover). */
int store_open(const struct store_options *opts, struct store **out, char **err);
/* Closes the database. Every watch must have been closed before.
 * store_close(NULL) is a no-op. */
void store_close(struct store *s);

/* The newest revision written (0 for an empty store). */
uint64_t store_revision(struct store *s);

/* How many stored rows (objects in lists, events in watch replays) were
 * skipped because they could not be read back as JSON, since the store
 * was opened. A caller can compare it before and after to log what was
 * left out. */
uint64_t store_unreadable_rows(struct store *s);
/* Frees what SQLite's page cache holds but does not need (it fills as the
 * database grows and a burst of requests would keep it full). */
void store_release_memory(struct store *s);

/* ---- reads --------------------------------------------------------------------- */

/* ns is ignored for cluster-scoped resources. */
int store_get(struct store *s, enum store_resource r, const char *ns,
	      const char *name, json_t **out);

/* Filters for store_list and watches; zero-initialise. A NULL field does
 * not filter. */
struct store_filter {
	const char *ns;                        /* namespace; NULL = all */
	const char *name;                      /* metadata.name (fieldSelector) */
	const struct np_selector *labels;      /* label selector */
};

/* Every object of r that passes f (may be NULL), sorted by namespace and
 * name, as a new JSON array in *items; *rv (may be NULL) receives the
 * revision the list was read at. */
int store_list(struct store *s, enum store_resource r,
	       const struct store_filter *f, json_t **items, uint64_t *rv);

/* True when obj passes f (labels are read from metadata.labels). */
bool store_filter_matches(const struct store_filter *f, json_t *obj);

/* ---- writes ---------------------------------------------------------------------- */

enum {
	/* Validate and prepare as usual, return the object the write would
	 * produce, but change nothing (dryRun=All). */
	STORE_DRY_RUN = 1 << 0,
	/* The main resource of a kind with a status: status in the object is
	 * ignored and the stored status kept (or left empty on create), as
	 * the API server does for PUT/PATCH on the object itself. */
	STORE_KEEP_STATUS = 1 << 1,
	/* The status subresource: only status is taken from the object. */
	STORE_STATUS_ONLY = 1 << 2,
};

/* Creates obj (borrowed). metadata.name (or metadata.generateName, to which
 * five random characters are appended) is required; metadata.namespace is
 * required for namespaced resources and must name an existing Namespace.
 * The store sets kind, apiVersion, metadata.uid (UUID v4),
 * creationTimestamp (RFC 3339 UTC), generation 1 and resourceVersion and
 * fills the defaults the API server fills (e.g. a Namespace's
 * kubernetes.io/metadata.name label). *out (may be NULL) receives the
 * stored object. */
int store_create(struct store *s, enum store_resource r, json_t *obj,
		 unsigned flags, json_t **out);

/* Replaces the object named by obj's metadata. When obj carries a
 * non-empty metadata.resourceVersion it must equal the stored one, else
 * -ESTALE. uid and creationTimestamp are kept; generation is bumped when
 * anything outside metadata and status changed. An update that changes
 * nothing writes nothing and returns the stored object. */
int store_update(struct store *s, enum store_resource r, json_t *obj,
		 unsigned flags, json_t **out);

/* Read-modify-write as one atomic step, for PATCH and controllers: fn gets
 * a copy of the stored object, changes it in place and returns 0 (or a
 * negative errno that aborts the write and is returned as is). Then the
 * result is written as by store_update, except that a resourceVersion fn
 * leaves in the object is only checked if fn changed it. fn runs with the
 * store locked: keep it short and do not call the store from it. */
typedef int (*store_mutate_fn)(json_t *obj, void *ctx);
int store_modify(struct store *s, enum store_resource r, const char *ns,
		 const char *name, store_mutate_fn fn, void *ctx,
		 unsigned flags, json_t **out);

/* Deletes an object. rv (may be NULL or "") is a precondition: when set
 * it must equal the stored resourceVersion, else -ESTALE. *out (may be
 * NULL) receives the object as it was, with the resourceVersion of the
 * deletion. */
int store_delete(struct store *s, enum store_resource r, const char *ns,
		 const char *name, const char *rv, unsigned flags, json_t **out);

/* The first phase of a two-phase delete (a Namespace's): sets
 * metadata.deletionTimestamp and, for a Namespace, status.phase
 * Terminating, as one MODIFIED write; the object stays until a
 * controller has removed what depends on it and calls store_delete.
 * Creates in a terminating Namespace fail with -EPERM. Marking an object
 * already marked writes nothing. rv and flags as for store_delete; *out
 * (may be NULL) receives the marked object. */
int store_mark_deleted(struct store *s, enum store_resource r, const char *ns,
		       const char *name, const char *rv, unsigned flags, json_t **out);

/* ---- watches ------------------------------------------------------------------------ */

enum store_event_type { STORE_ADDED, STORE_MODIFIED, STORE_DELETED };

/* "ADDED", "MODIFIED", "DELETED". */
const char *store_event_type_name(enum store_event_type t);

struct store_event {
	enum store_event_type type;
	enum store_resource resource;
	uint64_t rv;
	json_t *object;              /* a reference, shared with other
				      * watches: read it, never change it */
};

void store_event_free(struct store_event *e);

struct store_watch;

/* What to watch; zero-initialise. */
struct store_watch_options {
	unsigned resources;          /* bit (1u << STORE_PODS) etc.; 0 = all */
	struct store_filter filter;  /* copied; labels are matched against the
				      * new object (old one for DELETED) */
	uint64_t from_rv;            /* deliver events with rv > from_rv */
	/* Instead of replaying from from_rv: first an ADDED event for every
	 * object that exists now (with the current revision as their rv),
	 * then every later change. The list and the subscription are taken
	 * atomically, as an informer needs. */
	bool initial_state;
	/* How far the watch may fall behind: once more than max_queue events
	 * (or max_bytes bytes of them, as JSON) were published after the
	 * oldest one it has not taken, it is dropped (next() returns -ERANGE,
	 * as if compacted) and what it held is freed. Events it does not want
	 * count while it has some it wants ahead, since it pins them too. A
	 * replay longer than that fails the open with -ERANGE. 0 = the
	 * defaults below. */
	long max_queue;
	long max_bytes;
};
#define STORE_WATCH_MAX_EVENTS 10000
#define STORE_WATCH_MAX_BYTES (32L << 20)

/* Opens a watch. -ERANGE when from_rv is older than the kept event log. */
int store_watch_open(struct store *s, const struct store_watch_options *o,
		     struct store_watch **out);

/* Takes the next event, waiting up to timeout_ms (-1 = forever). Returns
 * 0 and a new event in *ev, -ETIMEDOUT, -ECANCELED after
 * store_watch_cancel, or -ERANGE when the watch fell too far behind. */
int store_watch_next(struct store_watch *w, int timeout_ms,
		     struct store_event **ev);

/* A file descriptor that polls readable while events are queued (an
 * eventfd), for callers with their own poll loop. */
int store_watch_fd(struct store_watch *w);

/* Wakes a waiting store_watch_next with -ECANCELED; safe from any thread. */
void store_watch_cancel(struct store_watch *w);

/* Unsubscribes and frees. store_watch_close(NULL) is a no-op. */
void store_watch_close(struct store_watch *w);

#endif
