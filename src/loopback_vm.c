// SPDX-License-Identifier: GPL-2.0-only
/*
 * One loopback connection's VM, in its own process: HELLO (the client's
 * memfd and eventfds, checked), the device on the host_loop seam, then
 * src/serve.c's loop over the connection (BAR0 messages), the doorbell
 * eventfd, the device's own completion descriptor and signals. Nothing
 * outlives the connection: closing it frees the device, its backend and
 * its mappings, and the process exits.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vgpu/host_loop.h>
#include <vgpu/ioreq.h>
#include <vgpu/backend_open.h>
#include <vgpu/loopback.h>
#include <vgpu/vgpu_stub.h>
#include <vgpu/loopback_proto.h>
#include <vgpu/serve.h>
#include <vgpu/vgpu_ring_abi.h>
#include <vgpu/vgpu_stub_regs.h>

#define HELLO_FDS 3
#define MAX_FDS 8 /* room to notice too many without losing count */
#define MSGS_PER_WAKE 64 /* then let the other sources in */
#define MSI_ADDR 0xfee00000u /* any address: the host seam ignores it */

struct vm {
	struct logger *lg;
	int sock;
	int sigfd;
	int doorbell;
	struct loop_host *lh;
	struct vdev dev;
	bool have_dev;
	struct backend *be; /* before the drop; the device does not own it */
	struct vgpu_stub_cfg dcfg;
	struct io_stats st;
};

static int send_msg(int sock, const struct vgpu_loop_msg *m)
{
	ssize_t n = send(sock, m, sizeof(*m), MSG_NOSIGNAL);

	return n == (ssize_t)sizeof(*m) ? 0 : -errno;
}

static int reply(int sock, const struct vgpu_loop_msg *req, int status,
		 uint64_t val)
{
	struct vgpu_loop_msg r = {
		.magic = VGPU_LOOP_MAGIC,
		.type = req->type,
		.version = req->type == VGPU_LOOP_HELLO ? VGPU_LOOP_VERSION : 0,
		.size = req->size,
		.off = req->off,
		.val = val,
		.status = status,
	};

	return send_msg(sock, &r);
}

/* ---- HELLO ---- */

static uint32_t reg(struct vdev *d, uint32_t off)
{
	return (uint32_t)vdev_bar_read(d, off, 4);
}

/* Receive one message and the descriptors it carries. The message's
 * length, or -errno; *nfds = -1 when there were too many to receive. */
static ssize_t recv_with_fds(int sock, void *buf, size_t len, int *fds,
			     int *nfds)
{
	union {
		char b[CMSG_SPACE(MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.b,
		.msg_controllen = sizeof(ctl.b),
	};
	struct cmsghdr *c;
	ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);

	*nfds = 0;
	if (n < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t k, cnt;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < cnt && *nfds < MAX_FDS; k++)
			memcpy(&fds[(*nfds)++], CMSG_DATA(c) + k * sizeof(int),
			       sizeof(int));
	}
	if (mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) {
		while (*nfds > 0)
			close(fds[--*nfds]);
		*nfds = -1;
		if (mh.msg_flags & MSG_TRUNC)
			return (ssize_t)len + 1;
	}
	return n;
}

static bool hello_ok(const struct vgpu_loop_msg *m)
{
	return m->magic == VGPU_LOOP_MAGIC && m->type == VGPU_LOOP_HELLO &&
	       m->version == VGPU_LOOP_VERSION && m->size == 0 && m->off == 0 &&
	       m->status == 0 && m->rsvd == 0;
}

/* The platform's part: what firmware and the OS would program in config
 * space on Xen. Bus mastering on, and the MSI capability (if the model
 * has one) enabled; otherwise INTA, as edges (host_loop.c). */
