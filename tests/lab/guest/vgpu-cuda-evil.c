// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu-cuda-lab evil: hostile sessions from guest user space through the
 * mapped queue: stale, made-up and foreign handles, launches whose
 * parameters do not match the layout (or whose continuation slots are
 * not yet submitted), garbage entries, bad module images, privileged
 * commands on the session queue, more sessions than the device allows,
 * a kernel that faults, a tail past the ring. Every one must end in an
 * error status (or a defined wait), and the device serves on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vgpu-cuda-lab.h"

static const char *sname(uint32_t st)
{
	static const char *const n[] = {
		"OK",	     "INVALID",	     "NO_MEMORY",     "BAD_ADDRESS",
		"BAD_GPA",   "BAD_HANDLE",   "NOT_SUPPORTED", "LIMIT",
		"FAULT",     "SESSION_LOST", "TIMEOUT",	      "BAD_IMAGE",
		"NOT_FOUND", "BAD_PARAMS",   "RESET",	      "BACKEND",
		"PRIVILEGED"
	};

	return st < sizeof(n) / sizeof(n[0]) ? n[st] : "(no completion)";
}

static struct vgpu_sqe alloc(uint64_t bytes)
{
	return (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_ALLOC,
				  .arg = { bytes } };
}

/* Launch @e with its parameters; the status. */
static uint32_t run_launch(struct sess *q, struct vgpu_sqe e, const void *p,
			   uint32_t slots)
{
	struct vgpu_cqe c;
	uint16_t cid = q->cid;

	push_launch(q, e, p, slots);
	sess_publish(q);
	if (sess_reap(q, &c, 20000000000ull) || c.cid != cid)
		return 0xffff;
	return VGPU_CQE_CODE(c.status);
}

static void stale(struct sess *q, const void *img, size_t len)
{
	uint64_t d = 0, m = 0, f = 0, s = 0, ev = 0;
	uint32_t st, r = q->s.pool_region;
	struct vgpu_sqe e;

	sess_run(q, alloc(4096), &d);
	sess_run(q,
		 (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_FREE, .arg = { d } },
		 NULL);
	st = sess_run(q, copy(VGPU_OP_COPY_D2H, d, r, 0, 4096), NULL);
	check(st == VGPU_S_BAD_ADDRESS, "a freed allocation: %s", sname(st));
	st = sess_run(q,
		      (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_FREE,
					 .arg = { d } },
		      NULL);
	check(st != VGPU_S_OK, "freed twice: %s", sname(st));
	load_module(q, img, len, &m);
	get_func(q, (uint32_t)m, "_Z11null_kernelv", &f, NULL);
	sess_run(q, obj(VGPU_OP_MODULE_UNLOAD, (uint32_t)m, 0, 0), NULL);
	st = get_func(q, (uint32_t)m, "_Z11null_kernelv", NULL, NULL);
	check(st == VGPU_S_BAD_HANDLE, "an unloaded module: %s", sname(st));
	st = run_launch(q, launch((uint32_t)f, 0, 1, 1, 0), NULL, 0);
	check(st == VGPU_S_BAD_HANDLE, "a function of an unloaded module: %s",
	      sname(st));
	sess_run(q, obj(VGPU_OP_STREAM_CREATE, 0, 0, 0), &s);
	sess_run(q, obj(VGPU_OP_STREAM_DESTROY, (uint32_t)s, 0, 0), NULL);
	sess_run(q, obj(VGPU_OP_EVENT_CREATE, 0, 0, 0), &ev);
	sess_run(q, obj(VGPU_OP_EVENT_DESTROY, (uint32_t)ev, 0, 0), NULL);
	sess_run(q, alloc(4096), &d);
	e = op(VGPU_OP_MEMSET);
	e.memset.dptr = d;
	e.memset.count = 16;
	e.memset.elem = 4;
	e.memset.stream = (uint32_t)s;
	st = sess_run(q, e, NULL);
	check(st == VGPU_S_BAD_HANDLE, "a destroyed stream: %s", sname(st));
	st = sess_run(q, obj(VGPU_OP_EVENT_RECORD, (uint32_t)ev, 0, 0), NULL);
	check(st == VGPU_S_BAD_HANDLE, "a destroyed event: %s", sname(st));
	/* (stream 0 is the session's default stream: no made-up handle) */
	for (uint32_t h = 0; h < 3; h++) {
		uint32_t v = h == 0 ? 0 : h == 1 ? 0xffffffffu : 0x12345u;

		check(run_launch(q, launch(v, 0, 1, 1, 0), NULL, 0) ==
				      VGPU_S_BAD_HANDLE &&
			      (!v ||
			       sess_run(q, obj(VGPU_OP_STREAM_SYNC, v, 0, 0),
					NULL) == VGPU_S_BAD_HANDLE) &&
			      sess_run(q, copy(VGPU_OP_COPY_H2D, d, v, 0, 16),
				       NULL) == VGPU_S_BAD_HANDLE,
		      "made-up handle %#x as function, stream, region: BAD_HANDLE",
		      v);
	}
}

