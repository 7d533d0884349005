// SPDX-License-Identifier: GPL-2.0-only
/*
 * gpu_backend_check's figures: the backend alone (no engine, no guest
 * library) on the GPU, "R key value" lines; then the same operations on a
 * VM that times every stage (opts.profile), with "B what: ..." lines that
 * say where an operation's time goes (per operation: the ring, the CUDA
 * calls, the GPU's own time for copies, completion by event polling or a
 * host function, the way back); and what a session's worker costs.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gpu_backend.h"

/* ---- where the time goes ---- */

static void stats_diff(struct cuda_be_stats *d, const struct cuda_be_stats *a,
		       const struct cuda_be_stats *b)
{
	const uint64_t *x = (const uint64_t *)a, *y = (const uint64_t *)b;
	uint64_t *z = (uint64_t *)d;

	for (size_t i = 0; i < sizeof(*d) / sizeof(uint64_t); i++)
		z[i] = y[i] - x[i];
}

static double each(uint64_t v, uint64_t n)
{
	return n ? (double)v / (double)n : 0;
}

static double us(uint64_t ns, uint64_t n)
{
	return each(ns, n) / 1e3;
}

/* What @n operations between @a and @b took, per operation. */
static void breakdown(const char *what, const struct cuda_be_stats *a,
		      const struct cuda_be_stats *b, uint64_t n)
{
	struct cuda_be_stats d;
	const struct cw_stats *w = &d.w;

	stats_diff(&d, a, b);
	printf("B %s, per operation (%llu): requests %.2f, into the worker %.2f us; launch call %.2f us; copy call %.2f us",
	       what, (unsigned long long)n, each(w->reqs, n),
	       us(w->ring_ns, w->reqs), us(w->launch_ns, w->launches),
	       us(w->copy_ns, w->copies));
	if (w->gpu_copies)
		printf(", the GPU's DMA %.2f us (%.1f GB/s)",
		       us(w->gpu_copy_ns, n),
		       (double)w->gpu_copy_bytes / (double)w->gpu_copy_ns);
	printf("; event records %.2f (%.2f us each; syncs that shared one %.2f), queries %.2f (%.2f us each), done %.2f us after the record; sleeps %.2f, host functions %.2f (the thread awake %.2f us later); completions %.2f back in %.2f us, notifies %.2f, wakes of the worker %.2f",
	       each(w->records, n), us(w->record_ns, w->records),
	       each(w->markers_joined, n), each(w->queries, n),
	       us(w->query_ns, w->queries), us(w->group_ns, w->groups),
	       each(w->sleeps, n), each(w->hostfn, n),
	       us(w->hostfn_wake_ns, w->hostfn), each(d.cpls, n),
	       us(d.cpl_ns, d.cpls), each(w->notifies, n), each(d.wakes, n));
	if (d.staged)
		printf("; staging: memcpy %.1f GB/s (%.2f us per op), waiting for slots %.2f us",
		       (double)d.staged_bytes / (double)(d.stage_copy_ns + 1),
		       us(d.stage_copy_ns, n), us(d.stage_wait_ns, n));
	printf("\n");
	fflush(stdout);
}

/* ---- the operations ---- */

/* EVENT_QUERY round trips: the rings alone, no GPU work. */
static double ring_roundtrip(struct vm *v, uint32_t s, int n)
{
	struct be_req *r = rq(v, s, VGPU_OP_EVENT_CREATE);
	double *lat = calloc((size_t)n, sizeof(double)), t0, m;

	rq_run(v, r);
	for (int i = -200; i < n; i++) {
		struct be_req *q = rq(v, s, VGPU_OP_EVENT_QUERY);

		if (i % 500 == 0)
			vm_free_reqs(v);
		q->obj.obj = (uint32_t)r->result;
		t0 = now();
		rq_submit(v, q);
		rq_spin(v, q);
		if (i >= 0)
			lat[i] = now() - t0;
	}
	m = median(lat, n);
	free(lat);
	return m;
}

static double null_launch_sync(struct vm *v, uint32_t s, uint32_t f, int n)
{
	double *lat = calloc((size_t)n, sizeof(double)), t0, m;

	for (int i = -200; i < n; i++) {
		struct be_req *sy;

		if (i % 500 == 0)
			vm_free_reqs(v);
		t0 = now();
		launch(v, s, f, 0, 1, 1, NULL, 0);
		sy = rq(v, s, VGPU_OP_STREAM_SYNC);
		rq_submit(v, sy);
		rq_spin(v, sy);
		if (i >= 0)
			lat[i] = now() - t0;
	}
	m = median(lat, n);
	free(lat);
	return m;
}

