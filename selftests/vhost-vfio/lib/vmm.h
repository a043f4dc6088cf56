/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Mini-VMM for the vhost-vfio selftests: plays the part QEMU plays for a
 * vhost-vfio mdev (VFIO container, group and device, the vfio-pci region
 * layout) and the part a guest virtio driver plays (configuration space,
 * virtio common configuration), plus the sysfs plumbing around an mdev.
 *
 * Accessors that return a value record the first failure in vmm->err and
 * return all ones, like a PCI master abort, so a failed access never looks
 * like a plausible register value.
 */
#ifndef _VV_SELFTEST_VMM_H
#define _VV_SELFTEST_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <linux/vfio.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;

#define VMM_UUID_LEN		36
#define VMM_MDEV_TYPE		"vhost_vfio_virtio_pci-net"
#define VMM_MDEV_DRIVER		"vhost_vfio_virtio_pci"
#define VMM_PCI_DEVICES		"/sys/bus/pci/devices"
#define VMM_MDEV_DEVICES	"/sys/bus/mdev/devices"
#define VMM_NO_VECTOR		0xffff

/* Not in every distribution's uapi headers. */
#ifndef VIRTIO_F_NOTIFICATION_DATA
#define VIRTIO_F_NOTIFICATION_DATA	38
#endif

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif

#ifndef BIT_ULL
#define BIT_ULL(n)		(1ULL << (n))
#endif

/* Where one virtio structure lives: a BAR and a window inside it. */
struct vmm_vcap {
	bool found;
	u8 pos;		/* capability offset in configuration space */
	u8 bar;
	u32 offset;
	u32 length;
};

/**
 * struct vmm - one VFIO device as a VMM holds it
 * @container: /dev/vfio/vfio
 * @group: /dev/vfio/<group>
 * @device: the device fd
 * @uuid: the mdev's UUID (or a vfio-pci function's BDF, see vmm_open())
 * @info: VFIO_DEVICE_GET_INFO
 * @region: VFIO_DEVICE_GET_REGION_INFO of every vfio-pci region
 * @common: virtio common configuration, once located
 * @notify: virtio notify area, once located
 * @isr: virtio ISR, once located
 * @device_cfg: virtio device configuration, once located
 * @pci_cfg: the VIRTIO_PCI_CAP_PCI_CFG capability, once located
 * @notify_mult: notify_off_multiplier of the notify capability
 * @err: first failed access (negative errno), 0 if none
 *
 * The data path's KVM VM and container are a struct vmm_guest (vmm_kvm.h).
 */
struct vmm {
	int container;
	int group;
	int device;
	char uuid[VMM_UUID_LEN + 1];
	struct vfio_device_info info;
	struct vfio_region_info region[VFIO_PCI_NUM_REGIONS];
	struct vmm_vcap common;
	struct vmm_vcap notify;
	struct vmm_vcap isr;
	struct vmm_vcap device_cfg;
	struct vmm_vcap pci_cfg;
	u32 notify_mult;
	int err;
};

/* VFIO plumbing. */
void vmm_init(struct vmm *vmm, const char *uuid);
int vmm_group_open(struct vmm *vmm);
int vmm_device_open(struct vmm *vmm);
int vmm_open(struct vmm *vmm, const char *uuid);
void vmm_close(struct vmm *vmm);
u64 vmm_region_size(struct vmm *vmm, unsigned int index);
int vmm_region_read(struct vmm *vmm, unsigned int index, u64 off, void *buf,
		    size_t len);
int vmm_region_write(struct vmm *vmm, unsigned int index, u64 off,
		     const void *buf, size_t len);
int vmm_irq_info(struct vmm *vmm, unsigned int index,
		 struct vfio_irq_info *info);
int vmm_reset(struct vmm *vmm);

/* Little-endian register access of 1, 2 or 4 bytes in any region. */
int vmm_reg_read(struct vmm *vmm, unsigned int index, u64 off,
		 unsigned int size, u32 *val);
