// SPDX-License-Identifier: GPL-2.0-only
/*
 * vhost-vfio: VFIO migration v2 (VFIO_DEVICE_FEATURE_MIGRATION, STOP_COPY).
 *
 * The device state is everything the mdev emulates: the PCI configuration
 * space bytes, the virtio common configuration as the guest sees it and
 * every guest-visible virtqueue's setup.  It travels in a versioned,
 * little-endian format of sections (Documentation/design.rst, "Migration");
 * a destination validates all of it before it applies any of it.
 *
 * The VF is quiesced by a reset at RUNNING -> STOP: virtio has no stop
 * bit.  A device that runs through the virtqueue relay (relay.c) parks
 * first and resumes in place, here or on another function (the relay
 * section of the state); one on the direct path restarts its rings at
 * index 0 with no register to move them, so a guest that had DRIVER_OK
 * reads DEVICE_NEEDS_RESET after STOP -> RUNNING.  Hence migration is
 * offered to relayed devices, and to the others only with the "migration"
 * module parameter: QEMU stops vfio devices whenever the VM pauses.
 */
#include <linux/anon_inodes.h>
#include <linux/bitmap.h>
#include <linux/build_bug.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/unaligned.h>
#include <linux/vmalloc.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>

#include "vhost_vfio_priv.h"
#include "trace.h"

static bool migration;
module_param(migration, bool, 0644);
MODULE_PARM_DESC(migration,
		 "Offer VFIO migration (STOP_COPY) on devices opened from now on, also those with the direct data path. Those are stopped by a VF reset: a guest driving one sees DEVICE_NEEDS_RESET after the stop, VM pause included. Devices that run through the virtqueue relay (relay=Y) resume where they stopped and offer migration whatever this says (default: N)");

/* "VVMS" read as a little-endian u32. */
#define VV_MIG_MAGIC		0x534d5656
#define VV_MIG_VERSION		1
/*
 * The largest state: a device that could save more (a relay section
 * holding a whole ring per queue) is not offered migration, and a
 * resuming fd takes no more (it grows as the VMM writes).  A NIC with a
 * few queues of 256 entries saves a few KiB.
 */
#define VV_MIG_MAX_LEN		SZ_1M

enum vv_mig_section_id {
	VV_MIG_SEC_DEVICE = 1,
	VV_MIG_SEC_PCI_CONFIG = 2,
	VV_MIG_SEC_VIRTIO_COMMON = 3,
	VV_MIG_SEC_QUEUES = 4,
	/* Only from a device whose relay was parked (STOP with DRIVER_OK). */
	VV_MIG_SEC_RELAY = 5,
	VV_MIG_SEC_MAX = VV_MIG_SEC_RELAY,
};

/* The sections every state has. */
#define VV_MIG_SEC_REQUIRED	GENMASK(VV_MIG_SEC_QUEUES, VV_MIG_SEC_DEVICE)

/* Start of the stream. @length counts every byte, header included. */
struct vv_mig_header {
	__le32 magic;
	__le16 version;
	__le16 nr_sections;
	__le32 length;
	__le32 reserved;
};

static_assert(sizeof(struct vv_mig_header) == 16);

/* Before each section's payload; @length counts the payload only. */
struct vv_mig_section {
	__le16 id;
	__le16 reserved;
	__le32 length;
};

static_assert(sizeof(struct vv_mig_section) == 8);

/* What the guest's driver took in at probe and a destination must match. */
struct vv_mig_device {
	__le64 offered;
	__le16 num_queues;
	__le16 pairs;
	__le16 msix_vectors;
	__le16 mtu;
	u8 mac[ETH_ALEN];
	u8 reserved[2];
};

static_assert(sizeof(struct vv_mig_device) == 24);

#define VV_MIG_F_NEEDS_RESET	BIT(0)
#define VV_MIG_F_BAD_FEATURES	BIT(1)
#define VV_MIG_F_ALL		(VV_MIG_F_NEEDS_RESET | VV_MIG_F_BAD_FEATURES)

/* The common configuration; @status is device_status as the guest reads it. */
struct vv_mig_common {
	u8 status;
	u8 flags;
	__le16 queue_select;
	__le32 device_feature_select;
	__le32 driver_feature_select;
	__le16 config_vector;
	__le16 config_vector_latch;
	__le64 driver_features;
	__le64 negotiated;
};

static_assert(sizeof(struct vv_mig_common) == 32);

/* One guest virtqueue; the latches hold what the guest last wrote. */
struct vv_mig_queue {
	__le16 size;
	__le16 size_latch;
	__le16 vector;
	__le16 vector_latch;
	u8 enabled;
	u8 reserved[7];
	__le64 desc;
	__le64 avail;
	__le64 used;
};

static_assert(sizeof(struct vv_mig_queue) == 40);

#define VV_MIG_RQ_PARKED	BIT(0)

/*
 * One guest virtqueue in the relay section, every queue in order, each
 * followed by @nheld __le16 heads: those the VF held when the relay parked
 * the queue, oldest first.  A queue without VV_MIG_RQ_PARKED (never
 * enabled) has every field 0.
 */
struct vv_mig_relay_queue {
	__le16 last_avail;
	__le16 used_idx;
	__le16 nheld;
	u8 flags;
	u8 reserved;
};

static_assert(sizeof(struct vv_mig_relay_queue) == 8);

/**
 * struct vhost_vfio_mig_file - the data fd of STOP_COPY or RESUMING
 * @filp: the anonymous file
 * @lock: serializes read/write against vhost_vfio_mig_file_disable(); never
 *	held across a user copy, since it nests inside the device lock
 * @buf: the saved stream (written once at creation, freed at release), or
 *	what was written so far
 * @cap: size of @buf (resuming: grows up to VV_MIG_MAX_LEN)
 * @len: valid bytes in @buf
 * @pos: next byte read() returns (saving)
 * @disabled: the device left the state this fd belongs to
 * @vd: the device (resuming), for the check of a complete state; its
 *	struct device is held until release, as the fd may outlive the open
 * @refused: the state written was checked whole and refused (resuming):
 *	its errno, which RESUMING -> STOP returns too
 */
struct vhost_vfio_mig_file {
	struct file *filp;
	struct mutex lock;	/* buffer and position vs disable */
	u8 *buf;
	size_t cap;
	size_t len;
	size_t pos;
	bool disabled;
	struct vhost_vfio_dev *vd;
	int refused;
};

static const char *vv_mig_state_name(enum vfio_device_mig_state state)
{
	switch (state) {
	case VFIO_DEVICE_STATE_ERROR:
		return "error";
	case VFIO_DEVICE_STATE_STOP:
		return "stop";
	case VFIO_DEVICE_STATE_RUNNING:
		return "running";
	case VFIO_DEVICE_STATE_STOP_COPY:
		return "stop_copy";
	case VFIO_DEVICE_STATE_RESUMING:
		return "resuming";
	default:
		return "other";
	}
}

/* The state without the relay section. */
static size_t vv_mig_stream_len(u16 num_queues)
{
	return sizeof(struct vv_mig_header) +
	       sizeof(struct vv_mig_section) * VV_MIG_SEC_QUEUES +
	       sizeof(struct vv_mig_device) + VV_CFG_SIZE +
	       sizeof(struct vv_mig_common) +
	       (size_t)num_queues * sizeof(struct vv_mig_queue);
}

