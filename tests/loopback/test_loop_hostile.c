// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hostile loopback clients against the real daemon: malformed HELLOs
 * (no descriptors, too many, the wrong kinds, an unsealed or write-sealed
 * memfd, bad sizes), garbage after HELLO (magic, type, sizes, offsets,
 * lengths, a second HELLO, descriptors riding along), a memfd that tries
 * to shrink or loses pages, floods, and churn. Each gets an error reply or
 * its connection closed; after each test a witness VM opened at the start
 * still answers and the listener still accepts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include <vgpu/loopback_proto.h>
#include <vgpu/vgpu_ring_abi.h>
#include <vgpu/vgpu_stub_regs.h>

#include "../../guest/lib/loop_client.h"
#include "ldaemon.h"

#define RAM (1u << 20)

struct fx {
	struct ldaemon d;
	struct loop_conn *witness;
};

static int group_setup(void **state)
{
	static const char *const args[] = { "--max-connections", "8", NULL };
	struct fx *f = calloc(1, sizeof(*f));

	signal(SIGPIPE, SIG_IGN);
	if (!f || ld_start(&f->d, NULL, args) < 0 ||
	    loop_conn_open(&f->witness, f->d.path, RAM) < 0) {
		if (f)
			ld_dump(&f->d);
		return -1;
	}
	*state = f;
	return 0;
}

static int group_teardown(void **state)
{
	struct fx *f = *state;
	int rc;

	loop_conn_close(f->witness);
	rc = ld_stop(&f->d);
	free(f);
	return rc == 0 ? 0 : -1;
}

/* After every test: the witness VM and the listener are fine. */
static int check_alive(void **state)
{
	struct fx *f = *state;
	struct loop_conn *c;
	int rc;

	ld_drain(&f->d);
	if (kill(f->d.pid, 0) < 0 ||
	    loop_rd32(f->witness, VGPU_REG_MAGIC) != VGPU_MAGIC)
		return -1;
	rc = loop_conn_open(&c, f->d.path, RAM);
	if (rc < 0)
		return -1;
	loop_conn_close(c);
	return 0;
}

