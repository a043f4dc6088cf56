// SPDX-License-Identifier: GPL-2.0-only
/*
 * The data path from userspace: one mini-VMM process opens two mdevs (on
 * two functions of the same QEMU hub) into one VFIO container and one KVM
 * VM, plays a virtio-net driver on each (rx queue 0 on vector 0, tx queue 1
 * on vector 1, rings and buffers in guest RAM at IOVA = GPA), kicks through
 * the mmapped BAR2 doorbells and waits for completions on the MSI-X
 * eventfds.  Frames sent by one function must arrive at the other intact.
 *
 * Environment: VV_BDF and VV_BDF2, two functions bound to
 * vhost_vfio_virtio_pci with no mdev (the fixture creates and removes one
 * on each).  VV_DOORBELL=trapped: the doorbells must not be mappable
 * (vhost_vfio's map_doorbells=N) and kicks are written to BAR2 instead;
 * the driver must count each of them.  VV_RELAY=1 (with
 * VV_DOORBELL=trapped): vhost_vfio's relay=Y, every ring moves through the
 * host's virtqueue relay and every case must hold all the same.
 * VV_HOST_REQ and VV_LINK_ID: where to ask the host to pull function
 * VV_BDF2's cable (scripts/vm-run.sh).
 * VV_BDF3: a third function bound like VV_BDF, whose raw features differ
 * (packed=on), where the relay pass migrates the second device.
 * VV_BDF_FLR: a function with FLR, bound like VV_BDF, for the failed reset
 * that a function reset recovers.  The memory cgroup cases need cgroup v2
 * at /sys/fs/cgroup with the memory controller enabled for child groups.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <linux/mman.h>
#include <sys/mman.h>
#include <linux/if_ether.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>

#include "vmm_test.h"

/* The ISR's queue interrupt bit (virtio 1.2, 4.1.4.5); not in uapi. */
#define ISR_QUEUE	0x1

#define GUEST_GPA	BIT_ULL(32)
#define GUEST_SIZE	(16ULL << 20)
#define GUEST_PAGES	(GUEST_SIZE / VMM_PAGE)
#define DMA_CHUNK	BIT_ULL(20)
/* The last chunk holds nothing the devices use: it may be unmapped. */
#define SPARE_GPA	(GUEST_GPA + GUEST_SIZE - DMA_CHUNK)
#define QSIZE		64
#define BUF_SIZE	2048
#define HDR_LEN		sizeof(struct virtio_net_hdr_v1)
#define ETH_P_TEST	0x88b5
#define RXQ		0
#define TXQ		1
#define WAIT_MS		5000
#define QUIET_MS	1000
#define FEATURES	(BIT_ULL(VIRTIO_F_VERSION_1) | \
			 BIT_ULL(VIRTIO_F_ACCESS_PLATFORM) | \
			 BIT_ULL(VIRTIO_NET_F_STATUS))
#define CONFIG_VECTOR	2
#define LINK_WAIT_MS	30000

static const unsigned int sizes[] = { 60, 61, 64, 128, 511, 512, 1000, 1514 };

struct nic {
	const char *bdf;
	char uuid[VMM_UUID_LEN + 1];
	bool created;
	bool open;
	struct vmm vmm;
	int efd[2];
	void *db;
	u64 db_off;
	size_t db_len;
	u64 features;
	struct vmm_vq rx;
	struct vmm_vq tx;
	u64 rx_buf;
	u64 tx_buf;
	u32 seq;
	bool no_settle;
};

FIXTURE(dp) {
	struct vmm_guest g;
	bool guest;
	struct nic nic[2];
	/* Undone by the teardown if a case stops early. */
	const char *reset_method_bdf;
	char memcg[128];
	char home_cgroup[256];
	pid_t victim;
	const char *hugepool;
	long hugepool_saved;
	/* An mdev a case made besides the two, removed by the teardown. */
	char spare_uuid[VMM_UUID_LEN + 1];
	bool spare_created;
	struct vmm spare;
	bool spare_open;
};

/* The run expects trapped doorbells (VV_DOORBELL=trapped). */
static bool trapped(void)
{
	const char *mode = getenv("VV_DOORBELL");

	return mode && !strcmp(mode, "trapped");
}

/* The run expects the virtqueue relay (VV_RELAY=1, relay=Y). */
static bool relayed(void)
{
	const char *r = getenv("VV_RELAY");

	return r && !strcmp(r, "1");
}

static void nic_close(struct nic *n)
{
	if (n->db)
		munmap(n->db, n->db_len);
	n->db = NULL;
	if (n->open)
		vmm_close(&n->vmm);
	n->open = false;
}

static int fail(char *why, size_t wlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, wlen, fmt, ap);
	va_end(ap);
	return ret;
}

/* Everything a guest driver does before DRIVER_OK, rx buffers posted. */
static int nic_setup(struct vmm_guest *g, struct nic *n, char *why,
		     size_t wlen)
{
	struct vfio_irq_info irq;
	u16 size, i;
	int ret;

	ret = vmm_virtio_locate(&n->vmm);
	if (ret)
		return fail(why, wlen, ret, "locate virtio structures");
	ret = vmm_irq_info(&n->vmm, VFIO_PCI_MSIX_IRQ_INDEX, &irq);
	if (ret || irq.count < 2)
		return fail(why, wlen, ret ?: -ENODEV, "MSI-X count %u",
			    irq.count);
	ret = vmm_msix_set(&n->vmm, 0, 2, n->efd);
	if (ret)
		return fail(why, wlen, ret, "SET_IRQS eventfds on vectors 0, 1");
	if (!n->db) {
		n->db = vmm_doorbell_map(&n->vmm, &n->db_off, &n->db_len);
		if (!n->db && !trapped())
			return fail(why, wlen, -ENXIO,
				    "mmap of the BAR2 doorbell area");
		if (n->db && trapped())
			return fail(why, wlen, -EEXIST,
				    "BAR2 doorbells mappable, trapped expected");
	}

	n->features = vmm_vio_device_features(&n->vmm) & FEATURES;
	if (!(n->features & BIT_ULL(VIRTIO_F_VERSION_1)))
		return fail(why, wlen, -ENOTSUP, "VERSION_1 not offered");
	if (!(vmm_vio_negotiate(&n->vmm, n->features) &
	      VIRTIO_CONFIG_S_FEATURES_OK))
		return fail(why, wlen, -EIO, "FEATURES_OK refused for %#llx",
			    (unsigned long long)n->features);

	vmm_vio_queue_select(&n->vmm, RXQ);
	size = vmm_vio_queue_size(&n->vmm);
	if (size < QSIZE)
		return fail(why, wlen, -ENOSPC, "rx queue size %u", size);
	ret = vmm_vq_setup(&n->vmm, g, &n->rx, RXQ, QSIZE, 0, n->efd[0],
			   n->db, n->db_off, n->db_len);
	if (ret)
		return fail(why, wlen, ret, "rx queue setup");
	ret = vmm_vq_setup(&n->vmm, g, &n->tx, TXQ, QSIZE, 1, n->efd[1],
			   n->db, n->db_off, n->db_len);
	if (ret)
		return fail(why, wlen, ret, "tx queue setup");
	n->rx_buf = vmm_guest_alloc(g, QSIZE * BUF_SIZE, VMM_PAGE);
	n->tx_buf = vmm_guest_alloc(g, QSIZE * BUF_SIZE, VMM_PAGE);
	if (!n->rx_buf || !n->tx_buf)
		return fail(why, wlen, -ENOMEM, "guest RAM for buffers");
	for (i = 0; i < QSIZE; i++)
		vmm_vq_add(&n->rx, i, n->rx_buf + i * BUF_SIZE, BUF_SIZE,
			   VRING_DESC_F_WRITE);
	return n->vmm.err;
}

/*
 * DRIVER_OK, then the rx kick.  The mirror is built by a worker: like a
 * driver that waits for the device, wait for it to settle (vmm_settle()),
 * unless @n->no_settle asks for a guest vCPU's view, which never waits.
 */
static int nic_driver_ok(struct nic *n, char *why, size_t wlen)
{
	const u8 all = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		       VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;

	if (n->no_settle)
		vmm_vio_write(&n->vmm, VIRTIO_PCI_COMMON_STATUS, 1, all);
	else
		vmm_vio_set_status(&n->vmm, all);
	if (!(vmm_vio_status(&n->vmm) & VIRTIO_CONFIG_S_DRIVER_OK))
		return fail(why, wlen, -EIO,
			    "DRIVER_OK reads back clear (status %#x)",
			    vmm_vio_status(&n->vmm));
	vmm_vq_kick(&n->rx);
	return n->vmm.err;
}

/* Everything a guest driver does up to DRIVER_OK with rx buffers posted. */
static int nic_up(struct vmm_guest *g, struct nic *n, char *why, size_t wlen)
{
	return nic_setup(g, n, why, wlen) ?: nic_driver_ok(n, why, wlen);
}

/*
 * Bring both devices up with guest RAM at @gpa; @reserved_pages of it lie
 * in IOVA the mirror must never map.  @before_up runs between open and
 * DRIVER_OK.
 */
static void bring_up_at(struct __test_metadata *_metadata,
			struct _test_data_dp *self, u64 gpa,
			long long reserved_pages,
			void (*before_up)(struct __test_metadata *_metadata,
					  struct _test_data_dp *self))
{
	char why[128] = "";
	int i, ret;

	ASSERT_EQ(0, access("/sys/kernel/debug/vhost_vfio", F_OK))
		TH_LOG("no vhost_vfio debugfs directory (debugfs not mounted?)");
	ret = vmm_guest_create(&self->g, gpa, GUEST_SIZE, DMA_CHUNK);
	ASSERT_EQ(0, ret) TH_LOG("guest RAM, VM, memslot, kvm-vfio: %s",
				 strerror(-ret));
	self->guest = true;
	/* The devices' rings and buffers stay out of the spare chunk. */
	self->g.limit = gpa + GUEST_SIZE - DMA_CHUNK;
	for (i = 0; i < 2; i++) {
		struct nic *n = &self->nic[i];

		ret = vmm_open_guest(&n->vmm, n->uuid, &self->g);
		ASSERT_EQ(0, ret) TH_LOG("open %s: %s", n->uuid,
					 strerror(-ret));
		n->open = true;
	}
	if (before_up)
		before_up(_metadata, self);
	for (i = 0; i < 2; i++) {
		struct nic *n = &self->nic[i];

		ret = nic_up(&self->g, n, why, sizeof(why));
		ASSERT_EQ(0, ret) TH_LOG("%s: %s: %s", n->bdf, why,
					 strerror(-ret));
		if (n->no_settle)
			continue;
		/* Each mirror holds exactly the guest RAM it may hold. */
		ASSERT_EQ(GUEST_PAGES - reserved_pages,
			  vmm_counter(n->uuid, "mirror_pinned_pages"));
		ASSERT_EQ(reserved_pages,
			  vmm_counter(n->uuid, "mirror_reserved_pages"));
		ASSERT_EQ(trapped() ? (long long)(n->rx.kicks + n->tx.kicks) : 0,
			  vmm_counter(n->uuid, "bar2_notify_writes"));
	}
}

static void bring_up(struct __test_metadata *_metadata,
		     struct _test_data_dp *self)
{
	bring_up_at(_metadata, self, GUEST_GPA, 0, NULL);
}

static void tear_down(struct _test_data_dp *self)
{
	int i;

	for (i = 0; i < 2; i++)
		nic_close(&self->nic[i]);
	if (self->guest)
		vmm_guest_destroy(&self->g);
	self->guest = false;
}