static void platform_setup(struct vdev *d)
{
	uint32_t cap = pci_cfg_get16(d->cfg, PCI_STATUS) & PCI_STATUS_CAP_LIST ?
			       vdev_cfg_read(d, PCI_CAPABILITY_LIST, 1) & 0xfc :
			       0;
	unsigned int hops = 0;
	uint16_t cmd = PCI_COMMAND_MASTER;

	while (cap >= 0x40 && hops++ < 48 &&
	       vdev_cfg_read(d, cap, 1) != PCI_CAP_ID_MSI)
		cap = vdev_cfg_read(d, cap + 1, 1) & 0xfc;
	if (cap >= 0x40 && hops <= 48) {
		uint32_t fl = vdev_cfg_read(d, cap + PCI_MSI_FLAGS, 2);

		vdev_cfg_write(d, cap + PCI_MSI_ADDRESS_LO, 4, MSI_ADDR);
		if (fl & PCI_MSI_FLAGS_64BIT) {
			vdev_cfg_write(d, cap + PCI_MSI_ADDRESS_HI, 4, 0);
			vdev_cfg_write(d, cap + PCI_MSI_DATA_64, 2, 0);
		} else {
			vdev_cfg_write(d, cap + PCI_MSI_ADDRESS_HI, 2, 0);
		}
		vdev_cfg_write(d, cap + PCI_MSI_FLAGS, 2,
			       fl | PCI_MSI_FLAGS_ENABLE);
		cmd |= PCI_COMMAND_INTX_DISABLE;
	}
	vdev_cfg_write(d, PCI_COMMAND, 2, cmd);
}

/*
 * Check the HELLO and build the VM; takes the descriptors it keeps (sets
 * them to -1 in @fds). 0, or -errno with @why.
 */
/* The backend --backend names, with the command line's per-VM limits:
 * made here, before the privilege drop (threads, a CUDA worker). */
static int open_backend(struct vm *vm, const struct loopback_vm_cfg *cfg,
			char *why, size_t len)
{
	int spawner = cfg->cuda_spawner;

	vm->be = backend_open(cfg->cli, "loopback", vm->lg, &spawner, why, len);
	if (!vm->be)
		return -ENODEV;
	vm->dcfg =
		(struct vgpu_stub_cfg){ .be = vm->be, .limits = cfg->limits };
	return 0;
}

static int hello_setup(struct vm *vm, const struct vgpu_loop_msg *m, int *fds,
		       int nfds, const struct loopback_vm_cfg *cfg, char *why,
		       size_t len)
{
	int rc;

	if (nfds < 0) {
		snprintf(why, len, "HELLO with too many descriptors");
		return -EPROTO;
	}
	if (!hello_ok(m) || nfds != HELLO_FDS) {
		snprintf(why, len,
			 "malformed HELLO (%d descriptors, 3 expected)", nfds);
		return -EPROTO;
	}
	rc = loop_check_memfd(fds[0], m->val, why, len);
	if (rc == 0)
		rc = loop_check_eventfd(fds[1], "doorbell", why, len);
	if (rc == 0)
		rc = loop_check_eventfd(fds[2], "interrupt", why, len);
	if (rc < 0)
		return rc;
	vm->doorbell = fds[1];
	rc = loop_host_open(&vm->lh, fds[0], m->val, fds[2], vm->lg, why, len);
	fds[0] = fds[1] = fds[2] = -1;
	if (rc < 0)
		return rc;
	rc = open_backend(vm, cfg, why, len);
	if (rc < 0)
		return rc;
	rc = vdev_create_cfg(&vm->dev, cfg->ops, cfg->ids, cfg->sbdf,
			     loop_host_seam(vm->lh), vm->lg, &vm->dcfg);
	if (rc < 0) {
		snprintf(why, len, "cannot create the device: %s",
			 strerror(-rc));
		return rc;
	}
	vm->have_dev = true;
	platform_setup(&vm->dev);
	return 0;
}

/* Wait for HELLO, set the VM up, drop privileges, answer. 0 or -errno
 * (the connection is then closed). */
