// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu_stub: ABI 1.2 sessions. Per open file: a device session bound to
 * a queue of its own (header, SQ, CQ in coherent DMA memory) and a pinned
 * pool (vgpu_region.c), all mapped into the process, which then submits
 * without system calls. The device refuses
 * guest-physical addresses on a session queue, so the process reaches
 * nothing but its own session. A session belongs to the process that
 * made it: another one (a forked child holding the file) gets -EPERM, and
 * the mappings are VM_DONTCOPY.
 *
 * Closing the file ends the session from a work item: SESSION_CLOSE on
 * the admin queue, and the pages go only once the device confirmed it (or
 * was reset). Until then the device may still touch them.
 */
#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/version.h>

#include "vgpu_drv.h"
#include "vgpu_session.h"

int vgpu_session_simple(struct vgpu_session *s, u8 op, u32 obj, u64 *res)
{
	struct vgpu_sqe e = { .opcode = op };
	u16 st = 0;
	int rc;

	e.session = cpu_to_le32(s->id);
	e.obj.obj = cpu_to_le32(obj);
	rc = vgpu_admin_run(s->vd, &e, &st, res);
	if (!rc && st != VGPU_S_OK)
		rc = st == VGPU_S_LIMIT ? -EBUSY : -EIO;
	return rc;
}

static void session_free(struct vgpu_session *s)
{
	struct vgpu_dev *vd = s->vd;
	struct vgpu_region *r, *n;

	list_for_each_entry_safe(r, n, &s->regions, node)
		vgpu_region_free(vd, r);
	vgpu_qmem_free(vd, &s->m);
	mmdrop(s->mm);
	kfree(s);
}

/* Forget @s in the driver: off the list, its queue free for others. */
static void session_unlist(struct vgpu_session *s)
{
	struct vgpu_dev *vd = s->vd;

	mutex_lock(&vd->sess_lock);
	if (s->has_qid)
		__clear_bit(s->qid, &vd->qmap);
	s->has_qid = false;
	list_del_init(&s->node);
	mutex_unlock(&vd->sess_lock);
}

/*
 * End @s on the device and free it. Pages go only once the device said
 * SESSION_CLOSE is done, or the device was reset (lost); a device that
 * refuses the close keeps them (leaked, never touched while it may).
 */
static void session_end(struct vgpu_session *s)
{
	struct vgpu_dev *vd = s->vd;
	int rc = 0;

	if (s->opened && !READ_ONCE(s->lost))
		rc = vgpu_session_simple(s, VGPU_OP_SESSION_CLOSE, 0, NULL);
	else if (s->has_qid && !READ_ONCE(s->lost) && !vgpu_alive_enter(vd)) {
		vgpu_queue_disable(vd, s->qid); /* quiesced and unmapped */
		vgpu_alive_exit(vd);
	}
	if (rc && !READ_ONCE(s->lost) && rc != -ENODEV) {
		dev_err(&vd->pdev->dev,
			"session %u: the device did not close it (%d): its %llu pinned bytes stay\n",
			s->id, rc, s->pinned);
		session_unlist(s);
		return;
	}
	session_unlist(s);
	session_free(s);
}

static void session_close_work(struct work_struct *w)
{
	struct vgpu_session *s =
		container_of(w, struct vgpu_session, close_work);
	struct vgpu_dev *vd = s->vd;

	session_end(s);
	vgpu_dev_put(vd);
}

/* The file is closing: finish from a work item (never hang release). */
void vgpu_session_release(struct vgpu_dev *vd, struct vgpu_session *s)
{
	kref_get(&vd->ref);
	INIT_WORK(&s->close_work, session_close_work);
	queue_work(vgpu_wq, &s->close_work);
}

/* A reset or an unbind ended every session: the device touches none of
 * their memory any more; their queues are free for new sessions. */
void vgpu_sessions_lost(struct vgpu_dev *vd)
{
	struct vgpu_session *s;

	mutex_lock(&vd->sess_lock);
	list_for_each_entry(s, &vd->sessions, node)
	{
		WRITE_ONCE(s->lost, true);
		if (s->has_qid)
			__clear_bit(s->qid, &vd->qmap);
		s->has_qid = false;
		wake_up_all(&s->wq);
	}
	mutex_unlock(&vd->sess_lock);
}

