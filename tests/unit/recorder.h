/* SPDX-License-Identifier: GPL-2.0-only */
/* A struct host that records routing calls and fakes guest memory. */
#ifndef TEST_RECORDER_H
#define TEST_RECORDER_H

#include <stdbool.h>
#include <stdint.h>

#include <vgpu/host.h>
#include <vgpu/log.h>
#include <vgpu/vdev.h>

#define REC_MAX 64
#ifndef REC_RAM_SIZE
#define REC_RAM_SIZE 0x4000u /* guest RAM at gpa 0 */
#endif

struct rec_call {
	bool map; /* map or unmap */
	uint64_t gpa, len;
};

struct recorder {
	struct host host;
	struct rec_call calls[REC_MAX];
	unsigned int n;
	int fail_map; /* -errno returned by the next map, 0 = succeed */
	int guest_maps; /* map_guest calls not yet undone */
	unsigned int msis; /* messages sent */
	uint64_t msi_addr;
	uint32_t msi_data;
	int intx; /* INTA level */
	unsigned int frame_maps; /* map_guest_frames calls not yet undone */
	uint64_t dirty_bytes; /* mark_dirty's total */
	unsigned int dirty_calls;
	uint8_t dirty[REC_RAM_SIZE / 4096]; /* pages marked, one byte each */
	/* REC_RAM_SIZE bytes of shared memory, so that map_guest_frames can
	 * map scattered frames as one range that aliases them, as Xen's
	 * foreign mappings do */
	uint8_t *ram;
	/* regions granted to the guest (host_ops.grant_*): offered only
	 * while grants_on; grant_fail: errno of the next grant_alloc */
	bool grants_on;
	int grant_fail;
	uint32_t granted; /* pages granted and not freed */
	uint32_t next_ref; /* the next grant reference handed out */
	void *grant_va; /* the last grant's pages */
};

/* Zero the recorder; its RAM (allocated on first use, kept after) too.
 * The recorder must start zeroed (static, or calloc'd). */
void rec_init(struct recorder *r);
/* Give the RAM back. */
void rec_fini(struct recorder *r);
/* A vgpu-stub at 00:05.0 on @r, with a quiet logger. */
void rec_make_stub(struct recorder *r, struct vdev *d, struct logger *lg);

#endif
