// SPDX-License-Identifier: GPL-2.0-only
/*
 * vhost-vfio: interrupt delivery.
 *
 * Guest MSI-X vector N is VF vector N: the guest's queue and config vectors
 * are forwarded to the VF unchanged, so the VF raises vector N exactly when
 * the guest expects vector N.  While userspace has an eventfd on vector N,
 * the VF's irq is requested with a handler that only signals that eventfd
 * (KVM's irqfd injects it without QEMU), and an irq-bypass producer lets
 * KVM post the interrupt directly where the platform can.
 *
 * With the virtqueue relay (relay.c) the handler is threaded instead, and
 * there is no bypass: the relay must see every interrupt, move the VF's
 * used elements to the guest's ring, and only then signal the eventfd.
 *
 * VFIO_DEVICE_SET_IRQS follows vfio-pci's semantics for MSI-X and the
 * request irq.  INTx, MSI and the error irq are not offered.
 */
#include <linux/eventfd.h>
#include <linux/interrupt.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vhost_vfio_priv.h"
#include "trace.h"

static irqreturn_t vv_irq_handler(int irq, void *arg)
{
	struct vhost_vfio_irq *v = arg;

	atomic64_inc(&v->count);
	/* vv_irq_swap() may be replacing it; either eventfd is valid here. */
	eventfd_signal(READ_ONCE(v->trigger));
	return IRQ_HANDLED;
}

static irqreturn_t vv_irq_relay_wake(int irq, void *arg)
{
	struct vhost_vfio_irq *v = arg;

	atomic64_inc(&v->count);
	return IRQ_WAKE_THREAD;
}

static irqreturn_t vv_irq_relay_thread(int irq, void *arg)
{
	struct vhost_vfio_irq *v = arg;

	if (vhost_vfio_relay_interrupt(v->vd, v - v->vd->irqs))
		eventfd_signal(READ_ONCE(v->trigger));
	return IRQ_HANDLED;
}

/*
 * irq_bypass has no producer-side connect notification but these hooks.
 * A consumer with our token is KVM's irqfd on the same eventfd: from then
 * on the interrupt reaches the guest without waking the VMM.
 */
static void vv_bypass_note(struct irq_bypass_producer *prod, bool connected)
{
	struct vhost_vfio_irq *v = container_of(prod, struct vhost_vfio_irq,
						producer);
	struct vhost_vfio_dev *vd = v->vd;

	if (connected)
		atomic_inc(&vd->bypass_connected);
	else
		atomic_dec(&vd->bypass_connected);
	trace_vhost_vfio_irq_bypass(dev_name(vv_dev(vd)), v - vd->irqs,
				    connected);
}

static int vv_bypass_add_consumer(struct irq_bypass_producer *prod,
				  struct irq_bypass_consumer *cons)
{
	vv_bypass_note(prod, true);
	return 0;
}

static void vv_bypass_del_consumer(struct irq_bypass_producer *prod,
				   struct irq_bypass_consumer *cons)
{
	vv_bypass_note(prod, false);
}

/*
 * Tear down in the reverse order of setup.  The producer goes first: a
 * connected consumer may have routed the irq elsewhere (posted interrupts)
 * and must let go of it before the irq is freed; the eventfd (the
 * producer's token) is released last.
 */
static void vv_irq_unset(struct vhost_vfio_irq *v)
{
	if (!v->trigger)
		return;
	if (v->bypass) {
		irq_bypass_unregister_producer(&v->producer);
		v->bypass = false;
		atomic_dec(&v->vd->bypass_registered);
	}
	free_irq(v->irq, v);
	eventfd_ctx_put(v->trigger);
	v->trigger = NULL;
	v->irq = -1;
}

static void vv_bypass_register(struct vhost_vfio_irq *v)
{
	struct vhost_vfio_dev *vd = v->vd;
	int ret;

	/* KVM would take the interrupt away from the relay. */
	if (vd->relay.on)
		return;
	v->producer.token = v->trigger;
	v->producer.irq = v->irq;
	v->producer.add_consumer = vv_bypass_add_consumer;
	v->producer.del_consumer = vv_bypass_del_consumer;
	ret = irq_bypass_register_producer(&v->producer);
	if (ret) {
		/* Delivery still works through the eventfd; only slower. */
		dev_info_ratelimited(vv_dev(vd),
				     "irq bypass unavailable for vector %ld (%d)\n",
				     (long)(v - vd->irqs), ret);
		return;
	}
	v->bypass = true;
	atomic_inc(&vd->bypass_registered);
}

