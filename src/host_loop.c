// SPDX-License-Identifier: GPL-2.0-only
/*
 * The loopback host seam; see host_loop.h. The whole memfd is mapped once,
 * shared, at HELLO: map_guest() of a range is a pointer into that mapping
 * (no system call on the copy path), and map_guest_frames() of frames
 * that are not consecutive builds a contiguous view with MAP_FIXED
 * mappings of the same memfd. Every range is checked against the size
 * the client declared, as a guest naming memory beyond its RAM is
 * refused: the memfd is sealed against shrinking, so nothing below that
 * size can disappear and fault the server (SIGBUS).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <vgpu/host_loop.h>

#define PAGE 4096ull
#define TMPFS_MAGIC_NR 0x01021994 /* linux/magic.h: shmem, memfd */
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010 /* Linux 5.1 */
#endif

struct loop_host {
	struct host host;
	struct logger *lg;
	int memfd;
	int irq_fd;
	uint8_t *ram;
	uint64_t size;
	bool intx;
	uint64_t irqs;
};

static struct loop_host *lh_of(struct host *h)
{
	return h->priv;
}

/* [gpa, gpa + len) lies inside the client's RAM. */
static bool in_ram(const struct loop_host *lh, uint64_t gpa, uint64_t len)
{
	return gpa <= lh->size && len <= lh->size - gpa;
}

