// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu_stub: Linux driver for the vgpu-stub PCI function (1af4:1111,
 * class 0x120000) that vgpu-ioreq emulates: probe and remove, the one
 * interrupt (MSI, else INTx) for all queues, recovery after a device
 * reset or an emulator restart, and /dev/vgpu_stub (vgpu_stub_uapi.h).
 *
 * Who may open /dev/vgpu_stub: the node is 0660 root:root; a udev rule
 * (guest/linux/99-vgpu-stub.rules) gives it to the group "vgpu". Sessions
 * keep the processes of that group apart from each other; the legacy
 * VGPU_IOC_SUBMIT shares the device's legacy session between them.
 */
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vgpu_drv.h"

/*
 * MSI, except on a Xen HVM guest that takes MSIs as pirqs (PV support,
 * XENFEAT_hvm_pirqs): Linux does not bind such a pirq again on resume
 * (its restore_pirqs() redoes GSI-based ones only), so after xl restore or a
 * migration no completion interrupt would arrive. INTx is a GSI and comes
 * back. use_msi=1 forces MSI there (the restore callback then polls).
 */
static int use_msi = -1;
module_param(use_msi, int, 0444);
MODULE_PARM_DESC(
	use_msi,
	"1: completions by MSI; 0: by INTx; -1 (default): MSI, but INTx on a Xen HVM guest whose MSI is a pirq (not restored by Linux after xl restore or migration)");

/* Recovery, orphans and session closes run here; module exit drains it
 * (a close may still run after its file, and the module reference, went). */
struct workqueue_struct *vgpu_wq;

bool vgpu_poll_first = true;
module_param_named(poll_first, vgpu_poll_first, bool, 0444);
MODULE_PARM_DESC(
	poll_first,
	"poll briefly before asking for an interrupt (default); 0: always sleep on the interrupt");

void vgpu_wr64(struct vgpu_dev *vd, u32 off, u64 val)
{
	iowrite32(lower_32_bits(val), vd->bar + off);
	iowrite32(upper_32_bits(val), vd->bar + off + 4);
}

/* Enter a section that touches the device: -ENODEV once it is gone. */
int vgpu_alive_enter(struct vgpu_dev *vd)
{
	down_read(&vd->alive);
	if (!vd->dead && !vd->broken)
		return 0;
	up_read(&vd->alive);
	return vd->dead ? -ENODEV : -EIO;
}

void vgpu_alive_exit(struct vgpu_dev *vd)
{
	up_read(&vd->alive);
}

static void vgpu_dev_free(struct kref *ref)
{
	struct vgpu_dev *vd = container_of(ref, struct vgpu_dev, ref);

	/* the device was reset (remove) or never enabled these queues */
	vgpu_pq_fini(&vd->io);
	vgpu_pq_fini(&vd->admin);
	pci_dev_put(vd->pdev);
	kfree(vd);
}

void vgpu_dev_put(struct vgpu_dev *vd)
{
	kref_put(&vd->ref, vgpu_dev_free);
}

/* Completions posted: reap the privileged queues, wake the sessions. */
void vgpu_irq_work(struct vgpu_dev *vd)
{
	vgpu_pq_reap(&vd->admin);
	vgpu_pq_reap(&vd->io);
	vgpu_sessions_wake(vd);
}

static irqreturn_t vgpu_irq(int irq, void *data)
{
	struct vgpu_dev *vd = data;

	/* INTx may be shared: ours only if INTR_STATUS says so (reading it
	 * also lowers the line) */
	if (!vd->msi && !ioread32(vd->bar + VGPU_REG_INTR_STATUS))
		return IRQ_NONE;
	atomic64_inc(&vd->st.irqs);
	vgpu_irq_work(vd);
	return IRQ_HANDLED;
}

/* How long a sleeper waits for an interrupt before it looks itself. */
unsigned long vgpu_check_jiffies(struct vgpu_dev *vd)
{
	return READ_ONCE(vd->irq_lost) ? 1 : VGPU_CHECK_JIFFIES;
}

void vgpu_schedule_reset(struct vgpu_dev *vd)
{
	if (!READ_ONCE(vd->dead))
		queue_work(vgpu_wq, &vd->reset_work);
}

/*
 * A sleeper's look at the device, every VGPU_CHECK_JIFFIES: the
 * privileged queues' headers (memory only: cheap, and it works while the
 * emulator is stopped), and every tenth time RESET_COUNT (someone else
 * reset the device: nothing tells the queues).
 */
