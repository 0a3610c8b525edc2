/* policy: Kubernetes NetworkPolicy semantics over a cluster.
 *
 * An engine indexes a cluster (which policies select a pod, which pods a
 * peer matches) and answers three questions from the same rules:
 *   engine_evaluate  one connection, with attribution (explain, agents)
 *   engine_reach     every ordered pod pair x port at once (bit matrices)
 *   lint_cluster     reviewer findings
 * The engine borrows the cluster: it must be freed first, and rebuilt (or
 * updated through the engine_*_changed calls) after the cluster changes.
 */
#ifndef NETPOL_POLICY_H
#define NETPOL_POLICY_H

#include "../model/model.h"
#include "../util/diag.h"

struct engine;

/* One end of a connection: a pod (ip = the address used; when the pod has
 * no address, ip.family == 0) or, with pod == NULL, an address outside the
 * pods of the cluster. */
struct np_endpoint {
	const struct np_pod *pod;
	struct np_ip ip;
};

struct np_port {
	int port;
	enum np_proto proto;
};

/* Why one direction (the source's egress, or the destination's ingress)
 * let the connection pass or not. */
struct np_dir_verdict {
	bool applies;        /* false for an endpoint outside the cluster */
	bool isolated;       /* some policy selects the pod for this direction */
	const struct np_policy **isolating;   /* those policies, sorted */
	size_t nisolating;
	bool allowed;
	/* When allowed by a rule: which one. rule/peer/port are indexes into
	 * the policy's ingress/egress, the rule's peers and ports; -1 for
	 * peer/port means the rule has no peers / no ports (matches all). */
	const struct np_policy *policy;
	int rule, peer, port;
};

struct np_verdict {
	bool allowed;              /* egress.allowed && ingress.allowed */
	struct np_dir_verdict egress;
	struct np_dir_verdict ingress;
};

struct engine *engine_new(const struct np_cluster *cl);
void engine_free(struct engine *e);

/* Evaluates one connection from src to dst on port. Returns 0 or -errno.
 * Free out with verdict_clear. */
int engine_evaluate(struct engine *e, const struct np_endpoint *src,
		    const struct np_endpoint *dst, struct np_port port,
		    struct np_verdict *out);
void verdict_clear(struct np_verdict *v);

/* Policies in the pod's namespace whose podSelector matches it, sorted by
 * name. *out is owned by the engine and valid until the next change (or
 * the next call, for a pod the engine was not told about); it is never
 * NULL on success, and NULL (returning 0) when out of memory. */
size_t engine_policies_selecting(struct engine *e, const struct np_pod *pod,
				 const struct np_policy *const **out);

/* Pods that a peer of policy pol matches (ipBlock peers match pods by
 * their first address), sorted by namespace/name (the cluster order that
 * cluster_finish gives), so that the answer never depends on the order of
 * changes. Peers with the same meaning share one answer. *out owned by the
 * engine, valid until the next change. */
size_t engine_peer_pods(struct engine *e, const struct np_policy *pol,
			const struct np_peer *peer, const struct np_pod *const **out);

/* Incremental upkeep of the index after the cluster changed in place.
 * (The reach and evaluate answers always reflect the current cluster.)
 * A pod's or policy's namespace/name must not change in place. After
 * -ENOMEM the index is incomplete: free the engine and build a new one. */
int engine_pod_changed(struct engine *e, const struct np_pod *pod);      /* added or relabelled */
int engine_pod_removed(struct engine *e, const struct np_pod *pod);      /* before it is freed */
int engine_namespace_changed(struct engine *e, const struct np_namespace *ns);
int engine_policy_changed(struct engine *e, const struct np_policy *pol);
int engine_policy_removed(struct engine *e, const struct np_policy *pol);

/* The verdict matrix: for each port, for each ordered pair (src, dst) of
 * distinct pods (cluster order), allowed or not. A pod with several
 * addresses is judged by its first address for ipBlock peers. */
