// SPDX-License-Identifier: GPL-2.0-only
/*
 * vhost-vfio: virtio transport emulation behind the guest's BARs.
 *
 * BAR0 holds the common configuration (emulated, forwarded to the VF through
 * the backend where the VF must know), the ISR byte and the device-specific
 * configuration (the VF's, with provisioned fields virtualized).  BAR1 is
 * the MSI-X table the VMM emulates itself.  BAR2 holds the doorbells; while
 * trapped, kicks are forwarded to the VF's notify area.
 *
 * Guest queue indexes differ from the VF's only for the control queue when
 * fewer queue pairs are provisioned than the VF has (see vv_vf_queue()).
 */
#include <linux/unaligned.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>

#include "vhost_vfio_priv.h"
#include "trace.h"

#define VV_CC(field)	offsetof(struct virtio_pci_common_cfg, field)
#define VV_CC_SIZE(field) sizeof_field(struct virtio_pci_common_cfg, field)

static u32 vv_le_get(const u8 *buf, unsigned int len)
{
	switch (len) {
	case 1:
		return buf[0];
	case 2:
		return get_unaligned_le16(buf);
	default:
		return get_unaligned_le32(buf);
	}
}

static void vv_le_put(u8 *buf, u32 val, unsigned int len)
{
	switch (len) {
	case 1:
		buf[0] = val;
		break;
	case 2:
		put_unaligned_le16(val, buf);
		break;
	default:
		put_unaligned_le32(val, buf);
		break;
	}
}

/**
 * vhost_vfio_vf_queue - VF queue index backing a guest queue
 * @vd: mediated device
 * @negotiated: the features negotiated (they move the control queue)
 * @gq: guest queue index
 *
 * Return: the VF queue index, or -EINVAL if @gq has none.
 */
int vhost_vfio_vf_queue(struct vhost_vfio_dev *vd, u64 negotiated, u32 gq)
{
	const u64 multi = BIT_ULL(VIRTIO_NET_F_MQ) | BIT_ULL(VIRTIO_NET_F_RSS);
	u32 q = gq;

	if (gq >= vd->num_queues)
		return -EINVAL;
	if (gq == 2 * vd->pairs && (negotiated & multi) &&
	    (negotiated & BIT_ULL(VIRTIO_NET_F_CTRL_VQ)))
		q = 2 * vd->vf->max_pairs;
	/* A VF offering a control queue it does not have. */
	return q < vd->vf->num_queues ? q : -EINVAL;
}

/*
 * VF queue index backing guest queue @gq under the features negotiated.
 *
 * The control queue follows the data queues the negotiated features enable
 * (virtio 1.2, 5.1.2): 2 * max_virtqueue_pairs of them with MQ or RSS, two
 * without.  Without those bits it is queue 2 on both sides; with them the
 * guest's follows its provisioned pairs and the VF's all of the VF's.
 */
static int vv_vf_queue(struct vhost_vfio_dev *vd, u32 gq)
{
	return vhost_vfio_vf_queue(vd, vd->negotiated, gq);
}

/**
 * vhost_vfio_virtio_reset - forget all guest-programmed transport state
 * @vd: mediated device, lock held
 */
void vhost_vfio_virtio_reset(struct vhost_vfio_dev *vd)
{
	int q;
	u16 i;

	vd->dfselect = 0;
	vd->gfselect = 0;
	vd->guest_features = 0;
	vd->bad_features = false;
	vd->negotiated = 0;
	vd->queue_sel = 0;
	vd->config_vector = VIRTIO_MSI_NO_VECTOR;
	vd->driver_ok_pending = false;
	vd->needs_reset = false;
	vhost_vfio_mirror_set_live(vd, false);
	vd->config_vector_latch = VIRTIO_MSI_NO_VECTOR;
	for (i = 0; i < vd->num_queues; i++) {
		struct vhost_vfio_vq *vq = &vd->vqs[i];

		memset(vq, 0, sizeof(*vq));
		q = vv_vf_queue(vd, i);
		vq->size = q < 0 ? 0 : vd->vf->queue_max[q];
		vq->size_latch = vq->size;
		vq->vector = VIRTIO_MSI_NO_VECTOR;
		vq->vector_latch = VIRTIO_MSI_NO_VECTOR;
	}
}

/**
 * vhost_vfio_device_reset - reset the VF and the emulated virtio state
 * @vd: mediated device, lock held
 *
 * Return: 0, or the backend's error if the VF did not complete its reset.
 */
int vhost_vfio_device_reset(struct vhost_vfio_dev *vd)
{
	int ret;

	ret = vd->vf->ops->reset(vd->vf->be);
	/* debugfs fault injection: the recovery path of a stuck VF. */
	if (!ret && atomic_xchg(&vd->fail_next_reset, 0))
		ret = -ETIMEDOUT;
	trace_vhost_vfio_reset(dev_name(vv_dev(vd)), ret);
	/* A VF that completed a reset is quiet again (isolation.c). */
	if (!ret)
		vd->vf->dma_unsafe = false;
	if (ret)
		dev_err_ratelimited(vv_dev(vd), "VF %s did not complete reset (%d)\n",
				    dev_name(vd->vf->dev), ret);
	vhost_vfio_relay_reset(vd, !ret);
	vhost_vfio_virtio_reset(vd);
	return ret;
}