/*
 * Move a vector that has an eventfd to another one without releasing the
 * irq.  QEMU does this each time the guest masks or unmasks the vector (it
 * switches between KVM's irqfd and its own eventfd).  Freeing the irq
 * there would shut the vector down, and an interrupt already on its way
 * to the CPU would then be dropped; keeping it requested means every
 * interrupt signals either the old or the new eventfd.
 */
static void vv_irq_swap(struct vhost_vfio_irq *v, struct eventfd_ctx *trigger)
{
	struct eventfd_ctx *old = v->trigger;

	if (trigger == old) {
		eventfd_ctx_put(trigger);
		return;
	}
	/* The producer's token is the eventfd: re-register it for the new one. */
	if (v->bypass) {
		irq_bypass_unregister_producer(&v->producer);
		v->bypass = false;
		atomic_dec(&v->vd->bypass_registered);
	}
	WRITE_ONCE(v->trigger, trigger);
	/*
	 * A handler (or relay thread) that read the old eventfd is done with
	 * it after this.
	 */
	synchronize_irq(v->irq);
	eventfd_ctx_put(old);
	vv_bypass_register(v);
}

static int vv_irq_set(struct vhost_vfio_dev *vd, unsigned int vector, int fd)
{
	struct vhost_vfio_vf *vf = vd->vf;
	struct vhost_vfio_irq *v = &vd->irqs[vector];
	struct eventfd_ctx *trigger;
	int irq, ret;

	if (fd < 0) {
		vv_irq_unset(v);
		return 0;
	}
	trigger = eventfd_ctx_fdget(fd);
	if (IS_ERR(trigger)) {
		/* As vfio-pci: a vector given a bad fd ends up unset. */
		vv_irq_unset(v);
		return PTR_ERR(trigger);
	}
	if (v->trigger) {
		vv_irq_swap(v, trigger);
		return 0;
	}

	irq = vf->ops->vector_irq(vf->be, vector);
	if (irq < 0) {
		ret = irq;
		goto err_put;
	}
	v->trigger = trigger;
	v->irq = irq;
	snprintf(v->name, sizeof(v->name), "vhost-vfio-msix[%u](%s)", vector,
		 dev_name(vv_dev(vd)));
	if (vd->relay.on)
		ret = request_threaded_irq(irq, vv_irq_relay_wake,
					   vv_irq_relay_thread, 0, v->name, v);
	else
		ret = request_irq(irq, vv_irq_handler, 0, v->name, v);
	if (ret)
		goto err_unset;
	vd->counters.irq_requests++;
	vv_bypass_register(v);
	return 0;

err_unset:
	v->trigger = NULL;
	v->irq = -1;
err_put:
	eventfd_ctx_put(trigger);
	return ret;
}

/**
 * vhost_vfio_irqs_alloc - allocate the per-vector state of an mdev
 * @vd: mediated device
 *
 * Return: 0 or -ENOMEM.
 */
int vhost_vfio_irqs_alloc(struct vhost_vfio_dev *vd)
{
	u16 i;

	vd->irqs = kcalloc(vd->vf->msix_vectors, sizeof(*vd->irqs),
			   GFP_KERNEL);
	if (!vd->irqs)
		return -ENOMEM;
	for (i = 0; i < vd->vf->msix_vectors; i++) {
		vd->irqs[i].vd = vd;
		vd->irqs[i].irq = -1;
	}
	return 0;
}

/**
 * vhost_vfio_irqs_free - free the per-vector state; all vectors are unset
 * @vd: mediated device
 */
void vhost_vfio_irqs_free(struct vhost_vfio_dev *vd)
{
	kfree(vd->irqs);
	vd->irqs = NULL;
}

static void vv_msix_disable(struct vhost_vfio_dev *vd)
{
	u16 i;

	for (i = 0; i < vd->vf->msix_vectors; i++)
		vv_irq_unset(&vd->irqs[i]);
}

