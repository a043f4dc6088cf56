// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fewer queue pairs than the VF has: the guest's control queue index is not
 * the VF's.  On a function with two queue pairs (scripts/vm-run.sh
 * --mq-nic) provisioned down to one, the guest sees 3 queues, BAR2 stays
 * trapped ("control queue index remapped") and a control command kicked on
 * guest queue 2 must reach the VF's control queue: 4 with MQ negotiated, 2
 * without.  With every pair the doorbells are mapped and the control queue
 * is 4 on both sides.
 *
 * Environment: VV_BDF, a multi-queue function bound to
 * vhost_vfio_virtio_pci with no mdev.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <sys/mman.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>

#include "vmm_test.h"
#include "vmm_kvm.h"

#define GUEST_GPA	BIT_ULL(32)
#define GUEST_SIZE	(16ULL << 20)
#define DMA_CHUNK	BIT_ULL(20)
#define QSIZE		64
#define CTRL_GUEST_Q	2
#define WAIT_MS		5000
#define REMAP_REASON	"control queue index remapped (max_queue_pairs below the VF's)"
#define FEAT_OK		(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | \
			 VIRTIO_CONFIG_S_FEATURES_OK)

/* Chain header, one data byte and the ack byte; publish it and kick. */
static u8 *ctrl_command(struct vmm_guest *g, struct vmm_vq *vq, u8 class,
			u8 cmd, u8 data)
{
	u64 gpa = vmm_guest_alloc(g, VMM_PAGE, VMM_PAGE);
	u8 *buf = vmm_guest_ptr(g, gpa, 4);
	/* class and command, data, ack (virtio 5.1.6.5) */
	const struct vmm_vq_buf chain[] = {
		{ gpa, 2, false }, { gpa + 2, 1, false }, { gpa + 3, 1, true },
	};

	if (!buf)
		return NULL;
	buf[0] = class;
	buf[1] = cmd;
	buf[2] = data;
	buf[3] = 0xff;		/* the device writes VIRTIO_NET_OK or _ERR */
	if (vmm_vq_add_chain(vq, 0, chain, ARRAY_SIZE(chain)))
		return NULL;
	vmm_vq_kick(vq);
	return buf + 3;
}

/* The test's variants of the shared FIXTURE(mdev_guest). */
FIXTURE_VARIANT(mdev_guest) {
	const char *pairs;	/* max_queue_pairs to provision, "0": all */
	bool negotiate_mq;
	u16 ctrl_queue;		/* the guest's control queue index */
	const char *doorbell_mode;
};

/* The remap: guest control queue 2 is the VF's 4. */
FIXTURE_VARIANT_ADD(mdev_guest, one_of_two_pairs_mq) {
	.pairs = "1", .negotiate_mq = true, .ctrl_queue = 2,
	.doorbell_mode = "trapped: " REMAP_REASON,
};

/* Without MQ the control queue is 2 on both sides (virtio 5.1.2). */
FIXTURE_VARIANT_ADD(mdev_guest, one_of_two_pairs_no_mq) {
	.pairs = "1", .negotiate_mq = false, .ctrl_queue = 2,
	.doorbell_mode = "trapped: " REMAP_REASON,
};

/* Every pair: nothing to remap, the doorbells are mapped. */
FIXTURE_VARIANT_ADD(mdev_guest, all_pairs_mq) {
	.pairs = "0", .negotiate_mq = true, .ctrl_queue = 4,
	.doorbell_mode = "mapped",
};

