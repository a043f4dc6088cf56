// SPDX-License-Identifier: GPL-2.0-only
/*
 * vhost-vfio: feature policy.
 *
 * offered = ((VF & provisioned mask & ~quirk clear) | quirk set
 *	      | provisioned MTU/MAC) & core supported
 *
 * What the VF is told at FEATURES_OK is derived from the guest's choice, not
 * copied: bits the VF never offered are dropped and bits the host needs are
 * added.
 */
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "vhost_vfio_priv.h"

/*
 * What the mediation can pass through, as an allowlist so that a bit defined
 * after this was written is never offered by accident.  Left out on purpose:
 * - legacy-only bits (NOTIFY_ON_EMPTY, ANY_LAYOUT, GSO): modern guest only;
 * - VIRTIO_F_SR_IOV: the guest must not manage the VF's SR-IOV;
 * - VIRTIO_F_NOTIFICATION_DATA (38): doorbell values would carry ring state
 *   we do not translate for a remapped control queue;
 * - VIRTIO_F_RING_RESET (40): queue_reset is not emulated;
 * - admin virtqueues (41) and every unnamed bit, incl. 39 and 42..49.
 */
#define VV_CORE_SUPPORTED (						\
	BIT_ULL(VIRTIO_NET_F_CSUM) |					\
	BIT_ULL(VIRTIO_NET_F_GUEST_CSUM) |				\
	BIT_ULL(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) |			\
	BIT_ULL(VIRTIO_NET_F_MTU) |					\
	BIT_ULL(VIRTIO_NET_F_MAC) |					\
	BIT_ULL(VIRTIO_NET_F_GUEST_TSO4) |				\
	BIT_ULL(VIRTIO_NET_F_GUEST_TSO6) |				\
	BIT_ULL(VIRTIO_NET_F_GUEST_ECN) |				\
	BIT_ULL(VIRTIO_NET_F_GUEST_UFO) |				\
	BIT_ULL(VIRTIO_NET_F_HOST_TSO4) |				\
	BIT_ULL(VIRTIO_NET_F_HOST_TSO6) |				\
	BIT_ULL(VIRTIO_NET_F_HOST_ECN) |				\
	BIT_ULL(VIRTIO_NET_F_HOST_UFO) |				\
	BIT_ULL(VIRTIO_NET_F_MRG_RXBUF) |				\
	BIT_ULL(VIRTIO_NET_F_STATUS) |					\
	BIT_ULL(VIRTIO_NET_F_CTRL_VQ) |					\
	BIT_ULL(VIRTIO_NET_F_CTRL_RX) |					\
	BIT_ULL(VIRTIO_NET_F_CTRL_VLAN) |				\
	BIT_ULL(VIRTIO_NET_F_CTRL_RX_EXTRA) |				\
	BIT_ULL(VIRTIO_NET_F_GUEST_ANNOUNCE) |				\
	BIT_ULL(VIRTIO_NET_F_MQ) |					\
	BIT_ULL(VIRTIO_NET_F_CTRL_MAC_ADDR) |				\
	BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC) |				\
	BIT_ULL(VIRTIO_RING_F_EVENT_IDX) |				\
	BIT_ULL(VIRTIO_F_VERSION_1) |					\
	BIT_ULL(VIRTIO_F_ACCESS_PLATFORM) |				\
	BIT_ULL(VIRTIO_F_RING_PACKED) |					\
	BIT_ULL(VIRTIO_F_IN_ORDER) |					\
	BIT_ULL(VIRTIO_F_ORDER_PLATFORM) |				\
	BIT_ULL(VIRTIO_NET_F_NOTF_COAL) |				\
	BIT_ULL(VIRTIO_NET_F_HASH_REPORT) |				\
	BIT_ULL(VIRTIO_NET_F_RSS) |					\
	BIT_ULL(VIRTIO_NET_F_RSC_EXT) |					\
	BIT_ULL(VIRTIO_NET_F_STANDBY) |					\
	BIT_ULL(VIRTIO_NET_F_SPEED_DUPLEX))