int vmm_reg_write(struct vmm *vmm, unsigned int index, u64 off,
		  unsigned int size, u32 val);
u32 vmm_reg_get(struct vmm *vmm, unsigned int index, u64 off,
		unsigned int size);
void vmm_reg_set(struct vmm *vmm, unsigned int index, u64 off,
		 unsigned int size, u32 val);

/* PCI configuration space. */
#define VMM_CFG		VFIO_PCI_CONFIG_REGION_INDEX
static inline u8 vmm_cfg_read8(struct vmm *v, unsigned int off)
{
	return vmm_reg_get(v, VMM_CFG, off, 1);
}

static inline u16 vmm_cfg_read16(struct vmm *v, unsigned int off)
{
	return vmm_reg_get(v, VMM_CFG, off, 2);
}

static inline u32 vmm_cfg_read32(struct vmm *v, unsigned int off)
{
	return vmm_reg_get(v, VMM_CFG, off, 4);
}

static inline void vmm_cfg_write8(struct vmm *v, unsigned int off, u8 val)
{
	vmm_reg_set(v, VMM_CFG, off, 1, val);
}

static inline void vmm_cfg_write16(struct vmm *v, unsigned int off, u16 val)
{
	vmm_reg_set(v, VMM_CFG, off, 2, val);
}

static inline void vmm_cfg_write32(struct vmm *v, unsigned int off, u32 val)
{
	vmm_reg_set(v, VMM_CFG, off, 4, val);
}

/* BARs: index 0..5 of the vfio-pci layout. */
static inline u32 vmm_bar_read(struct vmm *v, unsigned int bar, u64 off,
			       unsigned int size)
{
	return vmm_reg_get(v, VFIO_PCI_BAR0_REGION_INDEX + bar, off, size);
}

static inline void vmm_bar_write(struct vmm *v, unsigned int bar, u64 off,
				 unsigned int size, u32 val)
{
	vmm_reg_set(v, VFIO_PCI_BAR0_REGION_INDEX + bar, off, size, val);
}

/*
 * Capability chain walk.  Calls @fn for every capability in chain order;
 * returns the number of capabilities, or -ELOOP / -ERANGE for a chain that
 * loops, leaves the header or is not dword aligned.
 */
int vmm_cap_walk(struct vmm *vmm,
		 void (*fn)(struct vmm *vmm, u8 pos, u8 id, void *arg),
		 void *arg);
int vmm_cap_find(struct vmm *vmm, u8 id);

/* Virtio transport, the way a guest driver finds and drives it. */
int vmm_virtio_locate(struct vmm *vmm);
u32 vmm_vio_read(struct vmm *vmm, unsigned int off, unsigned int size);
void vmm_vio_write(struct vmm *vmm, unsigned int off, unsigned int size,
		   u32 val);
u64 vmm_vio_device_features(struct vmm *vmm);
u64 vmm_vio_driver_features(struct vmm *vmm);
void vmm_vio_set_driver_features(struct vmm *vmm, u64 features);
u8 vmm_vio_status(struct vmm *vmm);
void vmm_vio_set_status(struct vmm *vmm, u8 status);
int vmm_settle(struct vmm *vmm);
u16 vmm_vio_num_queues(struct vmm *vmm);
void vmm_vio_queue_select(struct vmm *vmm, u16 queue);
u16 vmm_vio_queue_size(struct vmm *vmm);
void vmm_vio_set_queue_size(struct vmm *vmm, u16 size);
u16 vmm_vio_queue_vector(struct vmm *vmm);
void vmm_vio_set_queue_vector(struct vmm *vmm, u16 vector);
u16 vmm_vio_queue_enable(struct vmm *vmm);
void vmm_vio_set_queue_enable(struct vmm *vmm, u16 enable);
u16 vmm_vio_queue_notify_off(struct vmm *vmm);
void vmm_vio_set_queue_addr(struct vmm *vmm, u64 desc, u64 avail, u64 used);
void vmm_vio_queue_addr(struct vmm *vmm, u64 *desc, u64 *avail, u64 *used);
u32 vmm_vio_devcfg_read(struct vmm *vmm, unsigned int off, unsigned int size);
/* Negotiate: reset, ACK|DRIVER, @features, FEATURES_OK; returns status. */
u8 vmm_vio_negotiate(struct vmm *vmm, u64 features);

