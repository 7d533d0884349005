// SPDX-License-Identifier: GPL-2.0-only
/*
 * The loopback host seam (src/host_loop.c) on its own: what it accepts as
 * guest RAM and interrupts, bounds of every access against the declared
 * RAM, contiguous views of scattered frames (the 1.2 regions), the memfd
 * handed out for zero-copy, MSI and INTx as eventfd writes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include <vgpu/host_loop.h>

#define PG 4096u
#define RAM (16 * PG)

struct fx {
	struct logger lg;
	struct loop_host *lh;
	struct host *h;
	int memfd, irq;
	uint8_t *mine; /* the "client's" own mapping */
};

static int memfd_of(uint64_t size, int seals)
{
	int fd = memfd_create("ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0 ||
	    (seals && fcntl(fd, F_ADD_SEALS, seals) < 0))
		return -1;
	return fd;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char why[128];

	log_init(&f->lg, LOG_SINK_STDERR, LOG_ERR);
	f->memfd = memfd_of(RAM, F_SEAL_SHRINK);
	f->irq = eventfd(0, EFD_CLOEXEC);
	if (f->memfd < 0 || f->irq < 0 ||
	    loop_check_memfd(f->memfd, RAM, why, sizeof(why)) < 0 ||
	    loop_check_eventfd(f->irq, "interrupt", why, sizeof(why)) < 0)
		return -1;
	f->mine = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd,
		       0);
	/* the seam takes its own copies of the descriptors */
	if (loop_host_open(&f->lh, dup(f->memfd), RAM, dup(f->irq), &f->lg, why,
			   sizeof(why)) < 0)
		return -1;
	f->h = loop_host_seam(f->lh);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	loop_host_close(f->lh);
	munmap(f->mine, RAM);
	close(f->memfd);
	close(f->irq);
	free(f);
	return 0;
}

static void test_checks(void **state)
{
	char why[128];
	int ok = memfd_of(RAM, F_SEAL_SHRINK), loose = memfd_of(RAM, 0);
	int ev = eventfd(0, 0), p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_check_memfd(ok, RAM, why, sizeof(why)), 0);
	assert_int_equal(loop_check_memfd(loose, RAM, why, sizeof(why)),
			 -EPERM);
	assert_non_null(strstr(why, "F_SEAL_SHRINK"));
	assert_int_equal(loop_check_memfd(p[0], RAM, why, sizeof(why)), -EBADF);
	assert_int_equal(loop_check_memfd(ok, RAM + PG, why, sizeof(why)),
			 -EINVAL);
	assert_int_equal(loop_check_memfd(ok, 100, why, sizeof(why)), -EINVAL);
	assert_int_equal(loop_check_eventfd(p[1], "doorbell", why, sizeof(why)),
			 -EBADF);
	assert_non_null(strstr(why, "doorbell"));
	assert_int_equal(loop_check_eventfd(ev, "doorbell", why, sizeof(why)),
			 0);
	assert_true(fcntl(ev, F_GETFL) & O_NONBLOCK);
	close(ok);
	close(loose);
	close(ev);
	close(p[0]);
	close(p[1]);
}

static void test_bounds(void **state)
{
	struct fx *f = *state;
	uint32_t v = 0x12345678, w = 0;
	uint8_t *va;

	va = f->h->ops->map_guest(f->h, RAM - PG, 1, true);
	assert_non_null(va);
	va[0] = 0xab;
	assert_int_equal(f->mine[RAM - PG], 0xab); /* the same memory */
	f->h->ops->unmap_guest(f->h, va, 1);
	assert_null(f->h->ops->map_guest(f->h, RAM - PG, 2, false));
	assert_null(f->h->ops->map_guest(f->h, RAM, 1, false));
	assert_null(f->h->ops->map_guest(f->h, 100, 1, false));
	assert_null(f->h->ops->map_guest(f->h, ~0ull & ~(uint64_t)(PG - 1), 1,
					 false));
	assert_null(f->h->ops->map_guest(f->h, 0, 0, false));
	assert_int_equal(f->h->ops->copy_to_guest(f->h, RAM - 4, &v, 4), 0);
	assert_int_equal(f->h->ops->copy_from_guest(f->h, &w, RAM - 4, 4), 0);
	assert_int_equal(w, v);
	assert_int_equal(f->h->ops->copy_to_guest(f->h, RAM - 3, &v, 4),
			 -EFAULT);
	assert_int_equal(f->h->ops->copy_from_guest(f->h, &w, ~0ull - 1, 4),
			 -EFAULT);
	assert_int_equal(f->h->ops->map_mmio(f->h, 0xf0000000, PG), 0);
	assert_int_equal(f->h->ops->unmap_mmio(f->h, 0xf0000000, PG), 0);
}

