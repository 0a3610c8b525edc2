/* delta: the one transaction that turns a program into another.
 *
 * Order inside the transaction (nft checks references as it goes):
 *   1. new sets, maps and chains (empty)
 *   2. rules of new chains; changed chains flushed and refilled
 *   3. set and map elements added and deleted (a changed map entry is a
 *      delete and an add of the same key, atomic like the rest)
 *   4. chains that went away flushed; sets and maps that went away
 *      deleted (a map's elements may name a chain that goes); then the
 *      chains deleted
 * A set or chain whose declaration changed (type, flags, hook, comment)
 * cannot be altered in place; that only happens when netpol itself
 * changes, so the delta then replaces the whole table, still in one
 * transaction. Everything else touches only what differs. Both programs
 * must be finished (nft_prog_finish, as compiling and parsing leave them):
 * element lists are merged in order, never sorted here. */
#include "nft_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct dctx {
	const struct nft_prog *from, *to;
	const char *t;                /* table name */
	struct sb create, rules, elems, drop, dropsets, dropchains;
	struct nft_delta *d;
};

static bool same_decl_set(const struct nft_set *a, const struct nft_set *b)
{
	return a->map == b->map && nft_str_eq(a->type, b->type) &&
	       nft_str_eq(a->flags, b->flags) && nft_str_eq(a->comment, b->comment) &&
	       a->counter == b->counter;
}

static bool same_decl_chain(const struct nft_chain *a, const struct nft_chain *b)
{
	return nft_str_eq(a->hook, b->hook) && nft_str_eq(a->comment, b->comment);
}

/* Lookups by name in a program's sorted sets / chains, for callers that
 * ask in name order (every loop here walks a sorted program): a cursor
 * that only moves forward, instead of a binary search each time. */
static const struct nft_set *set_in(const struct nft_prog *p, const char *name, size_t *at)
{
	if (!p)
		return NULL;
	while (*at < p->nsets && strcmp(p->sets[*at]->name, name) < 0)
		(*at)++;
	return *at < p->nsets && strcmp(p->sets[*at]->name, name) == 0 ? p->sets[*at] : NULL;
}

static const struct nft_chain *chain_in(const struct nft_prog *p, const char *name, size_t *at)
{
	if (!p)
		return NULL;
	while (*at < p->nchains && strcmp(p->chains[*at]->name, name) < 0)
		(*at)++;
	return *at < p->nchains && strcmp(p->chains[*at]->name, name) == 0 ? p->chains[*at] : NULL;
}

/* Whether a declaration differs anywhere: then the table is replaced. */
static bool needs_replace(const struct nft_prog *from, const struct nft_prog *to)
{
	size_t at = 0;
	if (strcmp(from->table, to->table) != 0)
		return true;
	for (size_t i = 0; i < to->nsets; i++) {
		const struct nft_set *old = set_in(from, to->sets[i]->name, &at);
		if (old && !same_decl_set(old, to->sets[i]))
			return true;
	}
	at = 0;
	for (size_t i = 0; i < to->nchains; i++) {
		const struct nft_chain *old = chain_in(from, to->chains[i]->name, &at);
		if (old && !same_decl_chain(old, to->chains[i]))
			return true;
	}
	return false;
}

static bool same_rules(const struct nft_chain *a, const struct nft_chain *b)
{
	if (a == b)
		return true;   /* shared by the incremental compiler: unchanged */
	if (a->nrules != b->nrules)
		return false;
	for (size_t i = 0; i < a->nrules; i++)
		if (strcmp(a->rules[i].text, b->rules[i].text) != 0)
			return false;
	return true;
}

static void write_rules(struct dctx *x, const struct nft_chain *c)
{
	for (size_t i = 0; i < c->nrules; i++)
		sb_addf(&x->rules, "add rule inet %s %s %s\n", x->t, c->name, c->rules[i].text);
	x->d->rules_written += c->nrules;
}

static void diff_chains(struct dctx *x)
{
	size_t at = 0;
	for (size_t i = 0; i < x->to->nchains; i++) {
		const struct nft_chain *c = x->to->chains[i];
		const struct nft_chain *old = chain_in(x->from, c->name, &at);
		if (!old) {
			nft_chain_decl(&x->create, x->t, c);
			x->d->chains_added++;
			write_rules(x, c);
		} else if (!same_rules(old, c)) {
			sb_addf(&x->rules, "flush chain inet %s %s\n", x->t, c->name);
			x->d->chains_refilled++;
			write_rules(x, c);
		}
	}
	at = 0;
	for (size_t i = 0; x->from && i < x->from->nchains; i++)
		if (!chain_in(x->to, x->from->chains[i]->name, &at))
			sb_addf(&x->drop, "flush chain inet %s %s\n", x->t, x->from->chains[i]->name);
	at = 0;
	for (size_t i = 0; x->from && i < x->from->nchains; i++) {
		if (chain_in(x->to, x->from->chains[i]->name, &at))
			continue;
		sb_addf(&x->dropchains, "delete chain inet %s %s\n", x->t, x->from->chains[i]->name);
		x->d->chains_deleted++;
	}
}

