/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The command engine: decodes, validates and dispatches what the queues
 * carry (vgpu_ring_abi.h), owns sessions and their handle tables
 * (regions, allocations, modules, functions, streams, events), the
 * per-VM limits and the device-memory quota, and hands validated
 * requests to a backend (backend.h). Single-threaded: every call, and
 * every backend completion, runs on the device's thread; nothing here
 * waits for a backend.
 */
#ifndef VGPU_ENGINE_H
#define VGPU_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include <vgpu/backend.h>
#include <vgpu/host.h>
#include <vgpu/log.h>
#include <vgpu/ring.h>

#define ENGINE_PRIV_QUEUES 2 /* queues 0 (admin) and 1 (1.1 I/O) */
#define ENGINE_MAX_SGL 64

/* Per-VM limits (vgpu-ioreq options; engine_limits_default()). */
struct engine_limits {
	uint32_t sessions; /* open at once, the legacy session not counted */
	uint64_t devmem; /* device memory quota, bytes */
	uint64_t pinned; /* guest memory registered as regions, bytes */
	/* our memory granted to the guest as regions (REGION_GRANT), bytes;
	 * 0: no grants (VGPU_F_GRANT not offered) */
	uint64_t granted;
	uint64_t module_bytes; /* one module image */
	uint32_t streams; /* per session */
	uint32_t events; /* per session */
	uint32_t modules; /* per session */
	uint32_t funcs; /* per session */
	uint32_t allocs; /* per session */
	uint32_t regions; /* per session */
	uint32_t kernel_ms; /* a kernel's run time; 0: unlimited */
	uint32_t poll_us; /* polling after the last activity; 0: none */
};

struct engine_stats {
	uint64_t doorbells; /* doorbell writes (MMIO) */
	uint64_t kicks; /* doorbells by event channel */
	uint64_t commands; /* entries taken from the queues */
	uint64_t submitted; /* requests handed to the backend */
	uint64_t launches; /* LAUNCH commands taken */
	uint64_t irqs; /* interrupts asked for */
	uint64_t sessions; /* sessions opened */
	uint64_t lost; /* sessions lost to a fault or a timeout */
};

struct engine;

void engine_limits_default(struct engine_limits *l);
/*
 * An engine over the @nq queues at @q (device registers), with backend
 * @be (not owned). NULL on ENOMEM or if the backend refuses the legacy
 * session.
 */
struct engine *engine_create(struct host *h, struct backend *be,
			     struct logger *lg, const struct engine_limits *l,
			     struct ring_queue *q, unsigned int nq);
/* Ends every session; waits for the backend to hand back its requests. */
void engine_destroy(struct engine *e);
/* Our BAR0, which no queue or guest buffer may overlap. */
void engine_set_bar(struct engine *e, uint64_t lo, uint64_t len);
const struct engine_limits *engine_limits(const struct engine *e);
/* Does the device offer REGION_GRANT (the host grants, the quota is not
 * 0)? VGPU_F_GRANT. */
bool engine_grants(const struct engine *e);
const struct engine_stats *engine_stats(const struct engine *e);

/* Q_ENABLE written: 0 or -1 (q->error says why). */
int engine_queue_enable(struct engine *e, unsigned int qi);
/* Does a session exist, or does the legacy session hold device memory?
 * (State that a saved device does not carry.) */
bool engine_holds_state(const struct engine *e);
/*
 * Commands taken from a live queue and not completed yet, plus one for
 * each rung or hot queue with entries the device has not taken: 0 when
 * the device will write nothing more to guest memory on its own
 * (VGPU_REG_INFLIGHT, read by a driver quiescing before a save).
 */
uint32_t engine_inflight(const struct engine *e);
/*
 * A live privileged queue (no session) restored from a saved state, its
 * mappings already made (ring_remap()): served from where it stopped.
 * 0 or -1 (the caller stops it).
 */
int engine_queue_adopt(struct engine *e, unsigned int qi);
/* Q_ENABLE = 0: quiesce; a session bound to the queue is closed. */
void engine_queue_disable(struct engine *e, unsigned int qi);
/* INVALIDATE: drop the queues' mappings (they come back on use). */
void engine_unmap(struct engine *e);
/* A doorbell with @tail: false if it made the queue FATAL. */
bool engine_doorbell(struct engine *e, unsigned int qi, uint32_t tail);
/* A doorbell by event channel (ABI 1.3), which names no queue: every live
 * queue with entries waiting is run (each tail read from its header).
 * false if none has any. */
bool engine_kick(struct engine *e);
/*
 * Deliver backend completions and run the queues that were rung or are
 * hot. Returns true while any queue is hot (the caller polls again
 * without sleeping); *irq gets a bit per queue whose driver asked for an
 * interrupt.
 */
bool engine_poll(struct engine *e, uint32_t *irq);
/* Readable when the backend has completions (-1: none to wait for). */
int engine_poll_fd(const struct engine *e);
/* Device reset: every session ends (its queue with it), every queue is
 * disabled, device memory is freed once the backend drained. */
void engine_reset(struct engine *e);

#endif
