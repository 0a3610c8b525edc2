/* disk.c: the database file's health and the space it takes: the
 * integrity check at open, the marker that says a store existed, the disk
 * reserve that lets deletes through on a full disk, and giving space back
 * to the file system once the event log was compacted. */
#include "store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Free pages from which a write hands them back: 1 MiB of 4 KiB pages. A
 * smaller freelist is left for the next writes to reuse. */
#define RECLAIM_PAGES 256

static int fail(char **err, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char **err, int ret, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err && vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
	return ret;
}

static char *sibling(const char *path, const char *suffix)
{
	char *out = NULL;
	return asprintf(&out, "%s%s", path, suffix) < 0 ? NULL : out;
}

/* ---- at open ------------------------------------------------------------------------------ */

/* The marker outlives a store.db that was deleted or truncated; SQLite
 * would open either as a new empty database. */
int store_disk_check_file(const struct store_options *o, char **err)
{
	if (!o->created_marker)
		return 0;
	char *marker = sibling(o->path, ".created");
	struct stat st;
	int ret = 0;
	if (!marker)
		return fail(err, -ENOMEM, "out of memory");
	if (access(marker, F_OK) < 0) {
		if (errno != ENOENT)
			ret = fail(err, -errno, "%s: %s", marker, strerror(errno));
		goto cleanup;
	}
	if (stat(o->path, &st) < 0)
		ret = fail(err, -errno, "%s is %s, but %s says this state directory had a store; "
			   "restore it from a backup, or move %s* aside to start an empty cluster",
			   o->path, errno == ENOENT ? "missing" : strerror(errno), marker, o->path);
	else if (st.st_size == 0)
		ret = fail(err, -EUCLEAN, "%s is empty (0 bytes), but %s says this state directory "
			   "had a store; restore it from a backup, or move %s* aside to start an "
			   "empty cluster", o->path, marker, o->path);
cleanup:
	free(marker);
	return ret;
}

/* quick_check's first problem on one line, without the banner SQLite
 * puts before it ("*** in database main ***"). */
static char *one_line(const char *v)
{
	const char *nl = strchr(v, '\n');
	char *out = strdup(strncmp(v, "***", 3) == 0 && nl ? nl + 1 : v);
	for (char *p = out; p && *p; p++)
		if (*p == '\n')
			*p = ' ';
	return out;
}

/* The first problem PRAGMA quick_check finds, or "ok", into *verdict;
 * SQLite's result code when the check itself cannot run (a file that is
 * not a database). */
static int quick_check(struct store *s, char **verdict)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		*verdict = one_line(v ? v : "no answer");
		rc = *verdict ? SQLITE_OK : SQLITE_NOMEM;
	}
	sqlite3_finalize(st);
	return rc;
}

int store_disk_quick_check(struct store *s, const struct store_options *o, char **err)
{
	char *verdict = NULL;
	int rc = quick_check(s, &verdict), ret = 0;
	if (rc == SQLITE_OK && strcmp(verdict, "ok") == 0)
		goto cleanup;
	ret = rc == SQLITE_OK ? -EUCLEAN : store_sql_errno(s, rc);
	if (ret == -EUCLEAN)
		fail(err, ret, "%s is corrupt (quick_check: %s); restore it from a backup, or "
		     "move %s* aside to start an empty cluster", o->path,
		     verdict ? verdict : sqlite3_errmsg(s->db), o->path);
	else
		fail(err, ret, "checking %s: %s", o->path, sqlite3_errmsg(s->db));
cleanup:
	free(verdict);
	return ret;
}

/* auto_vacuum can only be switched on for a file with tables by
 * rewriting it (VACUUM, which needs about the file's size again). */
