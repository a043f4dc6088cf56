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
	/* The device, then the guest it was opened into, then the mdev. */
	if (self->dev.open)
		vmm_close(&self->dev.vmm);
	self->dev.open = false;
	if (self->g.kvm > 0)
		vmm_guest_destroy(&self->g);
	vmm_dev_destroy(&self->dev);
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

/*
 * Single cases.  A test binary runs only the cases named on its command
 * line, or in $VV_CASE as BINARY:NAME[,NAME...] (then a binary of another
 * name runs none: a shell test that runs several binaries runs the one
 * case asked for).  NAME is a test's name, FIXTURE.TEST or
 * FIXTURE.VARIANT.TEST.  "-l" lists the cases.  TEST_HARNESS_MAIN calls
 * this instead of the harness's own test_harness_run().
 */
static inline bool vmm_case_is(const char *want, const char *f,
			       const char *v, const char *t)
{
	char full[256];

	if (!strcmp(want, t))
		return true;
	snprintf(full, sizeof(full), "%s.%s", f, t);
	if (!strcmp(want, full))
		return true;
	snprintf(full, sizeof(full), "%s.%s.%s", f, v ? v : "", t);
	return v && !strcmp(want, full);
}

static inline bool vmm_case_wanted(char **want, int n, const char *f,
				   const char *v, const char *t)
{
	int i;

	for (i = 0; i < n; i++) {
		if (vmm_case_is(want[i], f, v, t))
			return true;
	}
	return false;
}

/*
 * Keep the variants and tests of @f that @want names; how many tests.  The
 * lists are cut in place: from here on the harness only follows ->next.
 */
static inline int vmm_case_filter(struct __fixture_metadata *f, char **want,
				  int n)
{
	struct __fixture_variant_metadata **vp, *v;
	struct __test_metadata **tp, *t;
	bool variants = f->variant, keep;
	int kept = 0;

	for (vp = &f->variant; (v = *vp);) {
		for (keep = false, t = f->tests; t && !keep; t = t->next)
			keep = vmm_case_wanted(want, n, f->name, v->name,
					       t->name);
		if (keep)
			vp = &v->next;
		else
			*vp = v->next;
	}
	for (tp = &f->tests; (t = *tp);) {
		keep = !variants &&
		       vmm_case_wanted(want, n, f->name, NULL, t->name);
		for (v = f->variant; v && !keep; v = v->next)
			keep = vmm_case_wanted(want, n, f->name, v->name,
					       t->name);
		if (keep) {
			tp = &t->next;
			kept++;
		} else {
			*tp = t->next;
		}
	}
	/* A fixture with variants but none kept runs nothing. */
	if (variants && !f->variant)
		f->tests = NULL;
	return f->tests ? kept : 0;
}

static inline void vmm_case_list(void)
{
	struct __fixture_variant_metadata *v;
	struct __fixture_metadata *f;
	struct __test_metadata *t;

	for (f = __fixture_list; f; f = f->next) {
		for (t = f->tests; t; t = t->next) {
			if (!f->variant)
				printf("%s.%s\n", f->name, t->name);
			for (v = f->variant; v; v = v->next)
				printf("%s.%s.%s\n", f->name, v->name, t->name);
		}
	}
}

static inline int vmm_test_harness_run(int argc, char **argv)
{
	char *env = getenv("VV_CASE"), *names, *colon, *want[64];
	struct __fixture_metadata *f;
	int n = 0, found = 0;

	if (argc == 2 && !strcmp(argv[1], "-l")) {
		vmm_case_list();
		return 0;
	}
	if (argc > 1) {
		for (n = 0; n < argc - 1 && n < 64; n++)
			want[n] = argv[n + 1];
	} else if (env && *env) {
		names = strdup(env);
		colon = names ? strchr(names, ':') : NULL;
		if (!colon) {
			fprintf(stderr, "VV_CASE=%s: not BINARY:NAME\n", env);
			return KSFT_FAIL;
		}
		*colon = '\0';
		/* Another binary's case: run none of these. */
		if (strcmp(names, basename(argv[0])))
			colon = NULL;
		for (env = colon ? strtok(colon + 1, ",") : NULL; env && n < 64;
		     env = strtok(NULL, ","))
			want[n++] = env;
		if (!colon) {
			for (f = __fixture_list; f; f = f->next)
				f->tests = NULL;
		}
	}
	if (n) {
		for (f = __fixture_list; f; f = f->next)
			found += vmm_case_filter(f, want, n);
		if (!found) {
			fprintf(stderr, "%s: no case named %s (-l lists them)\n",
				argv[0], want[0]);
			return KSFT_FAIL;
		}
	}
	return test_harness_run(argc, argv);
}

#define test_harness_run vmm_test_harness_run

#endif /* _VV_SELFTEST_VMM_TEST_H */
