/* netpol reach: the verdict for every ordered pair of distinct pods and
 * every port, as matrices a person reads at a glance or as JSON. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void reach_usage(FILE *f)
{
	fprintf(f,
		"usage: netpol reach -f PATH [-f PATH...] [--ports 80/TCP,81/UDP] [-o table|json]\n"
		"\n"
		"Evaluates every ordered pair of distinct pods in the manifests on every\n"
		"port (default: every containerPort the pods declare).\n"
		"  -f, --filename PATH  file, directory (recursive) or - for standard input\n"
		"      --ports LIST     ports to evaluate, PORT[/PROTOCOL],...\n"
		"  -o, --output FORMAT  table (default) or json\n");
}

static char *pod_name(const struct np_pod *p)
{
	char *s = NULL;
	if (asprintf(&s, "%s/%s", p->meta.namespace, p->meta.name) < 0)
		return NULL;
	return s;
}

/* Streams the JSON: a million flows would be a million jansson objects.
 * Names are escaped once by jansson and reused for every flow. */
static int print_json(const struct np_matrix *m)
{
	char **names = calloc(m->npods ? m->npods : 1, sizeof(*names));
	int r = -1;
	if (!names)
		return -1;
	for (size_t i = 0; i < m->npods; i++) {
		char *plain = pod_name(m->pods[i]);
		json_t *js = plain ? json_string(plain) : NULL;
		names[i] = js ? json_dumps(js, JSON_ENCODE_ANY) : NULL;
		json_decref(js);
		free(plain);
		if (!names[i])
			goto cleanup;
	}
	fputs("{\"pods\":[", stdout);
	for (size_t i = 0; i < m->npods; i++)
		printf("%s%s", i ? "," : "", names[i]);
	fputs("],\"ports\":[", stdout);
	for (size_t k = 0; k < m->nports; k++)
		printf("%s\"%d/%s\"", k ? "," : "", m->ports[k].port, proto_name(m->ports[k].proto));
	fputs("],\"flows\":[", stdout);
	bool first = true;
	for (size_t k = 0; k < m->nports; k++) {
		const char *proto = proto_name(m->ports[k].proto);
		for (size_t s = 0; s < m->npods; s++)
			for (size_t d = 0; d < m->npods; d++) {
				if (s == d)
					continue;
				printf("%s\n{\"from\":%s,\"to\":%s,\"port\":%d,\"protocol\":\"%s\",\"allowed\":%s}",
				       first ? "" : ",", names[s], names[d], m->ports[k].port, proto,
				       matrix_allowed(m, k, s, d) ? "true" : "false");
				first = false;
			}
	}
	fputs("\n]}\n", stdout);
	r = 0;
cleanup:
	for (size_t i = 0; i < m->npods; i++)
		free(names[i]);
	free(names);
	return r;
}

/* Short names (the upstream x/a style) label the columns themselves; long
 * ones get numbered columns and the numbers at the start of each row. */
static void print_table(const struct np_matrix *m)
{
	size_t width = 0;
	char **names = calloc(m->npods ? m->npods : 1, sizeof(*names));
	if (!names)
		return;
	for (size_t i = 0; i < m->npods; i++) {
		names[i] = pod_name(m->pods[i]);
		size_t len = names[i] ? strlen(names[i]) : 0;
		if (len > width)
			width = len;
	}
	bool numbered = width > 8;
	int cw = numbered ? snprintf(NULL, 0, "%zu", m->npods) : (int)width;
	int rw = numbered ? cw + 1 + (int)width : (int)width;
	for (size_t k = 0; k < m->nports; k++) {
		size_t allowed = 0, total = 0;
		for (size_t s = 0; s < m->npods; s++)
			for (size_t d = 0; d < m->npods; d++)
				if (s != d) {
					total++;
					allowed += matrix_allowed(m, k, s, d);
				}
		printf("%s%d/%s: %zu of %zu flows allowed  (. allowed, X denied; rows: from, columns: to)\n",
		       k ? "\n" : "", m->ports[k].port, proto_name(m->ports[k].proto), allowed, total);
		printf("%*s", rw, "");
		for (size_t d = 0; d < m->npods; d++) {
			if (numbered)
				printf(" %*zu", cw, d + 1);
			else
				printf(" %-*s", cw, names[d] ? names[d] : "?");
		}
		printf("\n");
		for (size_t s = 0; s < m->npods; s++) {
			if (numbered)
				printf("%*zu %-*s", cw, s + 1, (int)width, names[s] ? names[s] : "?");
			else
				printf("%-*s", rw, names[s] ? names[s] : "?");
			for (size_t d = 0; d < m->npods; d++)
				printf(" %-*s", cw, s == d ? "-" : matrix_allowed(m, k, s, d) ? "." : "X");
			printf("\n");
		}
	}
	for (size_t i = 0; i < m->npods; i++)
		free(names[i]);
	free(names);
}

int cmd_reach(int argc, char **argv)
{
	static const struct option opts[] = {
		{"filename", required_argument, NULL, 'f'},
		{"ports", required_argument, NULL, 'p'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct cli_paths paths = {0};
	struct np_port *ports = NULL;
	size_t nports = 0;
	const char *output = "table";
	struct np_cluster *cl = NULL;
	struct engine *e = NULL;
	struct np_matrix *m = NULL;
	int c, rc = CLI_USAGE;

	optind = 1;
	while ((c = getopt_long(argc, argv, "f:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			cli_paths_add(&paths, optarg);
			break;
		case 'p':
			free(ports);
			ports = NULL;
			if (cli_parse_ports(optarg, &ports, &nports) < 0) {
				fprintf(stderr, "netpol reach: bad --ports \"%s\": expected PORT[/TCP|UDP|SCTP],...\n", optarg);
				goto cleanup;
			}
			break;
		case 'o':
			output = optarg;
			break;
		case 'h':
			reach_usage(stdout);
			rc = CLI_OK;
			goto cleanup;
		default:
			reach_usage(stderr);
			goto cleanup;
		}
	}
	if (optind < argc || paths.n == 0 || (strcmp(output, "table") && strcmp(output, "json"))) {
		if (paths.n == 0)
			fprintf(stderr, "netpol reach: give the manifests with -f PATH\n");
		else if (optind < argc)
			fprintf(stderr, "netpol reach: unexpected argument \"%s\"\n", argv[optind]);
		else
			fprintf(stderr, "netpol reach: unknown output format \"%s\" (table or json)\n", output);
		reach_usage(stderr);
		goto cleanup;
	}
	rc = cli_load(&paths, &cl);
	if (rc != CLI_OK)
		goto cleanup;
	rc = CLI_INVALID;
	if (!ports && (cluster_ports(cl, &ports, &nports) < 0 || nports == 0)) {
		fprintf(stderr, "netpol reach: the pods declare no containerPort; name the ports with --ports\n");
		goto cleanup;
	}
	e = engine_new(cl);
	int r = e ? engine_reach(e, ports, nports, &m) : -ENOMEM;
	if (r < 0) {
		fprintf(stderr, "netpol reach: cannot compute the matrix: %s\n", strerror(-r));
		goto cleanup;
	}
	if (!strcmp(output, "json"))
		print_json(m);
	else
		print_table(m);
	rc = CLI_OK;
cleanup:
	matrix_free(m);
	engine_free(e);
	cluster_free(cl);
	free(ports);
	cli_paths_free(&paths);
	return rc;
}
