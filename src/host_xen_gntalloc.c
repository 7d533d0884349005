// SPDX-License-Identifier: GPL-2.0-only
/*
 * Linux's gntalloc device, driven directly: pages of our own memory
 * granted to one domain. libxengnttab's xengntshr does the same three
 * steps, but its handle registers with libxentoolcore, and
 * xentoolcore_restrict_all() (which the daemon needs for its other
 * handles) turns every registered fd into /dev/null: a grant after the
 * privilege drop would fail. This fd stays usable; what it can do after
 * the drop (grant our own pages, no one else's) is in depriv_xen.c.
 * The fake Xen (tests/fakexen/fake_gnt.c) replaces these functions.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xen/sys/gntalloc.h> /* after stdint.h: it uses its types */

#include "host_xen_gnt.h"

#define GNT_PAGE 4096u

int xen_gntalloc_open(void)
{
	int fd = open("/dev/xen/gntalloc", O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

void xen_gntalloc_close(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* The gntalloc sequence: allocate the references, map them, then drop
 * them from the fd's index so that the munmap in unshare ends them. */
void *xen_gntalloc_share(int fd, uint32_t domid, uint32_t count, uint32_t *refs)
{
	struct ioctl_gntalloc_dealloc_gref drop;
	struct ioctl_gntalloc_alloc_gref *a;
	void *va = NULL;
	int err = 0;

	a = malloc(sizeof(*a) + (size_t)count * sizeof(uint32_t));
	if (!a)
		return NULL;
	a->domid = (uint16_t)domid;
	a->flags = GNTALLOC_FLAG_WRITABLE;
	a->count = count;
	if (ioctl(fd, IOCTL_GNTALLOC_ALLOC_GREF, a) < 0) {
		err = errno;
		goto out;
	}
	va = mmap(NULL, (size_t)count * GNT_PAGE, PROT_READ | PROT_WRITE,
		  MAP_SHARED, fd, (off_t)a->index);
	if (va == MAP_FAILED) {
		err = errno;
		va = NULL;
	} else {
		memcpy(refs, a->gref_ids, (size_t)count * sizeof(uint32_t));
		/* a child forked later must not hold the grants alive */
		madvise(va, (size_t)count * GNT_PAGE, MADV_DONTFORK);
	}
	drop.index = a->index;
	drop.count = count;
	ioctl(fd, IOCTL_GNTALLOC_DEALLOC_GREF, &drop);
out:
	free(a);
	errno = err;
	return va;
}

void xen_gntalloc_unshare(int fd, void *va, uint32_t count)
{
	(void)fd;
	munmap(va, (size_t)count * GNT_PAGE);
}
