/* diag: user-facing error and warning records with source locations.
 *
 * Library code never prints; it appends records here and returns -errno.
 * Only the CLI formats and prints them ("file:line:col: error: message").
 */
#ifndef NETPOL_DIAG_H
#define NETPOL_DIAG_H

#include <stdarg.h>
#include <stddef.h>

enum diag_level { DIAG_ERROR, DIAG_WARNING, DIAG_NOTE };

struct diag {
	enum diag_level level;
	char *file;  /* may be NULL (no source, e.g. a REST body) */
	int line;    /* 1-based; 0 when unknown */
	int col;     /* 1-based; 0 when unknown */
	char *code;  /* short code for lint findings, e.g. "NP003"; NULL otherwise */
	char *msg;
};

struct diag_list {
	struct diag *items;
	size_t n, cap;
};

/* Appends a record; file and code are copied. Returns 0 or -ENOMEM. */
int diag_add(struct diag_list *l, enum diag_level level, const char *file,
	     int line, int col, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
int diag_addv(struct diag_list *l, enum diag_level level, const char *file,
	      int line, int col, const char *code, const char *fmt, va_list ap);

/* An error with no source location (e.g. a kernel or system failure);
 * does nothing when l is NULL, so callers may pass an optional list. */
void diag_error(struct diag_list *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

size_t diag_count(const struct diag_list *l, enum diag_level level);

/* Sorts by file, line, col (stable), so errors print in source order. */
void diag_sort(struct diag_list *l);

/* "file:line:col: error: msg" (parts that are unknown are left out).
 * With a code: "file:line:col: warning: [NP003] msg". Caller frees. */
char *diag_format(const struct diag *d);

void diag_list_clear(struct diag_list *l);

#endif
