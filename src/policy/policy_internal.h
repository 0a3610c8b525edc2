/* policy_internal: the engine's index, shared by index.c (upkeep),
 * evaluate.c (one connection), reach.c (the matrix) and lint.c.
 *
 * The index keeps, for the borrowed cluster:
 *   - one ns_entry per namespace name (declared or only referenced), with
 *     its pods, its policies and the peer sets scoped to it;
 *   - one pod_entry per pod, with copies of the labels and the address it
 *     was indexed under (so that it can be taken out of every list after
 *     the cluster changed it in place);
 *   - inverted lists "key=value" -> entries and "key" -> entries, for pods
 *     and for namespaces, so that a selector only looks at candidates;
 *   - the pods sorted by first address, so that an ipBlock is a range;
 *   - one pset (peer set) per distinct canonical peer, shared and
 *     refcounted by every policy that uses it, kept up to date member by
 *     member. A policy's own podSelector is a pset too.
 */
#ifndef NETPOL_POLICY_INTERNAL_H
#define NETPOL_POLICY_INTERNAL_H

#include "policy.h"

/* ---- small containers ------------------------------------------------------ */

/* Returns an array (v or a reallocation of it, elements of size elsz)
 * with room for at least need elements, updating *cap; NULL when out of
 * memory (v is then still valid). */
void *vec_grow(void *v, size_t *cap, size_t need, size_t elsz);

/* An unordered array of pointers. */
struct ptrvec {
	void **v;
	size_t n, cap;
};

int ptrvec_push(struct ptrvec *pv, void *p);
/* Removes one occurrence (order not kept). Returns whether it was there. */
bool ptrvec_remove(struct ptrvec *pv, const void *p);
void ptrvec_clear(struct ptrvec *pv);

/* A chained hash map with string keys (copied and owned) or pointer keys. */
struct hnode;
struct hmap {
	struct hnode **b;
	size_t nb, n;
	bool strkeys;
};

void hmap_init(struct hmap *m, bool strkeys);
void *hmap_get(const struct hmap *m, const void *key);
/* Inserts or replaces. 0 or -ENOMEM. */
int hmap_put(struct hmap *m, const void *key, void *val);
/* Removes the key; returns its value or NULL. */
void *hmap_del(struct hmap *m, const void *key);
void hmap_clear(struct hmap *m, void (*free_val)(void *));

struct hmap_iter {
	const struct hmap *m;
	size_t b;
	struct hnode *node;
};
#define HMAP_ITER(map) ((struct hmap_iter){.m = (map)})
bool hmap_next(struct hmap_iter *it, const void **key, void **val);

/* ---- index entries ------------------------------------------------------------ */

struct pod_entry;
struct pol_entry;

struct ns_entry {
	char *name;
	const struct np_namespace *obj;   /* NULL when only referenced */
	/* Indexed labels: the object's, always with kubernetes.io/metadata.name
	 * (the API server guarantees it, so selectors may rely on it). */
	struct np_labels labels;
	struct ptrvec pods;                /* struct pod_entry * */
	struct ptrvec policies;            /* struct pol_entry * */
	struct ptrvec psets;               /* PSET_PODS sets scoped here */
	unsigned gen;                      /* bumped when policies change */
};

struct pod_entry {
	const struct np_pod *pod;
	char *name;                        /* copy: sets are sorted by ns/name */
	struct ns_entry *ns;
	struct np_labels labels;           /* as indexed */
	struct np_ip ip;                   /* first address as indexed; family 0 = none */
	/* Cache of the policies selecting the pod, sorted by name; valid while
	 * sel_gen == ns->gen and sel_valid. */
	const struct np_policy **sel;
	struct pol_entry **selp;
	size_t nsel, selcap;
	unsigned sel_gen;
	bool sel_valid;
	size_t rid;                        /* scratch: matrix row during reach */
};

enum pset_kind { PSET_PODS, PSET_NS, PSET_IP };