static void release_mdevs(struct _test_data_dp *self)
{
	int i;

	for (i = 0; i < 2; i++) {
		struct nic *n = &self->nic[i];

		if (n->created)
			mdev_remove(n->uuid);
		n->created = false;
		if (n->efd[0] >= 0)
			close(n->efd[0]);
		if (n->efd[1] >= 0)
			close(n->efd[1]);
		n->efd[0] = -1;
		n->efd[1] = -1;
	}
}

/* ---- the kernel log, PCI reset methods and memory cgroups ---- */

/* /dev/kmsg positioned at its end: what the kernel logs from now on. */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0 && lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Consume the records logged since kmsg_open() or the last call; return how
 * many contain @needle, the text of the last of them in @last.
 */
static int kmsg_grep(int fd, const char *needle, char *last, size_t size)
{
	char rec[2048], *text;
	int found = 0;
	ssize_t len;

	for (;;) {
		len = read(fd, rec, sizeof(rec) - 1);
		if (len < 0 && errno == EPIPE)
			continue;	/* overwritten meanwhile: go on */
		if (len <= 0)
			break;
		rec[len] = '\0';
		text = strchr(rec, ';');
		if (!text)
			continue;
		text++;
		text[strcspn(text, "\n")] = '\0';
		if (!strstr(text, needle))
			continue;
		found++;
		if (last)
			snprintf(last, size, "%s", text);
	}
	return found;
}

/* Limit the PCI resets of @bdf to @methods (sysfs reset_method). */
static int pci_reset_methods(const char *bdf, const char *methods)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), VMM_PCI_DEVICES "/%s/reset_method", bdf);
	return sysfs_write(path, methods);
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		ret = -errno;
	close(fd);
	return ret;
}

/* A hugetlb pool's @file (nr_hugepages, free_hugepages), or -1. */
static long hugepool_read(const char *pool, const char *file)
{
	char path[128], buf[32] = "";
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/%s/%s", pool,
		 file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return len > 0 ? strtol(buf, NULL, 10) : -1;
}

static long hugepool_set(const char *pool, long pages)
{
	char path[128], buf[32];
	int fd, len;

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/%s/nr_hugepages",
		 pool);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	len = snprintf(buf, sizeof(buf), "%ld", pages);
	if (write(fd, buf, len) != len)
		pages = -1;
	close(fd);
	return pages < 0 ? -1 : hugepool_read(pool, "nr_hugepages");
}

#define CGROUP_ROOT	"/sys/fs/cgroup"

/* A child memory cgroup of our own in @path; -ENOTSUP without memcg v2. */
static int memcg_create(char *path, size_t size, const char *name)
{
	char ctl[256];

	if (sysfs_read(CGROUP_ROOT "/cgroup.subtree_control", ctl,
		       sizeof(ctl)) < 0 || !strstr(ctl, "memory"))
		return -ENOTSUP;
	snprintf(path, size, CGROUP_ROOT "/vv-%s-%d", name, getpid());
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

static int memcg_write(const char *cg, const char *file, const char *val)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	return sysfs_write(path, val);
}

/* Value of "@key N" in flat keyed file @file of @cg (memory.stat), or -1. */
static long long memcg_key(const char *cg, const char *file, const char *key)
{
	char path[PATH_MAX], line[256];
	size_t n = strlen(key);
	long long val = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, n) && line[n] == ' ') {
			val = strtoll(line + n + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

/* Move the calling process to @cg; its cgroup so far into @home. */
static int memcg_enter(const char *cg, char *home, size_t size)
{
	char line[200];
	FILE *f;

	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -errno;
	home[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(home, size, CGROUP_ROOT "%s", line + 3);
		}
	}
	fclose(f);
	if (!home[0])
		return -ENOENT;
	return memcg_write(cg, "cgroup.procs", "0");
}

/* Back to @home and remove @cg (its charges stay with the dying group). */
static void memcg_leave(char *cg, char *home)
{
	if (home[0])
		memcg_write(home, "cgroup.procs", "0");
	home[0] = '\0';
	if (cg[0])
		rmdir(cg);
	cg[0] = '\0';
}

/*
 * Only the mdevs here: the harness skips the teardown when the setup
 * fails, so each test brings the devices up itself (bring_up()).
 */
FIXTURE_SETUP(dp)
{
	int i, ret = 0;

	for (i = 0; i < 2; i++) {
		self->nic[i].efd[0] = -1;
		self->nic[i].efd[1] = -1;
	}
	for (i = 0; i < 2 && !ret; i++) {
		struct nic *n = &self->nic[i];

		n->bdf = vmm_env_bdf(i ? "VV_BDF2" : "VV_BDF");
		n->efd[0] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		n->efd[1] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (!n->bdf)
			ret = -EINVAL;
		else if (n->efd[0] < 0 || n->efd[1] < 0)
			ret = -errno;
		else
			ret = mdev_create(n->bdf, n->uuid);
		n->created = !ret;
	}
	if (ret)
		release_mdevs(self);
	ASSERT_EQ(0, ret) TH_LOG("VV_BDF/VV_BDF2, eventfds, mdevs: %s",
				 strerror(-ret));
}

FIXTURE_TEARDOWN(dp)
{
	if (self->victim > 0) {
		kill(self->victim, SIGKILL);
		waitpid(self->victim, NULL, 0);
	}
	if (self->spare_open)
		vmm_close(&self->spare);
	tear_down(self);
	if (self->hugepool)
		hugepool_set(self->hugepool, self->hugepool_saved);
	memcg_leave(self->memcg, self->home_cgroup);
	if (self->reset_method_bdf)
		pci_reset_methods(self->reset_method_bdf, "default");
	release_mdevs(self);
	if (self->spare_created)
		mdev_remove(self->spare_uuid);
}

/* Ethernet frame of @len bytes: broadcast, test ethertype, seq, pattern. */
static void make_frame(u8 *f, unsigned int len, unsigned int src, u32 seq)
{
	unsigned int i;

	memset(f, 0xff, ETH_ALEN);
	memcpy(f + ETH_ALEN, (u8 []){ 0x02, 0x76, 0x76, 0, 0, src }, ETH_ALEN);
	f[12] = ETH_P_TEST >> 8;
	f[13] = ETH_P_TEST & 0xff;
	f[14] = seq >> 24;
	f[15] = seq >> 16;
	f[16] = seq >> 8;
	f[17] = seq;
	for (i = 18; i < len; i++)
		f[i] = (u8)(seq * 31 + i);
}

/* Queue one frame on @n's tx queue and kick it; returns the descriptor. */
static u16 send_frame(struct vmm_guest *g, struct nic *n, u64 addr,
		      unsigned int len, unsigned int src, u32 seq)
{
	u16 id = n->tx.avail_idx % n->tx.size;
	u64 gpa = n->tx_buf + id * BUF_SIZE;
	u8 *p = vmm_guest_ptr(g, gpa, BUF_SIZE);

	memset(p, 0, HDR_LEN);
	make_frame(p + HDR_LEN, len, src, seq);
	vmm_vq_add(&n->tx, id, addr ? addr : gpa, HDR_LEN + len, 0);
	vmm_vq_kick(&n->tx);
	return id;
}

/* The last frame recv_frame() skipped: not of the test's ethertype. */
static struct {
	unsigned int count;
	u32 len;
	u8 head[16];
} other;

/*
 * Wait for the next test frame on @n's rx queue within @ms, re-posting
 * every buffer; frames of other ethertypes (other hub traffic) are skipped.
 * Returns the frame length (without the header), or -1 on timeout; the
 * frame is copied to @out.
 */
static int recv_frame(struct vmm_guest *g, struct nic *n, int ms, u8 *out)
{
	for (;;) {
		int got = -1;
		u32 len;
		u16 id;
		u8 *p;

		if (!vmm_vq_wait(&n->rx, ms, &id, &len))
			return -1;
		if (id < n->rx.size && len > HDR_LEN + 14 && len <= BUF_SIZE) {
			p = vmm_guest_ptr(g, n->rx_buf + id * BUF_SIZE,
					  BUF_SIZE);
			if (p[HDR_LEN + 12] == ETH_P_TEST >> 8 &&
			    p[HDR_LEN + 13] == (ETH_P_TEST & 0xff)) {
				got = len - HDR_LEN;
				memcpy(out, p + HDR_LEN, got);
			} else {
				other.count++;
				other.len = len - HDR_LEN;
				memcpy(other.head, p + HDR_LEN,
				       sizeof(other.head));
			}
		}
		if (id < n->rx.size) {
			vmm_vq_add(&n->rx, id, n->rx_buf + id * BUF_SIZE,
				   BUF_SIZE, VRING_DESC_F_WRITE);
			vmm_vq_kick(&n->rx);
		}
		if (got >= 0)
			return got;
	}
}

/* Wait until @vq's eventfd has counted more than @since signals. */
static bool signalled(struct vmm_vq *vq, u64 since, int ms)
{
	struct pollfd pfd = { .fd = vq->efd, .events = POLLIN };

	vmm_vq_drain(vq);
	while (vq->signals <= since) {
		if (poll(&pfd, 1, ms) <= 0)
			return false;
		vmm_vq_drain(vq);
	}
	return true;
}

/* Every size from @a to @b, byte for byte, rx completions signalled. */
static void traffic(struct __test_metadata *_metadata,
		    struct _test_data_dp *self, int a, int b)
{
	struct nic *tx = &self->nic[a], *rx = &self->nic[b];
	u8 want[BUF_SIZE], got[BUF_SIZE];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		u16 tx_used = tx->tx.used->idx, rx_used = rx->rx.used->idx;
		u32 seq = ++tx->seq;
		u16 id, uid;
		u64 sig;
		int len;

		vmm_vq_drain(&rx->rx);
		sig = rx->rx.signals;
		id = send_frame(&self->g, tx, 0, sizes[i], a, seq);
		ASSERT_TRUE(vmm_vq_wait(&tx->tx, WAIT_MS, &uid, NULL))
			TH_LOG("%s -> %s: %u bytes: no tx completion",
			       tx->bdf, rx->bdf, sizes[i]);
		ASSERT_EQ(id, uid);
		ASSERT_EQ((u16)(tx_used + 1), tx->tx.used->idx);

		len = recv_frame(&self->g, rx, WAIT_MS, got);
		ASSERT_EQ((int)sizes[i], len)
			TH_LOG("%s -> %s: frame of %u bytes not received",
			       tx->bdf, rx->bdf, sizes[i]);
		make_frame(want, sizes[i], a, seq);
		ASSERT_EQ(0, memcmp(want, got, sizes[i]))
			TH_LOG("%s -> %s: %u bytes differ", tx->bdf, rx->bdf,
			       sizes[i]);
		ASSERT_NE(rx_used, rx->rx.used->idx);
		/*
		 * The completion comes as an interrupt on the rx vector; the
		 * used index may be seen before the eventfd is signalled.
		 */
		ASSERT_TRUE(signalled(&rx->rx, sig, WAIT_MS))
			TH_LOG("%s: no rx eventfd signal", rx->bdf);
	}
}

/* Every size from A to B, then from B to A. */
static void traffic_both(struct __test_metadata *_metadata,
			 struct _test_data_dp *self)
{
	traffic(_metadata, self, 0, 1);
	traffic(_metadata, self, 1, 0);
}

