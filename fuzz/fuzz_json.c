/* Fuzzes the JSON decoder: any bytes, decoded as JSON into a cluster, and
 * (when the reader gives one object, as for a request body) through
 * decode_json_object, the API server's path. Nothing may crash or leak; a failed decode must leave
 * the cluster empty and return no object. */
#include "decode/decode_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const kinds[] = {"Namespace", "Pod", "Deployment", "Service",
				    "NetworkPolicy"};

static void free_object(const char *kind, void *obj)
{
	switch (kind[0]) {
	case 'N': kind[1] == 'a' ? namespace_free(obj) : policy_free(obj); break;
	case 'P': pod_free(obj); break;
	case 'D': deployment_free(obj); break;
	default: service_free(obj); break;
	}
}

static void fuzz_object(const uint8_t *data, size_t size)
{
	json_t *docs = NULL;
	struct diag_list rd = {0};
	int rr = decode_read_json("body", (const char *)data, size, DECODE_READ_JSON, &docs, &rd);
	if ((rr == 0) != (docs != NULL) || (rr == -EINVAL && diag_count(&rd, DIAG_ERROR) == 0))
		abort();
	diag_list_clear(&rd);
	json_t *j = json_incref(json_array_get(docs, 0));
	json_decref(docs);
	if (!json_is_object(j)) {
		json_decref(j);
		return;
	}
	const char *kind = kinds[size % 5];
	struct diag_list d = {0};
	void *obj = NULL;
	int r = decode_json_object(j, kind, &obj, &d);
	if ((r == 0) != (obj != NULL) || (r == -EINVAL && diag_count(&d, DIAG_ERROR) == 0))
		abort();
	free_object(kind, obj);
	diag_list_clear(&d);
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct np_cluster *cl = cluster_new();
	struct diag_list d = {0};
	if (!cl)
		return 0;
	int r = decode_buffer_as("fuzz.json", (const char *)data, size, true, cl, &d);
	if (r == -EINVAL && (cl->nnamespaces || cl->npods || cl->ndeployments ||
			     cl->nservices || cl->npolicies || diag_count(&d, DIAG_ERROR) == 0))
		abort();
	diag_list_clear(&d);
	cluster_free(cl);
	fuzz_object(data, size);
	return 0;
}
