// SPDX-License-Identifier: GPL-2.0-only
/*
 * vhost-vfio core: registers the mdev driver that turns a virtio function
 * handed over by a backend into a vfio-pci compatible mediated device.
 */
#include <linux/debugfs.h>
#include <linux/mdev.h>
#include <linux/module.h>
#include <linux/vfio.h>

static struct dentry *vhost_vfio_debugfs_root;

static int vhost_vfio_mdev_probe(struct mdev_device *mdev)
{
	/* No backend can register a parent yet, so no mdev reaches us. */
	return -ENODEV;
}

static void vhost_vfio_mdev_remove(struct mdev_device *mdev)
{
}

static struct mdev_driver vhost_vfio_mdev_driver = {
	.device_api = VFIO_DEVICE_API_PCI_STRING,
	.max_instances = 1,
	.driver = {
		.name = "vhost_vfio",
		.owner = THIS_MODULE,
		.mod_name = KBUILD_MODNAME,
	},
	.probe = vhost_vfio_mdev_probe,
	.remove = vhost_vfio_mdev_remove,
};

static int __init vhost_vfio_init(void)
{
	int ret;

	vhost_vfio_debugfs_root = debugfs_create_dir("vhost_vfio", NULL);

	ret = mdev_register_driver(&vhost_vfio_mdev_driver);
	if (ret)
		goto err_debugfs;
	return 0;

err_debugfs:
	debugfs_remove_recursive(vhost_vfio_debugfs_root);
	return ret;
}

static void __exit vhost_vfio_exit(void)
{
	mdev_unregister_driver(&vhost_vfio_mdev_driver);
	debugfs_remove_recursive(vhost_vfio_debugfs_root);
}

module_init(vhost_vfio_init);
module_exit(vhost_vfio_exit);
MODULE_DESCRIPTION("vhost-vfio: virtio functions as VFIO mediated devices");
MODULE_LICENSE("GPL");
