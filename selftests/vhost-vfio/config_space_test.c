// SPDX-License-Identifier: GPL-2.0-only
/*
 * The emulated PCI configuration space of a vhost-vfio mdev, as QEMU's
 * vfio-pci and a guest see it: header, capability chain, BAR sizing,
 * read-only and reserved bytes, MSI-X, the PCI_CFG window, and that nothing
 * of the VF's own configuration space shows through.
 *
 * Environment: VV_BDF, a function bound to vhost_vfio_virtio_pci.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <linux/virtio_pci.h>

#include "vmm_test.h"

#define CFG_SIZE	256
#define COUNTERS	"/sys/kernel/debug/vhost_vfio/%s/counters"

static u32 read_hex_attr(const char *bdf, const char *attr)
{
	char path[PATH_MAX];
	u64 val;

	snprintf(path, sizeof(path), VMM_PCI_DEVICES "/%s/%s", bdf, attr);
	if (sysfs_read_u64(path, &val))
		return ~0U;
	return val;
}

TEST_F(mdev_open, region_info)
{
	struct vmm *v = &self->dev.vmm;
	struct vfio_region_info *r = v->region;
	u8 buf[4];
	u64 bar2;

	ASSERT_NE(0, v->info.flags & VFIO_DEVICE_FLAGS_RESET);
	ASSERT_EQ(CFG_SIZE, r[VFIO_PCI_CONFIG_REGION_INDEX].size);
	ASSERT_EQ(VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
		  r[VFIO_PCI_CONFIG_REGION_INDEX].flags &
		  (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE));
	ASSERT_EQ(0x4000, r[VFIO_PCI_BAR0_REGION_INDEX].size);
	ASSERT_EQ(0x1000, r[VFIO_PCI_BAR1_REGION_INDEX].size);
	bar2 = r[VFIO_PCI_BAR2_REGION_INDEX].size;
	ASSERT_LE(0x1000, bar2);
	ASSERT_EQ(0, bar2 & (bar2 - 1));
	ASSERT_EQ(0, r[VFIO_PCI_BAR3_REGION_INDEX].size);
	ASSERT_EQ(0, r[VFIO_PCI_BAR4_REGION_INDEX].size);
	ASSERT_EQ(0, r[VFIO_PCI_BAR5_REGION_INDEX].size);
	ASSERT_EQ(0, r[VFIO_PCI_ROM_REGION_INDEX].size);
	ASSERT_EQ(0, r[VFIO_PCI_VGA_REGION_INDEX].size);

	/* Accesses beyond the 256 bytes fail instead of reading junk. */
	ASSERT_EQ(-EINVAL, vmm_region_read(v, VMM_CFG, CFG_SIZE - 1, buf, 2));
	ASSERT_EQ(-EINVAL, vmm_region_read(v, VMM_CFG, CFG_SIZE, buf, 1));
	ASSERT_EQ(-EINVAL, vmm_region_read(v, VMM_CFG, 0x100, buf, 4));
	ASSERT_EQ(-EINVAL, vmm_region_read(v, VFIO_PCI_BAR0_REGION_INDEX,
					   0x4000, buf, 1));
	/* An unaligned, odd-sized read is split and succeeds. */
	ASSERT_EQ(0, vmm_region_read(v, VMM_CFG, 1, buf, 3));
	ASSERT_EQ(0x1a, buf[0]);
	ASSERT_EQ(0x41, buf[1]);
	ASSERT_EQ(0x10, buf[2]);
}

TEST_F(mdev_open, header_identity)
{
	struct vmm *v = &self->dev.vmm;

	ASSERT_EQ(0x1af4, vmm_cfg_read16(v, PCI_VENDOR_ID));
	ASSERT_EQ(0x1041, vmm_cfg_read16(v, PCI_DEVICE_ID));
	ASSERT_LE(1, vmm_cfg_read8(v, PCI_REVISION_ID));
	ASSERT_EQ(0x020000, vmm_cfg_read32(v, PCI_CLASS_REVISION) >> 8);
	ASSERT_EQ(PCI_HEADER_TYPE_NORMAL, vmm_cfg_read8(v, PCI_HEADER_TYPE));
	ASSERT_EQ(PCI_STATUS_CAP_LIST, vmm_cfg_read16(v, PCI_STATUS));
	/* No INTx. */
	ASSERT_EQ(0, vmm_cfg_read8(v, PCI_INTERRUPT_PIN));
	/* The VF's subsystem IDs so the guest can tell the hardware. */
	ASSERT_EQ(read_hex_attr(self->dev.bdf, "subsystem_vendor"),
		  vmm_cfg_read16(v, PCI_SUBSYSTEM_VENDOR_ID));
	ASSERT_EQ(read_hex_attr(self->dev.bdf, "subsystem_device"),
		  vmm_cfg_read16(v, PCI_SUBSYSTEM_ID));
	ASSERT_EQ(0, v->err);
}

