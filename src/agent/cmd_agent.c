/* netpol agent: the node agent (see src/agent/agent.h). */
#include "agent.h"
#include "commands.h"
#include "lab/lab.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_SOCKET "/run/netpol/api.sock"

static volatile int stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: netpol agent [--lab NAME] [--socket PATH] [--node-netns NAME]\n"
		"                    [--cut-denied-connections] [--ready-file PATH] [-v]\n\n"
		"Watches namespaces, pods and networkpolicies through the API and programs\n"
		"the lab node's nftables table (inet " NFT_TABLE ") to enforce them. The table\n"
		"stays when the agent stops; a restarted agent converges it in place.\n\n"
		"  --lab NAME                 lab name (default netpol)\n"
		"  --socket PATH              API socket (default " DEFAULT_SOCKET ")\n"
		"  --node-netns NAME          node network namespace (default <lab>-node)\n"
		"  --cut-denied-connections   delete conntrack entries of flows a change denies\n"
		"  --ready-file PATH          touched once in sync (default\n"
		"                             /run/netpol/<lab>" LAB_AGENT_READY_SUFFIX ")\n"
		"  --latency-file PATH        one line per change: microseconds to commit\n"
		"  -v, --verbose              log every commit\n");
}

static bool verbose;

static void log_line(void *ctx, enum agent_log_level level, const char *msg)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	if (level == AGENT_LOG_DEBUG && !verbose)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "netpol agent [%s]: %s: %s\n", (const char *)ctx, names[level], msg);
}

struct agent_args {
	const char *lab, *socket, *node, *ready, *latency;
	bool cut;
};

static int parse_args(int argc, char **argv, struct agent_args *a)
{
	static const struct option longopts[] = {
		{"lab", required_argument, NULL, 'l'},
		{"socket", required_argument, NULL, 's'},
		{"node-netns", required_argument, NULL, 'n'},
		{"cut-denied-connections", no_argument, NULL, 'c'},
		{"ready-file", required_argument, NULL, 'r'},
		{"latency-file", required_argument, NULL, 'L'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	*a = (struct agent_args){.lab = "netpol", .socket = DEFAULT_SOCKET};
	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': a->lab = optarg; break;
		case 's': a->socket = optarg; break;
		case 'n': a->node = optarg; break;
		case 'c': a->cut = true; break;
		case 'r': a->ready = optarg; break;
		case 'L': a->latency = optarg; break;
		case 'v': verbose = true; break;
		case 'h': usage(stdout); return CLI_OK_EXIT;
		default: usage(stderr); return 64;
		}
	}
	if (optind < argc || !lab_name_valid(a->lab)) {
		if (!lab_name_valid(a->lab))
			fprintf(stderr, "netpol agent: bad lab name \"%s\": 1-20 of [a-z0-9]\n", a->lab);
		usage(stderr);
		return 64;
	}
	return -1;
}

int cmd_agent(int argc, char **argv)
{
	struct agent_args a;
	char node[300], *ready = NULL;
	int rc = parse_args(argc, argv, &a);
	if (rc >= 0)
		return rc == CLI_OK_EXIT ? 0 : rc;
	/* a name is looked up in /run/netns, as `ip netns` does; a path is taken as is */
	if (a.node && strchr(a.node, '/'))
		snprintf(node, sizeof(node), "%s", a.node);
	else
		snprintf(node, sizeof(node), "/run/netns/%s%s", a.node ? a.node : a.lab,
			 a.node ? "" : "-node");
	if (!(ready = a.ready ? strdup(a.ready) : lab_run_file(a.lab, NULL, LAB_AGENT_READY_SUFFIX))) {
		fprintf(stderr, "netpol agent: %s\n", strerror(ENOMEM));
		return 1;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct agent_options o = {
		.socket_path = a.socket, .node_netns = node, .ready_file = ready,
		.latency_file = a.latency, .cut_denied = a.cut, .stop = &stop_flag,
		.log = log_line, .log_ctx = (void *)a.lab,
	};
	int err = agent_run(&o);
	free(ready);
	if (err < 0) {
		fprintf(stderr, "netpol agent: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}