/* Appends "VERB element inet T S { e1, e2 }" for a non-empty list. */
static void elem_cmd(struct dctx *x, const char *verb, const char *set, char **v, size_t n)
{
	if (!n)
		return;
	sb_addf(&x->elems, "%s element inet %s %s ", verb, x->t, set);
	nft_elems_text(&x->elems, v, n);
	sb_add(&x->elems, "\n");
}

/* The deletions, then the additions, of one set's elements. */
static void elem_changes(struct dctx *x, const char *set, char **del, size_t ndel, char **add,
			 size_t nadd)
{
	elem_cmd(x, "delete", set, del, ndel);
	elem_cmd(x, "add", set, add, nadd);
	x->d->elems_added += nadd;
	x->d->elems_deleted += ndel;
}

/* Merge walk of two sorted element lists. */
static bool same_elems(const struct nft_set *a, const struct nft_set *b)
{
	if (a == b)
		return true;
	if (a->nelems != b->nelems)
		return false;
	for (size_t i = 0; i < a->nelems; i++)
		if (strcmp(a->elems[i], b->elems[i]) != 0)
			return false;
	return true;
}

/* An element's key: its text up to its verdict (" : ", maps) or its
 * first attribute (" counter", " comment "); deleting takes the key alone. */
static size_t key_len(const char *e)
{
	size_t n = strlen(e);
	static const char *const seps[] = {" : ", " counter", " comment "};
	for (size_t k = 0; k < sizeof(seps) / sizeof(*seps); k++) {
		const char *at = strstr(e, seps[k]);
		if (at && (size_t)(at - e) < n)
			n = (size_t)(at - e);
	}
	return n;
}

static int diff_set_elems(struct dctx *x, const struct nft_set *old, const struct nft_set *s)
{
	size_t i = 0, j = 0, nadd = 0, ndel = 0;
	if (old && same_elems(old, s))
		return 0;
	if ((old && !old->in_order) || !s->in_order)
		return -EINVAL;   /* not finished (see the top) */
	char **add = calloc(s->nelems + 1, sizeof(*add));
	char **del = calloc((old ? old->nelems : 0) + 1, sizeof(*del));
	if (!add || !del) {
		free(add);
		free(del);
		return -ENOMEM;
	}
	while (i < (old ? old->nelems : 0) || j < s->nelems) {
		/* equal texts first: most elements stay, and strcmp is cheap */
		int c = !old || i >= old->nelems ? 1 : j >= s->nelems ? -1
			: strcmp(old->elems[i], s->elems[j]) == 0 ? 0
			: nft_elem_cmp(old->elems[i], s->elems[j]);
		if (c < 0)
			del[ndel++] = old->elems[i++];
		else if (c > 0)
			add[nadd++] = s->elems[j++];
		else
			i++, j++;
	}
	int err = 0;
	/* elements with attributes are deleted by their key (copies, marked) */
	bool *copy = calloc(ndel + 1, sizeof(*copy));
	if (!copy)
		err = -ENOMEM;
	for (size_t k = 0; !err && k < ndel; k++) {
		size_t kl = key_len(del[k]);
		if (!del[k][kl])
			continue;
		if (!(del[k] = strndup(del[k], kl)))
			err = -ENOMEM;
		else
			copy[k] = true;
	}
	if (!err) {
		elem_changes(x, s->name, del, ndel, add, nadd);
	}
	for (size_t k = 0; copy && k < ndel; k++)
		if (copy[k])
			free(del[k]);
	free(copy);
	free(add);
	free(del);
	return err;
}

/* Both maps in order (the order of their entries is that of their keys:
 * keys are unique and end where " : " starts): one merge walk; only the
 * keys of deleted entries are copied. */
static int diff_map_sorted(struct dctx *x, const struct nft_set *old, const struct nft_set *m)
{
	size_t no = old->nelems, nn = m->nelems, i = 0, j = 0, nadd = 0, ndel = 0;
	char **add = calloc(nn + 1, sizeof(*add)), **del = calloc(no + 1, sizeof(*del));
	int err = -ENOMEM;
	if (!add || !del)
		goto cleanup;
	while (i < no || j < nn) {
		int c;
		bool same = false;
		if (i >= no)
			c = 1;
		else if (j >= nn)
			c = -1;
		else if (strcmp(old->elems[i], m->elems[j]) == 0)
			c = 0, same = true;
		else
			c = nft_elem_ncmp(old->elems[i], key_len(old->elems[i]), m->elems[j],
					  key_len(m->elems[j]));
		if (same) {
			i++, j++;
		} else if (c < 0) {
			if (!(del[ndel++] = strndup(old->elems[i], key_len(old->elems[i]))))
				goto cleanup;
			i++;
		} else if (c > 0) {
			add[nadd++] = m->elems[j++];
		} else {
			if (!(del[ndel++] = strndup(old->elems[i], key_len(old->elems[i]))))
				goto cleanup;
			add[nadd++] = m->elems[j];
			i++, j++;
		}
	}
	elem_changes(x, m->name, del, ndel, add, nadd);
	err = 0;
cleanup:
	for (size_t k = 0; del && k < ndel; k++)
		free(del[k]);
	free(add);
	free(del);
	return err;
}