static void test_frames(void **state)
{
	struct fx *f = *state;
	const uint64_t scattered[] = { 5, 2, 3, 9 }, run[] = { 6, 7, 8 };
	const uint64_t bad[] = { 1, RAM / PG };
	uint8_t *va;
	unsigned int i;

	for (i = 0; i < 4; i++)
		f->mine[scattered[i] * PG + 10] = (uint8_t)(i + 1);
	va = f->h->ops->map_guest_frames(f->h, scattered, 4, true);
	assert_non_null(va);
	for (i = 0; i < 4; i++) {
		assert_int_equal(va[i * PG + 10], i + 1);
		va[i * PG + 11] = (uint8_t)(0x40 + i); /* and back */
		assert_int_equal(f->mine[scattered[i] * PG + 11], 0x40 + i);
	}
	f->h->ops->unmap_guest(f->h, va, 4);
	/* consecutive frames: the RAM mapping itself, nothing to undo */
	va = f->h->ops->map_guest_frames(f->h, run, 3, false);
	assert_ptr_equal(va, f->h->ops->map_guest(f->h, 6 * PG, 3, false));
	f->h->ops->unmap_guest(f->h, va, 3);
	assert_null(f->h->ops->map_guest_frames(f->h, bad, 2, false));
	assert_null(f->h->ops->map_guest_frames(f->h, run, 0, false));
}

static void test_guest_fd(void **state)
{
	struct fx *f = *state;
	uint64_t off = 0;
	uint8_t *p;
	int fd = -1;

	assert_int_equal(f->h->ops->guest_fd(f->h, 3 * PG, PG, &fd, &off), 0);
	assert_int_equal(off, 3 * PG);
	/* another process could map this: so can we */
	p = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, (off_t)off);
	assert_true(p != MAP_FAILED);
	f->mine[3 * PG] = 0x77;
	assert_int_equal(p[0], 0x77);
	munmap(p, PG);
	assert_int_equal(f->h->ops->guest_fd(f->h, RAM - PG, 2 * PG, &fd, &off),
			 -EFAULT);
}

static uint64_t drain(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

static void test_interrupts(void **state)
{
	struct fx *f = *state;
	uint64_t full = 0xfffffffffffffffeull;

	assert_int_equal(f->h->ops->inject_msi(f->h, 0xfee00000, 0x41), 0);
	assert_int_equal(f->h->ops->inject_msi(f->h, 0xfee00000, 0x41), 0);
	assert_int_equal(drain(f->irq), 2);
	/* INTx: an edge when the level rises, nothing else */
	assert_int_equal(f->h->ops->set_intx(f->h, true), 0);
	assert_int_equal(f->h->ops->set_intx(f->h, true), 0);
	assert_int_equal(f->h->ops->set_intx(f->h, false), 0);
	assert_int_equal(drain(f->irq), 1);
	assert_int_equal(drain(f->irq), 0);
	assert_int_equal(f->h->ops->set_intx(f->h, true), 0);
	assert_int_equal(drain(f->irq), 1);
	/* a full counter: the client is interrupted already, no blocking */
	assert_int_equal(write(f->irq, &full, sizeof(full)), sizeof(full));
	assert_int_equal(f->h->ops->inject_msi(f->h, 0xfee00000, 0x41), 0);
	assert_int_equal(drain(f->irq), full);
	assert_int_equal(loop_host_irqs(f->lh), 5);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checks),
		T(test_bounds),
		T(test_frames),
		T(test_guest_fd),
		T(test_interrupts),
	};

	return cmocka_run_group_tests_name("host_loop", tests, NULL, NULL);
}
