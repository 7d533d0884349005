// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu_stub: Linux driver for the vgpu-stub PCI function (1af4:1111,
 * class 0x120000) that vgpu-ioreq emulates. It sets up the I/O command
 * queue in guest RAM (vgpu_ring_abi.h), takes completions by MSI (INTx if
 * MSI is unavailable or use_msi=0) and gives user space /dev/vgpu_stub
 * (vgpu_stub_uapi.h). Commands are run one at a time per device.
 */
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "vgpu_ring_abi.h"
#include "vgpu_stub_regs.h"
#include "vgpu_stub_uapi.h"

#define VGPU_QUEUE 1 /* the I/O queue; 0 is the admin queue */
#define VGPU_DEPTH 64
#define VGPU_SGL_MAX 64
#define VGPU_SPIN_US 20 /* poll this long before sleeping */

static bool use_msi = true;
module_param(use_msi, bool, 0444);
MODULE_PARM_DESC(use_msi, "take completions by MSI (default) or INTx");

static bool poll_first = true;
module_param(poll_first, bool, 0444);
MODULE_PARM_DESC(
	poll_first,
	"poll briefly before asking for an interrupt (default); 0: always sleep on the interrupt");

struct vgpu {
	struct pci_dev *pdev;
	void __iomem *bar;
	struct vgpu_qhdr *hdr;
	struct vgpu_sqe *sq;
	struct vgpu_cqe *cq;
	struct vgpu_sgl_entry *sgl;
	dma_addr_t hdr_dma, sq_dma, cq_dma, sgl_dma;
	u32 tail, head;
	u16 phase;
	bool msi;
	struct mutex lock; /* one command at a time */
	wait_queue_head_t wq;
	struct miscdevice misc;
	u64 commands;
	atomic64_t irqs;
};

static bool cqe_ready(struct vgpu *v)
{
	struct vgpu_cqe *c = &v->cq[v->head % VGPU_DEPTH];

	return (READ_ONCE(c->status) & VGPU_CQE_PHASE) == v->phase;
}

static irqreturn_t vgpu_irq(int irq, void *data)
{
	struct vgpu *v = data;

	/* INTx may be shared: ours only if INTR_STATUS says so (reading it
	 * also lowers the line) */
	if (!v->msi && !ioread32(v->bar + VGPU_REG_INTR_STATUS))
		return IRQ_NONE;
	atomic64_inc(&v->irqs);
	wake_up(&v->wq);
	return IRQ_HANDLED;
}

/* Wait for the completion of the entry just submitted. */
static int wait_cqe(struct vgpu *v)
{
	int i, rc;

	for (i = 0; poll_first && i < VGPU_SPIN_US; i++) {
		if (cqe_ready(v))
			return 0;
		udelay(1);
	}
	/* ask for an interrupt, then look again (no lost wake-up) */
	WRITE_ONCE(v->hdr->drv_flags.v, VGPU_DRV_NEED_IRQ);
	smp_mb();
	rc = wait_event_interruptible(v->wq, cqe_ready(v));
	if (rc) {
		/* the device still owns the pages: the command must finish
		 * before they go back; it always does */
		wait_event_timeout(v->wq, cqe_ready(v), 10 * HZ);
		if (!cqe_ready(v))
			return -EIO;
	}
	if (poll_first)
		WRITE_ONCE(v->hdr->drv_flags.v, 0);
	return rc;
}

static bool opcode_takes_buffer(u8 op)
{
	return op == VGPU_OP_GET_INFO || op == VGPU_OP_MEMCPY_H2D ||
	       op == VGPU_OP_MEMCPY_D2H;
}

