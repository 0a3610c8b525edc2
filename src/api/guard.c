/* guard.c: what keeps hostile local clients from taking the API server
 * away from everyone else: a bound on connections per client and in all,
 * decided before a connection gets a thread, and a rate limit on log
 * lines so that no client can make the log grow without bound.
 *
 * Who is a client. The TLS listener is on 127.0.0.1, so every peer is a
 * process of this host and its address says nothing (all are 127.0.0.1).
 * What does tell them apart is the user owning the client's socket, which
 * the kernel's inet_diag (NETLINK_SOCK_DIAG) reports for the other end of
 * a loopback connection, as `ss -e` shows it. Authentication cannot be the
 * key: the decision has to be made at accept, before any TLS or HTTP, else
 * the connection already holds a thread. So connections are counted per
 * uid: every uid but root may hold API_MAX_CONNS_PER_UID, all of them
 * together API_MAX_CONNS - API_ROOT_RESERVE, and root (who owns the token
 * and runs kubectl here) is bounded by API_MAX_CONNS only. An unprivileged
 * user can thus never take the connections an authenticated root client
 * needs, however many it opens; what it opens beyond its share is closed
 * at once, with no thread, no TLS and no log line. */
#include "api_internal.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <malloc.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A connection admitted but never started by libmicrohttpd (it failed to
 * set it up) is forgotten after this long. */
#define GUARD_UNSTARTED_S 30

/* ---- who holds the other end ------------------------------------------------------ */

static int diag_ask(int fd, const struct sockaddr_in *client, const struct sockaddr_in *server)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = {.nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST},
		.r = {.sdiag_family = AF_INET, .sdiag_protocol = IPPROTO_TCP, .idiag_states = ~0u},
	};
	/* the client's socket: its local end is the client's address */
	req.r.id.idiag_sport = client->sin_port;
	req.r.id.idiag_dport = server->sin_port;
	req.r.id.idiag_src[0] = client->sin_addr.s_addr;
	req.r.id.idiag_dst[0] = server->sin_addr.s_addr;
	req.r.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	req.r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	struct sockaddr_nl nl = {.nl_family = AF_NETLINK};
	ssize_t n = sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&nl, sizeof(nl));
	return n == (ssize_t)sizeof(req) ? 0 : -errno;
}

static int diag_answer(int fd, uid_t *uid)
{
	char buf[1024] __attribute__((aligned(NLMSG_ALIGNTO)));
	ssize_t n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return -errno;
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	if (!NLMSG_OK(h, (size_t)n))
		return -EIO;
	if (h->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = NLMSG_DATA(h);
		return e->error ? e->error : -EIO;
	}
	if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
		return -EIO;
	const struct inet_diag_msg *m = NLMSG_DATA(h);
	/* no inode: no process holds it any more (closed, or a time-wait
	 * remnant whose uid reads 0): not a client to serve */
	if (m->idiag_inode == 0)
		return -ENOENT;
	*uid = m->idiag_uid;
	return 0;
}

int api_peer_uid(const struct sockaddr_in *client, const struct sockaddr_in *server, uid_t *uid)
{
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	int ret = diag_ask(fd, client, server);
	if (ret == 0)
		ret = diag_answer(fd, uid);
	close(fd);
	return ret;
}

/* ---- token buckets ----------------------------------------------------------------- */

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A token bucket: true when a line may go out now. */
static bool bucket_take(struct api_bucket *b, double burst, double per_s)
{
	double now = mono_now();
	if (b->last == 0)
		b->tokens = burst;
	else
		b->tokens += (now - b->last) * per_s;
	if (b->tokens > burst)
		b->tokens = burst;
	b->last = now;
	if (b->tokens < 1)
		return false;
	b->tokens -= 1;
	return true;
}

/* ---- connections per uid ----------------------------------------------------------- */

static time_t mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

int api_conns_init(struct api_conns *c, const struct sockaddr_in *server)
{
	memset(c, 0, sizeof(*c));
	c->slots = calloc(API_MAX_CONNS, sizeof(*c->slots));
	if (!c->slots)
		return -ENOMEM;
	c->server = *server;
	pthread_mutex_init(&c->mu, NULL);
	return 0;
}

void api_conns_clear(struct api_conns *c)
{
	if (!c->slots)
		return;
	pthread_mutex_destroy(&c->mu);
	free(c->slots);
	c->slots = NULL;
}

static void remove_slot(struct api_conns *c, size_t i)
{
	c->slots[i] = c->slots[--c->n];
}

/* Forgets what libmicrohttpd never started and a slot for the same port
 * (its connection is gone: a live one cannot share the port). */
static void sweep(struct api_conns *c, uint16_t port, time_t now)
{
	for (size_t i = 0; i < c->n;) {
		const struct api_conn_slot *s = &c->slots[i];
		if (s->port == port || (!s->started && now - s->since > GUARD_UNSTARTED_S))
			remove_slot(c, i);
		else
			i++;
	}
}

static bool within_limits(const struct api_conns *c, uid_t uid)
{
	size_t mine = 0, others = 0;
	for (size_t i = 0; i < c->n; i++) {
		mine += c->slots[i].uid == uid;
		others += c->slots[i].uid != 0;
	}
	if (c->n >= API_MAX_CONNS)
		return false;
	return uid == 0 || (mine < API_MAX_CONNS_PER_UID &&
			    others < API_MAX_CONNS - API_ROOT_RESERVE);
}

/* New connections per second of a uid but root: each costs a thread and a
 * TLS handshake, and GnuTLS keeps a little memory per thread that ever
 * made one (its random generator's state, about 230 bytes, until exit),
 * so their rate is bounded too, not only how many are open. */
