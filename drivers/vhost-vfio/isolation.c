// SPDX-License-Identifier: GPL-2.0-only
/*
 * vhost-vfio: where the VF's DMA can land, in every state, and why.
 *
 * The promise is vfio-pci's: a guest or VMM reaches through the VF nothing
 * it would not reach through the VF passed through with vfio-pci.  The
 * whole policy lives in this file:
 *
 *   state of the VF                     IOMMU domain      Bus Master
 *   ----------------------------------  ----------------  ----------------
 *   backend probing, before register    unchanged         cleared first
 *   registered, no mdev open            blocking          off
 *   mdev open, guest's BME clear        mirror (ours)     off
 *   mdev open, guest's BME set          mirror (ours)     on
 *   closed (VF reset, or reset by FLR)  blocking          off
 *   closed, neither reset worked        blocking          off, "unsafe"
 *   backend unbound, VF was quiesced    default           off
 *   backend unbound, VF "unsafe"        blocking (kept)   off
 *
 * - Registration claims DMA ownership of the VF's IOMMU group
 *   (iommu_group_claim_dma_owner(), the call vfio uses), which moves the
 *   group to a blocking domain.  A VF that is never attached to a mirror
 *   therefore cannot reach host memory, even under iommu=pt where the
 *   default domain is the identity map.  The claim fails if any other
 *   device of the group has a driver using the DMA API: the same
 *   viability rule vfio applies.
 * - Open attaches the VF to a private unmanaged domain that the mirror
 *   (mirror.c) fills with exactly what the VMM DMA-mapped.  Open is
 *   refused, as vfio_iommu_type1 refuses VFIO_SET_IOMMU, when MSI writes of
 *   the VF are not isolated by interrupt remapping (unless the operator
 *   sets allow_unsafe_interrupts), and, as vhost-vdpa refuses, when the
 *   IOMMU cannot enforce cache coherency: type1 reports a container with
 *   only emulated devices as coherent to KVM, so KVM would not honour a
 *   guest's cache flushes for non-snooped DMA.
 * - Bus Master follows the guest's command register while open and is off
 *   otherwise, so a guest that clears BME stops the VF's DMA (and its
 *   MSI-X writes) as it would on real hardware.
 * - Close stops the VF: Bus Master off, virtio reset, and if that does not
 *   complete a PCI function reset; only then are the mappings dropped and
 *   the VF returned to the blocking domain.  A VF that neither reset
 *   quiesced keeps the group claimed even after the backend unbinds, so it
 *   never reaches the default (possibly identity) domain; the log says so.
 */
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>

#include "vhost_vfio_priv.h"

static bool allow_unsafe_interrupts;
module_param(allow_unsafe_interrupts, bool, 0644);
MODULE_PARM_DESC(allow_unsafe_interrupts,
		 "Open mdevs whose VF's MSI writes are not isolated by interrupt remapping (default N; like vfio_iommu_type1's parameter, this lets a guest raise host interrupts through the VF's DMA)");

static struct pci_dev *vv_pdev(struct vhost_vfio_vf *vf)
{
	return to_pci_dev(vf->dev);
}

/**
 * vhost_vfio_isolation_claim - put a newly handed-over VF in a blocking domain
 * @vf: the VF, before its mdev parent is registered
 *
 * Return: 0, or a negative errno after logging why the VF cannot be isolated.
 */
int vhost_vfio_isolation_claim(struct vhost_vfio_vf *vf)
{
	int ret;

	if (!dev_is_pci(vf->dev)) {
		dev_err(vf->dev, "vhost-vfio: not a PCI function; cannot isolate its DMA\n");
		return -ENODEV;
	}
	/* No DMA before the group is ours (the backend cleared it too). */
	pci_clear_master(vv_pdev(vf));
	vf->group = iommu_group_get(vf->dev);
	if (!vf->group) {
		dev_err(vf->dev, "vhost-vfio: no IOMMU group: is the IOMMU enabled (intel_iommu=on / amd_iommu)?\n");
		return -ENODEV;
	}
	ret = iommu_group_claim_dma_owner(vf->group, vf);
	if (ret) {
		dev_err(vf->dev, "vhost-vfio: cannot take DMA ownership of IOMMU group %d (%d): another device of the group is driven by a DMA API driver\n",
			iommu_group_id(vf->group), ret);
		iommu_group_put(vf->group);
		vf->group = NULL;
		return ret;
	}
	return 0;
}

