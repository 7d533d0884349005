// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu-drv-test session, isolate: ABI 1.2 sessions through /dev/vgpu_stub.
 * The process maps its queue and pool, writes entries, publishes the tail
 * and rings only when the header asks for it, reaps completions by cid
 * and sleeps in VGPU_IOC_WAIT. On a device without sessions (ABI 1.1)
 * both report SKIP with the reason.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vgpu-drv-test.h"

struct sess {
	int fd;
	struct vgpu_ioc_session s;
	struct vgpu_qhdr *h;
	struct vgpu_sqe *sq;
	const struct vgpu_cqe *cq;
	uint8_t *pool;
	uint32_t tail, head;
	uint16_t cid;
	unsigned long bells;
};

/* 0, 1 (no sessions on this device: *why says so), or -1; a pool of
 * @pool bytes (0: the driver's default). */
static int sess_open_pool(struct sess *q, uint64_t pool, char *why, size_t len)
{
	memset(q, 0, sizeof(*q));
	q->s.pool_bytes = pool;
	q->fd = open_dev();
	if (q->fd < 0)
		return -1;
	if (ioctl(q->fd, VGPU_IOC_SESSION, &q->s) < 0) {
		if (errno != EOPNOTSUPP)
			return -1;
		snprintf(
			why, len,
			"the device has no sessions (ABI 1.1, no VGPU_F_SESSIONS): the "
			"1.2 engine is not there yet");
		return 1;
	}
	q->h = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, q->fd,
		    VGPU_MMAP_QHDR);
	q->sq = mmap(NULL, q->s.sq_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
		     q->fd, VGPU_MMAP_SQ);
	q->cq = mmap(NULL, q->s.cq_bytes, PROT_READ, MAP_SHARED, q->fd,
		     VGPU_MMAP_CQ);
	q->pool = mmap(NULL, q->s.pool_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       q->fd, (off_t)q->s.pool_mmap_off);
	if (q->h == MAP_FAILED || q->sq == MAP_FAILED || q->cq == MAP_FAILED ||
	    q->pool == MAP_FAILED)
		return -1;
	return 0;
}

static int sess_open(struct sess *q, char *why, size_t len)
{
	return sess_open_pool(q, 0, why, len);
}

/* Every mapping gone and the file closed: the session ends. */
static void sess_close(struct sess *q)
{
	munmap(q->h, 4096);
	munmap(q->sq, q->s.sq_bytes);
	munmap((void *)q->cq, q->s.cq_bytes);
	munmap(q->pool, q->s.pool_len);
	close(q->fd);
}

static void sess_push(struct sess *q, struct vgpu_sqe e)
{
	e.cid = q->cid++;
	q->sq[q->tail % q->s.depth] = e;
	q->tail++;
}

/* Publish the tail; ring only when the device sleeps. */
static void sess_publish(struct sess *q)
{
	__atomic_store_n(&q->h->sq_tail.v, q->tail, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&q->h->dev_flags.v, __ATOMIC_ACQUIRE) &
	    VGPU_DEV_NEED_DOORBELL) {
		if (ioctl(q->fd, VGPU_IOC_DOORBELL) == 0)
			q->bells++;
	}
}

/* The next completion: a short poll, then VGPU_IOC_WAIT. 0 or -errno. */
static int sess_reap(struct sess *q, struct vgpu_cqe *out)
{
	const struct vgpu_cqe *c = &q->cq[q->head % q->s.depth];
	uint16_t phase = (q->head / q->s.depth) & 1 ? 0 : 1;
	struct vgpu_ioc_wait w = { .head = q->head, .timeout_ns = 20000000000 };
	int i;

	for (i = 0; i < 2000; i++)
		if ((__atomic_load_n(&c->status, __ATOMIC_ACQUIRE) & 1) ==
		    phase)
			break;
	while ((__atomic_load_n(&c->status, __ATOMIC_ACQUIRE) & 1) != phase)
		if (ioctl(q->fd, VGPU_IOC_WAIT, &w) < 0 && errno != EINTR)
			return -errno;
	*out = *c;
	q->head++;
	__atomic_store_n(&q->h->cq_head.v, q->head, __ATOMIC_RELEASE);
	return 0;
}

