/* Internals shared by kubelet.c (pods and Services) and streams.c (log,
 * exec, attach). One mutex guards the lab and the pod table: the lab is not
 * thread-safe, and stream requests arrive on the API server's threads. */
#ifndef NETPOL_KUBELET_INTERNAL_H
#define NETPOL_KUBELET_INTERNAL_H

#include "daemon_internal.h"
#include "lab/lab.h"

#include <stdint.h>

struct kpod {
	struct kpod *next;
	char *ns, *name, *uid;
	struct lab_pod *lp;     /* NULL when it could not start */
	char *reason, *message; /* why it could not start */
	char ifname[32];        /* node side of its veth */
	char start_time[32];
	char ready_time[32];
	bool ready;
	bool dns;               /* the cluster DNS add-on */
	/* exec sessions' processes, killed with the pod */
	pid_t *execs;
	size_t n_execs;
	/* 1 + the restart count of the last run an attach was given from its
	 * start (0: none): the first attach of a run misses nothing of it,
	 * later ones follow from where the run is */
	int attached_run;
};

struct ksvc {
	struct ksvc *next;
	char *ns, *name;
	char *applied;          /* what was programmed, as text */
};

struct kubelet {
	pthread_mutex_t mu;
	struct store *store;
	struct lab *lab;
	daemon_log_fn log;
	void *log_ctx;
	struct kpod *pods;
	struct ksvc *svcs;
	struct api_pod_streams ops;
	int stopping;
	/* exec, attach and port-forward sessions that may still touch this
	 * kubelet from their own threads: kubelet_free waits for them */
	int sessions;
	pthread_cond_t idle;
};

void klog(struct kubelet *k, enum api_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
struct kpod *kpod_find(struct kubelet *k, const char *ns, const char *name);

/* streams.c */
void kpod_add_exec(struct kpod *p, pid_t pid);
void kpod_remove_exec(struct kpod *p, pid_t pid);
void streams_init(struct kubelet *k);

/* streams.c: writes all of buf to fd (blocking, or polling up to 5 s
 * when it is full); 0 or -EIO. */
int kstream_write_all(int fd, const void *buf, size_t n);
/* portforward.c: serves `kubectl port-forward` for pod ns/name on fd, the
 * upgraded connection: SPDY/3.1, inside WebSocket messages when ws;
 * extra holds what the client sent after its request. Blocks until the
 * client leaves. */
void kstream_portforward(struct kubelet *k, const char *ns, const char *name, int fd,
			 bool ws, const char *extra, size_t n);

#endif
