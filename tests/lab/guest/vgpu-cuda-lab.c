// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu-cuda-lab: CUDA sessions from guest user space, driven by hand
 * through the queue /dev/vgpu_stub maps into the process (ABI 1.2), the
 * way a hostile or buggy library could drive them.
 *
 *   vgpu-cuda-lab isolate FATBIN   two processes cannot name each other's
 *                                  handles or memory; a process killed
 *                                  mid-stream frees its session while
 *                                  another keeps working
 *   vgpu-cuda-lab evil FATBIN      hostile sessions (vgpu-cuda-evil.c)
 *
 * FATBIN: the project's test kernels (nvcc -fatbin). Prints "ok"/"not ok"
 * lines and "CUDA-ISOLATE-RESULT:" / "CUDA-EVIL-RESULT: PASS|FAIL".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vgpu-cuda-lab.h"

unsigned int passed, failed;

void check(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", ok ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (ok)
		passed++;
	else
		failed++;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* 0 or -errno. */
int sess_open(struct sess *q)
{
	memset(q, 0, sizeof(*q));
	q->fd = open("/dev/vgpu_stub", O_RDWR);
	if (q->fd < 0 || ioctl(q->fd, VGPU_IOC_SESSION, &q->s) < 0)
		return -errno;
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
		return -errno;
	return 0;
}

void sess_close(struct sess *q)
{
	munmap(q->h, 4096);
	munmap(q->sq, q->s.sq_bytes);
	munmap((void *)q->cq, q->s.cq_bytes);
	munmap(q->pool, q->s.pool_len);
	close(q->fd);
}

void sess_push(struct sess *q, struct vgpu_sqe e)
{
	e.cid = q->cid++;
	q->sq[q->tail % q->s.depth] = e;
	q->tail++;
}

/* Publish the tail; ring only when the device sleeps. */
void sess_publish(struct sess *q)
{
	__atomic_store_n(&q->h->sq_tail.v, q->tail, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&q->h->dev_flags.v, __ATOMIC_ACQUIRE) &
	    VGPU_DEV_NEED_DOORBELL)
		ioctl(q->fd, VGPU_IOC_DOORBELL);
}

/* The next completion: a short poll, then VGPU_IOC_WAIT. 0 or -errno
 * (-ETIMEDOUT after @timeout_ns). */