/**
 * vhost_vfio_guest_status - device_status as the guest sees it
 * @vd: mediated device, lock held
 *
 * The VF's own status is the truth: FEATURES_OK is only there when the VF
 * accepted the features, and DEVICE_NEEDS_RESET comes from the VF.  Two
 * exceptions: a DRIVER_OK waiting for the mirror reads back set (the VF
 * gets it when the mirror is ready), and one that could not be honoured
 * then reads back as DEVICE_NEEDS_RESET.
 */
u8 vhost_vfio_guest_status(struct vhost_vfio_dev *vd)
{
	u8 status;

	/* A VF reset by a migration stop: what the guest had (migration.c). */
	if (vd->mig.quiesced)
		return vd->mig.held_status;
	status = vd->vf->ops->get_status(vd->vf->be);

	if (vd->driver_ok_pending)
		status |= VIRTIO_CONFIG_S_DRIVER_OK;
	if (vd->needs_reset)
		status = (status & ~VIRTIO_CONFIG_S_DRIVER_OK) |
			 VIRTIO_CONFIG_S_NEEDS_RESET;
	return status;
}

/*
 * Once MQ is negotiated the guest's control queue may be another VF queue
 * than before (vv_vf_queue()): its default size is that queue's maximum.
 */
static void vv_ctrl_queue_rebase(struct vhost_vfio_dev *vd)
{
	u32 gq = 2 * vd->pairs;
	int q;

	if (gq >= vd->num_queues)
		return;
	q = vv_vf_queue(vd, gq);
	if (q >= 0 && q != gq) {
		vd->vqs[gq].size = vd->vf->queue_max[q];
		vd->vqs[gq].size_latch = vd->vqs[gq].size;
	}
}

static void vv_features_ok(struct vhost_vfio_dev *vd, u8 *status)
{
	struct vhost_vfio_vf *vf = vd->vf;
	u64 unoffered = vd->guest_features & ~vd->offered;
	u64 vf_features = 0;

	if (vd->bad_features || unoffered) {
		dev_warn_once(vv_dev(vd),
			      "guest accepted features never offered (0x%016llx%s); FEATURES_OK refused\n",
			      unoffered, vd->bad_features ? " and bits >= 64" : "");
		*status &= ~VIRTIO_CONFIG_S_FEATURES_OK;
		goto out_trace;
	}
	/* Only the modern layout is emulated: no legacy semantics. */
	if (!(vd->guest_features & BIT_ULL(VIRTIO_F_VERSION_1))) {
		dev_warn_once(vv_dev(vd),
			      "guest did not accept VIRTIO_F_VERSION_1; FEATURES_OK refused\n");
		*status &= ~VIRTIO_CONFIG_S_FEATURES_OK;
		goto out_trace;
	}
	vf_features = vhost_vfio_vf_driver_features(vf, vd->guest_features);
	vf->ops->set_features(vf->be, vf_features);
out_trace:
	trace_vhost_vfio_features_ok(dev_name(vv_dev(vd)), vd->offered,
				     vd->guest_features, vf_features,
				     *status & VIRTIO_CONFIG_S_FEATURES_OK);
}

/*
 * Status bits only accumulate until a reset (virtio 1.2, 2.1.2): a write that
 * clears a bit would let a guest renegotiate features under live queues, so
 * it is ignored.  The initialization order (3.1.1) is enforced too.
 */
static bool vv_status_allowed(struct vhost_vfio_dev *vd, u8 old, u8 status)
{
	const char *why = NULL;

	if (old & ~status)
		why = "clears bits without a reset";
	else if ((status & VIRTIO_CONFIG_S_FEATURES_OK) &&
		 (~status & (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER)))
		why = "sets FEATURES_OK before ACKNOWLEDGE and DRIVER";
	else if ((status & VIRTIO_CONFIG_S_DRIVER_OK) &&
		 !(status & VIRTIO_CONFIG_S_FEATURES_OK))
		why = "sets DRIVER_OK before FEATURES_OK";
	if (why)
		dev_warn_ratelimited(vv_dev(vd),
				     "device_status 0x%02x -> 0x%02x %s; ignored\n",
				     old, status, why);
	return !why;
}

/*
 * Give VF queue @q the rings of guest queue @gq: the guest's own, or with
 * the relay the guest's descriptor table and the relay's shadow avail and
 * used rings.
 */
static int vv_vf_queue_rings(struct vhost_vfio_dev *vd, u16 gq, int q)
{
	struct vhost_vfio_vf *vf = vd->vf;
	struct vhost_vfio_vq *vq = &vd->vqs[gq];
	u64 avail = vq->avail, used = vq->used;
	int ret;

	if (vd->relay.on) {
		ret = vhost_vfio_relay_queue_addrs(vd, gq, q, &avail, &used);
		if (ret)
			return ret;
	}
	vf->ops->queue_set_address(vf->be, q, vq->desc, avail, used);
	return 0;
}

/* The VF queue of the first enabled guest queue from *@gq on, or -1. */
static int vv_next_enabled_queue(struct vhost_vfio_dev *vd, u16 *gq)
{
	int q;

	for (; *gq < vd->num_queues; (*gq)++) {
		q = vv_vf_queue(vd, *gq);
		if (q >= 0 && vd->vqs[*gq].enabled)
			return q;
	}
	return -1;
}

