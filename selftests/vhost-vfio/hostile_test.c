// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hostile input against a vhost-vfio mdev: the device fd's regions, ioctls
 * and mmap as a less privileged VMM could drive them, the emulated virtio
 * registers as a malicious guest could drive them, and the provisioning
 * attributes with garbage.  Every case asserts the exact errno or emulated
 * value and ends by checking that the device is still usable: the vendor
 * ID reads 0x1af4 and a FEATURES_OK negotiation succeeds.
 *
 * Interrupt cases follow vfio-pci's semantics (EINVAL for bad arguments, 0
 * for good ones); the eventfd wiring arrives with the data path.
 *
 * Environment: VV_BDF, a function bound to vhost_vfio_virtio_pci.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>

#include "vmm_test.h"

#define ACK_DRIVER	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER)
#define FEAT_OK		(ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK)
#define CFG_SIZE	256
#define IDX_SHIFT	40
#define IDX_OFF(i)	((u64)(i) << IDX_SHIFT)
#define OFF_MASK	(IDX_OFF(1) - 1)
#define PAGE		4096
#define MAX_VEC		2048
#define IRQ_SET_MINSZ	(offsetof(struct vfio_irq_set, count) + sizeof(__u32))
#define RW		(VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE)

FIXTURE(hostile) {
	struct vmm_dev dev;
	u16 nq;
};

FIXTURE_SETUP(hostile)
{
	vmm_dev_create(&self->dev, VMM_DEV_OPEN);
	self->nq = vmm_vio_num_queues(&self->dev.vmm);
}

FIXTURE_TEARDOWN(hostile)
{
	vmm_dev_destroy(&self->dev);
}

static u64 attr(struct __test_metadata *_metadata, const char *uuid,
		const char *name)
{
	u64 val = ~0ULL;

	EXPECT_EQ(0, mdev_attr_u64(uuid, name, &val)) TH_LOG("%s", name);
	return val;
}

/*
 * Still a working device: identity intact, negotiation works, and nothing
 * is left negotiated after a reset.
 */
static void usable(struct __test_metadata *_metadata, struct vmm *v,
		   const char *uuid, u64 offered)
{
	u64 want = vmm_net_subset(offered);

	v->err = 0;
	ASSERT_EQ(0x1af4, vmm_cfg_read16(v, PCI_VENDOR_ID));
	ASSERT_EQ(0x1041, vmm_cfg_read16(v, PCI_DEVICE_ID));
	ASSERT_EQ(FEAT_OK, vmm_vio_negotiate(v, want));
	ASSERT_EQ(want, attr(_metadata, uuid, "negotiated_features"));
	vmm_vio_set_status(v, 0);
	ASSERT_EQ(0, vmm_vio_status(v));
	ASSERT_EQ(0, attr(_metadata, uuid, "negotiated_features"));
	ASSERT_EQ(0, v->err);
}

#define USABLE() usable(_metadata, &self->dev.vmm, self->dev.uuid, self->dev.offered)

/* Raw accesses: the byte count moved, or a negative errno. */
static ssize_t raw_read(int fd, u64 off, void *buf, size_t len)
{
	/* Straight to the kernel: no libc buffer checks in the way. */
	long n = syscall(__NR_pread64, fd, buf, len, off);

	return n < 0 ? -errno : n;
}

static ssize_t raw_write(int fd, u64 off, const void *buf, size_t len)
{
	long n = syscall(__NR_pwrite64, fd, buf, len, off);

	return n < 0 ? -errno : n;
}

static int raw_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static u64 roff(struct vmm *v, unsigned int idx)
{
	return v->region[idx].offset;
}

/* ---- region read/write ---------------------------------------------- */

TEST_F(hostile, rw_zero_length)
{
	struct vmm *v = &self->dev.vmm;
	unsigned int i;
	u8 buf[4];

	for (i = 0; i < VFIO_PCI_NUM_REGIONS; i++) {
		EXPECT_EQ(-EINVAL, raw_read(v->device, roff(v, i), buf, 0))
			TH_LOG("region %u", i);
		EXPECT_EQ(-EINVAL, raw_write(v->device, roff(v, i), buf, 0))
			TH_LOG("region %u", i);
	}
	USABLE();
}

/* Every offset of config space with every size class. */
TEST_F(hostile, rw_sizes_config)
{
	static const size_t sizes[] = { 1, 2, 3, 4, 8, 16, 255, 256, 257 };
	struct vmm *v = &self->dev.vmm;
	u8 buf[512];
	unsigned int off, i;
	ssize_t want;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		for (off = 0; off < CFG_SIZE + 8; off++) {
			want = off + sizes[i] <= CFG_SIZE ?
			       (ssize_t)sizes[i] : -EINVAL;
			ASSERT_EQ(want, raw_read(v->device, roff(v, VMM_CFG) + off,
						 buf, sizes[i]))
				TH_LOG("offset %u size %zu", off, sizes[i]);
		}
	}
	USABLE();
}

/* BAR0 at register boundaries, page crossings and the region end. */
TEST_F(hostile, rw_sizes_bar0)
{
	static const u64 offs[] = {
		0, 1, 2, 3, 0x13, 0x14, 0x15, 0x36, 0x37, 0x38, 0x3f, 0x40,
		0xffc, 0xffd, 0xffe, 0xfff, 0x1000, 0x1001, 0x1ffe, 0x2000,
		0x2006, 0x2ffd, 0x3000, 0x3ff8, 0x3ffc, 0x3ffe, 0x3fff,
		0x4000, 0x4001, 0x8000,
	};
	static const size_t sizes[] = { 1, 2, 3, 4, 8, 16, 64, 0x1000 };
	struct vmm *v = &self->dev.vmm;
	u64 size = vmm_region_size(v, VFIO_PCI_BAR0_REGION_INDEX);
	u8 *buf = calloc(1, 0x1000);
	unsigned int i, j;
	ssize_t want;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0x4000, size);
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		for (j = 0; j < ARRAY_SIZE(offs); j++) {
			want = offs[j] < size && sizes[i] <= size - offs[j] ?
			       (ssize_t)sizes[i] : -EINVAL;
			EXPECT_EQ(want, raw_read(v->device,
						 roff(v, 0) + offs[j], buf,
						 sizes[i]))
				TH_LOG("read offset 0x%llx size %zu",
				       (unsigned long long)offs[j], sizes[i]);
			/* Writes only where they cannot change state. */
			if (offs[j] < 0x2000)
				continue;
			memset(buf, 0xa5, sizes[i]);
			EXPECT_EQ(want, raw_write(v->device,
						  roff(v, 0) + offs[j], buf,
						  sizes[i]))
				TH_LOG("write offset 0x%llx size %zu",
				       (unsigned long long)offs[j], sizes[i]);
		}
	}
	free(buf);
	USABLE();
}

TEST_F(hostile, rw_beyond_end_every_region)
{
	struct vmm *v = &self->dev.vmm;
	u8 buf[16] = { 0 };
	unsigned int i, j;
	u64 size, offs[5];

	for (i = 0; i < VFIO_PCI_NUM_REGIONS; i++) {
		size = vmm_region_size(v, i);
		offs[0] = size;
		offs[1] = size + 1;
		offs[2] = size + PAGE;
		offs[3] = OFF_MASK;
		offs[4] = OFF_MASK - 3;
		for (j = 0; j < ARRAY_SIZE(offs); j++) {
			EXPECT_EQ(-EINVAL, raw_read(v->device,
						    roff(v, i) + offs[j],
						    buf, 4))
				TH_LOG("region %u offset 0x%llx", i,
				       (unsigned long long)offs[j]);
			EXPECT_EQ(-EINVAL, raw_write(v->device,
						     roff(v, i) + offs[j],
						     buf, 4))
				TH_LOG("region %u offset 0x%llx", i,
				       (unsigned long long)offs[j]);
		}
		if (!size)
			continue;
		/* Straddling the end: refused as a whole. */
		EXPECT_EQ(-EINVAL, raw_read(v->device, roff(v, i) + size - 1,
					    buf, 2));
		EXPECT_EQ(-EINVAL, raw_read(v->device, roff(v, i) + size - 4,
					    buf, 8));
		EXPECT_EQ(-EINVAL, raw_write(v->device, roff(v, i) + size - 2,
					     buf, 16));
	}
	USABLE();
}

TEST_F(hostile, rw_empty_regions)
{
	static const unsigned int empty[] = {
		VFIO_PCI_BAR3_REGION_INDEX, VFIO_PCI_BAR4_REGION_INDEX,
		VFIO_PCI_BAR5_REGION_INDEX, VFIO_PCI_ROM_REGION_INDEX,
		VFIO_PCI_VGA_REGION_INDEX,
	};
	struct vmm *v = &self->dev.vmm;
	unsigned int i;
	u8 buf[8] = { 0 };

	for (i = 0; i < ARRAY_SIZE(empty); i++) {
		ASSERT_EQ(0, v->region[empty[i]].size);
		ASSERT_EQ(0, v->region[empty[i]].flags);
		ASSERT_EQ(IDX_OFF(empty[i]), v->region[empty[i]].offset);
		EXPECT_EQ(-EINVAL, raw_read(v->device, IDX_OFF(empty[i]), buf, 1));
		EXPECT_EQ(-EINVAL, raw_read(v->device, IDX_OFF(empty[i]), buf, 4));
		EXPECT_EQ(-EINVAL, raw_write(v->device, IDX_OFF(empty[i]), buf, 1));
		EXPECT_EQ(-EINVAL, raw_write(v->device, IDX_OFF(empty[i]) + PAGE,
					     buf, 8));
	}
	USABLE();
}

TEST_F(hostile, rw_huge_offsets)
{
	static const u64 offs[] = {
		(7ULL << 40) | 0xffffffffffULL,	/* ROM, last byte */
		8ULL << 40,			/* VGA */
		9ULL << 40,			/* first index past vfio-pci */
		0xffULL << 40,
		0x7fffffULL << 40,
		0xffffffULL << 40,		/* negative loff_t */
		(0xffffffULL << 40) | 0xffffffffffULL,
		(u64)INT64_MAX,
		(u64)INT64_MAX - 3,
		1ULL << 63,
		~0ULL,
		~0ULL - 3,
	};
	struct vmm *v = &self->dev.vmm;
	unsigned int i;
	u8 buf[8] = { 0 };

	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		EXPECT_EQ(-EINVAL, raw_read(v->device, offs[i], buf, 4))
			TH_LOG("offset 0x%llx", (unsigned long long)offs[i]);
		EXPECT_EQ(-EINVAL, raw_write(v->device, offs[i], buf, 4))
			TH_LOG("offset 0x%llx", (unsigned long long)offs[i]);
		EXPECT_EQ(-EINVAL, raw_read(v->device, offs[i], buf, 1))
			TH_LOG("offset 0x%llx", (unsigned long long)offs[i]);
	}
	USABLE();
}

TEST_F(hostile, rw_huge_count)
{
	struct vmm *v = &self->dev.vmm;
	size_t big = 1 << 20;
	u8 *buf = calloc(1, big);

	ASSERT_NE(NULL, buf);
	EXPECT_EQ(-EINVAL, raw_read(v->device, roff(v, 0), buf, big));
	EXPECT_EQ(-EINVAL, raw_write(v->device, roff(v, 0), buf, big));
	EXPECT_EQ(-EINVAL, raw_read(v->device, roff(v, VMM_CFG), buf, big));
	/* A count no buffer can back: refused before the driver runs. */
	EXPECT_EQ(-1, syscall(__NR_pread64, v->device, buf, SIZE_MAX / 2,
			      roff(v, 0)));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, syscall(__NR_pwrite64, v->device, buf, SIZE_MAX / 2,
			      roff(v, 0)));
	EXPECT_EQ(EFAULT, errno);
	free(buf);
	USABLE();
}

TEST_F(hostile, rw_bad_user_buffer)
{
	struct vmm *v = &self->dev.vmm;
	u64 dfsel = roff(v, v->common.bar) + v->common.offset +
		    VIRTIO_PCI_COMMON_DFSELECT;
	u8 *map;

	EXPECT_EQ(-EFAULT, raw_read(v->device, roff(v, VMM_CFG), NULL, 4));
	EXPECT_EQ(-EFAULT, raw_write(v->device, roff(v, VMM_CFG), NULL, 4));
	EXPECT_EQ(-EFAULT, raw_read(v->device, dfsel, (void *)16, 4));
	EXPECT_EQ(-EFAULT, raw_write(v->device, dfsel, (void *)16, 4));

	/* A buffer whose second half is unmapped: a short transfer. */
	map = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, munmap(map + PAGE, PAGE));
	memset(map + PAGE - 4, 0, 4);
	map[PAGE - 4] = 1;
	/* dfselect takes 1, device_feature (read-only) is never reached. */
	EXPECT_EQ(4, raw_write(v->device, dfsel, map + PAGE - 4, 8));
	EXPECT_EQ(1, vmm_vio_read(v, VIRTIO_PCI_COMMON_DFSELECT, 4));
	EXPECT_EQ(4, raw_read(v->device, dfsel, map + PAGE - 4, 8));
	EXPECT_EQ(1, map[PAGE - 4]);
	/* One 4-byte piece that does not fit: nothing transferred. */
	EXPECT_EQ(-EFAULT, raw_read(v->device, roff(v, VMM_CFG), map + PAGE - 2,
				    4));
	munmap(map, PAGE);
	USABLE();
}

