#include "unit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static struct unit_test *head, **tail = &head;
static bool failed;
static const char *current;

void unit_register(struct unit_test *t)
{
	*tail = t;
	tail = &t->next;
}

void unit_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	failed = true;
	printf("FAIL %s: %s:%d: ", current, file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

bool unit_failed(void)
{
	return failed;
}

static bool wanted(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return true;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	int nfail = 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (struct unit_test *t = head; t; t = t->next) {
		if (!wanted(t->name, argc, argv))
			continue;
		current = t->name;
		failed = false;
		t->fn();
		if (failed)
			nfail++;
		else
			printf("PASS %s\n", t->name);
	}
	return nfail ? 1 : 0;
}

unsigned long long unit_rng = 88172645463325252ULL;

unsigned unit_rnd(unsigned n)
{
	unit_rng ^= unit_rng << 13;
	unit_rng ^= unit_rng >> 7;
	unit_rng ^= unit_rng << 17;
	return (unsigned)(unit_rng % n);
}
