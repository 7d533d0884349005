// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu_stub: VGPU_IOC_SUBMIT, one ABI 1.1 command on the I/O queue with
 * user memory pinned into a scatter-gather list. The pins and the DMA
 * mappings live until the command's completion (matched by cid) arrives
 * or the device is reset; a command that completed reports its result
 * whatever signal came meanwhile; only a fatal signal ends the wait
 * early, and the command then finishes on its own.
 */
#include <linux/dma-mapping.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vgpu_drv.h"

struct vgpu_legacy {
	struct vgpu_cmd c;
	struct vgpu_dev *vd;
	struct page *pages[VGPU_SGL_MAX];
	dma_addr_t dma[VGPU_SGL_MAX];
	u32 len[VGPU_SGL_MAX];
	int npinned, nmapped;
	bool to_user;
};

static enum dma_data_direction legacy_dir(const struct vgpu_legacy *lc)
{
	return lc->to_user ? DMA_FROM_DEVICE : DMA_TO_DEVICE;
}

/* Give back what the device was lent; the device is done with it. */
static void legacy_release(struct vgpu_cmd *c)
{
	struct vgpu_legacy *lc = container_of(c, struct vgpu_legacy, c);
	struct device *dev = &lc->vd->pdev->dev;
	int i;

	for (i = 0; i < lc->nmapped; i++)
		dma_unmap_page(dev, lc->dma[i], lc->len[i], legacy_dir(lc));
	if (lc->npinned > 0)
		unpin_user_pages_dirty_lock(lc->pages, lc->npinned,
					    lc->to_user);
	kfree(lc);
}

/* The 1.1 commands, and whether they take the user buffer. Anything else
 * (the 1.2 privileged commands above all) never reaches the queue. */
static int legacy_opcode(u8 op, bool *buffer)
{
	switch (op) {
	case VGPU_OP_GET_INFO:
	case VGPU_OP_MEMCPY_H2D:
	case VGPU_OP_MEMCPY_D2H:
		*buffer = true;
		return 0;
	case VGPU_OP_NOP:
	case VGPU_OP_MEM_ALLOC:
	case VGPU_OP_MEM_FREE:
	case VGPU_OP_COMPUTE:
		*buffer = false;
		return 0;
	}
	return -EINVAL;
}

/* Check the buffer in 64 bits, before anything narrows it: 0 or -errno,
 * with the number of pages it spans. */
static int legacy_check(const struct vgpu_ioc_cmd *cmd, bool buffer,
			int *npages)
{
	u64 first, last;

	*npages = 0;
	if (memchr_inv(cmd->rsvd0, 0, sizeof(cmd->rsvd0)) || cmd->rsvd1)
		return -EINVAL;
	if (!buffer)
		return cmd->buf || cmd->len ? -EINVAL : 0;
	if (!cmd->len || cmd->buf + cmd->len < cmd->buf)
		return -EINVAL;
	if (cmd->len > (u64)VGPU_SGL_MAX * PAGE_SIZE)
		return -E2BIG;
	first = cmd->buf >> PAGE_SHIFT;
	last = (cmd->buf + cmd->len - 1) >> PAGE_SHIFT;
	if (last - first >= VGPU_SGL_MAX)
		return -E2BIG;
	*npages = (int)(last - first + 1);
	return 0;
}

static int legacy_pin(struct vgpu_legacy *lc, u64 buf, int n)
{
	int got = pin_user_pages_fast(buf & PAGE_MASK, n,
				      lc->to_user ? FOLL_WRITE : 0, lc->pages);

	if (got > 0)
		lc->npinned = got;
	if (got == n)
		return 0;
	return got < 0 ? got : -EFAULT;
}

/* DMA-map the pinned pages into the cid's SGL page. */
static int legacy_map(struct vgpu_legacy *lc, u64 buf, u64 len,
		      struct vgpu_sgl_entry *sgl)
{
	struct device *dev = &lc->vd->pdev->dev;
	unsigned long off = offset_in_page(buf);
	int i;

	for (i = 0; i < lc->npinned; i++) {
		u32 n = min_t(u64, PAGE_SIZE - off, len);
		dma_addr_t a =
			dma_map_page(dev, lc->pages[i], off, n, legacy_dir(lc));

		if (dma_mapping_error(dev, a))
			return -ENOMEM;
		lc->dma[i] = a;
		lc->len[i] = n;
		lc->nmapped = i + 1;
		sgl[i].gpa = cpu_to_le64(a);
		sgl[i].len = cpu_to_le32(n);
		sgl[i].rsvd = 0;
		len -= n;
		off = 0;
	}
	return 0;
}

static void legacy_sqe(struct vgpu_legacy *lc, const struct vgpu_ioc_cmd *cmd)
{
	struct vgpu_pq *io = &lc->vd->io;
	struct vgpu_sqe *e = &lc->c.sqe;
	int i;

	memset(e, 0, sizeof(*e));
	e->opcode = cmd->opcode;
	for (i = 0; i < 4; i++)
		e->arg[i] = cpu_to_le64(cmd->arg[i]);
	if (cmd->opcode == VGPU_OP_MEMCPY_H2D ||
	    cmd->opcode == VGPU_OP_MEMCPY_D2H)
		e->arg[1] = cpu_to_le64(cmd->len);
	if (lc->npinned) {
		e->sgl_gpa =
			cpu_to_le64(io->sgl_dma + (u64)lc->c.cid * PAGE_SIZE);
		e->sgl_nents = cpu_to_le32(lc->npinned);
	}
}

/* Pin, reserve a cid, map, submit, wait. 0 once the command completed
 * (its status and result in @lc), or -errno. */
static int legacy_run(struct vgpu_legacy *lc, const struct vgpu_ioc_cmd *cmd,
		      int npages)
{
	struct vgpu_pq *io = &lc->vd->io;
	int rc = 0;

	if (npages)
		rc = legacy_pin(lc, cmd->buf, npages);
	if (!rc)
		rc = vgpu_pq_reserve(io, &lc->c, true);
	if (rc)
		return rc;
	if (npages)
		rc = legacy_map(lc, cmd->buf, cmd->len,
				io->sgl + (size_t)lc->c.cid * PAGE_SIZE);
	if (!rc) {
		legacy_sqe(lc, cmd);
		rc = vgpu_pq_submit(io, &lc->c);
	}
	if (rc) {
		vgpu_pq_unreserve(io, &lc->c);
		return rc;
	}
	return vgpu_pq_wait(io, &lc->c, true);
}

long vgpu_legacy_submit(struct vgpu_dev *vd, void __user *uarg)
{
	struct vgpu_ioc_cmd cmd;
	struct vgpu_legacy *lc;
	bool buffer;
	int npages, rc;

	if (copy_from_user(&cmd, uarg, sizeof(cmd)))
		return -EFAULT;
	rc = legacy_opcode(cmd.opcode, &buffer);
	if (!rc)
		rc = legacy_check(&cmd, buffer, &npages);
	if (rc)
		return rc;
	lc = kzalloc(sizeof(*lc), GFP_KERNEL);
	if (!lc)
		return -ENOMEM;
	lc->vd = vd;
	lc->c.release = legacy_release;
	lc->to_user = cmd.opcode != VGPU_OP_MEMCPY_H2D;
	rc = legacy_run(lc, &cmd, npages);
	if (rc == -EINTR)
		return rc; /* killed: an orphan, given back when it completes */
	cmd.status = lc->c.status;
	cmd.result = lc->c.result;
	legacy_release(&lc->c);
	if (!rc && copy_to_user(uarg, &cmd, sizeof(cmd)))
		rc = -EFAULT;
	return rc;
}