static int raw_connect(struct fx *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memcpy(sa.sun_path, f->d.path, strlen(f->d.path));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static ssize_t raw_send(int sock, const void *buf, size_t len, const int *fds,
			int nfds)
{
	union {
		char b[CMSG_SPACE(64 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (nfds) {
		memset(ctl.b, 0, sizeof(ctl.b));
		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL);
}

/* The next reply: its status; 1 at the connection's end. */
static int raw_reply(int sock, struct vgpu_loop_msg *r)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	ssize_t n;

	assert_int_equal(poll(&p, 1, 10000), 1);
	n = recv(sock, r, sizeof(*r), 0);
	if (n == 0 || (n < 0 && errno == ECONNRESET))
		return 1;
	assert_int_equal(n, sizeof(*r));
	assert_int_equal(r->magic, VGPU_LOOP_MAGIC);
	return r->status;
}

static struct vgpu_loop_msg msg(uint32_t type, uint32_t size, uint64_t off,
				uint64_t val)
{
	return (struct vgpu_loop_msg){ .magic = VGPU_LOOP_MAGIC,
				       .type = type,
				       .version = type == VGPU_LOOP_HELLO ?
							  VGPU_LOOP_VERSION :
							  0,
				       .size = size,
				       .off = off,
				       .val = val };
}

static int sealed_memfd(size_t size, int seals)
{
	int fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	if (seals)
		assert_int_equal(fcntl(fd, F_ADD_SEALS, seals), 0);
	return fd;
}

/* HELLO with @fds: its status; the connection must then be closed
 * (any status but 0) or serving (0). */
static int hello_with(struct fx *f, const void *m, size_t len, const int *fds,
		      int nfds)
{
	struct vgpu_loop_msg r, rd = msg(VGPU_LOOP_READ, 4, 0, 0);
	int sock = raw_connect(f), st;

	assert_true(raw_send(sock, m, len, fds, nfds) >= 0);
	st = raw_reply(sock, &r);
	assert_int_not_equal(st, 1);
	if (st == 0) {
		assert_int_equal(r.val >> 16, 1);
	} else {
		/* refused: nothing more is served on this connection */
		raw_send(sock, &rd, sizeof(rd), NULL, 0);
		assert_int_equal(raw_reply(sock, &r), 1);
	}
	close(sock);
	return st;
}

/* A HELLO whose three descriptors are @m0, @d and @i. */
static int hello3(struct fx *f, int m0, int d, int i, uint64_t size)
{
	struct vgpu_loop_msg m = msg(VGPU_LOOP_HELLO, 0, 0, size);
	int fds[3] = { m0, d, i };

	return hello_with(f, &m, sizeof(m), fds, 3);
}

static void test_hello_descriptors(void **state)
{
	struct fx *f = *state;
	struct vgpu_loop_msg m = msg(VGPU_LOOP_HELLO, 0, 0, RAM);
	int mem = sealed_memfd(RAM, F_SEAL_SHRINK);
	int ev = eventfd(0, EFD_CLOEXEC), many[20], i;

	for (i = 0; i < 20; i++)
		many[i] = i % 3 ? ev : mem;
	assert_int_equal(hello_with(f, &m, sizeof(m), NULL, 0), -EPROTO);
	assert_int_equal(hello_with(f, &m, sizeof(m), many, 1), -EPROTO);
	assert_int_equal(hello_with(f, &m, sizeof(m), many, 2), -EPROTO);
	assert_int_equal(hello_with(f, &m, sizeof(m), many, 4), -EPROTO);
	assert_int_equal(hello_with(f, &m, sizeof(m), many, 20), -EPROTO);
	/* and the right three work */
	assert_int_equal(hello3(f, mem, ev, ev, RAM), 0);
	close(mem);
	close(ev);
}

static void test_hello_malformed(void **state)
{
	struct fx *f = *state;
	int mem = sealed_memfd(RAM, F_SEAL_SHRINK);
	int ev = eventfd(0, EFD_CLOEXEC), fds[3] = { mem, ev, ev };
	struct vgpu_loop_msg m = msg(VGPU_LOOP_HELLO, 0, 0, RAM);
	uint8_t big[200] = { 0 };

	m.magic = 0x12345678;
	assert_int_equal(hello_with(f, &m, sizeof(m), fds, 3), -EPROTO);
	m = msg(VGPU_LOOP_READ, 4, 0, 0); /* not a HELLO first */
	assert_int_equal(hello_with(f, &m, sizeof(m), fds, 3), -EPROTO);
	m = msg(VGPU_LOOP_HELLO, 0, 0, RAM);
	m.version = 2;
	assert_int_equal(hello_with(f, &m, sizeof(m), fds, 3), -EPROTO);
	m = msg(VGPU_LOOP_HELLO, 0, 0, RAM);
	m.rsvd = 1;
	assert_int_equal(hello_with(f, &m, sizeof(m), fds, 3), -EPROTO);
	m = msg(VGPU_LOOP_HELLO, 0, 0, RAM);
	assert_int_equal(hello_with(f, &m, 20, fds, 3), -EPROTO);
	memcpy(big, &m, sizeof(m));
	assert_int_equal(hello_with(f, big, sizeof(big), fds, 3), -EPROTO);
	close(mem);
	close(ev);
}

static void test_hello_not_memfd(void **state)
{
	struct fx *f = *state;
	int ev = eventfd(0, EFD_CLOEXEC), p[2], ro, file, sk[2], huge;
	int mem = sealed_memfd(RAM, F_SEAL_SHRINK);
	char path[64];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sk), 0);
	file = open(ld_binary, O_RDONLY | O_CLOEXEC); /* a file on disk */
	assert_true(file >= 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mem);
	ro = open(path, O_RDONLY | O_CLOEXEC); /* the memfd, read-only */
	assert_true(ro >= 0);
	assert_int_equal(hello3(f, file, ev, ev, 4096), -EBADF);
	assert_int_equal(hello3(f, p[0], ev, ev, RAM), -EBADF);
	assert_int_equal(hello3(f, sk[0], ev, ev, RAM), -EBADF);
	assert_int_equal(hello3(f, ev, ev, ev, RAM), -EBADF);
	assert_int_equal(hello3(f, ro, ev, ev, RAM), -EBADF);
	/* eventfd slots with other things in them */
	assert_int_equal(hello3(f, mem, p[1], ev, RAM), -EBADF);
	assert_int_equal(hello3(f, mem, ev, mem, RAM), -EBADF);
	assert_int_equal(hello3(f, mem, ev, sk[0], RAM), -EBADF);
	/* hugetlbfs memfds are refused too (4 KiB frame views need shmem) */
	huge = memfd_create("h", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB);
	if (huge >= 0 && ftruncate(huge, 2 << 20) == 0 &&
	    fcntl(huge, F_ADD_SEALS, F_SEAL_SHRINK) == 0)
		assert_int_equal(hello3(f, huge, ev, ev, 2 << 20), -EBADF);
	else
		printf("# no hugetlbfs memfd here: that case not tried\n");
	if (huge >= 0)
		close(huge);
	close(file);
	close(ro);
	close(p[0]);
	close(p[1]);
	close(sk[0]);
	close(sk[1]);
	close(mem);
	close(ev);
}

static void test_hello_seals_and_sizes(void **state)
{
	struct fx *f = *state;
	int ev = eventfd(0, EFD_CLOEXEC);
	int unsealed = sealed_memfd(RAM, 0);
	int grow = sealed_memfd(RAM, F_SEAL_GROW);
	int wseal = sealed_memfd(RAM, F_SEAL_SHRINK | F_SEAL_WRITE);
	int plain = memfd_create("plain", MFD_CLOEXEC); /* no sealing at all */
	int ok = sealed_memfd(RAM, F_SEAL_SHRINK);

	assert_int_equal(ftruncate(plain, RAM), 0);
	assert_int_equal(hello3(f, unsealed, ev, ev, RAM), -EPERM);
	assert_int_equal(hello3(f, grow, ev, ev, RAM), -EPERM);
	assert_int_equal(hello3(f, wseal, ev, ev, RAM), -EPERM);
	assert_int_equal(hello3(f, plain, ev, ev, RAM), -EPERM);
	assert_int_equal(hello3(f, ok, ev, ev, 0), -EINVAL);
	assert_int_equal(hello3(f, ok, ev, ev, RAM - 1), -EINVAL);
	assert_int_equal(hello3(f, ok, ev, ev, 2 * RAM), -EINVAL);
	assert_int_equal(hello3(f, ok, ev, ev, 1ull << 41), -EINVAL);
	assert_int_equal(hello3(f, ok, ev, ev, ~0ull << 12), -EINVAL);
	/* less than the memfd holds is fine: the VM's RAM is what it says */
	assert_int_equal(hello3(f, ok, ev, ev, RAM / 2), 0);
	close(unsealed);
	close(grow);
	close(wseal);
	close(plain);
	close(ok);
	close(ev);
}

/* A connection after a good HELLO, raw. */
static int raw_vm(struct fx *f, int *memfd)
{
	struct vgpu_loop_msg m = msg(VGPU_LOOP_HELLO, 0, 0, RAM), r;
	int sock = raw_connect(f), ev = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int mem = sealed_memfd(RAM, F_SEAL_SHRINK), fds[3] = { mem, ev, ev };

	assert_true(raw_send(sock, &m, sizeof(m), fds, 3) > 0);
	assert_int_equal(raw_reply(sock, &r), 0);
	close(ev);
	if (memfd)
		*memfd = mem;
	else
		close(mem);
	return sock;
}

/* Send @m (@len bytes); expect exactly one reply with @status. */
static void expect(int sock, const void *m, size_t len, int status)
{
	struct vgpu_loop_msg r;

	assert_int_equal(raw_send(sock, m, len, NULL, 0), (ssize_t)len);
	assert_int_equal(raw_reply(sock, &r), status);
}

static void test_garbage_after_hello(void **state)
{
	struct fx *f = *state;
	int sock = raw_vm(f, NULL);
	struct vgpu_loop_msg m, r;
	uint8_t big[300] = { 0 };

	m = msg(VGPU_LOOP_READ, 4, 0, 0);
	m.magic = 0;
	expect(sock, &m, sizeof(m), -EPROTO);
	expect(sock,
	       &(struct vgpu_loop_msg){
		       .magic = VGPU_LOOP_MAGIC, .type = 99, .size = 4 },
	       sizeof(m), -EPROTO);
	m = msg(VGPU_LOOP_READ, 4, 0, 0);
	m.version = 1;
	expect(sock, &m, sizeof(m), -EPROTO);
	m = msg(VGPU_LOOP_READ, 4, 0, 0);
	m.status = -1;
	expect(sock, &m, sizeof(m), -EPROTO);
	m = msg(VGPU_LOOP_WRITE, 4, 0, 0);
	m.rsvd = 7;
	expect(sock, &m, sizeof(m), -EPROTO);
	m = msg(VGPU_LOOP_READ, 0, 0, 0);
	expect(sock, &m, sizeof(m), -EINVAL);
	m.size = 3;
	expect(sock, &m, sizeof(m), -EINVAL);
	m.size = 16;
	expect(sock, &m, sizeof(m), -EINVAL);
	m.size = 0x80000004u;
	expect(sock, &m, sizeof(m), -EINVAL);
	m = msg(VGPU_LOOP_READ, 4, VGPU_BAR0_SIZE, 0);
	expect(sock, &m, sizeof(m), -EINVAL);
	m = msg(VGPU_LOOP_READ, 2, VGPU_BAR0_SIZE - 1, 0);
	expect(sock, &m, sizeof(m), -EINVAL);
	m = msg(VGPU_LOOP_WRITE, 8, ~0ull - 3, 0); /* off + size wraps */
	expect(sock, &m, sizeof(m), -EINVAL);
	m = msg(VGPU_LOOP_READ, 4, 1ull << 63, 0);
	expect(sock, &m, sizeof(m), -EINVAL);
	m = msg(VGPU_LOOP_WRITE, 4, VGPU_REG_SCRATCH, 1ull << 32);
	expect(sock, &m, sizeof(m), -EINVAL);
	m = msg(VGPU_LOOP_READ, 4, VGPU_REG_SCRATCH, 5);
	expect(sock, &m, sizeof(m), -EINVAL);
	expect(sock, &m, 10, -EPROTO);
	memcpy(big, &m, sizeof(m));
	expect(sock, big, sizeof(big), -EPROTO);
	/* a second HELLO is refused; the VM goes on */
	m = msg(VGPU_LOOP_HELLO, 0, 0, RAM);
	expect(sock, &m, sizeof(m), -EISCONN);
	m = msg(VGPU_LOOP_READ, 4, VGPU_REG_MAGIC, 0);
	assert_int_equal(raw_send(sock, &m, sizeof(m), NULL, 0), sizeof(m));
	assert_int_equal(raw_reply(sock, &r), 0);
	assert_int_equal(r.val, VGPU_MAGIC);
	assert_int_equal(r.off, VGPU_REG_MAGIC);
	assert_int_equal(r.size, 4);
	close(sock);
}

/* Descriptors sent after HELLO are not kept: the pipe's write end we
 * pass along is closed by the server, so its read end sees EOF. */
static void test_fds_after_hello(void **state)
{
	struct fx *f = *state;
	struct vgpu_loop_msg m = msg(VGPU_LOOP_HELLO, 0, 0, RAM), r;
	int sock = raw_vm(f, NULL), p[2], fds[8], i;
	char c;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	for (i = 0; i < 8; i++)
		fds[i] = p[1];
	assert_int_equal(raw_send(sock, &m, sizeof(m), fds, 8), sizeof(m));
	assert_int_equal(raw_reply(sock, &r), -EISCONN);
	m = msg(VGPU_LOOP_READ, 4, VGPU_REG_MAGIC, 0);
	assert_int_equal(raw_send(sock, &m, sizeof(m), fds, 8), sizeof(m));
	assert_int_equal(raw_reply(sock, &r), 0);
	assert_int_equal(r.val, VGPU_MAGIC);
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 0);
	close(p[0]);
	close(sock);
}

