/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The hypervisor seam: what the device model needs from its host. Xen
 * implements it in src/host_xen.c; tests implement it with recorders.
 */
#ifndef VGPU_HOST_H
#define VGPU_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct host;

struct host_ops {
	/* Route guest MMIO [gpa, gpa + len) to this device. 0 or -errno. */
	int (*map_mmio)(struct host *h, uint64_t gpa, uint64_t len);
	int (*unmap_mmio)(struct host *h, uint64_t gpa, uint64_t len);
	/*
	 * Copy between guest-physical memory and a local buffer (rep string
	 * I/O with data_is_ptr). 0 or -errno; may be NULL (then such
	 * requests are refused).
	 */
	int (*copy_from_guest)(struct host *h, void *dst, uint64_t gpa,
			       size_t len);
	int (*copy_to_guest)(struct host *h, uint64_t gpa, const void *src,
			     size_t len);
	/*
	 * Map @pages guest frames from @gpa (page aligned) for as long as
	 * the device needs them (command queues). NULL if any frame cannot
	 * be mapped. May be NULL (then queues cannot be enabled).
	 */
	void *(*map_guest)(struct host *h, uint64_t gpa, uint32_t pages,
			   bool writable);
	void (*unmap_guest)(struct host *h, void *va, uint32_t pages);
	/*
	 * Map the guest frames @gfns[0..n) (page numbers, any order) as one
	 * contiguous range for as long as the device needs them (a
	 * session's registered regions); unmapped with unmap_guest(va, n).
	 * NULL if any frame cannot be mapped. May be NULL (no regions).
	 */
	void *(*map_guest_frames)(struct host *h, const uint64_t *gfns,
				  uint32_t n, bool writable);
	/*
	 * Optional: guest memory [gpa, gpa + len) as a file another process
	 * can map itself (loopback: the client's memfd): 0 with *fd (owned
	 * by the host) and *off, or -ENOTSUP (Xen: foreign mappings).
	 */
	int (*guest_fd)(struct host *h, uint64_t gpa, uint64_t len, int *fd,
			uint64_t *off);
	/* Optional: the device wrote guest memory [gpa, gpa + len) outside
	 * an ioreq (completions, copies): tell the log-dirty tracker. */
	void (*mark_dirty)(struct host *h, uint64_t gpa, uint64_t len);
	/* Interrupts: an MSI as the guest programmed it, or the level of
	 * the function's INTA. 0 or -errno; may be NULL. */
	int (*inject_msi)(struct host *h, uint64_t addr, uint32_t data);
	int (*set_intx)(struct host *h, bool level);
	/*
	 * Optional (Xen): the guest's event channel (VGPU_REG_EVTCHN).
	 * evtchn_bind binds the guest's unbound port @port, allocated for
	 * our domain, replacing one bound before: 0 or -errno (the port is
	 * not the guest's to give). While bound, each notification from the
	 * guest calls vdev_evtchn() on the device. evtchn_notify signals the
	 * guest on it (0 or -errno); evtchn_unbind lets it go (no-op if none).
	 */
	int (*evtchn_bind)(struct host *h, uint32_t port);
	int (*evtchn_notify)(struct host *h);
	void (*evtchn_unbind)(struct host *h);
	/*
	 * Optional (Xen): @pages pages of our own memory, zeroed, granted
	 * to the guest writable; refs[i] is page i's grant reference. The
	 * local mapping (contiguous), or NULL with errno (ENOTSUP: this host
	 * cannot grant; ENOSPC: the host's grant limit). grant_free ends
	 * the grants and unmaps (a page the guest still maps lives on in
	 * the hypervisor until it unmaps it; we never touch it again).
	 */
	bool (*grant_offered)(struct host *h); /* can grant now (gntalloc) */
	void *(*grant_alloc)(struct host *h, uint32_t pages, uint32_t *refs);
	void (*grant_free)(struct host *h, void *va, uint32_t pages);
};

struct host {
	const struct host_ops *ops;
	void *priv;
};

#endif
