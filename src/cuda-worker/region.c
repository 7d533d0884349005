// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu-cuda-worker: a session's client memory. A region the proxy could
 * hand over as a file (loopback's memfd, a pinned pool) is mapped here
 * once and registered with cuMemHostRegister in the session's own context
 * (not portable: no other session's kernels or copies can reach it), so
 * its copies are DMA with no copy at all. A region the driver will not
 * register, or one past the VM's pinned limit, still works, pageable.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "worker.h"

static void region_map(struct wk_session *s, struct wk_region *r, uint64_t off)
{
	CUresult rc;

	r->va = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd,
		     (off_t)off);
	if (r->va == MAP_FAILED) {
		wk_log("cannot map region %u: %m", r->id);
		r->va = NULL;
		return;
	}
	if (!wk_pinned_reserve(s->w, r->len)) {
		wk_log("region %u over the pinned limit: pageable copies",
		       r->id);
		return;
	}
	rc = cuMemHostRegister(r->va, r->len, 0);
	r->registered = rc == CUDA_SUCCESS;
	if (!r->registered) {
		wk_pinned_release(s->w, r->len);
		wk_log("region %u not registered (%s): pageable copies", r->id,
		       wk_errname(rc));
	}
}

void wk_region_op(struct wk_session *s, const struct cw_req *q)
{
	uint64_t len, off;
	struct wk_region *r, *n;
	int fd;

	if (q->op == CW_OP_REGION_UNREG) {
		wk_track_wait(s, WK_WAIT_REGION_UNREG, NULL, q->h.token,
			      q->h.gen, NULL, q->u);
		return;
	}
	fd = wk_region_fd_take(s->w, q->u[0], &len, &off);
	if (fd < 0) {
		wk_log("region %u never came", q->u[0]);
		return;
	}
	n = realloc(s->regions, (s->nregions + 1) * sizeof(*n));
	if (!n) {
		close(fd);
		return;
	}
	s->regions = n;
	r = &n[s->nregions++];
	memset(r, 0, sizeof(*r));
	r->id = q->u[0];
	r->fd = fd;
	r->len = len;
	region_map(s, r, off);
}