/*
 * Feature dependencies a device must respect (virtio 1.2, 5.1.3.1): a bit
 * may only be offered together with at least one bit of its @needs mask.
 * Provisioning, quirks or the core allowlist can remove a prerequisite, and
 * a guest driver refuses a device that breaks these rules (Linux's
 * virtio_net fails probe), so dependents are withdrawn with it.
 */
static const struct {
	unsigned int bit;
	u64 needs;
} vv_feature_deps[] = {
#define VV_DEP(bit, needs) { VIRTIO_NET_F_##bit, needs }
#define VV_F(bit) BIT_ULL(VIRTIO_NET_F_##bit)
	VV_DEP(GUEST_TSO4, VV_F(GUEST_CSUM)),
	VV_DEP(GUEST_TSO6, VV_F(GUEST_CSUM)),
	VV_DEP(GUEST_UFO, VV_F(GUEST_CSUM)),
	VV_DEP(GUEST_ECN, VV_F(GUEST_TSO4) | VV_F(GUEST_TSO6)),
	VV_DEP(HOST_TSO4, VV_F(CSUM)),
	VV_DEP(HOST_TSO6, VV_F(CSUM)),
	VV_DEP(HOST_UFO, VV_F(CSUM)),
	VV_DEP(HOST_ECN, VV_F(HOST_TSO4) | VV_F(HOST_TSO6)),
	VV_DEP(RSC_EXT, VV_F(HOST_TSO4) | VV_F(HOST_TSO6)),
	VV_DEP(CTRL_GUEST_OFFLOADS, VV_F(CTRL_VQ)),
	VV_DEP(CTRL_RX, VV_F(CTRL_VQ)),
	VV_DEP(CTRL_VLAN, VV_F(CTRL_VQ)),
	VV_DEP(CTRL_RX_EXTRA, VV_F(CTRL_RX)),
	VV_DEP(GUEST_ANNOUNCE, VV_F(CTRL_VQ)),
	VV_DEP(MQ, VV_F(CTRL_VQ)),
	VV_DEP(CTRL_MAC_ADDR, VV_F(CTRL_VQ)),
	VV_DEP(NOTF_COAL, VV_F(CTRL_VQ)),
	VV_DEP(RSS, VV_F(CTRL_VQ)),
	VV_DEP(HASH_REPORT, VV_F(CTRL_VQ)),
#undef VV_F
#undef VV_DEP
};

/* Withdraw every bit whose prerequisites are gone, until nothing changes. */
static u64 vv_drop_orphans(u64 f)
{
	bool changed;
	unsigned int i;

	do {
		changed = false;
		for (i = 0; i < ARRAY_SIZE(vv_feature_deps); i++) {
			u64 bit = BIT_ULL(vv_feature_deps[i].bit);

			if ((f & bit) && !(f & vv_feature_deps[i].needs)) {
				f &= ~bit;
				changed = true;
			}
		}
	} while (changed);
	return f;
}

/**
 * vhost_vfio_offered_features - features the guest is offered
 * @vd: mediated device, lock held
 */
u64 vhost_vfio_offered_features(struct vhost_vfio_dev *vd)
{
	struct vhost_vfio_vf *vf = vd->vf;
	u64 f;

	f = (vf->features & vd->features_mask & ~vf->quirk_clear) |
	    vf->quirk_set;
	if (vd->mtu)
		f |= BIT_ULL(VIRTIO_NET_F_MTU);
	if (vd->mac_set)
		f |= BIT_ULL(VIRTIO_NET_F_MAC);
	/* A control queue needs a VF queue to live in. */
	if (!(vf->features & BIT_ULL(VIRTIO_NET_F_CTRL_VQ)) ||
	    2 * vf->max_pairs >= vf->num_queues)
		f &= ~BIT_ULL(VIRTIO_NET_F_CTRL_VQ);
	/* Only the VF's own queue pairs can back multiqueue. */
	if (!(vf->features & BIT_ULL(VIRTIO_NET_F_MQ)))
		f &= ~BIT_ULL(VIRTIO_NET_F_MQ);
	/*
	 * The relay moves split rings only, and must see every buffer the VF
	 * gives back: IN_ORDER lets one used element stand for a batch.
	 */
	if (vhost_vfio_relay_on(vd))
		f &= ~(BIT_ULL(VIRTIO_F_RING_PACKED) | BIT_ULL(VIRTIO_F_IN_ORDER));
	return vv_drop_orphans(f & VV_CORE_SUPPORTED);
}

