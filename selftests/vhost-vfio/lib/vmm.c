// SPDX-License-Identifier: GPL-2.0-only
/*
 * Mini-VMM for the vhost-vfio selftests; see vmm.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include "vmm.h"

static int vmm_fail(struct vmm *vmm, int err)
{
	if (!vmm->err)
		vmm->err = err;
	return err;
}

static int vmm_get_region_info(struct vmm *vmm, unsigned int index)
{
	struct vfio_region_info *r = &vmm->region[index];

	memset(r, 0, sizeof(*r));
	r->argsz = sizeof(*r);
	r->index = index;
	if (ioctl(vmm->device, VFIO_DEVICE_GET_REGION_INFO, r))
		return -errno;
	return 0;
}

/* IOMMU group of an mdev (UUID) or of a PCI function (BDF). */
static int vmm_group_of(const char *name)
{
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;
	char *end;
	long grp;

	snprintf(path, sizeof(path), VMM_MDEV_DEVICES "/%s/iommu_group", name);
	if (access(path, F_OK))
		snprintf(path, sizeof(path), VMM_PCI_DEVICES "/%s/iommu_group",
			 name);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	grp = strtol(basename(link), &end, 10);
	if (*end || grp < 0)
		return -EINVAL;
	return grp;
}

/**
 * vmm_init - empty state for @uuid; every fd closed (-1)
 * @vmm: state to initialize
 * @uuid: the mdev's UUID
 */
void vmm_init(struct vmm *vmm, const char *uuid)
{
	memset(vmm, 0, sizeof(*vmm));
	vmm->container = -1;
	vmm->group = -1;
	vmm->device = -1;
	snprintf(vmm->uuid, sizeof(vmm->uuid), "%s", uuid);
}

/**
 * vmm_group_open - open the mdev's VFIO group and check it is viable
 * @vmm: state from vmm_init()
 *
 * Return: 0 or a negative errno; on error the caller runs vmm_close().
 */
int vmm_group_open(struct vmm *vmm)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[64];
	int grp;

	grp = vmm_group_of(vmm->uuid);
	if (grp < 0)
		return grp;
	snprintf(path, sizeof(path), "/dev/vfio/%d", grp);
	vmm->group = open(path, O_RDWR | O_CLOEXEC);
	if (vmm->group < 0)
		return -errno;
	if (ioctl(vmm->group, VFIO_GROUP_GET_STATUS, &status))
		return -errno;
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		return -EBUSY;
	return 0;
}

/**
 * vmm_device_open - get the device fd from the group, with its regions
 * @vmm: state whose group is in a container with an IOMMU set
 *
 * Return: 0 or a negative errno; on error the caller runs vmm_close().
 */