/*
 * Register accesses that are not the register's width or alignment: VFIO
 * splits them into naturally aligned pieces and each piece lands in the
 * bytes it covers (design.rst, "Access widths").
 */
TEST_F(hostile, rw_unaligned_common_cfg)
{
	struct vmm *v = &self->dev.vmm;
	u64 base = roff(v, v->common.bar) + v->common.offset;
	u8 ones[8], buf[8], nat[0x38];
	unsigned int off;

	memset(ones, 0xff, sizeof(ones));
	vmm_vio_write(v, VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	vmm_vio_write(v, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	/*
	 * Split into 1-, 2- and 1-byte pieces: the selector's upper three
	 * bytes, and the first byte of the read-only device_feature.
	 */
	ASSERT_EQ(4, raw_write(v->device, base + VIRTIO_PCI_COMMON_DFSELECT + 1,
			       ones, 4));
	ASSERT_EQ(0xffffff01, vmm_vio_read(v, VIRTIO_PCI_COMMON_DFSELECT, 4));
	ASSERT_EQ(0, vmm_vio_read(v, VIRTIO_PCI_COMMON_DF, 4));
	/* The same into the guest side: a feature word beyond 64 bits. */
	ASSERT_EQ(4, raw_write(v->device, base + VIRTIO_PCI_COMMON_GFSELECT + 1,
			       ones, 4));
	ASSERT_EQ(0xffffff01, vmm_vio_read(v, VIRTIO_PCI_COMMON_GFSELECT, 4));
	ASSERT_EQ(0, vmm_vio_driver_features(v));
	/* Unaligned reads return the bytes of the fields they cover. */
	ASSERT_EQ(sizeof(nat), raw_read(v->device, base, nat, sizeof(nat)));
	for (off = 1; off + 4 <= sizeof(nat); off++) {
		memset(buf, 0xee, sizeof(buf));
		ASSERT_EQ(4, raw_read(v->device, base + off, buf, 4));
		ASSERT_EQ(0, memcmp(buf, nat + off, 4))
			TH_LOG("common cfg bytes 0x%x..0x%x", off, off + 3);
	}
	/* The reserved fields after queue_used_hi read 0 and drop writes. */
	for (off = 0x38; off < 0x40; off += 2) {
		ASSERT_EQ(2, raw_write(v->device, base + off, ones, 2));
		ASSERT_EQ(0, vmm_vio_read(v, off, 2)) TH_LOG("offset 0x%x", off);
	}
	USABLE();
}

TEST_F(hostile, rw_page_crossing)
{
	struct vmm *v = &self->dev.vmm;
	u64 bar2 = vmm_region_size(v, VFIO_PCI_BAR2_REGION_INDEX);
	u8 buf[16];

	memset(buf, 0, sizeof(buf));
	/* Common cfg into ISR: the 2-byte ISR piece reads 0. */
	ASSERT_EQ(8, raw_read(v->device, roff(v, 0) + 0xffc, buf, 8));
	ASSERT_EQ(0, buf[4] | buf[5] | buf[6] | buf[7]);
	/* ISR into device config, writes dropped. */
	ASSERT_EQ(8, raw_write(v->device, roff(v, 0) + 0x1ffc, buf, 8));
	ASSERT_EQ(16, raw_read(v->device, roff(v, 0) + 0x2ff8, buf, 16));
	ASSERT_EQ(8, raw_read(v->device, roff(v, 1) + 0x7fc, buf, 8));
	if (bar2 > PAGE)
		ASSERT_EQ(8, raw_read(v->device, roff(v, 2) + PAGE - 4, buf, 8));
	ASSERT_EQ(8, raw_read(v->device, roff(v, 2) + bar2 - 8, buf, 8));
	USABLE();
}

/* read(2)/write(2) use the file position, which starts at BAR0 offset 0. */
TEST_F(hostile, rw_file_position)
{
	struct vmm *v = &self->dev.vmm;
	u32 a = 0, b = 0;

	ASSERT_EQ(0, v->common.bar);
	ASSERT_EQ(0, v->common.offset);
	vmm_vio_write(v, VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	ASSERT_EQ(4, read(v->device, &a, 4));
	ASSERT_EQ(4, read(v->device, &b, 4));
	ASSERT_EQ(0, a);
	ASSERT_EQ((u32)self->dev.offered, b);
	USABLE();
}

TEST_F(hostile, rw_whole_regions)
{
	struct vmm *v = &self->dev.vmm;
	unsigned int i;
	u64 size;
	u8 *buf;

	for (i = 0; i < VFIO_PCI_NUM_REGIONS; i++) {
		size = vmm_region_size(v, i);
		if (!size)
			continue;
		buf = malloc(size);
		ASSERT_NE(NULL, buf);
		EXPECT_EQ((ssize_t)size, raw_read(v->device, roff(v, i), buf,
						  size)) TH_LOG("region %u", i);
		free(buf);
	}
	USABLE();
}

/* ---- configuration space ------------------------------------------- */

struct cfgmap {
	u8 wmask[CFG_SIZE];	/* writable bits, from the design */
	bool zero[CFG_SIZE];	/* reserved: must read 0 */
};

static void cfgmap_init(struct vmm *v, struct cfgmap *m)
{
	static const u8 reserved_hdr[][2] = {
		{ 0x1c, 0x2c }, { 0x30, 0x34 }, { 0x35, 0x3c }, { 0x3d, 0x40 },
	};
	unsigned int i, bar, len;
	u32 mask;
	u8 pos;

	memset(m, 0, sizeof(*m));
	m->wmask[PCI_COMMAND] = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	m->wmask[PCI_COMMAND + 1] = PCI_COMMAND_INTX_DISABLE >> 8;
	m->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	m->wmask[PCI_INTERRUPT_LINE] = 0xff;
	for (bar = 0; bar < 3; bar++) {
		mask = ~(u32)(vmm_region_size(v, bar) - 1);
		for (i = 0; i < 4; i++)
			m->wmask[PCI_BASE_ADDRESS_0 + 4 * bar + i] = mask >> (8 * i);
	}
	for (i = 0; i < ARRAY_SIZE(reserved_hdr); i++)
		memset(&m->zero[reserved_hdr[i][0]], 1,
		       reserved_hdr[i][1] - reserved_hdr[i][0]);
	memset(&m->zero[0x40], 1, CFG_SIZE - 0x40);

	pos = vmm_cfg_read8(v, PCI_CAPABILITY_LIST);
	while (pos) {
		u8 id = vmm_cfg_read8(v, pos);

		len = id == PCI_CAP_ID_MSIX ? PCI_CAP_MSIX_SIZEOF :
		      vmm_cfg_read8(v, pos + PCI_CAP_FLAGS);
		memset(&m->zero[pos], 0, len);
		if (id == PCI_CAP_ID_MSIX)
			m->wmask[pos + PCI_MSIX_FLAGS + 1] =
				(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL) >> 8;
		pos = vmm_cfg_read8(v, pos + PCI_CAP_LIST_NEXT);
	}
	pos = v->pci_cfg.pos;
	m->wmask[pos + offsetof(struct virtio_pci_cap, bar)] = 0xff;
	memset(&m->wmask[pos + offsetof(struct virtio_pci_cap, offset)], 0xff, 8);
	/* Plain storage while the window is closed or invalid. */
	i = pos + offsetof(struct virtio_pci_cfg_cap, pci_cfg_data);
	memset(&m->wmask[i], 0xff, 4);
}

/*
 * Write @val to every byte of config space with @width accesses, then check
 * each byte: writable bits took @val, read-only bytes are unchanged,
 * reserved bytes read 0, and the window data holds what was written (the
 * window length is never 1, 2 or 4 here, so no access goes through it).
 * Restoring the snapshot brings everything back.
 */
static void cfg_fill(struct __test_metadata *_metadata, struct vmm *v,
		     unsigned int width, u8 val)
{
	u8 orig[CFG_SIZE], now[CFG_SIZE], fill[4], want;
	struct cfgmap m;
	unsigned int off;

	ASSERT_TRUE(v->pci_cfg.found);
	cfgmap_init(v, &m);
	ASSERT_EQ(0, v->err);
	ASSERT_EQ(CFG_SIZE, raw_read(v->device, roff(v, VMM_CFG), orig, CFG_SIZE));
	for (off = 0; off < CFG_SIZE; off++)
		if (m.zero[off])
			ASSERT_EQ(0, orig[off]) TH_LOG("reserved byte 0x%x", off);

	memset(fill, val, sizeof(fill));
	for (off = 0; off < CFG_SIZE; off += width)
		ASSERT_EQ((ssize_t)width, raw_write(v->device,
						    roff(v, VMM_CFG) + off,
						    fill, width))
			TH_LOG("offset 0x%x", off);
	ASSERT_EQ(CFG_SIZE, raw_read(v->device, roff(v, VMM_CFG), now, CFG_SIZE));
	for (off = 0; off < CFG_SIZE; off++) {
		want = (orig[off] & ~m.wmask[off]) | (val & m.wmask[off]);
		if (m.zero[off])
			want = 0;
		EXPECT_EQ(want, now[off])
			TH_LOG("byte 0x%02x: was 0x%02x, wrote 0x%02x, mask 0x%02x",
			       off, orig[off], val, m.wmask[off]);
	}

	/* Restore in one write: the window length is 0 before data. */
	ASSERT_EQ(CFG_SIZE, raw_write(v->device, roff(v, VMM_CFG), orig, CFG_SIZE));
	ASSERT_EQ(CFG_SIZE, raw_read(v->device, roff(v, VMM_CFG), now, CFG_SIZE));
	ASSERT_EQ(0, memcmp(orig, now, CFG_SIZE));
}

TEST_F(hostile, cfg_all_ones_bytes)
{
	cfg_fill(_metadata, &self->dev.vmm, 1, 0xff);
	USABLE();
}

TEST_F(hostile, cfg_all_ones_words)
{
	cfg_fill(_metadata, &self->dev.vmm, 2, 0xff);
	USABLE();
}

TEST_F(hostile, cfg_all_ones_dwords)
{
	cfg_fill(_metadata, &self->dev.vmm, 4, 0xff);
	USABLE();
}

TEST_F(hostile, cfg_all_zeroes_dwords)
{
	cfg_fill(_metadata, &self->dev.vmm, 4, 0);
	USABLE();
}

TEST_F(hostile, cfg_pattern_then_ones)
{
	cfg_fill(_metadata, &self->dev.vmm, 4, 0x5a);
	cfg_fill(_metadata, &self->dev.vmm, 1, 0xa5);
	cfg_fill(_metadata, &self->dev.vmm, 2, 0xff);
	USABLE();
}

static void window(struct vmm *v, u8 bar, u32 off, u32 len)
{
	u8 pos = v->pci_cfg.pos;

	vmm_cfg_write8(v, pos + offsetof(struct virtio_pci_cap, bar), bar);
	vmm_cfg_write32(v, pos + offsetof(struct virtio_pci_cap, offset), off);
	vmm_cfg_write32(v, pos + offsetof(struct virtio_pci_cap, length), len);
}

static u32 window_data(struct vmm *v)
{
	return vmm_cfg_read32(v, v->pci_cfg.pos +
			      offsetof(struct virtio_pci_cfg_cap, pci_cfg_data));
}

static void window_write(struct vmm *v, u32 val)
{
	vmm_cfg_write32(v, v->pci_cfg.pos +
			offsetof(struct virtio_pci_cfg_cap, pci_cfg_data), val);
}

/*
 * Windows no access can go through (no such BAR, outside it, a length
 * other than 1, 2 or 4): nothing reaches a BAR, pci_cfg_data stays plain
 * storage, as it is while the window is closed.
 */
TEST_F(hostile, pcicfg_window_hostile)
{
	static const struct {
		u8 bar;
		u32 off;
		u32 len;
	} bad[] = {
		{ 3, 0, 4 }, { 4, 0, 4 }, { 5, 0, 4 }, { 6, 0, 4 }, { 0xff, 0, 4 },
		{ 0, 0x4000, 4 }, { 0, 0x3ffe, 4 }, { 0, 0xfffffffc, 4 },
		{ 0, 0xffffffff, 1 }, { 0, 0xffffffff, 2 }, { 0, 0, 3 },
		{ 0, 0, 8 }, { 0, 0, 0xffffffff }, { 0, 0, 0x80000000 },
		{ 1, 0x1000, 4 }, { 1, 0xffd, 4 }, { 2, 0xfffffffe, 2 },
	};
	struct vmm *v = &self->dev.vmm;
	unsigned int i;
	u32 stored;

	ASSERT_TRUE(v->pci_cfg.found);
	vmm_vio_write(v, VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		stored = 0x5a000000 | i;
		window(v, 0, 0, 0);
		window_write(v, stored);
		window(v, bad[i].bar, bad[i].off, bad[i].len);
		EXPECT_EQ(stored, window_data(v))
			TH_LOG("bar %u offset 0x%x length 0x%x", bad[i].bar,
			       bad[i].off, bad[i].len);
		window_write(v, 0xffffffff);
		EXPECT_EQ(0xffffffff, window_data(v));
		EXPECT_EQ(0, vmm_vio_read(v, VIRTIO_PCI_COMMON_DFSELECT, 4));
	}
	/* A good window still works: num_queues through the window. */
	window(v, v->common.bar, v->common.offset + VIRTIO_PCI_COMMON_NUMQ, 2);
	ASSERT_EQ(self->nq, window_data(v) & 0xffff);
	/* And writes through it: device_feature_select. */
	window(v, v->common.bar, v->common.offset + VIRTIO_PCI_COMMON_DFSELECT, 4);
	window_write(v, 0xffffffff);
	ASSERT_EQ(0xffffffff, vmm_vio_read(v, VIRTIO_PCI_COMMON_DFSELECT, 4));
	window(v, 0, 0, 0);
	ASSERT_EQ(0xffffffff, window_data(v));
	ASSERT_EQ(0, v->err);
	USABLE();
}

/*
 * An unaligned window (a driver bug by virtio 1.2, 4.1.4.9.1) gets exactly
 * the bytes it names, split the way VFIO splits an unaligned BAR access.
 */
TEST_F(hostile, pcicfg_window_unaligned)
{
	struct vmm *v = &self->dev.vmm;
	u32 base = v->common.offset;

	ASSERT_TRUE(v->pci_cfg.found);
	vmm_vio_write(v, VIRTIO_PCI_COMMON_DFSELECT, 4, 0x44332211);
	window(v, v->common.bar, base + VIRTIO_PCI_COMMON_DFSELECT + 1, 2);
	ASSERT_EQ(0x3322, window_data(v) & 0xffff);
	vmm_vio_queue_select(v, 0);
	vmm_vio_set_queue_addr(v, 0x8877665544332211ULL, 0, 0);
	window(v, v->common.bar, base + VIRTIO_PCI_COMMON_Q_DESCLO + 3, 4);
	ASSERT_EQ(0x77665544, window_data(v));
	window(v, v->common.bar, base + VIRTIO_PCI_COMMON_DFSELECT + 1, 2);
	window_write(v, 0xbbaa);
	ASSERT_EQ(0x44bbaa11, vmm_vio_read(v, VIRTIO_PCI_COMMON_DFSELECT, 4));
	window(v, 0, 0, 0);
	ASSERT_EQ(0, v->err);
	USABLE();
}

/* ---- BARs ------------------------------------------------------------ */

TEST_F(hostile, bar1_msix_inert)
{
	struct vmm *v = &self->dev.vmm;
	u64 size = vmm_region_size(v, VFIO_PCI_BAR1_REGION_INDEX);
	u8 *buf = malloc(size), *ones = malloc(size);
	u64 i;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, ones);
	memset(ones, 0xff, size);
	ASSERT_EQ((ssize_t)size, raw_write(v->device, roff(v, 1), ones, size));
	ASSERT_EQ((ssize_t)size, raw_read(v->device, roff(v, 1), buf, size));
	for (i = 0; i < size; i++)
		ASSERT_EQ(0, buf[i]) TH_LOG("BAR1 byte 0x%llx",
					    (unsigned long long)i);
	free(buf);
	free(ones);
	USABLE();
}

TEST_F(hostile, bar2_notify_hostile)
{
	static const u32 vals[] = { 0, 1, 2, 0xff, 0x7fff, 0xffff, 0x10000,
				    0xffffffff };
	struct vmm *v = &self->dev.vmm;
	u64 size = vmm_region_size(v, VFIO_PCI_BAR2_REGION_INDEX);
	u64 offs[] = { 0, 1, 2, 3, v->notify.length, size - 4, size - 2,
		       size - 1 };
	unsigned int i, j, w;
	u32 val;

	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		for (j = 0; j < ARRAY_SIZE(vals); j++) {
			for (w = 1; w <= 4; w <<= 1) {
				if (offs[i] % w || offs[i] + w > size)
					continue;
				ASSERT_EQ(0, vmm_reg_write(v, 2, offs[i], w, vals[j]))
					TH_LOG("offset 0x%llx width %u",
					       (unsigned long long)offs[i], w);
				ASSERT_EQ(0, vmm_reg_read(v, 2, offs[i], w, &val));
				ASSERT_EQ(0, val);
			}
		}
	}
	/* Kicks of every queue, none enabled: dropped. */
	for (i = 0; i < self->nq + 2u; i++)
		ASSERT_EQ(0, vmm_reg_write(v, 2, 0, 2, i));
	USABLE();
}

TEST_F(hostile, bar0_holes_isr_devcfg)
{
	struct vmm *v = &self->dev.vmm;
	u8 buf[0x1000], mac[8], ones[8];
	u32 val;
	unsigned int i;

	memset(ones, 0xff, sizeof(ones));
	/* 0x3000..0x3fff is backed by nothing. */
	ASSERT_EQ(0x1000, raw_read(v->device, roff(v, 0) + 0x3000, buf, 0x1000));
	for (i = 0; i < 0x1000; i++)
		ASSERT_EQ(0, buf[i]) TH_LOG("BAR0 0x%x", 0x3000 + i);
	ASSERT_EQ(0x1000, raw_write(v->device, roff(v, 0) + 0x3000, buf, 0x1000));
	/*
	 * ISR: a read of any width covering its byte reads (and clears) it,
	 * nothing is pending here; the rest of the structure is reserved.
	 */
	ASSERT_EQ(0, vmm_reg_read(v, 0, v->isr.offset, 2, &val));
	ASSERT_EQ(0, val);
	ASSERT_EQ(0, vmm_reg_read(v, 0, v->isr.offset, 4, &val));
	ASSERT_EQ(0, val);
	ASSERT_EQ(0, vmm_reg_read(v, 0, v->isr.offset + 1, 1, &val));
	ASSERT_EQ(0, val);
	ASSERT_EQ(0, vmm_reg_write(v, 0, v->isr.offset, 1, 0xff));
	/* Device config is read-only whatever the width. */
	ASSERT_EQ(8, raw_read(v->device, roff(v, 0) + v->device_cfg.offset,
			      mac, 8));
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, vmm_reg_write(v, 0, v->device_cfg.offset + i, 1,
					   0xff));
	ASSERT_EQ(7, raw_write(v->device, roff(v, 0) + v->device_cfg.offset + 1,
			       ones, 7));
	ASSERT_EQ(8, raw_read(v->device, roff(v, 0) + v->device_cfg.offset,
			      buf, 8));
	ASSERT_EQ(0, memcmp(mac, buf, 6));
	/*
	 * The end of the window: whatever the VF returns there (QEMU: all
	 * ones beyond its config), writes do not change it.
	 */
	ASSERT_EQ(0, vmm_reg_read(v, 0, v->device_cfg.offset + 0xffc, 4, &val));
	ASSERT_EQ(0, vmm_reg_write(v, 0, v->device_cfg.offset + 0xffc, 4, ~val));
	ASSERT_EQ(val, vmm_vio_devcfg_read(v, 0xffc, 4));
	USABLE();
}

