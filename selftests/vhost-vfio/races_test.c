// SPDX-License-Identifier: GPL-2.0-only
/*
 * Lifecycle races against a vhost-vfio mdev: threads that open and close
 * device fds, wire and unwire interrupts, map and unmap the doorbells,
 * reset the device, remove the mdev and unmap guest RAM, all at the same
 * time.  Every case races for a bounded time, prints its iteration counts
 * and asserts that every thread joins (a watchdog fails the case instead
 * of hanging), that no call failed with an unexpected errno, that the
 * device is usable afterwards (vendor ID 0x1af4, FEATURES_OK negotiation)
 * and that nothing is left pinned or registered once it is closed.
 *
 * Environment: VV_BDF, a function bound to vhost_vfio_virtio_pci.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>

#include "vmm_test.h"
#include "vmm_kvm.h"

#define RACE_SECS	5
#define JOIN_SECS	30
#define WATCHDOG_SECS	100
#define CASE_TIMEOUT	150
#define MAX_THREADS	4
#define MAX_VEC		64
#define REMOVE_ROUNDS	40
#define REQ_WAIT_MS	15000
#define ACK_DRIVER	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER)
#define FEAT_OK		(ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK)
#define GUEST_GPA	BIT_ULL(32)
#define GUEST_SIZE	(16ULL << 20)
#define DMA_CHUNK	BIT_ULL(20)
#define SPARE_GPA	(GUEST_GPA + GUEST_SIZE - DMA_CHUNK)

/* What every racing thread shares. */
struct race {
	const char *name;
	const char *uuid;
	int group;		/* holder of the group; device fds come from it */
	struct vmm *vmm;	/* an open device, for cases that share one */
	struct vmm_guest *g;
	int stop;		/* atomic accesses only */
	unsigned long iters[MAX_THREADS];
	unsigned long sigbus;
	unsigned long bad;	/* unexpected errors */
	char first_bad[128];
	pthread_mutex_t lock;
};

struct worker {
	struct race *r;
	int id;
};

static void bad(struct race *r, const char *what, int err)
{
	pthread_mutex_lock(&r->lock);
	if (!r->bad++)
		snprintf(r->first_bad, sizeof(r->first_bad), "%s: %s (%d)",
			 what, strerror(err < 0 ? -err : err), err);
	pthread_mutex_unlock(&r->lock);
}

static bool stopped(struct race *r)
{
	return __atomic_load_n(&r->stop, __ATOMIC_ACQUIRE);
}

