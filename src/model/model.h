/* model: the objects netpol reasons about: labels, label selectors, IP
 * addresses and CIDRs, and the Kubernetes kinds Namespace, Pod, Deployment,
 * Service and NetworkPolicy, gathered in a cluster.
 *
 * Ownership: a cluster owns every object added to it, and every object owns
 * its strings and arrays. *_free(NULL) is a no-op. Functions return 0 or
 * -errno; none prints.
 */
#ifndef NETPOL_MODEL_H
#define NETPOL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- source positions ---------------------------------------------------- */

/* Where a thing was written. file points into the owning cluster's file
 * table (cluster_intern_file) or is NULL; line/col are 1-based, 0 = unknown. */
struct np_pos {
	const char *file;
	int line, col;
};

/* ---- labels --------------------------------------------------------------- */

struct np_label {
	char *key;
	char *value;
};

/* A set of labels, kept sorted by key, keys unique. Zero-initialised = empty. */
struct np_labels {
	struct np_label *items;
	size_t n;
};

int labels_set(struct np_labels *l, const char *key, const char *value);
/* Returns the value, or NULL when the key is absent. */
const char *labels_get(const struct np_labels *l, const char *key);
/* Returns 0, or -ENOENT when the key was absent. */
int labels_remove(struct np_labels *l, const char *key);
/* dst must be initialised (zeroed is fine); its old contents are released
 * on success and left alone on error. Same for selector_copy and the out
 * argument of selector_parse. */
int labels_copy(struct np_labels *dst, const struct np_labels *src);
bool labels_equal(const struct np_labels *a, const struct np_labels *b);
void labels_clear(struct np_labels *l);
/* "k1=v1,k2=v2" (sorted), or "<none>" when empty. Caller frees. */
char *labels_to_string(const struct np_labels *l);

/* ---- label selectors -------------------------------------------------------- */

enum np_sel_op { SEL_IN, SEL_NOT_IN, SEL_EXISTS, SEL_DOES_NOT_EXIST };

struct np_requirement {
	char *key;
	enum np_sel_op op;
	char **values;    /* sorted, unique; empty for Exists/DoesNotExist */
	size_t nvalues;
	struct np_pos pos;
};

/* A label selector: the AND of its requirements. matchLabels k: v becomes
 * the requirement "k In (v)". No requirement = matches everything.
 * (The "null selector matches nothing" case is represented by the owner,
 * e.g. np_peer.has_pod_sel == false.) */
struct np_selector {
	struct np_requirement *reqs;
	size_t n;
};

bool selector_matches(const struct np_selector *s, const struct np_labels *l);
bool selector_is_empty(const struct np_selector *s);
/* Adds a requirement at its canonical place (values sorted and unique; an
 * identical requirement is not added twice). -EINVAL when In/NotIn have no
 * values or Exists/DoesNotExist have some. */
int selector_add(struct np_selector *s, const char *key, enum np_sel_op op,
		 const char *const *values, size_t nvalues);
int selector_copy(struct np_selector *dst, const struct np_selector *src);
void selector_clear(struct np_selector *s);
/* Canonical text, identical for selectors that mean the same thing:
 * requirements sorted, kubectl syntax: "a=b,c in (x,y),!d,e". The empty
 * selector is "". Used to share one peer set per distinct selector.
 * Caller frees. */
char *selector_to_string(const struct np_selector *s);
/* Parses kubectl's -l syntax ("a=b,a==b,a!=b,a in (x,y),a notin (x),a,!a").
 * On error returns -EINVAL and, when err is non-NULL, sets *err to a
 * message the caller frees. */
int selector_parse(const char *text, struct np_selector *out, char **err);

/* ---- addresses -------------------------------------------------------------- */

struct np_ip {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network order; IPv4 uses the first 4 bytes */
};

struct np_cidr {
	struct np_ip ip;  /* host bits cleared */
	uint8_t prefix;
};

/* Strict dotted-quad / RFC 4291 text. -EINVAL when malformed. */
int ip_parse(const char *text, struct np_ip *out);
/* "a.b.c.d/n" or "x::y/n". Host bits set are accepted and cleared (as
 * Go's net.ParseCIDR does); *had_host_bits tells the caller (may be NULL). */