/* A second session of this process: its handles name nothing here. */
static void foreign(struct sess *q, const void *img, size_t len)
{
	uint64_t d = 0, m = 0, f = 0;
	struct sess o;
	struct vgpu_sqe e;
	uint32_t st;

	if (sess_open(&o)) {
		check(0, "a second session: %s", strerror(errno));
		return;
	}
	sess_run(&o, alloc(4096), &d);
	load_module(&o, img, len, &m);
	get_func(&o, (uint32_t)m, "_Z11null_kernelv", &f, NULL);
	st = sess_run(q, copy(VGPU_OP_COPY_D2H, d, q->s.pool_region, 0, 16),
		      NULL);
	check(st == VGPU_S_BAD_ADDRESS, "the other session's memory: %s",
	      sname(st));
	st = run_launch(q, launch((uint32_t)f, 0, 1, 1, 0), NULL, 0);
	check(st == VGPU_S_BAD_HANDLE, "the other session's function: %s",
	      sname(st));
	st = get_func(q, (uint32_t)m, "_Z11null_kernelv", NULL, NULL);
	check(st == VGPU_S_BAD_HANDLE, "the other session's module: %s",
	      sname(st));
	e = op(VGPU_OP_NOP);
	e.session = o.s.session;
	st = sess_run(q, e, NULL);
	check(st != VGPU_S_OK, "an entry naming the other session: %s",
	      sname(st));
	check(sess_run(&o, op(VGPU_OP_NOP), NULL) == VGPU_S_OK,
	      "the other session unharmed");
	sess_close(&o);
}

/* Parameter blobs against vec_add's layout. */
static void params(struct sess *q, uint32_t f, uint32_t pb)
{
	uint64_t d = 0, p[8] = { 0 };
	struct vgpu_sqe e;
	struct vgpu_cqe c;
	uint32_t st, st2, slots = (pb + 63) / 64;
	int rc;

	sess_run(q, alloc(4096), &d);
	p[0] = p[1] = p[2] = d;
	p[3] = 16;
	st = run_launch(q, launch(f, 0, 1, 16, pb - 4), p, slots);
	check(st == VGPU_S_BAD_PARAMS, "param_len %u (layout %u): %s", pb - 4,
	      pb, sname(st));
	st = run_launch(q, launch(f, 0, 1, 16, pb + 8), p, (pb + 8 + 63) / 64);
	check(st == VGPU_S_BAD_PARAMS, "param_len %u: %s", pb + 8, sname(st));
	st = run_launch(q, launch(f, 0, 1, 16, 0), NULL, 0);
	check(st == VGPU_S_BAD_PARAMS, "param_len 0: %s", sname(st));
	/* over VGPU_PARAM_MAX: no continuation slots taken; the NOP after
	 * it is a command of its own */
	push_launch(q, launch(f, 0, 1, 16, VGPU_PARAM_MAX + 64), NULL, 0);
	sess_push(q, op(VGPU_OP_NOP));
	sess_publish(q);
	rc = sess_reap(q, &c, 20000000000ull);
	st = rc ? 0xffff : VGPU_CQE_CODE(c.status);
	rc |= sess_reap(q, &c, 20000000000ull);
	st2 = rc ? 0xffff : VGPU_CQE_CODE(c.status);
	check(st != VGPU_S_OK && st != 0xffff && st2 == VGPU_S_OK,
	      "param_len %u: %s, the entry after it a command of its own (%s)",
	      VGPU_PARAM_MAX + 64, sname(st), sname(st2));
	e = launch(f, 0, 1, 2048, pb);
	st = run_launch(q, e, p, slots);
	e = launch(f, 0, 0, 16, pb);
	st2 = run_launch(q, e, p, slots);
	e = launch(f, 0, 1, 16, pb);
	e.launch.shmem = 1u << 20;
	check(st == VGPU_S_INVALID && st2 == VGPU_S_INVALID &&
		      run_launch(q, e, p, slots) == VGPU_S_INVALID,
	      "2048 threads, an empty grid, 1 MiB shared memory: INVALID");
	e = launch(f, 0, 1, 16, pb);
	e.launch.rsvd[1] = 1;
	st = run_launch(q, e, p, slots);
	check(st == VGPU_S_INVALID, "a reserved field set: %s", sname(st));
	/* the tail covers the LAUNCH but not its parameters: it waits */
	push_launch(q, launch(f, 0, 1, 16, pb), p, slots);
	__atomic_store_n(&q->h->sq_tail.v, q->tail - slots, __ATOMIC_RELEASE);
	ioctl(q->fd, VGPU_IOC_DOORBELL);
	rc = sess_reap(q, &c, 300000000ull);
	check(rc == -ETIMEDOUT,
	      "continuation slots past the tail: nothing runs (%s)",
	      rc ? strerror(-rc) : sname(VGPU_CQE_CODE(c.status)));
	sess_publish(q);
	if (rc == -ETIMEDOUT)
		rc = sess_reap(q, &c, 20000000000ull);
	check(rc == 0 && VGPU_CQE_CODE(c.status) == VGPU_S_OK,
	      "... and runs once the tail covers them");
}

