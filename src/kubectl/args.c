/* args.c: kubectl's flag syntax (spf13/pflag): long flags with "=" or a
 * separate value, short flags that can be grouped ("-ti") or carry their
 * value ("-nfoo"), flags anywhere between positional arguments, "--" to
 * end flags. Global flags (-n, --socket, ...) are accepted by every verb. */
#include "kctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int kctl_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 1;
}

int kctl_strs_add(struct kstrs *s, const char *v)
{
	const char **p = realloc(s->v, (s->n + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	s->v = p;
	s->v[s->n++] = v;
	return 0;
}

void kctl_strs_free(struct kstrs *s)
{
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

void kctl_done(struct kctl *k)
{
	client_free(k->client);
	k->client = NULL;
	kctl_strs_free(&k->args);
	kctl_strs_free(&k->after);
}

static const struct kflag *find_long(const struct kflag *sets[2], const char *name, size_t len)
{
	for (int s = 0; s < 2; s++)
		for (const struct kflag *f = sets[s]; f && f->name; f++)
			if (strlen(f->name) == len && strncmp(f->name, name, len) == 0)
				return f;
	return NULL;
}

static const struct kflag *find_short(const struct kflag *sets[2], char c)
{
	for (int s = 0; s < 2; s++)
		for (const struct kflag *f = sets[s]; f && f->name; f++)
			if (f->shorthand == c)
				return f;
	return NULL;
}

static int bad_usage(struct kctl *k, const char *fmt, const char *a, const char *b)
{
	fputs("Error: ", stderr); /* cobra's flag errors are capitalised */
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, "\nSee '%s %s --help' for usage.\n", k->prog, k->verb);
	return -1;
}

static int set_value(struct kctl *k, const struct kflag *f, const char *v, const char *shown)
{
	char *end = NULL;
	switch (f->type) {
	case KF_BOOL:
		if (!v || strcmp(v, "true") == 0)
			*(bool *)f->dest = true;
		else if (strcmp(v, "false") == 0)
			*(bool *)f->dest = false;
		else
			return bad_usage(k, "invalid argument \"%s\" for \"%s\" flag: strconv.ParseBool: parsing: invalid syntax", v, shown);
		return 0;
	case KF_STRING:
		*(const char **)f->dest = v;
		return 0;
	case KF_INT:
		errno = 0;
		*(long *)f->dest = strtol(v, &end, 10);
		if (!*v || *end || errno)
			return bad_usage(k, "invalid argument \"%s\" for \"%s\" flag: strconv.ParseInt: parsing: invalid syntax", v, shown);
		return 0;
	case KF_LIST:
		return kctl_strs_add(f->dest, v) < 0 ? -1 : 0;
	}
	return -1;
}

/* --name[=value]; *i advances over a separate value. */
static int parse_long(struct kctl *k, const struct kflag *sets[2], int argc, char **argv, int *i)
{
	const char *a = argv[*i] + 2, *eq = strchr(a, '=');
	size_t len = eq ? (size_t)(eq - a) : strlen(a);
	const struct kflag *f = find_long(sets, a, len);
	if (!f)
		return bad_usage(k, "unknown flag: %s%s", "--", eq ? strndupa(a, len) : a);
	const char *v = eq ? eq + 1 : NULL;
	if (!v && f->type != KF_BOOL) {
		if (*i + 1 >= argc)
			return bad_usage(k, "flag needs an argument: --%s%s", f->name, "");
		v = argv[++*i];
	}
	char shown[64];
	snprintf(shown, sizeof(shown), "--%s", f->name);
	return set_value(k, f, v, shown);
}

/* -abc, -nVALUE, -n VALUE, -n=VALUE */
static int parse_short(struct kctl *k, const struct kflag *sets[2], int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	for (const char *c = a + 1; *c; c++) {
		const struct kflag *f = find_short(sets, *c);
		char shown[64];
		snprintf(shown, sizeof(shown), "-%c, --%s", *c, f ? f->name : "");
		if (!f) {
			char ch[2] = {*c, 0};
			return bad_usage(k, "unknown shorthand flag: '%s' in %s", ch, a);
		}
		if (f->type == KF_BOOL) {
			const char *v = c[1] == '=' ? c + 2 : NULL;
			if (set_value(k, f, v, shown) < 0)
				return -1;
			if (v)
				return 0;
			continue;
		}
		const char *v = c[1] ? c + 1 + (c[1] == '=') : NULL;
		if (!v) {
			if (*i + 1 >= argc) {
				char ch[2] = {*c, 0};
				return bad_usage(k, "flag needs an argument: '%s' in %s", ch, a);
			}
			v = argv[++*i];
		}
		return set_value(k, f, v, shown);
	}
	return 0;
}

const char kctl_env_help[] =
	"Environment:\n"
	"  NETPOL_SOCKET       the lab daemon's API socket (default " KCTL_DEFAULT_SOCKET ")\n"
	"  NETPOL_STATE_DIR    its state directory: store, CA, token, daemon.log (default "
	KCTL_DEFAULT_STATE_DIR ")\n"
	"  NETPOL_LAB          the lab's name, for a daemon the CLI starts (default " KCTL_DEFAULT_LAB ")\n"
	"  NETPOL_SERVE_FLAGS  one extra flag for a daemon the CLI starts (e.g. --no-agent)\n"
	"A verb starts the daemon (`netpol serve`) when none answers on the socket;\n"
	"`netpol status` lists the labs that run, `netpol down` stops one.\n";

static const char global_help[] =
	"Global options:\n"
	"  -n, --namespace=NAME           the namespace (default \"default\")\n"
	"      --socket=PATH              the lab daemon's socket (overrides NETPOL_SOCKET)\n"
	"      --state-dir=DIR            its state directory (overrides NETPOL_STATE_DIR)\n"
	"      --lab=NAME                 the lab's name (overrides NETPOL_LAB)\n"
	"  -h, --help                     this help\n";

/* What each flag does; verb NULL: every verb that has the flag. */
static const struct {
	const char *verb, *flag, *text;
} flag_docs[] = {
	{"get", "output", "wide, yaml, json, name or jsonpath=TEMPLATE"},
	{NULL, "output", "name, yaml or json: the object instead of the result line"},
	{NULL, "filename", "a manifest: file, directory or - (standard input)"},
	{NULL, "dry-run", "store nothing: client validates here, server asks the API"},
	{"logs", "selector", "the logs of every pod this label selector matches"},
	{"expose", "selector", "the Service's selector (default: the object's)"},
	{NULL, "selector", "a label selector, e.g. app=web,tier!=db"},
	{"get", "all-namespaces", "every namespace"},
	{NULL, "show-labels", "a LABELS column"},
	{NULL, "ignore-not-found", "no error for an object that is not there"},
	{"get", "watch", "after the table, a line per change"},
	{NULL, "save-config", "keep the object as applied (the last-applied annotation)"},
	{NULL, "validate", "accepted; input is always validated as the API server does"},
	{NULL, "all", "every object of the kind in the namespace"},
	{NULL, "wait", "wait until the objects are gone (default true)"},
	{NULL, "grace-period", "accepted; the lab stops pods with SIGTERM, then SIGKILL"},
	{NULL, "now", "accepted; see --grace-period"},
	{NULL, "force", "accepted; see --grace-period"},
	{NULL, "image", "busybox, dnsmasq, nginx or probe (the lab's images)"},
	{NULL, "replicas", "a Deployment of N pods instead of a Pod"},
	{"run", "port", "the containerPort"},
	{"expose", "port", "the Service port (default: the object's first port)"},
	{NULL, "labels", "the labels, k=v,k2=v2 (default run=NAME)"},
	{NULL, "env", "K=V in the container's environment"},
	{NULL, "restart", "Always, OnFailure or Never"},
	{NULL, "rm", "delete the pod when the attached process ends"},
	{NULL, "stdin", "pass standard input to the container"},
	{NULL, "tty", "a terminal (with -i, when standard input is one)"},
	{NULL, "command", "the arguments after NAME are the command, not its args"},
	{NULL, "quiet", "no messages, only the container's output"},
	{NULL, "generator", "accepted and ignored (kubectl removed it)"},
	{NULL, "target-port", "the pods' port, a number or a name (default: --port)"},
	{NULL, "name", "the Service's name (default: the object's)"},
	{NULL, "protocol", "TCP, UDP or SCTP"},
	{NULL, "type", "the Service type (ClusterIP)"},
	{NULL, "overwrite", "replace a label's value"},
	{NULL, "container", "the container (default: the first)"},
	{NULL, "follow", "keep printing what the container writes"},
	{NULL, "tail", "only the last N lines"},
	{NULL, "previous", "the output of the run before the current one"},
	{NULL, "prefix", "each line behind [pod/NAME/CONTAINER]"},
	{NULL, "max-log-requests", "the most pods -f follows at once (default 5)"},
	{NULL, "server", "the API server's address"},
};

static const char *flag_doc(const char *verb, const char *flag)
{
	for (size_t i = 0; i < sizeof(flag_docs) / sizeof(flag_docs[0]); i++)
		if (strcmp(flag_docs[i].flag, flag) == 0 &&
		    (!flag_docs[i].verb || (verb && strcmp(flag_docs[i].verb, verb) == 0)))
			return flag_docs[i].text;
	return "";
}

static void print_flag(FILE *f, const char *verb, const struct kflag *fl)
{
	static const char *const value[] = {[KF_BOOL] = "", [KF_STRING] = "=VALUE",
					    [KF_INT] = "=N", [KF_LIST] = "=VALUE"};
	const char *v = strcmp(fl->name, "dry-run") == 0 ? "=none|client|server" : value[fl->type];
	char left[96];
	if (fl->shorthand)
		snprintf(left, sizeof(left), "-%c, --%s%s", fl->shorthand, fl->name, v);
	else
		snprintf(left, sizeof(left), "    --%s%s", fl->name, v);
	const char *doc = flag_doc(verb, fl->name);
	if (strlen(left) > 30)
		fprintf(f, "  %s\n  %-30s %s%s\n", left, "", doc, fl->type == KF_LIST ? " (repeatable)" : "");
	else
		fprintf(f, "  %-30s %s%s\n", left, doc, fl->type == KF_LIST ? " (repeatable)" : "");
}

void kctl_print_help(FILE *f, const char *verb, const char *usage, const struct kflag *flags)
{
	fprintf(f, "%s", usage ? usage : "");
	if (flags && flags->name) {
		fprintf(f, "\nOptions:\n");
		for (const struct kflag *fl = flags; fl->name; fl++)
			print_flag(f, verb, fl);
	}
	fprintf(f, "\n%s\n%s", global_help, kctl_env_help);
}

/* kubectl 1.32's values; the old booleans are gone there too. */
static int dry_parse(struct kctl *k)
{
	if (strcmp(k->dry_run, "none") == 0)
		k->dry = KCTL_DRY_NONE;
	else if (strcmp(k->dry_run, "client") == 0)
		k->dry = KCTL_DRY_CLIENT;
	else if (strcmp(k->dry_run, "server") == 0)
		k->dry = KCTL_DRY_SERVER;
	else {
		kctl_error("Invalid dry-run value (%s). Must be \"none\", \"server\", or \"client\".",
			   k->dry_run);
		return -1;
	}
	return 0;
}

int kctl_init(struct kctl *k, int argc, char **argv, const struct kflag *flags,
	      const char *usage)
{
	const char *env;
	*k = (struct kctl){.verb = argv[0], .ns = NULL};
	k->prog = (env = getenv("NETPOL_PROG")) ? env : "kubectl";
	k->socket = (env = getenv("NETPOL_SOCKET")) && *env ? env : KCTL_DEFAULT_SOCKET;
	k->state_dir = (env = getenv("NETPOL_STATE_DIR")) && *env ? env : KCTL_DEFAULT_STATE_DIR;
	k->lab = (env = getenv("NETPOL_LAB")) && *env ? env : NULL;
	const char *kubeconfig = NULL, *context = NULL;
	const struct kflag globals[] = {
		{"namespace", 'n', KF_STRING, &k->ns},
		{"socket", 0, KF_STRING, &k->socket},
		{"state-dir", 0, KF_STRING, &k->state_dir},
		{"lab", 0, KF_STRING, &k->lab},
		{"kubeconfig", 0, KF_STRING, &kubeconfig},
		{"context", 0, KF_STRING, &context},
		{"help", 'h', KF_BOOL, &k->help},
		{0},
	};
	const struct kflag *sets[2] = {flags, globals};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int ret = 0;
		if (k->dash_dash)
			ret = kctl_strs_add(&k->after, a);
		else if (strcmp(a, "--") == 0)
			k->dash_dash = true;
		else if (a[0] == '-' && a[1] == '-')
			ret = parse_long(k, sets, argc, argv, &i);
		else if (a[0] == '-' && a[1])
			ret = parse_short(k, sets, argc, argv, &i);
		else
			ret = kctl_strs_add(&k->args, a);
		if (ret < 0) {
			kctl_done(k);
			return -1;
		}
	}
	if (k->dry_run && dry_parse(k) < 0) {
		kctl_done(k);
		return -1;
	}
	k->ns_given = k->ns != NULL;
	if (!k->ns || !*k->ns)
		k->ns = "default";
	if (k->help) {
		kctl_print_help(stdout, k->verb, usage, flags);
		kctl_done(k);
		return 1;
	}
	return 0;
}
