/* streams.c: the server side of pod log, exec and attach (contracts.md).
 * exec and attach use one framing both ways on the upgraded connection:
 * 1 byte channel, 4 bytes big-endian length, payload. Channels: 0 stdin
 * (empty = closed), 1 stdout, 2 stderr, 3 exit code (then the server
 * closes), 4 resize ("COLS ROWS"). kubectl's WebSocket protocols
 * (v4/v5.channel.k8s.io) carry the same channels, one byte at the start
 * of each binary message; struct wire hides which is spoken, so one
 * session code serves both. */
#include "kubelet_internal.h"
#include "api/ws.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { CH_STDIN, CH_STDOUT, CH_STDERR, CH_EXIT, CH_RESIZE };
#define FRAME_MAX (1u << 20)

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int kstream_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pf = {.fd = fd, .events = POLLOUT};
			if (poll(&pf, 1, 5000) <= 0)
				return -EIO;
			continue;
		}
		if (w <= 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The upgraded connection and the framing spoken on it: netpol's own or
 * kubectl's WebSocket channel protocol. Only the session's thread writes,
 * so frames never interleave. */
struct wire {
	int fd;
	enum api_stream_proto proto;
	unsigned char *buf;          /* incoming bytes not yet a whole frame */
	size_t len, cap;
	bool closed;                 /* a WebSocket close frame was sent */
};

static int write_ws(struct wire *w, int op, int ch, const void *buf, size_t n)
{
	unsigned char h[11];
	size_t hl = ws_header(h, op, n + (ch >= 0));
	if (ch >= 0)
		h[hl++] = (unsigned char)ch;
	if (kstream_write_all(w->fd, h, hl) < 0)
		return -EIO;
	return n ? kstream_write_all(w->fd, buf, n) : 0;
}

static int write_frame(struct wire *w, int ch, const void *buf, size_t n)
{
	if (w->proto != API_STREAM_NETPOL)
		return write_ws(w, WS_BINARY, ch, buf, n);
	unsigned char h[5] = {(unsigned char)ch, (unsigned char)(n >> 24),
			      (unsigned char)(n >> 16), (unsigned char)(n >> 8),
			      (unsigned char)n};
	if (kstream_write_all(w->fd, h, 5) < 0)
		return -EIO;
	return n ? kstream_write_all(w->fd, buf, n) : 0;
}

static void ws_close(struct wire *w, int code)
{
	unsigned char c[2] = {(unsigned char)(code >> 8), (unsigned char)code};
	if (w->proto != API_STREAM_NETPOL && !w->closed)
		write_ws(w, WS_CLOSE, -1, c, 2);
	w->closed = true;
}

/* kubectl reads the exit code from a metav1.Status on the error channel. */
static int write_exit(struct wire *w, int code)
{
	char text[512];
	int n;
	if (w->proto == API_STREAM_NETPOL)
		n = snprintf(text, sizeof(text), "%d", code);
	else if (code == 0)
		n = snprintf(text, sizeof(text), "{\"metadata\":{},\"status\":\"Success\"}");
	else
		n = snprintf(text, sizeof(text),
			     "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command "
			     "terminated with non-zero exit code: exit status %d\",\"reason\":"
			     "\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\","
			     "\"message\":\"%d\"}]}}", code, code);
	int err = write_frame(w, CH_EXIT, text, (size_t)n);
	ws_close(w, WS_CLOSE_NORMAL);
	return err;
}

typedef void (*frame_fn)(void *ctx, int ch, const char *data, size_t n);

/* One WebSocket frame: channel data to fn, pings answered, v5's close of
 * stdin as an empty stdin frame (netpol's sign for it). -EPIPE when the
 * client closes. */
static int ws_deliver(struct wire *w, const struct ws_frame *f, frame_fn fn, void *ctx)
{
	const char *p = (const char *)f->payload;
	if (f->opcode == WS_PING)
		return write_ws(w, WS_PONG, -1, p, f->len);
	if (f->opcode == WS_CLOSE) {
		ws_close(w, WS_CLOSE_NORMAL);
		return -EPIPE;
	}
	if (f->opcode == WS_PONG || f->len == 0)
		return 0;
	if (!f->fin || f->opcode == WS_CONT)
		return -EPROTO;  /* kubectl never fragments: refuse rather than buffer */
	int ch = (unsigned char)p[0];
	if (ch == 255 && w->proto == API_STREAM_WS_V5) {
		if (f->len >= 2 && p[1] == CH_STDIN)
			fn(ctx, CH_STDIN, "", 0);
		return 0;
	}
	if (ch != CH_STDIN || f->len > 1)
		fn(ctx, ch, p + 1, f->len - 1);
	return 0;
}

static long parse_one(struct wire *w, unsigned char *b, size_t n, frame_fn fn, void *ctx)
{
	if (w->proto != API_STREAM_NETPOL) {
		struct ws_frame f;
		long used = ws_parse(b, n, FRAME_MAX, &f);
		if (used <= 0)
			return used;
		int err = ws_deliver(w, &f, fn, ctx);
		return err < 0 ? err : used;
	}
	if (n < 5)
		return 0;
	size_t len = (size_t)b[1] << 24 | (size_t)b[2] << 16 | (size_t)b[3] << 8 | b[4];
	if (len > FRAME_MAX)
		return -EPROTO;
	if (n < 5 + len)
		return 0;
	fn(ctx, b[0], (const char *)b + 5, len);
	return (long)(5 + len);
}

/* Incoming bytes, reassembled into frames from whatever read() returns.
 * A bad frame closes a WebSocket with a status that says which. */
static int wire_feed(struct wire *w, const char *data, size_t n, frame_fn fn, void *ctx)
{
	if (w->len + n > w->cap) {
		size_t cap = (w->len + n) * 2;
		unsigned char *b = realloc(w->buf, cap);
		if (!b)
			return -ENOMEM;
		w->buf = b;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, data, n);
	w->len += n;
	size_t off = 0;
	long used;
	while ((used = parse_one(w, w->buf + off, w->len - off, fn, ctx)) > 0)
		off += (size_t)used;
	memmove(w->buf, w->buf + off, w->len - off);
	w->len -= off;
	if (used == -EMSGSIZE || used == -EPROTO)
		ws_close(w, used == -EMSGSIZE ? WS_CLOSE_TOO_BIG : WS_CLOSE_PROTOCOL);
	return used < 0 ? (int)used : 0;
}

static void set_blocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
}

