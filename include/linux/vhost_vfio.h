/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vhost-vfio backend interface.
 *
 * A backend owns one virtio-capable PCI function (the "VF") and hands it
 * to the vhost-vfio core as data (the VF's fixed facts, read once) and a
 * small ops table (what must touch the VF).  The core turns the VF
 * into a vfio-pci compatible mediated device and emulates the control path
 * on top of these ops; it never touches the VF's registers directly, so new
 * kinds of VFs become new backends rather than special cases in the core.
 */
#ifndef _LINUX_VHOST_VFIO_H
#define _LINUX_VHOST_VFIO_H

#include <linux/device.h>
#include <linux/types.h>

struct vhost_vfio_vf;
struct vhost_vfio_backend;

/**
 * struct vhost_vfio_queue_facts - fixed facts of one VF virtqueue
 * @max_size: the queue_size the VF reports after reset (its maximum)
 * @notify_off: the VF's queue_notify_off for this queue
 */
struct vhost_vfio_queue_facts {
	u16 max_size;
	u16 notify_off;
};

/**
 * struct vhost_vfio_vf_facts - what a VF is, read once by its backend
 * @features: the 64-bit feature set the VF offers
 * @num_queues: virtqueues the VF has: the entries of @queues
 * @queues: per-queue facts, indexed by the VF's queue index; the core
 *	copies them during vhost_vfio_register_vf()
 * @msix_vectors: MSI-X vectors allocated for the VF; @vector_irq answers
 *	for each of them
 * @config_size: length of the device-specific configuration
 * @notify_len: length of the notify area @notify_write addresses
 * @notify_mult: the VF's notify_off_multiplier
 * @notify_width: bytes in one doorbell write (2; 4 with
 *	VIRTIO_F_NOTIFICATION_DATA)
 * @notify_map_pa: physical address of the doorbell pages a guest may map:
 *	the only address the core ever maps
 * @notify_map_len: their length, whole pages from the start of the notify
 *	area holding nothing but doorbells; 0 keeps the doorbells trapped
 * @notify_map_refusal: when @notify_map_len is 0, why (a static string
 *	shown to the operator)
 */
struct vhost_vfio_vf_facts {
	u64 features;
	u16 num_queues;
	const struct vhost_vfio_queue_facts *queues;
	u16 msix_vectors;
	u32 config_size;
	u64 notify_len;
	u32 notify_mult;
	u32 notify_width;
	phys_addr_t notify_map_pa;
	u64 notify_map_len;
	const char *notify_map_refusal;
};

/**
 * struct vhost_vfio_backend_ops - operations a VF backend provides
 *
 * Every callback gets the &struct vhost_vfio_backend the backend registered
 * (embedded in its own per-VF state: container_of() finds that).  Queue
 * indexes are the VF's own.  All callbacks may sleep and are serialized by
 * the core per VF; all are mandatory.
 *
 * @set_features: write the driver feature set to the VF
 * @get_status: read the VF's device_status
 * @set_status: write the VF's device_status (non-zero values only)
 * @reset: reset the VF (write 0, wait until it reads back 0, bounded);
 *	returns 0 or -ETIMEDOUT
 * @queue_set_size: program the size of @qid; returns what the VF now holds
 * @queue_set_address: program descriptor, driver (avail) and device (used)
 *	area addresses of @qid
 * @queue_set_enable: enable @qid
 * @queue_get_enable: read back queue_enable of @qid
 * @queue_set_vector: program the MSI-X vector of @qid; returns what the VF
 *	holds afterwards (VIRTIO_MSI_NO_VECTOR when it refused)
 * @notify_write: write @val (@size bytes) at @offset inside the notify area
 *	(trapped doorbell path)
 * @set_config_vector: program config_msix_vector; returns the VF's readback
 * @config_generation: the VF's config_generation
 * @config_read: read @len bytes at @offset of the device-specific config
 * @isr_read: read (and thereby clear) the VF's ISR status
 * @vector_irq: Linux irq number of VF MSI-X vector @vector, or -EINVAL
 */
struct vhost_vfio_backend_ops {
	void (*set_features)(struct vhost_vfio_backend *be, u64 features);
	u8 (*get_status)(struct vhost_vfio_backend *be);
	void (*set_status)(struct vhost_vfio_backend *be, u8 status);
	int (*reset)(struct vhost_vfio_backend *be);
	u16 (*queue_set_size)(struct vhost_vfio_backend *be, u16 qid, u16 size);
	void (*queue_set_address)(struct vhost_vfio_backend *be, u16 qid,
				  u64 desc, u64 avail, u64 used);
	void (*queue_set_enable)(struct vhost_vfio_backend *be, u16 qid,
				 bool enable);
	bool (*queue_get_enable)(struct vhost_vfio_backend *be, u16 qid);
	u16 (*queue_set_vector)(struct vhost_vfio_backend *be, u16 qid,
				u16 vector);
	void (*notify_write)(struct vhost_vfio_backend *be, u64 offset, u32 val,
			     unsigned int size);
	u16 (*set_config_vector)(struct vhost_vfio_backend *be, u16 vector);
	u32 (*config_generation)(struct vhost_vfio_backend *be);
	int (*config_read)(struct vhost_vfio_backend *be, unsigned int offset,
			   void *buf, unsigned int len);
	u8 (*isr_read)(struct vhost_vfio_backend *be);
	int (*vector_irq)(struct vhost_vfio_backend *be, u16 vector);
};

/**
 * struct vhost_vfio_backend - a VF as its backend hands it to the core
 * @dev: the VF's PCI device; it becomes the mdev parent, so its driver
 *	name prefixes the mdev type ("<driver>-net"), and its IDs are the
 *	ones quirks match and the guest sees as subsystem IDs
 * @ops: the VF's operations
 * @facts: the VF's fixed facts
 *
 * The backend embeds this in its per-VF state and fills it before
 * vhost_vfio_register_vf(); it must stay valid until
 * vhost_vfio_unregister_vf() returns.
 */
struct vhost_vfio_backend {
	struct device *dev;
	const struct vhost_vfio_backend_ops *ops;
	struct vhost_vfio_vf_facts facts;
};

struct vhost_vfio_vf *vhost_vfio_register_vf(struct vhost_vfio_backend *be);
void vhost_vfio_unregister_vf(struct vhost_vfio_vf *vf);

#endif /* _LINUX_VHOST_VFIO_H */
