/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The tests' side of the mini-VMM: fixtures on the kselftest harness.  A
 * test file includes this instead of kselftest_harness.h and vmm.h.
 */
#ifndef _VV_SELFTEST_VMM_TEST_H
#define _VV_SELFTEST_VMM_TEST_H

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include <kselftest_harness.h>

#include "vmm.h"
#include "vmm_kvm.h"

/*
 * In a FIXTURE_SETUP (or any function with the harness's _metadata): a
 * device on the function named by $VV_BDF, or the setup fails saying why.
 */
#define vmm_dev_create(dev, flags)					\
	do {								\
		const char *__bdf = vmm_env_bdf("VV_BDF");		\
		int __ret;						\
									\
		ASSERT_NE(NULL, __bdf) TH_LOG("VV_BDF is not set");	\
		__ret = __vmm_dev_create(dev, __bdf, flags);		\
		ASSERT_EQ(0, __ret)					\
			TH_LOG("mdev on %s: %s", __bdf, strerror(-__ret)); \
	} while (0)

/*
 * The fixtures of a test that needs nothing but a device, fresh for each
 * test in self->dev: FIXTURE(mdev), an mdev created on $VV_BDF, and
 * FIXTURE(mdev_open), the same opened as a VMM does.
 */
FIXTURE(mdev) {
	struct vmm_dev dev;
};

FIXTURE_SETUP(mdev)
{
	vmm_dev_create(&self->dev, 0);
}

FIXTURE_TEARDOWN(mdev)
{
	vmm_dev_destroy(&self->dev);
}

FIXTURE(mdev_open) {
	struct vmm_dev dev;
};

FIXTURE_SETUP(mdev_open)
{
	vmm_dev_create(&self->dev, VMM_DEV_OPEN);
}

FIXTURE_TEARDOWN(mdev_open)
{
	vmm_dev_destroy(&self->dev);
}

/* Close the device, then the guest it was opened into, then the mdev. */
static inline void vmm_dev_guest_destroy(struct vmm_dev *dev,
					 struct vmm_guest *g)
{
	if (dev->open)
		vmm_close(&dev->vmm);
	dev->open = false;
	if (g->kvm > 0)
		vmm_guest_destroy(g);
	vmm_dev_destroy(dev);
}

/*
 * FIXTURE(mdev_guest): an mdev created on $VV_BDF and an empty guest
 * (self->g, zeroed): the test creates the VM and opens the device into it
 * (vmm_guest_create(), vmm_open_guest(), then sets self->dev.open).
 */
FIXTURE(mdev_guest) {
	struct vmm_dev dev;
	struct vmm_guest g;
};

FIXTURE_SETUP(mdev_guest)
{
	memset(&self->g, 0, sizeof(self->g));
	vmm_dev_create(&self->dev, 0);
}

FIXTURE_TEARDOWN(mdev_guest)
{
	vmm_dev_guest_destroy(&self->dev, &self->g);
}

/* A modest, valid subset of the virtio-net features @offered. */
static inline u64 vmm_net_subset(u64 offered)
{
	return offered & (BIT_ULL(VIRTIO_F_VERSION_1) |
			  BIT_ULL(VIRTIO_F_ACCESS_PLATFORM) |
			  BIT_ULL(VIRTIO_NET_F_MAC) |
			  BIT_ULL(VIRTIO_NET_F_STATUS) |
			  BIT_ULL(VIRTIO_NET_F_MRG_RXBUF));
}

#endif /* _VV_SELFTEST_VMM_TEST_H */