/* ---- ioctls ---------------------------------------------------------- */

TEST_F(hostile, ioctl_get_info)
{
	unsigned long minsz = offsetof(struct vfio_device_info, num_irqs) + 4;
	struct vmm *v = &self->dev.vmm;
	union {
		struct vfio_device_info info;
		u8 pad[PAGE];
	} u;
	u32 sizes[] = { 0, 1, 4, minsz - 1 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		memset(&u, 0, sizeof(u));
		u.info.argsz = sizes[i];
		EXPECT_EQ(-EINVAL, raw_ioctl(v->device, VFIO_DEVICE_GET_INFO,
					     &u.info)) TH_LOG("argsz %u", sizes[i]);
	}
	memset(&u, 0, sizeof(u));
	u.info.argsz = 0xffffffff;
	ASSERT_EQ(0, raw_ioctl(v->device, VFIO_DEVICE_GET_INFO, &u.info));
	ASSERT_EQ(VFIO_PCI_NUM_REGIONS, u.info.num_regions);
	ASSERT_EQ(VFIO_PCI_NUM_IRQS, u.info.num_irqs);
	ASSERT_NE(0, u.info.flags & VFIO_DEVICE_FLAGS_PCI);
	EXPECT_EQ(-EFAULT, raw_ioctl(v->device, VFIO_DEVICE_GET_INFO, NULL));
	EXPECT_EQ(-EFAULT, raw_ioctl(v->device, VFIO_DEVICE_GET_INFO, (void *)1));
	USABLE();
}

TEST_F(hostile, ioctl_region_info)
{
	unsigned long minsz = offsetof(struct vfio_region_info, offset) + 8;
	struct vmm *v = &self->dev.vmm;
	union {
		struct vfio_region_info r;
		u8 pad[PAGE];
	} u;
	u32 sizes[] = { 0, 1, 8, minsz - 1 };
	u32 idx[] = { VFIO_PCI_NUM_REGIONS, VFIO_PCI_NUM_REGIONS + 1, 0x100,
		      0x7fffffff, 0x80000000, 0xffffffff };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		memset(&u, 0, sizeof(u));
		u.r.argsz = sizes[i];
		EXPECT_EQ(-EINVAL, raw_ioctl(v->device,
					     VFIO_DEVICE_GET_REGION_INFO, &u.r))
			TH_LOG("argsz %u", sizes[i]);
	}
	for (i = 0; i < ARRAY_SIZE(idx); i++) {
		memset(&u, 0, sizeof(u));
		u.r.argsz = sizeof(u.r);
		u.r.index = idx[i];
		EXPECT_EQ(-EINVAL, raw_ioctl(v->device,
					     VFIO_DEVICE_GET_REGION_INFO, &u.r))
			TH_LOG("index 0x%x", idx[i]);
	}
	/* Every valid index, with a huge argsz over a page-sized buffer. */
	for (i = 0; i < VFIO_PCI_NUM_REGIONS; i++) {
		memset(&u, 0, sizeof(u));
		u.r.argsz = sizeof(u);
		u.r.index = i;
		ASSERT_EQ(0, raw_ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO,
				       &u.r));
		ASSERT_EQ(IDX_OFF(i), u.r.offset);
		ASSERT_EQ(v->region[i].size, u.r.size);
		ASSERT_EQ(u.r.size ? RW : 0, u.r.flags & RW);
		if (!u.r.size)
			ASSERT_EQ(0, u.r.flags);
		/* Only the doorbells may ever be mappable. */
		if (i != VFIO_PCI_BAR2_REGION_INDEX)
			ASSERT_EQ(0, u.r.flags & VFIO_REGION_INFO_FLAG_MMAP);
		if (u.r.cap_offset)
			ASSERT_GE(sizeof(u) - 8, u.r.cap_offset);
	}
	EXPECT_EQ(-EFAULT, raw_ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO,
				     NULL));
	USABLE();
}

