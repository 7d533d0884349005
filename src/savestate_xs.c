// SPDX-License-Identifier: GPL-2.0-only
/*
 * The saved device state in XenStore (savestate_xs.h): the seal and the
 * chunk entries under the emulator's physmap directory, and the snapshot
 * of a running emulator's state file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vgpu/savestate.h>
#include <vgpu/savestate_xs.h>

#define MAX_CHUNKS 64u

/* physmap/vgpu-BB-DD-F, or with @chunk >= 0 its chunk entry */
static void entry(char *buf, size_t len, uint32_t domid, uint32_t sbdf,
		  int chunk, const char *key)
{
	int n = snprintf(
		buf, len,
		"/local/domain/0/device-model/%u/physmap/vgpu-%02x-%02x-%u",
		domid, (sbdf >> 8) & 0xff, (sbdf >> 3) & 0x1f, sbdf & 7);

	if (chunk >= 0)
		n += snprintf(buf + n, len - (size_t)n, "-%d", chunk);
	if (key)
		snprintf(buf + n, len - (size_t)n, "/%s", key);
}

void savestate_xs_clear(struct xsg *x, uint32_t domid, uint32_t sbdf)
{
	char p[160];
	int i;

	entry(p, sizeof(p), domid, sbdf, -1, NULL);
	xsg_rm(x, p);
	for (i = 0; i < (int)MAX_CHUNKS; i++) {
		entry(p, sizeof(p), domid, sbdf, i, NULL);
		xsg_rm(x, p);
	}
}

/* start_addr and size of an entry: "0" (a range of nothing, should
 * anything ever read them as one) */
static int put_range(struct xsg *x, uint32_t domid, uint32_t sbdf, int chunk)
{
	char p[160];
	int rc;

	entry(p, sizeof(p), domid, sbdf, chunk, "start_addr");
	rc = xsg_write(x, p, "0");
	entry(p, sizeof(p), domid, sbdf, chunk, "size");
	return rc < 0 ? rc : xsg_write(x, p, "0");
}

int savestate_xs_arm(struct xsg *x, uint32_t domid, uint32_t sbdf)
{
	savestate_xs_clear(x, domid, sbdf);
	return put_range(x, domid, sbdf, -1);
}

int savestate_xs_put(struct xsg *x, uint32_t domid, uint32_t sbdf,
		     const void *blob, size_t len)
{
	size_t per = SAVESTATE_CHUNK / 2, off;
	char p[160], n[16], *hex = malloc(SAVESTATE_CHUNK + 1);
	int i = 0, rc = 0;

	if (!hex)
		return -ENOMEM;
	if ((len + per - 1) / per > MAX_CHUNKS)
		rc = -E2BIG;
	for (off = 0; rc == 0 && off < len; off += per, i++) {
		size_t l = len - off < per ? len - off : per;

		savestate_to_hex((const uint8_t *)blob + off, l, hex);
		rc = put_range(x, domid, sbdf, i);
		entry(p, sizeof(p), domid, sbdf, i, "name");
		if (rc == 0)
			rc = xsg_write(x, p, hex);
	}
	free(hex);
	/* the seal last: only a complete state completes it */
	snprintf(n, sizeof(n), "%d", i);
	entry(p, sizeof(p), domid, sbdf, -1, "name");
	return rc < 0 ? rc : xsg_write(x, p, n);
}

long savestate_xs_get(struct xsg *x, uint32_t domid, uint32_t sbdf, void *blob,
		      size_t cap, char *err, size_t errlen)
{
	char p[160], *v, *end;
	unsigned long n, i;
	size_t got = 0;

	entry(p, sizeof(p), domid, sbdf, -1, "name");
	v = xsg_read(x, p);
	if (!v) {
		snprintf(
			err, errlen,
			"no saved device state for this function came with the domain (%s absent: saved without vgpu-ioreq-dm's --save-watch?)",
			p);
		return -ENOENT;
	}
	n = strtoul(v, &end, 10);
	if (*end || n == 0 || n > MAX_CHUNKS) {
		snprintf(err, errlen, "bad chunk count '%.16s' in %s", v, p);
		free(v);
		return -EINVAL;
	}
	free(v);
	for (i = 0; i < n; i++) {
		long l;

		entry(p, sizeof(p), domid, sbdf, (int)i, "name");
		v = xsg_read(x, p);
		l = v ? savestate_from_hex(v, (uint8_t *)blob + got,
					   cap - got) :
			-ENOENT;
		free(v);
		if (l < 0) {
			snprintf(err, errlen, "%s: %s", p,
				 l == -ENOENT ? "missing" :
						"not hex, or too long");
			return l;
		}
		got += (size_t)l;
	}
	return (long)got;
}

