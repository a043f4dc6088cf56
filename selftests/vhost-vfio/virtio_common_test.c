// SPDX-License-Identifier: GPL-2.0-only
/*
 * The virtio transport of a vhost-vfio mdev as a guest driver drives it:
 * common configuration round trips, feature negotiation and the resets.
 *
 * Environment: VV_BDF, a function bound to vhost_vfio_virtio_pci, with no
 * quirks and no provisioning applied.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>

#include "vmm_test.h"

#define ACK_DRIVER	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER)
#define FEAT_OK		(ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK)

static u64 attr(struct __test_metadata *_metadata, const char *uuid,
		const char *name)
{
	u64 val = ~0ULL;

	EXPECT_EQ(0, mdev_attr_u64(uuid, name, &val)) TH_LOG("%s", name);
	return val;
}

TEST_F(mdev_open, device_features_match_sysfs)
{
	struct vmm *v = &self->dev.vmm;
	u64 df;

	df = vmm_vio_device_features(v);
	TH_LOG("device_feature 0x%016llx vf_features 0x%016llx",
	       (unsigned long long)df, (unsigned long long)self->dev.vf);
	ASSERT_EQ(self->dev.offered, df);
	ASSERT_EQ(1, vmm_vio_read(v, VIRTIO_PCI_COMMON_DFSELECT, 4));
	/* No feature words beyond 64 bits. */
	vmm_vio_write(v, VIRTIO_PCI_COMMON_DFSELECT, 4, 2);
	ASSERT_EQ(0, vmm_vio_read(v, VIRTIO_PCI_COMMON_DF, 4));
	/* device_feature is read-only. */
	vmm_vio_write(v, VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	vmm_vio_write(v, VIRTIO_PCI_COMMON_DF, 4, ~(u32)df);
	ASSERT_EQ((u32)df, vmm_vio_read(v, VIRTIO_PCI_COMMON_DF, 4));
	/* Modern, and nothing the mediation cannot pass. */
	ASSERT_NE(0, df & BIT_ULL(VIRTIO_F_VERSION_1));
	ASSERT_EQ(0, df & (BIT_ULL(VIRTIO_F_RING_RESET) |
			   BIT_ULL(VIRTIO_F_NOTIFICATION_DATA) |
			   BIT_ULL(VIRTIO_F_SR_IOV)));
	ASSERT_EQ(0, df & ~self->dev.vf);
	ASSERT_EQ(0, v->err);
}

TEST_F(mdev_open, num_queues_matches_features)
{
	struct vmm *v = &self->dev.vmm;
	u16 nq, pairs = 1;

	nq = vmm_vio_num_queues(v);
	if (self->dev.offered & BIT_ULL(VIRTIO_NET_F_MQ))
		pairs = vmm_vio_devcfg_read(v, offsetof(struct virtio_net_config,
							max_virtqueue_pairs), 2);
	TH_LOG("num_queues %u, pairs %u", nq, pairs);
	ASSERT_EQ(2 * pairs + !!(self->dev.offered & BIT_ULL(VIRTIO_NET_F_CTRL_VQ)),
		  nq);
	vmm_vio_write(v, VIRTIO_PCI_COMMON_NUMQ, 2, nq + 5);
	ASSERT_EQ(nq, vmm_vio_num_queues(v));
	ASSERT_EQ(0, v->err);
}

TEST_F(mdev_open, queue_size_round_trip)
{
	struct vmm *v = &self->dev.vmm;
	u16 q, nq, max, half;

	nq = vmm_vio_num_queues(v);
	for (q = 0; q < nq; q++) {
		vmm_vio_queue_select(v, q);
		ASSERT_EQ(q, vmm_vio_read(v, VIRTIO_PCI_COMMON_Q_SELECT, 2));
		max = vmm_vio_queue_size(v);
		TH_LOG("queue %u: max size %u", q, max);
		ASSERT_LT(0, max);
		ASSERT_EQ(0, max & (max - 1));
		half = max > 1 ? max / 2 : max;
		vmm_vio_set_queue_size(v, half);
		ASSERT_EQ(half, vmm_vio_queue_size(v));
		/* Refused by the VF: reads back what the VF holds. */
		vmm_vio_set_queue_size(v, 0);
		ASSERT_EQ(half, vmm_vio_queue_size(v));
		vmm_vio_set_queue_size(v, 0x8000);
		ASSERT_EQ(half, vmm_vio_queue_size(v));
		vmm_vio_set_queue_size(v, max);
		ASSERT_EQ(max, vmm_vio_queue_size(v));
	}
	/* A queue that does not exist has size 0 and stays absent. */
	vmm_vio_queue_select(v, nq);
	ASSERT_EQ(0, vmm_vio_queue_size(v));
	vmm_vio_set_queue_size(v, 64);
	ASSERT_EQ(0, vmm_vio_queue_size(v));
	vmm_vio_queue_select(v, 0xffff);
	ASSERT_EQ(0, vmm_vio_queue_size(v));
	ASSERT_EQ(0, v->err);
}

