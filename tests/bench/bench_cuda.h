/* SPDX-License-Identifier: MIT */
/* bench_cuda's two halves: the measurements (bench_cuda.c) and the table
 * of native and mediated children (bench_cuda_table.c). */
#ifndef BENCH_CUDA_H
#define BENCH_CUDA_H

struct opts {
	const char *mode, *cubin, *guestlib, *socket, *self;
	long iters, ms;
	double seconds;
	int matmul; /* n of the n x n product */
	int no_native; /* table: the mediated column only (CPU backend) */
	long launches; /* launches mode: how many */
};

/* the modes a child runs */
void mode_run(const struct opts *o);
void mode_stream(const struct opts *o);
void mode_work(const struct opts *o);
void mode_fault(const struct opts *o);
void mode_quota(const struct opts *o);
void mode_launches(const struct opts *o);
/* the parent */
int mode_table(const struct opts *o);

#endif
