/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The carrier of the saved device state (README "Save, restore and
 * migration"): entries of our own under the emulator's XenStore physmap
 * directory, /local/domain/0/device-model/<domid>/physmap/, which libxl
 * 4.17 saves with the image (or sends in the migration stream) and writes
 * back under the new domid before it starts the device model. libxl takes
 * every entry with exactly the keys start_addr, size and name, and fails
 * the save if one is missing: our seal entry, vgpu-BB-DD-F, is written
 * without its name while the guest runs ("armed": a save now fails
 * loudly), and completed only once the state of the suspended domain is
 * written in the chunk entries vgpu-BB-DD-F-N (hex, SAVESTATE_CHUNK
 * characters each). An internal libxl format with no stability promise.
 */
#ifndef VGPU_SAVESTATE_XS_H
#define VGPU_SAVESTATE_XS_H

#include <stddef.h>
#include <stdint.h>

#include <vgpu/log.h>
#include <vgpu/vdev.h>
#include <vgpu/xs.h>

/* Remove our entries, then write the seal without its name. */
int savestate_xs_arm(struct xsg *x, uint32_t domid, uint32_t sbdf);
/* Remove our entries (no save can carry the device). */
void savestate_xs_clear(struct xsg *x, uint32_t domid, uint32_t sbdf);
/* Write @len bytes of blob in chunks, then complete the seal. */
int savestate_xs_put(struct xsg *x, uint32_t domid, uint32_t sbdf,
		     const void *blob, size_t len);
/*
 * Read the blob libxl restored under @domid into @blob (at most @cap
 * bytes). Bytes, or -errno with a one-line reason in @err.
 */
long savestate_xs_get(struct xsg *x, uint32_t domid, uint32_t sbdf, void *blob,
		      size_t cap, char *err, size_t errlen);

/*
 * The saved state of the function a running vgpu-ioreq serves: its state
 * file, read twice (equal reads: the emulator is idle), checked by the
 * device model (no command in flight), encoded into @blob
 * (savestate_size() bytes). Bytes, or -errno with a reason in @err.
 */
long savestate_snapshot(const struct vdev_ops *ops, const char *state_path,
			void *blob, size_t cap, char *err, size_t errlen);

/*
 * --save-watch: arm the carrier, then on every suspend of the domain
 * snapshot the device and seal the entries; re-arm when the domain runs
 * again; return when the domain is gone. 0, or -errno (logged). With
 * @refuse the seal is never completed: every save fails, with the reason
 * in the log (restore through the xl script is not proven yet).
 */
int savestate_watch(const struct vdev_ops *ops, uint32_t domid, uint32_t sbdf,
		    const char *state_path, bool refuse, struct logger *lg);

/* RUNSTATEDIR/vgpu-ioreq/dDOMID-DD.F.state: a running vgpu-ioreq's state. */
void savestate_state_path(char *buf, size_t len, uint32_t domid, uint32_t sbdf);

/*
 * --restore-state: the blob from @src ("xenstore": what libxl restored
 * under @domid, removed once read; otherwise a file), decoded into @st.
 * 0, or -errno (logged with the reason).
 */
int savestate_load(const char *src, const struct vdev_ops *ops, uint32_t domid,
		   uint32_t sbdf, struct vdev_state *st, struct logger *lg);
/* --save-state: snapshot the running vgpu-ioreq of @domid into @dest
 * ("xenstore": sealed into the carrier; otherwise a file). 0 or -errno
 * (logged). */
int savestate_save(const char *dest, const struct vdev_ops *ops, uint32_t domid,
		   uint32_t sbdf, struct logger *lg);

#endif