TEST_F(mdev_open, msix_vector_round_trip)
{
	struct vmm *v = &self->dev.vmm;
	u16 q, nq, got;

	ASSERT_LT(0, self->dev.nvec);
	ASSERT_EQ(VMM_NO_VECTOR, vmm_vio_read(v, VIRTIO_PCI_COMMON_MSIX, 2));
	vmm_vio_write(v, VIRTIO_PCI_COMMON_MSIX, 2, 0);
	ASSERT_EQ(0, vmm_vio_read(v, VIRTIO_PCI_COMMON_MSIX, 2));
	vmm_vio_write(v, VIRTIO_PCI_COMMON_MSIX, 2, VMM_NO_VECTOR);
	ASSERT_EQ(VMM_NO_VECTOR, vmm_vio_read(v, VIRTIO_PCI_COMMON_MSIX, 2));

	nq = vmm_vio_num_queues(v);
	for (q = 0; q < nq; q++) {
		vmm_vio_queue_select(v, q);
		ASSERT_EQ(VMM_NO_VECTOR, vmm_vio_queue_vector(v));
		vmm_vio_set_queue_vector(v, q % self->dev.nvec);
		ASSERT_EQ(q % self->dev.nvec, vmm_vio_queue_vector(v));
	}
	/* Each queue kept its own vector. */
	for (q = 0; q < nq; q++) {
		vmm_vio_queue_select(v, q);
		ASSERT_EQ(q % self->dev.nvec, vmm_vio_queue_vector(v));
	}
	vmm_vio_queue_select(v, 0);
	vmm_vio_set_queue_vector(v, self->dev.nvec - 1);
	ASSERT_EQ(self->dev.nvec - 1, vmm_vio_queue_vector(v));
	/* A vector the function does not have is not taken. */
	vmm_vio_set_queue_vector(v, self->dev.nvec);
	got = vmm_vio_queue_vector(v);
	TH_LOG("vector %u of %u reads back 0x%x", self->dev.nvec, self->dev.nvec, got);
	ASSERT_NE(self->dev.nvec, got);
	vmm_vio_set_queue_vector(v, VMM_NO_VECTOR);
	ASSERT_EQ(VMM_NO_VECTOR, vmm_vio_queue_vector(v));
	ASSERT_EQ(0, v->err);
}

TEST_F(mdev_open, notify_off_within_notify_area)
{
	struct vmm *v = &self->dev.vmm;
	u16 q, nq, off;

	ASSERT_TRUE(v->notify.found);
	TH_LOG("notify: bar %u offset 0x%x length 0x%x multiplier %u",
	       v->notify.bar, v->notify.offset, v->notify.length,
	       v->notify_mult);
	ASSERT_GE(vmm_region_size(v, v->notify.bar),
		  (u64)v->notify.offset + v->notify.length);
	nq = vmm_vio_num_queues(v);
	for (q = 0; q < nq; q++) {
		vmm_vio_queue_select(v, q);
		off = vmm_vio_queue_notify_off(v);
		TH_LOG("queue %u: notify_off %u", q, off);
		ASSERT_GE((u64)v->notify.length,
			  (u64)off * v->notify_mult + 2);
		/* Read-only. */
		vmm_vio_write(v, VIRTIO_PCI_COMMON_Q_NOFF, 2, off + 1);
		ASSERT_EQ(off, vmm_vio_queue_notify_off(v));
	}
	ASSERT_EQ(0, v->err);
}

