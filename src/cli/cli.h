/* cli: the netpol command line. One file per verb; main.c holds the
 * dispatch table. Only this layer prints. */
#ifndef NETPOL_CLI_H
#define NETPOL_CLI_H

#include "decode/decode.h"
#include "model/model.h"
#include "policy/policy.h"

#include <stdio.h>

/* Exit codes shared by the verbs. */
enum { CLI_OK = 0, CLI_INVALID = 1, CLI_FINDINGS = 2, CLI_USAGE = 64 };

/* A growable list of -f paths. */
struct cli_paths {
	const char **items;
	size_t n;
};
int cli_paths_add(struct cli_paths *p, const char *path);
void cli_paths_free(struct cli_paths *p);

/* Prints every record of l to f (sorted, one per line). */
void cli_print_diags(FILE *f, struct diag_list *l);

/* Decodes the paths into a new cluster, printing problems to stderr.
 * Returns CLI_OK (and *out) or CLI_INVALID. Warnings are printed too. */
int cli_load(const struct cli_paths *paths, struct np_cluster **out);

/* "80/TCP", "80/udp", "80" (TCP). Returns 0 or -EINVAL. */
int cli_parse_port(const char *text, struct np_port *out);
/* "80/TCP,81/UDP" into a new array. */
int cli_parse_ports(const char *text, struct np_port **out, size_t *n);

/* An endpoint, kubectl-like: [NAMESPACE/][TYPE/]NAME or an IP address.
 * TYPE is pod (po), deployment (deploy) or service (svc); without it NAME
 * is a pod, else a Deployment, else a Service. A Deployment or a Service
 * stands for its first pod (cluster order) that its selector matches; a
 * Service also maps *port (may be NULL) to the targetPort behind it. The
 * namespace defaults to def_ns (NULL: "default"); TYPE/NAME is read as
 * NAMESPACE/NAME when the input has a namespace called TYPE. An IP is the
 * pod that has it, else an endpoint outside the cluster. On error returns
 * -ENOENT/-EINVAL and prints why. The note, if set, says how the text was
 * resolved. */
int cli_resolve_endpoint(const struct np_cluster *cl, const char *text, const char *def_ns,
			 struct np_endpoint *out, struct np_port *port, char *note,
			 size_t note_len);

/* "ns/name" of a pod, or the address of an outside endpoint. */
const char *cli_endpoint_name(const struct np_endpoint *ep, char *buf, size_t len);

int cmd_reach(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_lint(int argc, char **argv);

#endif