TEST_F_TIMEOUT(dp, frames_both_ways, 120)
{
	int i;

	bring_up(_metadata, self);
	traffic_both(_metadata, self);
	for (i = 0; i < 2; i++) {
		struct nic *n = &self->nic[i];
		struct vmm *v = &n->vmm;
		u32 isr;

		/*
		 * Used buffers set the VF's ISR queue bit (virtio-pci does so
		 * with MSI-X too).  A read of any width covering the ISR
		 * byte returns it, with 0 in the reserved bytes, and clears
		 * it, as the 1-byte read a driver makes does.
		 */
		isr = vmm_bar_read(v, v->isr.bar, v->isr.offset, 4);
		EXPECT_EQ(ISR_QUEUE, isr & ~VIRTIO_PCI_ISR_CONFIG)
			TH_LOG("%s: 4-byte ISR read 0x%08x", n->bdf, isr);
		EXPECT_EQ(0, vmm_bar_read(v, v->isr.bar, v->isr.offset, 1) &
			  ISR_QUEUE);
		EXPECT_EQ(0, v->err);

		/*
		 * A tx completion's interrupt may come after its used index
		 * was seen; the counter moves before the eventfd is signalled.
		 */
		EXPECT_TRUE(signalled(&n->tx, 0, WAIT_MS));
		EXPECT_LT(0, vmm_counter(n->uuid, "irq_vector_0"));
		EXPECT_LT(0, vmm_counter(n->uuid, "irq_vector_1"));
		TH_LOG("%s: irqs %lld (vector 0 %lld, 1 %lld), bypass %lld/%lld",
		       n->bdf, vmm_counter(n->uuid, "irqs"),
		       vmm_counter(n->uuid, "irq_vector_0"),
		       vmm_counter(n->uuid, "irq_vector_1"),
		       vmm_counter(n->uuid, "bypass_producers"),
		       vmm_counter(n->uuid, "bypass_connected"));
	}
}

/*
 * Mapped (the default): no kick reaches the driver, the doorbell page was
 * faulted in.  Trapped: the driver forwarded exactly the kicks we made.
 */
TEST_F_TIMEOUT(dp, kick_path, 120)
{
	char path[128], mode[96] = "";
	FILE *f;
	int i;

	bring_up(_metadata, self);
	traffic_both(_metadata, self);
	for (i = 0; i < 2; i++) {
		struct nic *n = &self->nic[i];
		long long kicks = n->rx.kicks + n->tx.kicks;

		snprintf(path, sizeof(path),
			 "/sys/bus/mdev/devices/%s/doorbell_mode", n->uuid);
		f = fopen(path, "re");
		ASSERT_NE(NULL, f);
		ASSERT_NE(NULL, fgets(mode, sizeof(mode), f));
		fclose(f);
		mode[strcspn(mode, "\n")] = 0;
		TH_LOG("%s: %lld kicks, bar2_notify_writes %lld, doorbell_mode \"%s\"",
		       n->bdf, kicks,
		       vmm_counter(n->uuid, "bar2_notify_writes"), mode);
		TH_LOG("%s: doorbell_mapped %lld doorbell_faults %lld", n->bdf,
		       vmm_counter(n->uuid, "doorbell_mapped"),
		       vmm_counter(n->uuid, "doorbell_faults"));
		EXPECT_LT(2, kicks);
		if (trapped()) {
			EXPECT_EQ(kicks, vmm_counter(n->uuid,
						     "bar2_notify_writes"));
			EXPECT_EQ(0, vmm_counter(n->uuid, "doorbell_mapped"));
			EXPECT_EQ(0, vmm_counter(n->uuid, "doorbell_faults"));
			EXPECT_STREQ(relayed() ?
				     "trapped: virtqueue relay (relay module parameter)" :
				     "trapped: map_doorbells module parameter is N",
				     mode);
		} else {
			EXPECT_EQ(0, vmm_counter(n->uuid,
						 "bar2_notify_writes"));
			EXPECT_LT(0, vmm_counter(n->uuid, "doorbell_mapped"));
			EXPECT_LT(0, vmm_counter(n->uuid, "doorbell_faults"));
			EXPECT_EQ(0, strcmp(mode, "mapped"));
		}
	}
}

/* Read a used index, a counter, the index again: before <= counter <= after. */
static void used_sandwich(struct __test_metadata *_metadata, struct nic *n)
{
	u16 before = n->rx.used->idx + n->tx.used->idx;
	long long relayed_used = vmm_counter(n->uuid, "relay_used");
	u16 after = n->rx.used->idx + n->tx.used->idx;

	EXPECT_LE(0, (short)(u16)(relayed_used - before))
		TH_LOG("%s: relay_used %lld, guest used indices sum %u before",
		       n->bdf, relayed_used, before);
	EXPECT_LE(0, (short)(u16)(after - relayed_used))
		TH_LOG("%s: relay_used %lld, guest used indices sum %u after",
		       n->bdf, relayed_used, after);
}

/*
 * With the relay, the host moved every head the guest made available and
 * every element the VF used, took each VF interrupt in its thread (no
 * bypass), and left no queue broken.  Without it, the relay saw nothing.
 */
TEST_F_TIMEOUT(dp, relay_counts_every_buffer, 120)
{
	int i;

	bring_up(_metadata, self);
	traffic_both(_metadata, self);
	for (i = 0; i < 2; i++) {
		struct nic *n = &self->nic[i];
		long long avail = (u16)(n->rx.avail_idx + n->tx.avail_idx);

		TH_LOG("%s: relay %lld, avail %lld, used %lld, kicks %lld",
		       n->bdf, vmm_counter(n->uuid, "relay"),
		       vmm_counter(n->uuid, "relay_avail"),
		       vmm_counter(n->uuid, "relay_used"),
		       vmm_counter(n->uuid, "relay_kicks"));
		TH_LOG("%s: vf kicks %lld (+%lld held), irqs %lld, interrupts %lld, signals %lld",
		       n->bdf, vmm_counter(n->uuid, "relay_vf_kicks"),
		       vmm_counter(n->uuid, "relay_vf_kicks_suppressed"),
		       vmm_counter(n->uuid, "irqs"),
		       vmm_counter(n->uuid, "relay_interrupts"),
		       vmm_counter(n->uuid, "relay_guest_signals"));
		if (!relayed()) {
			EXPECT_EQ(0, vmm_counter(n->uuid, "relay"));
			EXPECT_EQ(0, vmm_counter(n->uuid, "relay_avail"));
			EXPECT_EQ(0, vmm_counter(n->uuid, "relay_used"));
			EXPECT_EQ(0, vmm_counter(n->uuid, "relay_interrupts"));
			continue;
		}
		EXPECT_EQ(1, vmm_counter(n->uuid, "relay"));
		EXPECT_EQ(2, vmm_counter(n->uuid, "relay_queues_live"));
		EXPECT_EQ(0, vmm_counter(n->uuid, "relay_errors"));
		EXPECT_EQ(avail, vmm_counter(n->uuid, "relay_avail"));
		/* The guest's kicks and one replayed per queue at DRIVER_OK. */
		EXPECT_EQ(n->rx.kicks + n->tx.kicks +
			  vmm_counter(n->uuid, "kicks_replayed"),
			  vmm_counter(n->uuid, "relay_kicks"));
		EXPECT_EQ(2, vmm_counter(n->uuid, "kicks_replayed"));
		EXPECT_LT(0, vmm_counter(n->uuid, "relay_vf_kicks"));
		used_sandwich(_metadata, n);
		EXPECT_LT(0, vmm_counter(n->uuid, "relay_interrupts"));
		EXPECT_LE(vmm_counter(n->uuid, "relay_interrupts"),
			  vmm_counter(n->uuid, "irqs"));
		EXPECT_LE(vmm_counter(n->uuid, "relay_guest_signals"),
			  vmm_counter(n->uuid, "relay_interrupts"));
		EXPECT_EQ(0, vmm_counter(n->uuid, "bypass_producers"));
		EXPECT_NE(0, vmm_counter(n->uuid, "relay_iova"));
	}
}

/*
 * A guest that moves its avail index more than a ring ahead, through the
 * relay: it gets what virtio asks of a device that detects it,
 * DEVICE_NEEDS_RESET and a configuration interrupt, that queue stops
 * being relayed, the other device is untouched, and after a reset the
 * device works again.  Direct, what happens is the VF's own business
 * (QEMU's virtio-net replays stale heads and floods its peer), as with
 * vfio-pci: not a case of ours.
 */
/*
 * RUNNING -> STOP_COPY and the state read whole into @buf: its length, or
 * a negative errno.
 */
static ssize_t save_state(struct vmm *v, u8 *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	int fd, ret;

	ret = vmm_mig_set_state(v, VFIO_DEVICE_STATE_STOP_COPY, &fd);
	if (ret)
		return ret;
	while ((n = read(fd, buf + len, size - len)) > 0)
		len += n;
	ret = n < 0 ? -errno : 0;
	close(fd);
	return ret ?: (ssize_t)len;
}

/* The sections of the state a stop saves (0 on error). */
static u16 saved_sections(struct vmm *v)
{
	static u8 state[1 << 16];
	u16 nr_sections = 0;

	if (save_state(v, state, sizeof(state)) >= 8)
		memcpy(&nr_sections, state + 6, 2);
	return nr_sections;
}

TEST_F_TIMEOUT(dp, runaway_avail_index_needs_reset, 120)
{
	struct nic *a = &self->nic[0];
	struct vmm_vq cfg = { .efd = a->efd[1] };
	char why[128] = "";
	u8 st = 0;
	int ret;

	if (!relayed())
		SKIP(return, "%s", "direct: the VF handles a runaway avail index itself");
	bring_up(_metadata, self);
	traffic(_metadata, self, 0, 1);
	/* Configuration changes on the tx vector, quiet from here on. */
	vmm_vio_write(&a->vmm, VIRTIO_PCI_COMMON_MSIX, 2, 1);
	vmm_vq_drain(&cfg);
	__atomic_store_n(&a->tx.avail->idx, (u16)(a->tx.avail_idx + QSIZE + 1),
			 __ATOMIC_RELEASE);
	vmm_vq_kick(&a->tx);
	while (signalled(&cfg, cfg.signals, WAIT_MS)) {
		st = vmm_vio_status(&a->vmm);
		if (st & VIRTIO_CONFIG_S_NEEDS_RESET)
			break;
	}
	ASSERT_TRUE(st & VIRTIO_CONFIG_S_NEEDS_RESET)
		TH_LOG("status %#x after the runaway avail index", st);
	EXPECT_EQ(1, vmm_counter(a->uuid, "relay_errors"));
	EXPECT_EQ(0, vmm_counter(self->nic[1].uuid, "relay_errors"));
	EXPECT_EQ(1, vmm_counter(a->uuid, "relay_queues_live"));

	/*
	 * A device that needs a reset is stopped and saved without a relay
	 * section (four sections): there is nothing to resume in place, and
	 * a destination would refuse one.  Running again, it still needs it.
	 */
	EXPECT_EQ(4, saved_sections(&a->vmm));
	EXPECT_EQ(0, vmm_counter(a->uuid, "relay_parks"));
	ASSERT_EQ(0, vmm_mig_set_state(&a->vmm, VFIO_DEVICE_STATE_RUNNING,
				       NULL));
	st = vmm_vio_status(&a->vmm);
	EXPECT_TRUE(st & VIRTIO_CONFIG_S_NEEDS_RESET) TH_LOG("status %#x", st);

	vmm_vio_set_status(&a->vmm, 0);
	ASSERT_EQ(0, vmm_vio_status(&a->vmm));
	vmm_vq_drain(&a->rx);
	vmm_vq_drain(&a->tx);
	ret = nic_up(&self->g, a, why, sizeof(why));
	ASSERT_EQ(0, ret) TH_LOG("%s after reset: %s: %s", a->bdf, why,
				 strerror(-ret));
	traffic_both(_metadata, self);
	EXPECT_EQ(2, vmm_counter(a->uuid, "relay_queues_live"));
}

static long long mig_counter(struct nic *n, const char *name)
{
	char val[64];

	if (vmm_debugfs_str(n->uuid, "migration", name, val, sizeof(val)))
		return -1;
	return strtoll(val, NULL, 0);
}

/*
 * VM pause and resume through the relay (vhost_vfio migration=Y, which
 * datapath.sh sets for the relay pass): RUNNING -> STOP resets the VF
 * after the relay noted where each queue was; STOP -> RUNNING hands a
 * fresh VF the buffers the old one held.  The guest reads DRIVER_OK
 * throughout, gets one interrupt per queue, and frames flow again into
 * the rx buffers it posted before the pause, none re-posted by it.
 */
