/* SPDX-License-Identifier: GPL-2.0-only */
/* vgpu-cuda-lab: a session's mapped queue driven by hand (what its two
 * files share). */
#ifndef VGPU_CUDA_LAB_H
#define VGPU_CUDA_LAB_H

#include <stddef.h>
#include <stdint.h>

#include <vgpu/vgpu_ring_abi.h>
#include <vgpu/vgpu_stub_uapi.h>

struct sess {
	int fd;
	struct vgpu_ioc_session s;
	struct vgpu_qhdr *h;
	struct vgpu_sqe *sq;
	const struct vgpu_cqe *cq;
	uint8_t *pool;
	uint32_t tail, head;
	uint16_t cid;
};

/* The pool's layout in these tests (the default pool is 4 MiB). */
#define POOL_IMAGE 0 /* a module image, up to 1 MiB */
#define POOL_NAME (1u << 20) /* a kernel name */
#define POOL_OUT ((1u << 20) + 4096) /* FUNC_GET / DEVICE_INFO output */
#define POOL_DATA (2u << 20) /* data for copies, 1 MiB */

extern unsigned int passed, failed;
void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int sess_open(struct sess *q);
void sess_close(struct sess *q);
void sess_push(struct sess *q, struct vgpu_sqe e);
void sess_publish(struct sess *q);
int sess_reap(struct sess *q, struct vgpu_cqe *out, uint64_t timeout_ns);
uint32_t sess_run(struct sess *q, struct vgpu_sqe e, uint64_t *res);

struct vgpu_sqe op(uint8_t opcode);
struct vgpu_sqe copy(uint8_t opcode, uint64_t dptr, uint32_t region,
		     uint64_t off, uint64_t len);
struct vgpu_sqe obj(uint8_t opcode, uint32_t o, uint32_t o2, uint32_t stream);
struct vgpu_sqe image(uint32_t region, uint64_t off, uint64_t len);
struct vgpu_sqe launch(uint32_t func, uint32_t stream, uint32_t grid,
		       uint32_t block, uint32_t param_len);
void push_launch(struct sess *q, struct vgpu_sqe e, const void *params,
		 uint32_t slots);
uint32_t load_module(struct sess *q, const void *img, size_t len,
		     uint64_t *mod);
uint32_t get_func(struct sess *q, uint32_t mod, const char *name,
		  uint64_t *func, uint32_t *param_bytes);
void *slurp(const char *path, size_t *len);

int cmd_evil(const void *img, size_t len);

#endif
