/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A virtual PCI function: its config space, its BAR0 register file, and
 * the routing of BAR0 to this emulator (through struct host).
 */
#ifndef VGPU_VDEV_H
#define VGPU_VDEV_H

#include <stdbool.h>
#include <stddef.h>
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
	/* Optional. start: after the state is set up (@resumed: taken over
	 * from a dead emulator); fini: before it goes away. */
	void (*start)(struct vdev *d, bool resumed);
	void (*fini)(struct vdev *d);
	/* Optional: work a register write asked for (vdev.deferred), run
	 * once the request that asked is complete and the vCPU released. */
	void (*deferred)(struct vdev *d);
	/* Optional: config bytes [off, off + size) were written. */
	void (*cfg_written)(struct vdev *d, uint32_t off, uint32_t size);
	/* Optional: drop cached mappings of guest memory (INVALIDATE). */
	void (*invalidate)(struct vdev *d);
	/*
	 * Optional: asynchronous work. poll_fd() is a descriptor that
	 * becomes readable when the device has work to finish (a backend's
	 * completions), or -1; poll() does that work and returns true while
	 * the device is hot (polling its queues): the event loop then calls
	 * it again without sleeping.
	 */
	int (*poll_fd)(struct vdev *d);
	bool (*poll)(struct vdev *d);
	/*
	 * Optional, for save and migration: may the registers in @priv (a
	 * state file's copy) be saved? 0, or -EBUSY with the reason in
	 * @why (commands in flight, whose completions a restored device
	 * would never post).
	 */
	int (*save_check)(const void *priv, char *why, size_t len);
	/* Optional: the guest notified the event channel the device bound
	 * through its host (host_ops.evtchn_bind): a doorbell. */
	void (*evtchn)(struct vdev *d);
};

struct vdev_ids {
	uint16_t vendor;
	uint16_t device;
};

#define VDEV_STATE_MAGIC 0x31545356u /* "VST1" */
#define VDEV_NO_SERVER 0xffffffffu

/*
 * Everything a function's emulator must not lose: plain data, so that it
 * can live in a shared file mapping and survive the emulator's crash. A
 * restarted emulator finds the guest's BAR programming, the routing Xen
 * still holds for its ioreq server, and the device's registers here.
 */
struct vdev_state {
	uint32_t magic;
	uint32_t size; /* bytes, the device's registers included */
	uint8_t domain_uuid[16]; /* the domain it belongs to */
	uint32_t domid;
	uint32_t sbdf;
	uint32_t ioservid; /* VDEV_NO_SERVER: none */
	uint32_t bar0_mapped;
	uint32_t bar0_base;
	uint32_t reserved;
	struct pci_cfg cfg;
	uint64_t priv[]; /* the device model's registers (ops->priv_size) */
};

struct vdev {
	const struct vdev_ops *ops;
	struct vdev_state *st;
	struct pci_cfg *cfg; /* &st->cfg */
	void *priv; /* st->priv */
	bool owns_st;
	struct vdev_ids ids;
	uint32_t sbdf; /* seg << 16 | bus << 8 | dev << 3 | fn */
	struct host *host;
	struct logger *log;
	uint64_t map_failures;
	bool deferred; /* ops->deferred() is due */
	/* started from a saved state (xl restore, migration): a new server
	 * for a domain whose memory the state's queues still name */
	bool restored;
	/* the device model's configuration (vgpu-stub: struct
	 * vgpu_stub_cfg), read by ops->start(); NULL: its defaults */
	const void *model_cfg;
};

extern const struct vdev_ops vgpu_stub_ops;

/* Look a device model up by name; NULL if there is none. */
const struct vdev_ops *vdev_find(const char *name);

/* Bytes of struct vdev_state for a device model. */
size_t vdev_state_size(const struct vdev_ops *ops);

/* A fresh device with its state in memory of its own. 0 or -errno.
 * @ids may be NULL for the model's own identity. */
int vdev_create(struct vdev *d, const struct vdev_ops *ops,
		const struct vdev_ids *ids, uint32_t sbdf, struct host *host,
		struct logger *lg);
/*
 * A device whose state lives in @st (vdev_state_size() bytes, e.g. a file
 * mapping). With @resume, a valid state for the same function is kept as
 * it is (config space, BAR0 routing, registers); otherwise it is reset.
 * Returns 1 if resumed, 0 if fresh.
 */
int vdev_create_in(struct vdev *d, const struct vdev_ops *ops,
		   const struct vdev_ids *ids, uint32_t sbdf, struct host *host,
		   struct logger *lg, struct vdev_state *st, bool resume);
/* The same, with a configuration for the device model (vdev.model_cfg;
 * it must outlive the device). */
int vdev_create_cfg(struct vdev *d, const struct vdev_ops *ops,
		    const struct vdev_ids *ids, uint32_t sbdf,
		    struct host *host, struct logger *lg,
		    const void *model_cfg);
int vdev_create_in_cfg(struct vdev *d, const struct vdev_ops *ops,
		       const struct vdev_ids *ids, uint32_t sbdf,
		       struct host *host, struct logger *lg,
		       struct vdev_state *st, bool resume,
		       const void *model_cfg);
/*
 * A device started from a saved state already decoded into @st
 * (savestate_decode(): no server, BAR0 not routed): kept as it is, BAR0
 * routed to the new server from config space (vdev_sync_bars()), start()
 * told with vdev.restored. 0, -EINVAL if @st is not a state of this
 * function, or -EIO if BAR0 could not be routed (logged; the device is
 * created, vdev_destroy() it).
 */
int vdev_create_restored(struct vdev *d, const struct vdev_ops *ops,
			 uint32_t sbdf, struct host *host, struct logger *lg,
			 struct vdev_state *st, const void *model_cfg);
/* Unroute BAR0 if routed; free the state if the device owns it. */
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

/* Run deferred device work, if any (after a request completed). */
static inline void vdev_run_deferred(struct vdev *d)
{
	if (d->deferred) {
		d->deferred = false;
		d->ops->deferred(d);
	}
}

/* INVALIDATE: the guest's memory map changed; drop cached mappings. */
static inline void vdev_invalidate(struct vdev *d)
{
	if (d->ops->invalidate)
		d->ops->invalidate(d);
}

static inline int vdev_poll_fd(struct vdev *d)
{
	return d->ops->poll_fd ? d->ops->poll_fd(d) : -1;
}

static inline bool vdev_poll(struct vdev *d)
{
	return d->ops->poll ? d->ops->poll(d) : false;
}

/* The guest notified the device's event channel: its doorbell, then the
 * work it asked for (as after a doorbell's ioreq). */
static inline void vdev_evtchn(struct vdev *d)
{
	if (d->ops->evtchn) {
		d->ops->evtchn(d);
		vdev_run_deferred(d);
	}
}

/* BAR0 access of 1, 2, 4 or 8 bytes; the caller checks off + size. */
uint64_t vdev_bar_read(struct vdev *d, uint64_t off, uint32_t size);
void vdev_bar_write(struct vdev *d, uint64_t off, uint32_t size, uint64_t val);

#endif
