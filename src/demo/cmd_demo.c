/* netpol demo advanced-policy: the Calico tutorial run for real in a private
 * lab. Every command line is the tutorial's, run by /bin/sh with `kubectl`
 * (a symlink to this binary) first on PATH; the checks are typed into the
 * busybox access pod's shell (`kubectl run ... --rm -ti ... /bin/sh`, driven
 * through a pipe). A step's checks run at the same time, the first in that
 * shell and the others in `kubectl exec` sessions into the same pod, so the
 * denied ones wait out their timeouts together. */
#include "commands.h"
#include "demo_internal.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NS "advanced-policy-demo"
#define OUT_LINES 6   /* lines of a check's output shown; the tutorial elides too */

struct demo {
	char dir[64];            /* private state: socket, store, kubectl symlink */
	char lab[24];
	char sock[PATH_MAX];
	char shell_out[PATH_MAX];
	pid_t shell;             /* kubectl run ... access ... /bin/sh */
	int shell_in;
	int marks;
	int mismatches;
	bool color;
	double t0;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static char *slurp(FILE *f)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	if (!buf)
		return NULL;
	size_t n;
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 2) {
			char *grown = realloc(buf, cap * 2);
			if (!grown)
				break;
			buf = grown;
			cap *= 2;
		}
	}
	buf[len] = '\0';
	return buf;
}

static char *read_path(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return strdup("");
	char *s = slurp(f);
	fclose(f);
	return s;
}

