/* gen_cluster: writes a synthetic cluster as YAML for benchmarks.
 *
 *   gen_cluster PODS POLICIES [SEED]
 *
 * Namespaces of 50 pods with team/env labels; pods with app/tier/version
 * labels, a named http port and, for databases, a named pg port; addresses
 * from 198.18.0.0/16. The policy mix is what real clusters carry: default
 * deny per namespace, allow from a namespace selector, pod-selector peers
 * (also across namespaces), ipBlocks with except, named ports and endPort
 * ranges. Deterministic for a given seed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define PODS_PER_NS 50

static uint64_t rng_state = 88172645463325252ULL;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

static const char *tiers[] = {"web", "api", "db", "cache"};
static const char *envs[] = {"prod", "staging", "dev"};

static void gen_namespaces(int nns)
{
	for (int i = 0; i < nns; i++)
		printf("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns-%d\n"
		       "  labels:\n    team: team-%d\n    env: %s\n",
		       i, i % 10, envs[i % 3]);
}

static void gen_pods(int npods)
{
	for (int i = 0; i < npods; i++) {
		int ns = i / PODS_PER_NS, app = (i % PODS_PER_NS) / 5;
		const char *tier = tiers[i % 4];
		printf("---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: pod-%d\n  namespace: ns-%d\n"
		       "  labels:\n    app: app-%d\n    tier: %s\n    version: v%d\n"
		       "spec:\n  containers:\n  - name: main\n    image: probe\n    ports:\n"
		       "    - name: http\n      containerPort: 8080\n",
		       i, ns, app, tier, i % 3);
		if (i % 4 == 2)
			printf("    - name: pg\n      containerPort: 5432\n");
		printf("status:\n  podIP: 198.18.%d.%d\n", 1 + i / 250, 1 + i % 250);
	}
}

static void gen_policy(int i, int nns)
{
	int ns = rnd((uint32_t)nns), other = rnd((uint32_t)nns);
	printf("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
	       "  name: pol-%d\n  namespace: ns-%d\nspec:\n", i, ns);
	switch (i % 6) {
	case 0: /* default deny, both directions */
		printf("  podSelector: {}\n  policyTypes: [Ingress, Egress]\n");
		break;
	case 1: /* allow from every namespace of a team */
		printf("  podSelector:\n    matchLabels:\n      tier: %s\n  ingress:\n  - from:\n"
		       "    - namespaceSelector:\n        matchLabels:\n          team: team-%d\n",
		       tiers[rnd(4)], other % 10);
		break;
	case 2: /* pod selector peers, named port */
		printf("  podSelector:\n    matchLabels:\n      app: app-%u\n  ingress:\n  - from:\n"
		       "    - podSelector:\n        matchLabels:\n          tier: web\n"
		       "    - podSelector:\n        matchExpressions:\n        - {key: version, operator: In, values: [v1, v2]}\n"
		       "      namespaceSelector:\n        matchLabels:\n          env: %s\n"
		       "    ports:\n    - port: http\n", rnd(10), envs[rnd(3)]);
		break;
	case 3: { /* ipBlock with except */
		unsigned net = 1 + rnd(4);
		printf("  podSelector:\n    matchLabels:\n      tier: api\n  ingress:\n  - from:\n"
		       "    - ipBlock:\n        cidr: 198.18.%u.0/24\n        except:\n        - 198.18.%u.128/25\n"
		       "    ports:\n    - protocol: TCP\n      port: 8080\n", net, net);
		break;
	}
	case 4: /* egress with endPort range and DNS */
		printf("  podSelector:\n    matchLabels:\n      tier: %s\n  policyTypes: [Egress]\n  egress:\n"
		       "  - to:\n    - namespaceSelector: {}\n      podSelector:\n        matchLabels:\n          tier: db\n"
		       "    ports:\n    - port: 5000\n      endPort: 6000\n"
		       "  - ports:\n    - port: 53\n      protocol: UDP\n", tiers[rnd(4)]);
		break;
	default: /* allow within the namespace */
		printf("  podSelector: {}\n  ingress:\n  - from:\n    - podSelector: {}\n");
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: gen_cluster PODS POLICIES [SEED]\n");
		return 64;
	}
	int npods = atoi(argv[1]), npol = atoi(argv[2]);
	if (argc > 3)
		rng_state ^= strtoull(argv[3], NULL, 10) * 0x9E3779B97F4A7C15ULL;
	if (npods < 1 || npods > 60000 || npol < 0) {
		fprintf(stderr, "gen_cluster: PODS must be 1..60000 (addresses), POLICIES >= 0\n");
		return 64;
	}
	int nns = (npods + PODS_PER_NS - 1) / PODS_PER_NS;
	gen_namespaces(nns);
	gen_pods(npods);
	for (int i = 0; i < npol; i++)
		gen_policy(i, nns);
	return 0;
}
