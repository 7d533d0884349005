// SPDX-License-Identifier: GPL-2.0-only
/*
 * The loopback transport end to end with the 1.1 device: the real
 * vgpu-ioreq binary on a real socket, the client library of the guest
 * side (guest/lib/loop_client.c). Registers, queue 1 with NOP, GET_INFO,
 * MEM_ALLOC, MEMCPY_H2D/D2H with scatter-gather lists of memfd offsets,
 * COMPUTE, interrupts through the eventfd, doorbells by eventfd and by
 * register, memory beyond the client's RAM refused, and two connections
 * that are two VMs (own device memory, own quota).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <vgpu/vgpu_ring_abi.h>
#include <vgpu/vgpu_stub_regs.h>

#include <vgpu/loopback_proto.h>

#include "../../guest/lib/loop_client.h"
#include "../../guest/lib/transport.h"
#include "ldaemon.h"

/* The kernel driver's transport belongs to the guest core's build; here
 * only its being chosen without VGPU_LOOPBACK matters. */
const struct vgpu_tr_ops vgpu_tr_kernel = { .name = "kernel" };

#define RAM (16u << 20)
#define IOQ 1 /* the 1.1 I/O queue */
#define DEPTH 64

struct fx {
	struct ldaemon d;
	struct loop_conn *c;
	struct loop_queue q;
};

static int group_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || ld_start(&f->d, NULL, NULL) < 0) {
		if (f)
			ld_dump(&f->d);
		return -1;
	}
	*state = f;
	return 0;
}

static int group_teardown(void **state)
{
	struct fx *f = *state;
	int rc = ld_stop(&f->d);

	free(f);
	return rc == 0 ? 0 : -1;
}

