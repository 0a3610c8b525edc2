/* bench_program: the agent's path from a change to the kernel, in-process
 * (src/agent cache -> src/dataplane/nft compile, delta, apply), in a node
 * namespace the caller made.
 *
 *   bench_program program NETNS LOCAL REMOTE POLICIES CHANGES READY
 *       The node's interfaces npb0000.. (LOCAL + READY of them) exist.
 *       Loads the generated cluster (LOCAL pods of this node, REMOTE of
 *       others, POLICIES), programs it whole (full_program_ms), then
 *       times CHANGES incremental changes (relabelled pods here and
 *       elsewhere, new policies, new remote pods) and READY new local
 *       pods, each from the event reaching the cache to the transaction
 *       committed. Prints one JSON object.
 *   bench_program datapath NETNS CLIENT_IF CLIENT_IP SERVER_IF SERVER_IP POLICIES MEMBERS
 *       Programs the node for two pods: POLICIES policies select the
 *       server, each allowing one group of MEMBERS / POLICIES remote pods;
 *       only the last one (by name, so the last checked) admits the
 *       client. Leaves the table loaded. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "gen.h"
#include "stats.h"

struct node {
	struct agent_cache *cache;
	struct nft_conn *conn;
	struct nft_prog *cur;
};

static int apply(struct node *n, enum agent_kind k, const char *type, json_t *obj)
{
	struct diag_list d = {0};
	int r = agent_cache_apply(n->cache, k, type, obj, &d);
	if (r < 0)
		fprintf(stderr, "bench_program: event refused: %s\n", d.n ? d.items[0].msg : strerror(-r));
	diag_list_clear(&d);
	json_decref(obj);
	return r;
}

/* What the agent's commit does: compile incrementally, delta against
 * what the kernel holds, apply (whole, the first time). The compiler's
 * memo lives here (one node at a time: a node's first commit starts a new
 * one; the last is left to the process exit). */
/* Time of the last commit's phases: compile, delta, kernel (seconds). */
static double phase[3];

static int commit(struct node *n)
{
	static struct nft_incr *incr;
	double t0 = stats_now(), t1 = t0, t2 = t0;
	struct diag_list d = {0};
	struct nft_endpoint *eps = NULL;
	struct nft_prog *want = NULL;
	struct nft_delta *delta = NULL;
	size_t neps = 0;
	struct nft_opts opts = {.pod_ifprefix = AGENT_POD_IFPREFIX};
	if (!n->cur) {
		nft_incr_free(incr);
		incr = NULL;
	}
	int err = incr || (incr = nft_incr_new()) ? 0 : -ENOMEM;
	if (!err)
		err = agent_cache_endpoints(n->cache, &eps, &neps, &d);
	if (!err)
		err = nft_incr_compile(incr, agent_cache_engine(n->cache), agent_cache_cluster(n->cache),
				       eps, neps, &opts, &want, &d);
	t1 = t2 = stats_now();
	if (!err && !n->cur)
		err = nft_sync(n->conn, want, NULL, &d);
	else if (!err && !(err = nft_delta_compute(n->cur, want, &delta))) {
		t2 = stats_now();
		err = nft_apply(n->conn, delta, &d);
	}
	phase[0] = t1 - t0;
	phase[1] = t2 - t1;
	phase[2] = stats_now() - t2;
	if (!err) {
		nft_prog_free(n->cur);
		n->cur = want;
		want = NULL;
	} else {
		fprintf(stderr, "bench_program: commit: %s\n", d.n ? d.items[0].msg : strerror(-err));
	}
	diag_list_clear(&d);
	free(eps);
	nft_prog_free(want);
	nft_delta_free(delta);
	return err;
}

static int node_open(struct node *n, const char *netns)
{
	memset(n, 0, sizeof(*n));
	n->cache = agent_cache_new();
	if (!n->cache)
		return -ENOMEM;
	return nft_conn_new(netns, &n->conn);
}

static void node_close(struct node *n)
{
	nft_prog_free(n->cur);
	nft_conn_free(n->conn);
	agent_cache_free(n->cache);
}

static void ifname_of(int i, char buf[16])
{
	snprintf(buf, 16, "npb%04d", i);
}

