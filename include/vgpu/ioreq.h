/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A transport-neutral I/O request. The Xen glue copies each ioreq_t out of
 * the shared page once into this struct, io_dispatch() answers it, and the
 * glue writes back only `data`. Everything in it is guest-controlled.
 */
#ifndef VGPU_IOREQ_H
#define VGPU_IOREQ_H

#include <stdint.h>

struct vdev;

/* Values match Xen's IOREQ_TYPE_* (public/hvm/ioreq.h). */
enum io_type {
	IO_PIO = 0,
	IO_MMIO = 1, /* IOREQ_TYPE_COPY */
	IO_PCI_CONFIG = 2,
	IO_TIMEOFFSET = 7,
	IO_INVALIDATE = 8,
};

enum io_dir { IO_WRITE = 0, IO_READ = 1 };

struct io_req {
	uint64_t addr; /* PCI_CONFIG: SBDF in [63:32], register in [31:0] */
	uint64_t data; /* value, or a guest-physical address if data_is_ptr */
	uint32_t count; /* rep count */
	uint32_t size; /* bytes per element */
	uint8_t type; /* enum io_type, or anything else */
	uint8_t dir; /* enum io_dir */
	uint8_t df; /* rep direction flag: addresses step downwards */
	uint8_t data_is_ptr;
};

/* Counters a daemon can report; updated by io_dispatch(). */
struct io_stats {
	uint64_t cfg;
	uint64_t mmio;
	uint64_t pio;
	uint64_t invalidate;
	uint64_t other;
	uint64_t rejected; /* answered with all-ones / dropped as malformed */
};

/*
 * Answer one request against @dev: for reads, req->data holds the result
 * on return (masked to the access size; all-ones for anything malformed).
 * Never fails: every request gets a defined answer.
 */
void io_dispatch(struct vdev *dev, struct io_req *req, struct io_stats *st);

#endif
