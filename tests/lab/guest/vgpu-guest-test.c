// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu-guest-test: runs inside the lab's HVM guest (static, no libraries).
 * Finds the vgpu-stub function in sysfs, maps its resource0 and checks
 * the BAR0 registers through the real emulator.
 *
 *   vgpu-guest-test regs            register checks, TAP-like lines
 *   vgpu-guest-test hammer SECONDS  every CPU at once, each its own slice
 *   vgpu-guest-test bench N         MMIO round trip vs QEMU and Xen ports
 *   vgpu-guest-test ring N          a command queue driven from user space
 *                                   (guest-physical addresses from
 *                                   /proc/self/pagemap): N NOPs, copies
 *                                   through device memory, compute
 *   vgpu-guest-test evil            a hostile driver: bad queue addresses,
 *                                   garbage commands, a tail past the ring;
 *                                   then a good queue must still work
 *   vgpu-guest-test drv N [copy]    through the guest driver (/dev/vgpu_stub):
 *                                   N NOPs, with "copy" 1 MiB through device
 *                                   memory and odd-sized buffers, compute
 *   vgpu-guest-test savecheck SECONDS  fill SCRATCH and the scratch RAM,
 *                                   say SAVE-READY, then read them back
 *                                   for SECONDS of guest time (dom0 saves
 *                                   and restores the domain meanwhile)
 *   vgpu-guest-test traffic SECONDS one CPU writes and checks registers
 *                                   without pause (across an emulator
 *                                   restart), reports the longest stall
 *   vgpu-guest-test tag set|check V the last scratch word: write V, or
 *                                   check it still holds V (a guest's own
 *                                   mark in its own device's state)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vgpu/vgpu_ring_abi.h>
#include <vgpu/vgpu_stub_regs.h>
#include <vgpu/vgpu_stub_uapi.h>

static unsigned int passed, failed;

static void check(int ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void check(int ok, const char *fmt, ...)
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

static int find_device_id(unsigned int vendor, unsigned int device, char *path,
			  size_t len);

static int find_device(char *path, size_t len)
{
	return find_device_id(VGPU_PCI_VENDOR_ID, VGPU_PCI_DEVICE_ID, path,
			      len);
}

static int find_device_id(unsigned int vendor, unsigned int device, char *path,
			  size_t len)
{
	const char *base = "/sys/bus/pci/devices";
	struct dirent *e;
	DIR *d = opendir(base);

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char p[512], buf[32];
		unsigned int v = 0, dev = 0;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s/vendor", base, e->d_name);
		f = fopen(p, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f))
			v = (unsigned int)strtoul(buf, NULL, 16);
		fclose(f);
		snprintf(p, sizeof(p), "%s/%s/device", base, e->d_name);
		f = fopen(p, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f))
			dev = (unsigned int)strtoul(buf, NULL, 16);
		fclose(f);
		if (v == vendor && dev == device) {
			snprintf(path, len, "%s/%s", base, e->d_name);
			closedir(d);
			return 0;
		}
	}
	closedir(d);
	return -1;
}

static volatile uint8_t *map_bar0(void)
{
	char dev[300], res[320];
	void *p;
	int fd;

	if (find_device(dev, sizeof(dev))) {
		fprintf(stderr, "vgpu-guest-test: no 1af4:1111 device\n");
		return NULL;
	}
	snprintf(res, sizeof(res), "%s/enable", dev);
	fd = open(res, O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "1", 1) < 0)
			perror("enable");
		close(fd);
	}
	snprintf(res, sizeof(res), "%s/resource0", dev);
	fd = open(res, O_RDWR | O_SYNC);
	if (fd < 0) {
		perror(res);
		return NULL;
	}
	p = mmap(NULL, VGPU_BAR0_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 0);
	close(fd);
	if (p == MAP_FAILED) {
		perror("mmap resource0");
		return NULL;
	}
	printf("device %s, BAR0 mapped\n", dev);
	return p;
}

#define R32(b, o) (*(volatile uint32_t *)((b) + (o)))
#define R16(b, o) (*(volatile uint16_t *)((b) + (o)))
#define R8(b, o) (*(volatile uint8_t *)((b) + (o)))
#define R64(b, o) (*(volatile uint64_t *)((b) + (o)))

