/* case: one nft test case: a manifest (NAME.yaml) whose comments name
 * the node's endpoints, compiled into a program. Shared by the golden
 * runner and the kernel tests.
 *
 * Comment lines the manifest may carry:
 *   # endpoint: NS/POD IFNAME     a pod of the node and its interface
 *   # ifprefix: PREFIX            pod interface prefix (default "np")
 */
#ifndef NETPOL_TEST_NFT_CASE_H
#define NETPOL_TEST_NFT_CASE_H

#include "dataplane/nft/nft.h"

struct nft_case {
	struct np_cluster *cl;
	struct engine *e;
	struct nft_endpoint *eps;
	size_t neps;
	char **ifnames;         /* owned copies behind eps[].ifname (tests may */
	size_t nifnames;        /* drop endpoints: these stay until cleared) */
	char *ifprefix;
	struct nft_prog *prog;
};

/* Decodes text (named name in diagnostics), finds the endpoints and
 * compiles. On failure returns -errno and, when err is non-NULL, a
 * message in *err (caller frees). */
int nft_case_load(const char *name, const char *text, struct nft_case *out, char **err);
/* The same, from a file. */
int nft_case_load_file(const char *path, struct nft_case *out, char **err);
/* Recompiles after the cluster changed (a fresh engine). */
int nft_case_recompile(struct nft_case *c, char **err);
void nft_case_clear(struct nft_case *c);

/* Whole file into a string (caller frees); NULL on error. */
char *nft_case_slurp(const char *path);

#endif
