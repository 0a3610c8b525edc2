/* kctl: shared pieces of the kubectl verbs (flags, connection to the lab
 * daemon with auto-start, kinds and paths, YAML, printing). Internal to
 * src/kubectl; only this layer prints. */
#ifndef NETPOL_KCTL_H
#define NETPOL_KCTL_H

#include "client/client.h"
#include "util/diag.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#define KCTL_DEFAULT_SOCKET "/run/netpol/api.sock"
#define KCTL_DEFAULT_STATE_DIR "/var/lib/netpol"
#define KCTL_DEFAULT_LAB "netpol"

/* ---- flags (pflag-like: --x=v, --x v, -x v, -xv, -ti, interspersed) ------ */

enum kflag_type { KF_BOOL, KF_STRING, KF_INT, KF_LIST };

struct kstrs {
	const char **v;
	size_t n;
};

struct kflag {
	const char *name;   /* long name, without "--" */
	char shorthand;     /* 0 = none */
	enum kflag_type type;
	void *dest;         /* bool *, const char **, long *, struct kstrs * */
};

/* --dry-run: none (the default), client (validate here, send nothing),
 * server (the API's dryRun=All: validated and answered, never stored). */
enum kctl_dry { KCTL_DRY_NONE, KCTL_DRY_CLIENT, KCTL_DRY_SERVER };

/* One invocation of a verb. */
struct kctl {
	const char *prog;       /* "kubectl" or "netpol", for messages */
	const char *verb;
	const char *ns;         /* -n/--namespace, else "default" */
	bool ns_given;
	const char *socket, *state_dir, *lab;
	bool help;
	struct kstrs args;      /* positional arguments before "--" */
	struct kstrs after;     /* arguments after "--" */
	bool dash_dash;
	struct client *client;
	bool started;           /* auto-start already tried */
	const char *dry_run;    /* --dry-run=VALUE, for the verbs that take it */
	enum kctl_dry dry;      /* what dry_run asked for */
};

/* Parses argv (argv[0] is the verb) against flags (terminated by a zeroed
 * entry) plus the global ones. Prints kubectl's message and returns -1 on
 * an unknown or malformed flag; returns 1 after printing help when
 * --help was given (usage may be NULL). */
int kctl_init(struct kctl *k, int argc, char **argv, const struct kflag *flags,
	      const char *usage);
void kctl_done(struct kctl *k);
void kctl_strs_free(struct kstrs *s);
int kctl_strs_add(struct kstrs *s, const char *v);

/* A verb's help: usage, its flags, the global flags, the environment. */
void kctl_print_help(FILE *f, const char *verb, const char *usage, const struct kflag *flags);

/* "error: ..." to stderr; returns 1 (the exit code). */
int kctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct kkind;

/* The query that makes a mutating request a server dry run, or NULL. */
const char *kctl_dry_query(const struct kctl *k);
/* "", " (dry run)" or " (server dry run)", after kubectl's result lines. */
const char *kctl_dry_suffix(const struct kctl *k);
/* A mutating verb's outcome as kubectl prints it: -o name "KIND/NAME",
 * -o yaml|json the object (obj may be NULL: then the line), else
 * "KIND/NAME OP" and the dry-run suffix. */
void kctl_print_done(const struct kctl *k, const struct kkind *kk, const char *name,
		     const char *op, const char *output, json_t *obj);
/* Validates obj as the API server would (client dry run); prints
 * kubectl's "The Kind "name" is invalid: ..." and returns -1. */
int kctl_validate(const struct kkind *kk, json_t *obj);
/* kubectl's refusal of -o values other than name, yaml and json for a
 * mutating verb; 0 when output is fine. */
int kctl_check_output(const char *output);

/* ---- the daemon ----------------------------------------------------------- */

/* One request, starting the daemon first when none answers. Returns 0 with
 * an HTTP answer, or prints why it could not reach the daemon and returns
 * -1. */
int kctl_request(struct kctl *k, const char *method, const char *path, json_t *body,
		 const char *content_type, long *status, json_t **resp);
/* Connects (auto-starting) and returns the client, or NULL after printing. */
struct client *kctl_client(struct kctl *k);
/* Prints a Status answer as kubectl does; returns 1. */
int kctl_print_status(json_t *resp, long status);
/* Prints "Error from server (...): error when VERB \"SRC\": MSG". */
int kctl_print_status_when(json_t *resp, long status, const char *when, const char *src);

