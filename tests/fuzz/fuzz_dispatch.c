// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target: any sequence of guest requests through io_dispatch() into
 * a vgpu-stub on a recording host with 16 KiB of guest RAM. Each 24-byte
 * record is one request with every field guest-controlled (type, size,
 * count, df, data_is_ptr, the SBDF bits of the address). After every
 * request the invariants a guest must never break are checked; a broken
 * one traps. Built with libFuzzer (--enable-fuzzing, clang) to search, and
 * with the ordinary compiler as tests/fuzz/replay to run the corpus in
 * make check.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <vgpu/ioreq.h>
#include <vgpu/vgpu_stub_regs.h>
#include "unit/recorder.h"

#define REC 24
#define SBDF (5u << 3)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

static uint64_t get(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	memcpy(&v, p, n);
	return v;
}

/* The routing the recorder saw must match the device's own view. */
static void check_routing(const struct recorder *r, const struct vdev *d)
{
	unsigned int i;
	int routed = 0;
	uint64_t at = 0;

	for (i = 0; i < r->n; i++) {
		const struct rec_call *c = &r->calls[i];

		check(c->len == VGPU_BAR0_SIZE);
		check(c->gpa + c->len <= 0x100000000ull && c->gpa != 0);
		if (c->map) {
			check(routed == 0); /* never two ranges at once */
			routed = 1;
			at = c->gpa;
		} else {
			check(routed == 1 &&
			      c->gpa == at); /* unroute what is routed */
			routed = 0;
		}
	}
	if (r->n < REC_MAX)
		check(routed == (int)d->st->bar0_mapped &&
		      (!routed || at == d->st->bar0_base));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct recorder r;
	struct io_stats st = { 0 };
	struct logger lg;
	struct vdev d;
	size_t off;

	rec_make_stub(&r, &d, &lg);
	lg.level = -1; /* silent */
	for (off = 0; off + REC <= size; off += REC) {
		const uint8_t *p = data + off;
		struct io_req q = {
			.addr = get(p, 8),
			.data = get(p + 8, 8),
			.count = (uint32_t)get(p + 16, 2) | (p[18] & 0x80u)
								    << 24,
			.size = p[19],
			.type = p[20] % 10,
			.dir = p[21] & 1,
			.df = (p[21] >> 1) & 1,
			.data_is_ptr = (p[21] >> 2) & 1,
		};
		uint64_t before = q.data;

		/* steer a quarter of the records at our config space and
		 * BAR0, where the interesting state is */
		if ((p[22] & 3) == 0)
			q.addr = (uint64_t)SBDF << 32 | (q.addr & 0x1ff);
		else if ((p[22] & 3) == 1)
			q.addr = 0xf1000000u | (q.addr & 0x1fff);
		io_dispatch(&d, &q, &st);
		vdev_run_deferred(&d); /* a doorbell's commands */

		/* identity and type bits never change */
		check(pci_cfg_get32(d.cfg, PCI_VENDOR_ID) == 0x11111af4);
		check(pci_cfg_get32(d.cfg, 0x08) == (VGPU_PCI_CLASS << 8 | 1));
		check(d.cfg->data[PCI_HEADER_TYPE] == 0);
		check((pci_cfg_get32(d.cfg, PCI_BASE_ADDRESS_0) & 0xfff) == 0);
		check(pci_cfg_get32(d.cfg, PCI_ROM_ADDRESS) == 0);
		/* a read answers no more than its size; a write or a pointer
		 * request leaves data alone */
		if (q.dir == IO_READ && !q.data_is_ptr && q.size >= 1 &&
		    q.size < 8)
			check(q.data >> (8 * q.size) == 0);
		if (q.dir == IO_WRITE || q.data_is_ptr)
			check(q.data == before);
		check_routing(&r, &d);
	}
	vdev_destroy(&d);
	return 0;
}
