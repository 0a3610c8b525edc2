/* Golden tests of the compiler: tests/nft/golden/NAME.yaml (objects, and
 * the node's endpoints in comments) compiles to NAME.nft, byte for byte.
 * UPDATE=1 rewrites the .nft files. One "PASS golden/NAME" line each. */
#include "case.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef NFT_GOLDEN_DIR
#define NFT_GOLDEN_DIR "tests/nft/golden"
#endif

static int name_qcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The compiled text with a header line of counts (nft -f skips it). */
static char *golden_text(const char *name, const struct nft_prog *p)
{
	struct nft_counts n;
	char *body = nft_prog_text(p), *out = NULL;
	nft_prog_count(p, &n);
	if (body && asprintf(&out, "# %s.yaml: sets %zu, maps %zu, elements %zu, chains %zu, "
			     "rules %zu\n%s", name, n.sets, n.maps, n.elems, n.chains, n.rules,
			     body) < 0)
		out = NULL;
	free(body);
	return out;
}

/* Prints where want and got first differ. */
static void first_difference(const char *name, const char *want, const char *got)
{
	int line = 1;
	const char *w = want, *g = got;
	while (*w && *w == *g) {
		if (*w == '\n')
			line++;
		w++, g++;
	}
	const char *we = strchr(w, '\n'), *ge = strchr(g, '\n');
	printf("FAIL golden/%s: line %d differs (UPDATE=1 rewrites)\n  want: %.*s\n  got:  %.*s\n",
	       name, line, we ? (int)(we - w) : (int)strlen(w), w,
	       ge ? (int)(ge - g) : (int)strlen(g), g);
}

static int run_case(const char *dir, const char *name, bool update)
{
	char path[4096], *err = NULL, *got = NULL, *want = NULL;
	struct nft_case c;
	int fail = 1;
	snprintf(path, sizeof(path), "%s/%s.yaml", dir, name);
	if (nft_case_load_file(path, &c, &err) < 0) {
		printf("FAIL golden/%s: %s\n", name, err ? err : "load failed");
		goto cleanup;
	}
	if (!(got = golden_text(name, c.prog))) {
		printf("FAIL golden/%s: out of memory\n", name);
		goto cleanup;
	}
	snprintf(path, sizeof(path), "%s/%s.nft", dir, name);
	if (update) {
		FILE *f = fopen(path, "w");
		if (!f || fputs(got, f) < 0 || fclose(f) != 0) {
			printf("FAIL golden/%s: cannot write %s\n", name, path);
			goto cleanup;
		}
	} else if (!(want = nft_case_slurp(path))) {
		printf("FAIL golden/%s: no %s (UPDATE=1 writes it)\n", name, path);
		goto cleanup;
	} else if (strcmp(want, got) != 0) {
		first_difference(name, want, got);
		goto cleanup;
	}
	printf("PASS golden/%s\n", name);
	fail = 0;
cleanup:
	nft_case_clear(&c);
	free(err);
	free(got);
	free(want);
	return fail;
}

int main(void)
{
	const char *dir = getenv("NFT_GOLDEN_DIR") ? getenv("NFT_GOLDEN_DIR") : NFT_GOLDEN_DIR;
	bool update = getenv("UPDATE") && strcmp(getenv("UPDATE"), "1") == 0;
	DIR *d = opendir(dir);
	char **names = NULL;
	size_t n = 0;
	int failed = 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!d) {
		printf("FAIL golden: cannot open %s\n", dir);
		return 1;
	}
	for (struct dirent *e; (e = readdir(d));) {
		size_t l = strlen(e->d_name);
		if (l > 5 && strcmp(e->d_name + l - 5, ".yaml") == 0) {
			names = realloc(names, (n + 1) * sizeof(*names));
			names[n++] = strndup(e->d_name, l - 5);
		}
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), name_qcmp);
	for (size_t i = 0; i < n; i++) {
		failed += run_case(dir, names[i], update);
		free(names[i]);
	}
	free(names);
	return failed ? 1 : 0;
}
