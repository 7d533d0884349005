// SPDX-License-Identifier: GPL-2.0-only
/*
 * The vgpu-stub's PCI face: its config space (1af4:1111, class 0x120000,
 * BAR0, one MSI vector with per-vector masking, INTA) and how completions
 * reach the guest: the event channel (dev_vgpu_evtchn.c), MSI, or INTA.
 */
#include <errno.h>
#include <string.h>

#include <vgpu/log.h>
#include <vgpu/pci_cfg.h>
#include <vgpu/vgpu_stub.h>

#include "dev_vgpu_stub_int.h"

void stub_init_cfg(struct vdev *d)
{
	struct pci_cfg *c = d->cfg;

	pci_cfg_set16(c, PCI_VENDOR_ID, VGPU_PCI_VENDOR_ID);
	pci_cfg_set16(c, PCI_DEVICE_ID, VGPU_PCI_DEVICE_ID);
	pci_cfg_set8(c, PCI_REVISION_ID, VGPU_PCI_REVISION);
	pci_cfg_set8(c, PCI_CLASS_PROG, VGPU_PCI_CLASS & 0xff);
	pci_cfg_set16(c, PCI_CLASS_PROG + 1, VGPU_PCI_CLASS >> 8);
	pci_cfg_set8(c, PCI_HEADER_TYPE, 0);
	pci_cfg_set16(c, PCI_SUBSYSTEM_VENDOR_ID, VGPU_PCI_SUBSYS_VENDOR_ID);
	pci_cfg_set16(c, PCI_SUBSYSTEM_ID, VGPU_PCI_SUBSYS_ID);
	/* INTA, and an MSI capability the driver should prefer */
	pci_cfg_set8(c, PCI_INTERRUPT_PIN, 1);
	pci_cfg_set16(c, PCI_STATUS, PCI_STATUS_CAP_LIST);
	pci_cfg_set8(c, PCI_CAPABILITY_LIST, MSI_CAP);
	pci_cfg_set8(c, MSI_CAP, PCI_CAP_ID_MSI);
	pci_cfg_set8(c, MSI_CAP + 1, 0); /* the last capability */
	pci_cfg_set16(c, MSI_CAP + PCI_MSI_FLAGS,
		      PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT);
	/* one vector: multiple-message enable stays 0 */
	pci_cfg_set_wmask(c, MSI_CAP + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
	pci_cfg_set_wmask(c, MSI_CAP + PCI_MSI_ADDRESS_LO, 4, 0xfffffffc);
	pci_cfg_set_wmask(c, MSI_CAP + PCI_MSI_ADDRESS_HI, 4, 0xffffffff);
	pci_cfg_set_wmask(c, MSI_CAP + PCI_MSI_DATA_64, 2, 0xffff);
	pci_cfg_set_wmask(c, MSI_CAP + PCI_MSI_MASK_64, 4, 0x1);
	/* pending bits (MSI_CAP + 20) are the device's: read-only */

	pci_cfg_set_wmask(c, PCI_COMMAND, 2,
			  PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
				  PCI_COMMAND_PARITY | PCI_COMMAND_SERR |
				  PCI_COMMAND_INTX_DISABLE);
	pci_cfg_set_wmask(c, PCI_STATUS, 2, 0);
	c->w1cmask[PCI_STATUS] = PCI_STATUS_W1C & 0xff;
	c->w1cmask[PCI_STATUS + 1] = PCI_STATUS_W1C >> 8;
	/* Cache line size, latency timer and the interrupt line are plain
	 * read/write storage for software (hvmloader writes the line). */
	pci_cfg_set_wmask(c, PCI_CACHE_LINE_SIZE, 2, 0xffff);
	pci_cfg_set_wmask(c, PCI_INTERRUPT_LINE, 1, 0xff);
	pci_cfg_init_bar_mem32(c, 0, VGPU_BAR0_SIZE);
}

static bool msi_enabled(struct vdev *d)
{
	return pci_cfg_get16(d->cfg, MSI_CAP + PCI_MSI_FLAGS) &
	       PCI_MSI_FLAGS_ENABLE;
}

/* Per-vector mask bit of our one vector. */
static bool msi_masked(struct vdev *d)
{
	return pci_cfg_get32(d->cfg, MSI_CAP + PCI_MSI_MASK_64) & 1;
}

static void send_msi(struct vdev *d)
{
	uint64_t addr =
		pci_cfg_get32(d->cfg, MSI_CAP + PCI_MSI_ADDRESS_LO) |
		(uint64_t)pci_cfg_get32(d->cfg, MSI_CAP + PCI_MSI_ADDRESS_HI)
			<< 32;
	uint32_t data = pci_cfg_get16(d->cfg, MSI_CAP + PCI_MSI_DATA_64);
	int rc = d->host->ops->inject_msi ?
			 d->host->ops->inject_msi(d->host, addr, data) :
			 -ENOSYS;

	if (rc < 0)
		log_guest(d->log, "guest: cannot send msi 0x%llx/0x%x: %s",
			  (unsigned long long)addr, data, strerror(-rc));
	else
		stub(d)->msis_sent++;
}

/*
 * INTA follows INTR_STATUS & ~INTR_MASK unless MSI is on or COMMAND says
 * INTX_DISABLE; STATUS.INTERRUPT shows the condition either way.
 */
void stub_update_intx(struct vdev *d)
{
	struct vgpu_stub *s = stub(d);
	bool cond = s->intr_status & ~s->intr_mask;
	bool level = cond && !msi_enabled(d) &&
		     !(pci_cfg_get16(d->cfg, PCI_COMMAND) &
		       PCI_COMMAND_INTX_DISABLE);
	uint16_t st = pci_cfg_get16(d->cfg, PCI_STATUS);

	pci_cfg_set16(d->cfg, PCI_STATUS,
		      (uint16_t)((st & ~PCI_STATUS_INTERRUPT) |
				 (cond ? PCI_STATUS_INTERRUPT : 0)));
	if (level == (bool)s->intx_level || !d->host->ops->set_intx)
		return;
	if (d->host->ops->set_intx(d->host, level) == 0)
		s->intx_level = level;
}

/* Queues in @bits posted completions the driver asked to hear of. */
void stub_raise_irq(struct vdev *d, uint32_t bits)
{
	struct vgpu_stub *s = stub(d);
	uint32_t pend = MSI_CAP + PCI_MSI_PENDING_64;

	if (stub_evtchn_signal(d, &s->evt))
		return; /* on the event channel instead */
	s->intr_status |= bits;
	if (msi_enabled(d)) {
		/* one message per batch; a masked vector stays pending */
		if (msi_masked(d))
			pci_cfg_set32(d->cfg, pend, 1);
		else
			send_msi(d);
	}
	stub_update_intx(d);
}

void stub_cfg_written(struct vdev *d, uint32_t off, uint32_t size)
{
	uint32_t pend = MSI_CAP + PCI_MSI_PENDING_64;

	if (pci_cfg_overlaps(off, size, MSI_CAP, PCI_MSI_SIZEOF_64_MASK) &&
	    msi_enabled(d) && !msi_masked(d) &&
	    (pci_cfg_get32(d->cfg, pend) & 1)) {
		/* unmasked with a message pending: deliver it now */
		pci_cfg_set32(d->cfg, pend, 0);
		send_msi(d);
	}
	if (pci_cfg_overlaps(off, size, PCI_COMMAND, 2) ||
	    pci_cfg_overlaps(off, size, MSI_CAP, PCI_MSI_SIZEOF_64_MASK))
		stub_update_intx(d);
}