static void on_alarm(int sig)
{
	static const char msg[] =
		"# race watchdog: a racing thread did not finish (deadlock?)\n";

	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

/*
 * Run @fns for RACE_SECS, then stop them and join each within JOIN_SECS.
 * Return: the number of threads that did not join.
 */
static int race_run(struct race *r, void *(*const *fns)(void *), int n)
{
	pthread_t t[MAX_THREADS];
	struct worker w[MAX_THREADS];
	struct timespec ts;
	int i, lost = 0;

	signal(SIGALRM, on_alarm);
	alarm(WATCHDOG_SECS);
	for (i = 0; i < n; i++) {
		w[i].r = r;
		w[i].id = i;
		if (pthread_create(&t[i], NULL, fns[i], &w[i]))
			return n - i;
	}
	sleep(RACE_SECS);
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += JOIN_SECS;
	for (i = 0; i < n; i++)
		if (pthread_timedjoin_np(t[i], NULL, &ts))
			lost++;
	if (!lost)
		alarm(0);
	return lost;
}

static void report(struct race *r, int n, const char *const *names)
{
	unsigned long total = 0;
	int i;

	for (i = 0; i < n; i++) {
		printf("# %s: %s: %lu iterations\n", r->name, names[i],
		       r->iters[i]);
		total += r->iters[i];
	}
	printf("# %s: %lu racing operations, %lu SIGBUS, %lu unexpected errors%s%s\n",
	       r->name, total, r->sigbus, r->bad, r->bad ? ", first: " : "",
	       r->first_bad);
	/* The harness ends the test process with _exit(). */
	fflush(stdout);
}

FIXTURE(races) {
	struct vmm_dev dev;
	struct race r;
};

FIXTURE_SETUP(races)
{
	vmm_dev_create(&self->dev, 0);
	pthread_mutex_init(&self->r.lock, NULL);
	self->r.uuid = self->dev.uuid;
	self->r.group = -1;
}

FIXTURE_TEARDOWN(races)
{
	vmm_dev_destroy(&self->dev);
}

static u64 subset(u64 offered)
{
	return offered & (BIT_ULL(VIRTIO_F_VERSION_1) |
			  BIT_ULL(VIRTIO_F_ACCESS_PLATFORM) |
			  BIT_ULL(VIRTIO_NET_F_MAC) |
			  BIT_ULL(VIRTIO_NET_F_STATUS));
}

/* Identity intact and a FEATURES_OK negotiation works. */
static void usable(struct __test_metadata *_metadata, struct vmm *v,
		   u64 offered)
{
	v->err = 0;
	ASSERT_EQ(0x1af4, vmm_cfg_read16(v, PCI_VENDOR_ID));
	ASSERT_EQ(0, vmm_virtio_locate(v));
	ASSERT_EQ(FEAT_OK, vmm_vio_negotiate(v, subset(offered)));
	vmm_vio_set_status(v, 0);
	ASSERT_EQ(0, vmm_vio_status(v));
	ASSERT_EQ(0, v->err);
}

/* Nothing pinned or registered for @uuid (the device is closed). */
static void no_leak(struct __test_metadata *_metadata, const char *uuid)
{
	long long pinned = vmm_counter(uuid, "mirror_pinned_pages");
	long long prod = vmm_counter(uuid, "bypass_producers");

	if (pinned < 0 && prod < 0) {
		TH_LOG("no debugfs counters for %s: leak check skipped", uuid);
		return;
	}
	EXPECT_EQ(0, pinned);
	EXPECT_EQ(0, prod);
}

/* Open the fixture's device, locate virtio, usable. */
static void open_main(struct __test_metadata *_metadata,
		      struct _test_data_races *self)
{
	int ret;

	ret = vmm_open(&self->dev.vmm, self->dev.uuid);
	ASSERT_EQ(0, ret) TH_LOG("open %s: %s", self->dev.uuid, strerror(-ret));
	self->dev.open = true;
	ASSERT_EQ(0, vmm_virtio_locate(&self->dev.vmm));
	self->r.group = self->dev.vmm.group;
	self->r.vmm = &self->dev.vmm;
}

static void close_and_check(struct __test_metadata *_metadata,
			    struct _test_data_races *self)
{
	int ret;

	/* A fresh open after the race is fully usable, then nothing leaks. */
	vmm_close(&self->dev.vmm);
	self->dev.open = false;
	ret = vmm_open(&self->dev.vmm, self->dev.uuid);
	ASSERT_EQ(0, ret) TH_LOG("reopen: %s", strerror(-ret));
	self->dev.open = true;
	usable(_metadata, &self->dev.vmm, self->dev.offered);
	vmm_close(&self->dev.vmm);
	self->dev.open = false;
	no_leak(_metadata, self->dev.uuid);
}

/* A second view of the open device: its regions, another device fd. */
static int dev_fd(struct race *r)
{
	int fd = ioctl(r->group, VFIO_GROUP_GET_DEVICE_FD, r->uuid);

	return fd < 0 ? -errno : fd;
}

/* Keep *fd open: reopen it if it was closed; false (and counted) on failure. */
static bool dev_fd_keep(struct race *r, int *fd, const char *what)
{
	if (*fd >= 0)
		return true;
	*fd = dev_fd(r);
	if (*fd >= 0)
		return true;
	bad(r, what, *fd);
	return false;
}

static int rd(int fd, struct vmm *layout, unsigned int idx, u64 off,
	      void *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len, layout->region[idx].offset + off);

	return n < 0 ? -errno : 0;
}

static int wr(int fd, struct vmm *layout, unsigned int idx, u64 off,
	      const void *buf, size_t len)
{
	ssize_t n = pwrite(fd, buf, len, layout->region[idx].offset + off);

	return n < 0 ? -errno : 0;
}

/* ---- 1: device fd open/close against region I/O ----------------------- */

/* Config space and common cfg through @fd: reads, queue_select, status. */
static void region_io(struct race *r, int fd, unsigned int k)
{
	struct vmm *v = r->vmm;
	unsigned int cbar = VFIO_PCI_BAR0_REGION_INDEX + v->common.bar;
	u64 c = v->common.offset;
	u8 buf[64], st;
	u16 q = k & 1;
	int ret;

	ret = rd(fd, v, VMM_CFG, 0, buf, sizeof(buf));
	if (!ret)
		ret = rd(fd, v, cbar, c, buf, 0x38);
	if (!ret)
		ret = wr(fd, v, cbar,
			 c + offsetof(struct virtio_pci_common_cfg,
				      queue_select), &q, sizeof(q));
	if (!ret) {
		st = k % 3 ? VIRTIO_CONFIG_S_ACKNOWLEDGE : 0;
		ret = wr(fd, v, cbar,
			 c + offsetof(struct virtio_pci_common_cfg,
				      device_status), &st, 1);
	}
	if (!ret) {
		/* Command register: memory enable toggled, then restored. */
		ret = rd(fd, v, VMM_CFG, PCI_COMMAND, buf, 2);
		if (!ret)
			ret = wr(fd, v, VMM_CFG, PCI_COMMAND, buf, 2);
	}
	if (ret)
		bad(r, "region I/O", ret);
}