/**
 * vhost_vfio_irqs_disable - unset every vector and the request irq
 * @vd: mediated device, lock held
 */
void vhost_vfio_irqs_disable(struct vhost_vfio_dev *vd)
{
	vv_msix_disable(vd);
	if (vd->req_trigger) {
		eventfd_ctx_put(vd->req_trigger);
		vd->req_trigger = NULL;
	}
}

/**
 * vhost_vfio_config_interrupt - raise the guest's configuration interrupt
 * @vd: mediated device, lock held
 *
 * For a state change the core makes itself (DEVICE_NEEDS_RESET), not the
 * VF: signal the eventfd of the guest's config vector, as the VF's own
 * interrupt would.  Nothing happens without a vector or an eventfd.
 */
void vhost_vfio_config_interrupt(struct vhost_vfio_dev *vd)
{
	u16 vector = vd->config_vector;
	struct vhost_vfio_irq *v;

	if (vector >= vd->vf->msix_vectors)
		return;
	v = &vd->irqs[vector];
	if (v->trigger) {
		atomic64_inc(&v->count);
		eventfd_signal(v->trigger);
	}
}

/**
 * vhost_vfio_request - ask userspace to release the device
 * @vdev: vfio device being unregistered
 * @count: how often it was asked already
 *
 * Called repeatedly while the mdev is removed (e.g. the VF is unbound)
 * and the device is still open.
 */
void vhost_vfio_request(struct vfio_device *vdev, unsigned int count)
{
	struct vhost_vfio_dev *vd = container_of(vdev, struct vhost_vfio_dev,
						 vdev);

	mutex_lock(&vd->lock);
	if (vd->req_trigger) {
		if (!(count % 10))
			dev_info_ratelimited(vv_dev(vd),
					     "asking userspace to release the device (%u)\n",
					     count);
		eventfd_signal(vd->req_trigger);
	} else if (!count) {
		dev_notice(vv_dev(vd),
			   "device in use and userspace has no request eventfd; waiting for it to close\n");
	}
	mutex_unlock(&vd->lock);
}

static int vv_num_irqs(struct vhost_vfio_dev *vd, unsigned int index)
{
	switch (index) {
	case VFIO_PCI_MSIX_IRQ_INDEX:
		return vd->vf->msix_vectors;
	case VFIO_PCI_REQ_IRQ_INDEX:
		return 1;
	default:
		return 0;
	}
}

/**
 * vhost_vfio_ioctl_irq_info - VFIO_DEVICE_GET_IRQ_INFO
 * @vd: mediated device
 * @arg: user pointer to struct vfio_irq_info
 *
 * Return: 0 or a negative errno.
 */
long vhost_vfio_ioctl_irq_info(struct vhost_vfio_dev *vd, void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_irq_info, count);
	struct vfio_irq_info info;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;

	switch (info.index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		/*
		 * No INTx: the VF's interrupts reach the guest as MSI-X only,
		 * and emulating a level-triggered line would need a trapped
		 * ISR read and unmask path.  Interrupt pin reads 0, so guest
		 * virtio drivers use MSI-X.
		 */
	case VFIO_PCI_MSI_IRQ_INDEX:
		/* There is no MSI capability, only MSI-X. */
	case VFIO_PCI_ERR_IRQ_INDEX:
		/* No AER capability is exposed, so no error reporting. */
		info.flags = 0;
		info.count = 0;
		break;
	case VFIO_PCI_MSIX_IRQ_INDEX:
		/* Any vector may be set or unset on its own: no NORESIZE. */
	case VFIO_PCI_REQ_IRQ_INDEX:
		info.flags = VFIO_IRQ_INFO_EVENTFD;
		info.count = vv_num_irqs(vd, info.index);
		break;
	default:
		return -EINVAL;
	}

	return copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
}

