/* decode internals shared by the files of src/decode.
 *
 * The pipeline inside the module:
 *   bytes --(yaml.c | json.c)--> document tree (doc.c) --(objects.c, with
 *   the rules of validate.c)--> model objects in a scratch cluster
 *   --(load.c)--> the caller's cluster, only when no error was recorded.
 */
#ifndef NETPOL_DECODE_INTERNAL_H
#define NETPOL_DECODE_INTERNAL_H

#include "decode.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- document tree (doc.c) ------------------------------------------------ */

/* Scalar types are resolved as sigs.k8s.io/yaml (YAML 1.1 rules of go-yaml
 * v2) resolves plain scalars; quoted and block scalars are strings. */
enum doc_type { DOC_NULL, DOC_BOOL, DOC_INT, DOC_FLOAT, DOC_STRING, DOC_MAP, DOC_SEQ };

struct doc_node {
	enum doc_type type;
	int line, col;            /* 1-based; 0 when unknown (tree from a json_t) */
	char *text;               /* scalars: the text after unescaping */
	bool quoted;              /* scalars: quoted or block style */
	const char *problem;      /* scalars: why it cannot be represented, or NULL */
	bool bval;                /* DOC_BOOL */
	long long ival;           /* DOC_INT */
	double fval;              /* DOC_FLOAT */
	struct doc_node **keys;   /* DOC_MAP: n unique string keys, in source order */
	struct doc_node **vals;   /* DOC_MAP: values; DOC_SEQ: items */
	size_t n, cap;
};

/* The documents of one stream; a NULL entry is an empty document. */
struct doc_stream {
	struct doc_node **docs;
	size_t n, cap;
};

struct doc_node *doc_new(enum doc_type type, int line, int col);
/* A scalar from its text; plain scalars get a resolved type, others are
 * strings. A scalar no JSON value can hold exactly (1e999, .inf, a NUL
 * character) gets a problem, which the readers report. NULL on ENOMEM. */
struct doc_node *doc_scalar_new(const char *text, size_t len, bool plain, int line, int col);
void doc_free(struct doc_node *n);
/* Appends to a sequence (key NULL) or a mapping; takes ownership of key and
 * val on success only. */
int doc_append(struct doc_node *coll, struct doc_node *key, struct doc_node *val);
/* Deep copy; *budget is the number of nodes it may still create and is
 * decreased. NULL when out of memory or budget. */
struct doc_node *doc_copy(const struct doc_node *n, size_t *budget);
/* The value of key in a mapping, or NULL. */
const struct doc_node *doc_get(const struct doc_node *map, const char *key);
/* True for the floats that a double holds as an exact integer (|v| <= 2^53):
 * 80.0 is the integer 80, as after sigs.k8s.io/yaml's round trip through
 * JSON. */
bool doc_float_is_integral(double v);
/* "string", "integer", "number", "boolean", "null", "object", "array". */
const char *doc_type_name(enum doc_type t);

int doc_stream_push(struct doc_stream *s, struct doc_node *root);
void doc_stream_clear(struct doc_stream *s);

/* ---- parsers (yaml.c, json.c) -------------------------------------------- */

/* Parses a (multi-document) YAML stream. On a syntax error the documents
 * before it are still returned, the error is recorded at libyaml's problem
 * mark and -EINVAL is returned. */
int decode_yaml_parse(const char *name, const char *buf, size_t len,
		      struct doc_stream *out, struct diag_list *diags);
/* Parses one JSON text: jansson decides validity; the positioned tree is
 * libyaml's reading of the same bytes when it agrees with jansson's. */
int decode_json_parse(const char *name, const char *buf, size_t len,
		      struct doc_stream *out, struct diag_list *diags);
/* The bytes of a file, stream or body as trees, under the reader's
 * limits; json chooses the parser. */
int decode_read_docs(const char *name, const char *buf, size_t len, bool json,
		     struct doc_stream *out, struct diag_list *diags);
/* decode_buffer's guess: JSON when the first non-space byte is '{' or '['. */
bool decode_looks_like_json(const char *buf, size_t len);
/* By the name's suffix (.json, .yaml, .yml), else by the text. */
bool decode_is_json(const char *name, const char *buf, size_t len);
/* A tree (that a reader accepted) as JSON; NULL on ENOMEM. */
json_t *decode_doc_to_json(const struct doc_node *n);
/* A tree from a json_t, every node at line/col. NULL on ENOMEM. */
struct doc_node *decode_doc_from_json(const json_t *j, int line, int col);

/* ---- decoding context (doc.c) --------------------------------------------- */

struct dctx {
	struct diag_list *diags;
	const char *file;           /* name for diagnostics; NULL when no source */
	struct np_cluster *cl;      /* scratch cluster; NULL in single-object mode */
	const char *pos_file;       /* file interned in cl, for np_pos */
	char *path;                 /* field path of the value being decoded */
	size_t plen, pcap;
	size_t nerrors;             /* errors recorded through this context */
	bool oom;
	/* single-object mode (decode_json_object) */
	const char *want_kind;
	void *out;
	/* kinds already warned about as skipped */
	char **skipped;
	size_t nskipped;
};