static int setup(void **state)
{
	struct fx *f = *state;
	uint32_t qerr;

	if (loop_conn_open(&f->c, f->d.path, RAM) < 0 ||
	    loop_queue_create(f->c, &f->q, IOQ, DEPTH, &qerr) < 0) {
		ld_dump(&f->d);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	loop_queue_destroy(f->c, &f->q);
	loop_conn_close(f->c);
	f->c = NULL;
	ld_drain(&f->d);
	return 0;
}

/* One 1.1 command on the I/O queue: its VGPU_S_ status. */
static uint32_t exec(struct fx *f, struct vgpu_sqe *e, uint64_t *result)
{
	uint32_t status = ~0u;
	uint64_t r;
	int rc;

	f->q.timeout_ns = 10000000000ull; /* fail, do not hang */
	rc = loop_queue_exec(f->c, &f->q, e, &status, &r);
	if (rc) {
		struct vgpu_qhdr *h = f->q.w.hdr;

		printf("# opcode 0x%x: %s; head %u, tail %u, device head %u, queue status %u, flags %u/%u, posted %d\n",
		       e->opcode, strerror(-rc), f->q.head, f->q.tail,
		       h->sq_head.v, h->status.v, h->dev_flags.v,
		       h->drv_flags.v,
		       loop_cqe_posted(f->q.w.cq, f->q.depth, f->q.head));
		ld_dump(&f->d);
	}
	assert_int_equal(rc, 0);
	if (result)
		*result = r;
	return status;
}

static void test_registers(void **state)
{
	struct fx *f = *state;
	uint64_t v;

	assert_int_equal(loop_rd32(f->c, VGPU_REG_MAGIC), VGPU_MAGIC);
	assert_int_equal(f->c->abi >> 16, 1);
	assert_true((f->c->abi & 0xffff) >= 1);
	assert_int_equal(loop_rd32(f->c, VGPU_REG_VERSION), f->c->abi);
	assert_true(f->c->features & VGPU_F_QUEUES);
	assert_int_equal(loop_wr32(f->c, VGPU_REG_SCRATCH, 0xdeadbeef), 0);
	assert_int_equal(loop_rd32(f->c, VGPU_REG_SCRATCH), 0xdeadbeef);
	assert_int_equal(loop_reg_read(f->c, VGPU_REG_SCRATCH + 1, 2, &v), 0);
	assert_int_equal(v, 0xadbe);
	assert_int_equal(loop_reg_write(f->c, VGPU_REG_SCRATCH, 1, 0x11), 0);
	assert_int_equal(loop_rd32(f->c, VGPU_REG_SCRATCH), 0xdeadbe11);
	assert_int_equal(loop_reg_read(f->c, VGPU_REG_MAGIC, 8, &v), 0);
	assert_int_equal(v, (uint64_t)f->c->abi << 32 | VGPU_MAGIC);
	assert_int_equal(loop_wr32(f->c, VGPU_REG_COMPUTE_IN, 5), 0);
	assert_int_equal(loop_rd32(f->c, VGPU_REG_COMPUTE_OUT), 120);
	/* the last dword of the BAR is still the BAR */
	assert_int_equal(loop_reg_read(f->c, VGPU_BAR0_SIZE - 4, 4, &v), 0);
}

static void test_nop_and_info(void **state)
{
	struct fx *f = *state;
	struct vgpu_sqe e = { .opcode = VGPU_OP_NOP };
	struct vgpu_sgl_entry *sgl;
	struct vgpu_info *info;
	uint64_t page, r;
	int i;

	for (i = 0; i < 3 * DEPTH; i++) /* across wraps of the rings */
		assert_int_equal(exec(f, &e, &r), VGPU_S_OK);
	assert_int_equal(loop_ram_alloc(f->c, 4096, &page), 0);
	sgl = loop_va(f->c, page);
	sgl[0] = (struct vgpu_sgl_entry){ .gpa = page + 2048,
					  .len = sizeof(*info) };
	e = (struct vgpu_sqe){ .opcode = VGPU_OP_GET_INFO,
			       .sgl_gpa = page,
			       .sgl_nents = 1 };
	assert_int_equal(exec(f, &e, NULL), VGPU_S_OK);
	info = loop_va(f->c, page + 2048);
	assert_int_equal(info->abi_version >> 16, 1);
	assert_string_equal(info->backend, "cpu");
	assert_true(info->devmem_quota > 0);
	loop_ram_free(f->c, page, 4096);
}

/* A list over @n pages at @buf, each entry a page but the last @tail
 * bytes, written to @list. The byte count. */
static uint32_t make_sgl(struct fx *f, uint64_t list, uint64_t buf, int n,
			 uint32_t tail)
{
	struct vgpu_sgl_entry *s = loop_va(f->c, list);
	uint32_t total = 0;
	int i;

	for (i = 0; i < n; i++) {
		s[i] = (struct vgpu_sgl_entry){
			.gpa = buf +
			       (uint64_t)(n - 1 - i) * 4096, /* reversed */
			.len = i == n - 1 ? tail : 4096,
		};
		total += s[i].len;
	}
	return total;
}

static void test_copies_and_compute(void **state)
{
	struct fx *f = *state;
	uint64_t list, src, dst, dptr, dptr2, r;
	struct vgpu_sqe e = { .opcode = VGPU_OP_MEM_ALLOC, .arg[0] = 65536 };
	uint32_t len, i, *in, *out, x = 0;

	assert_int_equal(exec(f, &e, &dptr), VGPU_S_OK);
	e.arg[0] = 65536;
	assert_int_equal(exec(f, &e, &dptr2), VGPU_S_OK);
	assert_int_equal(loop_ram_alloc(f->c, 4096, &list), 0);
	assert_int_equal(loop_ram_alloc(f->c, 4 * 4096, &src), 0);
	assert_int_equal(loop_ram_alloc(f->c, 4 * 4096, &dst), 0);
	len = make_sgl(f, list, src, 4, 1024);
	/* the bytes in list order: page 3, 2, 1, then 1 KiB of page 0 */
	for (i = 0; i < len / 4; i++) {
		uint64_t pg = 3 - (i * 4) / 4096, off = (i * 4) % 4096;

		in = loop_va(f->c, src + pg * 4096 + off);
		*in = i * 2654435761u;
		x ^= *in;
	}
	e = (struct vgpu_sqe){ .opcode = VGPU_OP_MEMCPY_H2D,
			       .arg = { dptr, len },
			       .sgl_gpa = list,
			       .sgl_nents = 4 };
	assert_int_equal(exec(f, &e, NULL), VGPU_S_OK);
	e = (struct vgpu_sqe){ .opcode = VGPU_OP_COMPUTE,
			       .arg = { VGPU_K_XOR_U32, 0, dptr, len } };
	assert_int_equal(exec(f, &e, &r), VGPU_S_OK);
	assert_int_equal(r, x);
	e = (struct vgpu_sqe){ .opcode = VGPU_OP_COMPUTE,
			       .arg = { VGPU_K_ADD1_U32, dptr2, dptr, len } };
	assert_int_equal(exec(f, &e, NULL), VGPU_S_OK);
	len = make_sgl(f, list, dst, 4, 1024);
	e = (struct vgpu_sqe){ .opcode = VGPU_OP_MEMCPY_D2H,
			       .arg = { dptr2, len },
			       .sgl_gpa = list,
			       .sgl_nents = 4 };
	assert_int_equal(exec(f, &e, NULL), VGPU_S_OK);
	for (i = 0; i < len / 4; i++) {
		uint64_t pg = 3 - (i * 4) / 4096, off = (i * 4) % 4096;

		out = loop_va(f->c, dst + pg * 4096 + off);
		assert_int_equal(*out, i * 2654435761u + 1);
	}
	e = (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_FREE, .arg[0] = dptr };
	assert_int_equal(exec(f, &e, NULL), VGPU_S_OK);
	assert_int_equal(exec(f, &e, NULL), VGPU_S_BAD_ADDRESS);
	loop_ram_free(f->c, list, 4096);
	loop_ram_free(f->c, src, 4 * 4096);
	loop_ram_free(f->c, dst, 4 * 4096);
}

/* Guest addresses past the memfd's end are refused as a guest's memory
 * beyond its RAM is: the command fails, the VM serves on. */
static void test_beyond_ram(void **state)
{
	struct fx *f = *state;
	struct vgpu_sqe e = { .opcode = VGPU_OP_MEM_ALLOC, .arg[0] = 4096 };
	struct vgpu_sgl_entry *s;
	uint64_t dptr, list;

	assert_int_equal(exec(f, &e, &dptr), VGPU_S_OK);
	assert_int_equal(loop_ram_alloc(f->c, 4096, &list), 0);
	s = loop_va(f->c, list);
	*s = (struct vgpu_sgl_entry){ .gpa = RAM, .len = 4096 };
	e = (struct vgpu_sqe){ .opcode = VGPU_OP_MEMCPY_H2D,
			       .arg = { dptr, 4096 },
			       .sgl_gpa = list,
			       .sgl_nents = 1 };
	assert_int_equal(exec(f, &e, NULL), VGPU_S_BAD_GPA);
	*s = (struct vgpu_sgl_entry){ .gpa = RAM - 4096, .len = 4096 };
	e.opcode = VGPU_OP_MEMCPY_D2H;
	assert_int_equal(exec(f, &e, NULL), VGPU_S_OK); /* the last page */
	e.sgl_gpa = (uint64_t)RAM << 4; /* the list itself beyond RAM */
	assert_int_equal(exec(f, &e, NULL), VGPU_S_BAD_GPA);
	/* a queue whose rings lie beyond RAM does not come up */
	assert_int_equal(loop_wr32(f->c, VGPU_REG_Q_SELECT, 0), 0);
	assert_int_equal(loop_wr32(f->c, VGPU_REG_Q_DEPTH, 64), 0);
	assert_int_equal(loop_reg_write(f->c, VGPU_REG_Q_SQ_GPA, 8, list), 0);
	assert_int_equal(loop_reg_write(f->c, VGPU_REG_Q_CQ_GPA, 8, RAM), 0);
	assert_int_equal(loop_reg_write(f->c, VGPU_REG_Q_HDR_GPA, 8, list), 0);
	assert_int_equal(loop_wr32(f->c, VGPU_REG_Q_ENABLE, 1), 0);
	assert_int_equal(loop_rd32(f->c, VGPU_REG_Q_ENABLE), 0);
	assert_int_equal(loop_rd32(f->c, VGPU_REG_Q_ERROR), VGPU_QERR_MAP);
	loop_ram_free(f->c, list, 4096);
	e = (struct vgpu_sqe){ .opcode = VGPU_OP_NOP };
	assert_int_equal(exec(f, &e, NULL), VGPU_S_OK);
}

/* Interrupts: with NEED_IRQ set, a completion writes the eventfd. */
static void test_interrupt(void **state)
{
	struct fx *f = *state;
	struct vgpu_qhdr *h = f->q.w.hdr;
	struct pollfd p = { .fd = f->c->irq, .events = POLLIN };
	uint64_t cnt;

	while (read(f->c->irq, &cnt, sizeof(cnt)) > 0)
		;
	__atomic_store_n(&h->drv_flags.v, VGPU_DRV_NEED_IRQ, __ATOMIC_SEQ_CST);
	f->q.sq[f->q.tail & (DEPTH - 1)] =
		(struct vgpu_sqe){ .opcode = VGPU_OP_NOP, .cid = 77 };
	__atomic_store_n(&h->sq_tail.v, ++f->q.tail, __ATOMIC_SEQ_CST);
	assert_int_equal(loop_doorbell(f->c), 0);
	assert_int_equal(poll(&p, 1, 10000), 1);
	assert_int_equal(read(f->c->irq, &cnt, sizeof(cnt)), sizeof(cnt));
	assert_true(cnt >= 1);
	assert_true(loop_cqe_posted(f->q.w.cq, DEPTH, f->q.head));
	assert_int_equal(f->q.w.cq[f->q.head & (DEPTH - 1)].cid, 77);
	__atomic_store_n(&h->cq_head.v, ++f->q.head, __ATOMIC_SEQ_CST);
	/* without NEED_IRQ: a completion, no interrupt */
	__atomic_store_n(&h->drv_flags.v, 0, __ATOMIC_SEQ_CST);
	f->q.sq[f->q.tail & (DEPTH - 1)] =
		(struct vgpu_sqe){ .opcode = VGPU_OP_NOP, .cid = 78 };
	__atomic_store_n(&h->sq_tail.v, ++f->q.tail, __ATOMIC_SEQ_CST);
	assert_int_equal(loop_doorbell(f->c), 0);
	/* a register round trip orders us after the doorbell's work */
	while (!loop_cqe_posted(f->q.w.cq, DEPTH, f->q.head))
		loop_rd32(f->c, VGPU_REG_MAGIC);
	__atomic_store_n(&h->cq_head.v, ++f->q.head, __ATOMIC_SEQ_CST);
	assert_int_equal(poll(&p, 1, 0), 0);
	/* and the library's wait takes the interrupt path when asked */
	f->q.sq[f->q.tail & (DEPTH - 1)] =
		(struct vgpu_sqe){ .opcode = VGPU_OP_NOP, .cid = 79 };
	__atomic_store_n(&h->sq_tail.v, ++f->q.tail, __ATOMIC_SEQ_CST);
	assert_int_equal(loop_doorbell(f->c), 0);
	assert_int_equal(loop_wait(f->c, &f->q.w, f->q.head, 0, 10000000000ull),
			 0);
	assert_int_equal(f->q.w.cq[f->q.head & (DEPTH - 1)].cid, 79);
	__atomic_store_n(&h->cq_head.v, ++f->q.head, __ATOMIC_SEQ_CST);
	assert_int_equal(__atomic_load_n(&h->drv_flags.v, __ATOMIC_SEQ_CST), 0);
}

/* The DOORBELL register, as a driver on Xen rings it, works too. */
static void test_doorbell_register(void **state)
{
	struct fx *f = *state;
	struct vgpu_qhdr *h = f->q.w.hdr;
	int i;

	for (i = 0; i < 5; i++)
		f->q.sq[(f->q.tail + i) & (DEPTH - 1)] =
			(struct vgpu_sqe){ .opcode = VGPU_OP_NOP,
					   .cid = (uint16_t)(100 + i) };
	f->q.tail += 5;
	__atomic_store_n(&h->sq_tail.v, f->q.tail, __ATOMIC_SEQ_CST);
	assert_int_equal(loop_wr32(f->c, VGPU_REG_DOORBELL(IOQ), f->q.tail), 0);
	/* the commands ran after the write was answered: a read orders */
	loop_rd32(f->c, VGPU_REG_MAGIC);
	for (i = 0; i < 5; i++) {
		assert_true(loop_cqe_posted(f->q.w.cq, DEPTH, f->q.head));
		assert_int_equal(f->q.w.cq[f->q.head & (DEPTH - 1)].cid,
				 100 + i);
		f->q.head++;
	}
	__atomic_store_n(&h->cq_head.v, f->q.head, __ATOMIC_SEQ_CST);
}

/* Two connections are two VMs: own device memory, own quota. */
static void test_two_vms(void **state)
{
	struct fx *f = *state, g = { .d = f->d };
	struct vgpu_sqe e = { .opcode = VGPU_OP_MEM_ALLOC, .arg[0] = 4096 };
	uint64_t da, db, quota, list, buf, dummy;
	uint32_t qerr, *w;

	assert_int_equal(loop_conn_open(&g.c, f->d.path, RAM), 0);
	assert_int_equal(loop_queue_create(g.c, &g.q, IOQ, 8, &qerr), 0);
	/* A writes a pattern into its device memory */
	assert_int_equal(exec(f, &e, &da), VGPU_S_OK);
	assert_int_equal(loop_ram_alloc(f->c, 8192, &list), 0);
	buf = list + 4096;
	w = loop_va(f->c, buf);
	w[0] = 0x5a5a5a5a;
	*(struct vgpu_sgl_entry *)loop_va(f->c, list) =
		(struct vgpu_sgl_entry){ .gpa = buf, .len = 4 };
	e = (struct vgpu_sqe){ .opcode = VGPU_OP_MEMCPY_H2D,
			       .arg = { da, 4 },
			       .sgl_gpa = list,
			       .sgl_nents = 1 };
	assert_int_equal(exec(f, &e, NULL), VGPU_S_OK);
	/* B's allocation (the same device address, maybe) holds zeroes */
	e = (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_ALLOC, .arg[0] = 4096 };
	assert_int_equal(exec(&g, &e, &db), VGPU_S_OK);
	assert_int_equal(loop_ram_alloc(g.c, 8192, &list), 0);
	w = loop_va(g.c, list + 4096);
	w[0] = 1;
	*(struct vgpu_sgl_entry *)loop_va(g.c, list) =
		(struct vgpu_sgl_entry){ .gpa = list + 4096, .len = 4 };
	e = (struct vgpu_sqe){ .opcode = VGPU_OP_MEMCPY_D2H,
			       .arg = { db, 4 },
			       .sgl_gpa = list,
			       .sgl_nents = 1 };
	assert_int_equal(exec(&g, &e, NULL), VGPU_S_OK);
	assert_int_equal(w[0], 0);
	/* A takes all of its quota; B still gets memory */
	quota = (uint64_t)loop_rd32(f->c, VGPU_REG_DEVMEM_PAGES) * 4096;
	e = (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_ALLOC,
			       .arg[0] = quota - 4096 };
	assert_int_equal(exec(f, &e, &dummy), VGPU_S_OK);
	e.arg[0] = 4096;
	assert_int_equal(exec(f, &e, &dummy), VGPU_S_NO_MEMORY);
	e.arg[0] = 1 << 20;
	assert_int_equal(exec(&g, &e, &dummy), VGPU_S_OK);
	/* B goes away; A serves on */
	loop_queue_destroy(g.c, &g.q);
	loop_conn_close(g.c);
	e = (struct vgpu_sqe){ .opcode = VGPU_OP_NOP };
	assert_int_equal(exec(f, &e, NULL), VGPU_S_OK);
}

/* A device reset (STATUS 0) quiesces the queue; it comes back when the
 * driver programs it again. */
static void test_reset(void **state)
{
	struct fx *f = *state;
	struct vgpu_sqe e = { .opcode = VGPU_OP_NOP };
	uint32_t qerr;

	assert_int_equal(loop_wr32(f->c, VGPU_REG_STATUS, 0), 0);
	assert_int_equal(loop_wr32(f->c, VGPU_REG_Q_SELECT, IOQ), 0);
	assert_int_equal(loop_rd32(f->c, VGPU_REG_Q_ENABLE), 0);
	loop_queue_destroy(f->c, &f->q);
	assert_int_equal(loop_queue_create(f->c, &f->q, IOQ, DEPTH, &qerr), 0);
	assert_int_equal(exec(f, &e, NULL), VGPU_S_OK);
}

/* VGPU_LOOPBACK picks the loopback transport; a device before 1.2 has no
 * sessions to open, and says so without leaving a VM behind. */
static void test_transport_choice(void **state)
{
	struct fx *f = *state;
	struct vgpu_tr_session s;
	int rc;

	unsetenv(VGPU_LOOP_ENV);
	assert_ptr_equal(vgpu_tr_choose(), &vgpu_tr_kernel);
	setenv(VGPU_LOOP_ENV, "", 1);
	assert_ptr_equal(vgpu_tr_choose(), &vgpu_tr_kernel);
	setenv(VGPU_LOOP_ENV, "/nonexistent/socket", 1);
	assert_ptr_equal(vgpu_tr_choose(), &vgpu_tr_loop);
	assert_int_equal(vgpu_tr_loop.open(&s, NULL), -ENOENT);
	setenv(VGPU_LOOP_ENV, f->d.path, 1);
	ld_drain(&f->d);
	f->d.seen = f->d.loglen;
	rc = vgpu_tr_choose()->open(&s, NULL);
	if (f->c->abi < ((1u << 16) | 2u)) {
		assert_int_equal(rc, -ENOTSUP);
	} else {
		assert_int_equal(rc, 0);
		s.ops->close(&s);
	}
	/* either way the transport's own VM is gone again */
	assert_int_equal(ld_wait_log(&f->d, "VM ends", 10000), 0);
	unsetenv(VGPU_LOOP_ENV);
}

struct waiter {
	struct fx *f;
	struct loop_queue *q;
	int rounds, failures;
};

/* One thread's NOPs on its own queue, each waited for by interrupt. */
static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	struct loop_queue *q = w->q;
	struct vgpu_qhdr *h = q->w.hdr;
	int i;

	for (i = 0; i < w->rounds; i++) {
		q->sq[q->tail & (q->depth - 1)] =
			(struct vgpu_sqe){ .opcode = VGPU_OP_NOP,
					   .cid = (uint16_t)i };
		__atomic_store_n(&h->sq_tail.v, ++q->tail, __ATOMIC_SEQ_CST);
		if (loop_doorbell(w->f->c) < 0 ||
		    loop_wait(w->f->c, &q->w, q->head, i % 2 ? 0 : 2000,
			      10000000000ull) < 0 ||
		    q->w.cq[q->head & (q->depth - 1)].cid != (uint16_t)i)
			w->failures++;
		__atomic_store_n(&h->cq_head.v, ++q->head, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

/*
 * Two threads wait at once on the one interrupt eventfd of the VM, each
 * for its own queue: no wake-up is lost (a lost one shows as a 10 s
 * timeout), and NEED_IRQ is off once nobody waits.
 */
static void test_two_waiters(void **state)
{
	struct fx *f = *state;
	struct loop_queue q0;
	struct waiter w[2] = { { f, &f->q, 3000, 0 }, { f, &q0, 3000, 0 } };
	pthread_t t[2];
	uint32_t qerr;
	int i;

	assert_int_equal(loop_queue_create(f->c, &q0, 0, 16, &qerr), 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(
			pthread_create(&t[i], NULL, waiter_main, &w[i]), 0);
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].failures, 0);
		assert_int_equal(__atomic_load_n(&w[i].q->w.hdr->drv_flags.v,
						 __ATOMIC_SEQ_CST),
				 0);
	}
	loop_queue_destroy(f->c, &q0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_registers),
		T(test_nop_and_info),
		T(test_copies_and_compute),
		T(test_beyond_ram),
		T(test_interrupt),
		T(test_doorbell_register),
		T(test_two_vms),
		T(test_reset),
		T(test_two_waiters),
		T(test_transport_choice),
	};

	return cmocka_run_group_tests_name("loopback end to end", tests,
					   group_setup, group_teardown);
}
