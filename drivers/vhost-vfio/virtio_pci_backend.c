// SPDX-License-Identifier: GPL-2.0-only
/*
 * vhost-vfio backend for standard virtio-pci modern functions, built on the
 * kernel's virtio_pci_modern_dev library.
 */
#include <linux/iopoll.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/vhost_vfio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci_modern.h>
#include <linux/unaligned.h>

/* The spec asks drivers to wait for reset completion; bound it at 1 s. */
#define VVF_RESET_TIMEOUT_US	USEC_PER_SEC

/*
 * The notify structure this backend uses, chosen and mapped by us: the
 * library picks the first notify capability in any BAR, which may be a
 * port-I/O one that cannot be mapped into a guest.
 */
struct vvf_pci {
	struct vhost_vfio_backend be;
	struct virtio_pci_modern_device mdev;
	struct vhost_vfio_vf *core;
	struct vhost_vfio_queue_facts *queues;
	void __iomem *notify;
	int notify_cap;
	u8 notify_bar;
	u32 notify_off;
	u32 notify_len;
	u32 notify_mult;
	bool notify_is_mem;
	phys_addr_t notify_pa;
	int nvec;
};

static struct vvf_pci *to_vvf(struct vhost_vfio_backend *be)
{
	return container_of(be, struct vvf_pci, be);
}

static struct virtio_pci_modern_device *vvf_mdev(struct vhost_vfio_backend *be)
{
	return &to_vvf(be)->mdev;
}

static void vvf_set_features(struct vhost_vfio_backend *be, u64 features)
{
	vp_modern_set_features(vvf_mdev(be), features);
}

static u8 vvf_get_status(struct vhost_vfio_backend *be)
{
	return vp_modern_get_status(vvf_mdev(be));
}

static void vvf_set_status(struct vhost_vfio_backend *be, u8 status)
{
	vp_modern_set_status(vvf_mdev(be), status);
}

static int vvf_reset_mdev(struct virtio_pci_modern_device *mdev)
{
	u8 status;

	vp_modern_set_status(mdev, 0);
	return read_poll_timeout(vp_modern_get_status, status, !status,
				 1000, VVF_RESET_TIMEOUT_US, false, mdev);
}

static int vvf_reset(struct vhost_vfio_backend *be)
{
	return vvf_reset_mdev(vvf_mdev(be));
}

/*
 * num_queues may be read at any time, but some devices (QEMU's virtio-net)
 * instantiate the queues of the pairs beyond the first only once
 * VIRTIO_NET_F_MQ is negotiated.  Negotiate it, with what it depends on,
 * while vhost_vfio_register_vf() reads the queue layout, so the VF is
 * described with all of its queues; the caller resets the VF afterwards.
 */