TEST_F_TIMEOUT(dp, relay_pause_resume_in_place, 120)
{
	const u8 all = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		       VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;
	int i, round;

	if (!relayed())
		SKIP(return, "%s", "direct: STOP resets the VF (migration_test)");
	bring_up(_metadata, self);
	ASSERT_EQ(0, mig_counter(&self->nic[0], "resumed_in_place"))
		TH_LOG("migration not offered: datapath.sh sets migration=Y for the relay pass");
	traffic_both(_metadata, self);
	for (round = 1; round <= 2; round++) {
		for (i = 0; i < 2; i++) {
			struct nic *n = &self->nic[i];
			long long vf_kicks;
			u64 sig;

			vmm_vq_drain(&n->rx);
			sig = n->rx.signals;
			vf_kicks = vmm_counter(n->uuid, "relay_vf_kicks");
			ASSERT_EQ(0, vmm_mig_set_state(&n->vmm,
						       VFIO_DEVICE_STATE_STOP,
						       NULL));
			EXPECT_EQ(0, vmm_counter(n->uuid, "vf_status"))
				TH_LOG("%s: the VF is reset while stopped",
				       n->bdf);
			EXPECT_EQ(all, vmm_vio_status(&n->vmm));
			ASSERT_EQ(0, vmm_mig_set_state(&n->vmm,
						       VFIO_DEVICE_STATE_RUNNING,
						       NULL));
			EXPECT_EQ(all, vmm_vio_status(&n->vmm));
			EXPECT_EQ(all, vmm_counter(n->uuid, "vf_status"));
			EXPECT_EQ(round, mig_counter(n, "resumed_in_place"));
			EXPECT_EQ(0, mig_counter(n, "needs_reset_raised"));
			EXPECT_EQ(round, vmm_counter(n->uuid, "relay_resumes"));
			/* The rx buffers the old VF held, every round. */
			EXPECT_LE(round * QSIZE,
				  vmm_counter(n->uuid, "relay_heads_reposted"));
			EXPECT_EQ(2, vmm_counter(n->uuid, "relay_queues_live"));
			/*
			 * The fresh VF is kicked about the heads it was handed
			 * (hardware, unlike QEMU's virtio-net, does not look
			 * at a ring it was not kicked about).
			 */
			EXPECT_LT(vf_kicks, vmm_counter(n->uuid, "relay_vf_kicks"));
			EXPECT_TRUE(signalled(&n->rx, sig, WAIT_MS))
				TH_LOG("%s: no interrupt at resume", n->bdf);
		}
		traffic_both(_metadata, self);
	}
	for (i = 0; i < 2; i++)
		EXPECT_EQ(0, vmm_counter(self->nic[i].uuid, "relay_errors"));
}

/*
 * Migration to another function through the relay: the second device's
 * state, taken while its VF held every rx buffer, resumes on an mdev of
 * VV_BDF3, a function whose raw features differ (packed=on, which the
 * relay never offers), provisioned with the MAC the guest saw.  The new
 * device goes on where the old one stopped: the guest reads DRIVER_OK
 * throughout, gets an interrupt, and the rx buffers it posted before are
 * used by the new VF; frames flow both ways.
 */
TEST_F_TIMEOUT(dp, relay_migrates_to_another_function, 120)
{
	const u8 all = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		       VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;
	const char *bdf3 = vmm_env_bdf("VV_BDF3");
	struct nic *b = &self->nic[1];
	char mac[32], uuid[VMM_UUID_LEN + 1];
	static u8 state[1 << 20];
	u64 offered_b = 0, offered_c = 1, sig;
	struct vmm *c = &self->spare;
	size_t len = 0;
	u8 m[ETH_ALEN];
	ssize_t n;
	int i, fd;

	if (!relayed())
		SKIP(return, "%s", "direct: no relay carries the queues over");
	ASSERT_NE(NULL, bdf3) TH_LOG("VV_BDF3 is not set");
	bring_up(_metadata, self);
	traffic_both(_metadata, self);

	/* The destination, provisioned with what the guest saw. */
	for (i = 0; i < ETH_ALEN; i++)
		m[i] = vmm_vio_devcfg_read(&b->vmm,
					   offsetof(struct virtio_net_config,
						    mac) + i, 1);
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x\n",
		 m[0], m[1], m[2], m[3], m[4], m[5]);
	ASSERT_EQ(0, mdev_create(bdf3, self->spare_uuid));
	self->spare_created = true;
	ASSERT_EQ(0, mdev_attr_write(self->spare_uuid, "mac", mac));
	ASSERT_EQ(0, mdev_attr_u64(b->uuid, "offered_features", &offered_b));
	ASSERT_EQ(0, mdev_attr_u64(self->spare_uuid, "offered_features",
				   &offered_c));
	ASSERT_EQ(offered_b, offered_c)
		TH_LOG("%s and %s offer different features under the relay",
		       b->bdf, bdf3);
	ASSERT_EQ(0, vmm_open_guest(c, self->spare_uuid, &self->g));
	self->spare_open = true;

	/* The source stops and saves, its VF holding the rx buffers. */
	vmm_vq_drain(&b->rx);
	sig = b->rx.signals;
	n = save_state(&b->vmm, state, sizeof(state));
	ASSERT_LT(0, n) TH_LOG("saving the state: %s", strerror(-n));
	len = n;
	EXPECT_EQ(1, vmm_counter(b->uuid, "relay_parks"));

	/* The destination takes it, gets the vectors, and runs. */
	ASSERT_EQ(0, vmm_mig_set_state(c, VFIO_DEVICE_STATE_RESUMING, &fd));
	ASSERT_EQ((ssize_t)len, write(fd, state, len));
	ASSERT_EQ(0, vmm_mig_set_state(c, VFIO_DEVICE_STATE_STOP, NULL));
	close(fd);
	ASSERT_EQ(0, vmm_virtio_locate(c));
	ASSERT_EQ(0, vmm_msix_set(c, 0, 2, b->efd));
	ASSERT_EQ(0, vmm_mig_set_state(c, VFIO_DEVICE_STATE_RUNNING, NULL));

	/* The guest's queues now kick the new device; the old one goes. */
	vmm_close(&b->vmm);
	b->vmm = *c;
	self->spare_open = false;
	memcpy(uuid, b->uuid, sizeof(uuid));
	memcpy(b->uuid, self->spare_uuid, sizeof(uuid));
	memcpy(self->spare_uuid, uuid, sizeof(uuid));
	b->bdf = bdf3;
	ASSERT_EQ(0, vmm_vq_move(&b->rx, &b->vmm));
	ASSERT_EQ(0, vmm_vq_move(&b->tx, &b->vmm));
	ASSERT_EQ(0, vmm_settle(&b->vmm));
	EXPECT_EQ(all, vmm_vio_status(&b->vmm));
	EXPECT_EQ(all, vmm_counter(b->uuid, "vf_status"));
	EXPECT_EQ(1, mig_counter(b, "restores"));
	EXPECT_EQ(1, mig_counter(b, "resumed_in_place"));
	EXPECT_EQ(0, mig_counter(b, "needs_reset_raised"));
	EXPECT_LE(QSIZE, vmm_counter(b->uuid, "relay_heads_reposted"));
	EXPECT_EQ(2, vmm_counter(b->uuid, "relay_queues_live"));
	EXPECT_TRUE(signalled(&b->rx, sig, WAIT_MS))
		TH_LOG("%s: no interrupt at resume", b->bdf);
	traffic_both(_metadata, self);
	EXPECT_EQ(0, vmm_counter(b->uuid, "relay_errors"));
}

TEST_F_TIMEOUT(dp, iommu_isolation, 120)
{
	struct nic *a = &self->nic[0], *b = &self->nic[1];
	u64 outside = GUEST_GPA + GUEST_SIZE + (64ULL << 20);
	u8 got[BUF_SIZE];
	char why[128] = "";
	u16 b_used;
	int ret;

	bring_up(_metadata, self);
	traffic(_metadata, self, 0, 1);
	b_used = b->rx.used->idx;
	other.count = 0;
	/*
	 * A frame whose buffer is outside everything the VM has mapped: the
	 * device must not read it (the test frame written to the tx buffer
	 * it would normally use must not show up either).
	 */
	send_frame(&self->g, a, outside, 128, 0, 0xdead);
	EXPECT_EQ(-1, recv_frame(&self->g, b, QUIET_MS, got))
		TH_LOG("a frame from unmapped memory was delivered");
	TH_LOG("after the bad descriptor: %s status %#x, tx used %u -> %u, %s rx used %u -> %u",
	       a->bdf, vmm_vio_status(&a->vmm), (u16)(a->tx.avail_idx - 1),
	       a->tx.used->idx, b->bdf, b_used, b->rx.used->idx);
	if (other.count) {
		char hex[3 * sizeof(other.head) + 1] = "";
		unsigned int i;

		for (i = 0; i < sizeof(other.head); i++)
			sprintf(hex + 3 * i, " %02x", other.head[i]);
		TH_LOG("%s got %u other frame(s), last %u bytes:%s", b->bdf,
		       other.count, other.len, hex);
	}

	/* A reset and a new negotiation give a working device again. */
	a->vmm.err = 0;
	vmm_vio_set_status(&a->vmm, 0);
	ASSERT_EQ(0, vmm_vio_status(&a->vmm));
	ret = nic_up(&self->g, a, why, sizeof(why));
	ASSERT_EQ(0, ret) TH_LOG("%s after reset: %s: %s", a->bdf, why,
				 strerror(-ret));
	traffic_both(_metadata, self);
}

TEST_F_TIMEOUT(dp, unmap_while_running, 120)
{
	long long before[2], after, builds;
	u8 got[BUF_SIZE], *p;
	char why[128] = "";
	struct nic *a;
	u64 done = 0;
	int i, ret;

	bring_up(_metadata, self);
	traffic(_metadata, self, 0, 1);
	for (i = 0; i < 2; i++)
		before[i] = vmm_counter(self->nic[i].uuid,
					"mirror_pinned_pages");
	ret = vmm_guest_dma_unmap(&self->g, SPARE_GPA, DMA_CHUNK, &done);
	ASSERT_EQ(0, ret) TH_LOG("VFIO_IOMMU_UNMAP_DMA: %s", strerror(-ret));
	ASSERT_EQ(DMA_CHUNK, done);
	for (i = 0; i < 2; i++) {
		struct nic *n = &self->nic[i];

		after = vmm_counter(n->uuid, "mirror_pinned_pages");
		TH_LOG("%s: mirror_pinned_pages %lld -> %lld, maps 4k %lld 2m %lld",
		       n->bdf, before[i], after,
		       vmm_counter(n->uuid, "mirror_maps_4k"),
		       vmm_counter(n->uuid, "mirror_maps_2m"));
		EXPECT_EQ(before[i] - (long long)(DMA_CHUNK / VMM_PAGE), after);
	}
	/* Still running on what is left. */
	traffic_both(_metadata, self);

	/*
	 * A valid frame in the unmapped chunk (still guest RAM, still in
	 * the memslot): the device must no longer reach it.
	 */
	a = &self->nic[0];
	p = vmm_guest_ptr(&self->g, SPARE_GPA, BUF_SIZE);
	memset(p, 0, HDR_LEN);
	make_frame(p + HDR_LEN, 128, 0, 0xbeef);
	send_frame(&self->g, a, SPARE_GPA, 128, 0, 0xbeef);
	EXPECT_EQ(-1, recv_frame(&self->g, &self->nic[1], QUIET_MS, got))
		TH_LOG("a frame from a range unmapped through VFIO was delivered");

	/* A new DRIVER_OK rebuilds from what is still mapped. */
	builds = vmm_counter(a->uuid, "mirror_builds");
	a->vmm.err = 0;
	vmm_vio_set_status(&a->vmm, 0);
	ret = nic_up(&self->g, a, why, sizeof(why));
	ASSERT_EQ(0, ret) TH_LOG("%s after reset: %s: %s", a->bdf, why,
				 strerror(-ret));
	TH_LOG("%s: mirror_builds %lld -> %lld, mirror_reuses %lld",
	       a->bdf, builds, vmm_counter(a->uuid, "mirror_builds"),
	       vmm_counter(a->uuid, "mirror_reuses"));
	EXPECT_EQ(GUEST_PAGES - DMA_CHUNK / VMM_PAGE,
		  vmm_counter(a->uuid, "mirror_pinned_pages"));
	traffic_both(_metadata, self);
}