/* The interrupt: wake every session with a sleeper (each looks at its
 * own CQ; one interrupt covers all queues). */
void vgpu_sessions_wake(struct vgpu_dev *vd)
{
	struct vgpu_session *s;
	unsigned long fl;

	spin_lock_irqsave(&vd->wake_lock, fl);
	list_for_each_entry(s, &vd->sleeping, sleep_node) wake_up(&s->wq);
	spin_unlock_irqrestore(&vd->wake_lock, fl);
}

static u32 session_depth(struct vgpu_dev *vd, u32 want)
{
	if (!want)
		want = VGPU_SESSION_DEPTH_DEFAULT;
	if (want < 2 || !is_power_of_2(want) || want > vd->max_qdepth)
		return 0;
	return want;
}

/* A free device queue (2..MAX_QUEUES-1) and the session on the list. */
static int session_list(struct vgpu_session *s)
{
	struct vgpu_dev *vd = s->vd;
	u32 q;

	mutex_lock(&vd->sess_lock);
	q = find_next_zero_bit(&vd->qmap, vd->max_queues, VGPU_IO_Q + 1);
	if (q < vd->max_queues) {
		__set_bit(q, &vd->qmap);
		s->qid = q;
		s->has_qid = true;
		list_add_tail(&s->node, &vd->sessions);
	}
	mutex_unlock(&vd->sess_lock);
	return q < vd->max_queues ? 0 : -EBUSY;
}

static struct vgpu_session *session_new(struct vgpu_dev *vd, u32 depth)
{
	struct vgpu_session *s = kzalloc(sizeof(*s), GFP_KERNEL);

	if (!s)
		return NULL;
	s->vd = vd;
	s->mm = current->mm;
	mmgrab(s->mm);
	mutex_init(&s->lock);
	INIT_LIST_HEAD(&s->regions);
	INIT_LIST_HEAD(&s->node);
	INIT_LIST_HEAD(&s->sleep_node);
	init_waitqueue_head(&s->wq);
	spin_lock_init(&s->bell_lock);
	if (vgpu_qmem_alloc(vd, &s->m, depth)) {
		session_free(s);
		return NULL;
	}
	return s;
}

/* Queue, SESSION_OPEN binding it, the pool. 0 or -errno (@s then ended). */
static int session_start(struct vgpu_session *s, u64 pool_bytes)
{
	struct vgpu_dev *vd = s->vd;
	bool grant;
	u64 id = 0;
	int rc = session_list(s);

	if (!rc)
		rc = vgpu_alive_enter(vd);
	if (rc)
		return rc;
	rc = READ_ONCE(s->lost) ? -EIO : vgpu_queue_enable(vd, s->qid, &s->m);
	vgpu_alive_exit(vd);
	if (!rc)
		rc = vgpu_session_simple(s, VGPU_OP_SESSION_OPEN, s->qid, &id);
	if (rc)
		return rc;
	s->id = (u32)id;
	s->opened = true;
	mutex_lock(&s->lock);
	grant = vgpu_grant_usable(vd);
	s->pool = grant ? vgpu_grant_region(s, pool_bytes, &rc) : NULL;
	if (!s->pool && grant && !READ_ONCE(s->lost))
		dev_info_once(&vd->pdev->dev,
			      "pinned pools in guest RAM: no grant (%d)\n", rc);
	if (!s->pool)
		s->pool = vgpu_session_region(s, pool_bytes, &rc);
	mutex_unlock(&s->lock);
	return rc;
}

