/* Fuzzes ip_parse and cidr_parse. Whatever is accepted must print a text
 * that parses back to the same value, without host bits. */
#include "model/model.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_ip(const char *text)
{
	struct np_ip ip, again;
	char buf[INET6_ADDRSTRLEN + 4];
	if (ip_parse(text, &ip) != 0)
		return;
	if (ip_parse(ip_to_string(&ip, buf, sizeof(buf)), &again) != 0 || !ip_equal(&ip, &again))
		abort();
}

static void check_cidr(const char *text)
{
	struct np_cidr c, again;
	bool host = true;
	char buf[INET6_ADDRSTRLEN + 4];
	if (cidr_parse(text, &c, NULL) != 0)
		return;
	if (cidr_parse(cidr_to_string(&c, buf, sizeof(buf)), &again, &host) != 0 || host ||
	    !ip_equal(&c.ip, &again.ip) || c.prefix != again.prefix)
		abort();
	/* A block holds its own network address and itself. */
	if (!cidr_contains_ip(&c, &c.ip) || !cidr_contains_cidr(&c, &c))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	check_ip(text);
	check_cidr(text);
	free(text);
	return 0;
}
