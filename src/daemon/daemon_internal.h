/* Internals shared by the daemon's files. */
#ifndef NETPOL_DAEMON_INTERNAL_H
#define NETPOL_DAEMON_INTERNAL_H

#include "daemon.h"

#include <jansson.h>
#include <pthread.h>
#include <sys/types.h>

/* ---- json.c: small JSON helpers ---------------------------------------- */

/* obj.k1.k2... (NULL-terminated keys); NULL when absent. */
json_t *jget(json_t *obj, ...) __attribute__((sentinel));
const char *jstr(json_t *obj, ...) __attribute__((sentinel));
const char *meta_name(json_t *obj);
const char *meta_ns(json_t *obj);
const char *meta_uid(json_t *obj);
/* metadata.annotations[key], or NULL. */
const char *annotation(json_t *obj, const char *key);
/* True when every key of sel (a JSON object of strings) has that value in
 * labels; an empty or absent sel matches nothing (as for Services). */
bool labels_match(json_t *sel, json_t *labels);
/* Current time, RFC 3339 UTC, into buf (at least 32 bytes). */
void daemon_now(char *buf, size_t len);

/* ---- agent.c: the supervised `netpol agent` ---------------------------- */

struct agent;
struct agent *agent_new(const char *lab, const char *socket, const char *state_dir,
			const char *node_netns, daemon_log_fn log, void *log_ctx);
/* Starts or restarts the child when it is not running; cheap, call it
 * every pass. */
void agent_tick(struct agent *a);
/* True once the agent made `table inet netpol` (or touched agent.ready);
 * always true when the netpol binary has no agent verb. */
bool agent_ready(struct agent *a);
/* True when an agent runs (pods then wait for netpol.io/dataplane). */
bool agent_enabled(const struct agent *a);
/* SIGTERM, wait, SIGKILL; then frees. NULL is fine. */
void agent_free(struct agent *a);

/* ---- kubelet.c: the store's Pods and Services in the lab --------------- */

struct kubelet;
struct lab;
int kubelet_new(struct store *s, struct lab *lab, daemon_log_fn log, void *log_ctx,
		struct kubelet **out);
/* One pass: creates, deletes and updates the lab's pods and Services to
 * match the store, and writes pod status back. Returns the time in ms
 * after which it wants another pass (e.g. a pod is not ready yet), or -1. */
int kubelet_sync(struct kubelet *k, bool agent, bool agent_ready);
/* Deletes every pod (and their streams) and Service of the lab. */
void kubelet_free(struct kubelet *k);
const struct api_pod_streams *kubelet_streams(struct kubelet *k);

#endif
