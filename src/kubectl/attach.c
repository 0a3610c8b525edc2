/* attach.c: the client side of exec/attach streams: standard input to
 * channel 0 (a zero-length frame when it ends), channels 1 and 2 to
 * stdout and stderr, channel 3 the exit status; with a terminal, raw mode
 * and window sizes on channel 4. */
#include "kctl.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t winch;

static void on_winch(int sig)
{
	(void)sig;
	winch = 1;
}

static void send_size(struct client_stream *s)
{
	struct winsize ws;
	char buf[32];
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
		return;
	int n = snprintf(buf, sizeof(buf), "%u %u", ws.ws_col, ws.ws_row);
	client_stream_send(s, CLIENT_CH_RESIZE, buf, (size_t)n);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Takes the frames read so far; returns the exit code once channel 3
 * came, else -1. */
static int drain(struct client_stream *s)
{
	int ch, code = -1;
	const char *data;
	size_t len;
	while (client_stream_frame(s, &ch, &data, &len) == 1) {
		if (ch == CLIENT_CH_STDOUT)
			write_all(STDOUT_FILENO, data, len);
		else if (ch == CLIENT_CH_STDERR)
			write_all(STDERR_FILENO, data, len);
		else if (ch == CLIENT_CH_EXIT)
			code = atoi(strndupa(data, len));
	}
	return code;
}

/* Returns the exit code, or -1 when the stream ended without one. */
static int pump(struct client_stream *s, bool in, bool tty)
{
	bool stdin_open = in;
	int code = drain(s);
	while (code < 0) {
		if (tty && winch) {
			winch = 0;
			send_size(s);
		}
		struct pollfd p[2] = {{.fd = client_stream_fd(s), .events = POLLIN},
				      {.fd = STDIN_FILENO, .events = POLLIN}};
		int n = poll(p, stdin_open ? 2 : 1, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (stdin_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			char buf[4096];
			ssize_t r = read(STDIN_FILENO, buf, sizeof(buf));
			if (r <= 0 && !(r < 0 && errno == EINTR)) {
				stdin_open = false;
				client_stream_send(s, CLIENT_CH_STDIN, "", 0);
			} else if (r > 0 && client_stream_send(s, CLIENT_CH_STDIN, buf, (size_t)r) < 0) {
				return -1;
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			int r;
			while ((r = client_stream_fill(s)) > 0)
				;
			code = drain(s);
			if (r == 0 || (r < 0 && r != -EAGAIN))
				break;
		}
	}
	return code;
}

int kctl_stream_run(struct kctl *k, const char *path, bool in, bool tty)
{
	struct client *c = kctl_client(k);
	struct client_stream *s = NULL;
	long status = 0;
	json_t *resp = NULL;
	int ret = c ? client_stream_open(c, path, &status, &resp, &s) : -ENOMEM;
	if (ret < 0) {
		fprintf(stderr, "error: unable to upgrade connection: %s\n", strerror(-ret));
		return -1;
	}
	if (!s) {
		const char *msg = json_string_value(json_object_get(resp, "message"));
		if (status == 404 || status == 409 || status == 400)
			kctl_print_status(resp, status);
		else
			fprintf(stderr, "error: unable to upgrade connection: %s\n", msg ? msg : "refused");
		json_decref(resp);
		return -1;
	}
	struct termios saved;
	bool raw = tty && in && tcgetattr(STDIN_FILENO, &saved) == 0;
	if (raw) {
		struct termios t = saved;
		cfmakeraw(&t);
		tcsetattr(STDIN_FILENO, TCSANOW, &t);
		signal(SIGWINCH, on_winch);
		send_size(s);
	}
	int code = pump(s, in, tty);
	if (raw) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
		signal(SIGWINCH, SIG_DFL);
	}
	client_stream_close(s);
	return code < 0 ? 0 : code;
}

char *kctl_wait_pod_running(struct kctl *k, const char *ns, const char *name, int timeout_s)
{
	char *path = kctl_path(kctl_kind("pods"), ns, name, NULL);
	char *phase = NULL;
	for (int i = 0; i < timeout_s * 20 && !phase; i++) {
		long status = 0;
		json_t *resp = NULL;
		if (kctl_request(k, "GET", path, NULL, NULL, &status, &resp) < 0)
			break;
		const char *p = kctl_str(resp, "status.phase");
		if (status != 200) {
			kctl_print_status(resp, status);
			json_decref(resp);
			break;
		}
		if (p && (strcmp(p, "Running") == 0 || strcmp(p, "Succeeded") == 0 || strcmp(p, "Failed") == 0))
			phase = strdup(p);
		json_decref(resp);
		if (!phase)
			nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	}
	if (!phase)
		fprintf(stderr, "error: timed out waiting for the condition\n");
	free(path);
	return phase;
}
