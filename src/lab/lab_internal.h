/* lab internals shared by the files of src/lab; not part of the API. */
#ifndef NETPOL_LAB_INTERNAL_H
#define NETPOL_LAB_INTERNAL_H

#include <stdint.h>
#include <netinet/in.h>

#include "lab/lab.h"

#define LAB_NETNS_DIR "/run/netns"
#define LAB_STATE_DIR "/run/netpol"
#define LAB_BUSYBOX_DIR "/var/cache/netpol/busybox"
#define LAB_POD_BASE 0xc6120000u        /* 198.18.0.0/16 */
#define LAB_SVC_BASE 0xc6130000u        /* 198.19.0.0/16 */

/* ipam.c: an IPAM over another /16 than the pods'. */
struct lab_ipam *ipam_new_range(uint32_t base);

/* ---- netns.c: named network namespaces, like `ip netns` ---------------- */

/* Creates /run/netns/NAME bound to a fresh network namespace. -EEXIST if
 * the name is taken. */
int netns_create(const char *name);
/* Unmounts and removes /run/netns/NAME; the namespace itself dies with its
 * last user. -ENOENT if there is no such name. */
int netns_delete(const char *name);
/* O_RDONLY|O_CLOEXEC fd of /run/netns/NAME, or -errno. */
int netns_open(const char *name);
/* Switches the calling thread into the namespace fd; *saved gets an fd of
 * the thread's previous one for netns_leave. */
int netns_enter(int fd, int *saved);
/* Switches back and closes saved. */
void netns_leave(int saved);
/* Sends sig to every process whose network namespace is /run/netns/NAME.
 * Returns how many, or -errno. */
int netns_signal_procs(const char *name, int sig);
/* Waits (polling) until no process is left in /run/netns/NAME, sending
 * SIGKILL to stragglers after grace_ms. 0, or -ETIMEDOUT. */
int netns_kill_all(const char *name, int grace_ms);
/* The same for several namespaces at once (one /proc scan per round). */
int netns_kill_set(char *const *names, size_t n, int grace_ms);
/* Writes value to /proc/sys/PATH inside the namespace fd. */
int netns_sysctl(int fd, const char *path, const char *value);
/* Names in /run/netns starting with prefix; caller frees each and *names. */
int netns_list(const char *prefix, char ***names, size_t *n);

/* ---- rtnl.c: rtnetlink primitives with libmnl --------------------------- */

struct rtnl;

/* A route netlink socket inside the namespace fd (-1: the thread's own). */
int rtnl_open(int netns_fd, struct rtnl **out);
void rtnl_close(struct rtnl *nl);
/* ifindex of name, or -ENODEV. */
int rtnl_link_index(struct rtnl *nl, const char *name);
int rtnl_link_up(struct rtnl *nl, int ifindex);
int rtnl_link_del(struct rtnl *nl, int ifindex);
/* A veth pair, NAME here (up) with mac, PEER (down) in peer_netns_fd with
 * peer_mac (either mac may be NULL: kernel's choice). */
int rtnl_veth_create(struct rtnl *nl, const char *name, const uint8_t *mac,
		     const char *peer, const uint8_t *peer_mac, int peer_netns_fd);
int rtnl_addr_add(struct rtnl *nl, int ifindex, int family, const void *addr,
		  int prefixlen);
/* dst/dst_len NULL/0: default route. gw may be NULL (a link route). onlink:
 * the gateway is on the link even though no address covers it. */
int rtnl_route_add(struct rtnl *nl, int family, const void *dst, int dst_len,
		   const void *gw, int ifindex, bool onlink);
/* A local route (the range is this namespace's own, on lo). */
int rtnl_route_local(struct rtnl *nl, int family, const void *dst, int dst_len);
int rtnl_route_del(struct rtnl *nl, int family, const void *dst, int dst_len,
		   int ifindex);
/* A permanent neighbour entry: addr is at mac on ifindex. */
int rtnl_neigh_add(struct rtnl *nl, int ifindex, int family, const void *addr,
		   const uint8_t mac[6]);

/* ---- util.c ------------------------------------------------------------- */

uint64_t lab_hash64(const char *s);
int64_t lab_now_ms(void);
int lab_mkdir_p(const char *path, mode_t mode);
int lab_rm_rf(const char *path);
int lab_write_file(const char *path, const char *content, mode_t mode);
/* malloc'd copy of a NULL-terminated string vector (NULL stays NULL). */
char **lab_strv_dup(const char *const *v);
size_t lab_strv_len(const char *const *v);
void lab_strv_free(char **v);
/* Appends s (copied) to *v of length *n; -ENOMEM. */
int lab_strv_push(char ***v, size_t *n, const char *s);
char *lab_strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- image.c: images as recipes ---------------------------------------- */

struct lab_ctr;

/* Fills c->argv and c->env from the container's image and spec, creating
 * the image's private files under pod_dir. -EINVAL with a diag for an
 * unknown image; -ENOENT with a diag when the image's program is missing. */
int image_prepare(const struct lab *lab, const struct lab_pod_spec *spec,
		  const struct lab_container *spec_c, const char *pod_dir,
		  struct lab_ctr *c, struct diag_list *diags);

/* ---- proc.c: a pod's processes ---------------------------------------- */