/* sysfs. */
int sysfs_read(const char *path, char *buf, size_t size);
int sysfs_write(const char *path, const char *val);
int sysfs_write_buf(const char *path, const void *buf, size_t len);
int sysfs_read_u64(const char *path, u64 *val);
int mdev_type_path(char *buf, size_t size, const char *bdf, const char *attr);
int mdev_attr_path(char *buf, size_t size, const char *uuid, const char *attr);
int mdev_type_read(const char *bdf, const char *attr, char *buf, size_t size);
int mdev_attr_read(const char *uuid, const char *attr, char *buf,
		   size_t size);
int mdev_attr_write(const char *uuid, const char *attr, const char *val);
int mdev_attr_u64(const char *uuid, const char *attr, u64 *val);
int mdev_gen_uuid(char *uuid);
int mdev_create_uuid(const char *bdf, const char *uuid);
int mdev_create(const char *bdf, char *uuid);
int mdev_remove(const char *uuid);
bool mdev_exists(const char *uuid);
int pci_driver_of(const char *bdf, char *buf, size_t size);
int pci_bind(const char *bdf, const char *driver);

/* The function under test, from the environment (VV_BDF, VV_BDF2). */
const char *vmm_env_bdf(const char *name);

/**
 * struct vmm_dev - a test's device: an mdev on the function under test
 * @bdf: the parent function
 * @uuid: the mdev
 * @vmm: the mini-VMM state, vmm_init()ed for @uuid; open if @open
 * @open: the device was opened as a VMM does, its virtio structures located
 * @vf: the mdev's vf_features
 * @offered: the mdev's offered_features
 * @nvec: MSI-X vectors (with VMM_DEV_OPEN)
 */
struct vmm_dev {
	const char *bdf;
	char uuid[VMM_UUID_LEN + 1];
	struct vmm vmm;
	bool open;
	u64 vf;
	u64 offered;
	u16 nvec;
};

/* __vmm_dev_create() flags. */
#define VMM_DEV_OPEN	0x1	/* open the device, locate virtio, count vectors */

/*
 * One call to a ready device, in the style of the KVM selftests'
 * __vm_create_with_one_vcpu(): create an mdev on @bdf (and open it with
 * VMM_DEV_OPEN).  Returns 0 or a negative errno with nothing left behind,
 * for a test that needs the failure; vmm_dev_create() asserts instead.
 */
int __vmm_dev_create(struct vmm_dev *dev, const char *bdf, unsigned int flags);
/* Close (if open) and remove the mdev (if still there); safe to repeat. */
void vmm_dev_destroy(struct vmm_dev *dev);

/*
 * VFIO migration v2 (VFIO_DEVICE_FEATURE).  Each returns 0 or a negative
 * errno; a state change that opens a data fd returns it in *@data_fd
 * (-1 when none).
 */
#ifndef VFIO_DEVICE_FEATURE_MIG_DATA_SIZE
#define VFIO_DEVICE_FEATURE_MIG_DATA_SIZE	9
struct vfio_device_feature_mig_data_size {
	__aligned_u64 stop_copy_length;
};
#endif
int vmm_mig_flags(struct vmm *vmm, u64 *flags);
int vmm_mig_get_state(struct vmm *vmm, u32 *state);
int vmm_mig_set_state(struct vmm *vmm, u32 state, int *data_fd);
int vmm_mig_data_size(struct vmm *vmm, u64 *len);

#endif /* _VV_SELFTEST_VMM_H */