void vgpu_check_health(struct vgpu_dev *vd, unsigned int *ticks)
{
	bool bad = vgpu_pq_fatal(&vd->admin) || vgpu_pq_fatal(&vd->io);

	if (!bad && ++*ticks % 10 == 0 && !vgpu_alive_enter(vd)) {
		bad = ioread32(vd->bar + VGPU_REG_RESET_COUNT) !=
		      vd->reset_count;
		vgpu_alive_exit(vd);
	}
	if (bad)
		vgpu_schedule_reset(vd);
}

/* Reset the device: every queue quiesced, device memory and sessions
 * gone; the device touches no guest memory afterwards. Caller: alive for
 * writing. */
static void vgpu_hw_reset(struct vgpu_dev *vd)
{
	WRITE_ONCE(vd->evtchn_on, false); /* the reset unbinds it */
	iowrite32(0, vd->bar + VGPU_REG_STATUS);
	/* MMIO to the emulator is synchronous; read back for good measure */
	vd->reset_count = ioread32(vd->bar + VGPU_REG_RESET_COUNT);
}

static int vgpu_hw_init(struct vgpu_dev *vd)
{
	int rc;

	vgpu_hw_reset(vd);
	vgpu_evtchn_register(vd);
	rc = vgpu_pq_start(&vd->admin);
	if (!rc)
		rc = vgpu_pq_start(&vd->io);
	if (rc)
		return rc;
	iowrite32(VGPU_STATUS_ACKNOWLEDGE | VGPU_STATUS_DRIVER_OK,
		  vd->bar + VGPU_REG_STATUS);
	return 0;
}

/* Was the device reset or did the emulator restart behind our back? */
static bool vgpu_lost_state(struct vgpu_dev *vd, u32 *why)
{
	*why = le32_to_cpu(READ_ONCE(vd->admin.m.hdr->status.v));
	if (!*why)
		*why = le32_to_cpu(READ_ONCE(vd->io.m.hdr->status.v));
	return *why ||
	       ioread32(vd->bar + VGPU_REG_RESET_COUNT) != vd->reset_count;
}

/*
 * Recovery: fail what was in flight (-EIO), end every session (their
 * WAIT says -ENODEV), reset and set the device up again; new work is
 * served as before.
 */
static void vgpu_reset_work(struct work_struct *w)
{
	struct vgpu_dev *vd = container_of(w, struct vgpu_dev, reset_work);
	u32 why;

	down_write(&vd->alive);
	if (vd->dead || !vgpu_lost_state(vd, &why)) {
		up_write(&vd->alive);
		return;
	}
	dev_warn(
		&vd->pdev->dev,
		"device state lost (%s%u): failing work in flight, resetting\n",
		why == VGPU_QERR_RESTART ? "emulator restarted, error " :
					   "queue error ",
		why);
	vgpu_hw_reset(vd);
	WRITE_ONCE(vd->gen, vd->gen + 1);
	atomic64_inc(&vd->st.resets);
	vgpu_pq_fail_all(&vd->admin, -EIO);
	vgpu_pq_fail_all(&vd->io, -EIO);
	vgpu_sessions_lost(vd);
	vd->broken = vgpu_hw_init(vd) != 0;
	if (vd->broken)
		dev_err(&vd->pdev->dev, "device not usable after the reset\n");
	else
		dev_info(&vd->pdev->dev, "device re-initialised\n");
	up_write(&vd->alive);
}

static int vgpu_open(struct inode *inode, struct file *f)
{
	/* misc_open() holds misc_mtx: remove() cannot run meanwhile */
	struct vgpu_dev *vd =
		container_of(f->private_data, struct vgpu_dev, misc);
	struct vgpu_file *vf = kzalloc(sizeof(*vf), GFP_KERNEL);

	if (!vf)
		return -ENOMEM;
	kref_get(&vd->ref);
	vf->vd = vd;
	vf->gen = READ_ONCE(vd->gen);
	mutex_init(&vf->lock);
	f->private_data = vf;
	return 0;
}

static int vgpu_release(struct inode *inode, struct file *f)
{
	struct vgpu_file *vf = f->private_data;

	if (vf->s)
		vgpu_session_release(vf->vd, vf->s); /* finishes on its own */
	vgpu_dev_put(vf->vd);
	kfree(vf);
	return 0;
}

static long vgpu_stats(struct vgpu_dev *vd, void __user *uarg)
{
	struct vgpu_ioc_stats st;

	memset(&st, 0, sizeof(st));
	st.commands = atomic64_read(&vd->st.commands);
	st.interrupts = atomic64_read(&vd->st.irqs);
	st.msi = vd->msi;
	st.evtchn = READ_ONCE(vd->evtchn_on) ? vd->evtchn_port : 0;
	st.doorbells = atomic64_read(&vd->st.doorbells);
	st.waits = atomic64_read(&vd->st.waits);
	st.sessions = atomic64_read(&vd->st.sessions);
	st.resets = atomic64_read(&vd->st.resets);
	return copy_to_user(uarg, &st, sizeof(st)) ? -EFAULT : 0;
}