/* The pods that one canonical peer matches, sorted by namespace/name. */
struct pset {
	char *key;
	enum pset_kind kind;
	struct ns_entry *ns;               /* PSET_PODS: the policy's namespace */
	struct np_selector pod_sel;        /* PSET_PODS, PSET_NS (empty = all) */
	struct np_selector ns_sel;         /* PSET_NS */
	struct np_ipblock block;           /* PSET_IP; except owned here */
	struct pod_entry **m;
	size_t n, cap;
	const struct np_pod **out;         /* engine_peer_pods answer, built lazily */
	bool out_valid;
	unsigned refs;
	size_t rid;                        /* scratch during reach */
};

struct rule_psets {
	struct pset **peers;               /* NULL for a peer with nothing set */
	size_t n;
};

struct pol_entry {
	const struct np_policy *pol;
	struct ns_entry *ns;
	struct pset *selected;             /* pods of ns matching spec.podSelector */
	struct rule_psets *ing, *eg;
	size_t ning, neg;
	size_t rid;                        /* scratch during reach */
};

struct engine {
	const struct np_cluster *cl;
	struct hmap nss;                   /* name -> ns_entry */
	struct ptrvec all_ns;              /* every ns_entry */
	struct hmap pods;                  /* np_pod * -> pod_entry */
	struct hmap pols;                  /* np_policy * -> pol_entry */
	struct hmap psets;                 /* key -> pset */
	struct hmap pod_kv, pod_k;         /* "k=v" / "k" -> ptrvec of pod_entry */
	struct hmap ns_kv, ns_k;           /* "k=v" / "k" -> ptrvec of ns_entry */
	struct ptrvec ns_psets;            /* PSET_NS sets */
	struct ptrvec ip_psets;            /* PSET_IP sets */
	struct ip_slot *ips;               /* pods by first address */
	size_t nips, ipcap;
	/* engine_policies_selecting for a pod that is not indexed */
	const struct np_policy **scratch;
	size_t nscratch, scratchcap;
};

struct ip_slot {
	struct np_ip ip;
	struct pod_entry *pe;
};

/* ---- index queries (index.c) ------------------------------------------------- */

struct ns_entry *index_ns(struct engine *e, const char *name);
/* Creates the entry when missing (labels: kubernetes.io/metadata.name). */
struct ns_entry *index_ns_get(struct engine *e, const char *name);
struct pod_entry *index_pod(const struct engine *e, const struct np_pod *pod);
struct pol_entry *index_policy(const struct engine *e, const struct np_policy *pol);
/* The pset of one peer of pol, or NULL (not indexed / nothing set). */
struct pset *index_peer_pset(const struct engine *e, const struct np_policy *pol,
			     const struct np_peer *peer);
/* Fills every pod entry's selection cache at once from the policies'
 * selected sets (cheaper than one namespace scan per pod). */
int index_refresh_selection(struct engine *e);
/* Number of namespaces whose labels match sel; *pods (may be NULL) gets
 * the number of pods in them. */
size_t index_count_namespaces(struct engine *e, const struct np_selector *sel, size_t *pods);

/* ---- matching (evaluate.c) ---------------------------------------------------- */

bool ipblock_contains(const struct np_ipblock *b, const struct np_ip *ip);
/* Whether spec matches port on a destination (dst may be NULL: outside). */
bool port_spec_matches(const struct np_port_spec *spec, struct np_port port,
		       const struct np_pod *dst);

/* Options for the single-direction evaluation lint needs. */
struct dir_opts {
	/* A destination without a known address is matched by an ipBlock of
	 * prefix 0 (it is somewhere, and /0 covers every somewhere). */
	bool unknown_ip_in_slash0;
};

/* Judges one direction: egress of src (peer = dst) or ingress of dst
 * (peer = src). Fills out (isolating is allocated). 0 or -errno. */
int engine_judge(struct engine *e, bool egress, const struct np_endpoint *src,
		 const struct np_endpoint *dst, struct np_port port,
		 const struct dir_opts *opts, struct np_dir_verdict *out);

#endif