TEST_F(mdev_open, queue_addresses_round_trip)
{
	struct vmm *v = &self->dev.vmm;
	u64 desc, avail, used;
	u16 q, nq;

	nq = vmm_vio_num_queues(v);
	for (q = 0; q < nq; q++) {
		vmm_vio_queue_select(v, q);
		vmm_vio_set_queue_addr(v, 0x123456789000ULL + q * 0x10000,
				       0xabcdef001000ULL + q * 0x10000,
				       0x0000000f00002000ULL + q * 0x10000);
	}
	for (q = 0; q < nq; q++) {
		vmm_vio_queue_select(v, q);
		vmm_vio_queue_addr(v, &desc, &avail, &used);
		ASSERT_EQ(0x123456789000ULL + q * 0x10000, desc);
		ASSERT_EQ(0xabcdef001000ULL + q * 0x10000, avail);
		ASSERT_EQ(0x0000000f00002000ULL + q * 0x10000, used);
	}
	ASSERT_EQ(0, v->err);
}

TEST_F(mdev_open, config_generation_stable)
{
	struct vmm *v = &self->dev.vmm;
	u8 gen;
	int i;

	gen = vmm_vio_read(v, VIRTIO_PCI_COMMON_CFGGENERATION, 1);
	for (i = 0; i < 8; i++) {
		vmm_vio_devcfg_read(v, i, 1);
		ASSERT_EQ(gen, vmm_vio_read(v, VIRTIO_PCI_COMMON_CFGGENERATION,
					    1));
	}
	ASSERT_EQ(0, v->err);
}

/* Little-endian bytes [@off, @off + @w) of the natural reads of [0, 0x38). */
static u32 natural_bytes(const u8 *nat, unsigned int off, unsigned int w)
{
	u32 val = 0;
	unsigned int i;

	for (i = 0; i < w; i++)
		val |= (u32)nat[off + i] << (8 * i);
	return val;
}

/* Every common config field of virtio 1.0 with its natural width. */
static const struct {
	u8 off;
	u8 width;
} cc_fields[] = {
	{ VIRTIO_PCI_COMMON_DFSELECT, 4 }, { VIRTIO_PCI_COMMON_DF, 4 },
	{ VIRTIO_PCI_COMMON_GFSELECT, 4 }, { VIRTIO_PCI_COMMON_GF, 4 },
	{ VIRTIO_PCI_COMMON_MSIX, 2 }, { VIRTIO_PCI_COMMON_NUMQ, 2 },
	{ VIRTIO_PCI_COMMON_STATUS, 1 }, { VIRTIO_PCI_COMMON_CFGGENERATION, 1 },
	{ VIRTIO_PCI_COMMON_Q_SELECT, 2 }, { VIRTIO_PCI_COMMON_Q_SIZE, 2 },
	{ VIRTIO_PCI_COMMON_Q_MSIX, 2 }, { VIRTIO_PCI_COMMON_Q_ENABLE, 2 },
	{ VIRTIO_PCI_COMMON_Q_NOFF, 2 }, { VIRTIO_PCI_COMMON_Q_DESCLO, 4 },
	{ VIRTIO_PCI_COMMON_Q_DESCHI, 4 }, { VIRTIO_PCI_COMMON_Q_AVAILLO, 4 },
	{ VIRTIO_PCI_COMMON_Q_AVAILHI, 4 }, { VIRTIO_PCI_COMMON_Q_USEDLO, 4 },
	{ VIRTIO_PCI_COMMON_Q_USEDHI, 4 },
};

/*
 * A read of any width at any aligned offset returns the bytes of the
 * fields it covers, as the natural accesses read them (iPXE reads 32-bit
 * fields with 16-bit reads; a platform without wide accesses splits them).
 */