/* One command, run to its completion: its status (0x10000 + errno). */
static uint32_t sess_run(struct sess *q, struct vgpu_sqe e, uint64_t *res)
{
	struct vgpu_cqe c;
	uint16_t cid = q->cid;
	int rc;

	sess_push(q, e);
	sess_publish(q);
	rc = sess_reap(q, &c);
	if (rc)
		return 0x10000u - (uint32_t)rc;
	if (c.cid != cid)
		return 0xfffe;
	if (res)
		*res = c.result;
	return VGPU_CQE_CODE(c.status);
}

static struct vgpu_sqe op(uint8_t opcode)
{
	return (struct vgpu_sqe){ .opcode = opcode };
}

static struct vgpu_sqe copy(uint8_t opcode, uint64_t dptr, uint32_t region,
			    uint64_t off, uint64_t len)
{
	struct vgpu_sqe e = op(opcode);

	e.copy.dptr = dptr;
	e.copy.region = region;
	e.copy.offset = off;
	e.copy.len = len;
	return e;
}

static struct vgpu_sqe obj(uint8_t opcode, uint32_t o, uint32_t o2,
			   uint32_t stream)
{
	struct vgpu_sqe e = op(opcode);

	e.obj.obj = o;
	e.obj.obj2 = o2;
	e.obj.stream = stream;
	return e;
}

static void fill(uint8_t *p, size_t n, unsigned int seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)((i + seed) * 2654435761u >> 13);
}

/* Copies both ways through the pool, a memset, device info. */
static void sess_memory(struct sess *q, uint64_t *dptr)
{
	uint32_t r = q->s.pool_region, i, bad = 0;
	struct vgpu_sqe e;
	uint64_t res = 0;

	check(sess_run(q,
		       (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_ALLOC,
					  .arg = { 1 << 20 } },
		       dptr) == VGPU_S_OK,
	      "MEM_ALLOC 1 MiB on the session queue");
	fill(q->pool, 65536, 1);
	check(sess_run(q, copy(VGPU_OP_COPY_H2D, *dptr, r, 0, 65536), NULL) ==
			      VGPU_S_OK &&
		      sess_run(q,
			       copy(VGPU_OP_COPY_D2H, *dptr, r, 65536, 65536),
			       NULL) == VGPU_S_OK &&
		      memcmp(q->pool, q->pool + 65536, 65536) == 0,
	      "64 KiB from the pool to the device and back intact");
	e = op(VGPU_OP_MEMSET);
	e.memset.dptr = *dptr;
	e.memset.count = 1024;
	e.memset.value = 0xdeadbeef;
	e.memset.elem = 4;
	check(sess_run(q, e, NULL) == VGPU_S_OK &&
		      sess_run(q,
			       copy(VGPU_OP_COPY_D2H, *dptr, r, 131072, 4096),
			       NULL) == VGPU_S_OK,
	      "MEMSET of 1024 words, read back");
	for (i = 0; i < 1024; i++)
		bad += ((uint32_t *)(q->pool + 131072))[i] != 0xdeadbeef;
	check(bad == 0, "every word is 0xdeadbeef (%u wrong)", bad);
	e = op(VGPU_OP_DEVICE_INFO);
	e.buf.region = r;
	e.buf.out_off = 262144;
	e.buf.out_len = sizeof(struct vgpu_device_info);
	check(sess_run(q, e, &res) == VGPU_S_OK &&
		      ((struct vgpu_device_info *)(q->pool + 262144))->name[0],
	      "DEVICE_INFO: %.64s, backend %.31s",
	      ((struct vgpu_device_info *)(q->pool + 262144))->name,
	      ((struct vgpu_device_info *)(q->pool + 262144))->backend);
}