struct lab_ctr {
	char *name;
	char **argv;            /* argv[0] is an absolute path when found */
	char **env;
	uint16_t *ports;
	size_t n_ports;
	char *log_path;
	char *applet_dir;       /* busybox image: where /bin/X really is */
	pid_t pid;              /* 0 when not running */
	int pidfd;              /* adopted processes: their pidfd */
	bool has_pidfd;
	unsigned long long start_time;  /* of pid, in clock ticks since boot */
	bool finished;          /* exited and will not be restarted */
	int exit_code;          /* last exit: code, or 128+signal */
	int restarts;
	int backoff_ms;
	int64_t started_ms;
	long long log_start;    /* size of the log when this run started */
	long long prev_log_start; /* the same for the run before, -1: none */
	int64_t restart_at_ms;  /* when pid == 0 && !finished */
	bool open_stdin, tty;   /* from the spec */
	/* The current run's stdin, kept by the lab (has_stdio): the pipe's
	 * write end, or the pty master (both O_NONBLOCK); with tty, tty_log
	 * appends to the log what the master reads. */
	bool has_stdio;
	int in_fd;
	int tty_log;
};

/* What a process of the pod needs to enter it. */
struct proc_pod_env {
	const char *netns;      /* /run/netns name */
	const char *hostname;
	const char *resolv_conf;
	const char *hosts;
	const char *hostname_file;  /* bound on /etc/hostname */
};

void ctr_clear(struct lab_ctr *c);
/* Copies what a tty container wrote into its log (non-blocking). */
void ctr_pump(struct lab_ctr *c);
/* Drains and closes the run's stdin/pty. */
void ctr_close_stdio(struct lab_ctr *c);
/* Forks c's program into the pod. 0 or -errno (fork failed; exec failures
 * show as exit 127 with the reason in the log). */
int proc_start(const struct proc_pod_env *pe, struct lab_ctr *c);
/* True when c's process has exited (reaped if it is our child); *code
 * gets its exit code, or 255 when unknown (an adopted non-child). */
bool proc_exited(struct lab_ctr *c, int *code);
/* Start time of pid (field 22 of /proc/PID/stat), 0 if unknown: a pid
 * with the same start time is the same process. */
unsigned long long proc_start_time(pid_t pid);
/* sig to each running container's process group. */
void proc_signal_all(struct lab_ctr *cs, size_t n, int sig);
/* Reaps those that have exited (without restarting them); returns how many
 * still run. */
size_t proc_reap_stopped(struct lab_ctr *cs, size_t n);
/* SIGTERM to each running container's process group, SIGKILL after
 * grace_ms, reaping them all. */
void proc_stop_all(struct lab_ctr *cs, size_t n, int grace_ms);
/* A fork for lab_exec. */
int proc_exec(const struct proc_pod_env *pe, char *const *argv,
	      char *const *env, const struct lab_exec_opts *opts, pid_t *pid,
	      int *pty_master);
/* Resolves file against PATH from env (or a default); malloc'd result, or a
 * copy of file when not found. With applet_dir, /bin/X and friends are
 * applet_dir/X when that exists. */
char *proc_find_program(const char *file, char *const *env, const char *applet_dir);
/* True when a TCP socket of pid's network namespace listens on port. */
bool proc_tcp_listening(pid_t pid, uint16_t port);

/* ---- struct lab, struct lab_pod --------------------------------------- */

struct lab_pod {
	struct lab_pod *next;
	char *ns, *name;
	char *netns;            /* /run/netns name */
	char *dir;              /* state dir of the pod */
	char *resolv_conf, *hosts, *hostname_file;
	char ifname[16];        /* node side of the veth */
	char ip[16];
	struct in_addr addr;
	enum lab_restart restart;
	struct lab_ctr *ctrs;
	size_t n_ctrs;
};

/* A Service as programmed in the node (service.c). */
struct lab_svc {
	struct lab_svc *next;
	char *ns, *name;
	char key[13];                   /* hash of ns/name, for chain names */
	char ip[16];
	struct lab_service_port *ports;
	size_t n_ports;
	size_t n_endpoints;             /* as programmed */
};

struct lab {
	char *name;
	char *node_netns;
	char *state_root;       /* e.g. /run/netpol */
	char *dir;              /* state_root/name */
	char *probe_path;
	char *busybox_dir;
	char *dns_ip;
	int stop_grace_ms;
	int node_fd;
	struct rtnl *nl;        /* in the node */
	int lock_fd;
	char *lock_path;
	struct lab_ipam *ipam;
	struct lab_pod *pods;
	size_t n_pods;
	struct lab_ipam *svc_ipam;      /* NULL until the first Service */
	struct lab_svc *services;
	bool svc_table_ready;
	struct lab_pod *world;          /* NULL until lab_world_create */
};

/* service.c */
/* Runs an nftables script in the node namespace (errors into diags). */
int nft_node_run(struct lab *lab, const char *script, struct diag_list *diags);
void services_free(struct lab *lab);
/* The Service IPAM and the DNS records' directory, on first use. */
int services_init(struct lab *lab);

/* state.c: what a restarted daemon needs to adopt a running lab */
int pod_save(const struct lab_pod *pod);
int svc_save(const struct lab *lab, const struct lab_svc *s);
void svc_unsave(const struct lab *lab, const struct lab_svc *s);
/* Loads the pods, the world and the Services of lab->dir, adopting the
 * processes that still run. */
int lab_adopt(struct lab *lab, struct diag_list *diags);

/* pod.c */
void lab_pod_free_internal(struct lab_pod *pod);
/* Stops the pod's processes, removes its veth, namespace and directory,
 * releases its address (when has_ip) and frees it. */
void pod_discard(struct lab *lab, struct lab_pod *pod, bool wired, bool has_ip);
/* Fills the node-side names and paths of pod (ns and name set). */
int pod_names(struct lab *lab, struct lab_pod *pod);
int pod_start(struct lab_pod *pod);
int pod_reap(struct lab_pod *pod, int64_t now);
/* SIGTERM to every pod's processes at once, then waits for them all, so a
 * lab's teardown takes one grace period, not one per pod. */
void pods_stop_all(struct lab *lab);

#endif
