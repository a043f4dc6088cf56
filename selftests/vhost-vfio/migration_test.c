// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO migration v2 of a vhost-vfio mdev, driven the way a VMM drives it:
 * every arc of the STOP_COPY state machine and the ones the vfio core
 * composes, the saving fd read to its end, the resuming fd written in
 * pieces, state saved on one mdev and restored on another with identical
 * emulated registers, the states a destination must refuse (and the
 * device usable after each), config writes accepted and BAR writes refused
 * while stopped, the VF's Bus Master off while stopped, a device closed
 * with a data fd open, a stop whose VF reset fails (ERROR, then a reset
 * gives a usable device), and the increment-1 quiesce: a VF that had
 * DRIVER_OK is reset at STOP and its guest reads DEVICE_NEEDS_RESET, with
 * a configuration interrupt, after RUNNING.
 *
 * Environment: VV_BDF and VV_BDF2, two identical functions bound to
 * vhost_vfio_virtio_pci, vhost_vfio loaded with migration=1.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>

#include "vmm_test.h"

#define ACK_DRIVER	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER)
#define FEAT_OK		(ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK)
#define ALL_OK		(FEAT_OK | VIRTIO_CONFIG_S_DRIVER_OK)
#define CFG_SIZE	256
#define COMMON_LEN	0x38
#define MAC		"52:54:00:aa:bb:01\n"
#define OTHER_MAC	"52:54:00:aa:bb:02\n"
#define MAX_STATE	65536
#define QSIZE		64
#define WAIT_MS		5000

#define RUNNING		VFIO_DEVICE_STATE_RUNNING
#define STOP		VFIO_DEVICE_STATE_STOP
#define STOP_COPY	VFIO_DEVICE_STATE_STOP_COPY
#define RESUMING	VFIO_DEVICE_STATE_RESUMING
#define ERROR		VFIO_DEVICE_STATE_ERROR

/* The stream's layout (Documentation/design.rst, "Migration"). */
#define HDR_LEN		16
#define SEC_LEN		8
#define DEV_LEN		24
#define COMMON_SEC_LEN	32
#define QUEUE_LEN	40
#define OFF_VERSION	4
#define OFF_NR_SECTIONS	6
#define OFF_LENGTH	8
/* Sections in the order a save writes them. */
#define OFF_DEV		(HDR_LEN + SEC_LEN)
#define OFF_CFG		(OFF_DEV + DEV_LEN + SEC_LEN)
#define OFF_COMMON	(OFF_CFG + CFG_SIZE + SEC_LEN)
#define OFF_QUEUES_HDR	(OFF_COMMON + COMMON_SEC_LEN)
#define OFF_QUEUES	(OFF_QUEUES_HDR + SEC_LEN)

FIXTURE(mig) {
	const char *bdf;
	const char *bdf2;
	struct vmm_dev a;
	struct vmm_dev b;
	u64 offered;
	u16 nvec;
	u8 state[MAX_STATE];
	size_t len;
};

/* An mdev on @bdf (the shared fixture helper), with @mac provisioned. */
static int dev_create(struct vmm_dev *d, const char *bdf, const char *mac)
{
	int ret = __vmm_dev_create(d, bdf, 0);

	if (ret)
		return ret;
	return mac ? mdev_attr_write(d->uuid, "mac", mac) : 0;
}

/* Opened once the test provisioned it (VMM_DEV_OPEN opens at creation). */
static int dev_open(struct vmm_dev *d)
{
	int ret = vmm_open(&d->vmm, d->uuid);

	if (ret)
		return ret;
	d->open = true;
	return vmm_virtio_locate(&d->vmm);
}

static void dev_close(struct vmm_dev *d)
{
	if (d->open)
		vmm_close(&d->vmm);
	d->open = false;
}

FIXTURE_SETUP(mig)
{
	self->bdf = vmm_env_bdf("VV_BDF");
	self->bdf2 = vmm_env_bdf("VV_BDF2");
	ASSERT_NE(NULL, self->bdf) TH_LOG("VV_BDF is not set");
	ASSERT_NE(NULL, self->bdf2) TH_LOG("VV_BDF2 is not set");
	ASSERT_EQ(0, dev_create(&self->a, self->bdf, MAC));
	ASSERT_EQ(0, mdev_attr_u64(self->a.uuid, "offered_features",
				   &self->offered));
}

FIXTURE_TEARDOWN(mig)
{
	vmm_dev_destroy(&self->a);
	vmm_dev_destroy(&self->b);
}

static long long mig_counter(struct vmm_dev *d, const char *name)
{
	char val[64];

	if (vmm_debugfs_str(d->uuid, "migration", name, val, sizeof(val)))
		return -1;
	return strtoll(val, NULL, 0);
}

static const char *mig_state_str(struct vmm_dev *d)
{
	static char val[64];

	if (vmm_debugfs_str(d->uuid, "migration", "state", val, sizeof(val)))
		return "(none)";
	return val;
}

static u32 get_state(struct __test_metadata *_metadata, struct vmm_dev *d)
{
	u32 state = ~0U;

	EXPECT_EQ(0, vmm_mig_get_state(&d->vmm, &state));
	return state;
}

static u64 features(u64 offered)
{
	return offered & (BIT_ULL(VIRTIO_F_VERSION_1) |
			  BIT_ULL(VIRTIO_F_ACCESS_PLATFORM) |
			  BIT_ULL(VIRTIO_NET_F_MAC) |
			  BIT_ULL(VIRTIO_NET_F_STATUS) |
			  BIT_ULL(VIRTIO_NET_F_MRG_RXBUF));
}

/*
 * What a guest had programmed short of DRIVER_OK: PCI command and BARs,
 * MSI-X enabled, features, two queues with sizes, vectors and addresses
 * (queue 0 enabled), a config vector, and odd selector values.
 */