static long vgpu_ioctl(struct file *f, unsigned int op, unsigned long arg)
{
	struct vgpu_file *vf = f->private_data;
	struct vgpu_dev *vd = vf->vd;
	void __user *uarg = (void __user *)arg;

	if (READ_ONCE(vd->dead))
		return -ENODEV;
	switch (op) {
	case VGPU_IOC_SUBMIT:
		/* the device was reset since: its legacy memory is gone */
		if (READ_ONCE(vd->gen) != vf->gen)
			return -EIO;
		return vgpu_legacy_submit(vd, uarg);
	case VGPU_IOC_STATS:
		return vgpu_stats(vd, uarg);
	}
	return vgpu_session_ioctl(vf, op, uarg);
}

static int vgpu_mmap(struct file *f, struct vm_area_struct *vma)
{
	struct vgpu_file *vf = f->private_data;
	struct vgpu_session *s = smp_load_acquire(&vf->s);

	if (READ_ONCE(vf->vd->dead))
		return -ENODEV;
	return s ? vgpu_session_mmap(s, vma) : -EINVAL;
}

static const struct file_operations vgpu_fops = {
	.owner = THIS_MODULE,
	.open = vgpu_open,
	.release = vgpu_release,
	.unlocked_ioctl = vgpu_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = vgpu_mmap,
};

static struct vgpu_dev *vgpu_dev_alloc(struct pci_dev *pdev)
{
	struct vgpu_dev *vd = kzalloc(sizeof(*vd), GFP_KERNEL);

	if (!vd)
		return NULL;
	kref_init(&vd->ref);
	vd->pdev = pci_dev_get(pdev);
	init_rwsem(&vd->alive);
	mutex_init(&vd->reg_lock);
	mutex_init(&vd->sess_lock);
	INIT_LIST_HEAD(&vd->sessions);
	INIT_LIST_HEAD(&vd->orphans);
	INIT_LIST_HEAD(&vd->sleeping);
	spin_lock_init(&vd->orphan_lock);
	spin_lock_init(&vd->wake_lock);
	INIT_WORK(&vd->reset_work, vgpu_reset_work);
	INIT_WORK(&vd->orphan_work, vgpu_orphan_work);
	return vd;
}

static int vgpu_identify(struct vgpu_dev *vd)
{
	void __iomem *b = vd->bar;
	u32 magic = ioread32(b + VGPU_REG_MAGIC);

	vd->version = ioread32(b + VGPU_REG_VERSION);
	vd->features = ioread32(b + VGPU_REG_FEATURES);
	vd->max_queues = min_t(u32, ioread32(b + VGPU_REG_MAX_QUEUES),
			       VGPU_MAX_QUEUES_ABI);
	vd->max_qdepth = ioread32(b + VGPU_REG_MAX_QDEPTH);
	if (magic != VGPU_MAGIC || vd->version >> 16 != VGPU_ABI_MAJOR ||
	    !(vd->features & VGPU_F_QUEUES) || vd->max_queues < 2 ||
	    vd->max_qdepth < VGPU_IO_DEPTH) {
		dev_err(&vd->pdev->dev,
			"not a vgpu-stub with queues (magic %08x, abi %x, features %x)\n",
			magic, vd->version, vd->features);
		return -ENODEV;
	}
	vd->qmap = BIT(VGPU_ADMIN_Q) | BIT(VGPU_IO_Q);
	return 0;
}

static bool vgpu_want_msi(void)
{
	return use_msi < 0 ? !vgpu_xen_pirq_msi() : use_msi;
}

/* The one interrupt: MSI (see use_msi), else INTx. */
static int vgpu_irq_setup(struct vgpu_dev *vd)
{
	struct pci_dev *pdev = vd->pdev;
	int rc, flags = PCI_IRQ_LEGACY | (vgpu_want_msi() ? PCI_IRQ_MSI : 0);

	rc = pci_alloc_irq_vectors(pdev, 1, 1, flags);
	if (rc < 0)
		return rc;
	vd->msi = pdev->msi_enabled;
	rc = request_irq(pci_irq_vector(pdev, 0), vgpu_irq,
			 vd->msi ? 0 : IRQF_SHARED, "vgpu_stub", vd);
	if (rc)
		pci_free_irq_vectors(pdev);
	return rc;
}

static void vgpu_irq_teardown(struct vgpu_dev *vd)
{
	free_irq(pci_irq_vector(vd->pdev, 0), vd);
	pci_free_irq_vectors(vd->pdev);
}

