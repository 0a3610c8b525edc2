/* agent: the node agent. It keeps a cluster model current from the API's
 * list/watch streams (namespaces, pods, networkpolicies) and programs the
 * node's `table inet netpol` from it through src/dataplane/nft, in-process.
 *
 *   cache      API objects (JSON) -> the cluster model and the engine's
 *              index, incrementally (agent_cache_*)
 *   conntrack  flows in the node's connection table that the policies now
 *              deny, deleted on request (agent_ct_*)
 *   run        the watch threads, the commit loop, readiness, annotations
 *              (agent_run)
 *
 * Library code: never prints (a log callback reports), never exits.
 */
#ifndef NETPOL_AGENT_H
#define NETPOL_AGENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "dataplane/nft/nft.h"
#include "model/model.h"
#include "policy/policy.h"
#include "util/diag.h"

#define AGENT_IF_ANNOTATION "netpol.io/interface"
#define AGENT_DP_ANNOTATION "netpol.io/dataplane"
#define AGENT_DP_PROGRAMMED "programmed"
#define AGENT_POD_IFPREFIX "np"          /* src/lab names pod veths np<hex> */

enum agent_kind { AGENT_NAMESPACES, AGENT_PODS, AGENT_POLICIES, AGENT_NKINDS };

/* "/api/v1/namespaces", "/api/v1/pods",
 * "/apis/networking.k8s.io/v1/networkpolicies": list and watch paths. */
const char *agent_kind_path(enum agent_kind k);

/* ---- the model cache ---------------------------------------------------------- */

struct agent_cache;

struct agent_cache *agent_cache_new(void);
void agent_cache_free(struct agent_cache *c);

/* Applies one watch event ("ADDED", "MODIFIED", "DELETED") of kind k; obj
 * is the object as the API serves it (only what policy needs is read:
 * extra fields a real API server adds are ignored). Returns 1 when the
 * model changed, 0 when it did not (the same object again, or only the
 * dataplane annotation changed), -EINVAL with a diag for an object that
 * does not decode (it is then treated as deleted), -errno otherwise. */
int agent_cache_apply(struct agent_cache *c, enum agent_kind k, const char *type,
		      json_t *obj, struct diag_list *diags);

/* A fresh list (the "items" array) of kind k replaces what the cache holds
 * of that kind: objects missing from it are deleted. Returns 1 when the
 * model changed, 0 or -errno as agent_cache_apply. */
int agent_cache_replace(struct agent_cache *c, enum agent_kind k, json_t *items,
			struct diag_list *diags);

/* The model and the engine indexing it; owned by the cache. */
struct np_cluster *agent_cache_cluster(struct agent_cache *c);
struct engine *agent_cache_engine(struct agent_cache *c);

/* The pods of this node: those with the interface annotation and an
 * address, sorted by namespace/name. A bad or duplicate interface name is
 * skipped with a warning (one bad pod must not stop the whole node's
 * program). *out is freed by the caller (the pods stay the cache's). */
int agent_cache_endpoints(struct agent_cache *c, struct nft_endpoint **out, size_t *n,
			  struct diag_list *diags);

/* Whether the pod's netpol.io/dataplane annotation says "programmed". */
bool agent_pod_programmed(const struct np_pod *pod);

/* The pod whose addresses include ip, or NULL. */
const struct np_pod *agent_cache_pod_by_ip(struct agent_cache *c, const struct np_ip *ip);

/* Lists every kind through the API's unix socket into a new cache (what
 * `netpol explain` asks a running lab). -errno; an HTTP error or an
 * object that does not decode goes into diags. */
int agent_cache_fetch(const char *socket_path, struct agent_cache **out,
		      struct diag_list *diags);

/* ---- conntrack ----------------------------------------------------------------- */

/* One flow as the node's conntrack sees it, in the terms of policy: the
 * source as it sent it, the destination after any DNAT (the reply's
 * source), and the destination port after DNAT. */
struct agent_flow {
	struct np_ip src, dst;
	struct np_port port;
};

/* Returns true when the flow must be cut. */
typedef bool (*agent_ct_judge_fn)(void *ctx, const struct agent_flow *f);

/* Deletes every TCP/UDP/SCTP conntrack entry of the namespace netns (a
 * /run/netns path; NULL: the caller's) that judge condemns. *cut gets how
 * many were deleted. */
int agent_ct_cut(const char *netns, agent_ct_judge_fn judge, void *ctx, size_t *cut);

/* Stops conntrack in netns from picking up TCP connections in mid-stream
 * (nf_conntrack_tcp_loose = 0): once an entry is cut, the next packet of
 * either side is invalid (dropped) instead of starting a fresh entry, which
 * would let a reply from the allowed side carry the denied side's packets
 * as its replies. */
int agent_ct_strict_tcp(const char *netns);

/* ---- the agent ------------------------------------------------------------------- */

enum agent_log_level { AGENT_LOG_ERROR, AGENT_LOG_WARNING, AGENT_LOG_INFO, AGENT_LOG_DEBUG };
typedef void (*agent_log_fn)(void *ctx, enum agent_log_level level, const char *msg);

/* Zero-initialise, then set what you need (the struct may grow). */
struct agent_options {
	const char *socket_path;    /* the API's unix socket */
	const char *node_netns;     /* /run/netns/<name> of the node */
	const char *ready_file;     /* touched once in sync; removed at exit */
	const char *latency_file;   /* optional: one line per change applied */
	const char *pod_ifprefix;   /* NULL: AGENT_POD_IFPREFIX */
	bool cut_denied;            /* --cut-denied-connections */
	volatile int *stop;         /* set non-zero (e.g. by SIGTERM) to stop */
	agent_log_fn log;
	void *log_ctx;
};

/* Runs until *stop: lists, watches and programs the node. The table stays
 * as it is when the agent stops (fail-static). Returns 0 or -errno. */
int agent_run(const struct agent_options *o);

#endif