/* Streams and events, and what a session queue must refuse. */
static void sess_streams(struct sess *q)
{
	uint64_t s1 = 0, ev = 0;
	struct vgpu_sqe e;

	check(sess_run(q, obj(VGPU_OP_STREAM_CREATE, 0, 0, 0), &s1) ==
			      VGPU_S_OK &&
		      sess_run(q, obj(VGPU_OP_EVENT_CREATE, 0, 0, 0), &ev) ==
			      VGPU_S_OK,
	      "a stream and an event");
	check(sess_run(q,
		       obj(VGPU_OP_EVENT_RECORD, (uint32_t)ev, 0, (uint32_t)s1),
		       NULL) == VGPU_S_OK &&
		      sess_run(q, obj(VGPU_OP_EVENT_SYNC, (uint32_t)ev, 0, 0),
			       NULL) == VGPU_S_OK &&
		      sess_run(q, obj(VGPU_OP_STREAM_SYNC, (uint32_t)s1, 0, 0),
			       NULL) == VGPU_S_OK &&
		      sess_run(q, op(VGPU_OP_CTX_SYNC), NULL) == VGPU_S_OK,
	      "event record and sync, stream sync, context sync");
	check(sess_run(q, obj(VGPU_OP_EVENT_DESTROY, (uint32_t)ev, 0, 0),
		       NULL) == VGPU_S_OK &&
		      sess_run(q,
			       obj(VGPU_OP_STREAM_DESTROY, (uint32_t)s1, 0, 0),
			       NULL) == VGPU_S_OK,
	      "destroyed");
	e = op(VGPU_OP_MEMCPY_H2D);
	e.arg[1] = 4096;
	e.sgl_gpa = 0x100000;
	e.sgl_nents = 1;
	check(sess_run(q, e, NULL) == VGPU_S_PRIVILEGED,
	      "a guest-physical SGL on the session queue: PRIVILEGED");
	e = op(VGPU_OP_REGION_ADD);
	e.region.list_gpa = 0x100000;
	e.region.nents = 1;
	e.region.bytes = 4096;
	check(sess_run(q, e, NULL) == VGPU_S_PRIVILEGED,
	      "REGION_ADD on the session queue: PRIVILEGED");
	check(sess_run(q, obj(VGPU_OP_SESSION_OPEN, VGPU_NO_QUEUE, 0, 0),
		       NULL) == VGPU_S_PRIVILEGED,
	      "SESSION_OPEN on the session queue: PRIVILEGED");
}

/* A further pinned region: mapped, used, freed, then refused. */
static void sess_region(struct sess *q, uint64_t dptr)
{
	struct vgpu_ioc_region a = { .bytes = 1 << 20 };
	uint8_t *p;

	if (ioctl(q->fd, VGPU_IOC_REGION_ALLOC, &a) < 0) {
		check(0, "REGION_ALLOC 1 MiB: %s", strerror(errno));
		return;
	}
	p = mmap(NULL, a.len, PROT_READ | PROT_WRITE, MAP_SHARED, q->fd,
		 (off_t)a.mmap_off);
	check(p != MAP_FAILED, "region %u mapped", a.region);
	if (p == MAP_FAILED)
		return;
	fill(p, 4096, 7);
	check(sess_run(q, copy(VGPU_OP_COPY_H2D, dptr, a.region, 0, 4096),
		       NULL) == VGPU_S_OK &&
		      sess_run(q,
			       copy(VGPU_OP_COPY_D2H, dptr, a.region, 4096,
				    4096),
			       NULL) == VGPU_S_OK &&
		      memcmp(p, p + 4096, 4096) == 0,
	      "copies through the new region intact");
	check(ioctl(q->fd, VGPU_IOC_REGION_FREE, &a) == 0, "region freed");
	check(sess_run(q, copy(VGPU_OP_COPY_H2D, dptr, a.region, 0, 4096),
		       NULL) == VGPU_S_BAD_HANDLE,
	      "the freed region: BAD_HANDLE");
	check(p[0] == (uint8_t)(7 * 2654435761u >> 13),
	      "its mapping still reads (until munmap)");
	munmap(p, a.len);
}

/* Batches of asynchronous memsets without waiting between them: the
 * device polls, so hardly any doorbell is needed. */
