/* The agent's model cache: API objects (JSON as a server sends them) into
 * the cluster, the engine and the node's endpoints. No kernel. */
#include "agent/agent.h"
#include "unit.h"

#include <errno.h>
#include <stdlib.h>

static json_t *j(const char *text)
{
	return json_loads(text, 0, NULL);
}

static int apply(struct agent_cache *c, enum agent_kind k, const char *type, const char *text)
{
	json_t *o = j(text);
	int r = agent_cache_apply(c, k, type, o, NULL);
	json_decref(o);
	return r;
}

#define POD_A "{\"metadata\":{\"name\":\"a\",\"namespace\":\"x\",\"uid\":\"u1\",\"resourceVersion\":\"7\"," \
	"\"labels\":{\"app\":\"a\"},\"annotations\":{\"netpol.io/interface\":\"npa\"}," \
	"\"managedFields\":[{\"manager\":\"kubelet\"}]},\"spec\":{\"containers\":[{\"name\":\"c\"," \
	"\"image\":\"nginx\",\"stdin\":true,\"ports\":[{\"containerPort\":80,\"name\":\"http\"}]}]}," \
	"\"status\":{\"phase\":\"Running\",\"podIP\":\"198.18.0.2\",\"conditions\":[{\"type\":\"Ready\"}]}}"
#define DENY "{\"metadata\":{\"name\":\"deny\",\"namespace\":\"x\"},\"spec\":{\"podSelector\":{}," \
	"\"policyTypes\":[\"Ingress\"]}}"

static bool allowed_from_outside(struct agent_cache *c, const char *ns, const char *name)
{
	const struct np_pod *pod = cluster_find_pod(agent_cache_cluster(c), ns, name);
	struct np_endpoint src = {0}, dst = {pod, pod->ips[0]};
	struct np_verdict v = {0};
	ip_parse("203.0.113.7", &src.ip);
	engine_evaluate(agent_cache_engine(c), &src, &dst, (struct np_port){80, NP_TCP}, &v);
	bool ok = v.allowed;
	verdict_clear(&v);
	return ok;
}

TEST(server_fields_beyond_policy_are_ignored)
{
	struct agent_cache *c = agent_cache_new();
	CHECK_INT(apply(c, AGENT_PODS, "ADDED", POD_A), 1);
	CHECK_INT(agent_cache_cluster(c)->npods, 1);
	CHECK_INT(agent_cache_cluster(c)->pods[0]->nips, 1);
	agent_cache_free(c);
}

TEST(the_same_object_again_changes_nothing)
{
	struct agent_cache *c = agent_cache_new();
	CHECK_INT(apply(c, AGENT_PODS, "ADDED", POD_A), 1);
	CHECK_INT(apply(c, AGENT_PODS, "MODIFIED", POD_A), 0);
	agent_cache_free(c);
}

TEST(policies_added_and_deleted_reach_the_engine)
{
	struct agent_cache *c = agent_cache_new();
	apply(c, AGENT_PODS, "ADDED", POD_A);
	CHECK(allowed_from_outside(c, "x", "a"));
	CHECK_INT(apply(c, AGENT_POLICIES, "ADDED", DENY), 1);
	CHECK(!allowed_from_outside(c, "x", "a"));
	CHECK_INT(apply(c, AGENT_POLICIES, "DELETED", DENY), 1);
	CHECK(allowed_from_outside(c, "x", "a"));
	CHECK_INT(agent_cache_cluster(c)->npolicies, 0);
	agent_cache_free(c);
}

