#include "unit.h"
#include "util/diag.h"

#include <stdlib.h>

TEST(diag_formats_location_level_and_code)
{
	struct diag_list l = {0};
	CHECK_INT(diag_add(&l, DIAG_ERROR, "a.yaml", 3, 7, NULL, "bad %s", "thing"), 0);
	CHECK_INT(diag_add(&l, DIAG_WARNING, "a.yaml", 1, 2, "NP001", "unused"), 0);
	CHECK_INT(diag_add(&l, DIAG_ERROR, NULL, 0, 0, NULL, "no place"), 0);
	char *s = diag_format(&l.items[0]);
	CHECK_STR(s, "a.yaml:3:7: error: bad thing");
	free(s);
	s = diag_format(&l.items[1]);
	CHECK_STR(s, "a.yaml:1:2: warning: [NP001] unused");
	free(s);
	s = diag_format(&l.items[2]);
	CHECK_STR(s, "error: no place");
	free(s);
	CHECK_INT(diag_count(&l, DIAG_ERROR), 2);
	diag_list_clear(&l);
}

TEST(diag_sort_orders_by_file_line_col_stably)
{
	struct diag_list l = {0};
	diag_add(&l, DIAG_ERROR, "b", 1, 1, NULL, "b1");
	diag_add(&l, DIAG_ERROR, "a", 5, 2, NULL, "a5-2");
	diag_add(&l, DIAG_ERROR, "a", 5, 1, NULL, "a5-1");
	diag_add(&l, DIAG_ERROR, "a", 5, 1, NULL, "a5-1-second");
	diag_sort(&l);
	CHECK_STR(l.items[0].msg, "a5-1");
	CHECK_STR(l.items[1].msg, "a5-1-second");
	CHECK_STR(l.items[2].msg, "a5-2");
	CHECK_STR(l.items[3].msg, "b1");
	diag_list_clear(&l);
}
