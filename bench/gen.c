/* gen: synthetic cluster objects as JSON (see gen.h). */
#include "gen.h"

#include <stdio.h>

static uint64_t rng_state = 88172645463325252ULL;

static const char *tiers[] = {"web", "api", "db", "cache"};
static const char *envs[] = {"prod", "staging", "dev"};

void gen_seed(uint64_t seed)
{
	rng_state = 88172645463325252ULL ^ (seed * 0x9E3779B97F4A7C15ULL);
}

uint32_t gen_rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

void gen_pod_ip(int i, char buf[32])
{
	if (i < 60000) {
		snprintf(buf, 32, "198.18.%d.%d", 1 + i / 250, 1 + i % 250);
		return;
	}
	/* 198.18.0.0/16 is full: the rest of the pods get documentation IPv6
	 * addresses, still inside the project's address plan */
	int j = i - 60000;
	snprintf(buf, 32, "2001:db8::1:%x:%x", j >> 16, j & 0xffff);
}

json_t *gen_namespace(int i)
{
	char name[32], team[32];
	snprintf(name, sizeof(name), "ns-%d", i);
	snprintf(team, sizeof(team), "team-%d", i % 10);
	return json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s}}}", "apiVersion", "v1", "kind",
			 "Namespace", "metadata", "name", name, "labels", "team", team, "env",
			 envs[i % 3]);
}

json_t *gen_pod(int i, int version, const char *ifname)
{
	char name[32], ns[32], app[32], ver[16], ip[32];
	snprintf(name, sizeof(name), "pod-%d", i);
	snprintf(ns, sizeof(ns), "ns-%d", i / GEN_PODS_PER_NS);
	snprintf(app, sizeof(app), "app-%d", (i % GEN_PODS_PER_NS) / 5);
	snprintf(ver, sizeof(ver), "v%d", version);
	gen_pod_ip(i, ip);
	json_t *ports = json_pack("[{s:s, s:i}]", "name", "http", "containerPort", 8080);
	if (i % 4 == 2)
		json_array_append_new(ports, json_pack("{s:s, s:i}", "name", "pg", "containerPort", 5432));
	json_t *pod = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s, s:s}},"
				" s:{s:[{s:s, s:s, s:o}]}, s:{s:s}}",
				"apiVersion", "v1", "kind", "Pod", "metadata", "name", name,
				"namespace", ns, "labels", "app", app, "tier", tiers[i % 4],
				"version", ver, "spec", "containers", "name", "main", "image",
				"probe", "ports", ports, "status", "podIP", ip);
	if (pod && ifname)
		json_object_set_new(json_object_get(pod, "metadata"), "annotations",
				    json_pack("{s:s}", "netpol.io/interface", ifname));
	return pod;
}

json_t *gen_policy(int i, int nns)
{
	int ns = (int)gen_rnd((uint32_t)nns), other = (int)gen_rnd((uint32_t)nns);
	char text[1024], name[32], nsname[32];
	snprintf(name, sizeof(name), "pol-%d", i);
	snprintf(nsname, sizeof(nsname), "ns-%d", ns);
	switch (i % 6) {
	case 0: /* default deny, both directions */
		snprintf(text, sizeof(text), "{\"podSelector\":{},\"policyTypes\":[\"Ingress\",\"Egress\"]}");
		break;
	case 1: /* allow from every namespace of a team */
		snprintf(text, sizeof(text),
			 "{\"podSelector\":{\"matchLabels\":{\"tier\":\"%s\"}},\"ingress\":[{\"from\":"
			 "[{\"namespaceSelector\":{\"matchLabels\":{\"team\":\"team-%d\"}}}]}]}",
			 tiers[gen_rnd(4)], other % 10);
		break;
	case 2: { /* pod selector peers, named port */
		unsigned app = gen_rnd(10);
		snprintf(text, sizeof(text),
			 "{\"podSelector\":{\"matchLabels\":{\"app\":\"app-%u\"}},\"ingress\":[{\"from\":["
			 "{\"podSelector\":{\"matchLabels\":{\"tier\":\"web\"}}},"
			 "{\"podSelector\":{\"matchExpressions\":[{\"key\":\"version\",\"operator\":\"In\","
			 "\"values\":[\"v1\",\"v2\"]}]},\"namespaceSelector\":{\"matchLabels\":{\"env\":\"%s\"}}}],"
			 "\"ports\":[{\"port\":\"http\"}]}]}",
			 app, envs[gen_rnd(3)]);
		break;
	}
	case 3: { /* ipBlock with except */
		unsigned net = 1 + gen_rnd(4);
		snprintf(text, sizeof(text),
			 "{\"podSelector\":{\"matchLabels\":{\"tier\":\"api\"}},\"ingress\":[{\"from\":["
			 "{\"ipBlock\":{\"cidr\":\"198.18.%u.0/24\",\"except\":[\"198.18.%u.128/25\"]}}],"
			 "\"ports\":[{\"protocol\":\"TCP\",\"port\":8080}]}]}",
			 net, net);
		break;
	}
	case 4: /* egress with endPort range and DNS */
		snprintf(text, sizeof(text),
			 "{\"podSelector\":{\"matchLabels\":{\"tier\":\"%s\"}},\"policyTypes\":[\"Egress\"],"
			 "\"egress\":[{\"to\":[{\"namespaceSelector\":{},\"podSelector\":{\"matchLabels\":"
			 "{\"tier\":\"db\"}}}],\"ports\":[{\"port\":5000,\"endPort\":6000}]},"
			 "{\"ports\":[{\"port\":53,\"protocol\":\"UDP\"}]}]}",
			 tiers[gen_rnd(4)]);
		break;
	default: /* allow within the namespace */
		snprintf(text, sizeof(text), "{\"podSelector\":{},\"ingress\":[{\"from\":[{\"podSelector\":{}}]}]}");
	}
	json_t *spec = json_loads(text, 0, NULL);
	if (!spec)
		return NULL;
	return json_pack("{s:s, s:s, s:{s:s, s:s}, s:o}", "apiVersion", "networking.k8s.io/v1",
			 "kind", "NetworkPolicy", "metadata", "name", name, "namespace", nsname,
			 "spec", spec);
}