TEST_F(hostile, ioctl_irq_info)
{
	unsigned long minsz = offsetof(struct vfio_irq_info, count) + 4;
	struct vmm *v = &self->dev.vmm;
	struct vfio_irq_info irq;
	u32 sizes[] = { 0, 1, 8, minsz - 1 };
	u32 idx[] = { VFIO_PCI_NUM_IRQS, VFIO_PCI_NUM_IRQS + 1, 0x80000000,
		      0xffffffff };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		memset(&irq, 0, sizeof(irq));
		irq.argsz = sizes[i];
		irq.index = VFIO_PCI_MSIX_IRQ_INDEX;
		EXPECT_EQ(-EINVAL, raw_ioctl(v->device, VFIO_DEVICE_GET_IRQ_INFO,
					     &irq)) TH_LOG("argsz %u", sizes[i]);
	}
	for (i = 0; i < ARRAY_SIZE(idx); i++) {
		memset(&irq, 0, sizeof(irq));
		irq.argsz = sizeof(irq);
		irq.index = idx[i];
		EXPECT_EQ(-EINVAL, raw_ioctl(v->device, VFIO_DEVICE_GET_IRQ_INFO,
					     &irq)) TH_LOG("index 0x%x", idx[i]);
	}
	irq.argsz = 0xffffffff;
	irq.index = VFIO_PCI_MSIX_IRQ_INDEX;
	ASSERT_EQ(0, raw_ioctl(v->device, VFIO_DEVICE_GET_IRQ_INFO, &irq));
	ASSERT_EQ(self->dev.nvec, irq.count);
	ASSERT_LT(0, irq.count);
	ASSERT_GE(MAX_VEC, irq.count);
	ASSERT_NE(0, irq.flags & VFIO_IRQ_INFO_EVENTFD);
	/* No INTx, no MSI, no AER. */
	for (i = VFIO_PCI_INTX_IRQ_INDEX; i <= VFIO_PCI_ERR_IRQ_INDEX; i++) {
		if (i == VFIO_PCI_MSIX_IRQ_INDEX)
			continue;
		ASSERT_EQ(0, vmm_irq_info(v, i, &irq));
		ASSERT_EQ(0, irq.count) TH_LOG("irq index %u", i);
	}
	/* One request irq, to ask the VMM to release the device. */
	ASSERT_EQ(0, vmm_irq_info(v, VFIO_PCI_REQ_IRQ_INDEX, &irq));
	EXPECT_EQ(1, irq.count);
	EXPECT_EQ(-EFAULT, raw_ioctl(v->device, VFIO_DEVICE_GET_IRQ_INFO, NULL));
	USABLE();
}

/* A SET_IRQS header with room for @count entries of data behind it. */
struct irqset {
	struct vfio_irq_set hdr;
	__s32 fds[MAX_VEC + 8];
};

static int set_irqs(int fd, struct irqset *s, u32 argsz, u32 flags, u32 index,
		    u32 start, u32 count)
{
	s->hdr.argsz = argsz;
	s->hdr.flags = flags;
	s->hdr.index = index;
	s->hdr.start = start;
	s->hdr.count = count;
	return raw_ioctl(fd, VFIO_DEVICE_SET_IRQS, &s->hdr);
}

#define TRIG_NONE	(VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER)
#define TRIG_BOOL	(VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER)
#define TRIG_EVENTFD	(VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER)
#define MSIX		VFIO_PCI_MSIX_IRQ_INDEX

static int msix_disable(int fd)
{
	struct vfio_irq_set hdr = {
		.argsz = sizeof(hdr), .flags = TRIG_NONE, .index = MSIX,
	};

	return raw_ioctl(fd, VFIO_DEVICE_SET_IRQS, &hdr);
}

TEST_F(hostile, set_irqs_bad_headers)
{
	static const struct {
		u32 argsz, flags, index, start, count;
	} bad[] = {
		{ 0, TRIG_NONE, MSIX, 0, 0 },
		{ IRQ_SET_MINSZ - 1, TRIG_NONE, MSIX, 0, 0 },
		{ 4, TRIG_NONE, MSIX, 0, 0 },
		/* Unknown flags, two data types, two actions + data type. */
		{ IRQ_SET_MINSZ, TRIG_NONE | 1u << 31, MSIX, 0, 0 },
		{ IRQ_SET_MINSZ, TRIG_NONE | 1u << 6, MSIX, 0, 0 },
		{ IRQ_SET_MINSZ + 8, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_BOOL |
		  VFIO_IRQ_SET_ACTION_TRIGGER, MSIX, 0, 1 },
		{ IRQ_SET_MINSZ + 8, VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_DATA_EVENTFD |
		  VFIO_IRQ_SET_ACTION_TRIGGER, MSIX, 0, 1 },
		{ IRQ_SET_MINSZ, VFIO_IRQ_SET_ACTION_TRIGGER, MSIX, 0, 1 },
		/* Bad indexes. */
		{ IRQ_SET_MINSZ, TRIG_NONE, VFIO_PCI_NUM_IRQS, 0, 0 },
		{ IRQ_SET_MINSZ, TRIG_NONE, 0xffffffff, 0, 0 },
		{ IRQ_SET_MINSZ, TRIG_NONE, 0x80000000, 0, 1 },
		/* start + count overflow. */
		{ IRQ_SET_MINSZ, TRIG_NONE, MSIX, 0xffffffff, 2 },
		{ IRQ_SET_MINSZ, TRIG_NONE, MSIX, 1, 0xffffffff },
		{ IRQ_SET_MINSZ, TRIG_NONE, MSIX, 0xffffffff, 0xffffffff },
		{ IRQ_SET_MINSZ, TRIG_NONE, MSIX, 0x80000000, 0x80000000 },
		{ IRQ_SET_MINSZ, TRIG_NONE, MSIX, 0xffffffff, 0 },
		{ 0xffffffff, TRIG_EVENTFD, MSIX, 0xffffffff, 1 },
	};
	struct vmm *v = &self->dev.vmm;
	struct irqset *s = calloc(1, sizeof(*s));
	unsigned int i;

	ASSERT_NE(NULL, s);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		EXPECT_EQ(-EINVAL, set_irqs(v->device, s, bad[i].argsz,
					    bad[i].flags, bad[i].index,
					    bad[i].start, bad[i].count))
			TH_LOG("case %u: argsz 0x%x flags 0x%x index 0x%x start 0x%x count 0x%x",
			       i, bad[i].argsz, bad[i].flags, bad[i].index,
			       bad[i].start, bad[i].count);
	EXPECT_EQ(-EFAULT, raw_ioctl(v->device, VFIO_DEVICE_SET_IRQS, NULL));
	free(s);
	USABLE();
}

TEST_F(hostile, set_irqs_beyond_vectors)
{
	struct vmm *v = &self->dev.vmm;
	struct irqset *s = calloc(1, sizeof(*s));
	u32 n = self->dev.nvec, i;

	ASSERT_NE(NULL, s);
	for (i = 0; i < ARRAY_SIZE(s->fds); i++)
		s->fds[i] = -1;
	/* Too many eventfds, a start past the end, a block past the end. */
	EXPECT_EQ(-EINVAL, set_irqs(v->device, s, sizeof(*s), TRIG_EVENTFD,
				    MSIX, 0, n + 1));
	EXPECT_EQ(-EINVAL, set_irqs(v->device, s, sizeof(*s), TRIG_EVENTFD,
				    MSIX, 0, MAX_VEC + 1));
	EXPECT_EQ(-EINVAL, set_irqs(v->device, s, sizeof(*s), TRIG_EVENTFD,
				    MSIX, n, 1));
	EXPECT_EQ(-EINVAL, set_irqs(v->device, s, sizeof(*s), TRIG_EVENTFD,
				    MSIX, n - 1, 2));
	EXPECT_EQ(-EINVAL, set_irqs(v->device, s, sizeof(*s), TRIG_NONE,
				    MSIX, n, 1));
	EXPECT_EQ(-EINVAL, set_irqs(v->device, s, sizeof(*s), TRIG_BOOL,
				    MSIX, 0, n + 1));
	/* argsz too small for the data that count promises. */
	EXPECT_EQ(-EINVAL, set_irqs(v->device, s,
				    IRQ_SET_MINSZ + 4 * (n - 1), TRIG_EVENTFD,
				    MSIX, 0, n));
	EXPECT_EQ(-EINVAL, set_irqs(v->device, s, IRQ_SET_MINSZ, TRIG_EVENTFD,
				    MSIX, 0, 1));
	EXPECT_EQ(-EINVAL, set_irqs(v->device, s, IRQ_SET_MINSZ, TRIG_BOOL,
				    MSIX, 0, 1));
	free(s);
	USABLE();
}

/* INTx, MSI and the error irq have no vectors: nothing to set. */
TEST_F(hostile, set_irqs_absent_indexes)
{
	static const u32 idx[] = { VFIO_PCI_INTX_IRQ_INDEX,
				   VFIO_PCI_MSI_IRQ_INDEX,
				   VFIO_PCI_ERR_IRQ_INDEX };
	static const u32 actions[] = { VFIO_IRQ_SET_ACTION_MASK,
				       VFIO_IRQ_SET_ACTION_UNMASK,
				       VFIO_IRQ_SET_ACTION_TRIGGER };
	struct vmm *v = &self->dev.vmm;
	struct irqset *s = calloc(1, sizeof(*s));
	unsigned int i, j;

	ASSERT_NE(NULL, s);
	s->fds[0] = -1;
	for (i = 0; i < ARRAY_SIZE(idx); i++) {
		for (j = 0; j < ARRAY_SIZE(actions); j++) {
			EXPECT_EQ(-EINVAL, set_irqs(v->device, s, sizeof(*s),
						    VFIO_IRQ_SET_DATA_NONE |
						    actions[j], idx[i], 0, 1))
				TH_LOG("index %u action 0x%x", idx[i], actions[j]);
			EXPECT_EQ(-EINVAL, set_irqs(v->device, s, sizeof(*s),
						    VFIO_IRQ_SET_DATA_EVENTFD |
						    actions[j], idx[i], 0, 1))
				TH_LOG("index %u action 0x%x", idx[i], actions[j]);
		}
	}
	free(s);
	USABLE();
}

/* The request irq: settable exactly when GET_IRQ_INFO offers it. */
TEST_F(hostile, set_irqs_req_consistent)
{
	struct vmm *v = &self->dev.vmm;
	struct irqset *s = calloc(1, sizeof(*s));
	struct vfio_irq_info irq;
	int efd, want;

	ASSERT_NE(NULL, s);
	ASSERT_EQ(0, vmm_irq_info(v, VFIO_PCI_REQ_IRQ_INDEX, &irq));
	ASSERT_GE(1, irq.count);
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	s->fds[0] = efd;
	want = irq.count ? 0 : -EINVAL;
	EXPECT_EQ(want, set_irqs(v->device, s, sizeof(*s), TRIG_EVENTFD,
				 VFIO_PCI_REQ_IRQ_INDEX, 0, 1));
	EXPECT_EQ(-EINVAL, set_irqs(v->device, s, sizeof(*s), TRIG_EVENTFD,
				    VFIO_PCI_REQ_IRQ_INDEX, 1, 1));
	EXPECT_EQ(want, set_irqs(v->device, s, sizeof(*s), TRIG_NONE,
				 VFIO_PCI_REQ_IRQ_INDEX, 0, 0));
	EXPECT_EQ(want, set_irqs(v->device, s, sizeof(*s), TRIG_NONE,
				 VFIO_PCI_REQ_IRQ_INDEX, 0, 0));
	close(efd);
	free(s);
	USABLE();
}

TEST_F(hostile, set_irqs_disable_idempotent)
{
	struct vmm *v = &self->dev.vmm;
	int i;

	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, msix_disable(v->device)) TH_LOG("disable #%d", i);
	ASSERT_EQ(0, vmm_reset(v));
	ASSERT_EQ(0, msix_disable(v->device));
	USABLE();
}

/*
 * vfio-pci has no MSI-X masking: MASK and UNMASK fail with ENOTTY there.
 * EINVAL says the same thing ("not supported with these arguments"); the
 * data path branch uses it.  Both are accepted, nothing else.
 */
TEST_F(hostile, set_irqs_msix_mask_unmask)
{
	static const u32 flags[] = {
		VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK,
		VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
		VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_MASK,
		VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK,
		VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK |
		VFIO_IRQ_SET_ACTION_UNMASK,
		VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TYPE_MASK,
	};
	struct vmm *v = &self->dev.vmm;
	struct irqset *s = calloc(1, sizeof(*s));
	unsigned int i;
	int ret;

	ASSERT_NE(NULL, s);
	s->fds[0] = -1;
	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		ret = set_irqs(v->device, s, sizeof(*s), flags[i], MSIX, 0, 1);
		EXPECT_TRUE(ret == -ENOTTY || ret == -EINVAL)
			TH_LOG("flags 0x%x: %d", flags[i], ret);
		ret = set_irqs(v->device, s, sizeof(*s), flags[i], MSIX, 0, 0);
		EXPECT_TRUE(ret == -ENOTTY || ret == -EINVAL)
			TH_LOG("flags 0x%x count 0: %d", flags[i], ret);
	}
	/* Ours is EINVAL, also with the vectors wired. */
	s->fds[0] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, s->fds[0]);
	ASSERT_EQ(0, set_irqs(v->device, s, sizeof(*s), TRIG_EVENTFD, MSIX, 0,
			      1));
	EXPECT_EQ(-EINVAL, set_irqs(v->device, s, IRQ_SET_MINSZ, flags[0], MSIX,
				    0, 1)) TH_LOG("MSI-X mask");
	EXPECT_EQ(-EINVAL, set_irqs(v->device, s, IRQ_SET_MINSZ, flags[1], MSIX,
				    0, 1)) TH_LOG("MSI-X unmask");
	EXPECT_EQ(0, msix_disable(v->device));
	close(s->fds[0]);
	free(s);
	USABLE();
}