static long session_open(struct vgpu_file *vf, void __user *uarg)
{
	struct vgpu_dev *vd = vf->vd;
	struct vgpu_ioc_session a;
	struct vgpu_session *s;
	u64 pool;
	u32 depth;
	int rc;

	if (!(vd->features & VGPU_F_SESSIONS))
		return -EOPNOTSUPP; /* an ABI 1.1 device */
	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	depth = session_depth(vd, a.sq_depth);
	pool = PAGE_ALIGN(a.pool_bytes ? a.pool_bytes :
					 VGPU_POOL_BYTES_DEFAULT);
	if (a.rsvd0 || a.pool_flags || a.rsvd1 ||
	    memchr_inv(a.rsvd, 0, sizeof(a.rsvd)) || !depth ||
	    a.pool_bytes > VGPU_REGION_BYTES_MAX)
		return -EINVAL;
	if (vf->s)
		return -EBUSY; /* one session per file */
	s = session_new(vd, depth);
	if (!s)
		return -ENOMEM;
	rc = session_start(s, pool);
	if (rc) {
		session_end(s);
		return rc;
	}
	atomic64_inc(&vd->st.sessions);
	memset(&a, 0, sizeof(a));
	a.session = s->id;
	a.queue = s->qid;
	a.depth = depth;
	a.pool_region = s->pool->id;
	a.pool_mmap_off =
		VGPU_MMAP_REGION_BASE + s->pool->slot * VGPU_REGION_STRIDE;
	a.pool_len = s->pool->bytes;
	a.sq_bytes = s->m.sq_bytes;
	a.cq_bytes = s->m.cq_bytes;
	a.abi_version = vd->version;
	a.features = vd->features;
	a.pool_flags = s->pool->granted ? VGPU_POOL_GRANTED : 0;
	smp_store_release(&vf->s, s);
	return copy_to_user(uarg, &a, sizeof(a)) ? -EFAULT : 0;
}

/* The session's own process, and the session still alive. */
int vgpu_session_usable(struct vgpu_session *s)
{
	if (!s)
		return -EINVAL;
	if (current->mm != s->mm)
		return -EPERM;
	return READ_ONCE(s->lost) ? -ENODEV : 0;
}

/* Ring the session queue's doorbell with the tail its header holds. The
 * session is checked inside the device section: a reset (which frees the
 * queue for others) cannot slip in between. */
static long session_doorbell(struct vgpu_session *s)
{
	struct vgpu_dev *vd = s->vd;
	int rc = vgpu_session_usable(s);

	if (!rc)
		rc = vgpu_alive_enter(vd);
	if (rc)
		return rc;
	if (READ_ONCE(s->lost)) {
		rc = -ENODEV;
	} else {
		spin_lock(&s->bell_lock);
		vgpu_ring_doorbell(vd, s->qid,
				   le32_to_cpu(READ_ONCE(s->m.hdr->sq_tail.v)));
		spin_unlock(&s->bell_lock);
	}
	vgpu_alive_exit(vd);
	return rc;
}

/* NEED_IRQ while a WAIT sleeps; the last one to leave clears it. */
static void session_sleepers(struct vgpu_session *s, int delta)
{
	struct vgpu_dev *vd = s->vd;
	unsigned long fl;

	spin_lock_irqsave(&vd->wake_lock, fl);
	s->sleepers += delta;
	if (delta > 0 && s->sleepers == 1)
		list_add(&s->sleep_node, &vd->sleeping);
	else if (!s->sleepers)
		list_del_init(&s->sleep_node);
	WRITE_ONCE(s->m.hdr->drv_flags.v,
		   cpu_to_le32(s->sleepers ? VGPU_DRV_NEED_IRQ : 0));
	spin_unlock_irqrestore(&vd->wake_lock, fl);
}

/* The session's queue says FATAL. The header is the process's to write,
 * so ask the device: -ENODEV for a restart (the driver resets), -EIO for
 * an error of this queue, 0 if the device sees none. */
static int session_queue_error(struct vgpu_session *s)
{
	struct vgpu_dev *vd = s->vd;
	u32 err;

	if (!READ_ONCE(s->m.hdr->status.v) || vgpu_alive_enter(vd))
		return 0;
	err = READ_ONCE(s->lost) ? 0 : vgpu_queue_error(vd, s->qid);
	vgpu_alive_exit(vd);
	if (err == VGPU_QERR_RESTART)
		vgpu_schedule_reset(vd);
	return !err ? 0 : err == VGPU_QERR_RESTART ? -ENODEV : -EIO;
}

static bool session_woken(struct vgpu_session *s, u32 head)
{
	return vgpu_cqe_ready(&s->m, head) || READ_ONCE(s->lost);
}