static void resize(int tty_fd, const char *data, size_t n)
{
	char text[32];
	unsigned cols, rows;
	snprintf(text, sizeof(text), "%.*s", (int)(n < 31 ? n : 31), data);
	/* netpol's "COLS ROWS", or kubectl's {"Width":W,"Height":H} */
	if (tty_fd >= 0 && (sscanf(text, "%u %u", &cols, &rows) == 2 ||
			    sscanf(text, "{\"Width\":%u,\"Height\":%u}", &cols, &rows) == 2)) {
		struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
		ioctl(tty_fd, TIOCSWINSZ, &ws);
	}
}

static int exit_code_of(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status)
	       : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 255;
}

/* ---- exec pid bookkeeping -------------------------------------------------- */

void kpod_add_exec(struct kpod *p, pid_t pid)
{
	pid_t *v = realloc(p->execs, (p->n_execs + 1) * sizeof(*v));
	if (!v)
		return;
	p->execs = v;
	p->execs[p->n_execs++] = pid;
}

void kpod_remove_exec(struct kpod *p, pid_t pid)
{
	for (size_t i = 0; i < p->n_execs; i++)
		if (p->execs[i] == pid) {
			p->execs[i] = p->execs[--p->n_execs];
			return;
		}
}

/* ---- sessions --------------------------------------------------------------- */

struct session {
	struct kubelet *k;
	char *ns, *name;
	bool attach;
	enum api_stream_proto proto;
	/* exec */
	pid_t pid;
	int in_fd, out_fd, err_fd;   /* with a tty, out_fd is the master */
	bool tty;
	/* attach: the run attached to (pid, restarts), a dup of its stdin
	 * (in_fd) and its log, followed from where it was at attach */
	int restarts;
	int log_fd;
	long long log_end;           /* where the attached run's output ends, -1: open */
	int exit_code;
};

static void session_free(struct session *s)
{
	if (!s)
		return;
	if (s->in_fd >= 0)
		close(s->in_fd);
	if (s->out_fd >= 0)
		close(s->out_fd);
	if (s->err_fd >= 0)
		close(s->err_fd);
	if (s->log_fd >= 0)
		close(s->log_fd);
	free(s->ns);
	free(s->name);
	free(s);
}

