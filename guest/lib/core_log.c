// SPDX-License-Identifier: MIT
/*
 * The libraries' log lines (stderr) and the statuses' texts.
 */
#include <stdarg.h>
#include <stdio.h>

#include "core.h"

void vgpu_log(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* one write: lines of several threads do not interleave */
	fprintf(stderr, "vgpu-cuda: %s\n", line);
}

const char *vgpu_status_text(int status)
{
	static const char *const text[] = {
		[VGPU_S_OK] = "ok",
		[VGPU_S_INVALID] = "invalid command",
		[VGPU_S_NO_MEMORY] = "out of device memory",
		[VGPU_S_BAD_ADDRESS] = "address outside an allocation",
		[VGPU_S_BAD_GPA] = "bad guest address",
		[VGPU_S_BAD_HANDLE] = "bad handle",
		[VGPU_S_NOT_SUPPORTED] = "not supported by the backend",
		[VGPU_S_LIMIT] = "over a per-VM limit",
		[VGPU_S_FAULT] = "kernel faulted; session lost",
		[VGPU_S_SESSION_LOST] = "session lost",
		[VGPU_S_TIMEOUT] = "kernel timed out; session lost",
		[VGPU_S_BAD_IMAGE] = "bad module image",
		[VGPU_S_NOT_FOUND] = "not found",
		[VGPU_S_BAD_PARAMS] = "parameters do not match the layout",
		[VGPU_S_RESET] = "device reset; session gone",
		[VGPU_S_BACKEND] = "backend failed",
		[VGPU_S_PRIVILEGED] = "not allowed on a session queue",
	};

	switch (status) {
	case VGPU_L_NO_DEVICE:
		return "no device";
	case VGPU_L_OLD_ABI:
		return "device ABI older than 1.2";
	case VGPU_L_IO:
		return "transport failed";
	case VGPU_L_NOMEM:
		return "out of host memory";
	case VGPU_L_QUEUE:
		return "queue protocol broken";
	}
	if (status >= 0 && status < (int)(sizeof(text) / sizeof(text[0])) &&
	    text[status])
		return text[status];
	return "unknown status";
}
