// SPDX-License-Identifier: GPL-2.0-only
/*
 * Provisioning attributes of a vhost-vfio mdev: mac, mtu, max_queue_pairs
 * and features_mask take valid values, show them to the guest (device
 * configuration, offered features), refuse invalid ones with EINVAL and
 * refuse everything with EBUSY while the device is open.
 *
 * Environment: VV_BDF, a function bound to vhost_vfio_virtio_pci, with no
 * quirks applied.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "vmm_test.h"

/* Features that require VIRTIO_NET_F_CTRL_VQ (virtio 1.2, 5.1.3.1). */
#define NEED_CVQ	(BIT_ULL(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) |	\
			 BIT_ULL(VIRTIO_NET_F_CTRL_RX) |		\
			 BIT_ULL(VIRTIO_NET_F_CTRL_VLAN) |		\
			 BIT_ULL(VIRTIO_NET_F_GUEST_ANNOUNCE) |		\
			 BIT_ULL(VIRTIO_NET_F_MQ) |			\
			 BIT_ULL(VIRTIO_NET_F_CTRL_MAC_ADDR) |		\
			 BIT_ULL(VIRTIO_NET_F_CTRL_RX_EXTRA) |		\
			 BIT_ULL(VIRTIO_NET_F_NOTF_COAL) |		\
			 BIT_ULL(VIRTIO_NET_F_RSS))

static void dev_open(struct __test_metadata *_metadata, struct vmm *v,
		     const char *uuid, bool *open)
{
	ASSERT_EQ(0, vmm_open(v, uuid));
	*open = true;
	ASSERT_EQ(0, vmm_virtio_locate(v));
}

static void dev_close(struct vmm *v, bool *open)
{
	vmm_close(v);
	*open = false;
}

static u64 offered(struct __test_metadata *_metadata, const char *uuid)
{
	u64 val = 0;

	EXPECT_EQ(0, mdev_attr_u64(uuid, "offered_features", &val));
	return val;
}

static void expect_einval(struct __test_metadata *_metadata, const char *uuid,
			  const char *name, const char *val)
{
	char before[64], after[64];

	ASSERT_LE(0, mdev_attr_read(uuid, name, before, sizeof(before)));
	EXPECT_EQ(-EINVAL, mdev_attr_write(uuid, name, val))
		TH_LOG("%s <- \"%s\"", name, val);
	ASSERT_LE(0, mdev_attr_read(uuid, name, after, sizeof(after)));
	EXPECT_STREQ(before, after) TH_LOG("%s changed by a refused write", name);
}

/* Queue pairs of the VF, from the type's description. */
static int vf_pairs(const char *bdf)
{
	char buf[512], *p;

	if (mdev_type_read(bdf, "description", buf, sizeof(buf)) < 0)
		return -1;
	p = strstr(buf, " queue pairs");
	if (!p)
		return -1;
	while (p > buf && p[-1] >= '0' && p[-1] <= '9')
		p--;
	return atoi(p);
}

