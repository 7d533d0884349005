// SPDX-License-Identifier: GPL-2.0-only
/*
 * The vgpu-stub device (1af4:1111, class 0x120000): a 4 KiB BAR0 register
 * file, described in include/vgpu/vgpu_stub_regs.h.
 */
#include <string.h>

#include <vgpu/vdev.h>
#include <vgpu/vgpu_stub_regs.h>

struct vgpu_stub {
	uint32_t status;
	uint32_t reset_count;
	uint32_t scratch;
	uint32_t compute_in;
	uint32_t compute_out;
	uint32_t scratch_ram[VGPU_SCRATCH_RAM_WORDS];
};

static struct vgpu_stub *stub(struct vdev *d)
{
	return d->priv;
}

static uint32_t factorial32(uint32_t n)
{
	uint32_t r = 1, i;

	/* n! has 32 factors of two from n = 34 on: the result is 0 there */
	if (n >= 34)
		return 0;
	for (i = 2; i <= n; i++)
		r *= i;
	return r;
}

static void vgpu_stub_init_cfg(struct vdev *d)
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
	/* No interrupts yet: INTERRUPT_PIN 0, no capability list. */
	pci_cfg_set8(c, PCI_INTERRUPT_PIN, 0);

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

static uint32_t vgpu_stub_reg_read(struct vdev *d, uint32_t off)
{
	struct vgpu_stub *s = stub(d);

	switch (off) {
	case VGPU_REG_MAGIC:
		return VGPU_MAGIC;
	case VGPU_REG_VERSION:
		return VGPU_ABI_VERSION;
	case VGPU_REG_FEATURES:
		return 0;
	case VGPU_REG_STATUS:
		return s->status;
	case VGPU_REG_RESET_COUNT:
		return s->reset_count;
	case VGPU_REG_SCRATCH:
		return s->scratch;
	case VGPU_REG_COMPUTE_IN:
		return s->compute_in;
	case VGPU_REG_COMPUTE_OUT:
		return s->compute_out;
	}
	if (off - VGPU_REG_SCRATCH_RAM < 4 * VGPU_SCRATCH_RAM_WORDS)
		return s->scratch_ram[(off - VGPU_REG_SCRATCH_RAM) / 4];
	log_guest(d->log, "guest: read of unimplemented bar0 offset 0x%03x",
		  off);
	return 0;
}

static void vgpu_stub_reset(struct vdev *d)
{
	struct vgpu_stub *s = stub(d);
	uint32_t resets = s->reset_count + 1;

	memset(s, 0, sizeof(*s));
	s->reset_count = resets;
}

static uint32_t merge(uint32_t old, uint32_t val, uint32_t bytes)
{
	return (old & ~bytes) | (val & bytes);
}

static void vgpu_stub_reg_write(struct vdev *d, uint32_t off, uint32_t val,
				uint32_t bytes)
{
	struct vgpu_stub *s = stub(d);
	uint32_t v;

	switch (off) {
	case VGPU_REG_STATUS:
		v = merge(s->status, val, bytes);
		if (v == 0) {
			vgpu_stub_reset(d);
			log_info(d->log, "device reset by the guest");
		} else {
			s->status = v & VGPU_STATUS_DRIVER_MASK;
		}
		return;
	case VGPU_REG_SCRATCH:
		s->scratch = merge(s->scratch, val, bytes);
		return;
	case VGPU_REG_COMPUTE_IN:
		s->compute_in = merge(s->compute_in, val, bytes);
		s->compute_out = factorial32(s->compute_in);
		return;
	}
	if (off - VGPU_REG_SCRATCH_RAM < 4 * VGPU_SCRATCH_RAM_WORDS) {
		uint32_t *w = &s->scratch_ram[(off - VGPU_REG_SCRATCH_RAM) / 4];

		*w = merge(*w, val, bytes);
		return;
	}
	log_guest(
		d->log,
		"guest: write of 0x%08x to read-only or unimplemented bar0 offset 0x%03x dropped",
		val & bytes, off);
}

const struct vdev_ops vgpu_stub_ops = {
	.name = "vgpu-stub",
	.bar0_size = VGPU_BAR0_SIZE,
	.priv_size = sizeof(struct vgpu_stub),
	.init_cfg = vgpu_stub_init_cfg,
	.reg_read = vgpu_stub_reg_read,
	.reg_write = vgpu_stub_reg_write,
	.reset = vgpu_stub_reset,
};