/* CAP_IPC_LOCK would exempt the VMM from RLIMIT_MEMLOCK. */
static int drop_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];
	u32 bit = 1U << (CAP_IPC_LOCK % 32);

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[CAP_IPC_LOCK / 32].effective &= ~bit;
	data[CAP_IPC_LOCK / 32].permitted &= ~bit;
	data[CAP_IPC_LOCK / 32].inheritable &= ~bit;
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	return 0;
}

TEST_F_TIMEOUT(dp, memlock_limit, 120)
{
	struct rlimit small = { 1 << 20, RLIM_INFINITY };
	struct rlimit big = { RLIM_INFINITY, RLIM_INFINITY };
	struct nic *a = &self->nic[0];
	char why[128] = "";
	int i, ret;

	/* A VMM without CAP_IPC_LOCK and with 1 MiB of locked memory. */
	ASSERT_EQ(0, drop_ipc_lock());
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &small));
	ASSERT_EQ(0, vmm_guest_create(&self->g, GUEST_GPA, GUEST_SIZE,
				      DMA_CHUNK));
	self->guest = true;
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, vmm_open_guest(&self->nic[i].vmm,
					    self->nic[i].uuid, &self->g));
		self->nic[i].open = true;
	}
	ret = nic_up(&self->g, a, why, sizeof(why));
	TH_LOG("%s with 1 MiB memlock: %s (%d)", a->bdf, why, ret);
	ASSERT_EQ(-EIO, ret);
	EXPECT_FALSE(vmm_vio_status(&a->vmm) & VIRTIO_CONFIG_S_DRIVER_OK);
	EXPECT_EQ(0, vmm_counter(a->uuid, "mirror_pinned_pages"));

	/* VFIO charges the limit at pin time: raising it is enough. */
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &big));
	for (i = 0; i < 2; i++) {
		struct nic *n = &self->nic[i];

		n->vmm.err = 0;
		vmm_vio_set_status(&n->vmm, 0);
		ret = nic_up(&self->g, n, why, sizeof(why));
		ASSERT_EQ(0, ret) TH_LOG("%s: %s: %s", n->bdf, why,
					 strerror(-ret));
		EXPECT_EQ(GUEST_PAGES, vmm_counter(n->uuid,
						   "mirror_pinned_pages"));
	}
	traffic(_metadata, self, 0, 1);
}

TEST_F_TIMEOUT(dp, close_releases_and_reopen_works, 120)
{
	int i;

	bring_up(_metadata, self);
	traffic(_metadata, self, 0, 1);
	for (i = 0; i < 2; i++) {
		struct nic *n = &self->nic[i];

		EXPECT_EQ(GUEST_PAGES, vmm_counter(n->uuid,
						   "mirror_pinned_pages"));
		/* The relay takes every interrupt itself: no bypass. */
		EXPECT_EQ(relayed() ? 0 : 2,
			  vmm_counter(n->uuid, "bypass_producers"));
		EXPECT_EQ(relayed() ? 2 : 0,
			  vmm_counter(n->uuid, "relay_queues_live"));
		nic_close(n);
		EXPECT_EQ(0, vmm_counter(n->uuid, "relay_queues_live"));
		EXPECT_EQ(0, vmm_counter(n->uuid, "mirror_pinned_pages"));
		EXPECT_EQ(0, vmm_counter(n->uuid, "mirror_maps"));
		EXPECT_EQ(0, vmm_counter(n->uuid, "bypass_producers"));
	}
	tear_down(self);
	for (i = 0; i < 2; i++) {
		self->nic[i].seq = 0;
		vmm_vq_drain(&self->nic[i].rx);
		vmm_vq_drain(&self->nic[i].tx);
	}
	bring_up(_metadata, self);
	traffic_both(_metadata, self);
	for (i = 0; i < 2; i++) {
		struct nic *n = &self->nic[i];
		long long writes = vmm_counter(n->uuid, "bar2_notify_writes");

		/* Trapped: at least this session's kicks (the count is the mdev's). */
		if (trapped()) {
			EXPECT_LE((long long)(n->rx.kicks + n->tx.kicks),
				  writes);
		} else {
			EXPECT_EQ(0, writes);
		}
	}
}

/*
 * Ask the machine playing the hardware for something (scripts/vm/
 * host-request.sh): one line in a new file of $VV_HOST_REQ.
 */
static int host_request(const char *fmt, ...)
{
	static unsigned int seq;
	char path[PATH_MAX];
	va_list ap;
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "%s/%d-%u.req", getenv("VV_HOST_REQ"),
		 getpid(), seq++);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	ret = fclose(f) ? -errno : 0;
	return ret;
}

/* Wait for one signal on @efd; its count, 0 on timeout. */
static u64 wait_signal(int efd, int timeout_ms)
{
	struct pollfd pfd = { .fd = efd, .events = POLLIN };
	u64 cnt = 0;

	if (poll(&pfd, 1, timeout_ms) != 1 ||
	    read(efd, &cnt, sizeof(cnt)) != sizeof(cnt))
		return 0;
	return cnt;
}

static u16 link_status(struct vmm *v)
{
	return vmm_vio_devcfg_read(v, offsetof(struct virtio_net_config,
					       status), 2);
}

/*
 * Config-change interrupts: the host pulls the cable of function B and
 * plugs it back.  Each time the guest's config vector (on an eventfd, as
 * QEMU sets it up) must fire and the config space must show the new link
 * state; frames flow again afterwards.
 */
TEST_F_TIMEOUT(dp, link_change_interrupt, 120)
{
	const char *id = getenv("VV_LINK_ID");
	struct nic *n = &self->nic[1];
	long long before;
	int efd;

	if (!getenv("VV_HOST_REQ") || !id || !*id)
		SKIP(return, "%s", "no host request channel (VV_HOST_REQ, VV_LINK_ID)");
	bring_up(_metadata, self);
	ASSERT_TRUE(n->features & BIT_ULL(VIRTIO_NET_F_STATUS));
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, vmm_msix_set(&n->vmm, CONFIG_VECTOR, 1, &efd));
	vmm_vio_write(&n->vmm, VIRTIO_PCI_COMMON_MSIX, 2, CONFIG_VECTOR);
	ASSERT_EQ(CONFIG_VECTOR, vmm_vio_read(&n->vmm, VIRTIO_PCI_COMMON_MSIX,
					      2));
	ASSERT_TRUE(link_status(&n->vmm) & VIRTIO_NET_S_LINK_UP);
	before = vmm_counter(n->uuid, "irq_vector_2");

	ASSERT_EQ(0, host_request("set_link %s off", id));
	EXPECT_LT(0, wait_signal(efd, LINK_WAIT_MS))
		TH_LOG("no config interrupt after the link went down");
	EXPECT_FALSE(link_status(&n->vmm) & VIRTIO_NET_S_LINK_UP);

	ASSERT_EQ(0, host_request("set_link %s on", id));
	EXPECT_LT(0, wait_signal(efd, LINK_WAIT_MS))
		TH_LOG("no config interrupt after the link came back");
	EXPECT_TRUE(link_status(&n->vmm) & VIRTIO_NET_S_LINK_UP);

	TH_LOG("%s: config vector %d fired %lld times", n->bdf, CONFIG_VECTOR,
	       vmm_counter(n->uuid, "irq_vector_2") - before);
	EXPECT_LE(2, vmm_counter(n->uuid, "irq_vector_2") - before);
	traffic_both(_metadata, self);
	close(efd);
}

/* The isolation debugfs line @name of @n, e.g. "domain". */
static void hold_mirror(struct __test_metadata *_metadata, struct nic *n,
			bool hold)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/debug/vhost_vfio/%s/%s",
		 n->uuid, "hold_mirror");
	fd = open(path, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", path, strerror(errno));
	ASSERT_EQ(1, write(fd, hold ? "1" : "0", 1));
	close(fd);
}

static long long vf_status(struct nic *n)
{
	char val[16];

	if (vmm_debugfs_str(n->uuid, "counters", "vf_status", val, sizeof(val)))
		return -1;
	return strtoll(val, NULL, 0);
}

static const char *isolation(struct nic *n, const char *name)
{
	static char val[64];

	if (vmm_debugfs_str(n->uuid, "isolation", name, val, sizeof(val)))
		snprintf(val, sizeof(val), "(no %s line)", name);
	return val;
}

static bool vf_bus_master(struct nic *n)
{
	return pci_command(n->bdf) & PCI_COMMAND_MASTER;
}

/*
 * Where the VF's DMA can land, in every state: in a blocking domain with
 * Bus Master off until a guest drives it, in the mirror while open, and
 * back in the blocking domain after close (never the default domain,
 * which is the identity map under L1's iommu=pt).
 */
TEST_F_TIMEOUT(dp, domain_in_every_state, 120)
{
	struct nic *n = &self->nic[0];

	ASSERT_STREQ("blocking", isolation(n, "domain"));
	ASSERT_FALSE(vf_bus_master(n));
	bring_up(_metadata, self);
	ASSERT_STREQ("mirror", isolation(n, "domain"));
	ASSERT_TRUE(vf_bus_master(n));
	ASSERT_STREQ("1", isolation(n, "bus_master"));
	traffic(_metadata, self, 0, 1);
	nic_close(n);
	ASSERT_STREQ("blocking", isolation(n, "domain"));
	ASSERT_FALSE(vf_bus_master(n));
	ASSERT_STREQ("0", isolation(n, "dma_unsafe"));
}

/*
 * A frame @n sends now must not complete: a VF off the bus cannot read its
 * descriptor or write the used ring.
 */
static void expect_no_completion(struct __test_metadata *_metadata,
				 struct _test_data_dp *self, struct nic *n,
				 const char *why)
{
	u16 used = n->tx.used->idx;

	send_frame(&self->g, n, 0, 64, 0, ++n->seq);
	EXPECT_FALSE(vmm_vq_wait(&n->tx, QUIET_MS, NULL, NULL))
		TH_LOG("%s", why);
	EXPECT_EQ(used, n->tx.used->idx);
}

/*
 * A guest that clears Bus Master Enable stops the VF's DMA, as on real
 * hardware: the VF's own bit goes off and a queued frame is not sent.
 */
TEST_F_TIMEOUT(dp, guest_bus_master_gates_dma, 120)
{
	struct nic *tx = &self->nic[0];

	bring_up(_metadata, self);
	traffic(_metadata, self, 0, 1);
	vmm_cfg_write16(&tx->vmm, PCI_COMMAND, PCI_COMMAND_MEMORY);
	ASSERT_EQ(0, tx->vmm.err);
	ASSERT_FALSE(vf_bus_master(tx));
	expect_no_completion(_metadata, self, tx,
			     "the VF completed a frame with Bus Master off");
	/* Set again: the VF may master again (the guest resets it next). */
	vmm_cfg_write16(&tx->vmm, PCI_COMMAND,
			PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	ASSERT_TRUE(vf_bus_master(tx));
}

/*
 * A VF that does not complete its reset at close (injected through
 * debugfs) gets a PCI function reset; either way it ends in the blocking
 * domain with Bus Master off, and the next user finds it working.
 */
static int inject_fault(struct nic *n, const char *knob)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/kernel/debug/vhost_vfio/%s/%s",
		 n->uuid, knob);
	return sysfs_write(path, "1");
}