/* A zero-count trigger carries no data: only DATA_NONE (disable) is valid. */
TEST_F(hostile, set_irqs_count0_with_data)
{
	struct vmm *v = &self->dev.vmm;
	struct irqset *s = calloc(1, sizeof(*s));

	ASSERT_NE(NULL, s);
	EXPECT_EQ(-EINVAL, set_irqs(v->device, s, sizeof(*s), TRIG_BOOL, MSIX,
				    0, 0));
	EXPECT_EQ(-EINVAL, set_irqs(v->device, s, sizeof(*s), TRIG_EVENTFD,
				    MSIX, 0, 0));
	free(s);
	USABLE();
}

static int efd_count(int fd, u64 *val)
{
	*val = 0;
	if (read(fd, val, sizeof(*val)) == sizeof(*val))
		return 0;
	return errno == EAGAIN ? 0 : -errno;
}

/* Wire every vector, inject through NONE and BOOL, unwire. */
TEST_F(hostile, set_irqs_eventfd_valid)
{
	struct vmm *v = &self->dev.vmm;
	struct irqset *s = calloc(1, sizeof(*s));
	u8 *bools = (u8 *)s->fds;
	int efd[MAX_VEC];
	u32 n = self->dev.nvec, i;
	u64 cnt;

	ASSERT_NE(NULL, s);
	for (i = 0; i < n; i++) {
		efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		ASSERT_LE(0, efd[i]);
		s->fds[i] = efd[i];
	}
	ASSERT_EQ(0, set_irqs(v->device, s, sizeof(*s), TRIG_EVENTFD, MSIX, 0,
			      n));
	/* Re-setting the same block is allowed. */
	ASSERT_EQ(0, set_irqs(v->device, s, sizeof(*s), TRIG_EVENTFD, MSIX, 0,
			      n));
	ASSERT_EQ(0, set_irqs(v->device, s, sizeof(*s), TRIG_NONE, MSIX, 0, n));
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, efd_count(efd[i], &cnt));
		ASSERT_EQ(1, cnt) TH_LOG("vector %u", i);
	}
	memset(bools, 0, n);
	bools[n - 1] = 1;
	ASSERT_EQ(0, set_irqs(v->device, s, sizeof(*s), TRIG_BOOL, MSIX, 0, n));
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, efd_count(efd[i], &cnt));
		ASSERT_EQ(i == n - 1, cnt) TH_LOG("vector %u", i);
	}
	ASSERT_EQ(0, msix_disable(v->device));
	ASSERT_EQ(0, msix_disable(v->device));
	for (i = 0; i < n; i++)
		close(efd[i]);
	free(s);
	USABLE();
}

/* -1 (and, like vfio-pci, any negative fd) means "no eventfd". */
TEST_F(hostile, set_irqs_eventfd_negative)
{
	struct vmm *v = &self->dev.vmm;
	struct irqset *s = calloc(1, sizeof(*s));
	u32 i;

	ASSERT_NE(NULL, s);
	for (i = 0; i < self->dev.nvec; i++)
		s->fds[i] = -1;
	EXPECT_EQ(0, set_irqs(v->device, s, sizeof(*s), TRIG_EVENTFD, MSIX, 0,
			      self->dev.nvec));
	s->fds[0] = -2;
	EXPECT_EQ(0, set_irqs(v->device, s, sizeof(*s), TRIG_EVENTFD, MSIX, 0,
			      1));
	s->fds[0] = INT32_MIN;
	EXPECT_EQ(0, set_irqs(v->device, s, sizeof(*s), TRIG_EVENTFD, MSIX, 0,
			      1));
	EXPECT_EQ(0, msix_disable(v->device));
	free(s);
	USABLE();
}

TEST_F(hostile, set_irqs_bad_fds)
{
	struct vmm *v = &self->dev.vmm;
	struct irqset *s = calloc(1, sizeof(*s));
	int closed, null, good;
	u64 cnt;

	ASSERT_NE(NULL, s);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, null);
	good = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, good);
	/* Last, so that no later open reuses the number. */
	closed = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, closed);
	close(closed);

	s->fds[0] = closed;
	EXPECT_EQ(-EBADF, set_irqs(v->device, s, sizeof(*s), TRIG_EVENTFD,
				   MSIX, 0, 1));
	s->fds[0] = INT32_MAX;
	EXPECT_EQ(-EBADF, set_irqs(v->device, s, sizeof(*s), TRIG_EVENTFD,
				   MSIX, 0, 1));
	s->fds[0] = null;
	EXPECT_EQ(-EINVAL, set_irqs(v->device, s, sizeof(*s), TRIG_EVENTFD,
				    MSIX, 0, 1));
	s->fds[0] = v->device;
	EXPECT_EQ(-EINVAL, set_irqs(v->device, s, sizeof(*s), TRIG_EVENTFD,
				    MSIX, 0, 1));
	/* A block failing on its second fd leaves its first one unset. */
	if (self->dev.nvec >= 2) {
		s->fds[0] = good;
		s->fds[1] = null;
		EXPECT_EQ(-EINVAL, set_irqs(v->device, s, sizeof(*s),
					    TRIG_EVENTFD, MSIX, 0, 2));
		set_irqs(v->device, s, sizeof(*s), TRIG_NONE, MSIX, 0, 1);
		ASSERT_EQ(0, efd_count(good, &cnt));
		EXPECT_EQ(0, cnt);
	}
	EXPECT_EQ(0, msix_disable(v->device));
	close(null);
	close(good);
	free(s);
	USABLE();
}

/* Wired eventfds survive neither a device reset nor a close. */
TEST_F(hostile, set_irqs_then_reset_and_close)
{
	struct vmm *v = &self->dev.vmm;
	struct irqset *s = calloc(1, sizeof(*s));
	int efd;

	ASSERT_NE(NULL, s);
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	s->fds[0] = efd;
	EXPECT_EQ(0, set_irqs(v->device, s, sizeof(*s), TRIG_EVENTFD, MSIX, 0,
			      1));
	ASSERT_EQ(0, vmm_reset(v));
	/* Closing with a vector wired must unwire it (no leak, no splat). */
	vmm_close(v);
	self->dev.open = false;
	close(efd);
	ASSERT_EQ(0, vmm_open(v, self->dev.uuid));
	self->dev.open = true;
	ASSERT_EQ(0, vmm_virtio_locate(v));
	free(s);
	USABLE();
}

TEST_F(hostile, device_reset_repeated)
{
	struct vmm *v = &self->dev.vmm;
	int i;

	for (i = 0; i < 20; i++) {
		ASSERT_EQ(FEAT_OK, vmm_vio_negotiate(v, vmm_net_subset(self->dev.offered)));
		ASSERT_EQ(0, vmm_reset(v)) TH_LOG("reset #%d", i);
		ASSERT_EQ(0, vmm_vio_status(v));
		ASSERT_EQ(0, raw_ioctl(v->device, VFIO_DEVICE_RESET,
				       (void *)-1L));
	}
	USABLE();
}

TEST_F(hostile, unknown_ioctls)
{
	static const unsigned long cmds[] = {
		_IO(VFIO_TYPE, VFIO_BASE + 0),		/* VFIO_GET_API_VERSION */
		_IO(VFIO_TYPE, VFIO_BASE + 4),		/* VFIO_GROUP_GET_STATUS */
		_IO(VFIO_TYPE, VFIO_BASE + 12),		/* GET_PCI_HOT_RESET_INFO */
		_IO(VFIO_TYPE, VFIO_BASE + 13),		/* PCI_HOT_RESET */
		_IO(VFIO_TYPE, VFIO_BASE + 14),		/* QUERY_GFX_PLANE */
		_IO(VFIO_TYPE, VFIO_BASE + 15),		/* GET_GFX_DMABUF */
		_IO(VFIO_TYPE, VFIO_BASE + 16),		/* IOEVENTFD */
		_IO(VFIO_TYPE, VFIO_BASE + 18),
		_IO(VFIO_TYPE, VFIO_BASE + 100),
		_IO(VFIO_TYPE, 0xff),
		_IOWR(VFIO_TYPE, VFIO_BASE + 8, struct vfio_region_info),
		_IOR('V', 0, int),
		FIONREAD,
		0,
		0xdeadbeef,
		0xffffffff,
	};
	struct vmm *v = &self->dev.vmm;
	u8 buf[PAGE] = { 0 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		EXPECT_EQ(-ENOTTY, raw_ioctl(v->device, cmds[i], buf))
			TH_LOG("cmd 0x%lx", cmds[i]);
	USABLE();
}

/* VFIO_DEVICE_FEATURE is the vfio core's; nothing is implemented. */
TEST_F(hostile, device_feature_ioctl)
{
	struct vmm *v = &self->dev.vmm;
	struct {
		struct vfio_device_feature f;
		u8 data[64];
	} u;
	u32 feats[] = { 0, 1, 2, 0xffff };
	unsigned int i;

	memset(&u, 0, sizeof(u));
	u.f.argsz = 0;
	EXPECT_EQ(-EINVAL, raw_ioctl(v->device, VFIO_DEVICE_FEATURE, &u));
	for (i = 0; i < ARRAY_SIZE(feats); i++) {
		memset(&u, 0, sizeof(u));
		u.f.argsz = sizeof(u);
		u.f.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET |
			    feats[i];
		EXPECT_EQ(-ENOTTY, raw_ioctl(v->device, VFIO_DEVICE_FEATURE, &u))
			TH_LOG("feature %u", feats[i]);
	}
	u.f.flags = 0xffffffff;
	EXPECT_EQ(-EINVAL, raw_ioctl(v->device, VFIO_DEVICE_FEATURE, &u));
	USABLE();
}

/* A second device fd shares the open device; either may close first. */
TEST_F(hostile, second_device_fd)
{
	struct vmm *v = &self->dev.vmm;
	char name[PAGE + 16];
	u16 vendor = 0;
	int fd2;

	fd2 = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, self->dev.uuid);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(2, raw_read(fd2, roff(v, VMM_CFG), &vendor, 2));
	ASSERT_EQ(0x1af4, vendor);
	ASSERT_EQ(FEAT_OK, vmm_vio_negotiate(v, vmm_net_subset(self->dev.offered)));
	close(fd2);
	/* The first fd's state survived the second's close. */
	ASSERT_EQ(FEAT_OK, vmm_vio_status(v));

	EXPECT_EQ(-ENODEV, raw_ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD,
				     "00000000-0000-0000-0000-000000000000"));
	EXPECT_EQ(-ENODEV, raw_ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, ""));
	memset(name, 'a', sizeof(name));
	name[sizeof(name) - 1] = '\0';
	EXPECT_EQ(-EINVAL, raw_ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, name));
	EXPECT_EQ(-EFAULT, raw_ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, NULL));
	USABLE();
}

/* ---- mmap ------------------------------------------------------------ */

static int try_mmap(int fd, u64 off, size_t len, int prot, int flags)
{
	void *p = mmap(NULL, len, prot, flags, fd, (off_t)off);

	if (p == MAP_FAILED)
		return -errno;
	munmap(p, len);
	return 0;
}

TEST_F(hostile, mmap_trapped_regions)
{
	static const unsigned int idx[] = {
		VFIO_PCI_CONFIG_REGION_INDEX, VFIO_PCI_BAR0_REGION_INDEX,
		VFIO_PCI_BAR1_REGION_INDEX, VFIO_PCI_BAR3_REGION_INDEX,
		VFIO_PCI_BAR4_REGION_INDEX, VFIO_PCI_BAR5_REGION_INDEX,
		VFIO_PCI_ROM_REGION_INDEX, VFIO_PCI_VGA_REGION_INDEX,
		VFIO_PCI_NUM_REGIONS, 0xff, 0x7fffff,
	};
	static const int prots[] = { PROT_READ, PROT_WRITE,
				     PROT_READ | PROT_WRITE, PROT_NONE };
	struct vmm *v = &self->dev.vmm;
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(idx); i++) {
		for (j = 0; j < ARRAY_SIZE(prots); j++) {
			EXPECT_EQ(-EINVAL, try_mmap(v->device, IDX_OFF(idx[i]),
						    PAGE, prots[j], MAP_SHARED))
				TH_LOG("region %u prot %d", idx[i], prots[j]);
			EXPECT_EQ(-EINVAL, try_mmap(v->device, IDX_OFF(idx[i]),
						    PAGE, prots[j], MAP_PRIVATE))
				TH_LOG("region %u prot %d", idx[i], prots[j]);
		}
	}
	USABLE();
}

