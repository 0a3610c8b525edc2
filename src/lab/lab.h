/* lab: the node runtime. A lab is one emulated Kubernetes node: a network
 * namespace that plays the host ("<lab>-node") and one network namespace per
 * pod ("<lab>-p-<ns>-<pod>"), joined by veth pairs, with the pods' programs
 * running inside them.
 *
 * Everything a lab creates carries its name: namespaces are named
 * "<lab>-...", state lives under "<state_dir>/<lab>/". Nothing is created or
 * changed in the caller's own network namespace: every veth is created in the
 * node namespace with its peer placed straight into the pod's.
 *
 * Address plan: pods get /32s from 198.18.0.0/16; their default route goes
 * via the link-local gateway 169.254.1.1 whose MAC is pinned by a static
 * neighbour entry, so no ARP or proxy ARP is involved in either direction.
 *
 * The library never prints and never exits. Functions return 0 or -errno;
 * problems a user should read go into a struct diag_list when one is given.
 * Not thread-safe: one thread drives a lab (the daemon's controllers).
 * Entering namespaces uses setns() on the calling thread only, and always
 * switches back before returning.
 */
#ifndef NETPOL_LAB_H
#define NETPOL_LAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/diag.h"

#define LAB_NAME_MAX 20         /* lab names: [a-z0-9]{1,20} */
#define LAB_DEFAULT_NAME "netpol"  /* the lab of a command without --lab */
#define LAB_GATEWAY_IP "169.254.1.1"
#define LAB_DNS_IP "198.19.0.10"
#define LAB_POD_CIDR "198.18.0.0/16"
#define LAB_SERVICE_CIDR "198.19.0.0/16"
#define LAB_WORLD_CIDR "203.0.113.0/24"
#define LAB_WORLD_DNS_IP "203.0.113.53"    /* the outside world's DNS server */
#define LAB_WORLD_WEB_IP "203.0.113.80"    /* its web server (google.com, ...) */

struct lab;
struct lab_pod;
struct lab_ipam;

/* ---- IPAM: /32s from 198.18.0.0/16 ------------------------------------ */

/* Hands out pod addresses, never one that is still in use. The daemon seeds
 * it with the addresses of pods that already exist (after a restart). */
struct lab_ipam *lab_ipam_new(void);
void lab_ipam_free(struct lab_ipam *ipam);
/* Marks a dotted-quad address as in use: -EINVAL if not in the pool or not
 * usable (network, broadcast), -EEXIST if already in use. */
int lab_ipam_reserve(struct lab_ipam *ipam, const char *ip);
/* Allocates the next free address after the last one handed out (so a
 * released address is not reused at once). buf gets the dotted quad
 * (at least 16 bytes). -ENOSPC when the pool is exhausted. */
int lab_ipam_alloc(struct lab_ipam *ipam, char *buf, size_t len);
/* Returns an address to the pool; -ENOENT if it was not in use. */
int lab_ipam_release(struct lab_ipam *ipam, const char *ip);
size_t lab_ipam_in_use(const struct lab_ipam *ipam);

/* ---- the node ---------------------------------------------------------- */

struct lab_opts {
	/* Where per-lab state goes (pod dirs with resolv.conf, hosts, logs,
	 * image private dirs). NULL: /run/netpol. */
	const char *state_dir;
	/* The `probe` image's program. NULL: $NETPOL_PROBE, else netpol-probe
	 * beside the running executable (or in its src/probe/), else PATH. */
	const char *probe_path;
	/* Directory holding busybox and its applet links (build-busybox.sh).
	 * NULL: $NETPOL_BUSYBOX_DIR, else /var/cache/netpol/busybox. */
	const char *busybox_dir;
	/* SIGTERM to SIGKILL grace when stopping a pod's processes, in ms.
	 * 0: 2000. */
	int stop_grace_ms;
	/* The cluster DNS Service IP written into pods' resolv.conf. NULL:
	 * LAB_DNS_IP. */
	const char *dns_ip;
	/* Re-adopt a lab of this name left running by a previous owner (a
	 * daemon that exited with lab_free): its pods, Services and world
	 * keep running untouched, and processes that died meanwhile are
	 * restarted per their policy by lab_reap. Without it, or with
	 * nothing to adopt, leftovers are swept and the lab starts empty. */
	bool adopt;
};

