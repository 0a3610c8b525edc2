/* prog: the program as a data structure: building, comparing, printing. */
#include "nft_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void *nft_grow(void *v, size_t *cap, size_t need, size_t elsz)
{
	if (need <= *cap)
		return v;
	size_t cap2 = *cap ? *cap * 2 : 8;
	while (cap2 < need)
		cap2 *= 2;
	void *v2 = realloc(v, cap2 * elsz);
	if (v2)
		*cap = cap2;
	return v2;
}

/* strdup that keeps NULL as NULL; *oom is set on failure. */
static char *dup_opt(const char *s, bool *oom)
{
	char *d;
	if (!s)
		return NULL;
	if (!(d = strdup(s)))
		*oom = true;
	return d;
}

/* ---- sets -------------------------------------------------------------------- */

struct nft_set *nft_set_new(const char *name, bool map, const char *type,
			    const char *flags, const char *comment)
{
	struct nft_set *s = calloc(1, sizeof(*s));
	bool oom = false;
	if (!s)
		return NULL;
	s->map = map;
	s->in_order = true;   /* empty; each element added keeps it true or not */
	s->name = dup_opt(name, &oom);
	s->type = dup_opt(type, &oom);
	s->flags = dup_opt(flags, &oom);
	s->comment = comment ? nft_comment(comment) : NULL;
	if (oom || !s->name || !s->type || (comment && !s->comment)) {
		nft_set_free(s);
		return NULL;
	}
	return s;
}

void nft_set_free(struct nft_set *s)
{
	if (!s)
		return;
	if (s->refs) {
		s->refs--;
		return;
	}
	for (size_t i = 0; i < s->nelems; i++)
		free(s->elems[i]);
	free(s->elems);
	for (size_t i = 0; i < s->nattr; i++)
		nft_rule_clear(&s->attr[i]);
	free(s->attr);
	free(s->name);
	free(s->type);
	free(s->flags);
	free(s->comment);
	free(s);
}

int nft_set_add_elem(struct nft_set *s, char *elem)
{
	char **v;
	if (!elem)
		return -ENOMEM;
	if (!(v = nft_grow(s->elems, &s->cap, s->nelems + 1, sizeof(*v)))) {
		free(elem);
		return -ENOMEM;
	}
	s->elems = v;
	s->elems[s->nelems++] = elem;
	if (s->nelems > 1 && s->in_order && nft_elem_cmp(s->elems[s->nelems - 2], elem) >= 0)
		s->in_order = false;
	return 0;
}

void nft_set_finish(struct nft_set *s)
{
	size_t w = 0;
	if (!s->nelems)
		s->in_order = true;
	if (s->in_order)
		return;
	qsort(s->elems, s->nelems, sizeof(*s->elems), nft_elem_qcmp);
	for (size_t i = 0; i < s->nelems; i++) {
		if (w && strcmp(s->elems[w - 1], s->elems[i]) == 0)
			free(s->elems[i]);
		else
			s->elems[w++] = s->elems[i];
	}
	s->nelems = w;
	s->in_order = true;   /* a shared set is finished once */
}

struct nft_rule *nft_set_add_attr(struct nft_set *s, const char *text)
{
	struct nft_rule *v = nft_grow(s->attr, &s->attrcap, s->nattr + 1, sizeof(*v));
	if (!v)
		return NULL;
	s->attr = v;
	v = &s->attr[s->nattr];
	memset(v, 0, sizeof(*v));
	v->rule = v->peer = -1;
	if (!(v->text = strdup(text)) || !(v->set = strdup(s->name))) {
		free(v->text);
		free(v->set);
		return NULL;
	}
	s->nattr++;
	return v;
}

/* ---- chains and rules ------------------------------------------------------------ */

struct nft_chain *nft_chain_new(const char *name, const char *hook, const char *comment)
{
	struct nft_chain *c = calloc(1, sizeof(*c));
	bool oom = false;
	if (!c)
		return NULL;
	c->name = dup_opt(name, &oom);
	c->hook = dup_opt(hook, &oom);
	c->comment = comment ? nft_comment(comment) : NULL;
	if (oom || !c->name || (comment && !c->comment)) {
		nft_chain_free(c);
		return NULL;
	}
	return c;
}

void nft_rule_clear(struct nft_rule *r)
{
	free(r->text);
	free(r->set);
	free(r->pod);
	for (size_t i = 0; i < r->npolicies; i++)
		free(r->policies[i]);
	free(r->policies);
	free(r->ports);
	memset(r, 0, sizeof(*r));
}

void nft_chain_free(struct nft_chain *c)
{
	if (!c)
		return;
	if (c->refs) {
		c->refs--;
		return;
	}
	for (size_t i = 0; i < c->nrules; i++)
		nft_rule_clear(&c->rules[i]);
	free(c->rules);
	free(c->name);
	free(c->hook);
	free(c->comment);
	free(c);
}

