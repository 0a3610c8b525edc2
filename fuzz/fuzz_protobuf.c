/* Fuzzes the protobuf body decoder (src/api/protobuf.c): any bytes must
 * give either an object and no message or a message and no object, with
 * no crash, no read past the end and no leak. Seeds are real kubectl
 * bodies (fuzz/corpus/protobuf). */
#include "api/api_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *obj = NULL;
	char *err = NULL;
	int r = api_protobuf_decode(data, size, &obj, &err);
	if (r == 0 ? !obj || err : obj || (r != -ENOMEM && !err))
		abort();
	if (obj) {
		/* the result must be JSON the rest of the server can print */
		char *s = json_dumps(obj, JSON_COMPACT);
		if (!s)
			abort();
		free(s);
	}
	json_decref(obj);
	free(err);
	return 0;
}
