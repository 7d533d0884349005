// SPDX-License-Identifier: GPL-2.0-only
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "unit/engine_fx.h"

int efx_init(struct efx *f, const struct engine_limits *lim,
	     unsigned int threads)
{
	rec_init(&f->r);
	memset(f->q, 0, sizeof(f->q));
	memset(f->d, 0, sizeof(f->d));
	f->irq = 0;
	log_init(&f->lg, LOG_SINK_STDERR, -1);
	if (lim) {
		f->lim = *lim;
	} else {
		engine_limits_default(&f->lim);
		f->lim.poll_us = 0;
	}
	f->be = backend_cpu_create(threads);
	if (!f->be)
		return -1;
	f->en = engine_create(&f->r.host, f->be, &f->lg, &f->lim, f->q,
			      EFX_QUEUES);
	engine_set_bar(f->en, 0xf1000000, 0x1000);
	return f->en ? 0 : -1;
}

void efx_fini(struct efx *f)
{
	engine_destroy(f->en);
	f->be->ops->destroy(f->be);
	rec_fini(&f->r);
}

int efx_queue(struct efx *f, unsigned int qi, uint32_t depth, uint64_t base)
{
	struct efx_q *d = &f->d[qi];

	*d = (struct efx_q){ .hdr = base,
			     .sq = base + 0x1000,
			     .cq = base + 0x1000 +
				   (depth * 64 + 4095) / 4096 * 4096,
			     .depth = depth,
			     .phase = 1 };
	memset(f->r.ram + base, 0, 4096);
	f->q[qi].depth = depth;
	f->q[qi].hdr_gpa = d->hdr;
	f->q[qi].sq_gpa = d->sq;
	f->q[qi].cq_gpa = d->cq;
	return engine_queue_enable(f->en, qi);
}

struct vgpu_qhdr *efx_hdr(struct efx *f, unsigned int qi)
{
	return (struct vgpu_qhdr *)(f->r.ram + f->d[qi].hdr);
}

static struct vgpu_sqe *slot(struct efx *f, unsigned int qi, uint32_t i)
{
	struct efx_q *d = &f->d[qi];

	return (struct vgpu_sqe *)(f->r.ram + d->sq) + (i & (d->depth - 1));
}

void efx_put(struct efx *f, unsigned int qi, const struct vgpu_sqe *e)
{
	*slot(f, qi, f->d[qi].tail) = *e;
	__atomic_store_n(&efx_hdr(f, qi)->sq_tail.v, ++f->d[qi].tail,
			 __ATOMIC_RELEASE);
}

void efx_put_launch(struct efx *f, unsigned int qi, const struct vgpu_sqe *e,
		    const void *params, uint32_t len)
{
	struct efx_q *d = &f->d[qi];
	uint32_t i, n = (len + 63) / 64;

	*slot(f, qi, d->tail) = *e;
	for (i = 0; i < n; i++) {
		uint32_t k = len - 64 * i < 64 ? len - 64 * i : 64;

		memset(slot(f, qi, d->tail + 1 + i), 0, 64);
		memcpy(slot(f, qi, d->tail + 1 + i),
		       (const uint8_t *)params + 64 * i, k);
	}
	d->tail += 1 + n;
	__atomic_store_n(&efx_hdr(f, qi)->sq_tail.v, d->tail, __ATOMIC_RELEASE);
}

void efx_ring(struct efx *f, unsigned int qi)
{
	engine_doorbell(f->en, qi, f->d[qi].tail);
}

void efx_poll(struct efx *f)
{
	uint32_t irq = 0;

	engine_poll(f->en, &irq);
	f->irq |= irq;
}

bool efx_reap(struct efx *f, unsigned int qi, struct vgpu_cqe *out)
{
	struct efx_q *d = &f->d[qi];
	struct vgpu_cqe *cq = (struct vgpu_cqe *)(f->r.ram + d->cq);
	struct vgpu_cqe *e = &cq[d->head & (d->depth - 1)];

	if ((__atomic_load_n(&e->status, __ATOMIC_ACQUIRE) & VGPU_CQE_PHASE) !=
	    d->phase)
		return false;
	*out = *e;
	if ((++d->head & (d->depth - 1)) == 0)
		d->phase ^= 1;
	__atomic_store_n(&efx_hdr(f, qi)->cq_head.v, d->head, __ATOMIC_RELEASE);
	return true;
}

bool efx_wait(struct efx *f, unsigned int qi, struct vgpu_cqe *out, int ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { .fd = engine_poll_fd(f->en),
				    .events = POLLIN };

		efx_poll(f);
		if (efx_reap(f, qi, out))
			return true;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 +
			    (t.tv_nsec - t0.tv_nsec) / 1000000 >
		    ms)
			return false;
		poll(&p, 1, 10);
	}
}

uint32_t efx_run(struct efx *f, unsigned int qi, struct vgpu_sqe e,
		 uint64_t *result)
{
	struct vgpu_cqe c;

	efx_put(f, qi, &e);
	efx_ring(f, qi);
	if (!efx_wait(f, qi, &c, 20000))
		return 0xffff;
	if (c.cid != e.cid)
		return 0xfffe;
	if (result)
		*result = c.result;
	return VGPU_CQE_CODE(c.status);
}

uint32_t efx_launch(struct efx *f, unsigned int qi, struct vgpu_sqe e,
		    const void *params, uint32_t len)
{
	struct vgpu_cqe c;

	efx_put_launch(f, qi, &e, params, len);
	efx_ring(f, qi);
	if (!efx_wait(f, qi, &c, 20000))
		return 0xffff;
	return c.cid == e.cid ? VGPU_CQE_CODE(c.status) : 0xfffe;
}

uint32_t efx_session(struct efx *f, unsigned int bind, uint64_t base)
{
	uint64_t h = 0;

	if (efx_run(f, 1,
		    (struct vgpu_sqe){ .opcode = VGPU_OP_SESSION_OPEN,
				       .cid = 0x5e55,
				       .obj = { .obj = bind } },
		    &h) != VGPU_S_OK ||
	    efx_queue(f, bind, 8, base) < 0)
		return 0;
	return (uint32_t)h;
}

uint32_t efx_region(struct efx *f, uint32_t session,
		    const struct vgpu_extent *x, uint32_t n, uint64_t list,
		    uint32_t *handle)
{
	uint64_t bytes = 0, h = 0;
	uint32_t i, st;

	for (i = 0; i < n; i++)
		bytes += x[i].len;
	memcpy(f->r.ram + list, x, n * sizeof(*x));
	st = efx_run(f, 1,
		     (struct vgpu_sqe){ .opcode = VGPU_OP_REGION_ADD,
					.cid = 0x4e6,
					.session = session,
					.region = { .list_gpa = list,
						    .nents = n,
						    .bytes = bytes } },
		     &h);
	if (handle)
		*handle = (uint32_t)h;
	return st;
}

void *efx_data(const char *name, size_t *len)
{
	const char *dir = getenv("VGPU_TEST_DATA");
	char path[512];
	FILE *fp;
	void *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/data", name);
	fp = fopen(path, "rb");
	if (!fp)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(fp);
	*len = (size_t)n;
	return buf;
}
