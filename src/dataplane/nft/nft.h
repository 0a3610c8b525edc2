/* nft: NetworkPolicy enforced by nftables, in table "inet netpol".
 *
 * Three stages, each usable alone:
 *   compile   cluster + engine + the node's pod interfaces -> a program
 *             (a data structure; nft_prog_text prints it as nft text)
 *   delta     two programs -> the one transaction that turns the first
 *             into the second, touching only what differs
 *   kernel    libnftables, in-process: load, apply, list + parse back
 *
 * Layout of the program (DESIGN.md beside this file says why):
 *
 *   forward (hook forward)    anti-spoof (@ep-src4/6: interface . address),
 *       established/related, invalid,
 *       iifname vmap @ep-egress  -> eg/isolated | pod-ingress
 *       unknown pod interface    -> drop (fail closed)
 *       goto pod-ingress
 *   pod-ingress              oifname vmap @ep-ingress -> in/isolated | accept
 *                            unknown pod interface -> drop; else accept
 *   in/isolated              jump to in/classify, jump to in/any, then the
 *                            drop, counted on the pod's element of in-iso
 *                            (its comment names the isolating policies)
 *   in/classify              the peer's class: @in-pod4/6 (pod addresses,
 *                            exact), @in-cidr4/6 (ipBlock ranges) ->
 *                            goto in/cHEX
 *   in/cHEX                  one per class of peers: @in-cHEX-p (interface
 *                            . protocol . port), -t (interface . protocol),
 *                            -a (interface) -> goto the allow's chain
 *   in/any                   the same three maps for rules without peers
 *   in/NS/NAME/rR/pP/qQ      one per policy rule x peer x port: counter
 *                            accept (egress: goto pod-ingress, so traffic
 *                            between two pods of the node still meets the
 *                            receiver's ingress; no mark needed)
 *
 * A new flow costs the same few lookups whatever the number of pods,
 * policies and rules.
 * Every allow and every drop has a counter and a comment naming the
 * policy, rule, peer and port it came from ("ns/name ingress[0] from[1]
 * ports[0]") or the policies that isolate the pod.
 *
 * Library code never prints; functions return 0 or -errno, and problems
 * worth reading (an nft error message) go into diags when it is non-NULL.
 */
#ifndef NETPOL_NFT_H
#define NETPOL_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "policy/policy.h"
#include "util/diag.h"

#define NFT_TABLE "netpol"          /* our table: "inet netpol" */
#define NFT_COMMENT_MAX 127         /* nft refuses longer comments */

/* ---- the program ------------------------------------------------------------ */

enum nft_role {
	NFT_ROLE_INFRA,      /* base chain, dispatch, lookups, fail-closed drops */
	NFT_ROLE_ALLOW,      /* the allow of one rule x peer x port of a policy */
	NFT_ROLE_ISOLATED,   /* an isolated pod's drop (its element of in-iso) */
};

struct nft_rule {
	/* The rule as `nft list` prints it, with "counter" standing for
	 * "counter packets N bytes M" and anonymous sets sorted. */
	char *text;
	/* Attribution; set by the compiler (a parsed rule is INFRA with no
	 * policies). */
	enum nft_role role;
	char *pod;           /* ISOLATED: "ns/name" of the pod */
	char **policies;     /* ALLOW: one; ISOLATED: the isolating ones */
	size_t npolicies;    /* ("ns/name" each) */
	bool egress;
	int rule, peer;      /* ALLOW: indexes; peer -1: the rule has no peers */
	int *ports;          /* ALLOW: indexes of the ports matched here; */
	size_t nports;       /* none: the rule has no ports (all match) */
	int family;          /* AF_INET, AF_INET6; 0 for both */
	/* An element's record (nft_set.attr) rather than a rule: the set's
	 * name (the text is the element's); NULL for a rule. */
	char *set;
	/* Counters, when read from the kernel. */
	uint64_t packets, bytes;
};

