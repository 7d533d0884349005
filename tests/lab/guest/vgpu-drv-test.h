/* SPDX-License-Identifier: GPL-2.0-only */
/* vgpu-drv-test: what its two files share. */
#ifndef VGPU_DRV_TEST_H
#define VGPU_DRV_TEST_H

#include <stdarg.h>
#include <stdint.h>

#include <vgpu/vgpu_ring_abi.h>
#include <vgpu/vgpu_stub_regs.h>
#include <vgpu/vgpu_stub_uapi.h>

extern unsigned int passed, failed;

void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
double now_s(void);
int open_dev(void);
int submit(int fd, struct vgpu_ioc_cmd *c);
uint32_t cmd(int fd, uint8_t op, uint64_t a0, uint64_t a1, uint64_t a2,
	     uint64_t a3, uint64_t *result);

int cmd_session(unsigned int n);
int cmd_bench(unsigned int n);
int cmd_isolate(void);
int cmd_grant(unsigned int n, int hold);

#endif
