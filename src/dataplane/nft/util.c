/* util: strings, hashing, a small map and the canonical forms that let a
 * program read back from the kernel compare equal to a compiled one. */
#include "util/hash.h"
#include "nft_internal.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a growing string ------------------------------------------------------ */

static bool sb_reserve(struct sb *b, size_t more)
{
	if (b->oom)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *s = realloc(b->s, cap);
	if (!s) {
		b->oom = true;
		return false;
	}
	b->s = s;
	b->cap = cap;
	return true;
}

void sb_addn(struct sb *b, const char *s, size_t n)
{
	if (!sb_reserve(b, n))
		return;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void sb_add(struct sb *b, const char *s)
{
	sb_addn(b, s, strlen(s));
}

void sb_addf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !sb_reserve(b, (size_t)n)) {
		b->oom = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *sb_take(struct sb *b)
{
	char *s;
	if (b->oom || !sb_reserve(b, 0)) {
		sb_clear(b);
		return NULL;
	}
	b->s[b->len] = '\0';
	s = b->s;
	memset(b, 0, sizeof(*b));
	return s;
}

void sb_clear(struct sb *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}

bool nft_str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* ---- names ----------------------------------------------------------------- */

/* FNV-1a: stable across runs and versions, which set names must be (a
 * restarted agent recognises its sets by name). */
uint64_t nft_hash(const char *s)
{
	return fnv1a64(s);
}

char *nft_comment(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(NFT_COMMENT_MAX + 1);
	if (!out)
		return NULL;
	if (n > NFT_COMMENT_MAX)
		n = NFT_COMMENT_MAX - 3;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		out[i] = (c < 0x20 || c > 0x7e || c == '"' || c == '\\') ? '?' : (char)c;
	}
	if (n < strlen(s))
		memcpy(out + n, "...", 4);
	else
		out[n] = '\0';
	return out;
}


/* ---- a string -> pointer map ---------------------------------------------- */

static size_t smap_slot(const struct smap *m, const char *key)
{
	size_t i = (size_t)nft_hash(key) & (m->cap - 1);
	while (m->keys[i] && strcmp(m->keys[i], key) != 0)
		i = (i + 1) & (m->cap - 1);
	return i;
}

void *smap_get(const struct smap *m, const char *key)
{
	if (!m->cap)
		return NULL;
	size_t i = smap_slot(m, key);
	return m->keys[i] ? m->vals[i] : NULL;
}

static int smap_grow(struct smap *m)
{
	struct smap bigger = {0};
	bigger.cap = m->cap ? m->cap * 2 : 16;
	bigger.keys = calloc(bigger.cap, sizeof(*bigger.keys));
	bigger.vals = calloc(bigger.cap, sizeof(*bigger.vals));
	if (!bigger.keys || !bigger.vals) {
		free(bigger.keys);
		free(bigger.vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->keys[i])
			continue;
		size_t j = smap_slot(&bigger, m->keys[i]);
		bigger.keys[j] = m->keys[i];
		bigger.vals[j] = m->vals[i];
	}
	bigger.n = m->n;
	free(m->keys);
	free(m->vals);
	*m = bigger;
	return 0;
}

int smap_put(struct smap *m, const char *key, void *val)
{
	if ((m->n + 1) * 2 > m->cap && smap_grow(m) < 0)
		return -ENOMEM;
	size_t i = smap_slot(m, key);
	if (!m->keys[i]) {
		if (!(m->keys[i] = strdup(key)))
			return -ENOMEM;
		m->n++;
	}
	m->vals[i] = val;
	return 0;
}

