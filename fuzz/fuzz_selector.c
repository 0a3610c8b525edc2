/* Fuzzes selector_parse. Any accepted text must print a canonical form that
 * parses back to the same canonical form: the policy engine keys its shared
 * peer sets by that text, so it must be a fixed point. */
#include "model/model.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const struct np_selector *s)
{
	struct np_selector again = {0};
	char *text = selector_to_string(s);
	if (!text)
		return;
	char *err = NULL;
	if (selector_parse(text, &again, &err) != 0)
		abort(); /* canonical text must parse */
	char *text2 = selector_to_string(&again);
	if (!text2 || strcmp(text, text2) != 0 || again.n != s->n)
		abort();
	/* Equal selectors agree on the labels they were built from. */
	struct np_labels l = {0};
	for (size_t i = 0; i < s->n; i++) {
		const struct np_requirement *r = &s->reqs[i];
		labels_set(&l, r->key, r->nvalues ? r->values[0] : "");
	}
	if (selector_matches(s, &l) != selector_matches(&again, &l))
		abort();
	labels_clear(&l);
	free(text);
	free(text2);
	free(err);
	selector_clear(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct np_selector s = {0};
	char *err = NULL;
	int r = selector_parse(text, &s, &err);
	if (r == 0)
		check_round_trip(&s);
	else if (r == -EINVAL && !err)
		abort(); /* a syntax error always says why */
	free(err);
	selector_clear(&s);
	free(text);
	return 0;
}
