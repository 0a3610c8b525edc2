/* Test clusters from inline YAML, shared by the engine's unit tests. */
#ifndef NETPOL_TEST_CLUSTER_YAML_H
#define NETPOL_TEST_CLUSTER_YAML_H

#include "model/model.h"
#include "policy/policy.h"

/* A cluster from inline YAML, finished as decode_paths would. NULL (with
 * the diagnostics printed) when the YAML is rejected. */
struct np_cluster *yaml(const char *text);

struct np_port tcp(int port);
struct np_port udp(int port);
/* The pod ns/name as an endpoint (its first address), and an address. */
struct np_endpoint pod_ep(const struct np_cluster *cl, const char *ns, const char *name);
struct np_endpoint ip_ep(const char *ip);

#endif
