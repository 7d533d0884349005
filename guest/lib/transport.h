/* SPDX-License-Identifier: MIT */
/*
 * How the guest libraries reach the device: the kernel driver
 * (/dev/vgpu_stub, include/vgpu/vgpu_stub_uapi.h) or, when the
 * environment names a socket (VGPU_LOOPBACK, include/vgpu/loopback_proto.h),
 * the loopback transport. Either way a session comes with its own
 * submission and completion queue and a pinned pool, all mapped into this
 * process: the core (core.c) writes entries, publishes the tail and reaps
 * completions itself, and calls the transport only to ring a doorbell the
 * queue header asks for, to sleep until a completion, and for further
 * pinned regions.
 */
#ifndef VGPU_TRANSPORT_H
#define VGPU_TRANSPORT_H

#include <stdint.h>

#include <vgpu/vgpu_ring_abi.h>

struct vgpu_tr;

struct vgpu_tr_session {
	uint32_t session; /* the device's session id */
	uint32_t depth; /* SQ and CQ entries (a power of two) */
	struct vgpu_qhdr *hdr; /* the session queue, mapped */
	struct vgpu_sqe *sq;
	struct vgpu_cqe *cq;
	uint32_t pool_region; /* the pinned pool: region id, mapping */
	void *pool;
	uint64_t pool_len;
	uint32_t abi_version; /* VGPU_REG_VERSION */
	uint32_t features; /* VGPU_F_* */
	struct vgpu_tr *tr; /* the transport's own state */
	const struct vgpu_tr_ops *ops;
};

struct vgpu_tr_params {
	uint32_t sq_depth; /* 0: the transport's default */
	uint64_t pool_bytes; /* 0: the transport's default */
};

struct vgpu_tr_ops {
	const char *name;
	/* Open a session. 0 or -errno (-ENOENT: no device). */
	int (*open)(struct vgpu_tr_session *s, const struct vgpu_tr_params *p);
	/* The header asked for a doorbell: ring it. 0 or -errno. */
	int (*doorbell)(struct vgpu_tr_session *s);
	/* Sleep until CQ entry @head is posted. 0, -EINTR (nothing lost:
	 * call again), -ETIMEDOUT (timeout_ns, 0: none), -ENODEV (the
	 * session is gone: device reset, emulator restart). */
	int (*wait)(struct vgpu_tr_session *s, uint32_t head,
		    uint64_t timeout_ns);
	/* A further pinned region of the session. 0 or -errno. */
	int (*region_alloc)(struct vgpu_tr_session *s, uint64_t bytes,
			    uint32_t *region, void **va, uint64_t *len);
	int (*region_free)(struct vgpu_tr_session *s, uint32_t region, void *va,
			   uint64_t len);
	/* Close the session; everything it owned on the device is freed. */
	void (*close)(struct vgpu_tr_session *s);
};

extern const struct vgpu_tr_ops vgpu_tr_kernel; /* transport_kernel.c */
extern const struct vgpu_tr_ops vgpu_tr_loop; /* transport_loop.c */

/* The transport the environment asks for (VGPU_LOOPBACK set: loopback). */
const struct vgpu_tr_ops *vgpu_tr_choose(void);

#endif
