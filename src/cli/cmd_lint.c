/* netpol lint: what a reviewer wants flagged. Exit 0 when clean, 2 with
 * warnings, 1 on invalid input. */
#include "cli.h"

#include <getopt.h>
#include <string.h>

static void lint_usage(FILE *f)
{
	fprintf(f,
		"usage: netpol lint -f PATH [-f PATH...]\n"
		"\n"
		"Findings (warnings unless noted):\n"
		"  NP001 a policy selects no pod in the input\n"
		"  NP002 a peer selector matches no pod or namespace in the input\n"
		"  NP003 egress isolation leaves DNS (port 53 to the cluster DNS) blocked\n"
		"  NP004 a rule is shadowed by another rule of the same policy\n"
		"  NP005 a named port that no pod declares where it is resolved\n"
		"  NP006 an except outside its cidr (an error: the API server rejects it)\n"
		"  NP007 note: DNS over UDP is allowed but over TCP is not\n"
		"  NP008 a selector matches nothing, but would with one term changed (names the\n"
		"        term and the pods or namespaces it nearly matches)\n"
		"Exit status: 0 clean (notes allowed), 2 warnings, 1 invalid input.\n");
}

int cmd_lint(int argc, char **argv)
{
	static const struct option opts[] = {
		{"filename", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct cli_paths paths = {0};
	struct np_cluster *cl = NULL;
	struct engine *e = NULL;
	struct diag_list findings = {0};
	int c, rc = CLI_USAGE;

	optind = 1;
	while ((c = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			cli_paths_add(&paths, optarg);
			break;
		case 'h':
			lint_usage(stdout);
			rc = CLI_OK;
			goto cleanup;
		default:
			lint_usage(stderr);
			goto cleanup;
		}
	}
	if (optind < argc || paths.n == 0) {
		fprintf(stderr, "netpol lint: give the manifests with -f PATH\n");
		lint_usage(stderr);
		goto cleanup;
	}
	rc = cli_load(&paths, &cl);
	if (rc != CLI_OK)
		goto cleanup;
	rc = CLI_INVALID;
	e = engine_new(cl);
	if (!e || lint_cluster(e, &findings) < 0) {
		fprintf(stderr, "netpol lint: out of memory\n");
		goto cleanup;
	}
	cli_print_diags(stdout, &findings);
	size_t nwarn = diag_count(&findings, DIAG_WARNING);
	if (nwarn)
		printf("%zu warning%s\n", nwarn, nwarn == 1 ? "" : "s");
	rc = nwarn ? CLI_FINDINGS : CLI_OK;
cleanup:
	diag_list_clear(&findings);
	engine_free(e);
	cluster_free(cl);
	cli_paths_free(&paths);
	return rc;
}