/* The memfd cannot shrink under the server; punched holes read as zeroes
 * and the VM serves on. */
static void test_memfd_shrink(void **state)
{
	struct fx *f = *state;
	struct loop_conn *c;
	struct loop_queue q;
	struct vgpu_sqe e = { .opcode = VGPU_OP_NOP };
	uint32_t qerr, st;
	uint64_t r;

	assert_int_equal(loop_conn_open(&c, f->d.path, RAM), 0);
	assert_int_equal(loop_queue_create(c, &q, 1, 16, &qerr), 0);
	q.timeout_ns = 10000000000ull;
	errno = 0;
	assert_int_not_equal(ftruncate(c->memfd, 4096), 0);
	assert_int_equal(errno, EPERM);
	assert_int_equal(loop_queue_exec(c, &q, &e, &st, &r), 0);
	assert_int_equal(st, VGPU_S_OK);
	/* drop every page of guest RAM: the server sees zeroes, no fault */
	assert_int_equal(fallocate(c->memfd,
				   FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				   0, RAM),
			 0);
	assert_int_equal(loop_wr32(c, VGPU_REG_DOORBELL(1), 0), 0);
	assert_int_equal(loop_doorbell(c), 0);
	assert_int_equal(loop_rd32(c, VGPU_REG_MAGIC), VGPU_MAGIC);
	loop_conn_close(c);
}

