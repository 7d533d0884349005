/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * vgpu-stub PCI function: identity and BAR0 register map, ABI 1.0 (the
 * queue registers of 1.1..1.4 are in vgpu_ring_abi.h; 1.3 adds the
 * event-channel register VGPU_REG_EVTCHN for Xen guests with PV support,
 * 1.4 VGPU_REG_INFLIGHT for a driver quiescing before a save, 1.5 the
 * VGPU_F_GRANT feature bit).
 * Shared by the emulator (vgpu-ioreq), the guest test program and the
 * future guest driver, so it holds only #defines.
 *
 * BAR0 is 4 KiB of 32-bit little-endian registers. Every register may be
 * accessed with 1, 2 or 4-byte loads and stores at any byte offset; an
 * 8-byte access covers two registers (low dword first). Offsets that name
 * no register read as 0 and ignore writes.
 */
#ifndef VGPU_STUB_REGS_H
#define VGPU_STUB_REGS_H

#define VGPU_PCI_VENDOR_ID 0x1af4 /* Red Hat, Inc. (virtual devices) */
#define VGPU_PCI_DEVICE_ID 0x1111
#define VGPU_PCI_SUBSYS_VENDOR_ID 0x1af4
#define VGPU_PCI_SUBSYS_ID 0x1100
#define VGPU_PCI_REVISION 0x01
#define VGPU_PCI_CLASS 0x120000 /* processing accelerator, prog-if 0 */

#define VGPU_BAR0_SIZE 0x1000

/* RO: "VGPU" in ASCII as it lies in memory: 'V' 'G' 'P' 'U'. */
#define VGPU_REG_MAGIC 0x000
#define VGPU_MAGIC 0x55504756u
/* RO: ABI version, major in [31:16], minor in [15:0]. */
#define VGPU_REG_VERSION 0x004
#define VGPU_ABI_MAJOR 1
/* 1.2: sessions, CUDA commands, vgpu_ring_abi.h; 1.3: VGPU_F_EVTCHN, an
 * event channel for doorbells and completions (VGPU_REG_EVTCHN); 1.4:
 * VGPU_F_INFLIGHT, work the device still has (VGPU_REG_INFLIGHT); 1.5:
 * VGPU_F_GRANT, regions in the emulator's memory granted to the guest
 * (REGION_GRANT) */
#define VGPU_ABI_MINOR 5
#define VGPU_ABI_VERSION ((VGPU_ABI_MAJOR << 16) | VGPU_ABI_MINOR)
/* RO: device feature bits (VGPU_F_*, vgpu_ring_abi.h). */
#define VGPU_REG_FEATURES 0x008
/*
 * RW: device status. The driver sets ACKNOWLEDGE and DRIVER_OK (other
 * bits read back as 0); writing 0 resets the device: every RW register
 * returns to 0 and RESET_COUNT increments.
 */
#define VGPU_REG_STATUS 0x010
#define VGPU_STATUS_ACKNOWLEDGE 0x1u
#define VGPU_STATUS_DRIVER_OK 0x4u
#define VGPU_STATUS_DRIVER_MASK \
	(VGPU_STATUS_ACKNOWLEDGE | VGPU_STATUS_DRIVER_OK)
/* RO: number of device resets since the emulator started. */
#define VGPU_REG_RESET_COUNT 0x014
/* RW: scratch register for liveness checks. */
#define VGPU_REG_SCRATCH 0x018
/*
 * Compute: write n to COMPUTE_IN, read n! mod 2^32 from COMPUTE_OUT (the
 * semantics of QEMU's edu device), computed by the emulator on the write.
 */
#define VGPU_REG_COMPUTE_IN 0x020
#define VGPU_REG_COMPUTE_OUT 0x024
/* RW: 64 scratch dwords, e.g. one slice per vCPU for concurrency tests. */
#define VGPU_REG_SCRATCH_RAM 0x800
#define VGPU_SCRATCH_RAM_WORDS 64

#endif
