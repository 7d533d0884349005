// SPDX-License-Identifier: GPL-2.0-only
/* io_dispatch(): every type, size, rep and pointer combination. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <vgpu/ioreq.h>
#include <vgpu/vgpu_stub_regs.h>
#include "unit/recorder.h"

#define BAR 0xf1000000u
#define SBDF (5u << 3)

struct fx {
	struct recorder r;
	struct vdev d;
	struct logger lg;
	struct io_stats st;
};

static int setup(void **state)
{
	struct fx *f = test_calloc(1, sizeof(*f));

	rec_make_stub(&f->r, &f->d, &f->lg);
	vdev_cfg_write(&f->d, PCI_BASE_ADDRESS_0, 4, BAR);
	vdev_cfg_write(&f->d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vdev_destroy(&f->d);
	test_free(f);
	return 0;
}

static uint64_t go(struct fx *f, uint8_t type, uint8_t dir, uint64_t addr,
		   uint32_t size, uint64_t data)
{
	struct io_req r = { .addr = addr,
			    .data = data,
			    .count = 1,
			    .size = size,
			    .type = type,
			    .dir = dir };

	io_dispatch(&f->d, &r, &f->st);
	return r.data;
}

static uint64_t cfg(uint32_t reg)
{
	return (uint64_t)SBDF << 32 | reg;
}

static void config_reads_and_writes(void **state)
{
	struct fx *f = *state;

	assert_int_equal(go(f, IO_PCI_CONFIG, IO_READ, cfg(0), 4, 0),
			 0x11111af4);
	assert_int_equal(go(f, IO_PCI_CONFIG, IO_READ, cfg(2), 2, ~0ull),
			 0x1111);
	/* the low bits of the 0xcfc port are part of the offset */
	assert_int_equal(go(f, IO_PCI_CONFIG, IO_READ, cfg(0x0b), 1, 0), 0x12);
	go(f, IO_PCI_CONFIG, IO_WRITE, cfg(PCI_INTERRUPT_LINE), 1, 0x1234);
	assert_int_equal(f->d.cfg->data[PCI_INTERRUPT_LINE], 0x34);
	assert_int_equal(f->st.cfg, 4);
	assert_int_equal(f->st.rejected, 0);
}

static void config_for_another_function(void **state)
{
	struct fx *f = *state;

	/* full 32-bit SBDF compare: segment 1 and bus 0x100 aliases */
	assert_int_equal(go(f, IO_PCI_CONFIG, IO_READ,
			    (uint64_t)(6u << 3) << 32, 4, 0),
			 0xffffffff);
	assert_int_equal(go(f, IO_PCI_CONFIG, IO_READ,
			    (uint64_t)(0x10000u | SBDF) << 32, 2, 0),
			 0xffff);
	go(f, IO_PCI_CONFIG, IO_WRITE, (uint64_t)(0x10000u | SBDF) << 32 | 0x3c,
	   1, 7);
	assert_int_equal(f->d.cfg->data[PCI_INTERRUPT_LINE], 0);
	assert_int_equal(f->st.rejected, 3);
}

static void config_bad_sizes_and_counts(void **state)
{
	struct fx *f = *state;
	struct io_req r = { .addr = cfg(0),
			    .count = 0,
			    .size = 4,
			    .type = IO_PCI_CONFIG,
			    .dir = IO_READ };

	assert_int_equal(go(f, IO_PCI_CONFIG, IO_READ, cfg(0), 3, 0), 0xffffff);
	assert_int_equal(go(f, IO_PCI_CONFIG, IO_READ, cfg(0), 8, 0), ~0ull);
	assert_int_equal(go(f, IO_PCI_CONFIG, IO_READ, cfg(0), 0, 5), 0);
	io_dispatch(&f->d, &r, &f->st);
	assert_int_equal(r.data, 0xffffffff);
	assert_int_equal(f->st.rejected, 4);
}

