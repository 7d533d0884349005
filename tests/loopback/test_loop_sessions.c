// SPDX-License-Identifier: GPL-2.0-only
/*
 * The loopback transport's face (guest/lib/transport.h, vgpu_tr_loop)
 * against the real daemon. Sessions need ABI 1.2 (SESSION_OPEN,
 * REGION_ADD, session queues: the command engine of issue 9): while the
 * device reports less, the program is one SKIP with that reason. What it
 * checks on a 1.2 device: sessions with their own queue and pinned
 * pool, doorbells and interrupt waits the way the guest core drives them,
 * copies through the pool and a further region, one session unable to
 * name another's memory or regions, privileged commands refused on a
 * session queue, a wait's timeout, several threads with a session each,
 * and the VM gone with the last session.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vgpu/loopback_proto.h>
#include <vgpu/vgpu_ring_abi.h>

#include "../../guest/lib/loop_client.h"
#include "../../guest/lib/transport.h"
#include "ldaemon.h"

#define ABI_1_2 ((1u << 16) | 2u)
#define WAIT_NS 10000000000ull

/* The kernel driver's transport belongs to the guest core's build. */
const struct vgpu_tr_ops vgpu_tr_kernel = { .name = "kernel" };

static struct ldaemon d;

static int group_setup(void **state)
{
	setenv(VGPU_LOOP_ENV, d.path, 1);
	return 0;
}

static int group_teardown(void **state)
{
	return ld_stop(&d) == 0 ? 0 : -1;
}

/* What the guest core does for one command: entry, tail, doorbell if the
 * header asks, wait, completion. */
struct sq_state {
	uint32_t tail, head;
	uint16_t cid;
};

/* 0 with *status and *result, or -errno (no asserts: threads use it) */
static int submit(struct vgpu_tr_session *s, struct sq_state *q,
		  struct vgpu_sqe *e, uint32_t *status, uint64_t *result)
{
	const struct vgpu_cqe *c;
	int rc = 0;

	e->cid = q->cid++;
	s->sq[q->tail & (s->depth - 1)] = *e;
	__atomic_store_n(&s->hdr->sq_tail.v, ++q->tail, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->hdr->dev_flags.v, __ATOMIC_ACQUIRE) &
	    VGPU_DEV_NEED_DOORBELL)
		rc = s->ops->doorbell(s);
	if (rc == 0)
		rc = s->ops->wait(s, q->head, WAIT_NS);
	if (rc < 0)
		return rc;
	c = &s->cq[q->head & (s->depth - 1)];
	if (c->cid != e->cid)
		return -EIO;
	*status = VGPU_CQE_CODE(c->status);
	if (result)
		*result = c->result;
	__atomic_store_n(&s->hdr->cq_head.v, ++q->head, __ATOMIC_RELEASE);
	return 0;
}

static uint32_t run1(struct vgpu_tr_session *s, struct sq_state *q,
		     struct vgpu_sqe *e, uint64_t *result)
{
	uint32_t st = ~0u;

	assert_int_equal(submit(s, q, e, &st, result), 0);
	return st;
}

static void open_session(struct vgpu_tr_session *s)
{
	struct vgpu_tr_params p = { .sq_depth = 64, .pool_bytes = 1 << 20 };

	assert_int_equal(vgpu_tr_choose()->open(s, &p), 0);
	assert_ptr_equal(s->ops, &vgpu_tr_loop);
	assert_int_not_equal(s->session, 0);
	assert_int_equal(s->depth, 64);
	assert_true(s->abi_version >= ABI_1_2);
	assert_true(s->features & VGPU_F_SESSIONS);
	assert_non_null(s->hdr);
	assert_non_null(s->pool);
	assert_int_equal(s->pool_len, 1 << 20);
}

static uint32_t copy(struct vgpu_tr_session *s, struct sq_state *q, uint8_t op,
		     uint64_t dptr, uint32_t region, uint64_t off, uint64_t len)
{
	struct vgpu_sqe e = { .opcode = op };

	e.copy.dptr = dptr;
	e.copy.region = region;
	e.copy.offset = off;
	e.copy.len = len;
	return run1(s, q, &e, NULL);
}