/* The function has some PCI reset method (FLR, PM, bus). */
static bool pci_resettable(const char *bdf)
{
	char path[PATH_MAX], methods[128];

	snprintf(path, sizeof(path), VMM_PCI_DEVICES "/%s/reset_method", bdf);
	return sysfs_read(path, methods, sizeof(methods)) > 0;
}

TEST_F_TIMEOUT(dp, failed_reset_keeps_vf_blocked, 120)
{
	struct nic *n = &self->nic[0];

	bring_up(_metadata, self);
	traffic(_metadata, self, 0, 1);
	ASSERT_EQ(0, inject_fault(n, "fail_next_reset"));
	nic_close(n);
	ASSERT_STREQ("blocking", isolation(n, "domain"));
	ASSERT_FALSE(vf_bus_master(n));
	TH_LOG("%s after a failed reset: dma_unsafe %s (1: no FLR worked)",
	       n->bdf, isolation(n, "dma_unsafe"));
	/* No reset method at all (a root-bus function in L1): unsafe. */
	if (!pci_resettable(n->bdf))
		ASSERT_STREQ("1", isolation(n, "dma_unsafe"));

	/* The next user (a new VM: KVM holds the old group) finds it working. */
	tear_down(self);
	bring_up(_metadata, self);
	ASSERT_STREQ("0", isolation(n, "dma_unsafe"));
	traffic_both(_metadata, self);
}

/*
 * The same on a function with FLR (VV_BDF_FLR; in L1 the one behind a PCIe
 * root port, FLReset+), its resets limited to FLR: a virtio reset that
 * does not complete, at VFIO_DEVICE_RESET and at close, is recovered by a
 * function reset, which is logged; the VF is not marked unsafe, the reset
 * ioctl succeeds, the device works again in the same open, and after close
 * it sits in the blocking domain with Bus Master off and works for the
 * next user.
 */
TEST_F_TIMEOUT(dp, failed_reset_recovered_by_flr, 120)
{
	const char *flr = vmm_env_bdf("VV_BDF_FLR");
	struct nic *n = &self->nic[0];
	char line[96], why[128] = "";
	int kmsg, ret;

	if (!flr)
		SKIP(return, "%s", "no function with FLR (VV_BDF_FLR)");
	/* Device 0 moves to that function; device 1 stays its peer. */
	ASSERT_EQ(0, mdev_remove(n->uuid));
	n->created = false;
	n->bdf = flr;
	ASSERT_EQ(0, mdev_create(n->bdf, n->uuid));
	n->created = true;
	ret = pci_reset_methods(flr, "flr");
	ASSERT_EQ(0, ret) TH_LOG("%s: reset_method flr: %s (no FLR?)", flr,
				 strerror(-ret));
	self->reset_method_bdf = flr;
	snprintf(line, sizeof(line), "VF %s recovered by a PCI function reset",
		 flr);
	kmsg = kmsg_open();
	ASSERT_LE(0, kmsg);

	bring_up(_metadata, self);
	traffic(_metadata, self, 0, 1);

	/* VFIO_DEVICE_RESET: the virtio reset "times out", FLR recovers. */
	ASSERT_EQ(0, inject_fault(n, "fail_next_reset"));
	ASSERT_EQ(0, vmm_reset(&n->vmm));
	ASSERT_EQ(1, kmsg_grep(kmsg, line, NULL, 0))
		TH_LOG("no \"%s\" after VFIO_DEVICE_RESET", line);
	ASSERT_STREQ("0", isolation(n, "dma_unsafe"));
	ASSERT_STREQ("mirror", isolation(n, "domain"));
	ASSERT_FALSE(vf_bus_master(n));
	/* The guest enables and drives the reset device again. */
	vmm_cfg_write16(&n->vmm, PCI_COMMAND,
			PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	n->vmm.err = 0;
	ret = nic_up(&self->g, n, why, sizeof(why));
	ASSERT_EQ(0, ret) TH_LOG("%s after the FLR: %s: %s", flr, why,
				 strerror(-ret));
	traffic_both(_metadata, self);

	/* Close: the same recovery, then the blocking domain. */
	ASSERT_EQ(0, inject_fault(n, "fail_next_reset"));
	nic_close(n);
	ASSERT_EQ(1, kmsg_grep(kmsg, line, NULL, 0))
		TH_LOG("no \"%s\" at close", line);
	ASSERT_STREQ("blocking", isolation(n, "domain"));
	ASSERT_FALSE(vf_bus_master(n));
	ASSERT_STREQ("0", isolation(n, "dma_unsafe"));
	close(kmsg);

	/* The next user (a new VM) finds it working. */
	tear_down(self);
	bring_up(_metadata, self);
	traffic_both(_metadata, self);
}

/*
 * An IOMMU unmap that comes back short (injected through debugfs: the run
 * is unmapped, then counted as short) may leave the VF a way into pages
 * the mirror gives back to type1.  The VMM's UNMAP_DMA still succeeds, the
 * VF goes off the bus before it returns, the log says so once, the guest
 * cannot turn it back on, the other device is untouched, and the next
 * open starts clean.
 */
TEST_F_TIMEOUT(dp, short_unmap_takes_vf_off_bus, 120)
{
	struct nic *a = &self->nic[0], *b = &self->nic[1];
	char line[128], last[512] = "";
	u64 done = 0;
	int kmsg, ret;

	bring_up(_metadata, self);
	traffic(_metadata, self, 0, 1);
	kmsg = kmsg_open();
	ASSERT_LE(0, kmsg);
	ASSERT_EQ(0, inject_fault(a, "fail_next_unmap"));
	ret = vmm_guest_dma_unmap(&self->g, SPARE_GPA, DMA_CHUNK, &done);
	ASSERT_EQ(0, ret) TH_LOG("VFIO_IOMMU_UNMAP_DMA: %s", strerror(-ret));
	ASSERT_EQ(DMA_CHUNK, done);
	ASSERT_STREQ("1", isolation(a, "dma_cut_off"));
	ASSERT_FALSE(vf_bus_master(a));
	/* Said once, with the VF's name; the unmap adds no report of its own. */
	ASSERT_EQ(1, kmsg_grep(kmsg, a->uuid, last, sizeof(last)))
		TH_LOG("not one kernel log line from %s", a->uuid);
	snprintf(line, sizeof(line), "VF %s is taken off the bus", a->bdf);
	ASSERT_NE(NULL, strstr(last, line)) TH_LOG("logged: %s", last);
	close(kmsg);

	/* The guest sets Bus Master again: it stays off, nothing is sent. */
	vmm_cfg_write16(&a->vmm, PCI_COMMAND,
			PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	ASSERT_EQ(0, a->vmm.err);
	ASSERT_FALSE(vf_bus_master(a));
	expect_no_completion(_metadata, self, a,
			     "the cut-off VF completed a frame");
	ASSERT_STREQ("0", isolation(b, "dma_cut_off"));
	ASSERT_TRUE(vf_bus_master(b));

	/* The next user (a new VM) finds it working. */
	tear_down(self);
	bring_up(_metadata, self);
	ASSERT_STREQ("0", isolation(a, "dma_cut_off"));
	traffic_both(_metadata, self);
}

/* Pages of [start, end] inside the VF's reserved regions (sysfs). */
static long long reserved_pages_in(const char *bdf, u64 start, u64 end)
{
	char path[PATH_MAX], line[128];
	unsigned long long a, b;
	long long pages = 0;
	FILE *f;

	snprintf(path, sizeof(path), VMM_PCI_DEVICES
		 "/%s/iommu_group/reserved_regions", bdf);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %llx", &a, &b) != 2 ||
		    strstr(line, "relaxable"))
			continue;
		if (b < start || a > end)
			continue;
		a = a < start ? start : a;
		b = b > end ? end : b;
		pages += (b / VMM_PAGE) - (a / VMM_PAGE) + 1;
	}
	fclose(f);
	return pages;
}

/*
 * Guest RAM laid over the MSI window (0xfee00000): the VMM DMA-maps it
 * (type1 lets a container of emulated devices do that), but the mirror
 * never maps IOVA the VF's IOMMU reserves, as type1 would not for a
 * passed-through VF.  Traffic still flows through the rest.
 */
#define MSI_GUEST_GPA	0xfe000000ULL

TEST_F_TIMEOUT(dp, reserved_iova_never_mirrored, 120)
{
	long long resv = reserved_pages_in(self->nic[0].bdf, MSI_GUEST_GPA,
					   MSI_GUEST_GPA + GUEST_SIZE - 1);

	ASSERT_LT(0, resv) TH_LOG("no reserved region in 0x%llx+16M (%lld)",
				  MSI_GUEST_GPA, resv);
	TH_LOG("%lld reserved pages in the guest's RAM", resv);
	/* The rings and buffers must lie below the window. */
	bring_up_at(_metadata, self, MSI_GUEST_GPA, resv, NULL);
	traffic_both(_metadata, self);
}

/*
 * A VMM whose DMA mapping at an IOVA is other memory than the guest's RAM
 * at the same GPA (what a guest with its own IOMMU produces): DRIVER_OK is
 * refused instead of half-mirroring.  The spare chunk is remapped to
 * another buffer.
 */
static void remap_spare_elsewhere(struct __test_metadata *_metadata,
				  struct _test_data_dp *self)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.iova = SPARE_GPA,
		.size = DMA_CHUNK,
	};
	void *other;
	u64 done;

	other = mmap(NULL, DMA_CHUNK, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, other);
	memset(other, 0x5a, DMA_CHUNK);
	map.vaddr = (unsigned long)other;
	ASSERT_EQ(0, vmm_guest_dma_unmap(&self->g, SPARE_GPA, DMA_CHUNK,
					 &done));
	ASSERT_EQ(0, ioctl(self->g.container, VFIO_IOMMU_MAP_DMA, &map))
		TH_LOG("MAP_DMA of another buffer: %s", strerror(errno));
}

TEST_F_TIMEOUT(dp, iova_not_gpa_refused, 120)
{
	struct nic *n = &self->nic[0];
	char why[128] = "";
	int ret;

	ret = vmm_guest_create(&self->g, GUEST_GPA, GUEST_SIZE, DMA_CHUNK);
	ASSERT_EQ(0, ret);
	self->guest = true;
	self->g.limit = SPARE_GPA;
	ASSERT_EQ(0, vmm_open_guest(&n->vmm, n->uuid, &self->g));
	n->open = true;
	remap_spare_elsewhere(_metadata, self);
	ret = nic_up(&self->g, n, why, sizeof(why));
	ASSERT_EQ(-EIO, ret) TH_LOG("DRIVER_OK was accepted: %s", why);
	EXPECT_EQ(0, vmm_counter(n->uuid, "mirror_pinned_pages"));
	EXPECT_FALSE(vmm_vio_status(&n->vmm) & VIRTIO_CONFIG_S_DRIVER_OK);
}

/*
 * A VMM killed while its mirror is being built: the build runs in a worker
 * from the VMM's first access after open, and the kill closes the device,
 * which stops the build at its next batch rather than after the rest of
 * the guest's memory.  The VMM has a large guest not yet faulted in, so
 * the build takes long; it is killed as soon as the first pages are
 * pinned.  The build logs that the device was closed and how far it got;
 * nothing stays pinned and the device works for the next VMM.
 */
#define BIG_GUEST_SIZE	(512ULL << 20)
#define BIG_GUEST_CHUNK	(256ULL << 20)
#define BIG_GUEST_PAGES	(BIG_GUEST_SIZE / VMM_PAGE)
#define BUILD_WAIT_MS	60000