struct nft_chain {
	char *name;
	char *hook;          /* "type filter hook forward priority filter; policy accept;" or NULL */
	char *comment;       /* NULL when none */
	struct nft_rule *rules;
	size_t nrules, cap;
	unsigned refs;       /* owners beyond the first, as for sets */
};

/* A named set, or a map when map is true. */
struct nft_set {
	char *name;
	bool map;
	char *type;          /* "ipv4_addr", "ipv4_addr . inet_service", "ifname : verdict" */
	char *flags;         /* "interval" or NULL */
	char *comment;       /* NULL when none */
	char **elems;        /* as nft prints them, sorted, unique; */
	size_t nelems, cap;  /* a map's are "KEY : VERDICT" */
	/* Set by the compiler when it added the elements already sorted and
	 * unique (it sorts addresses as numbers, far cheaper than as text). */
	bool in_order;
	/* Owners beyond the first (the incremental compiler shares unchanged
	 * sets between the programs it makes); nft_set_free drops one. */
	unsigned refs;
	/* A counter on every element ("counter" in the declaration; the
	 * elements' texts then say "counter", without the values). */
	bool counter;
	/* Records of elements that a verdict is attributed to (the text is
	 * the element's, as in elems): the compiler fills attribution, a
	 * parsed set the counters. */
	struct nft_rule *attr;
	size_t nattr, attrcap;
};

/* The whole of table inet <table>. Sets and chains are sorted by name. */
struct nft_prog {
	char *table;
	struct nft_set **sets;
	size_t nsets, setcap;
	struct nft_chain **chains;
	size_t nchains, chaincap;
};

struct nft_prog *nft_prog_new(const char *table);
void nft_prog_free(struct nft_prog *p);

const struct nft_set *nft_prog_set(const struct nft_prog *p, const char *name);
const struct nft_chain *nft_prog_chain(const struct nft_prog *p, const char *name);

/* Same sets (type, flags, comment, elements) and chains (hook, comment,
 * rule texts in order). Counters and attribution are not compared. */
bool nft_prog_equal(const struct nft_prog *a, const struct nft_prog *b);

/* "table inet NAME { ... }" in nft's listing style (maps, then sets, then
 * the base chain and the other chains, each sorted by name), loadable by
 * `nft -f`. Caller frees; NULL when out of memory. */
char *nft_prog_text(const struct nft_prog *p);

/* Parses a table as `nft list table` prints it (or as nft_prog_text does).
 * Counter values go into the rules' packets/bytes. -EINVAL with a diag
 * for text it does not understand. */
int nft_prog_parse(const char *text, struct nft_prog **out, struct diag_list *diags);

struct nft_counts {
	size_t sets, maps, elems, chains, rules;
};
void nft_prog_count(const struct nft_prog *p, struct nft_counts *out);

/* ---- the compiler --------------------------------------------------------------- */

/* A pod of this node: its traffic enters and leaves the node through
 * ifname, the node-side end of its veth. */
struct nft_endpoint {
	const struct np_pod *pod;
	const char *ifname;  /* 1-15 of [A-Za-z0-9_.-] */
};

struct nft_opts {
	const char *table;         /* NULL: NFT_TABLE */
	/* Every pod interface of the node starts with it: one that has no
	 * program yet is dropped (fail closed), and its source addresses are
	 * checked against the routes (no spoofing another pod's address).
	 * NULL: neither rule. */
	const char *pod_ifprefix;
	bool no_anti_spoof;        /* leave the reverse-path check out */
};

/* Compiles the policies that apply to eps. The engine must index cl as it
 * is now (named-port sets list every pod of cl). opts may be NULL.
 * -EINVAL with a diag for a bad or duplicate interface name. */
int nft_compile(struct engine *e, const struct np_cluster *cl,
		const struct nft_endpoint *eps, size_t neps,
		const struct nft_opts *opts, struct nft_prog **out,
		struct diag_list *diags);

/* The incremental compiler: nft_incr_compile gives exactly what
 * nft_compile gives for the same input, but shares with the program it
 * made last every set and chain whose content (its signature: what it is
 * made of, as numbers and hashes) did not change (shared objects are
 * reference counted; free programs as usual, in any order). Nothing needs
 * reporting: the compiler looks at every input again. */