static long vgpu_submit(struct vgpu *v, struct vgpu_ioc_cmd *cmd)
{
	struct page *pages[VGPU_SGL_MAX];
	bool to_user = cmd->opcode != VGPU_OP_MEMCPY_H2D;
	enum dma_data_direction dir = to_user ? DMA_FROM_DEVICE : DMA_TO_DEVICE;
	unsigned long first, off;
	struct vgpu_sqe e = { 0 };
	struct vgpu_cqe *c;
	int n = 0, pinned = 0, i, rc;
	u64 left;

	if (memchr_inv(cmd->rsvd0, 0, sizeof(cmd->rsvd0)) || cmd->rsvd1)
		return -EINVAL;
	if (opcode_takes_buffer(cmd->opcode)) {
		if (!cmd->len || cmd->buf + cmd->len < cmd->buf)
			return -EINVAL;
		first = cmd->buf & PAGE_MASK;
		n = (int)(((cmd->buf + cmd->len - 1) >> PAGE_SHIFT) -
			  (first >> PAGE_SHIFT) + 1);
		if (n > VGPU_SGL_MAX)
			return -E2BIG;
		pinned = pin_user_pages_fast(first, n, to_user ? FOLL_WRITE : 0,
					     pages);
		if (pinned != n) {
			rc = pinned < 0 ? pinned : -EFAULT;
			goto unpin;
		}
		off = offset_in_page(cmd->buf);
		left = cmd->len;
		for (i = 0; i < n; i++) {
			u32 len = min_t(u64, PAGE_SIZE - off, left);
			dma_addr_t a = dma_map_page(&v->pdev->dev, pages[i],
						    off, len, dir);

			if (dma_mapping_error(&v->pdev->dev, a)) {
				n = i;
				rc = -ENOMEM;
				goto unmap;
			}
			v->sgl[i] =
				(struct vgpu_sgl_entry){ .gpa = a, .len = len };
			left -= len;
			off = 0;
		}
		e.sgl_gpa = v->sgl_dma;
		e.sgl_nents = n;
	}
	e.opcode = cmd->opcode;
	e.cid = (u16)v->tail;
	memcpy(e.arg, cmd->arg, sizeof(e.arg));
	if (cmd->opcode == VGPU_OP_MEMCPY_H2D ||
	    cmd->opcode == VGPU_OP_MEMCPY_D2H)
		e.arg[1] = cmd->len;

	v->sq[v->tail % VGPU_DEPTH] = e;
	v->tail++;
	if (!poll_first) /* the interrupt is wanted whatever the timing */
		WRITE_ONCE(v->hdr->drv_flags.v, VGPU_DRV_NEED_IRQ);
	/* the entry before the tail, the tail before the doorbell */
	smp_wmb();
	WRITE_ONCE(v->hdr->sq_tail.v, v->tail);
	smp_mb();
	if (READ_ONCE(v->hdr->dev_flags.v) & VGPU_DEV_NEED_DOORBELL)
		iowrite32(v->tail, v->bar + VGPU_REG_DOORBELL(VGPU_QUEUE));
	rc = wait_cqe(v);
	if (rc != -EIO) {
		c = &v->cq[v->head % VGPU_DEPTH];
		dma_rmb();
		cmd->result = c->result;
		cmd->status = VGPU_CQE_CODE(c->status);
		if (++v->head % VGPU_DEPTH == 0)
			v->phase ^= VGPU_CQE_PHASE;
		WRITE_ONCE(v->hdr->cq_head.v, v->head);
		v->commands++;
	}
unmap:
	for (i = 0; i < n; i++)
		dma_unmap_page(&v->pdev->dev, v->sgl[i].gpa, v->sgl[i].len,
			       dir);
unpin:
	if (pinned > 0)
		unpin_user_pages_dirty_lock(pages, pinned, to_user);
	return rc;
}

static long vgpu_ioctl(struct file *f, unsigned int op, unsigned long arg)
{
	struct vgpu *v = container_of(f->private_data, struct vgpu, misc);
	void __user *uarg = (void __user *)arg;
	struct vgpu_ioc_stats st;
	struct vgpu_ioc_cmd cmd;
	long rc;

	switch (op) {
	case VGPU_IOC_SUBMIT:
		if (copy_from_user(&cmd, uarg, sizeof(cmd)))
			return -EFAULT;
		if (mutex_lock_interruptible(&v->lock))
			return -ERESTARTSYS;
		rc = vgpu_submit(v, &cmd);
		mutex_unlock(&v->lock);
		if (rc == 0 && copy_to_user(uarg, &cmd, sizeof(cmd)))
			rc = -EFAULT;
		return rc;
	case VGPU_IOC_STATS:
		memset(&st, 0, sizeof(st));
		st.commands = READ_ONCE(v->commands);
		st.interrupts = atomic64_read(&v->irqs);
		st.msi = v->msi;
		return copy_to_user(uarg, &st, sizeof(st)) ? -EFAULT : 0;
	}
	return -ENOTTY;
}

static const struct file_operations vgpu_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = vgpu_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static void *vgpu_page(struct vgpu *v, dma_addr_t *dma)
{
	return dmam_alloc_coherent(&v->pdev->dev, PAGE_SIZE, dma, GFP_KERNEL);
}

static void wr64(struct vgpu *v, u32 off, u64 val)
{
	iowrite32(lower_32_bits(val), v->bar + off);
	iowrite32(upper_32_bits(val), v->bar + off + 4);
}