/* One notify per enabled queue: kicks the VF may have ignored before. */
static void vv_replay_kicks(struct vhost_vfio_dev *vd)
{
	struct vhost_vfio_vf *vf = vd->vf;
	u16 gq;
	int q;

	for (gq = 0; (q = vv_next_enabled_queue(vd, &gq)) >= 0; gq++) {
		if (vd->relay.on)
			vhost_vfio_relay_kick(vd, gq);
		else
			vf->ops->notify_write(vf->be,
					      (u64)vf->notify_off[q] * vf->notify_mult,
					      q, 2);
		vd->counters.kicks_replayed++;
	}
}

static bool vv_vf_live(struct vhost_vfio_dev *vd)
{
	return vd->vf->ops->get_status(vd->vf->be) & VIRTIO_CONFIG_S_DRIVER_OK;
}

/*
 * Let the VF run: enable the queues the guest enabled, set DRIVER_OK, and
 * replay one notify per queue.  The VF's queues are enabled only here (or
 * after, vv_enable_queue()): a device may serve a queue before DRIVER_OK
 * (QEMU's virtio-net serves its control queue), and until now its DMA
 * could have hit a mirror still being built.
 */
static bool vv_vf_go_live(struct vhost_vfio_dev *vd)
{
	struct vhost_vfio_vf *vf = vd->vf;
	u16 gq;
	int q;

	for (gq = 0; (q = vv_next_enabled_queue(vd, &gq)) >= 0; gq++) {
		vf->ops->queue_set_enable(vf->be, q, true);
		if (!vf->ops->queue_get_enable(vf->be, q)) {
			dev_warn_ratelimited(vv_dev(vd), "VF %s refused to enable its queue %d; no DRIVER_OK\n",
					     dev_name(vf->dev), q);
			return false;
		}
		if (vd->relay.on && vhost_vfio_relay_queue_start(vd, gq))
			return false;
	}
	vf->ops->set_status(vf->be, vf->ops->get_status(vf->be) |
			    VIRTIO_CONFIG_S_DRIVER_OK);
	if (!vv_vf_live(vd))
		return false;
	vhost_vfio_mirror_set_live(vd, true);
	vv_replay_kicks(vd);
	return true;
}

/*
 * The guest set DRIVER_OK: may the VF go live now?  DRIVER_OK lets the VF
 * DMA, so the VF must be one whose DMA the IOMMU translates and its domain
 * must mirror the guest's memory, rings included.  If the mirror is
 * current the VF goes live in this write; if it is still being built the
 * write returns at once and the worker finishes the job
 * (vhost_vfio_driver_ok_resume()): no vCPU waits for pinning.  Refused,
 * the guest reads DRIVER_OK back clear.
 *
 * Return: true if the VF may go live now.
 */
static bool vv_driver_ok(struct vhost_vfio_dev *vd)
{
	if (vd->needs_reset) {
		dev_warn_ratelimited(vv_dev(vd), "DRIVER_OK before the reset DEVICE_NEEDS_RESET asks for; ignored\n");
		return false;
	}
	if (!vhost_vfio_vf_dma_translated(vd))
		return false;
	if (!vd->mirror.kvm) {
		/* Logged once per open, like any failed build. */
		vhost_vfio_mirror_build(vd);
		return false;
	}
	if (vhost_vfio_mirror_ready(vd)) {
		if (!vhost_vfio_mirror_covers_rings(vd))
			return false;
		/* Pages the VMM mapped since the build: in the background. */
		if (vhost_vfio_mirror_has_holes(vd))
			vhost_vfio_mirror_sync(vd);
		return true;
	}
	vd->driver_ok_pending = true;
	vd->counters.driver_ok_deferred++;
	vhost_vfio_mirror_sync(vd);
	return false;
}

/*
 * The mirror holds the guest's memory: the parked queues get their rings
 * back and the VF goes live, with one interrupt per queue for the guest.
 */
static bool vv_resume_live(struct vhost_vfio_dev *vd)
{
	/*
	 * What a guest's DRIVER_OK needs (vv_driver_ok()), on this VF too: a
	 * restored state need not have offered ACCESS_PLATFORM (a
	 * features_mask may clear it on both sides), and this VF may lack it.
	 */
	if (!vhost_vfio_vf_dma_translated(vd) ||
	    !vhost_vfio_mirror_covers_rings(vd) ||
	    vhost_vfio_relay_resume(vd) || !vv_vf_go_live(vd))
		return false;
	vhost_vfio_relay_notify_guest(vd);
	vd->mig.resumed_in_place++;
	return true;
}

/**
 * vhost_vfio_driver_ok_resume - the mirror worker is done: settle DRIVER_OK
 * @vd: mediated device, lock not held
 * @build_ret: what the build returned
 *
 * A deferred DRIVER_OK reaches the VF now, with one notify replayed per
 * enabled queue, or, if the mirror could not be built or does not hold the
 * rings, the guest reads DEVICE_NEEDS_RESET and gets a configuration
 * interrupt (virtio 1.2, 2.1.2).  Nothing to do if no DRIVER_OK waits, or
 * if another build is already queued (that one decides).
 */