/* Many requests without reading a reply: the server blocks on its side
 * (the kernel's socket buffers), other VMs are served meanwhile, and every
 * request gets exactly one reply, in order. */
static void test_flood(void **state)
{
	struct fx *f = *state;
	int sock = raw_vm(f, NULL), sent = 0, got = 0, n = 20000, full = 0;
	struct vgpu_loop_msg m, r;

	while (sent < n) {
		m = msg(VGPU_LOOP_READ, 4, (uint64_t)(sent % 1024) * 4, 0);
		if (sent % 3 == 0)
			m.magic = 0xbad; /* garbage in the stream too */
		if (send(sock, &m, sizeof(m), MSG_NOSIGNAL | MSG_DONTWAIT) !=
		    sizeof(m)) {
			assert_int_equal(errno, EAGAIN);
			full++;
			/* both directions are full: others still served */
			assert_int_equal(loop_rd32(f->witness, VGPU_REG_MAGIC),
					 VGPU_MAGIC);
			while (got < sent && recv(sock, &r, sizeof(r),
						  MSG_DONTWAIT) == sizeof(r)) {
				assert_int_equal(r.off, (got % 1024) * 4);
				assert_int_equal(r.status,
						 got % 3 ? 0 : -EPROTO);
				got++;
			}
			continue;
		}
		sent++;
	}
	assert_true(full > 0); /* the flood did fill the socket */
	while (got < n) {
		assert_int_equal(raw_reply(sock, &r), got % 3 ? 0 : -EPROTO);
		assert_int_equal(r.off, (got % 1024) * 4);
		got++;
	}
	m = msg(VGPU_LOOP_READ, 4, 0, 0);
	assert_int_equal(raw_send(sock, &m, sizeof(m), NULL, 0), sizeof(m));
	assert_int_equal(raw_reply(sock, &r), 0);
	close(sock);
}

