/* spdy.c: SPDY/3.1 framing (spdy.h). */
#include "spdy.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* What a control frame's payload must hold before its header block or
 * body: its stream id (and more) where it names a stream. */
static size_t spdy_min_len(int type)
{
	switch (type) {
	case SPDY_SYN_STREAM: return 10;
	case SPDY_SYN_REPLY: case SPDY_HEADERS: case SPDY_PING: return 4;
	case SPDY_RST_STREAM: case SPDY_GOAWAY: case SPDY_WINDOW_UPDATE: return 8;
	default: return 0;
	}
}

/* Where the body starts: after the stream id (and more) where the frame
 * names a stream; PING and GOAWAY keep theirs in the body. */
static size_t spdy_skip(int type)
{
	return type == SPDY_PING || type == SPDY_GOAWAY ? 0 : spdy_min_len(type) == 10 ? 10
	       : spdy_min_len(type) ? 4 : 0;
}

long spdy_parse(const unsigned char *buf, size_t len, size_t max, struct spdy_frame *f)
{
	if (len < 8)
		return 0;
	size_t n = (size_t)buf[5] << 16 | (size_t)buf[6] << 8 | buf[7];
	bool ctl = buf[0] & 0x80;
	if (ctl && (be32(buf) >> 16 & 0x7fff) != 3)
		return -EPROTO;
	if (n > max)
		return -EMSGSIZE;
	if (len < 8 + n)
		return 0;
	*f = (struct spdy_frame){.control = ctl, .flags = buf[4], .data = buf + 8, .len = n};
	if (!ctl) {
		f->stream = be32(buf) & 0x7fffffff;
		return (long)(8 + n);
	}
	f->type = buf[2] << 8 | buf[3];
	if (n < spdy_min_len(f->type))
		return -EPROTO;
	if (spdy_skip(f->type))
		f->stream = be32(buf + 8) & 0x7fffffff;
	f->data += spdy_skip(f->type);
	f->len -= spdy_skip(f->type);
	return (long)(8 + n);
}

void spdy_header(unsigned char h[8], bool ctl, uint32_t stream_or_type, int flags, size_t len)
{
	if (ctl) {
		h[0] = 0x80;
		h[1] = 3;
		h[2] = (unsigned char)(stream_or_type >> 8);
		h[3] = (unsigned char)stream_or_type;
	} else {
		h[0] = (unsigned char)(stream_or_type >> 24 & 0x7f);
		h[1] = (unsigned char)(stream_or_type >> 16);
		h[2] = (unsigned char)(stream_or_type >> 8);
		h[3] = (unsigned char)stream_or_type;
	}
	h[4] = (unsigned char)flags;
	h[5] = (unsigned char)(len >> 16);
	h[6] = (unsigned char)(len >> 8);
	h[7] = (unsigned char)len;
}

/* The dictionary is the spec's list of header names and values, each
 * with a 4-byte big-endian length, then a run of common text. */
static const char *const dict_words[] = {
	"options", "head", "post", "put", "delete", "trace", "accept", "accept-charset",
	"accept-encoding", "accept-language", "accept-ranges", "age", "allow",
	"authorization", "cache-control", "connection", "content-base", "content-encoding",
	"content-language", "content-length", "content-location", "content-md5",
	"content-range", "content-type", "date", "etag", "expect", "expires", "from", "host",
	"if-match", "if-modified-since", "if-none-match", "if-range", "if-unmodified-since",
	"last-modified", "location", "max-forwards", "pragma", "proxy-authenticate",
	"proxy-authorization", "range", "referer", "retry-after", "server", "te", "trailer",
	"transfer-encoding", "upgrade", "user-agent", "vary", "via", "warning",
	"www-authenticate", "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url",
	"public", "set-cookie", "keep-alive", "origin"};
static const char dict_tail[] =
	"100101201202205206300302303304305306307402405406407408409410411412413414415416417"
	"502504505203 Non-Authoritative Information204 No Content301 Moved Permanently"
	"400 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error"
	"501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct "
	"Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,"
	"image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
	"text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8"
	"charset=iso-8859-1,utf-,*,enq=0.";
static unsigned char dict[SPDY_DICT_LEN];
static pthread_once_t dict_once = PTHREAD_ONCE_INIT;

static void dict_build(void)
{
	size_t off = 0;
	for (size_t i = 0; i < sizeof(dict_words) / sizeof(dict_words[0]); i++) {
		size_t n = strlen(dict_words[i]);
		dict[off] = dict[off + 1] = dict[off + 2] = 0;
		dict[off + 3] = (unsigned char)n;
		memcpy(dict + off + 4, dict_words[i], n);
		off += 4 + n;
	}
	memcpy(dict + off, dict_tail, sizeof(dict_tail) - 1);
}

const unsigned char *spdy_dict(void)
{
	pthread_once(&dict_once, dict_build);
	return dict;
}

int spdy_header_get(const unsigned char *block, size_t len, const char *name, char *out,
		    size_t cap)
{
	if (len < 4)
		return -EPROTO;
	uint32_t pairs = be32(block);
	size_t off = 4, want = strlen(name);
	for (uint32_t i = 0; i < pairs; i++) {
		if (len - off < 4 || len - off - 4 < be32(block + off))
			return -EPROTO;
		size_t kl = be32(block + off);
		const unsigned char *k = block + off + 4;
		off += 4 + kl;
		if (len - off < 4 || len - off - 4 < be32(block + off))
			return -EPROTO;
		size_t vl = be32(block + off);
		const unsigned char *v = block + off + 4;
		off += 4 + vl;
		if (kl == want && memcmp(k, name, kl) == 0 && cap > 0) {
			size_t m = vl < cap - 1 ? vl : cap - 1;
			memcpy(out, v, m);
			out[m] = 0;
			return 0;
		}
	}
	return -ENOENT;
}
