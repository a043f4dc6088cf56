// SPDX-License-Identifier: GPL-2.0-only
/*
 * vhost-vfio: vfio_device_ops of the mediated device.  Lifecycle (open,
 * close, reset), the vfio-pci region encoding of the device fd and the
 * VFIO_DEVICE_* ioctls.  Everything userspace passes in is untrusted.
 */
#include <linux/sched/clock.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vhost_vfio_priv.h"

static void vhost_vfio_release_dev(struct vfio_device *vdev)
{
	struct vhost_vfio_dev *vd = to_vv(vdev);

	kfree(vd->vqs);
	vhost_vfio_irqs_free(vd);
	mutex_destroy(&vd->mirror.lock);
	mutex_destroy(&vd->relay.lock);
	mutex_destroy(&vd->db_lock);
	mutex_destroy(&vd->lock);
	compat_vfio_release_free(vdev);
}

static int vhost_vfio_open_device(struct vfio_device *vdev)
{
	struct vhost_vfio_dev *vd = to_vv(vdev);
	u16 i;
	int ret;

	mutex_lock(&vd->lock);
	/*
	 * The VF must not DMA with guest-physical addresses into host memory:
	 * move it from the blocking domain to its own, still empty, domain
	 * before the guest can program it (isolation.c).
	 */
	ret = vhost_vfio_isolation_open(vd);
	if (ret)
		goto out_unlock;

	/* Provisioning is frozen from here until close. */
	vd->offered = vhost_vfio_offered_features(vd);
	vd->pairs = vhost_vfio_guest_pairs(vd);
	vd->num_queues = vhost_vfio_guest_num_queues(vd, vd->offered);
	vhost_vfio_config_init(vd);
	ret = vhost_vfio_relay_open(vd);
	if (ret)
		goto err_close;
	memset(&vd->counters, 0, sizeof(vd->counters));
	for (i = 0; i < vd->vf->msix_vectors; i++)
		atomic64_set(&vd->irqs[i].count, 0);

	ret = vhost_vfio_device_reset(vd);
	if (ret)
		goto err_close;

	ret = vhost_vfio_doorbell_open(vd);
	if (ret)
		goto err_close;

	/* The DMA mirror: built from this VM's memslots after open. */
	vhost_vfio_mirror_open(vd);
	vhost_vfio_migration_open(vd);

	vd->open = true;
	mutex_unlock(&vd->lock);
	return 0;

err_close:
	vhost_vfio_relay_close(vd);
	vhost_vfio_isolation_close(vd);
out_unlock:
	mutex_unlock(&vd->lock);
	return ret;
}

static void vhost_vfio_close_device(struct vfio_device *vdev)
{
	struct vhost_vfio_dev *vd = to_vv(vdev);

	/* No guest store may reach the VF from here on. */
	vhost_vfio_doorbell_close(vd);
	/* Before the lock: the mirror worker takes it to finish. */
	vhost_vfio_mirror_stop(vd);

	mutex_lock(&vd->lock);
	vd->open = false;
	/* Ends any data fd; the reset below wipes a quiesced state. */
	vhost_vfio_migration_reset(vd);
	/* Stop the VF: no more DMA and no more interrupts. */
	vhost_vfio_isolation_quiesce(vd);
	vhost_vfio_irqs_disable(vd);
	/* Only a quiet VF may lose its mappings, then its domain. */
	vhost_vfio_relay_close(vd);
	vhost_vfio_mirror_close(vd);
	vhost_vfio_isolation_close(vd);
	mutex_unlock(&vd->lock);
}

static u64 vhost_vfio_region_size(struct vhost_vfio_dev *vd, unsigned int idx)
{
	if (idx == VFIO_PCI_CONFIG_REGION_INDEX)
		return VV_CFG_SIZE;
	if (idx <= VFIO_PCI_BAR5_REGION_INDEX)
		return vhost_vfio_bar_size(vd, idx);
	return 0;
}

