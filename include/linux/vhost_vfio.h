/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vhost-vfio backend interface.
 *
 * A backend owns one virtio-capable PCI function (the "VF") and exposes it
 * to the vhost-vfio core through a small ops table.  The core turns the VF
 * into a vfio-pci compatible mediated device and emulates the control path
 * on top of these ops; it never touches the VF's registers directly, so new
 * kinds of VFs become new backends rather than special cases in the core.
 */
#ifndef _LINUX_VHOST_VFIO_H
#define _LINUX_VHOST_VFIO_H

#include <linux/device.h>
#include <linux/types.h>

struct vhost_vfio_vf;

/**
 * struct vhost_vfio_vf_ids - PCI identity of a VF, used for quirk matching
 * @vendor: PCI vendor ID
 * @device: PCI device ID
 * @subvendor: PCI subsystem vendor ID
 * @subdevice: PCI subsystem device ID
 */
struct vhost_vfio_vf_ids {
	u16 vendor;
	u16 device;
	u16 subvendor;
	u16 subdevice;
};

/**
 * struct vhost_vfio_backend_ops - operations a VF backend provides
 *
 * Every callback gets the @priv pointer passed to vhost_vfio_register_vf().
 * Queue indexes are the VF's own indexes.  All callbacks may sleep and are
 * serialized by the core per VF.
 *
 * @get_features: the 64-bit feature set the VF offers
 * @set_features: write the driver feature set to the VF
 * @get_status: read the VF's device_status
 * @set_status: write the VF's device_status (non-zero values only)
 * @reset: reset the VF (write 0, wait until it reads back 0, bounded);
 *	returns 0 or -ETIMEDOUT
 * @num_queues: number of virtqueues the VF has
 * @queue_max_size: queue size the VF reports for @qid after reset
 * @queue_set_size: program the size of @qid; returns what the VF now holds
 * @queue_set_address: program descriptor, driver (avail) and device (used)
 *	area addresses of @qid
 * @queue_set_enable: enable @qid
 * @queue_get_enable: read back queue_enable of @qid
 * @queue_set_vector: program the MSI-X vector of @qid; returns what the VF
 *	holds afterwards (VIRTIO_MSI_NO_VECTOR when it refused)
 * @queue_notify_info: width of @qid's doorbell and the VF's
 *	queue_notify_off for it
 * @notify_area: length of the VF's notify area (the one @notify_write
 *	and @notify_map_check use)
 * @notify_write: write @val (@size bytes) at @offset inside the notify area
 *	(trapped doorbell path)
 * @set_config_vector: program config_msix_vector; returns the VF's readback
 * @config_generation: the VF's config_generation
 * @config_size: length of the VF's device-specific configuration
 * @config_read: read @len bytes at @offset of the device-specific config
 * @config_write: write @len bytes at @offset of the device-specific config
 * @notify_off_multiplier: the VF's notify_off_multiplier
 * @isr_read: read (and thereby clear) the VF's ISR status
 * @msix_vectors: number of MSI-X vectors allocated for the VF
 * @vector_irq: Linux irq number of VF MSI-X vector @vector, or -EINVAL
 * @notify_map_check: optional; 0 and the physical address @pa and length
 *	@len (whole pages) of the part of the notify area, from its start,
 *	that holds nothing but doorbells and may be mapped into a guest;
 *	otherwise a negative errno and *@reason, a static string saying why.
 *	@pa is the only address the core ever maps.  Without this op the
 *	doorbells stay trapped.
 */
struct vhost_vfio_backend_ops {
	u64 (*get_features)(void *priv);
	void (*set_features)(void *priv, u64 features);
	u8 (*get_status)(void *priv);
	void (*set_status)(void *priv, u8 status);
	int (*reset)(void *priv);
	u16 (*num_queues)(void *priv);
	u16 (*queue_max_size)(void *priv, u16 qid);
	u16 (*queue_set_size)(void *priv, u16 qid, u16 size);
	void (*queue_set_address)(void *priv, u16 qid, u64 desc, u64 avail,
				  u64 used);
	void (*queue_set_enable)(void *priv, u16 qid, bool enable);
	bool (*queue_get_enable)(void *priv, u16 qid);
	u16 (*queue_set_vector)(void *priv, u16 qid, u16 vector);
	int (*queue_notify_info)(void *priv, u16 qid, u32 *size,
				 u16 *notify_off);
	int (*notify_area)(void *priv, u64 *len);
	void (*notify_write)(void *priv, u64 offset, u32 val,
			     unsigned int size);
	u16 (*set_config_vector)(void *priv, u16 vector);
	u32 (*config_generation)(void *priv);
	unsigned int (*config_size)(void *priv);
	int (*config_read)(void *priv, unsigned int offset, void *buf,
			   unsigned int len);
	int (*config_write)(void *priv, unsigned int offset, const void *buf,
			    unsigned int len);
	u32 (*notify_off_multiplier)(void *priv);
	u8 (*isr_read)(void *priv);
	u16 (*msix_vectors)(void *priv);
	int (*vector_irq)(void *priv, u16 vector);
	int (*notify_map_check)(void *priv, phys_addr_t *pa, u64 *len,
				const char **reason);
};

struct vhost_vfio_vf *
vhost_vfio_register_vf(struct device *dev,
		       const struct vhost_vfio_backend_ops *ops, void *priv,
		       const struct vhost_vfio_vf_ids *ids);
void vhost_vfio_unregister_vf(struct vhost_vfio_vf *vf);

#endif /* _LINUX_VHOST_VFIO_H */
