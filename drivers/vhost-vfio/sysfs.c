// SPDX-License-Identifier: GPL-2.0-only
/*
 * vhost-vfio: provisioning attributes of the mdev device.
 *
 * They live flat in /sys/bus/mdev/devices/<uuid>/ so that mdevctl "attrs"
 * can set them before the VMM opens the device.  Writes are refused with
 * EBUSY while the device is open: the guest must never see its device
 * change underneath it.
 */
#include <linux/ctype.h>
#include <linux/kstrtox.h>
#include <linux/string.h>
#include <linux/virtio_net.h>

#include "vhost_vfio_priv.h"

static struct vhost_vfio_dev *vv_from_dev(struct device *dev)
{
	return dev_get_drvdata(dev);
}

/*
 * Common prologue of every store, under the lock: EBUSY while a VMM has the
 * device open, EINVAL for a value with a NUL byte inside (the parsers would
 * silently stop there and apply a truncated value).
 */
static int vv_store_begin(struct vhost_vfio_dev *vd,
			  struct device_attribute *attr, const char *buf,
			  size_t count)
{
	mutex_lock(&vd->lock);
	if (vd->open) {
		mutex_unlock(&vd->lock);
		dev_warn_ratelimited(vv_dev(vd),
				     "%s: cannot change while a VMM has the device open\n",
				     attr->attr.name);
		return -EBUSY;
	}
	if (strnlen(buf, count) != count) {
		mutex_unlock(&vd->lock);
		dev_warn_ratelimited(vv_dev(vd), "%s: value contains a NUL byte\n",
				     attr->attr.name);
		return -EINVAL;
	}
	return 0;
}

static ssize_t vv_store_end(struct vhost_vfio_dev *vd, ssize_t ret)
{
	if (ret >= 0) {
		vd->offered = vhost_vfio_offered_features(vd);
		vd->pairs = vhost_vfio_guest_pairs(vd);
		vd->num_queues = vhost_vfio_guest_num_queues(vd, vd->offered);
	}
	mutex_unlock(&vd->lock);
	return ret;
}

static ssize_t mac_show(struct device *dev, struct device_attribute *attr,
			char *buf)
{
	struct vhost_vfio_dev *vd = vv_from_dev(dev);
	ssize_t ret;

	mutex_lock(&vd->lock);
	ret = vd->mac_set ? sysfs_emit(buf, "%pM\n", vd->mac) :
			    sysfs_emit(buf, "\n");
	mutex_unlock(&vd->lock);
	return ret;
}

static ssize_t mac_store(struct device *dev, struct device_attribute *attr,
			 const char *buf, size_t count)
{
	struct vhost_vfio_dev *vd = vv_from_dev(dev);
	char tmp[3 * ETH_ALEN];
	u8 mac[ETH_ALEN];
	const char *s;
	size_t len;
	int ret;

	ret = vv_store_begin(vd, attr, buf, count);
	if (ret)
		return ret;

	/* Trim the whole write, not a truncated copy of it. */
	s = skip_spaces(buf);
	len = count - (s - buf);
	while (len && isspace(s[len - 1]))
		len--;
	if (!len) {
		vd->mac_set = false;
		return vv_store_end(vd, count);
	}
	if (len != sizeof(tmp) - 1) {
		dev_warn_ratelimited(dev, "mac: expected xx:xx:xx:xx:xx:xx or an empty line\n");
		return vv_store_end(vd, -EINVAL);
	}
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (!mac_pton(tmp, mac)) {
		dev_warn_ratelimited(dev, "mac: expected xx:xx:xx:xx:xx:xx or an empty line\n");
		return vv_store_end(vd, -EINVAL);
	}
	if (!is_valid_ether_addr(mac)) {
		dev_warn_ratelimited(dev, "mac: %pM is multicast or zero\n", mac);
		return vv_store_end(vd, -EINVAL);
	}
	ether_addr_copy(vd->mac, mac);
	vd->mac_set = true;
	return vv_store_end(vd, count);
}
static DEVICE_ATTR_RW(mac);

static ssize_t mtu_show(struct device *dev, struct device_attribute *attr,
			char *buf)
{
	struct vhost_vfio_dev *vd = vv_from_dev(dev);

	return sysfs_emit(buf, "%u\n", READ_ONCE(vd->mtu));
}

static ssize_t mtu_store(struct device *dev, struct device_attribute *attr,
			 const char *buf, size_t count)
{
	struct vhost_vfio_dev *vd = vv_from_dev(dev);
	u16 mtu;
	int ret;

	ret = vv_store_begin(vd, attr, buf, count);
	if (ret)
		return ret;
	if (kstrtou16(buf, 10, &mtu) || (mtu && mtu < ETH_MIN_MTU)) {
		dev_warn_ratelimited(dev, "mtu: expected 0 (use the VF's) or %u..65535\n",
				     ETH_MIN_MTU);
		return vv_store_end(vd, -EINVAL);
	}
	vd->mtu = mtu;
	return vv_store_end(vd, count);
}
static DEVICE_ATTR_RW(mtu);

static ssize_t max_queue_pairs_show(struct device *dev,
				    struct device_attribute *attr, char *buf)
{
	struct vhost_vfio_dev *vd = vv_from_dev(dev);

	return sysfs_emit(buf, "%u\n", READ_ONCE(vd->max_pairs_prov));
}

