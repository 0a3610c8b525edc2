/* sim: a small interpreter of a compiled nftables program (struct
 * nft_prog: sets with their element texts, chains with their rule texts,
 * nft's jump/goto/return semantics), for test_nft_sim.c. It knows exactly
 * the shapes the compiler emits (src/dataplane/nft/compile.c): a rule
 * text or a set type it does not know is an error, so a new shape cannot
 * be skipped silently. It also refuses what nft itself would refuse or
 * leave ambiguous: a range in a map without "flags interval", two
 * elements of one map that overlap, a jump to a missing chain. */
#ifndef NETPOL_TEST_NFT_SIM_H
#define NETPOL_TEST_NFT_SIM_H

#include "../../src/dataplane/nft/nft.h"

#include <stdbool.h>
#include <stdint.h>

typedef unsigned __int128 u128;

#define MAXF 4          /* fields of a concatenation */
#define MAXOPS 8        /* expressions of a rule */
#define MAXTOK 48
#define TOKLEN 192
#define STACK 16        /* NFT_JUMP_STACK_SIZE */

enum fld { F_IIF, F_OIF, F_PROTO, F_DPORT, F_SADDR4, F_DADDR4, F_SADDR6, F_DADDR6 };
enum ctype { T_IFNAME, T_PROTO, T_PORT, T_IP4, T_IP6 };
static const enum ctype fld_type[] = {T_IFNAME, T_IFNAME, T_PROTO, T_PORT,
				      T_IP4,    T_IP4,    T_IP6,   T_IP6};
static const char *const fld_name[] = {"iifname", "oifname", "meta l4proto", "th dport",
				       "ip saddr", "ip daddr", "ip6 saddr", "ip6 daddr"};

enum vkind { V_NONE, V_ACCEPT, V_DROP, V_JUMP, V_GOTO, V_RETURN };

struct vd {
	enum vkind k;
	int chain;
};

struct comp {
	u128 lo, hi;
	char ifname[17];
};

struct selem {
	struct comp c[MAXF];
	struct vd v;
	const char *text;
	const void *counted;   /* what counts a match: the attr record, else the text */
};

struct sset {
	const struct nft_set *s;
	int n;
	enum ctype t[MAXF];
	bool interval;
	int dir;               /* 0 "in-", 1 "eg-", -1 */
	struct selem *e;
	size_t ne;
};

enum opkind { O_COUNTER, O_CT, O_LIT, O_LOOKUP, O_VMAP };

struct op {
	enum opkind k;
	bool neg, ctnew, wild;
	int nf;
	enum fld f[MAXF];
	int set;
	char lit[17];
};

struct srule {
	struct op op[MAXOPS];
	int nop;
	struct vd v;
	const struct nft_rule *r;
};

struct schain {
	const struct nft_chain *c;
	struct srule *r;
	size_t nr;
	int dir;               /* 0 "in/", 1 "eg/", -1 */
};

struct sim {
	const struct nft_prog *p;
	struct sset *sets;
	size_t nsets;
	struct schain *ch;
	size_t nch;
	int base;
	enum vkind policy;
	char err[1024];
};

struct pkt {
	int family;
	u128 saddr, daddr;
	int proto;             /* 6, 17, 132 */
	int dport;
	const char *iif, *oif;
};

struct sres {
	enum vkind verdict;
	const void *last[2];   /* the last counter of each direction */
	bool tracing;
	char trace[2048];
	size_t tlen;
};

/* Reads p (0, or -1 with s->err saying why); free with sim_free. */
int sim_build(const struct nft_prog *p, struct sim *s);
/* Runs one packet: 0 with r filled, or -1 with s->err saying why. */
int sim_run(struct sim *s, const struct pkt *k, struct sres *r);
void sim_free(struct sim *s);

#endif
