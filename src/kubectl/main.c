/* main.c: running as `kubectl`: global flags may come before the verb
 * (`kubectl -n demo get pods`), usage and unknown commands read like
 * kubectl's. The verbs themselves are the ones in the dispatch table. */
#include "commands.h"
#include "kctl.h"

#include <stdlib.h>
#include <string.h>

struct verb {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct verb verbs[] = {
#include "commands.inc"
};

static void usage(FILE *f)
{
	fprintf(f, "kubectl controls the netpol lab (a Kubernetes-compatible API on one machine).\n\n"
		   "Basic Commands:\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %-12s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f, "\nUsage:\n  kubectl [flags] [options]\n\n"
		   "Use \"kubectl <command> --help\" for more information about a given command.\n"
		   "The real kubectl's other verbs (edit, diff, scale, ...) run with the real kubectl\n"
		   "against the lab: netpol kubeconfig > /tmp/netpol.kubeconfig;\n"
		   "KUBECONFIG=/tmp/netpol.kubeconfig kubectl VERB ...\n\n%s", kctl_env_help);
}

static const struct verb *verb_find(const char *name)
{
	for (size_t j = 0; j < sizeof(verbs) / sizeof(verbs[0]); j++)
		if (strcmp(name, verbs[j].name) == 0)
			return &verbs[j];
	return NULL;
}

int kubectl_invoked(const char *argv0)
{
	const char *base = strrchr(argv0, '/');
	base = base ? base + 1 : argv0;
	return strcmp(base, "kubectl") == 0;
}

/* Global flags that take a value when written as "--flag VALUE". */
static bool takes_value(const char *a)
{
	static const char *const with_value[] = {"-n", "--namespace", "--socket", "--state-dir",
						 "--lab", "--kubeconfig", "--context", NULL};
	for (const char *const *w = with_value; *w; w++)
		if (strcmp(a, *w) == 0)
			return true;
	return false;
}

int kubectl_main(int argc, char **argv)
{
	if (kubectl_invoked(argv[0]))
		setenv("NETPOL_PROG", "kubectl", 1);
	/* flags before the verb move after it */
	int i = 1;
	while (i < argc && argv[i][0] == '-' && argv[i][1] && strcmp(argv[i], "--help") &&
	       strcmp(argv[i], "-h"))
		i += takes_value(argv[i]) && i + 1 < argc ? 2 : 1;
	if (i + 1 < argc && strcmp(argv[i], "help") == 0) {
		const struct verb *hv = verb_find(argv[i + 1]);
		int ret = kctl_help_verb(argv[i + 1], hv ? hv->fn : NULL);
		if (ret >= 0)
			return ret;
		fprintf(stderr, "error: unknown command \"%s\" for \"kubectl\"\n", argv[i + 1]);
		return 1;
	}
	if (i >= argc || strcmp(argv[i], "help") == 0 || strcmp(argv[i], "--help") == 0 ||
	    strcmp(argv[i], "-h") == 0) {
		usage(i >= argc ? stderr : stdout);
		return i >= argc ? 1 : 0;
	}
	const struct verb *v = verb_find(argv[i]);
	if (!v && !kctl_unimplemented(argv[i])) {
		fprintf(stderr, "error: unknown command \"%s\" for \"kubectl\"\nRun 'kubectl --help' for usage.\n", argv[i]);
		return 1;
	}
	char **args = calloc((size_t)argc + 1, sizeof(*args));
	if (!args)
		return 1;
	int n = 0;
	args[n++] = argv[i];
	for (int j = 1; j < i; j++)
		args[n++] = argv[j];
	for (int j = i + 1; j < argc; j++)
		args[n++] = argv[j];
	/* an unimplemented verb is referred with the flags given before it */
	int ret = v ? v->fn(n, args) : kctl_refer(n, args);
	free(args);
	return ret;
}
