/* addr: IP addresses and CIDR blocks, parsed as strictly as current
 * Kubernetes (Go >= 1.17) does: no leading zeros in IPv4 octets, no zones,
 * no leading zeros in the prefix length. */
#include "model.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* inet_pton already rejects most junk; leading zeros ("010.1.1.1") are
 * rejected here explicitly because some libcs read them as octal and Go
 * stopped accepting them for exactly that ambiguity. */
static bool ipv4_has_leading_zero(const char *text)
{
	for (const char *p = text; *p; p++) {
		bool starts_octet = p == text || p[-1] == '.';
		if (starts_octet && p[0] == '0' && p[1] >= '0' && p[1] <= '9')
			return true;
	}
	return false;
}

int ip_parse(const char *text, struct np_ip *out)
{
	struct np_ip ip;
	memset(&ip, 0, sizeof(ip));
	ip.family = strchr(text, ':') ? AF_INET6 : AF_INET;
	if (ip.family == AF_INET && ipv4_has_leading_zero(text))
		return -EINVAL;
	/* An IPv6 address may end in dotted quad ("::ffff:1.2.3.4"): apply the
	 * same rule to that part. */
	if (ip.family == AF_INET6 && strchr(text, '.') &&
	    ipv4_has_leading_zero(strrchr(text, ':') + 1))
		return -EINVAL;
	if (inet_pton(ip.family, text, ip.addr) != 1)
		return -EINVAL;
	*out = ip;
	return 0;
}

static unsigned ip_bits(const struct np_ip *ip)
{
	return ip->family == AF_INET ? 32 : 128;
}

/* Decimal prefix length without sign, spaces or leading zeros. */
static int parse_prefix(const char *s, unsigned max, unsigned *out)
{
	size_t n = strlen(s);
	if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
		return -EINVAL;
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Clears the bits after prefix; returns true when any was set. */
static bool ip_mask(struct np_ip *ip, unsigned prefix)
{
	bool had = false;
	unsigned nbytes = ip_bits(ip) / 8;
	for (unsigned i = 0; i < nbytes; i++) {
		unsigned keep = prefix >= 8 * (i + 1) ? 8 : prefix > 8 * i ? prefix - 8 * i : 0;
		uint8_t mask = keep ? (uint8_t)(0xff << (8 - keep)) : 0;
		had |= (ip->addr[i] & ~mask) != 0;
		ip->addr[i] &= mask;
	}
	return had;
}

int cidr_parse(const char *text, struct np_cidr *out, bool *had_host_bits)
{
	const char *slash = strrchr(text, '/');
	char addr[INET6_ADDRSTRLEN + 1];
	if (!slash || (size_t)(slash - text) >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, text, (size_t)(slash - text));
	addr[slash - text] = '\0';
	struct np_cidr c;
	memset(&c, 0, sizeof(c));
	unsigned prefix;
	if (ip_parse(addr, &c.ip) || parse_prefix(slash + 1, ip_bits(&c.ip), &prefix))
		return -EINVAL;
	c.prefix = (uint8_t)prefix;
	bool had = ip_mask(&c.ip, prefix);
	if (had_host_bits)
		*had_host_bits = had;
	*out = c;
	return 0;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;
	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

bool cidr_contains_ip(const struct np_cidr *c, const struct np_ip *ip)
{
	return c->ip.family == ip->family && prefix_equal(c->ip.addr, ip->addr, c->prefix);
}

bool cidr_contains_cidr(const struct np_cidr *outer, const struct np_cidr *inner)
{
	return inner->prefix >= outer->prefix && cidr_contains_ip(outer, &inner->ip);
}

bool ip_equal(const struct np_ip *a, const struct np_ip *b)
{
	return a->family == b->family && memcmp(a->addr, b->addr, ip_bits(a) / 8) == 0;
}

char *ip_to_string(const struct np_ip *ip, char *buf, size_t len)
{
	if (len == 0)
		return buf;
	if (!inet_ntop(ip->family, ip->addr, buf, (socklen_t)len))
		buf[0] = '\0';
	return buf;
}

char *cidr_to_string(const struct np_cidr *c, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	ip_to_string(&c->ip, addr, sizeof(addr));
	if (len)
		snprintf(buf, len, "%s/%u", addr, c->prefix);
	return buf;
}