int sess_reap(struct sess *q, struct vgpu_cqe *out, uint64_t timeout_ns)
{
	const struct vgpu_cqe *c = &q->cq[q->head % q->s.depth];
	uint16_t phase = (q->head / q->s.depth) & 1 ? 0 : 1;
	struct vgpu_ioc_wait w = { .head = q->head, .timeout_ns = timeout_ns };
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
uint32_t sess_run(struct sess *q, struct vgpu_sqe e, uint64_t *res)
{
	struct vgpu_cqe c;
	uint16_t cid = q->cid;
	int rc;

	sess_push(q, e);
	sess_publish(q);
	rc = sess_reap(q, &c, 20000000000ull);
	if (rc)
		return 0x10000u - (uint32_t)rc;
	if (c.cid != cid)
		return 0xfffe;
	if (res)
		*res = c.result;
	return VGPU_CQE_CODE(c.status);
}

struct vgpu_sqe op(uint8_t opcode)
{
	return (struct vgpu_sqe){ .opcode = opcode };
}

struct vgpu_sqe copy(uint8_t opcode, uint64_t dptr, uint32_t region,
		     uint64_t off, uint64_t len)
{
	struct vgpu_sqe e = op(opcode);

	e.copy.dptr = dptr;
	e.copy.region = region;
	e.copy.offset = off;
	e.copy.len = len;
	return e;
}

struct vgpu_sqe obj(uint8_t opcode, uint32_t o, uint32_t o2, uint32_t stream)
{
	struct vgpu_sqe e = op(opcode);

	e.obj.obj = o;
	e.obj.obj2 = o2;
	e.obj.stream = stream;
	return e;
}

struct vgpu_sqe image(uint32_t region, uint64_t off, uint64_t len)
{
	struct vgpu_sqe e = op(VGPU_OP_MODULE_LOAD);

	e.buf.region = region;
	e.buf.in_off = off;
	e.buf.in_len = len;
	return e;
}

struct vgpu_sqe launch(uint32_t func, uint32_t stream, uint32_t grid,
		       uint32_t block, uint32_t param_len)
{
	struct vgpu_sqe e = op(VGPU_OP_LAUNCH);

	e.launch.func = func;
	e.launch.stream = stream;
	e.launch.grid[0] = grid;
	e.launch.grid[1] = e.launch.grid[2] = 1;
	e.launch.block[0] = block;
	e.launch.block[1] = e.launch.block[2] = 1;
	e.launch.param_len = param_len;
	return e;
}

/* A LAUNCH entry and @slots continuation slots from @params (its
 * param_len bytes, zero-padded; whatever @slots says, so that a test
 * can announce more or fewer than it writes). */
void push_launch(struct sess *q, struct vgpu_sqe e, const void *params,
		 uint32_t slots)
{
	uint32_t i, n, len = e.launch.param_len;

	sess_push(q, e);
	for (i = 0; i < slots; i++) {
		uint8_t *s = (uint8_t *)&q->sq[q->tail % q->s.depth];

		memset(s, 0, 64);
		n = len > 64 * i ? len - 64 * i : 0;
		if (params && n)
			memcpy(s, (const uint8_t *)params + 64 * i,
			       n < 64 ? n : 64);
		q->tail++;
	}
}

uint32_t load_module(struct sess *q, const void *img, size_t len, uint64_t *mod)
{
	memcpy(q->pool + POOL_IMAGE, img, len);
	return sess_run(q, image(q->s.pool_region, POOL_IMAGE, len), mod);
}

uint32_t get_func(struct sess *q, uint32_t mod, const char *name,
		  uint64_t *func, uint32_t *param_bytes)
{
	struct vgpu_sqe e = op(VGPU_OP_FUNC_GET);
	uint32_t st;

	memcpy(q->pool + POOL_NAME, name, strlen(name));
	e.buf.region = q->s.pool_region;
	e.buf.obj = mod;
	e.buf.in_off = POOL_NAME;
	e.buf.in_len = strlen(name);
	e.buf.out_off = POOL_OUT;
	e.buf.out_len = sizeof(struct vgpu_func_info);
	st = sess_run(q, e, func);
	if (param_bytes)
		*param_bytes = ((struct vgpu_func_info *)(q->pool + POOL_OUT))
				       ->param_bytes;
	return st;
}

void *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long n;
	void *p;

	if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) <= 0 ||
	    n > (1 << 20))
		return NULL;
	rewind(f);
	p = malloc((size_t)n);
	if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return p;
}

/* What one process owns, as another could name it. */
struct owned {
	uint64_t dptr, mod, func, stream, event;
	uint32_t region, param_bytes;
};

static void own(struct sess *a, const void *img, size_t len, struct owned *o)
{
	int ok;

	memset(o, 0, sizeof(*o));
	memset(a->pool + POOL_DATA, 0x5a, 65536);
	check(sess_run(a,
		       (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_ALLOC,
					  .arg = { 65536 } },
		       &o->dptr) == VGPU_S_OK &&
		      sess_run(a,
			       copy(VGPU_OP_COPY_H2D, o->dptr, a->s.pool_region,
				    POOL_DATA, 65536),
			       NULL) == VGPU_S_OK,
	      "A: a secret in device memory");
	ok = load_module(a, img, len, &o->mod) == VGPU_S_OK &&
	     get_func(a, (uint32_t)o->mod, "_Z7vec_addPKfS0_Pfi", &o->func,
		      &o->param_bytes) == VGPU_S_OK;
	check(ok, "A: module %llu, vec_add %llu (%u parameter bytes)",
	      (unsigned long long)o->mod, (unsigned long long)o->func,
	      o->param_bytes);
	ok = sess_run(a, obj(VGPU_OP_STREAM_CREATE, 0, 0, 0), &o->stream) ==
		     VGPU_S_OK &&
	     sess_run(a, obj(VGPU_OP_EVENT_CREATE, 0, 0, 0), &o->event) ==
		     VGPU_S_OK;
	check(ok, "A: stream %llu, event %llu", (unsigned long long)o->stream,
	      (unsigned long long)o->event);
	o->region = a->s.pool_region;
}