static void sess_stream(struct sess *q, uint64_t dptr, unsigned int n)
{
	struct vgpu_ioc_stats s0, s1;
	unsigned int sent = 0, got = 0, bad = 0, batch = q->s.depth / 2;
	struct vgpu_cqe c;
	double t0 = now_s(), dt;

	ioctl(q->fd, VGPU_IOC_STATS, &s0);
	q->bells = 0;
	while (got < n) {
		while (sent < n && sent - got < batch) {
			struct vgpu_sqe e = op(VGPU_OP_MEMSET);

			e.memset.dptr = dptr;
			e.memset.count = 256;
			e.memset.value = sent;
			e.memset.elem = 4;
			sess_push(q, e);
			sent++;
			sess_publish(q);
		}
		if (sess_reap(q, &c) < 0)
			break;
		bad += VGPU_CQE_CODE(c.status) != VGPU_S_OK;
		got++;
	}
	dt = now_s() - t0;
	ioctl(q->fd, VGPU_IOC_STATS, &s1);
	check(got == n && bad == 0, "%u asynchronous memsets (%u failed)", got,
	      bad);
	printf("SESSION-STREAM: commands=%u doorbells=%lu doorbells_per_cmd=%.4f "
	       "cmds_per_s=%.0f waits=%llu\n",
	       n, q->bells, (double)q->bells / n, n / dt,
	       (unsigned long long)(s1.waits - s0.waits));
	check((double)q->bells / n < 0.05,
	      "fewer than 0.05 doorbells per command while streaming");
}

int cmd_session(unsigned int n)
{
	struct vgpu_ioc_wait w = { .timeout_ns = 10000000 };
	unsigned int i, bad = 0;
	char why[160];
	struct sess q;
	uint64_t dptr = 0;
	int rc = sess_open(&q, why, sizeof(why));

	if (rc) {
		printf("SESSION-RESULT: %s %s\n", rc > 0 ? "SKIP" : "FAIL",
		       rc > 0 ? why : strerror(errno));
		return rc < 0;
	}
	printf("session %u on queue %u, depth %u, pool region %u (%llu bytes)\n",
	       q.s.session, q.s.queue, q.s.depth, q.s.pool_region,
	       (unsigned long long)q.s.pool_len);
	for (i = 0; i < n; i++)
		bad += sess_run(&q, op(VGPU_OP_NOP), NULL) != VGPU_S_OK;
	check(bad == 0, "%u NOPs through the mapped queue (%u failed)", n, bad);
	sess_memory(&q, &dptr);
	sess_streams(&q);
	sess_region(&q, dptr);
	sess_stream(&q, dptr, 20 * n);
	w.head = q.head;
	check(ioctl(q.fd, VGPU_IOC_WAIT, &w) < 0 && errno == ETIMEDOUT,
	      "VGPU_IOC_WAIT with nothing submitted: ETIMEDOUT");
	check(sess_run(&q,
		       (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_FREE,
					  .arg = { dptr } },
		       NULL) == VGPU_S_OK,
	      "MEM_FREE");
	close(q.fd);
	printf("SESSION-RESULT: %s %u passed, %u failed\n",
	       failed ? "FAIL" : "PASS", passed, failed);
	return failed != 0;
}

/*
 * The doorbell benchmark (the lab's LAB-METRIC lines, MMIO versus event
 * channel side by side): the vCPU time one doorbell costs the ringing
 * process (VGPU_IOC_DOORBELL with the tail unchanged: nothing for the
 * device to do, so only the ring itself is timed; VGPU_IOC_STATS is the
 * same system call without a doorbell), and NOP round trips that ring
 * every time and sleep for their completion's interrupt.
 */
