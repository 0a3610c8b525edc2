/* decode: manifests (YAML via libyaml, JSON via jansson) into the model,
 * with validation as the Kubernetes API server does it for the kinds we know.
 *
 * Every problem is appended to diags with file:line:col; decoding goes on
 * after an error so that the user sees every problem at once. When any
 * error was recorded the caller must use none of the input (decode_paths
 * leaves the cluster untouched in that case).
 */
#ifndef NETPOL_DECODE_H
#define NETPOL_DECODE_H

#include "../model/model.h"
#include "../util/diag.h"

#include <jansson.h>

/* The limits of the manifest reader, the same for every caller (netpol
 * reach/explain/lint, kubectl -f, the API server's request bodies). */
#define DECODE_MAX_BYTES (64u * 1024 * 1024)   /* per file, stream or body */
#define DECODE_MAX_DEPTH 128                    /* nested mappings and sequences */
#define DECODE_MAX_ALIAS_NODES 100000           /* nodes YAML aliases may copy, per stream */

/* decode_read_json flags */
#define DECODE_READ_JSON 1u     /* JSON whatever the name (else as decode_buffer guesses) */
#define DECODE_READ_OBJECTS 2u  /* every non-empty document must be a mapping */

/* The reader alone, for callers that pass on what they read rather than
 * decode it: kubectl -f sends it to the API, the API server stores request
 * bodies. Same scalar rules and limits as decode_paths; integral numbers
 * (80.0, 8e1) become JSON integers, as decode reads them. The format is
 * JSON for a *.json name, YAML for *.yaml / *.yml, else JSON when the text
 * starts with '{' or '['. *docs is a new array of the documents that are
 * not empty. All-or-nothing: on any error *docs is NULL and -EINVAL (or
 * -ENOMEM) is returned, with every problem in diags at file:line:col. */
int decode_read_json(const char *name, const char *buf, size_t len, unsigned flags,
		     json_t **docs, struct diag_list *diags);

/* Decodes files, directories (recursively *.yaml, *.yml, *.json, in sorted
 * order) and "-" (standard input) into cl, then runs cluster_finish.
 * All-or-nothing: when any error is recorded, cl is left unchanged and
 * -EINVAL is returned. Warnings (e.g. a skipped kind) do not fail.
 * A *.json file is JSON, a *.yaml / *.yml file YAML; other files and
 * standard input are JSON when they start with '{' or '['. An object that
 * cl already has is an error, except a Namespace cl only knows implicitly
 * (the declaration replaces it). Source positions (np_pos.file) point into
 * cl's file table. */
int decode_paths(const char *const *paths, size_t npaths, struct np_cluster *cl,
		 struct diag_list *diags);

/* Decodes one buffer (multi-document YAML, or JSON when the first
 * non-space byte is '{' or '['); name is used in diagnostics. Same
 * all-or-nothing rule; does not call cluster_finish. */
int decode_buffer(const char *name, const char *buf, size_t len,
		  struct np_cluster *cl, struct diag_list *diags);

/* For the API server (no source text): decodes one object of the expected
 * kind from a JSON value; diagnostics carry no line, and name the field
 * path in the message ("spec.ingress[0].ports[0].port: Invalid value ...").
 * *out is a struct np_namespace/np_pod/... matching kind. */
int decode_json_object(json_t *obj, const char *expected_kind, void **out,
		       struct diag_list *diags);

/* Frees what decode_json_object returned for kind. Also knows Endpoints,
 * which it validates for the API but does not model (*out is then only
 * a struct np_meta). */
void decode_object_free(const char *kind, void *obj);

#endif
