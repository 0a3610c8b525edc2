/* incr: the incremental compiler. It runs the same compile as
 * nft_compile, but remembers what the last program was made of, so that
 * the expensive part (element and rule texts) is only redone where an
 * input changed. Every set and chain the compiler makes has a signature:
 * the bytes its content is a function of (a map's elements as numbers and
 * hashes, an endpoint chain's pod and isolating policies; nothing for a
 * chain whose name says it all). A set or chain whose name and signature
 * are the last program's is shared with it rather than made again.
 * Shared objects are reference counted (nft_set.refs, nft_chain.refs),
 * and nft_delta_compute skips them by pointer. The walk itself
 * (endpoints, selecting policies, peers, classes) is redone every time,
 * so nothing needs reporting. */
#include "nft_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct memo {
	void *sig;
	size_t len;
	struct nft_set *s;       /* one reference each; NULL when forgotten */
	struct nft_chain *ch;
	unsigned gen;            /* the compile that last used it */
};

struct nft_incr {
	struct smap sets, chains;   /* name -> memo (never removed) */
	unsigned gen;
	struct nft_incr_stats st;
};

static void memo_release(struct memo *m)
{
	nft_set_free(m->s);
	nft_chain_free(m->ch);
	free(m->sig);
	memset(m, 0, sizeof(*m));
}

static struct memo *memo_get(struct smap *m, const char *name, bool create)
{
	struct memo *v = smap_get(m, name);
	if (v || !create)
		return v;
	if (!(v = calloc(1, sizeof(*v))))
		return NULL;
	if (smap_put(m, name, v) < 0) {
		free(v);
		return NULL;
	}
	return v;
}

static bool sig_eq(const struct memo *m, const void *sig, size_t len)
{
	return m->len == len && (len == 0 || memcmp(m->sig, sig, len) == 0);
}

static int memo_set_sig(struct memo *m, const void *sig, size_t len)
{
	if (!(m->sig = malloc(len ? len : 1)))
		return -ENOMEM;
	if (len)
		memcpy(m->sig, sig, len);
	m->len = len;
	return 0;
}

struct nft_set *incr_set_reuse(struct cc *c, const char *name, const void *sig, size_t len)
{
	struct memo *m = memo_get(&c->memo->sets, name, false);
	if (!m || !m->s || !sig_eq(m, sig, len))
		return NULL;
	m->s->refs++;
	if (nft_prog_add_set(c->p, m->s) < 0)
		return NULL;    /* the reference was dropped */
	m->gen = c->memo->gen;
	c->memo->st.sets_reused++;
	return m->s;
}

const struct nft_set *incr_set_last(struct cc *c, const char *name, const void **sig,
				   size_t *len)
{
	struct memo *m = c->memo ? memo_get(&c->memo->sets, name, false) : NULL;
	if (!m || !m->s)
		return NULL;
	*sig = m->sig;
	*len = m->len;
	return m->s;
}

struct nft_chain *incr_chain_reuse(struct cc *c, const char *name, const void *sig,
				   size_t len)
{
	struct memo *m = memo_get(&c->memo->chains, name, false);
	if (!m || !m->ch || !sig_eq(m, sig, len))
		return NULL;
	m->ch->refs++;
	if (nft_prog_add_chain(c->p, m->ch) < 0 || smap_put(&c->chains, m->ch->name, m->ch) < 0)
		return NULL;
	m->gen = c->memo->gen;
	c->memo->st.chains_reused++;
	return m->ch;
}

int incr_set_keep(struct cc *c, const char *name, const void *sig, size_t len,
		  struct nft_set *s)
{
	struct memo *m = memo_get(&c->memo->sets, name, true);
	if (!m)
		return -ENOMEM;
	memo_release(m);
	c->memo->st.sets_built++;
	if (memo_set_sig(m, sig, len) < 0)
		return -ENOMEM;
	m->s = s;
	s->refs++;
	m->gen = c->memo->gen;
	return 0;
}

int incr_chain_keep(struct cc *c, const char *name, const void *sig, size_t len,
		    struct nft_chain *ch)
{
	struct memo *m = memo_get(&c->memo->chains, name, true);
	if (!m)
		return -ENOMEM;
	memo_release(m);
	c->memo->st.chains_built++;
	if (memo_set_sig(m, sig, len) < 0)
		return -ENOMEM;
	m->ch = ch;
	ch->refs++;
	m->gen = c->memo->gen;
	return 0;
}

/* ---- the object ------------------------------------------------------------------------ */

struct nft_incr *nft_incr_new(void)
{
	return calloc(1, sizeof(struct nft_incr));
}

/* Releases what the last compile did not use (all when all is true);
 * with free_too the memo entries themselves go as well. */
static void sweep_map(struct smap *sm, unsigned gen, bool all, bool free_too)
{
	for (size_t i = 0; i < sm->cap; i++) {
		struct memo *m = sm->keys[i] ? sm->vals[i] : NULL;
		if (m && (all || m->gen != gen))
			memo_release(m);
		if (m && free_too)
			free(m);
	}
	if (free_too)
		smap_clear(sm);
}

static void sweep(struct nft_incr *x, bool all, bool free_too)
{
	sweep_map(&x->sets, x->gen, all, free_too);
	sweep_map(&x->chains, x->gen, all, free_too);
}

void nft_incr_free(struct nft_incr *x)
{
	if (!x)
		return;
	sweep(x, true, true);
	free(x);
}

void nft_incr_forget(struct nft_incr *x)
{
	if (x)
		sweep(x, true, false);
}

void nft_incr_get_stats(const struct nft_incr *x, struct nft_incr_stats *out)
{
	*out = x->st;
}

int nft_incr_compile(struct nft_incr *x, struct engine *e, const struct np_cluster *cl,
		     const struct nft_endpoint *eps, size_t neps, const struct nft_opts *opts,
		     struct nft_prog **out, struct diag_list *diags)
{
	struct cc c = {.e = e, .cl = cl, .diags = diags, .memo = x};
	int err;
	memset(&x->st, 0, sizeof(x->st));
	x->gen++;
	if ((err = nft_compile_cc(&c, eps, neps, opts, out)) < 0) {
		nft_incr_forget(x);   /* half-made memos: start over next time */
		return err;
	}
	sweep(x, false, false);
	return 0;
}
