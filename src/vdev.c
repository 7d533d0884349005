// SPDX-License-Identifier: GPL-2.0-only
/*
 * Generic virtual PCI function: config accesses with the BAR-routing
 * side effect, and BAR0 accesses split into the device's dword registers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vgpu/vdev.h>

static const struct vdev_ops *const vdev_registry[] = {
	&vgpu_stub_ops,
};

const struct vdev_ops *vdev_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(vdev_registry) / sizeof(vdev_registry[0]); i++)
		if (strcmp(vdev_registry[i]->name, name) == 0)
			return vdev_registry[i];
	return NULL;
}

size_t vdev_state_size(const struct vdev_ops *ops)
{
	return sizeof(struct vdev_state) + ((ops->priv_size + 7u) & ~7u);
}

static bool state_resumable(const struct vdev_state *st,
			    const struct vdev_ops *ops, uint32_t sbdf)
{
	return st->magic == VDEV_STATE_MAGIC &&
	       st->size == vdev_state_size(ops) && st->sbdf == sbdf;
}

static int setup(struct vdev *d, const struct vdev_ops *ops,
		 const struct vdev_ids *ids, uint32_t sbdf, struct host *host,
		 struct logger *lg, struct vdev_state *st, bool resume,
		 bool restored, const void *model_cfg)
{
	bool resumed = resume && state_resumable(st, ops, sbdf);

	memset(d, 0, sizeof(*d));
	d->restored = restored && resumed;
	d->model_cfg = model_cfg;
	d->ops = ops;
	d->st = st;
	d->cfg = &st->cfg;
	d->priv = st->priv;
	d->sbdf = sbdf;
	d->host = host;
	d->log = lg;
	if (!resumed) {
		memset(st, 0, vdev_state_size(ops));
		st->size = (uint32_t)vdev_state_size(ops);
		st->sbdf = sbdf;
		st->ioservid = VDEV_NO_SERVER;
		ops->init_cfg(d);
		if (ids) {
			pci_cfg_set16(d->cfg, PCI_VENDOR_ID, ids->vendor);
			pci_cfg_set16(d->cfg, PCI_DEVICE_ID, ids->device);
		}
		st->magic = VDEV_STATE_MAGIC;
	}
	d->ids.vendor = pci_cfg_get16(d->cfg, PCI_VENDOR_ID);
	d->ids.device = pci_cfg_get16(d->cfg, PCI_DEVICE_ID);
	if (ops->start)
		ops->start(d, resumed);
	return resumed;
}

int vdev_create_in_cfg(struct vdev *d, const struct vdev_ops *ops,
		       const struct vdev_ids *ids, uint32_t sbdf,
		       struct host *host, struct logger *lg,
		       struct vdev_state *st, bool resume,
		       const void *model_cfg)
{
	return setup(d, ops, ids, sbdf, host, lg, st, resume, false, model_cfg);
}

int vdev_create_restored(struct vdev *d, const struct vdev_ops *ops,
			 uint32_t sbdf, struct host *host, struct logger *lg,
			 struct vdev_state *st, const void *model_cfg)
{
	if (!state_resumable(st, ops, sbdf))
		return -EINVAL;
	st->bar0_mapped = 0; /* routed to the old domain's server */
	setup(d, ops, NULL, sbdf, host, lg, st, true, true, model_cfg);
	vdev_sync_bars(d);
	return d->map_failures ? -EIO : 0; /* said why already */
}

int vdev_create_in(struct vdev *d, const struct vdev_ops *ops,
		   const struct vdev_ids *ids, uint32_t sbdf, struct host *host,
		   struct logger *lg, struct vdev_state *st, bool resume)
{
	return vdev_create_in_cfg(d, ops, ids, sbdf, host, lg, st, resume,
				  NULL);
}

int vdev_create_cfg(struct vdev *d, const struct vdev_ops *ops,
		    const struct vdev_ids *ids, uint32_t sbdf,
		    struct host *host, struct logger *lg, const void *model_cfg)
{
	struct vdev_state *st = calloc(1, vdev_state_size(ops));

	if (!st)
		return -ENOMEM;
	vdev_create_in_cfg(d, ops, ids, sbdf, host, lg, st, false, model_cfg);
	d->owns_st = true;
	return 0;
}

int vdev_create(struct vdev *d, const struct vdev_ops *ops,
		const struct vdev_ids *ids, uint32_t sbdf, struct host *host,
		struct logger *lg)
{
	return vdev_create_cfg(d, ops, ids, sbdf, host, lg, NULL);
}

void vdev_destroy(struct vdev *d)
{
	if (d->st && d->ops->fini)
		d->ops->fini(d);
	/* Failure is harmless here: destroying the server drops its ranges
	 * (and after the domain died, there is nothing left to unroute). */
	if (d->st && d->st->bar0_mapped &&
	    d->host->ops->unmap_mmio(d->host, d->st->bar0_base,
				     d->ops->bar0_size) < 0)
		log_debug(d->log, "cannot unroute bar0 at 0x%08x",
			  d->st->bar0_base);
	if (d->st)
		d->st->bar0_mapped = 0;
	if (d->owns_st)
		free(d->st);
	d->st = NULL;
	d->cfg = NULL;
	d->priv = NULL;
}

