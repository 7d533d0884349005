// SPDX-License-Identifier: MIT
/*
 * The kernel transport (guest/lib/transport_kernel.c) against a stand-in
 * for /dev/vgpu_stub: open, ioctl and mmap are wrapped at link time
 * (-Wl,--wrap) and answer as the driver (guest/linux/vgpu_session.c)
 * does, its mmap rules included: the CQ only read-only (a writable
 * mapping is -EPERM). The lab's cuda shard found cuInit failing in a real
 * guest because the transport asked for a writable CQ.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include <vgpu/vgpu_stub_uapi.h>

#include "transport.h"

#define FAKE_FD 1000
#define POOL_OFF VGPU_MMAP_REGION_BASE
#define REGION_OFF (VGPU_MMAP_REGION_BASE + 0x100000)

/* the protection each mmap offset was last asked for */
static int prot_of[4];

static int slot_of(uint64_t off)
{
	switch (off) {
	case VGPU_MMAP_QHDR:
		return 0;
	case VGPU_MMAP_SQ:
		return 1;
	case VGPU_MMAP_CQ:
		return 2;
	default:
		return 3;
	}
}

int __real_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...)
{
	va_list ap;
	int mode;

	if (!strcmp(path, "/dev/vgpu_stub"))
		return FAKE_FD;
	va_start(ap, flags);
	mode = va_arg(ap, int);
	va_end(ap);
	return __real_open(path, flags, mode);
}

int __real_close(int fd);
int __wrap_close(int fd);
int __wrap_close(int fd)
{
	return fd == FAKE_FD ? 0 : __real_close(fd);
}

int __wrap_ioctl(int fd, unsigned long req, ...);
int __wrap_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fd != FAKE_FD) {
		errno = EBADF;
		return -1;
	}
	if (req == VGPU_IOC_SESSION) {
		struct vgpu_ioc_session *s = arg;

		s->session = 7;
		s->queue = 2;
		s->depth = 8;
		s->pool_region = 1;
		s->pool_mmap_off = POOL_OFF;
		s->pool_len = 65536;
		s->sq_bytes = 4096;
		s->cq_bytes = 4096;
		s->abi_version = 0x10002;
		s->features = VGPU_F_QUEUES | VGPU_F_SESSIONS;
		return 0;
	}
	if (req == VGPU_IOC_REGION_ALLOC) {
		struct vgpu_ioc_region *r = arg;

		r->region = 3;
		r->mmap_off = REGION_OFF;
		r->len = 8192;
		return 0;
	}
	if (req == VGPU_IOC_REGION_FREE)
		return 0;
	errno = ENOTTY;
	return -1;
}

void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off)
{
	if (fd != FAKE_FD)
		return __real_mmap(addr, len, prot, flags, fd, off);
	prot_of[slot_of((uint64_t)off)] = prot;
	/* the driver: MAP_SHARED only; the CQ read-only */
	if (!(flags & MAP_SHARED) ||
	    ((uint64_t)off == VGPU_MMAP_CQ && (prot & PROT_WRITE))) {
		errno = EPERM;
		return MAP_FAILED;
	}
	return __real_mmap(NULL, len, prot, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
}

static void t_open_maps_cq_read_only(void **state)
{
	struct vgpu_tr_params p = { 0 };
	struct vgpu_tr_session s;

	(void)state;
	memset(&s, 0, sizeof(s));
	memset(prot_of, 0, sizeof(prot_of));
	assert_int_equal(vgpu_tr_kernel.open(&s, &p), 0);
	assert_non_null(s.cq);
	assert_int_equal(prot_of[2], PROT_READ);
	assert_int_equal(prot_of[0], PROT_READ | PROT_WRITE);
	assert_int_equal(prot_of[1], PROT_READ | PROT_WRITE);
	assert_int_equal(prot_of[3], PROT_READ | PROT_WRITE);
	assert_int_equal(s.session, 7);
	assert_int_equal(s.depth, 8);
	assert_int_equal(s.pool_len, 65536);
	vgpu_tr_kernel.close(&s);
}

static void t_region_read_write(void **state)
{
	struct vgpu_tr_params p = { 0 };
	struct vgpu_tr_session s;
	uint32_t region = 0;
	uint64_t len = 0;
	void *va = NULL;

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(vgpu_tr_kernel.open(&s, &p), 0);
	prot_of[3] = 0;
	assert_int_equal(
		vgpu_tr_kernel.region_alloc(&s, 5000, &region, &va, &len), 0);
	assert_int_equal(region, 3);
	assert_int_equal(len, 8192);
	assert_int_equal(prot_of[3], PROT_READ | PROT_WRITE);
	((volatile uint8_t *)va)[0] = 1; /* writable */
	assert_int_equal(vgpu_tr_kernel.region_free(&s, region, va, len), 0);
	vgpu_tr_kernel.close(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_open_maps_cq_read_only),
		cmocka_unit_test(t_region_read_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
