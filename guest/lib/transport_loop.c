// SPDX-License-Identifier: MIT
/*
 * The loopback transport (transport.h): sessions of this process over one
 * connection to vgpu-ioreq --loopback, i.e. one VM per process. What the
 * kernel driver does in the guest, this file does itself through the
 * device's registers: it owns the admin queue (queue 0, behind a lock),
 * gives each session a queue of its own (2..MAX_QUEUES-1) bound by
 * SESSION_OPEN, and registers the session's pinned pool and further
 * regions with REGION_ADD. Doorbells and interrupts are the connection's
 * eventfds.
 *
 * The connection is per process and shared by its sessions, so it lives
 * in one static structure behind a mutex (the ops table has no context to
 * carry it): created by the first open, closed with the last session.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <vgpu/loopback_proto.h>
#include <vgpu/vgpu_stub_regs.h>

#include "loop_client.h"
#include "transport.h"

#define ADMIN_QID 0
#define ADMIN_DEPTH 64
#define FIRST_SESSION_QID 2 /* 0 admin, 1 the 1.1 I/O queue */
#define SQ_DEPTH_DEFAULT 256
#define POOL_DEFAULT (32ull << 20)
#define ABI_1_2 ((1u << 16) | 2u)

struct loop_region {
	uint32_t id;
	uint64_t gpa, len, list_gpa;
};

/* struct vgpu_tr, as this transport has it: one per session. */
struct vgpu_tr {
	struct loop_queue q;
	struct loop_region pool;
	struct loop_region *regions; /* further regions */
	unsigned int nregions;
	pthread_mutex_t lock; /* regions[] */
};

static struct {
	pthread_mutex_t lock;
	struct loop_conn *conn;
	struct loop_queue admin;
	unsigned int sessions;
	uint32_t qbusy; /* bit q: queue q is a session's */
} g = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* A command on the admin queue. VGPU_S_* as a -errno where it failed. */
static int admin(struct vgpu_sqe *e, uint64_t *result)
{
	uint32_t status = 0;
	uint64_t r = 0;
	int rc = loop_queue_exec(g.conn, &g.admin, e, &status, &r);

	if (rc < 0)
		return rc;
	if (result)
		*result = r;
	switch (status) {
	case VGPU_S_OK:
		return 0;
	case VGPU_S_NO_MEMORY:
	case VGPU_S_LIMIT:
		return -ENOSPC;
	case VGPU_S_RESET:
	case VGPU_S_SESSION_LOST:
		return -ENODEV;
	case VGPU_S_NOT_SUPPORTED:
		return -ENOTSUP;
	default:
		return -EINVAL;
	}
}

/* The connection and its admin queue, on the first open (g.lock held). */
static int conn_up(void)
{
	const char *path = getenv(VGPU_LOOP_ENV);
	uint32_t qerr;
	int rc;

	if (g.conn)
		return 0;
	if (!path || !*path)
		return -ENOENT;
	rc = loop_conn_open(&g.conn, path, 0);
	if (rc < 0)
		return rc;
	if (g.conn->abi < ABI_1_2 || !(g.conn->features & VGPU_F_SESSIONS))
		rc = -ENOTSUP; /* a 1.1 device: no sessions */
	if (rc == 0)
		rc = loop_queue_create(g.conn, &g.admin, ADMIN_QID,
				       ADMIN_DEPTH < g.conn->max_qdepth ?
					       ADMIN_DEPTH :
					       g.conn->max_qdepth,
				       &qerr);
	if (rc == 0)
		rc = loop_wr32(g.conn, VGPU_REG_STATUS,
			       VGPU_STATUS_ACKNOWLEDGE | VGPU_STATUS_DRIVER_OK);
	if (rc < 0) {
		loop_queue_destroy(g.conn, &g.admin);
		loop_conn_close(g.conn);
		g.conn = NULL;
	}
	return rc;
}

/* After the last session (g.lock held): the VM goes away. */
static void conn_down(void)
{
	if (g.sessions || !g.conn)
		return;
	loop_queue_destroy(g.conn, &g.admin);
	loop_conn_close(g.conn);
	g.conn = NULL;
	g.qbusy = 0;
}