/*
 * Access one naturally aligned chunk of 1, 2 or 4 bytes.  The buffer holds
 * the little-endian bytes as they travel on PCI.
 */
static int vhost_vfio_region_rw(struct vhost_vfio_dev *vd, unsigned int idx,
				u64 off, u8 *buf, unsigned int len, bool write)
{
	if (idx == VFIO_PCI_CONFIG_REGION_INDEX)
		return vhost_vfio_config_rw(vd, off, buf, len, write);
	return vhost_vfio_bar_rw(vd, idx, off, buf, len, write);
}

static ssize_t vhost_vfio_rw(struct vhost_vfio_dev *vd, char __user *ubuf,
			     size_t count, loff_t *ppos, bool write)
{
	u64 off, size, start = local_clock();
	unsigned int idx;
	size_t done = 0;
	int ret = 0;

	if (*ppos < 0)
		return -EINVAL;
	idx = VV_OFFSET_TO_INDEX((u64)*ppos);
	off = (u64)*ppos & VV_OFFSET_MASK;
	if (idx >= VFIO_PCI_NUM_REGIONS)
		return -EINVAL;

	mutex_lock(&vd->lock);
	if (vd->open)
		vhost_vfio_mirror_start(vd);
	size = vhost_vfio_region_size(vd, idx);
	if (!count || off >= size || count > size - off) {
		ret = -EINVAL;
		goto out_unlock;
	}
	/*
	 * While saved or restored, the virtio state must not move; config
	 * space stays writable, as the uAPI requires (migration.c).
	 */
	if (write &&
	    !vhost_vfio_migration_allows_write(vd, idx == VFIO_PCI_CONFIG_REGION_INDEX)) {
		ret = -EBUSY;
		goto out_unlock;
	}

	/* Split like a PCI bus would: naturally aligned 4/2/1 byte pieces. */
	while (done < count) {
		unsigned int len = vv_piece_len(off, count - done);
		u8 tmp[4];

		if (write) {
			if (copy_from_user(tmp, ubuf + done, len)) {
				ret = -EFAULT;
				break;
			}
			ret = vhost_vfio_region_rw(vd, idx, off, tmp, len, true);
		} else {
			memset(tmp, 0, sizeof(tmp));
			ret = vhost_vfio_region_rw(vd, idx, off, tmp, len,
						   false);
			if (!ret && copy_to_user(ubuf + done, tmp, len))
				ret = -EFAULT;
		}
		if (ret)
			break;
		done += len;
		off += len;
		/* A huge count on a large BAR must not hog the CPU. */
		cond_resched();
	}

out_unlock:
	/* A VMM's region access is a guest vCPU waiting: keep the worst. */
	vd->counters.access_max_ns = max(vd->counters.access_max_ns,
					 local_clock() - start);
	mutex_unlock(&vd->lock);
	if (done) {
		*ppos += done;
		return done;
	}
	return ret;
}

static ssize_t vhost_vfio_read(struct vfio_device *vdev, char __user *buf,
			       size_t count, loff_t *ppos)
{
	return vhost_vfio_rw(to_vv(vdev), buf, count, ppos, false);
}

static ssize_t vhost_vfio_write(struct vfio_device *vdev,
				const char __user *buf, size_t count,
				loff_t *ppos)
{
	return vhost_vfio_rw(to_vv(vdev), (char __user *)buf, count, ppos,
			     true);
}

static long vhost_vfio_ioctl_get_info(struct vhost_vfio_dev *vd,
				      void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_device_info, num_irqs);
	struct vfio_device_info info;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;

	info.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
	info.num_regions = VFIO_PCI_NUM_REGIONS;
	info.num_irqs = VFIO_PCI_NUM_IRQS;

	return copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
}

