/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The vgpu-stub's event channel (ABI 1.3, VGPU_REG_EVTCHN): doorbells and
 * completion interrupts on one event channel the guest allocated, bound
 * through the host (host_ops.evtchn_*). Private to dev_vgpu_stub.c.
 */
#ifndef VGPU_DEV_EVTCHN_H
#define VGPU_DEV_EVTCHN_H

#include <stdbool.h>
#include <stdint.h>

struct vdev;

/* Lives in the device's registers (the state file): rebound by a
 * restarted emulator from port. */
struct stub_evtchn {
	uint32_t port; /* the guest's port while bound, else 0 */
	uint32_t rsvd;
	uint64_t kicks; /* doorbells by notification */
	uint64_t mmio_bells; /* MMIO doorbells while bound */
	uint64_t signals; /* completions signalled on the port */
};

/* Does the host offer event channels (VGPU_F_EVTCHN)? */
bool stub_evtchn_offered(struct vdev *d);
/* VGPU_REG_EVTCHN written (a whole dword): bind @port, or unbind on 0. */
void stub_evtchn_write(struct vdev *d, struct stub_evtchn *e, uint32_t port);
/* Signal completions on the port: true if it did (no MSI/INTx then). */
bool stub_evtchn_signal(struct vdev *d, struct stub_evtchn *e);
/* Reset, fini: unbind, saying what the port carried. */
void stub_evtchn_unbind(struct vdev *d, struct stub_evtchn *e);
/* A restarted emulator: bind the port its predecessor had again. */
void stub_evtchn_restart(struct vdev *d, struct stub_evtchn *e);

#endif
