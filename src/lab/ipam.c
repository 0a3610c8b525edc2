/* IPAM: a bitmap over a /16 (198.18.0.0/16 for pods, 198.19.0.0/16 for
 * Services). Allocation walks forward from the
 * last address handed out, so an address that was just released (and may
 * still sit in some peer's conntrack table or DNS cache) is the last to be
 * used again. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab/lab_internal.h"

#define POOL_SIZE 65536u

struct lab_ipam {
	uint32_t base;                  /* host order, a /16 */
	uint8_t used[POOL_SIZE / 8];
	uint32_t next;                  /* offset to try first */
	size_t n_used;
};

struct lab_ipam *ipam_new_range(uint32_t base)
{
	struct lab_ipam *ipam = calloc(1, sizeof(*ipam));

	if (ipam) {
		ipam->base = base & 0xffff0000u;
		ipam->next = 1;
	}
	return ipam;
}

struct lab_ipam *lab_ipam_new(void)
{
	return ipam_new_range(LAB_POD_BASE);
}

void lab_ipam_free(struct lab_ipam *ipam)
{
	free(ipam);
}

static bool bit_get(const struct lab_ipam *ipam, uint32_t off)
{
	return ipam->used[off / 8] & (1u << (off % 8));
}

static void bit_set(struct lab_ipam *ipam, uint32_t off, bool on)
{
	if (on)
		ipam->used[off / 8] |= (uint8_t)(1u << (off % 8));
	else
		ipam->used[off / 8] &= (uint8_t)~(1u << (off % 8));
}

/* The network and broadcast addresses of the /16 are never handed out. */
static bool usable(uint32_t off)
{
	return off != 0 && off != POOL_SIZE - 1;
}

static int parse_offset(const struct lab_ipam *ipam, const char *ip, uint32_t *off)
{
	struct in_addr a;
	uint32_t h;

	if (!ip || inet_pton(AF_INET, ip, &a) != 1)
		return -EINVAL;
	h = ntohl(a.s_addr);
	if ((h & 0xffff0000u) != ipam->base || !usable(h - ipam->base))
		return -EINVAL;
	*off = h - ipam->base;
	return 0;
}

int lab_ipam_reserve(struct lab_ipam *ipam, const char *ip)
{
	uint32_t off;
	int rc = parse_offset(ipam, ip, &off);

	if (rc < 0)
		return rc;
	if (bit_get(ipam, off))
		return -EEXIST;
	bit_set(ipam, off, true);
	ipam->n_used++;
	return 0;
}

int lab_ipam_alloc(struct lab_ipam *ipam, char *buf, size_t len)
{
	for (uint32_t i = 0; i < POOL_SIZE; i++) {
		uint32_t off = (ipam->next + i) % POOL_SIZE;
		struct in_addr a;

		if (!usable(off) || bit_get(ipam, off))
			continue;
		a.s_addr = htonl(ipam->base + off);
		if (!inet_ntop(AF_INET, &a, buf, (socklen_t)len))
			return -ENOSPC;
		bit_set(ipam, off, true);
		ipam->n_used++;
		ipam->next = (off + 1) % POOL_SIZE;
		return 0;
	}
	return -ENOSPC;
}

int lab_ipam_release(struct lab_ipam *ipam, const char *ip)
{
	uint32_t off;
	int rc = parse_offset(ipam, ip, &off);

	if (rc < 0)
		return rc;
	if (!bit_get(ipam, off))
		return -ENOENT;
	bit_set(ipam, off, false);
	ipam->n_used--;
	return 0;
}

size_t lab_ipam_in_use(const struct lab_ipam *ipam)
{
	return ipam->n_used;
}
