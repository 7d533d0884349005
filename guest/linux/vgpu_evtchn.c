// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu_stub: the Xen event channel (ABI 1.3, VGPU_REG_EVTCHN). In a Xen
 * guest with PV support (xen_domain()) and a device that offers
 * VGPU_F_EVTCHN, the driver allocates one unbound port for dom0 at probe,
 * binds it to an interrupt handler and names it to the device after every
 * reset. Once the device reads the port back, a doorbell is a notification
 * on it (one hypercall; no MMIO exit, the vCPU does not wait for the
 * emulator) and completions arrive on it instead of MSI/INTx. Without Xen,
 * without the feature, with xen_evtchn=0, or when the device does not take
 * the port, everything stays on MMIO doorbells and MSI/INTx.
 *
 * The port is ours for as long as the driver is bound: a device reset (or
 * a restarted emulator, or one whose domain half went away) leaves it
 * unbound on dom0's side, and the next registration binds it again;
 * remove() closes it after the device reset let go of it.
 */
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/module.h>

#ifdef CONFIG_XEN
#include <xen/xen.h>
#include <xen/events.h>
#include <xen/features.h>
#include <xen/interface/features.h>
#include <xen/interface/event_channel.h>
#include <asm/xen/hypercall.h>
#endif

#include "vgpu_drv.h"

/*
 * Off by default for now: in the lab the event channel makes a doorbell
 * cost a tenth of the vCPU time of an MMIO one, but a NOP's round trip is
 * slower (completion delivery through the event upcall, not yet profiled).
 */
static bool xen_evtchn;
module_param(xen_evtchn, bool, 0444);
MODULE_PARM_DESC(
	xen_evtchn,
	"1: on Xen with PV support, doorbells and completions by event channel when the device offers it; 0 (default): MMIO doorbells and MSI/INTx");

#ifdef CONFIG_XEN
static irqreturn_t vgpu_evtchn_irq(int irq, void *data)
{
	struct vgpu_dev *vd = data;

	atomic64_inc(&vd->st.irqs);
	vgpu_pq_reap(&vd->admin);
	vgpu_pq_reap(&vd->io);
	vgpu_sessions_wake(vd);
	return IRQ_HANDLED;
}

/* At probe: an unbound port for dom0, bound to our handler. */
void vgpu_evtchn_probe(struct vgpu_dev *vd)
{
	struct evtchn_alloc_unbound a = { .dom = DOMID_SELF, .remote_dom = 0 };
	int rc, irq;

	vd->evtchn_irq = -1;
	if (!xen_evtchn || !xen_domain() || !(vd->features & VGPU_F_EVTCHN))
		return;
	rc = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &a);
	if (rc) {
		dev_warn(&vd->pdev->dev,
			 "no event channel (%d): MMIO doorbells and %s\n", rc,
			 vd->msi ? "MSI" : "INTx");
		return;
	}
	/* the handler closes the port when it is unbound */
	irq = bind_evtchn_to_irqhandler(a.port, vgpu_evtchn_irq, 0,
					"vgpu_stub_evtchn", vd);
	if (irq < 0) {
		struct evtchn_close c = { .port = a.port };

		HYPERVISOR_event_channel_op(EVTCHNOP_close, &c);
		dev_warn(
			&vd->pdev->dev,
			"event channel %u: no interrupt (%d): MMIO doorbells\n",
			a.port, irq);
		return;
	}
	vd->evtchn_port = a.port;
	vd->evtchn_irq = irq;
}

/* After the device was reset (caller: alive for writing, or probe):
 * name the port; the device takes it, or everything stays on MMIO. */
void vgpu_evtchn_register(struct vgpu_dev *vd)
{
	u32 got;

	vd->evtchn_on = false;
	if (vd->evtchn_irq < 0)
		return;
	iowrite32(vd->evtchn_port, vd->bar + VGPU_REG_EVTCHN);
	got = ioread32(vd->bar + VGPU_REG_EVTCHN);
	WRITE_ONCE(vd->evtchn_on, got == vd->evtchn_port);
	if (!vd->evtchn_on)
		dev_warn(
			&vd->pdev->dev,
			"the device did not take event channel %u: MMIO doorbells and %s\n",
			vd->evtchn_port, vd->msi ? "MSI" : "INTx");
}

/* At remove, after the device reset let go of the port: close it. */
void vgpu_evtchn_remove(struct vgpu_dev *vd)
{
	vd->evtchn_on = false;
	if (vd->evtchn_irq >= 0)
		unbind_from_irqhandler(vd->evtchn_irq, vd);
	vd->evtchn_irq = -1;
}

/* Does an MSI of ours reach this guest as a Xen pirq (lost on restore)? */
bool vgpu_xen_pirq_msi(void)
{
	return xen_hvm_domain() && xen_feature(XENFEAT_hvm_pirqs);
}

/* Ring queue @qid's doorbell with @tail. Caller: inside the device
 * section; the tail is published in the queue's header already. */
void vgpu_ring_doorbell(struct vgpu_dev *vd, u32 qid, u32 tail)
{
	if (READ_ONCE(vd->evtchn_on)) {
		virt_wmb(); /* the header's tail before the notification */
		notify_remote_via_irq(vd->evtchn_irq);
	} else {
		iowrite32(tail, vd->bar + VGPU_REG_DOORBELL(qid));
	}
	atomic64_inc(&vd->st.doorbells);
}
#else /* !CONFIG_XEN */
void vgpu_evtchn_probe(struct vgpu_dev *vd)
{
	vd->evtchn_irq = -1;
}

void vgpu_evtchn_register(struct vgpu_dev *vd)
{
	vd->evtchn_on = false;
}

void vgpu_evtchn_remove(struct vgpu_dev *vd)
{
}

bool vgpu_xen_pirq_msi(void)
{
	return false;
}

void vgpu_ring_doorbell(struct vgpu_dev *vd, u32 qid, u32 tail)
{
	iowrite32(tail, vd->bar + VGPU_REG_DOORBELL(qid));
	atomic64_inc(&vd->st.doorbells);
}
#endif