/* Runs shell TEXT (heredocs allowed), stderr with stdout; *out gets both. */
static int sh_capture(const char *text, char **out)
{
	char *script = NULL;
	if (asprintf(&script, "exec 2>&1\n%s\n", text) < 0)
		return -1;
	FILE *p = popen(script, "r");
	free(script);
	if (!p)
		return -1;
	char *s = slurp(p);
	int st = pclose(p);
	if (out)
		*out = s ? s : strdup("");
	else
		free(s);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool sh_has(const char *text, const char *needle)
{
	char *out = NULL;
	sh_capture(text, &out);
	bool has = out && strstr(out, needle);
	free(out);
	return has;
}

/* Starts shell TEXT with stdout and stderr into FILE; returns its pid. */
static pid_t spawn_to(const char *text, const char *file)
{
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl("/bin/sh", "sh", "-c", text, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static bool wait_until(struct demo *d, double secs, bool (*ready)(struct demo *))
{
	double end = now_s() + secs;
	while (!ready(d)) {
		if (interrupted || now_s() > end)
			return false;
		sleep_ms(100);
	}
	return true;
}

static size_t count_lines_with(const char *text, const char *a, const char *b)
{
	size_t n = 0;
	for (const char *l = text; l && *l;) {
		const char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) : strlen(l);
		char *line = strndup(l, len);
		if (line && strstr(line, a) && strstr(line, b))
			n++;
		free(line);
		l = e ? e + 1 : NULL;
	}
	return n;
}

static bool nginx_ready(struct demo *d)
{
	char *out = NULL;
	sh_capture("kubectl get pods --namespace=" NS, &out);
	bool ok = count_lines_with(out, "nginx-", " Running") == 2 &&
		  count_lines_with(out, "nginx-", " 1/1 ") == 2;
	free(out);
	return ok;
}

static bool access_running(struct demo *d)
{
	return sh_has("kubectl get pods --namespace=" NS " access", " Running");
}

/* The agent has committed the store's current state to the kernel. */
static bool in_sync(struct demo *d)
{
	char *cmd = NULL, *out = NULL;
	if (asprintf(&cmd, "netpol explain --lab %s --socket %s --from " NS "/access --to " NS
		     "/access --port 80/TCP -o json", d->lab, d->sock) < 0)
		return false;
	sh_capture(cmd, &out);
	bool ok = out && (strstr(out, "\"inSync\":true") || strstr(out, "\"inSync\": true"));
	free(cmd);
	free(out);
	return ok;
}

static void say(struct demo *d, const char *style, const char *text)
{
	if (d->color)
		printf("\033[%sm%s\033[0m\n", style, text);
	else
		printf("%s\n", text);
}

static void verdict(struct demo *d, bool ok, const char *what)
{
	if (!ok)
		d->mismatches++;
	if (d->color)
		printf("  %s%s\033[0m %s\n", ok ? "\033[32m✓" : "\033[31m✗", "", what);
	else
		printf("  %s %s\n", ok ? "✓" : "✗", what);
}

static void print_indented(const char *text, size_t max_lines)
{
	size_t n = 0;
	for (const char *l = text; l && *l; n++) {
		const char *e = strchr(l, '\n');
		if (n == max_lines) {
			printf("...\n");
			return;
		}
		printf("%.*s\n", (int)(e ? e - l : (long)strlen(l)), l);
		l = e ? e + 1 : NULL;
	}
}

static int open_access(struct demo *d)
{
	int fds[2];
	if (pipe(fds) < 0)
		return -1;
	d->shell = fork();
	if (d->shell == 0) {
		int fd = open(d->shell_out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fds[0], 0);
		dup2(fd, 1);
		dup2(fd, 2);
		close(fds[1]);
		execlp("kubectl", "kubectl", "run", "--namespace=advanced-policy-demo", "access",
		       "--rm", "-ti", "--image", "busybox", "/bin/sh", (char *)NULL);
		_exit(127);
	}
	close(fds[0]);
	d->shell_in = fds[1];
	return d->shell < 0 ? -1 : 0;
}

static void close_access(struct demo *d)
{
	if (d->shell <= 0)
		return;
	if (d->shell_in >= 0) {
		if (write(d->shell_in, "exit\n", 5) < 0)
			(void)0;
		close(d->shell_in);
		d->shell_in = -1;
	}
	for (int i = 0; i < 50 && waitpid(d->shell, NULL, WNOHANG) == 0; i++)
		sleep_ms(100);
	kill(d->shell, SIGTERM);
	waitpid(d->shell, NULL, 0);
	d->shell = 0;
}

/* Drops terminal escapes (busybox asks for the cursor position before it
 * edits a line) and carriage returns, in place. */
static void strip_escapes(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (*r == '\033' && r[1] == '[') {
			r += 2;
			while (*r && !((*r >= 'A' && *r <= 'Z') || (*r >= 'a' && *r <= 'z')))
				r++;
			if (!*r)
				break;
			continue;
		}
		if (*r != '\r')
			*w++ = *r;
	}
	*w = '\0';
}

/* kubectl's own line after a failed exec: not something the pod printed */
static void drop_exit_code_line(char *s)
{
	char *l = strstr(s, "command terminated with exit code ");
	if (l && (l == s || l[-1] == '\n')) {
		char *e = strchr(l, '\n');
		memmove(l, e ? e + 1 : l + strlen(l), strlen(e ? e + 1 : l + strlen(l)) + 1);
	}
}

static bool line_is(const char *l, size_t len, const char *s)
{
	return strlen(s) == len && !strncmp(l, s, len);
}

/* The access shell's output between marker N-1 and marker N, without the
 * prompts and the echo of what was typed. */
static char *shell_answer(struct demo *d, const char *cmd, int n)
{
	char *all = read_path(d->shell_out);
	strip_escapes(all);
	char prev[32], mark[32], typed[512], typed_mark[64];
	snprintf(prev, sizeof(prev), "@@done-%d", n - 1);
	snprintf(mark, sizeof(mark), "@@done-%d", n);
	snprintf(typed, sizeof(typed), "/ # %s", cmd);
	snprintf(typed_mark, sizeof(typed_mark), "/ # echo %s", mark);
	char *out = calloc(1, strlen(all) + 1);
	bool on = n == 1;
	for (char *l = all; out && l && *l;) {
		char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) : strlen(l);
		if (line_is(l, len, mark))
			break;
		if (line_is(l, len, prev))
			on = true;
		else if (on && !line_is(l, len, cmd) && !line_is(l, len, typed) &&
			 !line_is(l, len, typed_mark) && strncmp(l, "Unable to use a TTY", 19)) {
			strncat(out, l, len);
			strcat(out, "\n");
		}
		l = e ? e + 1 : NULL;
	}
	free(all);
	return out;
}

static bool shell_marked(struct demo *d)
{
	char *all = read_path(d->shell_out);
	char mark[32];
	snprintf(mark, sizeof(mark), "\n@@done-%d", d->marks);
	bool ok = all && strstr(all, mark);
	free(all);
	return ok;
}

