// SPDX-License-Identifier: GPL-2.0-only
/*
 * vhost-vfio core: registers the mdev driver that turns a virtio function
 * handed over by a backend into a vfio-pci compatible mediated device, and
 * the registration API backends use to hand functions over.
 */
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/virtio_net.h>

#include "vhost_vfio_priv.h"

static int vhost_vfio_mdev_probe(struct mdev_device *mdev)
{
	struct vhost_vfio_vf *vf = container_of(mdev->type, struct vhost_vfio_vf,
						type);
	struct vhost_vfio_dev *vd;
	int ret;

	/* Claim the VF first: one mediated device per VF. */
	mutex_lock(&vf->lock);
	if (vf->vdev) {
		mutex_unlock(&vf->lock);
		dev_warn_ratelimited(vf->dev,
				     "already has a mediated device; remove it first\n");
		return -EUSERS;
	}
	vf->vdev = ERR_PTR(-EBUSY);
	mutex_unlock(&vf->lock);

	vd = vfio_alloc_device(vhost_vfio_dev, vdev, &mdev->dev,
			       &vhost_vfio_dev_ops);
	if (IS_ERR(vd)) {
		ret = PTR_ERR(vd);
		goto err_unclaim;
	}

	vd->vf = vf;
	mutex_init(&vd->lock);
	mutex_init(&vd->db_lock);
	vhost_vfio_relay_init(vd);
	vhost_vfio_mirror_init(vd);
	vd->features_mask = ~0ULL;
	vd->vqs = kcalloc(vf->num_queues, sizeof(*vd->vqs), GFP_KERNEL);
	if (!vd->vqs) {
		ret = -ENOMEM;
		goto err_put;
	}
	ret = vhost_vfio_irqs_alloc(vd);
	if (ret)
		goto err_put;
	vd->offered = vhost_vfio_offered_features(vd);
	vd->pairs = vhost_vfio_guest_pairs(vd);
	vd->num_queues = vhost_vfio_guest_num_queues(vd, vd->offered);
	vhost_vfio_config_init(vd);
	vhost_vfio_virtio_reset(vd);

	dev_set_drvdata(&mdev->dev, vd);
	ret = vfio_register_emulated_iommu_dev(&vd->vdev);
	if (ret)
		goto err_put;

	vhost_vfio_debugfs_add(vd);

	mutex_lock(&vf->lock);
	vf->vdev = vd;
	mutex_unlock(&vf->lock);
	dev_info(&mdev->dev, "mediating %s\n", dev_name(vf->dev));
	return 0;

err_put:
	dev_set_drvdata(&mdev->dev, NULL);
	vfio_put_device(&vd->vdev);
err_unclaim:
	mutex_lock(&vf->lock);
	vf->vdev = NULL;
	mutex_unlock(&vf->lock);
	return ret;
}

static void vhost_vfio_mdev_remove(struct mdev_device *mdev)
{
	struct vhost_vfio_dev *vd = dev_get_drvdata(&mdev->dev);
	struct vhost_vfio_vf *vf = vd->vf;

	/* Waits until userspace closed the device. */
	vfio_unregister_group_dev(&vd->vdev);
	vhost_vfio_debugfs_remove(vd);

	mutex_lock(&vf->lock);
	vf->vdev = NULL;
	mutex_unlock(&vf->lock);

	dev_set_drvdata(&mdev->dev, NULL);
	vfio_put_device(&vd->vdev);
}

static unsigned int vhost_vfio_get_available(struct mdev_type *mtype)
{
	struct vhost_vfio_vf *vf = container_of(mtype, struct vhost_vfio_vf,
						type);
	unsigned int avail;

	mutex_lock(&vf->lock);
	avail = vf->vdev ? 0 : 1;
	mutex_unlock(&vf->lock);
	return avail;
}

static ssize_t vhost_vfio_show_description(struct mdev_type *mtype, char *buf)
{
	struct vhost_vfio_vf *vf = container_of(mtype, struct vhost_vfio_vf,
						type);

	return sysfs_emit(buf,
			  "virtio-net on %s (%04x:%04x subsystem %04x:%04x): %u queue pairs, %u MSI-X vectors, VF features 0x%016llx, %u quirk(s)\n",
			  dev_name(vf->dev), vf->ids.vendor, vf->ids.device,
			  vf->ids.subvendor, vf->ids.subdevice, vf->max_pairs,
			  vf->msix_vectors, vf->features, vf->nr_quirks);
}

