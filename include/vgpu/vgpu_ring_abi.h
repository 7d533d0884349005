/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * vgpu-stub command queues: the guest-visible ABI (draft for ABI 1.1),
 * shared by the emulator and the Linux guest driver. Little-endian,
 * fixed-width, no bitfields, no implicit padding; every reserved field
 * must be zero (the device rejects a command otherwise).
 *
 * A queue is three pieces of guest RAM the driver allocates and the
 * emulator maps once, when the driver enables the queue:
 *   header  one page: indices and flags, one 64-byte line each;
 *   SQ      depth x 64-byte submission entries, physically contiguous;
 *   CQ      depth x 16-byte completion entries, physically contiguous.
 * Where this differs from ../shared/design/ring-and-mediation.md:
 *   - SQ and CQ are contiguous rather than described by page lists: the
 *     driver gets them from dma_alloc_coherent(), which is contiguous, and
 *     the emulator maps any list of frames anyway, so page lists would add
 *     a guest-controlled structure and buy nothing up to 64 KiB rings;
 *   - no per-queue argument arena in v1: commands carry their data through
 *     a scatter-gather list (one page of entries);
 *   - no sessions and streams yet: they arrive with the CUDA backend, in
 *     the reserved words of the entry.
 * Nothing here is used by the device yet (FEATURES reads 0 in ABI 1.0).
 */
#ifndef VGPU_RING_ABI_H
#define VGPU_RING_ABI_H

#ifdef __KERNEL__
#include <linux/build_bug.h>
#include <linux/types.h>
#define VGPU_STATIC_ASSERT(e, m) static_assert(e, m)
typedef __u8 vgpu_u8;
typedef __u16 vgpu_u16;
typedef __u32 vgpu_u32;
typedef __u64 vgpu_u64;
#else
#include <assert.h>
#include <stdint.h>
#define VGPU_STATIC_ASSERT(e, m) static_assert(e, m)
typedef uint8_t vgpu_u8;
typedef uint16_t vgpu_u16;
typedef uint32_t vgpu_u32;
typedef uint64_t vgpu_u64;
#endif

/* FEATURES bits (BAR0 0x008). */
#define VGPU_F_QUEUES (1u << 0) /* the registers and rings below */
#define VGPU_F_MSI (1u << 1) /* completions by MSI (else INTx) */

/* Limits (RO). */
#define VGPU_REG_MAX_QUEUES 0x028 /* queue 0 is the admin queue */
#define VGPU_REG_MAX_QDEPTH 0x02c /* a power of two */
#define VGPU_REG_MAX_SGL 0x030 /* scatter-gather entries per command */
#define VGPU_REG_DEVMEM_PAGES 0x034 /* device memory quota, 4 KiB pages */

/* Queue window: Q_SELECT picks the queue the other Q_ registers mean. */
#define VGPU_REG_Q_SELECT 0x040
#define VGPU_REG_Q_DEPTH 0x044 /* entries: 2..MAX_QDEPTH, a power of two */
#define VGPU_REG_Q_SQ_GPA 0x048 /* 64-bit, page aligned */
#define VGPU_REG_Q_CQ_GPA 0x050 /* 64-bit, page aligned */
#define VGPU_REG_Q_HDR_GPA 0x058 /* 64-bit, page aligned */
/* Write 1: validate and map, then read back 1 (live) or 0 (Q_ERROR says
 * why). Write 0: quiesce and unmap. */
#define VGPU_REG_Q_ENABLE 0x060
#define VGPU_REG_Q_ERROR 0x064 /* RO: VGPU_QERR_* */

#define VGPU_QERR_NONE 0
#define VGPU_QERR_BAD_DEPTH 1
#define VGPU_QERR_BAD_GPA 2 /* unaligned, in a BAR, or not guest RAM */
#define VGPU_QERR_MAP 3 /* the emulator could not map it */
#define VGPU_QERR_TAIL 4 /* FATAL: a tail beyond the ring */
#define VGPU_QERR_NO_QUEUE 5 /* Q_SELECT names no queue */
#define VGPU_QERR_RESTART \
	6 /* FATAL: the emulator restarted, device
			     * memory is gone: reset the device */

/* INTx: bit q set when queue q posted completions; reading clears. */
#define VGPU_REG_INTR_STATUS 0x080
#define VGPU_REG_INTR_MASK 0x084

/* Doorbell of queue q (WO): the new SQ tail. Needed only while the header
 * says VGPU_DEV_NEED_DOORBELL. */
#define VGPU_REG_DOORBELL(q) (0x100 + 8 * (q))
#define VGPU_DOORBELLS_END 0x200

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

/* Submission entry. */
struct vgpu_sqe {
	vgpu_u8 opcode; /* VGPU_OP_* */
	vgpu_u8 flags; /* VGPU_SQE_* */
	vgpu_u16 cid; /* echoed in the completion */
	vgpu_u32 rsvd0;
	vgpu_u64 arg[4]; /* per opcode, below */
	vgpu_u64 sgl_gpa; /* one page of struct vgpu_sgl_entry, or 0 */
	vgpu_u32 sgl_nents; /* <= MAX_SGL */
	vgpu_u32 rsvd1;
	vgpu_u64 rsvd2;
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
#define VGPU_OP_GET_INFO 0x01 /* SGL <- struct vgpu_info */
#define VGPU_OP_MEM_ALLOC 0x10 /* arg0 bytes -> result dptr */
#define VGPU_OP_MEM_FREE 0x11 /* arg0 dptr (an allocation's base) */
#define VGPU_OP_MEMCPY_H2D 0x20 /* arg0 dptr, arg1 bytes; SGL source */
#define VGPU_OP_MEMCPY_D2H 0x21 /* arg0 dptr, arg1 bytes; SGL target */
/* arg0 kernel (VGPU_K_*), arg1 dst dptr, arg2 src dptr, arg3 bytes */
#define VGPU_OP_COMPUTE 0x40

#define VGPU_K_ADD1_U32 1 /* dst[i] = src[i] + 1, 32-bit words */
#define VGPU_K_XOR_U32 2 /* result = xor of src's 32-bit words */

#define VGPU_S_OK 0
#define VGPU_S_INVALID 1 /* malformed: reserved bits, sizes, opcode */
#define VGPU_S_NO_MEMORY 2 /* over the device memory quota */
#define VGPU_S_BAD_ADDRESS 3 /* a dptr or range outside an allocation */
#define VGPU_S_BAD_GPA 4 /* an SGL page the emulator cannot map */

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

VGPU_STATIC_ASSERT(sizeof(struct vgpu_qhdr_line) == 64, "header line");
VGPU_STATIC_ASSERT(sizeof(struct vgpu_qhdr) == 384, "queue header");
VGPU_STATIC_ASSERT(sizeof(struct vgpu_sqe) == 64, "submission entry");
VGPU_STATIC_ASSERT(sizeof(struct vgpu_sgl_entry) == 16, "sgl entry");
VGPU_STATIC_ASSERT(sizeof(struct vgpu_cqe) == 16, "completion entry");
VGPU_STATIC_ASSERT(sizeof(struct vgpu_info) == 64, "device info");

#endif