static void run_checks(struct demo *d, const struct demo_step *st)
{
	char *outs[DEMO_MAX_CHECKS] = {0};
	pid_t pids[DEMO_MAX_CHECKS] = {0};
	char files[DEMO_MAX_CHECKS][PATH_MAX];
	size_t n = 0;
	for (; n < DEMO_MAX_CHECKS && st->checks[n].command; n++) {
		const char *c = st->checks[n].command;
		if (n == 0) {
			char *typed = NULL;
			d->marks++;
			if (asprintf(&typed, "%s\necho @@done-%d\n", c, d->marks) > 0 &&
			    write(d->shell_in, typed, strlen(typed)) < 0)
				(void)0;
			free(typed);
			continue;
		}
		char *text = NULL;
		snprintf(files[n], sizeof(files[n]), "%s/check.%zu", d->dir, n);
		if (asprintf(&text, "exec kubectl exec --namespace=" NS " access -- %s", c) > 0)
			pids[n] = spawn_to(text, files[n]);
		free(text);
	}
	wait_until(d, 90, shell_marked);
	outs[0] = shell_answer(d, st->checks[0].command, d->marks);
	for (size_t i = 1; i < n; i++) {
		if (pids[i] > 0)
			waitpid(pids[i], NULL, 0);
		outs[i] = read_path(files[i]);
		drop_exit_code_line(outs[i]);
	}
	for (size_t i = 0; i < n; i++) {
		const struct demo_check *c = &st->checks[i];
		printf("/ # %s\n", c->command);
		print_indented(outs[i], OUT_LINES);
		bool ok = outs[i] && strstr(outs[i], c->must) &&
			  !(c->must_not && strstr(outs[i], c->must_not));
		char *what = NULL;
		if (asprintf(&what, "%s: %s", ok ? "as the tutorial says" : "the tutorial says",
			     c->tutorial) > 0)
			verdict(d, ok, what);
		free(what);
		free(outs[i]);
	}
}

static bool ns_gone(struct demo *d)
{
	return !sh_has("kubectl get ns", NS " ");
}

static bool pods_gone(struct demo *d)
{
	return !sh_has("kubectl get pods -A", NS " ");
}

static bool netns_gone(struct demo *d)
{
	char needle[64];
	snprintf(needle, sizeof(needle), "%s-p-" NS "-", d->lab);
	return !sh_has("ip netns list", needle);
}

static bool rules_gone(struct demo *d)
{
	char *cmd = NULL, *out = NULL;
	if (asprintf(&cmd, "ip netns exec %s-node nft list table inet netpol", d->lab) < 0)
		return false;
	int rc = sh_capture(cmd, &out);
	free(cmd);
	/* kube-dns is left: its interface is one key in each verdict map */
	bool ok = rc == 0 && !strstr(out, NS) && !strstr(out, "chain eg-np") &&
		  !strstr(out, "chain in-np") && count_lines_with(out, "\"np", "\" : ") <= 2;
	free(out);
	return ok;
}

static void verify_cleanup(struct demo *d)
{
	printf("\nWhat the namespace leaves behind:\n");
	verdict(d, wait_until(d, 15, ns_gone), "namespace advanced-policy-demo is gone (kubectl get ns)");
	verdict(d, wait_until(d, 15, pods_gone), "its pods are gone (kubectl get pods -A)");
	verdict(d, wait_until(d, 15, netns_gone), "their network namespaces are gone (ip netns list)");
	char *what = NULL;
	if (asprintf(&what, "their kernel rules are gone (ip netns exec %s-node nft list table "
		     "inet netpol)", d->lab) > 0)
		verdict(d, wait_until(d, 15, rules_gone), what);
	free(what);
}

static void run_step(struct demo *d, const struct demo_step *st)
{
	printf("\n");
	say(d, "1", st->title);
	for (size_t i = 0; i < DEMO_MAX_COMMANDS && st->commands[i]; i++) {
		char *out = NULL;
		printf("$ %s\n", st->commands[i]);
		int rc = sh_capture(st->commands[i], &out);
		fputs(out ? out : "", stdout);
		if (rc != 0)
			verdict(d, false, "the command failed");
		free(out);
	}
	fflush(stdout);
	if (st->cleanup) {
		verify_cleanup(d);
		return;
	}
	if (!d->shell) {
		/* the reader opens a second shell once nginx is up */
		if (!wait_until(d, 60, nginx_ready))
			verdict(d, false, "the nginx deployment became ready");
		printf("\n(second shell)\n$ kubectl run --namespace=advanced-policy-demo access --rm -ti "
		       "--image busybox /bin/sh\n");
		if (open_access(d) < 0 || !wait_until(d, 60, access_running))
			verdict(d, false, "the access pod started");
	} else if (!wait_until(d, 10, in_sync)) {
		verdict(d, false, "the agent programmed the change");
	}
	printf("\n");
	say(d, "4", st->heading);
	run_checks(d, st);
	printf("(%.1f s)\n", now_s() - d->t0);
	fflush(stdout);
}