struct np_matrix {
	size_t npods;
	const struct np_pod **pods;
	size_t nports;
	struct np_port *ports;
	size_t words;                  /* uint64 words per row = (npods+63)/64 */
	uint64_t *bits;                /* [port][src][word]: bit dst */
};

/* Returns 0, -ENOMEM, or -ESTALE when the cluster holds a pod the engine
 * was never told about. */
int engine_reach(struct engine *e, const struct np_port *ports, size_t nports,
		 struct np_matrix **out);
bool matrix_allowed(const struct np_matrix *m, size_t port, size_t src, size_t dst);
void matrix_free(struct np_matrix *m);

/* The ports worth evaluating when none are given: every distinct
 * containerPort of the cluster's pods, Service targetPort (numbered) and
 * port number that a policy rule names (a range by its first port),
 * sorted by protocol then number. Caller frees *out. */
int cluster_ports(const struct np_cluster *cl, struct np_port **out, size_t *n);

/* A policy that would allow a connection in one direction but for one
 * selector term (a matchLabels entry or a matchExpressions requirement)
 * that fails, while everything else (policyTypes, ports, protocol, the
 * other terms, the peer's namespace, ipBlocks) would allow it. */
enum np_miss_kind {
	NP_MISS_POD_SELECTOR,       /* the policy's podSelector, on the pod it protects */
	NP_MISS_PEER_POD_SELECTOR,  /* a peer's podSelector, on the other end */
	NP_MISS_PEER_NS_SELECTOR,   /* a peer's namespaceSelector, on the other end's namespace */
};

struct np_near_miss {
	const struct np_policy *policy;
	bool egress;
	enum np_miss_kind kind;
	int rule, peer;                      /* the rule that would allow; peer -1: it lists none */
	const struct np_selector *selector;  /* the selector that fails ... */
	const struct np_requirement *term;   /* ... on this one term */
	const struct np_pod *pod;            /* the pod it was tried on (or whose namespace) */
	const struct np_labels *labels;      /* the labels it failed on (pod's or namespace's) */
};

/* The near misses of one direction (egress of src, or ingress of dst) on
 * port: one per policy (its first rule and peer that is one term off), by
 * policy name. For a direction that is allowed there may be some too; the
 * caller asks for denied ones. *out (caller frees) borrows from the engine
 * and the cluster. 0 or -ENOMEM. */
int engine_near_misses(struct engine *e, bool egress, const struct np_endpoint *src,
		       const struct np_endpoint *dst, struct np_port port,
		       struct np_near_miss **out, size_t *n);

/* The pods of namespace ns that sel would match but for one term, for the
 * term that most pods fail alone (*term, NULL when no pod is one term
 * off). *pods sorted by name; caller frees. 0 or -ENOMEM. */
int engine_selector_near_pods(struct engine *e, const struct np_selector *sel, const char *ns,
			      const struct np_requirement **term, const struct np_pod ***pods,
			      size_t *n);

/* The same for namespaces: the names of those sel would match but for
 * one term (*names sorted, caller frees; the strings and *labels, the
 * labels of one of them, belong to the engine). */
int engine_selector_near_namespaces(struct engine *e, const struct np_selector *sel,
				    const struct np_requirement **term, const char ***names,
				    const struct np_labels **labels, size_t *n);

/* Lint: appends findings as DIAG_WARNING records with file:line and a code:
 *   NP001 policy selects no pod          NP002 peer selector matches nothing
 *   NP003 egress isolation blocks DNS    NP004 rule shadowed by another rule
 *   NP005 named port declared by no pod  NP006 except outside its cidr
 *   NP008 selector that matches nothing but would with one term changed
 * (NP006 is reported by the decoder, as the API server rejects it), and
 * DIAG_NOTE records for NP007: DNS allowed over UDP but not over TCP.
 * Sorted by file/line. Returns the number of warnings (notes do not
 * count), or -errno. */
int lint_cluster(struct engine *e, struct diag_list *out);

#endif