int store_disk_convert(struct store *s, char **err)
{
	uint64_t mode = 0;
	int ret = store_query_int(s, "PRAGMA auto_vacuum", NULL, &mode);
	if (ret < 0 || mode == 2)
		return ret < 0 ? fail(err, ret, "reading auto_vacuum: %s", sqlite3_errmsg(s->db)) : 0;
	/* VACUUM writes the whole file again into the WAL: give that back */
	int rc = sqlite3_exec(s->db, "PRAGMA auto_vacuum=INCREMENTAL; VACUUM; "
			      "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	ret = rc == SQLITE_OK ? 0 : store_sql_errno(s, rc);
	/* on a full disk the store must still open so that deletes can
	 * free space; the next start converts it */
	if (ret == -ENOSPC || ret == -EDQUOT)
		return 0;
	return ret < 0 ? fail(err, ret, "converting the store to auto_vacuum: %s",
			      sqlite3_errmsg(s->db)) : 0;
}

/* The marker's directory entry must be as durable as the store's. */
static int sync_dir_of(const char *path)
{
	char *dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	char *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = 0;
	int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = fd < 0 || fsync(fd) < 0 ? -errno : 0;
	if (fd >= 0)
		close(fd);
	free(dir);
	return ret;
}

static int write_marker(const char *marker)
{
	static const char text[] =
		"netpol: the store next to this file exists. While this file is here, netpol\n"
		"serve refuses to start when the store is missing or empty.\n";
	int fd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	int ret = 0;
	errno = 0;  /* a short write sets none */
	if (write(fd, text, sizeof(text) - 1) != (ssize_t)sizeof(text) - 1 || fsync(fd) < 0)
		ret = errno ? -errno : -EIO;
	close(fd);
	if (ret == 0)
		ret = sync_dir_of(marker);
	if (ret < 0)
		unlink(marker);
	return ret;
}

int store_disk_mark_created(const struct store_options *o, char **err)
{
	if (!o->created_marker)
		return 0;
	char *marker = sibling(o->path, ".created");
	int ret = marker ? write_marker(marker) : -ENOMEM;
	if (ret < 0)
		fail(err, ret, "%s: %s", marker ? marker : o->path, strerror(-ret));
	free(marker);
	return ret;
}

/* ---- the disk reserve ------------------------------------------------------------------------ */

/* A failed allocation leaves no half reserve behind: the space it took
 * is what the next write needs. */
static int reserve_make(struct store *s)
{
	int fd = open(s->reserve_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int rc = posix_fallocate(fd, 0, (off_t)s->reserve_size);
	if (rc == 0 && ftruncate(fd, (off_t)s->reserve_size) < 0)
		rc = errno;
	close(fd);
	if (rc != 0) {
		unlink(s->reserve_path);
		return -rc;
	}
	s->reserve_held = true;
	return 0;
}

int store_disk_reserve_init(struct store *s, const struct store_options *o)
{
	if (o->disk_reserve <= 0)
		return 0;
	s->reserve_size = o->disk_reserve;
	if (!(s->reserve_path = sibling(o->path, ".reserve")))
		return -ENOMEM;
	/* no room now: creates wait until there is (store_disk_writable) */
	reserve_make(s);
	return 0;
}

void store_disk_reserve_free(struct store *s)
{
	free(s->reserve_path);
	s->reserve_path = NULL;
}

int store_disk_writable(struct store *s, bool frees)
{
	if (s->corrupt)
		return -EUCLEAN;
	if (frees || !s->reserve_path || s->reserve_held)
		return 0;
	return reserve_make(s);
}

int store_disk_release(struct store *s)
{
	if (!s->reserve_held)
		return -ENOENT;
	s->reserve_held = false;
	return unlink(s->reserve_path) < 0 ? -errno : 0;
}

/* ---- giving space back --------------------------------------------------------------------- */

static uint64_t free_pages(struct store *s)
{
	sqlite3_stmt *st = store_stmt(s, ST_FREELIST);
	uint64_t n = 0;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		n = (uint64_t)sqlite3_column_int64(st, 0);
	else
		store_sql_errno(s, rc);
	sqlite3_reset(st);
	return n;
}

/* incremental_vacuum moves the free pages to the end and cuts them off;
 * the cut reaches the file at the checkpoint, which TRUNCATE also makes
 * empty the WAL. Failures (a full disk) leave the space for next time. */
static void reclaim(struct store *s)
{
	static const char *const sql[] = {"PRAGMA incremental_vacuum",
					  "PRAGMA wal_checkpoint(TRUNCATE)"};
	for (size_t i = 0; i < 2; i++) {
		int rc = sqlite3_exec(s->db, sql[i], NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			store_sql_errno(s, rc);
	}
}

void store_disk_after_write(struct store *s)
{
	bool released = s->reserve_path && !s->reserve_held;
	if (released || free_pages(s) >= RECLAIM_PAGES)
		reclaim(s);
	if (released)
		reserve_make(s);
}