/* Map entries by key: a key whose verdict changed is deleted and added
 * again (nft has no in-place update), in the same transaction. */
static int diff_map_elems(struct dctx *x, const struct nft_set *old, const struct nft_set *m)
{
	static const struct nft_set none = {.in_order = true};
	if (old && same_elems(old, m))
		return 0;
	/* programs are finished (nft_prog_finish): elements sorted, unique */
	if ((old && !old->in_order) || !m->in_order)
		return -EINVAL;
	return diff_map_sorted(x, old ? old : &none, m);
}

static int diff_sets(struct dctx *x)
{
	int err = 0;
	size_t at = 0;
	for (size_t i = 0; i < x->to->nsets && !err; i++) {
		const struct nft_set *s = x->to->sets[i];
		const struct nft_set *old = set_in(x->from, s->name, &at);
		if (!old) {
			nft_set_decl(&x->create, x->t, s);
			x->d->sets_added++;
		}
		err = s->map ? diff_map_elems(x, old, s) : diff_set_elems(x, old, s);
	}
	at = 0;
	for (size_t i = 0; x->from && i < x->from->nsets; i++) {
		const struct nft_set *s = x->from->sets[i];
		if (set_in(x->to, s->name, &at))
			continue;
		sb_addf(&x->dropsets, "delete %s inet %s %s\n", s->map ? "map" : "set", x->t, s->name);
		x->d->sets_deleted++;
	}
	return err;
}

static int full_replace(struct nft_delta *d, const struct nft_prog *from,
			const struct nft_prog *to)
{
	struct sb b = {0};
	char *all = nft_prog_text(to);
	struct nft_counts n;
	if (!all)
		return -ENOMEM;
	/* "add" first, so that "delete" finds a table whether or not one was there */
	sb_addf(&b, "add table inet %s\ndelete table inet %s\n", to->table, to->table);
	if (from && strcmp(from->table, to->table) != 0)
		sb_addf(&b, "delete table inet %s\n", from->table);
	sb_add(&b, all);
	free(all);
	nft_prog_count(to, &n);
	d->sets_replaced = n.sets + n.maps;
	d->chains_added = n.chains;
	d->rules_written = n.rules;
	d->elems_added = n.elems;
	return (d->text = sb_take(&b)) ? 0 : -ENOMEM;
}

int nft_delta_compute(const struct nft_prog *from, const struct nft_prog *to,
		      struct nft_delta **out)
{
	struct dctx x = {.from = from, .to = to, .t = to->table};
	struct sb all = {0};
	int err;
	*out = NULL;
	if (!(x.d = calloc(1, sizeof(*x.d))))
		return -ENOMEM;
	if (from && needs_replace(from, to)) {
		if ((err = full_replace(x.d, from, to)) < 0)
			goto fail;
		*out = x.d;
		return 0;
	}
	if (!from)
		sb_addf(&x.create, "add table inet %s\n", x.t);
	diff_chains(&x);
	if ((err = diff_sets(&x)) < 0)
		goto fail;
	sb_add(&all, "");
	sb_add(&all, x.create.s ? x.create.s : "");
	sb_add(&all, x.rules.s ? x.rules.s : "");
	sb_add(&all, x.elems.s ? x.elems.s : "");
	sb_add(&all, x.drop.s ? x.drop.s : "");
	sb_add(&all, x.dropsets.s ? x.dropsets.s : "");
	sb_add(&all, x.dropchains.s ? x.dropchains.s : "");
	err = -ENOMEM;
	if (x.create.oom || x.rules.oom || x.elems.oom || x.drop.oom || x.dropsets.oom ||
	    x.dropchains.oom ||
	    !(x.d->text = sb_take(&all)))
		goto fail;
	sb_clear(&x.create);
	sb_clear(&x.rules);
	sb_clear(&x.elems);
	sb_clear(&x.drop);
	sb_clear(&x.dropsets);
	sb_clear(&x.dropchains);
	*out = x.d;
	return 0;
fail:
	sb_clear(&all);
	sb_clear(&x.create);
	sb_clear(&x.rules);
	sb_clear(&x.elems);
	sb_clear(&x.drop);
	sb_clear(&x.dropsets);
	sb_clear(&x.dropchains);
	nft_delta_free(x.d);
	return err;
}

int nft_delta_full(const struct nft_prog *to, struct nft_delta **out)
{
	struct nft_delta *d = calloc(1, sizeof(*d));
	int err = d ? full_replace(d, NULL, to) : -ENOMEM;
	if (err < 0) {
		nft_delta_free(d);
		d = NULL;
	}
	*out = d;
	return err;
}

bool nft_delta_empty(const struct nft_delta *d)
{
	return !d || !d->text || !d->text[0];
}

void nft_delta_free(struct nft_delta *d)
{
	if (!d)
		return;
	free(d->text);
	free(d);
}