/* Random entries (never a LAUNCH, which would swallow the next ones as
 * its parameters; never QUIET): each completes exactly once. */
static void garbage(struct sess *q, unsigned int n)
{
	unsigned int sent = 0, got = 0, ok = 0, i;
	unsigned char seen[1024] = { 0 };
	uint16_t cid0 = q->cid;
	struct vgpu_cqe c;
	int dup = 0;

	srand(9);
	while (got < n) {
		while (sent < n && sent - got < q->s.depth / 2) {
			struct vgpu_sqe e;

			for (i = 0; i < sizeof(e); i++)
				((uint8_t *)&e)[i] = (uint8_t)rand();
			if (e.opcode == VGPU_OP_LAUNCH)
				e.opcode = 0x7f;
			e.flags = 0;
			e.session = 0;
			sess_push(q, e);
			sent++;
		}
		sess_publish(q);
		if (sess_reap(q, &c, 20000000000ull))
			break;
		got++;
		ok += VGPU_CQE_CODE(c.status) == VGPU_S_OK;
		i = (uint16_t)(c.cid - cid0);
		if (i >= n || seen[i]++)
			dup++;
	}
	check(got == n && dup == 0,
	      "%u garbage entries: %u completions, each once (%u OK, %u errors)",
	      n, got, ok, got - ok);
}

static void images(struct sess *q, const uint8_t *img, size_t len)
{
	uint8_t *b = malloc(65536);
	uint32_t r = q->s.pool_region, st[8];
	uint64_t m, big = 1ull << 62;

	st[0] = load_module(q, img, len / 2, &m);
	memcpy(b, img, 64);
	memcpy(b + 8, &big, 8); /* the fatbin header's size */
	st[1] = load_module(q, b, 64, &m);
	for (int i = 0; i < 65536; i++)
		b[i] = (uint8_t)(i * 7919 >> 3);
	memcpy(b, "\177ELF\2\1\1", 7);
	st[2] = load_module(q, b, 65536, &m);
	b[0] = 0;
	st[3] = load_module(q, b, 65536, &m);
	st[4] = sess_run(q, image(r, 0, 0), &m);
	st[5] = sess_run(q, image(r, 0, 1ull << 30), &m);
	st[6] = sess_run(q, image(r, q->s.pool_len - 8, 64), &m);
	st[7] = sess_run(q, image(r, ~0ull - 15, 32), &m);
	check(st[0] != VGPU_S_OK && st[1] != VGPU_S_OK && st[2] != VGPU_S_OK &&
		      st[3] != VGPU_S_OK,
	      "truncated fatbin: %s, fatbin of 2^62 bytes: %s, corrupt ELF: %s, random bytes: %s",
	      sname(st[0]), sname(st[1]), sname(st[2]), sname(st[3]));
	check(st[4] != VGPU_S_OK &&
		      (st[5] == VGPU_S_LIMIT || st[5] == VGPU_S_INVALID) &&
		      st[6] == VGPU_S_INVALID && st[7] == VGPU_S_INVALID,
	      "empty: %s, 1 GiB: %s, past the region: %s, wrapping: %s",
	      sname(st[4]), sname(st[5]), sname(st[6]), sname(st[7]));
	check(load_module(q, img, len, &m) == VGPU_S_OK,
	      "the good fatbin loads after them");
	free(b);
}

static void privileged(struct sess *q)
{
	static const uint8_t ops[] = {
		VGPU_OP_SESSION_OPEN, VGPU_OP_SESSION_CLOSE, VGPU_OP_REGION_ADD,
		VGPU_OP_REGION_DEL,   VGPU_OP_MEMCPY_H2D,    VGPU_OP_MEMCPY_D2H,
		VGPU_OP_GET_INFO
	};
	unsigned int i, bad = 0;

	for (i = 0; i < sizeof(ops); i++) {
		struct vgpu_sqe e = op(ops[i]);
		uint32_t st;

		if (ops[i] == VGPU_OP_REGION_ADD) {
			e.region.list_gpa = 0x100000;
			e.region.nents = 1;
			e.region.bytes = 4096;
		} else if (ops[i] >= VGPU_OP_MEMCPY_H2D || ops[i] == 1) {
			e.arg[1] = 4096;
			e.sgl_gpa = 0x100000;
			e.sgl_nents = 1;
		} else {
			e.obj.obj = ops[i] == VGPU_OP_SESSION_OPEN ?
					    VGPU_NO_QUEUE :
					    1;
		}
		st = sess_run(q, e, NULL);
		if (st != VGPU_S_PRIVILEGED) {
			printf("# opcode %#x on the session queue: %s\n",
			       ops[i], sname(st));
			bad++;
		}
	}
	check(bad == 0,
	      "SESSION_OPEN/CLOSE, REGION_ADD/DEL, SGL copies, GET_INFO on the session queue: PRIVILEGED");
}

