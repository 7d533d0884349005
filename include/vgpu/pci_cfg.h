/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * PCI configuration space engine: 256 bytes of guest-visible state plus
 * per-byte write and write-1-to-clear masks, filled in as data by the
 * device. BAR sizing needs no special case: the writable bits of a BAR are
 * ~(size - 1), so writing all-ones reads back the size mask.
 */
#ifndef VGPU_PCI_CFG_H
#define VGPU_PCI_CFG_H

#include <stdbool.h>
#include <stdint.h>

#define PCI_CFG_SIZE 256u

/* Standard type-0 header offsets (PCI Local Bus 3.0, 6.1). */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION_ID 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_CACHE_LINE_SIZE 0x0c
#define PCI_LATENCY_TIMER 0x0d
#define PCI_HEADER_TYPE 0x0e
#define PCI_BASE_ADDRESS_0 0x10
#define PCI_BASE_ADDRESS_5 0x24
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID 0x2e
#define PCI_ROM_ADDRESS 0x30
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d

#define PCI_COMMAND_IO 0x0001
#define PCI_COMMAND_MEMORY 0x0002
#define PCI_COMMAND_MASTER 0x0004
#define PCI_COMMAND_PARITY 0x0040
#define PCI_COMMAND_SERR 0x0100
#define PCI_COMMAND_INTX_DISABLE 0x0400

#define PCI_STATUS_INTERRUPT 0x0008
#define PCI_STATUS_CAP_LIST 0x0010
/* STATUS bits 8 and 11..15 are RW1C error bits. */
#define PCI_STATUS_W1C 0xf900

#define PCI_BASE_ADDRESS_MEM_MASK 0xfffffff0u

/* MSI capability, 64-bit with per-vector masking (PCI LB 3.0, 6.8.1). */
#define PCI_CAP_ID_MSI 0x05
#define PCI_MSI_FLAGS 2 /* message control, from the capability */
#define PCI_MSI_FLAGS_ENABLE 0x0001
#define PCI_MSI_FLAGS_QSIZE 0x0070 /* multiple message enable */
#define PCI_MSI_FLAGS_64BIT 0x0080
#define PCI_MSI_FLAGS_MASKBIT 0x0100
#define PCI_MSI_ADDRESS_LO 4
#define PCI_MSI_ADDRESS_HI 8
#define PCI_MSI_DATA_64 12
#define PCI_MSI_MASK_64 16
#define PCI_MSI_PENDING_64 20
#define PCI_MSI_SIZEOF_64_MASK 24

struct pci_cfg {
	uint8_t data[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];
	uint8_t w1cmask[PCI_CFG_SIZE];
};

/*
 * Guest access: @off and @size come from the guest unchecked. Sizes other
 * than 1, 2 and 4 read all-ones and drop writes. Bytes beyond 256 read as
 * 0xff and drop writes; accesses may be unaligned and cross dwords.
 */
uint32_t pci_cfg_read(const struct pci_cfg *cfg, uint32_t off, uint32_t size);
void pci_cfg_write(struct pci_cfg *cfg, uint32_t off, uint32_t size,
		   uint32_t val);

/* Device-side setters for building the header (no masks applied). */
void pci_cfg_set8(struct pci_cfg *cfg, uint32_t off, uint8_t v);
void pci_cfg_set16(struct pci_cfg *cfg, uint32_t off, uint16_t v);
void pci_cfg_set32(struct pci_cfg *cfg, uint32_t off, uint32_t v);
uint16_t pci_cfg_get16(const struct pci_cfg *cfg, uint32_t off);
uint32_t pci_cfg_get32(const struct pci_cfg *cfg, uint32_t off);
/* Make @len bytes at @off writable with @mask (one mask byte each). */
void pci_cfg_set_wmask(struct pci_cfg *cfg, uint32_t off, uint32_t len,
		       uint32_t mask);

/* Declare BAR @bar as 32-bit non-prefetchable memory of @size (a power of 2). */
void pci_cfg_init_bar_mem32(struct pci_cfg *cfg, unsigned int bar,
			    uint32_t size);

/* True if [off, off + size) overlaps [reg, reg + len). */
static inline bool pci_cfg_overlaps(uint32_t off, uint32_t size, uint32_t reg,
				    uint32_t len)
{
	return off < reg + len && reg < off + size;
}

#endif