static void *t_open_close(void *arg)
{
	struct worker *w = arg;
	struct race *r = w->r;
	u16 vendor;
	int fd, ret;

	while (!stopped(r)) {
		fd = dev_fd(r);
		if (fd < 0) {
			bad(r, "GET_DEVICE_FD", fd);
			continue;
		}
		ret = rd(fd, r->vmm, VMM_CFG, PCI_VENDOR_ID, &vendor, 2);
		if (ret)
			bad(r, "vendor read", ret);
		else if (vendor != 0x1af4)
			bad(r, "vendor is not 0x1af4", -EIO);
		close(fd);
		r->iters[w->id]++;
	}
	return NULL;
}

/*
 * Run @op on a device fd of the worker's own, closing it after every
 * @every operations and opening a new one for the next (dev_fd_keep()).
 */
static void on_own_fd(struct worker *w, const char *what, unsigned int every,
		      void (*op)(struct race *r, int fd, unsigned int k),
		      useconds_t pause)
{
	struct race *r = w->r;
	unsigned int k = 0;
	int fd = -1;

	while (!stopped(r)) {
		if (!dev_fd_keep(r, &fd, what))
			continue;
		op(r, fd, k++);
		if (!(k % every)) {
			close(fd);
			fd = -1;
		}
		r->iters[w->id]++;
		if (pause)
			usleep(pause);
	}
	if (fd >= 0)
		close(fd);
}

/* Region I/O on its own fd; reopens when it closes it (every few ops). */
static void *t_io_reopen(void *arg)
{
	struct worker *w = arg;

	on_own_fd(w, "GET_DEVICE_FD (reopen)", 1 + w->id * 3, region_io, 0);
	return NULL;
}

TEST_F_TIMEOUT(races, open_close_vs_region_io, CASE_TIMEOUT)
{
	static void *(*const fns[])(void *) = {
		t_open_close, t_io_reopen, t_io_reopen,
	};
	static const char *const names[] = {
		"open/close", "I/O, reopen each op", "I/O, reopen every 4 ops",
	};
	struct vmm *v = &self->dev.vmm;
	int i;

	self->r.name = "open_close_vs_region_io";
	open_main(_metadata, self);
	/*
	 * Keep only the group: every device fd is the racing threads', so
	 * opens and closes are first opens and last closes.
	 */
	close(v->device);
	v->device = -1;
	i = race_run(&self->r, fns, ARRAY_SIZE(fns));
	report(&self->r, ARRAY_SIZE(fns), names);
	ASSERT_EQ(0, i) TH_LOG("%d threads did not join", i);
	EXPECT_EQ(0, self->r.bad) TH_LOG("%s", self->r.first_bad);
	for (i = 0; i < (int)ARRAY_SIZE(fns); i++)
		EXPECT_LT(0, self->r.iters[i]);
	close_and_check(_metadata, self);
}

/* ---- 2: SET_IRQS against reset and renegotiation ---------------------- */

static int irqs_none(int fd, u32 index, u32 start, u32 count)
{
	struct vfio_irq_set hdr = {
		.argsz = sizeof(hdr),
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = index, .start = start, .count = count,
	};

	return ioctl(fd, VFIO_DEVICE_SET_IRQS, &hdr) ? -errno : 0;
}

static int irqs_efd(int fd, u32 index, u32 start, u32 count, const int *fds)
{
	struct {
		struct vfio_irq_set hdr;
		__s32 fds[MAX_VEC];
	} s;

	memset(&s, 0, sizeof(s));
	s.hdr.argsz = sizeof(s.hdr) + count * sizeof(__s32);
	s.hdr.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	s.hdr.index = index;
	s.hdr.start = start;
	s.hdr.count = count;
	memcpy(s.fds, fds, count * sizeof(__s32));
	return ioctl(fd, VFIO_DEVICE_SET_IRQS, &s) ? -errno : 0;
}

static void *t_set_irqs(void *arg)
{
	struct worker *w = arg;
	struct race *r = w->r;
	struct vfio_irq_info irq;
	int efd[MAX_VEC], none[MAX_VEC];
	int fd = r->vmm->device, ret;
	unsigned int n, i, k = 0;

	if (vmm_irq_info(r->vmm, VFIO_PCI_MSIX_IRQ_INDEX, &irq)) {
		bad(r, "MSI-X irq info", -errno);
		return NULL;
	}
	n = irq.count < MAX_VEC ? irq.count : MAX_VEC;
	for (i = 0; i < n; i++) {
		efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		none[i] = -1;
	}
	while (!stopped(r)) {
		ret = irqs_efd(fd, VFIO_PCI_MSIX_IRQ_INDEX, 0, n, efd);
		if (ret)
			bad(r, "SET_IRQS eventfds", ret);
		/* Fire them, then unwire one, then all. */
		ret = irqs_none(fd, VFIO_PCI_MSIX_IRQ_INDEX, 0, n);
		if (ret)
			bad(r, "SET_IRQS trigger", ret);
		ret = irqs_efd(fd, VFIO_PCI_MSIX_IRQ_INDEX, k % n, 1, none);
		if (ret)
			bad(r, "SET_IRQS unset one", ret);
		if (k & 1)
			ret = irqs_efd(fd, VFIO_PCI_MSIX_IRQ_INDEX, 0, n, none);
		else
			ret = irqs_none(fd, VFIO_PCI_MSIX_IRQ_INDEX, 0, 0);
		if (ret)
			bad(r, "SET_IRQS unset/disable", ret);
		ret = irqs_efd(fd, VFIO_PCI_REQ_IRQ_INDEX, 0, 1, efd);
		if (!ret)
			ret = irqs_none(fd, VFIO_PCI_REQ_IRQ_INDEX, 0, 0);
		if (ret)
			bad(r, "SET_IRQS request irq", ret);
		k++;
		r->iters[w->id]++;
	}
	/* Leave them wired: close must unwire them. */
	if (irqs_efd(fd, VFIO_PCI_MSIX_IRQ_INDEX, 0, n, efd))
		bad(r, "SET_IRQS final", -errno);
	for (i = 0; i < n; i++)
		close(efd[i]);
	return NULL;
}