/* The relay section of this device now: 0 unless its relay is parked. */
static size_t vv_mig_relay_len(struct vhost_vfio_dev *vd)
{
	struct vhost_vfio_relay_parked pq;
	size_t len = sizeof(struct vv_mig_section);
	u16 gq;

	if (!vhost_vfio_relay_parked(vd))
		return 0;
	for (gq = 0; gq < vd->num_queues; gq++) {
		vhost_vfio_relay_parked_queue(vd, gq, &pq);
		len += sizeof(struct vv_mig_relay_queue) +
		       pq.nheld * sizeof(__le16);
	}
	return len;
}

/* The state a save now writes: the relay section if the relay is parked. */
static size_t vv_mig_save_len(struct vhost_vfio_dev *vd)
{
	return vv_mig_stream_len(vd->num_queues) + vv_mig_relay_len(vd);
}

/*
 * The longest state this device could save: with the relay, a section
 * where no queue holds more heads than its size, at most its VF queue's.
 */
static size_t vv_mig_max_len(struct vhost_vfio_dev *vd)
{
	size_t len = vv_mig_stream_len(vd->num_queues);
	u16 q, biggest = 0;

	if (!vd->relay.on)
		return len;
	for (q = 0; q < vd->vf->num_queues; q++)
		biggest = max(biggest, vd->vf->queue_max[q]);
	return len + sizeof(struct vv_mig_section) + (size_t)vd->num_queues *
	       (sizeof(struct vv_mig_relay_queue) + biggest * sizeof(__le16));
}

/*
 * The guest-visible MAC and MTU: provisioned values override the VF's, as
 * the device configuration shows them (virtio_cfg.c).
 */
static void vv_mig_net_identity(struct vhost_vfio_dev *vd, u8 *mac, u16 *mtu)
{
	struct vhost_vfio_vf *vf = vd->vf;
	unsigned int moff = offsetof(struct virtio_net_config, mac);
	unsigned int toff = offsetof(struct virtio_net_config, mtu);
	u8 raw[2] = { };

	memset(mac, 0, ETH_ALEN);
	if (vd->mac_set)
		memcpy(mac, vd->mac, ETH_ALEN);
	else if ((vd->offered & BIT_ULL(VIRTIO_NET_F_MAC)) &&
		 vf->config_size >= moff + ETH_ALEN)
		vf->ops->config_read(vf->be, moff, mac, ETH_ALEN);

	*mtu = 0;
	if (vd->mtu) {
		*mtu = vd->mtu;
	} else if ((vd->offered & BIT_ULL(VIRTIO_NET_F_MTU)) &&
		   vf->config_size >= toff + sizeof(raw)) {
		vf->ops->config_read(vf->be, toff, raw, sizeof(raw));
		*mtu = get_unaligned_le16(raw);
	}
}

static u8 *vv_mig_put_section(u8 *p, u16 id, const void *data, size_t len)
{
	struct vv_mig_section sec = {
		.id = cpu_to_le16(id),
		.length = cpu_to_le32(len),
	};

	memcpy(p, &sec, sizeof(sec));
	memcpy(p + sizeof(sec), data, len);
	return p + sizeof(sec) + len;
}

/* The relay section: where each parked queue stopped. */
static u8 *vv_mig_put_relay(struct vhost_vfio_dev *vd, u8 *p, size_t len)
{
	struct vv_mig_section sec = {
		.id = cpu_to_le16(VV_MIG_SEC_RELAY),
		.length = cpu_to_le32(len - sizeof(sec)),
	};
	struct vhost_vfio_relay_parked pq;
	u16 gq, i;

	memcpy(p, &sec, sizeof(sec));
	p += sizeof(sec);
	for (gq = 0; gq < vd->num_queues; gq++) {
		struct vv_mig_relay_queue rq = { };

		if (vhost_vfio_relay_parked_queue(vd, gq, &pq)) {
			rq.last_avail = cpu_to_le16(pq.last_avail);
			rq.used_idx = cpu_to_le16(pq.used_idx);
			rq.nheld = cpu_to_le16(pq.nheld);
			rq.flags = VV_MIG_RQ_PARKED;
		}
		memcpy(p, &rq, sizeof(rq));
		p += sizeof(rq);
		for (i = 0; i < pq.nheld; i++, p += sizeof(__le16))
			put_unaligned_le16(pq.held[i], p);
	}
	return p;
}

/*
 * Serialize the emulated state into @buf: vv_mig_stream_len() bytes, and
 * vv_mig_relay_len() more with @relay.  @status is device_status as the
 * guest reads it.
 */
static void vv_mig_save(struct vhost_vfio_dev *vd, u8 *buf, u8 status,
			bool relay)
{
	size_t relay_len = relay ? vv_mig_relay_len(vd) : 0;
	size_t len = vv_mig_stream_len(vd->num_queues) + relay_len;
	struct vv_mig_header hdr = {
		.magic = cpu_to_le32(VV_MIG_MAGIC),
		.version = cpu_to_le16(VV_MIG_VERSION),
		.nr_sections = cpu_to_le16(VV_MIG_SEC_QUEUES +
					   (relay_len ? 1 : 0)),
		.length = cpu_to_le32(len),
	};
	struct vv_mig_device dev = {
		.offered = cpu_to_le64(vd->offered),
		.num_queues = cpu_to_le16(vd->num_queues),
		.pairs = cpu_to_le16(vd->pairs),
		.msix_vectors = cpu_to_le16(vd->vf->msix_vectors),
	};
	struct vv_mig_common common = {
		.status = status,
		.flags = (vd->needs_reset ? VV_MIG_F_NEEDS_RESET : 0) |
			 (vd->bad_features ? VV_MIG_F_BAD_FEATURES : 0),
		.queue_select = cpu_to_le16(vd->queue_sel),
		.device_feature_select = cpu_to_le32(vd->dfselect),
		.driver_feature_select = cpu_to_le32(vd->gfselect),
		.config_vector = cpu_to_le16(vd->config_vector),
		.config_vector_latch = cpu_to_le16(vd->config_vector_latch),
		.driver_features = cpu_to_le64(vd->guest_features),
		.negotiated = cpu_to_le64(vd->negotiated),
	};
	struct vv_mig_section sec = {
		.id = cpu_to_le16(VV_MIG_SEC_QUEUES),
		.length = cpu_to_le32(vd->num_queues *
				      sizeof(struct vv_mig_queue)),
	};
	u16 mtu;
	u8 *p = buf;
	u16 i;

	vv_mig_net_identity(vd, dev.mac, &mtu);
	dev.mtu = cpu_to_le16(mtu);

	memcpy(p, &hdr, sizeof(hdr));
	p += sizeof(hdr);
	p = vv_mig_put_section(p, VV_MIG_SEC_DEVICE, &dev, sizeof(dev));
	p = vv_mig_put_section(p, VV_MIG_SEC_PCI_CONFIG, vd->cfg, VV_CFG_SIZE);
	p = vv_mig_put_section(p, VV_MIG_SEC_VIRTIO_COMMON, &common,
			       sizeof(common));
	memcpy(p, &sec, sizeof(sec));
	p += sizeof(sec);
	for (i = 0; i < vd->num_queues; i++) {
		const struct vhost_vfio_vq *vq = &vd->vqs[i];
		struct vv_mig_queue q = {
			.size = cpu_to_le16(vq->size),
			.size_latch = cpu_to_le16(vq->size_latch),
			.vector = cpu_to_le16(vq->vector),
			.vector_latch = cpu_to_le16(vq->vector_latch),
			.enabled = vq->enabled,
			.desc = cpu_to_le64(vq->desc),
			.avail = cpu_to_le64(vq->avail),
			.used = cpu_to_le64(vq->used),
		};

		memcpy(p, &q, sizeof(q));
		p += sizeof(q);
	}
	if (relay_len)
		p = vv_mig_put_relay(vd, p, relay_len);
	WARN_ON(p != buf + len);
}

