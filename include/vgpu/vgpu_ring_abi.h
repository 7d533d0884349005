/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * vgpu-stub command queues: the guest-visible ABI, shared by the emulator,
 * the Linux guest driver and the guest libraries. Little-endian,
 * fixed-width, no bitfields, no implicit padding; every reserved field
 * must be zero (the device rejects a command otherwise).
 *
 * A queue is three pieces of guest RAM the driver allocates and the
 * emulator maps once, when the driver enables the queue:
 *   header  one page: indices and flags, one 64-byte line each;
 *   SQ      depth x 64-byte submission entries, physically contiguous;
 *   CQ      depth x 16-byte completion entries, physically contiguous.
 *
 * ABI 1.1: queues, device memory, copies by scatter-gather lists of guest
 * pages, two toy kernels. ABI 1.2 adds what a CUDA program needs:
 *
 * Sessions. A session is one guest process's CUDA context. Every handle
 * (device pointer, module, function, stream, event, region) belongs to
 * exactly one session and is minted by the device; a handle named by any
 * other session is refused with VGPU_S_BAD_HANDLE. SESSION_OPEN runs on a
 * privileged queue and may bind one queue to the new session: that queue
 * then becomes a *session queue*. On a session queue the device takes the
 * session from the queue (the entry's session field must be 0 or name the
 * same session) and refuses every command that names guest-physical
 * addresses: the driver may map a session queue into the process, which
 * then submits without system calls and can only ever reach its own
 * session. Queues 0 (admin) and 1 (the 1.1 I/O queue) are privileged: the
 * driver's own, where the entry's session field names the session (0: the
 * device's legacy session that 1.1 commands use).
 *
 * Regions. Host memory the device may read or write for a session is
 * registered by the privileged side (REGION_ADD: a list of guest-physical
 * extents) and named by (region, offset, length) afterwards: the pinned
 * pool behind cuMemAllocHost, the staging area of the guest library. The
 * device maps a region once, as one contiguous range.
 *
 * Streams and completion. Commands that carry a stream (copies, memset,
 * launches, event records, stream waits) run in submission order on that
 * stream, streams independently of each other; every other command runs
 * as soon as the device takes it. Completions may therefore arrive out of
 * submission order: match them by cid. A command completes exactly once.
 * The device never executes a command before it has room for its
 * completion. With VGPU_SQE_QUIET a successful command posts no
 * completion (a failed one always does).
 *
 * Doorbells. The device clears VGPU_DEV_NEED_DOORBELL in the header while
 * it polls the queue (it is busy, or lingers after being busy) and sets it
 * before it stops looking, then looks once more. A submitter publishes the
 * tail, then (full barrier) reads dev_flags and rings only when the flag
 * is set: a stream of submissions needs close to no doorbells. Entries
 * the device could not take for want of CQ room (a driver with more than
 * depth commands outstanding) wait for the next doorbell: a driver that
 * reaps completions while sq_head lags its tail and the flag is set
 * rings.
 *
 * Interrupts. After posting a batch of completions the device issues a
 * full barrier and reads drv_flags; it interrupts (once per batch) when
 * VGPU_DRV_NEED_IRQ is set. A driver that goes to sleep sets the flag,
 * issues a full barrier and looks at its CQ once more.
 *
 * Errors of a session. A kernel that faults, or runs past the device's
 * time limit, loses its session: the failing command completes with
 * VGPU_S_FAULT or VGPU_S_TIMEOUT and every later command of that session
 * with VGPU_S_SESSION_LOST; other sessions go on. A device reset, an
 * emulator restart or a restore from a saved image ends every session
 * (VGPU_S_RESET, and the queue's Q_ERROR); the driver opens new ones.
 *
 * Event channel (ABI 1.3, Xen guests with PV support): doorbells and
 * completion interrupts may instead travel on one event channel the
 * driver allocates and registers in VGPU_REG_EVTCHN (see there).
 *
 * Where this differs from ../shared/design/ring-and-mediation.md: SQ and
 * CQ are contiguous rather than page lists (dma_alloc_coherent() is
 * contiguous); launch parameters travel in the submission queue itself
 * (continuation entries after the LAUNCH entry) rather than in an arena.
 */
#ifndef VGPU_RING_ABI_H
#define VGPU_RING_ABI_H

#ifdef __KERNEL__
/* In the kernel every multi-byte field is little-endian typed (__le*), so
 * that sparse (make C=2 CF=-D__CHECK_ENDIAN__) flags a host-endian access. */
#include <linux/build_bug.h>
#include <linux/types.h>
#define VGPU_STATIC_ASSERT(e, m) static_assert(e, m)
typedef __u8 vgpu_u8;
typedef __le16 vgpu_u16;
typedef __le32 vgpu_u32;
typedef __le32 vgpu_s32;
typedef __le64 vgpu_u64;
#else
#include <assert.h>
#include <stdint.h>
#define VGPU_STATIC_ASSERT(e, m) static_assert(e, m)
typedef uint8_t vgpu_u8;
typedef uint16_t vgpu_u16;
typedef uint32_t vgpu_u32;
typedef int32_t vgpu_s32;
typedef uint64_t vgpu_u64;
#endif

/* FEATURES bits (BAR0 0x008). */
#define VGPU_F_QUEUES (1u << 0) /* the registers and rings below */
#define VGPU_F_MSI (1u << 1) /* completions by MSI (else INTx) */
#define VGPU_F_SESSIONS (1u << 2) /* ABI 1.2: sessions, regions, CUDA */
#define VGPU_F_EVTCHN (1u << 3) /* ABI 1.3: VGPU_REG_EVTCHN (Xen only) */
#define VGPU_F_INFLIGHT (1u << 4) /* ABI 1.4: VGPU_REG_INFLIGHT */
#define VGPU_F_GRANT (1u << 5) /* ABI 1.5: REGION_GRANT (Xen only) */

/* Limits (RO). */
#define VGPU_REG_MAX_QUEUES 0x028 /* queue 0 is the admin queue */
#define VGPU_REG_MAX_QDEPTH 0x02c /* a power of two */
#define VGPU_REG_MAX_SGL 0x030 /* scatter-gather entries per command */
#define VGPU_REG_DEVMEM_PAGES 0x034 /* device memory quota, 4 KiB pages */
#define VGPU_REG_MAX_SESSIONS 0x038 /* 1.2: sessions at once */

/* Queue window: Q_SELECT picks the queue the other Q_ registers mean. */
#define VGPU_REG_Q_SELECT 0x040
#define VGPU_REG_Q_DEPTH 0x044 /* entries: 2..MAX_QDEPTH, a power of two */
#define VGPU_REG_Q_SQ_GPA 0x048 /* 64-bit, page aligned */
#define VGPU_REG_Q_CQ_GPA 0x050 /* 64-bit, page aligned */
#define VGPU_REG_Q_HDR_GPA 0x058 /* 64-bit, page aligned */
/* Write 1: validate and map, then read back 1 (live) or 0 (Q_ERROR says
 * why). Write 0: quiesce and unmap (a session bound to it is closed). */
#define VGPU_REG_Q_ENABLE 0x060
#define VGPU_REG_Q_ERROR 0x064 /* RO: VGPU_QERR_* */
#define VGPU_REG_Q_SESSION 0x068 /* RO, 1.2: the session bound, or 0 */

#define VGPU_QERR_NONE 0
#define VGPU_QERR_BAD_DEPTH 1
#define VGPU_QERR_BAD_GPA 2 /* unaligned, in a BAR, or not guest RAM */
#define VGPU_QERR_MAP 3 /* the emulator could not map it */
#define VGPU_QERR_TAIL 4 /* FATAL: a tail beyond the ring */
#define VGPU_QERR_NO_QUEUE 5 /* Q_SELECT names no queue */
/* FATAL: the emulator restarted (or the guest was restored): device
 * memory and sessions are gone: reset the device */
#define VGPU_QERR_RESTART 6

/*
 * 1.3, with VGPU_F_EVTCHN (the device runs on Xen): an event channel
 * instead of MMIO doorbells and MSI/INTx, for a guest with Xen PV support.
 * RW, 4-byte accesses only. The driver allocates an unbound port for
 * dom0 (EVTCHNOP_alloc_unbound, remote_dom 0) and writes its number here;
 * the device binds it and reads back that port while it is bound, 0 if
 * binding failed (a port the guest does not own, one not unbound, or one
 * allocated for another domain): the driver then stays on MMIO doorbells
 * and MSI/INTx, which always keep working. While bound, a notification on
 * the port is a doorbell for every live queue (the device reads each
 * tail from its header: no MMIO exit, the vCPU runs on), and the
 * completions a driver asked an interrupt for (VGPU_DRV_NEED_IRQ) are
 * signalled on the port instead of MSI/INTx (INTR_STATUS stays 0).
 * Notifications coalesce: one wakes every queue, a flood costs the guest
 * its own time. Writing 0 unbinds; a device reset unbinds; after an
 * emulator restart the device binds the port again from its saved state
 * (the queues report VGPU_QERR_RESTART, and the driver resets anyway).
 */
#define VGPU_REG_EVTCHN 0x070

/*
 * 1.4, with VGPU_F_INFLIGHT. RO: how much the device still has to do on
 * its own: commands it took from a queue and has not completed, plus one
 * for each queue it is running (rung, or polling) with entries it has not
 * taken yet. 0 means it will write nothing more to guest memory until it
 * is rung again. A driver quiescing before a save or migration (Linux:
 * its freeze callback, user processes already frozen) waits for 0, so
 * that no completion lands after the guest's memory was copied.
 */
#define VGPU_REG_INFLIGHT 0x074

/* INTx: bit q set when queue q posted completions; reading clears. */
#define VGPU_REG_INTR_STATUS 0x080
#define VGPU_REG_INTR_MASK 0x084

/* Doorbell of queue q (WO): the new SQ tail. Needed only while the header
 * says VGPU_DEV_NEED_DOORBELL. */
#define VGPU_REG_DOORBELL(q) (0x100 + 8 * (q))
#define VGPU_DOORBELLS_END 0x200
#define VGPU_MAX_QUEUES_ABI 32 /* what the doorbell window can address */

/* Header page: each field in its own 64-byte line (no false sharing
 * between the driver's and the device's writes). */
struct vgpu_qhdr_line {
	vgpu_u32 v;
	vgpu_u32 rsvd[15];
};

struct vgpu_qhdr {
	struct vgpu_qhdr_line sq_tail; /* driver: next free SQ slot */
	struct vgpu_qhdr_line sq_head; /* device: next SQ slot it reads */
	struct vgpu_qhdr_line cq_head; /* driver: next CQE it reads */
	struct vgpu_qhdr_line dev_flags; /* device: VGPU_DEV_* */
	struct vgpu_qhdr_line drv_flags; /* driver: VGPU_DRV_* */
	struct vgpu_qhdr_line status; /* device: 0, or VGPU_QERR_* if FATAL */
};

#define VGPU_DEV_NEED_DOORBELL 0x1u /* the device sleeps: ring the bell */
#define VGPU_DRV_NEED_IRQ 0x1u /* the driver sleeps: interrupt it */

/* Arguments of the 1.2 commands (the 56 bytes after the entry's first
 * eight). Handles are 32-bit, 0 is never a valid handle; stream 0 is the
 * session's default stream. */

/* COPY_H2D, COPY_D2H: region bytes [offset, offset + len) <-> dptr. */
struct vgpu_cmd_copy {
	vgpu_u64 dptr;
	vgpu_u64 offset;
	vgpu_u64 len;
	vgpu_u32 region;
	vgpu_u32 stream;
	vgpu_u64 rsvd[3];
};

/* COPY_D2D: [src, src + len) -> dst, both inside live allocations. */
struct vgpu_cmd_d2d {
	vgpu_u64 dst;
	vgpu_u64 src;
	vgpu_u64 len;
	vgpu_u32 stream;
	vgpu_u32 rsvd0;
	vgpu_u64 rsvd[3];
};

/* MEMSET: count elements of elem (1, 2 or 4) bytes at dptr := value. */
struct vgpu_cmd_memset {
	vgpu_u64 dptr;
	vgpu_u64 count;
	vgpu_u32 value;
	vgpu_u32 elem;
	vgpu_u32 stream;
	vgpu_u32 rsvd0;
	vgpu_u64 rsvd[3];
};

/*
 * Region ranges: a region handle that is not the session's is
 * VGPU_S_BAD_HANDLE, a range beyond the region VGPU_S_INVALID; a device
 * range outside one live allocation is VGPU_S_BAD_ADDRESS.
 *
 * Commands with an input and/or an output buffer in a region:
 * MODULE_LOAD (in: the image), FUNC_GET and GLOBAL_GET (in: the name,
 * without NUL, at most VGPU_NAME_MAX bytes; out: vgpu_func_info /
 * vgpu_global_info; obj: the module), DEVICE_INFO (out: vgpu_device_info).
 * A length of 0 means no such buffer. Outputs are written as far as
 * out_len reaches; FUNC_GET needs out_len >= 72 (the info up to param[]),
 * DEVICE_INFO >= 296 (up to attr[]), GLOBAL_GET's output is optional.
 * MODULE_LOAD's in_len above the VM's module limit is VGPU_S_LIMIT.
 */
struct vgpu_cmd_buf {
	vgpu_u64 in_off;
	vgpu_u64 in_len;
	vgpu_u64 out_off;
	vgpu_u64 out_len;
	vgpu_u32 region;
	vgpu_u32 obj;
	vgpu_u32 flags; /* MODULE_LOAD: VGPU_IMAGE_* */
	vgpu_u32 rsvd0;
	vgpu_u64 rsvd1;
};

/* Stream and event commands, SESSION_* and REGION_DEL. */
struct vgpu_cmd_obj {
	vgpu_u32 obj; /* the stream, event, module or region named */
	vgpu_u32 obj2; /* EVENT_ELAPSED: the end event; STREAM_WAIT_EVENT:
			* the event */
	vgpu_u32 stream; /* EVENT_RECORD: where */
	vgpu_u32 flags; /* STREAM_CREATE / EVENT_CREATE / SESSION_OPEN */
	vgpu_u64 rsvd[5];
};

/* REGION_ADD: an extent list of nents entries at list_gpa (contiguous
 * guest RAM), bytes = the sum of the extents. Privileged queues only.
 *
 * REGION_GRANT (1.5, with VGPU_F_GRANT): a region of bytes (a multiple of
 * 4096) in the emulator's own memory, granted to the guest: nents =
 * bytes / 4096 grant references (vgpu_u32, little-endian, page i's at
 * index i) written to list_gpa (4-byte aligned, contiguous guest RAM), the
 * pages zeroed and granted writable by the emulator's domain (dom0, as
 * for the event channel). The guest maps the references (its grant
 * table) and uses the region like any other; the device reads and writes
 * it without touching guest RAM. REGION_DEL, the session's end, a device
 * reset, the emulator's exit and the domain's death end every grant (Xen
 * keeps a page the guest still maps until it unmaps it; the device never
 * uses it again). VGPU_S_LIMIT past the per-VM grant quota,
 * VGPU_S_NOT_SUPPORTED where the emulator cannot grant (no gntalloc):
 * the driver then registers guest RAM with REGION_ADD instead. */
struct vgpu_cmd_region {
	vgpu_u64 list_gpa;
	vgpu_u32 nents;
	vgpu_u32 rsvd0;
	vgpu_u64 bytes;
	vgpu_u64 rsvd[4];
};

struct vgpu_extent {
	vgpu_u64 gpa; /* page aligned */
	vgpu_u64 len; /* a multiple of 4096, not 0 */
};

/*
 * LAUNCH: the kernel func with param_len bytes of parameters laid out as
 * FUNC_GET reported (param_len must equal its param_bytes). The
 * parameters follow in the next ceil(param_len / 64) SQ slots (wrapping
 * at the end of the ring), which the tail must cover: the device consumes
 * the LAUNCH entry and its continuation slots together. A param_len above
 * VGPU_PARAM_MAX, or needing depth slots or more, takes no continuation
 * slots and fails. Limits (else VGPU_S_INVALID): every dimension >= 1,
 * grid[0] < 2^31, grid[1..2] <= 65535, block[2] <= 64, at most 1024
 * threads per block, shmem <= 48 KiB.
 */
struct vgpu_cmd_launch {
	vgpu_u32 func;
	vgpu_u32 stream;
	vgpu_u32 grid[3];
	vgpu_u32 block[3];
	vgpu_u32 shmem; /* dynamic shared memory, bytes */
	vgpu_u32 param_len;
	vgpu_u64 rsvd[2];
};

/* Submission entry. */
struct vgpu_sqe {
	vgpu_u8 opcode; /* VGPU_OP_* */
	vgpu_u8 flags; /* VGPU_SQE_* */
	vgpu_u16 cid; /* echoed in the completion */
	vgpu_u32 session; /* 1.1: reserved (0) */
	union {
		struct { /* the 1.1 commands */
			vgpu_u64 arg[4]; /* per opcode, below */
			vgpu_u64 sgl_gpa; /* one page of vgpu_sgl_entry, or 0 */
			vgpu_u32 sgl_nents; /* <= MAX_SGL */
			vgpu_u32 rsvd1;
			vgpu_u64 rsvd2;
		};
		struct vgpu_cmd_copy copy;
		struct vgpu_cmd_d2d d2d;
		struct vgpu_cmd_memset memset;
		struct vgpu_cmd_buf buf;
		struct vgpu_cmd_obj obj;
		struct vgpu_cmd_region region;
		struct vgpu_cmd_launch launch;
		vgpu_u8 bytes[56];
	};
};

#define VGPU_SQE_QUIET 0x1u /* no completion entry on success */

struct vgpu_sgl_entry {
	vgpu_u64 gpa;
	vgpu_u32 len; /* within one page: gpa % 4096 + len <= 4096 */
	vgpu_u32 rsvd;
};

/* Completion entry: bit 0 of status is the phase, which flips each time
 * the device wraps the CQ; bits 15..1 are a VGPU_S_* code. */
struct vgpu_cqe {
	vgpu_u64 result;
	vgpu_u16 cid;
	vgpu_u16 status;
	vgpu_u32 rsvd;
};

#define VGPU_CQE_PHASE 0x1u
#define VGPU_CQE_CODE(status) ((status) >> 1)

/* Opcodes and their arguments. "dptr" is a device address that
 * MEM_ALLOC returned; ranges must lie inside one live allocation. */
#define VGPU_OP_NOP 0x00 /* nothing; result 0 */
#define VGPU_OP_GET_INFO 0x01 /* SGL <- struct vgpu_info (privileged) */
/* 1.2, privileged queues: obj.obj = the queue to bind (2..MAX_QUEUES-1,
 * bound to no session; enabled before or after), or VGPU_NO_QUEUE;
 * result: the new session. A queue 2..31 bound to no session refuses
 * every command with VGPU_S_BAD_HANDLE. */
#define VGPU_OP_SESSION_OPEN 0x02
/* 1.2, privileged queues: the entry's session. Completes once the
 * session's work has drained and everything it owned is freed; its
 * queue (if any) is disabled at once (completions still due are not
 * posted) and work still running may be abandoned. Disabling a bound
 * queue closes its session the same way. */
#define VGPU_OP_SESSION_CLOSE 0x03
#define VGPU_OP_REGION_ADD 0x04 /* 1.2, privileged: region -> result id */
#define VGPU_OP_REGION_DEL 0x05 /* 1.2, privileged: obj.obj = region */
#define VGPU_OP_REGION_GRANT 0x06 /* 1.5, privileged: region -> result id */
#define VGPU_OP_MEM_ALLOC 0x10 /* arg0 bytes -> result dptr */
#define VGPU_OP_MEM_FREE 0x11 /* arg0 dptr (an allocation's base) */
#define VGPU_OP_MEM_GET_INFO 0x12 /* 1.2: result = free bytes of quota */
#define VGPU_OP_MEMCPY_H2D 0x20 /* arg0 dptr, arg1 bytes; SGL source */
#define VGPU_OP_MEMCPY_D2H 0x21 /* arg0 dptr, arg1 bytes; SGL target */
#define VGPU_OP_COPY_H2D 0x22 /* 1.2: copy */
#define VGPU_OP_COPY_D2H 0x23 /* 1.2: copy */
#define VGPU_OP_COPY_D2D 0x24 /* 1.2: d2d */
#define VGPU_OP_MEMSET 0x25 /* 1.2: memset (value must fit elem) */
#define VGPU_OP_MODULE_LOAD 0x30 /* 1.2: buf (in) -> result module */
#define VGPU_OP_MODULE_UNLOAD 0x31 /* 1.2: obj.obj = module */
#define VGPU_OP_FUNC_GET 0x32 /* 1.2: buf -> result func */
#define VGPU_OP_GLOBAL_GET 0x33 /* 1.2: buf -> result dptr */
/* arg0 kernel (VGPU_K_*), arg1 dst dptr, arg2 src dptr, arg3 bytes */
#define VGPU_OP_COMPUTE 0x40
#define VGPU_OP_LAUNCH 0x41 /* 1.2: launch (+ continuation slots) */
#define VGPU_OP_STREAM_CREATE 0x50 /* 1.2: obj.flags -> result stream */
#define VGPU_OP_STREAM_DESTROY 0x51 /* 1.2: obj.obj */
/* 1.2: completes once everything submitted before on the stream has */
#define VGPU_OP_STREAM_SYNC 0x52
#define VGPU_OP_STREAM_WAIT_EVENT 0x53 /* 1.2: obj.obj stream, obj2 event */
#define VGPU_OP_EVENT_CREATE 0x54 /* 1.2: obj.flags -> result event */
#define VGPU_OP_EVENT_DESTROY 0x55 /* 1.2: obj.obj */
#define VGPU_OP_EVENT_RECORD 0x56 /* 1.2: obj.obj event, obj.stream */
/* 1.2: result 1 if the event's work is done (or it was never recorded),
 * 0 if not; completes at once */
#define VGPU_OP_EVENT_QUERY 0x57
#define VGPU_OP_EVENT_SYNC 0x58 /* 1.2: completes once the event is done */
/* 1.2: obj.obj start, obj2 end: result = nanoseconds between them (both
 * done and created without VGPU_EVENT_DISABLE_TIMING) */
#define VGPU_OP_EVENT_ELAPSED 0x59 /* completes once both are done */
/* 1.2: completes once everything the session submitted before it has */
#define VGPU_OP_CTX_SYNC 0x5a
#define VGPU_OP_DEVICE_INFO 0x60 /* 1.2: buf (out: vgpu_device_info) */

#define VGPU_NO_QUEUE 0xffffffffu
#define VGPU_STREAM_NON_BLOCKING 0x1u /* STREAM_CREATE flag */
#define VGPU_EVENT_DISABLE_TIMING 0x2u /* EVENT_CREATE flag */
#define VGPU_IMAGE_AUTO 0 /* MODULE_LOAD flags: fatbin, cubin or PTX */

#define VGPU_K_ADD1_U32 1 /* dst[i] = src[i] + 1, 32-bit words */
#define VGPU_K_XOR_U32 2 /* result = xor of src's 32-bit words */

#define VGPU_S_OK 0
#define VGPU_S_INVALID 1 /* malformed: reserved bits, sizes, opcode */
#define VGPU_S_NO_MEMORY 2 /* over the device memory quota */
#define VGPU_S_BAD_ADDRESS 3 /* a dptr or range outside an allocation */
#define VGPU_S_BAD_GPA 4 /* an SGL page the emulator cannot map */
#define VGPU_S_BAD_HANDLE 5 /* 1.2: stale, unknown or another session's */
#define VGPU_S_NOT_SUPPORTED 6 /* 1.2: e.g. a kernel the backend lacks */
#define VGPU_S_LIMIT 7 /* 1.2: a per-VM limit (sessions, streams, ...) */
#define VGPU_S_FAULT 8 /* 1.2: the kernel faulted; the session is lost */
#define VGPU_S_SESSION_LOST 9 /* 1.2: an earlier fault ended the session */
#define VGPU_S_TIMEOUT 10 /* 1.2: past the time limit; session lost */
#define VGPU_S_BAD_IMAGE 11 /* 1.2: not a module image the backend takes */
#define VGPU_S_NOT_FOUND 12 /* 1.2: no such function or global */
#define VGPU_S_BAD_PARAMS 13 /* 1.2: parameters do not match the layout */
#define VGPU_S_RESET 14 /* 1.2: device reset or restored; session gone */
#define VGPU_S_BACKEND 15 /* 1.2: the backend failed (device lost) */
#define VGPU_S_PRIVILEGED 16 /* 1.2: not allowed on a session queue */

#define VGPU_NAME_MAX 1024 /* a function or global name, bytes */
#define VGPU_PARAM_MAX 4096 /* kernel parameters, bytes */
#define VGPU_PARAMS_MAX 512 /* kernel parameters, count */
#define VGPU_ATTRS_MAX 256 /* device attributes (CUdevice_attribute) */
#define VGPU_FATTRS_MAX 16 /* function attributes (CUfunction_attribute) */

struct vgpu_info {
	vgpu_u32 abi_version;
	vgpu_u32 features;
	vgpu_u32 max_queues;
	vgpu_u32 max_qdepth;
	vgpu_u32 max_sgl;
	vgpu_u32 rsvd;
	vgpu_u64 devmem_quota; /* bytes */
	char backend[32]; /* NUL-terminated, e.g. "cpu" */
};

/* FUNC_GET's output: param[i] for i < nparams; param_bytes is what a
 * LAUNCH must carry. fattr[] holds CU_FUNC_ATTRIBUTE_* values 0..15. */
struct vgpu_param {
	vgpu_u32 offset;
	vgpu_u32 size;
};

struct vgpu_func_info {
	vgpu_u32 nparams;
	vgpu_u32 param_bytes;
	vgpu_s32 fattr[VGPU_FATTRS_MAX];
	struct vgpu_param param[VGPU_PARAMS_MAX];
};

/* GLOBAL_GET's output (result is the dptr as well). */
struct vgpu_global_info {
	vgpu_u64 dptr;
	vgpu_u64 size;
};

/* DEVICE_INFO's output: the backend's device as the session sees it.
 * attr[a] is cuDeviceGetAttribute(a) for a < nattrs; total_mem is what
 * this VM may allocate. */
struct vgpu_device_info {
	char name[256]; /* NUL-terminated */
	vgpu_u8 uuid[16];
	vgpu_u64 total_mem;
	vgpu_u32 cc_major;
	vgpu_u32 cc_minor;
	vgpu_u32 driver_version; /* CUDA_VERSION style: 13000 */
	vgpu_u32 nattrs;
	vgpu_s32 attr[VGPU_ATTRS_MAX];
	char backend[32]; /* "cpu", "cuda" */
};

VGPU_STATIC_ASSERT(sizeof(struct vgpu_qhdr_line) == 64, "header line");
VGPU_STATIC_ASSERT(sizeof(struct vgpu_qhdr) == 384, "queue header");
VGPU_STATIC_ASSERT(sizeof(struct vgpu_cmd_copy) == 56, "copy args");
VGPU_STATIC_ASSERT(sizeof(struct vgpu_cmd_d2d) == 56, "d2d args");
VGPU_STATIC_ASSERT(sizeof(struct vgpu_cmd_memset) == 56, "memset args");
VGPU_STATIC_ASSERT(sizeof(struct vgpu_cmd_buf) == 56, "buffer args");
VGPU_STATIC_ASSERT(sizeof(struct vgpu_cmd_obj) == 56, "object args");
VGPU_STATIC_ASSERT(sizeof(struct vgpu_cmd_region) == 56, "region args");
VGPU_STATIC_ASSERT(sizeof(struct vgpu_cmd_launch) == 56, "launch args");
VGPU_STATIC_ASSERT(sizeof(struct vgpu_sqe) == 64, "submission entry");
VGPU_STATIC_ASSERT(sizeof(struct vgpu_sgl_entry) == 16, "sgl entry");
VGPU_STATIC_ASSERT(sizeof(struct vgpu_extent) == 16, "extent");
VGPU_STATIC_ASSERT(sizeof(struct vgpu_cqe) == 16, "completion entry");
VGPU_STATIC_ASSERT(sizeof(struct vgpu_info) == 64, "device info");
VGPU_STATIC_ASSERT(sizeof(struct vgpu_func_info) == 8 + 64 + 8 * 512,
		   "function info");
VGPU_STATIC_ASSERT(sizeof(struct vgpu_device_info) == 1352, "device info");

#endif
