// SPDX-License-Identifier: GPL-2.0-only
/*
 * The data path's uAPI on one mdev, as a VMM sees it before any guest runs:
 * BAR2's doorbell mapping and its rules, VFIO_DEVICE_SET_IRQS on the MSI-X
 * vectors and the request irq, DRIVER_OK without a VM, revocation of the
 * doorbell mapping (after close, after the VF is unbound), and the DMA
 * mirror against a minimal KVM VM whose RAM is DMA-mapped in two parts
 * split inside a 2 MiB page.
 *
 * Environment: VV_BDF, a function bound to vhost_vfio_virtio_pci with no
 * mdev (each test creates and removes one), debugfs mounted.  The unbind
 * case unbinds VV_BDF and binds it back.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/virtio_config.h>

#include "vmm_test.h"

#define PAGE		4096UL
#define BAR2		VFIO_PCI_BAR2_REGION_INDEX
#define MSIX		VFIO_PCI_MSIX_IRQ_INDEX
#define REQ		VFIO_PCI_REQ_IRQ_INDEX
#define TRIG_NONE	(VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER)
#define TRIG_EVENTFD	(VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER)
#define MAX_VEC		64
#define FEAT_OK		(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | \
			 VIRTIO_CONFIG_S_FEATURES_OK)

/* The mirror's guest: 8 MiB at 4 GiB, DMA-mapped as [0, 3 MiB) + the rest. */
#define MIRROR_GPA	BIT_ULL(32)
#define MIRROR_SIZE	(8ULL << 20)
#define MIRROR_SPLIT	(3ULL << 20)	/* inside the second 2 MiB page */
#define HUGE		(2ULL << 20)

static long long counter(struct vmm_dev *dev, const char *name)
{
	return vmm_counter(dev->uuid, name);
}

/* The offset of region @index in the device fd. */
static u64 roff(struct vmm_dev *dev, unsigned int index)
{
	return dev->vmm.region[index].offset;
}

/* What REGION_INFO says of BAR2, with its sparse mmap capability. */
struct bar2_info {
	u32 flags;
	u32 argsz;
	u32 nr_areas;
	u64 size;
	u64 area_off;
	u64 area_len;
	bool sparse;
};

/* REGION_INFO of BAR2 and its capability chain: 0 or a negative errno. */
static int bar2_info(int fd, struct bar2_info *bi)
{
	union {
		struct vfio_region_info r;
		u8 pad[PAGE];
	} u;
	struct vfio_region_info_cap_sparse_mmap *sp;
	struct vfio_info_cap_header *h;
	u32 next;

	memset(bi, 0, sizeof(*bi));
	memset(&u, 0, sizeof(u));
	/* The plain call first: it says how much room the caps need. */
	u.r.argsz = sizeof(u.r);
	u.r.index = BAR2;
	if (ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &u.r))
		return -errno;
	bi->flags = u.r.flags;
	bi->argsz = u.r.argsz;
	bi->size = u.r.size;
	if (u.r.argsz > sizeof(u))
		return -E2BIG;
	u.r.argsz = sizeof(u);
	if (ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &u.r))
		return -errno;
	if (!(u.r.flags & VFIO_REGION_INFO_FLAG_CAPS))
		return 0;
	for (next = u.r.cap_offset; next && next + sizeof(*sp) <= sizeof(u);
	     next = h->next) {
		h = (void *)(u.pad + next);
		if (h->id != VFIO_REGION_INFO_CAP_SPARSE_MMAP)
			continue;
		sp = (void *)h;
		bi->sparse = true;
		bi->nr_areas = sp->nr_areas;
		if (sp->nr_areas) {
			bi->area_off = sp->areas[0].offset;
			bi->area_len = sp->areas[0].size;
		}
		break;
	}
	return 0;
}

/* mmap() of the device fd: 0 (and unmapped again) or a negative errno. */
static int try_mmap(int fd, u64 off, size_t len, int flags)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, off);

	if (p == MAP_FAILED)
		return -errno;
	munmap(p, len);
	return 0;
}

