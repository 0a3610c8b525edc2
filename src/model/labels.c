/* labels: a small sorted map from key to value. Sets are short (a handful
 * of labels per object), so a sorted array with binary search beats a hash
 * table and gives the canonical order for free. */
#include "model.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Index of key, or -(insertion point) - 1 when absent. */
static long labels_find(const struct np_labels *l, const char *key)
{
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(l->items[mid].key, key);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

int labels_set(struct np_labels *l, const char *key, const char *value)
{
	char *v = strdup(value);
	if (!v)
		return -ENOMEM;
	long i = labels_find(l, key);
	if (i >= 0) {
		free(l->items[i].value);
		l->items[i].value = v;
		return 0;
	}
	size_t at = (size_t)(-i - 1);
	char *k = strdup(key);
	struct np_label *items = k ? realloc(l->items, (l->n + 1) * sizeof(*items)) : NULL;
	if (!items) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	memmove(&items[at + 1], &items[at], (l->n - at) * sizeof(*items));
	items[at].key = k;
	items[at].value = v;
	l->items = items;
	l->n++;
	return 0;
}

const char *labels_get(const struct np_labels *l, const char *key)
{
	long i = labels_find(l, key);
	return i >= 0 ? l->items[i].value : NULL;
}

int labels_remove(struct np_labels *l, const char *key)
{
	long i = labels_find(l, key);
	if (i < 0)
		return -ENOENT;
	free(l->items[i].key);
	free(l->items[i].value);
	memmove(&l->items[i], &l->items[i + 1], (l->n - (size_t)i - 1) * sizeof(*l->items));
	l->n--;
	if (l->n == 0) {
		free(l->items);
		l->items = NULL;
	}
	return 0;
}

int labels_copy(struct np_labels *dst, const struct np_labels *src)
{
	struct np_labels tmp = {0};
	if (src->n) {
		tmp.items = calloc(src->n, sizeof(*tmp.items));
		if (!tmp.items)
			return -ENOMEM;
	}
	for (; tmp.n < src->n; tmp.n++) {
		struct np_label *d = &tmp.items[tmp.n];
		d->key = strdup(src->items[tmp.n].key);
		d->value = strdup(src->items[tmp.n].value);
		if (!d->key || !d->value) {
			tmp.n++;
			labels_clear(&tmp);
			return -ENOMEM;
		}
	}
	labels_clear(dst);
	*dst = tmp;
	return 0;
}

bool labels_equal(const struct np_labels *a, const struct np_labels *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		if (strcmp(a->items[i].key, b->items[i].key) ||
		    strcmp(a->items[i].value, b->items[i].value))
			return false;
	}
	return true;
}

void labels_clear(struct np_labels *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].key);
		free(l->items[i].value);
	}
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

char *labels_to_string(const struct np_labels *l)
{
	if (l->n == 0)
		return strdup("<none>");
	size_t len = 1;
	for (size_t i = 0; i < l->n; i++)
		len += strlen(l->items[i].key) + strlen(l->items[i].value) + 2;
	char *out = malloc(len);
	if (!out)
		return NULL;
	char *p = out;
	for (size_t i = 0; i < l->n; i++) {
		p = stpcpy(p, i ? "," : "");
		p = stpcpy(p, l->items[i].key);
		*p++ = '=';
		p = stpcpy(p, l->items[i].value);
	}
	*p = '\0';
	return out;
}