TEST_F(mdev_open, command_register)
{
	struct vmm *v = &self->dev.vmm;
	u16 rw = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
		 PCI_COMMAND_INTX_DISABLE;

	ASSERT_EQ(0, vmm_cfg_read16(v, PCI_COMMAND) & PCI_COMMAND_IO);
	vmm_cfg_write16(v, PCI_COMMAND, 0xffff);
	/* No I/O BARs: I/O decode cannot be turned on. */
	ASSERT_EQ(rw, vmm_cfg_read16(v, PCI_COMMAND) & (rw | PCI_COMMAND_IO));
	vmm_cfg_write16(v, PCI_COMMAND, 0);
	ASSERT_EQ(0, vmm_cfg_read16(v, PCI_COMMAND));
	/* VFIO_DEVICE_RESET is an FLR: decoding off again. */
	vmm_cfg_write16(v, PCI_COMMAND, rw);
	ASSERT_EQ(0, vmm_reset(v));
	ASSERT_EQ(0, vmm_cfg_read16(v, PCI_COMMAND));
	ASSERT_EQ(0, v->err);
}

struct caps {
	int n;
	int msix;
	int nmsix;
	int vndr[6];	/* by cfg_type, first seen */
	int nvndr[6];
	int other;
	u8 end;		/* first byte after the last capability */
	u8 owner[CFG_SIZE];
};

static u8 cap_len(struct vmm *v, u8 pos, u8 id)
{
	if (id == PCI_CAP_ID_MSIX)
		return PCI_CAP_MSIX_SIZEOF;
	if (id == PCI_CAP_ID_VNDR)
		return vmm_cfg_read8(v, pos + VIRTIO_PCI_CAP_LEN);
	return 4;
}

static void caps_cb(struct vmm *v, u8 pos, u8 id, void *arg)
{
	struct caps *c = arg;
	unsigned int i, len = cap_len(v, pos, id);

	c->n++;
	if (id == PCI_CAP_ID_MSIX) {
		c->msix = pos;
		c->nmsix++;
	} else if (id == PCI_CAP_ID_VNDR) {
		u8 type = vmm_cfg_read8(v, pos + VIRTIO_PCI_CAP_CFG_TYPE);

		if (type < 6) {
			if (!c->nvndr[type])
				c->vndr[type] = pos;
			c->nvndr[type]++;
		}
	} else {
		c->other++;
	}
	for (i = pos; i < pos + len && i < CFG_SIZE; i++)
		c->owner[i] = c->owner[i] ? 0xff : pos;
	if (pos + len > c->end)
		c->end = pos + len > CFG_SIZE - 1 ? CFG_SIZE - 1 : pos + len;
}

static int walk(struct vmm *v, struct caps *c)
{
	memset(c, 0, sizeof(*c));
	return vmm_cap_walk(v, caps_cb, c);
}