/* ---- kinds ------------------------------------------------------------------ */

struct kkind {
	const char *resource;   /* "pods" */
	const char *singular;   /* "pod" */
	const char *kind;       /* "Pod" */
	const char *group;      /* "", "apps", "networking.k8s.io" */
	const char *api;        /* "/api/v1" */
	const char *version;    /* "v1", "apps/v1" */
	const char *alias;      /* "po" */
	bool namespaced;
};

/* By resource, singular, short name or Kind, case-insensitive, with an
 * optional ".group" suffix. NULL when unknown. */
const struct kkind *kctl_kind(const char *name);
const struct kkind *kctl_kind_of_object(json_t *obj);
const struct kkind *kctl_kinds(size_t *n);
/* "deployment.apps" (singular.group), as kubectl names objects in output. */
void kctl_kind_qualified(const struct kkind *kk, char *buf, size_t len);
/* "deployments.apps" (resource.group), as the server names them. */
void kctl_resource_qualified(const struct kkind *kk, char *buf, size_t len);
/* The collection path (ns NULL: all namespaces); append "/NAME" for one. */
char *kctl_path(const struct kkind *kk, const char *ns, const char *name, const char *query);
/* Percent-encodes a query value; caller frees. */
char *kctl_escape(const char *s);

/* ---- values ---------------------------------------------------------------- */

const char *kctl_str(json_t *obj, const char *path); /* "a.b.c" */
/* "k=v,k2=v2" sorted, or "<none>" when empty; caller frees. */
char *kctl_labels_string(json_t *labels);
/* matchLabels and matchExpressions as kubectl's FormatLabelSelector. */
char *kctl_selector_string(json_t *sel);
/* "k=v,k2=v2" into an object of strings; NULL and prints on error. */
json_t *kctl_parse_labels(const char *text);

/* ---- YAML output -------------------------------------------------------------------- */

/* Prints v as kubectl -o yaml does (sorted keys, sequences not indented
 * under their key). */
void kctl_yaml_print(FILE *f, json_t *v);
/* kubectl -o json (4-space indent, sorted keys). */
void kctl_json_print(FILE *f, json_t *v);

/* jsonpath.c: kubectl's JSONPath templates (-o jsonpath=TEMPLATE).
 * Returns 0, or -EINVAL with kubectl's message (without "error: ") in
 * *err, which the caller frees. */
int kctl_jsonpath_check(const char *tmpl, char **err);
int kctl_jsonpath_print(FILE *f, const char *tmpl, json_t *data, char **err);

/* ---- manifests (-f) ----------------------------------------------------------- */

struct kobj {
	json_t *obj;
	const char *source;  /* "STDIN" or the path */
};

struct kmanifest {
	struct kobj *items;
	size_t n;
	char **sources;
	size_t nsources;
	struct diag_list diags;  /* the reader's problems, every file's */
};

/* Reads every -f path ("-" is standard input) into objects with decode's
 * reader; prints kubectl's error for a missing file, or every problem of
 * every file at file:line:col, and returns -1 (nothing may be sent). */
int kctl_manifest_read(const struct kstrs *files, struct kmanifest *m);
void kctl_manifest_free(struct kmanifest *m);
/* The namespace an object of the manifest goes to, or NULL for a
 * cluster-scoped kind; prints and returns -1 on a conflict with -n. */
int kctl_object_namespace(struct kctl *k, const struct kkind *kk, json_t *obj,
			  const char **ns);
/* Finds the kind of obj; prints kubectl's message and returns NULL. */
const struct kkind *kctl_object_kind(json_t *obj, const char *source);

/* ---- streams (attach/exec) ---------------------------------------------------- */

/* Runs an exec/attach stream until the server sends the exit status.
 * Returns the remote exit code (>= 0) or -1 after printing. */
int kctl_stream_run(struct kctl *k, const char *path, bool in, bool tty);
/* Waits until the pod is Running (or ends); returns its phase (caller
 * frees) or NULL after printing. */
char *kctl_wait_pod_running(struct kctl *k, const char *ns, const char *name, int timeout_s);

#endif