/* VFIO_DEVICE_SET_IRQS with @count ints of data (eventfds or -1). */
static int set_irqs(int fd, u32 flags, u32 index, u32 start, u32 count,
		    const int *fds)
{
	struct {
		struct vfio_irq_set hdr;
		int fds[MAX_VEC];
	} s;
	u32 n = (flags & VFIO_IRQ_SET_DATA_EVENTFD) ? count : 0;

	if (n > MAX_VEC)
		return -E2BIG;
	memset(&s, 0, sizeof(s));
	s.hdr.argsz = sizeof(s.hdr) + n * sizeof(int);
	s.hdr.flags = flags;
	s.hdr.index = index;
	s.hdr.start = start;
	s.hdr.count = count;
	if (n)
		memcpy(s.fds, fds, n * sizeof(int));
	return ioctl(fd, VFIO_DEVICE_SET_IRQS, &s) ? -errno : 0;
}

/* What a non-blocking eventfd holds (0 if nothing), emptying it. */
static u64 efd_count(int fd)
{
	u64 val = 0;

	if (read(fd, &val, sizeof(val)) != sizeof(val))
		return 0;
	return val;
}

/* Eventfds on every vector of @dev, in @efds[0..nvec). */
static void msix_all(struct __test_metadata *_metadata, struct vmm_dev *dev,
		     int *efds)
{
	u32 i;

	ASSERT_LT(0, dev->nvec);
	ASSERT_GE(MAX_VEC, dev->nvec);
	for (i = 0; i < dev->nvec; i++) {
		efds[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		ASSERT_LE(0, efds[i]);
	}
	ASSERT_EQ(0, set_irqs(dev->vmm.device, TRIG_EVENTFD, MSIX, 0,
			      dev->nvec, efds));
}

static void close_all(int *fds, u32 n)
{
	u32 i;

	for (i = 0; i < n; i++)
		close(fds[i]);
}

/* The doorbell pages mapped and kicked once (queue 0 of a reset device). */
static u16 *doorbell_map(struct __test_metadata *_metadata,
			 struct vmm_dev *dev, size_t *len)
{
	u64 off;
	u16 *db = vmm_doorbell_map(&dev->vmm, &off, len);

	ASSERT_NE(NULL, db) TH_LOG("mmap of BAR2's doorbell area");
	__atomic_store_n(db, 0, __ATOMIC_SEQ_CST);
	return db;
}

/* A store through @db in a child: true if SIGBUS killed it. */
static bool kick_dies(u16 *db)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return false;
	if (!pid) {
		signal(SIGBUS, SIG_DFL);
		__atomic_store_n(db, 0, __ATOMIC_SEQ_CST);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return false;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS;
}

/* ---- BAR2: the doorbell region ------------------------------------- */

TEST_F(mdev_open, bar2_mmap_with_caps)
{
	struct bar2_info bi;

	ASSERT_EQ(0, bar2_info(self->dev.vmm.device, &bi));
	TH_LOG("BAR2 flags 0x%x, argsz %u", bi.flags, bi.argsz);
	EXPECT_TRUE(bi.flags & VFIO_REGION_INFO_FLAG_MMAP);
	EXPECT_TRUE(bi.flags & VFIO_REGION_INFO_FLAG_CAPS);
	EXPECT_LT(sizeof(struct vfio_region_info), bi.argsz)
		TH_LOG("BAR2 is mmap-able with caps: argsz must cover them");
}

TEST_F(mdev_open, bar2_sparse_area_is_the_doorbell_pages)
{
	struct bar2_info bi;

	ASSERT_EQ(0, bar2_info(self->dev.vmm.device, &bi));
	TH_LOG("sparse mmap cap: %u area(s), [0x%llx, +0x%llx) of 0x%llx",
	       bi.nr_areas, (unsigned long long)bi.area_off,
	       (unsigned long long)bi.area_len, (unsigned long long)bi.size);
	ASSERT_TRUE(bi.sparse);
	EXPECT_EQ(1, bi.nr_areas);
	EXPECT_EQ(0, bi.area_off);
	EXPECT_LE(PAGE, bi.area_len);
	EXPECT_EQ(0, bi.area_len % PAGE);
	EXPECT_LE(bi.area_len, bi.size);
}

TEST_F(mdev_open, bar0_not_mmapable)
{
	EXPECT_FALSE(self->dev.vmm.region[VFIO_PCI_BAR0_REGION_INDEX].flags &
		     VFIO_REGION_INFO_FLAG_MMAP)
		TH_LOG("BAR0 (common configuration) must stay trapped");
}

TEST_F(mdev_open, mmap_beyond_doorbell_pages_refused)
{
	struct bar2_info bi;

	ASSERT_EQ(0, bar2_info(self->dev.vmm.device, &bi));
	ASSERT_TRUE(bi.sparse);
	EXPECT_EQ(-EINVAL, try_mmap(self->dev.vmm.device, roff(&self->dev, BAR2),
				    bi.area_len + PAGE, MAP_SHARED))
		TH_LOG("mapping %llu bytes, one page more than the doorbells",
		       (unsigned long long)bi.area_len + PAGE);
}

TEST_F(mdev_open, mmap_past_doorbell_pages_refused)
{
	struct bar2_info bi;

	ASSERT_EQ(0, bar2_info(self->dev.vmm.device, &bi));
	ASSERT_TRUE(bi.sparse);
	EXPECT_EQ(-EINVAL, try_mmap(self->dev.vmm.device,
				    roff(&self->dev, BAR2) + bi.area_len, PAGE,
				    MAP_SHARED))
		TH_LOG("mapping at BAR2 + 0x%llx, past the doorbells",
		       (unsigned long long)bi.area_len);
}

TEST_F(mdev_open, doorbell_store_through_mapping)
{
	size_t len;
	u16 *db = doorbell_map(_metadata, &self->dev, &len);

	TH_LOG("doorbell_faults %lld, bar2_notify_writes %lld",
	       counter(&self->dev, "doorbell_faults"),
	       counter(&self->dev, "bar2_notify_writes"));
	EXPECT_LT(0, counter(&self->dev, "doorbell_faults"))
		TH_LOG("the store did not fault the doorbell page in");
	EXPECT_EQ(0, counter(&self->dev, "bar2_notify_writes"))
		TH_LOG("the store was trapped instead of going to the VF");
	munmap(db, len);
}

/* ---- SET_IRQS: MSI-X vectors and the request irq -------------------- */

TEST_F(mdev_open, msix_eventfds_register_producers)
{
	int efds[MAX_VEC];

	msix_all(_metadata, &self->dev, efds);
	EXPECT_EQ(self->dev.nvec, counter(&self->dev, "bypass_producers"))
		TH_LOG("eventfds set on %u vectors: one irq-bypass producer each",
		       self->dev.nvec);
	close_all(efds, self->dev.nvec);
}

/*
 * QEMU swaps a vector's eventfd whenever the guest masks or unmasks it:
 * the new eventfd takes over without the VF irq being freed and requested
 * again.  Returns the irq_requests count before the swap.
 */
static long long swap_vector0(struct __test_metadata *_metadata,
			      struct vmm_dev *dev, int *efds, int alt)
{
	long long requests;

	msix_all(_metadata, dev, efds);
	requests = counter(dev, "irq_requests");
	EXPECT_EQ(0, set_irqs(dev->vmm.device, TRIG_EVENTFD, MSIX, 0, 1, &alt));
	EXPECT_EQ(0, set_irqs(dev->vmm.device, TRIG_NONE, MSIX, 0, 1, NULL));
	return requests;
}

TEST_F(mdev_open, msix_new_eventfd_takes_over)
{
	int efds[MAX_VEC], alt = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	long long requests;

	ASSERT_LE(0, alt);
	requests = swap_vector0(_metadata, &self->dev, efds, alt);
	EXPECT_EQ(1, efd_count(alt)) TH_LOG("the new eventfd was not signalled");
	EXPECT_EQ(0, efd_count(efds[0])) TH_LOG("the old eventfd was signalled");
	EXPECT_EQ(requests, counter(&self->dev, "irq_requests"))
		TH_LOG("the VF irq was requested again for a new eventfd");
	EXPECT_EQ(self->dev.nvec, counter(&self->dev, "bypass_producers"));
	close(alt);
	close_all(efds, self->dev.nvec);
}

TEST_F(mdev_open, msix_swap_back_requests_no_irq)
{
	int efds[MAX_VEC], alt = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	long long requests;

	ASSERT_LE(0, alt);
	requests = swap_vector0(_metadata, &self->dev, efds, alt);
	EXPECT_EQ(0, set_irqs(self->dev.vmm.device, TRIG_EVENTFD, MSIX, 0, 1,
			      efds));
	EXPECT_EQ(requests, counter(&self->dev, "irq_requests"))
		TH_LOG("swapping the first eventfd back requested the VF irq");
	close(alt);
	close_all(efds, self->dev.nvec);
}

TEST_F(mdev_open, msix_fd_minus_one_unsets_one_vector)
{
	int efds[MAX_VEC], none = -1;

	ASSERT_LE(2, self->dev.nvec);
	msix_all(_metadata, &self->dev, efds);
	ASSERT_EQ(0, set_irqs(self->dev.vmm.device, TRIG_EVENTFD, MSIX, 0, 1,
			      &none));
	ASSERT_EQ(0, set_irqs(self->dev.vmm.device, TRIG_NONE, MSIX, 0,
			      self->dev.nvec, NULL));
	EXPECT_EQ(0, efd_count(efds[0])) TH_LOG("vector 0 still signals");
	EXPECT_EQ(1, efd_count(efds[1])) TH_LOG("vector 1 lost its eventfd");
	EXPECT_EQ(self->dev.nvec - 1, counter(&self->dev, "bypass_producers"));
	close_all(efds, self->dev.nvec);
}

TEST_F(mdev_open, msix_count0_disables)
{
	int efds[MAX_VEC];

	msix_all(_metadata, &self->dev, efds);
	ASSERT_EQ(0, set_irqs(self->dev.vmm.device, TRIG_NONE, MSIX, 0, 0,
			      NULL));
	EXPECT_EQ(0, counter(&self->dev, "bypass_producers"))
		TH_LOG("count 0 must disable MSI-X and its producers");
	close_all(efds, self->dev.nvec);
}

TEST_F(mdev_open, request_irq_set_and_injected)
{
	int req = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	ASSERT_LE(0, req);
	ASSERT_EQ(0, set_irqs(self->dev.vmm.device, TRIG_EVENTFD, REQ, 0, 1,
			      &req));
	ASSERT_EQ(0, set_irqs(self->dev.vmm.device, TRIG_NONE, REQ, 0, 1,
			      NULL));
	EXPECT_EQ(1, efd_count(req)) TH_LOG("request eventfd not signalled");
	EXPECT_EQ(0, set_irqs(self->dev.vmm.device, TRIG_NONE, REQ, 0, 0,
			      NULL));
	close(req);
}

/* ---- DRIVER_OK and revocation ---------------------------------------- */

TEST_F(mdev_open, driver_ok_refused_without_vm)
{
	struct vmm *v = &self->dev.vmm;
	u8 status;

	ASSERT_EQ(FEAT_OK, vmm_vio_negotiate(v, BIT_ULL(VIRTIO_F_VERSION_1)));
	vmm_vio_set_status(v, FEAT_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	status = vmm_vio_status(v);
	TH_LOG("status 0x%x after DRIVER_OK with no KVM VM", status);
	EXPECT_EQ(FEAT_OK, status & FEAT_OK);
	EXPECT_FALSE(status & VIRTIO_CONFIG_S_DRIVER_OK)
		TH_LOG("no VM, no mirror: DRIVER_OK must read back clear");
}

TEST_F(mdev_open, stale_doorbell_mapping_after_close_sigbus)
{
	size_t len;
	u16 *db = doorbell_map(_metadata, &self->dev, &len);

	vmm_close(&self->dev.vmm);
	self->dev.open = false;
	EXPECT_TRUE(kick_dies(db))
		TH_LOG("a store through the mapping of a closed device must SIGBUS");
	munmap(db, len);
}

TEST_F(mdev_open, close_releases_irqs_and_pins)
{
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	ASSERT_LE(0, efd);
	ASSERT_EQ(0, set_irqs(self->dev.vmm.device, TRIG_EVENTFD, MSIX, 0, 1,
			      &efd));
	ASSERT_EQ(1, counter(&self->dev, "bypass_producers"));
	vmm_close(&self->dev.vmm);
	self->dev.open = false;
	EXPECT_EQ(0, counter(&self->dev, "bypass_producers"));
	EXPECT_EQ(0, counter(&self->dev, "mirror_pinned_pages"));
	close(efd);
}

/*
 * Removal while open: unbinding the VF asks userspace (request irq) to
 * release the device; once it does, the unbind completes, the mdev is gone
 * and the mapping of the removed device is dead.  The VF is bound back.
 */
struct unbind_seen {
	bool signalled;
	bool completed;
	bool removed;
	bool sigbus;
};

static void unbind_while_open(struct __test_metadata *_metadata,
			      struct vmm_dev *dev, struct unbind_seen *seen)
{
	char path[PATH_MAX];
	struct pollfd pfd;
	int req, pidfd, status;
	size_t len;
	pid_t pid;
	u16 *db;

	memset(seen, 0, sizeof(*seen));
	db = doorbell_map(_metadata, dev, &len);
	req = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, req);
	ASSERT_EQ(0, set_irqs(dev->vmm.device, TRIG_EVENTFD, REQ, 0, 1, &req));
	snprintf(path, sizeof(path), VMM_PCI_DEVICES "/%s/driver/unbind",
		 dev->bdf);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* Without a copy of the device fd, which would keep it open. */
		syscall(SYS_close_range, 3, ~0U, 0);
		_exit(sysfs_write(path, dev->bdf) ? 1 : 0);
	}
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	ASSERT_LE(0, pidfd);

	pfd = (struct pollfd){ .fd = req, .events = POLLIN };
	seen->signalled = poll(&pfd, 1, 20000) == 1;
	vmm_close(&dev->vmm);
	dev->open = false;
	pfd = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	if (poll(&pfd, 1, 30000) != 1)
		kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	seen->completed = WIFEXITED(status) && !WEXITSTATUS(status);
	seen->removed = !mdev_exists(dev->uuid);
	seen->sigbus = kick_dies(db);
	munmap(db, len);
	close(pidfd);
	close(req);
	ASSERT_EQ(0, pci_bind(dev->bdf, VMM_MDEV_DRIVER))
		TH_LOG("binding %s back to " VMM_MDEV_DRIVER, dev->bdf);
}