/* Process B, its own session, names A's handles: every one refused. */
static int foreign(const struct owned *o)
{
	struct sess b;
	struct vgpu_sqe e;
	uint64_t mine = 0, p[4] = { o->dptr, o->dptr, o->dptr, 16 };
	struct vgpu_cqe c;
	uint32_t r;

	failed = passed = 0;
	if (sess_open(&b)) {
		check(0, "B: a session of its own: %s", strerror(errno));
		return 1;
	}
	r = b.s.pool_region;
	check(sess_run(&b, copy(VGPU_OP_COPY_D2H, o->dptr, r, 0, 4096), NULL) ==
		      VGPU_S_BAD_ADDRESS,
	      "B: reading A's device memory: BAD_ADDRESS");
	check(sess_run(&b, copy(VGPU_OP_COPY_H2D, o->dptr, r, 0, 4096), NULL) ==
		      VGPU_S_BAD_ADDRESS,
	      "B: writing A's device memory: BAD_ADDRESS");
	check(sess_run(&b,
		       (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_FREE,
					  .arg = { o->dptr } },
		       NULL) != VGPU_S_OK,
	      "B: freeing A's allocation: refused");
	check(sess_run(&b,
		       (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_ALLOC,
					  .arg = { 4096 } },
		       &mine) == VGPU_S_OK,
	      "B: an allocation of its own");
	e = op(VGPU_OP_COPY_D2D);
	e.d2d.dst = mine;
	e.d2d.src = o->dptr;
	e.d2d.len = 4096;
	check(sess_run(&b, e, NULL) == VGPU_S_BAD_ADDRESS,
	      "B: A's memory into its own (D2D): BAD_ADDRESS");
	check(sess_run(&b, copy(VGPU_OP_COPY_H2D, mine, o->region, 0, 4096),
		       NULL) == VGPU_S_BAD_HANDLE,
	      "B: A's pinned pool region: BAD_HANDLE");
	check(get_func(&b, (uint32_t)o->mod, "_Z7vec_addPKfS0_Pfi", NULL,
		       NULL) == VGPU_S_BAD_HANDLE,
	      "B: a function of A's module: BAD_HANDLE");
	push_launch(&b, launch((uint32_t)o->func, 0, 1, 1, o->param_bytes), p,
		    (o->param_bytes + 63) / 64);
	sess_publish(&b);
	check(sess_reap(&b, &c, 20000000000ull) == 0 &&
		      VGPU_CQE_CODE(c.status) == VGPU_S_BAD_HANDLE,
	      "B: launching A's function on A's memory: BAD_HANDLE");
	check(sess_run(&b, obj(VGPU_OP_STREAM_SYNC, (uint32_t)o->stream, 0, 0),
		       NULL) == VGPU_S_BAD_HANDLE &&
		      sess_run(&b,
			       obj(VGPU_OP_EVENT_RECORD, (uint32_t)o->event, 0,
				   0),
			       NULL) == VGPU_S_BAD_HANDLE &&
		      sess_run(&b,
			       obj(VGPU_OP_EVENT_QUERY, (uint32_t)o->event, 0,
				   0),
			       NULL) == VGPU_S_BAD_HANDLE,
	      "B: A's stream and event: BAD_HANDLE");
	check(sess_run(&b,
		       obj(VGPU_OP_STREAM_DESTROY, (uint32_t)o->stream, 0, 0),
		       NULL) == VGPU_S_BAD_HANDLE &&
		      sess_run(&b,
			       obj(VGPU_OP_EVENT_DESTROY, (uint32_t)o->event, 0,
				   0),
			       NULL) == VGPU_S_BAD_HANDLE &&
		      sess_run(&b,
			       obj(VGPU_OP_MODULE_UNLOAD, (uint32_t)o->mod, 0,
				   0),
			       NULL) == VGPU_S_BAD_HANDLE,
	      "B: destroying A's stream, event, module: BAD_HANDLE");
	sess_close(&b);
	return failed != 0;
}

