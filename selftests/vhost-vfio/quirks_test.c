// SPDX-License-Identifier: GPL-2.0-only
/*
 * Feature quirks as the guest and the operator see them.  quirks.sh loads
 * vhost_vfio with a quirks= module parameter and tells this test what to
 * expect through the environment:
 *
 *   VV_BDF             function bound to vhost_vfio_virtio_pci
 *   VV_QUIRK_CLEAR     bits the matching quirks clear (hex)
 *   VV_QUIRK_SET       bits the matching quirks set (hex)
 *   VV_QUIRK_LINES     number of quirk entries that match this function
 *   VV_VF_HAS          bits the VF itself must offer (hex, optional)
 *   VV_VF_LACKS        bits the VF itself must not offer (hex, optional)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_config.h>

#include "vmm_test.h"

#define FEAT_OK		(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | \
			 VIRTIO_CONFIG_S_FEATURES_OK)

static int env_u64(const char *name, u64 *val)
{
	const char *s = getenv(name);
	char *end;

	*val = 0;
	if (!s || !*s)
		return -ENOENT;
	errno = 0;
	*val = strtoull(s, &end, 16);
	return errno || *end ? -EINVAL : 0;
}

FIXTURE(quirk) {
	struct vmm_dev dev;
	u64 clear, set, has, lacks, lines;
};

FIXTURE_SETUP(quirk)
{
	ASSERT_EQ(0, env_u64("VV_QUIRK_CLEAR", &self->clear));
	ASSERT_EQ(0, env_u64("VV_QUIRK_SET", &self->set));
	ASSERT_EQ(0, env_u64("VV_QUIRK_LINES", &self->lines));
	ASSERT_NE(-EINVAL, env_u64("VV_VF_HAS", &self->has));
	ASSERT_NE(-EINVAL, env_u64("VV_VF_LACKS", &self->lacks));
	vmm_dev_create(&self->dev, VMM_DEV_OPEN);
}

FIXTURE_TEARDOWN(quirk)
{
	vmm_dev_destroy(&self->dev);
}

TEST_F(quirk, vf_is_what_the_test_needs)
{
	TH_LOG("vf_features 0x%016llx offered 0x%016llx",
	       (unsigned long long)self->dev.vf, (unsigned long long)self->dev.offered);
	ASSERT_EQ(self->has, self->dev.vf & self->has);
	ASSERT_EQ(0, self->dev.vf & self->lacks);
}

TEST_F(quirk, attribute_shows_reason)
{
	char buf[1024], want[64], *p;
	unsigned int n = 0;

	ASSERT_LT(0, mdev_attr_read(self->dev.uuid, "quirks", buf, sizeof(buf)));
	TH_LOG("quirks:\n%s", buf);
	for (p = buf; p; p = strchr(p + 1, '\n'))
		n++;
	if (!self->lines) {
		ASSERT_STREQ("none", buf);
		return;
	}
	ASSERT_EQ(self->lines, n);
	/* Every entry says why it is there. */
	for (p = buf; p; p = strchr(p, '\n')) {
		p += *p == '\n';
		ASSERT_NE(NULL, strstr(p, "module parameter"));
		if (!strchr(p, '\n'))
			break;
	}
	if (self->clear) {
		snprintf(want, sizeof(want), "clear=0x%016llx",
			 (unsigned long long)self->clear);
		ASSERT_NE(NULL, strstr(buf, want)) TH_LOG("no %s", want);
	}
	if (self->set) {
		snprintf(want, sizeof(want), "set=0x%016llx",
			 (unsigned long long)self->set);
		ASSERT_NE(NULL, strstr(buf, want)) TH_LOG("no %s", want);
	}
	ASSERT_LT(0, mdev_type_read(self->dev.bdf, "description", buf,
				    sizeof(buf)));
	snprintf(want, sizeof(want), "%llu quirk(s)",
		 (unsigned long long)self->lines);
	ASSERT_NE(NULL, strstr(buf, want)) TH_LOG("description: %s", buf);
}

TEST_F(quirk, cleared_bits_not_offered)
{
	struct vmm *v = &self->dev.vmm;

	ASSERT_EQ(0, self->dev.offered & self->clear);
	ASSERT_EQ(0, vmm_vio_device_features(v) & self->clear);
	/* Everything else the VF offers is untouched. */
	ASSERT_EQ(self->dev.vf & ~self->clear & self->dev.offered,
		  self->dev.vf & ~self->clear & vmm_vio_device_features(v));
	ASSERT_EQ(0, v->err);
}

TEST_F(quirk, set_bits_offered)
{
	struct vmm *v = &self->dev.vmm;

	if (!self->set)
		SKIP(return, "no set quirk for this function");
	ASSERT_EQ(self->set, self->dev.offered & self->set);
	ASSERT_EQ(self->set, vmm_vio_device_features(v) & self->set);
	ASSERT_EQ(0, v->err);
}

TEST_F(quirk, set_bits_negotiate)
{
	struct vmm *v = &self->dev.vmm;
	u64 want, neg;

	if (!self->set)
		SKIP(return, "no set quirk for this function");
	want = BIT_ULL(VIRTIO_F_VERSION_1) | self->set;
	ASSERT_EQ(want, self->dev.offered & want);
	/* The VF is told without them, so it accepts. */
	ASSERT_EQ(FEAT_OK, vmm_vio_negotiate(v, want));
	ASSERT_EQ(0, mdev_attr_u64(self->dev.uuid, "negotiated_features", &neg));
	ASSERT_EQ(want, neg);
	ASSERT_EQ(0, v->err);
}

TEST_F(quirk, cleared_bits_refused)
{
	struct vmm *v = &self->dev.vmm;
	u64 neg;

	if (!(self->clear & self->dev.vf))
		SKIP(return, "the VF offers none of the cleared bits");
	/* Accepting a bit the quirk took away is accepting the unoffered. */
	ASSERT_EQ(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER,
		  vmm_vio_negotiate(v, BIT_ULL(VIRTIO_F_VERSION_1) |
				    (self->clear & self->dev.vf)) & FEAT_OK);
	ASSERT_EQ(0, mdev_attr_u64(self->dev.uuid, "negotiated_features", &neg));
	ASSERT_EQ(0, neg);
	ASSERT_EQ(0, v->err);
}

TEST_HARNESS_MAIN