static void *t_reset(void *arg)
{
	struct worker *w = arg;
	struct race *r = w->r;

	while (!stopped(r)) {
		if (ioctl(r->vmm->device, VFIO_DEVICE_RESET))
			bad(r, "VFIO_DEVICE_RESET", -errno);
		r->iters[w->id]++;
		usleep(200);
	}
	return NULL;
}

/* Reset through the status register and negotiate again, on its own fd. */
static void *t_renegotiate(void *arg)
{
	struct worker *w = arg;
	struct race *r = w->r;
	struct vmm v = *r->vmm;
	u64 offered;

	v.device = dev_fd(r);
	v.container = -1;
	v.group = -1;
	if (v.device < 0) {
		bad(r, "GET_DEVICE_FD", v.device);
		return NULL;
	}
	if (mdev_attr_u64(r->uuid, "offered_features", &offered))
		offered = BIT_ULL(VIRTIO_F_VERSION_1);
	while (!stopped(r)) {
		v.err = 0;
		vmm_vio_negotiate(&v, subset(offered));
		vmm_vio_set_status(&v, 0);
		if (v.err)
			bad(r, "status/feature register access", v.err);
		r->iters[w->id]++;
	}
	close(v.device);
	return NULL;
}

TEST_F_TIMEOUT(races, set_irqs_vs_reset, CASE_TIMEOUT)
{
	static void *(*const fns[])(void *) = {
		t_set_irqs, t_reset, t_renegotiate,
	};
	static const char *const names[] = {
		"SET_IRQS wire/fire/unwire/disable", "VFIO_DEVICE_RESET",
		"status reset + negotiate",
	};
	int i;

	self->r.name = "set_irqs_vs_reset";
	open_main(_metadata, self);
	i = race_run(&self->r, fns, ARRAY_SIZE(fns));
	report(&self->r, ARRAY_SIZE(fns), names);
	ASSERT_EQ(0, i) TH_LOG("%d threads did not join", i);
	EXPECT_EQ(0, self->r.bad) TH_LOG("%s", self->r.first_bad);
	for (i = 0; i < (int)ARRAY_SIZE(fns); i++)
		EXPECT_LT(0, self->r.iters[i]);
	usable(_metadata, &self->dev.vmm, self->dev.offered);
	close_and_check(_metadata, self);
}

/* ---- 3: doorbell mmap against reset and close ------------------------- */

static __thread sigjmp_buf bus_jb;
static __thread sig_atomic_t bus_armed;

static void on_sigbus(int sig)
{
	if (!__atomic_load_n(&bus_armed, __ATOMIC_SEQ_CST)) {
		signal(SIGBUS, SIG_DFL);
		raise(SIGBUS);
		return;
	}
	__atomic_store_n(&bus_armed, 0, __ATOMIC_SEQ_CST);
	siglongjmp(bus_jb, 1);
}

/* Read the first doorbell; false if it raised SIGBUS. */
static bool touch(void *p)
{
	u16 val;

	if (sigsetjmp(bus_jb, 1))
		return false;
	__atomic_store_n(&bus_armed, 1, __ATOMIC_SEQ_CST);
	val = __atomic_load_n((u16 *)p, __ATOMIC_SEQ_CST);
	__atomic_store_n(&bus_armed, 0, __ATOMIC_SEQ_CST);
	(void)val;
	return true;
}

/*
 * Map the doorbells from a device fd of its own; sometimes close the fd
 * while the mapping lives (a last close zaps it) and touch again.
 */