static double async_launches(struct vm *v, uint32_t s, uint32_t f, int n)
{
	struct be_req *r;
	double t0;

	vm_free_reqs(v);
	t0 = now();
	for (int i = 0; i < n; i++)
		launch(v, s, f, 0, 1, 1, NULL, 0);
	r = rq(v, s, VGPU_OP_STREAM_SYNC);
	rq_submit(v, r);
	rq_spin(v, r);
	t0 = now() - t0;
	vm_free_reqs(v);
	return n / t0;
}

/* GB/s of @reps copies of @len (the median), busy-polled as the engine
 * polls while busy. */
static double copies(struct vm *v, uint32_t s, uint64_t d,
		     struct be_region *reg, int h2d, uint64_t len, int reps)
{
	double t[16], t0;

	for (int i = 0; i < reps; i++) {
		struct be_req *r =
			rq(v, s, h2d ? VGPU_OP_COPY_H2D : VGPU_OP_COPY_D2H);

		r->copy.dptr = d;
		r->copy.region = reg;
		r->copy.len = len;
		t0 = now();
		rq_submit(v, r);
		rq_spin(v, r);
		t[i] = now() - t0;
	}
	vm_free_reqs(v);
	return len / median(t, reps) / 1e9;
}

/* ---- the figures ---- */

static void plain(struct ctx *c)
{
	struct vm *v = vm(c, "figures", NULL);
	struct sess s = { 0 };
	uint64_t d;
	uint32_t f;

	if (!v || open_sess(c, &s, v, 41) < 0) {
		check(c, "figures", 0, "no session");
		goto out;
	}
	f = fn(&s, K_NULL, NULL);
	printf("R backend_ring_roundtrip_us %.2f\n",
	       ring_roundtrip(v, 41, 2000) * 1e6);
	printf("R backend_null_launch_sync_us %.2f\n",
	       null_launch_sync(v, 41, f, 2000) * 1e6);
	printf("R backend_async_launch_per_s %.0f\n",
	       async_launches(v, 41, f, 4000));
	d = mem_alloc(v, 41, 64 << 20);
	for (int big = 0; big < 2; big++)
		for (int dir = 0; dir < 2; dir++)
			printf("R backend_zero_copy_%s_%dM_GBs %.1f\n",
			       dir ? "d2h" : "h2d", big ? 64 : 16,
			       copies(v, 41, d, s.reg, !dir,
				      big ? 64 << 20 : 16 << 20, 7));
	fflush(stdout);
	close_sess(&s);
out:
	if (v)
		vm_free(v);
}

static void staged(struct ctx *c)
{
	struct cuda_be_opts o = { .stage_all = true };
	struct vm *v = vm(c, "staged figures", &o);
	struct sess s = { 0 };
	uint64_t sizes[] = { 1 << 20, 16 << 20, 64 << 20 }, d;

	if (!v || open_sess(c, &s, v, 51) < 0)
		goto out;
	d = mem_alloc(v, 51, 64 << 20);
	for (int k = 0; k < 3; k++)
		for (int dir = 0; dir < 2; dir++)
			printf("R backend_staged_%s_%lluM_GBs %.1f\n",
			       dir ? "d2h" : "h2d",
			       (unsigned long long)(sizes[k] >> 20),
			       copies(v, 51, d, s.reg, !dir, sizes[k], 7));
	fflush(stdout);
	close_sess(&s);
out:
	if (v)
		vm_free(v);
}

/* The same, every stage timed: where the time goes. busy_us: the
 * worker polls this long with GPU work in flight before a host function
 * is to wake it (0: as when idle, 50 us). */