int vmm_device_open(struct vmm *vmm)
{
	unsigned int i;
	int ret;

	vmm->device = ioctl(vmm->group, VFIO_GROUP_GET_DEVICE_FD, vmm->uuid);
	if (vmm->device < 0)
		return -errno;
	vmm->info.argsz = sizeof(vmm->info);
	if (ioctl(vmm->device, VFIO_DEVICE_GET_INFO, &vmm->info))
		return -errno;
	if (!(vmm->info.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    vmm->info.num_regions < VFIO_PCI_NUM_REGIONS)
		return -ENODEV;
	for (i = 0; i < VFIO_PCI_NUM_REGIONS; i++) {
		ret = vmm_get_region_info(vmm, i);
		/* vfio-pci's answer for a function that is not VGA. */
		if (ret == -EINVAL && i == VFIO_PCI_VGA_REGION_INDEX) {
			memset(&vmm->region[i], 0, sizeof(vmm->region[i]));
			ret = 0;
		}
		if (ret)
			return ret;
	}
	return 0;
}

/**
 * vmm_open - open an mdev the way QEMU's vfio-pci does
 * @vmm: state to fill
 * @uuid: the mdev's UUID, or the address (BDF) of a PCI function bound to
 *	vfio-pci: the same regions through vfio-pci passthrough, for
 *	comparisons with the function itself
 *
 * Return: 0, or a negative errno with everything closed again.
 */
int vmm_open(struct vmm *vmm, const char *uuid)
{
	int ret;

	vmm_init(vmm, uuid);
	vmm->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (vmm->container < 0)
		goto err_errno;
	if (ioctl(vmm->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    !ioctl(vmm->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU)) {
		ret = -ENOTSUP;
		goto err;
	}
	ret = vmm_group_open(vmm);
	if (ret)
		goto err;
	if (ioctl(vmm->group, VFIO_GROUP_SET_CONTAINER, &vmm->container))
		goto err_errno;
	if (ioctl(vmm->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		goto err_errno;
	ret = vmm_device_open(vmm);
	if (ret)
		goto err;
	return 0;

err_errno:
	ret = -errno;
err:
	vmm_close(vmm);
	return ret;
}

/**
 * vmm_close - close device, group and container (safe to call twice)
 * @vmm: state from vmm_open()
 */
void vmm_close(struct vmm *vmm)
{
	if (vmm->device >= 0)
		close(vmm->device);
	if (vmm->group >= 0)
		close(vmm->group);
	if (vmm->container >= 0)
		close(vmm->container);
	vmm->device = -1;
	vmm->group = -1;
	vmm->container = -1;
}

u64 vmm_region_size(struct vmm *vmm, unsigned int index)
{
	if (index >= VFIO_PCI_NUM_REGIONS)
		return 0;
	return vmm->region[index].size;
}

int vmm_region_read(struct vmm *vmm, unsigned int index, u64 off, void *buf,
		    size_t len)
{
	ssize_t n;

	if (index >= VFIO_PCI_NUM_REGIONS)
		return -EINVAL;
	n = pread(vmm->device, buf, len, vmm->region[index].offset + off);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int vmm_region_write(struct vmm *vmm, unsigned int index, u64 off,
		     const void *buf, size_t len)
{
	ssize_t n;

	if (index >= VFIO_PCI_NUM_REGIONS)
		return -EINVAL;
	n = pwrite(vmm->device, buf, len, vmm->region[index].offset + off);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int vmm_irq_info(struct vmm *vmm, unsigned int index,
		 struct vfio_irq_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->index = index;
	if (ioctl(vmm->device, VFIO_DEVICE_GET_IRQ_INFO, info))
		return -errno;
	return 0;
}

int vmm_reset(struct vmm *vmm)
{
	if (ioctl(vmm->device, VFIO_DEVICE_RESET))
		return -errno;
	return 0;
}

int vmm_reg_read(struct vmm *vmm, unsigned int index, u64 off,
		 unsigned int size, u32 *val)
{
	u8 b[4] = { 0 };
	int ret;

	if (size != 1 && size != 2 && size != 4)
		return -EINVAL;
	ret = vmm_region_read(vmm, index, off, b, size);
	if (ret)
		return ret;
	*val = b[0] | b[1] << 8 | b[2] << 16 | (u32)b[3] << 24;
	return 0;
}

int vmm_reg_write(struct vmm *vmm, unsigned int index, u64 off,
		  unsigned int size, u32 val)
{
	u8 b[4] = { val, val >> 8, val >> 16, val >> 24 };

	if (size != 1 && size != 2 && size != 4)
		return -EINVAL;
	return vmm_region_write(vmm, index, off, b, size);
}

u32 vmm_reg_get(struct vmm *vmm, unsigned int index, u64 off,
		unsigned int size)
{
	u32 val;
	int ret;

	ret = vmm_reg_read(vmm, index, off, size, &val);
	if (ret) {
		vmm_fail(vmm, ret);
		return size == 4 ? ~0U : (1U << (8 * size)) - 1;
	}
	return val;
}

void vmm_reg_set(struct vmm *vmm, unsigned int index, u64 off,
		 unsigned int size, u32 val)
{
	int ret;

	ret = vmm_reg_write(vmm, index, off, size, val);
	if (ret)
		vmm_fail(vmm, ret);
}

int vmm_cap_walk(struct vmm *vmm,
		 void (*fn)(struct vmm *vmm, u8 pos, u8 id, void *arg),
		 void *arg)
{
	bool seen[256] = { false };
	int n = 0;
	u8 pos;

	if (!(vmm_cfg_read16(vmm, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	pos = vmm_cfg_read8(vmm, PCI_CAPABILITY_LIST);
	while (pos) {
		if (pos < PCI_STD_HEADER_SIZEOF || pos & 3)
			return -ERANGE;
		if (seen[pos])
			return -ELOOP;
		seen[pos] = true;
		if (fn)
			fn(vmm, pos, vmm_cfg_read8(vmm, pos + PCI_CAP_LIST_ID),
			   arg);
		n++;
		pos = vmm_cfg_read8(vmm, pos + PCI_CAP_LIST_NEXT);
		if (vmm->err)
			return vmm->err;
	}
	return n;
}

struct vmm_find {
	u8 id;
	u8 pos;
};

static void vmm_find_cb(struct vmm *vmm, u8 pos, u8 id, void *arg)
{
	struct vmm_find *f = arg;

	if (id == f->id && !f->pos)
		f->pos = pos;
}

/* Offset of the first capability @id, or 0. */
int vmm_cap_find(struct vmm *vmm, u8 id)
{
	struct vmm_find f = { .id = id };

	if (vmm_cap_walk(vmm, vmm_find_cb, &f) < 0)
		return 0;
	return f.pos;
}

static void vmm_vcap_cb(struct vmm *vmm, u8 pos, u8 id, void *arg)
{
	struct vmm_vcap *vc = NULL;
	u8 type;

	if (id != PCI_CAP_ID_VNDR)
		return;
	type = vmm_cfg_read8(vmm, pos + VIRTIO_PCI_CAP_CFG_TYPE);
	switch (type) {
	case VIRTIO_PCI_CAP_COMMON_CFG:
		vc = &vmm->common;
		break;
	case VIRTIO_PCI_CAP_NOTIFY_CFG:
		vc = &vmm->notify;
		vmm->notify_mult = vmm_cfg_read32(vmm, pos +
			offsetof(struct virtio_pci_notify_cap,
				 notify_off_multiplier));
		break;
	case VIRTIO_PCI_CAP_ISR_CFG:
		vc = &vmm->isr;
		break;
	case VIRTIO_PCI_CAP_DEVICE_CFG:
		vc = &vmm->device_cfg;
		break;
	case VIRTIO_PCI_CAP_PCI_CFG:
		vc = &vmm->pci_cfg;
		break;
	default:
		return;
	}
	/* Like virtio_pci_modern: the first capability of a type wins. */
	if (vc->found)
		return;
	vc->found = true;
	vc->pos = pos;
	vc->bar = vmm_cfg_read8(vmm, pos + VIRTIO_PCI_CAP_BAR);
	vc->offset = vmm_cfg_read32(vmm, pos + VIRTIO_PCI_CAP_OFFSET);
	vc->length = vmm_cfg_read32(vmm, pos + VIRTIO_PCI_CAP_LENGTH);
}

/**
 * vmm_virtio_locate - find the virtio structures through the capabilities
 * @vmm: open device
 *
 * Return: 0, or -ENODEV if the common, notify, ISR or device structure is
 * missing or lies outside its BAR.
 */
int vmm_virtio_locate(struct vmm *vmm)
{
	struct vmm_vcap *need[] = {
		&vmm->common, &vmm->notify, &vmm->isr, &vmm->device_cfg,
	};
	unsigned int i;
	int ret;

	ret = vmm_cap_walk(vmm, vmm_vcap_cb, NULL);
	if (ret < 0)
		return ret;
	for (i = 0; i < ARRAY_SIZE(need); i++) {
		struct vmm_vcap *vc = need[i];

		if (!vc->found || vc->bar > 5 ||
		    (u64)vc->offset + vc->length > vmm_region_size(vmm, vc->bar))
			return -ENODEV;
	}
	return 0;
}

u32 vmm_vio_read(struct vmm *vmm, unsigned int off, unsigned int size)
{
	return vmm_bar_read(vmm, vmm->common.bar, vmm->common.offset + off,
			    size);
}

void vmm_vio_write(struct vmm *vmm, unsigned int off, unsigned int size,
		   u32 val)
{
	vmm_bar_write(vmm, vmm->common.bar, vmm->common.offset + off, size,
		      val);
}

u64 vmm_vio_device_features(struct vmm *vmm)
{
	u64 lo, hi;

	vmm_vio_write(vmm, VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	lo = vmm_vio_read(vmm, VIRTIO_PCI_COMMON_DF, 4);
	vmm_vio_write(vmm, VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	hi = vmm_vio_read(vmm, VIRTIO_PCI_COMMON_DF, 4);
	return lo | hi << 32;
}

u64 vmm_vio_driver_features(struct vmm *vmm)
{
	u64 lo, hi;

	vmm_vio_write(vmm, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	lo = vmm_vio_read(vmm, VIRTIO_PCI_COMMON_GF, 4);
	vmm_vio_write(vmm, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	hi = vmm_vio_read(vmm, VIRTIO_PCI_COMMON_GF, 4);
	return lo | hi << 32;
}

void vmm_vio_set_driver_features(struct vmm *vmm, u64 features)
{
	vmm_vio_write(vmm, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	vmm_vio_write(vmm, VIRTIO_PCI_COMMON_GF, 4, (u32)features);
	vmm_vio_write(vmm, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	vmm_vio_write(vmm, VIRTIO_PCI_COMMON_GF, 4, features >> 32);
}

u8 vmm_vio_status(struct vmm *vmm)
{
	return vmm_vio_read(vmm, VIRTIO_PCI_COMMON_STATUS, 1);
}

/* "name: value" from the mdev's debugfs counters, or NULL. */
static char *vmm_counter_str(const char *uuid, const char *name, char *buf,
			     size_t size)
{
	char path[PATH_MAX], line[256];
	size_t n = strlen(name);
	char *found = NULL;
	FILE *f;

	snprintf(path, sizeof(path),
		 "/sys/kernel/debug/vhost_vfio/%s/counters", uuid);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	while (!found && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, name, n) && line[n] == ':') {
			snprintf(buf, size, "%s", line + n + 2);
			buf[strcspn(buf, "\n")] = 0;
			found = buf;
		}
	}
	fclose(f);
	return found;
}

int vmm_settle(struct vmm *vmm)
{
	const struct timespec tick = { .tv_nsec = 1000000 };
	char pending[16], state[16];
	int i;

	/* Bounded: a build under TCG takes seconds, never minutes. */
	for (i = 0; i < 120000; i++) {
		if (!vmm_counter_str(vmm->uuid, "driver_ok_pending", pending,
				     sizeof(pending)) ||
		    !vmm_counter_str(vmm->uuid, "mirror_state", state,
				     sizeof(state)))
			return 0;	/* no debugfs: nothing to wait for */
		if (!strcmp(pending, "0") && !strcmp(state, "idle"))
			return 0;
		nanosleep(&tick, NULL);
	}
	return -ETIMEDOUT;
}

void vmm_vio_set_status(struct vmm *vmm, u8 status)
{
	vmm_vio_write(vmm, VIRTIO_PCI_COMMON_STATUS, 1, status);
	/* Like a driver that waits for the device before it checks on it. */
	if ((status & VIRTIO_CONFIG_S_DRIVER_OK) && vmm_settle(vmm))
		vmm_fail(vmm, ETIMEDOUT);
}

u16 vmm_vio_num_queues(struct vmm *vmm)
{
	return vmm_vio_read(vmm, VIRTIO_PCI_COMMON_NUMQ, 2);
}

void vmm_vio_queue_select(struct vmm *vmm, u16 queue)
{
	vmm_vio_write(vmm, VIRTIO_PCI_COMMON_Q_SELECT, 2, queue);
}

u16 vmm_vio_queue_size(struct vmm *vmm)
{
	return vmm_vio_read(vmm, VIRTIO_PCI_COMMON_Q_SIZE, 2);
}

void vmm_vio_set_queue_size(struct vmm *vmm, u16 size)
{
	vmm_vio_write(vmm, VIRTIO_PCI_COMMON_Q_SIZE, 2, size);
}

u16 vmm_vio_queue_vector(struct vmm *vmm)
{
	return vmm_vio_read(vmm, VIRTIO_PCI_COMMON_Q_MSIX, 2);
}

void vmm_vio_set_queue_vector(struct vmm *vmm, u16 vector)
{
	vmm_vio_write(vmm, VIRTIO_PCI_COMMON_Q_MSIX, 2, vector);
}

u16 vmm_vio_queue_enable(struct vmm *vmm)
{
	return vmm_vio_read(vmm, VIRTIO_PCI_COMMON_Q_ENABLE, 2);
}

void vmm_vio_set_queue_enable(struct vmm *vmm, u16 enable)
{
	vmm_vio_write(vmm, VIRTIO_PCI_COMMON_Q_ENABLE, 2, enable);
}

u16 vmm_vio_queue_notify_off(struct vmm *vmm)
{
	return vmm_vio_read(vmm, VIRTIO_PCI_COMMON_Q_NOFF, 2);
}

static void vmm_vio_write64(struct vmm *vmm, unsigned int off, u64 val)
{
	vmm_vio_write(vmm, off, 4, (u32)val);
	vmm_vio_write(vmm, off + 4, 4, val >> 32);
}

static u64 vmm_vio_read64(struct vmm *vmm, unsigned int off)
{
	u64 lo = vmm_vio_read(vmm, off, 4);

	return lo | (u64)vmm_vio_read(vmm, off + 4, 4) << 32;
}

void vmm_vio_set_queue_addr(struct vmm *vmm, u64 desc, u64 avail, u64 used)
{
	vmm_vio_write64(vmm, VIRTIO_PCI_COMMON_Q_DESCLO, desc);
	vmm_vio_write64(vmm, VIRTIO_PCI_COMMON_Q_AVAILLO, avail);
	vmm_vio_write64(vmm, VIRTIO_PCI_COMMON_Q_USEDLO, used);
}

void vmm_vio_queue_addr(struct vmm *vmm, u64 *desc, u64 *avail, u64 *used)
{
	*desc = vmm_vio_read64(vmm, VIRTIO_PCI_COMMON_Q_DESCLO);
	*avail = vmm_vio_read64(vmm, VIRTIO_PCI_COMMON_Q_AVAILLO);
	*used = vmm_vio_read64(vmm, VIRTIO_PCI_COMMON_Q_USEDLO);
}

u32 vmm_vio_devcfg_read(struct vmm *vmm, unsigned int off, unsigned int size)
{
	return vmm_bar_read(vmm, vmm->device_cfg.bar,
			    vmm->device_cfg.offset + off, size);
}

u8 vmm_vio_negotiate(struct vmm *vmm, u64 features)
{
	vmm_vio_set_status(vmm, 0);
	vmm_vio_set_status(vmm, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	vmm_vio_set_status(vmm, VIRTIO_CONFIG_S_ACKNOWLEDGE |
			   VIRTIO_CONFIG_S_DRIVER);
	vmm_vio_set_driver_features(vmm, features);
	vmm_vio_set_status(vmm, VIRTIO_CONFIG_S_ACKNOWLEDGE |
			   VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	return vmm_vio_status(vmm);
}

/**
 * sysfs_read - read a sysfs attribute, trailing newline stripped
 * @path: attribute
 * @buf: destination, NUL terminated
 * @size: size of @buf
 *
 * Return: length read, or a negative errno.
 */
int sysfs_read(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return n;
}

/**
 * sysfs_write - write a string to a sysfs attribute in one write()
 * @path: attribute
 * @val: value, written as is
 *
 * Return: 0, or the negative errno of open() or write().
 */
int sysfs_write(const char *path, const char *val)
{
	return sysfs_write_buf(path, val, strlen(val));
}

/**
 * sysfs_write_buf - write @len bytes (NUL bytes included) in one write()
 * @path: sysfs file
 * @buf: bytes to write
 * @len: how many
 *
 * Return: 0, or a negative errno (-EIO for a short write).
 */
int sysfs_write_buf(const char *path, const void *buf, size_t len)
{
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, buf, len);
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != len)
		ret = -EIO;
	close(fd);
	return ret;
}

int sysfs_read_u64(const char *path, u64 *val)
{
	char buf[64], *end;
	int ret;

	ret = sysfs_read(path, buf, sizeof(buf));
	if (ret < 0)
		return ret;
	if (!ret)
		return -ENODATA;
	errno = 0;
	*val = strtoull(buf, &end, 0);
	if (errno || *end)
		return -EINVAL;
	return 0;
}

int mdev_type_path(char *buf, size_t size, const char *bdf, const char *attr)
{
	int n = snprintf(buf, size,
			 VMM_PCI_DEVICES "/%s/mdev_supported_types/" VMM_MDEV_TYPE "/%s",
			 bdf, attr);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int mdev_attr_path(char *buf, size_t size, const char *uuid, const char *attr)
{
	int n = snprintf(buf, size, VMM_MDEV_DEVICES "/%s/%s", uuid, attr);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int mdev_type_read(const char *bdf, const char *attr, char *buf, size_t size)
{
	char path[PATH_MAX];
	int ret;

	ret = mdev_type_path(path, sizeof(path), bdf, attr);
	return ret ? ret : sysfs_read(path, buf, size);
}

int mdev_attr_read(const char *uuid, const char *attr, char *buf,
		   size_t size)
{
	char path[PATH_MAX];
	int ret;

	ret = mdev_attr_path(path, sizeof(path), uuid, attr);
	return ret ? ret : sysfs_read(path, buf, size);
}

int mdev_attr_write(const char *uuid, const char *attr, const char *val)
{
	char path[PATH_MAX];
	int ret;

	ret = mdev_attr_path(path, sizeof(path), uuid, attr);
	return ret ? ret : sysfs_write(path, val);
}

int mdev_attr_u64(const char *uuid, const char *attr, u64 *val)
{
	char path[PATH_MAX];
	int ret;

	ret = mdev_attr_path(path, sizeof(path), uuid, attr);
	return ret ? ret : sysfs_read_u64(path, val);
}

/* A random (version 4) UUID from the kernel. */
int mdev_gen_uuid(char *uuid)
{
	int ret;

	ret = sysfs_read("/proc/sys/kernel/random/uuid", uuid,
			 VMM_UUID_LEN + 1);
	if (ret < 0)
		return ret;
	return ret == VMM_UUID_LEN ? 0 : -EINVAL;
}

int mdev_create_uuid(const char *bdf, const char *uuid)
{
	char path[PATH_MAX];
	int ret;

	ret = mdev_type_path(path, sizeof(path), bdf, "create");
	return ret ? ret : sysfs_write(path, uuid);
}

/**
 * mdev_create - create an mdev of our type on @bdf with a fresh UUID
 * @bdf: parent function
 * @uuid: receives the UUID (VMM_UUID_LEN + 1 bytes)
 *
 * Return: 0 or a negative errno.
 */
int mdev_create(const char *bdf, char *uuid)
{
	int ret;

	ret = mdev_gen_uuid(uuid);
	return ret ? ret : mdev_create_uuid(bdf, uuid);
}

int mdev_remove(const char *uuid)
{
	return mdev_attr_write(uuid, "remove", "1");
}

bool mdev_exists(const char *uuid)
{
	char path[PATH_MAX];

	if (mdev_attr_path(path, sizeof(path), uuid, ""))
		return false;
	return access(path, F_OK) == 0;
}

/* Name of the driver bound to @bdf; -ENOENT when unbound. */
int pci_driver_of(const char *bdf, char *buf, size_t size)
{
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), VMM_PCI_DEVICES "/%s/driver", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	snprintf(buf, size, "%s", basename(link));
	return 0;
}

/**
 * pci_bind - bind @bdf to @driver through driver_override
 * @bdf: the function
 * @driver: driver name
 *
 * Return: 0 once @bdf is bound to @driver, else a negative errno.
 */
int pci_bind(const char *bdf, const char *driver)
{
	char path[PATH_MAX], cur[64];
	int ret;

	if (!pci_driver_of(bdf, cur, sizeof(cur))) {
		if (!strcmp(cur, driver))
			return 0;
		snprintf(path, sizeof(path), VMM_PCI_DEVICES "/%s/driver/unbind",
			 bdf);
		ret = sysfs_write(path, bdf);
		if (ret)
			return ret;
	}
	snprintf(path, sizeof(path), VMM_PCI_DEVICES "/%s/driver_override", bdf);
	ret = sysfs_write(path, driver);
	if (ret)
		return ret;
	ret = sysfs_write("/sys/bus/pci/drivers_probe", bdf);
	if (ret)
		return ret;
	if (pci_driver_of(bdf, cur, sizeof(cur)) || strcmp(cur, driver))
		return -ENODEV;
	return 0;
}

const char *vmm_env_bdf(const char *name)
{
	const char *bdf = getenv(name);

	return bdf && *bdf ? bdf : NULL;
}

/**
 * __vmm_dev_create - an mdev on @bdf, ready for a test
 * @dev: state to fill
 * @bdf: the parent function, bound to the backend
 * @flags: VMM_DEV_OPEN to open it as a VMM does
 *
 * Return: 0, or a negative errno with the mdev removed again.
 */
int __vmm_dev_create(struct vmm_dev *dev, const char *bdf, unsigned int flags)
{
	struct vfio_irq_info irq;
	int ret;

	memset(dev, 0, sizeof(*dev));
	dev->bdf = bdf;
	vmm_init(&dev->vmm, "");
	ret = mdev_create(bdf, dev->uuid);
	if (ret)
		return ret;
	vmm_init(&dev->vmm, dev->uuid);
	ret = mdev_attr_u64(dev->uuid, "vf_features", &dev->vf);
	if (ret)
		goto err_remove;
	ret = mdev_attr_u64(dev->uuid, "offered_features", &dev->offered);
	if (ret)
		goto err_remove;
	if (!(flags & VMM_DEV_OPEN))
		return 0;
	ret = vmm_open(&dev->vmm, dev->uuid);
	if (ret)
		goto err_close;
	ret = vmm_virtio_locate(&dev->vmm);
	if (ret)
		goto err_close;
	ret = vmm_irq_info(&dev->vmm, VFIO_PCI_MSIX_IRQ_INDEX, &irq);
	if (ret)
		goto err_close;
	dev->nvec = irq.count;
	dev->open = true;
	return 0;

err_close:
	vmm_close(&dev->vmm);
err_remove:
	mdev_remove(dev->uuid);
	dev->uuid[0] = '\0';
	return ret;
}

void vmm_dev_destroy(struct vmm_dev *dev)
{
	if (dev->open)
		vmm_close(&dev->vmm);
	dev->open = false;
	if (dev->uuid[0] && mdev_exists(dev->uuid))
		mdev_remove(dev->uuid);
}

/* One VFIO_DEVICE_FEATURE call with @len bytes of payload in and out. */
static int vmm_feature(struct vmm *vmm, u32 flags, void *data, size_t len)
{
	u64 buf[(sizeof(struct vfio_device_feature) + 64) / sizeof(u64)] = { };
	struct vfio_device_feature *f = (void *)buf;

	if (len > 64)
		return -EINVAL;
	f->argsz = sizeof(*f) + len;
	f->flags = flags;
	memcpy(f->data, data, len);
	if (ioctl(vmm->device, VFIO_DEVICE_FEATURE, f))
		return -errno;
	memcpy(data, f->data, len);
	return 0;
}

int vmm_mig_flags(struct vmm *vmm, u64 *flags)
{
	struct vfio_device_feature_migration mig = { };
	int ret;

	ret = vmm_feature(vmm, VFIO_DEVICE_FEATURE_GET |
			  VFIO_DEVICE_FEATURE_MIGRATION, &mig, sizeof(mig));
	if (!ret)
		*flags = mig.flags;
	return ret;
}

int vmm_mig_get_state(struct vmm *vmm, u32 *state)
{
	struct vfio_device_feature_mig_state mig = { };
	int ret;

	ret = vmm_feature(vmm, VFIO_DEVICE_FEATURE_GET |
			  VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &mig,
			  sizeof(mig));
	if (!ret)
		*state = mig.device_state;
	return ret;
}

int vmm_mig_set_state(struct vmm *vmm, u32 state, int *data_fd)
{
	struct vfio_device_feature_mig_state mig = { .device_state = state };
	int ret;

	mig.data_fd = -1;
	ret = vmm_feature(vmm, VFIO_DEVICE_FEATURE_SET |
			  VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &mig,
			  sizeof(mig));
	if (data_fd)
		*data_fd = ret ? -1 : mig.data_fd;
	else if (!ret && mig.data_fd >= 0)
		close(mig.data_fd);
	return ret;
}

int vmm_mig_data_size(struct vmm *vmm, u64 *len)
{
	struct vfio_device_feature_mig_data_size size = { };
	int ret;

	ret = vmm_feature(vmm, VFIO_DEVICE_FEATURE_GET |
			  VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, &size,
			  sizeof(size));
	if (!ret)
		*len = size.stop_copy_length;
	return ret;
}
