/* gen: synthetic cluster objects as the API serves them (JSON), for the
 * benchmark programs. The same shapes as gen_cluster's YAML: namespaces of
 * GEN_PODS_PER_NS pods with team/env labels; pods with app/tier/version
 * labels, a named http port (and pg for databases); the policy mix of
 * default deny, namespace-selector, pod-selector (also across
 * namespaces), ipBlock with except, named ports and endPort ranges.
 * Deterministic for a given seed. Objects are new references. */
#ifndef NETPOL_BENCH_GEN_H
#define NETPOL_BENCH_GEN_H

#include <jansson.h>
#include <stdint.h>

#define GEN_PODS_PER_NS 50

void gen_seed(uint64_t seed);
uint32_t gen_rnd(uint32_t n);
/* Pod i's address: 198.18.0.0/16 for the first 60,000 (as gen_cluster),
 * then 2001:db8::1:0:0/96 (engine-only data; no traffic goes there). */
void gen_pod_ip(int i, char buf[32]);
json_t *gen_namespace(int i);
/* Pod i of namespace i / GEN_PODS_PER_NS; version picks its version label
 * (relabelling changes it); ifname NULL: a pod of another node. */
json_t *gen_pod(int i, int version, const char *ifname);
/* Policy number i in one of nns namespaces. */
json_t *gen_policy(int i, int nns);

#endif
