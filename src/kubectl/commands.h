/* kubectl verbs for the netpol dispatch table (src/cli/main.c). Each takes
 * argv with argv[0] the verb and returns the process exit code. */
#ifndef NETPOL_KUBECTL_COMMANDS_H
#define NETPOL_KUBECTL_COMMANDS_H

#include <stdbool.h>

#define NETPOL_VERSION "0.1.0"

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
int cmd_version(int argc, char **argv);
int cmd_completion(int argc, char **argv);
int cmd_status(int argc, char **argv);

/* The environment variables the CLI reads, for every help text. */
extern const char kctl_env_help[];
/* True for a verb of the real kubectl that netpol's does not implement. */
bool kctl_unimplemented(const char *verb);
/* Says that argv[0] is not implemented and prints the command that runs
 * argv with the real kubectl against this lab; returns 1. */
int kctl_refer(int argc, char **argv);
/* `help VERB`: VERB's help (any verb of the table given), or kctl_refer's
 * answer for an unimplemented one; -1 when VERB is unknown. */
int kctl_help_verb(const char *verb, int (*fn)(int, char **));

/* `netpol serve` records itself (pid, socket, state directory, TLS
 * port or 0) in /run/netpol/LAB.daemon for `netpol status`, and removes
 * the record when it stops. */
int kctl_status_record(const char *lab, const char *socket, const char *state_dir, int tls_port);
void kctl_status_unrecord(const char *lab);

/* The whole command line when the program runs as `kubectl` (argv[0]'s
 * base name) or starts with a global flag: kubectl-style usage, global
 * flags before the verb, kubectl's unknown-command message. Returns the
 * exit code. */
int kubectl_main(int argc, char **argv);
/* True when argv[0] names kubectl. */
int kubectl_invoked(const char *argv0);

#endif
