/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vgpu_stub: what the driver's files share.
 *
 *   vgpu_main.c     probe, remove, interrupts, recovery, the file ops
 *   vgpu_admin.c    the privileged queues (admin 0, I/O 1): commands
 *                   matched by cid, and the admin commands
 *   vgpu_session.c  ABI 1.2 sessions: queue, mmap, doorbell, wait
 *   vgpu_region.c   a session's pinned pool and regions (vgpu_session.h)
 *   vgpu_legacy.c   VGPU_IOC_SUBMIT (ABI 1.1 commands on queue 1)
 *   vgpu_evtchn.c   ABI 1.3: doorbells and completions by Xen event
 *                   channel, where the guest and the device have it
 *   vgpu_pm.c       save, restore, migration (Xen's cooperative
 *                   suspend): quiesce before, interrupts checked after
 *
 * Lifetime. struct vgpu_dev is refcounted: the PCI binding holds one
 * reference and every open file one more, so an unbind (or a hot-unplug)
 * with files open frees nothing a file still points at. Everything that
 * touches the device (BAR0, the privileged queues' memory) runs under
 * vd->alive held for reading and checks vd->dead first; remove() and the
 * recovery take it for writing. Waits never hold it: they sleep on a
 * condition that includes vd->dead and the reset generation.
 *
 * Memory the device may touch (queues, pinned user pages, the pool) is
 * given back only once the device confirmed it is done with it (the
 * command's completion, SESSION_CLOSE) or the device was reset.
 */
#ifndef VGPU_DRV_H
#define VGPU_DRV_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "vgpu_ring_abi.h"
#include "vgpu_stub_regs.h"
#include "vgpu_stub_uapi.h"

#define VGPU_ADMIN_Q 0
#define VGPU_IO_Q 1
#define VGPU_ADMIN_DEPTH 32
#define VGPU_IO_DEPTH 64
#define VGPU_SGL_MAX 64 /* pages per legacy command */
#define VGPU_CHECK_JIFFIES (HZ / 2) /* a sleeper looks at the device */

extern bool vgpu_poll_first;
extern struct workqueue_struct *vgpu_wq;

/* Header page, SQ and CQ of one queue, in coherent DMA memory. */
struct vgpu_qmem {
	struct vgpu_qhdr *hdr;
	struct vgpu_sqe *sq;
	struct vgpu_cqe *cq;
	dma_addr_t hdr_dma, sq_dma, cq_dma;
	size_t sq_bytes, cq_bytes; /* whole pages */
	u32 depth;
};

struct vgpu_pq;

/*
 * A command on a privileged queue. It holds its cid from reservation
 * until its completion arrives or the device is reset (done); whatever it
 * lent the device (pinned pages, DMA mappings) is given back by release()
 * only then. A submitter killed meanwhile leaves it an orphan, released
 * from the driver's workqueue when it completes.
 */
struct vgpu_cmd {
	struct vgpu_sqe sqe; /* the caller's entry; the cid is set here */
	void (*release)(struct vgpu_cmd *c); /* process context; may free c */
	struct list_head node; /* on vd->orphans */
	u64 result;
	u16 status; /* VGPU_S_* */
	u16 cid;
	int err; /* 0, -EIO (lost to a reset) or -ENODEV (device gone) */
	bool done, orphan;
};

/* A privileged queue: the driver's own, commands matched by cid. */
struct vgpu_pq {
	struct vgpu_dev *vd;
	u32 qid;
	struct vgpu_qmem m;
	void *sgl; /* one page of SGL per cid, or NULL */
	dma_addr_t sgl_dma;
	struct mutex sub_lock; /* publishing the tail and the doorbell */
	spinlock_t lock; /* everything below */
	u32 tail, head;
	u32 inflight, sleepers, orphans;
	struct vgpu_cmd **slot; /* depth entries, by cid */
	wait_queue_head_t wq; /* completions and free slots */
};

struct vgpu_stats {
	atomic64_t commands, irqs, doorbells, waits, sessions, resets;
};

struct vgpu_dev {
	struct kref ref;
	struct pci_dev *pdev; /* a reference of our own */
	void __iomem *bar;
	bool msi;
	bool irq_lost; /* restored with an MSI pirq: completions are polled */
	bool evtchn_on; /* the device took evtchn_port (vgpu_evtchn.c) */
	u32 evtchn_port;
	int evtchn_irq; /* -1: none */
	u32 max_queues, max_qdepth, features, version;
	struct rw_semaphore alive; /* see above */
	bool dead; /* unbound: every call says -ENODEV */
	bool broken; /* re-initialisation failed: -EIO */
	u32 gen; /* bumped by every reset the driver does */
	u32 reset_count; /* RESET_COUNT after our last reset */
	struct mutex reg_lock; /* the Q_SELECT window */
	struct vgpu_pq admin, io;
	struct work_struct reset_work, orphan_work;
	spinlock_t orphan_lock;
	struct list_head orphans;
	struct mutex sess_lock; /* sessions and the queue map */
	struct list_head sessions;
	unsigned long qmap; /* device queues in use */
	spinlock_t wake_lock; /* the sleeping list, for the interrupt */
	struct list_head sleeping; /* sessions with a VGPU_IOC_WAIT asleep */
	struct vgpu_stats st;
	struct miscdevice misc;
};

/* An open file: its session, once VGPU_IOC_SESSION made one. */
struct vgpu_file {
	struct vgpu_dev *vd;
	struct mutex lock; /* making the session */
	struct vgpu_session *s;
	u32 gen; /* vd->gen at open: a later reset ends its legacy use */
};

/* vgpu_main.c */
void vgpu_dev_put(struct vgpu_dev *vd);
void vgpu_schedule_reset(struct vgpu_dev *vd);
void vgpu_check_health(struct vgpu_dev *vd, unsigned int *ticks);
int vgpu_alive_enter(struct vgpu_dev *vd);
void vgpu_alive_exit(struct vgpu_dev *vd);
void vgpu_wr64(struct vgpu_dev *vd, u32 off, u64 val);
void vgpu_irq_work(struct vgpu_dev *vd);
unsigned long vgpu_check_jiffies(struct vgpu_dev *vd);

/* vgpu_pm.c */
extern const struct dev_pm_ops vgpu_pm_ops;

/* vgpu_admin.c */
int vgpu_qmem_alloc(struct vgpu_dev *vd, struct vgpu_qmem *m, u32 depth);
void vgpu_qmem_free(struct vgpu_dev *vd, struct vgpu_qmem *m);
void vgpu_qmem_clear(struct vgpu_qmem *m);
int vgpu_queue_enable(struct vgpu_dev *vd, u32 qid, struct vgpu_qmem *m);
void vgpu_queue_disable(struct vgpu_dev *vd, u32 qid);
u32 vgpu_queue_error(struct vgpu_dev *vd, u32 qid);
bool vgpu_cqe_ready(const struct vgpu_qmem *m, u32 idx);
int vgpu_pq_init(struct vgpu_dev *vd, struct vgpu_pq *pq, u32 qid, u32 depth,
		 bool sgl);
void vgpu_pq_fini(struct vgpu_pq *pq);
int vgpu_pq_start(struct vgpu_pq *pq);
void vgpu_pq_fail_all(struct vgpu_pq *pq, int err);
bool vgpu_pq_fatal(struct vgpu_pq *pq);
void vgpu_pq_reap(struct vgpu_pq *pq);
int vgpu_pq_reserve(struct vgpu_pq *pq, struct vgpu_cmd *c, bool intr);
void vgpu_pq_unreserve(struct vgpu_pq *pq, struct vgpu_cmd *c);
int vgpu_pq_submit(struct vgpu_pq *pq, struct vgpu_cmd *c);
int vgpu_pq_wait(struct vgpu_pq *pq, struct vgpu_cmd *c, bool killable);
int vgpu_admin_run(struct vgpu_dev *vd, const struct vgpu_sqe *e, u16 *status,
		   u64 *result);
void vgpu_orphan_work(struct work_struct *w);

/* vgpu_evtchn.c */
void vgpu_evtchn_probe(struct vgpu_dev *vd);
void vgpu_evtchn_register(struct vgpu_dev *vd);
void vgpu_evtchn_remove(struct vgpu_dev *vd);
bool vgpu_xen_pirq_msi(void);
void vgpu_ring_doorbell(struct vgpu_dev *vd, u32 qid, u32 tail);

/* vgpu_legacy.c */
long vgpu_legacy_submit(struct vgpu_dev *vd, void __user *uarg);

/* vgpu_session.c */
struct vgpu_session;
long vgpu_session_ioctl(struct vgpu_file *vf, unsigned int op,
			void __user *uarg);
int vgpu_session_mmap(struct vgpu_session *s, struct vm_area_struct *vma);
void vgpu_session_release(struct vgpu_dev *vd, struct vgpu_session *s);
void vgpu_sessions_wake(struct vgpu_dev *vd);
void vgpu_sessions_lost(struct vgpu_dev *vd);

#endif
