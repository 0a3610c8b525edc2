/* nft_internal: helpers shared by the files of the nft module. */
#ifndef NETPOL_NFT_INTERNAL_H
#define NETPOL_NFT_INTERNAL_H

#include "nft.h"

#include <stdarg.h>

/* ---- a growing string ------------------------------------------------------ */

/* Appends never fail visibly: an allocation failure marks the buffer
 * broken and sb_take then returns NULL, so callers check once at the end. */
struct sb {
	char *s;
	size_t len, cap;
	bool oom;
};

void sb_add(struct sb *b, const char *s);
void sb_addn(struct sb *b, const char *s, size_t n);   /* s need not end at n */
void sb_addf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The string (owned by the caller) or NULL when an append failed. */
char *sb_take(struct sb *b);
void sb_clear(struct sb *b);

/* Equal strings, or both NULL. */
bool nft_str_eq(const char *a, const char *b);

/* ---- names ----------------------------------------------------------------- */

uint64_t nft_hash(const char *s);
/* Copies s into a comment nft accepts: printable ASCII without quotes or
 * backslashes, at most NFT_COMMENT_MAX bytes (cut with "..."). */
char *nft_comment(const char *s);


/* ---- arrays ------------------------------------------------------------------ */

/* v with room for need elements of elsz bytes (doubling; *cap updated);
 * NULL when out of memory (v is then still valid). */
void *nft_grow(void *v, size_t *cap, size_t need, size_t elsz);

/* ---- a string -> pointer map ---------------------------------------------- */

struct smap {
	char **keys;        /* owned copies */
	void **vals;
	size_t n, cap;      /* cap: a power of two, or 0 */
};

void *smap_get(const struct smap *m, const char *key);
/* Inserts or replaces. 0 or -ENOMEM. */
int smap_put(struct smap *m, const char *key, void *val);
void smap_clear(struct smap *m);

/* ---- program building --------------------------------------------------------- */

/* Order of set elements and anonymous-set members: numbers compare as
 * numbers ("10.0.0.2" < "10.0.0.10"), so output reads like nft's. */
int nft_elem_cmp(const char *a, const char *b);
int nft_elem_qcmp(const void *a, const void *b);
/* The same on the first la / lb bytes of a and b. */
int nft_elem_ncmp(const char *a, size_t la, const char *b, size_t lb);

/* Rewrites a rule as nft lists it into our canonical text: counter values
 * dropped ("counter"), members of anonymous sets "{ ... }" sorted with
 * nft_elem_cmp. Values of counters go to *packets and *bytes (may be NULL).
 * NULL when out of memory. */
char *nft_rule_normalise(const char *text, uint64_t *packets, uint64_t *bytes);

struct nft_set *nft_set_new(const char *name, bool map, const char *type,
			    const char *flags, const char *comment);
void nft_set_free(struct nft_set *s);
/* Takes elem (a malloc'd string) in all cases. */
int nft_set_add_elem(struct nft_set *s, char *elem);
/* Sorts and removes duplicates. */
void nft_set_finish(struct nft_set *s);
/* A record for an element of s (text copied); NULL when out of memory.
 * The pointer is good until the next record is added. */
struct nft_rule *nft_set_add_attr(struct nft_set *s, const char *text);

struct nft_chain *nft_chain_new(const char *name, const char *hook, const char *comment);
void nft_chain_free(struct nft_chain *c);
/* Appends a rule; takes text (malloc'd) in all cases. Returns the rule
 * (for attribution fields) or NULL when out of memory. */
struct nft_rule *nft_chain_add(struct nft_chain *c, char *text);
void nft_rule_clear(struct nft_rule *r);

/* Take s / c in all cases. */
int nft_prog_add_set(struct nft_prog *p, struct nft_set *s);
int nft_prog_add_chain(struct nft_prog *p, struct nft_chain *c);
/* Sorts sets and chains by name. */
void nft_prog_finish(struct nft_prog *p);

/* "add set inet T NAME { type ...; flags ...; comment "..."; }" and the
 * chain equivalent, as used by the delta and the full load. */
