/* cmd_exec.c: `exec [-i] [-t] POD [-c C] -- CMD...`. */
#include "commands.h"
#include "kctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char exec_usage[] =
	"Execute a command in a container.\n\n"
	"Usage:\n"
	"  kubectl exec (POD | TYPE/NAME) [-c CONTAINER] [flags] -- COMMAND [args...] [options]\n";

static char *exec_path(struct kctl *k, const char *pod, const char *container,
		       const struct kstrs *cmd, bool in, bool tty)
{
	size_t cap = 256;
	for (size_t i = 0; i < cmd->n; i++)
		cap += strlen(cmd->v[i]) * 3 + 16;
	char *path = malloc(cap + strlen(k->ns) + strlen(pod) + (container ? strlen(container) * 3 : 0));
	if (!path)
		return NULL;
	char *p = path + sprintf(path, "/api/v1/namespaces/%s/pods/%s/exec?", k->ns, pod);
	if (container) {
		char *c = kctl_escape(container);
		p += sprintf(p, "container=%s&", c);
		free(c);
	}
	for (size_t i = 0; i < cmd->n; i++) {
		char *e = kctl_escape(cmd->v[i]);
		p += sprintf(p, "command=%s&", e);
		free(e);
	}
	sprintf(p, "stdin=%s&stdout=true&stderr=%s&tty=%s", in ? "true" : "false",
		tty ? "false" : "true", tty ? "true" : "false");
	return path;
}

int cmd_exec(int argc, char **argv)
{
	struct kctl k;
	bool in = false, tty = false, quiet = false;
	const char *container = NULL;
	const struct kflag flags[] = {
		{"stdin", 'i', KF_BOOL, &in},
		{"tty", 't', KF_BOOL, &tty},
		{"container", 'c', KF_STRING, &container},
		{"quiet", 'q', KF_BOOL, &quiet},
		{0},
	};
	int r = kctl_init(&k, argc, argv, flags, exec_usage);
	if (r != 0)
		return r < 0 ? 1 : 0;
	int ret;
	struct kstrs cmd = {0};
	for (size_t i = 1; i < k.args.n; i++)
		kctl_strs_add(&cmd, k.args.v[i]);
	for (size_t i = 0; i < k.after.n; i++)
		kctl_strs_add(&cmd, k.after.v[i]);
	if (k.args.n == 0)
		ret = kctl_error("pod, type/name or --filename must be specified");
	else if (cmd.n == 0)
		ret = kctl_error("you must specify at least one command for the container");
	else {
		const char *pod = k.args.v[0];
		if (strncmp(pod, "pod/", 4) == 0 || strncmp(pod, "pods/", 5) == 0)
			pod = strchr(pod, '/') + 1;
		if (tty && (!in || !isatty(STDIN_FILENO))) {
			if (!quiet)
				fprintf(stderr, "Unable to use a TTY - input is not a terminal or the right kind of file\n");
			tty = false;
		}
		char *path = exec_path(&k, pod, container, &cmd, in, tty);
		int code = path ? kctl_stream_run(&k, path, in, tty) : -1;
		free(path);
		if (code > 0 && !quiet)
			fprintf(stderr, "command terminated with exit code %d\n", code);
		ret = code < 0 ? 1 : code;
	}
	kctl_strs_free(&cmd);
	kctl_done(&k);
	return ret;
}
