// SPDX-License-Identifier: GPL-2.0-only
/*
 * vhost-vfio backend for standard virtio-pci modern functions, built on the
 * kernel's virtio_pci_modern_dev library.
 */
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/virtio_pci_modern.h>

struct vvf_pci {
	struct virtio_pci_modern_device mdev;
};

static int vvf_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct vvf_pci *vf;
	int ret;

	vf = devm_kzalloc(&pdev->dev, sizeof(*vf), GFP_KERNEL);
	if (!vf)
		return -ENOMEM;

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;

	vf->mdev.pci_dev = pdev;
	ret = vp_modern_probe(&vf->mdev);
	if (ret) {
		dev_err(&pdev->dev, "not a usable virtio modern function (%d)\n", ret);
		return ret;
	}
	pci_set_drvdata(pdev, vf);
	dev_info(&pdev->dev, "virtio device %u, features %#llx, %u queues\n",
		 vf->mdev.id.device, vp_modern_get_features(&vf->mdev),
		 vp_modern_get_num_queues(&vf->mdev));
	return 0;
}

static void vvf_pci_remove(struct pci_dev *pdev)
{
	struct vvf_pci *vf = pci_get_drvdata(pdev);

	vp_modern_remove(&vf->mdev);
}

/*
 * No MODULE_DEVICE_TABLE on purpose: udev must not load this module at boot
 * and race virtio_pci for the host's own virtio NICs.  Once loaded by the
 * operator it binds functions nobody else has claimed.
 */
static const struct pci_device_id vvf_pci_ids[] = {
	{ PCI_DEVICE(PCI_VENDOR_ID_REDHAT_QUMRANET, 0x1041) },
	{ }
};

static struct pci_driver vvf_pci_driver = {
	.name = "vhost_vfio_virtio_pci",
	.id_table = vvf_pci_ids,
	.probe = vvf_pci_probe,
	.remove = vvf_pci_remove,
};

module_pci_driver(vvf_pci_driver);
MODULE_DESCRIPTION("vhost-vfio backend for virtio-pci modern functions");
MODULE_LICENSE("GPL");