/* True when name is a valid lab name: 1-20 of [a-z0-9]. Hyphens are not
 * allowed so that one lab's prefix "<lab>-" never matches another lab's
 * objects. */
bool lab_name_valid(const char *name);

/* Creates the node namespace "<name>-node" (lo up, IPv4/IPv6 forwarding on)
 * and the lab's state directory. Leftovers of a crashed lab of the same name
 * are swept first (unless opts->adopt finds a lab to adopt). opts may be
 * NULL. -EINVAL with a diag for a bad name, -EBUSY when another live handle
 * (this process or another) owns the name. */
int lab_node_create(const char *name, const struct lab_opts *opts,
		    struct lab **out, struct diag_list *diags);

/* Stops every pod's processes, deletes every namespace of the lab and its
 * state directory, then frees lab. Returns the first error but always
 * finishes the teardown. lab_destroy(NULL) is fine. */
int lab_destroy(struct lab *lab);

/* Frees the handle only; kernel objects and processes stay (for a daemon
 * that exits to be restarted: lab_node_create with opts.adopt takes the lab
 * back). lab_free(NULL) is fine. */
void lab_free(struct lab *lab);

/* Removes the leftovers of a lab that is not running: kills every process
 * inside a namespace named "<name>-*", unmounts and removes those
 * namespaces and the lab's state directory (state_dir NULL: /run/netpol).
 * Returns the number of namespaces removed, or -errno. */
int lab_sweep(const char *name, const char *state_dir);

/* ---- run files and the processes they name ---------------------------- */

/* "<state_dir>/<name><suffix>" (state_dir NULL: /run/netpol), e.g. the
 * agent's "-agent.pid" and "-agent.ready" beside the lab's "<name>.lock".
 * Caller frees; NULL when out of memory. */
char *lab_run_file(const char *name, const char *state_dir, const char *suffix);
#define LAB_AGENT_PID_SUFFIX "-agent.pid"      /* written by the daemon */
#define LAB_AGENT_READY_SUFFIX "-agent.ready"  /* touched by the agent once in sync */

/* The pid a pid file holds; 0 when it is missing or holds none. */
long lab_read_pid_file(const char *path);
int lab_write_pid_file(const char *path, pid_t pid);

/* True when pid runs `netpol VERB` of lab name: its argv[1] is verb and its
 * --lab is name (no --lab: LAB_DEFAULT_NAME; name NULL: any lab). A zombie
 * runs nothing. */
bool lab_proc_is(pid_t pid, const char *verb, const char *name);

/* Stops pid when it runs `netpol VERB` of lab name (lab_proc_is): SIGTERM,
 * then SIGKILL after grace_ms, and waits until it has exited (it need not
 * be a child). Returns pid when it stopped it, 0 when pid runs no such
 * process, -ETIMEDOUT when it outlived SIGKILL by 5 s, or -errno. */
int lab_stop_proc(pid_t pid, const char *verb, const char *name, int grace_ms);

/* Removes the run files of a lab that no process owns any more: the
 * agent's pid and ready files, the daemon's status record "<name>.daemon",
 * and "<name>.lock" unless a lab holds it.
 * Returns 0 or -errno (the first error; it still tries every file). */
int lab_run_files_remove(const char *name, const char *state_dir);

const char *lab_name(const struct lab *lab);
/* "<lab>-node", the name `ip netns` shows for the node. */
const char *lab_node_netns(const struct lab *lab);
/* The lab's IPAM (owned by the lab), e.g. to seed it after a restart. */
struct lab_ipam *lab_ipam(struct lab *lab);

/* ---- pods -------------------------------------------------------------- */

enum lab_restart { LAB_RESTART_ALWAYS, LAB_RESTART_ON_FAILURE, LAB_RESTART_NEVER };
enum lab_phase { LAB_PHASE_PENDING, LAB_PHASE_RUNNING, LAB_PHASE_SUCCEEDED,
		 LAB_PHASE_FAILED };

struct lab_container {
	const char *name;               /* NULL: "main" */
	const char *image;              /* nginx, busybox, dnsmasq, probe */
	const char *const *command;     /* NULL-terminated; NULL: image default */
	const char *const *args;        /* NULL-terminated; NULL: image default */
	const char *const *env;         /* "K=V", NULL-terminated; may be NULL */
	const uint16_t *ports;          /* containerPorts */
	size_t n_ports;
	/* stdin: true. The process's stdin is a pipe whose write end the lab
	 * keeps (a new one per run); with tty, stdin, stdout and stderr are
	 * a pty whose master the lab keeps and whose output it copies into
	 * the log (in lab_reap). Without stdin, stdin is /dev/null. */
	bool open_stdin;
	bool tty;
};

