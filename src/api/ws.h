/* ws: the server side of RFC 6455 WebSocket framing, as kubectl's
 * channel protocols (v4/v5.channel.k8s.io) use it for exec and attach.
 * Pure functions over buffers: no I/O, no allocation. */
#ifndef NETPOL_API_WS_H
#define NETPOL_API_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { WS_CONT = 0, WS_TEXT = 1, WS_BINARY = 2, WS_CLOSE = 8, WS_PING = 9, WS_PONG = 10 };

/* Close status codes sent back on a bad frame. */
enum { WS_CLOSE_NORMAL = 1000, WS_CLOSE_PROTOCOL = 1002, WS_CLOSE_TOO_BIG = 1009 };

struct ws_frame {
	bool fin;
	int opcode;
	unsigned char *payload;      /* inside the parsed buffer, unmasked */
	size_t len;
};

/* Parses one client frame at the start of buf (len bytes), unmasking its
 * payload in place. Returns the bytes it spans, 0 when more bytes are
 * needed, -EPROTO for a frame a client may not send (unmasked, reserved
 * bits or opcodes, a fragmented or long control frame) or -EMSGSIZE for
 * a payload longer than max. */
long ws_parse(unsigned char *buf, size_t len, size_t max, struct ws_frame *f);

/* Writes the header of an unmasked server frame with FIN set into hdr
 * (room for 10 bytes); returns its length. */
size_t ws_header(unsigned char hdr[10], int opcode, uint64_t len);

/* Sec-WebSocket-Accept for key (28 characters and a NUL into out); 0 or
 * -EINVAL for a key that is not 16 bytes in base64. */
int ws_accept_key(const char *key, char out[29]);

#endif
