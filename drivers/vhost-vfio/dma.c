// SPDX-License-Identifier: GPL-2.0-only
/*
 * vhost-vfio: the VF's DMA isolation.
 *
 * While a guest drives the VF, the VF is attached to an unmanaged IOMMU
 * domain owned by this mdev.  For now the domain stays empty so every DMA
 * the guest programs (with guest-physical addresses) faults instead of
 * reaching host memory; the DMA mirror will map the VMM's VFIO mappings
 * into this same domain.
 */
#include <linux/iommu.h>
#include <linux/pci.h>

#include "vhost_vfio_priv.h"

/**
 * vhost_vfio_dma_attach - give the VF its own, empty, IOMMU domain
 * @vd: mediated device, lock held
 *
 * Return: 0, or an errno after logging why the VF cannot be isolated.
 */
int vhost_vfio_dma_attach(struct vhost_vfio_dev *vd)
{
	struct device *vfdev = vd->vf->dev;
	struct iommu_domain *domain;
	int ret;

	if (!dev_is_pci(vfdev)) {
		dev_err(vv_dev(vd), "VF %s is not a PCI device\n", dev_name(vfdev));
		return -ENODEV;
	}
	domain = iommu_domain_alloc(&pci_bus_type);
	if (!domain) {
		dev_err(vv_dev(vd), "no IOMMU domain for VF %s: is the IOMMU enabled (intel_iommu=on / amd_iommu)?\n",
			dev_name(vfdev));
		return -ENODEV;
	}
	ret = iommu_attach_device(domain, vfdev);
	if (ret) {
		dev_err(vv_dev(vd), "cannot attach VF %s to a private IOMMU domain (%d): it must be alone in its IOMMU group\n",
			dev_name(vfdev), ret);
		iommu_domain_free(domain);
		return ret;
	}
	vd->domain = domain;
	return 0;
}

/**
 * vhost_vfio_dma_detach - return the VF to its default domain
 * @vd: mediated device, lock held; the VF must already be reset
 */
void vhost_vfio_dma_detach(struct vhost_vfio_dev *vd)
{
	if (!vd->domain)
		return;
	iommu_detach_device(vd->domain, vd->vf->dev);
	iommu_domain_free(vd->domain);
	vd->domain = NULL;
}
