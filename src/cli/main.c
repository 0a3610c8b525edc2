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
	fprintf(f, "\n'netpol COMMAND --help' shows a command's options.\n");
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
	if (!strcmp(name, "help") || !strcmp(name, "--help") || !strcmp(name, "-h")) {
		usage(stdout);
		return CLI_OK;
	}
	if (!strcmp(name, "version") || !strcmp(name, "--version")) {
		printf("netpol 0.1.0\n");
		return CLI_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(name, commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "netpol: unknown command \"%s\"\n", name);
	usage(stderr);
	return CLI_USAGE;
}