/*
 * The VMM to kill (a child process): reports a letter on @report for the
 * step it failed at, or 'W' once its device is set up; then it waits to
 * be killed.
 */
static void build_victim(struct nic *n, int report)
{
	struct vmm_guest g;
	char why[128], c = 'K';

	if (vmm_guest_create_lazy(&g, GUEST_GPA, BIG_GUEST_SIZE,
				  BIG_GUEST_CHUNK))
		goto out;
	c = 'O';
	if (vmm_open_guest(&n->vmm, n->uuid, &g))
		goto out;
	c = 'S';
	if (nic_setup(&g, n, why, sizeof(why)))
		goto out;
	c = 'W';
out:
	if (write(report, &c, 1) != 1)
		_exit(3);
	for (;;)
		pause();
}

TEST_F_TIMEOUT(dp, killed_vmm_stops_mirror_build, 120)
{
	static const char *const step[] = {
		['K'] = "create its guest", ['O'] = "open the mdev",
		['S'] = "set the device up",
	};
	const struct timespec tick = { .tv_nsec = 1000000 };
	unsigned long long pinned = 0, total = 0;
	struct nic *n = &self->nic[0];
	char msg[512] = "", got = 0;
	struct pollfd pfd;
	int p[2], status, ret, kmsg, i;
	const char *num;

	kmsg = kmsg_open();
	ASSERT_LE(0, kmsg);
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));

	self->victim = fork();
	ASSERT_LE(0, self->victim);
	if (!self->victim) {
		close(p[0]);
		build_victim(n, p[1]);
	}
	close(p[1]);
	pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
	ASSERT_LT(0, poll(&pfd, 1, BUILD_WAIT_MS));
	ASSERT_EQ(1, read(p[0], &got, 1));
	close(p[0]);
	ASSERT_EQ('W', got) TH_LOG("the VMM could not %s", step[(int)got]);

	/* As soon as the worker has pinned something: it is mid-build. */
	for (i = 0; i < BUILD_WAIT_MS; i++) {
		if (vmm_counter(n->uuid, "mirror_pinned_pages") > 0)
			break;
		nanosleep(&tick, NULL);
	}
	ASSERT_LT(0, vmm_counter(n->uuid, "mirror_pinned_pages"));
	ASSERT_EQ(0, kill(self->victim, SIGKILL));
	ASSERT_EQ(self->victim, waitpid(self->victim, &status, 0));
	self->victim = 0;
	ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	/* Logged once, with how far the build got. */
	ret = kmsg_grep(kmsg, "cannot build DMA mirror: the device was closed",
			msg, sizeof(msg));
	close(kmsg);
	TH_LOG("%s", msg);
	ASSERT_EQ(1, ret);
	num = strstr(msg, "(-4; ");
	ASSERT_NE(NULL, num);
	ret = sscanf(num, "(-4; %llu of %llu", &pinned, &total);
	ASSERT_EQ(2, ret);
	ASSERT_EQ(BIG_GUEST_PAGES, total);
	ASSERT_GT(total, pinned) TH_LOG("the build did not stop early");
	/* Its exit released everything. */
	ASSERT_EQ(0, vmm_counter(n->uuid, "mirror_pinned_pages"));
	ASSERT_EQ(0, vmm_counter(n->uuid, "mirror_maps"));
	ASSERT_STREQ("blocking", isolation(n, "domain"));

	/* The next VMM gets a working device. */
	bring_up(_metadata, self);
	traffic_both(_metadata, self);
}

/*
 * What the mirror allocates per guest layout is charged to the VMM's
 * memory cgroup (GFP_KERNEL_ACCOUNT): a run (struct vhost_vfio_run, 56
 * bytes, from kmalloc's 64-byte cache) per IOVA- and physically contiguous
 * range, plus the IOMMU page tables.  The VMM DMA-maps its RAM densely
 * where the rings are and one page in two above, so each page there is a
 * run of its own.  Across its DRIVER_OK, with the build it waits for (done
 * by a worker, hold_mirror keeps it to that window), the VMM's memcg must
 * grow by at least what the runs take.
 */
#define SPARSE_SIZE	(64ULL << 20)
#define SPARSE_DENSE	(4ULL << 20)
#define SPARSE_RUNS	((SPARSE_SIZE - SPARSE_DENSE) / VMM_PAGE / 2)
#define RUN_BYTES	64

TEST_F_TIMEOUT(dp, mirror_bookkeeping_charged_to_vmm, 120)
{
	struct nic *n = &self->nic[0];
	long long slab, kernel, want;
	char why[128] = "";
	u64 gpa;
	int ret;

	ret = memcg_create(self->memcg, sizeof(self->memcg), "charged");
	if (ret == -ENOTSUP)
		SKIP(return, "%s", "no cgroup v2 memory controller at " CGROUP_ROOT);
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, memcg_enter(self->memcg, self->home_cgroup,
				 sizeof(self->home_cgroup)));
	ASSERT_EQ(0, vmm_guest_create(&self->g, GUEST_GPA, SPARSE_SIZE,
				      VMM_PAGE));
	self->guest = true;
	self->g.limit = GUEST_GPA + SPARSE_DENSE;
	/* One build, of the sparse layout, inside the window measured. */
	hold_mirror(_metadata, n, true);
	ASSERT_EQ(0, vmm_open_guest(&n->vmm, n->uuid, &self->g));
	n->open = true;
	for (gpa = GUEST_GPA + SPARSE_DENSE + VMM_PAGE;
	     gpa < GUEST_GPA + SPARSE_SIZE; gpa += 2 * VMM_PAGE)
		ASSERT_EQ(0, vmm_guest_dma_unmap(&self->g, gpa, VMM_PAGE,
						 NULL));
	ret = nic_setup(&self->g, n, why, sizeof(why));
	ASSERT_EQ(0, ret) TH_LOG("%s: %s: %s", n->bdf, why, strerror(-ret));

	slab = memcg_key(self->memcg, "memory.stat", "slab_unreclaimable");
	kernel = memcg_key(self->memcg, "memory.stat", "kernel");
	ASSERT_LE(0, slab);
	/* The worker builds for the VMM: charged to the VMM all the same. */
	n->no_settle = true;
	ret = nic_driver_ok(n, why, sizeof(why));
	ASSERT_EQ(0, ret) TH_LOG("%s: %s: %s", n->bdf, why, strerror(-ret));
	hold_mirror(_metadata, n, false);
	ASSERT_EQ(0, vmm_settle(&n->vmm));
	slab = memcg_key(self->memcg, "memory.stat", "slab_unreclaimable") - slab;
	kernel = memcg_key(self->memcg, "memory.stat", "kernel") - kernel;
	want = SPARSE_RUNS * RUN_BYTES;
	TH_LOG("%llu single-page runs, %lld pages pinned, %lld 4k maps",
	       SPARSE_RUNS, vmm_counter(n->uuid, "mirror_pinned_pages"),
	       vmm_counter(n->uuid, "mirror_maps_4k"));
	TH_LOG("memcg: slab_unreclaimable +%lld, kernel +%lld (at least %lld)",
	       slab, kernel, want);
	ASSERT_EQ((long long)(SPARSE_DENSE / VMM_PAGE + SPARSE_RUNS),
		  vmm_counter(n->uuid, "mirror_pinned_pages"));
	ASSERT_LE(want, slab)
		TH_LOG("the mirror's bookkeeping is not charged to the VMM");
	memcg_leave(self->memcg, self->home_cgroup);
}

/*
 * The guest's DRIVER_OK finds the mirror still being built (hold_mirror
 * keeps the worker from finishing first): the write returns at once and
 * reads back set, the VF does not get DRIVER_OK and no page is pinned
 * until the mirror is done, a frame the guest queued and kicked meanwhile
 * still goes out, and one notify per enabled queue was replayed.
 */
TEST_F_TIMEOUT(dp, driver_ok_waits_for_mirror_not_vcpu, 120)
{
	struct nic *a = &self->nic[0], *b = &self->nic[1];
	u8 want[BUF_SIZE], got[BUF_SIZE];
	u16 id, uid;
	int len;

	hold_mirror(_metadata, a, true);
	a->no_settle = true;
	bring_up(_metadata, self);

	EXPECT_TRUE(vmm_vio_status(&a->vmm) & VIRTIO_CONFIG_S_DRIVER_OK);
	EXPECT_EQ(1, vmm_counter(a->uuid, "driver_ok_pending"));
	EXPECT_EQ(1, vmm_counter(a->uuid, "driver_ok_deferred"));
	EXPECT_EQ(0, vf_status(a) & VIRTIO_CONFIG_S_DRIVER_OK)
		TH_LOG("the VF got DRIVER_OK before its mirror (vf_status %#llx)",
		       vf_status(a));
	EXPECT_EQ(0, vmm_counter(a->uuid, "mirror_pinned_pages"));
	EXPECT_EQ(0, vmm_counter(a->uuid, "kicks_replayed"));

	/* Queued and kicked while the VF cannot take it yet. */
	id = send_frame(&self->g, a, 0, 100, 0, ++a->seq);

	hold_mirror(_metadata, a, false);
	ASSERT_EQ(0, vmm_settle(&a->vmm));
	EXPECT_EQ(0, vmm_counter(a->uuid, "driver_ok_pending"));
	EXPECT_TRUE(vf_status(a) & VIRTIO_CONFIG_S_DRIVER_OK);
	EXPECT_EQ(GUEST_PAGES, vmm_counter(a->uuid, "mirror_pinned_pages"));
	/* rx and tx: the two queues this driver enabled. */
	EXPECT_EQ(2, vmm_counter(a->uuid, "kicks_replayed"));

	len = recv_frame(&self->g, b, WAIT_MS, got);
	ASSERT_EQ(100, len) TH_LOG("the frame kicked before the VF ran was lost");
	make_frame(want, 100, 0, a->seq);
	ASSERT_EQ(0, memcmp(want, got, 100));
	ASSERT_TRUE(vmm_vq_wait(&a->tx, WAIT_MS, &uid, NULL));
	ASSERT_EQ(id, uid);
	traffic_both(_metadata, self);
}

/*
 * A deferred DRIVER_OK the mirror cannot honour (the VMM unmapped all guest
 * memory meanwhile): the guest reads DEVICE_NEEDS_RESET, not DRIVER_OK,
 * and gets a configuration interrupt; after a reset the device works.
 */
