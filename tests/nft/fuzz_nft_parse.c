/* Fuzzes nft_prog_parse, the reader of `nft list table` output that a
 * restarted agent trusts. Whatever it accepts must print (nft_prog_text)
 * to text that parses back to an equal program, and diff against itself
 * to an empty delta. (To be wired into fuzz/meson.build as fuzz_nft_parse,
 * with np_nft_dep.) */
#include "dataplane/nft/nft.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct diag_list d = {0};
	struct nft_prog *p = NULL, *again = NULL;
	struct nft_delta *delta = NULL;
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (nft_prog_parse(text, &p, &d) == 0) {
		char *printed = nft_prog_text(p);
		if (!printed || nft_prog_parse(printed, &again, NULL) != 0 ||
		    !nft_prog_equal(p, again))
			abort();
		if (nft_delta_compute(p, again, &delta) != 0 || !nft_delta_empty(delta))
			abort();
		free(printed);
	}
	nft_delta_free(delta);
	nft_prog_free(again);
	nft_prog_free(p);
	diag_list_clear(&d);
	free(text);
	return 0;
}
