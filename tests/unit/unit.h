/* A very small unit-test harness. Each TEST registers itself; the test
 * program runs them all (or those named on the command line) and prints
 * one line per test: "PASS name" or "FAIL name: file:line: what". */
#ifndef NETPOL_UNIT_H
#define NETPOL_UNIT_H

#include <stdbool.h>
#include <string.h>

struct unit_test {
	const char *name;
	void (*fn)(void);
	struct unit_test *next;
};

void unit_register(struct unit_test *t);

/* A seeded pseudo-random generator (xorshift64) for generated inputs: a
 * seed gives the same sequence on every machine. Seed by setting unit_rng
 * (not 0); unit_rnd(n) is in [0, n). */
extern unsigned long long unit_rng;
unsigned unit_rnd(unsigned n);
void unit_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool unit_failed(void);

#define TEST(name)                                                            \
	static void test_##name(void);                                        \
	static struct unit_test unit_##name = {#name, test_##name, 0};         \
	__attribute__((constructor)) static void unit_reg_##name(void)         \
	{                                                                     \
		unit_register(&unit_##name);                                  \
	}                                                                     \
	static void test_##name(void)

/* Each CHECK records a failure and returns from the test. */
#define CHECK(cond)                                                           \
	do {                                                                  \
		if (!(cond)) {                                                \
			unit_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);     \
			return;                                               \
		}                                                             \
	} while (0)

#define CHECK_INT(a, b)                                                       \
	do {                                                                  \
		long long va_ = (long long)(a), vb_ = (long long)(b);         \
		if (va_ != vb_) {                                             \
			unit_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", \
				  #a, va_, #b, vb_);                          \
			return;                                               \
		}                                                             \
	} while (0)

#define CHECK_STR(a, b)                                                       \
	do {                                                                  \
		const char *sa_ = (a), *sb_ = (b);                            \
		if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                  \
			unit_fail(__FILE__, __LINE__, "%s is \"%s\", expected \"%s\"", \
				  #a, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)"); \
			return;                                               \
		}                                                             \
	} while (0)

#endif