int cidr_parse(const char *text, struct np_cidr *out, bool *had_host_bits);
bool cidr_contains_ip(const struct np_cidr *c, const struct np_ip *ip);
/* True when every address of inner is in outer (same family). */
bool cidr_contains_cidr(const struct np_cidr *outer, const struct np_cidr *inner);
bool ip_equal(const struct np_ip *a, const struct np_ip *b);
/* Writes text form into buf (INET6_ADDRSTRLEN+4 is enough). Returns buf. */
char *ip_to_string(const struct np_ip *ip, char *buf, size_t len);
char *cidr_to_string(const struct np_cidr *c, char *buf, size_t len);

/* ---- protocols and ports ---------------------------------------------------- */

enum np_proto { NP_TCP, NP_UDP, NP_SCTP };
#define NP_NPROTO 3

const char *proto_name(enum np_proto p);          /* "TCP", "UDP", "SCTP" */
/* Exact, case-sensitive as the API server: -EINVAL otherwise. */
int proto_parse(const char *text, enum np_proto *out);

/* ---- objects ---------------------------------------------------------------- */

struct np_meta {
	char *name;
	char *namespace;            /* NULL for cluster-scoped kinds */
	struct np_labels labels;
	struct np_labels annotations;
	struct np_pos pos;          /* where the object starts */
};

struct np_namespace {
	struct np_meta meta;        /* labels include kubernetes.io/metadata.name */
	bool implicit;              /* referenced by objects but not declared */
};

struct np_container_port {
	char *name;                 /* NULL when unnamed */
	int port;
	enum np_proto proto;
};

struct np_pod {
	struct np_meta meta;
	struct np_container_port *ports;  /* every container's ports, in order */
	size_t nports;
	struct np_ip *ips;                /* status.podIPs (or podIP); may be empty */
	size_t nips;
	char *owner;                      /* Deployment name when derived, else NULL */
};

struct np_deployment {
	struct np_meta meta;
	int replicas;                     /* default 1 */
	struct np_selector selector;      /* spec.selector */
	struct np_labels template_labels;
	struct np_container_port *ports;  /* template containers' ports */
	size_t nports;
};

struct np_service_port {
	char *name;
	enum np_proto proto;
	int port;
	int target_port;                  /* 0 when named or absent */
	char *target_port_name;           /* named targetPort, else NULL */
};

struct np_service {
	struct np_meta meta;
	struct np_labels selector;        /* spec.selector (map form) */
	bool has_selector;
	struct np_service_port *ports;
	size_t nports;
	char *type;                       /* "ClusterIP" by default */
	char *cluster_ip;                 /* NULL when unset */
};

enum np_port_kind { PORT_ANY, PORT_NUMBER, PORT_NAMED };

/* One entry of a rule's ports list. */
struct np_port_spec {
	enum np_proto proto;              /* TCP when not written */
	enum np_port_kind kind;           /* PORT_ANY: protocol without port */
	int port;                         /* PORT_NUMBER */
	int end_port;                     /* 0 = no range */
	char *name;                       /* PORT_NAMED */
	struct np_pos pos;
};

struct np_ipblock {
	struct np_cidr cidr;
	struct np_cidr *except;
	size_t nexcept;
	struct np_pos pos;
};

/* One entry of from/to. Exactly one of: a pod and/or namespace selector,
 * or an ipBlock (validation enforces it). */
struct np_peer {
	bool has_pod_sel;
	struct np_selector pod_sel;
	bool has_ns_sel;
	struct np_selector ns_sel;
	bool has_ipblock;
	struct np_ipblock ipblock;
	struct np_pos pos;
};

/* One ingress or egress rule. Empty peers = every peer (also outside the
 * cluster); empty ports = every port and protocol. */
struct np_rule {
	struct np_peer *peers;
	size_t npeers;
	struct np_port_spec *ports;
	size_t nports;
	struct np_pos pos;
};

