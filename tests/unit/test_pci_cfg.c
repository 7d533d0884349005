// SPDX-License-Identifier: GPL-2.0-only
/* The config engine on its own, and the vgpu-stub header it carries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <vgpu/pci_cfg.h>
#include <vgpu/vgpu_stub_regs.h>
#include "unit/recorder.h"

static struct pci_cfg *stub_cfg(void)
{
	static struct recorder r;
	static struct vdev d;
	static struct logger lg;

	if (d.ops)
		vdev_destroy(&d);
	rec_make_stub(&r, &d, &lg);
	return d.cfg;
}

static void identity_reads(void **state)
{
	struct pci_cfg *c = stub_cfg();

	assert_int_equal(pci_cfg_read(c, 0x00, 4), 0x11111af4);
	assert_int_equal(pci_cfg_read(c, 0x08, 4),
			 (VGPU_PCI_CLASS << 8) | VGPU_PCI_REVISION);
	assert_int_equal(pci_cfg_read(c, 0x0e, 1), 0); /* header type 0 */
	assert_int_equal(pci_cfg_read(c, 0x2c, 4), 0x11001af4);
	assert_int_equal(pci_cfg_read(c, PCI_INTERRUPT_PIN, 1), 1); /* INTA */
	assert_int_equal(pci_cfg_read(c, PCI_CAPABILITY_LIST, 1), 0x40);
	assert_int_equal(pci_cfg_read(c, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
	assert_int_equal(pci_cfg_read(c, 0x40, 2), PCI_CAP_ID_MSI);
	assert_int_equal(pci_cfg_read(c, 0x42, 2),
			 PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT);
}

static void identity_is_read_only(void **state)
{
	struct pci_cfg *c = stub_cfg();
	uint32_t off;

	for (off = 0; off < 0x10; off += 4)
		pci_cfg_write(c, off == 4 ? 8 : off, 4, 0xffffffff);
	pci_cfg_write(c, 0x2c, 4, 0);
	pci_cfg_write(c, PCI_INTERRUPT_PIN, 1, 0);
	pci_cfg_write(c, PCI_CAPABILITY_LIST, 1, 0);
	pci_cfg_write(c, 0x40, 4, 0xffffffff);
	assert_int_equal(pci_cfg_read(c, 0x00, 4), 0x11111af4);
	assert_int_equal(pci_cfg_read(c, 0x08, 4) >> 8, VGPU_PCI_CLASS);
	assert_int_equal(pci_cfg_read(c, 0x2c, 4), 0x11001af4);
	assert_int_equal(pci_cfg_read(c, PCI_INTERRUPT_PIN, 1), 1);
	assert_int_equal(pci_cfg_read(c, PCI_CAPABILITY_LIST, 1), 0x40);
	/* MSI: id and next read-only, only the enable bit of the control */
	assert_int_equal(pci_cfg_read(c, 0x40, 4),
			 (PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT |
			  PCI_MSI_FLAGS_ENABLE)
					 << 16 |
				 PCI_CAP_ID_MSI);
}

static void bar_sizing(void **state)
{
	struct pci_cfg *c = stub_cfg();
	uint32_t off;

	pci_cfg_write(c, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	assert_int_equal(pci_cfg_read(c, PCI_BASE_ADDRESS_0, 4), 0xfffff000);
	pci_cfg_write(c, PCI_BASE_ADDRESS_0, 4, 0xf1000abc);
	assert_int_equal(pci_cfg_read(c, PCI_BASE_ADDRESS_0, 4), 0xf1000000);
	/* unimplemented BARs and the ROM BAR size to 0 */
	for (off = 0x14; off <= PCI_BASE_ADDRESS_5; off += 4) {
		pci_cfg_write(c, off, 4, 0xffffffff);
		assert_int_equal(pci_cfg_read(c, off, 4), 0);
	}
	pci_cfg_write(c, PCI_ROM_ADDRESS, 4, 0xfffff800);
	assert_int_equal(pci_cfg_read(c, PCI_ROM_ADDRESS, 4), 0);
}

static void byte_word_unaligned(void **state)
{
	struct pci_cfg *c = stub_cfg();

	assert_int_equal(pci_cfg_read(c, 0x00, 1), 0xf4);
	assert_int_equal(pci_cfg_read(c, 0x01, 1), 0x1a);
	assert_int_equal(pci_cfg_read(c, 0x02, 2), 0x1111);
	/* word at +1 and dword at +3 cross byte lanes and dwords */
	assert_int_equal(pci_cfg_read(c, 0x01, 2), 0x111a);
	assert_int_equal(pci_cfg_read(c, 0x03, 4), 0x10000011);
	assert_int_equal(pci_cfg_read(c, 0x0a, 2), 0x1200);
	/* BAR written one byte at a time */
	pci_cfg_write(c, 0x13, 1, 0xf2);
	pci_cfg_write(c, 0x12, 1, 0x34);
	pci_cfg_write(c, 0x11, 1, 0x56);
	pci_cfg_write(c, 0x10, 1, 0x78);
	assert_int_equal(pci_cfg_read(c, 0x10, 4), 0xf2345000);
}

static void past_256_and_bad_sizes(void **state)
{
	struct pci_cfg *c = stub_cfg();

	assert_int_equal(pci_cfg_read(c, 0xfe, 4), 0xffff0000);
	assert_int_equal(pci_cfg_read(c, 0x100, 4), 0xffffffff);
	assert_int_equal(pci_cfg_read(c, 0xfff, 1), 0xff);
	assert_int_equal(pci_cfg_read(c, 0xffffffff, 4), 0xffffffff);
	pci_cfg_write(c, 0xfe, 4, 0x12345678); /* no crash, dropped */
	assert_int_equal(pci_cfg_read(c, 0xfe, 2), 0);
	assert_int_equal(pci_cfg_read(c, 0x00, 3), 0xffffffff);
	assert_int_equal(pci_cfg_read(c, 0x00, 0), 0xffffffff);
	assert_int_equal(pci_cfg_read(c, 0x00, 8), 0xffffffff);
	pci_cfg_write(c, PCI_INTERRUPT_LINE, 3, 0x55);
	assert_int_equal(pci_cfg_read(c, PCI_INTERRUPT_LINE, 1), 0);
}

static void command_and_status(void **state)
{
	struct pci_cfg *c = stub_cfg();

	pci_cfg_write(c, PCI_COMMAND, 2, 0xffff);
	assert_int_equal(pci_cfg_read(c, PCI_COMMAND, 2),
			 PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
				 PCI_COMMAND_PARITY | PCI_COMMAND_SERR |
				 PCI_COMMAND_INTX_DISABLE);
	/* no I/O BAR: the IO decode bit stays 0 */
	assert_false(pci_cfg_read(c, PCI_COMMAND, 2) & PCI_COMMAND_IO);
	/* STATUS error bits are RW1C; writing 0 changes nothing */
	c->data[PCI_STATUS + 1] = 0xf9;
	pci_cfg_write(c, PCI_STATUS, 2, 0);
	assert_int_equal(pci_cfg_read(c, PCI_STATUS, 2), 0xf910);
	pci_cfg_write(c, PCI_STATUS, 2, 0x8000);
	assert_int_equal(pci_cfg_read(c, PCI_STATUS, 2), 0x7910);
	pci_cfg_write(c, PCI_STATUS, 2, 0xffff); /* CAP_LIST is read-only */
	assert_int_equal(pci_cfg_read(c, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
}

static void interrupt_line_is_scratch(void **state)
{
	struct pci_cfg *c = stub_cfg();

	pci_cfg_write(c, PCI_INTERRUPT_LINE, 1, 0x0b);
	assert_int_equal(pci_cfg_read(c, PCI_INTERRUPT_LINE, 1), 0x0b);
	/* a word write also tries INTERRUPT_PIN, which stays INTA */
	pci_cfg_write(c, PCI_INTERRUPT_LINE, 2, 0x040a);
	assert_int_equal(pci_cfg_read(c, PCI_INTERRUPT_LINE, 2), 0x010a);
	pci_cfg_write(c, PCI_CACHE_LINE_SIZE, 1, 0x10);
	assert_int_equal(pci_cfg_read(c, PCI_CACHE_LINE_SIZE, 1), 0x10);
}

static void generic_bar_sizes(void **state)
{
	struct pci_cfg c;

	memset(&c, 0, sizeof(c));

	pci_cfg_init_bar_mem32(&c, 2, 0x100000);
	pci_cfg_write(&c, 0x18, 4, 0xffffffff);
	assert_int_equal(pci_cfg_read(&c, 0x18, 4), 0xfff00000);
	pci_cfg_init_bar_mem32(&c, 3, 16);
	pci_cfg_write(&c, 0x1c, 4, 0xffffffff);
	assert_int_equal(pci_cfg_read(&c, 0x1c, 4), 0xfffffff0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(identity_reads),
		cmocka_unit_test(identity_is_read_only),
		cmocka_unit_test(bar_sizing),
		cmocka_unit_test(byte_word_unaligned),
		cmocka_unit_test(past_256_and_bad_sizes),
		cmocka_unit_test(command_and_status),
		cmocka_unit_test(interrupt_line_is_scratch),
		cmocka_unit_test(generic_bar_sizes),
	};

	return cmocka_run_group_tests_name("pci_cfg", tests, NULL, NULL);
}
