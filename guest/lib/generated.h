/* SPDX-License-Identifier: MIT */
/*
 * The tables generated at build time: an API's error names and texts,
 * from the CUDA header the library is built with (gen-errnames.sh), and
 * cuGetProcAddress's table of what libcuda.so.1 implements
 * (gen-procs.sh). No CUDA header here: the generated files declare the
 * entry points their own way.
 */
#ifndef VGPU_GUEST_GENERATED_H
#define VGPU_GUEST_GENERATED_H

#include <stddef.h>

struct vg_name {
	int code;
	const char *name; /* CUDA_ERROR_INVALID_VALUE, cudaErrorInvalidValue */
	const char *text;
};

extern const struct vg_name vg_cu_errnames[]; /* CUresult */
extern const unsigned int vg_cu_errnames_n;
extern const struct vg_name vgrt_errnames[]; /* cudaError_t */
extern const unsigned int vgrt_errnames_n;

/* The entry for @code in @table (of @n), or NULL. */
static inline const struct vg_name *vg_name_find(const struct vg_name *table,
						 unsigned int n, int code)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (table[i].code == code)
			return &table[i];
	return NULL;
}

struct vg_proc {
	const char *name; /* the exported symbol */
	void *fn;
};
extern const struct vg_proc vg_procs[]; /* every implemented cu* name */
extern const unsigned int vg_nprocs;

#endif