static struct mdev_driver vhost_vfio_mdev_driver = {
	.device_api = VFIO_DEVICE_API_PCI_STRING,
	.max_instances = 1,
	.driver = {
		.name = "vhost_vfio",
		.owner = THIS_MODULE,
		.mod_name = KBUILD_MODNAME,
		.dev_groups = vhost_vfio_mdev_groups,
	},
	.probe = vhost_vfio_mdev_probe,
	.remove = vhost_vfio_mdev_remove,
	.get_available = vhost_vfio_get_available,
	.show_description = vhost_vfio_show_description,
};

static bool vhost_vfio_ops_complete(const struct vhost_vfio_backend_ops *ops)
{
	return ops && ops->set_features && ops->get_status &&
	       ops->set_status && ops->reset && ops->queue_set_size &&
	       ops->queue_set_address && ops->queue_set_enable &&
	       ops->queue_get_enable && ops->queue_set_vector &&
	       ops->notify_write && ops->set_config_vector &&
	       ops->config_generation && ops->config_read &&
	       ops->isr_read && ops->vector_irq;
}

/* Keep and check the facts the backend read; they do not change while bound. */
static int vhost_vfio_vf_take_facts(struct vhost_vfio_vf *vf)
{
	const struct vhost_vfio_vf_facts *facts = &vf->be->facts;
	struct pci_dev *pdev = to_pci_dev(vf->dev);
	int ret;
	u16 i;

	vf->ids.vendor = pdev->vendor;
	vf->ids.device = pdev->device;
	vf->ids.subvendor = pdev->subsystem_vendor;
	vf->ids.subdevice = pdev->subsystem_device;

	vf->features = facts->features;
	vf->num_queues = facts->num_queues;
	if (!vf->num_queues || !facts->queues) {
		dev_err(vf->dev, "VF reports no virtqueues\n");
		return -ENODEV;
	}
	vf->config_size = facts->config_size;
	ret = vhost_vfio_vf_max_pairs(vf);
	if (ret < 0)
		return ret;
	vf->max_pairs = ret;

	vf->msix_vectors = facts->msix_vectors;
	if (!vf->msix_vectors) {
		dev_err(vf->dev, "VF has no MSI-X vectors; guests could not get interrupts\n");
		return -ENODEV;
	}
	if (vf->msix_vectors > VV_MSIX_MAX_VECTORS) {
		dev_info(vf->dev, "exposing %u of the VF's %u MSI-X vectors\n",
			 VV_MSIX_MAX_VECTORS, vf->msix_vectors);
		vf->msix_vectors = VV_MSIX_MAX_VECTORS;
	}

	vf->notify_mult = facts->notify_mult;
	vf->notify_len = facts->notify_len;
	vf->notify_width = facts->notify_width;
	if (!vf->notify_len || vf->notify_len > SZ_1G) {
		dev_err(vf->dev, "unusable notify area length %llu\n",
			vf->notify_len);
		return -ENODEV;
	}
	if (vf->notify_width != 2 && vf->notify_width != 4) {
		dev_err(vf->dev, "unusable doorbell width %u\n",
			vf->notify_width);
		return -ENODEV;
	}
	vf->notify_bar_size = roundup_pow_of_two(max_t(u64, vf->notify_len,
						       PAGE_SIZE));
	vf->notify_map_pa = facts->notify_map_pa;
	vf->notify_map_len = facts->notify_map_len;
	vf->notify_map_refusal = facts->notify_map_refusal;
	if (!vf->notify_map_len && !vf->notify_map_refusal)
		vf->notify_map_refusal = "backend gave no reason";

	vf->notify_off = kcalloc(vf->num_queues, sizeof(u16), GFP_KERNEL);
	vf->queue_max = kcalloc(vf->num_queues, sizeof(u16), GFP_KERNEL);
	if (!vf->notify_off || !vf->queue_max)
		return -ENOMEM;

	for (i = 0; i < vf->num_queues; i++) {
		vf->notify_off[i] = facts->queues[i].notify_off;
		if ((u64)vf->notify_off[i] * vf->notify_mult + vf->notify_width >
		    vf->notify_len) {
			dev_err(vf->dev, "queue %u doorbell lies outside the notify area\n",
				i);
			return -ENODEV;
		}
		vf->queue_max[i] = facts->queues[i].max_size;
	}
	return 0;
}

static void vhost_vfio_vf_free(struct vhost_vfio_vf *vf)
{
	vhost_vfio_isolation_release(vf);
	kfree(vf->notify_off);
	kfree(vf->queue_max);
	kfree(vf->quirks);
	kfree(vf);
}