static long vhost_vfio_ioctl_region_info(struct vhost_vfio_dev *vd,
					 void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_region_info, offset);
	struct vfio_info_cap caps = { .buf = NULL, .size = 0 };
	struct vfio_region_info info;
	int ret;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	if (info.index >= VFIO_PCI_NUM_REGIONS)
		return -EINVAL;

	info.offset = VV_INDEX_TO_OFFSET(info.index);
	info.cap_offset = 0;
	mutex_lock(&vd->lock);
	info.size = vhost_vfio_region_size(vd, info.index);
	info.flags = info.size ? VFIO_REGION_INFO_FLAG_READ |
				 VFIO_REGION_INFO_FLAG_WRITE : 0;
	/* Only the doorbell pages of BAR2 can be mapped, when allowed. */
	ret = vhost_vfio_region_info_caps(vd, &info, &caps);
	mutex_unlock(&vd->lock);
	if (ret)
		return ret;

	if (caps.size) {
		info.flags |= VFIO_REGION_INFO_FLAG_CAPS;
		if (info.argsz < sizeof(info) + caps.size) {
			info.argsz = sizeof(info) + caps.size;
		} else {
			vfio_info_cap_shift(&caps, sizeof(info));
			if (copy_to_user(arg + sizeof(info), caps.buf,
					 caps.size)) {
				kfree(caps.buf);
				return -EFAULT;
			}
			info.cap_offset = sizeof(info);
		}
		kfree(caps.buf);
	}

	return copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
}

static long vhost_vfio_ioctl(struct vfio_device *vdev, unsigned int cmd,
			     unsigned long arg)
{
	struct vhost_vfio_dev *vd = to_vv(vdev);
	void __user *uarg = (void __user *)arg;
	int ret;

	switch (cmd) {
	case VFIO_DEVICE_GET_INFO:
		return vhost_vfio_ioctl_get_info(vd, uarg);
	case VFIO_DEVICE_GET_REGION_INFO:
		return vhost_vfio_ioctl_region_info(vd, uarg);
	case VFIO_DEVICE_GET_IRQ_INFO:
		return vhost_vfio_ioctl_irq_info(vd, uarg);
	case VFIO_DEVICE_SET_IRQS:
		return vhost_vfio_ioctl_set_irqs(vd, uarg);
	case VFIO_DEVICE_RESET:
		/* Doorbell pages fault back in once the reset is over. */
		vhost_vfio_doorbell_revoke(vd);
		mutex_lock(&vd->lock);
		/* Whatever the migration state, a reset device is RUNNING. */
		vhost_vfio_migration_reset(vd);
		/* Like an FLR: Bus Master off, and the VF reset. */
		ret = vhost_vfio_isolation_quiesce(vd);
		if (!ret)
			vhost_vfio_config_reset(vd);
		mutex_unlock(&vd->lock);
		return ret;
	default:
		return -ENOTTY;
	}
}

static int vhost_vfio_mmap(struct vfio_device *vdev,
			   struct vm_area_struct *vma)
{
	return vhost_vfio_doorbell_mmap(to_vv(vdev), vma);
}

const struct vfio_device_ops vhost_vfio_dev_ops = {
	.name = "vhost-vfio",
	.release = vhost_vfio_release_dev,
	.open_device = vhost_vfio_open_device,
	.close_device = vhost_vfio_close_device,
	.read = vhost_vfio_read,
	.write = vhost_vfio_write,
	.ioctl = vhost_vfio_ioctl,
	.mmap = vhost_vfio_mmap,
	.request = vhost_vfio_request,
	.dma_unmap = vhost_vfio_dma_unmap,
#ifdef COMPAT_HAVE_VFIO_IOMMUFD_EMULATED
	/* Pins and unmaps reach us the same way through an iommufd access. */
	.bind_iommufd = vfio_iommufd_emulated_bind,
	.unbind_iommufd = vfio_iommufd_emulated_unbind,
	.attach_ioas = vfio_iommufd_emulated_attach_ioas,
	.detach_ioas = vfio_iommufd_emulated_detach_ioas,
#endif
};