TEST(a_relabelled_pod_leaves_the_policy)
{
	struct agent_cache *c = agent_cache_new();
	apply(c, AGENT_PODS, "ADDED", POD_A);
	apply(c, AGENT_POLICIES, "ADDED",
	      "{\"metadata\":{\"name\":\"p\",\"namespace\":\"x\"},\"spec\":{\"podSelector\":"
	      "{\"matchLabels\":{\"app\":\"a\"}},\"policyTypes\":[\"Ingress\"]}}");
	CHECK(!allowed_from_outside(c, "x", "a"));
	json_t *o = j(POD_A);
	json_object_set_new(json_object_get(json_object_get(o, "metadata"), "labels"), "app",
			    json_string("b"));
	CHECK_INT(agent_cache_apply(c, AGENT_PODS, "MODIFIED", o, NULL), 1);
	json_decref(o);
	CHECK(allowed_from_outside(c, "x", "a"));
	agent_cache_free(c);
}

TEST(a_namespace_relabelled_and_deleted_keeps_the_engine_consistent)
{
	struct agent_cache *c = agent_cache_new();
	CHECK_INT(apply(c, AGENT_NAMESPACES, "ADDED", "{\"metadata\":{\"name\":\"x\",\"labels\":{\"t\":\"1\"}}}"), 1);
	CHECK_INT(apply(c, AGENT_NAMESPACES, "MODIFIED", "{\"metadata\":{\"name\":\"x\",\"labels\":{\"t\":\"2\"}}}"), 1);
	CHECK_STR(labels_get(&cluster_find_namespace(agent_cache_cluster(c), "x")->meta.labels, "t"), "2");
	CHECK_INT(apply(c, AGENT_NAMESPACES, "DELETED", "{\"metadata\":{\"name\":\"x\"}}"), 1);
	CHECK(cluster_find_namespace(agent_cache_cluster(c), "x")->implicit);
	agent_cache_free(c);
}

TEST(a_fresh_list_deletes_what_it_no_longer_holds)
{
	struct agent_cache *c = agent_cache_new();
	apply(c, AGENT_POLICIES, "ADDED", DENY);
	json_t *items = json_array();
	CHECK_INT(agent_cache_replace(c, AGENT_POLICIES, items, NULL), 1);
	CHECK_INT(agent_cache_cluster(c)->npolicies, 0);
	CHECK_INT(agent_cache_replace(c, AGENT_POLICIES, items, NULL), 0);
	json_decref(items);
	agent_cache_free(c);
}

TEST(the_dataplane_annotation_is_tracked_without_a_model_change)
{
	struct agent_cache *c = agent_cache_new();
	apply(c, AGENT_PODS, "ADDED", POD_A);
	const struct np_pod *pod = agent_cache_cluster(c)->pods[0];
	CHECK(!agent_pod_programmed(pod));
	json_t *o = j(POD_A);
	json_object_set_new(json_object_get(json_object_get(o, "metadata"), "annotations"),
			    AGENT_DP_ANNOTATION, json_string(AGENT_DP_PROGRAMMED));
	CHECK_INT(agent_cache_apply(c, AGENT_PODS, "MODIFIED", o, NULL), 0);
	json_decref(o);
	CHECK(agent_pod_programmed(agent_cache_cluster(c)->pods[0]));
	agent_cache_free(c);
}

TEST(endpoints_skip_pods_without_interface_or_address_and_bad_or_shared_names)
{
	struct agent_cache *c = agent_cache_new();
	struct diag_list d = {0};
	struct nft_endpoint *eps = NULL;
	size_t n = 0;
	apply(c, AGENT_PODS, "ADDED", POD_A);
	apply(c, AGENT_PODS, "ADDED", "{\"metadata\":{\"name\":\"noip\",\"namespace\":\"x\",\"annotations\":"
	      "{\"netpol.io/interface\":\"npn\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}");
	apply(c, AGENT_PODS, "ADDED", "{\"metadata\":{\"name\":\"bad\",\"namespace\":\"x\",\"annotations\":"
	      "{\"netpol.io/interface\":\"bad name!\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]},"
	      "\"status\":{\"podIP\":\"198.18.0.3\"}}");
	apply(c, AGENT_PODS, "ADDED", "{\"metadata\":{\"name\":\"off\",\"namespace\":\"x\"},\"spec\":"
	      "{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]},\"status\":{\"podIP\":\"198.18.0.4\"}}");
	CHECK_INT(agent_cache_endpoints(c, &eps, &n, &d), 0);
	CHECK_INT(n, 1);
	CHECK_STR(eps[0].ifname, "npa");
	CHECK_INT(d.n, 1);
	free(eps);
	diag_list_clear(&d);
	apply(c, AGENT_PODS, "ADDED", "{\"metadata\":{\"name\":\"twin\",\"namespace\":\"x\",\"annotations\":"
	      "{\"netpol.io/interface\":\"npa\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]},"
	      "\"status\":{\"podIP\":\"198.18.0.5\"}}");
	CHECK_INT(agent_cache_endpoints(c, &eps, &n, NULL), 0);
	CHECK_INT(n, 0);
	free(eps);
	agent_cache_free(c);
}

