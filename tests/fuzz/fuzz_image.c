// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target for the CPU backend's module image reader (cpu_image.c):
 * any bytes as a MODULE_LOAD image (fatbin, compressed entries included,
 * cubin or PTX). Invariants: the answer is one of the statuses MODULE_LOAD
 * may give, and what was read stays within its tables (names NUL-
 * terminated, counts within bounds, global sizes sane).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/cpu_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cpu_module *m = calloc(1, sizeof(*m));
	uint32_t st, i;

	if (!m)
		return 0;
	st = cpu_image_parse(data, size, m);
	check(st == VGPU_S_OK || st == VGPU_S_BAD_IMAGE ||
	      st == VGPU_S_NOT_SUPPORTED || st == VGPU_S_NO_MEMORY);
	check(st != VGPU_S_OK || m->nfuncs || m->nglobals);
	check(m->nfuncs <= CPU_MAX_FUNCS && m->nglobals <= CPU_MAX_GLOBALS);
	for (i = 0; i < m->nfuncs; i++) {
		check(memchr(m->names[i], '\0', sizeof(m->names[i])) != NULL);
		check(m->nkp[i] >= -1 && m->nkp[i] <= 8);
	}
	for (i = 0; i < m->nglobals; i++)
		check(m->g[i].size && m->g[i].size <= (1u << 30));
	free(m);
	return 0;
}