TEST_F(mdev_open, capability_chain)
{
	struct vmm *v = &self->dev.vmm;
	unsigned int i, type;
	struct caps c;
	int n;

	n = walk(v, &c);
	/* Terminates, in range, dword aligned (vmm_cap_walk checks). */
	ASSERT_LT(0, n) TH_LOG("chain walk: %d", n);
	ASSERT_EQ(0, v->err);
	ASSERT_EQ(1, c.nmsix);
	ASSERT_EQ(0, c.other);
	for (type = VIRTIO_PCI_CAP_COMMON_CFG; type <= VIRTIO_PCI_CAP_PCI_CFG;
	     type++)
		ASSERT_LE(1, c.nvndr[type]) TH_LOG("cfg_type %u missing", type);
	/* No two capabilities share a byte, none runs past the header. */
	for (i = 0; i < CFG_SIZE; i++)
		ASSERT_NE(0xff, c.owner[i]) TH_LOG("byte 0x%x shared", i);
	ASSERT_LE(c.end, CFG_SIZE);

	for (type = VIRTIO_PCI_CAP_COMMON_CFG; type <= VIRTIO_PCI_CAP_PCI_CFG;
	     type++) {
		u8 pos = c.vndr[type];
		u8 len = vmm_cfg_read8(v, pos + VIRTIO_PCI_CAP_LEN);
		u8 bar = vmm_cfg_read8(v, pos + VIRTIO_PCI_CAP_BAR);
		u32 off = vmm_cfg_read32(v, pos + VIRTIO_PCI_CAP_OFFSET);
		u32 length = vmm_cfg_read32(v, pos + VIRTIO_PCI_CAP_LENGTH);

		TH_LOG("cap 0x%02x type %u len %u bar %u offset 0x%x length 0x%x",
		       pos, type, len, bar, off, length);
		ASSERT_LE(sizeof(struct virtio_pci_cap), len);
		if (type == VIRTIO_PCI_CAP_PCI_CFG) {
			ASSERT_LE(sizeof(struct virtio_pci_cfg_cap), len);
			continue;
		}
		if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
			ASSERT_LE(sizeof(struct virtio_pci_notify_cap), len);
		ASSERT_GE(5, bar);
		ASSERT_LT(0, length);
		ASSERT_GE(vmm_region_size(v, bar), (u64)off + length);
	}
	ASSERT_EQ(0, vmm_virtio_locate(v));
	ASSERT_EQ(0, v->err);
}

TEST_F(mdev_open, bar_sizing)
{
	struct vmm *v = &self->dev.vmm;
	unsigned int bar;

	for (bar = 0; bar < 6; bar++) {
		unsigned int reg = PCI_BASE_ADDRESS_0 + 4 * bar;
		u64 size = vmm_region_size(v, bar);
		u32 orig, mask, want;

		orig = vmm_cfg_read32(v, reg);
		vmm_cfg_write32(v, reg, ~0U);
		mask = vmm_cfg_read32(v, reg);
		vmm_cfg_write32(v, reg, orig);
		ASSERT_EQ(orig, vmm_cfg_read32(v, reg));
		want = size ? (u32)~(size - 1) : 0;
		TH_LOG("BAR%u size 0x%llx mask 0x%08x", bar,
		       (unsigned long long)size, mask);
		/* 32-bit, non-prefetchable memory; size mask above. */
		ASSERT_EQ(want, mask);
		if (!size)
			continue;
		/* An aligned address sticks, the low bits do not. */
		vmm_cfg_write32(v, reg, 0xe0000000 | (u32)(size - 1));
		ASSERT_EQ(0xe0000000, vmm_cfg_read32(v, reg));
		vmm_cfg_write32(v, reg, orig);
	}
	vmm_cfg_write32(v, PCI_ROM_ADDRESS, ~0U);
	ASSERT_EQ(0, vmm_cfg_read32(v, PCI_ROM_ADDRESS));
	ASSERT_EQ(0, v->err);
}

static void expect_ro(struct __test_metadata *_metadata, struct vmm *v,
		      unsigned int off, unsigned int size)
{
	u32 orig = vmm_reg_get(v, VMM_CFG, off, size);
	u32 flip = size == 4 ? ~orig : orig ^ ((1U << (8 * size)) - 1);

	vmm_reg_set(v, VMM_CFG, off, size, flip);
	EXPECT_EQ(orig, vmm_reg_get(v, VMM_CFG, off, size))
		TH_LOG("config 0x%02x (%u bytes) changed", off, size);
	vmm_reg_set(v, VMM_CFG, off, size, 0);
	EXPECT_EQ(orig, vmm_reg_get(v, VMM_CFG, off, size))
		TH_LOG("config 0x%02x (%u bytes) changed", off, size);
}

