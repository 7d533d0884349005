// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_ring: the command-queue engine on its own (no Xen, no doorbell
 * exits): null commands per second with batched submissions, and 1 MiB
 * copies through device memory against plain memcpy, measured side by
 * side in one run. Guest RAM is the recorder's buffer, mapped in place.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vgpu/ring.h>
#include "unit/engine_fx.h"

#define QI 1

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reap @n completions of queue @qi; false if one failed. */
static bool drain(struct efx *f, unsigned int qi, uint64_t n)
{
	struct vgpu_cqe c;
	uint64_t i;

	for (i = 0; i < n; i++)
		if (!efx_wait(f, qi, &c, 20000) || VGPU_CQE_CODE(c.status))
			return false;
	return true;
}

static int copies(struct efx *f, uint64_t dptr, double *t_copy,
		  double *t_memcpy)
{
	static uint8_t dst[1 << 20], tmp[1 << 20];
	uint8_t *gsrc = f->r.ram + 0x100000, *gdst = f->r.ram + 0x200000;
	struct vgpu_sgl_entry *l = (struct vgpu_sgl_entry *)(f->r.ram + 0x8000);
	uint64_t i, j;
	int k, dir;

	for (i = 0; i < (1 << 20); i++)
		gsrc[i] = (uint8_t)(i * 2654435761u >> 13);
	*t_copy = *t_memcpy = 1e9;
	for (k = 0; k < 25; k++) {
		double t0 = now_s(), t;

		for (dir = 0; dir < 2; dir++) {
			for (j = 0; j < 256; j += 64) {
				for (i = 0; i < 64; i++)
					l[(j / 64) * 256 + i] =
						(struct vgpu_sgl_entry){
							.gpa = (dir ? 0x200000 :
								      0x100000) +
							       (j + i) * 4096,
							.len = 4096
						};
				efx_put(f, QI,
					&(struct vgpu_sqe){
						.opcode =
							dir ? VGPU_OP_MEMCPY_D2H :
							      VGPU_OP_MEMCPY_H2D,
						.arg = { dptr + j * 4096,
							 64 * 4096 },
						.sgl_gpa = 0x8000 +
							   (j / 64) * 0x1000,
						.sgl_nents = 64 });
			}
			efx_ring(f, QI);
			if (!drain(f, QI, 4))
				return 1;
		}
		t = now_s() - t0;
		*t_copy = t < *t_copy ? t : *t_copy;
		t0 = now_s();
		memcpy(tmp, gsrc, sizeof(tmp));
		memcpy(dst, tmp, sizeof(dst));
		t = now_s() - t0;
		*t_memcpy = t < *t_memcpy ? t : *t_memcpy;
	}
	return memcmp(gsrc, gdst, 1 << 20) || memcmp(gsrc, dst, 1 << 20);
}

/* 1 MiB from a registered region to device memory and back by COPY
 * commands (ABI 1.2: zero copy from the region), best of 25. */
static int region_copies(struct efx *f, double *t_copy)
{
	struct vgpu_extent x = { 0x100000, 0x200000 };
	uint32_t sess = efx_session(f, 2, 0xc000), region = 0;
	uint8_t *src = f->r.ram + 0x100000, *dst = f->r.ram + 0x200000;
	uint64_t dptr = 0;
	int k;

	if (!sess || efx_region(f, sess, &x, 1, 0xf000, &region) ||
	    efx_run(f, 2,
		    (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_ALLOC,
				       .arg = { 1 << 20 } },
		    &dptr))
		return 1;
	memset(dst, 0, 1 << 20);
	*t_copy = 1e9;
	for (k = 0; k < 25; k++) {
		double t0 = now_s(), t;

		/* both asynchronously, as cudaMemcpyAsync twice and a sync:
		 * one stream runs them back to back */
		efx_put(f, 2,
			&(struct vgpu_sqe){ .opcode = VGPU_OP_COPY_H2D,
					    .copy = { .dptr = dptr,
						      .len = 1 << 20,
						      .region = region } });
		efx_put(f, 2,
			&(struct vgpu_sqe){ .opcode = VGPU_OP_COPY_D2H,
					    .copy = { .dptr = dptr,
						      .offset = 1 << 20,
						      .len = 1 << 20,
						      .region = region } });
		efx_ring(f, 2);
		if (!drain(f, 2, 2))
			return 1;
		t = now_s() - t0;
		*t_copy = t < *t_copy ? t : *t_copy;
	}
	return memcmp(src, dst, 1 << 20) != 0;
}

int main(int argc, char **argv)
{
	static struct efx f;
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 2000000;
	uint64_t dptr = 0, done = 0, i;
	double t0, t_nop, t_copy, t_memcpy;

	if (efx_init(&f, NULL, 2) < 0 || efx_queue(&f, QI, 64, 0) < 0)
		return 1;
	/* NOPs: the driver fills the whole ring, rings once, reaps all */
	t0 = now_s();
	while (done < n) {
		for (i = 0; i < 64; i++)
			efx_put(&f, QI,
				&(struct vgpu_sqe){ .opcode = VGPU_OP_NOP });
		efx_ring(&f, QI);
		if (!drain(&f, QI, 64))
			return 1;
		done += 64;
	}
	t_nop = now_s() - t0;
	printf("bench: ring nop: %lu commands in %.3f s: %.2f M commands/s (batches of 64 per doorbell; target >= 1 M/s)\n",
	       (unsigned long)done, t_nop, done / t_nop / 1e6);

	/* 1 MiB from guest pages to device memory and back, by MEMCPY
	 * commands (64 pages each, four in flight), against two plain
	 * memcpy of the same bytes: best of 25 */
	if (efx_run(&f, QI,
		    (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_ALLOC,
				       .arg = { 1 << 20 } },
		    &dptr) != VGPU_S_OK ||
	    copies(&f, dptr, &t_copy, &t_memcpy))
		return 1;
	printf("bench: 1 MiB guest->device->guest by 1.1 MEMCPY commands (64-page lists, mapped in one call): %.0f us vs two plain memcpy %.0f us: %.2f of memcpy speed\n",
	       t_copy * 1e6, t_memcpy * 1e6, t_memcpy / t_copy);
	if (region_copies(&f, &t_copy))
		return 1;
	printf("bench: 1 MiB region->device->region by 1.2 COPY commands: %.0f us vs two plain memcpy %.0f us: %.2f of memcpy speed (target >= 0.8)\n",
	       t_copy * 1e6, t_memcpy * 1e6, t_memcpy / t_copy);
	efx_fini(&f);
	return 0;
}