TEST_F_TIMEOUT(mdev_open, vf_unbind_signals_request, 120)
{
	struct unbind_seen seen;

	unbind_while_open(_metadata, &self->dev, &seen);
	EXPECT_TRUE(seen.signalled)
		TH_LOG("VF unbind did not signal the request eventfd in 20 s");
}

TEST_F_TIMEOUT(mdev_open, vf_unbind_completes_after_release, 120)
{
	struct unbind_seen seen;

	unbind_while_open(_metadata, &self->dev, &seen);
	EXPECT_TRUE(seen.completed)
		TH_LOG("the unbind did not complete within 30 s of the release");
	EXPECT_TRUE(seen.removed) TH_LOG("the mdev outlived its VF's unbind");
}

TEST_F_TIMEOUT(mdev_open, vf_unbind_revokes_doorbell_mapping, 120)
{
	struct unbind_seen seen;

	unbind_while_open(_metadata, &self->dev, &seen);
	EXPECT_TRUE(seen.sigbus)
		TH_LOG("a store through the removed device's mapping must SIGBUS");
}

/* ---- the DMA mirror against a minimal KVM VM ------------------------- */

/*
 * A VM (no vCPU) with one memslot over 8 MiB of huge-page backed RAM, the
 * device opened into its container, registered with KVM before the open,
 * the RAM DMA-mapped in two parts split inside a 2 MiB page; a driver
 * negotiates VERSION_1 and sets DRIVER_OK, which builds the mirror.
 */