static void program(struct __test_metadata *_metadata, struct vmm_dev *d,
		    u64 offered, u16 nvec)
{
	struct vmm *v = &d->vmm;
	int msix = vmm_cap_find(v, PCI_CAP_ID_MSIX);
	u16 q;

	ASSERT_LT(0, msix);
	v->err = 0;
	vmm_cfg_write16(v, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	vmm_cfg_write32(v, PCI_BASE_ADDRESS_0, 0xfe000000);
	vmm_cfg_write32(v, PCI_BASE_ADDRESS_1, 0xfe100000);
	vmm_cfg_write16(v, msix + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE);
	ASSERT_EQ(FEAT_OK, vmm_vio_negotiate(v, features(offered)));
	for (q = 0; q < 2; q++) {
		vmm_vio_queue_select(v, q);
		vmm_vio_set_queue_size(v, QSIZE);
		vmm_vio_set_queue_vector(v, q % nvec);
		vmm_vio_set_queue_addr(v, 0x100000 + q * 0x10000,
				       0x104000 + q * 0x10000,
				       0x108000 + q * 0x10000);
	}
	vmm_vio_queue_select(v, 0);
	vmm_vio_set_queue_enable(v, 1);
	vmm_vio_write(v, VIRTIO_PCI_COMMON_MSIX, 2, nvec - 1);
	vmm_vio_write(v, VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	vmm_vio_write(v, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	vmm_vio_queue_select(v, 1);
	ASSERT_EQ(0, v->err);
}

/* Configuration space and the common configuration as the guest reads them. */
struct view {
	u8 cfg[CFG_SIZE];
	u8 common[COMMON_LEN];
};

static void read_view(struct __test_metadata *_metadata, struct vmm_dev *d,
		      struct view *out)
{
	struct vmm *v = &d->vmm;

	ASSERT_EQ(0, vmm_region_read(v, VMM_CFG, 0, out->cfg, CFG_SIZE));
	ASSERT_EQ(0, vmm_region_read(v, VFIO_PCI_BAR0_REGION_INDEX +
				     v->common.bar, v->common.offset,
				     out->common, COMMON_LEN));
}

static void expect_same_view(struct __test_metadata *_metadata,
			     const struct view *x, const struct view *y)
{
	const unsigned int gen = offsetof(struct virtio_pci_common_cfg,
					  config_generation);
	unsigned int c, k;

	/*
	 * The first byte that differs, if any (the harness's TH_LOG runs
	 * after the statement it follows, so not inside a loop).
	 */
	for (c = 0; c < CFG_SIZE && x->cfg[c] == y->cfg[c]; c++)
		;
	EXPECT_EQ(CFG_SIZE, c)
		TH_LOG("config byte 0x%02x: %#x != %#x", c, x->cfg[c],
		       y->cfg[c]);
	/*
	 * config_generation is the function's own counter (a link change on
	 * it moves it); a guest only compares it across its reads of the
	 * device configuration.
	 */
	for (k = 0; k < COMMON_LEN; k++)
		if (k != gen && x->common[k] != y->common[k])
			break;
	EXPECT_EQ(COMMON_LEN, k)
		TH_LOG("common config byte 0x%02x: %#x != %#x", k,
		       x->common[k], y->common[k]);
}

/* Every queue's registers (writes queue_select: RUNNING only). */
struct queues {
	u16 n;
	u16 size[8];
	u16 vector[8];
	u16 enable[8];
	u64 desc[8];
	u64 avail[8];
	u64 used[8];
};

static void read_queues(struct vmm_dev *d, struct queues *qs)
{
	struct vmm *v = &d->vmm;
	u16 sel = vmm_vio_read(v, VIRTIO_PCI_COMMON_Q_SELECT, 2), q;

	memset(qs, 0, sizeof(*qs));
	qs->n = vmm_vio_num_queues(v);
	for (q = 0; q < qs->n && q < 8; q++) {
		vmm_vio_queue_select(v, q);
		qs->size[q] = vmm_vio_queue_size(v);
		qs->vector[q] = vmm_vio_queue_vector(v);
		qs->enable[q] = vmm_vio_queue_enable(v);
		vmm_vio_queue_addr(v, &qs->desc[q], &qs->avail[q], &qs->used[q]);
	}
	vmm_vio_queue_select(v, sel);
}

/* Read the saving fd to EOF in small reads. */
static ssize_t read_all(int fd, u8 *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;

	for (;;) {
		n = read(fd, buf + got, size - got < 100 ? size - got : 100);
		if (n < 0)
			return -errno;
		if (!n)
			return got;
		got += n;
	}
}

/* RUNNING (or STOP) -> STOP_COPY, the whole stream read, back to STOP. */
static void save(struct __test_metadata *_metadata, struct vmm_dev *d, u8 *buf,
		 size_t *len)
{
	ssize_t n;
	int fd;

	ASSERT_EQ(0, vmm_mig_set_state(&d->vmm, STOP_COPY, &fd));
	ASSERT_LE(0, fd);
	n = read_all(fd, buf, MAX_STATE);
	close(fd);
	ASSERT_LT(0, n) TH_LOG("reading the saving fd: %s", strerror(-n));
	*len = n;
	ASSERT_EQ(0, vmm_mig_set_state(&d->vmm, STOP, NULL));
}

/* The errno of the write restore() saw fail, 0 if none did. */
static int restore_write_err;

/*
 * STOP -> RESUMING (or composed from RUNNING), @len bytes written in
 * pieces of @chunk, then RESUMING -> STOP.  Returns that last step's
 * result.  A state is checked whole as its last byte comes: a refused one
 * fails that write (restore_write_err) and then the transition, alike.
 */
static int restore(struct __test_metadata *_metadata, struct vmm_dev *d,
		   const u8 *buf, size_t len, size_t chunk)
{
	size_t done = 0, n;
	ssize_t w;
	int fd, ret;

	restore_write_err = 0;
	ret = vmm_mig_set_state(&d->vmm, RESUMING, &fd);
	EXPECT_EQ(0, ret);
	if (ret)
		return ret;
	EXPECT_LE(0, fd);
	while (done < len) {
		n = len - done < chunk ? len - done : chunk;
		w = write(fd, buf + done, n);
		if (w < 0) {
			restore_write_err = -errno;
			EXPECT_EQ(len, done + n)
				TH_LOG("write at %zu: %s", done, strerror(errno));
			break;
		}
		EXPECT_EQ((ssize_t)n, w);
		done += n;
	}
	ret = vmm_mig_set_state(&d->vmm, STOP, NULL);
	close(fd);
	if (restore_write_err)
		EXPECT_EQ(restore_write_err, ret);
	return ret;
}

/* Still a working device: a reset and a fresh negotiation go through. */
static void usable(struct __test_metadata *_metadata, struct vmm_dev *d,
		   u64 offered)
{
	struct vmm *v = &d->vmm;

	v->err = 0;
	EXPECT_EQ(RUNNING, get_state(_metadata, d));
	ASSERT_EQ(0x1af4, vmm_cfg_read16(v, PCI_VENDOR_ID));
	ASSERT_EQ(FEAT_OK, vmm_vio_negotiate(v, features(offered)));
	vmm_vio_set_status(v, 0);
	ASSERT_EQ(0, vmm_vio_status(v));
	ASSERT_EQ(0, v->err);
}

/* A's state, programmed and saved; A is left in STOP. */
static void save_programmed_a(struct __test_metadata *_metadata,
			      struct _test_data_mig *self)
{
	struct vfio_irq_info irq;

	ASSERT_EQ(0, dev_open(&self->a));
	ASSERT_EQ(0, vmm_irq_info(&self->a.vmm, VFIO_PCI_MSIX_IRQ_INDEX, &irq));
	self->nvec = irq.count;
	ASSERT_LE(2, self->nvec);
	program(_metadata, &self->a, self->offered, self->nvec);
	save(_metadata, &self->a, self->state, &self->len);
}

/* B on the second function, provisioned with @mac, opened. */
static void open_b(struct __test_metadata *_metadata,
		   struct _test_data_mig *self, const char *mac,
		   const char *features_mask)
{
	ASSERT_EQ(0, dev_create(&self->b, self->bdf2, mac));
	if (features_mask) {
		ASSERT_EQ(0, mdev_attr_write(self->b.uuid, "features_mask",
					     features_mask));
	}
	ASSERT_EQ(0, dev_open(&self->b));
}

/* Refused at RESUMING -> STOP with @err, logged, ERROR, reset to RUNNING. */
static void expect_refused(struct __test_metadata *_metadata,
			   struct _test_data_mig *self, const u8 *buf,
			   size_t len, int err)
{
	long long refused = mig_counter(&self->b, "restores_refused");
	struct view before, during;
	u64 offered = 0;
	u32 says;

	read_view(_metadata, &self->b, &before);
	EXPECT_EQ(err, restore(_metadata, &self->b, buf, len, 4096));
	/* A state as long as its header says was refused as it came in. */
	memcpy(&says, buf + OFF_LENGTH, 4);
	if (len >= HDR_LEN && says == len)
		EXPECT_EQ(err, restore_write_err);
	EXPECT_EQ(ERROR, get_state(_metadata, &self->b));
	EXPECT_STREQ("error", mig_state_str(&self->b));
	EXPECT_EQ(refused + 1, mig_counter(&self->b, "restores_refused"));
	EXPECT_EQ(err, mig_counter(&self->b, "last_refusal"));
	/* Never half-applied: reads in ERROR show the state from before. */
	read_view(_metadata, &self->b, &during);
	expect_same_view(_metadata, &before, &during);
	/* ERROR leads nowhere but through a reset. */
	EXPECT_EQ(-EINVAL, vmm_mig_set_state(&self->b.vmm, RUNNING, NULL));
	EXPECT_EQ(0, vmm_reset(&self->b.vmm));
	EXPECT_EQ(RUNNING, get_state(_metadata, &self->b));
	ASSERT_EQ(0, mdev_attr_u64(self->b.uuid, "offered_features", &offered));
	usable(_metadata, &self->b, offered);
}

/* The feature and the FSM's starting point. */
TEST_F(mig, offered)
{
	u64 flags = 0;

	ASSERT_EQ(0, dev_open(&self->a));
	ASSERT_EQ(0, vmm_mig_flags(&self->a.vmm, &flags));
	EXPECT_EQ(VFIO_MIGRATION_STOP_COPY, flags);
	EXPECT_EQ(RUNNING, get_state(_metadata, &self->a));
	EXPECT_EQ(1, mig_counter(&self->a, "offered"));
	EXPECT_STREQ("running", mig_state_str(&self->a));
	EXPECT_EQ(0, mig_counter(&self->a, "transitions"));
}

/* Each arc the vfio core asks a STOP_COPY driver for, one at a time. */
TEST_F(mig, every_arc)
{
	struct vmm *v = &self->a.vmm;
	u8 buf[MAX_STATE];
	ssize_t n;
	int fd;

	ASSERT_EQ(0, dev_open(&self->a));
	ASSERT_EQ(FEAT_OK, vmm_vio_negotiate(v, features(self->offered)));

	ASSERT_EQ(0, vmm_mig_set_state(v, STOP, &fd));
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(STOP, get_state(_metadata, &self->a));
	ASSERT_EQ(0, vmm_mig_set_state(v, RUNNING, &fd));
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(RUNNING, get_state(_metadata, &self->a));
	ASSERT_EQ(0, vmm_mig_set_state(v, STOP, NULL));
	ASSERT_EQ(0, vmm_mig_set_state(v, STOP_COPY, &fd));
	ASSERT_LE(0, fd);
	EXPECT_EQ(STOP_COPY, get_state(_metadata, &self->a));
	n = read_all(fd, buf, sizeof(buf));
	ASSERT_LT(HDR_LEN, n);
	ASSERT_EQ(0, vmm_mig_set_state(v, STOP, NULL));
	/* Leaving STOP_COPY ended the stream. */
	EXPECT_EQ(-1, read(fd, buf, 1));
	EXPECT_EQ(ENODEV, errno);
	close(fd);
	ASSERT_EQ(0, vmm_mig_set_state(v, RESUMING, &fd));
	ASSERT_LE(0, fd);
	EXPECT_EQ(RESUMING, get_state(_metadata, &self->a));
	EXPECT_EQ(n, write(fd, buf, n));
	ASSERT_EQ(0, vmm_mig_set_state(v, STOP, NULL));
	EXPECT_EQ(-1, write(fd, buf, 1));
	EXPECT_EQ(ENODEV, errno);
	/* Also with nothing to write: the stream ended either way. */
	EXPECT_EQ(-1, write(fd, buf, 0));
	EXPECT_EQ(ENODEV, errno);
	close(fd);
	ASSERT_EQ(0, vmm_mig_set_state(v, RUNNING, NULL));
	EXPECT_EQ(FEAT_OK, vmm_vio_status(v));
	EXPECT_EQ(8, mig_counter(&self->a, "transitions"));
	EXPECT_EQ(1, mig_counter(&self->a, "saves"));
	EXPECT_EQ(1, mig_counter(&self->a, "restores"));
	/* Not offered: P2P and PRE_COPY states. */
	EXPECT_EQ(-EINVAL, vmm_mig_set_state(v, VFIO_DEVICE_STATE_RUNNING_P2P,
					     NULL));
	/* VFIO_DEVICE_STATE_PRE_COPY, not in 6.1's uapi header. */
	EXPECT_EQ(-EINVAL, vmm_mig_set_state(v, 6, NULL));
	EXPECT_EQ(RUNNING, get_state(_metadata, &self->a));
	usable(_metadata, &self->a, self->offered);
}

/*
 * Arcs the core composes: RUNNING -> STOP_COPY (two steps, the fd from
 * the last), STOP_COPY -> RUNNING, RUNNING -> RESUMING, RESUMING ->
 * RUNNING.  The stream read to EOF is as long as its header and the
 * data size feature say.
 */
TEST_F(mig, composed_arcs_and_stream)
{
	struct vmm *v = &self->a.vmm;
	u8 buf[MAX_STATE];
	u64 size = 0;
	u32 word;
	ssize_t n;
	int fd, ret;
	u16 nq;

	ASSERT_EQ(0, dev_open(&self->a));
	nq = vmm_vio_num_queues(v);
	ASSERT_EQ(0, vmm_mig_set_state(v, STOP_COPY, &fd));
	ASSERT_LE(0, fd);
	EXPECT_EQ(2, mig_counter(&self->a, "transitions"));
	n = read_all(fd, buf, sizeof(buf));
	ASSERT_EQ((ssize_t)(OFF_QUEUES + nq * QUEUE_LEN), n);
	EXPECT_EQ(0, read(fd, buf + n, 1)) TH_LOG("EOF stays EOF");
	memcpy(&word, buf, 4);
	EXPECT_EQ(0x534d5656, word) TH_LOG("magic");
	EXPECT_EQ(1, buf[OFF_VERSION] | buf[OFF_VERSION + 1] << 8);
	EXPECT_EQ(4, buf[OFF_NR_SECTIONS]);
	memcpy(&word, buf + OFF_LENGTH, 4);
	EXPECT_EQ(n, word);
	ret = vmm_mig_data_size(v, &size);
	if (ret == -ENOTTY) {
		struct utsname u;

		/* 6.1's core has no VFIO_DEVICE_FEATURE_MIG_DATA_SIZE. */
		ASSERT_EQ(0, uname(&u));
		EXPECT_EQ(0, strncmp(u.release, "6.1.", 4)) TH_LOG("%s", u.release);
	} else {
		EXPECT_EQ(0, ret);
		EXPECT_EQ((u64)n, size);
	}
	ASSERT_EQ(0, vmm_mig_set_state(v, RUNNING, NULL));
	EXPECT_EQ(4, mig_counter(&self->a, "transitions"));
	EXPECT_EQ(-1, read(fd, buf, 1));
	EXPECT_EQ(ENODEV, errno);
	close(fd);

	ASSERT_EQ(0, vmm_mig_set_state(v, RESUMING, &fd));
	ASSERT_LE(0, fd);
	EXPECT_EQ(6, mig_counter(&self->a, "transitions"));
	EXPECT_EQ(n, write(fd, buf, n));
	ASSERT_EQ(0, vmm_mig_set_state(v, RUNNING, NULL));
	close(fd);
	EXPECT_EQ(8, mig_counter(&self->a, "transitions"));
	EXPECT_EQ(0, mig_counter(&self->a, "failed_transitions"));
	usable(_metadata, &self->a, self->offered);
}

/* The VF's real Bus Master Enable, from its PCI command register. */
static bool vf_bus_master(const char *bdf)
{
	int cmd = pci_command(bdf);

	return cmd > 0 && (cmd & PCI_COMMAND_MASTER);
}

/*
 * While stopped, config space takes writes (the uAPI: a stopped device
 * accepts config and MSI-X accesses; QEMU's destination writes config
 * while RESUMING) but the VF's Bus Master stays off; BAR writes (virtio
 * registers, doorbells) change nothing and are counted.  In ERROR nothing
 * is written.
 */
/*
 * A write of @val to device_status through the VIRTIO_PCI_CAP_PCI_CFG
 * window: config space writes of bar, offset, length, then the data.
 */
static void pcicfg_write_status(struct vmm *v, u8 val)
{
	u32 off = v->common.offset + VIRTIO_PCI_COMMON_STATUS, len = 1;
	u8 pos = v->pci_cfg.pos;

	vmm_region_write(v, VMM_CFG, pos + 4, &v->common.bar, 1);
	vmm_region_write(v, VMM_CFG, pos + 8, &off, 4);
	vmm_region_write(v, VMM_CFG, pos + 12, &len, 4);
	vmm_region_write(v, VMM_CFG, pos + 16, &val, 1);
}

TEST_F(mig, writes_refused_while_stopped)
{
	struct vmm *v = &self->a.vmm;
	u32 states[] = { STOP, STOP_COPY, RESUMING };
	u8 val = VIRTIO_CONFIG_S_ACKNOWLEDGE;
	long long refused;
	struct view before, after;
	unsigned int i;
	u16 cmd;

	ASSERT_EQ(0, dev_open(&self->a));
	ASSERT_EQ(FEAT_OK, vmm_vio_negotiate(v, features(self->offered)));
	for (i = 0; i < ARRAY_SIZE(states); i++) {
		TH_LOG("state %u", states[i]);
		refused = mig_counter(&self->a, "writes_refused");
		ASSERT_EQ(0, vmm_mig_set_state(v, STOP, NULL));
		ASSERT_EQ(0, vmm_mig_set_state(v, states[i], NULL));
		read_view(_metadata, &self->a, &before);
		cmd = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
		EXPECT_EQ(0, vmm_region_write(v, VMM_CFG, PCI_COMMAND, &cmd, 2));
		EXPECT_EQ(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER,
			  vmm_cfg_read16(v, PCI_COMMAND));
		EXPECT_FALSE(vf_bus_master(self->bdf))
			TH_LOG("a stopped VF got Bus Master from a config write");
		EXPECT_EQ(-EBUSY, vmm_region_write(v, VFIO_PCI_BAR0_REGION_INDEX +
						   v->common.bar,
						   v->common.offset +
						   VIRTIO_PCI_COMMON_STATUS,
						   &val, 1));
		/* The same through the PCI_CFG window: a BAR write too. */
		ASSERT_TRUE(v->pci_cfg.found);
		pcicfg_write_status(v, 0);
		read_view(_metadata, &self->a, &after);
		EXPECT_EQ(0, memcmp(before.common, after.common, COMMON_LEN));
		EXPECT_EQ(refused + 2, mig_counter(&self->a, "writes_refused"));
		if (states[i] == RESUMING) {
			/* Nothing written: an empty state is garbage. */
			EXPECT_EQ(-EINVAL, vmm_mig_set_state(v, STOP, NULL));
			EXPECT_EQ(ERROR, get_state(_metadata, &self->a));
			cmd = PCI_COMMAND_MEMORY;
			EXPECT_EQ(-EBUSY, vmm_region_write(v, VMM_CFG,
							   PCI_COMMAND, &cmd, 2));
			EXPECT_EQ(refused + 3,
				  mig_counter(&self->a, "writes_refused"));
			ASSERT_EQ(0, vmm_reset(&self->a.vmm));
			ASSERT_EQ(FEAT_OK,
				  vmm_vio_negotiate(v, features(self->offered)));
			continue;
		}
		ASSERT_EQ(0, vmm_mig_set_state(v, RUNNING, NULL));
		EXPECT_EQ(FEAT_OK, vmm_vio_status(v));
		/* The config write took effect: the VF masters again. */
		EXPECT_TRUE(vf_bus_master(self->bdf));
	}
	/* RUNNING again: writes go through. */
	cmd = PCI_COMMAND_MEMORY;
	EXPECT_EQ(0, vmm_region_write(v, VMM_CFG, PCI_COMMAND, &cmd, 2));
	EXPECT_EQ(PCI_COMMAND_MEMORY, vmm_cfg_read16(v, PCI_COMMAND));
	usable(_metadata, &self->a, self->offered);
}

/*
 * Saved on A, restored on B (another function, same provisioning): B reads
 * back what A read, in STOP and after RUNNING, queue by queue, and a
 * device that never had DRIVER_OK carries on without a reset.
 */
TEST_F(mig, a_to_b_identical)
{
	size_t off = 0, pieces[] = { 1, 7, 13 };
	struct vfio_irq_info irq;
	struct view va, vb;
	struct queues qa, qb;
	u64 neg_a = 0, neg_b = 0;
	unsigned int i;
	int fd;

	ASSERT_EQ(0, dev_open(&self->a));
	ASSERT_EQ(0, vmm_irq_info(&self->a.vmm, VFIO_PCI_MSIX_IRQ_INDEX, &irq));
	self->nvec = irq.count;
	program(_metadata, &self->a, self->offered, self->nvec);
	read_queues(&self->a, &qa);
	read_view(_metadata, &self->a, &va);
	save(_metadata, &self->a, self->state, &self->len);
	ASSERT_EQ(0, mdev_attr_u64(self->a.uuid, "negotiated_features", &neg_a));
	EXPECT_EQ(0, mig_counter(&self->a, "quiesced"))
		TH_LOG("no DRIVER_OK: the VF needs no reset");

	open_b(_metadata, self, MAC, NULL);
	/* Pieces of 1, 7 and 13 bytes, then the rest. */
	ASSERT_EQ(0, vmm_mig_set_state(&self->b.vmm, RESUMING, &fd));
	for (i = 0; i < ARRAY_SIZE(pieces); i++) {
		EXPECT_EQ((ssize_t)pieces[i],
			  write(fd, self->state + off, pieces[i]));
		off += pieces[i];
	}
	EXPECT_EQ((ssize_t)(self->len - off),
		  write(fd, self->state + off, self->len - off));
	ASSERT_EQ(0, vmm_mig_set_state(&self->b.vmm, STOP, NULL));
	close(fd);
	EXPECT_EQ(1, mig_counter(&self->b, "restores"));
	read_view(_metadata, &self->b, &vb);
	expect_same_view(_metadata, &va, &vb);
	ASSERT_EQ(0, vmm_mig_set_state(&self->b.vmm, RUNNING, NULL));
	read_view(_metadata, &self->b, &vb);
	expect_same_view(_metadata, &va, &vb);
	read_queues(&self->b, &qb);
	EXPECT_EQ(0, memcmp(&qa, &qb, sizeof(qa)));
	EXPECT_EQ(FEAT_OK, vmm_vio_status(&self->b.vmm));
	EXPECT_EQ(0, mig_counter(&self->b, "needs_reset_raised"));
	ASSERT_EQ(0, mdev_attr_u64(self->b.uuid, "negotiated_features", &neg_b));
	EXPECT_EQ(neg_a, neg_b);
	/* The VF of B holds the features the guest negotiated on A. */
	EXPECT_EQ(FEAT_OK, vmm_counter(self->b.uuid, "vf_status") & FEAT_OK);
	usable(_metadata, &self->b, self->offered);
}

/* A destination provisioned with another MAC would change the guest's. */
TEST_F(mig, refuses_other_mac)
{
	save_programmed_a(_metadata, self);
	open_b(_metadata, self, OTHER_MAC, NULL);
	expect_refused(_metadata, self, self->state, self->len, -EOPNOTSUPP);
}

/* Negotiated features the destination does not offer. */
TEST_F(mig, refuses_features_not_offered)
{
	char mask[32];
	u64 neg = features(self->offered) & (BIT_ULL(VIRTIO_NET_F_STATUS) |
					     BIT_ULL(VIRTIO_NET_F_MRG_RXBUF));

	ASSERT_NE(0, neg) TH_LOG("the VF offers neither STATUS nor MRG_RXBUF");
	/* Take away one feature the guest negotiated on A. */
	snprintf(mask, sizeof(mask), "0x%llx\n",
		 (unsigned long long)~BIT_ULL(63 - __builtin_clzll(neg)));
	save_programmed_a(_metadata, self);
	open_b(_metadata, self, MAC, mask);
	expect_refused(_metadata, self, self->state, self->len, -EOPNOTSUPP);
}

/*
 * A guest with more queues than the destination has: the resuming fd
 * takes the longer state (it has room for a relay section) and the
 * restore is refused as one this device cannot honour.
 */
TEST_F(mig, refuses_more_queues)
{
	u8 buf[MAX_STATE];
	size_t len;
	u32 word;
	u16 nq;

	save_programmed_a(_metadata, self);
	open_b(_metadata, self, MAC, NULL);
	/* The same stream with two more (valid) queues: the source's twins. */
	nq = self->state[OFF_DEV + 8] | self->state[OFF_DEV + 9] << 8;
	len = self->len + 2 * QUEUE_LEN;
	memcpy(buf, self->state, self->len);
	memcpy(buf + self->len, self->state + OFF_QUEUES, 2 * QUEUE_LEN);
	nq += 2;
	buf[OFF_DEV + 8] = nq;
	buf[OFF_DEV + 9] = nq >> 8;
	word = nq * QUEUE_LEN;
	memcpy(buf + OFF_QUEUES_HDR + 4, &word, 4);
	word = len;
	memcpy(buf + OFF_LENGTH, &word, 4);
	expect_refused(_metadata, self, buf, len, -EOPNOTSUPP);
}

/*
 * The destination offers fewer features, none of them negotiated: the
 * guest's driver read the source's offer at probe, it must not change.
 */
TEST_F(mig, refuses_other_offered)
{
	u64 spare = self->offered & ~features(self->offered) &
		    ~BIT_ULL(VIRTIO_F_VERSION_1);
	char mask[32];

	if (!spare)
		SKIP(return, "%s", "the VF offers nothing the test leaves out");
	snprintf(mask, sizeof(mask), "0x%llx\n",
		 (unsigned long long)~BIT_ULL(__builtin_ctzll(spare)));
	save_programmed_a(_metadata, self);
	open_b(_metadata, self, MAC, mask);
	expect_refused(_metadata, self, self->state, self->len, -EOPNOTSUPP);
}

/* A format newer than the module knows. */
TEST_F(mig, refuses_newer_version)
{
	save_programmed_a(_metadata, self);
	open_b(_metadata, self, MAC, NULL);
	self->state[OFF_VERSION] = 2;
	expect_refused(_metadata, self, self->state, self->len,
		       -EPROTONOSUPPORT);
}

/* Garbage of every kind: EINVAL, and the device usable after each. */
TEST_F(mig, refuses_garbage)
{
	u8 buf[MAX_STATE];
	unsigned int i;
	u32 word;

	save_programmed_a(_metadata, self);
	open_b(_metadata, self, MAC, NULL);
	for (i = 0; i < 14; i++) {
		size_t len = self->len;

		memcpy(buf, self->state, len);
		switch (i) {
		case 0:		/* bad magic */
			buf[0] ^= 0xff;
			break;
		case 1:		/* truncated */
			len /= 2;
			break;
		case 2:		/* header length disagrees */
			word = len + 1;
			memcpy(buf + OFF_LENGTH, &word, 4);
			break;
		case 3:		/* a section running past the end */
			word = 0xffffffff;
			memcpy(buf + OFF_DEV - 4, &word, 4);
			break;
		case 4:		/* an unknown section id */
			buf[OFF_DEV - SEC_LEN] = 9;
			break;
		case 5:		/* the same section twice */
			buf[OFF_CFG - SEC_LEN] = 1;
			break;
		case 6:		/* DRIVER_OK without FEATURES_OK */
			buf[OFF_COMMON] = ACK_DRIVER |
					  VIRTIO_CONFIG_S_DRIVER_OK;
			break;
		case 7:		/* the last queue's vector beyond MSI-X */
			buf[len - QUEUE_LEN + 4] = 0xfe;
			buf[len - QUEUE_LEN + 5] = 0x7f;
			break;
		case 8:		/* pseudo-random bytes */
			srand(1);
			for (word = 0; word < len; word++)
				buf[word] = rand();
			break;
		case 9:		/* version 0 */
			buf[OFF_VERSION] = 0;
			break;
		case 10:	/* the device section's reserved bytes */
			buf[OFF_DEV + DEV_LEN - 1] = 1;
			break;
		case 11:	/* FEATURES_OK without ACKNOWLEDGE and DRIVER */
			buf[OFF_COMMON] = VIRTIO_CONFIG_S_FEATURES_OK;
			break;
		case 12:	/* FEATURES_OK for features never offered */
			buf[OFF_COMMON + 1] |= 2;	/* VV_MIG_F_BAD_FEATURES */
			break;
		case 13:	/* the header's reserved field */
			buf[HDR_LEN - 1] = 1;
			break;
		}
		TH_LOG("garbage case %u", i);
		expect_refused(_metadata, self, buf, len, -EINVAL);
	}
}

/*
 * A resuming fd takes at most 1 MiB, more than any device offered
 * migration saves: a write that does not fit fails whole with EFBIG.
 */
#define MAX_RESUME	0x100000	/* 1 MiB */
TEST_F(mig, oversize_write)
{
	static u8 big[MAX_RESUME + 1];
	struct vmm *v;
	size_t len;
	int fd;

	ASSERT_EQ(0, dev_open(&self->a));
	v = &self->a.vmm;
	len = OFF_QUEUES + vmm_vio_num_queues(v) * QUEUE_LEN;
	ASSERT_EQ(0, vmm_mig_set_state(v, RESUMING, &fd));
	EXPECT_EQ(-1, write(fd, big, sizeof(big)));
	EXPECT_EQ(EFBIG, errno);
	EXPECT_EQ((ssize_t)len - 1, write(fd, big, len - 1));
	EXPECT_EQ(1, write(fd, big, 1));
	/* The fd grows past this device's own length, up to the bound. */
	EXPECT_EQ(-1, write(fd, big, MAX_RESUME - len + 1));
	EXPECT_EQ(EFBIG, errno);
	EXPECT_EQ((ssize_t)(MAX_RESUME - len),
		  write(fd, big, MAX_RESUME - len));
	EXPECT_EQ(-1, write(fd, big, 1));
	EXPECT_EQ(EFBIG, errno);
	EXPECT_EQ(-EINVAL, vmm_mig_set_state(v, STOP, NULL));
	close(fd);
	EXPECT_EQ(ERROR, get_state(_metadata, &self->a));
	EXPECT_EQ(0, vmm_reset(v));
	usable(_metadata, &self->a, self->offered);
}

/*
 * A relay section (Documentation/design.rst, "Migration"): queue 0 parked
 * with heads 3 and 1 of 5 in flight, every other queue not parked; the
 * state's status becomes DRIVER_OK.  Returns the new length.
 */
#define RELAY_SEC_ID	5

static void bump32(u8 *p)
{
	u32 v;

	memcpy(&v, p, 4);
	v++;
	memcpy(p, &v, 4);
}

static size_t add_relay_section(u8 *buf, size_t len, u16 nq)
{
	u8 *p = buf + len;
	u32 seclen = nq * 8 + 2 * 2, total;
	u16 q, nr;

	memset(p, 0, SEC_LEN);
	p[0] = RELAY_SEC_ID;
	memcpy(p + 4, &seclen, 4);
	p += SEC_LEN;
	for (q = 0; q < nq; q++, p += 8) {
		memset(p, 0, 8);
		if (q)
			continue;
		p[0] = 5;	/* last_avail */
		p[2] = 2;	/* used_idx */
		p[4] = 2;	/* nheld */
		p[6] = 1;	/* parked */
		p[8] = 3;	/* the heads */
		p[9] = 0;
		p[10] = 1;
		p[11] = 0;
		p += 4;
	}
	total = p - buf;
	memcpy(buf + OFF_LENGTH, &total, 4);
	memcpy(&nr, buf + OFF_NR_SECTIONS, 2);
	nr++;
	memcpy(buf + OFF_NR_SECTIONS, &nr, 2);
	buf[OFF_COMMON] = ALL_OK;
	return total;
}

/*
 * Where a relayed guest's queues stopped: a destination without the relay
 * refuses a well-formed section (EOPNOTSUPP: it could not resume it), and
 * every malformed one is EINVAL whatever the destination.
 */
TEST_F(mig, refuses_relay_sections)
{
	u8 buf[MAX_STATE];
	size_t off0, len;
	unsigned int i;
	u16 nq;

	save_programmed_a(_metadata, self);
	open_b(_metadata, self, MAC, NULL);
	nq = vmm_vio_num_queues(&self->b.vmm);
	ASSERT_EQ(self->len, OFF_QUEUES + nq * QUEUE_LEN);
	/* Queue 0's entry, after the section header. */
	off0 = self->len + SEC_LEN;
	for (i = 0; i < 10; i++) {
		int err = -EINVAL;

		memcpy(buf, self->state, self->len);
		len = add_relay_section(buf, self->len, nq);
		switch (i) {
		case 0:		/* well-formed: no relay on this device */
			err = -EOPNOTSUPP;
			break;
		case 1:		/* a head beyond the ring */
			buf[off0 + 8] = QSIZE;
			break;
		case 2:		/* the same head twice */
			buf[off0 + 10] = 3;
			break;
		case 3:		/* more heads held than were in flight */
			buf[off0] = 3;
			break;
		case 4:		/* queue 1, never enabled, parked */
			buf[off0 + 12 + 6] = 1;
			break;
		case 5:		/* queue 0, enabled, not parked */
			buf[off0 + 6] = 0;
			break;
		case 6:		/* an unknown flag */
			buf[off0 + 6] |= 0x80;
			break;
		case 7:		/* more heads than the section holds */
			buf[off0 + 4] = 3;
			break;
		case 8:		/* bytes after the last queue */
			buf[len++] = 0;
			bump32(buf + self->len + 4);
			bump32(buf + OFF_LENGTH);
			break;
		case 9:		/* parked, but the driver was not running */
			buf[OFF_COMMON] = FEAT_OK;
			break;
		}
		TH_LOG("relay section case %u", i);
		expect_refused(_metadata, self, buf, len, err);
	}
}

/* Closing the device ends its data fds; a fresh open starts RUNNING. */
TEST_F(mig, close_with_data_fd_open)
{
	u8 buf[16];
	int save_fd, resume_fd;

	ASSERT_EQ(0, dev_open(&self->a));
	ASSERT_EQ(0, vmm_mig_set_state(&self->a.vmm, STOP_COPY, &save_fd));
	dev_close(&self->a);
	EXPECT_EQ(-1, read(save_fd, buf, sizeof(buf)));
	EXPECT_EQ(ENODEV, errno);
	close(save_fd);

	ASSERT_EQ(0, dev_open(&self->a));
	EXPECT_EQ(RUNNING, get_state(_metadata, &self->a));
	ASSERT_EQ(0, vmm_mig_set_state(&self->a.vmm, RESUMING, &resume_fd));
	dev_close(&self->a);
	EXPECT_EQ(-1, write(resume_fd, buf, sizeof(buf)));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, write(resume_fd, buf, 0));
	EXPECT_EQ(ENODEV, errno);
	close(resume_fd);

	ASSERT_EQ(0, dev_open(&self->a));
	EXPECT_EQ(RUNNING, get_state(_metadata, &self->a));
	EXPECT_EQ(0, mig_counter(&self->a, "transitions"));
	usable(_metadata, &self->a, self->offered);
}

/* The eventfd of a vector signalled within WAIT_MS. */
static bool signalled(int efd)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	u64 n;

	if (poll(&p, 1, WAIT_MS) != 1)
		return false;
	return read(efd, &n, sizeof(n)) == sizeof(n) && n;
}

/*
 * Increment 1's quiesce: a VF with DRIVER_OK is reset at RUNNING -> STOP
 * (the guest still reads what it had); at STOP -> RUNNING the guest reads
 * DEVICE_NEEDS_RESET and gets a configuration interrupt, the VF stays
 * down, and a reset and a fresh bring-up work.
 */
TEST_F(mig, driver_ok_quiesce_needs_reset)
{
	struct vmm_guest g;
	struct vmm *v = &self->a.vmm;
	struct vmm_vq rx, tx;
	int efd[3], i;
	u8 status;

	for (i = 0; i < 3; i++) {
		efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		ASSERT_LE(0, efd[i]);
	}
	ASSERT_EQ(0, vmm_guest_create(&g, BIT_ULL(32), 16ULL << 20,
				      1ULL << 20));
	ASSERT_EQ(0, vmm_open_guest(v, self->a.uuid, &g));
	self->a.open = true;
	ASSERT_EQ(0, vmm_virtio_locate(v));
	ASSERT_EQ(0, vmm_msix_set(v, 0, 3, efd));

	for (i = 0; i < 2; i++) {
		ASSERT_EQ(FEAT_OK, vmm_vio_negotiate(v, features(self->offered)));
		vmm_vio_write(v, VIRTIO_PCI_COMMON_MSIX, 2, 2);
		ASSERT_EQ(0, vmm_vq_setup(v, &g, &rx, 0, QSIZE, 0, efd[0],
					  NULL, 0, 0));
		ASSERT_EQ(0, vmm_vq_setup(v, &g, &tx, 1, QSIZE, 1, efd[1],
					  NULL, 0, 0));
		vmm_vio_set_status(v, ALL_OK);
		ASSERT_EQ(ALL_OK, vmm_vio_status(v));
		ASSERT_EQ(ALL_OK, vmm_counter(self->a.uuid, "vf_status"));
		if (i)
			break;	/* the fresh bring-up after the reset */

		ASSERT_EQ(0, vmm_mig_set_state(v, STOP, NULL));
		EXPECT_EQ(1, mig_counter(&self->a, "quiesced"));
		/* The VF is reset; the guest's view is not. */
		EXPECT_EQ(0, vmm_counter(self->a.uuid, "vf_status"));
		EXPECT_EQ(ALL_OK, vmm_vio_status(v));
		vmm_vio_queue_select(v, 0);	/* refused: STOP */
		EXPECT_EQ(-EBUSY, v->err);
		v->err = 0;
		EXPECT_EQ(1, vmm_vio_queue_enable(v));
		while (read(efd[2], &(u64){ 0 }, sizeof(u64)) > 0)
			;

		ASSERT_EQ(0, vmm_mig_set_state(v, RUNNING, NULL));
		status = vmm_vio_status(v);
		EXPECT_EQ(FEAT_OK | VIRTIO_CONFIG_S_NEEDS_RESET, status);
		EXPECT_TRUE(signalled(efd[2]))
			TH_LOG("no configuration interrupt");
		EXPECT_EQ(FEAT_OK, vmm_counter(self->a.uuid, "vf_status"))
			TH_LOG("the VF must not go live");
		EXPECT_EQ(1, mig_counter(&self->a, "needs_reset_raised"));
		EXPECT_EQ(0, mig_counter(&self->a, "quiesced"));
		/* What DEVICE_NEEDS_RESET asks for. */
		vmm_vio_set_status(v, 0);
		ASSERT_EQ(0, vmm_vio_status(v));
		v->err = 0;
	}
	dev_close(&self->a);
	vmm_guest_destroy(&g);
	for (i = 0; i < 3; i++)
		close(efd[i]);
}

/*
 * A guest with DRIVER_OK migrated: the destination reads DRIVER_OK while
 * stopped, DEVICE_NEEDS_RESET once RUNNING (increment 1), its VF holding
 * the features but not DRIVER_OK; the guest's reset and negotiation work.
 */
TEST_F(mig, driver_ok_state_to_b)
{
	struct vmm_guest g;
	struct vmm *v = &self->a.vmm;
	struct vmm_vq rx, tx;

	ASSERT_EQ(0, vmm_guest_create(&g, BIT_ULL(32), 16ULL << 20,
				      1ULL << 20));
	ASSERT_EQ(0, vmm_open_guest(v, self->a.uuid, &g));
	self->a.open = true;
	ASSERT_EQ(0, vmm_virtio_locate(v));
	ASSERT_EQ(FEAT_OK, vmm_vio_negotiate(v, features(self->offered)));
	ASSERT_EQ(0, vmm_vq_setup(v, &g, &rx, 0, QSIZE, 0, -1, NULL, 0, 0));
	ASSERT_EQ(0, vmm_vq_setup(v, &g, &tx, 1, QSIZE, 1, -1, NULL, 0, 0));
	vmm_vio_set_status(v, ALL_OK);
	ASSERT_EQ(ALL_OK, vmm_vio_status(v));
	save(_metadata, &self->a, self->state, &self->len);
	EXPECT_EQ(1, mig_counter(&self->a, "quiesced"));
	EXPECT_EQ(ALL_OK, self->state[OFF_COMMON]) TH_LOG("saved status");

	open_b(_metadata, self, MAC, NULL);
	ASSERT_EQ(0, restore(_metadata, &self->b, self->state, self->len,
			     4096));
	EXPECT_EQ(ALL_OK, vmm_vio_status(&self->b.vmm));
	EXPECT_EQ(0, vmm_counter(self->b.uuid, "vf_status"));
	ASSERT_EQ(0, vmm_mig_set_state(&self->b.vmm, RUNNING, NULL));
	EXPECT_EQ(FEAT_OK | VIRTIO_CONFIG_S_NEEDS_RESET,
		  vmm_vio_status(&self->b.vmm));
	EXPECT_EQ(FEAT_OK, vmm_counter(self->b.uuid, "vf_status"));
	EXPECT_EQ(1, mig_counter(&self->b, "needs_reset_raised"));
	usable(_metadata, &self->b, self->offered);
	dev_close(&self->a);
	vmm_guest_destroy(&g);
}

/*
 * RUNNING -> STOP takes Bus Master from a VF that never had DRIVER_OK
 * (it may serve queues before it), and STOP -> RUNNING gives it back.
 */
TEST_F(mig, stop_clears_bus_master_without_driver_ok)
{
	struct vmm *v = &self->a.vmm;
	struct vfio_irq_info irq;

	ASSERT_EQ(0, dev_open(&self->a));
	ASSERT_EQ(0, vmm_irq_info(v, VFIO_PCI_MSIX_IRQ_INDEX, &irq));
	program(_metadata, &self->a, self->offered, irq.count);
	ASSERT_EQ(FEAT_OK, vmm_counter(self->a.uuid, "vf_status"));
	ASSERT_TRUE(vf_bus_master(self->bdf));

	ASSERT_EQ(0, vmm_mig_set_state(v, STOP, NULL));
	EXPECT_FALSE(vf_bus_master(self->bdf));
	EXPECT_EQ(0, mig_counter(&self->a, "quiesced"));
	ASSERT_EQ(0, vmm_mig_set_state(v, STOP_COPY, NULL));
	EXPECT_FALSE(vf_bus_master(self->bdf));
	ASSERT_EQ(0, vmm_mig_set_state(v, RUNNING, NULL));
	EXPECT_TRUE(vf_bus_master(self->bdf));
	EXPECT_EQ(FEAT_OK, vmm_vio_status(v));
	/* The guest's own Bus Master Enable still rules in RUNNING. */
	vmm_cfg_write16(v, PCI_COMMAND, PCI_COMMAND_MEMORY);
	EXPECT_FALSE(vf_bus_master(self->bdf));
	ASSERT_EQ(0, vmm_mig_set_state(v, STOP, NULL));
	ASSERT_EQ(0, vmm_mig_set_state(v, RUNNING, NULL));
	EXPECT_FALSE(vf_bus_master(self->bdf));
}

/* The function has some PCI reset method (FLR, PM, bus). */
static bool pci_resettable(const char *bdf)
{
	char path[PATH_MAX], methods[128];

	snprintf(path, sizeof(path), VMM_PCI_DEVICES "/%s/reset_method", bdf);
	return sysfs_read(path, methods, sizeof(methods)) > 0;
}

/*
 * The VF does not complete the reset of RUNNING -> STOP (injected through
 * debugfs).  With no PCI reset to fall back on, the emulated state is
 * gone: the device is in ERROR (not RUNNING with a wiped emulation), the
 * VF has no Bus Master, and VFIO_DEVICE_RESET gives a RUNNING, usable
 * device.  A function reset, where there is one, recovers the stop.
 */
TEST_F(mig, stop_quiesce_failure_is_error)
{
	struct vmm_guest g;
	struct vmm *v = &self->a.vmm;
	struct vmm_vq rx, tx;
	char path[PATH_MAX];
	u16 cmd = PCI_COMMAND_MEMORY;
	int ret;

	ASSERT_EQ(0, vmm_guest_create(&g, BIT_ULL(32), 16ULL << 20,
				      1ULL << 20));
	ASSERT_EQ(0, vmm_open_guest(v, self->a.uuid, &g));
	self->a.open = true;
	ASSERT_EQ(0, vmm_virtio_locate(v));
	vmm_cfg_write16(v, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	ASSERT_EQ(FEAT_OK, vmm_vio_negotiate(v, features(self->offered)));
	ASSERT_EQ(0, vmm_vq_setup(v, &g, &rx, 0, QSIZE, 0, -1, NULL, 0, 0));
	ASSERT_EQ(0, vmm_vq_setup(v, &g, &tx, 1, QSIZE, 1, -1, NULL, 0, 0));
	vmm_vio_set_status(v, ALL_OK);
	ASSERT_EQ(ALL_OK, vmm_vio_status(v));
	ASSERT_TRUE(vf_bus_master(self->bdf));

	snprintf(path, sizeof(path),
		 "/sys/kernel/debug/vhost_vfio/%s/fail_next_reset",
		 self->a.uuid);
	ASSERT_EQ(0, sysfs_write(path, "1"));
	ret = vmm_mig_set_state(v, STOP, NULL);
	EXPECT_FALSE(vf_bus_master(self->bdf));
	if (pci_resettable(self->bdf)) {
		TH_LOG("%s has a PCI reset: the stop is recovered", self->bdf);
		EXPECT_EQ(0, ret);
		EXPECT_EQ(STOP, get_state(_metadata, &self->a));
		EXPECT_EQ(ALL_OK, vmm_vio_status(v));
	} else {
		EXPECT_EQ(-ETIMEDOUT, ret);
		EXPECT_EQ(ERROR, get_state(_metadata, &self->a));
		EXPECT_STREQ("error", mig_state_str(&self->a));
		EXPECT_EQ(1, mig_counter(&self->a, "failed_transitions"));
		EXPECT_EQ(-EBUSY, vmm_region_write(v, VMM_CFG, PCI_COMMAND,
						   &cmd, 2));
		EXPECT_EQ(-EINVAL, vmm_mig_set_state(v, RUNNING, NULL));
	}
	EXPECT_EQ(0, vmm_reset(v));
	EXPECT_EQ(RUNNING, get_state(_metadata, &self->a));
	usable(_metadata, &self->a, self->offered);
	/* Usable includes DMA: the guest's Bus Master works again. */
	vmm_cfg_write16(v, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	EXPECT_TRUE(vf_bus_master(self->bdf));
	dev_close(&self->a);
	vmm_guest_destroy(&g);
}

/* Without the module parameter the feature is not offered at all. */
TEST(not_offered_without_parameter)
{
	const char *param = "/sys/module/vhost_vfio/parameters/migration";
	const char *bdf = vmm_env_bdf("VV_BDF");
	struct vmm_dev d = { };
	u64 flags;
	u32 state;

	ASSERT_NE(NULL, bdf);
	ASSERT_EQ(0, sysfs_write(param, "N"));
	ASSERT_EQ(0, dev_create(&d, bdf, NULL));
	EXPECT_EQ(0, dev_open(&d));
	EXPECT_EQ(-ENOTTY, vmm_mig_flags(&d.vmm, &flags));
	EXPECT_EQ(-ENOTTY, vmm_mig_get_state(&d.vmm, &state));
	EXPECT_EQ(-ENOTTY, vmm_mig_set_state(&d.vmm, STOP, NULL));
	EXPECT_EQ(0, mig_counter(&d, "offered"));
	/* Read at open: set again, the next open offers it. */
	EXPECT_EQ(0, sysfs_write(param, "Y"));
	dev_close(&d);
	EXPECT_EQ(0, dev_open(&d));
	EXPECT_EQ(0, vmm_mig_flags(&d.vmm, &flags));
	EXPECT_EQ(VFIO_MIGRATION_STOP_COPY, flags);
	vmm_dev_destroy(&d);
}

TEST_HARNESS_MAIN
