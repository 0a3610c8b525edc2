/* SCTP packets for the probe: just enough of RFC 9260 to open the first
 * half of a handshake and to read its answer. */
#include <arpa/inet.h>
#include <string.h>

#include "sctp.h"

static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t sctp_crc32c(const uint8_t *buf, size_t len)
{
	uint32_t crc = 0xffffffffu;

	if (!crc_table[1])
		crc_init();
	for (size_t i = 0; i < len; i++)
		crc = crc_table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* The CRC goes on the wire least significant byte first (RFC 9260,
 * appendix A), unlike every other field. */
void sctp_set_checksum(uint8_t *pkt, size_t len)
{
	uint32_t crc;

	memset(pkt + 8, 0, 4);
	crc = sctp_crc32c(pkt, len);
	for (int i = 0; i < 4; i++)
		pkt[8 + i] = (uint8_t)(crc >> (8 * i));
}

int sctp_checksum_ok(const uint8_t *pkt, size_t len)
{
	uint8_t copy[2048];
	uint32_t want = 0, got;

	if (len < SCTP_HDR_LEN || len > sizeof(copy))
		return 0;
	memcpy(copy, pkt, len);
	for (int i = 0; i < 4; i++)
		want |= (uint32_t)pkt[8 + i] << (8 * i);
	memset(copy + 8, 0, 4);
	got = sctp_crc32c(copy, len);
	return got == want;
}

static void put16(uint8_t *p, uint16_t v)
{
	v = htons(v);
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return ntohs(v);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

static void put_header(uint8_t *buf, uint16_t sport, uint16_t dport, uint32_t vtag)
{
	put16(buf, sport);
	put16(buf + 2, dport);
	put32(buf + 4, vtag);
	put32(buf + 8, 0);
}

/* The body INIT and INIT-ACK share: tag, window, streams, TSN. */
static void put_init_body(uint8_t *p, uint32_t tag, uint32_t tsn)
{
	put32(p, tag);
	put32(p + 4, 65536);    /* a_rwnd */
	put16(p + 8, 1);        /* outbound streams */
	put16(p + 10, 1);       /* inbound streams */
	put32(p + 12, tsn);
}

size_t sctp_build_init(uint8_t *buf, uint16_t sport, uint16_t dport,
		       uint32_t init_tag, uint32_t tsn)
{
	size_t len = SCTP_HDR_LEN + 20;

	put_header(buf, sport, dport, 0);
	buf[12] = SCTP_INIT;
	buf[13] = 0;
	put16(buf + 14, 20);
	put_init_body(buf + 16, init_tag, tsn);
	sctp_set_checksum(buf, len);
	return len;
}

size_t sctp_build_init_ack(uint8_t *buf, uint16_t sport, uint16_t dport,
			   uint32_t peer_tag, uint32_t my_tag, uint32_t tsn,
			   const char *cookie, size_t cookie_len)
{
	size_t param_len = 4 + cookie_len;
	size_t padded = (param_len + 3) & ~(size_t)3;
	size_t chunk_len = 20 + param_len;
	size_t len = SCTP_HDR_LEN + 20 + padded;

	put_header(buf, sport, dport, peer_tag);
	buf[12] = SCTP_INIT_ACK;
	buf[13] = 0;
	put16(buf + 14, (uint16_t)chunk_len);
	put_init_body(buf + 16, my_tag, tsn);
	put16(buf + 32, SCTP_PARAM_COOKIE);
	put16(buf + 34, (uint16_t)param_len);
	memcpy(buf + 36, cookie, cookie_len);
	memset(buf + 36 + cookie_len, 0, padded - param_len);
	sctp_set_checksum(buf, len);
	return len;
}

size_t sctp_build_abort(uint8_t *buf, uint16_t sport, uint16_t dport,
			uint32_t peer_tag)
{
	size_t len = SCTP_HDR_LEN + 4;

	put_header(buf, sport, dport, peer_tag);
	buf[12] = SCTP_ABORT;
	buf[13] = 0;
	put16(buf + 14, 4);
	sctp_set_checksum(buf, len);
	return len;
}

static void parse_cookie(const uint8_t *p, size_t len, struct sctp_view *v)
{
	while (len >= 4) {
		uint16_t type = get16(p), plen = get16(p + 2);
		size_t step = ((size_t)plen + 3) & ~(size_t)3;

		if (plen < 4 || plen > len)
			return;
		if (type == SCTP_PARAM_COOKIE) {
			v->cookie = p + 4;
			v->cookie_len = plen - 4u;
			return;
		}
		if (step >= len)
			return;
		p += step;
		len -= step;
	}
}

int sctp_parse(const uint8_t *pkt, size_t len, struct sctp_view *v)
{
	uint16_t clen;

	memset(v, 0, sizeof(*v));
	if (len < SCTP_HDR_LEN + 4 || !sctp_checksum_ok(pkt, len))
		return -1;
	v->sport = get16(pkt);
	v->dport = get16(pkt + 2);
	v->vtag = get32(pkt + 4);
	v->chunk = pkt[12];
	clen = get16(pkt + 14);
	if (clen < 4 || clen > len - SCTP_HDR_LEN)
		return -1;
	if (v->chunk == SCTP_INIT || v->chunk == SCTP_INIT_ACK) {
		if (clen < 20)
			return -1;
		v->init_tag = get32(pkt + 16);
		if (v->chunk == SCTP_INIT_ACK)
			parse_cookie(pkt + 32, clen - 20u, v);
	}
	return 0;
}