/**
 * vhost_vfio_isolation_release - give the group back when the VF leaves
 * @vf: the VF; no mdev exists any more
 *
 * The default domain may be the identity map, so a VF that may still be
 * doing DMA keeps its blocking domain (and the group stays claimed).
 */
void vhost_vfio_isolation_release(struct vhost_vfio_vf *vf)
{
	if (!vf->group)
		return;
	pci_clear_master(vv_pdev(vf));
	if (vf->dma_unsafe)
		dev_err(vf->dev, "vhost-vfio: the VF never completed a reset and may still do DMA: its IOMMU group %d stays blocked until reboot (no driver can bind it)\n",
			iommu_group_id(vf->group));
	else
		iommu_group_release_dma_owner(vf->group);
	iommu_group_put(vf->group);
	vf->group = NULL;
}

static void vv_excluded_free(struct vhost_vfio_dev *vd)
{
	kfree(vd->mirror.excluded);
	vd->mirror.excluded = NULL;
	vd->mirror.nr_excluded = 0;
}

/*
 * IOVA the mirror must never map, whatever the VMM DMA-mapped: the VF's
 * reserved regions (the MSI window, HyperTransport, RMRRs), as type1 keeps
 * them out of the container's IOVA list, and everything outside the
 * domain's aperture.  Sorted by start, possibly overlapping.
 */
static int vv_excluded_init(struct vhost_vfio_dev *vd)
{
	struct iommu_domain_geometry *geo = &vd->domain->geometry;
	struct iommu_resv_region *resv, *tmp;
	struct vhost_vfio_span *x;
	LIST_HEAD(resv_regions);
	unsigned int n = 3, i = 0, j;
	int ret;

	ret = iommu_get_group_resv_regions(vd->vf->group, &resv_regions);
	if (ret)
		goto out_free;
	list_for_each_entry(resv, &resv_regions, list)
		n++;
	x = kcalloc(n, sizeof(*x), GFP_KERNEL_ACCOUNT);
	if (!x) {
		ret = -ENOMEM;
		goto out_free;
	}
	list_for_each_entry(resv, &resv_regions, list) {
		/* type1 lets these be mapped too (e.g. a USB RMRR). */
		if (resv->type == IOMMU_RESV_DIRECT_RELAXABLE || !resv->length)
			continue;
		x[i].start = resv->start;
		x[i].last = resv->start + resv->length - 1;
		i++;
	}
	if (geo->force_aperture) {
		if (geo->aperture_start)
			x[i++] = (struct vhost_vfio_span){ 0,
							    geo->aperture_start - 1 };
		if (geo->aperture_end < U64_MAX)
			x[i++] = (struct vhost_vfio_span){ geo->aperture_end + 1,
							    U64_MAX };
	}
	ret = vhost_vfio_relay_reserve(vd, x, &i);
	if (ret) {
		kfree(x);
		goto out_free;
	}
	/* Few entries: insertion sort by start. */
	for (j = 1; j < i; j++) {
		struct vhost_vfio_span key = x[j];
		int k = j - 1;

		while (k >= 0 && x[k].start > key.start) {
			x[k + 1] = x[k];
			k--;
		}
		x[k + 1] = key;
	}
	vd->mirror.excluded = x;
	vd->mirror.nr_excluded = i;
out_free:
	list_for_each_entry_safe(resv, tmp, &resv_regions, list)
		kfree(resv);
	return ret;
}

/**
 * vhost_vfio_isolation_open - attach the VF to its own, empty domain
 * @vd: mediated device, lock held; the VF's Bus Master is off
 *
 * Return: 0, or a negative errno after logging why the VF cannot be given to
 * a guest.
 */