/**
 * vhost_vfio_guest_pairs - queue pairs the guest sees
 * @vd: mediated device, lock held
 */
u16 vhost_vfio_guest_pairs(struct vhost_vfio_dev *vd)
{
	return vd->max_pairs_prov ?: vd->vf->max_pairs;
}

/**
 * vhost_vfio_guest_num_queues - num_queues the guest sees
 * @vd: mediated device, lock held
 * @offered: features offered to the guest
 */
u16 vhost_vfio_guest_num_queues(struct vhost_vfio_dev *vd, u64 offered)
{
	return 2 * vhost_vfio_guest_pairs(vd) +
	       !!(offered & BIT_ULL(VIRTIO_NET_F_CTRL_VQ));
}

/**
 * vhost_vfio_vf_driver_features - features to write to the VF
 * @vf: the VF
 * @guest: features the guest accepted (a subset of what it was offered)
 *
 * Bits offered only thanks to a quirk or provisioning are not forwarded,
 * and ACCESS_PLATFORM is always negotiated when the VF offers it, because
 * the VF sits behind an IOMMU whatever the guest believes.
 */
u64 vhost_vfio_vf_driver_features(struct vhost_vfio_vf *vf, u64 guest)
{
	return (guest & vf->features) |
	       (vf->features & BIT_ULL(VIRTIO_F_ACCESS_PLATFORM));
}

/**
 * vhost_vfio_vf_dma_translated - may the VF be let loose on guest memory?
 * @vd: mediated device, lock held
 *
 * A virtio device without VIRTIO_F_ACCESS_PLATFORM may bypass the IOMMU
 * (virtual devices do), so the DMA mirror would not contain it.  Such a VF
 * only runs when a quirk sets the bit: the operator's statement that the
 * hardware is translated by the IOMMU anyway and merely forgot to say so.
 *
 * Return: true if DRIVER_OK may reach the VF.
 */
bool vhost_vfio_vf_dma_translated(struct vhost_vfio_dev *vd)
{
	u64 ap = BIT_ULL(VIRTIO_F_ACCESS_PLATFORM);

	if ((vd->vf->features | vd->vf->quirk_set) & ap)
		return true;
	dev_warn_once(vv_dev(vd),
		      "VF %s does not offer ACCESS_PLATFORM, so its DMA may bypass the IOMMU; DRIVER_OK refused (a quirk setting bit 33 declares it translated)\n",
		      dev_name(vd->vf->dev));
	return false;
}

/**
 * vhost_vfio_vf_max_pairs - number of queue pairs the VF serves
 * @vf: the VF, with features and num_queues known
 *
 * Return: the pair count, or -ENODEV for a VF without a full pair.
 */
int vhost_vfio_vf_max_pairs(struct vhost_vfio_vf *vf)
{
	unsigned int cvq = !!(vf->features & BIT_ULL(VIRTIO_NET_F_CTRL_VQ));
	unsigned int limit;
	__le16 raw;
	u16 pairs = 1;

	if (vf->num_queues < 2) {
		dev_err(vf->dev, "VF has %u virtqueues, a net device needs 2\n",
			vf->num_queues);
		return -ENODEV;
	}
	if ((vf->features & BIT_ULL(VIRTIO_NET_F_MQ)) &&
	    vf->config_size >=
	    offsetofend(struct virtio_net_config, max_virtqueue_pairs) &&
	    !vf->ops->config_read(vf->be,
				  offsetof(struct virtio_net_config,
					   max_virtqueue_pairs),
				  &raw, sizeof(raw)))
		pairs = max_t(u16, le16_to_cpu(raw), 1);

	limit = (vf->num_queues - cvq) / 2;
	if (!limit)
		limit = 1;
	if (pairs > limit) {
		dev_warn(vf->dev, "VF claims %u queue pairs but has %u queues; using %u\n",
			 pairs, vf->num_queues, limit);
		pairs = limit;
	}
	return pairs;
}