static int vgpu_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct vgpu *v;
	u32 magic, ver, feat;
	int rc, flags;

	v = devm_kzalloc(&pdev->dev, sizeof(*v), GFP_KERNEL);
	if (!v)
		return -ENOMEM;
	v->pdev = pdev;
	mutex_init(&v->lock);
	init_waitqueue_head(&v->wq);
	rc = pcim_enable_device(pdev);
	if (rc)
		return rc;
	rc = pcim_iomap_regions(pdev, BIT(0), "vgpu_stub");
	if (rc)
		return rc;
	v->bar = pcim_iomap_table(pdev)[0];
	magic = ioread32(v->bar + VGPU_REG_MAGIC);
	ver = ioread32(v->bar + VGPU_REG_VERSION);
	feat = ioread32(v->bar + VGPU_REG_FEATURES);
	if (magic != VGPU_MAGIC || ver >> 16 != VGPU_ABI_MAJOR ||
	    !(feat & VGPU_F_QUEUES)) {
		dev_err(&pdev->dev,
			"not a vgpu-stub with queues (magic %08x, abi %x, features %x)\n",
			magic, ver, feat);
		return -ENODEV;
	}
	pci_set_master(pdev);
	rc = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (rc)
		return rc;
	iowrite32(0, v->bar + VGPU_REG_STATUS); /* reset */
	v->hdr = vgpu_page(v, &v->hdr_dma);
	v->sq = vgpu_page(v, &v->sq_dma); /* 64 x 64 B */
	v->cq = vgpu_page(v, &v->cq_dma);
	v->sgl = vgpu_page(v, &v->sgl_dma);
	if (!v->hdr || !v->sq || !v->cq || !v->sgl)
		return -ENOMEM;
	v->phase = VGPU_CQE_PHASE;
	iowrite32(VGPU_QUEUE, v->bar + VGPU_REG_Q_SELECT);
	iowrite32(VGPU_DEPTH, v->bar + VGPU_REG_Q_DEPTH);
	wr64(v, VGPU_REG_Q_HDR_GPA, v->hdr_dma);
	wr64(v, VGPU_REG_Q_SQ_GPA, v->sq_dma);
	wr64(v, VGPU_REG_Q_CQ_GPA, v->cq_dma);
	iowrite32(1, v->bar + VGPU_REG_Q_ENABLE);
	if (!ioread32(v->bar + VGPU_REG_Q_ENABLE)) {
		dev_err(&pdev->dev, "queue refused: error %u\n",
			ioread32(v->bar + VGPU_REG_Q_ERROR));
		return -EIO;
	}

	flags = PCI_IRQ_LEGACY | (use_msi ? PCI_IRQ_MSI : 0);
	rc = pci_alloc_irq_vectors(pdev, 1, 1, flags);
	if (rc < 0)
		goto reset;
	v->msi = pdev->msi_enabled;
	rc = request_irq(pci_irq_vector(pdev, 0), vgpu_irq,
			 v->msi ? 0 : IRQF_SHARED, "vgpu_stub", v);
	if (rc)
		goto vectors;

	v->misc.minor = MISC_DYNAMIC_MINOR;
	v->misc.name = "vgpu_stub";
	v->misc.fops = &vgpu_fops;
	v->misc.parent = &pdev->dev;
	rc = misc_register(&v->misc);
	if (rc)
		goto irq;
	pci_set_drvdata(pdev, v);
	iowrite32(VGPU_STATUS_ACKNOWLEDGE | VGPU_STATUS_DRIVER_OK,
		  v->bar + VGPU_REG_STATUS);
	dev_info(&pdev->dev, "vgpu-stub abi %u.%u, queue depth %u, %s\n",
		 ver >> 16, ver & 0xffff, VGPU_DEPTH, v->msi ? "MSI" : "INTx");
	return 0;
irq:
	free_irq(pci_irq_vector(pdev, 0), v);
vectors:
	pci_free_irq_vectors(pdev);
reset:
	iowrite32(0, v->bar + VGPU_REG_STATUS);
	return rc;
}

static void vgpu_remove(struct pci_dev *pdev)
{
	struct vgpu *v = pci_get_drvdata(pdev);

	misc_deregister(&v->misc);
	/* the device quiesces its queues and frees device memory */
	iowrite32(0, v->bar + VGPU_REG_STATUS);
	free_irq(pci_irq_vector(pdev, 0), v);
	pci_free_irq_vectors(pdev);
}

static const struct pci_device_id vgpu_ids[] = {
	{ PCI_DEVICE(VGPU_PCI_VENDOR_ID, VGPU_PCI_DEVICE_ID) },
	{}
};
MODULE_DEVICE_TABLE(pci, vgpu_ids);

static struct pci_driver vgpu_driver = {
	.name = "vgpu_stub",
	.id_table = vgpu_ids,
	.probe = vgpu_probe,
	.remove = vgpu_remove,
};
module_pci_driver(vgpu_driver);

MODULE_DESCRIPTION("vgpu-stub (vgpu-ioreq) command queue driver");
MODULE_LICENSE("GPL");