void vhost_vfio_driver_ok_resume(struct vhost_vfio_dev *vd, int build_ret)
{
	u8 old;

	mutex_lock(&vd->lock);
	if (!vd->open || !vd->driver_ok_pending)
		goto out;
	/* Queued again since this pass ended (a resume deferred): it decides. */
	if (vhost_vfio_mirror_busy(vd))
		goto out;
	if (!build_ret && !vhost_vfio_mirror_ready(vd)) {
		/* Memslots changed or an unmap came while we built. */
		vhost_vfio_mirror_sync(vd);
		goto out;
	}
	old = vhost_vfio_guest_status(vd);
	vd->driver_ok_pending = false;
	/* A stopped device resuming where it was parked. */
	if (vhost_vfio_relay_parked(vd)) {
		if (!build_ret && vv_resume_live(vd))
			goto out_trace;
		dev_warn_ratelimited(vv_dev(vd), "the VF could not resume where the relay parked it; the guest reads DEVICE_NEEDS_RESET\n");
		vhost_vfio_relay_drop_parked(vd);
		vd->mig.needs_reset_raised++;
		build_ret = build_ret ?: -EIO;
	}
	if (build_ret || !vhost_vfio_mirror_covers_rings(vd)) {
		vd->needs_reset = true;
		vhost_vfio_config_interrupt(vd);
		goto out_trace;
	}
	if (!vv_vf_go_live(vd)) {
		vd->needs_reset = true;
		vhost_vfio_config_interrupt(vd);
	}
out_trace:
	trace_vhost_vfio_status(dev_name(vv_dev(vd)), old, old,
				vhost_vfio_guest_status(vd));
out:
	mutex_unlock(&vd->lock);
}

static void vv_write_status(struct vhost_vfio_dev *vd, u8 status)
{
	struct vhost_vfio_vf *vf = vd->vf;
	u8 old = vhost_vfio_guest_status(vd);
	u8 driver_ok = VIRTIO_CONFIG_S_DRIVER_OK;
	bool features_ok_now, go_live = false;

	if (!status) {
		vd->counters.guest_resets++;
		/* A resume still waiting for the mirror is moot now. */
		vhost_vfio_relay_drop_parked(vd);
		vhost_vfio_device_reset(vd);
		return;
	}
	if (!vv_status_allowed(vd, old, status))
		return;

	features_ok_now = (status & VIRTIO_CONFIG_S_FEATURES_OK) &&
			  !(old & VIRTIO_CONFIG_S_FEATURES_OK);
	if (features_ok_now) {
		vv_features_ok(vd, &status);
		/*
		 * FEATURES_OK and DRIVER_OK may come in one write.  DRIVER_OK
		 * must wait until the VF itself holds FEATURES_OK (virtio
		 * 1.2, 3.1.1): whoever refused the features refused both.
		 */
		vf->ops->set_status(vf->be, status & ~driver_ok);
		if (!(vhost_vfio_guest_status(vd) &
		      VIRTIO_CONFIG_S_FEATURES_OK) && (status & driver_ok)) {
			dev_warn_ratelimited(vv_dev(vd),
					     "device_status 0x%02x: FEATURES_OK was refused, so DRIVER_OK is dropped\n",
					     status);
			status &= ~driver_ok;
		}
	}

	/* The VF gets DRIVER_OK only from vv_vf_go_live(). */
	if ((status & driver_ok) && !(old & driver_ok)) {
		go_live = vv_driver_ok(vd);
		status &= ~driver_ok;
	} else if (!vv_vf_live(vd)) {
		status &= ~driver_ok;
	}

	vf->ops->set_status(vf->be, status);
	if (features_ok_now &&
	    (vhost_vfio_guest_status(vd) & VIRTIO_CONFIG_S_FEATURES_OK)) {
		vd->negotiated = vd->guest_features;
		vv_ctrl_queue_rebase(vd);
	}
	if (go_live)
		vv_vf_go_live(vd);
	trace_vhost_vfio_status(dev_name(vv_dev(vd)), old, status,
				vhost_vfio_guest_status(vd));
}

/**
 * vhost_vfio_virtio_replay - give a reset VF the emulated state back
 * @vd: mediated device, lock held, its VF just reset
 * @status: device_status the guest had
 *
 * Features, status up to FEATURES_OK, queue sizes, vectors and ring
 * addresses are written again, as the guest once wrote them; the VF's
 * queues are enabled and DRIVER_OK set only by vv_vf_go_live(), which the
 * caller does not ask for: a reset VF's rings start at index 0 again.
 *
 * Return: false if the VF refused FEATURES_OK it had accepted before.
 */