struct nft_rule *nft_chain_add(struct nft_chain *c, char *text)
{
	struct nft_rule *v;
	if (!text)
		return NULL;
	if (!(v = nft_grow(c->rules, &c->cap, c->nrules + 1, sizeof(*v)))) {
		free(text);
		return NULL;
	}
	c->rules = v;
	v = &c->rules[c->nrules++];
	memset(v, 0, sizeof(*v));
	v->text = text;
	v->rule = v->peer = -1;
	return v;
}

/* ---- the program ------------------------------------------------------------------ */

struct nft_prog *nft_prog_new(const char *table)
{
	struct nft_prog *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	if (!(p->table = strdup(table ? table : NFT_TABLE))) {
		free(p);
		return NULL;
	}
	return p;
}

void nft_prog_free(struct nft_prog *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nsets; i++)
		nft_set_free(p->sets[i]);
	for (size_t i = 0; i < p->nchains; i++)
		nft_chain_free(p->chains[i]);
	free(p->sets);
	free(p->chains);
	free(p->table);
	free(p);
}

int nft_prog_add_set(struct nft_prog *p, struct nft_set *s)
{
	struct nft_set **v;
	if (!s)
		return -ENOMEM;
	if (!(v = nft_grow(p->sets, &p->setcap, p->nsets + 1, sizeof(*v)))) {
		nft_set_free(s);
		return -ENOMEM;
	}
	p->sets = v;
	p->sets[p->nsets++] = s;
	return 0;
}

int nft_prog_add_chain(struct nft_prog *p, struct nft_chain *c)
{
	struct nft_chain **v;
	if (!c)
		return -ENOMEM;
	if (!(v = nft_grow(p->chains, &p->chaincap, p->nchains + 1, sizeof(*v)))) {
		nft_chain_free(c);
		return -ENOMEM;
	}
	p->chains = v;
	p->chains[p->nchains++] = c;
	return 0;
}

static int set_qcmp(const void *a, const void *b)
{
	return strcmp((*(struct nft_set *const *)a)->name, (*(struct nft_set *const *)b)->name);
}

static int chain_qcmp(const void *a, const void *b)
{
	return strcmp((*(struct nft_chain *const *)a)->name,
		      (*(struct nft_chain *const *)b)->name);
}

void nft_prog_finish(struct nft_prog *p)
{
	if (p->nsets)
		qsort(p->sets, p->nsets, sizeof(*p->sets), set_qcmp);
	if (p->nchains)
		qsort(p->chains, p->nchains, sizeof(*p->chains), chain_qcmp);
	for (size_t i = 0; i < p->nsets; i++)
		nft_set_finish(p->sets[i]);
}

