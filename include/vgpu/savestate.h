/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The device's state as it travels with a saved image or a migration
 * stream (xl save/restore/migrate): a versioned, checksummed blob of a
 * function's struct vdev_state (config space: BAR0, COMMAND, MSI,
 * INTERRUPT_LINE; the BAR0 address; the device model's register file with
 * its queues and their indices). A blob is data from another host: it is
 * checked whole before any of it is used.
 *
 * Layout (integers little-endian):
 *   0  "VGPUSAV\0"          8  u32 version (SAVESTATE_VERSION)
 *   12 u32 header bytes     16 char model[16], NUL-padded
 *   32 u32 sbdf             36 u32 state bytes (vdev_state_size())
 *   40 u32 flags (0)        44 u32 reserved (0)
 *   48 the state            48 + state: u32 CRC-32 of all bytes before it
 *
 * In XenStore it travels as hex text in chunks (savestate_hex_*), under
 * the 4096-byte limit of a XenStore write.
 */
#ifndef VGPU_SAVESTATE_H
#define VGPU_SAVESTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vgpu/vdev.h>

/* Bump when the blob's layout or any saved structure's layout changes
 * (dev_vgpu_stub.c asserts the size of what it saves). 2: the event
 * channel (ABI 1.3); 3: the grant quota in the limits (ABI 1.5). */
#define SAVESTATE_VERSION 3u
#define SAVESTATE_MAGIC "VGPUSAV"
#define SAVESTATE_HDR 48u
/* Hex characters of the blob per XenStore value. */
#define SAVESTATE_CHUNK 3072u

/* Bytes of the blob of a device model's state. */
size_t savestate_size(const struct vdev_ops *ops);

/*
 * Encode @st (vdev_state_size(ops) bytes) into @buf (savestate_size()
 * bytes). Returns the bytes written, or -ENOSPC.
 */
long savestate_encode(const struct vdev_ops *ops, const struct vdev_state *st,
		      void *buf, size_t cap);

/*
 * Check @len bytes of @blob and decode them into @st (vdev_state_size(ops)
 * bytes), made ready for a new ioreq server: no server, BAR0 not routed
 * (vdev_sync_bars() routes it again from config space), domid and domain
 * left for the caller. 0, or -EINVAL with a one-line reason in @err; @st
 * is untouched then.
 */
int savestate_decode(const struct vdev_ops *ops, const void *blob, size_t len,
		     struct vdev_state *st, char *err, size_t errlen);

/* Hex text of @len bytes (2 * len + 1 bytes of @out, NUL-terminated). */
void savestate_to_hex(const void *buf, size_t len, char *out);
/* Parse hex text into @out (at most @cap bytes). Bytes, or -EINVAL. */
long savestate_from_hex(const char *hex, void *out, size_t cap);

/*
 * Remove the state files in @dir (the run directory's vgpu-ioreq/) of
 * domains @gone says have ended: a worker keeps its state file across
 * restarts (cleared at a clean exit), and only vgpu-ioreqd removes it when
 * a domain dies; a daemon started another way (by hand, the xl script, the
 * systemd unit) sweeps at its start instead, so that they do not pile up.
 * Unlinking a file a dying daemon still maps is harmless. The count
 * removed, or -errno if @dir cannot be read.
 */
int savestate_sweep(const char *dir, bool (*gone)(uint32_t domid, void *arg),
		    void *arg);

#endif