static void vvf_expose_all_queues(struct vvf_pci *vf)
{
	struct virtio_pci_modern_device *mdev = &vf->mdev;
	u64 features = vp_modern_get_features(mdev);
	u8 status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	if (!(features & BIT_ULL(VIRTIO_NET_F_MQ)))
		return;
	vp_modern_set_status(mdev, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	vp_modern_set_status(mdev, status);
	vp_modern_set_features(mdev, features &
			       (BIT_ULL(VIRTIO_F_VERSION_1) |
				BIT_ULL(VIRTIO_F_ACCESS_PLATFORM) |
				BIT_ULL(VIRTIO_NET_F_CTRL_VQ) |
				BIT_ULL(VIRTIO_NET_F_MQ)));
	vp_modern_set_status(mdev, status | VIRTIO_CONFIG_S_FEATURES_OK);
}

static u16 vvf_queue_set_size(struct vhost_vfio_backend *be, u16 qid, u16 size)
{
	struct virtio_pci_modern_device *mdev = vvf_mdev(be);

	vp_modern_set_queue_size(mdev, qid, size);
	return vp_modern_get_queue_size(mdev, qid);
}

static void vvf_queue_set_address(struct vhost_vfio_backend *be, u16 qid,
				  u64 desc, u64 avail, u64 used)
{
	vp_modern_queue_address(vvf_mdev(be), qid, desc, avail, used);
}

static void vvf_queue_set_enable(struct vhost_vfio_backend *be, u16 qid,
				 bool enable)
{
	vp_modern_set_queue_enable(vvf_mdev(be), qid, enable);
}

static bool vvf_queue_get_enable(struct vhost_vfio_backend *be, u16 qid)
{
	return vp_modern_get_queue_enable(vvf_mdev(be), qid);
}

static u16 vvf_queue_set_vector(struct vhost_vfio_backend *be, u16 qid,
				u16 vector)
{
	return vp_modern_queue_vector(vvf_mdev(be), qid, vector);
}

static void vvf_notify_write(struct vhost_vfio_backend *be, u64 offset,
			     u32 val, unsigned int size)
{
	struct vvf_pci *vf = to_vvf(be);

	if (offset >= vf->notify_len || size > vf->notify_len - offset)
		return;
	if (size == 4)
		iowrite32(val, vf->notify + offset);
	else if (size == 2)
		iowrite16(val, vf->notify + offset);
}

static u16 vvf_set_config_vector(struct vhost_vfio_backend *be, u16 vector)
{
	return vp_modern_config_vector(vvf_mdev(be), vector);
}

static u32 vvf_config_generation(struct vhost_vfio_backend *be)
{
	return vp_modern_generation(vvf_mdev(be));
}

static bool vvf_config_range_ok(struct vhost_vfio_backend *be,
				unsigned int offset, unsigned int len)
{
	u32 size = be->facts.config_size;

	return len && offset < size && len <= size - offset;
}

/* Use the access width the caller used, so field semantics are kept. */
static int vvf_config_read(struct vhost_vfio_backend *be, unsigned int offset,
			   void *buf, unsigned int len)
{
	void __iomem *base = vvf_mdev(be)->device;
	u8 *p = buf;
	unsigned int i;

	if (!vvf_config_range_ok(be, offset, len))
		return -EINVAL;
	if (len == 4 && IS_ALIGNED(offset, 4)) {
		put_unaligned_le32(ioread32(base + offset), p);
	} else if (len == 2 && IS_ALIGNED(offset, 2)) {
		put_unaligned_le16(ioread16(base + offset), p);
	} else {
		for (i = 0; i < len; i++)
			p[i] = ioread8(base + offset + i);
	}
	return 0;
}

static u8 vvf_isr_read(struct vhost_vfio_backend *be)
{
	return vp_ioread8(vvf_mdev(be)->isr);
}

static int vvf_vector_irq(struct vhost_vfio_backend *be, u16 vector)
{
	struct vvf_pci *vf = to_vvf(be);

	if (vector >= vf->nvec)
		return -EINVAL;
	return pci_irq_vector(vf->mdev.pci_dev, vector);
}

/* BAR, offset and length of the virtio structure described at @cap. */
static void vvf_cap_region(struct pci_dev *pdev, int cap, u8 *bar, u32 *off,
			   u32 *len)
{
	pci_read_config_byte(pdev, cap + offsetof(struct virtio_pci_cap, bar),
			     bar);
	pci_read_config_dword(pdev, cap + offsetof(struct virtio_pci_cap, offset),
			      off);
	pci_read_config_dword(pdev, cap + offsetof(struct virtio_pci_cap, length),
			      len);
}

/*
 * The notify structure to use: the first notify capability in a memory BAR,
 * else the first in an I/O BAR (its doorbells then stay trapped).  A
 * device may offer several, and the driver may use any it supports.
 */
static int vvf_find_notify_cap(struct pci_dev *pdev)
{
	unsigned long want[] = { IORESOURCE_MEM, IORESOURCE_IO };
	unsigned int i;
	u8 type, bar;
	int pos;

	for (i = 0; i < ARRAY_SIZE(want); i++) {
		for (pos = pci_find_capability(pdev, PCI_CAP_ID_VNDR); pos;
		     pos = pci_find_next_capability(pdev, pos, PCI_CAP_ID_VNDR)) {
			pci_read_config_byte(pdev, pos +
					     offsetof(struct virtio_pci_cap, cfg_type),
					     &type);
			pci_read_config_byte(pdev, pos +
					     offsetof(struct virtio_pci_cap, bar),
					     &bar);
			if (type == VIRTIO_PCI_CAP_NOTIFY_CFG &&
			    bar < PCI_STD_NUM_BARS &&
			    (pci_resource_flags(pdev, bar) & want[i]))
				return pos;
		}
	}
	return 0;
}

static bool vvf_overlaps(u64 a, u64 alen, u64 b, u64 blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/*
 * The doorbell pages a guest may map: the whole pages inside our notify
 * structure, from its start, if it is in a memory BAR and starts on a page
 * boundary, and no other virtio structure, MSI-X table or PBA shares those
 * pages (a guest could otherwise reach registers the host mediates).  The
 * address given is the only one the core maps; NULL, or why not.
 */
static const char *vvf_notify_map_check(struct vvf_pci *vf, phys_addr_t *pa,
					u64 *len)
{
	struct pci_dev *pdev = vf->mdev.pci_dev;
	u8 nbar = vf->notify_bar, bar, type;
	u32 off, clen, tbl, mlen;
	u64 pstart = vf->notify_off, plen;
	u16 ctrl;
	int pos;

	if (!vf->notify_is_mem)
		return "notify structure is in an I/O BAR";
	if (!PAGE_ALIGNED(vf->notify_pa))
		return "notify structure not page aligned";
	plen = round_down(vf->notify_len, PAGE_SIZE);
	if (!plen)
		return "notify structure smaller than a page";

	for (pos = pci_find_capability(pdev, PCI_CAP_ID_VNDR); pos;
	     pos = pci_find_next_capability(pdev, pos, PCI_CAP_ID_VNDR)) {
		pci_read_config_byte(pdev, pos +
				     offsetof(struct virtio_pci_cap, cfg_type),
				     &type);
		/* PCI_CFG describes no memory. */
		if (pos == vf->notify_cap || type == VIRTIO_PCI_CAP_PCI_CFG)
			continue;
		vvf_cap_region(pdev, pos, &bar, &off, &clen);
		if (bar == nbar && vvf_overlaps(pstart, plen, off, clen))
			return "notify pages shared with other virtio registers";
	}

	pos = pdev->msix_cap;
	if (pos) {
		pci_read_config_word(pdev, pos + PCI_MSIX_FLAGS, &ctrl);
		mlen = ((ctrl & PCI_MSIX_FLAGS_QSIZE) + 1) * PCI_MSIX_ENTRY_SIZE;
		pci_read_config_dword(pdev, pos + PCI_MSIX_TABLE, &tbl);
		if ((tbl & PCI_MSIX_TABLE_BIR) == nbar &&
		    vvf_overlaps(pstart, plen, tbl & PCI_MSIX_TABLE_OFFSET, mlen))
			return "notify pages shared with the MSI-X table";
		pci_read_config_dword(pdev, pos + PCI_MSIX_PBA, &tbl);
		if ((tbl & PCI_MSIX_PBA_BIR) == nbar &&
		    vvf_overlaps(pstart, plen, tbl & PCI_MSIX_PBA_OFFSET,
				 DIV_ROUND_UP(mlen / PCI_MSIX_ENTRY_SIZE, 64) * 8))
			return "notify pages shared with the MSI-X PBA";
	}
	*pa = vf->notify_pa;
	*len = plen;
	return NULL;
}

static const struct vhost_vfio_backend_ops vvf_ops = {
	.set_features = vvf_set_features,
	.get_status = vvf_get_status,
	.set_status = vvf_set_status,
	.reset = vvf_reset,
	.queue_set_size = vvf_queue_set_size,
	.queue_set_address = vvf_queue_set_address,
	.queue_set_enable = vvf_queue_set_enable,
	.queue_get_enable = vvf_queue_get_enable,
	.queue_set_vector = vvf_queue_set_vector,
	.notify_write = vvf_notify_write,
	.set_config_vector = vvf_set_config_vector,
	.config_generation = vvf_config_generation,
	.config_read = vvf_config_read,
	.isr_read = vvf_isr_read,
	.vector_irq = vvf_vector_irq,
};

/* Find, check and map the notify structure (see struct vvf_pci). */
static int vvf_map_notify(struct vvf_pci *vf)
{
	struct pci_dev *pdev = vf->mdev.pci_dev;
	int cap = vvf_find_notify_cap(pdev);
	u32 offset, length;
	u8 bar;

	if (!cap) {
		dev_err(&pdev->dev, "no usable virtio notify capability\n");
		return -ENODEV;
	}
	vvf_cap_region(pdev, cap, &bar, &offset, &length);
	if (!length || (u64)offset + length > pci_resource_len(pdev, bar)) {
		dev_err(&pdev->dev, "notify area bar %u offset 0x%x length 0x%x is invalid\n",
			bar, offset, length);
		return -ENODEV;
	}
	pci_read_config_dword(pdev, cap +
			      offsetof(struct virtio_pci_notify_cap,
				       notify_off_multiplier),
			      &vf->notify_mult);
	vf->notify = pci_iomap_range(pdev, bar, offset, length);
	if (!vf->notify)
		return -ENOMEM;
	vf->notify_cap = cap;
	vf->notify_bar = bar;
	vf->notify_off = offset;
	vf->notify_len = length;
	vf->notify_is_mem = pci_resource_flags(pdev, bar) & IORESOURCE_MEM;
	vf->notify_pa = pci_resource_start(pdev, bar) + offset;
	return 0;
}

static void vvf_unmap_notify(struct vvf_pci *vf)
{
	if (vf->notify)
		pci_iounmap(vf->mdev.pci_dev, vf->notify);
	vf->notify = NULL;
}

/*
 * Read what the VF is, once: the core keeps these facts for as long as the
 * VF is bound.  Queue sizes are read right after a reset (with every queue
 * exposed, see vvf_expose_all_queues()), when queue_size holds the maximum.
 */
static int vvf_read_facts(struct vvf_pci *vf)
{
	struct virtio_pci_modern_device *mdev = &vf->mdev;
	struct virtio_pci_common_cfg __iomem *cfg = mdev->common;
	struct vhost_vfio_vf_facts *facts = &vf->be.facts;
	u16 qid, nq;

	facts->features = vp_modern_get_features(mdev);
	nq = vp_modern_get_num_queues(mdev);
	vf->queues = kcalloc(nq, sizeof(*vf->queues), GFP_KERNEL);
	if (nq && !vf->queues)
		return -ENOMEM;
	for (qid = 0; qid < nq; qid++) {
		vf->queues[qid].max_size = vp_modern_get_queue_size(mdev, qid);
		/* The library has no getter for queue_notify_off alone. */
		vp_iowrite16(qid, &cfg->queue_select);
		vf->queues[qid].notify_off = vp_ioread16(&cfg->queue_notify_off);
	}
	facts->num_queues = nq;
	facts->queues = vf->queues;
	facts->msix_vectors = vf->nvec;
	facts->config_size = mdev->device ? mdev->device_len : 0;
	facts->notify_len = vf->notify_len;
	facts->notify_mult = vf->notify_mult;
	facts->notify_width = sizeof(u16);
	facts->notify_map_refusal =
		vvf_notify_map_check(vf, &facts->notify_map_pa,
				     &facts->notify_map_len);
	if (facts->notify_map_refusal) {
		facts->notify_map_pa = 0;
		facts->notify_map_len = 0;
	}
	return 0;
}

static int vvf_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct vvf_pci *vf;
	int nvec, ret;

	vf = devm_kzalloc(&pdev->dev, sizeof(*vf), GFP_KERNEL);
	if (!vf)
		return -ENOMEM;

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;

	/* Whatever drove it before: no DMA until a guest is attached. */
	pci_clear_master(pdev);

	vf->mdev.pci_dev = pdev;
	ret = vp_modern_probe(&vf->mdev);
	if (ret) {
		dev_err(&pdev->dev, "not a usable virtio modern function (%d)\n", ret);
		return ret;
	}

	ret = vvf_reset_mdev(&vf->mdev);
	if (ret) {
		dev_err(&pdev->dev, "device did not complete reset\n");
		goto err_remove;
	}

	ret = vvf_map_notify(vf);
	if (ret)
		goto err_remove;

	/*
	 * Allocate every vector now so each has a Linux irq the data path
	 * can later hand to the guest; no handlers are installed yet.
	 */
	nvec = pci_msix_vec_count(pdev);
	if (nvec <= 0) {
		dev_err(&pdev->dev, "no MSI-X capability; guests need MSI-X\n");
		ret = -ENODEV;
		goto err_unmap;
	}
	ret = pci_alloc_irq_vectors(pdev, nvec, nvec, PCI_IRQ_MSIX);
	if (ret < 0) {
		dev_err(&pdev->dev, "cannot allocate %d MSI-X vectors (%d)\n",
			nvec, ret);
		goto err_unmap;
	}
	vf->nvec = ret;

	/*
	 * Bus Master stays off: the core turns it on only while a guest that
	 * enabled it drives the VF through its own IOMMU domain.  The core
	 * resets the VF after reading its layout, before the mdev parent
	 * appears.
	 */
	pci_set_drvdata(pdev, vf);

	vvf_expose_all_queues(vf);
	ret = vvf_read_facts(vf);
	if (ret)
		goto err_master;
	vf->be.dev = &pdev->dev;
	vf->be.ops = &vvf_ops;
	vf->core = vhost_vfio_register_vf(&vf->be);
	if (IS_ERR(vf->core)) {
		vvf_reset_mdev(&vf->mdev);
		ret = PTR_ERR(vf->core);
		dev_err(&pdev->dev, "vhost-vfio refused the function (%d)\n",
			ret);
		goto err_master;
	}
	return 0;

err_master:
	kfree(vf->queues);
	pci_free_irq_vectors(pdev);
err_unmap:
	vvf_unmap_notify(vf);
err_remove:
	vp_modern_remove(&vf->mdev);
	return ret;
}

static void vvf_pci_remove(struct pci_dev *pdev)
{
	struct vvf_pci *vf = pci_get_drvdata(pdev);

	/* Removes the mdev first; the core stops calling us after this. */
	vhost_vfio_unregister_vf(vf->core);
	vvf_reset_mdev(&vf->mdev);
	kfree(vf->queues);
	pci_clear_master(pdev);
	pci_free_irq_vectors(pdev);
	vvf_unmap_notify(vf);
	vp_modern_remove(&vf->mdev);
}

/*
 * No MODULE_DEVICE_TABLE on purpose: udev must not load this module at boot
 * and race virtio_pci for the host's own virtio NICs.  Once loaded by the
 * operator it binds functions nobody else has claimed.  Other virtio-pci
 * modern functions can be handed over with driver_override.
 */
static const struct pci_device_id vvf_pci_ids[] = {
	/* Intel IFC VF (virtio-net compatible) */
	{ PCI_DEVICE_SUB(PCI_VENDOR_ID_REDHAT_QUMRANET, 0x1041,
			 PCI_VENDOR_ID_INTEL, 0x001a) },
	/* Any virtio-net modern function */
	{ PCI_DEVICE(PCI_VENDOR_ID_REDHAT_QUMRANET, 0x1041) },
	{ }
};

static struct pci_driver vvf_pci_driver = {
	.name = "vhost_vfio_virtio_pci",
	.id_table = vvf_pci_ids,
	.probe = vvf_pci_probe,
	.remove = vvf_pci_remove,
	/* The VF's DMA goes through vhost-vfio's IOMMU domain, not ours. */
	.driver_managed_dma = true,
};

module_pci_driver(vvf_pci_driver);
MODULE_DESCRIPTION("vhost-vfio backend for virtio-pci modern functions");
MODULE_LICENSE("GPL");