static void *t_mapper(void *arg)
{
	struct worker *w = arg;
	struct race *r = w->r;
	struct vmm v = *r->vmm;
	unsigned int k = 0;
	size_t len;
	u64 off;
	void *p;

	v.container = -1;
	v.group = -1;
	while (!stopped(r)) {
		v.device = dev_fd(r);
		if (v.device < 0) {
			bad(r, "GET_DEVICE_FD", v.device);
			continue;
		}
		p = vmm_doorbell_map(&v, &off, &len);
		if (!p) {
			bad(r, "doorbell mmap", -errno);
			close(v.device);
			continue;
		}
		if (!touch(p))
			__atomic_add_fetch(&r->sigbus, 1, __ATOMIC_RELAXED);
		if (k++ & 1) {
			close(v.device);
			if (!touch(p))
				__atomic_add_fetch(&r->sigbus, 1,
						   __ATOMIC_RELAXED);
			munmap(p, len);
		} else {
			munmap(p, len);
			close(v.device);
		}
		r->iters[w->id]++;
	}
	return NULL;
}

static void reset_op(struct race *r, int fd, unsigned int k)
{
	if (ioctl(fd, VFIO_DEVICE_RESET))
		bad(r, "VFIO_DEVICE_RESET", -errno);
}

/* Reset from a device fd it opens and closes every few resets. */
static void *t_reset_close(void *arg)
{
	on_own_fd(arg, "GET_DEVICE_FD", 4, reset_op, 100);
	return NULL;
}

TEST_F_TIMEOUT(races, doorbell_mmap_vs_reset_close, CASE_TIMEOUT)
{
	static void *(*const fns[])(void *) = {
		t_mapper, t_mapper, t_reset_close,
	};
	static const char *const names[] = {
		"mmap/touch/close/munmap", "mmap/touch/close/munmap",
		"VFIO_DEVICE_RESET, close every 4",
	};
	struct sigaction sa = { .sa_handler = on_sigbus };
	struct vmm *v = &self->dev.vmm;
	int i;

	self->r.name = "doorbell_mmap_vs_reset_close";
	open_main(_metadata, self);
	if (!(v->region[VFIO_PCI_BAR2_REGION_INDEX].flags &
	      VFIO_REGION_INFO_FLAG_MMAP))
		SKIP(return, "BAR2 is not mappable (doorbell_mode trapped)");
	close(v->device);
	v->device = -1;
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGBUS, &sa, NULL));
	i = race_run(&self->r, fns, ARRAY_SIZE(fns));
	report(&self->r, ARRAY_SIZE(fns), names);
	ASSERT_EQ(0, i) TH_LOG("%d threads did not join", i);
	EXPECT_EQ(0, self->r.bad) TH_LOG("%s", self->r.first_bad);
	for (i = 0; i < (int)ARRAY_SIZE(fns); i++)
		EXPECT_LT(0, self->r.iters[i]);
	close_and_check(_metadata, self);
}

/* ---- 4: mdev remove while open ---------------------------------------- */

static void *t_io_until_stop(void *arg)
{
	struct worker *w = arg;
	struct race *r = w->r;
	unsigned int k = 0;
	int ret;

	while (!stopped(r)) {
		region_io(r, r->vmm->device, k++);
		ret = ioctl(r->vmm->device, VFIO_DEVICE_RESET) ? -errno : 0;
		if (ret)
			bad(r, "VFIO_DEVICE_RESET", ret);
		r->iters[w->id]++;
	}
	return NULL;
}

struct remover {
	const char *uuid;
	int ret;
	int done;	/* atomic accesses only */
};