const struct nft_set *nft_prog_set(const struct nft_prog *p, const char *name)
{
	size_t lo = 0, hi = p->nsets;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(p->sets[mid]->name, name);
		if (c == 0)
			return p->sets[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct nft_chain *nft_prog_chain(const struct nft_prog *p, const char *name)
{
	size_t lo = 0, hi = p->nchains;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(p->chains[mid]->name, name);
		if (c == 0)
			return p->chains[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool set_equal(const struct nft_set *a, const struct nft_set *b)
{
	if (!nft_str_eq(a->name, b->name) || a->map != b->map || !nft_str_eq(a->type, b->type) ||
	    !nft_str_eq(a->flags, b->flags) || !nft_str_eq(a->comment, b->comment) ||
	    a->counter != b->counter || a->nelems != b->nelems)
		return false;
	for (size_t i = 0; i < a->nelems; i++)
		if (strcmp(a->elems[i], b->elems[i]) != 0)
			return false;
	return true;
}

static bool chain_equal(const struct nft_chain *a, const struct nft_chain *b)
{
	if (!nft_str_eq(a->name, b->name) || !nft_str_eq(a->hook, b->hook) ||
	    !nft_str_eq(a->comment, b->comment) || a->nrules != b->nrules)
		return false;
	for (size_t i = 0; i < a->nrules; i++)
		if (strcmp(a->rules[i].text, b->rules[i].text) != 0)
			return false;
	return true;
}

bool nft_prog_equal(const struct nft_prog *a, const struct nft_prog *b)
{
	if (!nft_str_eq(a->table, b->table) || a->nsets != b->nsets || a->nchains != b->nchains)
		return false;
	for (size_t i = 0; i < a->nsets; i++)
		if (!set_equal(a->sets[i], b->sets[i]))
			return false;
	for (size_t i = 0; i < a->nchains; i++)
		if (!chain_equal(a->chains[i], b->chains[i]))
			return false;
	return true;
}

size_t nft_prog_copy_counters(struct nft_prog *dst, const struct nft_prog *src)
{
	size_t n = 0;
	for (size_t i = 0; i < dst->nchains; i++) {
		struct nft_chain *d = dst->chains[i];
		const struct nft_chain *s = nft_prog_chain(src, d->name);
		/* rules are matched in order: texts can repeat within a chain */
		for (size_t j = 0, k = 0; s && j < d->nrules; j++) {
			while (k < s->nrules && strcmp(s->rules[k].text, d->rules[j].text) != 0)
				k++;
			if (k == s->nrules)
				break;
			d->rules[j].packets = s->rules[k].packets;
			d->rules[j].bytes = s->rules[k].bytes;
			k++;
			n++;
		}
	}
	for (size_t i = 0; i < dst->nsets; i++) {
		struct nft_set *d = dst->sets[i];
		const struct nft_set *s = d->nattr ? nft_prog_set(src, d->name) : NULL;
		struct smap by_text = {0};
		for (size_t k = 0; s && k < s->nattr; k++)
			if (smap_put(&by_text, s->attr[k].text, &s->attr[k]) < 0)
				break;
		for (size_t j = 0; s && j < d->nattr; j++) {
			const struct nft_rule *r = smap_get(&by_text, d->attr[j].text);
			if (!r)
				continue;
			d->attr[j].packets = r->packets;
			d->attr[j].bytes = r->bytes;
			n++;
		}
		smap_clear(&by_text);
	}
	return n;
}

void nft_prog_count(const struct nft_prog *p, struct nft_counts *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < p->nsets; i++) {
		if (p->sets[i]->map)
			out->maps++;
		else
			out->sets++;
		out->elems += p->sets[i]->nelems;
	}
	out->chains = p->nchains;
	for (size_t i = 0; i < p->nchains; i++)
		out->rules += p->chains[i]->nrules;
}

/* ---- text ---------------------------------------------------------------------------- */

void nft_elems_text(struct sb *b, char *const *elems, size_t n)
{
	sb_add(b, "{ ");
	for (size_t i = 0; i < n; i++) {
		sb_add(b, i ? ", " : "");
		sb_add(b, elems[i]);
	}
	sb_add(b, " }");
}

void nft_set_decl(struct sb *b, const char *table, const struct nft_set *s)
{
	sb_addf(b, "add %s inet %s %s { type %s;", s->map ? "map" : "set", table, s->name,
		s->type);
	if (s->flags)
		sb_addf(b, " flags %s;", s->flags);
	if (s->counter)
		sb_add(b, " counter;");
	if (s->comment)
		sb_addf(b, " comment \"%s\";", s->comment);
	sb_add(b, " }\n");
}

void nft_chain_decl(struct sb *b, const char *table, const struct nft_chain *c)
{
	sb_addf(b, "add chain inet %s %s", table, c->name);
	if (c->hook || c->comment) {
		sb_add(b, " {");
		if (c->hook)
			sb_addf(b, " %s", c->hook);
		if (c->comment)
			sb_addf(b, " comment \"%s\";", c->comment);
		sb_add(b, " }");
	}
	sb_add(b, "\n");
}

/* Elements wrapped as nft wraps them: two IPv4 addresses a line, else one. */
static void print_elems(struct sb *b, const struct nft_set *s)
{
	size_t per_line = strcmp(s->type, "ipv4_addr") == 0 ? 2 : 1;
	if (!s->nelems)
		return;
	sb_add(b, "\t\telements = { ");
	for (size_t i = 0; i < s->nelems; i++) {
		if (i)
			sb_add(b, i % per_line ? ", " : ",\n\t\t\t     ");
		sb_add(b, s->elems[i]);
	}
	sb_add(b, " }\n");
}

static void print_set(struct sb *b, const struct nft_set *s)
{
	sb_addf(b, "\t%s %s {\n\t\ttype %s\n", s->map ? "map" : "set", s->name, s->type);
	if (s->flags)
		sb_addf(b, "\t\tflags %s\n", s->flags);
	if (s->counter)
		sb_add(b, "\t\tcounter\n");
	if (s->comment)
		sb_addf(b, "\t\tcomment \"%s\"\n", s->comment);
	print_elems(b, s);
	sb_add(b, "\t}\n");
}

static void print_chain(struct sb *b, const struct nft_chain *c)
{
	sb_addf(b, "\tchain %s {\n", c->name);
	if (c->comment)
		sb_addf(b, "\t\tcomment \"%s\"\n", c->comment);
	if (c->hook)
		sb_addf(b, "\t\t%s\n", c->hook);
	for (size_t i = 0; i < c->nrules; i++)
		sb_addf(b, "\t\t%s\n", c->rules[i].text);
	sb_add(b, "\t}\n");
}

char *nft_prog_text(const struct nft_prog *p)
{
	struct sb b = {0};
	bool first = true;
	sb_addf(&b, "table inet %s {\n", p->table);
	/* maps, sets, base chains, other chains: the order a reader follows */
	for (int pass = 0; pass < 4; pass++) {
		size_t n = pass < 2 ? p->nsets : p->nchains;
		for (size_t i = 0; i < n; i++) {
			if (pass < 2 && p->sets[i]->map != (pass == 0))
				continue;
			if (pass >= 2 && (p->chains[i]->hook != NULL) != (pass == 2))
				continue;
			sb_add(&b, first ? "" : "\n");
			first = false;
			if (pass < 2)
				print_set(&b, p->sets[i]);
			else
				print_chain(&b, p->chains[i]);
		}
	}
	sb_add(&b, "}\n");
	return sb_take(&b);
}