/* More sessions than the device allows: refused, then all usable again. */
static void many(void)
{
	static struct sess s[40];
	int n = 0, err = 0, i;

	for (i = 0; i < 40; i++) {
		int rc = sess_open(&s[i]);

		if (rc) {
			err = -rc;
			if (s[i].fd >= 0)
				close(s[i].fd);
			break;
		}
		n++;
	}
	check(n > 1 && n < 40 && err,
	      "%d sessions at once, the next refused (%s)", n, strerror(err));
	for (i = 0; i < n; i++)
		sess_close(&s[i]);
}

/* A kernel on pointers to nowhere: FAULT, then SESSION_LOST. */
static void fault(struct sess *q, uint32_t f, uint32_t pb)
{
	uint64_t p[4] = { 0x1000, 0x2000, 0x3000, 1024 };
	uint32_t st =
		run_launch(q, launch(f, 0, 4, 256, pb), p, (pb + 63) / 64);
	uint32_t st2 = sess_run(q, op(VGPU_OP_CTX_SYNC), NULL);

	check((st == VGPU_S_FAULT || st2 == VGPU_S_FAULT) &&
		      sess_run(q, op(VGPU_OP_NOP), NULL) == VGPU_S_SESSION_LOST,
	      "vec_add on pointers to nowhere: %s, sync %s, then SESSION_LOST",
	      sname(st), sname(st2));
}

/* A tail beyond the ring: the queue stops (FATAL, visible), nothing
 * else does. */
static void tail(void)
{
	struct vgpu_ioc_wait w = { .timeout_ns = 5000000000ull };
	uint32_t st = 0;
	struct sess q;
	int rc, i;

	if (sess_open(&q)) {
		check(0, "a session for the tail: %s", strerror(errno));
		return;
	}
	__atomic_store_n(&q.h->sq_tail.v, q.s.depth + 7, __ATOMIC_RELEASE);
	ioctl(q.fd, VGPU_IOC_DOORBELL);
	/* the device says so in the header (watched for up to 5 s) */
	for (i = 0; i < 5000 &&
		    !(st = __atomic_load_n(&q.h->status.v, __ATOMIC_ACQUIRE));
	     i++)
		usleep(1000);
	rc = ioctl(q.fd, VGPU_IOC_WAIT, &w) < 0 ? errno : 0;
	check(st == VGPU_QERR_TAIL,
	      "a tail past the ring: the queue's status %u (TAIL is %u)", st,
	      VGPU_QERR_TAIL);
	check(rc == EIO, "... and VGPU_IOC_WAIT says EIO: %s", strerror(rc));
	sess_close(&q);
}

int cmd_evil(const void *img, size_t len)
{
	uint64_t m = 0, f = 0;
	uint32_t pb = 0, st;
	struct sess q;

	if (sess_open(&q)) {
		printf("CUDA-EVIL-RESULT: FAIL no session: %s\n",
		       strerror(errno));
		return 1;
	}
	printf("session %u on queue %u, depth %u\n", q.s.session, q.s.queue,
	       q.s.depth);
	stale(&q, img, len);
	foreign(&q, img, len);
	st = load_module(&q, img, len, &m);
	if (st == VGPU_S_OK)
		st = get_func(&q, (uint32_t)m, "_Z7vec_addPKfS0_Pfi", &f, &pb);
	check(st == VGPU_S_OK && pb > 4, "vec_add: %s, %u parameter bytes",
	      sname(st), pb);
	params(&q, (uint32_t)f, pb);
	garbage(&q, 300);
	images(&q, img, len);
	privileged(&q);
	many();
	fault(&q, (uint32_t)f, pb);
	sess_close(&q);
	tail();
	if (sess_open(&q) == 0) {
		check(sess_run(&q, op(VGPU_OP_NOP), NULL) == VGPU_S_OK &&
			      sess_run(&q, alloc(1 << 20), &m) == VGPU_S_OK,
		      "a new session works after all that");
		sess_close(&q);
	} else {
		check(0, "a new session after all that: %s", strerror(errno));
	}
	printf("CUDA-EVIL-RESULT: %s %u passed, %u failed\n",
	       failed ? "FAIL" : "PASS", passed, failed);
	return failed != 0;
}