/* A's handles all still work and its secret is intact. */
static void still_mine(struct sess *a, const struct owned *o)
{
	uint64_t p[4] = { o->dptr, o->dptr + 4096, o->dptr + 8192, 1024 };
	struct vgpu_cqe c;
	float *out = (float *)(a->pool + POOL_DATA + 65536);
	int bad = 0;

	check(sess_run(a,
		       copy(VGPU_OP_COPY_D2H, o->dptr, a->s.pool_region,
			    POOL_DATA + 65536, 65536),
		       NULL) == VGPU_S_OK &&
		      memcmp(a->pool + POOL_DATA, a->pool + POOL_DATA + 65536,
			     65536) == 0,
	      "A: its secret intact");
	/* vec_add(a, b, c, n): a and b hold the secret's 0x5a5a5a5a floats */
	push_launch(a,
		    launch((uint32_t)o->func, (uint32_t)o->stream, 4, 256,
			   o->param_bytes),
		    p, (o->param_bytes + 63) / 64);
	sess_publish(a);
	check(sess_reap(a, &c, 20000000000ull) == 0 &&
		      VGPU_CQE_CODE(c.status) == VGPU_S_OK &&
		      sess_run(a,
			       obj(VGPU_OP_EVENT_RECORD, (uint32_t)o->event, 0,
				   (uint32_t)o->stream),
			       NULL) == VGPU_S_OK &&
		      sess_run(a,
			       obj(VGPU_OP_EVENT_SYNC, (uint32_t)o->event, 0,
				   0),
			       NULL) == VGPU_S_OK &&
		      sess_run(a,
			       copy(VGPU_OP_COPY_D2H, o->dptr + 8192,
				    a->s.pool_region, POOL_DATA + 65536, 4096),
			       NULL) == VGPU_S_OK,
	      "A: vec_add with its function on its stream, event synced");
	for (int i = 0; i < 1024; i++) {
		float x;

		memcpy(&x, a->pool + POOL_DATA, 4);
		bad += out[i] != x + x;
	}
	check(bad == 0, "A: vec_add's 1024 sums right (%d wrong)", bad);
}

#define VICTIM_BYTES (96ull << 20)

/* Process C: most of the quota, then memsets and null launches without
 * end, half a ring in flight; says so on @wfd once streaming. */
static void victim(int wfd, const void *img, size_t len)
{
	uint64_t d = 0, mod = 0, fn = 0, n = 0;
	struct vgpu_cqe c;
	struct sess q;
	int told = 0;

	if (sess_open(&q) ||
	    sess_run(&q,
		     (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_ALLOC,
					.arg = { VICTIM_BYTES } },
		     &d) != VGPU_S_OK ||
	    load_module(&q, img, len, &mod) != VGPU_S_OK ||
	    get_func(&q, (uint32_t)mod, "_Z11null_kernelv", &fn, NULL) !=
		    VGPU_S_OK)
		_exit(1);
	for (;;) {
		while (q.tail - q.head < q.s.depth / 2) {
			struct vgpu_sqe e = op(VGPU_OP_MEMSET);

			e.memset.dptr = d + (n % 96) * (1u << 20);
			e.memset.count = 1u << 18;
			e.memset.value = (uint32_t)n;
			e.memset.elem = 4;
			sess_push(&q, e);
			push_launch(&q, launch((uint32_t)fn, 0, 1, 1, 0), NULL,
				    0);
			n++;
		}
		sess_publish(&q);
		if (!told) { /* half a ring in flight: it streams */
			told = 1;
			if (write(wfd, "S", 1) != 1)
				_exit(3);
		}
		if (sess_reap(&q, &c, 20000000000ull) ||
		    VGPU_CQE_CODE(c.status) != VGPU_S_OK)
			_exit(2);
	}
}

static uint64_t free_quota(struct sess *a)
{
	uint64_t f = 0;

	return sess_run(a, op(VGPU_OP_MEM_GET_INFO), &f) == VGPU_S_OK ? f : 0;
}

