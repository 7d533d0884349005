// SPDX-License-Identifier: GPL-2.0-only
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "unit/recorder.h"

static int rec_add(struct host *h, bool map, uint64_t gpa, uint64_t len)
{
	struct recorder *r = h->priv;

	if (r->n < REC_MAX)
		r->calls[r->n++] = (struct rec_call){ map, gpa, len };
	if (map && r->fail_map) {
		int rc = r->fail_map;

		r->fail_map = 0;
		return rc;
	}
	return 0;
}

static int rec_map(struct host *h, uint64_t gpa, uint64_t len)
{
	return rec_add(h, true, gpa, len);
}

static int rec_unmap(struct host *h, uint64_t gpa, uint64_t len)
{
	return rec_add(h, false, gpa, len);
}

static int rec_from(struct host *h, void *dst, uint64_t gpa, size_t len)
{
	struct recorder *r = h->priv;

	if (gpa >= REC_RAM_SIZE || len > REC_RAM_SIZE - gpa)
		return -EFAULT;
	memcpy(dst, r->ram + gpa, len);
	return 0;
}

static int rec_to(struct host *h, uint64_t gpa, const void *src, size_t len)
{
	struct recorder *r = h->priv;

	if (gpa >= REC_RAM_SIZE || len > REC_RAM_SIZE - gpa)
		return -EFAULT;
	memcpy(r->ram + gpa, src, len);
	return 0;
}

/* Guest RAM is mapped in place: the device sees the test's writes. */
static void *rec_map_guest(struct host *h, uint64_t gpa, uint32_t pages,
			   bool writable)
{
	struct recorder *r = h->priv;

	if (gpa >= REC_RAM_SIZE || pages > (REC_RAM_SIZE - gpa) / 4096)
		return NULL;
	r->guest_maps++;
	return r->ram + gpa;
}

static void rec_unmap_guest(struct host *h, void *va, uint32_t pages)
{
	struct recorder *r = h->priv;
	uint8_t *p = va;

	if (p >= r->ram && p < r->ram + REC_RAM_SIZE) {
		r->guest_maps--;
		return;
	}
	/* a scattered mapping of map_guest_frames */
	munmap(va, (size_t)pages * 4096);
	r->frame_maps--;
	r->guest_maps--;
}

/* Frames in a row map in place; scattered ones are remapped, page by
 * page, into a range of their own (the RAM is shared memory, so the
 * pages alias the guest's). */
static void *rec_map_frames(struct host *h, const uint64_t *gfns, uint32_t n,
			    bool writable)
{
	struct recorder *r = h->priv;
	uint8_t *va;
	uint32_t i;

	for (i = 0; i < n; i++)
		if (gfns[i] >= REC_RAM_SIZE / 4096)
			return NULL;
	for (i = 1; i < n && gfns[i] == gfns[0] + i; i++)
		;
	if (n && i == n) {
		r->guest_maps++;
		return r->ram + gfns[0] * 4096;
	}
	va = mmap(NULL, (size_t)n * 4096, PROT_NONE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (va == MAP_FAILED)
		return NULL;
	for (i = 0; i < n; i++)
		if (mremap(r->ram + gfns[i] * 4096, 0, 4096,
			   MREMAP_MAYMOVE | MREMAP_FIXED,
			   va + (size_t)i * 4096) == MAP_FAILED) {
			munmap(va, (size_t)n * 4096);
			return NULL;
		}
	r->frame_maps++;
	r->guest_maps++;
	return va;
}

static void rec_dirty(struct host *h, uint64_t gpa, uint64_t len)
{
	struct recorder *r = h->priv;

	uint64_t p;

	r->dirty_bytes += len;
	r->dirty_calls++;
	for (p = gpa / 4096;
	     len && p <= (gpa + len - 1) / 4096 && p < REC_RAM_SIZE / 4096; p++)
		r->dirty[p] = 1;
}

static int rec_msi(struct host *h, uint64_t addr, uint32_t data)
{
	struct recorder *r = h->priv;

	r->msis++;
	r->msi_addr = addr;
	r->msi_data = data;
	return 0;
}

static int rec_intx(struct host *h, bool level)
{
	struct recorder *r = h->priv;

	r->intx = level;
	return 0;
}

static bool rec_grant_offered(struct host *h)
{
	struct recorder *r = h->priv;

	return r->grants_on;
}

static void *rec_grant_alloc(struct host *h, uint32_t pages, uint32_t *refs)
{
	struct recorder *r = h->priv;
	uint32_t i;
	void *va;

	if (r->grant_fail) {
		errno = r->grant_fail;
		r->grant_fail = 0;
		return NULL;
	}
	va = calloc(pages, 4096);
	if (!va)
		return NULL;
	for (i = 0; i < pages; i++)
		refs[i] = 0x100 + r->next_ref++;
	r->granted += pages;
	r->grant_va = va;
	return va;
}

static void rec_grant_free(struct host *h, void *va, uint32_t pages)
{
	struct recorder *r = h->priv;

	r->granted -= pages;
	free(va);
}

static const struct host_ops rec_ops = {
	.map_mmio = rec_map,
	.unmap_mmio = rec_unmap,
	.copy_from_guest = rec_from,
	.copy_to_guest = rec_to,
	.map_guest = rec_map_guest,
	.unmap_guest = rec_unmap_guest,
	.map_guest_frames = rec_map_frames,
	.mark_dirty = rec_dirty,
	.inject_msi = rec_msi,
	.set_intx = rec_intx,
	.grant_offered = rec_grant_offered,
	.grant_alloc = rec_grant_alloc,
	.grant_free = rec_grant_free,
};

void rec_init(struct recorder *r)
{
	uint8_t *ram = r->ram;

	if (!ram) {
		ram = mmap(NULL, REC_RAM_SIZE, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (ram == MAP_FAILED)
			abort();
	} else {
		memset(ram, 0, REC_RAM_SIZE);
	}
	memset(r, 0, sizeof(*r));
	r->ram = ram;
	r->host.ops = &rec_ops;
	r->host.priv = r;
}

void rec_fini(struct recorder *r)
{
	if (r->ram)
		munmap(r->ram, REC_RAM_SIZE);
	r->ram = NULL;
}

void rec_make_stub(struct recorder *r, struct vdev *d, struct logger *lg)
{
	rec_init(r);
	log_init(lg, LOG_SINK_STDERR, LOG_ERR);
	vdev_create(d, &vgpu_stub_ops, NULL, 5u << 3, &r->host, lg);
}
