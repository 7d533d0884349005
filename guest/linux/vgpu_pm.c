// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu_stub: the guest being saved, migrated or restored (Xen's
 * cooperative suspend runs these callbacks: drivers/xen/manage.c; a
 * hibernation image does too). Plain system sleep keeps the defaults.
 *
 * freeze: user processes are frozen already, so no new work comes; wait
 * until the device has nothing left of its own (VGPU_REG_INFLIGHT, ABI
 * 1.4), so that no completion lands in guest memory after the toolstack
 * copied it. A device that does not get there is left to the emulator,
 * which refuses to seal a state with commands in flight (the save fails,
 * the guest runs on).
 *
 * restore: the domain is a new one, its device came back with the state
 * the emulator saved. What the hypervisor routed for the old domain is
 * gone: INTx is a GSI, which Linux binds again on resume (restore_pirqs()),
 * but an MSI taken as a Xen pirq is not, and our event channel was closed.
 * An event-channel device falls back to MMIO doorbells and MSI/INTx (the
 * restored device unbound the old port too); a pirq MSI (only with
 * use_msi=1 on such a guest) is not set up again here (freeing and
 * reallocating the vector in this callback hung or triple-faulted the lab's
 * restored guest): its sleepers poll every jiffy instead, and say so. Then
 * take what completed meanwhile and let the recovery path deal with
 * queues the device stopped (sessions and device memory do not travel:
 * VGPU_QERR_RESTART).
 *
 * thaw (a cancelled save: the same domain goes on): nothing was lost.
 */
#include <linux/delay.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/pm.h>

#include "vgpu_drv.h"

#define VGPU_QUIESCE_JIFFIES (10 * HZ)

static int vgpu_pm_freeze(struct device *dev)
{
	struct vgpu_dev *vd = dev_get_drvdata(dev);
	unsigned long end = jiffies + VGPU_QUIESCE_JIFFIES;
	u32 n;

	if (!vd || !(vd->features & VGPU_F_INFLIGHT) || vgpu_alive_enter(vd))
		return 0;
	while ((n = ioread32(vd->bar + VGPU_REG_INFLIGHT)) &&
	       time_before(jiffies, end))
		usleep_range(500, 1000);
	vgpu_alive_exit(vd);
	if (n)
		dev_warn(
			dev,
			"%u commands still running after 10 s: the emulator may refuse this save\n",
			n);
	return 0;
}

static int vgpu_pm_restore(struct device *dev)
{
	struct vgpu_dev *vd = dev_get_drvdata(dev);

	if (!vd)
		return 0;
	down_write(&vd->alive);
	if (vd->dead) {
		up_write(&vd->alive);
		return 0;
	}
	if (vd->evtchn_on) {
		/* the port was the old domain's: MMIO doorbells from here */
		WRITE_ONCE(vd->evtchn_on, false);
		dev_info(dev, "restored: doorbells by MMIO again\n");
	}
	if (vd->msi && vgpu_xen_pirq_msi() && !vd->irq_lost) {
		WRITE_ONCE(vd->irq_lost, true);
		dev_warn(
			dev,
			"restored: the MSI pirq is not bound again, completions are polled (use_msi=0 or the default keeps INTx, which survives)\n");
	}
	up_write(&vd->alive);
	dev_info(dev, "restored: completions by %s\n",
		 vd->irq_lost ? "polling" :
		 vd->msi      ? "MSI" :
				"INTx");
	vgpu_irq_work(vd);
	vgpu_schedule_reset(vd); /* runs only if the device lost state */
	return 0;
}

const struct dev_pm_ops vgpu_pm_ops = {
	.freeze = vgpu_pm_freeze,
	.restore = vgpu_pm_restore,
};
