/* classes: the compiler's working state for one direction, and how
 * peers become address classes (classes.c; compile.c turns them into
 * maps and chains; DESIGN.md says why).
 *
 *   polinfo_get      a policy's rules' peers, registered as distinct peers
 *   cdir_addresses   every pod address with the peers (and, for egress,
 *                    the named-port numbers) that put it in its class
 *   cdir_classes     the classes of those addresses and of the address
 *                    ranges outside the pods that ipBlocks cover, and for
 *                    every peer the classes it is in
 *
 * Library-internal: included by classes.c and compile.c only. */
#ifndef NETPOL_NFT_CLASSES_H
#define NETPOL_NFT_CLASSES_H

#include "nft_internal.h"

#include <errno.h>

typedef nft_u128 u128;

/* Appends val to arr (n elements, room for cap): 0 or -ENOMEM. */
#define PUSH(arr, n, cap, val)                                                             \
	({                                                                                 \
		int _e = 0;                                                                \
		void *_v = nft_grow((arr), &(cap), (n) + 1, sizeof(*(arr)));                  \
		if (_v) {                                                                  \
			(arr) = _v;                                                        \
			(arr)[(n)++] = (val);                                              \
		} else {                                                                   \
			_e = -ENOMEM;                                                      \
		}                                                                          \
		_e;                                                                        \
	})

static inline uint64_t mix64(uint64_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		h = (h ^ (v & 255)) * 1099511628211ULL;
	return h;
}

/* ---- a 64-bit key -> pointer map ----------------------------------------------------- */

struct umap {
	uint64_t *keys;
	void **vals;
	size_t n, cap;       /* cap: a power of two, or 0 */
};

void *umap_get(const struct umap *m, uint64_t k);
/* Inserts (val not NULL; k not present). 0 or -ENOMEM. */
int umap_put(struct umap *m, uint64_t k, void *val);
void umap_clear(struct umap *m);

/* ---- working state of one direction ------------------------------------------------ */

struct cls;

/* A distinct peer: selectors match pods, blocks (ipBlocks, and ANY: every
 * address, for a rule without peers that names a port) match addresses. */
struct peer {
	char *key, *comment;
	uint64_t h;
	const struct np_policy *pol;
	const struct np_peer *np;      /* NULL for ANY */
	bool block;
	int family;                    /* block: its family (ANY: 0, both) */
	struct nft_range *r;
	size_t nr;
	struct cls **cls;              /* the classes it is in */
	size_t ncls, clscap;
};

/* A named port that egress rules use: its number on the destination is
 * part of the destination's class. */
struct pname {
	const char *name;
	enum np_proto proto;
	uint64_t h;
};

struct res {
	uint32_t pname;                /* index in cdir.pnames */
	int port;
};

/* An address and what puts it in its class. Memberships are kept as one
 * flat list of (address, peer) pairs for the whole direction (no list per
 * address); the class's hash is a sum over the memberships, so it needs
 * no sorting. */
struct addr {
	bool by_pod;                   /* a selector or a named port: needs its own entry */
	struct np_ip ip;
	uint64_t h;                    /* sum of the memberships' hashes */
	uint32_t last;                 /* the last peer added + 1 (peers come in order) */
	uint32_t n;                    /* memberships */
	struct cls *cls;
};

struct pair {
	uint32_t slot;                 /* in cdir.at */
	uint32_t peer;
};

struct rpair {
	uint32_t slot;
	struct res r;
};

/* One element of a class's (or the any-address) maps. */
struct rec {
	const char *ifname;
	const char *target;            /* the allow chain's name */
	uint64_t ifh, th;
	uint8_t kind;                  /* enum mapkind */
	uint8_t proto;
	uint16_t lo, hi;
};

struct recs {
	struct rec *v;
	size_t n, cap;
};

/* The maps of a class (and of the rules without peers), in the order they
 * are looked up: single ports (a hash), port ranges (intervals), whole
 * protocols, any protocol. Single ports and ranges never overlap. */
enum mapkind { MK_PORT, MK_RANGE, MK_PROTO, MK_ANY, NMAPS };

struct cls {
	uint64_t h;
	bool filled;                   /* pv and rv known */
	uint32_t rep;                  /* an address slot of the class + 1, or 0 */
	char name[40];                 /* chain "in/cHEX", maps "in-cHEX-p" ... */
	uint32_t *pv;                  /* sorted peer indexes */
	size_t npv, pvcap;
	struct res *rv;
	size_t nrv, rvcap;
	struct recs recs[NMAPS];
};

/* The peers of a policy's rules in this direction: index per rule per
 * peer (-1: matches nothing), and ANY for a rule without peers that needs
 * it (else -1). */
struct target {
	const char *name;
	uint64_t h;
};

struct polinfo {
	const struct np_policy *pol;
	int **pidx;
	int *any;
	size_t nrules;
	struct target **tg;            /* per rule: [(peer + 1) * (nports + 1) + port + 1] */
};

struct seg {
	struct nft_range r;
	int family;
	struct cls *cls;
};

struct cdir {
	bool egress;
	struct smap peer_by_key;       /* key -> struct peer */
	struct peer **peers;
	size_t npeers, peercap;
	int anyp;                      /* index of ANY, or -1 */
	struct umap pols;              /* policy address -> struct polinfo */
	struct polinfo **polv;
	size_t npolv, polcap;
	struct pname *pnames;
	size_t npnames, pncap;
	struct addr *at;               /* every address met, densely */
	size_t atn, atalloc;
	uint32_t *ati;                 /* open addressing on the address: index + 1 */
	size_t atcap;
	struct pair *pairs;
	size_t npairs, paircap;
	struct rpair *rpairs;
	size_t nrpairs, rpaircap;
	struct umap cls_by_hash;
	struct cls **cls;
	size_t ncls, clscap;
	struct seg *segs;
	size_t nsegs, segcap;
	struct recs any[NMAPS];        /* rules without peers */
};

static inline const char *dname(const struct cdir *d)
{
	return d->egress ? "eg" : "in";
}

void cdir_free(struct cdir *d);
/* The peers of pol in direction d, registered on first use. */
int polinfo_get(struct cdir *d, const struct np_policy *pol, struct polinfo **out);
/* After every selecting policy's polinfo_get: the addresses, then the
 * classes. */
int cdir_addresses(struct cc *c, struct cdir *d);
int cdir_classes(struct cdir *d);

#endif
