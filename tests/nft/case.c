/* case: manifests with endpoint comments, compiled (see case.h). */
#include "case.h"
#include "decode/decode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *nft_case_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	if (!f)
		return NULL;
	FILE *m = open_memstream(&buf, &len);
	if (m) {
		char chunk[4096];
		size_t n;
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			fwrite(chunk, 1, n, m);
		fclose(m);
	}
	fclose(f);
	return buf;
}

static char *diags_text(const struct diag_list *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		return NULL;
	for (size_t i = 0; i < d->n; i++) {
		char *s = diag_format(&d->items[i]);
		fprintf(m, "%s%s", i ? "\n" : "", s ? s : "?");
		free(s);
	}
	fclose(m);
	return buf;
}

/* "# endpoint: NS/POD IF" lines. */
static int find_endpoints(struct nft_case *c, const char *text, char **err)
{
	const char *p = text;
	c->ifprefix = strdup("np");
	while (p && *p) {
		char ns[256], pod[256], ifname[64], prefix[64];
		if (sscanf(p, "# endpoint: %255[^/]/%255s %63s", ns, pod, ifname) == 3) {
			struct np_pod *obj = cluster_find_pod(c->cl, ns, pod);
			if (!obj) {
				if (err && asprintf(err, "endpoint %s/%s: no such pod", ns, pod) < 0)
					*err = NULL;
				return -ENOENT;
			}
			c->eps = realloc(c->eps, (c->neps + 1) * sizeof(*c->eps));
			c->ifnames = realloc(c->ifnames, (c->neps + 1) * sizeof(*c->ifnames));
			c->ifnames[c->neps] = strdup(ifname);
			c->eps[c->neps] = (struct nft_endpoint){obj, c->ifnames[c->neps]};
			c->nifnames = ++c->neps;
		} else if (sscanf(p, "# ifprefix: %63s", prefix) == 1) {
			free(c->ifprefix);
			c->ifprefix = strdup(prefix);
		}
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return 0;
}

int nft_case_recompile(struct nft_case *c, char **err)
{
	struct diag_list d = {0};
	struct nft_opts opts = {.pod_ifprefix = c->ifprefix};
	int rc;
	engine_free(c->e);
	nft_prog_free(c->prog);
	c->prog = NULL;
	if (!(c->e = engine_new(c->cl)))
		return -ENOMEM;
	rc = nft_compile(c->e, c->cl, c->eps, c->neps, &opts, &c->prog, &d);
	if (rc < 0 && err)
		*err = diags_text(&d);
	diag_list_clear(&d);
	return rc;
}

int nft_case_load(const char *name, const char *text, struct nft_case *c, char **err)
{
	struct diag_list d = {0};
	int rc;
	memset(c, 0, sizeof(*c));
	if (err)
		*err = NULL;
	c->cl = cluster_new();
	rc = decode_buffer(name, text, strlen(text), c->cl, &d);
	if (rc == 0)
		rc = cluster_finish(c->cl);
	if (rc < 0) {
		if (err)
			*err = diags_text(&d);
		diag_list_clear(&d);
		return rc;
	}
	diag_list_clear(&d);
	if ((rc = find_endpoints(c, text, err)) < 0)
		return rc;
	return nft_case_recompile(c, err);
}

int nft_case_load_file(const char *path, struct nft_case *c, char **err)
{
	char *text = nft_case_slurp(path);
	int rc;
	if (!text) {
		memset(c, 0, sizeof(*c));
		if (err && asprintf(err, "%s: cannot read", path) < 0)
			*err = NULL;
		return -errno;
	}
	rc = nft_case_load(path, text, c, err);
	free(text);
	return rc;
}

void nft_case_clear(struct nft_case *c)
{
	nft_prog_free(c->prog);
	engine_free(c->e);
	cluster_free(c->cl);
	for (size_t i = 0; i < c->nifnames; i++)
		free(c->ifnames[i]);
	free(c->ifnames);
	free(c->eps);
	free(c->ifprefix);
	memset(c, 0, sizeof(*c));
}
