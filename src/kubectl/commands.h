/* kubectl verbs for the netpol dispatch table (src/cli/main.c). Each takes
 * argv with argv[0] the verb and returns the process exit code. */
#ifndef NETPOL_KUBECTL_COMMANDS_H
#define NETPOL_KUBECTL_COMMANDS_H

int cmd_get(int argc, char **argv);
int cmd_describe(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_label(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_expose(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_kubeconfig(int argc, char **argv);
int cmd_down(int argc, char **argv);

/* The whole command line when the program runs as `kubectl` (argv[0]'s
 * base name) or starts with a global flag: kubectl-style usage, global
 * flags before the verb, kubectl's unknown-command message. Returns the
 * exit code. */
int kubectl_main(int argc, char **argv);
/* True when argv[0] names kubectl. */
int kubectl_invoked(const char *argv0);

#endif
