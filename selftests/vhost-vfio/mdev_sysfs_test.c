// SPDX-License-Identifier: GPL-2.0-only
/*
 * mdev type and instance lifecycle through sysfs: one instance per VF,
 * create/remove, the type's attributes and the instance's attribute set.
 *
 * Environment: VV_BDF (a function bound to vhost_vfio_virtio_pci), VV_BDF2
 * (optional, a second one).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/virtio_config.h>

#include "vmm_test.h"

#define DEBUGFS_DIR	"/sys/kernel/debug/vhost_vfio"

FIXTURE(mdev_type) {
	const char *bdf;
	const char *bdf2;
	char uuid[VMM_UUID_LEN + 1];
	char uuid2[VMM_UUID_LEN + 1];
};

FIXTURE_SETUP(mdev_type)
{
	char path[PATH_MAX];

	self->bdf = vmm_env_bdf("VV_BDF");
	self->bdf2 = vmm_env_bdf("VV_BDF2");
	ASSERT_NE(NULL, self->bdf) TH_LOG("VV_BDF is not set");
	ASSERT_EQ(0, mdev_type_path(path, sizeof(path), self->bdf, ""));
	ASSERT_EQ(0, access(path, F_OK))
		TH_LOG("%s has no " VMM_MDEV_TYPE " type: is it bound to "
		       VMM_MDEV_DRIVER "?", self->bdf);
}

FIXTURE_TEARDOWN(mdev_type)
{
	if (self->uuid[0] && mdev_exists(self->uuid))
		mdev_remove(self->uuid);
	if (self->uuid2[0] && mdev_exists(self->uuid2))
		mdev_remove(self->uuid2);
}

static int available(const char *bdf)
{
	char buf[32];
	int ret;

	ret = mdev_type_read(bdf, "available_instances", buf, sizeof(buf));
	if (ret < 0)
		return ret;
	return strcmp(buf, "0") ? (strcmp(buf, "1") ? -EINVAL : 1) : 0;
}

TEST_F(mdev_type, type_attributes)
{
	char buf[512], path[PATH_MAX];

	ASSERT_LT(0, mdev_type_read(self->bdf, "name", buf, sizeof(buf)));
	TH_LOG("name: %s", buf);
	ASSERT_LT(0, mdev_type_read(self->bdf, "device_api", buf, sizeof(buf)));
	ASSERT_STREQ("vfio-pci", buf);
	ASSERT_LT(0, mdev_type_read(self->bdf, "description", buf,
				    sizeof(buf)));
	TH_LOG("description: %s", buf);
	/* The operator must be able to tell which VF the type lives on. */
	ASSERT_NE(NULL, strstr(buf, self->bdf));
	ASSERT_EQ(1, available(self->bdf));
	/* The type's identity and count are read-only. */
	ASSERT_EQ(0, mdev_type_path(path, sizeof(path), self->bdf,
				    "available_instances"));
	ASSERT_EQ(-EACCES, sysfs_write(path, "5"));
	ASSERT_EQ(1, available(self->bdf));
}

TEST_F(mdev_type, create_remove_instances)
{
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;

	ASSERT_EQ(1, available(self->bdf));
	ASSERT_EQ(0, mdev_create(self->bdf, self->uuid));
	ASSERT_TRUE(mdev_exists(self->uuid));
	ASSERT_EQ(0, available(self->bdf));

	/* The instance is of our type and bound to the vhost_vfio driver. */
	ASSERT_EQ(0, mdev_attr_path(path, sizeof(path), self->uuid, "driver"));
	n = readlink(path, link, sizeof(link) - 1);
	ASSERT_LT(0, n);
	link[n] = '\0';
	ASSERT_NE(NULL, strstr(link, "/vhost_vfio"));
	ASSERT_EQ(0, mdev_attr_path(path, sizeof(path), self->uuid,
				    "mdev_type"));
	ASSERT_NE(NULL, realpath(path, link));
	ASSERT_NE(NULL, strstr(link, "/" VMM_MDEV_TYPE));
	ASSERT_NE(NULL, strstr(link, self->bdf)) TH_LOG("mdev_type: %s", link);

	ASSERT_EQ(0, mdev_remove(self->uuid));
	ASSERT_FALSE(mdev_exists(self->uuid));
	ASSERT_EQ(1, available(self->bdf));

	/* And again: removal really freed the VF. */
	ASSERT_EQ(0, mdev_create(self->bdf, self->uuid));
	ASSERT_EQ(0, available(self->bdf));
	ASSERT_EQ(0, mdev_remove(self->uuid));
	ASSERT_EQ(1, available(self->bdf));
}