/* One incremental change, number k. */
static json_t *change(int k, int local, int remote, int npol, int nns, enum agent_kind *kind,
		      const char **type)
{
	char ifn[16];
	*type = "MODIFIED";
	*kind = AGENT_PODS;
	switch (k % 4) {
	case 0: /* a remote pod relabelled */
		return gen_pod(local + (int)gen_rnd((uint32_t)remote), 3 + k % 5, NULL);
	case 1: { /* a pod of this node relabelled */
		int i = (int)gen_rnd((uint32_t)local);
		ifname_of(i, ifn);
		return gen_pod(i, 3 + k % 5, ifn);
	}
	case 2: /* a new policy */
		*type = "ADDED";
		*kind = AGENT_POLICIES;
		return gen_policy(npol + k, nns);
	default: /* a new pod elsewhere */
		*type = "ADDED";
		return gen_pod(200000 + k, k % 3, NULL);
	}
}

static int program(const char *netns, int local, int remote, int npol, int nchanges, int nready)
{
	struct node n;
	int total = local + remote + nready, nns = (total + GEN_PODS_PER_NS - 1) / GEN_PODS_PER_NS;
	double *lat = calloc((size_t)nchanges + 1, sizeof(double));
	double *rdy = calloc((size_t)nready + 1, sizeof(double));
	int err = node_open(&n, netns);
	gen_seed(2);
	for (int i = 0; !err && i < nns + 4; i++) /* and the namespaces of new pods */
		err = apply(&n, AGENT_NAMESPACES, "ADDED", gen_namespace(i)) < 0 ? -EINVAL : 0;
	for (int i = 0; !err && i < local + remote; i++) {
		char ifn[16];
		ifname_of(i, ifn);
		err = apply(&n, AGENT_PODS, "ADDED", gen_pod(i, i % 3, i < local ? ifn : NULL)) < 0
			      ? -EINVAL : 0;
	}
	for (int i = 0; !err && i < npol; i++)
		err = apply(&n, AGENT_POLICIES, "ADDED", gen_policy(i, nns)) < 0 ? -EINVAL : 0;
	if (err || !lat || !rdy)
		return 1;
	double t0 = stats_now(), *ph[3];
	double *rph[3];
	for (int i = 0; i < 3; i++)
		if (!(ph[i] = calloc((size_t)nchanges + 1, sizeof(double))) ||
		    !(rph[i] = calloc((size_t)nready + 1, sizeof(double))))
			return 1;
	if (commit(&n) < 0)
		return 1;
	double full = stats_now() - t0;
	struct nft_counts cnt;
	nft_prog_count(n.cur, &cnt);
	for (int k = 0; k < nchanges; k++) {
		enum agent_kind kind;
		const char *type;
		json_t *obj = change(k, local, remote, npol, nns, &kind, &type);
		double a = stats_now();
		if (apply(&n, kind, type, obj) < 0 || commit(&n) < 0)
			return 1;
		lat[k] = stats_now() - a;
		for (int i = 0; i < 3; i++)
			ph[i][k] = phase[i];
	}
	for (int k = 0; k < nready; k++) {
		/* the pod's veth exists (the kubelet made it); its address and
		 * interface arrive with the pod */
		char ifn[16];
		int i = local + remote + k;
		ifname_of(local + k, ifn);
		json_t *pod = gen_pod(i, k % 3, ifn);
		double a = stats_now();
		if (apply(&n, AGENT_PODS, "ADDED", pod) < 0 || commit(&n) < 0)
			return 1;
		rdy[k] = stats_now() - a;
		for (int f = 0; f < 3; f++)
			rph[f][k] = phase[f];
	}
	printf("{\"programming\":{\"endpoints\":%d,\"remote_pods\":%d,\"policies\":%d,"
	       "\"full_program_ms\":%.1f,\"apply_ms\":{\"p50\":%.3f,\"p99\":%.3f},"
	       "\"nft_rules\":%zu,\"nft_set_elements\":%zu,\"changes\":%d,"
	       "\"phases_ms\":{\"compile\":{\"p50\":%.3f,\"p99\":%.3f},"
	       "\"delta\":{\"p50\":%.3f,\"p99\":%.3f},\"kernel\":{\"p50\":%.3f,\"p99\":%.3f}}},"
	       "\"pod_policy_ready_ms\":{\"p50\":%.3f,\"p99\":%.3f,\"pods\":%d,"
	       "\"phases_ms\":{\"compile\":{\"p50\":%.3f,\"p99\":%.3f},"
	       "\"delta\":{\"p50\":%.3f,\"p99\":%.3f},\"kernel\":{\"p50\":%.3f,\"p99\":%.3f}}}}\n",
	       local, remote, npol, full * 1e3, stats_quantile(lat, (size_t)nchanges, .5) * 1e3,
	       stats_quantile(lat, (size_t)nchanges, .99) * 1e3, cnt.rules, cnt.elems, nchanges,
	       stats_quantile(ph[0], (size_t)nchanges, .5) * 1e3,
	       stats_quantile(ph[0], (size_t)nchanges, .99) * 1e3,
	       stats_quantile(ph[1], (size_t)nchanges, .5) * 1e3,
	       stats_quantile(ph[1], (size_t)nchanges, .99) * 1e3,
	       stats_quantile(ph[2], (size_t)nchanges, .5) * 1e3,
	       stats_quantile(ph[2], (size_t)nchanges, .99) * 1e3,
	       stats_quantile(rdy, (size_t)nready, .5) * 1e3,
	       stats_quantile(rdy, (size_t)nready, .99) * 1e3, nready,
	       stats_quantile(rph[0], (size_t)nready, .5) * 1e3,
	       stats_quantile(rph[0], (size_t)nready, .99) * 1e3,
	       stats_quantile(rph[1], (size_t)nready, .5) * 1e3,
	       stats_quantile(rph[1], (size_t)nready, .99) * 1e3,
	       stats_quantile(rph[2], (size_t)nready, .5) * 1e3,
	       stats_quantile(rph[2], (size_t)nready, .99) * 1e3);
	node_close(&n);
	free(lat);
	free(rdy);
	for (int i = 0; i < 3; i++) {
		free(ph[i]);
		free(rph[i]);
	}
	return 0;
}