int cmd_bench(unsigned int n)
{
	struct vgpu_ioc_stats st, st2;
	unsigned int i, bad = 0;
	double t0, bell_us, sys_us, rt_us;
	char why[160];
	struct sess q;
	struct vgpu_cqe c;
	int rc = sess_open(&q, why, sizeof(why));

	if (rc || ioctl(q.fd, VGPU_IOC_STATS, &st) < 0) {
		printf("BENCH-RESULT: FAIL %s\n",
		       rc > 0 ? why : strerror(errno));
		return 1;
	}
	t0 = now_s();
	for (i = 0; i < n; i++)
		bad += ioctl(q.fd, VGPU_IOC_DOORBELL) != 0;
	bell_us = (now_s() - t0) / n * 1e6;
	t0 = now_s();
	for (i = 0; i < n; i++)
		bad += ioctl(q.fd, VGPU_IOC_STATS, &st) != 0;
	sys_us = (now_s() - t0) / n * 1e6;
	t0 = now_s();
	for (i = 0; i < n; i++) {
		struct vgpu_ioc_wait w = { .timeout_ns = 20000000000 };
		const struct vgpu_cqe *e = &q.cq[q.head % q.s.depth];
		uint16_t phase = (q.head / q.s.depth) & 1 ? 0 : 1;

		sess_push(&q, op(VGPU_OP_NOP));
		__atomic_store_n(&q.h->sq_tail.v, q.tail, __ATOMIC_RELEASE);
		bad += ioctl(q.fd, VGPU_IOC_DOORBELL) != 0;
		w.head = q.head;
		while ((__atomic_load_n(&e->status, __ATOMIC_ACQUIRE) & 1) !=
		       phase)
			if (ioctl(q.fd, VGPU_IOC_WAIT, &w) < 0 &&
			    errno != EINTR)
				break;
		c = *e;
		q.head++;
		__atomic_store_n(&q.h->cq_head.v, q.head, __ATOMIC_RELEASE);
		bad += VGPU_CQE_CODE(c.status) != VGPU_S_OK;
	}
	rt_us = (now_s() - t0) / n * 1e6;
	/* how many round trips slept for their completion's interrupt: an
	 * MMIO doorbell returns once the device answered the ioreq, so a NOP
	 * has often completed by then */
	bad += ioctl(q.fd, VGPU_IOC_STATS, &st2) != 0;
	close(q.fd);
	printf("BENCH: path=%s n=%u doorbell_us=%.2f syscall_us=%.2f doorbell_net_us=%.2f nop_round_trip_us=%.1f round_trips_slept=%llu failed=%u\n",
	       st.evtchn ? "evtchn" : "mmio", n, bell_us, sys_us,
	       bell_us - sys_us, rt_us,
	       (unsigned long long)(st2.waits - st.waits), bad);
	printf("BENCH-RESULT: %s\n", bad ? "FAIL" : "PASS");
	return bad != 0;
}

/* The child: the parent's file, mappings, handles and memory are out of
 * its reach. Exits with the number of failed checks. */
static int isolate_child(struct sess *pa, uint64_t dptr_a)
{
	struct sess b;
	unsigned char v;
	char why[160];
	uint64_t res;

	check(ioctl(pa->fd, VGPU_IOC_DOORBELL) < 0 && errno == EPERM,
	      "the parent's file in the child: DOORBELL EPERM");
	check(mmap(NULL, 4096, PROT_READ, MAP_SHARED, pa->fd, VGPU_MMAP_QHDR) ==
			      MAP_FAILED &&
		      errno == EPERM,
	      "the parent's file in the child: mmap EPERM");
	check(mincore(pa->pool, 4096, &v) < 0 && errno == ENOMEM,
	      "the parent's pool is not mapped in the child (VM_DONTCOPY)");
	if (sess_open(&b, why, sizeof(why))) {
		check(0, "a session of the child's own");
		return (int)failed;
	}
	check(b.s.queue != pa->s.queue && b.s.session != pa->s.session,
	      "its own queue %u and session %u", b.s.queue, b.s.session);
	check(sess_run(&b,
		       copy(VGPU_OP_COPY_D2H, dptr_a, b.s.pool_region, 0, 4096),
		       NULL) != VGPU_S_OK,
	      "the parent's device memory: refused");
	check(sess_run(&b,
		       copy(VGPU_OP_COPY_H2D, 0, pa->s.pool_region, 0, 4096),
		       NULL) == VGPU_S_BAD_HANDLE,
	      "the parent's pool region: BAD_HANDLE");
	check(sess_run(&b,
		       (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_FREE,
					  .arg = { dptr_a } },
		       &res) != VGPU_S_OK,
	      "freeing the parent's allocation: refused");
	close(b.fd);
	return (int)failed;
}

