// SPDX-License-Identifier: GPL-2.0-only
/*
 * vhost-vfio: emulated PCI configuration space.
 *
 * The guest sees a synthetic type-0 header and capability chain; nothing of
 * the VF's real configuration space is passed through.  Every byte is either
 * read-only (the write mask is 0), writable storage (bits set in the write
 * mask) or virtualized (the PCI_CFG access window, handled by a hook).  The
 * BAR sizing protocol falls out of the write masks: only address bits above
 * the BAR size are writable, so writing ~0 reads back the size mask with the
 * read-only flag bits.
 */
#include <linux/pci_ids.h>
#include <linux/virtio_pci.h>

#include "vhost_vfio_priv.h"

/* Capability chain layout. */
#define VV_CAP_MSIX		0x40
#define VV_CAP_COMMON		(VV_CAP_MSIX + PCI_CAP_MSIX_SIZEOF)
#define VV_CAP_NOTIFY		(VV_CAP_COMMON + sizeof(struct virtio_pci_cap))
#define VV_CAP_ISR		(VV_CAP_NOTIFY + sizeof(struct virtio_pci_notify_cap))
#define VV_CAP_DEVICE		(VV_CAP_ISR + sizeof(struct virtio_pci_cap))
#define VV_CAP_PCICFG		(VV_CAP_DEVICE + sizeof(struct virtio_pci_cap))
#define VV_CAP_END		(VV_CAP_PCICFG + sizeof(struct virtio_pci_cfg_cap))

#define VV_PCICFG_BAR		(VV_CAP_PCICFG + offsetof(struct virtio_pci_cap, bar))
#define VV_PCICFG_OFFSET	(VV_CAP_PCICFG + offsetof(struct virtio_pci_cap, offset))
#define VV_PCICFG_LENGTH	(VV_CAP_PCICFG + offsetof(struct virtio_pci_cap, length))
#define VV_PCICFG_DATA		(VV_CAP_PCICFG + \
				 offsetof(struct virtio_pci_cfg_cap, pci_cfg_data))

static void vv_put8(struct vhost_vfio_dev *vd, unsigned int off, u8 val,
		    u8 wmask)
{
	vd->cfg[off] = val;
	vd->wmask[off] = wmask;
}

static void vv_put16(struct vhost_vfio_dev *vd, unsigned int off, u16 val,
		     u16 wmask)
{
	vv_put8(vd, off, val & 0xff, wmask & 0xff);
	vv_put8(vd, off + 1, val >> 8, wmask >> 8);
}

static void vv_put32(struct vhost_vfio_dev *vd, unsigned int off, u32 val,
		     u32 wmask)
{
	vv_put16(vd, off, val & 0xffff, wmask & 0xffff);
	vv_put16(vd, off + 2, val >> 16, wmask >> 16);
}

static u32 vv_get32(struct vhost_vfio_dev *vd, unsigned int off)
{
	return vd->cfg[off] | vd->cfg[off + 1] << 8 | vd->cfg[off + 2] << 16 |
	       (u32)vd->cfg[off + 3] << 24;
}

/* A 32-bit, non-prefetchable memory BAR of power-of-two @size. */
static void vv_init_bar(struct vhost_vfio_dev *vd, unsigned int bar, u64 size)
{
	unsigned int off = PCI_BASE_ADDRESS_0 + 4 * bar;

	vv_put32(vd, off, PCI_BASE_ADDRESS_SPACE_MEMORY |
		 PCI_BASE_ADDRESS_MEM_TYPE_32, (u32)~(size - 1));
}

/* A virtio vendor capability header pointing into one of our BARs. */
static void vv_init_vcap(struct vhost_vfio_dev *vd, unsigned int pos,
			 unsigned int next, u8 len, u8 type, u8 bar,
			 u32 offset, u32 length)
{
	vv_put8(vd, pos + offsetof(struct virtio_pci_cap, cap_vndr),
		PCI_CAP_ID_VNDR, 0);
	vv_put8(vd, pos + offsetof(struct virtio_pci_cap, cap_next), next, 0);
	vv_put8(vd, pos + offsetof(struct virtio_pci_cap, cap_len), len, 0);
	vv_put8(vd, pos + offsetof(struct virtio_pci_cap, cfg_type), type, 0);
	vv_put8(vd, pos + offsetof(struct virtio_pci_cap, bar), bar, 0);
	vv_put32(vd, pos + offsetof(struct virtio_pci_cap, offset), offset, 0);
	vv_put32(vd, pos + offsetof(struct virtio_pci_cap, length), length, 0);
}

/**
 * vhost_vfio_config_init - build the guest-visible configuration space
 * @vd: mediated device
 *
 * Called at probe and at every open, so each user starts from power-on
 * values.
 */
