/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The command engine's own structures, shared by its files: engine.c
 * (queues, dispatch, completions, polling), session.c (sessions, handle
 * tables), region.c, engine_mem.c, engine_module.c, engine_stream.c and
 * engine_legacy.c (the ABI 1.1 commands).
 */
#ifndef VGPU_ENGINE_PRIV_H
#define VGPU_ENGINE_PRIV_H

#include <stddef.h>

#include <vgpu/engine.h>

#define PAGE 4096u
#define ENGINE_SCRATCH 8192u /* >= every per-command buffer */
#define STAGE_SLOTS 8 /* 1.1 copies in flight */
#define STAGE_BYTES (ENGINE_MAX_SGL * PAGE)

#define container_of(p, type, m) ((type *)((char *)(p)-offsetof(type, m)))

/* ---- handles: type << 28 | generation << 16 | index ---- */
enum htype { H_SESSION = 1, H_REGION, H_MODULE, H_FUNC, H_STREAM, H_EVENT };

enum hstate { HS_FREE, HS_PENDING, HS_LIVE };

struct hslot {
	uint16_t gen;
	uint8_t state;
	uint32_t be_id; /* the backend's id */
	uint32_t owner; /* functions: their module's handle */
	uint32_t aux; /* functions: param_bytes */
	void *p; /* regions: struct eng_region */
};

struct htab {
	struct hslot *s;
	uint32_t cap, used;
	uint8_t type;
	uint16_t salt; /* added to every generation: see session.c */
};

int htab_init(struct htab *t, enum htype type, uint32_t cap);
void htab_fini(struct htab *t);
/* A free slot, now PENDING: its handle, or 0 when the table is full. */
uint32_t htab_alloc(struct htab *t, struct hslot **out);
/* The LIVE slot @h names, or NULL (stale, foreign, wrong type). */
struct hslot *htab_get(struct htab *t, uint32_t h);
struct hslot *htab_get_any(struct htab *t, uint32_t h); /* or PENDING */
void htab_free(struct htab *t, uint32_t h);
/* The handle of slot @i (for walks). */
uint32_t htab_handle(const struct htab *t, uint32_t i);

/* ---- regions ---- */
struct eng_region {
	struct be_region br;
	struct vgpu_extent *ext; /* the guest's extents, for mark_dirty */
	uint32_t next, pages;
	uint32_t busy; /* requests in flight that use it */
	bool dead; /* deleted: unmapped once busy is 0 */
	bool granted; /* our memory granted to the guest (REGION_GRANT) */
	struct engine *en;
	struct session *s;
};

/* ---- allocations (sorted by dptr) ---- */
struct eng_alloc {
	uint64_t dptr, len;
	uint32_t module; /* 0: MEM_ALLOC; else the module of a global */
};

/* ---- sessions ---- */
enum sstate { SS_FREE, SS_LIVE, SS_LOST, SS_CLOSING };

struct eng_req;

struct session {
	uint32_t handle; /* what the guest names; 0: the legacy session */
	uint32_t be_id; /* the backend's session id */
	uint8_t state;
	uint32_t lost_status; /* VGPU_S_FAULT or VGPU_S_TIMEOUT */
	int queue; /* the queue bound to it, or -1 */
	uint32_t inflight; /* requests the backend holds */
	uint64_t devmem; /* quota bytes charged */
	uint64_t pinned; /* region bytes */
	struct htab regions, modules, funcs, streams, events;
	struct eng_alloc *allocs;
	uint32_t nallocs, pending_allocs;
	struct eng_req *close_req; /* SESSION_CLOSE waiting for the drain */
};

/* ---- requests: a pool per queue, sized by its depth ---- */
struct eng_pool;
struct cmd;

typedef void (*eng_done_fn)(struct engine *en, struct eng_req *r);

struct eng_req {
	struct be_req br;
	struct eng_pool *pool;
	struct session *s;
	eng_done_fn done; /* finish the command once the backend did */
	uint16_t cid;
	bool quiet;
	uint32_t slot; /* a handle minted for it, or a staging slot */
	uint64_t aux; /* per command: a length, a module handle */
	uint64_t out_off, out_len; /* an output buffer in out_region */
	struct eng_region *region; /* held busy while in flight */
	struct eng_region *out_region;
	uint8_t *scratch; /* ENGINE_SCRATCH bytes, allocated on first use */
	struct be_region tmp; /* a 1.1 copy's pages, mapped for it alone */
	uint32_t tmp_pages;
	struct eng_req *next_free;
};

struct eng_pool {
	struct eng_req *reqs;
	uint32_t n, inflight;
	unsigned int qi;
	bool live; /* false: its queue went away; freed when drained */
	struct eng_req *free;
	struct eng_pool *next_zombie;
};

struct stage {
	uint8_t *buf; /* STAGE_SLOTS * STAGE_BYTES */
	struct be_region br;
	uint32_t registered; /* the backend session it is registered with */
	uint32_t busy; /* bit per slot */
	struct vgpu_sgl_entry sgl[STAGE_SLOTS][ENGINE_MAX_SGL];
	uint32_t nents[STAGE_SLOTS];
};

