/*-------------------------------------------------------------------------
 *
 * const_eq_bench.c
 *	  Measures whether shim_const_eq, the API key comparison, takes longer
 *	  the more of a guess is right.  For keys of 32 and 4096 bytes it times
 *	  wrong keys that differ at the first byte and at the last byte, and
 *	  keys one byte short and one byte long, and reports the ratio of each
 *	  to the first-byte case.  strcmp, which stops at the first difference,
 *	  is timed the same way as a control: its ratio shows that the method
 *	  can see a position-dependent comparison at all.
 *
 *	  Timings on a shared machine are noisy, so the cases are run in
 *	  alternating rounds and the median round counts.  It prints a report
 *	  and asserts nothing about time: make shim-const-eq-bench, or the
 *	  hardening suite, runs it.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define ROUNDS		31
#define NCASES		4

typedef bool (*CompareFn) (const char *given, const char *secret);

static bool
StrcmpEq(const char *given, const char *secret)
{
	return strcmp(given, secret) == 0;
}

static int
CompareDoubles(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/*
 * TimeCalls times n calls of fn(given, secret) and returns nanoseconds per
 * call.  The results are summed into a volatile so that the calls cannot
 * be dropped or hoisted out of the loop.
 */
static double
TimeCalls(CompareFn fn, const char *given, const char *secret, long n)
{
	static volatile long sink;
	double		start = shim_now();
	long		i;
	long		hits = 0;

	for (i = 0; i < n; i++)
	{
		/* the barrier keeps the compiler from reusing one result */
		__asm__ __volatile__("" : : "r"(given), "r"(secret) : "memory");
		hits += fn(given, secret);
	}
	sink += hits;
	return (shim_now() - start) * 1e9 / n;
}

static void
Bench(const char *name, CompareFn fn, size_t keylen, long calls)
{
	static const char *labels[NCASES] = {
		"first byte wrong", "last byte wrong", "one byte short",
		"one byte long"
	};
	char	   *secret = malloc(keylen + 1);
	char	   *given[NCASES];
	double		t[NCASES][ROUNDS];
	double		median[NCASES];
	int			c,
				r;

	memset(secret, 'k', keylen);
	secret[keylen] = '\0';
	for (c = 0; c < NCASES; c++)
	{
		given[c] = malloc(keylen + 2);
		memcpy(given[c], secret, keylen + 1);
	}
	given[0][0] = 'x';
	given[1][keylen - 1] = 'x';
	given[2][keylen - 1] = '\0';
	given[3][keylen] = 'k';
	given[3][keylen + 1] = '\0';

	/* warm up, then run every case once a round, starting with another */
	for (c = 0; c < NCASES; c++)
		(void) TimeCalls(fn, given[c], secret, calls / 10);
	for (r = 0; r < ROUNDS; r++)
	{
		int			k;

		for (k = 0; k < NCASES; k++)
		{
			c = (k + r) % NCASES;
			t[c][r] = TimeCalls(fn, given[c], secret, calls);
		}
	}
	for (c = 0; c < NCASES; c++)
	{
		qsort(t[c], ROUNDS, sizeof(double), CompareDoubles);
		median[c] = t[c][ROUNDS / 2];
	}
	for (c = 0; c < NCASES; c++)
	{
		printf("%-13s %4zu-byte key, %-16s: %8.2f ns per call (median of %d rounds of %ld), ratio to first byte wrong %.3f\n",
			   name, keylen, labels[c], median[c], ROUNDS, calls,
			   median[c] / median[0]);
		free(given[c]);
	}
	free(secret);
}

int
main(int argc, char **argv)
{
	long		scale = argc > 1 ? atol(argv[1]) : 1;

	if (scale < 1)
		scale = 1;
	Bench("shim_const_eq", shim_const_eq, 32, 200000 * scale);
	Bench("strcmp", StrcmpEq, 32, 200000 * scale);
	Bench("shim_const_eq", shim_const_eq, 4096, 2000 * scale);
	Bench("strcmp", StrcmpEq, 4096, 2000 * scale);
	return 0;
}