static int not_running(struct kubelet *k, const char *ns, const char *name, char **msg)
{
	json_t *obj = NULL;
	int err = store_get(k->store, STORE_PODS, ns, name, &obj);
	json_decref(obj);
	if (err == -ENOENT) {
		if (asprintf(msg, "pods \"%s\" not found", name) < 0)
			*msg = NULL;
		return -ENOENT;
	}
	if (asprintf(msg, "pod %s/%s is not running", ns, name) < 0)
		*msg = NULL;
	return -EBUSY;
}

static int open_exec(struct kubelet *k, struct kpod *kp, const struct api_stream_request *r,
		     struct session *s, char **msg)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1}, master = -1, err = 0;
	struct lab_exec_opts o = {.tty = r->tty, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
	if (!r->command || !r->command[0]) {
		*msg = strdup("you must specify at least one command for the container");
		return -EINVAL;
	}
	if (!r->tty && ((r->in && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 ||
			pipe2(er, O_CLOEXEC) < 0))
		err = -errno;
	o.stdin_fd = in[0];
	o.stdout_fd = r->out ? out[1] : -1;
	o.stderr_fd = r->err ? er[1] : -1;
	if (err == 0)
		err = lab_exec(k->lab, kp->lp, r->command, &o, &s->pid, &master);
	if (in[0] >= 0)
		close(in[0]);
	if (out[1] >= 0)
		close(out[1]);
	if (er[1] >= 0)
		close(er[1]);
	if (err < 0) {
		if (in[1] >= 0)
			close(in[1]);
		if (out[0] >= 0)
			close(out[0]);
		if (er[0] >= 0)
			close(er[0]);
		if (asprintf(msg, "exec in %s/%s: %s", kp->ns, kp->name, strerror(-err)) < 0)
			*msg = NULL;
		return err == -ENOENT ? -EBUSY : -EINVAL;
	}
	if (r->tty) {
		s->out_fd = master;
		s->in_fd = fcntl(master, F_DUPFD_CLOEXEC, 3);
	} else {
		s->in_fd = in[1];
		s->out_fd = out[0];
		s->err_fd = er[0];
	}
	s->tty = r->tty;
	kpod_add_exec(kp, s->pid);
	return 0;
}

/* The log, from the run's start for the first attach of a run (what
 * `run -i` wrote before the client could attach is not lost, even when it
 * has already exited), else from its end. */
static int open_log(struct kpod *kp, const char *log, const struct lab_ctr_state *st)
{
	bool replay = kp->attached_run != st->restarts + 1;
	kp->attached_run = st->restarts + 1;
	int fd = open(log, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (replay)
		lseek(fd, (off_t)st->log_start, SEEK_SET);
	else
		lseek(fd, 0, SEEK_END);
	return fd;
}

/* Attaches to the container's current run: its stdin (when asked and it
 * has one) and its output (open_log). A container that is not running
 * gets the output of its last run if nobody was attached to it, and its
 * last exit code. */
static int open_attach(struct kpod *kp, const struct api_stream_request *r,
		       struct session *s, char **msg)
{
	struct lab_ctr_state st;
	const char *log = lab_pod_log_path(kp->lp, r->container);
	if (!log || lab_pod_ctr_state(kp->lp, r->container, &st) < 0) {
		if (asprintf(msg, "container %s is not valid for pod %s",
			     r->container ? r->container : "", kp->name) < 0)
			*msg = NULL;
		return -EINVAL;
	}
	s->pid = st.pid;
	s->restarts = st.restarts;
	s->exit_code = st.exit_code;
	s->tty = st.tty;
	lab_pod_pump(kp->lp);
	s->log_fd = open_log(kp, log, &st);
	s->log_end = -1;
	if (r->in && st.pid > 0) {
		int fd = lab_pod_stdin_dup(kp->lp, r->container);
		s->in_fd = fd >= 0 ? fd : -1;
	}
	return 0;
}

static int stream_open(void *ctx, const struct api_stream_request *r, void **out, char **msg)
{
	struct kubelet *k = ctx;
	struct session *s = calloc(1, sizeof(*s));
	int err = 0;
	*msg = NULL;
	if (!s)
		return -ENOMEM;
	*s = (struct session){.k = k, .ns = strdup(r->ns), .name = strdup(r->name),
			      .attach = r->attach, .proto = r->proto, .in_fd = -1, .out_fd = -1, .err_fd = -1,
			      .log_fd = -1};
	pthread_mutex_lock(&k->mu);
	struct kpod *kp = kpod_find(k, r->ns, r->name);
	if (!kp || !kp->lp)
		err = not_running(k, r->ns, r->name, msg);
	else if (r->proto == API_STREAM_PF_SPDY || r->proto == API_STREAM_PF_WS)
		err = 0;  /* the connections into the pod are made per request */
	else if (r->attach)
		err = open_attach(kp, r, s, msg);
	else
		err = open_exec(k, kp, r, s, msg);
	if (err == 0)
		k->sessions++;
	pthread_mutex_unlock(&k->mu);
	if (err < 0) {
		session_free(s);
		return err;
	}
	*out = s;
	return 0;
}

/* The end of a session stream_open counted. */
static void session_end(struct session *s)
{
	struct kubelet *k = s->k;
	session_free(s);
	pthread_mutex_lock(&k->mu);
	if (--k->sessions == 0)
		pthread_cond_broadcast(&k->idle);
	pthread_mutex_unlock(&k->mu);
}

static void exec_frame(void *ctx, int ch, const char *data, size_t n)
{
	struct session *s = ctx;
	if (ch == CH_STDIN && n == 0) {
		if (s->tty && s->in_fd >= 0) {
			kstream_write_all(s->in_fd, "\004", 1);  /* EOF for a terminal */
		} else if (s->in_fd >= 0) {
			close(s->in_fd);
			s->in_fd = -1;
		}
	} else if (ch == CH_STDIN && s->in_fd >= 0) {
		if (kstream_write_all(s->in_fd, data, n) < 0 && !s->tty) {
			close(s->in_fd);
			s->in_fd = -1;
		}
	} else if (ch == CH_RESIZE) {
		resize(s->tty ? s->out_fd : -1, data, n);
	}
}

/* Drains what the process wrote; false at EOF. */
static bool pump(int *fd, struct wire *w, int ch)
{
	char buf[16384];
	ssize_t n = read(*fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0) {
		close(*fd);
		*fd = -1;
		return false;
	}
	write_frame(w, ch, buf, (size_t)n);
	return true;
}

static void run_exec(struct session *s, struct wire *w)
{
	int status = 0;
	bool reaped = false, client = true;
	while (s->out_fd >= 0 || s->err_fd >= 0) {
		struct pollfd pf[3] = {{.fd = client ? w->fd : -1, .events = POLLIN},
				       {.fd = s->out_fd, .events = POLLIN},
				       {.fd = s->err_fd, .events = POLLIN}};
		int r = poll(pf, 3, 200);
		if (r == 0 && waitpid(s->pid, &status, WNOHANG) == s->pid) {
			reaped = true;
			break;
		}
		if (pf[1].revents)
			pump(&s->out_fd, w, CH_STDOUT);
		if (pf[2].revents)
			pump(&s->err_fd, w, CH_STDERR);
		if (pf[0].revents) {
			char buf[16384];
			ssize_t n = read(w->fd, buf, sizeof(buf));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0 || wire_feed(w, buf, (size_t)n, exec_frame, s) < 0) {
				/* the client left: so does its process */
				kill(-s->pid, SIGKILL);
				client = false;
			}
		}
	}
	if (!reaped)
		waitpid(s->pid, &status, 0);
	if (client)
		write_exit(w, exit_code_of(status));
	pthread_mutex_lock(&s->k->mu);
	struct kpod *kp = kpod_find(s->k, s->ns, s->name);
	if (kp)
		kpod_remove_exec(kp, s->pid);
	pthread_mutex_unlock(&s->k->mu);
}

static void attach_frame(void *ctx, int ch, const char *data, size_t n)
{
	struct session *s = ctx;
	if (ch == CH_STDIN && n == 0 && s->in_fd >= 0) {
		if (s->tty) {
			kstream_write_all(s->in_fd, "\004", 1);  /* EOF for a terminal */
			return;
		}
		/* stdinOnce: the container's stdin closes with the session's */
		close(s->in_fd);
		s->in_fd = -1;
		pthread_mutex_lock(&s->k->mu);
		struct kpod *kp = kpod_find(s->k, s->ns, s->name);
		if (kp && kp->lp && lab_pod_pid(kp->lp, NULL) == s->pid)
			lab_pod_stdin_close(kp->lp, NULL);
		pthread_mutex_unlock(&s->k->mu);
	} else if (ch == CH_STDIN && s->in_fd >= 0) {
		kstream_write_all(s->in_fd, data, n);
	} else if (ch == CH_RESIZE) {
		resize(s->tty ? s->in_fd : -1, data, n);
	}
}

/* Sends what the container logged since the last call, up to the end of
 * the attached run's output once that is known. */
static int forward_log(struct session *s, struct wire *w)
{
	char buf[16384];
	for (;;) {
		size_t want = sizeof(buf);
		if (s->log_end >= 0) {
			off_t pos = lseek(s->log_fd, 0, SEEK_CUR);
			if (pos < 0 || pos >= s->log_end)
				return 0;
			if ((long long)want > s->log_end - pos)
				want = (size_t)(s->log_end - pos);
		}
		ssize_t n = read(s->log_fd, buf, want);
		if (n <= 0)
			return 0;
		if (write_frame(w, CH_STDOUT, buf, (size_t)n) < 0)
			return -EIO;
	}
}

/* Reaps (and pumps tty output into the log); 1 when the attached run ended
 * (s->exit_code set), -1 when the pod is gone, else 0. */
static int attach_check(struct session *s)
{
	struct lab_ctr_state st;
	int rc = -1;
	pthread_mutex_lock(&s->k->mu);
	struct kpod *kp = s->k->stopping ? NULL : kpod_find(s->k, s->ns, s->name);
	if (kp && kp->lp) {
		lab_reap(s->k->lab);
		rc = lab_pod_ctr_state(kp->lp, NULL, &st) < 0 ? -1 : 0;
		if (rc == 0 && (st.pid != s->pid || st.restarts != s->restarts)) {
			s->exit_code = st.exit_code;
			/* a next run's output starts where ours ended */
			s->log_end = st.restarts != s->restarts ? st.log_start : -1;
			rc = 1;
		}
	}
	pthread_mutex_unlock(&s->k->mu);
	return rc;
}

static void run_attach(struct session *s, struct wire *w, const char *extra,
		       size_t n_extra)
{
	int state = s->pid > 0 ? 0 : 1;
	/* early stdin (sent before the 101) goes first */
	if (n_extra && state == 0)
		wire_feed(w, extra, n_extra, attach_frame, s);
	while (state == 0) {
		struct pollfd pf = {.fd = w->fd, .events = POLLIN};
		if (poll(&pf, 1, 50) < 0 && errno != EINTR)
			return;
		if (pf.revents) {
			char buf[16384];
			ssize_t n = read(w->fd, buf, sizeof(buf));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0 || wire_feed(w, buf, (size_t)n, attach_frame, s) < 0)
				return;  /* the client left; the container goes on */
		}
		state = attach_check(s);
		if (forward_log(s, w) < 0)
			return;
	}
	if (state == 1 && forward_log(s, w) == 0)
		write_exit(w, s->exit_code);
}