void dctx_clear(struct dctx *c);
/* Path helpers: push returns the mark to pop back to. */
size_t dctx_push_key(struct dctx *c, const char *key);
size_t dctx_push_index(struct dctx *c, size_t i);
void dctx_pop(struct dctx *c, size_t mark);
/* Diagnostics at a node's position (file:line:col). */
void dctx_error(struct dctx *c, const struct doc_node *at, const char *code,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void dctx_warning(struct dctx *c, const struct doc_node *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
struct np_pos dctx_pos(const struct dctx *c, const struct doc_node *at);
/* Records an allocation failure; returns -ENOMEM. */
int dctx_oom(struct dctx *c);

/* Typed accessors for the value at the current path. Each returns 0 or,
 * after recording "<path>: Invalid type: expected X, got Y", -EINVAL.
 * Integral numbers (80.0) are integers, as after sigs.k8s.io/yaml's
 * round trip through JSON. */
int doc_want_string(struct dctx *c, const struct doc_node *n, const char **out);
int doc_want_int(struct dctx *c, const struct doc_node *n, long long *out);
int doc_want_bool(struct dctx *c, const struct doc_node *n, bool *out);
/* Mappings and sequences: null is accepted as empty (Go's zero value). */
int doc_want_map(struct dctx *c, const struct doc_node *n);
int doc_want_seq(struct dctx *c, const struct doc_node *n);
/* IntOrString: sets *is_int and one of *iv / *sv. */
int doc_want_int_or_string(struct dctx *c, const struct doc_node *n, bool *is_int,
			   long long *iv, const char **sv);

/* Tables of the fields the Kubernetes schema has at one place. */
typedef void (*field_fn)(struct dctx *c, const struct doc_node *v, void *in);

struct pb_message;

struct field {
	const char *name;
	field_fn fn;      /* NULL: known, not modelled, held to schema */
	/* fn NULL: the message (schema.h) whose field of this name types the
	 * value; NULL only where the caller checks the value itself. */
	const struct pb_message *schema;
};

const struct field *doc_find_field(const struct field *fields, const char *name);
/* Calls the handler of each known field whose value is not null (null is
 * an absent field, as in Go) with the key on the path; reports unknown
 * fields. A null map is empty. Keys are unique: the readers refuse
 * repeated ones, and a json_t cannot hold them. */
void doc_walk(struct dctx *c, const struct doc_node *map, const struct field *fields, void *in);
/* Calls fn for every item of a sequence, with "[i]" on the path. */
void doc_each_item(struct dctx *c, const struct doc_node *seq, field_fn fn, void *in);
/* A string value: its text, or NULL after a type error (or for null). */
const char *doc_string_of(struct dctx *c, const struct doc_node *v);
/* strdup that records ENOMEM. */
char *dctx_strdup(struct dctx *c, const char *s);

/* Grows the array arr (of n elements) by one zeroed element and evaluates
 * to a pointer to it, or to NULL on ENOMEM (recorded in c). */
#define DCTX_APPEND(c, arr, n)                                                \
	({                                                                    \
		__typeof__(arr) grown_ = realloc((arr), ((n) + 1) * sizeof(*(arr))); \
		__typeof__(arr) elem_ = NULL;                                 \
		if (grown_) {                                                 \
			(arr) = grown_;                                       \
			elem_ = &grown_[(n)++];                               \
			memset(elem_, 0, sizeof(*elem_));                     \
		} else {                                                      \
			dctx_oom(c);                                          \
		}                                                             \
		elem_;                                                        \
	})

/* ---- field errors and validation rules (validate.c) -------------------------
 *
 * Messages have the Kubernetes field-error shapes, with the current path
 * (plus "." child when child is non-NULL):
 *   <path>: Invalid value: <value>: <reason>
 *   <path>: Required value[: <reason>]
 *   <path>: Unsupported value: <value>: supported values: ...
 *   <path>: Forbidden: <reason>
 *   <path>: Duplicate value: <value>
 */
void validate_invalid_str(struct dctx *c, const struct doc_node *at, const char *child,
			  const char *value, const char *code, const char *reason);
void validate_invalid_int(struct dctx *c, const struct doc_node *at, const char *child,
			  long long value, const char *reason);
void validate_required(struct dctx *c, const struct doc_node *at, const char *child,
		       const char *reason);
void validate_forbidden(struct dctx *c, const struct doc_node *at, const char *child,
			const char *reason);
void validate_duplicate(struct dctx *c, const struct doc_node *at, const char *child,
			const char *value);
/* supported: NULL-terminated list. */
void validate_unsupported(struct dctx *c, const struct doc_node *at, const char *child,
			  const char *value, const char *const *supported);
/* value quoted as Go's %q does it. Caller frees; NULL on ENOMEM. */
char *validate_quote(const char *s);

/* Rules: each records one error per broken rule and returns true when
 * the value is valid. */
bool validate_dns1123_label(struct dctx *c, const struct doc_node *at, const char *child,
			    const char *v);
bool validate_dns1123_subdomain(struct dctx *c, const struct doc_node *at,
				const char *child, const char *v);
bool validate_dns1035_label(struct dctx *c, const struct doc_node *at, const char *child,
			    const char *v);
/* Label key: optional DNS subdomain prefix and '/', then a name. */
bool validate_label_key(struct dctx *c, const struct doc_node *at, const char *child,
			const char *key);
bool validate_label_value(struct dctx *c, const struct doc_node *at, const char *child,
			  const char *v);
/* [prefix/]name, as finalizers are (the rule of label keys). */
bool validate_qualified_name(struct dctx *c, const struct doc_node *at, const char *child,
			     const char *v);
/* Annotation keys are label keys, compared in lower case. */
bool validate_annotation_key(struct dctx *c, const struct doc_node *at, const char *child,
			     const char *key);
bool validate_port_number(struct dctx *c, const struct doc_node *at, const char *child,
			  long long v);
/* IANA_SVC_NAME: at most 15 of [a-z0-9-], a letter, no "--", no edge '-'. */
bool validate_port_name(struct dctx *c, const struct doc_node *at, const char *child,
			const char *v);
bool validate_protocol(struct dctx *c, const struct doc_node *at, const char *child,
		       const char *v, enum np_proto *out);
bool validate_ip(struct dctx *c, const struct doc_node *at, const char *child,
		 const char *v, struct np_ip *out);
bool validate_cidr(struct dctx *c, const struct doc_node *at, const char *child,
		   const char *v, struct np_cidr *out);

/* ---- fields netpol validates but does not model (fields.c, endpoints.c) ----
 *
 * Handlers for struct field tables. Each checks its value as the API
 * server's decoder and validation would and records field errors; none
 * keeps anything. */
void decode_f_string(struct dctx *c, const struct doc_node *v, void *in);
void decode_f_int(struct dctx *c, const struct doc_node *v, void *in);
void decode_f_bool(struct dctx *c, const struct doc_node *v, void *in);
void decode_f_string_list(struct dctx *c, const struct doc_node *v, void *in);
/* metadata.finalizers, ownerReferences, managedFields. */
void decode_f_finalizers(struct dctx *c, const struct doc_node *v, void *in);
void decode_f_owner_refs(struct dctx *c, const struct doc_node *v, void *in);
void decode_f_managed_fields(struct dctx *c, const struct doc_node *v, void *in);
/* A Namespace's spec and status. */
void decode_f_namespace_spec(struct dctx *c, const struct doc_node *v, void *in);
void decode_f_namespace_status(struct dctx *c, const struct doc_node *v, void *in);
/* The status of a Deployment, a Service, a NetworkPolicy. */
void decode_f_deployment_status(struct dctx *c, const struct doc_node *v, void *in);
void decode_f_service_status(struct dctx *c, const struct doc_node *v, void *in);
void decode_f_policy_status(struct dctx *c, const struct doc_node *v, void *in);
/* Pod spec and container scalars (podspec.c). */
void decode_f_restart_policy(struct dctx *c, const struct doc_node *v, void *in);
void decode_f_dns_policy(struct dctx *c, const struct doc_node *v, void *in);
void decode_f_preemption_policy(struct dctx *c, const struct doc_node *v, void *in);
void decode_f_pull_policy(struct dctx *c, const struct doc_node *v, void *in);
void decode_f_termination_message_policy(struct dctx *c, const struct doc_node *v, void *in);
void decode_f_string_map(struct dctx *c, const struct doc_node *v, void *in);
void decode_f_dns_label(struct dctx *c, const struct doc_node *v, void *in);
void decode_f_env(struct dctx *c, const struct doc_node *v, void *in);
void decode_f_restart_policy_rules(struct dctx *c, const struct doc_node *v, void *in);
/* An Endpoints object's subsets. */
void decode_f_endpoints_subsets(struct dctx *c, const struct doc_node *v, void *in);

/* ---- the schema check (schema_check.c) -------------------------------------
 *
 * Field name of message m (schema.h) or a whole message, the value at the
 * current path: unknown fields and wrong types become field errors. */
void schema_check_field(struct dctx *c, const struct doc_node *v, const struct pb_message *m,
			const char *name);
void schema_check_message(struct dctx *c, const struct doc_node *v, const struct pb_message *m);
/* A valid Quantity's value (a string or a JSON number), approximately;
 * false when v is not one. */
bool schema_quantity_value(const struct doc_node *v, double *out);
/* The API server's rules across a pod spec whose structure is valid
 * (podrules.c). */
void decode_pod_spec_rules(struct dctx *c, const struct doc_node *spec);

/* ---- loading (load.c) ---------------------------------------------------- */

/* decode_buffer with the format chosen by the caller (the fuzz targets). */
int decode_buffer_as(const char *name, const char *buf, size_t len, bool json,
		     struct np_cluster *cl, struct diag_list *diags);

/* ---- objects (objects.c) --------------------------------------------------- */

/* Decodes the object(s) of one document root into c->cl (or c->out). */
void decode_document(struct dctx *c, const struct doc_node *root);

#endif