TEST_F(mdev_open, read_only_bytes)
{
	struct vmm *v = &self->dev.vmm;
	unsigned int type, i;
	struct caps c;

	expect_ro(_metadata, v, PCI_VENDOR_ID, 2);
	expect_ro(_metadata, v, PCI_DEVICE_ID, 2);
	expect_ro(_metadata, v, PCI_VENDOR_ID, 4);
	expect_ro(_metadata, v, PCI_STATUS, 2);
	expect_ro(_metadata, v, PCI_REVISION_ID, 1);
	expect_ro(_metadata, v, PCI_CLASS_PROG, 1);
	expect_ro(_metadata, v, PCI_CLASS_DEVICE, 2);
	expect_ro(_metadata, v, PCI_HEADER_TYPE, 1);
	expect_ro(_metadata, v, PCI_SUBSYSTEM_VENDOR_ID, 4);
	expect_ro(_metadata, v, PCI_CAPABILITY_LIST, 1);
	expect_ro(_metadata, v, PCI_INTERRUPT_PIN, 1);

	ASSERT_LT(0, walk(v, &c));
	/* MSI-X: id, next, table size, table and PBA location. */
	expect_ro(_metadata, v, c.msix, 2);
	expect_ro(_metadata, v, c.msix + PCI_MSIX_TABLE, 4);
	expect_ro(_metadata, v, c.msix + PCI_MSIX_PBA, 4);
	/* Virtio capabilities: everything but the PCI_CFG window. */
	for (type = VIRTIO_PCI_CAP_COMMON_CFG; type <= VIRTIO_PCI_CAP_PCI_CFG;
	     type++) {
		u8 pos = c.vndr[type];

		expect_ro(_metadata, v, pos, 4);
		if (type == VIRTIO_PCI_CAP_PCI_CFG)
			continue;
		for (i = 4; i + 4 <= vmm_cfg_read8(v, pos + VIRTIO_PCI_CAP_LEN);
		     i += 4)
			expect_ro(_metadata, v, pos + i, 4);
	}
	ASSERT_EQ(0, v->err);
}

TEST_F(mdev_open, msix_table_size_and_control)
{
	struct vmm *v = &self->dev.vmm;
	struct vfio_irq_info irq;
	u32 table, pba, n, bir;
	u64 tsize;
	u16 ctrl;
	int pos;

	pos = vmm_cap_find(v, PCI_CAP_ID_MSIX);
	ASSERT_LT(0, pos);
	ctrl = vmm_cfg_read16(v, pos + PCI_MSIX_FLAGS);
	n = (ctrl & PCI_MSIX_FLAGS_QSIZE) + 1;
	ASSERT_EQ(0, vmm_irq_info(v, VFIO_PCI_MSIX_IRQ_INDEX, &irq));
	TH_LOG("MSI-X table size %u, GET_IRQ_INFO count %u", n, irq.count);
	ASSERT_EQ(n, irq.count);
	ASSERT_NE(0, irq.flags & VFIO_IRQ_INFO_EVENTFD);

	table = vmm_cfg_read32(v, pos + PCI_MSIX_TABLE);
	pba = vmm_cfg_read32(v, pos + PCI_MSIX_PBA);
	bir = table & PCI_MSIX_TABLE_BIR;
	ASSERT_EQ(1, bir);
	ASSERT_EQ(1, pba & PCI_MSIX_PBA_BIR);
	tsize = vmm_region_size(v, bir);
	ASSERT_GE(tsize, (u64)(table & PCI_MSIX_TABLE_OFFSET) +
		  n * PCI_MSIX_ENTRY_SIZE);
	ASSERT_GE(tsize, (u64)(pba & PCI_MSIX_PBA_OFFSET) + (n + 63) / 64 * 8);
	/* Table and PBA do not overlap. */
	ASSERT_TRUE((pba & PCI_MSIX_PBA_OFFSET) >=
		    (table & PCI_MSIX_TABLE_OFFSET) + n * PCI_MSIX_ENTRY_SIZE ||
		    (table & PCI_MSIX_TABLE_OFFSET) >=
		    (pba & PCI_MSIX_PBA_OFFSET) + (n + 63) / 64 * 8);

	/* Only enable and function mask are writable. */
	vmm_cfg_write16(v, pos + PCI_MSIX_FLAGS, 0xffff);
	ASSERT_EQ((ctrl & PCI_MSIX_FLAGS_QSIZE) | PCI_MSIX_FLAGS_ENABLE |
		  PCI_MSIX_FLAGS_MASKALL,
		  vmm_cfg_read16(v, pos + PCI_MSIX_FLAGS));
	vmm_cfg_write16(v, pos + PCI_MSIX_FLAGS, 0);
	ASSERT_EQ(ctrl & PCI_MSIX_FLAGS_QSIZE,
		  vmm_cfg_read16(v, pos + PCI_MSIX_FLAGS));
	/* An FLR clears enable. */
	vmm_cfg_write16(v, pos + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE);
	ASSERT_EQ(0, vmm_reset(v));
	ASSERT_EQ(0, vmm_cfg_read16(v, pos + PCI_MSIX_FLAGS) &
		  PCI_MSIX_FLAGS_ENABLE);

	/* No MSI capability and no INTx line: no such interrupts. */
	ASSERT_EQ(0, vmm_irq_info(v, VFIO_PCI_MSI_IRQ_INDEX, &irq));
	ASSERT_EQ(0, irq.count);
	ASSERT_EQ(0, vmm_cap_find(v, PCI_CAP_ID_MSI));
	ASSERT_EQ(0, vmm_irq_info(v, VFIO_PCI_INTX_IRQ_INDEX, &irq));
	ASSERT_EQ(0, irq.count);
	ASSERT_EQ(0, v->err);
}