/*
 * The emulated state, decoded and checked, ready to apply.  @vqs holds
 * @num_queues entries.
 */
struct vv_mig_state {
	struct vv_mig_device dev;
	u8 cfg[VV_CFG_SIZE];
	struct vv_mig_common common;
	const u8 *queues;
	u16 num_queues;
	const u8 *relay;
	size_t relay_len;
};

/* Why a restore is refused: the errno, and words for the kernel log. */
struct vv_mig_refusal {
	int err;
	char why[160];
};

static __printf(3, 4) int vv_refuse(struct vv_mig_refusal *r, int err,
				    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vscnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	r->err = err;
	return err;
}

/* Split the stream into its sections; every length is checked. */
static int vv_mig_parse(const u8 *buf, size_t len, struct vv_mig_state *st,
			struct vv_mig_refusal *r)
{
	const size_t fixed[] = {
		[VV_MIG_SEC_DEVICE] = sizeof(st->dev),
		[VV_MIG_SEC_PCI_CONFIG] = VV_CFG_SIZE,
		[VV_MIG_SEC_VIRTIO_COMMON] = sizeof(st->common),
	};
	void *dst[] = {
		[VV_MIG_SEC_DEVICE] = &st->dev,
		[VV_MIG_SEC_PCI_CONFIG] = st->cfg,
		[VV_MIG_SEC_VIRTIO_COMMON] = &st->common,
	};
	struct vv_mig_header hdr;
	struct vv_mig_section sec;
	unsigned long seen = 0;
	size_t off, slen;
	u16 i, n, id, version;

	if (len < sizeof(hdr))
		return vv_refuse(r, -EINVAL,
				 "the state is %zu bytes, shorter than its header",
				 len);
	memcpy(&hdr, buf, sizeof(hdr));
	if (le32_to_cpu(hdr.magic) != VV_MIG_MAGIC)
		return vv_refuse(r, -EINVAL,
				 "the state does not start with the vhost-vfio magic (0x%08x)",
				 le32_to_cpu(hdr.magic));
	version = le16_to_cpu(hdr.version);
	if (version > VV_MIG_VERSION)
		return vv_refuse(r, -EPROTONOSUPPORT,
				 "the state has format version %u, this module reads up to %u: update it",
				 version, VV_MIG_VERSION);
	if (version != VV_MIG_VERSION)
		return vv_refuse(r, -EINVAL,
				 "the state has format version %u, which never existed",
				 version);
	if (le32_to_cpu(hdr.length) != len)
		return vv_refuse(r, -EINVAL,
				 "the state says it is %u bytes, %zu were written",
				 le32_to_cpu(hdr.length), len);
	if (hdr.reserved)
		return vv_refuse(r, -EINVAL,
				 "the header's reserved field is 0x%08x, not 0",
				 le32_to_cpu(hdr.reserved));

	n = le16_to_cpu(hdr.nr_sections);
	off = sizeof(hdr);
	for (i = 0; i < n; i++) {
		if (len - off < sizeof(sec))
			return vv_refuse(r, -EINVAL,
					 "section %u is cut short",
					 i);
		memcpy(&sec, buf + off, sizeof(sec));
		off += sizeof(sec);
		id = le16_to_cpu(sec.id);
		slen = le32_to_cpu(sec.length);
		if (!id || id > VV_MIG_SEC_MAX)
			return vv_refuse(r, -EINVAL,
					 "section %u has an unknown id %u",
					 i, id);
		if (sec.reserved)
			return vv_refuse(r, -EINVAL,
					 "section id %u has reserved field 0x%04x, not 0",
					 id, le16_to_cpu(sec.reserved));
		if (seen & BIT(id))
			return vv_refuse(r, -EINVAL,
					 "section id %u appears twice",
					 id);
		seen |= BIT(id);
		if (slen > len - off)
			return vv_refuse(r, -EINVAL,
					 "section id %u is %zu bytes, past the end of the state",
					 id, slen);
		if (id == VV_MIG_SEC_QUEUES) {
			if (slen % sizeof(struct vv_mig_queue) ||
			    slen / sizeof(struct vv_mig_queue) > U16_MAX)
				return vv_refuse(r, -EINVAL,
						 "the queue section is %zu bytes, not a whole number of queues",
						 slen);
			st->queues = buf + off;
			st->num_queues = slen / sizeof(struct vv_mig_queue);
		} else if (id == VV_MIG_SEC_RELAY) {
			/* Checked with the queues (vv_mig_relay_decode()). */
			st->relay = buf + off;
			st->relay_len = slen;
		} else {
			if (slen != fixed[id])
				return vv_refuse(r, -EINVAL,
						 "section id %u is %zu bytes, version %u has %zu",
						 id, slen, VV_MIG_VERSION,
						 fixed[id]);
			memcpy(dst[id], buf + off, slen);
		}
		off += slen;
	}
	if (off != len)
		return vv_refuse(r, -EINVAL,
				 "%zu bytes follow the last section",
				 len - off);
	if ((seen & VV_MIG_SEC_REQUIRED) != VV_MIG_SEC_REQUIRED)
		return vv_refuse(r, -EINVAL,
				 "the state lacks sections (has 0x%lx)",
				 seen);
	if (le16_to_cpu(st->dev.num_queues) != st->num_queues)
		return vv_refuse(r, -EINVAL,
				 "the state describes %u queues but holds %u",
				 le16_to_cpu(st->dev.num_queues),
				 st->num_queues);
	if (memchr_inv(st->dev.reserved, 0, sizeof(st->dev.reserved)))
		return vv_refuse(r, -EINVAL,
				 "the device section's reserved bytes are not 0");
	return 0;
}

/* Could this device, as provisioned and opened, be the one saved? */
static int vv_mig_check_device(struct vhost_vfio_dev *vd,
			       const struct vv_mig_state *st,
			       struct vv_mig_refusal *r)
{
	u64 negotiated = le64_to_cpu(st->common.negotiated);
	u64 unoffered = negotiated & ~vd->offered;
	u16 mtu, saved_mtu = le16_to_cpu(st->dev.mtu);
	u8 mac[ETH_ALEN];
	unsigned int i;

	if (unoffered)
		return vv_refuse(r, -EOPNOTSUPP,
				 "the guest negotiated features 0x%016llx this device does not offer (offered 0x%016llx)",
				 unoffered, vd->offered);
	/*
	 * The guest's driver read the offered features at probe and may read
	 * them again at any time: they must not change under it.
	 */
	if (le64_to_cpu(st->dev.offered) != vd->offered)
		return vv_refuse(r, -EOPNOTSUPP,
				 "the guest was offered features 0x%016llx, this device offers 0x%016llx: provision the same features_mask",
				 le64_to_cpu(st->dev.offered), vd->offered);
	if (st->num_queues != vd->num_queues ||
	    le16_to_cpu(st->dev.pairs) != vd->pairs)
		return vv_refuse(r, -EOPNOTSUPP,
				 "the guest saw %u queues in %u pairs, this device has %u in %u",
				 st->num_queues, le16_to_cpu(st->dev.pairs),
				 vd->num_queues, vd->pairs);
	vv_mig_net_identity(vd, mac, &mtu);
	if (!ether_addr_equal_unaligned(mac, st->dev.mac))
		return vv_refuse(r, -EOPNOTSUPP,
				 "the guest's MAC is %pM, this device's %pM: provision the same MAC",
				 st->dev.mac, mac);
	if (mtu != saved_mtu)
		return vv_refuse(r, -EOPNOTSUPP,
				 "the guest's MTU is %u, this device's %u: provision the same MTU",
				 saved_mtu, mtu);
	/* Read-only bytes are the device's identity and layout. */
	for (i = 0; i < VV_CFG_SIZE; i++)
		if ((st->cfg[i] ^ vd->cfg[i]) & ~vd->wmask[i])
			return vv_refuse(r, -EOPNOTSUPP,
					 "PCI configuration byte 0x%02x is 0x%02x in the state, read-only 0x%02x here",
					 i, st->cfg[i], vd->cfg[i]);
	return 0;
}

