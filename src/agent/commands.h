/* agent verbs for the netpol dispatch table (src/cli/main.c). */
#ifndef NETPOL_AGENT_COMMANDS_H
#define NETPOL_AGENT_COMMANDS_H

#define CLI_OK_EXIT 1000   /* parse_args: --help was answered */

int cmd_agent(int argc, char **argv);

#endif
