// SPDX-License-Identifier: GPL-2.0-only
/*
 * The device state blob of save, restore and migration (savestate.h):
 * encode, check, decode; hex text for XenStore; the sweep of the state
 * files of ended domains.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <vgpu/savestate.h>

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint32_t crc_of(const uint8_t *p, size_t len)
{
	return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)len);
}

size_t savestate_size(const struct vdev_ops *ops)
{
	return SAVESTATE_HDR + vdev_state_size(ops) + 4;
}

long savestate_encode(const struct vdev_ops *ops, const struct vdev_state *st,
		      void *buf, size_t cap)
{
	size_t ssize = vdev_state_size(ops);
	size_t total = savestate_size(ops);
	uint8_t *b = buf;

	if (cap < total)
		return -ENOSPC;
	memset(b, 0, SAVESTATE_HDR);
	memcpy(b, SAVESTATE_MAGIC, sizeof(SAVESTATE_MAGIC));
	put32(b + 8, SAVESTATE_VERSION);
	put32(b + 12, SAVESTATE_HDR);
	strncpy((char *)b + 16, ops->name, 15);
	put32(b + 32, st->sbdf);
	put32(b + 36, (uint32_t)ssize);
	memcpy(b + SAVESTATE_HDR, st, ssize);
	put32(b + SAVESTATE_HDR + ssize, crc_of(b, SAVESTATE_HDR + ssize));
	return (long)total;
}

static int refuse(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* The header: ours, this version, this device model. */
static int check_header(const struct vdev_ops *ops, const uint8_t *b,
			size_t len, char *err, size_t errlen)
{
	char model[17];
	size_t ssize = vdev_state_size(ops);

	if (len < SAVESTATE_HDR)
		return refuse(
			err, errlen,
			"device state truncated: %zu bytes, the header alone takes %u",
			len, SAVESTATE_HDR);
	if (memcmp(b, SAVESTATE_MAGIC, sizeof(SAVESTATE_MAGIC)) != 0)
		return refuse(err, errlen,
			      "not a vgpu-ioreq device state (bad magic)");
	if (get32(b + 8) != SAVESTATE_VERSION)
		return refuse(
			err, errlen,
			"device state format version %u; this vgpu-ioreq reads version %u only",
			get32(b + 8), SAVESTATE_VERSION);
	if (get32(b + 12) != SAVESTATE_HDR)
		return refuse(err, errlen,
			      "device state header of %u bytes, %u expected",
			      get32(b + 12), SAVESTATE_HDR);
	memcpy(model, b + 16, 16);
	model[16] = '\0';
	if (strcmp(model, ops->name) != 0)
		return refuse(err, errlen,
			      "device state of a '%.16s' device, not '%s'",
			      model, ops->name);
	if (get32(b + 36) != ssize)
		return refuse(
			err, errlen,
			"device state of %u bytes; this vgpu-ioreq's %s has %zu (another build?)",
			get32(b + 36), ops->name, ssize);
	if (len != savestate_size(ops))
		return refuse(err, errlen,
			      "device state %s: %zu bytes, %zu expected",
			      len < savestate_size(ops) ? "truncated" :
							  "with trailing bytes",
			      len, savestate_size(ops));
	return 0;
}

int savestate_decode(const struct vdev_ops *ops, const void *blob, size_t len,
		     struct vdev_state *st, char *err, size_t errlen)
{
	const uint8_t *b = blob;
	size_t ssize = vdev_state_size(ops);
	struct vdev_state head;
	uint32_t sbdf;
	int rc = check_header(ops, b, len, err, errlen);

	if (rc < 0)
		return rc;
	if (get32(b + SAVESTATE_HDR + ssize) !=
	    crc_of(b, SAVESTATE_HDR + ssize))
		return refuse(err, errlen,
			      "device state corrupted (checksum mismatch)");
	memcpy(&head, b + SAVESTATE_HDR, sizeof(head));
	sbdf = get32(b + 32);
	if (head.magic != VDEV_STATE_MAGIC || head.size != ssize ||
	    head.sbdf != sbdf)
		return refuse(
			err, errlen,
			"device state inconsistent (magic 0x%08x, %u bytes, sbdf 0x%x in a blob for 0x%x)",
			head.magic, head.size, head.sbdf, sbdf);
	memcpy(st, b + SAVESTATE_HDR, ssize);
	/* what belonged to the old domain and its server */
	memset(st->domain_uuid, 0, sizeof(st->domain_uuid));
	st->domid = 0;
	st->ioservid = VDEV_NO_SERVER;
	st->bar0_mapped = 0;
	return 0;
}

void savestate_to_hex(const void *buf, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *b = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * len] = '\0';
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long savestate_from_hex(const char *hex, void *out, size_t cap)
{
	size_t n = strlen(hex), i;
	uint8_t *b = out;

	if (n % 2 || n / 2 > cap)
		return -EINVAL;
	for (i = 0; i < n / 2; i++) {
		int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

/* "d<domid>-<slot>.<fn>.state", strictly: its domid. */
static bool state_file_domid(const char *name, uint32_t *domid)
{
	unsigned int d, slot, fn;
	int end = 0;

	if (sscanf(name, "d%u-%2x.%1u.state%n", &d, &slot, &fn, &end) != 3 ||
	    name[end] || name[1] < '0' || name[1] > '9')
		return false;
	*domid = d;
	return true;
}

int savestate_sweep(const char *dir, bool (*gone)(uint32_t domid, void *arg),
		    void *arg)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		uint32_t domid;

		if (state_file_domid(e->d_name, &domid) && gone(domid, arg) &&
		    unlinkat(dirfd(d), e->d_name, 0) == 0)
			n++;
	}
	closedir(d);
	return n;
}