TEST_F(hostile, mmap_bad_arguments)
{
	struct vmm *v = &self->dev.vmm;
	u64 bar2 = roff(v, VFIO_PCI_BAR2_REGION_INDEX);
	u64 size = vmm_region_size(v, VFIO_PCI_BAR2_REGION_INDEX);

	/* Rejected by the mm core before the driver sees them. */
	EXPECT_EQ(-EINVAL, try_mmap(v->device, bar2 + 1, PAGE,
				    PROT_READ, MAP_SHARED));
	EXPECT_EQ(-EINVAL, try_mmap(v->device, bar2, 0, PROT_READ,
				    MAP_SHARED));
	EXPECT_EQ(-EOVERFLOW, try_mmap(v->device, ~0ULL & ~(u64)(PAGE - 1),
				       PAGE, PROT_READ, MAP_SHARED));
	/* The driver's: beyond the region, across its end, private. */
	EXPECT_EQ(-EINVAL, try_mmap(v->device, bar2, size + PAGE, PROT_READ,
				    MAP_SHARED));
	EXPECT_EQ(-EINVAL, try_mmap(v->device, bar2 + size, PAGE, PROT_READ,
				    MAP_SHARED));
	EXPECT_EQ(-EINVAL, try_mmap(v->device, bar2 + size - PAGE, 2 * PAGE,
				    PROT_READ, MAP_SHARED));
	EXPECT_EQ(-EINVAL, try_mmap(v->device, bar2 + OFF_MASK + 1 - PAGE,
				    PAGE, PROT_READ, MAP_SHARED));
	EXPECT_EQ(-EINVAL, try_mmap(v->device, bar2, PAGE,
				    PROT_READ | PROT_WRITE, MAP_PRIVATE));
	EXPECT_EQ(-EINVAL, try_mmap(v->device, bar2, 1ULL << 36, PROT_READ,
				    MAP_SHARED | MAP_NORESERVE));
	USABLE();
}

/* Find the first sparse mmap area of a region, if it advertises one. */
static bool sparse_area(int fd, u32 index, u64 *off, u64 *size)
{
	union {
		struct vfio_region_info r;
		u8 pad[PAGE];
	} u;
	struct vfio_info_cap_header *h;
	struct vfio_region_info_cap_sparse_mmap *sp;
	u32 next;

	memset(&u, 0, sizeof(u));
	u.r.argsz = sizeof(u);
	u.r.index = index;
	if (ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &u.r) ||
	    !(u.r.flags & VFIO_REGION_INFO_FLAG_CAPS))
		return false;
	for (next = u.r.cap_offset; next && next < sizeof(u) - sizeof(*sp);
	     next = h->next) {
		h = (void *)(u.pad + next);
		if (h->id != VFIO_REGION_INFO_CAP_SPARSE_MMAP)
			continue;
		sp = (void *)h;
		if (!sp->nr_areas)
			return false;
		*off = sp->areas[0].offset;
		*size = sp->areas[0].size;
		return true;
	}
	return false;
}

/*
 * BAR2 is mappable exactly when REGION_INFO says so; a mapping of a
 * mappable page works and reads as the device would.
 */
TEST_F(hostile, mmap_bar2_consistent_with_flags)
{
	struct vmm *v = &self->dev.vmm;
	u64 bar2 = roff(v, VFIO_PCI_BAR2_REGION_INDEX);
	u64 size = vmm_region_size(v, VFIO_PCI_BAR2_REGION_INDEX);
	u64 aoff = 0, asize = size;
	bool mappable = v->region[VFIO_PCI_BAR2_REGION_INDEX].flags &
			VFIO_REGION_INFO_FLAG_MMAP;
	u16 val;
	void *p;

	TH_LOG("BAR2: size 0x%llx flags 0x%x", (unsigned long long)size,
	       v->region[VFIO_PCI_BAR2_REGION_INDEX].flags);
	if (!mappable) {
		EXPECT_EQ(-EINVAL, try_mmap(v->device, bar2, PAGE,
					    PROT_READ | PROT_WRITE, MAP_SHARED));
		EXPECT_EQ(-EINVAL, try_mmap(v->device, bar2, PAGE, PROT_READ,
					    MAP_SHARED));
		EXPECT_EQ(-EINVAL, try_mmap(v->device, bar2, size, PROT_WRITE,
					    MAP_SHARED));
		USABLE();
		return;
	}
	if (sparse_area(v->device, VFIO_PCI_BAR2_REGION_INDEX, &aoff, &asize))
		TH_LOG("sparse area 0x%llx+0x%llx", (unsigned long long)aoff,
		       (unsigned long long)asize);
	ASSERT_LE(aoff + asize, size);
	ASSERT_LE(PAGE, asize);
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, v->device,
		 (off_t)(bar2 + aoff));
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	memcpy(&val, p, sizeof(val));
	TH_LOG("doorbell page reads 0x%x", val);
	munmap(p, PAGE);
	EXPECT_EQ(0, try_mmap(v->device, bar2 + aoff, PAGE, PROT_READ,
			      MAP_SHARED));
	EXPECT_EQ(-EINVAL, try_mmap(v->device, bar2 + aoff, PAGE, PROT_READ,
				    MAP_PRIVATE));
	EXPECT_EQ(-EINVAL, try_mmap(v->device, bar2, size + PAGE, PROT_READ,
				    MAP_SHARED));
	USABLE();
}

/* ---- the guest: common configuration ------------------------------- */

TEST_F(hostile, guest_queue_size)
{
	static const u16 bad[] = { 0, 0x8000, 0xffff, 0x4001 };
	struct vmm *v = &self->dev.vmm;
	u16 q, max, got, odd[3];
	unsigned int i;

	for (q = 0; q < self->nq; q++) {
		vmm_vio_queue_select(v, q);
		max = vmm_vio_queue_size(v);
		ASSERT_LT(0, max);
		for (i = 0; i < ARRAY_SIZE(bad); i++) {
			vmm_vio_set_queue_size(v, bad[i]);
			ASSERT_EQ(max, vmm_vio_queue_size(v))
				TH_LOG("queue %u size %u", q, bad[i]);
		}
		/* Above the maximum the device offered: refused. */
		vmm_vio_set_queue_size(v, max + 1);
		EXPECT_EQ(max, vmm_vio_queue_size(v))
			TH_LOG("queue %u: max %u, wrote %u", q, max, max + 1);
		vmm_vio_set_queue_size(v, max * 2);
		EXPECT_EQ(max, vmm_vio_queue_size(v))
			TH_LOG("queue %u: max %u, wrote %u", q, max, max * 2);
		vmm_vio_set_queue_size(v, max);
		/* Not a power of two: held or refused, never above max. */
		odd[0] = 3;
		odd[1] = max - 1;
		odd[2] = max / 2 + 1;
		for (i = 0; i < ARRAY_SIZE(odd); i++) {
			vmm_vio_set_queue_size(v, max);
			vmm_vio_set_queue_size(v, odd[i]);
			got = vmm_vio_queue_size(v);
			EXPECT_TRUE(got == max || got == odd[i])
				TH_LOG("queue %u: wrote %u, reads %u", q, odd[i],
				       got);
		}
		vmm_vio_set_queue_size(v, max);
		ASSERT_EQ(max, vmm_vio_queue_size(v));
	}
	ASSERT_EQ(0, v->err);
	USABLE();
}

TEST_F(hostile, guest_ring_addresses)
{
	static const u64 addrs[][3] = {
		{ 0x1001, 0x3, 0x5 },
		{ ~0ULL, ~0ULL, ~0ULL },
		{ 1ULL << 63, 1ULL << 52, 0xfffffffffffff000ULL },
		{ 0, 0, 0 },
		{ 0xfff, 0x1fff, 0x2ffe },
	};
	struct vmm *v = &self->dev.vmm;
	u64 d, a, u;
	unsigned int i;

	vmm_vio_queue_select(v, 0);
	for (i = 0; i < ARRAY_SIZE(addrs); i++) {
		vmm_vio_set_queue_addr(v, addrs[i][0], addrs[i][1], addrs[i][2]);
		vmm_vio_queue_addr(v, &d, &a, &u);
		ASSERT_EQ(addrs[i][0], d);
		ASSERT_EQ(addrs[i][1], a);
		ASSERT_EQ(addrs[i][2], u);
	}
	/* Enabling rings the guest placed nowhere: no DMA reaches the host. */
	ASSERT_EQ(FEAT_OK, vmm_vio_negotiate(v, vmm_net_subset(self->dev.offered)));
	for (i = 0; i < self->nq && i < 2; i++) {
		vmm_vio_queue_select(v, i);
		vmm_vio_set_queue_addr(v, addrs[i][0], addrs[i][1], addrs[i][2]);
		vmm_vio_set_queue_enable(v, 1);
		TH_LOG("queue %u enable reads %u, status 0x%x", i,
		       vmm_vio_queue_enable(v), vmm_vio_status(v));
		/* Fixed once enabled. */
		vmm_vio_set_queue_addr(v, 0x1000, 0x2000, 0x3000);
		vmm_vio_queue_addr(v, &d, &a, &u);
		if (vmm_vio_queue_enable(v))
			ASSERT_EQ(addrs[i][0], d);
	}
	vmm_vio_set_status(v, ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
			   VIRTIO_CONFIG_S_DRIVER_OK);
	ASSERT_EQ(0, v->err);
	USABLE();
}

TEST_F(hostile, guest_enable_before_features_ok)
{
	struct vmm *v = &self->dev.vmm;
	u16 q;

	vmm_vio_set_status(v, ACK_DRIVER);
	vmm_vio_set_driver_features(v, vmm_net_subset(self->dev.offered));
	for (q = 0; q < self->nq + 2; q++) {
		vmm_vio_queue_select(v, q);
		vmm_vio_set_queue_addr(v, 0x10000, 0x11000, 0x12000);
		vmm_vio_set_queue_enable(v, 1);
		ASSERT_EQ(0, vmm_vio_queue_enable(v)) TH_LOG("queue %u", q);
	}
	/* Also not with DRIVER_OK but without FEATURES_OK. */
	vmm_vio_set_status(v, ACK_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK);
	vmm_vio_queue_select(v, 0);
	vmm_vio_set_queue_enable(v, 1);
	ASSERT_EQ(0, vmm_vio_queue_enable(v));
	ASSERT_EQ(0, v->err);
	USABLE();
}

/*
 * Whatever the guest writes to device_status, FEATURES_OK reads back set
 * only together with what was accepted as negotiated_features, and never
 * anything that was not offered.
 */
static void status_consistent(struct __test_metadata *_metadata,
			      struct vmm *v, const char *uuid, u64 offered,
			      u64 accepted)
{
	u8 st = vmm_vio_status(v);
	u64 neg = attr(_metadata, uuid, "negotiated_features");

	TH_LOG("status 0x%02x negotiated 0x%016llx", st,
	       (unsigned long long)neg);
	ASSERT_EQ(0, neg & ~offered);
	ASSERT_EQ(st & VIRTIO_CONFIG_S_FEATURES_OK ? accepted : 0, neg);
}

TEST_F(hostile, guest_status_out_of_order)
{
	static const u8 seqs[][4] = {
		{ VIRTIO_CONFIG_S_DRIVER_OK },
		{ VIRTIO_CONFIG_S_ACKNOWLEDGE, VIRTIO_CONFIG_S_ACKNOWLEDGE |
		  VIRTIO_CONFIG_S_DRIVER_OK },
		{ ACK_DRIVER, ACK_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK,
		  FEAT_OK | VIRTIO_CONFIG_S_DRIVER_OK },
		{ VIRTIO_CONFIG_S_FEATURES_OK },
		{ VIRTIO_CONFIG_S_ACKNOWLEDGE, VIRTIO_CONFIG_S_ACKNOWLEDGE |
		  VIRTIO_CONFIG_S_FEATURES_OK },
		{ VIRTIO_CONFIG_S_DRIVER, VIRTIO_CONFIG_S_DRIVER |
		  VIRTIO_CONFIG_S_FEATURES_OK },
		{ 0xff },
		{ VIRTIO_CONFIG_S_FAILED },
		{ VIRTIO_CONFIG_S_NEEDS_RESET },
		{ 0x30 },
		{ FEAT_OK, VIRTIO_CONFIG_S_ACKNOWLEDGE, 0x7f },
	};
	struct vmm *v = &self->dev.vmm;
	u64 want = vmm_net_subset(self->dev.offered);
	unsigned int i, j, k;

	for (i = 0; i < ARRAY_SIZE(seqs); i++) {
		/* Once with and once without features accepted first. */
		for (j = 0; j < 2; j++) {
			vmm_vio_set_status(v, 0);
			ASSERT_EQ(0, vmm_vio_status(v));
			vmm_vio_set_driver_features(v, j ? want : 0);
			for (k = 0; k < 4 && seqs[i][k]; k++)
				vmm_vio_set_status(v, seqs[i][k]);
			TH_LOG("sequence %u, features %s", i, j ? "set" : "none");
			status_consistent(_metadata, v, self->dev.uuid,
					  self->dev.offered, j ? want : 0);
			vmm_vio_queue_select(v, 0);
			if (!(vmm_vio_status(v) & VIRTIO_CONFIG_S_FEATURES_OK)) {
				vmm_vio_set_queue_enable(v, 1);
				ASSERT_EQ(0, vmm_vio_queue_enable(v));
			}
		}
	}
	ASSERT_EQ(0, v->err);
	USABLE();
}