TEST_F(mdev_open, reserved_space)
{
	struct vmm *v = &self->dev.vmm;
	unsigned int off;
	struct caps c;
	u8 all[CFG_SIZE];

	ASSERT_LT(0, walk(v, &c));
	ASSERT_LT(c.end, CFG_SIZE) TH_LOG("no reserved space left to test");
	TH_LOG("reserved from 0x%02x", c.end);
	/* Header reserved bytes, then everything after the last capability. */
	for (off = PCI_CAPABILITY_LIST + 1; off < PCI_INTERRUPT_LINE; off++) {
		ASSERT_EQ(0, vmm_cfg_read8(v, off)) TH_LOG("0x%02x", off);
		vmm_cfg_write8(v, off, 0xff);
		ASSERT_EQ(0, vmm_cfg_read8(v, off)) TH_LOG("0x%02x", off);
	}
	for (off = c.end; off < CFG_SIZE; off++) {
		ASSERT_EQ(0, vmm_cfg_read8(v, off)) TH_LOG("0x%02x", off);
		vmm_cfg_write8(v, off, 0xa5);
		ASSERT_EQ(0, vmm_cfg_read8(v, off)) TH_LOG("0x%02x", off);
	}
	for (off = (c.end + 3) & ~3U; off < CFG_SIZE; off += 4) {
		vmm_cfg_write32(v, off, ~0U);
		ASSERT_EQ(0, vmm_cfg_read32(v, off)) TH_LOG("0x%02x", off);
	}
	/* The whole space in one read agrees with the byte reads. */
	ASSERT_EQ(0, vmm_region_read(v, VMM_CFG, 0, all, sizeof(all)));
	for (off = c.end; off < CFG_SIZE; off++)
		ASSERT_EQ(0, all[off]);
	ASSERT_EQ(0, v->err);
}

/* Capability IDs of the VF's own (host) configuration space. */
static int vf_cap_ids(const char *bdf, bool ids[256])
{
	char path[PATH_MAX];
	u8 cfg[CFG_SIZE];
	bool seen[CFG_SIZE] = { false };
	ssize_t n;
	int fd;
	u8 pos;

	snprintf(path, sizeof(path), VMM_PCI_DEVICES "/%s/config", bdf);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = pread(fd, cfg, sizeof(cfg), 0);
	close(fd);
	if (n != sizeof(cfg))
		return -EIO;
	memset(ids, 0, 256 * sizeof(bool));
	pos = cfg[PCI_CAPABILITY_LIST] & ~3;
	while (pos && !seen[pos]) {
		seen[pos] = true;
		ids[cfg[pos]] = true;
		pos = cfg[pos + 1] & ~3;
	}
	return 0;
}

static void ids_cb(struct vmm *v, u8 pos, u8 id, void *arg)
{
	bool *ids = arg;

	ids[id] = true;
}

