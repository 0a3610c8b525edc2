/* The framing of pod streams: WebSocket (RFC 6455) and SPDY/3.1, with
 * the examples their specs give and the frames kubectl sends. */
#include "unit.h"
#include "api/spdy.h"
#include "api/ws.h"

#include <errno.h>
#include <zlib.h>

TEST(ws_accept_key_matches_rfc6455_example)
{
	char out[29];
	CHECK_INT(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
	CHECK_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	CHECK_INT(ws_accept_key("short", out), -EINVAL);
}

TEST(ws_parse_unmasks_and_waits_for_whole_frames)
{
	/* "Hello" masked with 37 fa 21 3d, RFC 6455 section 5.7 */
	unsigned char f[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
	struct ws_frame w;
	CHECK_INT(ws_parse(f, sizeof(f) - 1, 100, &w), 0);
	CHECK_INT(ws_parse(f, sizeof(f), 100, &w), (long)sizeof(f));
	CHECK(w.fin && w.opcode == WS_TEXT && w.len == 5 && memcmp(w.payload, "Hello", 5) == 0);
}

TEST(ws_parse_refuses_what_a_client_may_not_send)
{
	unsigned char unmasked[] = {0x82, 0x01, 0x00};
	unsigned char long_ping[] = {0x89, 0xfe, 0x00, 0x7e};
	unsigned char big[] = {0x82, 0xff, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	struct ws_frame w;
	CHECK_INT(ws_parse(unmasked, sizeof(unmasked), 100, &w), -EPROTO);
	CHECK_INT(ws_parse(long_ping, sizeof(long_ping), 100, &w), -EPROTO);
	CHECK_INT(ws_parse(big, sizeof(big), 1 << 20, &w), -EMSGSIZE);
}

TEST(ws_header_picks_the_shortest_length)
{
	unsigned char h[10];
	CHECK_INT((long)ws_header(h, WS_BINARY, 125), 2);
	CHECK_INT((long)ws_header(h, WS_BINARY, 126), 4);
	CHECK(h[1] == 126 && h[2] == 0 && h[3] == 126);
	CHECK_INT((long)ws_header(h, WS_BINARY, 70000), 10);
}

/* zlib checks a preset dictionary by its Adler-32 (the DICTID of every
 * header block kubectl sends, which port-forward inflates with it). */
TEST(spdy_dict_is_the_spec_dictionary)
{
	CHECK_INT((long)adler32(adler32(0, NULL, 0), spdy_dict(), SPDY_DICT_LEN), 0xe3c6a7c2L);
}

TEST(spdy_parse_reads_syn_stream_and_data)
{
	unsigned char syn[] = {0x80, 3, 0, 1, 1, 0, 0, 12, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 'z', 'z'};
	unsigned char data[] = {0, 0, 0, 5, 1, 0, 0, 2, 'h', 'i'};
	unsigned char v2[] = {0x80, 2, 0, 1, 0, 0, 0, 0};
	struct spdy_frame f;
	CHECK_INT(spdy_parse(syn, sizeof(syn), 100, &f), (long)sizeof(syn));
	CHECK(f.control && f.type == SPDY_SYN_STREAM && f.stream == 5 && f.flags == 1);
	CHECK(f.len == 2 && f.data == syn + 18);
	CHECK_INT(spdy_parse(data, sizeof(data), 100, &f), (long)sizeof(data));
	CHECK(!f.control && f.stream == 5 && f.len == 2 && (f.flags & SPDY_FLAG_FIN));
	CHECK_INT(spdy_parse(v2, sizeof(v2), 100, &f), -EPROTO);
}

TEST(spdy_header_get_finds_a_value)
{
	unsigned char b[] = {0, 0, 0, 2, 0, 0, 0, 4, 'p', 'o', 'r', 't', 0, 0, 0, 2, '8', '0',
			     0, 0, 0, 1, 'x', 0, 0, 0, 9, 'y'};
	char out[16];
	CHECK_INT(spdy_header_get(b, sizeof(b) - 1, "port", out, sizeof(out)), 0);
	CHECK_STR(out, "80");
	CHECK_INT(spdy_header_get(b, sizeof(b), "x", out, sizeof(out)), -EPROTO);
	CHECK_INT(spdy_header_get(b, 18, "streamtype", out, sizeof(out)), -EPROTO);
}
