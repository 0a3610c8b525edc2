/* Fuzzes the YAML decoder: any bytes, decoded as a YAML stream into a
 * cluster. Nothing may crash or leak; when decoding fails the cluster must
 * be left empty, and every error must carry the file name. */
#include "decode/decode_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct np_cluster *cl = cluster_new();
	struct diag_list d = {0};
	if (!cl)
		return 0;
	int r = decode_buffer_as("fuzz.yaml", (const char *)data, size, false, cl, &d);
	if (r == -EINVAL && (cl->nnamespaces || cl->npods || cl->ndeployments ||
			     cl->nservices || cl->npolicies || diag_count(&d, DIAG_ERROR) == 0))
		abort();
	for (size_t i = 0; i < d.n; i++)
		if (!d.items[i].file || !d.items[i].msg)
			abort();
	diag_list_clear(&d);
	cluster_free(cl);
	return 0;
}