/* Set or unset the eventfds of vectors [start, start + count). */
static int vv_msix_set_block(struct vhost_vfio_dev *vd, u32 start, u32 count,
			     const s32 *fds)
{
	u32 i, j;
	int ret;

	for (i = 0; i < count; i++) {
		ret = vv_irq_set(vd, start + i, fds[i]);
		trace_vhost_vfio_irq_set(dev_name(vv_dev(vd)), start + i, fds[i],
					 vd->irqs[start + i].irq,
					 vd->irqs[start + i].bypass, ret);
		if (ret)
			goto err_unwind;
	}
	return 0;

err_unwind:
	/* Like vfio-pci: a failed block leaves none of its vectors set. */
	for (j = 0; j < i; j++)
		vv_irq_unset(&vd->irqs[start + j]);
	return ret;
}

static int vv_set_msix(struct vhost_vfio_dev *vd, struct vfio_irq_set *hdr,
		       const void *data)
{
	u32 dtype = hdr->flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	const u8 *bools = data;
	u32 i;

	if (!hdr->count) {
		if (dtype != VFIO_IRQ_SET_DATA_NONE)
			return -EINVAL;
		vv_msix_disable(vd);
		return 0;
	}

	if (dtype == VFIO_IRQ_SET_DATA_EVENTFD)
		return vv_msix_set_block(vd, hdr->start, hdr->count, data);

	/* Loopback injection: signal what is wired. */
	for (i = 0; i < hdr->count; i++) {
		struct vhost_vfio_irq *v = &vd->irqs[hdr->start + i];

		if (!v->trigger)
			continue;
		if (dtype == VFIO_IRQ_SET_DATA_NONE || bools[i])
			eventfd_signal(v->trigger);
	}
	return 0;
}

static int vv_set_req(struct vhost_vfio_dev *vd, struct vfio_irq_set *hdr,
		      const void *data)
{
	u32 dtype = hdr->flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	struct eventfd_ctx *trigger;
	s32 fd;

	if (!hdr->count) {
		if (dtype != VFIO_IRQ_SET_DATA_NONE)
			return -EINVAL;
		fd = -1;
	} else if (dtype == VFIO_IRQ_SET_DATA_EVENTFD) {
		fd = *(const s32 *)data;
	} else {
		if (vd->req_trigger &&
		    (dtype == VFIO_IRQ_SET_DATA_NONE || *(const u8 *)data))
			eventfd_signal(vd->req_trigger);
		return 0;
	}

	if (fd < -1)
		return -EINVAL;
	trigger = NULL;
	if (fd >= 0) {
		trigger = eventfd_ctx_fdget(fd);
		if (IS_ERR(trigger))
			return PTR_ERR(trigger);
	}
	if (vd->req_trigger)
		eventfd_ctx_put(vd->req_trigger);
	vd->req_trigger = trigger;
	return 0;
}

/**
 * vhost_vfio_ioctl_set_irqs - VFIO_DEVICE_SET_IRQS
 * @vd: mediated device
 * @arg: user pointer to struct vfio_irq_set and its data
 *
 * Return: 0 or a negative errno.
 */
long vhost_vfio_ioctl_set_irqs(struct vhost_vfio_dev *vd, void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_irq_set, count);
	struct vfio_irq_set hdr;
	size_t data_size = 0;
	void *data = NULL;
	int ret;

	if (copy_from_user(&hdr, arg, minsz))
		return -EFAULT;

	/* Also rejects start + count overflowing u32. */
	ret = vfio_set_irqs_validate_and_prepare(&hdr,
						 vv_num_irqs(vd, hdr.index),
						 VFIO_PCI_NUM_IRQS, &data_size);
	if (ret)
		return ret;

	/* MSI-X and the request irq only trigger: no mask/unmask (as vfio-pci). */
	if ((hdr.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK) !=
	    VFIO_IRQ_SET_ACTION_TRIGGER)
		return -EINVAL;

	if (data_size) {
		data = memdup_user(arg + minsz, data_size);
		if (IS_ERR(data))
			return PTR_ERR(data);
	}

	mutex_lock(&vd->lock);
	if (!vd->open)
		ret = -ENODEV;
	else if (hdr.index == VFIO_PCI_MSIX_IRQ_INDEX)
		ret = vv_set_msix(vd, &hdr, data);
	else if (hdr.index == VFIO_PCI_REQ_IRQ_INDEX)
		ret = vv_set_req(vd, &hdr, data);
	else
		ret = -EINVAL;
	mutex_unlock(&vd->lock);

	kfree(data);
	return ret;
}
