/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The loopback host seam (src/host_loop.c), sibling of host_xen.c: "guest
 * RAM" is the client's memfd (a guest-physical address is an offset into
 * it), the MSI is a write to the client's interrupt eventfd, and there is
 * no MMIO routing to do. include/vgpu/loopback_proto.h is the protocol.
 */
#ifndef VGPU_HOST_LOOP_H
#define VGPU_HOST_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include <vgpu/host.h>
#include <vgpu/log.h>

/* Largest "guest RAM" a client may offer: 1 TiB of address space (the
 * memfd is sparse; only what is touched costs memory). */
#define LOOP_RAM_MAX (1ull << 40)

struct loop_host;

/*
 * Check that @memfd is a memfd (shmem, not hugetlbfs) open read/write,
 * sealed against shrinking and not against writing, holding at least
 * @size bytes (a non-zero multiple of 4096, at most LOOP_RAM_MAX). 0, or
 * -errno with a one-line reason in @why: -EBADF a descriptor of the wrong
 * kind, -EPERM the wrong seals, -EINVAL a bad size.
 */
int loop_check_memfd(int memfd, uint64_t size, char *why, size_t len);
/* Check that @fd is an eventfd and make it non-blocking (our side never
 * waits on the client's counter). 0 or -EBADF with @why naming @what. */
int loop_check_eventfd(int fd, const char *what, char *why, size_t len);

/*
 * Map the checked memfd; @irq_fd is the checked interrupt eventfd. Takes
 * ownership of both descriptors (also on failure). 0 or -errno, with a
 * reason in @why.
 */
int loop_host_open(struct loop_host **out, int memfd, uint64_t size, int irq_fd,
		   struct logger *lg, char *why, size_t len);
struct host *loop_host_seam(struct loop_host *lh);
/* Interrupts written to the client (MSIs, INTx edges). */
uint64_t loop_host_irqs(const struct loop_host *lh);
/* Unmap and close everything. NULL is fine. */
void loop_host_close(struct loop_host *lh);

#endif