/* Is the saved virtio state one this emulation could have reached? */
static int vv_mig_check_virtio(struct vhost_vfio_dev *vd,
			       const struct vv_mig_state *st,
			       struct vv_mig_refusal *r)
{
	const u8 known = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			 VIRTIO_CONFIG_S_FEATURES_OK |
			 VIRTIO_CONFIG_S_DRIVER_OK |
			 VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FAILED;
	const struct vv_mig_common *c = &st->common;
	u64 negotiated = le64_to_cpu(c->negotiated);
	bool features_ok = c->status & VIRTIO_CONFIG_S_FEATURES_OK;
	/* Sizes were checked against what the guest had written (virtio_cfg.c). */
	bool packed = (negotiated | le64_to_cpu(c->driver_features)) &
		      BIT_ULL(VIRTIO_F_RING_PACKED);
	bool consistent;
	u16 vec, size, i;
	int q;

	if (c->status & ~known || c->flags & ~VV_MIG_F_ALL)
		return vv_refuse(r, -EINVAL,
				 "device_status 0x%02x or flags 0x%02x has unknown bits",
				 c->status, c->flags);
	/* The rules the emulation holds a guest to (vv_status_allowed()). */
	if (features_ok &&
	    (~c->status & (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER)))
		return vv_refuse(r, -EINVAL,
				 "device_status 0x%02x has FEATURES_OK without ACKNOWLEDGE and DRIVER",
				 c->status);
	if ((c->status & VIRTIO_CONFIG_S_DRIVER_OK) && !features_ok)
		return vv_refuse(r, -EINVAL,
				 "device_status 0x%02x has DRIVER_OK without FEATURES_OK",
				 c->status);
	/* vv_features_ok() never grants FEATURES_OK to such a guest. */
	if (features_ok && (c->flags & VV_MIG_F_BAD_FEATURES))
		return vv_refuse(r, -EINVAL,
				 "device_status 0x%02x has FEATURES_OK for a guest that accepted features never offered",
				 c->status);
	/* FEATURES_OK made the driver's features the negotiated ones. */
	if (features_ok)
		consistent = negotiated == le64_to_cpu(c->driver_features) &&
			     (negotiated & BIT_ULL(VIRTIO_F_VERSION_1));
	else
		consistent = !negotiated;
	if (!consistent)
		return vv_refuse(r, -EINVAL,
				 "negotiated features 0x%016llx do not follow from device_status 0x%02x",
				 negotiated, c->status);
	vec = le16_to_cpu(c->config_vector);
	if (vec != VIRTIO_MSI_NO_VECTOR && vec >= vd->vf->msix_vectors)
		return vv_refuse(r, -EINVAL,
				 "config vector %u is beyond the %u MSI-X vectors",
				 vec, vd->vf->msix_vectors);

	for (i = 0; i < st->num_queues; i++) {
		struct vv_mig_queue sq;

		memcpy(&sq, st->queues + i * sizeof(sq), sizeof(sq));
		q = vhost_vfio_vf_queue(vd, negotiated, i);
		size = le16_to_cpu(sq.size);
		vec = le16_to_cpu(sq.vector);
		/* A control queue the VF offers but lacks: size 0, never on. */
		if (q < 0) {
			if (size || sq.enabled)
				return vv_refuse(r, -EINVAL,
						 "queue %u has no VF queue behind it here",
						 i);
			continue;
		}
		if (!size || size > vd->vf->queue_max[q] ||
		    (!packed && !is_power_of_2(size)))
			return vv_refuse(r, -EOPNOTSUPP,
					 "queue %u has size %u, this device takes up to %u%s",
					 i, size, vd->vf->queue_max[q],
					 packed ? "" : " (a power of two)");
		if (vec != VIRTIO_MSI_NO_VECTOR && vec >= vd->vf->msix_vectors)
			return vv_refuse(r, -EINVAL,
					 "queue %u vector %u is beyond the %u MSI-X vectors",
					 i, vec, vd->vf->msix_vectors);
		if (sq.enabled > 1 || (sq.enabled && !features_ok))
			return vv_refuse(r, -EINVAL,
					 "queue %u is enabled as %u with device_status 0x%02x",
					 i, sq.enabled, c->status);
		if (memchr_inv(sq.reserved, 0, sizeof(sq.reserved)))
			return vv_refuse(r, -EINVAL,
					 "queue %u has non-zero reserved bytes",
					 i);
	}
	return 0;
}

/*
 * The relay section, checked against the queue section and decoded: one
 * entry per queue in *@pqs, their heads in *@heads, both allocated here
 * and freed by the caller.  Without a relay section both stay NULL.
 */