/*
 * What was accepted at FEATURES_OK stays negotiated until reset, even if
 * the guest clears FEATURES_OK (which a driver must never do) and offers
 * a different feature set.
 */
TEST_F(hostile, guest_features_frozen_across_status_clear)
{
	struct vmm *v = &self->dev.vmm;
	u64 want = vmm_net_subset(self->dev.offered), other;

	other = want & ~(BIT_ULL(VIRTIO_NET_F_MRG_RXBUF) |
			 BIT_ULL(VIRTIO_NET_F_STATUS));
	ASSERT_NE(want, other) TH_LOG("need MRG_RXBUF or STATUS offered");
	ASSERT_EQ(FEAT_OK, vmm_vio_negotiate(v, want));
	vmm_vio_set_status(v, ACK_DRIVER);
	vmm_vio_set_driver_features(v, other);
	vmm_vio_set_status(v, FEAT_OK);
	TH_LOG("status 0x%x, negotiated 0x%016llx, accepted first 0x%016llx then 0x%016llx",
	       vmm_vio_status(v),
	       (unsigned long long)attr(_metadata, self->dev.uuid,
					"negotiated_features"),
	       (unsigned long long)want, (unsigned long long)other);
	EXPECT_EQ(want, attr(_metadata, self->dev.uuid, "negotiated_features"));
	EXPECT_EQ(FEAT_OK, vmm_vio_status(v));
	/* And the same with DRIVER_OK set in between. */
	ASSERT_EQ(FEAT_OK, vmm_vio_negotiate(v, want));
	vmm_vio_set_status(v, FEAT_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	vmm_vio_set_status(v, ACK_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK);
	vmm_vio_set_driver_features(v, other);
	vmm_vio_set_status(v, FEAT_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	EXPECT_EQ(want, attr(_metadata, self->dev.uuid, "negotiated_features"));
	ASSERT_EQ(0, v->err);
	USABLE();
}

TEST_F(hostile, guest_features_after_features_ok)
{
	struct vmm *v = &self->dev.vmm;
	u64 want = vmm_net_subset(self->dev.offered);

	ASSERT_EQ(FEAT_OK, vmm_vio_negotiate(v, want));
	vmm_vio_set_driver_features(v, ~0ULL);
	vmm_vio_write(v, VIRTIO_PCI_COMMON_GFSELECT, 4, 0xffffffff);
	vmm_vio_write(v, VIRTIO_PCI_COMMON_GF, 4, 0xffffffff);
	vmm_vio_set_status(v, FEAT_OK);
	ASSERT_EQ(FEAT_OK, vmm_vio_status(v));
	ASSERT_EQ(want, attr(_metadata, self->dev.uuid, "negotiated_features"));
	vmm_vio_set_status(v, FEAT_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	ASSERT_EQ(want, attr(_metadata, self->dev.uuid, "negotiated_features"));
	ASSERT_EQ(0, v->err);
	USABLE();
}

TEST_F(hostile, guest_queue_select_beyond)
{
	static const u16 sel[] = { 0, 1, 2, 0x7fff, 0x8000, 0xfffe, 0xffff };
	struct vmm *v = &self->dev.vmm;
	u64 d, a, u;
	unsigned int i;
	u16 q;

	for (i = 0; i < ARRAY_SIZE(sel); i++) {
		q = self->nq + sel[i];
		if (q < self->nq)
			continue;
		vmm_vio_queue_select(v, q);
		ASSERT_EQ(q, vmm_vio_read(v, VIRTIO_PCI_COMMON_Q_SELECT, 2));
		ASSERT_EQ(0, vmm_vio_queue_size(v));
		ASSERT_EQ(0, vmm_vio_queue_enable(v));
		ASSERT_EQ(0, vmm_vio_queue_notify_off(v));
		/* No queue, so no vector (QEMU's virtio-pci says the same). */
		ASSERT_EQ(VMM_NO_VECTOR, vmm_vio_queue_vector(v));
		vmm_vio_set_queue_size(v, 64);
		vmm_vio_set_queue_addr(v, 0x1000, 0x2000, 0x3000);
		vmm_vio_set_queue_vector(v, 0);
		vmm_vio_set_queue_enable(v, 1);
		ASSERT_EQ(0, vmm_vio_queue_size(v));
		ASSERT_EQ(0, vmm_vio_queue_enable(v));
		ASSERT_EQ(VMM_NO_VECTOR, vmm_vio_queue_vector(v));
		vmm_vio_queue_addr(v, &d, &a, &u);
		ASSERT_EQ(0, d | a | u) TH_LOG("queue_select %u", q);
		/* Kicking it: dropped. */
		ASSERT_EQ(0, vmm_reg_write(v, 2, 0, 2, q));
	}
	/* A 1-byte queue_select write selects a queue just the same. */
	vmm_vio_queue_select(v, 0);
	vmm_vio_write(v, VIRTIO_PCI_COMMON_Q_SELECT, 1, 0xff);
	ASSERT_EQ(0xff, vmm_vio_read(v, VIRTIO_PCI_COMMON_Q_SELECT, 2));
	ASSERT_EQ(0, vmm_vio_queue_size(v));
	ASSERT_EQ(VMM_NO_VECTOR, vmm_vio_queue_vector(v));
	vmm_vio_write(v, VIRTIO_PCI_COMMON_Q_SELECT + 1, 1, 0);
	vmm_vio_write(v, VIRTIO_PCI_COMMON_Q_SELECT, 1, 0);
	ASSERT_EQ(0, vmm_vio_read(v, VIRTIO_PCI_COMMON_Q_SELECT, 2));
	ASSERT_LT(0, vmm_vio_queue_size(v));
	ASSERT_EQ(VMM_NO_VECTOR, vmm_vio_queue_vector(v));
	ASSERT_EQ(0, v->err);
	USABLE();
}

TEST_F(hostile, guest_msix_vector_beyond_table)
{
	struct vmm *v = &self->dev.vmm;
	u16 bad[] = { self->dev.nvec, self->dev.nvec + 1, 0x7ff, 0x800, 0x7fff,
		      0x8000, 0xfffe };
	unsigned int i;
	u16 q;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		vmm_vio_write(v, VIRTIO_PCI_COMMON_MSIX, 2, 0);
		vmm_vio_write(v, VIRTIO_PCI_COMMON_MSIX, 2, bad[i]);
		EXPECT_EQ(VMM_NO_VECTOR,
			  vmm_vio_read(v, VIRTIO_PCI_COMMON_MSIX, 2))
			TH_LOG("config vector %u of %u", bad[i], self->dev.nvec);
		for (q = 0; q < self->nq; q++) {
			vmm_vio_queue_select(v, q);
			vmm_vio_set_queue_vector(v, 0);
			vmm_vio_set_queue_vector(v, bad[i]);
			EXPECT_EQ(VMM_NO_VECTOR, vmm_vio_queue_vector(v))
				TH_LOG("queue %u vector %u of %u", q, bad[i],
				       self->dev.nvec);
		}
	}
	/* The last valid vector is still taken. */
	vmm_vio_write(v, VIRTIO_PCI_COMMON_MSIX, 2, self->dev.nvec - 1);
	ASSERT_EQ(self->dev.nvec - 1, vmm_vio_read(v, VIRTIO_PCI_COMMON_MSIX, 2));
	ASSERT_EQ(0, v->err);
	USABLE();
}

TEST_F(hostile, guest_feature_select_all_ones)
{
	static const u32 sel[] = { 2, 3, 0x80000000, 0xfffffffe, 0xffffffff };
	struct vmm *v = &self->dev.vmm;
	u64 want = vmm_net_subset(self->dev.offered);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sel); i++) {
		vmm_vio_write(v, VIRTIO_PCI_COMMON_DFSELECT, 4, sel[i]);
		ASSERT_EQ(sel[i], vmm_vio_read(v, VIRTIO_PCI_COMMON_DFSELECT, 4));
		ASSERT_EQ(0, vmm_vio_read(v, VIRTIO_PCI_COMMON_DF, 4));
		vmm_vio_write(v, VIRTIO_PCI_COMMON_GFSELECT, 4, sel[i]);
		ASSERT_EQ(sel[i], vmm_vio_read(v, VIRTIO_PCI_COMMON_GFSELECT, 4));
		ASSERT_EQ(0, vmm_vio_read(v, VIRTIO_PCI_COMMON_GF, 4));
	}
	/* Zero beyond bit 63 is harmless ... */
	vmm_vio_set_status(v, 0);
	vmm_vio_set_status(v, ACK_DRIVER);
	vmm_vio_set_driver_features(v, want);
	vmm_vio_write(v, VIRTIO_PCI_COMMON_GFSELECT, 4, 0xffffffff);
	vmm_vio_write(v, VIRTIO_PCI_COMMON_GF, 4, 0);
	vmm_vio_set_status(v, FEAT_OK);
	ASSERT_EQ(FEAT_OK, vmm_vio_status(v));
	/* ... a one there refuses FEATURES_OK until reset. */
	vmm_vio_set_status(v, 0);
	vmm_vio_set_status(v, ACK_DRIVER);
	vmm_vio_set_driver_features(v, want);
	vmm_vio_write(v, VIRTIO_PCI_COMMON_GFSELECT, 4, 0xffffffff);
	vmm_vio_write(v, VIRTIO_PCI_COMMON_GF, 4, 0x80000000);
	vmm_vio_write(v, VIRTIO_PCI_COMMON_GF, 4, 0);
	vmm_vio_set_status(v, FEAT_OK);
	ASSERT_EQ(ACK_DRIVER, vmm_vio_status(v));
	ASSERT_EQ(0, attr(_metadata, self->dev.uuid, "negotiated_features"));
	ASSERT_EQ(0, v->err);
	USABLE();
}

TEST_F(hostile, guest_reset_midway)
{
	struct vmm *v = &self->dev.vmm;
	u64 want = vmm_net_subset(self->dev.offered), d, a, u;
	int i, ret;

	for (i = 0; i < 16; i++) {
		vmm_vio_set_status(v, ACK_DRIVER);
		vmm_vio_set_driver_features(v, want);
		if (i & 1)
			vmm_vio_set_status(v, FEAT_OK);
		vmm_vio_write(v, VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
		vmm_vio_queue_select(v, i % (self->nq + 1));
		vmm_vio_set_queue_addr(v, 0x5000, 0x6000, 0x7000);
		vmm_vio_set_queue_vector(v, 0);
		if (i & 2)
			vmm_vio_set_queue_enable(v, 1);
		if (i & 4)
			vmm_vio_set_status(v, FEAT_OK | VIRTIO_CONFIG_S_DRIVER_OK);
		ret = 0;
		if (i & 8)
			ret = vmm_reset(v);
		else
			vmm_vio_set_status(v, 0);
		ASSERT_EQ(0, ret);
		ASSERT_EQ(0, vmm_vio_status(v));
		ASSERT_EQ(0, vmm_vio_read(v, VIRTIO_PCI_COMMON_DFSELECT, 4));
		ASSERT_EQ(0, vmm_vio_read(v, VIRTIO_PCI_COMMON_Q_SELECT, 2));
		ASSERT_EQ(0, vmm_vio_driver_features(v));
		ASSERT_EQ(0, vmm_vio_queue_enable(v));
		ASSERT_EQ(VMM_NO_VECTOR, vmm_vio_queue_vector(v));
		vmm_vio_queue_addr(v, &d, &a, &u);
		ASSERT_EQ(0, d | a | u);
		ASSERT_EQ(0, attr(_metadata, self->dev.uuid, "negotiated_features"));
	}
	ASSERT_EQ(0, v->err);
	USABLE();
}

/* ---- sysfs provisioning attributes --------------------------------- */

static const char * const prov_attrs[] = {
	"mac", "mtu", "max_queue_pairs", "features_mask",
};

/* Write exactly @len bytes, NULs included; 0 or a negative errno. */
static int attr_write_raw(const char *uuid, const char *name, const void *buf,
			  size_t len)
{
	char path[PATH_MAX];

	if (mdev_attr_path(path, sizeof(path), uuid, name))
		return -ENAMETOOLONG;
	return sysfs_write_buf(path, buf, len);
}

struct attr_snap {
	char val[ARRAY_SIZE(prov_attrs)][128];
};

static void snap(struct __test_metadata *_metadata, const char *uuid,
		 struct attr_snap *s)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(prov_attrs); i++)
		ASSERT_LE(0, mdev_attr_read(uuid, prov_attrs[i], s->val[i],
					    sizeof(s->val[i])));
}