int cmd_isolate(void)
{
	struct sess a;
	char why[160];
	uint64_t dptr = 0;
	int rc = sess_open(&a, why, sizeof(why)), st = 0;
	pid_t pid;

	if (rc) {
		printf("ISOLATE-RESULT: %s %s\n", rc > 0 ? "SKIP" : "FAIL",
		       rc > 0 ? why : strerror(errno));
		return rc < 0;
	}
	fill(a.pool, 4096, 3);
	check(sess_run(&a,
		       (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_ALLOC,
					  .arg = { 4096 } },
		       &dptr) == VGPU_S_OK &&
		      sess_run(&a,
			       copy(VGPU_OP_COPY_H2D, dptr, a.s.pool_region, 0,
				    4096),
			       NULL) == VGPU_S_OK,
	      "the parent's secret in device memory");
	pid = fork();
	if (pid == 0)
		_exit(isolate_child(&a, dptr));
	waitpid(pid, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "the child's checks (%d failed)", WEXITSTATUS(st));
	check(sess_run(&a,
		       copy(VGPU_OP_COPY_D2H, dptr, a.s.pool_region, 4096,
			    4096),
		       NULL) == VGPU_S_OK &&
		      memcmp(a.pool, a.pool + 4096, 4096) == 0,
	      "the parent's data intact, its session working");
	close(a.fd);
	printf("ISOLATE-RESULT: %s %u passed, %u failed\n",
	       failed ? "FAIL" : "PASS", passed, failed);
	return failed != 0;
}

/* One session's pool, filled, to the device and back into a RAM region,
 * then from the device into the zeroed pool: both intact? */
static int grant_round(struct sess *q, unsigned int seed)
{
	struct vgpu_ioc_region a = { .bytes = q->s.pool_len };
	uint64_t len = q->s.pool_len, dptr = 0;
	int ok = 0;
	uint8_t *p;

	if (sess_run(q,
		     (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_ALLOC,
					.arg = { len } },
		     &dptr) != VGPU_S_OK ||
	    ioctl(q->fd, VGPU_IOC_REGION_ALLOC, &a) < 0)
		return 0;
	p = mmap(NULL, a.len, PROT_READ | PROT_WRITE, MAP_SHARED, q->fd,
		 (off_t)a.mmap_off);
	if (p == MAP_FAILED)
		return 0;
	fill(q->pool, len, seed);
	if (sess_run(q, copy(VGPU_OP_COPY_H2D, dptr, q->s.pool_region, 0, len),
		     NULL) == VGPU_S_OK &&
	    sess_run(q, copy(VGPU_OP_COPY_D2H, dptr, a.region, 0, len), NULL) ==
		    VGPU_S_OK &&
	    memcmp(p, q->pool, len) == 0) {
		memset(q->pool, 0, len);
		ok = sess_run(q,
			      copy(VGPU_OP_COPY_D2H, dptr, q->s.pool_region, 0,
				   len),
			      NULL) == VGPU_S_OK &&
		     memcmp(p, q->pool, len) == 0;
	}
	munmap(p, a.len);
	return ok;
}

/* One more session with a pool, held until the process is killed (the
 * lab powers the guest off under it: the domain dies with it granted). */
static int grant_hold(void)
{
	char why[160];
	struct sess q;

	if (sess_open_pool(&q, 256 << 10, why, sizeof(why))) {
		printf("GRANT-HOLD: FAIL %s\n", strerror(errno));
		return 1;
	}
	printf("GRANT-HOLD: granted=%d\n",
	       (q.s.pool_flags & VGPU_POOL_GRANTED) != 0);
	fflush(stdout);
	for (;;)
		pause();
}

/*
 * The pinned pool (ABI 1.5: on Xen, dom0 memory the emulator grants):
 * @n sessions one after another, each with a 256 KiB pool whose data must
 * survive the device both ways. Prints how many pools were granted; the
 * lab decides what it expected (0 with grant_pool=0). With @hold, then
 * one more session held until the process dies.
 */
int cmd_grant(unsigned int n, int hold)
{
	unsigned int i, granted = 0, intact = 0;
	char why[160];
	struct sess q;

	for (i = 0; i < n; i++) {
		if (sess_open_pool(&q, 256 << 10, why, sizeof(why))) {
			check(0, "session %u: %s", i, strerror(errno));
			break;
		}
		granted += (q.s.pool_flags & VGPU_POOL_GRANTED) != 0;
		intact += grant_round(&q, i);
		sess_close(&q);
	}
	check(intact == n, "%u of %u pools intact through the device both ways",
	      intact, n);
	printf("GRANT-POOL: sessions=%u granted=%u intact=%u pool_bytes=%u\n",
	       n, granted, intact, 256u << 10);
	fflush(stdout);
	return hold && !failed ? grant_hold() : failed != 0;
}