void nft_set_decl(struct sb *b, const char *table, const struct nft_set *s);
void nft_chain_decl(struct sb *b, const char *table, const struct nft_chain *c);
/* "{ e1, e2 }" of elements [from, to). */
void nft_elems_text(struct sb *b, char *const *elems, size_t n);

/* ---- the compiler's working state (compile.c, classes.c, peers.c) ------- */

typedef unsigned __int128 nft_u128;

/* An address interval of one family, as numbers. */
struct nft_range {
	nft_u128 lo, hi;
};

struct cdir;

struct cc {
	struct engine *e;
	const struct np_cluster *cl;
	const char *ifprefix;     /* NULL: no fail-closed / anti-spoof rules */
	bool anti_spoof;
	struct nft_prog *p;
	struct smap chains;       /* chain name -> struct nft_chain (owned by p) */
	struct smap named_ports;  /* "PROTO|NAME" -> pods declaring it (peers.c) */
	bool named_ports_built;
	struct diag_list *diags;
	struct nft_incr *memo;    /* incremental compile: what the last one made (incr.c) */
	struct sb sig;            /* scratch: signatures */
	struct cdir *dir[2];      /* ingress, egress working state (classes.h) */
};

/* ---- the incremental compiler's memo (incr.c) ------------------------------ */

/* The set / chain of the last program with this name and signature (the
 * bytes its content is made from), now also in c's program (and, for a
 * chain, c->chains); NULL when there is none. */
struct nft_set *incr_set_reuse(struct cc *c, const char *name, const void *sig, size_t len);
struct nft_chain *incr_chain_reuse(struct cc *c, const char *name, const void *sig,
				   size_t len);
/* The last program's set of this name and its signature (to copy what
 * did not change from it); NULL when there is none. */
const struct nft_set *incr_set_last(struct cc *c, const char *name, const void **sig,
				    size_t *len);
/* Remembers a set / chain just built (already in c's program). */
int incr_set_keep(struct cc *c, const char *name, const void *sig, size_t len,
		  struct nft_set *s);
int incr_chain_keep(struct cc *c, const char *name, const void *sig, size_t len,
		    struct nft_chain *ch);

/* compile.c: the whole compile on a cc that may carry a memo. */
int nft_compile_cc(struct cc *c, const struct nft_endpoint *eps, size_t neps,
		   const struct nft_opts *opts, struct nft_prog **out);
void nft_cc_clear(struct cc *c);

/* peers.c: a peer's canonical key ("ns|NSSEL|PODSEL", "pods|NS|PODSEL",
 * "ip|CIDR|EXCEPTS") and a comment saying what it matches; *key NULL
 * (returning 0) for a peer that matches nothing. */
int cc_peer_key(const struct np_policy *pol, const struct np_peer *peer, char **key,
		char **comment);
/* The block minus its excepts: disjoint ranges in address order. */
int cc_ipblock_ranges(const struct np_ipblock *b, struct nft_range **out, size_t *n);
/* An interval as nft prints it: an address, a prefix, or lo-hi. */
char *cc_range_text(struct nft_range r, int family);
nft_u128 cc_ip_value(const struct np_ip *ip);
/* "A.B.C.D" into buf (at least 16 bytes); returns the end (the NUL). */
char *cc_v4_text(uint32_t addr, char *buf);

/* Pods declaring a named port (first declaration of the name wins), with
 * the number it resolves to. */
struct cc_named_use {
	const struct np_pod *pod;
	int port;
};
int cc_named_uses(struct cc *c, const char *name, enum np_proto proto,
		  const struct cc_named_use **out, size_t *n);
const char *nft_proto(enum np_proto p);   /* "tcp", "udp", "sctp" */
/* Frees what cc_named_uses indexed. */
void cc_named_ports_clear(struct cc *c);

/* The name of the chain holding the allow of one rule x peer x port of a
 * policy: "in/NS/NAME/rR/pP/qQ" (P, Q "any" for -1), a hash for the
 * policy's part when that would be too long. */
char *nft_rule_chain_name(const char *ns, const char *name, bool egress, int rule, int peer,
			  int port);

#endif