static int vv_mig_relay_decode(struct vhost_vfio_dev *vd,
			       const struct vv_mig_state *st,
			       struct vhost_vfio_relay_parked **pqs,
			       u16 **heads, struct vv_mig_refusal *r)
{
	const u8 ok = VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_NEEDS_RESET;
	const struct vv_mig_common *c = &st->common;
	const u8 *p = st->relay, *end = st->relay + st->relay_len;
	unsigned long *seen;
	size_t k = 0;
	u16 gq, i, n;
	int ret = 0;

	*pqs = NULL;
	*heads = NULL;
	if (!st->relay)
		return 0;
	/* vhost_vfio_relay_park() runs only for a live, healthy device. */
	if ((c->status & ok) != VIRTIO_CONFIG_S_DRIVER_OK ||
	    (c->flags & VV_MIG_F_NEEDS_RESET))
		return vv_refuse(r, -EINVAL,
				 "the state has a relay section with device_status 0x%02x: only a running driver's queues are parked",
				 c->status);
	if (le64_to_cpu(c->negotiated) & BIT_ULL(VIRTIO_F_RING_PACKED))
		return vv_refuse(r, -EINVAL,
				 "the state has a relay section for packed rings, which the relay never serves");
	*pqs = kcalloc(st->num_queues, sizeof(**pqs), GFP_KERNEL_ACCOUNT);
	/* Never more heads than the section has bytes for. */
	*heads = kvmalloc_array(st->relay_len / sizeof(__le16) + 1,
				sizeof(**heads), GFP_KERNEL_ACCOUNT);
	seen = bitmap_zalloc(U16_MAX + 1, GFP_KERNEL_ACCOUNT);
	if (!*pqs || !*heads || !seen) {
		ret = vv_refuse(r, -ENOMEM, "no memory to check the relay section");
		goto out;
	}
	for (gq = 0; gq < st->num_queues && !ret; gq++) {
		struct vv_mig_relay_queue rq;
		struct vv_mig_queue sq;
		u16 size, inflight;

		memcpy(&sq, st->queues + gq * sizeof(sq), sizeof(sq));
		size = le16_to_cpu(sq.size);
		if (end - p < sizeof(rq)) {
			ret = vv_refuse(r, -EINVAL,
					"the relay section ends before queue %u",
					gq);
			break;
		}
		memcpy(&rq, p, sizeof(rq));
		p += sizeof(rq);
		n = le16_to_cpu(rq.nheld);
		inflight = le16_to_cpu(rq.last_avail) -
			   le16_to_cpu(rq.used_idx);
		if (rq.reserved || rq.flags & ~VV_MIG_RQ_PARKED)
			ret = vv_refuse(r, -EINVAL,
					"relay entry of queue %u has flags 0x%02x, reserved 0x%02x",
					gq, rq.flags, rq.reserved);
		else if (!(rq.flags & VV_MIG_RQ_PARKED) != !sq.enabled)
			ret = vv_refuse(r, -EINVAL,
					"queue %u is %s but %s parked",
					gq, sq.enabled ? "enabled" : "disabled",
					sq.enabled ? "was not" : "was");
		else if (!sq.enabled && (rq.last_avail || rq.used_idx || n))
			ret = vv_refuse(r, -EINVAL,
					"queue %u was not parked but has ring positions",
					gq);
		else if (n > inflight || inflight > size)
			ret = vv_refuse(r, -EINVAL,
					"queue %u holds %u heads, with %u entries and %u in flight",
					gq, n, size, inflight);
		else if (end - p < n * sizeof(__le16))
			ret = vv_refuse(r, -EINVAL,
					"the relay section ends in queue %u's heads",
					gq);
		if (ret || !sq.enabled)
			continue;
		for (i = 0; i < n && !ret; i++, p += sizeof(__le16)) {
			u16 head = get_unaligned_le16(p);

			if (head >= size || test_and_set_bit(head, seen)) {
				ret = vv_refuse(r, -EINVAL,
						"queue %u holds head %u %s",
						gq, head, head >= size ?
						"beyond its ring" : "twice");
				break;
			}
			(*heads)[k + i] = head;
		}
		if (ret)
			break;
		for (i = 0; i < n; i++)
			clear_bit((*heads)[k + i], seen);
		(*pqs)[gq] = (struct vhost_vfio_relay_parked){
			.last_avail = le16_to_cpu(rq.last_avail),
			.used_idx = le16_to_cpu(rq.used_idx),
			.nheld = n,
			.held = *heads + k,
		};
		k += n;
	}
	if (!ret && p != end)
		ret = vv_refuse(r, -EINVAL,
				"%zu bytes follow the relay section's last queue",
				(size_t)(end - p));
	/* Well-formed: can this device resume it? */
	if (!ret && !vd->relay.on)
		ret = vv_refuse(r, -EOPNOTSUPP,
				"the guest's queues ran through the virtqueue relay, this device has none: set vhost_vfio's relay=Y before the VMM opens it");
out:
	bitmap_free(seen);
	if (ret) {
		kfree(*pqs);
		kvfree(*heads);
		*pqs = NULL;
		*heads = NULL;
	}
	return ret;
}

/* Everything checked: the emulated state becomes the saved one. */
static void vv_mig_apply(struct vhost_vfio_dev *vd,
			 const struct vv_mig_state *st)
{
	const struct vv_mig_common *c = &st->common;
	unsigned int i;

	for (i = 0; i < VV_CFG_SIZE; i++)
		vd->cfg[i] = (vd->cfg[i] & ~vd->wmask[i]) |
			     (st->cfg[i] & vd->wmask[i]);
	vd->dfselect = le32_to_cpu(c->device_feature_select);
	vd->gfselect = le32_to_cpu(c->driver_feature_select);
	vd->guest_features = le64_to_cpu(c->driver_features);
	vd->bad_features = c->flags & VV_MIG_F_BAD_FEATURES;
	vd->negotiated = le64_to_cpu(c->negotiated);
	vd->queue_sel = le16_to_cpu(c->queue_select);
	vd->config_vector = le16_to_cpu(c->config_vector);
	vd->config_vector_latch = le16_to_cpu(c->config_vector_latch);
	vd->needs_reset = c->flags & VV_MIG_F_NEEDS_RESET;
	vd->driver_ok_pending = false;
	for (i = 0; i < st->num_queues; i++) {
		struct vhost_vfio_vq *vq = &vd->vqs[i];
		struct vv_mig_queue sq;

		memcpy(&sq, st->queues + i * sizeof(sq), sizeof(sq));
		vq->size = le16_to_cpu(sq.size);
		vq->size_latch = le16_to_cpu(sq.size_latch);
		vq->vector = le16_to_cpu(sq.vector);
		vq->vector_latch = le16_to_cpu(sq.vector_latch);
		vq->enabled = sq.enabled;
		vq->desc = le64_to_cpu(sq.desc);
		vq->avail = le64_to_cpu(sq.avail);
		vq->used = le64_to_cpu(sq.used);
	}
	vd->mig.held_status = c->status;
	vd->mig.quiesced = true;
}

static int vv_mig_file_release(struct inode *inode, struct file *filp)
{
	struct vhost_vfio_mig_file *migf = filp->private_data;

	if (migf->vd)
		put_device(&migf->vd->vdev.device);
	mutex_destroy(&migf->lock);
	kvfree(migf->buf);
	kfree(migf);
	return 0;
}

static ssize_t vv_mig_file_read(struct file *filp, char __user *ubuf,
				size_t count, loff_t *ppos)
{
	struct vhost_vfio_mig_file *migf = filp->private_data;
	size_t n, start;

	/*
	 * The range is claimed under the lock and copied outside it: a VMM
	 * whose buffer stalls the copy (userfaultfd, FUSE) must not hold up
	 * vv_mig_file_disable(), which runs under the device lock.  The saved
	 * stream never changes after vv_mig_save_begin() and is freed only at
	 * release, which cannot run while this read holds the file.
	 */
	mutex_lock(&migf->lock);
	if (migf->disabled) {
		mutex_unlock(&migf->lock);
		return -ENODEV;
	}
	start = migf->pos;
	n = min(count, migf->len - start);
	migf->pos += n;
	mutex_unlock(&migf->lock);

	if (copy_to_user(ubuf, migf->buf + start, n)) {
		/* Give the range back unless another read went on from it. */
		mutex_lock(&migf->lock);
		if (migf->pos == start + n)
			migf->pos = start;
		mutex_unlock(&migf->lock);
		return -EFAULT;
	}
	return n;
}

static int vv_mig_resume_check(struct vhost_vfio_mig_file *migf);

/* Room for @need bytes: at least double, at most VV_MIG_MAX_LEN. */
static int vv_mig_file_grow(struct vhost_vfio_mig_file *migf, size_t need)
{
	size_t cap = min_t(size_t, max(need, 2 * migf->cap), VV_MIG_MAX_LEN);
	u8 *buf;

	buf = kvzalloc(cap, GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, migf->buf, migf->len);
	kvfree(migf->buf);
	migf->buf = buf;
	migf->cap = cap;
	return 0;
}