static void mirror_up(struct __test_metadata *_metadata,
		      struct _test_data_mdev_guest *self)
{
	struct vmm *v = &self->dev.vmm;
	int ret;

	ret = vmm_guest_create(&self->g, MIRROR_GPA, MIRROR_SIZE, PAGE);
	ASSERT_EQ(0, ret) TH_LOG("guest RAM, VM, kvm-vfio: %s", strerror(-ret));
	/*
	 * vmm_open_guest() DMA-maps [gpa, gpa + size) in chunk granules at
	 * the first open: show it the first part as one chunk, then map the
	 * rest as one more mapping.
	 */
	self->g.size = MIRROR_SPLIT;
	self->g.chunk = MIRROR_SPLIT;
	ret = vmm_open_guest(v, self->dev.uuid, &self->g);
	self->g.size = MIRROR_SIZE;
	ASSERT_EQ(0, ret) TH_LOG("open into the VM: %s", strerror(-ret));
	self->dev.open = true;
	self->g.chunk = MIRROR_SIZE - MIRROR_SPLIT;
	ASSERT_EQ(0, vmm_guest_dma_map(&self->g, MIRROR_GPA + MIRROR_SPLIT,
				       MIRROR_SIZE - MIRROR_SPLIT));
	ASSERT_EQ(0, vmm_virtio_locate(v));
	ASSERT_EQ(FEAT_OK, vmm_vio_negotiate(v, BIT_ULL(VIRTIO_F_VERSION_1)));
	vmm_vio_set_status(v, FEAT_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	ASSERT_EQ(0, v->err) TH_LOG("DRIVER_OK: %s", strerror(-v->err));
	TH_LOG("status 0x%x: mirror_pinned_pages %lld, %lldx4K %lldx2M in %lld ns",
	       vmm_vio_status(v), counter(&self->dev, "mirror_pinned_pages"),
	       counter(&self->dev, "mirror_maps_4k"),
	       counter(&self->dev, "mirror_maps_2m"),
	       counter(&self->dev, "mirror_build_ns"));
}

/* Bytes of IOVA the mirror's IOMMU mappings cover. */
static long long mirror_covers(struct vmm_dev *dev)
{
	return counter(dev, "mirror_maps_4k") * (long long)PAGE +
	       counter(dev, "mirror_maps_2m") * (long long)HUGE;
}

TEST_F(mdev_guest, mirror_driver_ok_accepted)
{
	mirror_up(_metadata, self);
	EXPECT_TRUE(vmm_vio_status(&self->dev.vmm) & VIRTIO_CONFIG_S_DRIVER_OK)
		TH_LOG("DRIVER_OK refused although the VM's RAM is mapped");
}

TEST_F(mdev_guest, mirror_pins_all_pages_in_one_build)
{
	mirror_up(_metadata, self);
	EXPECT_EQ(MIRROR_SIZE / PAGE, counter(&self->dev, "mirror_pinned_pages"))
		TH_LOG("the mirror must pin every page of guest RAM");
	EXPECT_EQ(1, counter(&self->dev, "mirror_builds"));
}

TEST_F(mdev_guest, mirror_maps_cover_exactly_guest_ram)
{
	mirror_up(_metadata, self);
	EXPECT_EQ(MIRROR_SIZE, mirror_covers(&self->dev))
		TH_LOG("4K and 2M mappings must cover exactly the guest RAM");
}

TEST_F(mdev_guest, mirror_vfio_unmap_unpins_exactly_it)
{
	u64 done = 0;
	int ret;

	mirror_up(_metadata, self);
	ASSERT_TRUE(vmm_vio_status(&self->dev.vmm) & VIRTIO_CONFIG_S_DRIVER_OK);
	ret = vmm_guest_dma_unmap(&self->g, MIRROR_GPA + MIRROR_SPLIT,
				  MIRROR_SIZE - MIRROR_SPLIT, &done);
	ASSERT_EQ(0, ret) TH_LOG("VFIO_IOMMU_UNMAP_DMA: %s", strerror(-ret));
	ASSERT_EQ(MIRROR_SIZE - MIRROR_SPLIT, done);
	TH_LOG("after the unmap: %lld pages pinned, %lldx4K %lldx2M",
	       counter(&self->dev, "mirror_pinned_pages"),
	       counter(&self->dev, "mirror_maps_4k"),
	       counter(&self->dev, "mirror_maps_2m"));
	EXPECT_EQ(MIRROR_SPLIT / PAGE, counter(&self->dev, "mirror_pinned_pages"))
		TH_LOG("VFIO unmap of the second part must unpin exactly it");
	EXPECT_EQ(MIRROR_SPLIT, mirror_covers(&self->dev))
		TH_LOG("and unmap exactly it, splitting a large mapping");
}

TEST_HARNESS_MAIN