uint32_t vdev_cfg_read(struct vdev *d, uint32_t off, uint32_t size)
{
	return pci_cfg_read(d->cfg, off, size);
}

void vdev_cfg_write(struct vdev *d, uint32_t off, uint32_t size, uint32_t val)
{
	pci_cfg_write(d->cfg, off, size, val);
	/* Routing depends on COMMAND and the BARs (ROM BAR: none here). */
	if (pci_cfg_overlaps(off, size, PCI_COMMAND, 2) ||
	    pci_cfg_overlaps(off, size, PCI_BASE_ADDRESS_0, 24))
		vdev_sync_bars(d);
	if (d->ops->cfg_written)
		d->ops->cfg_written(d, off, size);
}

/* Route @base to us. A range Xen already holds for our server (left by a
 * crashed predecessor between its map call and its state update) counts. */
static int route(struct vdev *d, uint32_t base, uint32_t size)
{
	int rc = d->host->ops->map_mmio(d->host, base, size);

	if (rc == -EEXIST) {
		d->host->ops->unmap_mmio(d->host, base, size);
		rc = d->host->ops->map_mmio(d->host, base, size);
	}
	return rc;
}

void vdev_sync_bars(struct vdev *d)
{
	struct vdev_state *st = d->st;
	uint32_t size = d->ops->bar0_size;
	uint32_t base = pci_cfg_get32(d->cfg, PCI_BASE_ADDRESS_0) &
			PCI_BASE_ADDRESS_MEM_MASK;
	bool decode = pci_cfg_get16(d->cfg, PCI_COMMAND) & PCI_COMMAND_MEMORY;
	/*
	 * QEMU's pci_bar_address() rules: no address 0, not the all-ones
	 * sizing pattern, no wrap past 4 GiB for a 32-bit BAR.
	 */
	bool want = decode && base != 0 && base != (uint32_t) ~(size - 1) &&
		    (uint64_t)base + size <= 0x100000000ull;
	int rc;

	if (want == (bool)st->bar0_mapped && (!want || base == st->bar0_base))
		return;
	if (st->bar0_mapped) {
		rc = d->host->ops->unmap_mmio(d->host, st->bar0_base, size);
		if (rc < 0)
			log_guest_msg(d->log, LOG_ERR,
				      "cannot unroute bar0 0x%08x: %s",
				      st->bar0_base, strerror(-rc));
		else
			log_guest_msg(d->log, LOG_DEBUG,
				      "bar0 unrouted from 0x%08x",
				      st->bar0_base);
		st->bar0_mapped = 0;
	}
	if (!want)
		return;
	rc = route(d, base, size);
	if (rc < 0) {
		/* The BAR keeps reading back as programmed; accesses to it
		 * go to whatever Xen routes there (all-ones if nothing). */
		d->map_failures++;
		log_guest_msg(
			d->log, LOG_ERR,
			"cannot route bar0 0x%08x-0x%08x to this server: %s; the device's registers are unreachable",
			base, base + size - 1, strerror(-rc));
		return;
	}
	st->bar0_base = base;
	st->bar0_mapped = 1;
	log_guest_msg(d->log, LOG_DEBUG, "bar0 routed at 0x%08x-0x%08x", base,
		      base + size - 1);
}

bool vdev_bar0_offset(const struct vdev *d, uint64_t gpa, uint64_t *off)
{
	const struct vdev_state *st = d->st;

	if (!st->bar0_mapped || gpa < st->bar0_base ||
	    gpa - st->bar0_base >= d->ops->bar0_size)
		return false;
	*off = gpa - st->bar0_base;
	return true;
}

uint64_t vdev_bar_read(struct vdev *d, uint64_t off, uint32_t size)
{
	uint64_t v = 0;
	uint64_t end = off + size;
	uint64_t dw;

	if (size == 4 && !(off & 3))
		return d->ops->reg_read(d, (uint32_t)off);
	for (dw = off & ~3ull; dw < end; dw += 4) {
		uint32_t r = d->ops->reg_read(d, (uint32_t)dw);
		uint64_t a;

		for (a = dw > off ? dw : off; a < dw + 4 && a < end; a++)
			v |= (uint64_t)((r >> (8 * (a - dw))) & 0xff)
			     << (8 * (a - off));
	}
	return v;
}

void vdev_bar_write(struct vdev *d, uint64_t off, uint32_t size, uint64_t val)
{
	uint64_t end = off + size;
	uint64_t dw;

	if (size == 4 && !(off & 3)) {
		d->ops->reg_write(d, (uint32_t)off, (uint32_t)val, 0xffffffffu);
		return;
	}
	for (dw = off & ~3ull; dw < end; dw += 4) {
		uint32_t v32 = 0, bytes = 0;
		uint64_t a;

		for (a = dw > off ? dw : off; a < dw + 4 && a < end; a++) {
			uint32_t shift = (uint32_t)(8 * (a - dw));

			v32 |= (uint32_t)((val >> (8 * (a - off))) & 0xff)
			       << shift;
			bytes |= 0xffu << shift;
		}
		d->ops->reg_write(d, (uint32_t)dw, v32, bytes);
	}
}