static void stream_run(void *session, int fd, const char *extra, size_t n)
{
	struct session *s = session;
	struct wire w = {.fd = fd, .proto = s->proto};
	set_blocking(fd);
	if (s->proto == API_STREAM_PF_SPDY || s->proto == API_STREAM_PF_WS) {
		kstream_portforward(s->k, s->ns, s->name, fd, s->proto == API_STREAM_PF_WS, extra, n);
	} else if (s->attach) {
		run_attach(s, &w, extra, n);
	} else {
		if (n)
			wire_feed(&w, extra, n, exec_frame, s);
		run_exec(s, &w);
	}
	free(w.buf);
	session_end(s);
}

static void stream_abort(void *session)
{
	struct session *s = session;
	if (s && !s->attach && s->pid > 0) {
		kill(-s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		pthread_mutex_lock(&s->k->mu);
		struct kpod *kp = kpod_find(s->k, s->ns, s->name);
		if (kp)
			kpod_remove_exec(kp, s->pid);
		pthread_mutex_unlock(&s->k->mu);
	}
	if (s)
		session_end(s);
}

/* ---- logs ---------------------------------------------------------------- */

struct log_reader {
	struct kubelet *k;
	char *ns, *name;
	int fd;
	bool follow;
	long long end;          /* --previous: where that run's output ends; -1: none */
};

/* Positions fd at the start of the last n lines (n < 0: all). */
static void seek_tail(int fd, long n)
{
	off_t end = lseek(fd, 0, SEEK_END), pos = end;
	long lines = 0;
	char c;
	if (n < 0 || end < 0) {
		lseek(fd, 0, SEEK_SET);
		return;
	}
	/* a final newline ends the last line rather than starting another */
	if (pos > 0 && pread(fd, &c, 1, pos - 1) == 1 && c == '\n')
		pos--;
	while (n > 0 && pos > 0) {
		if (pread(fd, &c, 1, pos - 1) != 1 || (c == '\n' && ++lines >= n))
			break;
		pos--;
	}
	lseek(fd, n == 0 ? end : pos, SEEK_SET);
}

static int log_open(void *ctx, const struct api_log_request *r, void **out, char **msg)
{
	struct kubelet *k = ctx;
	int err = 0, fd = -1;
	*msg = NULL;
	pthread_mutex_lock(&k->mu);
	struct kpod *kp = kpod_find(k, r->ns, r->name);
	struct lab_ctr_state st = {.prev_log_start = -1};
	if (!kp || !kp->lp) {
		err = not_running(k, r->ns, r->name, msg);
	} else if (r->previous && (lab_pod_ctr_state(kp->lp, r->container, &st) < 0 ||
				   st.prev_log_start < 0)) {
		err = -EINVAL;
		if (asprintf(msg, "previous terminated container \"%s\" in pod \"%s\" not found",
			     r->container ? r->container : st.name ? st.name : "", kp->name) < 0)
			*msg = NULL;
	} else {
		const char *path = lab_pod_log_path(kp->lp, r->container);
		fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
		if (fd < 0 && path) {
			fd = open("/dev/null", O_RDONLY | O_CLOEXEC);  /* nothing written yet */
		} else if (!path) {
			err = -EINVAL;
			if (asprintf(msg, "container %s is not valid for pod %s", r->container,
				     r->name) < 0)
				*msg = NULL;
		}
	}
	pthread_mutex_unlock(&k->mu);
	struct log_reader *lr = err ? NULL : calloc(1, sizeof(*lr));
	if (!lr) {
		if (fd >= 0)
			close(fd);
		return err ? err : -ENOMEM;
	}
	*lr = (struct log_reader){k, strdup(r->ns), strdup(r->name), fd, r->follow && !r->previous, -1};
	if (r->previous) {
		lr->end = st.log_start;
		lseek(fd, (off_t)st.prev_log_start, SEEK_SET);
	} else {
		seek_tail(fd, r->tail_lines);
	}
	*out = lr;
	return 0;
}

static bool pod_alive(struct log_reader *lr)
{
	pthread_mutex_lock(&lr->k->mu);
	bool alive = !lr->k->stopping && kpod_find(lr->k, lr->ns, lr->name) != NULL;
	pthread_mutex_unlock(&lr->k->mu);
	return alive;
}

static ssize_t log_read(void *reader, char *buf, size_t max, int wait_ms)
{
	struct log_reader *lr = reader;
	int64_t deadline = mono_ms() + wait_ms;
	if (lr->end >= 0) {
		off_t pos = lseek(lr->fd, 0, SEEK_CUR);
		if (pos < 0 || pos >= lr->end)
			return -1;
		if ((long long)max > lr->end - pos)
			max = (size_t)(lr->end - pos);
	}
	for (;;) {
		ssize_t n = read(lr->fd, buf, max);
		if (n > 0)
			return n;
		if (!lr->follow || !pod_alive(lr))
			return -1;
		if (mono_ms() >= deadline)
			return 0;
		usleep(50000);
	}
}

static void log_close(void *reader)
{
	struct log_reader *lr = reader;
	if (!lr)
		return;
	close(lr->fd);
	free(lr->ns);
	free(lr->name);
	free(lr);
}

void streams_init(struct kubelet *k)
{
	k->ops = (struct api_pod_streams){.ctx = k, .stream_open = stream_open,
					  .stream_run = stream_run, .stream_abort = stream_abort,
					  .log_open = log_open, .log_read = log_read,
					  .log_close = log_close};
}