static void config_rep_through_guest_buffer(void **state)
{
	struct fx *f = *state;
	struct io_req r = { .addr = cfg(0),
			    .data = 0x100,
			    .count = 3,
			    .size = 2,
			    .type = IO_PCI_CONFIG,
			    .dir = IO_READ,
			    .data_is_ptr = 1 };
	uint16_t out[3];

	/* rep insw on 0xcfc reads the same register three times */
	io_dispatch(&f->d, &r, &f->st);
	memcpy(out, f->r.ram + 0x100, sizeof(out));
	assert_int_equal(out[0], 0x1af4);
	assert_int_equal(out[2], 0x1af4);
	assert_int_equal(r.data, 0x100); /* a pointer is not a result */
	assert_int_equal(f->st.rejected, 0);
}

static void mmio_every_size(void **state)
{
	struct fx *f = *state;

	assert_int_equal(go(f, IO_MMIO, IO_READ, BAR, 4, 0), VGPU_MAGIC);
	assert_int_equal(go(f, IO_MMIO, IO_READ, BAR + 1, 1, 0), 'G');
	assert_int_equal(go(f, IO_MMIO, IO_READ, BAR + 2, 2, 0), 0x5550);
	assert_int_equal(go(f, IO_MMIO, IO_READ, BAR, 8, 0),
			 (uint64_t)VGPU_ABI_VERSION << 32 | VGPU_MAGIC);
	/* write data is masked to the access size */
	go(f, IO_MMIO, IO_WRITE, BAR + VGPU_REG_SCRATCH, 1,
	   0x1122334455667788ull);
	assert_int_equal(go(f, IO_MMIO, IO_READ, BAR + VGPU_REG_SCRATCH, 4, 0),
			 0x88);
	go(f, IO_MMIO, IO_WRITE, BAR + VGPU_REG_SCRATCH, 8,
	   0x1122334455667788ull);
	assert_int_equal(go(f, IO_MMIO, IO_READ, BAR + VGPU_REG_SCRATCH, 4, 0),
			 0x55667788);
	assert_int_equal(f->st.mmio, 8);
	assert_int_equal(f->st.rejected, 0);
}

static void mmio_malformed(void **state)
{
	struct fx *f = *state;
	struct io_req big = { .addr = BAR,
			      .count = 0xffffffff,
			      .size = 4,
			      .type = IO_MMIO,
			      .dir = IO_READ };

	assert_int_equal(go(f, IO_MMIO, IO_READ, BAR, 3, 0), 0xffffff);
	assert_int_equal(go(f, IO_MMIO, IO_READ, BAR, 16, 0), ~0ull);
	/* outside BAR0, and running past its end */
	assert_int_equal(go(f, IO_MMIO, IO_READ, BAR + VGPU_BAR0_SIZE, 4, 0),
			 0xffffffff);
	assert_int_equal(go(f, IO_MMIO, IO_READ, BAR - 4, 4, 0), 0xffffffff);
	assert_int_equal(go(f, IO_MMIO, IO_READ, BAR + VGPU_BAR0_SIZE - 2, 4,
			    0),
			 0xffffffff);
	assert_int_equal(go(f, IO_MMIO, IO_READ, ~0ull, 8, 0), ~0ull);
	io_dispatch(&f->d, &big, &f->st);
	assert_int_equal(big.data, 0xffffffff);
	assert_int_equal(f->st.rejected, 7);
	/* decode off: BAR0 is no longer ours */
	vdev_cfg_write(&f->d, PCI_COMMAND, 2, 0);
	assert_int_equal(go(f, IO_MMIO, IO_READ, BAR, 4, 0), 0xffffffff);
}

