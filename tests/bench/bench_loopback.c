// SPDX-License-Identifier: GPL-2.0-only
/*
 * Loopback transport benchmark (a program that prints figures, not a
 * test): the real daemon on a real socket, the 1.1 device's I/O queue.
 *   - a NOP's round trip, polled (doorbell eventfd, spin on the CQ) and by
 *     interrupt (NEED_IRQ, sleep on the interrupt eventfd);
 *   - a NOP rung by the DOORBELL register instead (a BAR0 message, as a
 *     Xen guest rings it), and one BAR0 register read;
 *   - NOPs per second in batches of 1..256 with one doorbell per batch;
 * next to what the same machine does without us: an eventfd ping-pong
 * and a SOCK_SEQPACKET ping-pong between two processes (the floor of a
 * cross-process notification and of a message round trip).
 * Usage: bench_loopback [iterations]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vgpu/vgpu_ring_abi.h>
#include <vgpu/vgpu_stub_regs.h>

#include "../../guest/lib/loop_client.h"
#include "../loopback/ldaemon.h"

#define DEPTH 256

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, double *t, int n)
{
	double sum = 0;
	int i;

	for (i = 0; i < n; i++)
		sum += t[i];
	qsort(t, (size_t)n, sizeof(*t), cmp);
	printf("%-44s %8.2f %8.2f %8.2f %8.2f\n", what, t[n / 2],
	       t[n * 99 / 100], t[0], sum / n);
}

/* ---- references ---- */

static void ref_eventfd(double *t, int n)
{
	int a = eventfd(0, 0), b = eventfd(0, 0), i;
	uint64_t v = 1;
	pid_t pid = fork();

	if (pid == 0) {
		for (i = 0; i < n; i++)
			if (read(a, &v, 8) != 8 || write(b, &v, 8) != 8)
				_exit(1);
		_exit(0);
	}
	for (i = 0; i < n; i++) {
		double t0 = now_us();

		if (write(a, &v, 8) != 8 || read(b, &v, 8) != 8)
			break;
		t[i] = now_us() - t0;
	}
	waitpid(pid, NULL, 0);
	close(a);
	close(b);
}

static void ref_seqpacket(double *t, int n)
{
	char m[40] = { 0 };
	int sv[2], i;
	pid_t pid;

	socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
	pid = fork();
	if (pid == 0) {
		for (i = 0; i < n; i++)
			if (read(sv[1], m, sizeof(m)) != sizeof(m) ||
			    write(sv[1], m, sizeof(m)) != sizeof(m))
				_exit(1);
		_exit(0);
	}
	for (i = 0; i < n; i++) {
		double t0 = now_us();

		if (write(sv[0], m, sizeof(m)) != sizeof(m) ||
		    read(sv[0], m, sizeof(m)) != sizeof(m))
			break;
		t[i] = now_us() - t0;
	}
	waitpid(pid, NULL, 0);
	close(sv[0]);
	close(sv[1]);
}

/* ---- through the daemon ---- */

static void put_nops(struct loop_queue *q, int k)
{
	int i;

	for (i = 0; i < k; i++)
		q->sq[(q->tail + i) & (DEPTH - 1)] =
			(struct vgpu_sqe){ .opcode = VGPU_OP_NOP,
					   .cid = (uint16_t)(q->tail + i) };
	q->tail += k;
	__atomic_store_n(&q->w.hdr->sq_tail.v, q->tail, __ATOMIC_SEQ_CST);
}

static int reap(struct loop_queue *q, int k)
{
	int i;

	for (i = 0; i < k; i++) {
		while (!loop_cqe_posted(q->w.cq, DEPTH, q->head))
			;
		if (q->w.cq[q->head & (DEPTH - 1)].status >> 1)
			return -1;
		q->head++;
	}
	__atomic_store_n(&q->w.hdr->cq_head.v, q->head, __ATOMIC_SEQ_CST);
	return 0;
}

enum mode { POLLED, IRQ, REGISTER };

static void nop_rtt(struct loop_conn *c, struct loop_queue *q, enum mode m,
		    double *t, int n)
{
	struct pollfd p = { .fd = c->irq, .events = POLLIN };
	uint64_t cnt;
	int i;

	__atomic_store_n(&q->w.hdr->drv_flags.v,
			 m == IRQ ? VGPU_DRV_NEED_IRQ : 0, __ATOMIC_SEQ_CST);
	for (i = 0; i < n; i++) {
		double t0 = now_us();

		put_nops(q, 1);
		if (m == REGISTER)
			loop_wr32(c, VGPU_REG_DOORBELL(1), q->tail);
		else
			loop_doorbell(c);
		if (m == IRQ) {
			if (poll(&p, 1, 10000) != 1 ||
			    read(c->irq, &cnt, sizeof(cnt)) < 0)
				exit(1);
		}
		if (reap(q, 1) < 0)
			exit(1);
		t[i] = now_us() - t0;
	}
	__atomic_store_n(&q->w.hdr->drv_flags.v, 0, __ATOMIC_SEQ_CST);
}

static void reg_rtt(struct loop_conn *c, double *t, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		double t0 = now_us();

		if (loop_rd32(c, VGPU_REG_MAGIC) != VGPU_MAGIC)
			exit(1);
		t[i] = now_us() - t0;
	}
}

static double batch_rate(struct loop_conn *c, struct loop_queue *q, int k,
			 int total)
{
	double t0 = now_us();
	int done;

	for (done = 0; done < total; done += k) {
		put_nops(q, k);
		loop_doorbell(c);
		if (reap(q, k) < 0)
			exit(1);
	}
	return (double)done / ((now_us() - t0) / 1e6);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20000, k;
	static const int batches[] = { 1, 8, 64, 256 };
	double *t = calloc((size_t)n, sizeof(*t));
	static struct ldaemon d;
	struct loop_conn *c;
	struct loop_queue q;
	uint32_t qerr;

	if (!t || n < 100 || ld_start(&d, NULL, NULL) < 0 ||
	    loop_conn_open(&c, d.path, 64 << 20) < 0 ||
	    loop_queue_create(c, &q, 1, DEPTH, &qerr) < 0) {
		fprintf(stderr, "bench_loopback: cannot start (%s)\n", d.log);
		return 1;
	}
	printf("loopback transport, %d round trips each (microseconds)\n", n);
	printf("%-44s %8s %8s %8s %8s\n", "", "median", "p99", "min", "mean");
	ref_eventfd(t, n);
	report("reference: eventfd ping-pong, 2 processes", t, n);
	ref_seqpacket(t, n);
	report("reference: seqpacket ping-pong, 2 processes", t, n);
	reg_rtt(c, t, n);
	report("BAR0 register read (message round trip)", t, n);
	nop_rtt(c, &q, POLLED, t, n);
	report("NOP, doorbell eventfd, polled CQ", t, n);
	nop_rtt(c, &q, IRQ, t, n);
	report("NOP, doorbell eventfd, interrupt eventfd", t, n);
	nop_rtt(c, &q, REGISTER, t, n);
	report("NOP, DOORBELL register message, polled CQ", t, n);
	printf("\nNOPs per second, one doorbell per batch, polled CQ\n");
	for (k = 0; k < 4; k++)
		printf("  batch %3d: %12.0f NOPs/s\n", batches[k],
		       batch_rate(c, &q, batches[k], n * 4));
	loop_queue_destroy(c, &q);
	loop_conn_close(c);
	ld_stop(&d);
	free(t);
	return 0;
}