TEST_F(mdev, mac)
{
	struct vmm *v = &self->dev.vmm;
	char buf[64];
	unsigned int i;
	u8 mac[6];

	ASSERT_EQ(0, mdev_attr_write(self->dev.uuid, "mac", "52:54:00:12:34:56\n"));
	ASSERT_LT(0, mdev_attr_read(self->dev.uuid, "mac", buf, sizeof(buf)));
	ASSERT_STREQ("52:54:00:12:34:56", buf);
	ASSERT_NE(0, offered(_metadata, self->dev.uuid) & BIT_ULL(VIRTIO_NET_F_MAC));

	dev_open(_metadata, &self->dev.vmm, self->dev.uuid, &self->dev.open);
	ASSERT_NE(0, vmm_vio_device_features(v) & BIT_ULL(VIRTIO_NET_F_MAC));
	for (i = 0; i < 6; i++)
		mac[i] = vmm_vio_devcfg_read(v, i, 1);
	ASSERT_EQ(0, memcmp(mac, "\x52\x54\x00\x12\x34\x56", 6))
		TH_LOG("device config mac %02x:%02x:%02x:%02x:%02x:%02x",
		       mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	/* Wider reads see the same bytes. */
	ASSERT_EQ(0x5452, vmm_vio_devcfg_read(v, 0, 2));
	ASSERT_EQ(0x12005452, vmm_vio_devcfg_read(v, 0, 4));
	ASSERT_EQ(0, v->err);
	dev_close(&self->dev.vmm, &self->dev.open);

	/* An empty line takes the provisioning back. */
	ASSERT_EQ(0, mdev_attr_write(self->dev.uuid, "mac", "\n"));
	ASSERT_EQ(0, mdev_attr_read(self->dev.uuid, "mac", buf, sizeof(buf)));
	ASSERT_EQ(self->dev.vf & BIT_ULL(VIRTIO_NET_F_MAC),
		  offered(_metadata, self->dev.uuid) & BIT_ULL(VIRTIO_NET_F_MAC));
}

TEST_F(mdev, mac_invalid)
{
	static const char * const bad[] = {
		"01:00:5e:00:00:01",		/* multicast */
		"ff:ff:ff:ff:ff:ff",		/* broadcast */
		"00:00:00:00:00:00",		/* zero */
		"52:54:00:12:34",		/* short */
		"52:54:00:12:34:56:78",		/* long */
		"52-54-00-12-34-56x",
		"hello",
		"52:54:00:12:34:5g",
		"0x525400123456",
	};
	unsigned int i;

	ASSERT_EQ(0, mdev_attr_write(self->dev.uuid, "mac", "52:54:00:aa:bb:cc"));
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		expect_einval(_metadata, self->dev.uuid, "mac", bad[i]);
}

TEST_F(mdev, mtu)
{
	struct vmm *v = &self->dev.vmm;
	u64 val;

	ASSERT_EQ(0, mdev_attr_write(self->dev.uuid, "mtu", "1400"));
	ASSERT_EQ(0, mdev_attr_u64(self->dev.uuid, "mtu", &val));
	ASSERT_EQ(1400, val);
	ASSERT_NE(0, offered(_metadata, self->dev.uuid) & BIT_ULL(VIRTIO_NET_F_MTU));

	dev_open(_metadata, &self->dev.vmm, self->dev.uuid, &self->dev.open);
	ASSERT_NE(0, vmm_vio_device_features(v) & BIT_ULL(VIRTIO_NET_F_MTU));
	ASSERT_EQ(1400, vmm_vio_devcfg_read(v, offsetof(struct virtio_net_config,
							mtu), 2));
	ASSERT_EQ(0, v->err);
	dev_close(&self->dev.vmm, &self->dev.open);

	/* The bounds are valid. */
	ASSERT_EQ(0, mdev_attr_write(self->dev.uuid, "mtu", "68"));
	ASSERT_EQ(0, mdev_attr_write(self->dev.uuid, "mtu", "65535"));
	/* 0: not provisioned, the VF's. */
	ASSERT_EQ(0, mdev_attr_write(self->dev.uuid, "mtu", "0"));
	ASSERT_EQ(self->dev.vf & BIT_ULL(VIRTIO_NET_F_MTU),
		  offered(_metadata, self->dev.uuid) & BIT_ULL(VIRTIO_NET_F_MTU));
}

TEST_F(mdev, mtu_invalid)
{
	static const char * const bad[] = {
		"10", "67", "65536", "70000", "-1", "abc", "\n", "1500x",
		"0x5dc",
	};
	unsigned int i;

	ASSERT_EQ(0, mdev_attr_write(self->dev.uuid, "mtu", "1500"));
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		expect_einval(_metadata, self->dev.uuid, "mtu", bad[i]);
}

TEST_F(mdev, max_queue_pairs)
{
	struct vmm *v = &self->dev.vmm;
	char val[16];
	int pairs;

	pairs = vf_pairs(self->dev.bdf);
	TH_LOG("VF has %d queue pair(s)", pairs);
	ASSERT_LE(1, pairs);
	ASSERT_EQ(0, mdev_attr_write(self->dev.uuid, "max_queue_pairs", "1"));
	snprintf(val, sizeof(val), "%d", pairs);
	ASSERT_EQ(0, mdev_attr_write(self->dev.uuid, "max_queue_pairs", val));
	snprintf(val, sizeof(val), "%d", pairs + 1);
	expect_einval(_metadata, self->dev.uuid, "max_queue_pairs", val);
	expect_einval(_metadata, self->dev.uuid, "max_queue_pairs", "65536");
	expect_einval(_metadata, self->dev.uuid, "max_queue_pairs", "x");
	expect_einval(_metadata, self->dev.uuid, "max_queue_pairs", "-1");

	/* One pair provisioned: the guest sees one pair. */
	ASSERT_EQ(0, mdev_attr_write(self->dev.uuid, "max_queue_pairs", "1"));
	dev_open(_metadata, &self->dev.vmm, self->dev.uuid, &self->dev.open);
	ASSERT_EQ(2 + !!(vmm_vio_device_features(v) &
			 BIT_ULL(VIRTIO_NET_F_CTRL_VQ)),
		  vmm_vio_num_queues(v));
	ASSERT_EQ(0, v->err);
	dev_close(&self->dev.vmm, &self->dev.open);
	ASSERT_EQ(0, mdev_attr_write(self->dev.uuid, "max_queue_pairs", "0"));
}

TEST_F(mdev, features_mask)
{
	u64 mask = ~(BIT_ULL(VIRTIO_NET_F_MRG_RXBUF) |
		     BIT_ULL(VIRTIO_RING_F_EVENT_IDX));
	struct vmm *v = &self->dev.vmm;
	u64 before, after, val;
	char buf[32];

	before = offered(_metadata, self->dev.uuid);
	ASSERT_NE(0, before & BIT_ULL(VIRTIO_NET_F_MRG_RXBUF))
		TH_LOG("the VF should offer MRG_RXBUF for this test");
	snprintf(buf, sizeof(buf), "0x%016llx", (unsigned long long)mask);
	ASSERT_EQ(0, mdev_attr_write(self->dev.uuid, "features_mask", buf));
	ASSERT_EQ(0, mdev_attr_u64(self->dev.uuid, "features_mask", &val));
	ASSERT_EQ(mask, val);
	after = offered(_metadata, self->dev.uuid);
	ASSERT_EQ(before & mask, after);

	dev_open(_metadata, &self->dev.vmm, self->dev.uuid, &self->dev.open);
	ASSERT_EQ(after, vmm_vio_device_features(v));
	ASSERT_EQ(0, v->err);
	dev_close(&self->dev.vmm, &self->dev.open);

	/* Without 0x prefix too; all ones restores the VF's features. */
	ASSERT_EQ(0, mdev_attr_write(self->dev.uuid, "features_mask",
				     "ffffffffffffffff"));
	ASSERT_EQ(before, offered(_metadata, self->dev.uuid));
}

TEST_F(mdev, features_mask_without_ctrl_vq)
{
	struct vmm *v = &self->dev.vmm;
	u64 off;

	ASSERT_EQ(0, mdev_attr_write(self->dev.uuid, "features_mask",
				     "0xfffffffffffdffff"));
	off = offered(_metadata, self->dev.uuid);
	ASSERT_EQ(0, off & BIT_ULL(VIRTIO_NET_F_CTRL_VQ));
	/*
	 * Virtio 1.2, 5.1.3.1: the device must not offer a feature whose
	 * requirement it does not offer.  These all need the control queue;
	 * Linux's virtio_net refuses to probe a device that offers them
	 * without it.
	 */
	TH_LOG("offered 0x%016llx, needing CTRL_VQ 0x%016llx",
	       (unsigned long long)off, (unsigned long long)(off & NEED_CVQ));
	ASSERT_EQ(0, off & NEED_CVQ);
	dev_open(_metadata, &self->dev.vmm, self->dev.uuid, &self->dev.open);
	ASSERT_EQ(0, vmm_vio_num_queues(v) & 1);
	ASSERT_EQ(0, v->err);
}

TEST_F(mdev, features_mask_invalid)
{
	static const char * const bad[] = {
		"0xzz", "garbage", "\n", "0x1ffffffffffffffff", "-1",
		"0x12345678 9", "0x",
	};
	unsigned int i;

	ASSERT_EQ(0, mdev_attr_write(self->dev.uuid, "features_mask", "0xffff"));
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		expect_einval(_metadata, self->dev.uuid, "features_mask", bad[i]);
}

TEST_F(mdev, busy_while_open)
{
	static const char * const attrs[][2] = {
		{ "mac", "52:54:00:01:02:03" },
		{ "mtu", "1280" },
		{ "max_queue_pairs", "1" },
		{ "features_mask", "0xfffffffffffffff0" },
	};
	char before[64], after[64];
	unsigned int i;
	u64 off;

	off = offered(_metadata, self->dev.uuid);
	dev_open(_metadata, &self->dev.vmm, self->dev.uuid, &self->dev.open);
	for (i = 0; i < ARRAY_SIZE(attrs); i++) {
		ASSERT_LE(0, mdev_attr_read(self->dev.uuid, attrs[i][0], before,
					    sizeof(before)));
		EXPECT_EQ(-EBUSY, mdev_attr_write(self->dev.uuid, attrs[i][0],
						  attrs[i][1]))
			TH_LOG("attribute %u", i);
		ASSERT_LE(0, mdev_attr_read(self->dev.uuid, attrs[i][0], after,
					    sizeof(after)));
		EXPECT_STREQ(before, after);
	}
	ASSERT_EQ(off, offered(_metadata, self->dev.uuid));
	dev_close(&self->dev.vmm, &self->dev.open);

	for (i = 0; i < ARRAY_SIZE(attrs); i++)
		EXPECT_EQ(0, mdev_attr_write(self->dev.uuid, attrs[i][0],
					     attrs[i][1]))
			TH_LOG("attribute %u", i);
}

TEST_HARNESS_MAIN