static void mmio_rep_stos(void **state)
{
	struct fx *f = *state;
	uint32_t base = BAR + VGPU_REG_SCRATCH_RAM;
	struct io_req up = { .addr = base,
			     .data = 0xabcd,
			     .count = 4,
			     .size = 4,
			     .type = IO_MMIO,
			     .dir = IO_WRITE };
	struct io_req down = { .addr = base + 0x1c,
			       .data = 0x77,
			       .count = 2,
			       .size = 4,
			       .type = IO_MMIO,
			       .dir = IO_WRITE,
			       .df = 1 };
	struct io_req under = { .addr = base - VGPU_REG_SCRATCH_RAM + 4,
				.data = 1,
				.count = 3,
				.size = 4,
				.type = IO_MMIO,
				.dir = IO_WRITE,
				.df = 1 };

	io_dispatch(&f->d, &up, &f->st);
	assert_int_equal(go(f, IO_MMIO, IO_READ, base + 12, 4, 0), 0xabcd);
	assert_int_equal(go(f, IO_MMIO, IO_READ, base + 16, 4, 0), 0);
	io_dispatch(&f->d, &down, &f->st);
	assert_int_equal(go(f, IO_MMIO, IO_READ, base + 0x18, 4, 0), 0x77);
	assert_int_equal(go(f, IO_MMIO, IO_READ, base + 0x14, 4, 0), 0);
	/* stepping down below offset 0 of BAR0 is refused whole */
	io_dispatch(&f->d, &under, &f->st);
	assert_int_equal(f->st.rejected, 1);
}

static void mmio_rep_movs_with_guest_buffer(void **state)
{
	struct fx *f = *state;
	uint32_t base = BAR + VGPU_REG_SCRATCH_RAM;
	uint32_t src[4] = { 1, 2, 3, 4 }, out[4] = { 0 };
	struct io_req w = { .addr = base,
			    .data = 0x0ffc,
			    .count = 4,
			    .size = 4,
			    .type = IO_MMIO,
			    .dir = IO_WRITE,
			    .data_is_ptr = 1 };
	struct io_req rd = { .addr = base + 12,
			     .data = 0x200c,
			     .count = 4,
			     .size = 4,
			     .type = IO_MMIO,
			     .dir = IO_READ,
			     .data_is_ptr = 1,
			     .df = 1 };
	struct io_req bad = { .addr = base,
			      .data = REC_RAM_SIZE - 4,
			      .count = 4,
			      .size = 4,
			      .type = IO_MMIO,
			      .dir = IO_WRITE,
			      .data_is_ptr = 1 };
	struct io_req wrap = { .addr = base,
			       .data = ~0ull - 4,
			       .count = 4,
			       .size = 4,
			       .type = IO_MMIO,
			       .dir = IO_WRITE,
			       .data_is_ptr = 1 };

	/* guest buffer crossing a page boundary */
	memcpy(f->r.ram + 0x0ffc, src, sizeof(src));
	io_dispatch(&f->d, &w, &f->st);
	assert_int_equal(go(f, IO_MMIO, IO_READ, base + 8, 4, 0), 3);
	/* backwards: element i at base+12-4i goes to 0x200c-4i */
	io_dispatch(&f->d, &rd, &f->st);
	memcpy(out, f->r.ram + 0x2000, sizeof(out));
	assert_int_equal(out[0], 1);
	assert_int_equal(out[3], 4);
	io_dispatch(&f->d, &bad, &f->st);
	io_dispatch(&f->d, &wrap, &f->st);
	assert_int_equal(f->st.rejected, 2);
	assert_int_equal(go(f, IO_MMIO, IO_READ, base, 4, 0), 1);
}

static void other_types(void **state)
{
	struct fx *f = *state;

	assert_int_equal(go(f, IO_PIO, IO_READ, 0xcfc, 2, 0), 0xffff);
	go(f, IO_PIO, IO_WRITE, 0x3f8, 1, 0x41);
	go(f, IO_INVALIDATE, IO_WRITE, 0, 0, 0);
	go(f, IO_TIMEOFFSET, IO_WRITE, 0, 8, 12345);
	assert_int_equal(go(f, 0x55, IO_READ, 0, 4, 0), 0xffffffff);
	assert_int_equal(go(f, 0x55, IO_READ, 0, 8, 0), ~0ull);
	assert_int_equal(f->st.pio, 2);
	assert_int_equal(f->st.invalidate, 1);
	assert_int_equal(f->st.other, 3); /* a timeoffset, two unknown */
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(config_reads_and_writes),
		T(config_for_another_function),
		T(config_bad_sizes_and_counts),
		T(config_rep_through_guest_buffer),
		T(mmio_every_size),
		T(mmio_malformed),
		T(mmio_rep_stos),
		T(mmio_rep_movs_with_guest_buffer),
		T(other_types),
	};

	return cmocka_run_group_tests_name("dispatch", tests, NULL, NULL);
}