static int hello(struct vm *vm, const struct loopback_vm_cfg *cfg)
{
	struct vgpu_loop_msg m = { 0 };
	struct pollfd p[2] = { { .fd = vm->sock, .events = POLLIN },
			       { .fd = vm->sigfd, .events = POLLIN } };
	int fds[MAX_FDS], nfds = 0, rc, i;
	char why[160] = "";
	uint8_t buf[sizeof(m) + 8];
	uint32_t ver;
	ssize_t n;

	do
		rc = poll(p, 2, cfg->hello_ms);
	while (rc < 0 && errno == EINTR);
	if (rc > 0 && !p[0].revents) {
		log_info(vm->lg, "ended by a signal before HELLO");
		return -EINTR;
	}
	if (rc == 0) {
		m.type = VGPU_LOOP_HELLO;
		log_info(vm->lg, "no HELLO within %d ms: closing",
			 cfg->hello_ms);
		reply(vm->sock, &m, -ETIMEDOUT, 0);
		return -ETIMEDOUT;
	}
	n = recv_with_fds(vm->sock, buf, sizeof(buf), fds, &nfds);
	if (n <= 0) {
		log_info(vm->lg, "the client left before HELLO");
		return n < 0 ? (int)n : -ECONNRESET;
	}
	memcpy(&m, buf, (size_t)n < sizeof(m) ? (size_t)n : sizeof(m));
	if (n != (ssize_t)sizeof(m)) {
		snprintf(why, sizeof(why), "HELLO of %zd bytes, not %zu", n,
			 sizeof(m));
		rc = -EPROTO;
	} else {
		rc = hello_setup(vm, &m, fds, nfds, cfg, why, sizeof(why));
	}
	for (i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (rc == 0 && cfg->depriv) {
		const struct depriv_rules *extra[] = {
			backend_depriv_rules(cfg->cli), NULL
		};

		rc = depriv_drop(cfg->depriv, vm->lg, extra);
		if (rc < 0)
			snprintf(why, sizeof(why), "cannot drop privileges");
	}
	m.type = VGPU_LOOP_HELLO;
	m.size = 0;
	m.off = 0;
	if (rc < 0) {
		log_guest(vm->lg, "HELLO refused (%s): %s", strerror(-rc), why);
		reply(vm->sock, &m, rc, 0);
		return rc;
	}
	ver = reg(&vm->dev, VGPU_REG_VERSION);
	log_info(vm->lg, "%s: %llu MiB of guest RAM, ABI %u.%u", cfg->ops->name,
		 (unsigned long long)(m.val >> 20), ver >> 16, ver & 0xffff);
	return reply(vm->sock, &m, 0, ver);
}

/* ---- serving ---- */

/* A BAR0 request's status: 0, -EPROTO, -EINVAL or -EISCONN. */
static int check_access(const struct vm *vm, const struct vgpu_loop_msg *m)
{
	uint32_t bar = vm->dev.ops->bar0_size;

	if (m->magic == VGPU_LOOP_MAGIC && m->type == VGPU_LOOP_HELLO)
		return -EISCONN;
	if (m->magic != VGPU_LOOP_MAGIC || m->version || m->status || m->rsvd)
		return -EPROTO;
	if (m->type != VGPU_LOOP_READ && m->type != VGPU_LOOP_WRITE)
		return -EPROTO;
	if (m->size != 1 && m->size != 2 && m->size != 4 && m->size != 8)
		return -EINVAL;
	if (m->off > bar || m->size > bar - m->off)
		return -EINVAL;
	if (m->type == VGPU_LOOP_WRITE && m->size < 8 &&
	    (m->val >> (8 * m->size)))
		return -EINVAL;
	if (m->type == VGPU_LOOP_READ && m->val)
		return -EINVAL;
	return 0;
}

/* One message of @n bytes: exactly one reply, then the deferred work.
 * SERVE_GO_ON, or how the VM ends. */
static int serve_msg(struct vm *vm, const struct vgpu_loop_msg *m, ssize_t n)
{
	struct vgpu_loop_msg bad = { .type = m->type };
	int st = n == (ssize_t)sizeof(*m) ? check_access(vm, m) : -EPROTO;
	uint64_t val = 0;

	if (st < 0) {
		vm->st.rejected++;
		log_guest(
			vm->lg,
			"bad message (%zd bytes, type %u, size %u, off 0x%llx): %s",
			n, m->type, m->size, (unsigned long long)m->off,
			strerror(-st));
		if (n != (ssize_t)sizeof(*m))
			m = &bad;
	} else if (m->type == VGPU_LOOP_READ) {
		val = vdev_bar_read(&vm->dev, m->off, m->size);
	} else {
		vdev_bar_write(&vm->dev, m->off, m->size, m->val);
	}
	vm->st.mmio++;
	if (reply(vm->sock, m, st, val) < 0)
		return SERVE_DOMAIN_GONE; /* the client left */
	/* the request is answered: now the work a doorbell asked for */
	vdev_run_deferred(&vm->dev);
	return SERVE_GO_ON;
}

static int on_socket(void *arg)
{
	struct vm *vm = arg;
	unsigned int i;

	for (i = 0; i < MSGS_PER_WAKE; i++) {
		union {
			struct vgpu_loop_msg m;
			uint8_t b[sizeof(struct vgpu_loop_msg) + 8];
		} u = { 0 };
		ssize_t n = read(vm->sock, u.b, sizeof(u.b));
		int more = 0, r;

		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
			log_info(vm->lg, "the client closed the connection");
			return SERVE_DOMAIN_GONE;
		}
		if (n < 0)
			return SERVE_GO_ON;
		r = serve_msg(vm, &u.m, n);
		if (r != SERVE_GO_ON)
			return r;
		/* another message queued? (SIOCINQ: the next one's size) */
		if (ioctl(vm->sock, FIONREAD, &more) < 0 || more <= 0)
			break;
	}
	return SERVE_GO_ON;
}

