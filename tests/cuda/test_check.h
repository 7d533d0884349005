// SPDX-License-Identifier: MIT
/*
 * The checks of the project's CUDA test programs (tests/cuda/*.cu): CHECK
 * counts a check and prints the failed ones; check_summary() prints the
 * program's one summary line, "NAME: PASS (N checks)" or "NAME: FAIL (F of
 * N checks failed)", and gives the exit status (0 on PASS). One program
 * includes it once.
 */
#ifndef VGPU_TEST_CHECK_H
#define VGPU_TEST_CHECK_H

#include <stdio.h>

static int checks, failures;

#define CHECK(cond, ...)                                              \
	do {                                                          \
		checks++;                                             \
		if (!(cond)) {                                        \
			failures++;                                   \
			printf("FAILED %s:%d: ", __FILE__, __LINE__); \
			printf(__VA_ARGS__);                          \
			printf("\n");                                 \
		}                                                     \
	} while (0)

static int check_summary(const char *name)
{
	if (failures) {
		printf("%s: FAIL (%d of %d checks failed)\n", name, failures,
		       checks);
		return 1;
	}
	printf("%s: PASS (%d checks)\n", name, checks);
	return 0;
}

#endif