struct np_policy {
	struct np_meta meta;
	struct np_selector pod_sel;       /* spec.podSelector */
	bool ingress_type;                /* effective policyTypes */
	bool egress_type;
	bool types_written;               /* policyTypes given explicitly */
	struct np_rule *ingress;
	size_t ningress;
	struct np_rule *egress;
	size_t negress;
};

/* ---- the cluster --------------------------------------------------------------- */

struct np_cluster {
	struct np_namespace **namespaces;  size_t nnamespaces;
	struct np_pod **pods;              size_t npods;
	struct np_deployment **deployments; size_t ndeployments;
	struct np_service **services;      size_t nservices;
	struct np_policy **policies;       size_t npolicies;
	char **files;                      size_t nfiles;   /* interned file names */
	/* Private to cluster.c: hash indexes of the lists by namespace/name,
	 * so that adding and finding stay O(1) at 100k pods. They check
	 * themselves against the lists (which others may edit in place). */
	struct cluster_index *index;
};

struct np_cluster *cluster_new(void);
/* To be called after editing a cluster's lists in place (entries replaced,
 * removed or reordered other than by cluster_add_*): forgets the lookup
 * index behind cluster_find_*, which is rebuilt on the next lookup. */
void cluster_lists_changed(struct np_cluster *c);
void cluster_free(struct np_cluster *c);
/* Returns a stable copy of name owned by c (same pointer for equal names). */
const char *cluster_intern_file(struct np_cluster *c, const char *name);

/* cluster_add_* take ownership of obj on success (0); on error (-EEXIST for
 * a duplicate namespace/name of the same kind, -ENOMEM) the caller keeps it. */
int cluster_add_namespace(struct np_cluster *c, struct np_namespace *ns);
int cluster_add_pod(struct np_cluster *c, struct np_pod *pod);
int cluster_add_deployment(struct np_cluster *c, struct np_deployment *d);
int cluster_add_service(struct np_cluster *c, struct np_service *s);
int cluster_add_policy(struct np_cluster *c, struct np_policy *p);

struct np_namespace *cluster_find_namespace(const struct np_cluster *c, const char *name);
struct np_pod *cluster_find_pod(const struct np_cluster *c, const char *ns, const char *name);
struct np_policy *cluster_find_policy(const struct np_cluster *c, const char *ns, const char *name);

/* Completes a decoded cluster the way the API server and controllers would:
 * derives each Deployment's pods (names NAME-<10 char hash>-<5 chars>,
 * deterministic from the template and index; labels = template labels plus
 * pod-template-hash), adds implicit Namespaces for namespaces that objects
 * use but nobody declared, gives every Namespace the
 * kubernetes.io/metadata.name label, and sorts every list by
 * namespace/name so that output is deterministic. */
int cluster_finish(struct np_cluster *c);

/* The pod-template-hash of d (10 characters): depends only on its name,
 * template labels and ports. Shared by cluster_finish and the daemon's
 * Deployment controller so offline and live pod names look alike.
 * 0 or -ENOMEM. */
int deployment_template_hash(const struct np_deployment *d, char out[11]);
/* The 5-character suffix of replica `index` (attempt > 0 after a clash). */
void deployment_replica_suffix(const struct np_deployment *d, const char *hash, long index,
			       int attempt, char out[6]);

/* Zeroed objects; a Deployment starts with replicas = 1 (the API default).
 * NULL when out of memory. */
struct np_namespace *namespace_new(void);
struct np_pod *pod_new(void);
struct np_deployment *deployment_new(void);
struct np_service *service_new(void);
struct np_policy *policy_new(void);

void namespace_free(struct np_namespace *ns);
void pod_free(struct np_pod *p);
void deployment_free(struct np_deployment *d);
void service_free(struct np_service *s);
void policy_free(struct np_policy *p);
void meta_clear(struct np_meta *m);
void rule_clear(struct np_rule *r);
void peer_clear(struct np_peer *p);

/* Resolves a port of pod: for PORT_NUMBER and PORT_ANY returns as written;
 * for PORT_NAMED looks up a containerPort with that name and protocol and
 * returns its number, or -ENOENT. */
int pod_resolve_named_port(const struct np_pod *pod, const char *name, enum np_proto proto);

#endif