/* One sleep of a WAIT: 0 ready, -EAGAIN not yet, -errno. */
static int session_sleep(struct vgpu_session *s, u32 head, long jiffies,
			 unsigned int *ticks)
{
	long rc;

	session_sleepers(s, 1);
	virt_mb(); /* NEED_IRQ before the second look */
	rc = 1;
	if (!session_woken(s, head))
		rc = wait_event_interruptible_timeout(
			s->wq, session_woken(s, head), jiffies);
	session_sleepers(s, -1);
	if (vgpu_cqe_ready(&s->m, head))
		return 0;
	if (READ_ONCE(s->lost))
		return -ENODEV;
	if (rc < 0)
		return -EINTR; /* nothing consumed: simply call again */
	if (rc == 0) {
		vgpu_check_health(s->vd, ticks);
		rc = session_queue_error(s);
		if (rc)
			return rc;
	}
	return -EAGAIN;
}

static long session_wait(struct vgpu_session *s, void __user *uarg)
{
	unsigned long end = 0, left = vgpu_check_jiffies(s->vd);
	struct vgpu_ioc_wait w;
	unsigned int ticks = 0;
	int rc = vgpu_session_usable(s);

	if (rc)
		return rc;
	if (copy_from_user(&w, uarg, sizeof(w)))
		return -EFAULT;
	if (w.rsvd0)
		return -EINVAL;
	if (vgpu_cqe_ready(&s->m, w.head))
		return 0;
	atomic64_inc(&s->vd->st.waits);
	if (w.timeout_ns)
		end = jiffies + nsecs_to_jiffies(w.timeout_ns) + 1;
	do {
		if (end) {
			if (time_after_eq(jiffies, end))
				return -ETIMEDOUT;
			left = min_t(unsigned long, end - jiffies,
				     vgpu_check_jiffies(s->vd));
		}
		rc = session_sleep(s, w.head, left, &ticks);
	} while (rc == -EAGAIN);
	return rc;
}

long vgpu_session_ioctl(struct vgpu_file *vf, unsigned int op,
			void __user *uarg)
{
	struct vgpu_session *s = smp_load_acquire(&vf->s);
	long rc;

	switch (op) {
	case VGPU_IOC_SESSION:
		mutex_lock(&vf->lock);
		rc = session_open(vf, uarg);
		mutex_unlock(&vf->lock);
		return rc;
	case VGPU_IOC_DOORBELL:
		return s ? session_doorbell(s) : -EINVAL;
	case VGPU_IOC_WAIT:
		return session_wait(s, uarg);
	case VGPU_IOC_REGION_ALLOC:
		return vgpu_region_alloc_ioctl(s, uarg);
	case VGPU_IOC_REGION_FREE:
		return vgpu_region_free_ioctl(s, uarg);
	}
	return -ENOTTY;
}

static int session_mmap_coherent(struct vgpu_session *s,
				 struct vm_area_struct *vma, void *cpu,
				 dma_addr_t dma, size_t bytes, bool ro)
{
	if (vma->vm_end - vma->vm_start != bytes)
		return -EINVAL;
	if (ro && (vma->vm_flags & VM_WRITE))
		return -EPERM;
	vgpu_vm_flags(vma, VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP,
		      ro ? VM_MAYWRITE : 0);
	vma->vm_pgoff = 0; /* the offset into the buffer */
	return dma_mmap_coherent(&s->vd->pdev->dev, vma, cpu, dma, bytes);
}

/* The queue's pages and the regions, shared mappings of the session's own
 * process only; nothing of it survives a fork (VM_DONTCOPY). */
int vgpu_session_mmap(struct vgpu_session *s, struct vm_area_struct *vma)
{
	u64 off = (u64)vma->vm_pgoff << PAGE_SHIFT;

	if (vma->vm_mm != s->mm)
		return -EPERM;
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	switch (off) {
	case VGPU_MMAP_QHDR:
		return session_mmap_coherent(s, vma, s->m.hdr, s->m.hdr_dma,
					     PAGE_SIZE, false);
	case VGPU_MMAP_SQ:
		return session_mmap_coherent(s, vma, s->m.sq, s->m.sq_dma,
					     s->m.sq_bytes, false);
	case VGPU_MMAP_CQ:
		return session_mmap_coherent(s, vma, s->m.cq, s->m.cq_dma,
					     s->m.cq_bytes, true);
	}
	return off >= VGPU_MMAP_REGION_BASE ? vgpu_region_mmap(s, vma, off) :
					      -EINVAL;
}