/**
 * vhost_vfio_register_vf - hand a VF over to vhost-vfio
 * @be: the VF: its PCI device, its ops (all mandatory) and its fixed facts
 *	(&struct vhost_vfio_backend); @be must stay valid until
 *	vhost_vfio_unregister_vf() returns
 *
 * Keeps and checks the VF's facts, applies matching quirks and registers an
 * mdev parent offering one "net" instance.  The VF must have its MSI-X
 * vectors allocated and Bus Master off.  DMA ownership of the VF's IOMMU
 * group is claimed first (it then sits in a blocking domain), and the VF is
 * reset before the parent appears, so the first mdev finds it in its reset
 * state whatever the backend did to read its facts.
 *
 * Context: process context, may sleep.
 * Return: the VF handle, or an ERR_PTR() on failure.
 */
struct vhost_vfio_vf *vhost_vfio_register_vf(struct vhost_vfio_backend *be)
{
	struct vhost_vfio_vf *vf;
	int ret;

	if (!be || !be->dev || !dev_is_pci(be->dev) ||
	    !vhost_vfio_ops_complete(be->ops))
		return ERR_PTR(-EINVAL);

	vf = kzalloc(sizeof(*vf), GFP_KERNEL);
	if (!vf)
		return ERR_PTR(-ENOMEM);
	vf->dev = be->dev;
	vf->ops = be->ops;
	vf->be = be;
	mutex_init(&vf->lock);

	ret = vhost_vfio_isolation_claim(vf);
	if (ret)
		goto err_free;

	ret = vhost_vfio_vf_take_facts(vf);
	if (ret)
		goto err_free;

	ret = vf->ops->reset(be);
	if (ret) {
		dev_err(vf->dev, "VF did not complete its reset (%d)\n", ret);
		goto err_free;
	}

	ret = vhost_vfio_quirks_match(vf);
	if (ret)
		goto err_free;

	vf->type.sysfs_name = "net";
	vf->type.pretty_name = "virtio-net (control path mediated by vhost-vfio)";
	vf->types[0] = &vf->type;
	ret = mdev_register_parent(&vf->parent, vf->dev, &vhost_vfio_mdev_driver,
				   vf->types, ARRAY_SIZE(vf->types));
	if (ret) {
		dev_err(vf->dev, "cannot register as mdev parent (%d)\n", ret);
		goto err_free;
	}
	dev_info(vf->dev, "vhost-vfio: %u queues, %u pairs, %u MSI-X vectors, features 0x%016llx\n",
		 vf->num_queues, vf->max_pairs, vf->msix_vectors, vf->features);
	return vf;

err_free:
	vhost_vfio_vf_free(vf);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_GPL(vhost_vfio_register_vf);

/**
 * vhost_vfio_unregister_vf - take a VF back from vhost-vfio
 * @vf: handle returned by vhost_vfio_register_vf()
 *
 * Removes the mediated device of @vf, if any, and the mdev parent.  If
 * userspace still has the device open this waits until it is closed.
 * After return the core no longer calls the backend ops.
 *
 * Context: process context, may sleep.
 */
void vhost_vfio_unregister_vf(struct vhost_vfio_vf *vf)
{
	if (IS_ERR_OR_NULL(vf))
		return;
	/* Removes (and thus closes) the child mdev first. */
	mdev_unregister_parent(&vf->parent);
	vhost_vfio_vf_free(vf);
}
EXPORT_SYMBOL_GPL(vhost_vfio_unregister_vf);

static int __init vhost_vfio_init(void)
{
	int ret;

	ret = vhost_vfio_quirks_init();
	if (ret)
		return ret;

	vhost_vfio_debugfs_init();

	ret = vhost_vfio_doorbell_fs_init();
	if (ret)
		goto err_debugfs;

	ret = mdev_register_driver(&vhost_vfio_mdev_driver);
	if (ret)
		goto err_fs;
	return 0;

err_fs:
	vhost_vfio_doorbell_fs_exit();
err_debugfs:
	vhost_vfio_debugfs_exit();
	vhost_vfio_quirks_exit();
	return ret;
}

static void __exit vhost_vfio_exit(void)
{
	mdev_unregister_driver(&vhost_vfio_mdev_driver);
	vhost_vfio_doorbell_fs_exit();
	vhost_vfio_debugfs_exit();
	vhost_vfio_quirks_exit();
}

module_init(vhost_vfio_init);
module_exit(vhost_vfio_exit);
MODULE_DESCRIPTION("vhost-vfio: virtio functions as VFIO mediated devices");
MODULE_LICENSE("GPL");