/* @rounds memsets of A's scratch, each read back: the rounds that failed */
static int work(struct sess *a, uint64_t dptr, int rounds)
{
	int bad = 0;

	for (int r = 0; r < rounds; r++) {
		struct vgpu_sqe e = op(VGPU_OP_MEMSET);
		uint32_t *w = (uint32_t *)(a->pool + POOL_DATA);

		e.memset.dptr = dptr;
		e.memset.count = 1024;
		e.memset.value = 0x1000u + (uint32_t)r;
		e.memset.elem = 4;
		if (sess_run(a, e, NULL) != VGPU_S_OK ||
		    sess_run(a,
			     copy(VGPU_OP_COPY_D2H, dptr, a->s.pool_region,
				  POOL_DATA, 4096),
			     NULL) != VGPU_S_OK ||
		    w[0] != 0x1000u + (uint32_t)r || w[1023] != w[0])
			bad++;
	}
	return bad;
}

static void kill_mid_stream(struct sess *a, uint64_t scratch, const void *img,
			    size_t len)
{
	uint64_t base = free_quota(a), during, after;
	struct pollfd pf = { .events = POLLIN };
	int p[2], st = 0, bad;
	double t0;
	pid_t pid;
	char ch;

	check(base > VICTIM_BYTES, "free device memory before C: %llu MiB",
	      (unsigned long long)(base >> 20));
	if (pipe(p) < 0 || (pid = fork()) < 0) {
		check(0, "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		close(p[0]);
		victim(p[1], img, len);
	}
	close(p[1]);
	pf.fd = p[0];
	check(poll(&pf, 1, 60000) == 1 && read(p[0], &ch, 1) == 1,
	      "C (pid %d) streams memsets and launches", (int)pid);
	during = free_quota(a);
	check(during + VICTIM_BYTES <= base, "C's 96 MiB taken: %llu MiB free",
	      (unsigned long long)(during >> 20));
	bad = work(a, scratch, 50);
	check(bad == 0, "A works meanwhile: 50 memsets read back (%d wrong)",
	      bad);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	check(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
	      "C killed mid-stream (SIGKILL)");
	/* the driver closes C's session from a work item: watch the quota
	 * (A's rounds meanwhile count in the time) */
	t0 = now_s();
	bad = work(a, scratch, 20);
	while ((after = free_quota(a)) != base && now_s() - t0 < 30)
		usleep(20000);
	check(after == base,
	      "C's session freed: %llu MiB free again %.2f s after its death",
	      (unsigned long long)(after >> 20), now_s() - t0);
	check(bad == 0 && work(a, scratch, 20) == 0,
	      "A works on while and after C's session is torn down");
	close(p[0]);
}

static int cmd_isolate(const void *img, size_t len)
{
	struct owned o;
	struct sess a;
	int st = 0;
	pid_t pid;

	if (sess_open(&a)) {
		printf("CUDA-ISOLATE-RESULT: FAIL no session: %s\n",
		       strerror(errno));
		return 1;
	}
	printf("A: session %u on queue %u\n", a.s.session, a.s.queue);
	own(&a, img, len, &o);
	pid = fork();
	if (pid == 0)
		_exit(foreign(&o));
	waitpid(pid, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "B (pid %d, a process of its own) reached none of A's handles",
	      (int)pid);
	still_mine(&a, &o);
	kill_mid_stream(&a, o.dptr, img, len);
	sess_close(&a);
	printf("CUDA-ISOLATE-RESULT: %s %u passed, %u failed\n",
	       failed ? "FAIL" : "PASS", passed, failed);
	return failed != 0;
}

int main(int argc, char **argv)
{
	size_t len = 0;
	void *img = argc == 3 ? slurp(argv[2], &len) : NULL;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 3 ||
	    (strcmp(argv[1], "isolate") && strcmp(argv[1], "evil"))) {
		fprintf(stderr, "usage: vgpu-cuda-lab isolate|evil FATBIN\n");
		return 2;
	}
	if (!img) {
		printf("CUDA-LAB: cannot read %s\n", argv[2]);
		return 1;
	}
	return strcmp(argv[1], "isolate") ? cmd_evil(img, len) :
					    cmd_isolate(img, len);
}
