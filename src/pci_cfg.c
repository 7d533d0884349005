// SPDX-License-Identifier: GPL-2.0-only
/*
 * PCI configuration space engine, after QEMU's pci_default_write_config():
 * the device describes its header as bytes and masks; this file applies
 * guest accesses to them and knows nothing else.
 */
#include <vgpu/pci_cfg.h>

static bool cfg_size_ok(uint32_t size)
{
	return size == 1 || size == 2 || size == 4;
}

uint32_t pci_cfg_read(const struct pci_cfg *cfg, uint32_t off, uint32_t size)
{
	uint32_t v = 0, i;

	if (!cfg_size_ok(size))
		return 0xffffffffu;
	for (i = 0; i < size; i++) {
		/* off + i cannot wrap: off is at most 32 bits, compare in 64 */
		uint64_t at = (uint64_t)off + i;
		uint8_t b = at < PCI_CFG_SIZE ? cfg->data[at] : 0xff;

		v |= (uint32_t)b << (8 * i);
	}
	return v;
}

void pci_cfg_write(struct pci_cfg *cfg, uint32_t off, uint32_t size,
		   uint32_t val)
{
	uint32_t i;

	if (!cfg_size_ok(size))
		return;
	for (i = 0; i < size; i++, val >>= 8) {
		uint64_t at = (uint64_t)off + i;
		uint8_t w, c;

		if (at >= PCI_CFG_SIZE)
			break;
		w = cfg->wmask[at];
		c = cfg->w1cmask[at];
		cfg->data[at] = (uint8_t)((cfg->data[at] & ~w) | (val & w));
		cfg->data[at] &= (uint8_t) ~(val & c);
	}
}

void pci_cfg_set8(struct pci_cfg *cfg, uint32_t off, uint8_t v)
{
	if (off < PCI_CFG_SIZE)
		cfg->data[off] = v;
}

void pci_cfg_set16(struct pci_cfg *cfg, uint32_t off, uint16_t v)
{
	pci_cfg_set8(cfg, off, (uint8_t)v);
	pci_cfg_set8(cfg, off + 1, (uint8_t)(v >> 8));
}

void pci_cfg_set32(struct pci_cfg *cfg, uint32_t off, uint32_t v)
{
	pci_cfg_set16(cfg, off, (uint16_t)v);
	pci_cfg_set16(cfg, off + 2, (uint16_t)(v >> 16));
}

uint16_t pci_cfg_get16(const struct pci_cfg *cfg, uint32_t off)
{
	return (uint16_t)pci_cfg_read(cfg, off, 2);
}

uint32_t pci_cfg_get32(const struct pci_cfg *cfg, uint32_t off)
{
	return pci_cfg_read(cfg, off, 4);
}

void pci_cfg_set_wmask(struct pci_cfg *cfg, uint32_t off, uint32_t len,
		       uint32_t mask)
{
	uint32_t i;

	for (i = 0; i < len && off + i < PCI_CFG_SIZE; i++)
		cfg->wmask[off + i] = (uint8_t)(mask >> (8 * i));
}

void pci_cfg_init_bar_mem32(struct pci_cfg *cfg, unsigned int bar,
			    uint32_t size)
{
	uint32_t off = PCI_BASE_ADDRESS_0 + 4 * bar;

	/* PCI LB 3.0, 6.2.5.1: type bits 3:0 read-only 0 (32-bit, no prefetch);
	 * address bits below the size are hard-wired to 0, so software that
	 * writes all-ones reads back ~(size - 1). */
	pci_cfg_set32(cfg, off, 0);
	pci_cfg_set_wmask(cfg, off, 4, ~(size - 1) & PCI_BASE_ADDRESS_MEM_MASK);
}
