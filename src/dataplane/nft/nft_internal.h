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

/* ---- the compiler's working state (compile.c, peers.c) ------------------- */

struct cc {
	struct engine *e;
	const struct np_cluster *cl;
	const char *ifprefix;     /* NULL: no fail-closed / anti-spoof rules */
	bool anti_spoof;
	struct nft_prog *p;
	struct smap sets;         /* set name -> struct nft_set (owned by p) */
	struct smap chains;       /* chain name -> struct nft_chain (owned by p) */
	struct smap peer_names;   /* canonical peer key -> hash part of its set names (owned) */
	struct smap name_keys;    /* hash part -> canonical key (owned), for collisions */
	struct smap named_ports;  /* "PROTO|NAME" -> pods declaring it (peers.c) */
	bool named_ports_built;
	struct diag_list *diags;
	struct nft_incr *memo;    /* incremental compile: what the last one made (incr.c) */
	struct incr_deps *rec;    /* the policy chain being built records its sets here */
	struct sb sig;            /* scratch: signatures of endpoint chains and maps */
};

/* ---- the incremental compiler's memo (incr.c) ------------------------------ */

/* The addresses (and ports) a set is made of, in the order they came:
 * equal members make equal elements, so a set whose members did not
 * change is shared with the last program rather than rebuilt. */
struct incr_member {
	struct np_ip ip;
	int port;            /* -1: none */
};
struct incr_members {
	struct incr_member *v;
	size_t n, cap;
};
int incr_members_push(struct incr_members *m, const struct np_ip *ip, int port);

/* The set of the last program with this name, key and members, now also
 * added to c's program (and c->sets); NULL when there is none. */
struct nft_set *incr_set_reuse(struct cc *c, const char *name, const char *key,
			       const struct incr_members *m);
/* Remembers a set just built (already in c's program). */
int incr_set_keep(struct cc *c, const char *name, const char *key,
		  const struct incr_members *m, struct nft_set *s);

/* A policy chain: reused (with every set it uses) when the policy is the
 * same object and was not reported changed. 1 when reused, 0 when not. */
int incr_pchain_reuse(struct cc *c, const char *name, const struct np_policy *pol);
/* Starts recording the sets of a policy chain (forgets any earlier record). */
void incr_rec_begin(struct cc *c);
/* While building a policy chain: the peer / named port it uses. */
int incr_rec_peer(struct cc *c, const struct np_policy *pol, const struct np_peer *p,
		  bool egress, int rule, int peer);
int incr_rec_port(struct cc *c, const char *name, enum np_proto proto, int family);
int incr_pchain_keep(struct cc *c, const char *name, const struct np_policy *pol,
		     struct nft_chain *ch);

/* An endpoint chain whose signature (pod, direction, isolating policies)
 * is unchanged. NULL when there is none. */
struct nft_chain *incr_epchain_reuse(struct cc *c, const char *name, const char *sig);
int incr_epchain_keep(struct cc *c, const char *name, const char *sig, struct nft_chain *ch);

/* The two verdict maps of the last program when their signature (every
 * endpoint's interface and isolation) is the same: 1, else 0. */
int incr_maps_reuse(struct cc *c, const char *sig);
int incr_maps_keep(struct cc *c, const char *sig, struct nft_set *eg, struct nft_set *in);

/* Two keys hashed alike: names then depend on order; the incremental
 * compiler gives up and compiles whole. */
void incr_collision(struct cc *c);

/* compile.c: the policy chain name, and the whole compile on a cc that
 * may carry a memo. */
char *nft_policy_chain_name(const char *ns, const char *name, bool egress);
int nft_compile_cc(struct cc *c, const struct nft_endpoint *eps, size_t neps,
		   const struct nft_opts *opts, struct nft_prog **out);
void nft_cc_clear(struct cc *c);
int cc_policy_chain(struct cc *c, const struct np_policy *pol, bool egress, const char **name);

/* Names of the sets holding one peer's addresses, created and filled on
 * first use: *v4 and *v6 for a selector peer, one of them for an ipBlock
 * (the other NULL). Both NULL for a peer that has nothing set. */
int cc_peer_sets(struct cc *c, const struct np_policy *pol, const struct np_peer *peer,
		 const char **v4, const char **v6);
/* The same in two steps: the peer's canonical key (NULL, returning 0,
 * for a peer that matches nothing) and comment, then its sets. */
int cc_peer_key(const struct np_policy *pol, const struct np_peer *peer, char **key,
		char **comment);
int cc_peer_sets_keyed(struct cc *c, const struct np_policy *pol, const struct np_peer *peer,
		       const char *key, const char *comment, const char **v4, const char **v6);
/* The set of address . port of every pod declaring the named port. */
int cc_port_set(struct cc *c, const char *name, enum np_proto proto, int family,
		const char **out);
const char *nft_proto(enum np_proto p);   /* "tcp", "udp", "sctp" */
/* Frees what cc_port_set indexed. */
void cc_named_ports_clear(struct cc *c);

#endif
