/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The CUDA backend's proxy, inside vgpu-ioreq: backend_cuda.c (the
 * backend_ops, sessions), backend_cuda_worker.c (workers: start, hello,
 * death, completions), backend_cuda_setup.c (creating one, statistics),
 * backend_cuda_wire.c (requests as ring records), backend_cuda_stage.c
 * (copies through staging for regions without a file),
 * backend_cuda_spawn.c (the spawner, its probe, starting workers).
 */
#ifndef VGPU_BACKEND_CUDA_INT_H
#define VGPU_BACKEND_CUDA_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <vgpu/backend.h>
#include <vgpu/backend_cuda.h>
#include <vgpu/cuda_ipc.h>

#define CB_MAX_SESSIONS 64u
#define CB_MAX_TOKENS 65536u
#define CB_NONE 0xffffffffu
#define CB_EP_NOTIFY 0 /* epoll data of the notify eventfd; workers: serial */

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
	CB_S_OPEN, /* with a worker once it is first used */
	CB_S_CLOSING, /* SESSION_CLOSE sent; the slot waits for CLOSED */
	CB_S_DEAD, /* its worker is gone; waits for session_close */
};

/* One vgpu-cuda-worker process: the VM's spare, or a session's. */
struct cb_worker {
	int sock; /* control socket; -1: none */
	uint64_t serial; /* names it in epoll (never 0) */
	int pid; /* from its HELLO; 0 before */
	bool hello;
	uint8_t *map; /* its shared memory */
	uint64_t map_len;
	struct cw_shm_hdr *hdr;
	uint64_t t_spawn; /* ns: asked the spawner */
};

struct cb_region {
	uint32_t id;
	uint64_t len;
	bool sent; /* to the worker (zero-copy), else staged */
};

struct cb_module {
	uint32_t id; /* the worker's module id */
	uint64_t bytes;
};

struct cb_sess {
	uint32_t id; /* the engine's session id */
	uint8_t state;
	uint32_t dead_status; /* CB_S_DEAD: what its requests get */
	uint32_t epoch; /* bumped when its worker goes (staging jobs) */
	pthread_mutex_t lock; /* the request ring and the FIFO */
	struct cb_worker w;
	struct cw_sess_shm *shm;
	struct cw_prod req;
	struct cw_cons cpl;
	uint8_t *stage; /* the staging slots */
	bool profile; /* stamp requests (CW_CFG_PROFILE) */
	uint32_t head, tail; /* FIFO of tokens not yet in the ring */
	bool stage_busy; /* a staging job holds the FIFO */
	struct cb_region *regions;
	uint32_t nregions;
	struct cb_module *mods; /* what it holds of the VM's module bytes */
	uint32_t nmods;
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
	struct logger *log;
	int notify_fd, ep_fd;
	struct cw_config cfg; /* what every worker of the VM is told */
	uint32_t max_sessions;
	uint64_t serial; /* the last worker's */
	struct cb_worker spare; /* CUDA up, waiting for a session */
	bool have_devinfo;
	struct vgpu_device_info devinfo;
	struct cb_sess sess[CB_MAX_SESSIONS];
	struct cb_tok *tok;
	uint32_t tok_free;
	uint64_t pinned; /* zero-copy region bytes sent to workers */
	uint64_t module_bytes; /* module images held or being loaded */
	pthread_mutex_t done_lock; /* local completions */
	struct cb_done *done;
	uint32_t ndone, done_cap;
	struct cb_stage *st;
	struct cuda_be_stats stats; /* the proxy's; the workers' once gone */
};

static inline uint32_t cb_slot_of(const struct backend_cuda *b,
				  const struct cb_sess *s)
{
	return (uint32_t)(s - b->sess);
}

static inline bool cb_profiling(const struct backend_cuda *b)
{
	return b->cfg.flags & CW_CFG_PROFILE;
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
/* A module image of @r's completion counts (or stops counting) against
 * the VM's module bytes. */
void cb_module_done(struct backend_cuda *b, struct cb_sess *s,
		    const struct be_req *r);

/* backend_cuda_worker.c */
/* Start a worker into @w (the spare, or a session's): its shared memory,
 * a socket from the spawner, CONFIG. 0 or -errno. */
int cb_worker_spawn(struct backend_cuda *b, struct cb_worker *w);
/* Forget a worker: its socket (it exits on that), its memory. */
void cb_worker_retire(struct backend_cuda *b, struct cb_worker *w);
/* Session @s's worker is gone: its session is lost (device lost, or
 * what the worker said before it went). */
void cb_worker_died(struct backend_cuda *b, struct cb_sess *s, const char *why,
		    bool malformed);
/* A socket event for the worker with @serial. */
void cb_worker_event(struct backend_cuda *b, uint64_t serial);
/* Drain every session's completions. */
void cb_drain_all(struct backend_cuda *b);
void cb_deliver_local(struct backend_cuda *b);

/* backend_cuda_wire.c: the records for token @t; 0 (sent), -EAGAIN (no
 * room yet: call again), -EPIPE (the ring is broken) */
int cb_wire_push(struct backend_cuda *b, struct cb_sess *s, uint32_t t);
/* A staging record (STAGE_H2D/D2H/END). */
int cb_wire_stage(struct backend_cuda *b, struct cb_sess *s, uint32_t op,
		  uint32_t stream, uint32_t token, uint32_t gen, uint32_t slot,
		  uint64_t dptr, uint64_t len);
/* Publish and wake the session thread if it sleeps. */
void cb_wire_publish(struct backend_cuda *b, struct cb_sess *s);
/* Check a completion's payload into @r; a VGPU_S_* status. */
uint32_t cb_wire_result(struct be_req *r, const struct cw_cpl *c, uint32_t len);

/* backend_cuda_stage.c */
int cb_stage_start(struct backend_cuda *b);
void cb_stage_stop(struct backend_cuda *b);
void cb_stage_submit(struct backend_cuda *b, struct cb_sess *s, uint32_t t);
/* Wait until no staging job uses the session's memory. */
void cb_stage_quiesce(struct backend_cuda *b, struct cb_sess *s);

/* backend_cuda_spawn.c */
/* The JIT cache directory of @vm below @base (the name made safe). */
void cb_cache_path(char *buf, size_t len, const char *base, const char *vm);
/* A new worker on a new socketpair; its socket, or -errno. */
int cb_spawn(struct backend_cuda *b);
int cb_send_msg(int sock, const void *msg, size_t len, const int *fds,
		int nfds);
/* Wait up to @ms for @w's HELLO; 0 or -errno with a reason in @err. */
int cb_wait_hello(struct backend_cuda *b, struct cb_worker *w, uint32_t ms,
		  char *err, size_t errlen);
/* Read a HELLO that came (non-blocking); 1 read, 0 none, -errno dead. */
int cb_read_hello(struct backend_cuda *b, struct cb_worker *w, char *err,
		  size_t errlen);

/* backend_cuda_setup.c */
void cb_stats_add(struct cw_stats *to, const struct cw_stats *from);

#endif