struct lab_pod_spec {
	const char *ns;                 /* Kubernetes namespace */
	const char *name;
	const char *ip;                 /* NULL: allocate from the IPAM */
	enum lab_restart restart;
	const struct lab_container *containers;
	size_t n_containers;
};

struct lab_pod_status {
	enum lab_phase phase;
	char ip[16];
	bool ready;                     /* every container running, TCP ports listening */
	int restarts;                   /* summed over containers */
	int exit_code;                  /* the first container's last exit */
};

/* The images lab_pod_create knows, as one comma-separated string. */
const char *lab_images(void);

/* Creates the pod's namespace, wires eth0 to the node, writes its
 * resolv.conf/hosts and starts its containers. On any failure nothing of the
 * pod is left behind. An unknown image or a bad spec is -EINVAL with a diag
 * (an unknown image's diag lists the known ones); a pod that exists already
 * is -EEXIST. *out (optional) is owned by the lab. */
int lab_pod_create(struct lab *lab, const struct lab_pod_spec *spec,
		   struct lab_pod **out, struct diag_list *diags);

/* Stops the pod's processes (SIGTERM, then SIGKILL after the grace period),
 * deletes its namespace (and so its veth) and node route, releases its
 * address and frees pod. */
int lab_pod_delete(struct lab *lab, struct lab_pod *pod);

struct lab_pod *lab_pod_find(struct lab *lab, const char *ns, const char *name);
size_t lab_pod_count(const struct lab *lab);
const char *lab_pod_ip(const struct lab_pod *pod);
/* "<lab>-p-<ns>-<pod>" (shortened with a hash when too long). */
const char *lab_pod_netns(const struct lab_pod *pod);
/* A TCP socket (IPv4, not yet connected) inside the pod's network
 * namespace, so that its 127.0.0.1 is the pod's (port-forward); the
 * calling thread's namespace is unchanged. The caller closes it; -errno. */
int lab_pod_socket(const struct lab_pod *pod);
/* The pid of a container's process (0 when it is not running); NULL
 * container: the first. */
pid_t lab_pod_pid(const struct lab_pod *pod, const char *container);
/* Path of a container's log (stdout and stderr); NULL container: the first. */
const char *lab_pod_log_path(const struct lab_pod *pod, const char *container);

/* Reaps exited containers of every pod and restarts them per their pod's
 * restart policy (with a growing back-off). Never blocks; call it from the
 * daemon's loop or on SIGCHLD. Returns how many processes were reaped. */
int lab_reap(struct lab *lab);

void lab_pod_status(struct lab_pod *pod, struct lab_pod_status *st);
/* Reaps and polls until the pod is ready: 0, -ETIMEDOUT, or -ECHILD when it
 * finished (Succeeded/Failed) instead. */
int lab_pod_wait_ready(struct lab *lab, struct lab_pod *pod, int timeout_ms);

/* ---- a container's stdin (attach) ------------------------------------- */

struct lab_ctr_state {
	pid_t pid;              /* 0 when not running */
	int restarts;           /* with pid: identifies one run */
	bool finished;          /* exited, not to be restarted */
	int exit_code;          /* of the last run that ended */
	bool open_stdin, tty;
	/* Where the output of the current run (or, when none runs, of the
	 * last one) begins in the log: an attach that must not miss what a
	 * run wrote before it came reads from there. */
	long long log_start;
	/* Where the run before it began (it ends at log_start); -1: none. */
	long long prev_log_start;
	const char *name;       /* the container's, owned by the pod */
};

/* The state of a container (NULL: the first); -ENOENT if no such one. */
int lab_pod_ctr_state(const struct lab_pod *pod, const char *container,
		      struct lab_ctr_state *st);
/* A new fd (O_CLOEXEC, O_NONBLOCK) writing to the running process's stdin
 * (the pipe, or the pty master with tty); the caller closes it. -ENOENT
 * when the container has no stdin or is not running. */
