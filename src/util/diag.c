#include "diag.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int diag_addv(struct diag_list *l, enum diag_level level, const char *file,
	      int line, int col, const char *code, const char *fmt, va_list ap)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct diag *items = realloc(l->items, cap * sizeof(*items));
		if (!items)
			return -ENOMEM;
		l->items = items;
		l->cap = cap;
	}
	struct diag *d = &l->items[l->n];
	memset(d, 0, sizeof(*d));
	d->level = level;
	d->line = line;
	d->col = col;
	if (vasprintf(&d->msg, fmt, ap) < 0)
		return -ENOMEM;
	d->file = file ? strdup(file) : NULL;
	d->code = code ? strdup(code) : NULL;
	if ((file && !d->file) || (code && !d->code)) {
		free(d->msg);
		free(d->file);
		free(d->code);
		return -ENOMEM;
	}
	l->n++;
	return 0;
}

int diag_add(struct diag_list *l, enum diag_level level, const char *file,
	     int line, int col, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = diag_addv(l, level, file, line, col, code, fmt, ap);
	va_end(ap);
	return r;
}

void diag_error(struct diag_list *l, const char *fmt, ...)
{
	va_list ap;
	if (!l)
		return;
	va_start(ap, fmt);
	diag_addv(l, DIAG_ERROR, NULL, 0, 0, NULL, fmt, ap);
	va_end(ap);
}

size_t diag_count(const struct diag_list *l, enum diag_level level)
{
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		n += l->items[i].level == level;
	return n;
}

static int diag_cmp(const struct diag *a, const struct diag *b)
{
	int c = strcmp(a->file ? a->file : "", b->file ? b->file : "");
	if (c)
		return c;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	return 0;
}

void diag_sort(struct diag_list *l)
{
	/* insertion sort: stable, and lists are short */
	for (size_t i = 1; i < l->n; i++) {
		struct diag d = l->items[i];
		size_t j = i;
		while (j > 0 && diag_cmp(&l->items[j - 1], &d) > 0) {
			l->items[j] = l->items[j - 1];
			j--;
		}
		l->items[j] = d;
	}
}

static const char *level_name(enum diag_level level)
{
	switch (level) {
	case DIAG_ERROR: return "error";
	case DIAG_WARNING: return "warning";
	default: return "note";
	}
}

char *diag_format(const struct diag *d)
{
	char loc[512] = "";
	if (d->file && d->line > 0 && d->col > 0)
		snprintf(loc, sizeof(loc), "%s:%d:%d: ", d->file, d->line, d->col);
	else if (d->file && d->line > 0)
		snprintf(loc, sizeof(loc), "%s:%d: ", d->file, d->line);
	else if (d->file)
		snprintf(loc, sizeof(loc), "%s: ", d->file);
	char *out = NULL;
	int r;
	if (d->code)
		r = asprintf(&out, "%s%s: [%s] %s", loc, level_name(d->level), d->code, d->msg);
	else
		r = asprintf(&out, "%s%s: %s", loc, level_name(d->level), d->msg);
	return r < 0 ? NULL : out;
}

void diag_list_clear(struct diag_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].file);
		free(l->items[i].code);
		free(l->items[i].msg);
	}
	free(l->items);
	l->items = NULL;
	l->n = l->cap = 0;
}
