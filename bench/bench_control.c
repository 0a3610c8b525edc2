/* bench_control: the engine alone (np_model + np_policy), no kernel.
 *
 *   bench_control PODS POLICIES [CHANGES]
 *
 * Builds the generated cluster, times engine_new (full_build_ms), reads
 * the resident set, then times CHANGES incremental changes of each kind:
 * a pod's version label changed, a pod added, a policy added (the object
 * is decoded beforehand: the figure is the cluster + index upkeep). Prints
 * one JSON object on stdout. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"
#include "gen.h"
#include "policy/policy.h"
#include "stats.h"

static void *decode(json_t *obj, const char *kind)
{
	struct diag_list d = {0};
	void *out = NULL;
	int err = decode_json_object(obj, kind, &out, &d);
	if (err < 0)
		fprintf(stderr, "bench_control: %s does not decode: %s\n", kind,
			d.n ? d.items[0].msg : strerror(-err));
	diag_list_clear(&d);
	json_decref(obj);
	return err < 0 ? NULL : out;
}

static double rss_mb(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	double kb = 0;
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = atof(line + 6);
	if (f)
		fclose(f);
	return kb / 1024;
}

static int build(struct np_cluster *cl, int npods, int npol, int nns)
{
	for (int i = 0; i < nns; i++) {
		struct np_namespace *ns = decode(gen_namespace(i), "Namespace");
		if (!ns || cluster_add_namespace(cl, ns) < 0)
			return -EINVAL;
	}
	for (int i = 0; i < npods; i++) {
		struct np_pod *p = decode(gen_pod(i, i % 3, NULL), "Pod");
		if (!p || cluster_add_pod(cl, p) < 0)
			return -EINVAL;
	}
	for (int i = 0; i < npol; i++) {
		struct np_policy *p = decode(gen_policy(i, nns), "NetworkPolicy");
		if (!p || cluster_add_policy(cl, p) < 0)
			return -EINVAL;
	}
	return cluster_finish(cl);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bench_control PODS POLICIES [CHANGES]\n");
		return 64;
	}
	int npods = atoi(argv[1]), npol = atoi(argv[2]), n = argc > 3 ? atoi(argv[3]) : 1000;
	int nns = (npods + GEN_PODS_PER_NS - 1) / GEN_PODS_PER_NS;
	double *lab = calloc((size_t)n, sizeof(double)), *add = calloc((size_t)n, sizeof(double));
	double *pol = calloc((size_t)n, sizeof(double));
	struct np_cluster *cl = cluster_new();
	gen_seed(1);
	double t0 = stats_now();
	if (!lab || !add || !pol || !cl || build(cl, npods, npol, nns) < 0)
		return 1;
	double t1 = stats_now();
	struct engine *e = engine_new(cl);
	double t2 = stats_now();
	if (!e)
		return 1;
	double rss = rss_mb();
	for (int k = 0; k < n; k++) {
		struct np_pod *p = cl->pods[gen_rnd((uint32_t)cl->npods)];
		char v[16];
		snprintf(v, sizeof(v), "v%d", k % 5);
		double a = stats_now();
		if (labels_set(&p->meta.labels, "version", v) < 0 || engine_pod_changed(e, p) < 0)
			return 1;
		lab[k] = stats_now() - a;
	}
	for (int k = 0; k < n; k++) {
		/* new pods join existing namespaces */
		int i = npods + k, slot = (int)gen_rnd((uint32_t)nns) * GEN_PODS_PER_NS;
		struct np_pod *p = decode(gen_pod(i, k % 3, NULL), "Pod");
		if (!p)
			return 1;
		free(p->meta.namespace);
		p->meta.namespace = NULL;
		if (asprintf(&p->meta.namespace, "ns-%d", slot / GEN_PODS_PER_NS) < 0)
			return 1;
		double a = stats_now();
		if (cluster_add_pod(cl, p) < 0 || engine_pod_changed(e, p) < 0)
			return 1;
		add[k] = stats_now() - a;
	}
	for (int k = 0; k < n; k++) {
		struct np_policy *p = decode(gen_policy(npol + k, nns), "NetworkPolicy");
		if (!p)
			return 1;
		double a = stats_now();
		if (cluster_add_policy(cl, p) < 0 || engine_policy_changed(e, p) < 0)
			return 1;
		pol[k] = stats_now() - a;
	}
	fprintf(stderr, "bench_control %d/%d: decode %.0f ms, engine %.0f ms\n", npods, npol,
		(t1 - t0) * 1e3, (t2 - t1) * 1e3);
	printf("{\"pods\":%d,\"policies\":%d,\"full_build_ms\":%.1f,\"rss_mb\":%.1f,"
	       "\"label_change_us\":{\"p50\":%.1f,\"p99\":%.1f},"
	       "\"pod_add_us\":{\"p50\":%.1f,\"p99\":%.1f},"
	       "\"policy_add_us\":{\"p50\":%.1f,\"p99\":%.1f},\"changes\":%d}\n",
	       npods, npol, (t2 - t1) * 1e3, rss, stats_quantile(lab, (size_t)n, .5) * 1e6,
	       stats_quantile(lab, (size_t)n, .99) * 1e6, stats_quantile(add, (size_t)n, .5) * 1e6,
	       stats_quantile(add, (size_t)n, .99) * 1e6, stats_quantile(pol, (size_t)n, .5) * 1e6,
	       stats_quantile(pol, (size_t)n, .99) * 1e6, n);
	engine_free(e);
	cluster_free(cl);
	free(lab);
	free(add);
	free(pol);
	return 0;
}