static ssize_t vv_mig_file_write(struct file *filp, const char __user *ubuf,
				 size_t count, loff_t *ppos)
{
	struct vhost_vfio_mig_file *migf = filp->private_data;
	ssize_t ret;
	u8 *bounce;

	/* All of a write or none of it: nothing is kept of an oversize one. */
	if (count > VV_MIG_MAX_LEN)
		return -EFBIG;
	/* Nothing to copy, but a stream that ended says so, as read() does. */
	if (!count) {
		mutex_lock(&migf->lock);
		ret = migf->disabled ? -ENODEV : 0;
		mutex_unlock(&migf->lock);
		return ret;
	}
	/*
	 * Copied in before the lock, which nests inside the device lock: a
	 * stalled user copy must not hold up vv_mig_resume_end().
	 */
	bounce = kvmalloc(count, GFP_KERNEL_ACCOUNT);
	if (!bounce)
		return -ENOMEM;
	if (copy_from_user(bounce, ubuf, count)) {
		ret = -EFAULT;
		goto out_free;
	}

	mutex_lock(&migf->lock);
	if (migf->disabled) {
		ret = -ENODEV;
		goto out_unlock;
	}
	if (migf->refused) {
		ret = migf->refused;
		goto out_unlock;
	}
	if (count > VV_MIG_MAX_LEN - migf->len) {
		ret = -EFBIG;
		goto out_unlock;
	}
	if (count > migf->cap - migf->len) {
		ret = vv_mig_file_grow(migf, migf->len + count);
		if (ret)
			goto out_unlock;
	}
	/* A refused state keeps what was written; nothing reads it again. */
	memcpy(migf->buf + migf->len, bounce, count);
	migf->len += count;
	ret = count;
out_unlock:
	mutex_unlock(&migf->lock);
	/*
	 * The whole state is in: check it now, so that the VMM's load fails
	 * (and a VMM with a return path tells the source, which runs on)
	 * rather than the VM start after it.
	 */
	if (ret > 0)
		ret = vv_mig_resume_check(migf) ?: ret;
out_free:
	kvfree(bounce);
	return ret;
}

static const struct file_operations vv_mig_save_fops = {
	.owner = THIS_MODULE,
	.read = vv_mig_file_read,
	.release = vv_mig_file_release,
};

static const struct file_operations vv_mig_resume_fops = {
	.owner = THIS_MODULE,
	.write = vv_mig_file_write,
	.release = vv_mig_file_release,
};

/*
 * A data fd with a buffer of @size bytes.  The device keeps a reference
 * of its own until vhost_vfio_mig_file_disable().
 */
static struct vhost_vfio_mig_file *
vv_mig_file_new(const struct file_operations *fops, size_t size, int flags)
{
	struct vhost_vfio_mig_file *migf;
	int ret;

	migf = kzalloc(sizeof(*migf), GFP_KERNEL_ACCOUNT);
	if (!migf)
		return ERR_PTR(-ENOMEM);
	migf->buf = kvzalloc(size, GFP_KERNEL_ACCOUNT);
	if (!migf->buf) {
		ret = -ENOMEM;
		goto err_free;
	}
	migf->cap = size;
	mutex_init(&migf->lock);
	migf->filp = anon_inode_getfile("vhost_vfio_mig", fops, migf, flags);
	if (IS_ERR(migf->filp)) {
		ret = PTR_ERR(migf->filp);
		goto err_buf;
	}
	stream_open(migf->filp->f_inode, migf->filp);
	get_file(migf->filp);
	return migf;

err_buf:
	mutex_destroy(&migf->lock);
	kvfree(migf->buf);
err_free:
	kfree(migf);
	return ERR_PTR(ret);
}

/* The fd reaches its end: reads and writes fail from now on. */
static void vv_mig_file_disable(struct vhost_vfio_mig_file **slot)
{
	struct vhost_vfio_mig_file *migf = *slot;

	if (!migf)
		return;
	mutex_lock(&migf->lock);
	migf->disabled = true;
	mutex_unlock(&migf->lock);
	*slot = NULL;
	fput(migf->filp);
}

static void vv_mig_disable_files(struct vhost_vfio_dev *vd)
{
	vv_mig_file_disable(&vd->mig.saving);
	vv_mig_file_disable(&vd->mig.resuming);
}

static void vv_mig_log_refusal(struct vhost_vfio_dev *vd,
			       const struct vv_mig_refusal *r)
{
	vd->mig.restores_refused++;
	vd->mig.last_refusal = r->err;
	/* A VMM may loop bad state -> reset: the counters keep the count. */
	dev_warn_ratelimited(vv_dev(vd), "migration state refused (%pe): %s\n",
			     ERR_PTR(r->err), r->why);
}

/*
 * RUNNING -> STOP.  Bus Master goes off whatever the VF's status: a VF may
 * serve queues before DRIVER_OK (vv_vf_go_live() enables them first and
 * leaves them enabled if DRIVER_OK fails), and a stopped device must not
 * DMA.  A VF holding DRIVER_OK (or about to) is also reset: that stops its
 * interrupts and lets it restart from the saved state.  The reset wipes
 * the emulated state with the VF's, so it is saved around it, and the
 * guest keeps reading the device_status it had until STOP -> RUNNING.
 *
 * Once the reset ran, the emulated state is gone: if the VF did not
 * quiesce (or the state does not come back), *@lost tells the caller the
 * device can only be in ERROR.
 */
