// SPDX-License-Identifier: GPL-2.0-only
/*
 * Decode and answer one I/O request. All fields are guest-controlled: the
 * size, the rep count, the direction flag and data_is_ptr are validated
 * here, once, and every request gets a defined answer (all-ones for reads
 * that cannot be served, writes dropped) - never an abort.
 */
#include <string.h>

#include <vgpu/ioreq.h>
#include <vgpu/vdev.h>

/* A rep access never spans more than one page of our BARs or of the
 * guest's buffer; Xen itself splits rep string I/O at page boundaries. */
#define IO_REP_MAX_BYTES 4096u

static uint64_t size_mask(uint32_t size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

/* One element access at offset @off of the target; @val in/out. */
typedef void (*io_elem_fn)(struct vdev *d, uint64_t off, uint32_t size, int dir,
			   uint64_t *val);

static void cfg_elem(struct vdev *d, uint64_t off, uint32_t size, int dir,
		     uint64_t *val)
{
	if (dir == IO_READ)
		*val = vdev_cfg_read(d, (uint32_t)off, size);
	else
		vdev_cfg_write(d, (uint32_t)off, size, (uint32_t)*val);
}

static void bar_elem(struct vdev *d, uint64_t off, uint32_t size, int dir,
		     uint64_t *val)
{
	if (dir == IO_READ)
		*val = vdev_bar_read(d, off, size);
	else
		vdev_bar_write(d, off, size, *val);
}

static void reject(struct vdev *d, struct io_req *r, struct io_stats *st,
		   const char *why)
{
	st->rejected++;
	log_guest(
		d->log,
		"guest: %s: type %u dir %u addr 0x%llx size %u count %u ptr %u",
		why, r->type, r->dir, (unsigned long long)r->addr, r->size,
		r->count, r->data_is_ptr);
	if (r->dir == IO_READ && !r->data_is_ptr)
		r->data = size_mask(r->size);
}

/*
 * Run a (possibly rep) request against one target. @off is the first
 * element's offset; @step is +size or -size per element on the target
 * (0 for a fixed port), the guest buffer steps by +/-size with df.
 */
static void do_rep_ptr(struct vdev *d, struct io_req *r, struct io_stats *st,
		       io_elem_fn fn, uint64_t off, int64_t step);

static void do_rep(struct vdev *d, struct io_req *r, struct io_stats *st,
		   io_elem_fn fn, uint64_t off, int64_t step)
{
	uint64_t v;
	uint32_t i;

	if (r->data_is_ptr) {
		do_rep_ptr(d, r, st, fn, off, step);
		return;
	}
	/* rep stos writes one value to every element; a read with a count
	 * keeps the last element read (masked once, in io_dispatch()) */
	v = r->data & size_mask(r->size);
	for (i = 0; i < r->count; i++, off += (uint64_t)step)
		fn(d, off, r->size, r->dir, &v);
	if (r->dir == IO_READ)
		r->data = v;
}

/* The rare case, out of line: its page-sized buffer stays off the
 * common path's stack frame. */
static __attribute__((noinline)) void
do_rep_ptr(struct vdev *d, struct io_req *r, struct io_stats *st, io_elem_fn fn,
	   uint64_t off, int64_t step)
{
	uint8_t buf[IO_REP_MAX_BYTES];
	uint64_t total = (uint64_t)r->count * r->size;
	uint64_t gpa_lo = r->data;
	struct host *h = d->host;
	uint32_t i;

	/* data is a guest-physical buffer of count elements; with df it
	 * grows downwards from data. */
	if (r->df) {
		if (r->data < total - r->size) {
			reject(d, r, st, "rep buffer below address 0");
			return;
		}
		gpa_lo = r->data - (total - r->size);
	} else if (r->data + total < r->data) {
		reject(d, r, st, "rep buffer wraps");
		return;
	}
	if (!h->ops->copy_from_guest || !h->ops->copy_to_guest) {
		reject(d, r, st, "rep with a guest buffer unsupported");
		return;
	}
	if (r->dir == IO_WRITE &&
	    h->ops->copy_from_guest(h, buf, gpa_lo, total) < 0) {
		reject(d, r, st, "rep buffer not readable");
		return;
	}
	for (i = 0; i < r->count; i++, off += (uint64_t)step) {
		uint32_t at = r->df ? (uint32_t)(total - (i + 1) * r->size) :
				      i * r->size;
		uint64_t v = 0;

		if (r->dir == IO_WRITE)
			memcpy(&v, buf + at, r->size);
		fn(d, off, r->size, r->dir, &v);
		if (r->dir == IO_READ)
			memcpy(buf + at, &v, r->size);
	}
	if (r->dir == IO_READ &&
	    h->ops->copy_to_guest(h, gpa_lo, buf, total) < 0)
		reject(d, r, st, "rep buffer not writable");
}

static bool rep_ok(const struct io_req *r)
{
	/* count >= 1, and count * size (size <= 8) at most one page */
	return r->count >= 1 && r->count <= IO_REP_MAX_BYTES / r->size;
}

static void dispatch_cfg(struct vdev *d, struct io_req *r, struct io_stats *st)
{
	uint32_t sbdf = (uint32_t)(r->addr >> 32);
	uint32_t reg = (uint32_t)r->addr;

	if (sbdf != d->sbdf) {
		reject(d, r, st, "config access to a function we do not serve");
		return;
	}
	if (r->size != 1 && r->size != 2 && r->size != 4) {
		reject(d, r, st, "config access of bad size");
		return;
	}
	if (!rep_ok(r)) {
		reject(d, r, st, "config access with bad rep count");
		return;
	}
	/* rep ins/outs on 0xcfc keep hitting the same register */
	do_rep(d, r, st, cfg_elem, reg, 0);
}

static void dispatch_mmio(struct vdev *d, struct io_req *r, struct io_stats *st)
{
	uint64_t off, span, lo;

	if (r->size != 1 && r->size != 2 && r->size != 4 && r->size != 8) {
		reject(d, r, st, "mmio access of bad size");
		return;
	}
	if (!rep_ok(r)) {
		reject(d, r, st, "mmio access with bad rep count");
		return;
	}
	if (!vdev_bar0_offset(d, r->addr, &off)) {
		reject(d, r, st, "mmio access outside bar0");
		return;
	}
	/* All elements must lie inside BAR0: [lo, lo + span). */
	span = (uint64_t)r->count * r->size;
	if (r->df) {
		if (off + r->size < span) {
			reject(d, r, st, "mmio rep runs below bar0");
			return;
		}
		lo = off + r->size - span;
	} else {
		lo = off;
	}
	if (lo + span > d->ops->bar0_size) {
		reject(d, r, st, "mmio access runs past bar0");
		return;
	}
	do_rep(d, r, st, bar_elem, off,
	       r->df ? -(int64_t)r->size : (int64_t)r->size);
}

void io_dispatch(struct vdev *d, struct io_req *r, struct io_stats *st)
{
	switch (r->type) {
	case IO_PCI_CONFIG:
		st->cfg++;
		dispatch_cfg(d, r, st);
		break;
	case IO_MMIO:
		st->mmio++;
		dispatch_mmio(d, r, st);
		break;
	case IO_PIO:
		/* We claim no I/O ports; Xen should never send one. */
		st->pio++;
		reject(d, r, st, "port i/o to a device without i/o bars");
		break;
	case IO_INVALIDATE:
		/* Map-cache flush broadcast: drop mappings of guest RAM. */
		st->invalidate++;
		vdev_invalidate(d);
		break;
	case IO_TIMEOFFSET:
		st->other++;
		break;
	default:
		/* unknown type: all-ones */
		st->other++;
		if (r->dir == IO_READ && !r->data_is_ptr)
			r->data = ~0ull;
		break;
	}
	/* Whatever the type, a read answers no more than its size. */
	if (r->dir == IO_READ && !r->data_is_ptr)
		r->data &= size_mask(r->size);
}