static void profiled(struct ctx *c, bool stage_all, uint32_t busy_us)
{
	struct cuda_be_opts o = { .profile = true,
				  .stage_all = stage_all,
				  .busy_spin_us = busy_us };
	struct vm *v = vm(c, "profiled figures", &o);
	struct cuda_be_stats a, b;
	struct sess s = { 0 };
	char what[64];
	uint64_t d;
	uint32_t f;

	if (!v || open_sess(c, &s, v, 71) < 0)
		goto out;
	f = fn(&s, K_NULL, NULL);
	d = mem_alloc(v, 71, 64 << 20);
	if (!stage_all) {
		null_launch_sync(v, 71, f, 200); /* warm */
		backend_cuda_stats(v->b, &a);
		printf("R backend_null_launch_sync_profiled_us %.2f\n",
		       null_launch_sync(v, 71, f, 1000) * 1e6);
		backend_cuda_stats(v->b, &b);
		breakdown("null launch + sync", &a, &b, 1200);
	}
	printf("B the worker polls %u us with GPU work in flight\n",
	       busy_us ? busy_us : 50);
	for (int big = 0; big < 2; big++)
		for (int dir = 0; dir < 2; dir++) {
			uint64_t len = big ? 64 << 20 : 16 << 20;
			double gbs;

			copies(v, 71, d, s.reg, !dir, len, 1); /* warm */
			backend_cuda_stats(v->b, &a);
			gbs = copies(v, 71, d, s.reg, !dir, len, 5);
			backend_cuda_stats(v->b, &b);
			snprintf(what, sizeof(what), "%s %s %d MiB (%.1f GB/s)",
				 stage_all ? "staged" : "zero-copy",
				 dir ? "D2H" : "H2D", big ? 64 : 16, gbs);
			breakdown(what, &a, &b, 5);
		}
	close_sess(&s);
out:
	if (v)
		vm_free(v);
}

/* DMA inside one worker, no ring: pinned against registered memory. */
static void dma_probe(void)
{
	const char *w = getenv("VGPU_TEST_WORKER");
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execl(w ? w : FAKE_WORKER, "vgpu-cuda-worker", "--dma-probe",
		      (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

void figures(struct ctx *c)
{
	plain(c);
	staged(c);
	dma_probe();
	profiled(c, false, 0);
	profiled(c, false, 2000);
	profiled(c, true, 0);
}

/* ---- what a session's worker costs ---- */

static long rss_kib(int pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

/* Until the VM's spare said hello (at most 60 s). */
static void spare_ready(struct vm *v)
{
	for (int i = 0; i < 6000 && !backend_cuda_worker_pid(v->b, 0); i++)
		vm_poll(v, 10);
}

/* session_open + a first request, with the spare ready or not. */
static double first_request(struct vm *v, uint32_t id, bool ready)
{
	double t0;

	if (ready)
		spare_ready(v);
	t0 = now();
	if (v->b->ops->session_open(v->b, id) < 0 || !mem_alloc(v, id, 4096))
		return -1;
	return now() - t0;
}

void session_cost(struct ctx *c)
{
	struct vm *v = vm(c, "session_cost", NULL);
	struct cuda_be_stats st;
	double ready[5], b2b[5];
	struct sess s = { 0 };
	int pid;

	if (!v)
		return;
	for (uint32_t i = 0; i < 5; i++) {
		ready[i] = first_request(v, 100 + i, true);
		v->b->ops->session_close(v->b, 100 + i);
	}
	for (uint32_t i = 0; i < 5; i++)
		b2b[i] = first_request(v, 200 + i, false);
	backend_cuda_stats(v->b, &st);
	printf("R session_first_request_ms %.1f\n", median(ready, 5) * 1e3);
	printf("R session_first_request_back_to_back_ms %.1f\n",
	       median(b2b, 5) * 1e3);
	printf("R worker_hello_ms %.1f\n", each(st.spawn_ns, st.workers) / 1e6);
	printf("R worker_cuinit_ms %.1f\n",
	       each(st.w.init_ns, st.workers) / 1e6);
	printf("R worker_context_ms %.1f\n", each(st.w.ctx_ns, 10) / 1e6);
	for (uint32_t i = 0; i < 5; i++)
		v->b->ops->session_close(v->b, 200 + i);
	if (open_sess(c, &s, v, 300) == 0 && vec_add_ok(&s, 1 << 20)) {
		pid = backend_cuda_worker_pid(v->b, 300);
		printf("R worker_rss_MiB %.1f\n", rss_kib(pid) / 1024.0);
	}
	spare_ready(v);
	pid = backend_cuda_worker_pid(v->b, 0);
	printf("R spare_rss_MiB %.1f\n", pid ? rss_kib(pid) / 1024.0 : -1);
	/* the rings (the staging slots after them are touched only by
	 * staged copies: Xen's foreign mappings) */
	printf("R session_rings_KiB %llu\n",
	       (unsigned long long)(cw_stage_off(256 << 10, 64 << 10) >> 10));
	fflush(stdout);
	close_sess(&s);
	vm_free(v);
}