void vhost_vfio_config_init(struct vhost_vfio_dev *vd)
{
	struct vhost_vfio_vf *vf = vd->vf;

	BUILD_BUG_ON(VV_CAP_END > VV_CFG_SIZE);
	memset(vd->cfg, 0, sizeof(vd->cfg));
	memset(vd->wmask, 0, sizeof(vd->wmask));

	vv_put16(vd, PCI_VENDOR_ID, PCI_VENDOR_ID_REDHAT_QUMRANET, 0);
	vv_put16(vd, PCI_DEVICE_ID, 0x1041, 0);
	/* No I/O BARs, so I/O decoding stays off. */
	vv_put16(vd, PCI_COMMAND, 0, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
		 PCI_COMMAND_INTX_DISABLE);
	vv_put16(vd, PCI_STATUS, PCI_STATUS_CAP_LIST, 0);
	/* Revision >= 1 marks a modern-only virtio device. */
	vv_put8(vd, PCI_REVISION_ID, 1, 0);
	vv_put8(vd, PCI_CLASS_PROG, 0, 0);
	vv_put16(vd, PCI_CLASS_DEVICE, PCI_CLASS_NETWORK_ETHERNET, 0);
	/* Firmware writes it; plain storage with no effect. */
	vv_put8(vd, PCI_CACHE_LINE_SIZE, 0, 0xff);
	vv_put8(vd, PCI_HEADER_TYPE, PCI_HEADER_TYPE_NORMAL, 0);

	vv_init_bar(vd, VV_BAR_COMMON, VV_BAR0_SIZE);
	vv_init_bar(vd, VV_BAR_MSIX, VV_BAR1_SIZE);
	vv_init_bar(vd, VV_BAR_NOTIFY, vf->notify_bar_size);

	/*
	 * The VF's subsystem IDs: virtio drivers report the subsystem vendor
	 * as the virtio vendor, and guest tools can tell the hardware apart.
	 */
	vv_put16(vd, PCI_SUBSYSTEM_VENDOR_ID, vf->ids.subvendor, 0);
	vv_put16(vd, PCI_SUBSYSTEM_ID, vf->ids.subdevice, 0);
	vv_put8(vd, PCI_CAPABILITY_LIST, VV_CAP_MSIX, 0);
	/* Interrupt line is scratch storage for firmware; pin is 0: no INTx. */
	vv_put8(vd, PCI_INTERRUPT_LINE, 0, 0xff);

	/* MSI-X: only enable and function mask are writable. */
	vv_put8(vd, VV_CAP_MSIX + PCI_CAP_LIST_ID, PCI_CAP_ID_MSIX, 0);
	vv_put8(vd, VV_CAP_MSIX + PCI_CAP_LIST_NEXT, VV_CAP_COMMON, 0);
	vv_put16(vd, VV_CAP_MSIX + PCI_MSIX_FLAGS, vf->msix_vectors - 1,
		 PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	vv_put32(vd, VV_CAP_MSIX + PCI_MSIX_TABLE,
		 VV_MSIX_TABLE_OFF | VV_BAR_MSIX, 0);
	vv_put32(vd, VV_CAP_MSIX + PCI_MSIX_PBA, VV_MSIX_PBA_OFF | VV_BAR_MSIX, 0);

	vv_init_vcap(vd, VV_CAP_COMMON, VV_CAP_NOTIFY,
		     sizeof(struct virtio_pci_cap), VIRTIO_PCI_CAP_COMMON_CFG,
		     VV_BAR_COMMON, VV_COMMON_OFF, VV_STRUCT_LEN);
	/* Same multiplier as the VF so BAR2 can map 1:1 onto its doorbells. */
	vv_init_vcap(vd, VV_CAP_NOTIFY, VV_CAP_ISR,
		     sizeof(struct virtio_pci_notify_cap),
		     VIRTIO_PCI_CAP_NOTIFY_CFG, VV_BAR_NOTIFY, 0,
		     vf->notify_len);
	vv_put32(vd, VV_CAP_NOTIFY +
		 offsetof(struct virtio_pci_notify_cap, notify_off_multiplier),
		 vf->notify_mult, 0);
	vv_init_vcap(vd, VV_CAP_ISR, VV_CAP_DEVICE,
		     sizeof(struct virtio_pci_cap), VIRTIO_PCI_CAP_ISR_CFG,
		     VV_BAR_COMMON, VV_ISR_OFF, VV_STRUCT_LEN);
	vv_init_vcap(vd, VV_CAP_DEVICE, VV_CAP_PCICFG,
		     sizeof(struct virtio_pci_cap), VIRTIO_PCI_CAP_DEVICE_CFG,
		     VV_BAR_COMMON, VV_DEVICE_OFF, VV_STRUCT_LEN);
	/* The PCI_CFG window: bar, offset, length and data are writable. */
	vv_init_vcap(vd, VV_CAP_PCICFG, 0, sizeof(struct virtio_pci_cfg_cap),
		     VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0);
	vd->wmask[VV_PCICFG_BAR] = 0xff;
	vv_put32(vd, VV_PCICFG_OFFSET, 0, ~0U);
	vv_put32(vd, VV_PCICFG_LENGTH, 0, ~0U);
	vv_put32(vd, VV_PCICFG_DATA, 0, ~0U);
}

/**
 * vhost_vfio_config_reset - function-level reset of the emulated header
 * @vd: mediated device
 *
 * Like an FLR: decoding, MSI-X and the PCI_CFG window go back to their reset
 * values.  The BARs keep their addresses since the VMM restores them from
 * its own copy anyway.
 */
void vhost_vfio_config_reset(struct vhost_vfio_dev *vd)
{
	vv_put16(vd, PCI_COMMAND, 0, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
		 PCI_COMMAND_INTX_DISABLE);
	vhost_vfio_isolation_bus_master(vd);
	vd->cfg[VV_CAP_MSIX + PCI_MSIX_FLAGS + 1] &=
		~((PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL) >> 8);
	vd->cfg[VV_PCICFG_BAR] = 0;
	vv_put32(vd, VV_PCICFG_OFFSET, 0, ~0U);
	vv_put32(vd, VV_PCICFG_LENGTH, 0, ~0U);
	vv_put32(vd, VV_PCICFG_DATA, 0, ~0U);
}

/*
 * VIRTIO_PCI_CAP_PCI_CFG: the guest selects bar/offset/length in the
 * capability and then accesses pci_cfg_data, which goes through the same
 * BAR dispatch as an MMIO access would, split into naturally aligned pieces
 * the way vfio splits an unaligned access of the BAR itself (virtio 1.2,
 * 4.1.4.9.1 asks the driver for an aligned offset; a device decoding byte
 * enables would answer an unaligned one with exactly its bytes).
 *
 * pci_cfg_data is storage, as in QEMU's virtio-pci: a read stores the first
 * cap.length bytes read and leaves the others, and nothing happens while
 * the window is closed (length 0, e.g. a VMM reading all of config space).
 */
static void vv_pcicfg_access(struct vhost_vfio_dev *vd, bool write)
{
	u32 bar = vd->cfg[VV_PCICFG_BAR];
	u32 off = vv_get32(vd, VV_PCICFG_OFFSET);
	u32 len = vv_get32(vd, VV_PCICFG_LENGTH);
	u8 *data = &vd->cfg[VV_PCICFG_DATA];
	unsigned int done, piece;
	u8 buf[4] = { };
	int ret = -EINVAL;

	if (!len)
		return;
	/* A BAR write through config space is still a BAR write (migration.c). */
	if (write && !vhost_vfio_migration_allows_write(vd, false))
		return;
	if ((len == 1 || len == 2 || len == 4) && bar < PCI_STD_NUM_BARS) {
		if (write)
			memcpy(buf, data, len);
		for (done = 0, ret = 0; done < len && !ret; done += piece) {
			piece = vv_piece_len(off + done, len - done);
			ret = vhost_vfio_bar_rw(vd, bar, (u64)off + done,
						buf + done, piece, write);
		}
	}
	if (ret) {
		dev_warn_ratelimited(vv_dev(vd),
				     "PCI_CFG window access to bar %u offset 0x%x length %u rejected\n",
				     bar, off, len);
		return;
	}
	if (!write)
		memcpy(data, buf, len);
}

/**
 * vhost_vfio_config_rw - access the emulated configuration space
 * @vd: mediated device, lock held
 * @off: offset in configuration space
 * @buf: little-endian data
 * @len: 1, 2 or 4
 * @write: direction
 *
 * Return: 0 or -EINVAL for accesses outside the 256 byte header.
 */
int vhost_vfio_config_rw(struct vhost_vfio_dev *vd, unsigned int off,
			 u8 *buf, unsigned int len, bool write)
{
	bool window;
	unsigned int i;

	if ((len != 1 && len != 2 && len != 4) || off >= VV_CFG_SIZE ||
	    len > VV_CFG_SIZE - off)
		return -EINVAL;

	vd->counters.config++;
	window = off < VV_PCICFG_DATA + 4 && off + len > VV_PCICFG_DATA;

	if (!write) {
		if (window)
			vv_pcicfg_access(vd, false);
		memcpy(buf, &vd->cfg[off], len);
		return 0;
	}

	for (i = 0; i < len; i++) {
		u8 m = vd->wmask[off + i];

		vd->cfg[off + i] = (vd->cfg[off + i] & ~m) | (buf[i] & m);
	}
	/* The guest's Bus Master Enable gates the VF's DMA. */
	if (off <= PCI_COMMAND && off + len > PCI_COMMAND)
		vhost_vfio_isolation_bus_master(vd);
	if (window)
		vv_pcicfg_access(vd, true);
	return 0;
}