/* Clients that leave at every point: before HELLO, right after it, with
 * requests in flight, with unread replies. The listener reaps them all. */
static void test_churn(void **state)
{
	struct fx *f = *state;
	struct vgpu_loop_msg m = msg(VGPU_LOOP_READ, 4, 0, 0);
	int i, k;

	ld_drain(&f->d);
	f->d.seen = f->d.loglen;
	for (i = 0; i < 60; i++) {
		int sock = i % 3 ? raw_vm(f, NULL) : raw_connect(f);

		for (k = 0; k < (i % 4) * 50; k++)
			send(sock, &m, sizeof(m), MSG_NOSIGNAL | MSG_DONTWAIT);
		close(sock);
		/* 8 connections at most: the witness, one VM of an earlier
		 * test still going away, and six of ours */
		if (i % 6 == 5)
			for (k = 0; k < 6; k++)
				assert_int_equal(
					ld_wait_log(&f->d, "exited with status",
						    10000),
					0);
	}
}

#define T(fn) cmocka_unit_test_teardown(fn, check_alive)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_hello_descriptors),
		T(test_hello_malformed),
		T(test_hello_not_memfd),
		T(test_hello_seals_and_sizes),
		T(test_garbage_after_hello),
		T(test_fds_after_hello),
		T(test_memfd_shrink),
		T(test_flood),
		T(test_churn),
	};

	return cmocka_run_group_tests_name("loopback hostile clients", tests,
					   group_setup, group_teardown);
}