int lab_pod_stdin_dup(const struct lab_pod *pod, const char *container);
/* Closes the lab's end of a non-tty stdin, so the process reads EOF once
 * every dup is closed too; with tty, sends the terminal's EOF (^D). */
int lab_pod_stdin_close(struct lab_pod *pod, const char *container);
/* Sets a tty container's window size; -ENOTTY without a tty. */
int lab_pod_resize(struct lab_pod *pod, const char *container,
		   unsigned short cols, unsigned short rows);
/* Copies what tty containers wrote into their logs. Never blocks; lab_reap
 * does it too. */
void lab_pod_pump(struct lab_pod *pod);

/* ---- exec (kubectl exec / run -ti) ------------------------------------- */

struct lab_exec_opts {
	bool tty;       /* allocate a pty: *pty_master gets its master side */
	int stdin_fd;   /* without tty: -1 for /dev/null */
	int stdout_fd;  /* without tty: -1 for /dev/null */
	int stderr_fd;  /* without tty: -1 for /dev/null */
	const char *const *env; /* extra "K=V", may be NULL */
};

/* Runs argv (argv[0] looked up in the image's PATH) in the pod: its network,
 * its resolv.conf and hosts, its hostname, the image's environment of the
 * pod's first container. The caller waits for *pid with waitpid() and, with
 * a tty, closes *pty_master. opts NULL: no tty, stdio to /dev/null. */
int lab_exec(struct lab *lab, struct lab_pod *pod, const char *const *argv,
	     const struct lab_exec_opts *opts, pid_t *pid, int *pty_master);

/* ---- Services (nftables DNAT in the node) ----------------------------- */

/* One table per lab in the node, "<lab>-services", shaped like kube-proxy's
 * nftables mode: a verdict map from ClusterIP . protocol . port to a chain
 * per Service port, which picks an endpoint chain at random (numgen), which
 * DNATs. A pod reaching itself through its Service is SNATed to the gateway
 * address so the reply comes back through the node. A Service port with no
 * endpoint has no map element: the node's unreachable route for the whole
 * Service range answers at once. Policy, in the node, sees pod addresses
 * after DNAT. */

struct lab_service_port {
	uint8_t protocol;               /* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_SCTP */
	uint16_t port;
	uint16_t target_port;           /* 0: same as port */
};

struct lab_service_spec {
	const char *ns;
	const char *name;
	const char *cluster_ip;         /* NULL: allocate from 198.19.0.0/16 */
	const struct lab_service_port *ports;
	size_t n_ports;
	const char *const *endpoints;   /* ready endpoints' pod IPs */
	size_t n_endpoints;
};

/* Creates or updates a Service: its rules change in one nftables
 * transaction, touching only this Service's chains and map elements, and its
 * DNS record ("<name>.<ns>.svc.cluster.local") is rewritten. ip (optional,
 * 16 bytes) gets the ClusterIP. A ClusterIP cannot change (-EINVAL). */
int lab_service_apply(struct lab *lab, const struct lab_service_spec *spec,
		      char *ip, struct diag_list *diags);
/* Removes a Service's rules, DNS record and ClusterIP; -ENOENT if none. */
int lab_service_delete(struct lab *lab, const char *ns, const char *name);

/* ---- the outside world -------------------------------------------------- */

/* Creates "<lab>-world", a namespace standing in for the internet: a link to
 * the node (node 203.0.113.2, world 203.0.113.1), the node's default route
 * through it with pods' traffic masqueraded (as Calico's natOutgoing does),
 * a DNS server (LAB_WORLD_DNS_IP) authoritative for google.com and
 * example.com, and a web server (LAB_WORLD_WEB_IP) serving a page. The
 * world has no route anywhere else. */
int lab_world_create(struct lab *lab, struct diag_list *diags);

/* ---- cluster DNS -------------------------------------------------------- */

/* Starts kube-system/<pod_name> (NULL: "kube-dns") running dnsmasq and the
 * Service kube-system/kube-dns at LAB_DNS_IP, port 53 over UDP and TCP. It
 * answers Services' names from files it watches (updated by
 * lab_service_apply without a restart, so no query is dropped), answers
 * NXDOMAIN for other cluster.local names and forwards the rest to the
 * outside world's DNS. *pod (optional) gets the DNS pod. */
int lab_dns_create(struct lab *lab, const char *pod_name, struct lab_pod **pod,
		   struct diag_list *diags);

#endif