TEST_F(mdev_open, reads_of_any_width_compose)
{
	struct vmm *v = &self->dev.vmm;
	unsigned int i, off, w;
	u8 nat[0x38];

	vmm_vio_set_status(v, ACK_DRIVER);
	vmm_vio_write(v, VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	vmm_vio_write(v, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	vmm_vio_write(v, VIRTIO_PCI_COMMON_GF, 4, 0x44332211);
	vmm_vio_write(v, VIRTIO_PCI_COMMON_MSIX, 2, 1);
	vmm_vio_queue_select(v, 1);
	vmm_vio_set_queue_vector(v, 0);
	vmm_vio_set_queue_addr(v, 0x1827364554637281ULL, 0x2938475665748392ULL,
			       0x3a495867768594a3ULL);
	for (i = 0; i < ARRAY_SIZE(cc_fields); i++) {
		u32 val = vmm_vio_read(v, cc_fields[i].off, cc_fields[i].width);

		for (w = 0; w < cc_fields[i].width; w++)
			nat[cc_fields[i].off + w] = val >> (8 * w);
	}
	ASSERT_EQ(0, v->err);
	for (w = 1; w <= 4; w *= 2) {
		for (off = 0; off + w <= sizeof(nat); off += w)
			EXPECT_EQ(natural_bytes(nat, off, w),
				  vmm_vio_read(v, off, w))
				TH_LOG("%u-byte read at 0x%02x", w, off);
	}
	/* iPXE's read of device_feature: its low half. */
	ASSERT_EQ((u16)self->dev.offered, vmm_vio_read(v, VIRTIO_PCI_COMMON_DF, 2));
	/* Reserved bytes after the fields read 0 at every width. */
	for (off = 0x38; off < 0x40; off++)
		ASSERT_EQ(0, vmm_vio_read(v, off, 1));
	ASSERT_EQ(0, v->err);
}

/* @w-byte pieces of @val written at @off, lowest piece first or last. */
static void split_write(struct vmm *v, unsigned int off, unsigned int width,
			u32 val, unsigned int w, bool high_first)
{
	unsigned int i, n = width / w, k;

	for (i = 0; i < n; i++) {
		k = high_first ? n - 1 - i : i;
		vmm_vio_write(v, off + k * w, w,
			      (val >> (8 * k * w)) & (w == 4 ? ~0U : (1U << (8 * w)) - 1));
	}
}

/*
 * A write split into narrower pieces, in either order, ends with the value
 * the whole write would have left: each piece merges into the field.  Also
 * for the fields whose value is checked (a vector beyond the table reads
 * back as NO_VECTOR, a size is refused): the pieces merge into what the
 * guest wrote, not into what reads back, so the intermediate value being
 * refused does not matter.
 */
TEST_F(mdev_open, split_writes_land_whole)
{
	static const struct {
		u8 off;
		u8 width;
		u32 val;
	} plain[] = {
		{ VIRTIO_PCI_COMMON_DFSELECT, 4, 0x01020304 },
		{ VIRTIO_PCI_COMMON_Q_DESCLO, 4, 0x18273640 },
		{ VIRTIO_PCI_COMMON_Q_DESCHI, 4, 0x54637281 },
		{ VIRTIO_PCI_COMMON_Q_AVAILLO, 4, 0x29384750 },
		{ VIRTIO_PCI_COMMON_Q_AVAILHI, 4, 0x65748392 },
		{ VIRTIO_PCI_COMMON_Q_USEDLO, 4, 0x3a495860 },
		{ VIRTIO_PCI_COMMON_Q_USEDHI, 4, 0x768594a3 },
		{ VIRTIO_PCI_COMMON_Q_SELECT, 2, 0x0102 },
	};
	struct vmm *v = &self->dev.vmm;
	unsigned int i, w, order;
	u16 max, vec = self->dev.nvec - 1;

	for (order = 0; order < 2; order++) {
		for (i = 0; i < ARRAY_SIZE(plain); i++) {
			for (w = 1; w < plain[i].width; w *= 2) {
				vmm_vio_set_status(v, 0);
				vmm_vio_queue_select(v, 0);
				split_write(v, plain[i].off, plain[i].width,
					    plain[i].val, w, order);
				EXPECT_EQ(plain[i].val,
					  vmm_vio_read(v, plain[i].off,
						       plain[i].width))
					TH_LOG("offset 0x%02x in %u-byte pieces%s",
					       plain[i].off, w,
					       order ? ", high first" : "");
			}
		}
		/* driver_feature, before FEATURES_OK: the guest's choice. */
		for (w = 1; w < 4; w *= 2) {
			vmm_vio_set_status(v, 0);
			vmm_vio_set_status(v, ACK_DRIVER);
			vmm_vio_write(v, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
			split_write(v, VIRTIO_PCI_COMMON_GF, 4,
				    (u32)(self->dev.offered >> 32), w, order);
			vmm_vio_write(v, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
			split_write(v, VIRTIO_PCI_COMMON_GF, 4, (u32)self->dev.offered,
				    w, order);
			EXPECT_EQ(self->dev.offered, vmm_vio_driver_features(v))
				TH_LOG("%u-byte pieces%s", w,
				       order ? ", high first" : "");
			vmm_vio_set_status(v, FEAT_OK);
			EXPECT_EQ(FEAT_OK, vmm_vio_status(v));
			EXPECT_EQ(self->dev.offered,
				  attr(_metadata, self->dev.uuid, "negotiated_features"));
		}
		/* Vectors from NO_VECTOR (0xffff), bytes in either order. */
		vmm_vio_set_status(v, 0);
		split_write(v, VIRTIO_PCI_COMMON_MSIX, 2, vec, 1, order);
		EXPECT_EQ(vec, vmm_vio_read(v, VIRTIO_PCI_COMMON_MSIX, 2))
			TH_LOG("msix_config%s", order ? ", high first" : "");
		vmm_vio_queue_select(v, 0);
		split_write(v, VIRTIO_PCI_COMMON_Q_MSIX, 2, 0, 1, order);
		EXPECT_EQ(0, vmm_vio_queue_vector(v))
			TH_LOG("queue_msix_vector%s", order ? ", high first" : "");
		/* A size below the maximum, from the maximum. */
		max = vmm_vio_queue_size(v);
		ASSERT_LT(2, max);
		split_write(v, VIRTIO_PCI_COMMON_Q_SIZE, 2, max / 2, 1, order);
		EXPECT_EQ(max / 2, vmm_vio_queue_size(v))
			TH_LOG("queue_size %u%s", max / 2,
			       order ? ", high first" : "");
	}
	vmm_vio_set_status(v, 0);
	ASSERT_EQ(0, v->err);
}

/* A write covering several fields writes each of them. */
TEST_F(mdev_open, spanning_write_writes_each_field)
{
	struct vmm *v = &self->dev.vmm;

	vmm_vio_write(v, VIRTIO_PCI_COMMON_MSIX, 4,
		      1 | (u32)0xa5a5 << 16);	/* num_queues is read-only */
	ASSERT_EQ(1, vmm_vio_read(v, VIRTIO_PCI_COMMON_MSIX, 2));
	vmm_vio_queue_select(v, 0);
	vmm_vio_write(v, VIRTIO_PCI_COMMON_Q_SIZE, 4,
		      vmm_vio_queue_size(v) / 2 | (u32)1 << 16);
	ASSERT_EQ(1, vmm_vio_queue_vector(v));
	ASSERT_EQ(0, v->err);
}

TEST_F(mdev_open, device_config_read_only)
{
	struct vmm *v = &self->dev.vmm;
	u32 mac0 = vmm_vio_devcfg_read(v, 0, 4);

	vmm_bar_write(v, v->device_cfg.bar, v->device_cfg.offset, 4, ~mac0);
	ASSERT_EQ(mac0, vmm_vio_devcfg_read(v, 0, 4));
	ASSERT_EQ(0, v->err);
}

TEST_F(mdev_open, negotiate_offered_subset)
{
	struct vmm *v = &self->dev.vmm;
	u64 want = vmm_net_subset(self->dev.offered);

	ASSERT_EQ(0, vmm_vio_status(v));
	vmm_vio_set_status(v, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	ASSERT_EQ(VIRTIO_CONFIG_S_ACKNOWLEDGE, vmm_vio_status(v));
	vmm_vio_set_status(v, ACK_DRIVER);
	ASSERT_EQ(ACK_DRIVER, vmm_vio_status(v));
	vmm_vio_set_driver_features(v, want);
	ASSERT_EQ(want, vmm_vio_driver_features(v));
	/* Nothing is negotiated before FEATURES_OK. */
	ASSERT_EQ(0, attr(_metadata, self->dev.uuid, "negotiated_features"));
	vmm_vio_set_status(v, FEAT_OK);
	ASSERT_EQ(FEAT_OK, vmm_vio_status(v));
	ASSERT_EQ(want, attr(_metadata, self->dev.uuid, "negotiated_features"));
	ASSERT_EQ(FEAT_OK, attr(_metadata, self->dev.uuid, "status"));
	ASSERT_EQ(0, v->err);
}

/*
 * What was accepted at FEATURES_OK is what is negotiated: a guest that
 * rewrites driver_feature afterwards (a driver bug, or a hostile guest)
 * changes neither the VF's features nor negotiated_features, and certainly
 * does not get a bit that was never offered recorded as negotiated.
 */
TEST_F(mdev_open, features_frozen_after_features_ok)
{
	struct vmm *v = &self->dev.vmm;
	u64 want = vmm_net_subset(self->dev.offered), neg;

	ASSERT_EQ(FEAT_OK, vmm_vio_negotiate(v, want));
	vmm_vio_set_driver_features(v, (want & ~BIT_ULL(VIRTIO_NET_F_MAC)) |
				    BIT_ULL(VIRTIO_F_NOTIFICATION_DATA));
	vmm_vio_set_status(v, FEAT_OK);
	ASSERT_EQ(FEAT_OK, vmm_vio_status(v));
	neg = attr(_metadata, self->dev.uuid, "negotiated_features");
	TH_LOG("negotiated 0x%016llx, accepted at FEATURES_OK 0x%016llx",
	       (unsigned long long)neg, (unsigned long long)want);
	ASSERT_EQ(0, neg & ~self->dev.offered);
	ASSERT_EQ(want, neg);
	ASSERT_EQ(0, v->err);
}

TEST_F(mdev_open, unoffered_bit_refused)
{
	struct vmm *v = &self->dev.vmm;
	u64 want = vmm_net_subset(self->dev.offered);
	unsigned int bit;

	/* A bit the VF has but the mdev does not offer, if any. */
	bit = VIRTIO_F_RING_RESET;
	if (!(self->dev.vf & BIT_ULL(bit)) || (self->dev.offered & BIT_ULL(bit)))
		bit = VIRTIO_F_NOTIFICATION_DATA;
	ASSERT_EQ(0, self->dev.offered & BIT_ULL(bit));
	TH_LOG("accepting unoffered bit %u", bit);
	ASSERT_EQ(ACK_DRIVER, vmm_vio_negotiate(v, want | BIT_ULL(bit)) &
		  FEAT_OK);
	ASSERT_EQ(0, attr(_metadata, self->dev.uuid, "negotiated_features"));

	/* Accepting a bit beyond 64 is refused too. */
	vmm_vio_set_status(v, 0);
	vmm_vio_set_status(v, ACK_DRIVER);
	vmm_vio_set_driver_features(v, want);
	vmm_vio_write(v, VIRTIO_PCI_COMMON_GFSELECT, 4, 2);
	vmm_vio_write(v, VIRTIO_PCI_COMMON_GF, 4, 1);
	vmm_vio_set_status(v, FEAT_OK);
	ASSERT_EQ(ACK_DRIVER, vmm_vio_status(v));
	ASSERT_EQ(0, attr(_metadata, self->dev.uuid, "negotiated_features"));

	/* After a reset the same device negotiates fine. */
	ASSERT_EQ(FEAT_OK, vmm_vio_negotiate(v, want));
	ASSERT_EQ(want, attr(_metadata, self->dev.uuid, "negotiated_features"));
	ASSERT_EQ(0, v->err);
}

/*
 * The VF sits behind an IOMMU: ACCESS_PLATFORM is negotiated with it even
 * when the guest does not accept it.  A VF offering ACCESS_PLATFORM (QEMU
 * with iommu_platform=on) refuses FEATURES_OK without it, so a guest that
 * accepts only VERSION_1 gets FEATURES_OK only if the mdev added it.
 */
TEST_F(mdev_open, access_platform_added_for_vf)
{
	struct vmm *v = &self->dev.vmm;

	if (!(self->dev.vf & BIT_ULL(VIRTIO_F_ACCESS_PLATFORM)))
		SKIP(return, "the VF does not offer ACCESS_PLATFORM");
	ASSERT_EQ(FEAT_OK, vmm_vio_negotiate(v, BIT_ULL(VIRTIO_F_VERSION_1)));
	/* The guest's view is what the guest accepted. */
	ASSERT_EQ(BIT_ULL(VIRTIO_F_VERSION_1),
		  attr(_metadata, self->dev.uuid, "negotiated_features"));
	ASSERT_EQ(0, v->err);
}

TEST_F(mdev_open, queue_enable_needs_features_ok)
{
	struct vmm *v = &self->dev.vmm;
	u16 max;

	vmm_vio_set_status(v, ACK_DRIVER);
	vmm_vio_set_driver_features(v, vmm_net_subset(self->dev.offered));
	vmm_vio_queue_select(v, 0);
	max = vmm_vio_queue_size(v);
	vmm_vio_set_queue_addr(v, 0x10000, 0x11000, 0x12000);
	vmm_vio_set_queue_enable(v, 1);
	ASSERT_EQ(0, vmm_vio_queue_enable(v));

	vmm_vio_set_status(v, FEAT_OK);
	ASSERT_EQ(FEAT_OK, vmm_vio_status(v));
	vmm_vio_set_queue_enable(v, 1);
	ASSERT_EQ(1, vmm_vio_queue_enable(v));
	/* An enabled queue's setup is fixed until reset. */
	vmm_vio_set_queue_size(v, max / 2);
	ASSERT_EQ(max, vmm_vio_queue_size(v));
	vmm_vio_set_queue_enable(v, 0);
	ASSERT_EQ(1, vmm_vio_queue_enable(v));
	/* Other queues are unaffected. */
	vmm_vio_queue_select(v, 1);
	ASSERT_EQ(0, vmm_vio_queue_enable(v));

	vmm_vio_set_status(v, 0);
	vmm_vio_queue_select(v, 0);
	ASSERT_EQ(0, vmm_vio_queue_enable(v));
	ASSERT_EQ(0, v->err);
}

static void expect_power_on_state(struct __test_metadata *_metadata,
				  struct vmm *v, const char *uuid)
{
	u64 desc, avail, used;
	u16 q, nq;

	EXPECT_EQ(0, vmm_vio_status(v));
	EXPECT_EQ(0, attr(_metadata, uuid, "negotiated_features"));
	EXPECT_EQ(0, vmm_vio_driver_features(v));
	EXPECT_EQ(VMM_NO_VECTOR, vmm_vio_read(v, VIRTIO_PCI_COMMON_MSIX, 2));
	nq = vmm_vio_num_queues(v);
	for (q = 0; q < nq; q++) {
		vmm_vio_queue_select(v, q);
		EXPECT_EQ(0, vmm_vio_queue_enable(v));
		EXPECT_EQ(VMM_NO_VECTOR, vmm_vio_queue_vector(v));
		vmm_vio_queue_addr(v, &desc, &avail, &used);
		EXPECT_EQ(0, desc | avail | used);
	}
}

static void dirty(struct __test_metadata *_metadata, struct vmm *v,
		  u64 features)
{
	ASSERT_EQ(FEAT_OK, vmm_vio_negotiate(v, features));
	vmm_vio_write(v, VIRTIO_PCI_COMMON_MSIX, 2, 0);
	vmm_vio_queue_select(v, 0);
	vmm_vio_set_queue_vector(v, 0);
	vmm_vio_set_queue_addr(v, 0x10000, 0x11000, 0x12000);
	vmm_vio_set_queue_enable(v, 1);
	ASSERT_EQ(1, vmm_vio_queue_enable(v));
}

TEST_F(mdev_open, status_zero_resets)
{
	struct vmm *v = &self->dev.vmm;

	dirty(_metadata, v, vmm_net_subset(self->dev.offered));
	vmm_vio_set_status(v, 0);
	expect_power_on_state(_metadata, v, self->dev.uuid);
	ASSERT_EQ(0, v->err);
}

TEST_F(mdev_open, vfio_device_reset)
{
	struct vmm *v = &self->dev.vmm;

	dirty(_metadata, v, vmm_net_subset(self->dev.offered));
	ASSERT_EQ(0, vmm_reset(v));
	expect_power_on_state(_metadata, v, self->dev.uuid);
	/* And the device is usable again. */
	ASSERT_EQ(FEAT_OK, vmm_vio_negotiate(v, vmm_net_subset(self->dev.offered)));
	ASSERT_EQ(0, v->err);
}

TEST_F(mdev_open, close_resets)
{
	struct vmm *v = &self->dev.vmm;
	u64 val;

	dirty(_metadata, v, vmm_net_subset(self->dev.offered));
	ASSERT_EQ(FEAT_OK, attr(_metadata, self->dev.uuid, "status"));
	vmm_close(v);
	self->dev.open = false;
	ASSERT_EQ(0, mdev_attr_u64(self->dev.uuid, "status", &val));
	ASSERT_EQ(0, val);
	ASSERT_EQ(0, mdev_attr_u64(self->dev.uuid, "negotiated_features", &val));
	ASSERT_EQ(0, val);
	/* The next user starts from power-on state. */
	ASSERT_EQ(0, vmm_open(v, self->dev.uuid));
	self->dev.open = true;
	ASSERT_EQ(0, vmm_virtio_locate(v));
	expect_power_on_state(_metadata, v, self->dev.uuid);
	ASSERT_EQ(0, v->err);
}

TEST_HARNESS_MAIN