int vhost_vfio_isolation_open(struct vhost_vfio_dev *vd)
{
	struct vhost_vfio_vf *vf = vd->vf;
	struct iommu_domain *domain;
	int ret;

	/* vfio_iommu_type1's test: MSI remapping (x86 IR, ARM ITS). */
	if (!iommu_group_has_isolated_msi(vf->group) &&
	    !READ_ONCE(allow_unsafe_interrupts)) {
		dev_err(vv_dev(vd), "VF %s: no interrupt remapping, so guest-programmed DMA could raise host interrupts; open refused (vhost_vfio allow_unsafe_interrupts=1 overrides, as for vfio_iommu_type1)\n",
			dev_name(vf->dev));
		return -EPERM;
	}
	domain = iommu_paging_domain_alloc(vf->dev);
	if (IS_ERR(domain)) {
		dev_err(vv_dev(vd), "no IOMMU domain for VF %s (%ld)\n",
			dev_name(vf->dev), PTR_ERR(domain));
		return PTR_ERR(domain);
	}
	ret = iommu_attach_device(domain, vf->dev);
	if (ret) {
		dev_err(vv_dev(vd), "cannot attach VF %s to a private IOMMU domain (%d): it must be alone in its IOMMU group\n",
			dev_name(vf->dev), ret);
		goto err_free;
	}
	vd->domain = domain;
	WRITE_ONCE(vd->dma_cut_off, false);
	/* Known after attach: whether this IOMMU can force snooping. */
	if (!domain->ops->enforce_cache_coherency ||
	    !domain->ops->enforce_cache_coherency(domain)) {
		dev_err(vv_dev(vd), "the IOMMU of VF %s cannot enforce cache coherency (snoop control), and KVM treats this device's DMA as coherent; open refused\n",
			dev_name(vf->dev));
		ret = -EPERM;
		goto err_detach;
	}
	ret = vv_excluded_init(vd);
	if (ret) {
		dev_err(vv_dev(vd), "cannot read the reserved IOVA regions of VF %s (%d)\n",
			dev_name(vf->dev), ret);
		goto err_detach;
	}
	return 0;

err_detach:
	vd->domain = NULL;
	iommu_detach_device(domain, vf->dev);
err_free:
	iommu_domain_free(domain);
	return ret;
}

/**
 * vhost_vfio_isolation_close - back to the blocking domain
 * @vd: mediated device, lock held; the VF is quiet (see
 *	vhost_vfio_isolation_quiesce()) and the mirror is empty
 */
void vhost_vfio_isolation_close(struct vhost_vfio_dev *vd)
{
	vv_excluded_free(vd);
	if (!vd->domain)
		return;
	/* DMA ownership is claimed: detaching lands in the blocking domain. */
	iommu_detach_device(vd->domain, vd->vf->dev);
	iommu_domain_free(vd->domain);
	vd->domain = NULL;
}

/**
 * vhost_vfio_isolation_bus_master - apply the guest's Bus Master Enable
 * @vd: mediated device, lock held
 *
 * The VF may master only while the device is open, migration-RUNNING and
 * the guest's emulated command register has BME set, and no unmap came back
 * short (vhost_vfio_isolation_cut_off()).  Outside RUNNING the VMM may still
 * write the command register (migration.c): that must not let a stopped VF
 * DMA.
 */
void vhost_vfio_isolation_bus_master(struct vhost_vfio_dev *vd)
{
	struct pci_dev *pdev = vv_pdev(vd->vf);
	bool on = vd->open && vd->domain &&
		  vd->mig.state == VFIO_DEVICE_STATE_RUNNING &&
		  (vd->cfg[PCI_COMMAND] & PCI_COMMAND_MASTER) &&
		  !READ_ONCE(vd->dma_cut_off);

	if (!on) {
		pci_clear_master(pdev);
		return;
	}
	pci_set_master(pdev);
	/*
	 * A cut-off does not take our lock (it runs under the VMM's unmap):
	 * it sets the flag, then clears the bit; we set the bit, then look
	 * at the flag.  One of us sees the other.
	 */
	smp_mb();
	if (READ_ONCE(vd->dma_cut_off))
		pci_clear_master(pdev);
}