bool vhost_vfio_virtio_replay(struct vhost_vfio_dev *vd, u8 status)
{
	const u8 setup = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			 VIRTIO_CONFIG_S_FEATURES_OK;
	struct vhost_vfio_vf *vf = vd->vf;
	struct vhost_vfio_vq *vq;
	u16 gq;
	int q;

	if (status & VIRTIO_CONFIG_S_FEATURES_OK)
		vf->ops->set_features(vf->be,
				      vhost_vfio_vf_driver_features(vf, vd->negotiated));
	vf->ops->set_status(vf->be, status & setup);
	if ((status & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !(vf->ops->get_status(vf->be) & VIRTIO_CONFIG_S_FEATURES_OK)) {
		dev_warn(vv_dev(vd), "VF %s refused the features it had accepted (0x%016llx)\n",
			 dev_name(vf->dev), vd->negotiated);
		return false;
	}
	vd->config_vector = vf->ops->set_config_vector(vf->be,
						       vd->config_vector);
	for (gq = 0; gq < vd->num_queues; gq++) {
		q = vv_vf_queue(vd, gq);
		if (q < 0)
			continue;
		vq = &vd->vqs[gq];
		if (vq->size != vf->queue_max[q])
			vq->size = vf->ops->queue_set_size(vf->be, q, vq->size);
		vq->vector = vf->ops->queue_set_vector(vf->be, q, vq->vector);
		if (vq->enabled && vv_vf_queue_rings(vd, gq, q))
			return false;
	}
	return true;
}

/**
 * vhost_vfio_virtio_resume - a parked device goes on where it stopped
 * @vd: mediated device, lock held; its VF reset, the relay parked
 * @status: device_status the guest had (DRIVER_OK set)
 *
 * The emulated state is replayed into the VF, each relayed queue is handed
 * the buffers the reset VF held, and the VF goes live with one notify per
 * queue and one interrupt per queue to the guest: it never sees a reset.
 *
 * Return: false if the VF or the guest's rings refused; the caller falls
 * back to DEVICE_NEEDS_RESET.
 */
bool vhost_vfio_virtio_resume(struct vhost_vfio_dev *vd, u8 status)
{
	if (!vhost_vfio_virtio_replay(vd, status))
		return false;
	if (!vd->mirror.kvm)
		return false;
	/*
	 * A destination's mirror may still be pinning the guest's memory (it
	 * started at the VMM's first access): the guest reads DRIVER_OK, and
	 * the worker resumes the relay when it is done, as it settles any
	 * deferred DRIVER_OK (vhost_vfio_driver_ok_resume()).  A mirror that
	 * stands (a pass completed, no unmap since) goes on now, a pass for
	 * memory added since in the background: the VF can only reach what
	 * the mirror pinned, as a running VF meanwhile.
	 */
	if (!vhost_vfio_mirror_built(vd)) {
		vd->driver_ok_pending = true;
		vd->counters.driver_ok_deferred++;
		vd->mig.resumes_deferred++;
		vhost_vfio_mirror_sync(vd);
		return true;
	}
	if (vhost_vfio_mirror_has_holes(vd))
		vhost_vfio_mirror_sync(vd);
	return vv_resume_live(vd);
}

static void vv_enable_queue(struct vhost_vfio_dev *vd, u16 gq)
{
	struct vhost_vfio_vf *vf = vd->vf;
	struct vhost_vfio_vq *vq = &vd->vqs[gq];
	int q = vv_vf_queue(vd, gq);

	if (!(vhost_vfio_guest_status(vd) & VIRTIO_CONFIG_S_FEATURES_OK)) {
		dev_warn_ratelimited(vv_dev(vd),
				     "queue %u enabled before FEATURES_OK; ignored\n",
				     gq);
		return;
	}
	if (q < 0 || vq->enabled)
		return;
	/*
	 * A resume waiting for the mirror holds where every enabled queue
	 * was: a queue enabled now would have no place in it.
	 */
	if (vhost_vfio_relay_parked(vd)) {
		dev_warn_ratelimited(vv_dev(vd), "queue %u enabled after DRIVER_OK while the device resumes; ignored\n",
				     gq);
		return;
	}
	if (vv_vf_queue_rings(vd, gq, q))
		return;
	vq->enabled = true;
	/* Otherwise the VF's queue is enabled when it goes live. */
	if (vv_vf_live(vd)) {
		vf->ops->queue_set_enable(vf->be, q, true);
		vq->enabled = vf->ops->queue_get_enable(vf->be, q);
		/* A queue the relay cannot serve would stall: say so. */
		if (vq->enabled && vd->relay.on &&
		    vhost_vfio_relay_queue_start(vd, gq) && !vd->needs_reset) {
			vd->needs_reset = true;
			vhost_vfio_config_interrupt(vd);
		}
	}
	trace_vhost_vfio_queue_enable(dev_name(vv_dev(vd)), gq, q, vq->size,
				      vq->vector, vq->desc, vq->avail, vq->used,
				      vq->enabled);
}

/*
 * Per-queue fields; queue_sel beyond num_queues reads as absent: size 0 and
 * no vector (as QEMU's virtio-pci answers).
 */
static int vv_queue_read(struct vhost_vfio_dev *vd, unsigned int off, u32 *val)
{
	struct vhost_vfio_vq *vq;
	int q = vv_vf_queue(vd, vd->queue_sel);

	*val = 0;
	if (q < 0) {
		if (off == VV_CC(queue_msix_vector))
			*val = VIRTIO_MSI_NO_VECTOR;
		return 0;
	}
	vq = &vd->vqs[vd->queue_sel];

	switch (off) {
	case VV_CC(queue_size):
		*val = vq->size;
		break;
	case VV_CC(queue_msix_vector):
		*val = vq->vector;
		break;
	case VV_CC(queue_enable):
		*val = vq->enabled;
		break;
	case VV_CC(queue_notify_off):
		*val = vd->vf->notify_off[q];
		break;
	case VV_CC(queue_desc_lo):
		*val = lower_32_bits(vq->desc);
		break;
	case VV_CC(queue_desc_hi):
		*val = upper_32_bits(vq->desc);
		break;
	case VV_CC(queue_avail_lo):
		*val = lower_32_bits(vq->avail);
		break;
	case VV_CC(queue_avail_hi):
		*val = upper_32_bits(vq->avail);
		break;
	case VV_CC(queue_used_lo):
		*val = lower_32_bits(vq->used);
		break;
	case VV_CC(queue_used_hi):
		*val = upper_32_bits(vq->used);
		break;
	}
	return 0;
}

static void vv_set_lo(u64 *reg, u32 val)
{
	*reg = (*reg & ~0xffffffffULL) | val;
}

static void vv_set_hi(u64 *reg, u32 val)
{
	*reg = (*reg & 0xffffffffULL) | (u64)val << 32;
}

/*
 * A queue size the VF could hold but the guest was never offered (above the
 * VF's maximum, 0, or not a power of two for split rings) is refused here:
 * the VF itself may be more lenient than what it advertises.
 */
static bool vv_queue_size_valid(struct vhost_vfio_dev *vd, int q, u32 size)
{
	bool packed = vd->guest_features & BIT_ULL(VIRTIO_F_RING_PACKED);

	if (size && size <= vd->vf->queue_max[q] &&
	    (packed || is_power_of_2(size)))
		return true;
	dev_warn_ratelimited(vv_dev(vd),
			     "queue %u size %u refused (maximum %u%s)\n",
			     vd->queue_sel, size, vd->vf->queue_max[q],
			     packed ? "" : ", power of two");
	return false;
}

/* Vectors beyond the guest's MSI-X table mean "no vector" (virtio 4.1.5.1.2). */
static u16 vv_vector(struct vhost_vfio_dev *vd, u32 vector)
{
	return vector < vd->vf->msix_vectors ? vector : VIRTIO_MSI_NO_VECTOR;
}

static void vv_queue_write(struct vhost_vfio_dev *vd, unsigned int off, u32 val)
{
	struct vhost_vfio_vf *vf = vd->vf;
	struct vhost_vfio_vq *vq;
	int q = vv_vf_queue(vd, vd->queue_sel);

	if (q < 0)
		return;
	vq = &vd->vqs[vd->queue_sel];

	/* Once enabled, a queue's setup is fixed until reset (no RING_RESET). */
	if (vq->enabled && off != VV_CC(queue_msix_vector))
		return;

	switch (off) {
	case VV_CC(queue_size):
		vq->size_latch = val;
		if (!vv_queue_size_valid(vd, q, val))
			break;
		vq->size = vf->ops->queue_set_size(vf->be, q, val);
		break;
	case VV_CC(queue_msix_vector):
		vq->vector_latch = val;
		vq->vector = vf->ops->queue_set_vector(vf->be, q,
						       vv_vector(vd, val));
		break;
	case VV_CC(queue_enable):
		/* Writing 0 is not allowed without VIRTIO_F_RING_RESET. */
		if (val == 1)
			vv_enable_queue(vd, vd->queue_sel);
		break;
	case VV_CC(queue_desc_lo):
		vv_set_lo(&vq->desc, val);
		break;
	case VV_CC(queue_desc_hi):
		vv_set_hi(&vq->desc, val);
		break;
	case VV_CC(queue_avail_lo):
		vv_set_lo(&vq->avail, val);
		break;
	case VV_CC(queue_avail_hi):
		vv_set_hi(&vq->avail, val);
		break;
	case VV_CC(queue_used_lo):
		vv_set_lo(&vq->used, val);
		break;
	case VV_CC(queue_used_hi):
		vv_set_hi(&vq->used, val);
		break;
	}
}

/* Natural width of the common config field at @off, 0 if reserved. */
static unsigned int vv_common_width(unsigned int off)
{
	switch (off) {
	case VV_CC(device_feature_select):
	case VV_CC(device_feature):
	case VV_CC(guest_feature_select):
	case VV_CC(guest_feature):
	case VV_CC(queue_desc_lo):
	case VV_CC(queue_desc_hi):
	case VV_CC(queue_avail_lo):
	case VV_CC(queue_avail_hi):
	case VV_CC(queue_used_lo):
	case VV_CC(queue_used_hi):
		return 4;
	case VV_CC(msix_config):
	case VV_CC(num_queues):
	case VV_CC(queue_select):
	case VV_CC(queue_size):
	case VV_CC(queue_msix_vector):
	case VV_CC(queue_enable):
	case VV_CC(queue_notify_off):
		return 2;
	case VV_CC(device_status):
	case VV_CC(config_generation):
		return 1;
	default:
		/* Includes queue_notify_data and queue_reset: never offered. */
		return 0;
	}
}

static u32 vv_common_read(struct vhost_vfio_dev *vd, unsigned int off)
{
	struct vhost_vfio_vf *vf = vd->vf;
	u32 val = 0;

	switch (off) {
	case VV_CC(device_feature_select):
		return vd->dfselect;
	case VV_CC(device_feature):
		if (vd->dfselect < 2)
			val = vd->offered >> (32 * vd->dfselect);
		return val;
	case VV_CC(guest_feature_select):
		return vd->gfselect;
	case VV_CC(guest_feature):
		if (vd->gfselect < 2)
			val = vd->guest_features >> (32 * vd->gfselect);
		return val;
	case VV_CC(msix_config):
		return vd->config_vector;
	case VV_CC(num_queues):
		return vd->num_queues;
	case VV_CC(device_status):
		return vhost_vfio_guest_status(vd);
	case VV_CC(config_generation):
		return vf->ops->config_generation(vf->be) & 0xff;
	case VV_CC(queue_select):
		return vd->queue_sel;
	default:
		vv_queue_read(vd, off, &val);
		return val;
	}
}

static void vv_common_write(struct vhost_vfio_dev *vd, unsigned int off,
			    u32 val)
{
	struct vhost_vfio_vf *vf = vd->vf;

	switch (off) {
	case VV_CC(device_feature_select):
		vd->dfselect = val;
		break;
	case VV_CC(guest_feature_select):
		vd->gfselect = val;
		break;
	case VV_CC(guest_feature):
		/* The choice is final once FEATURES_OK was written. */
		if (vhost_vfio_guest_status(vd) & VIRTIO_CONFIG_S_FEATURES_OK)
			break;
		if (vd->gfselect == 0)
			vv_set_lo(&vd->guest_features, val);
		else if (vd->gfselect == 1)
			vv_set_hi(&vd->guest_features, val);
		else if (val)
			vd->bad_features = true;
		break;
	case VV_CC(msix_config):
		vd->config_vector_latch = val;
		vd->config_vector = vf->ops->set_config_vector(vf->be,
							       vv_vector(vd, val));
		break;
	case VV_CC(device_status):
		vv_write_status(vd, val);
		break;
	case VV_CC(queue_select):
		vd->queue_sel = val;
		break;
	case VV_CC(device_feature):
	case VV_CC(num_queues):
	case VV_CC(config_generation):
	case VV_CC(queue_notify_off):
		break;	/* read-only */
	default:
		vv_queue_write(vd, off, val);
		break;
	}
}

/*
 * Field of the common configuration holding byte @off: its start in *@start
 * and its width, or 0 for a reserved byte.  Fields are naturally aligned,
 * so the start is @off rounded down to the first width that names a field.
 */
static unsigned int vv_common_field(unsigned int off, unsigned int *start)
{
	unsigned int w, width;

	for (w = 1; w <= 4; w *= 2) {
		*start = round_down(off, w);
		width = vv_common_width(*start);
		if (width == w)
			return width;
	}
	return 0;
}

/*
 * The value a write narrower than the field merges into: what the guest
 * last wrote where the field reads back something else (a refused vector
 * or size), so that a write split into bytes lands whole in either order;
 * what the field reads otherwise.
 */
static u32 vv_common_latch(struct vhost_vfio_dev *vd, unsigned int off)
{
	struct vhost_vfio_vq *vq = NULL;

	if (vv_vf_queue(vd, vd->queue_sel) >= 0)
		vq = &vd->vqs[vd->queue_sel];
	switch (off) {
	case VV_CC(msix_config):
		return vd->config_vector_latch;
	case VV_CC(queue_size):
		return vq ? vq->size_latch : 0;
	case VV_CC(queue_msix_vector):
		return vq ? vq->vector_latch : VIRTIO_MSI_NO_VECTOR;
	default:
		return vv_common_read(vd, off);
	}
}

/*
 * Any width at any offset, as a device decoding byte enables answers it
 * (Documentation/design.rst, "Access widths"): a read returns the bytes of
 * every field it covers, reserved bytes read 0 (no common config field has
 * a read side effect); a write hands each field it covers whole to the
 * field's write, merging a partly covered field's other bytes from
 * vv_common_latch(), so a write split into narrower pieces, in any order,
 * ends with the value the whole write would have left.
 */
static void vv_common_rw(struct vhost_vfio_dev *vd, unsigned int off,
			 u8 *buf, unsigned int len, bool write)
{
	unsigned int end = off + len, pos, start, width, lo, hi;
	u8 field[4];

	for (pos = off; pos < end; pos = hi) {
		width = vv_common_field(pos, &start);
		if (!width) {
			hi = pos + 1;
			if (!write)
				buf[pos - off] = 0;
			continue;
		}
		lo = max(start, off);
		hi = min(start + width, end);
		if (write) {
			if (lo == start && hi == start + width) {
				vv_common_write(vd, start,
						vv_le_get(buf + lo - off, width));
				continue;
			}
			vv_le_put(field, vv_common_latch(vd, start), width);
			memcpy(field + lo - start, buf + lo - off, hi - lo);
			vv_common_write(vd, start, vv_le_get(field, width));
		} else {
			vv_le_put(field, vv_common_read(vd, start), width);
			memcpy(buf + lo - off, field + lo - start, hi - lo);
		}
	}
}

/*
 * Provisioned fields of struct virtio_net_config override the VF's: @buf
 * covers [@off, @off + @len) of the device config.
 */
static void vv_net_overlay(struct vhost_vfio_dev *vd, unsigned int off,
			   u8 *buf, unsigned int len)
{
	u8 virt[offsetofend(struct virtio_net_config, mtu)];
	bool mask[sizeof(virt)] = { };
	unsigned int i;

	if (vd->mac_set) {
		memcpy(virt + offsetof(struct virtio_net_config, mac), vd->mac,
		       ETH_ALEN);
		memset(mask + offsetof(struct virtio_net_config, mac), 1,
		       ETH_ALEN);
	}
	if (vd->offered & BIT_ULL(VIRTIO_NET_F_MQ)) {
		i = offsetof(struct virtio_net_config, max_virtqueue_pairs);
		put_unaligned_le16(vd->pairs, virt + i);
		mask[i] = 1;
		mask[i + 1] = 1;
	}
	if (vd->mtu) {
		i = offsetof(struct virtio_net_config, mtu);
		put_unaligned_le16(vd->mtu, virt + i);
		mask[i] = 1;
		mask[i + 1] = 1;
	}
	for (i = 0; i < len; i++)
		if (off + i < sizeof(virt) && mask[off + i])
			buf[i] = virt[off + i];
}

static void vv_device_rw(struct vhost_vfio_dev *vd, unsigned int off,
			 u8 *buf, unsigned int len, bool write)
{
	struct vhost_vfio_vf *vf = vd->vf;
	unsigned int size = vf->config_size;

	if (write) {
		/* virtio-net's configuration is read-only for the driver. */
		dev_warn_ratelimited(vv_dev(vd),
				     "write to read-only device config offset 0x%x ignored\n",
				     off);
		return;
	}
	if (off < size && len <= size - off)
		vf->ops->config_read(vf->be, off, buf, len);
	vv_net_overlay(vd, off, buf, len);
}

static int vv_bar0_rw(struct vhost_vfio_dev *vd, u64 off, u8 *buf,
		      unsigned int len, bool write)
{
	struct vhost_vfio_vf *vf = vd->vf;

	vd->counters.bar0++;
	if (off < VV_ISR_OFF) {
		vv_common_rw(vd, off, buf, len, write);
	} else if (off < VV_DEVICE_OFF) {
		/*
		 * Reading the ISR clears it in the VF, as it would natively:
		 * a read of any width covering its byte does that once, the
		 * rest of the structure is reserved (reads 0, no side effect).
		 */
		if (off == VV_ISR_OFF && !write)
			buf[0] = vf->ops->isr_read(vf->be);
	} else if (off < VV_DEVICE_OFF + VV_STRUCT_LEN) {
		vv_device_rw(vd, off - VV_DEVICE_OFF, buf, len, write);
	}
	return 0;
}

/*
 * Trapped doorbell: without VIRTIO_F_NOTIFICATION_DATA the value written is
 * the guest queue index.  Translate it and ring the VF queue's own doorbell.
 */
static int vv_notify_rw(struct vhost_vfio_dev *vd, u64 off, u8 *buf,
			unsigned int len, bool write)
{
	struct vhost_vfio_vf *vf = vd->vf;
	u32 gq;
	int q;

	vd->counters.bar2++;
	if (!write)
		return 0;
	vd->counters.bar2_notify_writes++;
	if (off >= vf->notify_len || len < 2)
		return 0;
	gq = vv_le_get(buf, len);
	q = vv_vf_queue(vd, gq);
	if (q < 0 || !vd->vqs[gq].enabled) {
		dev_warn_ratelimited(vv_dev(vd), "kick of unknown or disabled queue %u dropped\n",
				     gq);
		return 0;
	}
	if (vd->relay.on) {
		vhost_vfio_relay_kick(vd, gq);
		return 0;
	}
	vf->ops->notify_write(vf->be, (u64)vf->notify_off[q] * vf->notify_mult,
			      q, 2);
	return 0;
}

/**
 * vhost_vfio_bar_size - size of a guest-visible BAR
 * @vd: mediated device
 * @bar: BAR index
 *
 * Return: the size, 0 for unimplemented BARs.
 */
u64 vhost_vfio_bar_size(struct vhost_vfio_dev *vd, unsigned int bar)
{
	switch (bar) {
	case VV_BAR_COMMON:
		return VV_BAR0_SIZE;
	case VV_BAR_MSIX:
		return VV_BAR1_SIZE;
	case VV_BAR_NOTIFY:
		return vd->vf->notify_bar_size;
	default:
		return 0;
	}
}

/**
 * vhost_vfio_bar_rw - access a guest-visible BAR
 * @vd: mediated device, lock held
 * @bar: BAR index
 * @off: offset inside the BAR
 * @buf: little-endian data
 * @len: 1, 2 or 4, naturally aligned
 * @write: direction
 *
 * Return: 0 (unbacked reads return 0, unbacked writes are dropped) or
 * -EINVAL when the access lies outside the BAR.
 */
int vhost_vfio_bar_rw(struct vhost_vfio_dev *vd, unsigned int bar, u64 off,
		      u8 *buf, unsigned int len, bool write)
{
	u64 size = vhost_vfio_bar_size(vd, bar);

	if (off >= size || len > size - off)
		return -EINVAL;

	switch (bar) {
	case VV_BAR_COMMON:
		return vv_bar0_rw(vd, off, buf, len, write);
	case VV_BAR_MSIX:
		/* The VMM emulates the MSI-X table and PBA itself. */
		vd->counters.bar1++;
		return 0;
	default:
		return vv_notify_rw(vd, off, buf, len, write);
	}
}