static void add_if_pod(struct agent_cache *c, const char *name, const char *ifname, const char *ip)
{
	char buf[400];
	snprintf(buf, sizeof(buf),
		 "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"x\",\"annotations\":"
		 "{\"netpol.io/interface\":\"%s\"}},\"spec\":{\"containers\":[{\"name\":\"c\","
		 "\"image\":\"i\"}]},\"status\":{\"podIP\":\"%s\"}}", name, ifname, ip);
	apply(c, AGENT_PODS, "ADDED", buf);
}

TEST(every_claimant_of_a_shared_interface_is_left_out_with_a_warning_in_pod_order)
{
	struct agent_cache *c = agent_cache_new();
	struct diag_list d = {0};
	struct nft_endpoint *eps = NULL;
	size_t n = 0;
	add_if_pod(c, "d", "npz", "198.18.0.4");
	add_if_pod(c, "c", "npy", "198.18.0.3");
	add_if_pod(c, "b", "npz", "198.18.0.2");
	add_if_pod(c, "a", "npy", "198.18.0.1");
	add_if_pod(c, "e", "npz", "198.18.0.5");
	add_if_pod(c, "f", "npf", "198.18.0.6");
	CHECK_INT(agent_cache_endpoints(c, &eps, &n, &d), 0);
	CHECK_INT(n, 1);
	CHECK_STR(eps[0].ifname, "npf");
	CHECK_INT(d.n, 5);
	CHECK(d.n == 5 && strstr(d.items[0].msg, "x/a:") && strstr(d.items[1].msg, "x/b:") &&
	      strstr(d.items[4].msg, "x/e:"));
	free(eps);
	diag_list_clear(&d);
	agent_cache_free(c);
}

TEST(a_finished_pod_forgets_its_address)
{
	struct agent_cache *c = agent_cache_new();
	json_t *o = j(POD_A);
	json_object_set_new(json_object_get(o, "status"), "phase", json_string("Succeeded"));
	CHECK_INT(agent_cache_apply(c, AGENT_PODS, "ADDED", o, NULL), 1);
	json_decref(o);
	CHECK_INT(agent_cache_cluster(c)->pods[0]->nips, 0);
	agent_cache_free(c);
}

TEST(an_object_that_does_not_decode_is_treated_as_deleted)
{
	struct agent_cache *c = agent_cache_new();
	struct diag_list d = {0};
	apply(c, AGENT_POLICIES, "ADDED", DENY);
	json_t *o = j("{\"metadata\":{\"name\":\"deny\",\"namespace\":\"x\"},\"spec\":{\"podSelector\":{},"
		      "\"ingress\":[{\"ports\":[{\"port\":0}]}]}}");
	CHECK_INT(agent_cache_apply(c, AGENT_POLICIES, "MODIFIED", o, &d), -EINVAL);
	json_decref(o);
	CHECK_INT(agent_cache_cluster(c)->npolicies, 0);
	CHECK_INT(d.n, 1);
	diag_list_clear(&d);
	agent_cache_free(c);
}
