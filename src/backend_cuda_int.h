/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The CUDA backend's proxy, inside vgpu-ioreq: backend_cuda.c (the
 * backend_ops, sessions), backend_cuda_worker.c (the worker's life and
 * its completions), backend_cuda_setup.c (creating one),
 * backend_cuda_wire.c (requests as ring records), backend_cuda_stage.c
 * (copies through staging for regions without a file),
 * backend_cuda_spawn.c (starting workers).
 */
#ifndef VGPU_BACKEND_CUDA_INT_H
#define VGPU_BACKEND_CUDA_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <vgpu/backend.h>
#include <vgpu/backend_cuda.h>
#include <vgpu/cuda_ipc.h>

#define CB_MAX_TOKENS 65536u
#define CB_NONE 0xffffffffu

enum cb_tok_state {
	CB_TOK_FREE,
	CB_TOK_PENDING, /* in its session's FIFO, not yet in the ring */
	CB_TOK_WORKER, /* in the ring: the worker completes it */
	CB_TOK_STAGING, /* a staging job owns it */
	CB_TOK_LOCAL, /* queued for poll() to complete or release */
};

/* What a FIFO entry without a be_req asks the worker. */
enum cb_internal {
	CB_I_NONE,
	CB_I_REGION_REG,
	CB_I_REGION_UNREG,
	CB_I_CLOSE,
};

struct cb_tok {
	struct be_req *r; /* NULL: an internal entry */
	uint32_t gen;
	uint32_t next; /* FIFO or free list */
	uint16_t slot;
	uint8_t state;
	uint8_t internal; /* enum cb_internal */
	uint32_t arg; /* internal: the region */
	uint64_t progress; /* MODULE_LOAD: image bytes sent */
};

enum cb_sess_state {
	CB_S_FREE,
	CB_S_OPEN,
	CB_S_CLOSING, /* SESSION_CLOSE sent; the slot waits for CLOSED */
	CB_S_DEAD, /* its worker died; waits for session_close */
};

struct cb_region {
	uint32_t id;
	uint64_t len;
	bool sent; /* to the worker (zero-copy), else staged */
};

struct cb_sess {
	uint32_t id; /* the engine's session id */
	uint8_t state;
	uint32_t epoch; /* the worker incarnation it lives in */
	pthread_mutex_t lock; /* the request ring and the FIFO */
	struct cw_sess_shm *shm;
	struct cw_prod req;
	struct cw_cons cpl;
	uint8_t *stage; /* the session's staging slice */
	uint32_t head, tail; /* FIFO of tokens not yet in the ring */
	bool stage_busy; /* a staging job holds the FIFO */
	struct cb_region *regions;
	uint32_t nregions;
};

struct cb_stage;

struct cb_done {
	struct be_req *r; /* NULL: only a token to release */
	uint32_t tok; /* released on delivery; CB_NONE: none */
};

struct backend_cuda {
	struct backend be;
	struct cuda_be_opts o;
	char vm[64];
	char gpu[96];
	char cache[256];
	struct logger *log;
	int shm_fd, stage_fd, notify_fd, ep_fd;
	struct cw_shm_hdr *shm;
	uint64_t shm_len;
	uint8_t *stage;
	uint64_t stage_len;
	struct cw_config cfg;
	int sock; /* the worker's control socket, -1: none */
	uint32_t epoch; /* bumped when a worker dies */
	bool hello; /* the running worker said hello */
	int worker_pid;
	struct vgpu_device_info devinfo;
	struct cb_sess sess[CW_MAX_SESSIONS];
	struct cb_tok *tok;
	uint32_t tok_free;
	uint64_t pinned; /* zero-copy region bytes sent to the worker */
	pthread_mutex_t done_lock; /* local completions */
	struct cb_done *done;
	uint32_t ndone, done_cap;
	struct cb_stage *st;
};

static inline uint32_t cb_slot_of(const struct backend_cuda *b,
				  const struct cb_sess *s)
{
	return (uint32_t)(s - b->sess);
}

/* backend_cuda.c */
extern const struct backend_ops cb_ops;
void cb_destroy(struct backend *be);
/* Complete @r from poll() (any thread may call this); token @t (or
 * CB_NONE) is released then, on the engine's thread: the token free list
 * is only ever touched there. */
void cb_local_complete(struct backend_cuda *b, uint32_t t, struct be_req *r,
		       uint32_t status, uint64_t result);
void cb_flush(struct backend_cuda *b, struct cb_sess *s);
void cb_tok_release(struct backend_cuda *b, uint32_t t);
bool cb_staged(const struct backend_cuda *b, const struct cb_sess *s,
	       const struct be_req *r);
void cb_log(struct backend_cuda *b, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* backend_cuda_worker.c */
int cb_worker_start(struct backend_cuda *b);
void cb_worker_died(struct backend_cuda *b, const char *why, bool malformed);
void cb_check_worker(struct backend_cuda *b);
/* Drain every session's completions; false if the worker wrote
 * something malformed. */
bool cb_drain_all(struct backend_cuda *b);
void cb_deliver_local(struct backend_cuda *b);

/* backend_cuda_wire.c: the records for token @t; 0 (sent), -EAGAIN (no
 * room yet: call again), -EPIPE (the ring is broken) */
int cb_wire_push(struct backend_cuda *b, struct cb_sess *s, uint32_t t);
/* A staging record (STAGE_H2D/D2H/END). */
int cb_wire_stage(struct backend_cuda *b, struct cb_sess *s, uint32_t op,
		  uint32_t stream, uint32_t token, uint32_t gen, uint32_t slot,
		  uint64_t dptr, uint64_t len);
/* Publish and wake the session thread if it sleeps. */
void cb_wire_publish(struct cb_sess *s);
/* Check a completion's payload into @r; a VGPU_S_* status. */
uint32_t cb_wire_result(struct be_req *r, const struct cw_cpl *c, uint32_t len);

/* backend_cuda_stage.c */
int cb_stage_start(struct backend_cuda *b);
void cb_stage_stop(struct backend_cuda *b);
void cb_stage_submit(struct backend_cuda *b, struct cb_sess *s, uint32_t t);
/* Wait until no staging job uses the session's memory (region_del). */
void cb_stage_quiesce(struct backend_cuda *b, struct cb_sess *s);

/* backend_cuda_spawn.c */
/* The JIT cache directory of @vm below @base (the name made safe). */
void cb_cache_path(char *buf, size_t len, const char *base, const char *vm);
/* A new worker on a new socketpair; its socket, or -errno. */
int cb_spawn(struct backend_cuda *b);
int cb_send_config(struct backend_cuda *b, int sock);
int cb_send_msg(int sock, const void *msg, size_t len, const int *fds,
		int nfds);
/* Wait up to @ms for HELLO; 0 or -errno with a reason in @err. */
int cb_wait_hello(struct backend_cuda *b, uint32_t ms, char *err,
		  size_t errlen);
/* Read a HELLO that came (non-blocking); 1 read, 0 none, -errno dead. */
int cb_read_hello(struct backend_cuda *b, char *err, size_t errlen);

#endif
