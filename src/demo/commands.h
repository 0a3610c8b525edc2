/* demo verbs for the netpol dispatch table (src/cli/main.c). */
#ifndef NETPOL_DEMO_COMMANDS_H
#define NETPOL_DEMO_COMMANDS_H

int cmd_demo(int argc, char **argv);

#endif
