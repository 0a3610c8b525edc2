/* hash: FNV-1a, 64-bit. Stable across runs, builds and versions, which the
 * names derived from it need: kernel set and interface names that a
 * restarted agent or daemon must recognise, and Deployment pod names. */
#ifndef NETPOL_HASH_H
#define NETPOL_HASH_H

#include <stdint.h>

#define FNV1A64_OFFSET 14695981039346656037ULL
#define FNV1A64_PRIME 1099511628211ULL

static inline uint64_t fnv1a64_update(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * FNV1A64_PRIME;
	return h;
}

static inline uint64_t fnv1a64(const char *s)
{
	return fnv1a64_update(FNV1A64_OFFSET, s);
}

#endif