TEST_F_TIMEOUT(dp, deferred_driver_ok_failure_needs_reset, 120)
{
	struct nic *a = &self->nic[0];
	struct vmm_vq cfg = { .efd = a->efd[0] };
	u64 done = 0;
	u8 st;

	hold_mirror(_metadata, a, true);
	a->no_settle = true;
	bring_up(_metadata, self);
	ASSERT_EQ(1, vmm_counter(a->uuid, "driver_ok_pending"));
	/* Configuration changes on vector 0. */
	vmm_vio_write(&a->vmm, VIRTIO_PCI_COMMON_MSIX, 2, 0);
	vmm_vq_drain(&cfg);

	ASSERT_EQ(0, vmm_guest_dma_unmap(&self->g, GUEST_GPA, GUEST_SIZE,
					 &done));
	hold_mirror(_metadata, a, false);
	ASSERT_EQ(0, vmm_settle(&a->vmm));

	st = vmm_vio_status(&a->vmm);
	EXPECT_EQ(0, st & VIRTIO_CONFIG_S_DRIVER_OK);
	EXPECT_TRUE(st & VIRTIO_CONFIG_S_NEEDS_RESET) TH_LOG("status %#x", st);
	EXPECT_EQ(0, vf_status(a) & VIRTIO_CONFIG_S_DRIVER_OK);
	EXPECT_EQ(0, vmm_counter(a->uuid, "mirror_pinned_pages"));
	EXPECT_TRUE(signalled(&cfg, 0, WAIT_MS))
		TH_LOG("no configuration interrupt for DEVICE_NEEDS_RESET");

	vmm_vio_set_status(&a->vmm, 0);
	EXPECT_EQ(0, vmm_vio_status(&a->vmm));
	vmm_vio_set_status(&a->vmm, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	EXPECT_EQ(VIRTIO_CONFIG_S_ACKNOWLEDGE, vmm_vio_status(&a->vmm));
}

/* Wait until debugfs counter @name of @n reaches @want; its last value. */
static long long wait_counter(struct nic *n, const char *name, long long want,
			      int ms)
{
	const struct timespec tick = { .tv_nsec = 1000000 };
	long long v = vmm_counter(n->uuid, name);

	/* No event to wait on: the mirror's poll runs every 50 ms. */
	while (v < want && v >= 0 && ms-- > 0) {
		nanosleep(&tick, NULL);
		v = vmm_counter(n->uuid, name);
	}
	return v;
}

#define HOTADD_GPA	(GUEST_GPA + BIT_ULL(30))
#define HOTADD_SIZE	(4ULL << 20)
#define HOTADD_PAGES	(HOTADD_SIZE / VMM_PAGE)
#define GROW_WAIT_MS	20000

/*
 * Guest RAM a VMM adds while the VF runs (a new memslot, then MAP_DMA, as
 * QEMU does for a hot-added DIMM) becomes reachable by the VF with no
 * guest-visible reset: the mirror grows by exactly that RAM, and frames
 * go out of and come into buffers there, byte for byte.  The rx ring of
 * the receiver is first turned over so every buffer it holds is in the new
 * RAM.  Unmapping it again makes it unreachable.
 */
TEST_F_TIMEOUT(dp, memory_added_while_running_is_mirrored, 120)
{
	struct nic *a = &self->nic[0], *b = &self->nic[1];
	u64 new_rx = HOTADD_GPA, new_tx = HOTADD_GPA + QSIZE * BUF_SIZE;
	long long deferred, builds, grown;
	u8 got[BUF_SIZE];
	u16 id, i;
	u32 len;

	bring_up(_metadata, self);
	traffic(_metadata, self, 0, 1);
	deferred = vmm_counter(b->uuid, "driver_ok_deferred");
	builds = vmm_counter(b->uuid, "mirror_builds");

	ASSERT_EQ(0, vmm_guest_add_ram(&self->g, HOTADD_GPA, HOTADD_SIZE, 0,
				       true));
	ASSERT_EQ(0, vmm_guest_dma_map(&self->g, HOTADD_GPA, HOTADD_SIZE));
	for (i = 0; i < 2; i++) {
		struct nic *n = &self->nic[i];

		grown = wait_counter(n, "mirror_grown_pages", HOTADD_PAGES,
				     GROW_WAIT_MS);
		ASSERT_EQ((long long)HOTADD_PAGES, grown)
			TH_LOG("%s: the mirror did not grow by the new RAM", n->bdf);
		EXPECT_EQ(GUEST_PAGES + HOTADD_PAGES,
			  vmm_counter(n->uuid, "mirror_pinned_pages"));
		/* Passes may see the memslot before its MAP_DMA: one or more. */
		EXPECT_LE(1, vmm_counter(n->uuid, "mirror_extends"));
	}
	/* No reset, no new DRIVER_OK, the VF kept running. */
	EXPECT_EQ(deferred, vmm_counter(b->uuid, "driver_ok_deferred"));
	EXPECT_LT(builds, vmm_counter(b->uuid, "mirror_builds"));
	EXPECT_TRUE(vf_status(b) & VIRTIO_CONFIG_S_DRIVER_OK);

	/* Every rx buffer of b moves to the new RAM as it comes back. */
	for (i = 0; i < QSIZE; i++) {
		send_frame(&self->g, a, 0, 64, 0, ++a->seq);
		ASSERT_TRUE(vmm_vq_wait(&a->tx, WAIT_MS, &id, NULL));
		ASSERT_TRUE(vmm_vq_wait(&b->rx, WAIT_MS, &id, &len))
			TH_LOG("turning the rx ring over: frame %u lost", i);
		ASSERT_GT(b->rx.size, id);
		vmm_vq_add(&b->rx, id, new_rx + id * BUF_SIZE, BUF_SIZE,
			   VRING_DESC_F_WRITE);
		vmm_vq_kick(&b->rx);
	}
	b->rx_buf = new_rx;
	a->tx_buf = new_tx;
	traffic(_metadata, self, 0, 1);

	/* Unmapped again: unreachable, before UNMAP_DMA returned. */
	ASSERT_EQ(0, vmm_guest_dma_unmap(&self->g, HOTADD_GPA, HOTADD_SIZE,
					 NULL));
	EXPECT_EQ(GUEST_PAGES, vmm_counter(b->uuid, "mirror_pinned_pages"));
	send_frame(&self->g, a, 0, 128, 0, ++a->seq);
	EXPECT_EQ(-1, recv_frame(&self->g, b, QUIET_MS, got))
		TH_LOG("a frame was received into RAM the VMM unmapped");
}

#define PART_GPA	(GUEST_GPA + 3 * BIT_ULL(30))
#define PART_SIZE	(64ULL << 20)
#define PART_BLOCK	(2ULL << 20)
#define PART_BLOCKS	(PART_SIZE / PART_BLOCK)
#define BLOCK_PAGES	((long long)(PART_BLOCK / VMM_PAGE))

/*
 * A large memslot the VMM DMA-maps only in part, block by block, as
 * virtio-mem does: added while the VF runs, the mirror takes exactly the
 * mapped blocks, and a later pass costs a few vfio_pin_pages calls per
 * refused block (the batch and its two ends), not one per page.  A block
 * mapped later with no memslot change (a virtio-mem plug) is found by the
 * retries of the gaps.
 */
TEST_F_TIMEOUT(dp, partly_mapped_memslot_found_per_block, 120)
{
	static const unsigned int mapped[] = { 0, 5, 17, PART_BLOCKS - 1 };
	const long long nr = ARRAY_SIZE(mapped);
	struct nic *a = &self->nic[0];
	long long calls;
	unsigned int i;

	bring_up(_metadata, self);
	ASSERT_EQ(0, vmm_guest_add_ram(&self->g, PART_GPA, PART_SIZE, 0, false));
	self->g.chunk = PART_BLOCK;
	for (i = 0; i < nr; i++)
		ASSERT_EQ(0, vmm_guest_dma_map(&self->g,
					       PART_GPA + mapped[i] * PART_BLOCK,
					       PART_BLOCK));
	ASSERT_EQ(0, vmm_guest_add_slot(&self->g, PART_GPA));
	ASSERT_EQ(nr * BLOCK_PAGES,
		  wait_counter(a, "mirror_grown_pages", nr * BLOCK_PAGES,
			       GROW_WAIT_MS));
	calls = vmm_counter(a->uuid, "mirror_last_pin_calls");
	TH_LOG("%s: %lld vfio_pin_pages calls in the last pass, %lld gap pages",
	       a->bdf, calls, vmm_counter(a->uuid, "mirror_gap_pages"));
	EXPECT_LE(calls, 3 * (long long)PART_BLOCKS);
	EXPECT_EQ((long long)(PART_BLOCKS - nr) * BLOCK_PAGES,
		  vmm_counter(a->uuid, "mirror_gap_pages"));

	/* Plugged later: same memslot, found when the gaps are retried. */
	ASSERT_EQ(0, vmm_guest_dma_map(&self->g, PART_GPA + 9 * PART_BLOCK,
				       PART_BLOCK));
	EXPECT_EQ((nr + 1) * BLOCK_PAGES,
		  wait_counter(a, "mirror_grown_pages", (nr + 1) * BLOCK_PAGES,
			       GROW_WAIT_MS));
	traffic(_metadata, self, 0, 1);
}

/*
 * RAM backed by hugetlbfs, added while the VF runs, is mapped into the VF's
 * domain with IOMMU pages of the backing's size: exactly one mapping per
 * huge page, none smaller.
 */
static void hugetlb_maps(struct __test_metadata *_metadata,
			 struct _test_data_dp *self, const char *pool,
			 int size_flag, u64 page, u64 gpa, unsigned int count,
			 const char *maps_name)
{
	struct nic *a = &self->nic[0];
	long long maps4k, mapsz, pgsizes;
	long have, free, want;

	have = hugepool_read(pool, "nr_hugepages");
	free = hugepool_read(pool, "free_hugepages");
	if (have < 0 || free < 0)
		SKIP(return, "no %s hugetlb pool", pool);
	want = have + (free < count ? count - free : 0);
	self->hugepool = pool;
	self->hugepool_saved = have;
	/* A 1 GiB page needs a free aligned GiB: make one if need be. */
	if (hugepool_set(pool, want) < want &&
	    (write_file("/proc/sys/vm/drop_caches", "3") ||
	     write_file("/proc/sys/vm/compact_memory", "1") ||
	     hugepool_set(pool, want) < want))
		SKIP(return, "cannot reserve %u pages in %s (vm-run.sh --huge1g)",
		     count, pool);

	bring_up(_metadata, self);
	pgsizes = vmm_counter(a->uuid, "iommu_pgsize_bitmap");
	if (pgsizes >= 0 && !(pgsizes & page))
		SKIP(return, "the IOMMU has no %llu KiB pages (pgsize bitmap %#llx)",
		     page >> 10, pgsizes);
	maps4k = vmm_counter(a->uuid, "mirror_maps_4k");
	mapsz = vmm_counter(a->uuid, maps_name);
	ASSERT_EQ(0, vmm_guest_add_ram(&self->g, gpa, count * page,
				       MAP_HUGETLB | size_flag, false))
		TH_LOG("%u pages from %s", count, pool);
	/*
	 * DMA-mapped before KVM has the memslot: the pass the new memslot
	 * generation starts then finds all of it mapped and maps it in one
	 * run.  (In QEMU's order, memslot first, a pass may catch the RAM
	 * half-mapped and split it into smaller pages; the gaps are retried.)
	 */
	self->g.chunk = page;
	ASSERT_EQ(0, vmm_guest_dma_map(&self->g, gpa, count * page));
	ASSERT_EQ(0, vmm_guest_add_slot(&self->g, gpa));
	ASSERT_EQ((long long)(count * page / VMM_PAGE),
		  wait_counter(a, "mirror_grown_pages", count * page / VMM_PAGE,
			       GROW_WAIT_MS));
	TH_LOG("%s: %s %lld -> %lld, mirror_maps_4k %lld -> %lld", a->bdf,
	       maps_name, mapsz, vmm_counter(a->uuid, maps_name), maps4k,
	       vmm_counter(a->uuid, "mirror_maps_4k"));
	EXPECT_EQ(mapsz + count, vmm_counter(a->uuid, maps_name));
	EXPECT_EQ(maps4k, vmm_counter(a->uuid, "mirror_maps_4k"));
	traffic(_metadata, self, 0, 1);
}

TEST_F_TIMEOUT(dp, hugetlb_2m_backing_gets_2m_iommu_pages, 120)
{
	hugetlb_maps(_metadata, self, "hugepages-2048kB", MAP_HUGE_2MB,
		     2ULL << 20, GUEST_GPA + BIT_ULL(30), 4, "mirror_maps_2m");
}

TEST_F_TIMEOUT(dp, hugetlb_1g_backing_gets_1g_iommu_pages, 180)
{
	hugetlb_maps(_metadata, self, "hugepages-1048576kB", MAP_HUGE_1GB,
		     1ULL << 30, GUEST_GPA + BIT_ULL(32), 1, "mirror_maps_1g");
}

TEST_HARNESS_MAIN
