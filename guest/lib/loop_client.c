// SPDX-License-Identifier: MIT
/*
 * The loopback transport's client side; see loop_client.h and
 * include/vgpu/loopback_proto.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <vgpu/loopback_proto.h>
#include <vgpu/vgpu_ring_abi.h>
#include <vgpu/vgpu_stub_regs.h>

#include "loop_client.h"

#define PAGE 4096ull

struct loop_extent {
	uint64_t gpa, len;
	struct loop_extent *next;
};

uint64_t loop_parse_size(const char *s)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno)
		return 0;
	switch (*end) {
	case 'G':
	case 'g':
		v = v > (~0ull >> 30) ? 0 : v << 30;
		end++;
		break;
	case 'M':
	case 'm':
		v = v > (~0ull >> 20) ? 0 : v << 20;
		end++;
		break;
	case 'K':
	case 'k':
		v = v > (~0ull >> 10) ? 0 : v << 10;
		end++;
		break;
	}
	return *end ? 0 : v;
}

/* ---- BAR0 by messages ---- */

static int transact(struct loop_conn *c, struct vgpu_loop_msg *m)
{
	struct vgpu_loop_msg r;
	ssize_t n;
	int rc = 0;

	pthread_mutex_lock(&c->msg_lock);
	do
		n = send(c->sock, m, sizeof(*m), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(*m)) {
		do
			n = recv(c->sock, &r, sizeof(r), 0);
		while (n < 0 && errno == EINTR);
	}
	pthread_mutex_unlock(&c->msg_lock);
	if (n != (ssize_t)sizeof(r) || r.magic != VGPU_LOOP_MAGIC ||
	    r.type != m->type || r.off != m->off || r.size != m->size)
		rc = -ENODEV;
	else if (r.status)
		rc = r.status;
	else
		m->val = r.val;
	return rc;
}

int loop_reg_read(struct loop_conn *c, uint32_t off, uint32_t size,
		  uint64_t *val)
{
	struct vgpu_loop_msg m = { .magic = VGPU_LOOP_MAGIC,
				   .type = VGPU_LOOP_READ,
				   .size = size,
				   .off = off };
	int rc = transact(c, &m);

	*val = rc ? ~0ull : m.val;
	return rc;
}

int loop_reg_write(struct loop_conn *c, uint32_t off, uint32_t size,
		   uint64_t val)
{
	struct vgpu_loop_msg m = { .magic = VGPU_LOOP_MAGIC,
				   .type = VGPU_LOOP_WRITE,
				   .size = size,
				   .off = off,
				   .val = val };

	return transact(c, &m);
}

uint32_t loop_rd32(struct loop_conn *c, uint32_t off)
{
	uint64_t v;

	loop_reg_read(c, off, 4, &v);
	return (uint32_t)v;
}

int loop_wr32(struct loop_conn *c, uint32_t off, uint32_t val)
{
	return loop_reg_write(c, off, 4, val);
}

/* ---- guest RAM ---- */

int loop_ram_alloc(struct loop_conn *c, uint64_t bytes, uint64_t *gpa)
{
	struct loop_extent **pp, *e;
	uint64_t len = (bytes + PAGE - 1) & ~(PAGE - 1);
	int rc = -ENOMEM;

	if (bytes == 0 || len < bytes)
		return -EINVAL;
	pthread_mutex_lock(&c->ram_lock);
	for (pp = &c->free; (e = *pp); pp = &e->next) {
		if (e->len < len)
			continue;
		*gpa = e->gpa;
		e->gpa += len;
		e->len -= len;
		if (!e->len) {
			*pp = e->next;
			free(e);
		}
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&c->ram_lock);
	return rc;
}

void loop_ram_free(struct loop_conn *c, uint64_t gpa, uint64_t bytes)
{
	uint64_t len = (bytes + PAGE - 1) & ~(PAGE - 1);
	struct loop_extent **pp, *e, *n;

	if (!bytes)
		return;
	n = malloc(sizeof(*n));
	/* give the pages back: the next user starts from zeroes */
	fallocate(c->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		  (off_t)gpa, (off_t)len);
	if (!n)
		return; /* the range is lost to this process, nothing worse */
	pthread_mutex_lock(&c->ram_lock);
	for (pp = &c->free; *pp && (*pp)->gpa < gpa; pp = &(*pp)->next)
		;
	*n = (struct loop_extent){ .gpa = gpa, .len = len, .next = *pp };
	*pp = n;
	for (e = c->free; e && e->next;) {
		if (e->gpa + e->len != e->next->gpa) {
			e = e->next;
			continue;
		}
		n = e->next;
		e->len += n->len;
		e->next = n->next;
		free(n);
	}
	pthread_mutex_unlock(&c->ram_lock);
}

/* ---- connection ---- */