TEST_F(mdev_type, second_create_fails)
{
	ASSERT_EQ(0, mdev_create(self->bdf, self->uuid));
	ASSERT_GT(0, mdev_create(self->bdf, self->uuid2));
	ASSERT_FALSE(mdev_exists(self->uuid2));
	ASSERT_EQ(0, available(self->bdf));
	/* The first instance is unharmed. */
	ASSERT_TRUE(mdev_exists(self->uuid));
	ASSERT_EQ(0, mdev_remove(self->uuid));
	ASSERT_EQ(1, available(self->bdf));
}

TEST_F(mdev_type, one_instance_per_vf_not_global)
{
	if (!self->bdf2)
		SKIP(return, "VV_BDF2 not set");
	ASSERT_EQ(0, mdev_create(self->bdf, self->uuid));
	ASSERT_EQ(1, available(self->bdf2));
	ASSERT_EQ(0, mdev_create(self->bdf2, self->uuid2));
	ASSERT_EQ(0, available(self->bdf2));
	ASSERT_EQ(0, mdev_remove(self->uuid2));
	ASSERT_EQ(1, available(self->bdf2));
	ASSERT_EQ(0, available(self->bdf));
}

TEST_F(mdev_type, duplicate_uuid_rejected)
{
	if (!self->bdf2)
		SKIP(return, "VV_BDF2 not set");
	ASSERT_EQ(0, mdev_create(self->bdf, self->uuid));
	ASSERT_EQ(-EEXIST, mdev_create_uuid(self->bdf2, self->uuid));
	ASSERT_EQ(1, available(self->bdf2));
}

TEST_F(mdev_type, instance_attributes)
{
	static const char * const rw[] = {
		"mac", "mtu", "max_queue_pairs", "features_mask",
	};
	static const char * const ro[] = {
		"vf_features", "offered_features", "negotiated_features",
		"quirks", "status",
	};
	u64 vf, offered, val;
	char buf[256];
	unsigned int i;

	ASSERT_EQ(0, mdev_create(self->bdf, self->uuid));
	for (i = 0; i < ARRAY_SIZE(rw); i++)
		ASSERT_LE(0, mdev_attr_read(self->uuid, rw[i], buf,
					    sizeof(buf))) TH_LOG("rw attribute %u", i);
	for (i = 0; i < ARRAY_SIZE(ro); i++) {
		ASSERT_LE(0, mdev_attr_read(self->uuid, ro[i], buf,
					    sizeof(buf))) TH_LOG("%s", ro[i]);
		TH_LOG("%s: %s", ro[i], buf);
		/* Read-only for everyone, root included. */
		ASSERT_EQ(-EACCES, mdev_attr_write(self->uuid, ro[i], "0"))
			TH_LOG("%s", ro[i]);
	}

	/* Defaults: nothing provisioned, nothing negotiated. */
	ASSERT_EQ(0, mdev_attr_read(self->uuid, "mac", buf, sizeof(buf)));
	ASSERT_EQ(0, mdev_attr_u64(self->uuid, "mtu", &val));
	ASSERT_EQ(0, val);
	ASSERT_EQ(0, mdev_attr_u64(self->uuid, "max_queue_pairs", &val));
	ASSERT_EQ(0, val);
	ASSERT_EQ(0, mdev_attr_u64(self->uuid, "features_mask", &val));
	ASSERT_EQ(~0ULL, val);
	ASSERT_EQ(0, mdev_attr_u64(self->uuid, "negotiated_features", &val));
	ASSERT_EQ(0, val);
	ASSERT_EQ(0, mdev_attr_u64(self->uuid, "status", &val));
	ASSERT_EQ(0, val);

	/* Without quirks or provisioning nothing is offered the VF lacks. */
	ASSERT_LT(0, mdev_attr_read(self->uuid, "quirks", buf, sizeof(buf)));
	ASSERT_STREQ("none", buf);
	ASSERT_EQ(0, mdev_attr_u64(self->uuid, "vf_features", &vf));
	ASSERT_EQ(0, mdev_attr_u64(self->uuid, "offered_features", &offered));
	ASSERT_EQ(0, offered & ~vf);
	ASSERT_NE(0, offered & BIT_ULL(VIRTIO_F_VERSION_1));
}

TEST_F(mdev_type, debugfs_counters_follow_instance)
{
	char path[PATH_MAX], buf[256];

	if (access(DEBUGFS_DIR, F_OK))
		SKIP(return, "debugfs not mounted or vhost_vfio has no directory");
	ASSERT_EQ(0, mdev_create(self->bdf, self->uuid));
	snprintf(path, sizeof(path), DEBUGFS_DIR "/%s/counters", self->uuid);
	ASSERT_LT(0, sysfs_read(path, buf, sizeof(buf)));
	ASSERT_NE(NULL, strstr(buf, "config: "));
	ASSERT_EQ(0, mdev_remove(self->uuid));
	snprintf(path, sizeof(path), DEBUGFS_DIR "/%s", self->uuid);
	ASSERT_NE(0, access(path, F_OK));
}

TEST_HARNESS_MAIN