/*
 * The doorbell eventfd: for every live queue, what a DOORBELL write of
 * the tail the queue's header holds does; then the deferred work runs as
 * after a DOORBELL request. Only the guest-visible registers are used
 * (Q_SELECT is put back), so any device model with these queues works.
 */
static int on_doorbell(void *arg)
{
	struct vm *vm = arg;
	struct vdev *d = &vm->dev;
	struct host *h = d->host;
	uint32_t nq = reg(d, VGPU_REG_MAX_QUEUES);
	uint32_t sel = reg(d, VGPU_REG_Q_SELECT), q, tail;
	uint64_t cnt;

	/* drain; -EAGAIN when the client read its own counter: still a bell */
	if (read(vm->doorbell, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		return SERVE_ERROR;
	if (nq > VGPU_MAX_QUEUES_ABI)
		nq = VGPU_MAX_QUEUES_ABI;
	for (q = 0; q < nq; q++) {
		uint64_t hdr;

		vdev_bar_write(d, VGPU_REG_Q_SELECT, 4, q);
		if (!reg(d, VGPU_REG_Q_ENABLE))
			continue;
		hdr = vdev_bar_read(d, VGPU_REG_Q_HDR_GPA, 8);
		if (h->ops->copy_from_guest(
			    h, &tail, hdr + offsetof(struct vgpu_qhdr, sq_tail),
			    sizeof(tail)) == 0)
			vdev_bar_write(d, VGPU_REG_DOORBELL(q), 4, tail);
	}
	vdev_bar_write(d, VGPU_REG_Q_SELECT, 4, sel);
	vdev_run_deferred(d);
	return SERVE_GO_ON;
}

static int on_device(void *arg)
{
	vdev_poll(arg);
	return SERVE_GO_ON;
}

static bool device_hot(void *arg)
{
	return vdev_poll(arg);
}

static enum serve_end serve_vm(struct vm *vm, int sigfd)
{
	struct serve_signals sg = { .sigfd = sigfd,
				    .st = &vm->st,
				    .lg = vm->lg };
	enum serve_end end = SERVE_ERROR;
	int dfd = vdev_poll_fd(&vm->dev), rc;
	struct serve s;

	rc = serve_init(&s, vm->lg);
	if (rc == 0)
		rc = serve_add(&s, vm->sock, on_socket, vm);
	if (rc == 0)
		rc = serve_add(&s, vm->doorbell, on_doorbell, vm);
	if (rc == 0)
		rc = serve_add(&s, sigfd, serve_on_signal, &sg);
	if (rc == 0 && dfd >= 0)
		rc = serve_add(&s, dfd, on_device, &vm->dev);
	if (rc < 0) {
		log_err(vm->lg, "cannot set up the event loop: %s",
			strerror(-rc));
	} else {
		if (vm->dev.ops->poll)
			serve_set_poll(&s, device_hot, &vm->dev);
		end = serve_loop(&s);
	}
	serve_fini(&s);
	return end;
}

int loopback_vm_run(int sock, int sigfd, const struct loopback_vm_cfg *cfg,
		    struct logger *lg)
{
	struct vm vm = {
		.lg = lg, .sock = sock, .sigfd = sigfd, .doorbell = -1
	};
	enum serve_end end = SERVE_ERROR;
	int rc = hello(&vm, cfg);

	if (rc == 0) {
		end = serve_vm(&vm, sigfd);
		log_info(
			lg,
			"VM ends: %llu messages (%llu refused), %llu interrupts",
			(unsigned long long)vm.st.mmio,
			(unsigned long long)vm.st.rejected,
			(unsigned long long)loop_host_irqs(vm.lh));
	}
	/* the device first (it unmaps what it mapped), then the memory */
	if (vm.have_dev)
		vdev_destroy(&vm.dev);
	if (vm.be)
		vm.be->ops->destroy(vm.be);
	loop_host_close(vm.lh);
	if (vm.doorbell >= 0)
		close(vm.doorbell);
	close(sock);
	return rc == 0 && end != SERVE_ERROR ? 0 : 1;
}
