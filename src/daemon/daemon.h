/* daemon: what `netpol serve` runs besides the API server.
 *
 * Controllers (Deployments, Namespace deletion, Service ClusterIPs and
 * Endpoints) read and write the store directly; the kubelet makes the store's
 * Pods and Services real in a lab (src/lab) and writes their status back;
 * the agent (`netpol agent`) is a supervised child process; pod log, exec
 * and attach streams are served to the API through struct api_pod_streams.
 *
 * Everything is level-triggered: each pass reads the current state of the
 * store and of the lab and makes them agree, so a pass after a restart (or
 * after a missed event) does the same as one after every event.
 *
 * The library never prints: it reports through the log callback.
 */
#ifndef NETPOL_DAEMON_H
#define NETPOL_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "api/api.h"
#include "store/store.h"

/* The address range Services' ClusterIPs come from, and the cluster DNS's. */
#define DAEMON_SERVICE_CIDR "198.19.0.0/16"
#define DAEMON_DNS_IP "198.19.0.10"

/* Annotations shared with the agent (contracts.md). */
#define DAEMON_ANN_INTERFACE "netpol.io/interface"
#define DAEMON_ANN_DATAPLANE "netpol.io/dataplane"
/* On the cluster DNS pod: the kubelet starts it with lab_dns_create. */
#define DAEMON_ANN_ADDON "netpol.io/addon"

/* ---- controllers (store only; no kernel) ------------------------------- */

/* One pass of every controller: Namespace deletion (objects of a Namespace
 * that no longer exists are deleted), Deployments (replicas, replacement,
 * status), Services (ClusterIP allocation) and Endpoints (ready pods the
 * selector matches). Returns how many writes it made (0 once converged), or
 * -errno. */
int controllers_sync(struct store *s);

/* True when the pod object's Ready condition is True. */
bool daemon_pod_ready(json_t *pod);

/* ---- the daemon -------------------------------------------------------- */

typedef void (*daemon_log_fn)(void *ctx, enum api_log_level level, const char *msg);

/* Options; zero-initialise, then set what you need (the struct may grow). */
struct daemon_options {
	struct store *store;      /* borrowed */
	const char *lab;          /* lab name; NULL: "netpol" */
	const char *socket;       /* the API socket (for the agent) */
	const char *state_dir;    /* the daemon's state directory */
	bool node;                /* run the lab node (kubelet); false: controllers only */
	bool agent;               /* supervise `netpol agent` */
	bool no_controllers;      /* store and API only (API tests) */
	daemon_log_fn log;
	void *log_ctx;
};

struct daemon;

/* Creates the lab node (adopting a lab left running by a killed daemon of
 * the same name, else sweeping its leftovers), the outside world and the
 * cluster DNS add-on objects. Without a node (opts->node false, or the lab
 * could not be made: reported through the log) only the controllers run.
 * Returns 0 or -errno with *err set (caller frees). */
int daemon_new(const struct daemon_options *o, struct daemon **out, char **err);

/* The pod stream callbacks for api_options.streams. */
const struct api_pod_streams *daemon_streams(struct daemon *d);

/* Runs the controllers, the kubelet and the agent's supervision until stop
 * is readable (e.g. a signalfd for SIGTERM/SIGINT). Returns 0 or -errno. */
int daemon_run(struct daemon *d, int stop_fd);

/* Stops the agent, ends every stream, deletes every pod, the DNS pod, the
 * world and the node (all the lab made), then frees. NULL is fine. */
void daemon_free(struct daemon *d);

#endif
