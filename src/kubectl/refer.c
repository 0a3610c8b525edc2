/* refer.c: the real kubectl's verbs that netpol's kubectl does not
 * implement. Each says so and gives the exact command that runs it with
 * the real kubectl against the same lab (through `netpol kubeconfig`),
 * with a non-zero exit: never a silent "unknown command". */
#include "commands.h"
#include "kctl.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* kubectl 1.32's verbs, less those in commands.inc. */
static const char *const unimplemented[] = {
	"edit", "diff", "wait", "rollout", "scale", "autoscale", "port-forward", "api-resources",
	"api-versions", "explain", "config", "annotate", "patch", "replace", "set", "top",
	"cluster-info", "cp", "proxy", "auth", "certificate", "cordon", "uncordon", "drain",
	"taint", "kustomize", "plugin", "debug", "events", "alpha", NULL,
};

bool kctl_unimplemented(const char *verb)
{
	for (const char *const *u = unimplemented; *u; u++)
		if (strcmp(*u, verb) == 0)
			return true;
	return false;
}

/* The first kubectl on PATH that is not this program (build/kubectl is a
 * symlink to netpol). */
static char *real_kubectl(void)
{
	char self[PATH_MAX], *self_real = realpath("/proc/self/exe", self) ? self : NULL;
	const char *path = getenv("PATH");
	char *copy = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin"), *save = NULL;
	char *found = NULL;
	for (char *dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		char cand[PATH_MAX], real[PATH_MAX];
		snprintf(cand, sizeof(cand), "%s/kubectl", *dir ? dir : ".");
		if (access(cand, X_OK) == 0 && realpath(cand, real) &&
		    (!self_real || strcmp(real, self_real) != 0))
			found = strdup(cand);
	}
	free(copy);
	return found;
}

/* Single quotes around what a shell would otherwise split or expand. */
static void print_quoted(const char *a)
{
	if (*a && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=/.,:@%+") == strlen(a)) {
		fputs(a, stderr);
		return;
	}
	fputc('\'', stderr);
	for (; *a; a++)
		if (*a == '\'')
			fputs("'\\''", stderr);
		else
			fputc(*a, stderr);
	fputc('\'', stderr);
}

int kctl_refer(int argc, char **argv)
{
	char *real = real_kubectl();
	fprintf(stderr, "error: netpol's kubectl does not implement %s; use the real kubectl:\n"
		"  netpol kubeconfig > /tmp/netpol.kubeconfig\n"
		"  KUBECONFIG=/tmp/netpol.kubeconfig %s", argv[0], real ? real : "kubectl");
	for (int i = 0; i < argc; i++) {
		fputc(' ', stderr);
		print_quoted(argv[i]);
	}
	fputc('\n', stderr);
	if (!real)
		fprintf(stderr, "(no kubectl other than netpol's is on PATH: "
			"https://kubernetes.io/docs/tasks/tools/)\n");
	free(real);
	return 1;
}

int kctl_help_verb(const char *verb, int (*fn)(int, char **))
{
	char *argv[] = {(char *)verb, "--help", NULL};
	if (fn)
		return fn(2, argv);
	if (kctl_unimplemented(verb))
		return kctl_refer(1, argv);
	return -1;
}
