/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A virtual PCI function: its config space, its BAR0 register file, and
 * the routing of BAR0 to this emulator (through struct host).
 */
#ifndef VGPU_VDEV_H
#define VGPU_VDEV_H

#include <stdbool.h>
#include <stdint.h>

#include <vgpu/host.h>
#include <vgpu/log.h>
#include <vgpu/pci_cfg.h>

struct vdev;

/* What a device model provides (bhyve's pci_devemu, reduced). */
struct vdev_ops {
	const char *name;
	uint32_t bar0_size; /* power of two, >= 4 KiB */
	unsigned int priv_size; /* bytes of device state, zeroed at create */
	/* Fill in the header: identity bytes, masks, BARs. */
	void (*init_cfg)(struct vdev *d);
	/* Registers: @off is dword-aligned and < bar0_size. */
	uint32_t (*reg_read)(struct vdev *d, uint32_t off);
	/* Write the bytes of @val selected by @bytes (0x000000ff per byte). */
	void (*reg_write)(struct vdev *d, uint32_t off, uint32_t val,
			  uint32_t bytes);
	void (*reset)(struct vdev *d);
};

struct vdev_ids {
	uint16_t vendor;
	uint16_t device;
};

struct vdev {
	const struct vdev_ops *ops;
	struct pci_cfg cfg;
	struct vdev_ids ids;
	uint32_t sbdf; /* seg << 16 | bus << 8 | dev << 3 | fn */
	struct host *host;
	struct logger *log;
	/* BAR0 as routed to us now: valid only if bar0_mapped. */
	bool bar0_mapped;
	uint32_t bar0_base;
	uint64_t map_failures;
	void *priv;
};

extern const struct vdev_ops vgpu_stub_ops;

/* Look a device model up by name; NULL if there is none. */
const struct vdev_ops *vdev_find(const char *name);

/* 0 or -errno. @ids may be NULL for the model's own identity. */
int vdev_create(struct vdev *d, const struct vdev_ops *ops,
		const struct vdev_ids *ids, uint32_t sbdf, struct host *host,
		struct logger *lg);
/* Unroute BAR0 if routed and free device state. */
void vdev_destroy(struct vdev *d);

/* Guest config access (arguments guest-controlled). */
uint32_t vdev_cfg_read(struct vdev *d, uint32_t off, uint32_t size);
void vdev_cfg_write(struct vdev *d, uint32_t off, uint32_t size, uint32_t val);

/*
 * Make the BAR0 routing match config space: routed iff MEMORY decode is on
 * and BAR0 holds a usable address (non-zero, not the sizing pattern, below
 * 4 GiB). Unroutes the old range before routing a new one.
 */
void vdev_sync_bars(struct vdev *d);

/* If @gpa lies in routed BAR0, store its offset and return true. */
bool vdev_bar0_offset(const struct vdev *d, uint64_t gpa, uint64_t *off);

/* BAR0 access of 1, 2, 4 or 8 bytes; the caller checks off + size. */
uint64_t vdev_bar_read(struct vdev *d, uint64_t off, uint32_t size);
void vdev_bar_write(struct vdev *d, uint64_t off, uint32_t size, uint64_t val);

#endif