static int vv_mig_stop(struct vhost_vfio_dev *vd, bool *lost)
{
	u8 status = vhost_vfio_guest_status(vd);
	size_t len = vv_mig_stream_len(vd->num_queues);
	struct vv_mig_refusal r = { };
	struct vv_mig_state st = { };
	u8 *buf;
	int ret;
	bool live;

	/* Allocated first: failing here leaves the device as it was. */
	buf = kvzalloc(len, GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;
	/* Read before Bus Master goes: QEMU's virtio-pci drops DRIVER_OK then. */
	live = (vd->vf->ops->get_status(vd->vf->be) &
		VIRTIO_CONFIG_S_DRIVER_OK) || vd->driver_ok_pending;
	vhost_vfio_isolation_stop_dma(vd);
	if (!live) {
		ret = 0;
		goto out_free;
	}

	vv_mig_save(vd, buf, status, false);
	/*
	 * Where the relay's queues are, while the VF's rings are final.  A
	 * device still parked never got going (its resume waits for the
	 * mirror, vhost_vfio_virtio_resume()): it stays parked as it was.
	 */
	if (vd->relay.on && !vhost_vfio_relay_parked(vd) &&
	    (status & (VIRTIO_CONFIG_S_DRIVER_OK |
		       VIRTIO_CONFIG_S_NEEDS_RESET)) == VIRTIO_CONFIG_S_DRIVER_OK &&
	    vhost_vfio_relay_park(vd))
		dev_warn_ratelimited(vv_dev(vd), "the relay could not note where the queues stopped; the guest will read DEVICE_NEEDS_RESET when it runs again\n");
	ret = vhost_vfio_isolation_quiesce(vd);
	if (ret) {
		*lost = true;
		goto out_free;
	}
	/* Our own stream, so it parses; apply it unchecked to the wiped state. */
	if (WARN_ON(vv_mig_parse(buf, len, &st, &r))) {
		*lost = true;
		ret = -EIO;
		goto out_free;
	}
	vv_mig_apply(vd, &st);
out_free:
	kvfree(buf);
	return ret;
}

/*
 * STOP -> RUNNING.  A quiesced VF gets the emulated state back.  With the
 * relay parked where the queues stopped, the VF goes live again on fresh
 * shadow rings and the guest sees nothing.  Without, its rings restarted
 * at index 0 with no register to move them, so a guest that had DRIVER_OK
 * reads DEVICE_NEEDS_RESET and gets a configuration interrupt, and the VF
 * does not go live.  One that never had it carries on.
 */
static void vv_mig_run(struct vhost_vfio_dev *vd)
{
	const u8 ok = VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_NEEDS_RESET;
	u8 held = vd->mig.held_status;

	/* RUNNING already (vv_mig_step()): Bus Master follows the guest again. */
	vhost_vfio_isolation_bus_master(vd);
	if (!vd->mig.quiesced)
		return;
	vd->mig.quiesced = false;
	if (vhost_vfio_relay_parked(vd) && (held & ok) ==
	    VIRTIO_CONFIG_S_DRIVER_OK && !vd->needs_reset) {
		if (vhost_vfio_virtio_resume(vd, held))
			return;
		dev_warn_ratelimited(vv_dev(vd), "the VF could not resume where the relay parked it; the guest reads DEVICE_NEEDS_RESET\n");
	}
	vhost_vfio_relay_drop_parked(vd);
	if (!vhost_vfio_virtio_replay(vd, held) ||
	    (held & (VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_NEEDS_RESET))) {
		if (!vd->needs_reset) {
			vd->needs_reset = true;
			vhost_vfio_config_interrupt(vd);
		}
		vd->mig.needs_reset_raised++;
	}
}

/* STOP -> STOP_COPY: the state is fixed now; snapshot it into the fd. */
static struct file *vv_mig_save_begin(struct vhost_vfio_dev *vd)
{
	size_t len = vv_mig_save_len(vd);
	struct vhost_vfio_mig_file *migf;

	migf = vv_mig_file_new(&vv_mig_save_fops, len, O_RDONLY);
	if (IS_ERR(migf))
		return ERR_CAST(migf);
	vv_mig_save(vd, migf->buf, vhost_vfio_guest_status(vd), true);
	migf->len = len;
	vd->mig.saving = migf;
	vd->mig.saves++;
	return migf->filp;
}

/* STOP -> RESUMING: an empty fd to write the state into. */
static struct file *vv_mig_resume_begin(struct vhost_vfio_dev *vd)
{
	struct vhost_vfio_mig_file *migf;

	/* Room for a state without a relay section; it grows if need be. */
	migf = vv_mig_file_new(&vv_mig_resume_fops,
			       vv_mig_stream_len(vd->num_queues), O_WRONLY);
	if (IS_ERR(migf))
		return ERR_CAST(migf);
	migf->vd = vd;
	get_device(&vd->vdev.device);
	vd->mig.resuming = migf;
	return migf->filp;
}

/*
 * Everything written, parsed and checked against this device (migf->lock
 * held, and the device lock).  The relay section is decoded into *@pqs
 * and *@heads, which the caller frees.
 */
static int vv_mig_resume_parse(struct vhost_vfio_dev *vd,
			       struct vhost_vfio_mig_file *migf,
			       struct vv_mig_state *st,
			       struct vhost_vfio_relay_parked **pqs,
			       u16 **heads)
{
	struct vv_mig_refusal r = { };
	int ret;

	*pqs = NULL;
	*heads = NULL;
	if (migf->refused)
		return migf->refused;
	ret = vv_mig_parse(migf->buf, migf->len, st, &r) ?:
	      vv_mig_check_device(vd, st, &r) ?:
	      vv_mig_check_virtio(vd, st, &r) ?:
	      vv_mig_relay_decode(vd, st, pqs, heads, &r);
	/* Out of memory says nothing of the state: it may be checked again. */
	if (ret && ret != -ENOMEM) {
		vv_mig_log_refusal(vd, &r);
		migf->refused = ret;
	}
	return ret;
}

/*
 * After a write: once the header's length is all in, the state is
 * checked whole; a refusal is logged once and fails this write and every
 * later one, and RESUMING -> STOP.
 */
static int vv_mig_resume_check(struct vhost_vfio_mig_file *migf)
{
	struct vhost_vfio_dev *vd = migf->vd;
	struct vhost_vfio_relay_parked *pqs;
	struct vv_mig_state st = { };
	struct vv_mig_header hdr;
	u16 *heads;
	int ret = 0;

	mutex_lock(&vd->lock);
	mutex_lock(&migf->lock);
	/* Only while the device is still RESUMING into this fd. */
	if (migf->disabled || vd->mig.resuming != migf ||
	    migf->len < sizeof(hdr))
		goto out;
	memcpy(&hdr, migf->buf, sizeof(hdr));
	if (le32_to_cpu(hdr.length) != migf->len)
		goto out;
	ret = vv_mig_resume_parse(vd, migf, &st, &pqs, &heads);
	kfree(pqs);
	kvfree(heads);
out:
	mutex_unlock(&migf->lock);
	mutex_unlock(&vd->lock);
	return ret;
}

/*
 * RESUMING -> STOP: validate everything written (again: the VMM may not
 * have written it all), then apply it to a reset VF.  Refused, nothing of
 * it is applied and the device is in ERROR until VFIO_DEVICE_RESET.
 */
static int vv_mig_resume_end(struct vhost_vfio_dev *vd)
{
	struct vhost_vfio_mig_file *migf = vd->mig.resuming;
	struct vhost_vfio_relay_parked *pqs;
	struct vv_mig_state st = { };
	u16 *heads;
	int ret;

	/* Another device's state: where this one's queues stopped is moot. */
	vhost_vfio_relay_drop_parked(vd);
	mutex_lock(&migf->lock);
	ret = vv_mig_resume_parse(vd, migf, &st, &pqs, &heads);
	if (ret)
		goto out_unlock;
	ret = vhost_vfio_isolation_quiesce(vd);
	if (ret)
		goto out_unlock;
	/* Parked as the source was: STOP -> RUNNING resumes in place. */
	if (pqs) {
		ret = vhost_vfio_relay_restore(vd, pqs);
		if (ret)
			goto out_unlock;
	}
	vv_mig_apply(vd, &st);
	vd->mig.restores++;
out_unlock:
	mutex_unlock(&migf->lock);
	kfree(pqs);
	kvfree(heads);
	vv_mig_file_disable(&vd->mig.resuming);
	return ret;
}

/*
 * One arc of the FSM, as vfio_mig_get_next_state() hands them out.  On
 * failure *@lost says whether the arc had side effects that leave the
 * device in no state of the FSM but ERROR.
 */
static struct file *vv_mig_step(struct vhost_vfio_dev *vd,
				enum vfio_device_mig_state next, bool *lost)
{
	enum vfio_device_mig_state cur = vd->mig.state;
	int ret;

	if (cur == VFIO_DEVICE_STATE_RUNNING &&
	    next == VFIO_DEVICE_STATE_STOP) {
		ret = vv_mig_stop(vd, lost);
		return ret ? ERR_PTR(ret) : NULL;
	}
	if (cur == VFIO_DEVICE_STATE_STOP &&
	    next == VFIO_DEVICE_STATE_RUNNING) {
		/* Cannot fail; Bus Master checks for RUNNING. */
		vd->mig.state = next;
		vv_mig_run(vd);
		return NULL;
	}
	if (cur == VFIO_DEVICE_STATE_STOP &&
	    next == VFIO_DEVICE_STATE_STOP_COPY)
		return vv_mig_save_begin(vd);
	if (cur == VFIO_DEVICE_STATE_STOP_COPY &&
	    next == VFIO_DEVICE_STATE_STOP) {
		vv_mig_file_disable(&vd->mig.saving);
		return NULL;
	}
	if (cur == VFIO_DEVICE_STATE_STOP &&
	    next == VFIO_DEVICE_STATE_RESUMING)
		return vv_mig_resume_begin(vd);
	if (cur == VFIO_DEVICE_STATE_RESUMING &&
	    next == VFIO_DEVICE_STATE_STOP) {
		/* The state written was consumed, applied or not: start over. */
		ret = vv_mig_resume_end(vd);
		*lost = ret;
		return ret ? ERR_PTR(ret) : NULL;
	}
	/* vfio_mig_get_next_state() only hands out the arcs above. */
	WARN_ON_ONCE(1);
	return ERR_PTR(-EINVAL);
}

static struct file *vv_mig_set_state(struct vfio_device *vdev,
				     enum vfio_device_mig_state new)
{
	struct vhost_vfio_dev *vd = to_vv(vdev);
	enum vfio_device_mig_state next, cur;
	struct file *res = NULL;
	bool lost = false;
	int ret;

	mutex_lock(&vd->lock);
	/* ERROR leads nowhere but through VFIO_DEVICE_RESET; the core WARNs. */
	if (vd->mig.state == VFIO_DEVICE_STATE_ERROR) {
		res = ERR_PTR(-EINVAL);
		vd->mig.failed_transitions++;
	}
	while (!IS_ERR(res) && vd->mig.state != new) {
		cur = vd->mig.state;
		ret = vfio_mig_get_next_state(vdev, cur, new, &next);
		if (ret) {
			res = ERR_PTR(ret);
			break;
		}
		res = vv_mig_step(vd, next, &lost);
		trace_vhost_vfio_migration(dev_name(vv_dev(vd)),
					   vv_mig_state_name(cur),
					   vv_mig_state_name(next),
					   PTR_ERR_OR_ZERO(res));
		if (IS_ERR(res)) {
			if (lost)
				vd->mig.state = VFIO_DEVICE_STATE_ERROR;
			vd->mig.failed_transitions++;
			break;
		}
		vd->mig.state = next;
		vd->mig.transitions++;
		/* Only the last arc of a composed one may open an fd. */
		if (WARN_ON_ONCE(res && next != new)) {
			fput(res);
			res = ERR_PTR(-EINVAL);
			break;
		}
	}
	mutex_unlock(&vd->lock);
	return res;
}

static int vv_mig_get_state(struct vfio_device *vdev,
			    enum vfio_device_mig_state *state)
{
	struct vhost_vfio_dev *vd = to_vv(vdev);

	mutex_lock(&vd->lock);
	*state = vd->mig.state;
	mutex_unlock(&vd->lock);
	return 0;
}

#ifdef COMPAT_HAVE_MIG_DATA_SIZE
static int vv_mig_get_data_size(struct vfio_device *vdev,
				unsigned long *stop_copy_length)
{
	struct vhost_vfio_dev *vd = to_vv(vdev);

	mutex_lock(&vd->lock);
	*stop_copy_length = vv_mig_save_len(vd);
	mutex_unlock(&vd->lock);
	return 0;
}
#endif

static const struct vfio_migration_ops vv_mig_ops = {
	.migration_set_state = vv_mig_set_state,
	.migration_get_state = vv_mig_get_state,
#ifdef COMPAT_HAVE_MIG_DATA_SIZE
	.migration_get_data_size = vv_mig_get_data_size,
#endif
};

/**
 * vhost_vfio_migration_open - offer migration to relayed devices, or to all
 *	if the module parameter says so
 * @vd: mediated device, lock held, first open, relay decided
 *
 * The vfio core reads mig_ops and migration_flags only in ioctls of an open
 * device (6.1 and 6.12; 6.12's debugfs adds its "migration" directory at
 * registration, when they are still unset), so the first open may set them.
 */
void vhost_vfio_migration_open(struct vhost_vfio_dev *vd)
{
	/* A relayed device stops and resumes in place: nothing to opt into. */
	bool offer = READ_ONCE(migration) || vd->relay.on;

	/* A destination must be able to take the whole state in one buffer. */
	if (offer && vv_mig_max_len(vd) > VV_MIG_MAX_LEN) {
		dev_warn_once(vv_dev(vd), "migration not offered: the state of %u queues may take %zu bytes, over the %u byte limit\n",
			      vd->num_queues, vv_mig_max_len(vd),
			      VV_MIG_MAX_LEN);
		offer = false;
	}

	vd->vdev.mig_ops = offer ? &vv_mig_ops : NULL;
	vd->vdev.migration_flags = offer ? VFIO_MIGRATION_STOP_COPY : 0;
	memset(&vd->mig, 0, sizeof(vd->mig));
	vd->mig.offered = offer;
	vd->mig.state = VFIO_DEVICE_STATE_RUNNING;
}

/**
 * vhost_vfio_migration_reset - back to RUNNING, data fds ended
 * @vd: mediated device, lock held
 *
 * For VFIO_DEVICE_RESET and close: whatever state the device was in, a
 * reset leaves it RUNNING (the caller resets the VF and the emulation).
 */
void vhost_vfio_migration_reset(struct vhost_vfio_dev *vd)
{
	vv_mig_disable_files(vd);
	vhost_vfio_relay_drop_parked(vd);
	vd->mig.quiesced = false;
	if (vd->mig.state != VFIO_DEVICE_STATE_RUNNING)
		vd->mig.resets++;
	vd->mig.state = VFIO_DEVICE_STATE_RUNNING;
}

/**
 * vhost_vfio_migration_allows_write - may the VMM change device state now?
 * @vd: mediated device, lock held
 * @config: the write is to PCI configuration space
 *
 * Outside RUNNING the virtio state is being saved or restored (or is lost,
 * in ERROR): BAR writes are refused and counted; reads are fine.  Config
 * space stays writable in STOP, STOP_COPY and RESUMING: the uAPI has a
 * stopped device accept config and MSI-X accesses, and QEMU's destination
 * restores config space while RESUMING.  What RESUMING -> STOP restores
 * overwrites those writes; one in STOP_COPY is not in the already saved
 * stream, as the VMM restores config space from its own copy.  A stopped
 * VF's Bus Master stays off whatever the guest's command register says
 * (vhost_vfio_isolation_bus_master()).
 *
 * Return: true if region writes may proceed.
 */
bool vhost_vfio_migration_allows_write(struct vhost_vfio_dev *vd, bool config)
{
	if (vd->mig.state == VFIO_DEVICE_STATE_RUNNING)
		return true;
	if (config && vd->mig.state != VFIO_DEVICE_STATE_ERROR)
		return true;
	vd->mig.writes_refused++;
	return false;
}

/**
 * vhost_vfio_migration_show - the migration state and counters, for debugfs
 * @s: seq_file of the debugfs "migration" file
 * @vd: mediated device, lock held
 */
void vhost_vfio_migration_show(struct seq_file *s, struct vhost_vfio_dev *vd)
{
	const struct vhost_vfio_migration *m = &vd->mig;

	seq_printf(s, "offered: %d\n", m->offered);
	/* Zeroed at probe: ERROR's value, which a closed device is not in. */
	seq_printf(s, "state: %s\n",
		   vd->open ? vv_mig_state_name(m->state) : "closed");
	seq_printf(s, "quiesced: %d\n", m->quiesced);
	seq_printf(s, "held_status: 0x%02x\n", m->held_status);
	seq_printf(s, "transitions: %llu\n", m->transitions);
	seq_printf(s, "failed_transitions: %llu\n", m->failed_transitions);
	seq_printf(s, "saves: %llu\n", m->saves);
	seq_printf(s, "restores: %llu\n", m->restores);
	seq_printf(s, "restores_refused: %llu\n", m->restores_refused);
	seq_printf(s, "last_refusal: %d\n", m->last_refusal);
	seq_printf(s, "writes_refused: %llu\n", m->writes_refused);
	seq_printf(s, "needs_reset_raised: %llu\n", m->needs_reset_raised);
	seq_printf(s, "resumed_in_place: %llu\n", m->resumed_in_place);
	seq_printf(s, "resumes_deferred: %llu\n", m->resumes_deferred);
	seq_printf(s, "resets: %llu\n", m->resets);
}