static int vgpu_probe_dev(struct vgpu_dev *vd)
{
	struct pci_dev *pdev = vd->pdev;
	int rc;

	rc = pcim_enable_device(pdev);
	if (!rc)
		rc = pcim_iomap_regions(pdev, BIT(0), "vgpu_stub");
	if (rc)
		return rc;
	vd->bar = pcim_iomap_table(pdev)[0];
	rc = vgpu_identify(vd);
	if (rc)
		return rc;
	pci_set_master(pdev);
	rc = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (!rc)
		rc = vgpu_pq_init(vd, &vd->admin, VGPU_ADMIN_Q,
				  VGPU_ADMIN_DEPTH, false);
	if (!rc)
		rc = vgpu_pq_init(vd, &vd->io, VGPU_IO_Q, VGPU_IO_DEPTH, true);
	if (rc)
		return rc;
	rc = vgpu_irq_setup(vd);
	if (rc)
		return rc;
	vgpu_evtchn_probe(vd);
	rc = vgpu_hw_init(vd);
	if (!rc) {
		vd->misc.minor = MISC_DYNAMIC_MINOR;
		vd->misc.name = "vgpu_stub";
		vd->misc.fops = &vgpu_fops;
		vd->misc.parent = &pdev->dev;
		vd->misc.mode = 0660;
		rc = misc_register(&vd->misc);
		if (!rc)
			return 0;
	}
	vgpu_hw_reset(vd); /* before the queues' memory goes */
	vgpu_evtchn_remove(vd);
	vgpu_irq_teardown(vd);
	return rc;
}

static int vgpu_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct vgpu_dev *vd = vgpu_dev_alloc(pdev);
	int rc;

	if (!vd)
		return -ENOMEM;
	rc = vgpu_probe_dev(vd);
	if (rc) {
		vgpu_dev_put(vd);
		return rc;
	}
	pci_set_drvdata(pdev, vd);
	dev_info(&pdev->dev,
		 "vgpu-stub abi %u.%u, %u queues, I/O queue depth %u, %s%s\n",
		 vd->version >> 16, vd->version & 0xffff, vd->max_queues,
		 VGPU_IO_DEPTH, vd->msi ? "MSI" : "INTx",
		 vd->features & VGPU_F_SESSIONS ? ", sessions" : "");
	if (vd->evtchn_on)
		dev_info(
			&pdev->dev,
			"doorbells and completions by event channel %u (irq %d)\n",
			vd->evtchn_port, vd->evtchn_irq);
	else
		dev_info(&pdev->dev, "doorbells by MMIO, completions by %s\n",
			 vd->msi ? "MSI" : "INTx");
	return 0;
}

/*
 * Unbind or hot-unplug, maybe with files open: no new opens, then dead
 * (every call and every sleeper sees it), the device reset (it lets go
 * of all guest memory), what was in flight failed and its pages given
 * back. The files keep the (refcounted) device object; sessions' pages
 * go when their files close.
 */
static void vgpu_remove(struct pci_dev *pdev)
{
	struct vgpu_dev *vd = pci_get_drvdata(pdev);

	misc_deregister(&vd->misc);
	down_write(&vd->alive);
	WRITE_ONCE(vd->dead, true);
	if (pci_device_is_present(pdev))
		vgpu_hw_reset(vd);
	up_write(&vd->alive);
	cancel_work_sync(&vd->reset_work);
	vgpu_evtchn_remove(vd);
	vgpu_irq_teardown(vd);
	vgpu_pq_fail_all(&vd->admin, -ENODEV);
	vgpu_pq_fail_all(&vd->io, -ENODEV);
	vgpu_sessions_lost(vd);
	flush_work(&vd->orphan_work); /* orphans given back */
	pci_set_drvdata(pdev, NULL);
	vgpu_dev_put(vd);
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
	.driver.pm = &vgpu_pm_ops,
};
static int __init vgpu_init(void)
{
	int rc;

	vgpu_wq = alloc_workqueue("vgpu_stub", WQ_UNBOUND, 0);
	if (!vgpu_wq)
		return -ENOMEM;
	rc = pci_register_driver(&vgpu_driver);
	if (rc)
		destroy_workqueue(vgpu_wq);
	return rc;
}
module_init(vgpu_init);

static void __exit vgpu_exit(void)
{
	pci_unregister_driver(&vgpu_driver);
	destroy_workqueue(vgpu_wq); /* the last session closes finish */
}
module_exit(vgpu_exit);

MODULE_DESCRIPTION("vgpu-stub (vgpu-ioreq) command queue driver");
MODULE_LICENSE("GPL");
