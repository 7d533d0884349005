// SPDX-License-Identifier: MIT
/*
 * The kernel transport: /dev/vgpu_stub (guest/linux, the user ABI in
 * include/vgpu/vgpu_stub_uapi.h). One open file is one session; its queue
 * and pinned pool are mapped into the process, doorbells and sleeps are
 * ioctls, further pinned regions are allocated by the driver and mapped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vgpu/vgpu_stub_uapi.h>

#include "transport.h"

#define DEV_PATH "/dev/vgpu_stub"
#define HDR_BYTES 4096u
#define RW (PROT_READ | PROT_WRITE)

struct vgpu_tr {
	int fd;
	uint64_t sq_bytes;
	uint64_t cq_bytes;
};

static void *map(int fd, uint64_t len, uint64_t off, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_SHARED, fd, (off_t)off);

	return p == MAP_FAILED ? NULL : p;
}

static void unmap_all(struct vgpu_tr_session *s)
{
	if (s->hdr)
		munmap(s->hdr, HDR_BYTES);
	if (s->sq)
		munmap(s->sq, s->tr->sq_bytes);
	if (s->cq)
		munmap(s->cq, s->tr->cq_bytes);
	if (s->pool)
		munmap(s->pool, s->pool_len);
	s->hdr = NULL;
	s->sq = NULL;
	s->cq = NULL;
	s->pool = NULL;
}

static int map_session(struct vgpu_tr_session *s,
		       const struct vgpu_ioc_session *io)
{
	int fd = s->tr->fd;

	s->tr->sq_bytes = io->sq_bytes;
	s->tr->cq_bytes = io->cq_bytes;
	if (io->sq_bytes < (uint64_t)io->depth * sizeof(struct vgpu_sqe) ||
	    io->cq_bytes < (uint64_t)io->depth * sizeof(struct vgpu_cqe))
		return -EPROTO;
	s->hdr = map(fd, HDR_BYTES, VGPU_MMAP_QHDR, RW);
	s->sq = map(fd, io->sq_bytes, VGPU_MMAP_SQ, RW);
	/* the driver maps the CQ read-only or not at all (-EPERM): only the
	 * device writes it */
	s->cq = map(fd, io->cq_bytes, VGPU_MMAP_CQ, PROT_READ);
	s->pool_len = io->pool_len;
	s->pool = io->pool_len ? map(fd, io->pool_len, io->pool_mmap_off, RW) :
				 NULL;
	if (!s->hdr || !s->sq || !s->cq || (io->pool_len && !s->pool))
		return -errno ? -errno : -ENOMEM;
	s->session = io->session;
	s->depth = io->depth;
	s->pool_region = io->pool_region;
	s->abi_version = io->abi_version;
	s->features = io->features;
	return 0;
}

static int k_open(struct vgpu_tr_session *s, const struct vgpu_tr_params *p)
{
	struct vgpu_ioc_session io;
	struct vgpu_tr *t = calloc(1, sizeof(*t));
	int rc;

	if (!t)
		return -ENOMEM;
	t->fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	if (t->fd < 0) {
		rc = -errno;
		free(t);
		return rc;
	}
	s->tr = t;
	memset(&io, 0, sizeof(io));
	io.sq_depth = p->sq_depth;
	io.pool_bytes = p->pool_bytes;
	if (ioctl(t->fd, VGPU_IOC_SESSION, &io) < 0)
		rc = -errno;
	else
		rc = map_session(s, &io);
	if (rc) {
		unmap_all(s);
		close(t->fd);
		free(t);
		s->tr = NULL;
	}
	return rc;
}

static int k_doorbell(struct vgpu_tr_session *s)
{
	return ioctl(s->tr->fd, VGPU_IOC_DOORBELL) < 0 ? -errno : 0;
}

static int k_wait(struct vgpu_tr_session *s, uint32_t head, uint64_t timeout_ns)
{
	struct vgpu_ioc_wait w = { .head = head, .timeout_ns = timeout_ns };

	return ioctl(s->tr->fd, VGPU_IOC_WAIT, &w) < 0 ? -errno : 0;
}

static int k_region_alloc(struct vgpu_tr_session *s, uint64_t bytes,
			  uint32_t *region, void **va, uint64_t *len)
{
	struct vgpu_ioc_region r = { .bytes = bytes };
	void *p;
	int rc;

	if (ioctl(s->tr->fd, VGPU_IOC_REGION_ALLOC, &r) < 0)
		return -errno;
	p = map(s->tr->fd, r.len, r.mmap_off, RW);
	if (!p) {
		rc = -errno;
		ioctl(s->tr->fd, VGPU_IOC_REGION_FREE, &r);
		return rc;
	}
	*region = r.region;
	*va = p;
	*len = r.len;
	return 0;
}

static int k_region_free(struct vgpu_tr_session *s, uint32_t region, void *va,
			 uint64_t len)
{
	struct vgpu_ioc_region r = { .region = region };

	munmap(va, len);
	return ioctl(s->tr->fd, VGPU_IOC_REGION_FREE, &r) < 0 ? -errno : 0;
}

static void k_close(struct vgpu_tr_session *s)
{
	if (!s->tr)
		return;
	unmap_all(s);
	close(s->tr->fd);
	free(s->tr);
	s->tr = NULL;
}

const struct vgpu_tr_ops vgpu_tr_kernel = {
	.name = "kernel",
	.open = k_open,
	.doorbell = k_doorbell,
	.wait = k_wait,
	.region_alloc = k_region_alloc,
	.region_free = k_region_free,
	.close = k_close,
};
