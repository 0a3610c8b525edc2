/* Fuzzes the YAML decoder: any bytes, decoded as a YAML stream into a
 * cluster. Nothing may crash or leak; when decoding fails the cluster must
 * be left empty, and every error must carry the file name. The same bytes
 * through decode_read_json (kubectl -f): what the reader refuses, decoding
 * refuses too, and what it gives reads back as JSON (the API server's
 * reading of kubectl's request) to the same values. */
#include "decode/decode_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(json_t *docs)
{
	size_t i;
	json_t *doc;
	json_array_foreach(docs, i, doc) {
		char *text = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
		json_t *again = NULL;
		struct diag_list d = {0};
		if (!text)
			continue;
		int r = decode_read_json("body", text, strlen(text), DECODE_READ_JSON, &again, &d);
		/* the API refuses bodies that are no object or array, as jansson does */
		if ((json_is_object(doc) || json_is_array(doc)) &&
		    (r != 0 || !json_equal(json_array_get(again, 0), doc)))
			abort();
		json_decref(again);
		diag_list_clear(&d);
		free(text);
	}
}

/* Returns whether the reader refused the bytes. */
static bool fuzz_reader(const uint8_t *data, size_t size)
{
	json_t *docs = NULL;
	struct diag_list d = {0};
	int r = decode_read_json("fuzz.yaml", (const char *)data, size, 0, &docs, &d);
	if ((r == 0) != (docs != NULL) || (r == -EINVAL && diag_count(&d, DIAG_ERROR) == 0))
		abort();
	check_round_trip(docs);
	json_decref(docs);
	diag_list_clear(&d);
	return r == -EINVAL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool refused = fuzz_reader(data, size);
	struct np_cluster *cl = cluster_new();
	struct diag_list d = {0};
	if (!cl)
		return 0;
	int r = decode_buffer_as("fuzz.yaml", (const char *)data, size, false, cl, &d);
	if (r == -EINVAL && (cl->nnamespaces || cl->npods || cl->ndeployments ||
			     cl->nservices || cl->npolicies || diag_count(&d, DIAG_ERROR) == 0))
		abort();
	if (refused && r == 0)
		abort();
	for (size_t i = 0; i < d.n; i++)
		if (!d.items[i].file || !d.items[i].msg)
			abort();
	diag_list_clear(&d);
	cluster_free(cl);
	return 0;
}
