#include "cli.h"
#include "cmd_serve.h"
#include "daemon/commands.h"
#include "kubectl/commands.h"
#include "agent/commands.h"
#include "demo/commands.h"

#include <stdio.h>
#include <string.h>

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"reach", cmd_reach, "verdicts for every pod pair and port, from manifests"},
	{"explain", cmd_explain, "why one connection is allowed or denied"},
	{"lint", cmd_lint, "findings a reviewer wants flagged in policies"},
	{"serve", cmd_serve, "run the lab's control plane (store + Kubernetes API)"},
#include "daemon/commands.inc"
#include "kubectl/commands.inc"
#include "agent/commands.inc"
#include "demo/commands.inc"
};

static void usage(FILE *f)
{
	fprintf(f, "usage: netpol COMMAND [ARGS...]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'netpol help COMMAND' or 'netpol COMMAND --help' shows a command's options.\n"
		   "The real kubectl's other verbs (edit, diff, scale, ...) run with the real kubectl\n"
		   "against the lab: netpol kubeconfig > /tmp/netpol.kubeconfig;\n"
		   "KUBECONFIG=/tmp/netpol.kubeconfig kubectl VERB ...\n\n%s", kctl_env_help);
}

static const struct command *command_find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(name, commands[i].name))
			return &commands[i];
	return NULL;
}

/* `netpol help [COMMAND]` */
static int help(int argc, char **argv)
{
	if (argc < 3) {
		usage(stdout);
		return CLI_OK;
	}
	const struct command *c = command_find(argv[2]);
	int ret = kctl_help_verb(argv[2], c ? c->fn : NULL);
	if (ret >= 0)
		return ret;
	fprintf(stderr, "netpol: unknown command \"%s\"\n", argv[2]);
	return CLI_USAGE;
}

int main(int argc, char **argv)
{
	/* build/kubectl is a symlink to netpol: kubectl's own flag and verb rules */
	if (kubectl_invoked(argv[0]))
		return kubectl_main(argc, argv);
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	const char *name = argv[1];
	if (!strcmp(name, "help") || !strcmp(name, "--help") || !strcmp(name, "-h"))
		return help(argc, argv);
	if (!strcmp(name, "--version")) {
		printf("netpol " NETPOL_VERSION "\n");
		return CLI_OK;
	}
	const struct command *c = command_find(name);
	if (c)
		return c->fn(argc - 1, argv + 1);
	if (kctl_unimplemented(name))
		return kctl_refer(argc - 1, argv + 1);
	fprintf(stderr, "netpol: unknown command \"%s\"\n", name);
	usage(stderr);
	return CLI_USAGE;
}