void smap_clear(struct smap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

/* ---- canonical forms ------------------------------------------------------- */

/* Compares the digit runs at *pa and *pb as numbers and moves past them. */
static int digits_cmp(const char **pa, const char **pb)
{
	const char *a = *pa, *b = *pb;
	while (*a == '0' && isdigit((unsigned char)a[1]))
		a++;
	while (*b == '0' && isdigit((unsigned char)b[1]))
		b++;
	size_t la = 0, lb = 0;
	while (isdigit((unsigned char)a[la]))
		la++;
	while (isdigit((unsigned char)b[lb]))
		lb++;
	*pa = a + la;
	*pb = b + lb;
	if (la != lb)
		return la < lb ? -1 : 1;
	return strncmp(a, b, la);
}

int nft_elem_cmp(const char *a, const char *b)
{
	const char *pa = a, *pb = b;
	while (*pa && *pb) {
		if (isdigit((unsigned char)*pa) && isdigit((unsigned char)*pb)) {
			int c = digits_cmp(&pa, &pb);
			if (c)
				return c;
			continue;
		}
		if (*pa != *pb)
			return (unsigned char)*pa < (unsigned char)*pb ? -1 : 1;
		pa++;
		pb++;
	}
	if (*pa || *pb)
		return *pa ? 1 : -1;
	return strcmp(a, b);   /* "08" vs "8": still a total order */
}

int nft_elem_ncmp(const char *a, size_t la, const char *b, size_t lb)
{
	const char *pa = a, *pb = b, *ea = a + la, *eb = b + lb;
	while (pa < ea && pb < eb) {
		if (isdigit((unsigned char)*pa) && isdigit((unsigned char)*pb)) {
			const char *xa = pa, *xb = pb;
			while (xa < ea && *xa == '0' && xa + 1 < ea && isdigit((unsigned char)xa[1]))
				xa++;
			while (xb < eb && *xb == '0' && xb + 1 < eb && isdigit((unsigned char)xb[1]))
				xb++;
			size_t na = 0, nb = 0;
			while (xa + na < ea && isdigit((unsigned char)xa[na]))
				na++;
			while (xb + nb < eb && isdigit((unsigned char)xb[nb]))
				nb++;
			if (na != nb)
				return na < nb ? -1 : 1;
			int c = strncmp(xa, xb, na);
			if (c)
				return c;
			pa = xa + na;
			pb = xb + nb;
			continue;
		}
		if (*pa != *pb)
			return (unsigned char)*pa < (unsigned char)*pb ? -1 : 1;
		pa++;
		pb++;
	}
	if (pa < ea || pb < eb)
		return pa < ea ? 1 : -1;
	size_t n = la < lb ? la : lb;
	int c = strncmp(a, b, n);
	return c ? c : (la > lb) - (la < lb);
}

int nft_elem_qcmp(const void *a, const void *b)
{
	return nft_elem_cmp(*(char *const *)a, *(char *const *)b);
}

/* Copies a quoted string starting at *p (on the quote) and moves past it. */
static void copy_quoted(struct sb *b, const char **p)
{
	const char *s = *p, *e = strchr(s + 1, '"');
	size_t n = e ? (size_t)(e - s) + 1 : strlen(s);
	char *tmp = strndup(s, n);
	if (!tmp) {
		b->oom = true;
		*p = s + n;
		return;
	}
	sb_add(b, tmp);
	free(tmp);
	*p = s + n;
}

/* "{ a, c, b }" at *p: writes the members sorted. */
static void copy_anon_set(struct sb *b, const char **p)
{
	const char *s = *p + 1, *end = strchr(s, '}');
	char *inner, **m = NULL;
	size_t n = 0;
	if (!end) {
		sb_add(b, *p);
		*p += strlen(*p);
		return;
	}
	inner = strndup(s, (size_t)(end - s));
	m = calloc((size_t)(end - s) / 2 + 2, sizeof(*m));
	if (!inner || !m) {
		b->oom = true;
		goto cleanup;
	}
	char *save = NULL;
	for (char *t = strtok_r(inner, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ' || *t == '\t' || *t == '\n')
			t++;
		size_t l = strlen(t);
		while (l && (t[l - 1] == ' ' || t[l - 1] == '\t' || t[l - 1] == '\n'))
			t[--l] = '\0';
		if (l)
			m[n++] = t;
	}
	qsort(m, n, sizeof(*m), nft_elem_qcmp);
	sb_add(b, "{ ");
	for (size_t i = 0; i < n; i++) {
		sb_add(b, i ? ", " : "");
		sb_add(b, m[i]);
	}
	sb_add(b, " }");
cleanup:
	free(inner);
	free(m);
	*p = end + 1;
}

char *nft_rule_normalise(const char *text, uint64_t *packets, uint64_t *bytes)
{
	struct sb b = {0};
	const char *p = text;
	while (*p == ' ' || *p == '\t')
		p++;
	sb_add(&b, "");
	while (*p) {
		uint64_t pk, by;
		int used = 0;
		bool word = p == text || p[-1] == ' ';
		if (*p == '"') {
			copy_quoted(&b, &p);
		} else if (*p == '{') {
			copy_anon_set(&b, &p);
		} else if (word && strncmp(p, "counter packets ", 16) == 0 &&
			   sscanf(p, "counter packets %" SCNu64 " bytes %" SCNu64 "%n",
				  &pk, &by, &used) == 2 && used > 0) {
			sb_add(&b, "counter");
			if (packets)
				*packets = pk;
			if (bytes)
				*bytes = by;
			p += used;
		} else {
			/* plain text up to the next place a word may start */
			size_t n = 1;
			while (p[n] && p[n] != '"' && p[n] != '{' && p[n - 1] != ' ')
				n++;
			sb_addn(&b, p, n);
			p += n;
		}
	}
	while (b.len && (b.s[b.len - 1] == ' ' || b.s[b.len - 1] == '\t'))
		b.s[--b.len] = '\0';
	return sb_take(&b);
}
