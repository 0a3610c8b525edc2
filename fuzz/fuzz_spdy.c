/* Fuzzes spdy_parse and spdy_header_get, the SPDY/3.1 reader of
 * port-forward: frames one after another from one buffer, each frame's
 * payload also read as a header block. Whatever is accepted must lie
 * inside the buffer and within the bound; a frame rebuilt with
 * spdy_header must parse back the same. */
#include "api/spdy.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX 4096

static void check_data_round_trip(const struct spdy_frame *f)
{
	unsigned char *b = malloc(8 + f->len);
	struct spdy_frame g;
	if (!b)
		return;
	spdy_header(b, false, f->stream, f->flags, f->len);
	memcpy(b + 8, f->data, f->len);
	if (spdy_parse(b, 8 + f->len, MAX, &g) != (long)(8 + f->len) || g.control ||
	    g.stream != f->stream || g.flags != f->flags || g.len != f->len ||
	    memcmp(g.data, f->data, f->len) != 0)
		abort();
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	char out[64];
	if (spdy_dict()[0] != 0 || spdy_dict()[SPDY_DICT_LEN - 1] != '.')
		abort();
	for (;;) {
		struct spdy_frame f;
		long used = spdy_parse(data + off, size - off, MAX, &f);
		if (used == 0 || used == -EPROTO || used == -EMSGSIZE)
			break;
		if (used < 0 || (size_t)used > size - off || f.len > MAX ||
		    f.data < data + off || f.data + f.len > data + off + used)
			abort();
		if (!f.control)
			check_data_round_trip(&f);
		int rc = spdy_header_get(f.data, f.len, "port", out, sizeof(out));
		if (rc == 0 && strlen(out) >= sizeof(out))
			abort();
		off += (size_t)used;
	}
	return 0;
}