static bool rate_ok(struct api_conns *c, uid_t uid)
{
	if (uid == 0)
		return true;
	struct api_uid_rate *r = NULL;
	for (size_t i = 0; i < c->nrates && !r; i++)
		if (c->rates[i].uid == uid)
			r = &c->rates[i];
	if (!r && c->nrates < API_RATE_UIDS)
		r = &c->rates[c->nrates++];
	if (!r) {
		/* forget the uid that has been quiet longest */
		r = &c->rates[0];
		for (size_t i = 1; i < c->nrates; i++)
			if (c->rates[i].bucket.last < r->bucket.last)
				r = &c->rates[i];
	}
	if (r->uid != uid)
		*r = (struct api_uid_rate){.uid = uid};
	return bucket_take(&r->bucket, API_NEW_CONNS_BURST, API_NEW_CONNS_PER_S);
}

bool api_conns_admit(struct api_conns *c, const struct sockaddr_in *client)
{
	uid_t uid;
	int ret = api_peer_uid(client, &c->server, &uid);
	if (ret == -ENOENT)
		return false;           /* the client already left */
	if (ret < 0)
		uid = (uid_t)-1;        /* unknown: shares one unprivileged share */
	uint16_t port = ntohs(client->sin_port);
	pthread_mutex_lock(&c->mu);
	sweep(c, port, mono_s());
	bool ok = within_limits(c, uid) && rate_ok(c, uid);
	if (ok)
		c->slots[c->n++] = (struct api_conn_slot){port, uid, false, mono_s()};
	else
		c->refused++;
	pthread_mutex_unlock(&c->mu);
	return ok;
}

static void mark(struct api_conns *c, uint16_t port, bool closed)
{
	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < c->n; i++) {
		if (c->slots[i].port != port)
			continue;
		if (closed)
			remove_slot(c, i);
		else
			c->slots[i].started = true;
		break;
	}
	pthread_mutex_unlock(&c->mu);
}

void api_conns_started(struct api_conns *c, uint16_t port)
{
	mark(c, port, false);
}

void api_conns_closed(struct api_conns *c, uint16_t port)
{
	mark(c, port, true);
}

/* ---- log lines -------------------------------------------------------------------- */

void api_ratelog_init(struct api_ratelog *rl, api_log_fn log, void *ctx)
{
	memset(rl, 0, sizeof(*rl));
	rl->log = log;
	rl->ctx = ctx;
	pthread_mutex_init(&rl->mu, NULL);
}

void api_ratelog_clear(struct api_ratelog *rl)
{
	pthread_mutex_destroy(&rl->mu);
}

/* Debug lines (-v, one per request) have a bucket of their own, larger,
 * so that a flood of them cannot silence warnings. */
void api_ratelog_emit(void *ctx, enum api_log_level level, const char *msg)
{
	struct api_ratelog *rl = ctx;
	bool debug = level == API_LOG_DEBUG;
	pthread_mutex_lock(&rl->mu);
	bool ok = debug ? bucket_take(&rl->debug, API_LOG_DEBUG_BURST, API_LOG_DEBUG_PER_S)
			: bucket_take(&rl->normal, API_LOG_BURST, API_LOG_PER_S);
	unsigned long *suppressed = debug ? &rl->debug_suppressed : &rl->suppressed;
	unsigned long dropped = ok ? *suppressed : 0;
	if (ok)
		*suppressed = 0;
	else
		(*suppressed)++;
	pthread_mutex_unlock(&rl->mu);
	if (!ok)
		return;
	if (dropped) {
		char note[64];
		snprintf(note, sizeof(note), "%lu messages suppressed", dropped);
		rl->log(rl->ctx, level, note);
	}
	rl->log(rl->ctx, level, msg);
}

/* ---- giving memory back ------------------------------------------------------------ */

/* A burst of clients leaves glibc's arenas (one per connection thread)
 * holding freed memory; after requests end, at most once a second, a
 * thread of ours asks glibc to return it, and SQLite to drop the cache
 * pages it does not need, so that RSS comes back down. */
static void *trimmer_main(void *arg)
{
	struct api_trimmer *t = arg;
	pthread_mutex_lock(&t->mu);
	while (!t->stop) {
		if (!t->dirty) {
			pthread_cond_wait(&t->cond, &t->mu);
			continue;
		}
		t->dirty = false;
		pthread_mutex_unlock(&t->mu);
		if (t->store)
			store_release_memory(t->store);
		malloc_trim(0);
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += 1;
		pthread_mutex_lock(&t->mu);
		while (!t->stop && pthread_cond_timedwait(&t->cond, &t->mu, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

int api_trimmer_start(struct api_trimmer *t, struct store *store)
{
	pthread_condattr_t ca;
	memset(t, 0, sizeof(*t));
	t->store = store;
	pthread_mutex_init(&t->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cond, &ca);
	pthread_condattr_destroy(&ca);
	int ret = -pthread_create(&t->thread, NULL, trimmer_main, t);
	t->running = ret == 0;
	return ret;
}

void api_trimmer_note(struct api_trimmer *t)
{
	pthread_mutex_lock(&t->mu);
	if (!t->dirty) {
		t->dirty = true;
		pthread_cond_signal(&t->cond);
	}
	pthread_mutex_unlock(&t->mu);
}

void api_trimmer_stop(struct api_trimmer *t)
{
	if (!t->running)
		return;
	pthread_mutex_lock(&t->mu);
	t->stop = true;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->thread, NULL);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->mu);
	t->running = false;
}
