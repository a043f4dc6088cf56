// SPDX-License-Identifier: GPL-2.0-only
/*
 * vhost-vfio: debugfs counters, /sys/kernel/debug/vhost_vfio/<uuid>/.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "vhost_vfio_priv.h"

static struct dentry *vhost_vfio_debugfs_root;

static int counters_show(struct seq_file *s, void *unused)
{
	struct vhost_vfio_dev *vd = s->private;
	struct vhost_vfio_counters c;

	mutex_lock(&vd->lock);
	c = vd->counters;
	mutex_unlock(&vd->lock);

	seq_printf(s, "config: %llu\n", c.config);
	seq_printf(s, "bar0: %llu\n", c.bar0);
	seq_printf(s, "bar1: %llu\n", c.bar1);
	seq_printf(s, "bar2_notify_writes: %llu\n", c.bar2_notify_writes);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(counters);

/**
 * vhost_vfio_debugfs_init - create the vhost_vfio debugfs directory
 */
void vhost_vfio_debugfs_init(void)
{
	vhost_vfio_debugfs_root = debugfs_create_dir("vhost_vfio", NULL);
}

/**
 * vhost_vfio_debugfs_exit - remove the vhost_vfio debugfs directory
 */
void vhost_vfio_debugfs_exit(void)
{
	debugfs_remove_recursive(vhost_vfio_debugfs_root);
}

/**
 * vhost_vfio_debugfs_add - create the per-mdev debugfs directory
 * @vd: mediated device
 *
 * debugfs is best effort: failures leave the device fully functional.
 */
void vhost_vfio_debugfs_add(struct vhost_vfio_dev *vd)
{
	vd->debugfs = debugfs_create_dir(dev_name(vv_dev(vd)),
					 vhost_vfio_debugfs_root);
	debugfs_create_file("counters", 0444, vd->debugfs, vd,
			    &counters_fops);
}

/**
 * vhost_vfio_debugfs_remove - remove the per-mdev debugfs directory
 * @vd: mediated device
 *
 * Waits for readers in flight, so @vd may be freed afterwards.
 */
void vhost_vfio_debugfs_remove(struct vhost_vfio_dev *vd)
{
	debugfs_remove_recursive(vd->debugfs);
	vd->debugfs = NULL;
}
