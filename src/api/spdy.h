/* spdy: the server side of SPDY/3.1 framing, as kubectl port-forward
 * speaks it (directly after an HTTP upgrade, or tunnelled in WebSocket
 * binary messages). Pure functions over buffers; header blocks are
 * compressed by the caller with zlib and spdy_dict. */
#ifndef NETPOL_API_SPDY_H
#define NETPOL_API_SPDY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { SPDY_SYN_STREAM = 1, SPDY_SYN_REPLY = 2, SPDY_RST_STREAM = 3, SPDY_SETTINGS = 4,
       SPDY_PING = 6, SPDY_GOAWAY = 7, SPDY_HEADERS = 8, SPDY_WINDOW_UPDATE = 9 };
enum { SPDY_FLAG_FIN = 1 };
#define SPDY_DICT_LEN 1423

struct spdy_frame {
	bool control;
	int type;                    /* control frames */
	int flags;
	uint32_t stream;             /* data frames, and control frames that name one */
	const unsigned char *data;   /* the payload (control: after the stream id) */
	size_t len;
};

/* Parses one frame at the start of buf. Returns the bytes it spans, 0
 * when more are needed, -EPROTO for a malformed frame (a version other
 * than 3, a control frame too short for its type) or -EMSGSIZE for a
 * payload longer than max. */
long spdy_parse(const unsigned char *buf, size_t len, size_t max, struct spdy_frame *f);

/* The 8-byte header of a data frame (ctl false) or control frame. */
void spdy_header(unsigned char h[8], bool ctl, uint32_t stream_or_type, int flags, size_t len);

/* SPDY/3's zlib dictionary for header blocks (the spec's section 2.6.10.1). */
const unsigned char *spdy_dict(void);

/* Looks name up in an uncompressed header block: 0 and the value (NUL
 * terminated, truncated to cap) in out, -ENOENT, or -EPROTO when the
 * block is malformed. */
int spdy_header_get(const unsigned char *block, size_t len, const char *name, char *out,
		    size_t cap);

#endif
