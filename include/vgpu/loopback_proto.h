/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * The loopback transport's wire protocol: vgpu-ioreq serves the same
 * device model, queues and backends to local processes with no
 * hypervisor. Each connection is one "VM": its own device, quotas and
 * backend, served by its own process.
 *
 * A client connects to the daemon's Unix socket (SOCK_SEQPACKET) and
 * sends VGPU_LOOP_HELLO with three descriptors (SCM_RIGHTS), in order:
 *   - a memfd that stands in for guest RAM: a "guest-physical address"
 *     is an offset into it, val = its size in bytes (a multiple of 4096);
 *   - an eventfd the client writes to ring doorbells (the device then
 *     looks at the tail of every live queue);
 *   - an eventfd the device writes to interrupt the client (its MSI).
 * The reply is VGPU_LOOP_HELLO with status 0 and val = the device's ABI
 * version, or status -errno. Then every BAR0 access is one message and
 * one reply, in order: READ (off, size) -> val; WRITE (off, size, val).
 * size is 1, 2, 4 or 8. Closing the socket is the VM's death: the device
 * and everything its sessions owned are freed.
 */
#ifndef VGPU_LOOPBACK_PROTO_H
#define VGPU_LOOPBACK_PROTO_H

#include <stdint.h>

#define VGPU_LOOP_MAGIC 0x50474c56u /* "VLGP" */
#define VGPU_LOOP_VERSION 1

enum vgpu_loop_type {
	VGPU_LOOP_HELLO = 1,
	VGPU_LOOP_READ = 2,
	VGPU_LOOP_WRITE = 3,
};

struct vgpu_loop_msg {
	uint32_t magic; /* VGPU_LOOP_MAGIC */
	uint32_t type; /* enum vgpu_loop_type */
	uint32_t version; /* VGPU_LOOP_VERSION (HELLO) */
	uint32_t size; /* READ/WRITE: access size */
	uint64_t off; /* READ/WRITE: BAR0 offset */
	uint64_t val; /* see above */
	int32_t status; /* replies: 0 or -errno */
	uint32_t rsvd; /* 0 */
};

/* The environment variable the guest libraries read: the socket's path
 * (unset: the kernel driver, /dev/vgpu_stub). */
#define VGPU_LOOP_ENV "VGPU_LOOPBACK"

_Static_assert(sizeof(struct vgpu_loop_msg) == 40, "loopback message");

#endif