static json_t *dp_pod(const char *ns, const char *name, const char *key, const char *val,
		      const char *ip, const char *ifname)
{
	json_t *pod = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:[{s:s, s:s}]}, s:{s:s}}",
				"apiVersion", "v1", "kind", "Pod", "metadata", "name", name,
				"namespace", ns, "labels", key, val, "spec", "containers", "name",
				"main", "image", "probe", "status", "podIP", ip);
	if (pod && ifname)
		json_object_set_new(json_object_get(pod, "metadata"), "annotations",
				    json_pack("{s:s}", AGENT_IF_ANNOTATION, ifname));
	return pod;
}

static int datapath(char **a)
{
	struct node n;
	int npol = atoi(a[5]), members = atoi(a[6]), err = node_open(&n, a[0]);
	char name[32], grp[32], ip[32], text[512];
	for (int i = 0; !err && i < 2; i++)
		err = apply(&n, AGENT_NAMESPACES, "ADDED",
			    json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
				      "metadata", "name", i ? "remote" : "bench")) < 0;
	snprintf(grp, sizeof(grp), "g%04d", npol - 1);
	err = err || apply(&n, AGENT_PODS, "ADDED", dp_pod("bench", "client", "grp", grp, a[2], a[1])) < 0;
	err = err || apply(&n, AGENT_PODS, "ADDED", dp_pod("bench", "server", "app", "server", a[4], a[3])) < 0;
	for (int i = 0; !err && i < members; i++) {
		snprintf(name, sizeof(name), "r-%d", i);
		snprintf(grp, sizeof(grp), "g%04d", i % npol);
		snprintf(ip, sizeof(ip), "198.18.%d.%d", 100 + i / 250, i % 250 + 1);
		err = apply(&n, AGENT_PODS, "ADDED", dp_pod("remote", name, "grp", grp, ip, NULL)) < 0;
	}
	for (int i = 0; !err && i < npol; i++) {
		snprintf(text, sizeof(text),
			 "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\","
			 "\"metadata\":{\"name\":\"pol-%04d\",\"namespace\":\"bench\"},\"spec\":{"
			 "\"podSelector\":{\"matchLabels\":{\"app\":\"server\"}},\"ingress\":[{\"from\":["
			 "{\"namespaceSelector\":{},\"podSelector\":{\"matchLabels\":{\"grp\":\"g%04d\"}}}]}]}}",
			 i, i);
		err = apply(&n, AGENT_POLICIES, "ADDED", json_loads(text, 0, NULL)) < 0;
	}
	if (err || commit(&n) < 0)
		return 1;
	struct nft_counts cnt;
	nft_prog_count(n.cur, &cnt);
	printf("%zu %zu\n", cnt.rules, cnt.elems);
	node_close(&n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 8 && !strcmp(argv[1], "program"))
		return program(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]),
			       atoi(argv[7]));
	if (argc == 9 && !strcmp(argv[1], "datapath"))
		return datapath(argv + 2);
	fprintf(stderr, "usage: bench_program program NETNS LOCAL REMOTE POLICIES CHANGES READY\n"
			"       bench_program datapath NETNS CLIENT_IF CLIENT_IP SERVER_IF SERVER_IP POLICIES MEMBERS\n");
	return 64;
}