static int read_state(const char *path, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pread(fd, buf, len, 0);
	close(fd);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/* Two reads of a state file: one device, idle, with nothing in flight. */
static int check_copies(const struct vdev_ops *ops, const struct vdev_state *a,
			const struct vdev_state *b, const char *path, char *err,
			size_t errlen)
{
	size_t size = vdev_state_size(ops);

	if (a->magic != VDEV_STATE_MAGIC || a->size != size) {
		snprintf(err, errlen,
			 "%s holds no device state (is vgpu-ioreq serving?)",
			 path);
		return -ENODEV;
	}
	if (memcmp(a, b, size) != 0) {
		snprintf(err, errlen, "the device state is still changing");
		return -EBUSY;
	}
	return ops->save_check ? ops->save_check(a->priv, err, errlen) : 0;
}

long savestate_snapshot(const struct vdev_ops *ops, const char *state_path,
			void *blob, size_t cap, char *err, size_t errlen)
{
	size_t size = vdev_state_size(ops);
	struct vdev_state *a = malloc(size), *b = malloc(size);
	long rc = !a || !b ? -ENOMEM : 0;

	if (rc == 0)
		rc = read_state(state_path, a, size);
	if (rc == 0)
		rc = read_state(state_path, b, size);
	if (rc < 0)
		snprintf(err, errlen, "cannot read the state file %s: %s",
			 state_path, strerror((int)-rc));
	else
		rc = check_copies(ops, a, b, state_path, err, errlen);
	if (rc == 0)
		rc = savestate_encode(ops, a, blob, cap);
	free(a);
	free(b);
	return rc;
}

void savestate_state_path(char *buf, size_t len, uint32_t domid, uint32_t sbdf)
{
	snprintf(buf, len, "%s/vgpu-ioreq/d%u-%02x.%u.state", RUNSTATEDIR,
		 domid, (sbdf >> 3) & 0x1f, sbdf & 7);
}

/* The blob from XenStore (then removed: a later save must not find it). */
static long load_xs(uint32_t domid, uint32_t sbdf, void *blob, size_t cap,
		    char *err, size_t errlen)
{
	struct xsg *x;
	long n;
	int rc = xsg_open(&x);

	if (rc < 0) {
		snprintf(err, errlen, "cannot open XenStore: %s",
			 strerror(-rc));
		return rc;
	}
	n = savestate_xs_get(x, domid, sbdf, blob, cap, err, errlen);
	savestate_xs_clear(x, domid, sbdf);
	xsg_close(x);
	return n;
}

static long load_file(const char *path, void *blob, size_t cap, char *err,
		      size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path,
			 strerror(errno));
		return -errno;
	}
	n = read(fd, blob, cap);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path,
			 strerror(errno));
		return -EIO;
	}
	return (long)n;
}

int savestate_load(const char *src, const struct vdev_ops *ops, uint32_t domid,
		   uint32_t sbdf, struct vdev_state *st, struct logger *lg)
{
	size_t cap = savestate_size(ops) + 1; /* + 1: trailing bytes seen */
	uint8_t *blob = malloc(cap);
	char err[256] = "";
	long n = -ENOMEM;
	int rc;

	if (blob)
		n = strcmp(src, "xenstore") == 0 ?
			    load_xs(domid, sbdf, blob, cap, err, sizeof(err)) :
			    load_file(src, blob, cap, err, sizeof(err));
	rc = n < 0 ? (int)n :
		     savestate_decode(ops, blob, (size_t)n, st, err,
				      sizeof(err));
	if (rc < 0 && !err[0])
		snprintf(err, sizeof(err), "%s", strerror(-rc));
	if (rc == 0 && st->sbdf != sbdf) {
		snprintf(err, sizeof(err),
			 "it is the state of 00:%02x.%u, not of this function",
			 (st->sbdf >> 3) & 0x1f, st->sbdf & 7);
		rc = -EINVAL;
	}
	if (rc < 0)
		log_err(lg, "cannot restore the device state from %s: %s", src,
			err);
	free(blob);
	return rc;
}

static int save_file(const char *path, const void *blob, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, blob, len);
	if (close(fd) < 0 && n >= 0)
		return -errno;
	return n == (ssize_t)len ? 0 : -EIO;
}

int savestate_save(const char *dest, const struct vdev_ops *ops, uint32_t domid,
		   uint32_t sbdf, struct logger *lg)
{
	size_t cap = savestate_size(ops);
	uint8_t *blob = malloc(cap);
	char path[160], err[256] = "";
	struct xsg *x = NULL;
	long n = -ENOMEM;
	int rc;

	savestate_state_path(path, sizeof(path), domid, sbdf);
	if (blob)
		n = savestate_snapshot(ops, path, blob, cap, err, sizeof(err));
	if (n < 0) {
		log_err(lg, "cannot save the device state of domain %u: %s",
			domid, err[0] ? err : strerror((int)-n));
		free(blob);
		return (int)n;
	}
	if (strcmp(dest, "xenstore") != 0)
		rc = save_file(dest, blob, (size_t)n);
	else if ((rc = xsg_open(&x)) == 0)
		rc = savestate_xs_put(x, domid, sbdf, blob, (size_t)n);
	xsg_close(x);
	free(blob);
	if (rc < 0)
		log_err(lg, "cannot write the device state to %s: %s", dest,
			strerror(-rc));
	return rc;
}