TEST_F(mdev_open, nothing_of_the_vf_leaks)
{
	bool vf[256], mdev[256] = { false };
	struct vmm *v = &self->dev.vmm;
	unsigned int id, bar;
	u32 vfbar;

	ASSERT_EQ(0, vf_cap_ids(self->dev.bdf, vf));
	ASSERT_LT(0, vmm_cap_walk(v, ids_cb, mdev));
	for (id = 0; id < 256; id++) {
		if (vf[id])
			TH_LOG("VF has capability 0x%02x%s", id,
			       mdev[id] ? ", mdev too" : "");
		if (id == PCI_CAP_ID_MSIX || id == PCI_CAP_ID_VNDR)
			continue;
		/* PCIe, PM, MSI, ...: the host's view, not the guest's. */
		ASSERT_FALSE(mdev[id]) TH_LOG("capability 0x%02x exposed", id);
	}
	/* No host BAR address shows through before the VMM programs one. */
	for (bar = 0; bar < 6; bar++) {
		vfbar = vmm_cfg_read32(v, PCI_BASE_ADDRESS_0 + 4 * bar);
		ASSERT_EQ(0, vfbar & PCI_BASE_ADDRESS_MEM_MASK)
			TH_LOG("BAR%u reads 0x%08x", bar, vfbar);
	}
	/* No extended configuration space (AER, ATS, SR-IOV, ...). */
	ASSERT_EQ(CFG_SIZE, vmm_region_size(v, VMM_CFG));
	ASSERT_EQ(0, v->err);
}

TEST_F(mdev_open, pci_cfg_window)
{
	struct vmm *v = &self->dev.vmm;
	unsigned int pos, data;
	u16 nq;

	ASSERT_EQ(0, vmm_virtio_locate(v));
	ASSERT_TRUE(v->pci_cfg.found);
	pos = v->pci_cfg.pos;
	data = pos + offsetof(struct virtio_pci_cfg_cap, pci_cfg_data);
	nq = vmm_vio_num_queues(v);
	ASSERT_LE(2, nq);

	/* Read num_queues through the window. */
	vmm_cfg_write8(v, pos + VIRTIO_PCI_CAP_BAR, v->common.bar);
	vmm_cfg_write32(v, pos + VIRTIO_PCI_CAP_OFFSET,
			v->common.offset + VIRTIO_PCI_COMMON_NUMQ);
	vmm_cfg_write32(v, pos + VIRTIO_PCI_CAP_LENGTH, 2);
	ASSERT_EQ(nq, vmm_cfg_read16(v, data));

	/* Write queue_select through the window, read it directly. */
	vmm_cfg_write32(v, pos + VIRTIO_PCI_CAP_OFFSET,
			v->common.offset + VIRTIO_PCI_COMMON_Q_SELECT);
	vmm_cfg_write16(v, data, 1);
	ASSERT_EQ(1, vmm_vio_read(v, VIRTIO_PCI_COMMON_Q_SELECT, 2));

	/*
	 * A window outside the BAR moves nothing: pci_cfg_data keeps what it
	 * held (storage, as in QEMU's virtio-pci) and no register changes.
	 */
	vmm_cfg_write32(v, pos + VIRTIO_PCI_CAP_OFFSET,
			vmm_region_size(v, v->common.bar));
	ASSERT_EQ(1, vmm_cfg_read16(v, data));
	vmm_cfg_write16(v, data, 2);
	ASSERT_EQ(2, vmm_cfg_read16(v, data));
	ASSERT_EQ(1, vmm_vio_read(v, VIRTIO_PCI_COMMON_Q_SELECT, 2));
	ASSERT_EQ(0, v->err);
}

TEST_F(mdev_open, trapped_accesses_counted)
{
	char path[PATH_MAX], buf[256], *p;
	struct vmm *v = &self->dev.vmm;
	unsigned long before, after;
	int i;

	snprintf(path, sizeof(path), COUNTERS, self->dev.uuid);
	if (access(path, F_OK))
		SKIP(return, "no counters file (debugfs not mounted?)");
	ASSERT_LT(0, sysfs_read(path, buf, sizeof(buf)));
	p = strstr(buf, "config: ");
	ASSERT_NE(NULL, p);
	before = strtoul(p + 8, NULL, 10);
	for (i = 0; i < 10; i++)
		vmm_cfg_read32(v, PCI_VENDOR_ID);
	ASSERT_LT(0, sysfs_read(path, buf, sizeof(buf)));
	p = strstr(buf, "config: ");
	ASSERT_NE(NULL, p);
	after = strtoul(p + 8, NULL, 10);
	ASSERT_EQ(before + 10, after);
	ASSERT_EQ(0, v->err);
}

TEST_HARNESS_MAIN
