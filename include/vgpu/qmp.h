/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Ask the domain's QEMU (through libxl's QMP socket) whether it already
 * uses a PCI slot: Xen lets a newer ioreq server claim a function QEMU
 * emulates, silently, so the daemon checks before it claims.
 */
#ifndef VGPU_QMP_H
#define VGPU_QMP_H

#include <stddef.h>
#include <stdint.h>

#define QMP_SOCKET_FMT "/var/run/xen/qmp-libxl-%u"

/*
 * Look up bus 0 @dev.@fn in QEMU's "query-pci" answer on @sock_path.
 * 1 if QEMU has a device there (its description in @desc), 0 if not,
 * -errno if QEMU could not be asked (no socket, timeout, bad answer).
 */
int qmp_slot_in_use(const char *sock_path, unsigned int dev, unsigned int fn,
		    char *desc, size_t desclen);
/* The same, on an answer already read (for tests). */
int qmp_parse_query_pci(const char *json, unsigned int dev, unsigned int fn,
			char *desc, size_t desclen);

#endif