static int take_qid(uint32_t *qid)
{
	uint32_t q;

	for (q = FIRST_SESSION_QID; q < g.conn->max_queues; q++) {
		if (!(g.qbusy & (1u << q))) {
			g.qbusy |= 1u << q;
			*qid = q;
			return 0;
		}
	}
	return -EBUSY; /* as many sessions as the device has queues */
}

/* Register [gpa, gpa + len) as a region of @session: a one-extent list in
 * guest RAM, then REGION_ADD. */
static int region_add(uint32_t session, struct loop_region *r)
{
	struct vgpu_sqe e = { .opcode = VGPU_OP_REGION_ADD,
			      .session = session };
	struct vgpu_extent *x;
	uint64_t id;
	int rc = loop_ram_alloc(g.conn, sizeof(*x), &r->list_gpa);

	if (rc < 0)
		return rc;
	x = loop_va(g.conn, r->list_gpa);
	x->gpa = r->gpa;
	x->len = r->len;
	e.region.list_gpa = r->list_gpa;
	e.region.nents = 1;
	e.region.bytes = r->len;
	rc = admin(&e, &id);
	if (rc == 0)
		r->id = (uint32_t)id;
	else
		loop_ram_free(g.conn, r->list_gpa, sizeof(*x));
	return rc;
}

static void region_del(uint32_t session, struct loop_region *r, bool tell)
{
	struct vgpu_sqe e = { .opcode = VGPU_OP_REGION_DEL,
			      .session = session };

	if (tell) {
		e.obj.obj = r->id;
		admin(&e, NULL);
	}
	loop_ram_free(g.conn, r->list_gpa, sizeof(struct vgpu_extent));
	loop_ram_free(g.conn, r->gpa, r->len);
}

static int session_open(struct vgpu_tr_session *s, struct vgpu_tr *t,
			const struct vgpu_tr_params *p, uint32_t qid)
{
	struct vgpu_sqe e = { .opcode = VGPU_OP_SESSION_OPEN };
	uint32_t depth = p && p->sq_depth ? p->sq_depth : SQ_DEPTH_DEFAULT;
	uint64_t id;
	uint32_t qerr;
	int rc;

	if (depth > g.conn->max_qdepth)
		depth = g.conn->max_qdepth;
	rc = loop_queue_create(g.conn, &t->q, qid, depth, &qerr);
	if (rc < 0)
		return rc;
	e.obj.obj = qid;
	rc = admin(&e, &id);
	if (rc < 0)
		return rc;
	s->session = (uint32_t)id;
	t->pool.len = (p && p->pool_bytes ? p->pool_bytes : POOL_DEFAULT);
	t->pool.len = (t->pool.len + 4095) & ~4095ull;
	rc = loop_ram_alloc(g.conn, t->pool.len, &t->pool.gpa);
	if (rc == 0) {
		rc = region_add(s->session, &t->pool);
		if (rc < 0)
			loop_ram_free(g.conn, t->pool.gpa, t->pool.len);
	}
	if (rc < 0) {
		t->pool.len = 0;
		return rc;
	}
	s->depth = depth;
	s->hdr = t->q.w.hdr;
	s->sq = t->q.sq;
	s->cq = (struct vgpu_cqe *)t->q.w.cq;
	s->pool_region = t->pool.id;
	s->pool = loop_va(g.conn, t->pool.gpa);
	s->pool_len = t->pool.len;
	s->abi_version = g.conn->abi;
	s->features = g.conn->features;
	return 0;
}

