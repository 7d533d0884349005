/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The CUDA backend's two halves and what passes between them: the proxy
 * in vgpu-ioreq (src/backend_cuda*.c, struct backend_ops) and
 * vgpu-cuda-worker (src/cuda-worker/), one worker process per session
 * (one CUDA context), holding no Xen handle.
 *
 * Why a process per session, not per VM: on a real GPU a faulting kernel
 * (CUDA_ERROR_ILLEGAL_ADDRESS, a launch failure, ...) poisons every
 * context of the process until it exits; no context of it works and no
 * new one can be made (seen on an H200, driver 580:
 * results/gpu-2026-11-29-1). The process is the unit the driver isolates.
 *
 * Control: a SOCK_SEQPACKET socketpair. The proxy sends CONFIG with two
 * descriptors (the worker's shared memory, the VM's notify eventfd); the
 * worker brings CUDA up (cuInit, the device; no context yet) and answers
 * HELLO (or with the reason it cannot). Such a worker waits as the VM's
 * spare until a session needs one: SESSION_OPEN makes its context and
 * starts serving the rings; REGION hands over a region's file
 * (SCM_RIGHTS) for zero-copy DMA. The worker's end of the socket closing
 * is its death; a worker exits once its session is closed or lost (a
 * fault or a time limit: the process exit takes the context with it).
 *
 * Data: one memfd per worker, made by the proxy, mapped by both: a
 * header, the session's request ring (proxy -> worker) and completion
 * ring (worker -> proxy), each a single-producer single-consumer byte
 * ring of 16-byte aligned records, then the staging slots. Nothing is a
 * system call while both sides are busy:
 *   - a producer publishes prod with release semantics, then (full
 *     barrier) looks at the consumer's need_wake / cons;
 *   - the worker going to sleep sets need_wake, (full barrier) looks at
 *     prod once more, and sleeps on the futex word wake; the proxy bumps
 *     wake and FUTEX_WAKEs only while need_wake is set;
 *   - the worker writes the notify eventfd (the proxy's poll_fd, shared
 *     by the VM's workers) only when its completion ring was empty as
 *     the proxy last left it (cons == the old prod); the proxy clears the
 *     eventfd, drains, stores cons and (full barrier) looks at prod again.
 * A ring that is full sets space_wanted; the consumer, after consuming,
 * clears it and wakes the producer (futex on cons, and the notify
 * eventfd for the proxy's engine thread).
 *
 * Staging (regions without a file: Xen's foreign mappings): nslots x
 * slot_bytes at stage_off in the same memfd, which the worker registers
 * with cuMemHostRegister. The proxy fills a slot and sends STAGE_H2D; the
 * worker DMAs it and sets the slot's state word FREE; for D2H the worker
 * DMAs into a slot and sets it READY, the proxy copies it out and sets it
 * FREE. State words are futex words in the shared memory.
 *
 * Trust: the worker runs a guest's kernels through a vendor driver, so
 * the proxy treats everything it reads from the worker as hostile:
 * records are copied out before use, lengths and tokens are checked, a
 * malformed ring is the worker's death. A worker sees only its own
 * session's memory (its memfd, its regions). The worker trusts the proxy.
 */
#ifndef VGPU_CUDA_IPC_H
#define VGPU_CUDA_IPC_H

#include <stdint.h>

#include <vgpu/vgpu_ring_abi.h>

#define CW_MAGIC 0x57435647u /* "GVCW" */
#define CW_VERSION 2
#define CW_MAX_SLOTS 16 /* staging slots per session */
#define CW_REC_ALIGN 16

/* ---- control socket ---- */

enum cw_msg_type {
	CW_MSG_CONFIG = 1, /* proxy -> worker, fds: shm, notify */
	CW_MSG_HELLO = 2, /* worker -> proxy */
	CW_MSG_SESSION_OPEN = 3, /* proxy -> worker: make the context */
	CW_MSG_REGION = 4, /* proxy -> worker, fd: id, len, off */
	CW_MSG_EXIT = 5, /* proxy -> worker: finish and exit */
};

#define CW_CFG_NO_ZERO 0x1u /* do not zero fresh allocations (tests) */
#define CW_CFG_PROFILE 0x2u /* time each stage (struct cw_stats) */

struct cw_config {
	uint32_t magic;
	uint32_t type; /* CW_MSG_CONFIG */
	uint32_t version;
	uint32_t flags; /* CW_CFG_* */
	uint64_t shm_bytes; /* the whole memfd */
	uint32_t req_bytes; /* a power of two */
	uint32_t cpl_bytes; /* a power of two */
	uint32_t nslots; /* staging slots */
	uint32_t slot_bytes;
	uint64_t pinned_limit; /* bytes of client memory registered */
	uint64_t module_limit; /* bytes of module images held */
	uint32_t timeout_ms; /* a kernel's time limit; 0: none */
	uint32_t spin_us; /* the session thread polls this long when idle */
	uint32_t hang_ms; /* a thread stuck in CUDA this long ends the worker */
	uint32_t busy_spin_us; /* ... this long with GPU work in flight */
	char gpu[96]; /* "", an index, or a UUID (GPU-xxxxxxxx-...) */
	char cache_dir[256]; /* CUDA_CACHE_PATH for PTX JIT; "": none */
};

struct cw_hello {
	uint32_t magic;
	uint32_t type; /* CW_MSG_HELLO */
	uint32_t version;
	int32_t status; /* 0, or a negative errno: msg says why */
	uint32_t pid;
	uint32_t rsvd;
	uint64_t ctx_overhead; /* device memory a context takes (probe) */
	char msg[256];
};

struct cw_msg {
	uint32_t magic;
	uint32_t type; /* SESSION_OPEN, REGION, EXIT */
	uint32_t rsvd;
	uint32_t id; /* REGION: the region's backend id */
	uint64_t len; /* REGION: bytes */
	uint64_t off; /* REGION: offset of the region in the file */
};

/* ---- shared memory ---- */

struct cw_line {
	uint32_t v;
	uint32_t pad[15];
};

struct cw_ring {
	struct cw_line prod; /* bytes produced (wraps at 2^32) */
	struct cw_line cons; /* bytes consumed */
	struct cw_line need_wake; /* the consumer sleeps on wake */
	struct cw_line space_wanted; /* the producer waits for room */
	struct cw_line wake; /* futex word */
};

enum cw_slot_state {
	CW_SLOT_FREE = 0,
	CW_SLOT_BUSY = 1, /* filled by the proxy / DMA in flight */
	CW_SLOT_READY = 2, /* D2H: data in the slot */
	CW_SLOT_ERROR = 3, /* the session is lost */
};

enum cw_sess_state {
	CW_SESS_NONE = 0,
	CW_SESS_LIVE = 1,
	CW_SESS_LOST = 2, /* faulted, timed out, or no context */
	CW_SESS_CLOSED = 3,
};

/*
 * What a worker counts, for figures only (the proxy never acts on them).
 * The session thread writes them; the *_ns sums (ns, CLOCK_MONOTONIC)
 * only with CW_CFG_PROFILE, which also times each copy on the GPU.
 */
struct cw_stats {
	uint64_t init_ns; /* cuInit and the device, before HELLO */
	uint64_t ctx_ns; /* cuCtxCreate for the session */
	uint64_t reqs; /* requests taken from the ring */
	uint64_t ring_ns; /* the proxy published it -> the worker took it */
	uint64_t launches;
	uint64_t launch_ns; /* in cuLaunchKernel */
	uint64_t copies; /* DMA issued (zero-copy and staged chunks) */
	uint64_t copy_bytes;
	uint64_t copy_ns; /* in cuMemcpy*Async */
	uint64_t records; /* events recorded to close a batch */
	uint64_t record_ns; /* in cuEventRecord */
	uint64_t queries; /* cuEventQuery calls */
	uint64_t query_ns;
	uint64_t groups; /* event groups seen complete */
	uint64_t group_ns; /* its event recorded -> seen complete */
	uint64_t posts; /* completions posted */
	uint64_t notifies; /* notify eventfd writes */
	uint64_t sleeps; /* futex sleeps of the session thread */
	uint64_t hostfn; /* host functions that ran */
	uint64_t hostfn_wake_ns; /* a host function ran -> the thread awake */
	uint64_t gpu_copies; /* copies timed on the GPU (profile) */
	uint64_t gpu_copy_bytes;
	uint64_t gpu_copy_ns; /* their DMA, between timing events */
	uint64_t markers_joined; /* syncs done at once or by an earlier event */
};

struct cw_sess_shm {
	struct cw_ring req;
	struct cw_ring cpl;
	struct cw_line slot[CW_MAX_SLOTS]; /* enum cw_slot_state */
	struct cw_line state; /* the worker's enum cw_sess_state */
	/* then req_bytes of request ring, cpl_bytes of completion ring */
};

struct cw_shm_hdr {
	uint32_t magic;
	uint32_t version;
	uint32_t req_bytes;
	uint32_t cpl_bytes;
	uint64_t sess_off; /* the cw_sess_shm */
	uint64_t stage_off; /* the staging slots */
	uint64_t dev_free; /* device memory free, as the worker last saw */
	uint64_t dev_free_at; /* when (ns, CLOCK_MONOTONIC); 0: never */
	uint64_t hostfn_at; /* profile: when the last host function ran */
	struct vgpu_device_info devinfo; /* filled by the worker before HELLO */
	struct cw_stats stats;
};

static inline uint64_t cw_sess_off(void)
{
	return (sizeof(struct cw_shm_hdr) + 4095) & ~4095ull;
}

static inline uint64_t cw_stage_off(uint32_t req_bytes, uint32_t cpl_bytes)
{
	return (cw_sess_off() + sizeof(struct cw_sess_shm) + req_bytes +
		cpl_bytes + 4095) &
	       ~4095ull;
}

/* ---- ring records ---- */

struct cw_rec {
	uint32_t len; /* bytes, header included, a multiple of 16 */
	uint16_t type; /* enum cw_rec_type */
	uint16_t flags;
	uint32_t token; /* the proxy's request slot; 0: none */
	uint32_t gen; /* that slot's generation */
};

enum cw_rec_type {
	CW_REC_PAD = 1, /* skip to the end of the ring */
	CW_REC_REQ = 2, /* struct cw_req */
	CW_REC_CPL = 3, /* struct cw_cpl */
	CW_REC_CLOSED = 4, /* worker: the session is closed, it exits */
};

/* Operations beyond VGPU_OP_* (the worker's own). */
#define CW_OP_MODULE_DATA 0x100 /* more of a MODULE_LOAD's image */
#define CW_OP_STAGE_H2D 0x101 /* slot u[0] -> a[0], a[2] bytes */
#define CW_OP_STAGE_D2H 0x102 /* a[0] -> slot u[0], a[2] bytes */
#define CW_OP_STAGE_END 0x103 /* a staged H2D's completion */
#define CW_OP_REGION_REG 0x104 /* u[0] region (its fd: CW_MSG_REGION) */
#define CW_OP_REGION_UNREG 0x105 /* u[0] region */
#define CW_OP_SESSION_CLOSE 0x106

/*
 * A request. Per op: MEM_ALLOC a0 bytes; MEM_FREE a0 dptr; COPY_H2D/D2H
 * (zero-copy) a0 dptr, a1 offset, a2 len, u0 region; COPY_D2D a0 dst, a1
 * src, a2 len; MEMSET a0 dptr, a1 count, u0 value, u1 elem; MODULE_LOAD /
 * MODULE_DATA a0 total bytes, a1 offset of the payload; MODULE_UNLOAD u0;
 * FUNC_GET / GLOBAL_GET u0 module, payload the name (NUL-terminated);
 * LAUNCH u0 func, u1-u3 grid, u4-u6 block, u7 shmem, a0 param bytes,
 * payload the parameters; STREAM_* / EVENT_* u0 obj, u1 obj2, u2 flags;
 * COMPUTE u0 kernel, a0 dst, a1 src, a2 len.
 */
struct cw_req {
	struct cw_rec h;
	uint32_t op;
	uint32_t stream; /* the worker's stream id; 0: the default */
	uint64_t a[3];
	uint32_t u[8];
	uint64_t stamp; /* profile: when the proxy published it; else 0 */
	uint64_t rsvd;
	/* payload, padded to 16 */
};

struct cw_cpl {
	struct cw_rec h;
	uint32_t status; /* VGPU_S_* */
	uint32_t rsvd;
	uint64_t result;
	uint64_t stamp; /* profile: when the worker posted it; else 0 */
	uint64_t rsvd2;
	/* payload: FUNC_GET vgpu_func_info (up to its used params),
	 * GLOBAL_GET vgpu_global_info */
};

#define CW_FUNC_INFO_BYTES(n) (8 + 4 * VGPU_FATTRS_MAX + 8 * (n))

_Static_assert(sizeof(struct cw_rec) == 16, "record header");
_Static_assert(sizeof(struct cw_req) == 16 + 8 + 24 + 32 + 16, "request");
_Static_assert(sizeof(struct cw_req) % CW_REC_ALIGN == 0, "request align");
_Static_assert(sizeof(struct cw_cpl) == 48, "completion");
_Static_assert(sizeof(struct cw_cpl) % CW_REC_ALIGN == 0, "cpl align");
_Static_assert(sizeof(struct cw_ring) == 5 * 64, "ring control");

/* ---- ring primitives (src/backend_cuda_ring.c, used by both sides) ----
 * Each side keeps its own index privately and never trusts the peer's
 * copy beyond checking it. */

#include <stdbool.h>
#include <time.h>

struct cw_prod {
	struct cw_ring *c;
	uint8_t *data;
	uint32_t size; /* a power of two */
	uint32_t pos; /* private: bytes produced, published or not */
};

struct cw_cons {
	struct cw_ring *c;
	uint8_t *data;
	uint32_t size;
	uint32_t pos; /* private: bytes consumed */
};

void cw_prod_init(struct cw_prod *p, struct cw_ring *c, uint8_t *data,
		  uint32_t size);
void cw_cons_init(struct cw_cons *q, struct cw_ring *c, uint8_t *data,
		  uint32_t size);
/* Room for a record of @len bytes (a multiple of 16, at most size / 2):
 * a pointer into the ring, or NULL (full; space_wanted is then set), or
 * CW_RING_BROKEN if the consumer's index is impossible. */
#define CW_RING_BROKEN ((void *)-1)
void *cw_prod_reserve(struct cw_prod *p, uint32_t len);
/* The record reserved last is written: count it (not yet published). */
void cw_prod_commit(struct cw_prod *p, uint32_t len);
/* Make everything reserved so far visible to the consumer. Returns true
 * if the consumer asked to be woken (need_wake was set; it is cleared). */
bool cw_prod_publish(struct cw_prod *p);
/* Is the ring empty as the consumer last published (cons == @pos)? */
bool cw_prod_consumer_caught_up(struct cw_prod *p, uint32_t pos);
/* The next record (PAD records skipped), or NULL if none, or
 * CW_RING_BROKEN if the producer's index or the record is impossible.
 * *len is the record's length as checked. */
void *cw_cons_peek(struct cw_cons *q, uint32_t *len);
void cw_cons_advance(struct cw_cons *q, uint32_t len);
/* Publish cons; returns true if the producer wanted room (cleared). */
bool cw_cons_publish(struct cw_cons *q);
/* Anything left after a full barrier (for the last look before sleep). */
bool cw_cons_empty(struct cw_cons *q);

/* Futexes on shared memory (not private: both processes map it). */
int cw_futex_wait(uint32_t *word, uint32_t val, const struct timespec *rel);
void cw_futex_wake(uint32_t *word);

static inline uint32_t cw_load(const uint32_t *w)
{
	return __atomic_load_n(w, __ATOMIC_ACQUIRE);
}

static inline void cw_store(uint32_t *w, uint32_t v)
{
	__atomic_store_n(w, v, __ATOMIC_RELEASE);
}

static inline void cw_fence(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static inline uint32_t cw_rec_len(uint32_t body)
{
	return (uint32_t)((sizeof(struct cw_rec) + body + CW_REC_ALIGN - 1) &
			  ~(CW_REC_ALIGN - 1));
}

static inline uint64_t cw_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
