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
 *     is an offset into it, val = its size in bytes (a multiple of 4096,
 *     at most 1 TiB). It must be a memfd (memfd_create, not hugetlb),
 *     open read/write, sealed against shrinking (F_SEAL_SHRINK, so that
 *     nothing the device maps can vanish under it) and not against
 *     writing, and hold at least val bytes;
 *   - an eventfd the client writes to ring doorbells (the device then
 *     looks at the tail of every live queue);
 *   - an eventfd the device writes to interrupt the client (its MSI: the
 *     server programs the device's MSI capability itself; one increment
 *     per message).
 * The server sets O_NONBLOCK on both eventfds (the flag belongs to the
 * file description the client shares): poll them, do not rely on a
 * blocking read.
 * The reply is VGPU_LOOP_HELLO with status 0 and val = the device's ABI
 * version, or status -errno, after which the server closes the
 * connection:
 *   -EPROTO  a malformed HELLO, or not exactly three descriptors;
 *   -EBADF   a descriptor of the wrong kind (not a memfd, not an eventfd,
 *            the memfd not open read/write);
 *   -EPERM   the memfd is not sealed against shrinking, or is sealed
 *            against writing;
 *   -EINVAL  a bad size (see above);
 *   -EBUSY   the server serves --max-connections VMs already (sent at
 *            once, before the client's HELLO is read);
 *   -ETIMEDOUT no HELLO within VGPU_LOOP_HELLO_MS.
 * Then every BAR0 access is one message and exactly one reply, in order:
 * READ (off, size) -> val; WRITE (off, size, val). size is 1, 2, 4 or 8,
 * off + size at most the BAR's size, a READ's val 0 and a WRITE's val
 * without bits above size; a reply echoes type, off and size, with status 0, or -EINVAL for
 * a bad size or offset. A message that is not 40 bytes, has a bad magic,
 * an unknown type, or a non-zero version, status or rsvd is answered with
 * -EPROTO (type echoed as received); a second HELLO with -EISCONN. The
 * device's deferred work (a doorbell register's commands) runs after the
 * reply is sent, as it runs after a vCPU is released on Xen.
 * Closing the socket is the VM's death: the device and everything its
 * sessions owned are freed. A zero-length message reads as a close.
 */
#ifndef VGPU_LOOPBACK_PROTO_H
#define VGPU_LOOPBACK_PROTO_H

#include <stdint.h>

#define VGPU_LOOP_MAGIC 0x50474c56u /* "VLGP" */
#define VGPU_LOOP_VERSION 1
#define VGPU_LOOP_HELLO_MS 10000 /* a connection must say HELLO by then */

enum vgpu_loop_type {
	VGPU_LOOP_HELLO = 1,
	VGPU_LOOP_READ = 2,
	VGPU_LOOP_WRITE = 3,
};

struct vgpu_loop_msg {
	uint32_t magic; /* VGPU_LOOP_MAGIC */
	uint32_t type; /* enum vgpu_loop_type */
	uint32_t version; /* VGPU_LOOP_VERSION in a HELLO, else 0 */
	uint32_t size; /* READ/WRITE: access size; HELLO: 0 */
	uint64_t off; /* READ/WRITE: BAR0 offset; HELLO: 0 */
	uint64_t val; /* see above */
	int32_t status; /* replies: 0 or -errno; requests: 0 */
	uint32_t rsvd; /* 0 */
};

/* The environment variable the guest libraries read: the socket's path
 * (unset: the kernel driver, /dev/vgpu_stub). */
#define VGPU_LOOP_ENV "VGPU_LOOPBACK"

_Static_assert(sizeof(struct vgpu_loop_msg) == 40, "loopback message");

#endif