static ssize_t max_queue_pairs_store(struct device *dev,
				     struct device_attribute *attr,
				     const char *buf, size_t count)
{
	struct vhost_vfio_dev *vd = vv_from_dev(dev);
	struct vhost_vfio_vf *vf = vd->vf;
	u16 pairs;
	int ret;

	ret = vv_store_begin(vd, attr, buf, count);
	if (ret)
		return ret;
	if (kstrtou16(buf, 10, &pairs)) {
		dev_warn_ratelimited(dev, "max_queue_pairs: not a number\n");
		return vv_store_end(vd, -EINVAL);
	}
	if (pairs > 1 && !(vf->features & BIT_ULL(VIRTIO_NET_F_MQ))) {
		dev_warn_ratelimited(dev, "max_queue_pairs: the VF does not offer VIRTIO_NET_F_MQ\n");
		return vv_store_end(vd, -EINVAL);
	}
	if (pairs > vf->max_pairs) {
		dev_warn_ratelimited(dev, "max_queue_pairs: the VF has only %u pair(s)\n",
				     vf->max_pairs);
		return vv_store_end(vd, -EINVAL);
	}
	vd->max_pairs_prov = pairs;
	return vv_store_end(vd, count);
}
static DEVICE_ATTR_RW(max_queue_pairs);

static ssize_t features_mask_show(struct device *dev,
				  struct device_attribute *attr, char *buf)
{
	struct vhost_vfio_dev *vd = vv_from_dev(dev);
	u64 mask;

	mutex_lock(&vd->lock);
	mask = vd->features_mask;
	mutex_unlock(&vd->lock);
	return sysfs_emit(buf, "0x%016llx\n", mask);
}

static ssize_t features_mask_store(struct device *dev,
				   struct device_attribute *attr,
				   const char *buf, size_t count)
{
	struct vhost_vfio_dev *vd = vv_from_dev(dev);
	u64 mask;
	int ret;

	ret = vv_store_begin(vd, attr, buf, count);
	if (ret)
		return ret;
	if (kstrtou64(buf, 16, &mask)) {
		dev_warn_ratelimited(dev, "features_mask: expected a 64-bit hex value\n");
		return vv_store_end(vd, -EINVAL);
	}
	vd->features_mask = mask;
	return vv_store_end(vd, count);
}
static DEVICE_ATTR_RW(features_mask);

static ssize_t vf_features_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "0x%016llx\n", vv_from_dev(dev)->vf->features);
}
static DEVICE_ATTR_RO(vf_features);

static ssize_t offered_features_show(struct device *dev,
				     struct device_attribute *attr, char *buf)
{
	struct vhost_vfio_dev *vd = vv_from_dev(dev);
	u64 f;

	mutex_lock(&vd->lock);
	f = vd->offered;
	mutex_unlock(&vd->lock);
	return sysfs_emit(buf, "0x%016llx\n", f);
}
static DEVICE_ATTR_RO(offered_features);

static ssize_t negotiated_features_show(struct device *dev,
					struct device_attribute *attr,
					char *buf)
{
	struct vhost_vfio_dev *vd = vv_from_dev(dev);
	u64 f;

	mutex_lock(&vd->lock);
	f = vd->negotiated;
	mutex_unlock(&vd->lock);
	return sysfs_emit(buf, "0x%016llx\n", f);
}
static DEVICE_ATTR_RO(negotiated_features);

static ssize_t quirks_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct vhost_vfio_vf *vf = vv_from_dev(dev)->vf;
	unsigned int i;
	int len = 0;

	if (!vf->nr_quirks)
		return sysfs_emit(buf, "none\n");
	for (i = 0; i < vf->nr_quirks; i++)
		len += sysfs_emit_at(buf, len, "clear=0x%016llx set=0x%016llx %s\n",
				     vf->quirks[i]->clear, vf->quirks[i]->set,
				     vf->quirks[i]->reason);
	return len;
}
static DEVICE_ATTR_RO(quirks);

static ssize_t status_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct vhost_vfio_dev *vd = vv_from_dev(dev);
	u8 status = 0;

	/* A closed device is held in reset: the guest would read 0. */
	mutex_lock(&vd->lock);
	if (vd->open)
		status = vhost_vfio_guest_status(vd);
	mutex_unlock(&vd->lock);
	return sysfs_emit(buf, "0x%02x\n", status);
}
static DEVICE_ATTR_RO(status);

/* "mapped", or "trapped: <reason>"; the decision is fixed at open. */
static ssize_t doorbell_mode_show(struct device *dev,
				  struct device_attribute *attr, char *buf)
{
	struct vhost_vfio_dev *vd = vv_from_dev(dev);
	const char *why;

	mutex_lock(&vd->lock);
	why = vd->open ? vd->db_reason : vhost_vfio_doorbell_check(vd);
	mutex_unlock(&vd->lock);
	return why ? sysfs_emit(buf, "trapped: %s\n", why) :
		     sysfs_emit(buf, "mapped\n");
}
static DEVICE_ATTR_RO(doorbell_mode);

static struct attribute *vhost_vfio_mdev_attrs[] = {
	&dev_attr_mac.attr,
	&dev_attr_mtu.attr,
	&dev_attr_max_queue_pairs.attr,
	&dev_attr_features_mask.attr,
	&dev_attr_vf_features.attr,
	&dev_attr_offered_features.attr,
	&dev_attr_negotiated_features.attr,
	&dev_attr_quirks.attr,
	&dev_attr_status.attr,
	&dev_attr_doorbell_mode.attr,
	NULL,
};

static const struct attribute_group vhost_vfio_mdev_group = {
	.attrs = vhost_vfio_mdev_attrs,
};

const struct attribute_group *vhost_vfio_mdev_groups[] = {
	&vhost_vfio_mdev_group,
	NULL,
};
