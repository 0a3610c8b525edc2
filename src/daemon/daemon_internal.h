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
/* Stops the agent of the lab that a previous daemon left running (its pid
 * in the lab's run file), then returns a supervisor that starts none yet.
 * NULL when out of memory. */
struct agent *agent_new(const char *lab, const char *socket, daemon_log_fn log, void *log_ctx);
/* Reaps the agent when it exited, starts it when none runs and its
 * back-off is over, notes when it became ready. Returns the ms after which
 * it wants another call (-1: only when agent_fd is readable). Call it only
 * from the daemon's loop thread: the agent dies when the thread that
 * started it ends. NULL is fine. */
int agent_tick(struct agent *a);
/* Readable once the running agent exited; -1 when none runs. */
int agent_fd(const struct agent *a);
/* True once the running agent touched its ready file (it made `table inet
 * netpol` and is in sync); true without an agent (a NULL a). */
bool agent_ready(const struct agent *a);
/* True when an agent is supervised (pods then wait for netpol.io/dataplane). */
bool agent_enabled(const struct agent *a);
/* SIGTERM, wait, SIGKILL; removes its run files; then frees. NULL is fine. */
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