static void test_sessions(void **state)
{
	struct vgpu_tr_session a, b;
	struct sq_state qa = { 0 }, qb = { 0 };
	struct vgpu_sqe e = { .opcode = VGPU_OP_NOP };
	uint64_t dptr, dptr_b, rlen;
	uint32_t region;
	uint8_t *pool;
	void *rva;
	int i;

	open_session(&a);
	open_session(&b);
	assert_int_not_equal(a.session, b.session);
	for (i = 0; i < 200; i++)
		assert_int_equal(run1(&a, &qa, &e, NULL), VGPU_S_OK);
	e = (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_ALLOC, .arg[0] = 65536 };
	assert_int_equal(run1(&a, &qa, &e, &dptr), VGPU_S_OK);
	assert_int_equal(run1(&b, &qb, &e, &dptr_b), VGPU_S_OK);
	/* through the pinned pool: H2D from one half, D2H into the other */
	pool = a.pool;
	for (i = 0; i < 65536; i++)
		pool[i] = (uint8_t)(i * 7);
	assert_int_equal(copy(&a, &qa, VGPU_OP_COPY_H2D, dptr, a.pool_region, 0,
			      65536),
			 VGPU_S_OK);
	assert_int_equal(copy(&a, &qa, VGPU_OP_COPY_D2H, dptr, a.pool_region,
			      65536, 65536),
			 VGPU_S_OK);
	assert_memory_equal(pool, pool + 65536, 65536);
	/* a further region */
	assert_int_equal(a.ops->region_alloc(&a, 10000, &region, &rva, &rlen),
			 0);
	assert_int_equal(rlen, 12288);
	assert_int_equal(copy(&a, &qa, VGPU_OP_COPY_D2H, dptr, region, 0, rlen),
			 VGPU_S_OK);
	assert_memory_equal(rva, pool, rlen);
	assert_int_equal(a.ops->region_free(&a, region, rva, rlen), 0);
	assert_int_equal(copy(&a, &qa, VGPU_OP_COPY_D2H, dptr, region, 0, 4096),
			 VGPU_S_BAD_HANDLE);
	/* B can name neither A's memory nor A's pool */
	assert_int_not_equal(copy(&b, &qb, VGPU_OP_COPY_D2H, dptr,
				  b.pool_region, 0, 4096),
			     VGPU_S_OK);
	assert_int_equal(copy(&b, &qb, VGPU_OP_COPY_D2H, dptr_b, a.pool_region,
			      0, 4096),
			 VGPU_S_BAD_HANDLE);
	/* a session queue is not privileged */
	e = (struct vgpu_sqe){ .opcode = VGPU_OP_REGION_ADD };
	assert_int_equal(run1(&b, &qb, &e, NULL), VGPU_S_PRIVILEGED);
	/* a wait for what was never submitted times out */
	assert_int_equal(b.ops->wait(&b, qb.head, 20000000ull), -ETIMEDOUT);
	a.ops->close(&a);
	e = (struct vgpu_sqe){ .opcode = VGPU_OP_NOP };
	assert_int_equal(run1(&b, &qb, &e, NULL), VGPU_S_OK);
	b.ops->close(&b);
	assert_int_equal(ld_wait_log(&d, "VM ends", 10000), 0);
}

static void *session_thread(void *arg)
{
	struct vgpu_tr_params p = { .sq_depth = 16 };
	struct vgpu_tr_session s;
	struct sq_state q = { 0 };
	struct vgpu_sqe e = { .opcode = VGPU_OP_NOP };
	int *failures = arg, i;
	uint32_t st;

	if (vgpu_tr_loop.open(&s, &p) < 0) {
		(*failures)++;
		return NULL;
	}
	for (i = 0; i < 2000; i++)
		if (submit(&s, &q, &e, &st, NULL) < 0 || st != VGPU_S_OK)
			(*failures)++;
	s.ops->close(&s);
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t t[4];
	int failures[4] = { 0 }, i;

	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, session_thread,
						&failures[i]),
				 0);
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(failures[i], 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sessions),
		cmocka_unit_test(test_threads),
	};
	struct loop_conn *c;
	uint32_t abi;

	if (ld_start(&d, NULL, NULL) < 0 ||
	    loop_conn_open(&c, d.path, 1 << 20) < 0) {
		ld_dump(&d);
		printf("1..0 # SKIP (error) the daemon did not serve\n");
		return 1;
	}
	abi = c->abi;
	loop_conn_close(c);
	if (abi < ABI_1_2) {
		/* the whole program is one SKIP, with its reason (TAP) */
		printf("1..0 # SKIP the device reports ABI %u.%u: sessions, regions and session queues need ABI 1.2 (its command engine)\n",
		       abi >> 16, abi & 0xffff);
		return ld_stop(&d) == 0 ? 0 : 1;
	}
	return cmocka_run_group_tests_name("loopback sessions", tests,
					   group_setup, group_teardown);
}