struct engine {
	struct host *host;
	struct backend *be;
	struct logger *log;
	struct engine_limits lim;
	struct engine_stats stats;
	uint64_t bar_lo, bar_len;
	struct ring_queue *q;
	unsigned int nq;
	struct eng_pool *pools[VGPU_MAX_QUEUES_ABI];
	struct eng_pool *zombies;
	uint32_t rung; /* queues whose doorbell rang */
	uint32_t hot; /* queues being polled */
	uint64_t hot_until[VGPU_MAX_QUEUES_ABI]; /* CLOCK_MONOTONIC ns */
	uint32_t irq; /* collected for the caller */
	/* what the last poll saw of each queue, for dirty tracking */
	uint64_t seen_completed[VGPU_MAX_QUEUES_ABI];
	uint32_t seen_head[VGPU_MAX_QUEUES_ABI];
	struct session *sess; /* slots, see session.c */
	int legacy; /* the slot of the legacy session (0), or -1 */
	struct htab sids; /* session handles -> index in sess */
	uint64_t devmem_used, pinned_used;
	uint64_t granted_used; /* bytes of REGION_GRANT regions */
	uint32_t next_region_id;
	uint16_t next_salt; /* the next session's handle salt */
	struct stage stage;
};

/* One command being decoded: what the handlers see. */
struct cmd {
	struct engine *en;
	struct session *s;
	unsigned int qi;
	const struct vgpu_sqe *e;
	const uint8_t *params;
	uint32_t plen;
	uint32_t status;
	uint64_t result;
};

/* engine.c */
struct eng_req *eng_req_get(struct cmd *c, eng_done_fn done);
/* Hand @r to the backend: RING_ASYNC. */
enum ring_exec eng_submit(struct engine *en, struct eng_req *r);
enum ring_exec eng_fail(struct cmd *c, uint32_t status);
bool eng_zero(const void *p, size_t n);
uint64_t eng_now_ns(void);
/* Copy a command's output struct into its out_region buffer. */
void eng_put_out(struct engine *en, struct eng_req *r, const void *src,
		 uint64_t len);
/* Complete a request that never reached the backend (or came back). */
void eng_finish(struct engine *en, struct eng_req *r);

/* session.c */
int sess_init_all(struct engine *en);
void sess_fini_all(struct engine *en);
void sess_reset_all(struct engine *en);
int sess_open_legacy(struct engine *en);
struct session *sess_lookup(struct engine *en, uint32_t handle);
enum ring_exec sess_open(struct cmd *c);
enum ring_exec sess_close(struct cmd *c);
/* End @s (reset, its queue went away): close once drained. */
void sess_end(struct engine *en, struct session *s);
/* A request of @s came back: close it if it was the last one. */
void sess_drained(struct engine *en, struct session *s);
void sess_lose(struct engine *en, struct session *s, uint32_t status);
bool sess_has_room(const struct engine *en, const struct session *s,
		   uint32_t n);

/* region.c */
enum ring_exec region_add(struct cmd *c);
enum ring_exec region_del(struct cmd *c);
/* @s's region @h with [off, off + len) inside it, or NULL (*status). */
struct eng_region *region_range(struct session *s, uint32_t h, uint64_t off,
				uint64_t len, uint32_t *status);
void region_hold(struct eng_req *r, struct eng_region *g);
void region_release(struct engine *en, struct eng_region *g);
void region_dirty(struct engine *en, struct eng_region *g, uint64_t off,
		  uint64_t len);
void region_free_all(struct engine *en, struct session *s);
/* A command's list in guest memory [gpa, gpa + len), clear of our BAR,
 * copied out of it or into it page piece by page piece (a host maps a
 * bounded number of frames per copy). 0, -EINVAL or -EFAULT. */
int region_list_copy(struct engine *en, uint64_t gpa, void *buf, uint64_t len,
		     bool to_guest);
/* A new region's handle in @c's session, handed to the backend: the
 * command's status (VGPU_S_OK: c->result set, the region live). On an
 * error @g is left to the caller. */
uint32_t region_publish(struct cmd *c, struct eng_region *g);

/* region_grant.c */
enum ring_exec region_grant(struct cmd *c);

/* engine_mem.c */
enum ring_exec mem_alloc(struct cmd *c);
enum ring_exec mem_free(struct cmd *c);
enum ring_exec mem_get_info(struct cmd *c);
enum ring_exec mem_copy(struct cmd *c);
enum ring_exec mem_d2d(struct cmd *c);
enum ring_exec mem_set(struct cmd *c);
/* [dptr, dptr + len) inside one of @s's allocations? (len may be 0) */
bool mem_inside(const struct session *s, uint64_t dptr, uint64_t len);
int mem_track(struct session *s, uint64_t dptr, uint64_t len, uint32_t module);
void mem_untrack_module(struct session *s, uint32_t module);

/* engine_module.c */
enum ring_exec mod_load(struct cmd *c);
enum ring_exec mod_unload(struct cmd *c);
enum ring_exec mod_symbol(struct cmd *c);
enum ring_exec mod_launch(struct cmd *c);
/* The buffer arguments' region ranges: 0 or a VGPU_S_* code. */
uint32_t buf_ranges(struct cmd *c, struct eng_region **in,
		    struct eng_region **out);

/* engine_stream.c */
enum ring_exec stream_cmd(struct cmd *c);
enum ring_exec device_info(struct cmd *c);
/* @s's stream @h as the backend's id (0: the default stream); false if
 * no such stream. */
bool stream_id(struct session *s, uint32_t h, uint32_t *id);

/* engine_legacy.c */
enum ring_exec legacy_get_info(struct cmd *c);
enum ring_exec legacy_memcpy(struct cmd *c);
enum ring_exec legacy_compute(struct cmd *c);
void legacy_stage_fini(struct engine *en);

#endif