static int why_fail(char *why, size_t len, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int why_fail(char *why, size_t len, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return rc;
}

/* Is @fd an eventfd? The kernel names its anonymous inode. */
static bool is_eventfd(int fd)
{
	char path[64], link[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	return strcmp(link, "anon_inode:[eventfd]") == 0;
}

int loop_check_eventfd(int fd, const char *what, char *why, size_t len)
{
	int fl;

	if (!is_eventfd(fd))
		return why_fail(why, len, -EBADF,
				"the %s descriptor is not an eventfd", what);
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return why_fail(why, len, -EBADF, "%s eventfd: %s", what,
				strerror(errno));
	return 0;
}

int loop_check_memfd(int memfd, uint64_t size, char *why, size_t len)
{
	struct statfs sf;
	struct stat sb;
	int seals, fl;

	if (fstat(memfd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    fstatfs(memfd, &sf) < 0 || sf.f_type != TMPFS_MAGIC_NR)
		return why_fail(why, len, -EBADF,
				"guest RAM is not a memfd (memfd_create)");
	seals = fcntl(memfd, F_GET_SEALS);
	if (seals < 0)
		return why_fail(why, len, -EBADF,
				"guest RAM is not a memfd (no seals)");
	if (!(seals & F_SEAL_SHRINK))
		return why_fail(
			why, len, -EPERM,
			"guest RAM memfd is not sealed against shrinking (add F_SEAL_SHRINK)");
	if (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))
		return why_fail(why, len, -EPERM,
				"guest RAM memfd is sealed against writing");
	fl = fcntl(memfd, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) != O_RDWR)
		return why_fail(why, len, -EBADF,
				"guest RAM memfd is not open read/write");
	if (size == 0 || size % PAGE || size > LOOP_RAM_MAX)
		return why_fail(
			why, len, -EINVAL,
			"guest RAM size %llu is not a multiple of 4096 from 4096 to %llu",
			(unsigned long long)size,
			(unsigned long long)LOOP_RAM_MAX);
	if ((uint64_t)sb.st_size < size)
		return why_fail(why, len, -EINVAL,
				"guest RAM memfd holds %lld bytes, not %llu",
				(long long)sb.st_size,
				(unsigned long long)size);
	return 0;
}

static int loop_map_mmio(struct host *h, uint64_t gpa, uint64_t len)
{
	return 0; /* BAR0 reaches us as messages: nothing to route */
}

static int loop_copy_from_guest(struct host *h, void *dst, uint64_t gpa,
				size_t len)
{
	struct loop_host *lh = lh_of(h);

	if (!in_ram(lh, gpa, len))
		return -EFAULT;
	memcpy(dst, lh->ram + gpa, len);
	return 0;
}

static int loop_copy_to_guest(struct host *h, uint64_t gpa, const void *src,
			      size_t len)
{
	struct loop_host *lh = lh_of(h);

	if (!in_ram(lh, gpa, len))
		return -EFAULT;
	memcpy(lh->ram + gpa, src, len);
	return 0;
}

static void *loop_map_guest(struct host *h, uint64_t gpa, uint32_t pages,
			    bool writable)
{
	struct loop_host *lh = lh_of(h);

	if ((gpa & (PAGE - 1)) || pages == 0 ||
	    !in_ram(lh, gpa, (uint64_t)pages * PAGE))
		return NULL;
	return lh->ram + gpa;
}

/* A mapping of ours that is not inside the whole-RAM mapping. */
static bool own_view(const struct loop_host *lh, const void *va)
{
	const uint8_t *p = va;

	return p < lh->ram || p >= lh->ram + lh->size;
}

static void loop_unmap_guest(struct host *h, void *va, uint32_t pages)
{
	struct loop_host *lh = lh_of(h);

	if (va && own_view(lh, va))
		munmap(va, (size_t)pages * PAGE);
}

/* Frames [i, j) of @gfns are consecutive; returns j. */
static uint32_t run_end(const uint64_t *gfns, uint32_t i, uint32_t n)
{
	uint32_t j = i + 1;

	while (j < n && gfns[j] == gfns[j - 1] + 1)
		j++;
	return j;
}

static void *loop_map_guest_frames(struct host *h, const uint64_t *gfns,
				   uint32_t n, bool writable)
{
	struct loop_host *lh = lh_of(h);
	int prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
	uint8_t *view;
	uint32_t i, j;

	if (n == 0 || n > lh->size / PAGE)
		return NULL;
	for (i = 0; i < n; i++)
		if (gfns[i] >= lh->size / PAGE)
			return NULL;
	if (run_end(gfns, 0, n) == n)
		return lh->ram +
		       gfns[0] * PAGE; /* one extent: no new mapping */
	view = mmap(NULL, (size_t)n * PAGE, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (view == MAP_FAILED)
		return NULL;
	for (i = 0; i < n; i = j) {
		j = run_end(gfns, i, n);
		if (mmap(view + (size_t)i * PAGE, (size_t)(j - i) * PAGE, prot,
			 MAP_SHARED | MAP_FIXED, lh->memfd,
			 (off_t)(gfns[i] * PAGE)) == MAP_FAILED) {
			munmap(view, (size_t)n * PAGE);
			return NULL;
		}
	}
	return view;
}

static int loop_guest_fd(struct host *h, uint64_t gpa, uint64_t len, int *fd,
			 uint64_t *off)
{
	struct loop_host *lh = lh_of(h);

	if (!in_ram(lh, gpa, len))
		return -EFAULT;
	*fd = lh->memfd;
	*off = gpa;
	return 0;
}

/*
 * One interrupt: add 1 to the client's eventfd. Non-blocking: a counter
 * at its maximum means the client has not read what it was sent, and is
 * interrupted already.
 */
static int notify(struct loop_host *lh)
{
	uint64_t one = 1;

	if (write(lh->irq_fd, &one, sizeof(one)) == (ssize_t)sizeof(one) ||
	    errno == EAGAIN) {
		lh->irqs++;
		return 0;
	}
	return -errno;
}

/* The MSI as programmed: the loopback device programs its own capability
 * (there is no guest config space), so any message means "interrupt". */
static int loop_inject_msi(struct host *h, uint64_t addr, uint32_t data)
{
	return notify(lh_of(h));
}

/*
 * INTA: an eventfd has no level, so a rising edge interrupts the client
 * once; the client reads INTR_STATUS (which clears it and drops the
 * level) before it sleeps again. The loopback device uses MSI; this is
 * here for a device model that does not.
 */
static int loop_set_intx(struct host *h, bool level)
{
	struct loop_host *lh = lh_of(h);
	bool rise = level && !lh->intx;

	lh->intx = level;
	return rise ? notify(lh) : 0;
}

static const struct host_ops loop_host_ops = {
	.map_mmio = loop_map_mmio,
	.unmap_mmio = loop_map_mmio,
	.copy_from_guest = loop_copy_from_guest,
	.copy_to_guest = loop_copy_to_guest,
	.map_guest = loop_map_guest,
	.unmap_guest = loop_unmap_guest,
	.map_guest_frames = loop_map_guest_frames,
	.guest_fd = loop_guest_fd,
	.inject_msi = loop_inject_msi,
	.set_intx = loop_set_intx,
};

int loop_host_open(struct loop_host **out, int memfd, uint64_t size, int irq_fd,
		   struct logger *lg, char *why, size_t len)
{
	struct loop_host *lh = calloc(1, sizeof(*lh));
	int rc;

	if (!lh) {
		close(memfd);
		close(irq_fd);
		return why_fail(why, len, -ENOMEM, "out of memory");
	}
	lh->memfd = memfd;
	lh->irq_fd = irq_fd;
	lh->size = size;
	lh->lg = lg;
	lh->host.ops = &loop_host_ops;
	lh->host.priv = lh;
	lh->ram = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_NORESERVE, memfd, 0);
	if (lh->ram == MAP_FAILED) {
		rc = why_fail(why, len, -errno, "cannot map guest RAM: %s",
			      strerror(errno));
		loop_host_close(lh);
		return rc;
	}
	*out = lh;
	return 0;
}

struct host *loop_host_seam(struct loop_host *lh)
{
	return &lh->host;
}

uint64_t loop_host_irqs(const struct loop_host *lh)
{
	return lh->irqs;
}

void loop_host_close(struct loop_host *lh)
{
	if (!lh)
		return;
	if (lh->ram != MAP_FAILED)
		munmap(lh->ram, (size_t)lh->size);
	close(lh->memfd);
	close(lh->irq_fd);
	free(lh);
}
