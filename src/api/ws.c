/* ws.c: RFC 6455 framing, server side (ws.h). Strict: what a client may
 * not send is an error, so the session closes with a status instead of
 * guessing. */
#include "ws.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

static bool ws_control(int op)
{
	return op >= 8;
}

static bool ws_known(int op)
{
	return op <= WS_BINARY || (op >= WS_CLOSE && op <= WS_PONG);
}

long ws_parse(unsigned char *buf, size_t len, size_t max, struct ws_frame *f)
{
	if (len < 2)
		return 0;
	int op = buf[0] & 0x0f;
	uint64_t n = buf[1] & 0x7f;
	size_t hl = 2;
	if ((buf[0] & 0x70) || !(buf[1] & 0x80) || !ws_known(op))
		return -EPROTO;
	if (ws_control(op) && (!(buf[0] & 0x80) || n > 125))
		return -EPROTO;
	if (n == 126 || n == 127) {
		size_t k = n == 126 ? 2 : 8;
		if (len < 2 + k)
			return 0;
		n = 0;
		for (size_t i = 0; i < k; i++)
			n = n << 8 | buf[2 + i];
		hl += k;
	}
	if (n > max)
		return -EMSGSIZE;
	if (len < hl + 4 + n)
		return 0;
	unsigned char *mask = buf + hl, *p = buf + hl + 4;
	for (size_t i = 0; i < n; i++)
		p[i] ^= mask[i & 3];
	*f = (struct ws_frame){(buf[0] & 0x80) != 0, op, p, (size_t)n};
	return (long)(hl + 4 + n);
}

size_t ws_header(unsigned char hdr[10], int opcode, uint64_t len)
{
	hdr[0] = (unsigned char)(0x80 | opcode);
	if (len < 126) {
		hdr[1] = (unsigned char)len;
		return 2;
	}
	if (len <= 0xffff) {
		hdr[1] = 126;
		hdr[2] = (unsigned char)(len >> 8);
		hdr[3] = (unsigned char)len;
		return 4;
	}
	hdr[1] = 127;
	for (int i = 0; i < 8; i++)
		hdr[2 + i] = (unsigned char)(len >> (56 - 8 * i));
	return 10;
}

int ws_accept_key(const char *key, char out[29])
{
	char buf[64 + sizeof(WS_GUID)];
	unsigned char sha[20];
	size_t kl = strlen(key);
	/* 16 random bytes in base64 are 24 characters */
	if (kl != 24)
		return -EINVAL;
	memcpy(buf, key, kl);
	memcpy(buf + kl, WS_GUID, sizeof(WS_GUID));
	if (gnutls_hash_fast(GNUTLS_DIG_SHA1, buf, kl + sizeof(WS_GUID) - 1, sha) < 0)
		return -EINVAL;
	gnutls_datum_t in = {sha, 20}, b64 = {0};
	if (gnutls_base64_encode2(&in, &b64) < 0 || b64.size != 28) {
		gnutls_free(b64.data);
		return -EINVAL;
	}
	memcpy(out, b64.data, 28);
	out[28] = 0;
	gnutls_free(b64.data);
	return 0;
}