TEST_F_TIMEOUT(mdev_guest, control_command_answered, 120)
{
	struct vmm *v = &self->dev.vmm;
	char mode[128] = "";
	struct vmm_vq ctrl;
	size_t db_len = 0;
	u64 want, db_off = 0;
	void *db, *p;
	u16 id;
	u32 len;
	int efd, ret;
	u8 *ack;

	if (!(self->dev.vf & BIT_ULL(VIRTIO_NET_F_MQ)))
		SKIP(return, "%s has one queue pair (scripts/vm-run.sh --mq-nic)",
		     self->dev.bdf);
	ASSERT_TRUE(self->dev.vf & BIT_ULL(VIRTIO_NET_F_CTRL_VQ));
	ASSERT_TRUE(self->dev.vf & BIT_ULL(VIRTIO_NET_F_CTRL_RX));
	ASSERT_EQ(0, mdev_attr_write(self->dev.uuid, "max_queue_pairs",
				     variant->pairs));
	ASSERT_LT(0, mdev_attr_read(self->dev.uuid, "doorbell_mode", mode,
				    sizeof(mode)));
	TH_LOG("%s with max_queue_pairs %s: doorbell_mode \"%s\"", self->dev.bdf,
	       variant->pairs, mode);
	ASSERT_EQ(0, strcmp(mode, variant->doorbell_mode));

	ret = vmm_guest_create(&self->g, GUEST_GPA, GUEST_SIZE, DMA_CHUNK);
	if (ret == -ENOENT || ret == -ENODEV)
		SKIP(return, "no KVM: %s", strerror(-ret));
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, vmm_open_guest(v, self->dev.uuid, &self->g));
	self->dev.open = true;
	ASSERT_EQ(0, vmm_virtio_locate(v));
	/* 2 * pairs data queues and the control queue. */
	EXPECT_EQ(variant->pairs[0] == '1' ? 3 : 5,
		  vmm_vio_read(v, VIRTIO_PCI_COMMON_NUMQ, 2));
	EXPECT_EQ(variant->pairs[0] == '1' ? 1 : 2,
		  vmm_vio_devcfg_read(v, offsetof(struct virtio_net_config,
						  max_virtqueue_pairs), 2));
	db = vmm_doorbell_map(v, &db_off, &db_len);
	ASSERT_EQ(!strcmp(variant->doorbell_mode, "mapped"), !!db);
	if (!db) {
		/* Trapped: no MMAP flag on BAR2, and its mmap is refused. */
		EXPECT_FALSE(v->region[VFIO_PCI_BAR2_REGION_INDEX].flags &
			     VFIO_REGION_INFO_FLAG_MMAP);
		p = mmap(NULL, VMM_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 v->device, v->region[VFIO_PCI_BAR2_REGION_INDEX].offset);
		EXPECT_EQ(MAP_FAILED, p) TH_LOG("BAR2 mapped although trapped");
		if (p != MAP_FAILED)
			munmap(p, VMM_PAGE);
	}

	want = BIT_ULL(VIRTIO_F_VERSION_1) | BIT_ULL(VIRTIO_F_ACCESS_PLATFORM) |
	       BIT_ULL(VIRTIO_NET_F_CTRL_VQ) | BIT_ULL(VIRTIO_NET_F_CTRL_RX);
	if (variant->negotiate_mq)
		want |= BIT_ULL(VIRTIO_NET_F_MQ);
	ASSERT_EQ(FEAT_OK, vmm_vio_negotiate(v, want &
					     vmm_vio_device_features(v)));
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, vmm_msix_set(v, 0, 1, &efd));
	ASSERT_EQ(0, vmm_vq_setup(v, &self->g, &ctrl, variant->ctrl_queue,
				  QSIZE, 0, efd, db, db_off, db_len));
	vmm_vio_set_status(v, FEAT_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	ASSERT_TRUE(vmm_vio_status(v) & VIRTIO_CONFIG_S_DRIVER_OK);

	/* Promiscuous on, then off: each answered on the control queue. */
	ack = ctrl_command(&self->g, &ctrl, VIRTIO_NET_CTRL_RX,
			   VIRTIO_NET_CTRL_RX_PROMISC, 1);
	ASSERT_NE(NULL, ack);
	ASSERT_TRUE(vmm_vq_wait(&ctrl, WAIT_MS, &id, &len))
		TH_LOG("the command kicked on guest queue %u got no answer",
		       variant->ctrl_queue);
	EXPECT_EQ(VIRTIO_NET_OK, *ack);
	ack = ctrl_command(&self->g, &ctrl, VIRTIO_NET_CTRL_RX,
			   VIRTIO_NET_CTRL_RX_PROMISC, 0);
	ASSERT_NE(NULL, ack);
	ASSERT_TRUE(vmm_vq_wait(&ctrl, WAIT_MS, &id, &len));
	EXPECT_EQ(VIRTIO_NET_OK, *ack);
	TH_LOG("%llu kicks on guest queue %u, bar2_notify_writes %lld",
	       (unsigned long long)ctrl.kicks, variant->ctrl_queue,
	       vmm_counter(self->dev.uuid, "bar2_notify_writes"));
	EXPECT_EQ(db ? 0 : (long long)ctrl.kicks,
		  vmm_counter(self->dev.uuid, "bar2_notify_writes"));
	vmm_vio_set_status(v, 0);
	if (db)
		munmap(db, db_len);
	close(efd);
}

TEST_HARNESS_MAIN