/**
 * vhost_vfio_isolation_cut_off - take the VF off the bus until close
 * @vd: mediated device; its lock need not be held (the mirror's is)
 *
 * For a domain that may still map pages the mirror gives back: Bus Master
 * off, and vhost_vfio_isolation_bus_master() keeps it off until the next
 * open, whose new domain starts empty.
 */
void vhost_vfio_isolation_cut_off(struct vhost_vfio_dev *vd)
{
	WRITE_ONCE(vd->dma_cut_off, true);
	/* Pairs with the barrier in vhost_vfio_isolation_bus_master(). */
	smp_mb();
	pci_clear_master(vv_pdev(vd->vf));
}

/**
 * vhost_vfio_isolation_stop_dma - Bus Master off, whatever the guest says
 * @vd: mediated device, lock held
 *
 * For a migration stop; vhost_vfio_isolation_bus_master() gives the guest's
 * setting back.
 */
void vhost_vfio_isolation_stop_dma(struct vhost_vfio_dev *vd)
{
	pci_clear_master(vv_pdev(vd->vf));
}

/**
 * vhost_vfio_isolation_quiesce - stop the VF before its mappings go away
 * @vd: mediated device, lock held
 *
 * Bus Master off first (no DMA from here on, whatever the VF thinks), then
 * a virtio reset; if the VF does not complete it, a PCI function reset.  A
 * VF that neither reset quiesced is marked unsafe: it keeps its blocking
 * domain for good (vhost_vfio_isolation_release()).
 *
 * Return: 0 if the VF is known to be quiet, else a negative errno.
 */
int vhost_vfio_isolation_quiesce(struct vhost_vfio_dev *vd)
{
	struct vhost_vfio_vf *vf = vd->vf;
	int ret, flr;

	pci_clear_master(vv_pdev(vf));
	ret = vhost_vfio_device_reset(vd);
	if (!ret)
		return 0;
	/* Trylock inside: the remove path may hold the device lock. */
	flr = pci_try_reset_function(vv_pdev(vf));
	if (!flr) {
		dev_warn(vv_dev(vd), "VF %s recovered by a PCI function reset\n",
			 dev_name(vf->dev));
		vf->dma_unsafe = false;
		pci_clear_master(vv_pdev(vf));
		return 0;
	}
	vf->dma_unsafe = true;
	dev_err(vv_dev(vd), "VF %s did not reset and a PCI function reset failed (%d): it stays in a blocking IOMMU domain with Bus Master off\n",
		dev_name(vf->dev), flr);
	return ret;
}

/**
 * vhost_vfio_isolation_state - the VF's current domain, for debugfs
 * @vd: mediated device
 *
 * Read from the IOMMU core, not from our own bookkeeping.
 *
 * Return: a static string.
 */
const char *vhost_vfio_isolation_state(struct vhost_vfio_dev *vd)
{
	struct iommu_domain *domain = iommu_get_domain_for_dev(vd->vf->dev);

	if (!domain)
		return "none";
	if (domain == vd->domain)
		return "mirror";
	if (domain->type == IOMMU_DOMAIN_IDENTITY)
		return "default-identity";
	if (domain->type & __IOMMU_DOMAIN_DMA_API)
		return "default-dma";
	/* 6.1's blocking domain may be an empty unmanaged one. */
	if (domain->type == IOMMU_DOMAIN_BLOCKED ||
	    domain->type == IOMMU_DOMAIN_UNMANAGED)
		return "blocking";
	return "other";
}

/**
 * vhost_vfio_isolation_bus_master_on - the VF's real Bus Master bit
 * @vd: mediated device
 *
 * Return: true if the VF's command register has Bus Master Enable set.
 */
bool vhost_vfio_isolation_bus_master_on(struct vhost_vfio_dev *vd)
{
	u16 cmd = 0;

	pci_read_config_word(vv_pdev(vd->vf), PCI_COMMAND, &cmd);
	return cmd & PCI_COMMAND_MASTER;
}