static void *t_remove(void *arg)
{
	struct remover *rm = arg;

	rm->ret = mdev_remove(rm->uuid);
	__atomic_store_n(&rm->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

TEST_F_TIMEOUT(races, remove_while_open, CASE_TIMEOUT)
{
	struct race *r = &self->r;
	struct timespec ts;
	unsigned long ops = 0;
	struct remover rm;
	pthread_t io, rmt;
	struct worker w;
	int round, efd, ret;
	struct pollfd pfd;
	time_t t0;
	u64 cnt;

	r->name = "remove_while_open";
	signal(SIGALRM, on_alarm);
	alarm(WATCHDOG_SECS);
	t0 = time(NULL);
	for (round = 0; round < REMOVE_ROUNDS &&
	     time(NULL) - t0 < RACE_SECS; round++) {
		open_main(_metadata, self);
		efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		ASSERT_LE(0, efd);
		ASSERT_EQ(0, irqs_efd(self->dev.vmm.device, VFIO_PCI_REQ_IRQ_INDEX,
				      0, 1, &efd));
		__atomic_store_n(&r->stop, 0, __ATOMIC_RELEASE);
		r->iters[0] = 0;
		w.r = r;
		w.id = 0;
		ASSERT_EQ(0, pthread_create(&io, NULL, t_io_until_stop, &w));
		usleep(20000 + round * 10000);
		rm.uuid = self->dev.uuid;
		rm.ret = -EINPROGRESS;
		__atomic_store_n(&rm.done, 0, __ATOMIC_RELEASE);
		ASSERT_EQ(0, pthread_create(&rmt, NULL, t_remove, &rm));
		/* The request irq tells the VMM to let go. */
		pfd.fd = efd;
		pfd.events = POLLIN;
		ret = poll(&pfd, 1, REQ_WAIT_MS);
		EXPECT_EQ(1, ret) TH_LOG("round %d: request irq not signalled",
					 round);
		EXPECT_EQ(0, __atomic_load_n(&rm.done, __ATOMIC_ACQUIRE))
			TH_LOG("round %d: remove completed while open", round);
		if (ret == 1)
			ASSERT_EQ(sizeof(cnt), read(efd, &cnt, sizeof(cnt)));
		/* Some more I/O while the removal waits for us. */
		usleep(10000);
		__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += JOIN_SECS;
		ASSERT_EQ(0, pthread_timedjoin_np(io, NULL, &ts))
			TH_LOG("round %d: I/O thread stuck", round);
		ops += r->iters[0];
		vmm_close(&self->dev.vmm);
		self->dev.open = false;
		close(efd);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += JOIN_SECS;
		ASSERT_EQ(0, pthread_timedjoin_np(rmt, NULL, &ts))
			TH_LOG("round %d: remove did not complete after close",
			       round);
		ASSERT_EQ(0, rm.ret) TH_LOG("round %d: remove: %s", round,
					    strerror(-rm.ret));
		ASSERT_FALSE(mdev_exists(self->dev.uuid));
		/* The same UUID again, right away. */
		ASSERT_EQ(0, mdev_create_uuid(self->dev.bdf, self->dev.uuid))
			TH_LOG("round %d: recreate", round);
	}
	alarm(0);
	printf("# %s: %d removals while open, %lu I/O rounds racing them, ",
	       r->name, round, ops);
	printf("%lu unexpected errors%s%s\n", r->bad, r->bad ? ", first: " : "",
	       r->first_bad);
	fflush(stdout);
	EXPECT_EQ(0, r->bad) TH_LOG("%s", r->first_bad);
	close_and_check(_metadata, self);
}

/* ---- 5: DRIVER_OK (mirror build) against UNMAP_DMA --------------------- */

static void *t_driver_ok(void *arg)
{
	struct worker *w = arg;
	struct race *r = w->r;
	struct vmm *v = r->vmm;
	u64 want = vmm_vio_device_features(v) &
		   (BIT_ULL(VIRTIO_F_VERSION_1) |
		    BIT_ULL(VIRTIO_F_ACCESS_PLATFORM));

	while (!stopped(r)) {
		v->err = 0;
		if (vmm_vio_negotiate(v, want) == FEAT_OK)
			vmm_vio_set_status(v, FEAT_OK |
					   VIRTIO_CONFIG_S_DRIVER_OK);
		vmm_vio_set_status(v, 0);
		if (v->err)
			bad(r, "status register", v->err);
		r->iters[w->id]++;
	}
	return NULL;
}

static void *t_unmap(void *arg)
{
	struct worker *w = arg;
	struct race *r = w->r;
	u64 done;
	int ret;

	while (!stopped(r)) {
		ret = vmm_guest_dma_unmap(r->g, SPARE_GPA, DMA_CHUNK, &done);
		if (ret)
			bad(r, "VFIO_IOMMU_UNMAP_DMA", ret);
		else if (done != DMA_CHUNK)
			bad(r, "VFIO_IOMMU_UNMAP_DMA size", -EIO);
		ret = vmm_guest_dma_map(r->g, SPARE_GPA, DMA_CHUNK);
		if (ret)
			bad(r, "VFIO_IOMMU_MAP_DMA", ret);
		r->iters[w->id]++;
	}
	return NULL;
}

TEST_F_TIMEOUT(races, driver_ok_vs_unmap_dma, CASE_TIMEOUT)
{
	static void *(*const fns[])(void *) = { t_driver_ok, t_unmap };
	static const char *const names[] = {
		"negotiate + DRIVER_OK + reset", "UNMAP_DMA + MAP_DMA 1 MiB",
	};
	struct vmm_guest g;
	long long builds0, builds;
	int i, ret;

	self->r.name = "driver_ok_vs_unmap_dma";
	memset(&g, 0, sizeof(g));
	ret = vmm_guest_create(&g, GUEST_GPA, GUEST_SIZE, DMA_CHUNK);
	if (ret == -ENOENT || ret == -ENODEV)
		SKIP(return, "no KVM: %s", strerror(-ret));
	ASSERT_EQ(0, ret) TH_LOG("guest: %s", strerror(-ret));
	ret = vmm_open_guest(&self->dev.vmm, self->dev.uuid, &g);
	if (ret)
		vmm_guest_destroy(&g);
	ASSERT_EQ(0, ret) TH_LOG("open in guest: %s", strerror(-ret));
	self->dev.open = true;
	if (vmm_virtio_locate(&self->dev.vmm)) {
		vmm_close(&self->dev.vmm);
		self->dev.open = false;
		vmm_guest_destroy(&g);
		ASSERT_TRUE(false) TH_LOG("virtio locate");
	}
	self->r.vmm = &self->dev.vmm;
	self->r.g = &g;
	builds0 = vmm_counter(self->dev.uuid, "mirror_builds");
	i = race_run(&self->r, fns, ARRAY_SIZE(fns));
	report(&self->r, ARRAY_SIZE(fns), names);
	ASSERT_EQ(0, i) TH_LOG("%d threads did not join", i);
	builds = vmm_counter(self->dev.uuid, "mirror_builds");
	printf("# %s: mirror_builds %lld -> %lld, mirror_pinned_pages now %lld\n",
	       self->r.name, builds0, builds,
	       vmm_counter(self->dev.uuid, "mirror_pinned_pages"));
	fflush(stdout);
	EXPECT_EQ(0, self->r.bad) TH_LOG("%s", self->r.first_bad);
	for (i = 0; i < (int)ARRAY_SIZE(fns); i++)
		EXPECT_LT(0, self->r.iters[i]);
	usable(_metadata, &self->dev.vmm, self->dev.offered);
	vmm_close(&self->dev.vmm);
	self->dev.open = false;
	vmm_guest_destroy(&g);
	no_leak(_metadata, self->dev.uuid);
	close_and_check(_metadata, self);
}

/*
 * Not a race: the state case 5 leaves behind, made deterministic.  A
 * mirror built while part of guest RAM was unmapped, then that part mapped
 * again: the next DRIVER_OK must mirror it (design.rst: memory the VMM maps
 * after DRIVER_OK is picked up at the next DRIVER_OK).
 */
TEST_F_TIMEOUT(races, remap_after_build_is_mirrored, CASE_TIMEOUT)
{
	struct vmm_guest g;
	struct vmm *v = &self->dev.vmm;
	u64 want, done = 0;
	long long pinned[3];
	int ret;

	memset(&g, 0, sizeof(g));
	ret = vmm_guest_create(&g, GUEST_GPA, GUEST_SIZE, DMA_CHUNK);
	if (ret == -ENOENT || ret == -ENODEV)
		SKIP(return, "no KVM: %s", strerror(-ret));
	ASSERT_EQ(0, ret) TH_LOG("guest: %s", strerror(-ret));
	ret = vmm_open_guest(v, self->dev.uuid, &g);
	if (!ret)
		self->dev.open = true;
	if (!ret)
		ret = vmm_virtio_locate(v);
	if (ret) {
		vmm_close(v);
		self->dev.open = false;
		vmm_guest_destroy(&g);
	}
	ASSERT_EQ(0, ret) TH_LOG("open in guest: %s", strerror(-ret));
	want = vmm_vio_device_features(v) & (BIT_ULL(VIRTIO_F_VERSION_1) |
					     BIT_ULL(VIRTIO_F_ACCESS_PLATFORM));
	/* 1: everything mapped. */
	EXPECT_EQ(FEAT_OK, vmm_vio_negotiate(v, want));
	vmm_vio_set_status(v, FEAT_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	pinned[0] = vmm_counter(self->dev.uuid, "mirror_pinned_pages");
	/* 2: the last MiB unmapped, reset, DRIVER_OK again. */
	vmm_vio_set_status(v, 0);
	EXPECT_EQ(0, vmm_guest_dma_unmap(&g, SPARE_GPA, DMA_CHUNK, &done));
	EXPECT_EQ(FEAT_OK, vmm_vio_negotiate(v, want));
	vmm_vio_set_status(v, FEAT_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	pinned[1] = vmm_counter(self->dev.uuid, "mirror_pinned_pages");
	/* 3: mapped again, reset, DRIVER_OK again. */
	vmm_vio_set_status(v, 0);
	EXPECT_EQ(0, vmm_guest_dma_map(&g, SPARE_GPA, DMA_CHUNK));
	EXPECT_EQ(FEAT_OK, vmm_vio_negotiate(v, want));
	vmm_vio_set_status(v, FEAT_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	pinned[2] = vmm_counter(self->dev.uuid, "mirror_pinned_pages");
	printf("# remap: mirror_pinned_pages %lld, %lld after unmap, %lld after remap; ",
	       pinned[0], pinned[1], pinned[2]);
	printf("mirror_builds %lld, mirror_reuses %lld\n",
	       vmm_counter(self->dev.uuid, "mirror_builds"),
	       vmm_counter(self->dev.uuid, "mirror_reuses"));
	fflush(stdout);
	EXPECT_EQ((long long)(GUEST_SIZE / VMM_PAGE), pinned[0]);
	EXPECT_EQ((long long)((GUEST_SIZE - DMA_CHUNK) / VMM_PAGE), pinned[1]);
	EXPECT_EQ((long long)(GUEST_SIZE / VMM_PAGE), pinned[2])
		TH_LOG("a range mapped again after a build is not mirrored");
	vmm_vio_set_status(v, 0);
	vmm_close(v);
	self->dev.open = false;
	vmm_guest_destroy(&g);
	no_leak(_metadata, self->dev.uuid);
}

/*
 * ---- 7: a VMM killed with the device running --------------------------
 *
 * Not a race either: the crash a VMM can always have.  A child process
 * brings the device all the way up (KVM guest RAM mirrored, MSI-X vectors
 * on eventfds with irq-bypass producers, doorbell page mapped, a queue
 * kicked) and is killed with SIGKILL.  Its exit must release everything,
 * and the device must work again for the next user, with or without
 * re-creating the mdev under the same UUID.
 */
#define CRASH_QSIZE	64
#define CRASH_READY_MS	60000

/* The child: up to DRIVER_OK, report on @ready, then wait to be killed. */
static void crash_child(const char *uuid, u64 offered, int ready)
{
	struct vmm_vq rxq;
	struct vmm_guest g;
	struct vmm v;
	int efd[2], ret;
	size_t db_len;
	u64 db_off;
	void *db;
	char c;

	memset(&g, 0, sizeof(g));
	vmm_init(&v, uuid);
	ret = vmm_guest_create(&g, GUEST_GPA, GUEST_SIZE, DMA_CHUNK);
	c = 'K';		/* no KVM */
	if (ret)
		goto out;
	c = 'O';
	if (vmm_open_guest(&v, uuid, &g) || vmm_virtio_locate(&v))
		goto out;
	efd[0] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	efd[1] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c = 'I';
	if (efd[0] < 0 || efd[1] < 0 || vmm_msix_set(&v, 0, 2, efd))
		goto out;
	c = 'M';
	db = vmm_doorbell_map(&v, &db_off, &db_len);
	if (!db)
		goto out;
	c = 'F';
	if (vmm_vio_negotiate(&v, subset(offered)) != FEAT_OK)
		goto out;
	c = 'Q';
	if (vmm_vq_setup(&v, &g, &rxq, 0, CRASH_QSIZE, 0, efd[0], db, db_off,
			 db_len))
		goto out;
	vmm_vq_add(&rxq, 0, vmm_guest_alloc(&g, VMM_PAGE, VMM_PAGE), VMM_PAGE,
		   VRING_DESC_F_WRITE);
	vmm_vio_set_status(&v, FEAT_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	c = 'D';
	if (!(vmm_vio_status(&v) & VIRTIO_CONFIG_S_DRIVER_OK) || v.err)
		goto out;
	vmm_vq_kick(&rxq);
	c = 'R';
out:
	if (write(ready, &c, 1) != 1)
		_exit(3);
	for (;;)
		pause();
}

TEST_F_TIMEOUT(races, killed_vmm_then_reuse, CASE_TIMEOUT)
{
	static const char *const what[] = {
		['K'] = "create a KVM guest", ['O'] = "open the mdev",
		['I'] = "wire MSI-X eventfds", ['M'] = "mmap the doorbells",
		['F'] = "negotiate features", ['Q'] = "set up a queue",
		['D'] = "DRIVER_OK",
	};
	long long pinned, producers, irqs_before;
	struct pollfd pfd;
	int p[2], status;
	pid_t pid;
	char c = 0;

	ASSERT_EQ(0, pipe(p));
	irqs_before = vmm_counter(self->dev.uuid, "irqs");
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(p[0]);
		crash_child(self->dev.uuid, self->dev.offered, p[1]);
	}
	close(p[1]);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	if (poll(&pfd, 1, CRASH_READY_MS) == 1 && read(p[0], &c, 1) != 1)
		c = 0;
	close(p[0]);
	pinned = vmm_counter(self->dev.uuid, "mirror_pinned_pages");
	producers = vmm_counter(self->dev.uuid, "bypass_producers");
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	if (c == 'K')
		SKIP(return, "no KVM in this machine");
	ASSERT_EQ('R', c) TH_LOG("the child could not %s",
				 c > 0 && c < (char)ARRAY_SIZE(what) && what[(int)c] ?
				 what[(int)c] : "report");
	printf("# killed VMM had %lld pages pinned, %lld bypass producers, ",
	       pinned, producers);
	printf("%lld interrupts so far\n",
	       vmm_counter(self->dev.uuid, "irqs") - irqs_before);
	fflush(stdout);
	EXPECT_EQ((long long)(GUEST_SIZE / VMM_PAGE), pinned);
	EXPECT_EQ(2, producers);

	/* Its exit released everything; the same mdev works again. */
	no_leak(_metadata, self->dev.uuid);
	close_and_check(_metadata, self);

	/* And under the same UUID, re-created. */
	ASSERT_EQ(0, mdev_remove(self->dev.uuid));
	ASSERT_FALSE(mdev_exists(self->dev.uuid));
	ASSERT_EQ(0, mdev_create_uuid(self->dev.bdf, self->dev.uuid));
	close_and_check(_metadata, self);
}

TEST_HARNESS_MAIN
