// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu-drv-test: the guest driver's failure paths and its 1.2 sessions,
 * run inside the lab's HVM guest (static, no libraries) against
 * /dev/vgpu_stub. Every subcommand ends with one "NAME-RESULT: PASS|FAIL"
 * (or SKIP) line that the lab grades.
 *
 *   limits          lengths and reserved fields the driver must refuse
 *   signals SECS    in-place compute and allocations under a 1 ms
 *                   SA_RESTART timer, across an emulator stall (dom0
 *                   stops the daemon): every result exactly once
 *   loop SECS       long commands, each result checked, until one fails:
 *                   prints the errno (emulator restart, unbind)
 *   hold            holds the device open (and a session where the device
 *                   has them) until SIGUSR1, then uses it: ENODEV wanted
 *   session N       a 1.2 session (vgpu-drv-session.c)
 *   isolate         two processes cannot reach each other's session
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "vgpu-drv-test.h"

unsigned int passed, failed;

void check(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s %u - ", ok ? "ok" : "not ok", passed + failed + 1);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (ok)
		passed++;
	else
		failed++;
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int open_dev(void)
{
	int fd = open("/dev/vgpu_stub", O_RDWR);

	if (fd < 0)
		perror("/dev/vgpu_stub");
	return fd;
}

/* One legacy command: 0 with *status, or -errno. */
int submit(int fd, struct vgpu_ioc_cmd *c)
{
	return ioctl(fd, VGPU_IOC_SUBMIT, c) < 0 ? -errno : 0;
}

/* A legacy command without a buffer: its status, or 0x10000 + errno. */
uint32_t cmd(int fd, uint8_t op, uint64_t a0, uint64_t a1, uint64_t a2,
	     uint64_t a3, uint64_t *result)
{
	struct vgpu_ioc_cmd c = { .opcode = op, .arg = { a0, a1, a2, a3 } };
	int rc = submit(fd, &c);

	if (rc)
		return 0x10000u + (uint32_t)-rc;
	if (result)
		*result = c.result;
	return c.status;
}

static int buf_errno(int fd, uint8_t op, void *buf, uint64_t len)
{
	struct vgpu_ioc_cmd c = { .opcode = op,
				  .buf = (uintptr_t)buf,
				  .len = len };

	return -submit(fd, &c);
}

/* Finding 11: lengths are checked before anything narrows them. */
static int cmd_limits(void)
{
	int fd = open_dev();
	uint8_t *p = aligned_alloc(4096, 65 * 4096);
	struct vgpu_ioc_cmd c = { .opcode = VGPU_OP_NOP };
	int e;

	if (fd < 0 || !p)
		return 1;
	memset(p, 0, 65 * 4096);
	e = buf_errno(fd, VGPU_OP_MEMCPY_D2H, p, (1ull << 44) + 1);
	check(e == E2BIG, "a 2^44 + 1 byte buffer: E2BIG (got %s)",
	      e ? strerror(e) : "success");
	e = buf_errno(fd, VGPU_OP_MEMCPY_D2H, p, (1ull << 32) + 4096);
	check(e == E2BIG, "a 4 GiB + 4 KiB buffer: E2BIG (got %s)",
	      e ? strerror(e) : "success");
	e = buf_errno(fd, VGPU_OP_MEMCPY_D2H, p, 65 * 4096);
	check(e == E2BIG, "65 pages: E2BIG (got %s)",
	      e ? strerror(e) : "success");
	e = buf_errno(fd, VGPU_OP_MEMCPY_D2H, (void *)-4096l, 8192);
	check(e == EINVAL,
	      "a buffer wrapping the address space: EINVAL (got %s)",
	      e ? strerror(e) : "success");
	e = buf_errno(fd, VGPU_OP_MEMCPY_D2H, p, 0);
	check(e == EINVAL, "an empty buffer: EINVAL (got %s)",
	      e ? strerror(e) : "success");
	c.rsvd1 = 1;
	e = -submit(fd, &c);
	check(e == EINVAL, "a reserved field set: EINVAL (got %s)",
	      e ? strerror(e) : "success");
	c.rsvd1 = 0;
	c.opcode = VGPU_OP_SESSION_OPEN;
	e = -submit(fd, &c);
	check(e == EINVAL, "a 1.2 opcode through the 1.1 call: EINVAL (got %s)",
	      e ? strerror(e) : "success");
	check(cmd(fd, VGPU_OP_NOP, 0, 0, 0, 0, NULL) == VGPU_S_OK,
	      "a NOP after it all");
	close(fd);
	free(p);
	printf("LIMITS-RESULT: %s %u passed, %u failed\n",
	       failed ? "FAIL" : "PASS", passed, failed);
	return failed != 0;
}

static volatile unsigned long ticks;

static void on_tick(int sig)
{
	(void)sig;
	ticks++;
}

/* A 1 ms timer whose handler restarts interrupted calls (SA_RESTART). */
static void start_ticks(long us)
{
	struct sigaction sa = { .sa_handler = on_tick, .sa_flags = SA_RESTART };
	struct itimerval it = { { 0, us }, { 0, us } };

	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
}

static void stop_ticks(void)
{
	struct itimerval it = { { 0, 0 }, { 0, 0 } };

	setitimer(ITIMER_REAL, &it, NULL);
}

#define BIG (8u << 20) /* bytes the long commands of loop run over */
#define SIG_BIG (2u << 20) /* and those of signals: more rounds */

struct sigrun {
	int fd;
	uint64_t dptr;
	unsigned long k, allocs;
	double worst;
	char why[160];
};

/* One round: add 1 in place, read word 0 back (k), alloc and free a page.
 * Every call must succeed and every result be exactly once. */
static int sig_round(struct sigrun *r)
{
	uint64_t res = 0, d = 0;
	double t0 = now_s(), dt;
	uint32_t st;

	st = cmd(r->fd, VGPU_OP_COMPUTE, VGPU_K_ADD1_U32, r->dptr, r->dptr,
		 SIG_BIG, &res);
	if (st != VGPU_S_OK || res != SIG_BIG / 4) {
		snprintf(r->why, sizeof(r->why),
			 "add1: status 0x%x result %llu", st,
			 (unsigned long long)res);
		return -1;
	}
	r->k++;
	st = cmd(r->fd, VGPU_OP_COMPUTE, VGPU_K_XOR_U32, 0, r->dptr, 4, &res);
	if (st != VGPU_S_OK || res != (uint32_t)r->k) {
		snprintf(
			r->why, sizeof(r->why),
			"word 0 is %llu after %lu adds (status 0x%x): a command ran twice or a result was someone else's",
			(unsigned long long)res, r->k, st);
		return -1;
	}
	st = cmd(r->fd, VGPU_OP_MEM_ALLOC, 4096, 0, 0, 0, &d);
	if (st == VGPU_S_OK)
		st = cmd(r->fd, VGPU_OP_MEM_FREE, d, 0, 0, 0, NULL);
	if (st != VGPU_S_OK) {
		snprintf(r->why, sizeof(r->why), "alloc/free: status 0x%x", st);
		return -1;
	}
	r->allocs++;
	dt = now_s() - t0;
	if (dt > r->worst)
		r->worst = dt;
	return 0;
}

/* Findings 7 and 8: signals while commands are in flight, and a stall of
 * the emulator (dom0 stops it for longer than any driver timeout). */
static int cmd_signals(double secs)
{
	struct sigrun r = { .fd = open_dev() };
	struct vgpu_ioc_cmd gi = { .opcode = VGPU_OP_GET_INFO };
	struct vgpu_info info;
	uint64_t rest = 0;
	double end;
	int bad = 0;

	if (r.fd < 0)
		return 1;
	gi.buf = (uintptr_t)&info;
	gi.len = sizeof(info);
	if (submit(r.fd, &gi) || gi.status ||
	    cmd(r.fd, VGPU_OP_MEM_ALLOC, SIG_BIG, 0, 0, 0, &r.dptr)) {
		printf("SIGNALS-RESULT: FAIL no device memory\n");
		return 1;
	}
	start_ticks(1000);
	printf("SIGNALS-RUNNING\n");
	end = now_s() + secs;
	while (!bad && now_s() < end)
		bad = sig_round(&r);
	stop_ticks();
	/* nothing leaked: the whole rest of the quota is still there */
	if (!bad && cmd(r.fd, VGPU_OP_MEM_ALLOC, info.devmem_quota - SIG_BIG, 0,
			0, 0, &rest) != VGPU_S_OK) {
		snprintf(r.why, sizeof(r.why),
			 "device memory leaked: the rest of the quota is gone");
		bad = 1;
	}
	close(r.fd);
	printf("SIGNALS: rounds=%lu signals=%lu allocs=%lu longest_round_ms=%.0f\n",
	       r.k, ticks, r.allocs, r.worst * 1e3);
	printf("SIGNALS-RESULT: %s %s\n", bad ? "FAIL" : "PASS",
	       bad ? r.why : "every result exactly once");
	return bad;
}

/* Long commands until one fails (or SECS pass): the errno it failed with. */
static int cmd_loop(double secs)
{
	int fd = open_dev();
	uint64_t dptr = 0, res;
	unsigned long k = 0;
	double end, t0 = 0;
	uint32_t st = VGPU_S_OK;

	if (fd < 0 || cmd(fd, VGPU_OP_MEM_ALLOC, BIG, 0, 0, 0, &dptr)) {
		printf("LOOP-RESULT: FAIL no device memory\n");
		return 1;
	}
	printf("LOOP-RUNNING\n");
	end = now_s() + secs;
	while (now_s() < end) {
		t0 = now_s();
		st = cmd(fd, VGPU_OP_COMPUTE, VGPU_K_ADD1_U32, dptr, dptr, BIG,
			 &res);
		if (st != VGPU_S_OK)
			break;
		k++;
		st = cmd(fd, VGPU_OP_COMPUTE, VGPU_K_XOR_U32, 0, dptr, 4, &res);
		if (st != VGPU_S_OK)
			break;
		if (res != (uint32_t)k) {
			printf("LOOP-RESULT: FAIL word 0 is %llu after %lu adds\n",
			       (unsigned long long)res, k);
			return 1;
		}
	}
	if (st < 0x10000u) {
		printf("LOOP-RESULT: FAIL no error in %.0f s (status %u)\n",
		       secs, st);
		return 1;
	}
	printf("LOOP-RESULT: errno=%s after %lu rounds, the failing call took %.1f s\n",
	       strerrorname_np((int)(st - 0x10000u)), k, now_s() - t0);
	/* the same file after the error: a clear answer, never a hang */
	st = cmd(fd, VGPU_OP_NOP, 0, 0, 0, 0, NULL);
	printf("LOOP-AFTER: %s\n",
	       st < 0x10000u ? "status ok" :
			       strerrorname_np((int)(st - 0x10000u)));
	close(fd);
	return 0;
}

static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

/* Holds the device (and a session, where there are sessions) across an
 * unbind; then every call must say ENODEV, and the mapped pages must
 * still be readable (they outlive the device until munmap). */
static int cmd_hold(void)
{
	struct vgpu_ioc_session s = { 0 };
	struct vgpu_ioc_wait w = { 0 };
	struct vgpu_ioc_stats st;
	int fd = open_dev(), has_session, e1, e2, e3;
	volatile struct vgpu_qhdr *h = MAP_FAILED;

	if (fd < 0)
		return 1;
	signal(SIGUSR1, on_usr1);
	has_session = ioctl(fd, VGPU_IOC_SESSION, &s) == 0;
	if (has_session)
		h = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 VGPU_MMAP_QHDR);
	printf("HOLD-RUNNING session=%d\n", has_session);
	while (!go)
		pause();
	e1 = cmd(fd, VGPU_OP_NOP, 0, 0, 0, 0, NULL);
	e2 = ioctl(fd, VGPU_IOC_STATS, &st) < 0 ? errno : 0;
	e3 = ioctl(fd, VGPU_IOC_WAIT, &w) < 0 ? errno : 0;
	if (h != MAP_FAILED)
		printf("HOLD: header still mapped, sq_tail %u\n", h->sq_tail.v);
	printf("HOLD-RESULT: %s submit=%s stats=%s wait=%s\n",
	       e1 == 0x10000 + ENODEV && e3 == ENODEV ? "PASS" : "FAIL",
	       e1 >= 0x10000 ? strerrorname_np(e1 - 0x10000) : "status",
	       e2 ? strerrorname_np(e2) : "ok", strerrorname_np(e3));
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && strcmp(argv[1], "limits") == 0)
		return cmd_limits();
	if (argc >= 3 && strcmp(argv[1], "signals") == 0)
		return cmd_signals(atof(argv[2]));
	if (argc >= 3 && strcmp(argv[1], "loop") == 0)
		return cmd_loop(atof(argv[2]));
	if (argc >= 2 && strcmp(argv[1], "hold") == 0)
		return cmd_hold();
	if (argc >= 3 && strcmp(argv[1], "bench") == 0)
		return cmd_bench((unsigned int)strtoul(argv[2], NULL, 0));
	if (argc >= 3 && strcmp(argv[1], "session") == 0)
		return cmd_session((unsigned int)strtoul(argv[2], NULL, 0));
	if (argc >= 3 && strcmp(argv[1], "grant") == 0)
		return cmd_grant((unsigned int)strtoul(argv[2], NULL, 0),
				 argc >= 4 && strcmp(argv[3], "hold") == 0);
	if (argc >= 2 && strcmp(argv[1], "isolate") == 0)
		return cmd_isolate();
	fprintf(stderr,
		"usage: vgpu-drv-test limits | signals S | loop S | hold | session N | bench N | grant N [hold] | isolate\n");
	return 2;
}
