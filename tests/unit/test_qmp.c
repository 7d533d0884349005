// SPDX-License-Identifier: GPL-2.0-only
/* QEMU's query-pci answer: which bus-0 slots are QEMU's. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <vgpu/qmp.h>

/* Abridged from qemu-xen 7.2 with vga="none", no NIC, no disk. */
static const char reply[] =
	"{\"return\": [{\"bus\": 0, \"devices\": ["
	"{\"bus\": 0, \"slot\": 0, \"function\": 0, \"class_info\": {\"class\": 1536, \"desc\": \"Host bridge\"}, \"qdev_id\": \"\"},"
	"{\"bus\": 0, \"slot\": 1, \"function\": 0, \"class_info\": {\"class\": 1537, \"desc\": \"ISA bridge\"}, \"qdev_id\": \"\"},"
	"{\"bus\": 0, \"slot\": 1, \"function\": 1, \"class_info\": {\"class\": 257, \"desc\": \"IDE controller\"}, \"qdev_id\": \"\"},"
	"{\"bus\": 0, \"slot\": 2, \"function\": 0, \"class_info\": {\"class\": 65280}, \"qdev_id\": \"xen-platform\"}"
	"]}, {\"bus\": 1, \"devices\": [{\"bus\": 1, \"slot\": 5, \"function\": 0}]}]}";

static void slots_in_use(void **state)
{
	char desc[96];

	assert_int_equal(qmp_parse_query_pci(reply, 1, 0, desc, sizeof(desc)),
			 1);
	assert_string_equal(desc, "QEMU's ISA bridge");
	assert_int_equal(qmp_parse_query_pci(reply, 1, 1, desc, sizeof(desc)),
			 1);
	assert_int_equal(qmp_parse_query_pci(reply, 2, 0, desc, sizeof(desc)),
			 1);
	assert_string_equal(desc, "QEMU's xen-platform");
	/* 00:05.0 is free; slot 5 on bus 1 does not count */
	assert_int_equal(qmp_parse_query_pci(reply, 5, 0, desc, sizeof(desc)),
			 0);
}

static void bad_answers(void **state)
{
	char desc[16];

	assert_int_equal(qmp_parse_query_pci("", 5, 0, desc, sizeof(desc)),
			 -EPROTO);
	assert_int_equal(qmp_parse_query_pci("{\"error\": {}}", 5, 0, desc,
					     sizeof(desc)),
			 -EPROTO);
	assert_int_equal(
		qmp_parse_query_pci("{\"return\": [{\"bus\": \"x\"}, 7]}", 5, 0,
				    desc, sizeof(desc)),
		0);
	assert_int_equal(qmp_slot_in_use("/nonexistent/qmp", 5, 0, desc,
					 sizeof(desc)),
			 -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(slots_in_use),
		cmocka_unit_test(bad_answers),
	};

	return cmocka_run_group_tests_name("qmp", tests, NULL, NULL);
}
