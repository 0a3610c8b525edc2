/* The little SCTP the probe speaks over raw sockets (these kernels have no
 * SCTP sockets): an INIT, and the INIT-ACK or ABORT that answers it. */
#ifndef NETPOL_PROBE_SCTP_H
#define NETPOL_PROBE_SCTP_H

#include <stddef.h>
#include <stdint.h>

#define SCTP_INIT 1
#define SCTP_INIT_ACK 2
#define SCTP_ABORT 6
#define SCTP_PARAM_COOKIE 7
#define SCTP_HDR_LEN 12

/* CRC32c (Castagnoli), as SCTP's checksum uses it. */
uint32_t sctp_crc32c(const uint8_t *buf, size_t len);

/* Fills the checksum of a complete packet in place. */
void sctp_set_checksum(uint8_t *pkt, size_t len);

/* True when the packet's checksum is right. */
int sctp_checksum_ok(const uint8_t *pkt, size_t len);

/* Writes an INIT from sport to dport with our initiate tag into buf (at least
 * 32 bytes); returns its length. */
size_t sctp_build_init(uint8_t *buf, uint16_t sport, uint16_t dport,
		       uint32_t init_tag, uint32_t tsn);

/* Writes the INIT-ACK answering an INIT (peer_tag: the INIT's initiate tag)
 * with cookie as the State Cookie; returns its length (buf >= 48 + cookie). */
size_t sctp_build_init_ack(uint8_t *buf, uint16_t sport, uint16_t dport,
			   uint32_t peer_tag, uint32_t my_tag, uint32_t tsn,
			   const char *cookie, size_t cookie_len);

/* Writes the ABORT answering an INIT to a port nobody serves (RFC 9260
 * 8.4: vtag is the INIT's initiate tag, T bit clear); returns its length. */
size_t sctp_build_abort(uint8_t *buf, uint16_t sport, uint16_t dport,
			uint32_t peer_tag);

struct sctp_view {
	uint16_t sport, dport;
	uint32_t vtag;
	uint8_t chunk;          /* type of the first chunk */
	uint32_t init_tag;      /* INIT / INIT-ACK: initiate tag */
	const uint8_t *cookie;  /* INIT-ACK: the State Cookie, if any */
	size_t cookie_len;
};

/* Parses an SCTP packet (no IP header); 0, or -1 when malformed or the
 * checksum is wrong. */
int sctp_parse(const uint8_t *pkt, size_t len, struct sctp_view *v);

#endif
