/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The CPU reference backend's own structures, shared by its files:
 * backend_cpu.c (the seam, sessions, immediate requests, completions),
 * cpu_sched.c (executor threads, streams, events, waits), cpu_mem.c
 * (device memory and checked accessors), cpu_image.c (module images),
 * cpu_kernels.c (the registry of C twins of the project's kernels).
 *
 * One mutex guards everything shared with the executor threads; kernels
 * and copies run outside it. Memory a running kernel may still touch is
 * freed only once its session has no stream work left (the graveyard).
 */
#ifndef VGPU_CPU_PRIV_H
#define VGPU_CPU_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <vgpu/backend.h>

#define CPU_DPTR_BASE 0x100000000000ull
#define CPU_GUARD 0x10000ull /* unmapped device addresses between allocations */
#define CPU_MAX_THREADS 16

struct cpu_session;

struct cpu_alloc {
	uint64_t dptr, len;
	uint8_t *mem;
	struct cpu_alloc *next; /* in the session's list or graveyard */
};

struct cpu_global {
	char name[64];
	uint64_t size;
	uint64_t dptr; /* allocated at load */
};

#define CPU_MAX_FUNCS 64
#define CPU_MAX_GLOBALS 16

struct cpu_kernel;

struct cpu_module {
	uint32_t id;
	const struct cpu_kernel *k[CPU_MAX_FUNCS]; /* NULL: not registered */
	char names[CPU_MAX_FUNCS][64];
	uint32_t nfuncs;
	/* EIATTR_KPARAM_INFO layouts a cubin carries; nkp -1: none */
	struct vgpu_param kp[CPU_MAX_FUNCS][8];
	int nkp[CPU_MAX_FUNCS];
	struct cpu_global g[CPU_MAX_GLOBALS];
	uint32_t nglobals;
	bool dead; /* unloaded: freed once the session is idle */
	struct cpu_module *next;
};

struct cpu_stream {
	uint32_t id; /* 0: the session's default stream */
	bool blocking; /* synchronises with the default stream */
	bool destroyed;
	bool busy; /* an executor runs a request of it */
	uint64_t running; /* that request's ticket */
	struct be_req *head, *tail;
	uint64_t submitted, done;
	struct cpu_session *s;
	struct cpu_stream *next; /* in the session's list */
};

struct cpu_event {
	uint32_t id;
	uint32_t flags;
	bool destroyed;
	uint32_t refs; /* queued requests that name it */
	uint64_t recorded, done; /* records submitted, records executed */
	uint64_t ts_ns; /* CLOCK_MONOTONIC of the last record done */
	struct cpu_event *next;
};

struct cpu_session {
	uint32_t id;
	bool lost;
	uint32_t lost_status;
	uint32_t active; /* stream requests queued or running */
	uint64_t blk_submitted, blk_done; /* on blocking streams */
	uint64_t ticket; /* per stream request, for CTX_SYNC */
	struct cpu_stream *streams;
	struct cpu_stream *s0; /* the default stream */
	struct cpu_event *events;
	struct cpu_alloc *allocs, *grave;
	struct cpu_module *modules;
	struct cpu_session *next;
};

struct backend_cpu {
	struct backend be;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* executors: work, or stop */
	pthread_t threads[CPU_MAX_THREADS];
	unsigned int nthreads;
	bool stop;
	int efd; /* eventfd: completions waiting for poll() */
	struct be_req *done_head, *done_tail;
	struct be_req *waiters; /* EVENT_SYNC, CTX_SYNC, EVENT_ELAPSED */
	struct cpu_session *sessions;
	uint64_t next_dptr;
	uint32_t next_id;
};

/* The request's links (be_req.be_priv). */
#define REQ_NEXT(r) ((r)->be_priv[0].p) /* struct be_req * */
#define REQ_EVENT(r) ((struct cpu_event *)(r)->be_priv[1].p)
#define REQ_EVENT2(r) ((struct cpu_event *)(r)->be_priv[5].p)
#define SET_EVENT(r, ev) ((r)->be_priv[1].p = (ev))
#define SET_EVENT2(r, ev) ((r)->be_priv[5].p = (ev))
#define REQ_WAIT(r) ((r)->be_priv[2].u) /* implicit wait */
#define REQ_SEQ(r) ((r)->be_priv[3].u) /* CTX_SYNC ticket */
#define REQ_TARGET(r) ((r)->be_priv[4].u) /* records to wait for */

/* A kernel's view of device memory. */
struct cpu_kctx {
	struct backend_cpu *c;
	struct cpu_session *s;
	const struct cpu_module *m;
	const struct cpu_alloc *cache; /* the last allocation hit */
	uint64_t deadline_ns; /* 0: none */
	uint32_t status; /* VGPU_S_OK, or FAULT / TIMEOUT once it happened */
	uint32_t checks;
};

struct cpu_kernel {
	const char *name; /* mangled */
	uint32_t nparams;
	struct vgpu_param param[8];
	uint32_t param_bytes;
	/* over the whole grid; k->status says how it ended */
	void (*run)(struct cpu_kctx *k, const uint32_t grid[3],
		    const uint32_t block[3], uint32_t shmem, const uint8_t *p);
};

static inline struct backend_cpu *cpu_of(struct backend *b)
{
	return (struct backend_cpu *)b;
}

/* backend_cpu.c */
struct cpu_session *cpu_session(struct backend_cpu *c, uint32_t id);
/* Queue @r for poll() (mu held). */
void cpu_done(struct backend_cpu *c, struct be_req *r);
/* Make poll_fd readable: poll() has something to do. */
void cpu_done_kick(struct backend_cpu *c);

/* cpu_sched.c */
int cpu_sched_start(struct backend_cpu *c, unsigned int threads);
void cpu_sched_stop(struct backend_cpu *c);
/* Without executor threads: run every runnable stream head now, on the
 * caller's thread (mu held). */
void cpu_sched_inline(struct backend_cpu *c);
void cpu_sched_submit(struct backend_cpu *c, struct cpu_session *s,
		      struct be_req *r);
struct cpu_stream *cpu_stream_new(struct cpu_session *s, uint32_t id,
				  bool blocking);
struct cpu_stream *cpu_stream_find(struct cpu_session *s, uint32_t id);
struct cpu_event *cpu_event_find(struct cpu_session *s, uint32_t id);
void cpu_stream_reap(struct cpu_session *s);
void cpu_event_reap(struct cpu_session *s);
/* Complete waiters whose condition holds (mu held). */
void cpu_waiters_check(struct backend_cpu *c);
void cpu_wait_add(struct backend_cpu *c, struct be_req *r);

/* cpu_mem.c */
uint32_t cpu_mem_alloc(struct backend_cpu *c, struct cpu_session *s,
		       uint64_t bytes, uint64_t *dptr);
uint32_t cpu_mem_free(struct backend_cpu *c, struct cpu_session *s,
		      uint64_t dptr);
void cpu_mem_free_all(struct cpu_session *s);
/* Free the graveyard if the session is idle (mu held). */
void cpu_mem_bury(struct cpu_session *s);
/* Host address of [dptr, dptr + len) in one allocation, or NULL (mu
 * held). */
uint8_t *cpu_mem_host(struct cpu_session *s, uint64_t dptr, uint64_t len);
/* Checked accessors for kernels: NULL (and k->status FAULT) outside the
 * session's allocations. Take mu on a miss only. */
void *cpu_ptr(struct cpu_kctx *k, uint64_t dptr, uint64_t len);
/* Copies, memset and the 1.1 kernels on an executor thread. */
uint32_t cpu_exec_mem(struct backend_cpu *c, struct cpu_session *s,
		      struct be_req *r);

/* cpu_image.c: parse an image into @m's names and globals. */
uint32_t cpu_image_parse(const void *img, size_t len, struct cpu_module *m);

/* cpu_kernels.c */
const struct cpu_kernel *cpu_kernel_find(const char *name);
void cpu_func_info(const struct cpu_kernel *k, struct vgpu_func_info *fi);
uint32_t cpu_launch(struct backend_cpu *c, struct cpu_session *s,
		    struct be_req *r);
/* true while the kernel may go on: not past its deadline, no fault. */
bool cpu_kcheck(struct cpu_kctx *k);

#endif