struct nft_incr;
struct nft_incr_stats {
	size_t chains_reused, chains_built, sets_reused, sets_built;   /* last compile */
};
struct nft_incr *nft_incr_new(void);
void nft_incr_free(struct nft_incr *x);
int nft_incr_compile(struct nft_incr *x, struct engine *e, const struct np_cluster *cl,
		     const struct nft_endpoint *eps, size_t neps, const struct nft_opts *opts,
		     struct nft_prog **out, struct diag_list *diags);
void nft_incr_forget(struct nft_incr *x);
void nft_incr_get_stats(const struct nft_incr *x, struct nft_incr_stats *out);

/* The rules of a compiled program that account for one direction of a
 * verdict of engine_evaluate for pod (the source for egress, the
 * destination for ingress): the allow rules of the deciding policy rule,
 * peer and port (one per address family), or the isolation drop. Returns
 * how many were found (up to max). */
size_t nft_prog_attribute(const struct nft_prog *p, const struct np_pod *pod, bool egress,
			  const struct np_dir_verdict *v, const struct nft_rule **out,
			  size_t max);

/* Copies the counters of src's rules (a program read from the kernel) to
 * the rules of dst (a compiled one, with attribution) that have the same
 * chain and text, and those of element records with the same set and
 * text. Returns how many rules and records got counters. */
size_t nft_prog_copy_counters(struct nft_prog *dst, const struct nft_prog *src);

/* ---- deltas -------------------------------------------------------------------- */

struct nft_delta {
	char *text;                 /* the transaction; "" when nothing changed */
	size_t sets_added, sets_deleted, sets_replaced;
	size_t elems_added, elems_deleted;
	size_t chains_added, chains_refilled, chains_deleted;
	size_t rules_written;
};

/* The transaction that turns from (NULL: no table yet) into to: new sets
 * and chains first, then refilled chains and element changes, then what
 * went away. Only what differs is touched. Both programs must be finished
 * (nft_prog_finish; compiling and parsing leave them so): -EINVAL else. */
int nft_delta_compute(const struct nft_prog *from, const struct nft_prog *to,
		      struct nft_delta **out);
/* The transaction that replaces the table whole by to (whatever is there,
 * if anything): for a table we cannot read back. */
int nft_delta_full(const struct nft_prog *to, struct nft_delta **out);
bool nft_delta_empty(const struct nft_delta *d);
void nft_delta_free(struct nft_delta *d);

/* ---- the kernel ----------------------------------------------------------------- */

/* A libnftables context bound to one network namespace. */
struct nft_conn;

/* netns: a namespace file (/run/netns/NAME) that every call enters on the
 * calling thread and leaves before returning; NULL: the caller's. */
int nft_conn_new(const char *netns, struct nft_conn **out);
void nft_conn_free(struct nft_conn *c);

/* Runs nft commands as one transaction: all of them or none. */
int nft_conn_run(struct nft_conn *c, const char *cmds, struct diag_list *diags);

/* Reads table inet <table> (NULL: NFT_TABLE) back, with counters.
 * -ENOENT when there is no such table. */
int nft_read(struct nft_conn *c, const char *table, struct nft_prog **out,
	     struct diag_list *diags);

/* Replaces the whole table by p in one transaction. */
int nft_load(struct nft_conn *c, const struct nft_prog *p, struct diag_list *diags);

int nft_apply(struct nft_conn *c, const struct nft_delta *d, struct diag_list *diags);

/* Converges the kernel to desired: reads the table, computes the delta and
 * applies it (nothing when equal). *applied (optional) gets the delta. */
int nft_sync(struct nft_conn *c, const struct nft_prog *desired,
	     struct nft_delta **applied, struct diag_list *diags);

/* Deletes table inet <table> (NULL: NFT_TABLE); 0 when it was absent. */
int nft_remove(struct nft_conn *c, const char *table, struct diag_list *diags);

#endif