/* Undo what session_open did, as far as it got (g.lock held). */
static void session_free(struct vgpu_tr_session *s, struct vgpu_tr *t,
			 uint32_t qid)
{
	struct vgpu_sqe e = { .opcode = VGPU_OP_SESSION_CLOSE,
			      .session = s->session };
	unsigned int i;

	/* everything the session owned on the device goes with it */
	if (s->session)
		admin(&e, NULL);
	for (i = 0; i < t->nregions; i++)
		region_del(s->session, &t->regions[i], false);
	if (t->pool.len)
		region_del(s->session, &t->pool, false);
	loop_queue_destroy(g.conn, &t->q);
	g.qbusy &= ~(1u << qid);
	free(t->regions);
	pthread_mutex_destroy(&t->lock);
	free(t);
	s->tr = NULL;
	s->session = 0;
}

static int loop_open(struct vgpu_tr_session *s, const struct vgpu_tr_params *p)
{
	struct vgpu_tr *t = calloc(1, sizeof(*t));
	uint32_t qid = 0;
	int rc;

	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&g.lock);
	rc = conn_up();
	if (rc == 0)
		rc = take_qid(&qid);
	if (rc < 0) {
		conn_down();
		pthread_mutex_unlock(&g.lock);
		pthread_mutex_destroy(&t->lock);
		free(t);
		return rc;
	}
	g.sessions++;
	s->tr = t;
	s->ops = &vgpu_tr_loop;
	rc = session_open(s, t, p, qid);
	if (rc < 0) {
		session_free(s, t, qid);
		g.sessions--;
		conn_down();
	}
	pthread_mutex_unlock(&g.lock);
	return rc;
}

static int loop_doorbell_op(struct vgpu_tr_session *s)
{
	return loop_doorbell(g.conn);
}

static int loop_wait_op(struct vgpu_tr_session *s, uint32_t head,
			uint64_t timeout_ns)
{
	return loop_wait(g.conn, &s->tr->q.w, head, LOOP_SPIN_NS, timeout_ns);
}

static int loop_region_alloc(struct vgpu_tr_session *s, uint64_t bytes,
			     uint32_t *region, void **va, uint64_t *len)
{
	struct vgpu_tr *t = s->tr;
	struct loop_region r = { .len = (bytes + 4095) & ~4095ull }, *n;
	int rc;

	if (!bytes || r.len < bytes)
		return -EINVAL;
	rc = loop_ram_alloc(g.conn, r.len, &r.gpa);
	if (rc < 0)
		return rc;
	rc = region_add(s->session, &r);
	if (rc < 0) {
		loop_ram_free(g.conn, r.gpa, r.len);
		return rc;
	}
	pthread_mutex_lock(&t->lock);
	n = realloc(t->regions, (t->nregions + 1) * sizeof(*n));
	if (n) {
		t->regions = n;
		t->regions[t->nregions++] = r;
	}
	pthread_mutex_unlock(&t->lock);
	if (!n) {
		region_del(s->session, &r, true);
		return -ENOMEM;
	}
	*region = r.id;
	*va = loop_va(g.conn, r.gpa);
	*len = r.len;
	return 0;
}

static int loop_region_free(struct vgpu_tr_session *s, uint32_t region,
			    void *va, uint64_t len)
{
	struct vgpu_tr *t = s->tr;
	struct loop_region r;
	unsigned int i;

	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->nregions && t->regions[i].id != region; i++)
		;
	if (i == t->nregions || loop_va(g.conn, t->regions[i].gpa) != va ||
	    t->regions[i].len != len) {
		pthread_mutex_unlock(&t->lock);
		return -EINVAL;
	}
	r = t->regions[i];
	t->regions[i] = t->regions[--t->nregions];
	pthread_mutex_unlock(&t->lock);
	region_del(s->session, &r, true);
	return 0;
}

static void loop_close(struct vgpu_tr_session *s)
{
	if (!s->tr)
		return;
	pthread_mutex_lock(&g.lock);
	session_free(s, s->tr, s->tr->q.qid);
	g.sessions--;
	conn_down();
	pthread_mutex_unlock(&g.lock);
}

const struct vgpu_tr_ops vgpu_tr_loop = {
	.name = "loopback",
	.open = loop_open,
	.doorbell = loop_doorbell_op,
	.wait = loop_wait_op,
	.region_alloc = loop_region_alloc,
	.region_free = loop_region_free,
	.close = loop_close,
};