static void expect_unchanged(struct __test_metadata *_metadata,
			     const char *uuid, const struct attr_snap *was,
			     const char *what)
{
	struct attr_snap now;
	unsigned int i;

	snap(_metadata, uuid, &now);
	for (i = 0; i < ARRAY_SIZE(prov_attrs); i++)
		EXPECT_STREQ(was->val[i], now.val[i])
			TH_LOG("attribute %u changed after %s", i, what);
}

/* Put every attribute back to its power-on value. */
static void attrs_default(struct __test_metadata *_metadata, const char *uuid)
{
	ASSERT_EQ(0, mdev_attr_write(uuid, "mac", "\n"));
	ASSERT_EQ(0, mdev_attr_write(uuid, "mtu", "0"));
	ASSERT_EQ(0, mdev_attr_write(uuid, "max_queue_pairs", "0"));
	ASSERT_EQ(0, mdev_attr_write(uuid, "features_mask", "ffffffffffffffff"));
}

struct bad_input {
	const char *attr;
	const char *buf;
	size_t len;
};

/* The literal's length, embedded NULs included. */
#define BAD(a, s)	{ a, s, sizeof(s) - 1 }

static void refuse_all(struct __test_metadata *_metadata, const char *uuid,
		       const struct bad_input *in, unsigned int n)
{
	struct attr_snap was;
	unsigned int i;
	char what[160];
	size_t len;

	attrs_default(_metadata, uuid);
	snap(_metadata, uuid, &was);
	for (i = 0; i < n; i++) {
		len = in[i].len;
		snprintf(what, sizeof(what), "%s <- \"%.*s\" (%zu bytes)",
			 in[i].attr, (int)strnlen(in[i].buf, 40), in[i].buf, len);
		EXPECT_EQ(-EINVAL, attr_write_raw(uuid, in[i].attr, in[i].buf,
						  len)) TH_LOG("%s", what);
		expect_unchanged(_metadata, uuid, &was, what);
		attrs_default(_metadata, uuid);
	}
}

/* After the abuse the device opens, negotiates and shows the defaults. */
static void attrs_usable(struct __test_metadata *_metadata, const char *uuid)
{
	struct vmm v;
	u64 offered;

	ASSERT_EQ(0, mdev_attr_u64(uuid, "offered_features", &offered));
	ASSERT_EQ(0, vmm_open(&v, uuid));
	if (vmm_virtio_locate(&v)) {
		vmm_close(&v);
		ASSERT_TRUE(false) TH_LOG("virtio structures not found");
	}
	usable(_metadata, &v, uuid, offered);
	vmm_close(&v);
}

TEST_F(mdev, long_strings)
{
	static const char fill[] = { '1', 'f', 'a', ':', '9', '-' };
	unsigned int i, j;
	struct attr_snap was;
	char *buf = malloc(2 * PAGE);

	ASSERT_NE(NULL, buf);
	attrs_default(_metadata, self->dev.uuid);
	snap(_metadata, self->dev.uuid, &was);
	for (i = 0; i < ARRAY_SIZE(prov_attrs); i++) {
		for (j = 0; j < ARRAY_SIZE(fill); j++) {
			memset(buf, fill[j], 2 * PAGE);
			EXPECT_EQ(-EINVAL, attr_write_raw(self->dev.uuid,
							  prov_attrs[i], buf,
							  PAGE))
				TH_LOG("%s: 4096 x '%c'", prov_attrs[i], fill[j]);
			/* More than a page: the driver sees one page. */
			EXPECT_EQ(-EINVAL, attr_write_raw(self->dev.uuid,
							  prov_attrs[i], buf,
							  PAGE + 1));
			expect_unchanged(_metadata, self->dev.uuid, &was,
					 prov_attrs[i]);
		}
		/* A valid value followed by a page of padding. */
		memset(buf, ' ', PAGE);
		memcpy(buf, "1", 1);
		EXPECT_EQ(-EINVAL, attr_write_raw(self->dev.uuid, prov_attrs[i],
						  buf, PAGE));
		expect_unchanged(_metadata, self->dev.uuid, &was, prov_attrs[i]);
	}
	free(buf);
	attrs_usable(_metadata, self->dev.uuid);
}

TEST_F(mdev, embedded_nul)
{
	static const struct bad_input in[] = {
		BAD("mtu", "1500\0"),
		BAD("mtu", "1500\0junk"),
		BAD("mtu", "\0001500"),
		BAD("mtu", "\0"),
		BAD("max_queue_pairs", "1\0"),
		BAD("max_queue_pairs", "1\0\n"),
		BAD("features_mask", "ff\0ff"),
		BAD("features_mask", "\0"),
		BAD("mac", "02:11:22:33:44:55\0x"),
		BAD("mac", "02:11:22\0:33:44:55"),
	};

	refuse_all(_metadata, self->dev.uuid, in, ARRAY_SIZE(in));
	attrs_usable(_metadata, self->dev.uuid);
}

TEST_F(mdev, negative_numbers)
{
	static const struct bad_input in[] = {
		BAD("mtu", "-1"), BAD("mtu", "-0"), BAD("mtu", "-65535"),
		BAD("mtu", "-1500\n"),
		BAD("max_queue_pairs", "-1"), BAD("max_queue_pairs", "-0"),
		BAD("features_mask", "-1"), BAD("features_mask", "-0x1"),
		BAD("features_mask", "-ffffffffffffffff"),
		BAD("mac", "-02:11:22:33:44:55"),
	};

	refuse_all(_metadata, self->dev.uuid, in, ARRAY_SIZE(in));
	attrs_usable(_metadata, self->dev.uuid);
}

TEST_F(mdev, overflow)
{
	static const struct bad_input in[] = {
		BAD("mtu", "65536"), BAD("mtu", "4294967296"),
		BAD("mtu", "18446744073709551616"), BAD("mtu", "0x5dc"),
		BAD("mtu", "67"),
		BAD("max_queue_pairs", "65536"),
		BAD("max_queue_pairs", "99999999999999999999999"),
		BAD("max_queue_pairs", "65535"),
		BAD("features_mask", "10000000000000000"),
		BAD("features_mask", "0x1ffffffffffffffff"),
		BAD("features_mask", "0x"), BAD("features_mask", "0xg"),
		BAD("mac", "100:11:22:33:44:55"),
		BAD("mac", "02:11:22:33:44:55:66"),
		BAD("mac", "02:11:22:33:44:5g"),
		BAD("mac", "01:00:5e:00:00:01"),
		BAD("mac", "00:00:00:00:00:00"),
		BAD("mac", "ff:ff:ff:ff:ff:ff"),
	};

	refuse_all(_metadata, self->dev.uuid, in, ARRAY_SIZE(in));
	attrs_usable(_metadata, self->dev.uuid);
}

TEST_F(mdev, whitespace)
{
	static const struct bad_input in[] = {
		BAD("mtu", " 1500"), BAD("mtu", "1500 "), BAD("mtu", "\t1500"),
		BAD("mtu", "1500\t"), BAD("mtu", "1500\n\n"), BAD("mtu", "1500\r\n"),
		BAD("mtu", "15 00"), BAD("mtu", "\n"), BAD("mtu", " "),
		BAD("max_queue_pairs", " 1"), BAD("max_queue_pairs", "1 "),
		BAD("max_queue_pairs", "\v1"),
		BAD("features_mask", " ff"), BAD("features_mask", "ff "),
		BAD("features_mask", "0x ff"), BAD("features_mask", "\n"),
		BAD("mac", "02:11: 22:33:44:55"),
		BAD("mac", "02:11:22:33:44:55 x"),
		BAD("mac", "02 11 22 33 44 55"),
		BAD("mac", "02-11-22-33-44-55"),
	};

	refuse_all(_metadata, self->dev.uuid, in, ARRAY_SIZE(in));
	attrs_usable(_metadata, self->dev.uuid);
}

/*
 * The MAC attribute takes "an empty line" to clear the MAC; a line that
 * merely starts with whitespace is not empty.
 */
TEST_F(mdev, mac_whitespace_padded)
{
	/* White space around the value is ignored; garbage inside is not. */
	static const char * const bad[] = {
		"                    junk",
		"\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t1",
		"                   02:11:22:33:44:55 x",
		"02:11:22:33:44:55                   1",
	};
	char buf[4096 + 1], val[64];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ASSERT_EQ(0, mdev_attr_write(self->dev.uuid, "mac", "02:aa:bb:cc:dd:ee"));
		EXPECT_EQ(-EINVAL, mdev_attr_write(self->dev.uuid, "mac", bad[i]))
			TH_LOG("mac <- \"%s\"", bad[i]);
		ASSERT_LE(0, mdev_attr_read(self->dev.uuid, "mac", val, sizeof(val)));
		EXPECT_STREQ("02:aa:bb:cc:dd:ee", val);
	}
	/* Padding beyond any fixed-size copy still parses the whole write. */
	ASSERT_EQ(0, mdev_attr_write(self->dev.uuid, "mac",
				     "                   02:11:22:33:44:55\t "));
	ASSERT_LE(0, mdev_attr_read(self->dev.uuid, "mac", val, sizeof(val)));
	EXPECT_STREQ("02:11:22:33:44:55", val);
	/* A page of spaces is an empty line: the MAC is no longer provisioned. */
	memset(buf, ' ', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	EXPECT_EQ(0, mdev_attr_write(self->dev.uuid, "mac", buf));
	ASSERT_LE(0, mdev_attr_read(self->dev.uuid, "mac", val, sizeof(val)));
	EXPECT_STREQ("", val);
	attrs_default(_metadata, self->dev.uuid);
	attrs_usable(_metadata, self->dev.uuid);
}

TEST_F(mdev, busy_while_open)
{
	struct attr_snap was;
	unsigned int i;
	struct vmm v;

	attrs_default(_metadata, self->dev.uuid);
	snap(_metadata, self->dev.uuid, &was);
	ASSERT_EQ(0, vmm_open(&v, self->dev.uuid));
	for (i = 0; i < ARRAY_SIZE(prov_attrs); i++)
		EXPECT_EQ(-EBUSY, mdev_attr_write(self->dev.uuid, prov_attrs[i],
						  "garbage"));
	EXPECT_EQ(-EBUSY, mdev_attr_write(self->dev.uuid, "mtu", "1500"));
	vmm_close(&v);
	expect_unchanged(_metadata, self->dev.uuid, &was, "writes while open");
	attrs_usable(_metadata, self->dev.uuid);
}

TEST_F(mdev, read_only_refuse_write)
{
	static const char * const ro[] = {
		"vf_features", "offered_features", "negotiated_features",
		"quirks", "status",
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ro); i++)
		EXPECT_EQ(-EACCES, mdev_attr_write(self->dev.uuid, ro[i], "0"))
			TH_LOG("read-only attribute #%u", i);
	attrs_usable(_metadata, self->dev.uuid);
}

/*
 * FEATURES_OK and DRIVER_OK in one write, with features FEATURES_OK must
 * refuse (no VERSION_1): neither may stick, so the VF never runs with
 * features it was never told (virtio 1.2, 3.1.1).  Also when the features
 * are fine but ACKNOWLEDGE|DRIVER come in the same write.
 */
TEST_F(hostile, status_jump_without_features_ok)
{
	struct vmm *v = &self->dev.vmm;
	u8 all = FEAT_OK | VIRTIO_CONFIG_S_DRIVER_OK;

	vmm_vio_set_status(v, 0);
	ASSERT_EQ(0, vmm_vio_status(v));
	vmm_vio_set_status(v, ACK_DRIVER);
	vmm_vio_set_driver_features(v, vmm_net_subset(self->dev.offered) &
				    ~BIT_ULL(VIRTIO_F_VERSION_1));
	vmm_vio_set_status(v, all);
	EXPECT_EQ(ACK_DRIVER, vmm_vio_status(v))
		TH_LOG("status 0x%02x after 0x%02x with features refused",
		       vmm_vio_status(v), all);
	EXPECT_EQ(0, attr(_metadata, self->dev.uuid, "negotiated_features"));

	/* From reset straight to 0x0f with valid features: no mirror here. */
	vmm_vio_set_status(v, 0);
	vmm_vio_set_driver_features(v, vmm_net_subset(self->dev.offered));
	vmm_vio_set_status(v, all);
	EXPECT_FALSE(vmm_vio_status(v) & VIRTIO_CONFIG_S_DRIVER_OK);
	ASSERT_EQ(0, v->err);
}

TEST_HARNESS_MAIN
