/* stats: timing helpers shared by the benchmark programs. */
#ifndef NETPOL_BENCH_STATS_H
#define NETPOL_BENCH_STATS_H

#include <stdlib.h>
#include <time.h>

static inline double stats_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline int stats_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The q-quantile (nearest rank) of v[0..n); sorts v. */
static inline double stats_quantile(double *v, size_t n, double q)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), stats_cmp);
	size_t k = (size_t)(q * (double)n + 0.999999);
	return v[k ? k - 1 : 0];
}

#endif
