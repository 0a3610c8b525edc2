/* Fuzzes ws_parse, the WebSocket frame parser of exec/attach streams, as
 * the session reads: frames one after another from one buffer. Whatever
 * is accepted must lie inside the buffer, within the bound, and a frame
 * rebuilt from it (ws_header, zero mask) must parse back the same. */
#include "api/ws.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX 4096

static void check_round_trip(const struct ws_frame *f)
{
	unsigned char *b = malloc(14 + f->len);
	struct ws_frame g;
	if (!b)
		return;
	size_t hl = ws_header(b, f->opcode, f->len);
	b[1] |= 0x80;  /* masked, with a zero mask, as a client sends */
	memset(b + hl, 0, 4);
	memcpy(b + hl + 4, f->payload, f->len);
	long used = ws_parse(b, hl + 4 + f->len, MAX, &g);
	if (used != (long)(hl + 4 + f->len) || g.opcode != f->opcode || !g.fin ||
	    g.len != f->len || memcmp(g.payload, f->payload, f->len) != 0)
		abort();
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *buf = malloc(size ? size : 1);
	size_t off = 0;
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	for (;;) {
		struct ws_frame f;
		long used = ws_parse(buf + off, size - off, MAX, &f);
		if (used == 0 || used == -EPROTO || used == -EMSGSIZE)
			break;
		if (used < 0 || (size_t)used > size - off || f.len > MAX ||
		    f.payload < buf + off || f.payload + f.len > buf + off + used)
			abort();
		if (f.fin)
			check_round_trip(&f);
		off += (size_t)used;
	}
	free(buf);
	return 0;
}
