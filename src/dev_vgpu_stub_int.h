/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The vgpu-stub device's state and the helpers its files share: the
 * register file and queues (dev_vgpu_stub.c), its PCI face: config space
 * and interrupt delivery (dev_vgpu_pci.c). Private to those files.
 */
#ifndef VGPU_DEV_STUB_INT_H
#define VGPU_DEV_STUB_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <vgpu/engine.h>
#include <vgpu/ring.h>
#include <vgpu/vdev.h>
#include <vgpu/vgpu_ring_abi.h>
#include <vgpu/vgpu_stub_regs.h>

#include "dev_vgpu_evtchn.h"

/* the admin queue, the 1.1 I/O queue and 30 session queues */
#define NR_QUEUES VGPU_MAX_QUEUES_ABI
#define MAX_QDEPTH 256
#define MAX_SGL ENGINE_MAX_SGL
#define MSI_CAP 0x40 /* 64-bit MSI with per-vector masking, one vector */

/*
 * Lives in struct vdev_state (a file mapping that outlives a crash): the
 * pointers in it (the backend, the engine, the queues' mappings) are
 * rebuilt by start(), never trusted from a previous process. Sessions
 * live in the engine, so a restart ends them all.
 */
struct vgpu_stub {
	uint32_t status;
	uint32_t reset_count;
	uint32_t scratch;
	uint32_t compute_in;
	uint32_t compute_out;
	uint32_t scratch_ram[VGPU_SCRATCH_RAM_WORDS];
	uint32_t q_select;
	uint32_t intr_status;
	uint32_t intr_mask;
	uint32_t intx_level; /* what INTA was last set to */
	uint64_t msis_sent;
	/* sessions or device memory exist (engine_holds_state()), as of the
	 * last command: a restored device cannot carry them */
	uint32_t held;
	uint32_t pad;
	struct ring_queue q[NR_QUEUES];
	struct backend *be;
	bool own_be; /* created by the device (no backend configured) */
	struct engine *en;
	struct engine_limits lim;
	struct stub_evtchn evt; /* ABI 1.3 */
};

/* What a saved state carries (savestate.h): a change of this layout
 * needs a new SAVESTATE_VERSION. */
#define VGPU_STUB_SAVED_SIZE 4024
_Static_assert(sizeof(struct vgpu_stub) == VGPU_STUB_SAVED_SIZE,
	       "struct vgpu_stub changed: bump SAVESTATE_VERSION and this size");

static inline struct vgpu_stub *stub(struct vdev *d)
{
	return d->priv;
}

/* dev_vgpu_pci.c: identity, BARs, the MSI capability and INTA */
void stub_init_cfg(struct vdev *d);
/* INTA and STATUS.INTERRUPT follow INTR_STATUS, INTR_MASK, MSI, COMMAND */
void stub_update_intx(struct vdev *d);
/* queues in @bits posted completions the driver asked to hear of */
void stub_raise_irq(struct vdev *d, uint32_t bits);
/* config space written: a pending MSI unmasked, INTA re-evaluated */
void stub_cfg_written(struct vdev *d, uint32_t off, uint32_t size);

#endif