static int setup(struct demo *d)
{
	char self[PATH_MAX], link[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	snprintf(d->dir, sizeof(d->dir), "/tmp/netpol-demo.XXXXXX");
	if (n < 0 || !mkdtemp(d->dir))
		return -1;
	self[n] = '\0';
	snprintf(d->lab, sizeof(d->lab), "demo%d", (int)getpid());
	snprintf(d->sock, sizeof(d->sock), "%s/api.sock", d->dir);
	snprintf(d->shell_out, sizeof(d->shell_out), "%s/access.out", d->dir);
	snprintf(link, sizeof(link), "%s/bin", d->dir);
	if (mkdir(link, 0700) < 0)
		return -1;
	snprintf(link, sizeof(link), "%s/bin/kubectl", d->dir);
	if (symlink(self, link) < 0)
		return -1;
	snprintf(link, sizeof(link), "%s/bin/netpol", d->dir);
	if (symlink(self, link) < 0)
		return -1;
	char *path = NULL, *state = NULL;
	const char *old = getenv("PATH");
	if (asprintf(&path, "%s/bin:%s", d->dir, old ? old : "/usr/bin:/bin") < 0 ||
	    asprintf(&state, "%s/state", d->dir) < 0) {
		free(path);
		return -1;
	}
	setenv("PATH", path, 1);
	setenv("NETPOL_STATE_DIR", state, 1);
	setenv("NETPOL_SOCKET", d->sock, 1);
	setenv("NETPOL_LAB", d->lab, 1);
	free(path);
	free(state);
	return 0;
}

static void teardown(struct demo *d)
{
	close_access(d);
	printf("\n$ netpol down\n");
	char *out = NULL;
	sh_capture("netpol down", &out);
	fputs(out ? out : "", stdout);
	free(out);
	char needle[32];
	snprintf(needle, sizeof(needle), "%s-", d->lab);
	verdict(d, !sh_has("ip netns list", needle), "the private lab left no network namespace");
	char *rm = NULL;
	if (asprintf(&rm, "rm -rf '%s'", d->dir) > 0)
		sh_capture(rm, NULL);
	free(rm);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: netpol demo advanced-policy\n\n"
		"Runs the Calico tutorial \"Controlling ingress and egress traffic with network\n"
		"policy\" for real in a private lab (its own name, state and socket): the same\n"
		"kubectl commands and YAML, the same checks from the busybox access pod, each\n"
		"marked \xe2\x9c\x93 or \xe2\x9c\x97 against what the tutorial says. Needs root. Exits 1 if any\n"
		"check differs.\n");
}

int cmd_demo(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc != 2 || strcmp(argv[1], "advanced-policy")) {
		usage(stderr);
		return 64;
	}
	struct demo d = {.shell_in = -1, .color = isatty(1), .t0 = now_s()};
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* the access shell ends with its pod in step 7; typing exit then is moot */
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (setup(&d) < 0) {
		fprintf(stderr, "netpol demo: cannot prepare a private lab in %s\n", d.dir);
		return 1;
	}
	say(&d, "1", "Controlling ingress and egress traffic with network policy");
	printf("(the Calico tutorial, run in the private lab %s; google.com is the lab's outside "
	       "world)\n", d.lab);
	size_t n;
	const struct demo_step *steps = demo_steps(&n);
	for (size_t i = 0; i < n && !interrupted; i++)
		run_step(&d, &steps[i]);
	teardown(&d);
	if (interrupted)
		d.mismatches++;
	printf("\n");
	char *end = NULL;
	if (asprintf(&end, "%s (%.1f s)", d.mismatches ? "Some checks differ from the tutorial." :
		     "Every check is what the tutorial says.", now_s() - d.t0) > 0)
		say(&d, "1", end);
	free(end);
	return d.mismatches ? 1 : 0;
}
