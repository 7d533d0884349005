/* SPDX-License-Identifier: MIT */
/*
 * The loopback transport's client side, below the vgpu_tr_ops face
 * (transport_loop.c) and used directly by its tests: one connection to
 * vgpu-ioreq --loopback (include/vgpu/loopback_proto.h) is one VM with
 * its own "guest RAM" (a sealed memfd this process maps and allocates
 * from), BAR0 by messages, a doorbell eventfd and an interrupt eventfd.
 * Every function is thread-safe: BAR0 messages, the RAM allocator and
 * interrupt waiting each have their own lock.
 */
#ifndef VGPU_LOOP_CLIENT_H
#define VGPU_LOOP_CLIENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <vgpu/vgpu_ring_abi.h>

#define LOOP_RAM_DEFAULT (1ull << 30) /* sparse: costs what is touched */
#define LOOP_RAM_ENV "VGPU_LOOPBACK_RAM" /* bytes, or with K, M, G */
#define LOOP_SPIN_NS 20000 /* a wait polls this long before an interrupt */

struct loop_extent;

struct loop_conn {
	int sock, doorbell, irq, memfd;
	uint8_t *ram;
	uint64_t ram_size;
	uint32_t abi, features, max_queues, max_qdepth;
	pthread_mutex_t msg_lock; /* one BAR0 request/reply at a time */
	pthread_mutex_t qwin_lock; /* Q_SELECT and the queue window */
	pthread_mutex_t ram_lock;
	struct loop_extent *free; /* free RAM, sorted by address */
	/* interrupt waiting: one thread polls the eventfd, others wait for
	 * gen to move (see loop_irq_wait) */
	pthread_mutex_t irq_lock;
	pthread_cond_t irq_cond;
	bool poller;
	bool dead; /* the server hung up */
	uint64_t gen;
};

/* Something to wait on: a queue's header and completion ring. */
struct loop_waitq {
	struct vgpu_qhdr *hdr;
	const struct vgpu_cqe *cq;
	uint32_t depth;
	pthread_mutex_t lock; /* waiters and NEED_IRQ change together */
	unsigned int waiters; /* threads asking for an interrupt */
};

/* A privileged queue (admin, or the 1.1 I/O queue) driven by this
 * process: entries are submitted and waited for one at a time. */
struct loop_queue {
	uint32_t qid, depth;
	uint64_t hdr_gpa, sq_gpa, cq_gpa; /* one allocation: header, SQ, CQ */
	uint64_t bytes;
	struct vgpu_sqe *sq;
	struct loop_waitq w;
	uint32_t tail, head;
	uint16_t cid;
	uint64_t timeout_ns; /* loop_queue_exec()'s wait; 0: none */
	pthread_mutex_t lock;
};

/*
 * Connect to the socket at @path with @ram_bytes of guest RAM (0: from
 * VGPU_LOOPBACK_RAM, else LOOP_RAM_DEFAULT), say HELLO and reset the
 * device (STATUS 0, then ACKNOWLEDGE). 0 or -errno: -ENOENT no server
 * there, -EBUSY the server is full, or what HELLO answered.
 */
int loop_conn_open(struct loop_conn **out, const char *path,
		   uint64_t ram_bytes);
/* The VM's death: the server frees everything it held for us. */
void loop_conn_close(struct loop_conn *c);

/* One BAR0 access (size 1, 2, 4 or 8). 0 or -errno (-ENODEV: the
 * connection is gone; otherwise the server's status). */
int loop_reg_read(struct loop_conn *c, uint32_t off, uint32_t size,
		  uint64_t *val);
int loop_reg_write(struct loop_conn *c, uint32_t off, uint32_t size,
		   uint64_t val);
/* 32-bit register helpers: all-ones if the read fails. */
uint32_t loop_rd32(struct loop_conn *c, uint32_t off);
int loop_wr32(struct loop_conn *c, uint32_t off, uint32_t val);

/* Guest RAM, whole pages: the guest-physical address, or -ENOMEM. */
int loop_ram_alloc(struct loop_conn *c, uint64_t bytes, uint64_t *gpa);
void loop_ram_free(struct loop_conn *c, uint64_t gpa, uint64_t bytes);
static inline void *loop_va(const struct loop_conn *c, uint64_t gpa)
{
	return c->ram + gpa;
}

/* Ring the doorbell: the device looks at every live queue. */
int loop_doorbell(struct loop_conn *c);

/* Is CQ entry @head (a free-running index) posted? */
static inline bool loop_cqe_posted(const struct vgpu_cqe *cq, uint32_t depth,
				   uint32_t head)
{
	uint16_t st = __atomic_load_n(&cq[head & (depth - 1)].status,
				      __ATOMIC_ACQUIRE);
	uint16_t phase = (head / depth) & 1 ? 0 : VGPU_CQE_PHASE;

	return (st & VGPU_CQE_PHASE) == phase;
}

/*
 * Wait until CQ entry @head of @w is posted: poll for @spin_ns, then set
 * NEED_IRQ, look again, and sleep on the interrupt eventfd. 0,
 * -ETIMEDOUT (@timeout_ns, 0: none), -ENODEV (the queue is FATAL or the
 * server hung up).
 */
int loop_wait(struct loop_conn *c, struct loop_waitq *w, uint32_t head,
	      uint64_t spin_ns, uint64_t timeout_ns);

/* Allocate, program (Q_ registers) and enable queue @qid with @depth
 * entries. 0, or -errno (-EIO: the device refused it, *qerr says why). */
int loop_queue_create(struct loop_conn *c, struct loop_queue *q, uint32_t qid,
		      uint32_t depth, uint32_t *qerr);
/* Disable (Q_ENABLE 0) and free the queue's RAM. */
void loop_queue_destroy(struct loop_conn *c, struct loop_queue *q);
/* Submit @e (its cid is set here) on privileged queue @q and wait for its
 * completion: 0 with *status (VGPU_S_*) and *result, or -errno
 * (-ETIMEDOUT after q->timeout_ns: the queue is then out of step). */
int loop_queue_exec(struct loop_conn *c, struct loop_queue *q,
		    struct vgpu_sqe *e, uint32_t *status, uint64_t *result);

/* "1G", "512M", "65536": bytes, or 0 if @s is not such a size. */
uint64_t loop_parse_size(const char *s);

#endif