static int cmd_regs(void)
{
	static const uint32_t pat[] = { 0, 0xffffffff, 0xdeadbeef, 0x12345678,
					0xa5a5a5a5 };
	volatile uint8_t *b = map_bar0();
	uint32_t rc0, v;
	unsigned int i;

	if (!b)
		return 1;
	check(R32(b, VGPU_REG_MAGIC) == VGPU_MAGIC, "magic reads 0x%08x",
	      R32(b, VGPU_REG_MAGIC));
	check(R32(b, VGPU_REG_VERSION) == VGPU_ABI_VERSION,
	      "abi version 0x%08x", R32(b, VGPU_REG_VERSION));
	/* on Xen the device offers the event channel too (ABI 1.3), and
	 * grants (1.5: the lab's dom0 has xen-gntalloc) */
	check(R32(b, VGPU_REG_FEATURES) ==
		      (VGPU_F_QUEUES | VGPU_F_MSI | VGPU_F_SESSIONS |
		       VGPU_F_EVTCHN | VGPU_F_INFLIGHT | VGPU_F_GRANT),
	      "features: command queues, msi, sessions, event channel, in-flight count, grants");
	/* an idle device has nothing of its own to finish (ABI 1.4) */
	check(R32(b, VGPU_REG_INFLIGHT) == 0, "in flight when idle: %u",
	      R32(b, VGPU_REG_INFLIGHT));
	for (i = 0; i < sizeof(pat) / sizeof(pat[0]); i++) {
		R32(b, VGPU_REG_SCRATCH) = pat[i];
		check(R32(b, VGPU_REG_SCRATCH) == pat[i],
		      "scratch round trip 0x%08x", pat[i]);
	}
	R32(b, VGPU_REG_COMPUTE_IN) = 5;
	check(R32(b, VGPU_REG_COMPUTE_OUT) == 120, "compute 5! = %u",
	      R32(b, VGPU_REG_COMPUTE_OUT));
	R32(b, VGPU_REG_COMPUTE_IN) = 12;
	check(R32(b, VGPU_REG_COMPUTE_OUT) == 479001600u, "compute 12!");
	R32(b, VGPU_REG_COMPUTE_IN) = 13;
	check(R32(b, VGPU_REG_COMPUTE_OUT) == 1932053504u,
	      "compute 13! mod 2^32");
	check(R8(b, 0) == 'V' && R8(b, 1) == 'G' && R8(b, 2) == 'P' &&
		      R8(b, 3) == 'U',
	      "byte reads spell VGPU");
	check(R16(b, 2) == 0x5550, "word read at +2");
	check(R64(b, 0) == ((uint64_t)VGPU_ABI_VERSION << 32 | VGPU_MAGIC),
	      "64-bit read covers magic and version");
	R32(b, VGPU_REG_SCRATCH) = 0;
	R8(b, VGPU_REG_SCRATCH + 1) = 0x11;
	R16(b, VGPU_REG_SCRATCH + 2) = 0x2233;
	v = R32(b, VGPU_REG_SCRATCH);
	check(v == 0x22331100, "byte and word writes merge: 0x%08x", v);
	R64(b, VGPU_REG_SCRATCH_RAM) = 0x0102030405060708ull;
	check(R32(b, VGPU_REG_SCRATCH_RAM) == 0x05060708 &&
		      R32(b, VGPU_REG_SCRATCH_RAM + 4) == 0x01020304,
	      "64-bit write splits low dword first");
	R32(b, 0x400) = 0xffffffff;
	check(R32(b, 0x400) == 0 && R32(b, 0xffc) == 0,
	      "unimplemented offsets read 0 and drop writes");
	R32(b, VGPU_REG_MAGIC) = 0;
	check(R32(b, VGPU_REG_MAGIC) == VGPU_MAGIC, "magic is read-only");
	rc0 = R32(b, VGPU_REG_RESET_COUNT);
	R32(b, VGPU_REG_SCRATCH) = 77;
	R32(b, VGPU_REG_STATUS) = VGPU_STATUS_ACKNOWLEDGE |
				  VGPU_STATUS_DRIVER_OK;
	check(R32(b, VGPU_REG_STATUS) == 5, "status keeps driver bits");
	R32(b, VGPU_REG_STATUS) = 0;
	check(R32(b, VGPU_REG_RESET_COUNT) == rc0 + 1 &&
		      R32(b, VGPU_REG_SCRATCH) == 0 &&
		      R32(b, VGPU_REG_STATUS) == 0,
	      "status 0 resets the device");
	printf("GUEST-TEST: %u passed, %u failed\n", passed, failed);
	return failed != 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One CPU's share: its own 8 dwords of scratch RAM, and the magic. */
static int hammer_cpu(volatile uint8_t *b, int cpu, double secs)
{
	uint32_t base = VGPU_REG_SCRATCH_RAM + 32u * (uint32_t)cpu;
	unsigned long iters = 0, errors = 0;
	double end = now_s() + secs;
	cpu_set_t set;
	uint32_t i;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		perror("sched_setaffinity");
	while (now_s() < end) {
		for (i = 0; i < 8; i++)
			R32(b, base + 4 * i) = (uint32_t)(iters * 8 + i) ^
					       ((uint32_t)cpu << 24);
		for (i = 0; i < 8; i++)
			errors += R32(b, base + 4 * i) !=
				  ((uint32_t)(iters * 8 + i) ^
				   ((uint32_t)cpu << 24));
		errors += R32(b, VGPU_REG_MAGIC) != VGPU_MAGIC;
		iters++;
	}
	printf("HAMMER: cpu%d %lu rounds (%lu accesses) %lu errors\n", cpu,
	       iters, iters * 17, errors);
	fflush(stdout);
	return errors ? 1 : (iters ? 0 : 1);
}

static int cmd_hammer(double secs)
{
	volatile uint8_t *b = map_bar0();
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int cpu, bad = 0, st;

	if (!b || ncpu < 1 || ncpu > 8)
		return 1;
	printf("HAMMER: %ld cpus for %.0f s\n", ncpu, secs);
	fflush(stdout);
	for (cpu = 0; cpu < ncpu; cpu++)
		if (fork() == 0)
			_exit(hammer_cpu(b, cpu, secs));
	while (wait(&st) > 0)
		bad |= !WIFEXITED(st) || WEXITSTATUS(st);
	printf("HAMMER-RESULT: %s (%ld cpus)\n", bad ? "FAIL" : "PASS", ncpu);
	return bad;
}

/*
 * qemu-xen's platform device (5853:0001) has an MMIO BAR whose reads QEMU
 * answers with 0: an MMIO round trip through QEMU, the like of ours.
 */
static volatile uint8_t *map_qemu_mmio(void)
{
	char dev[300], res[320];
	void *p;
	int fd;

	if (find_device_id(0x5853, 0x0001, dev, sizeof(dev)))
		return NULL;
	snprintf(res, sizeof(res), "%s/resource1", dev);
	fd = open(res, O_RDONLY | O_SYNC);
	if (fd < 0)
		return NULL;
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

/* What the benchmark reads; K_CLOCK reads nothing: the clock's own cost. */
enum { K_BAR0, K_UART, K_PMTMR, K_QEMU, K_CLOCK, KINDS };
static const char *const kind_name[KINDS] = { "bar0", "qemu_uart_lsr",
					      "xen_pmtimer", "qemu_mmio",
					      "clock" };

/* One read of kind @k, timed alone, in microseconds. Port reads go
 * through the guest's I/O bitmap: they need iopl(3) as root. */
static double timed_read(int k, volatile uint8_t *b, volatile uint8_t *q)
{
	struct timespec t0, t1;
	volatile uint32_t sink = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (k == K_BAR0)
		sink = R32(b, VGPU_REG_SCRATCH); /* this daemon */
	else if (k == K_UART)
		sink = inb(0x3fd); /* 16550 LSR: qemu-xen */
	else if (k == K_PMTMR)
		sink = inl(0xb008); /* ACPI PM timer: Xen itself */
	else if (k == K_QEMU)
		sink = R32(q, 0); /* an MMIO BAR qemu-xen serves */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	(void)sink;
	return (double)(t1.tv_sec - t0.tv_sec) * 1e6 +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, unsigned int n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(double), cmp_double);
	return v[n / 2];
}

/* The next permutation of a[0..n) in lexicographic order, cyclically. */
static void next_order(int *a, int n)
{
	int i = n - 2, j = n - 1, t;

	while (i >= 0 && a[i] >= a[i + 1])
		i--;
	if (i >= 0) {
		while (a[j] <= a[i])
			j--;
		t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
	for (i++, j = n - 1; i < j; i++, j--) {
		t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
}

/*
 * Each read timed alone; the kinds (and an empty interval that measures
 * the clock) take turns read by read, in every order there is, one order
 * after the other: every kind goes first, and follows every other kind,
 * equally often, so no kind always comes after a busy one. The clock's
 * median cost is subtracted from the medians of the others.
 */
static int cmd_bench(unsigned int n)
{
	volatile uint8_t *b = map_bar0(), *q = map_qemu_mmio();
	unsigned int cnt[KINDS] = { 0 }, by_n[KINDS][KINDS] = { { 0 } };
	int order[KINDS], kinds = 0, prev = K_CLOCK, i, k, r;
	double *t[KINDS], *by[KINDS][KINDS], med[KINDS], clk;
	char line[600];
	size_t o;

	if (!b || iopl(3)) {
		perror("iopl");
		return 1;
	}
	n = n ? n : 1;
	for (k = 0; k < KINDS; k++) {
		if (k != K_QEMU || q)
			order[kinds++] = k;
		t[k] = calloc(n, sizeof(double));
		for (i = 0; i < KINDS; i++)
			by[k][i] = calloc(n, sizeof(double));
	}
	for (r = -50; r < (int)n; r++) { /* 50 orders to warm up */
		for (i = 0; i < kinds; i++) {
			double us = timed_read(order[i], b, q);

			k = order[i];
			if (r >= 0) {
				t[k][cnt[k]++] = us;
				by[k][prev][by_n[k][prev]++] = us;
			}
			prev = k;
		}
		next_order(order, kinds);
	}
	clk = median(t[K_CLOCK], cnt[K_CLOCK]);
	for (k = 0; k < K_CLOCK; k++)
		med[k] = cnt[k] ? median(t[k], cnt[k]) - clk : 0;
	printf("BENCH: reads=%u per kind, each timed alone, the kinds in every order in turn; medians less the clock's %.1f us: bar0_us=%.1f qemu_uart_lsr_us=%.1f xen_pmtimer_us=%.1f bar0_vs_qemu=%.2f bar0_vs_xen=%.1f\n",
	       n, clk, med[K_BAR0], med[K_UART], med[K_PMTMR],
	       med[K_BAR0] / med[K_UART], med[K_BAR0] / med[K_PMTMR]);
	if (q)
		printf("BENCH: qemu_mmio_us=%.1f bar0_vs_qemu_mmio=%.2f (medians as above; qemu-xen's platform device BAR1)\n",
		       med[K_QEMU], med[K_BAR0] / med[K_QEMU]);
	/* does the kind read before change a read's time? */
	for (k = 0; k < K_CLOCK; k++) {
		if (!cnt[k])
			continue;
		o = (size_t)snprintf(line, sizeof(line),
				     "%s_us by the read before:", kind_name[k]);
		for (i = 0; i < KINDS && o < sizeof(line); i++)
			if (by_n[k][i])
				o += (size_t)snprintf(
					line + o, sizeof(line) - o, " %s %.1f",
					kind_name[i],
					median(by[k][i], by_n[k][i]) - clk);
		printf("BENCH: %s\n", line);
	}
	return 0;
}

/* One checked read: counts a mismatch, and remembers the first one. */
static void expect32(volatile uint8_t *b, uint32_t off, uint32_t want,
		     unsigned long *errors, char *first, size_t len)
{
	uint32_t got = R32(b, off);

	if (got == want)
		return;
	if (!*errors)
		snprintf(first, len, " first_error=+0x%x:0x%08x(not 0x%08x)",
			 off, got, want);
	(*errors)++;
}

/*
 * Stops at the first wrong value: after an emulator restart that lost the
 * device's state, the function is reset and every access after it is
 * answered by Xen itself at once; a tight loop of those exits is what
 * triple-faults a guest under nested TCG most often.
 */
static int cmd_traffic(double secs)
{
	volatile uint8_t *b = map_bar0();
	unsigned long rounds = 0, errors = 0;
	double end, worst = 0;
	char first[96] = "";
	uint32_t i, v;

	if (!b)
		return 1;
	printf("TRAFFIC-START\n");
	fflush(stdout);
	end = now_s() + secs;
	while (now_s() < end && !errors) {
		double t0 = now_s(), dt;

		for (i = 0; i < VGPU_SCRATCH_RAM_WORDS; i += 8) {
			v = (uint32_t)(rounds * 64 + i) ^ 0x5a5a0000u;
			R32(b, VGPU_REG_SCRATCH_RAM + 4 * i) = v;
			expect32(b, VGPU_REG_SCRATCH_RAM + 4 * i, v, &errors,
				 first, sizeof(first));
		}
		R32(b, VGPU_REG_COMPUTE_IN) = 10;
		expect32(b, VGPU_REG_COMPUTE_OUT, 3628800u, &errors, first,
			 sizeof(first));
		expect32(b, VGPU_REG_MAGIC, VGPU_MAGIC, &errors, first,
			 sizeof(first));
		dt = now_s() - t0;
		if (dt > worst)
			worst = dt;
		rounds++;
	}
	printf("TRAFFIC-RESULT: %s rounds=%lu errors=%lu longest_round_ms=%.0f%s\n",
	       errors || !rounds ? "FAIL" : "PASS", rounds, errors, worst * 1e3,
	       first);
	return errors != 0;
}

/* ---- a command queue from user space ---- */

struct page {
	void *va;
	uint64_t gpa;
};

/* A locked page and its guest-physical address. */
static int get_page(struct page *p)
{
	uint64_t ent;
	int fd;

	if (posix_memalign(&p->va, 4096, 4096))
		return -1;
	memset(p->va, 0, 4096);
	if (mlock(p->va, 4096))
		return -1;
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return -1;
	if (pread(fd, &ent, 8, (off_t)((uintptr_t)p->va / 4096 * 8)) != 8) {
		close(fd);
		return -1;
	}
	close(fd);
	if (!(ent >> 63))
		return -1;
	p->gpa = (ent & ((1ull << 55) - 1)) * 4096;
	return 0;
}

struct uq {
	volatile uint8_t *bar;
	struct vgpu_qhdr *h;
	struct vgpu_sqe *sq;
	struct vgpu_cqe *cq;
	uint32_t depth, tail, head;
	uint16_t phase;
};

static void wr64(volatile uint8_t *b, uint32_t off, uint64_t v)
{
	R32(b, off) = (uint32_t)v;
	R32(b, off + 4) = (uint32_t)(v >> 32);
}

/* Submit one entry, ring, poll its completion; the status code. */
static uint32_t uq_run(struct uq *q, struct vgpu_sqe e, uint64_t *result)
{
	volatile struct vgpu_cqe *c;
	unsigned long spins = 0;

	q->sq[q->tail % q->depth] = e;
	__atomic_store_n(&q->h->sq_tail.v, ++q->tail, __ATOMIC_RELEASE);
	R32(q->bar, VGPU_REG_DOORBELL(1)) = q->tail;
	c = &q->cq[q->head % q->depth];
	while ((__atomic_load_n(&c->status, __ATOMIC_ACQUIRE) & 1) != q->phase)
		if (++spins > 100000000ul)
			return 0xffff; /* no completion */
	if (result)
		*result = c->result;
	if (c->cid != e.cid)
		return 0xfffe;
	if (++q->head % q->depth == 0)
		q->phase ^= 1;
	__atomic_store_n(&q->h->cq_head.v, q->head, __ATOMIC_RELEASE);
	return VGPU_CQE_CODE(c->status);
}

static int cmd_ring(unsigned int nops)
{
	volatile uint8_t *b = map_bar0();
	struct page hp, sp, cp, lp, src[16], dst[16];
	struct uq q = { .bar = b, .depth = 64, .phase = 1 };
	struct vgpu_sgl_entry *sgl;
	uint64_t dptr = 0, d2 = 0, x = 0, mine = 0;
	unsigned int i, bad = 0;
	double t0, nop_us = 0;

	if (!b || get_page(&hp) || get_page(&sp) || get_page(&cp) ||
	    get_page(&lp)) {
		printf("RING-RESULT: FAIL (no pages / pagemap)\n");
		return 1;
	}
	for (i = 0; i < 16; i++)
		if (get_page(&src[i]) || get_page(&dst[i]))
			return 1;
	q.h = hp.va;
	q.sq = sp.va;
	q.cq = cp.va;
	sgl = lp.va;
	R32(b, VGPU_REG_Q_SELECT) = 1;
	R32(b, VGPU_REG_Q_DEPTH) = q.depth;
	wr64(b, VGPU_REG_Q_HDR_GPA, hp.gpa);
	wr64(b, VGPU_REG_Q_SQ_GPA, sp.gpa);
	wr64(b, VGPU_REG_Q_CQ_GPA, cp.gpa);
	R32(b, VGPU_REG_Q_ENABLE) = 1;
	check(R32(b, VGPU_REG_Q_ENABLE) == 1, "queue 1 enabled (error %u)",
	      R32(b, VGPU_REG_Q_ERROR));
	if (!R32(b, VGPU_REG_Q_ENABLE))
		goto out;
	t0 = now_s();
	for (i = 0; i < nops; i++)
		bad += uq_run(&q,
			      (struct vgpu_sqe){ .opcode = VGPU_OP_NOP,
						 .cid = (uint16_t)i },
			      NULL) != VGPU_S_OK;
	nop_us = (now_s() - t0) / nops * 1e6;
	check(bad == 0, "%u NOPs completed (%u failed), %.1f us each", nops,
	      bad, nop_us);
	/* 64 KiB through device memory and back, page-crossing odd pieces */
	for (i = 0; i < 16; i++) {
		uint32_t *w = src[i].va, k;

		for (k = 0; k < 1024; k++)
			w[k] = i * 1024 + k * 2654435761u;
	}
	check(uq_run(&q,
		     (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_ALLOC,
					.cid = 1,
					.arg = { 65536 } },
		     &dptr) == VGPU_S_OK &&
		      uq_run(&q,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_ALLOC,
						.cid = 2,
						.arg = { 65536 } },
			     &d2) == VGPU_S_OK,
	      "device memory allocated");
	for (i = 0; i < 16; i++)
		sgl[i] = (struct vgpu_sgl_entry){ .gpa = src[i].gpa,
						  .len = 4096 };
	check(uq_run(&q,
		     (struct vgpu_sqe){ .opcode = VGPU_OP_MEMCPY_H2D,
					.cid = 3,
					.arg = { dptr, 65536 },
					.sgl_gpa = lp.gpa,
					.sgl_nents = 16 },
		     NULL) == VGPU_S_OK,
	      "64 KiB copied to device memory from 16 guest pages");
	check(uq_run(&q,
		     (struct vgpu_sqe){
			     .opcode = VGPU_OP_COMPUTE,
			     .cid = 4,
			     .arg = { VGPU_K_ADD1_U32, d2, dptr, 65536 } },
		     NULL) == VGPU_S_OK,
	      "compute add1 ran");
	/* back in odd-sized pieces: 3 + 4093 bytes per page, reversed */
	for (i = 0; i < 16; i++) {
		sgl[2 * i] =
			(struct vgpu_sgl_entry){ .gpa = dst[15 - i].gpa + 4093,
						 .len = 3 };
		sgl[2 * i + 1] = (struct vgpu_sgl_entry){ .gpa = dst[i].gpa,
							  .len = 4093 };
	}
	check(uq_run(&q,
		     (struct vgpu_sqe){ .opcode = VGPU_OP_MEMCPY_D2H,
					.cid = 5,
					.arg = { d2, 65536 },
					.sgl_gpa = lp.gpa,
					.sgl_nents = 32 },
		     NULL) == VGPU_S_OK,
	      "64 KiB copied back in 32 odd-sized pieces");
	for (i = 0; i < 16 && !bad; i++) {
		uint8_t want[4096], *got3 = (uint8_t *)dst[15 - i].va + 4093;
		uint32_t *w = (uint32_t *)want, k;

		for (k = 0; k < 1024; k++)
			w[k] = ((uint32_t *)src[i].va)[k] + 1;
		/* chunk i's first 3 bytes went to the end of page 15 - i,
		 * its other 4093 to the start of page i */
		bad += memcmp(dst[i].va, want + 3, 4093) != 0 ||
		       memcmp(got3, want, 3) != 0;
	}
	check(bad == 0, "data intact end to end (guest -> device -> guest)");
	check(uq_run(&q,
		     (struct vgpu_sqe){
			     .opcode = VGPU_OP_COMPUTE,
			     .cid = 6,
			     .arg = { VGPU_K_XOR_U32, 0, dptr, 65536 } },
		     &x) == VGPU_S_OK,
	      "compute xor ran");
	for (i = 0; i < 16; i++) {
		uint32_t k;

		for (k = 0; k < 1024; k++)
			mine ^= ((uint32_t *)src[i].va)[k];
	}
	check(x == mine, "device xor 0x%08llx matches the guest's",
	      (unsigned long long)x);
	/* a malformed command is refused, the queue survives */
	check(uq_run(&q, (struct vgpu_sqe){ .opcode = 0x77, .cid = 7 }, NULL) ==
		      VGPU_S_INVALID,
	      "unknown opcode refused");
	check(uq_run(&q, (struct vgpu_sqe){ .opcode = VGPU_OP_NOP, .cid = 8 },
		     NULL) == VGPU_S_OK,
	      "queue still good");
	R32(b, VGPU_REG_Q_ENABLE) = 0;
out:
	printf("RING-RESULT: %s %u passed, %u failed nop_us=%.1f\n",
	       failed ? "FAIL" : "PASS", passed, failed, failed ? 0.0 : nop_us);
	return failed != 0;
}

/* Program queue 1 and try to enable it; Q_ERROR (0 when live). */
static uint32_t try_queue(volatile uint8_t *b, uint32_t depth, uint64_t hdr,
			  uint64_t sq, uint64_t cq)
{
	R32(b, VGPU_REG_Q_SELECT) = 1;
	R32(b, VGPU_REG_Q_ENABLE) = 0;
	R32(b, VGPU_REG_Q_DEPTH) = depth;
	wr64(b, VGPU_REG_Q_HDR_GPA, hdr);
	wr64(b, VGPU_REG_Q_SQ_GPA, sq);
	wr64(b, VGPU_REG_Q_CQ_GPA, cq);
	R32(b, VGPU_REG_Q_ENABLE) = 1;
	return R32(b, VGPU_REG_Q_ENABLE) ? 0 : R32(b, VGPU_REG_Q_ERROR);
}

static int cmd_evil(void)
{
	volatile uint8_t *b = map_bar0();
	struct page hp, sp, cp, lp;
	struct uq q = { .bar = b, .depth = 64, .phase = 1 };
	uint32_t e, i, bar = 0, errors = 0;
	uint64_t far = 1ull << 40; /* far beyond this guest's RAM */
	struct vgpu_sgl_entry *sgl;
	unsigned int seed = 12345;

	if (!b || get_page(&hp) || get_page(&sp) || get_page(&cp) ||
	    get_page(&lp))
		return 1;
	{ /* where BAR0 is, from sysfs */
		char dev[300], path[320], line[128];
		FILE *f;

		find_device(dev, sizeof(dev));
		snprintf(path, sizeof(path), "%s/resource", dev);
		f = fopen(path, "r");
		if (f && fgets(line, sizeof(line), f))
			bar = (uint32_t)strtoull(line, NULL, 16);
		if (f)
			fclose(f);
	}
	e = try_queue(b, 64, hp.gpa, far, cp.gpa);
	check(e == VGPU_QERR_MAP, "SQ beyond guest RAM refused (error %u)", e);
	e = try_queue(b, 64, hp.gpa, sp.gpa, bar);
	check(e == VGPU_QERR_BAD_GPA, "CQ inside BAR0 refused (error %u)", e);
	e = try_queue(b, 64, hp.gpa + 8, sp.gpa, cp.gpa);
	check(e == VGPU_QERR_BAD_GPA, "unaligned header refused (error %u)", e);
	e = try_queue(b, 3, hp.gpa, sp.gpa, cp.gpa);
	check(e == VGPU_QERR_BAD_DEPTH, "depth 3 refused (error %u)", e);
	e = try_queue(b, 64, hp.gpa, sp.gpa, cp.gpa);
	check(e == 0, "a good queue enabled");
	q.h = hp.va;
	q.sq = sp.va;
	q.cq = cp.va;
	sgl = lp.va;
	/* garbage entries: every one completes, with an error */
	for (i = 0; i < 200; i++) {
		struct vgpu_sqe g;
		uint8_t *p = (uint8_t *)&g;
		uint32_t k, st;

		for (k = 0; k < sizeof(g); k++)
			p[k] = (uint8_t)rand_r(&seed);
		g.flags = 0; /* an error is always reported anyway */
		g.cid = (uint16_t)i;
		st = uq_run(&q, g, NULL);
		errors += st != VGPU_S_OK && st < 0xfffe;
	}
	check(errors == 200, "200 garbage commands: %u completed with errors",
	      errors);
	/* lists pointing at BAR0 and far beyond RAM */
	sgl[0] = (struct vgpu_sgl_entry){ .gpa = bar, .len = 64 };
	check(uq_run(&q,
		     (struct vgpu_sqe){ .opcode = VGPU_OP_GET_INFO,
					.cid = 900,
					.sgl_gpa = lp.gpa,
					.sgl_nents = 1 },
		     NULL) == VGPU_S_INVALID,
	      "a list into BAR0 refused");
	sgl[0] = (struct vgpu_sgl_entry){ .gpa = far, .len = 64 };
	check(uq_run(&q,
		     (struct vgpu_sqe){ .opcode = VGPU_OP_GET_INFO,
					.cid = 901,
					.sgl_gpa = lp.gpa,
					.sgl_nents = 1 },
		     NULL) == VGPU_S_BAD_GPA,
	      "a list beyond guest RAM refused");
	check(uq_run(&q,
		     (struct vgpu_sqe){ .opcode = VGPU_OP_MEMCPY_H2D,
					.cid = 902,
					.arg = { 0x1234, 64 },
					.sgl_gpa = far,
					.sgl_nents = 1 },
		     NULL) == VGPU_S_BAD_GPA,
	      "a list page beyond guest RAM refused");
	/* a tail past the ring: the queue goes FATAL, visibly */
	R32(b, VGPU_REG_DOORBELL(1)) = q.tail + 1000;
	check(q.h->status.v == VGPU_QERR_TAIL &&
		      R32(b, VGPU_REG_Q_ERROR) == VGPU_QERR_TAIL &&
		      !R32(b, VGPU_REG_Q_ENABLE),
	      "a tail past the ring made the queue FATAL");
	/* the driver resets the queue: everything works again */
	memset(hp.va, 0, 4096);
	memset(cp.va, 0, 4096);
	q.tail = q.head = 0;
	q.phase = 1;
	check(try_queue(b, 64, hp.gpa, sp.gpa, cp.gpa) == 0,
	      "queue enabled again after the reset");
	check(uq_run(&q, (struct vgpu_sqe){ .opcode = VGPU_OP_NOP, .cid = 7 },
		     NULL) == VGPU_S_OK,
	      "a good NOP after it all");
	check(R32(b, VGPU_REG_MAGIC) == VGPU_MAGIC, "the device still answers");
	R32(b, VGPU_REG_Q_ENABLE) = 0;
	printf("EVIL-RESULT: %s %u passed, %u failed\n",
	       failed ? "FAIL" : "PASS", passed, failed);
	return failed != 0;
}

/* ---- through the guest driver ---- */

static uint32_t drv(int fd, uint8_t op, uint64_t a0, uint64_t a1, uint64_t a2,
		    uint64_t a3, void *buf, uint64_t len, uint64_t *result)
{
	struct vgpu_ioc_cmd c = { .opcode = op,
				  .arg = { a0, a1, a2, a3 },
				  .buf = (uintptr_t)buf,
				  .len = len };

	if (ioctl(fd, VGPU_IOC_SUBMIT, &c) < 0)
		return 0xffff;
	if (result)
		*result = c.result;
	return c.status;
}

/* Copy @len bytes of @src through device memory at @dptr into @dst, in
 * pieces the driver takes (at most 64 pages each). */
static int drv_roundtrip(int fd, uint64_t dptr, const uint8_t *src,
			 uint8_t *dst, uint64_t len, uint64_t piece)
{
	uint64_t off;

	for (off = 0; off < len; off += piece) {
		uint64_t n = len - off < piece ? len - off : piece;

		if (drv(fd, VGPU_OP_MEMCPY_H2D, dptr + off, 0, 0, 0,
			(void *)(src + off), n, NULL) != VGPU_S_OK)
			return -1;
	}
	for (off = 0; off < len; off += piece) {
		uint64_t n = len - off < piece ? len - off : piece;

		if (drv(fd, VGPU_OP_MEMCPY_D2H, dptr + off, 0, 0, 0, dst + off,
			n, NULL) != VGPU_S_OK)
			return -1;
	}
	return 0;
}

static int cmd_drv(unsigned int nops, int copy)
{
	int fd = open("/dev/vgpu_stub", O_RDWR);
	struct vgpu_ioc_stats st0, st;
	struct vgpu_info info;
	unsigned int i, bad = 0;
	uint64_t dptr = 0, x = 0, mine = 0;
	double t0, us, copy_s;

	if (fd < 0) {
		perror("/dev/vgpu_stub");
		printf("DRV-RESULT: FAIL no device node\n");
		return 1;
	}
	ioctl(fd, VGPU_IOC_STATS, &st0);
	memset(&info, 0, sizeof(info));
	i = drv(fd, VGPU_OP_GET_INFO, 0, 0, 0, 0, &info, sizeof(info), NULL);
	check(i == VGPU_S_OK && info.abi_version == VGPU_ABI_VERSION &&
		      strcmp(info.backend, "cpu") == 0,
	      "get_info: abi 0x%x, backend %s, quota %llu", info.abi_version,
	      info.backend, (unsigned long long)info.devmem_quota);
	t0 = now_s();
	for (i = 0; i < nops; i++)
		bad += drv(fd, VGPU_OP_NOP, 0, 0, 0, 0, NULL, 0, NULL) !=
		       VGPU_S_OK;
	us = (now_s() - t0) / (nops ? nops : 1) * 1e6;
	check(bad == 0,
	      "%u NOPs through /dev/vgpu_stub (%u failed), %.1f us each", nops,
	      bad, us);
	if (copy) {
		size_t mib = 1 << 20;
		uint8_t *src = malloc(mib + 64), *dst = malloc(mib + 64);

		for (i = 0; i < mib + 64; i++)
			src[i] = (uint8_t)(i * 2654435761u >> 11);
		check(drv(fd, VGPU_OP_MEM_ALLOC, mib + 64, 0, 0, 0, NULL, 0,
			  &dptr) == VGPU_S_OK,
		      "1 MiB of device memory");
		memset(dst, 0, mib + 64);
		/* 63 pages a command: 64 page entries whatever the alignment */
		t0 = now_s();
		i = drv_roundtrip(fd, dptr, src, dst, mib, 63 * 4096);
		copy_s = now_s() - t0;
		check(i == 0 && memcmp(src, dst, mib) == 0,
		      "1 MiB copied to the device and back intact");
		printf("DRV-COPY: 2 MiB moved in %.1f ms: %.1f MiB/s\n",
		       copy_s * 1e3, 2 / copy_s);
		/* odd sizes from odd addresses: page-crossing pieces */
		memset(dst, 0, mib + 64);
		check(drv_roundtrip(fd, dptr, src + 3, dst + 5, 100001,
				    12345) == 0 &&
			      memcmp(src + 3, dst + 5, 100001) == 0,
		      "odd-sized, misaligned, page-crossing copies intact");
		check(drv(fd, VGPU_OP_COMPUTE, VGPU_K_XOR_U32, 0, dptr, 65536,
			  NULL, 0, &x) == VGPU_S_OK,
		      "compute xor over 64 KiB of device memory");
		for (i = 0; i < 65536; i += 4) {
			uint32_t w;

			memcpy(&w, src + 3 + i, 4);
			mine ^= w;
		}
		check(x == mine, "device xor matches the guest's");
		check(drv(fd, VGPU_OP_MEM_FREE, dptr, 0, 0, 0, NULL, 0, NULL) ==
			      VGPU_S_OK,
		      "device memory freed");
		free(src);
		free(dst);
	}
	ioctl(fd, VGPU_IOC_STATS, &st);
	printf("DRV-STATS: msi=%u interrupts=%llu commands=%llu nop_us=%.1f nops_per_s=%.0f resets=%llu doorbells=%llu evtchn=%u\n",
	       st.msi, (unsigned long long)(st.interrupts - st0.interrupts),
	       (unsigned long long)(st.commands - st0.commands), us,
	       us > 0 ? 1e6 / us : 0, (unsigned long long)st.resets,
	       (unsigned long long)(st.doorbells - st0.doorbells), st.evtchn);
	close(fd);
	printf("DRV-RESULT: %s %u passed, %u failed\n",
	       failed ? "FAIL" : "PASS", passed, failed);
	return failed != 0;
}

/* The last scratch word, which no other command writes: this guest's mark. */
static int cmd_tag(const char *op, uint32_t v)
{
	volatile uint8_t *b = map_bar0();
	uint32_t off = VGPU_REG_SCRATCH_RAM + 4 * (VGPU_SCRATCH_RAM_WORDS - 1);
	uint32_t got;

	if (!b)
		return 1;
	if (strcmp(op, "set") == 0)
		R32(b, off) = v;
	got = R32(b, off);
	printf("TAG: %s 0x%08x 0x%08x\n", got == v ? "ok" : "MISMATCH", v, got);
	return got != v;
}

static uint32_t save_pattern(unsigned int i)
{
	return 0x5a5a0000u ^ (i * 2654435761u);
}

/* save-restore: the registers the guest wrote come back after xl save
 * and xl restore (or xl migrate), read through the new emulator. */
static int cmd_savecheck(double secs)
{
	volatile uint8_t *b = map_bar0();
	unsigned int i, reads = 0, bad = 0;
	double t0, gap = 0, last;

	if (!b)
		return 1;
	R32(b, VGPU_REG_SCRATCH) = 0xc0ffee11;
	for (i = 0; i < VGPU_SCRATCH_RAM_WORDS; i++)
		R32(b, VGPU_REG_SCRATCH_RAM + 4 * i) = save_pattern(i);
	printf("SAVE-READY\n");
	fflush(stdout);
	t0 = last = now_s();
	while (now_s() - t0 < secs) {
		uint32_t v = R32(b, VGPU_REG_SCRATCH);

		if (v != 0xc0ffee11 && bad++ < 3)
			printf("SAVE-MISMATCH: scratch 0x%08x\n", v);
		for (i = 0; i < VGPU_SCRATCH_RAM_WORDS; i++) {
			v = R32(b, VGPU_REG_SCRATCH_RAM + 4 * i);
			if (v != save_pattern(i) && bad++ < 3)
				printf("SAVE-MISMATCH: ram[%u] 0x%08x\n", i, v);
		}
		reads++;
		if (now_s() - last > gap)
			gap = now_s() - last;
		last = now_s();
		usleep(50000);
	}
	printf("SAVE-RESULT: %s %u passes over %u registers, %u mismatches, longest pause %.1f s\n",
	       bad ? "FAIL" : "PASS", reads, VGPU_SCRATCH_RAM_WORDS + 1, bad,
	       gap);
	return bad != 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && strcmp(argv[1], "regs") == 0)
		return cmd_regs();
	if (argc >= 3 && strcmp(argv[1], "hammer") == 0)
		return cmd_hammer(atof(argv[2]));
	if (argc >= 3 && strcmp(argv[1], "drv") == 0)
		return cmd_drv((unsigned int)strtoul(argv[2], NULL, 0),
			       argc >= 4 && strcmp(argv[3], "copy") == 0);
	if (argc >= 2 && strcmp(argv[1], "evil") == 0)
		return cmd_evil();
	if (argc >= 3 && strcmp(argv[1], "ring") == 0)
		return cmd_ring((unsigned int)strtoul(argv[2], NULL, 0));
	if (argc >= 3 && strcmp(argv[1], "savecheck") == 0)
		return cmd_savecheck(atof(argv[2]));
	if (argc >= 3 && strcmp(argv[1], "traffic") == 0)
		return cmd_traffic(atof(argv[2]));
	if (argc >= 4 && strcmp(argv[1], "tag") == 0)
		return cmd_tag(argv[2], (uint32_t)strtoul(argv[3], NULL, 0));
	if (argc >= 3 && strcmp(argv[1], "bench") == 0)
		return cmd_bench((unsigned int)strtoul(argv[2], NULL, 0));
	fprintf(stderr,
		"usage: vgpu-guest-test regs | hammer SECONDS | bench N\n");
	return 2;
}