static int make_ram(struct loop_conn *c, uint64_t bytes)
{
	if (!bytes)
		bytes = loop_parse_size(getenv(LOOP_RAM_ENV));
	if (!bytes)
		bytes = LOOP_RAM_DEFAULT;
	bytes = (bytes + PAGE - 1) & ~(PAGE - 1);
	c->memfd = memfd_create("vgpu-loopback-ram",
				MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (c->memfd < 0)
		return -errno;
	if (ftruncate(c->memfd, (off_t)bytes) < 0 ||
	    fcntl(c->memfd, F_ADD_SEALS,
		  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return -errno;
	c->ram = mmap(NULL, (size_t)bytes, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_NORESERVE, c->memfd, 0);
	if (c->ram == MAP_FAILED) {
		c->ram = NULL;
		return -errno;
	}
	c->ram_size = bytes;
	/* page 0 stays unused: no structure lives at guest address 0 */
	c->free = malloc(sizeof(*c->free));
	if (!c->free)
		return -ENOMEM;
	*c->free = (struct loop_extent){ .gpa = PAGE, .len = bytes - PAGE };
	return 0;
}

static int say_hello(struct loop_conn *c)
{
	struct vgpu_loop_msg m = { .magic = VGPU_LOOP_MAGIC,
				   .type = VGPU_LOOP_HELLO,
				   .version = VGPU_LOOP_VERSION,
				   .val = c->ram_size };
	int fds[3] = { c->memfd, c->doorbell, c->irq };
	union {
		char b[CMSG_SPACE(sizeof(fds))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.b,
			     .msg_controllen = sizeof(ctl.b) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	ssize_t n;

	memset(ctl.b, 0, sizeof(ctl.b));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	/* a full server answers before reading: a failed send still has
	 * its reply to read */
	sendmsg(c->sock, &mh, MSG_NOSIGNAL);
	/* a server that closed with our HELLO unread reports ECONNRESET
	 * once, before the reply it had queued */
	do
		n = recv(c->sock, &m, sizeof(m), 0);
	while (n < 0 && (errno == EINTR || errno == ECONNRESET));
	if (n != (ssize_t)sizeof(m) || m.magic != VGPU_LOOP_MAGIC ||
	    m.type != VGPU_LOOP_HELLO)
		return -ECONNRESET;
	if (m.status)
		return m.status;
	c->abi = (uint32_t)m.val;
	return 0;
}

static int connect_to(struct loop_conn *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path));
	c->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->sock < 0)
		return -errno;
	if (connect(c->sock, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return errno == ECONNREFUSED ? -ENOENT : -errno;
	return 0;
}

/* Reset, then read what the device offers. */
static int bring_up(struct loop_conn *c)
{
	int rc = loop_wr32(c, VGPU_REG_STATUS, 0);

	if (rc == 0)
		rc = loop_wr32(c, VGPU_REG_STATUS, VGPU_STATUS_ACKNOWLEDGE);
	if (rc < 0)
		return rc;
	if (loop_rd32(c, VGPU_REG_MAGIC) != VGPU_MAGIC)
		return -ENODEV;
	c->features = loop_rd32(c, VGPU_REG_FEATURES);
	c->max_queues = loop_rd32(c, VGPU_REG_MAX_QUEUES);
	c->max_qdepth = loop_rd32(c, VGPU_REG_MAX_QDEPTH);
	if (!(c->features & VGPU_F_QUEUES))
		return -ENOTSUP;
	if (c->max_queues > VGPU_MAX_QUEUES_ABI)
		c->max_queues = VGPU_MAX_QUEUES_ABI;
	return 0;
}

int loop_conn_open(struct loop_conn **out, const char *path, uint64_t ram_bytes)
{
	struct loop_conn *c = calloc(1, sizeof(*c));
	pthread_condattr_t ca;
	int rc;

	if (!c)
		return -ENOMEM;
	c->sock = c->doorbell = c->irq = c->memfd = -1;
	pthread_mutex_init(&c->msg_lock, NULL);
	pthread_mutex_init(&c->qwin_lock, NULL);
	pthread_mutex_init(&c->ram_lock, NULL);
	pthread_mutex_init(&c->irq_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->irq_cond, &ca);
	pthread_condattr_destroy(&ca);
	rc = connect_to(c, path);
	if (rc == 0)
		rc = make_ram(c, ram_bytes);
	if (rc == 0) {
		c->doorbell = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		c->irq = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (c->doorbell < 0 || c->irq < 0)
			rc = -errno;
	}
	if (rc == 0)
		rc = say_hello(c);
	if (rc == 0)
		rc = bring_up(c);
	if (rc < 0) {
		loop_conn_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

void loop_conn_close(struct loop_conn *c)
{
	struct loop_extent *e;

	if (!c)
		return;
	if (c->sock >= 0)
		close(c->sock);
	if (c->ram)
		munmap(c->ram, (size_t)c->ram_size);
	if (c->memfd >= 0)
		close(c->memfd);
	if (c->doorbell >= 0)
		close(c->doorbell);
	if (c->irq >= 0)
		close(c->irq);
	while ((e = c->free)) {
		c->free = e->next;
		free(e);
	}
	pthread_mutex_destroy(&c->msg_lock);
	pthread_mutex_destroy(&c->qwin_lock);
	pthread_mutex_destroy(&c->ram_lock);
	pthread_mutex_destroy(&c->irq_lock);
	pthread_cond_destroy(&c->irq_cond);
	free(c);
}

int loop_doorbell(struct loop_conn *c)
{
	uint64_t one = 1;

	/* EAGAIN: the counter is full, the device has a bell pending */
	if (write(c->doorbell, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}
