// SPDX-License-Identifier: GPL-2.0-only
/*
 * hold_open: open a VFIO device the way a VMM does, for the shell tests.
 *
 * hold_open UUID
 *	Open the mdev (container, type1v2 IOMMU, group, device fd), print
 *	"open" and keep it open until stdin reaches EOF.  Lets a test observe
 *	behaviour while a device is in use.
 * hold_open --loop SECONDS UUID
 *	Open and close it again and again (print "open" after the first
 *	time) until it is gone or SECONDS passed; print "opens N, refused M
 *	(ERRNO:COUNT ...), gone|time"; exit 0 if it opened at least once.
 *	Lets a test race the device's removal with its users.
 * hold_open --once UUID|BDF
 *	Open once and close again: an mdev UUID the whole way to the device
 *	fd, a PCI function BDF (bound to vfio-pci) up to VFIO_SET_IOMMU.
 *
 * When an open fails every mode prints "refused STEP ERRNO", naming the
 * step that failed (e.g. "refused VFIO_GROUP_GET_DEVICE_FD EPERM"), and
 * exits 1.  Lets a test check who refuses an open, and why.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "vmm.h"

struct holder {
	struct vmm vmm;		/* its fds */
	const char *step;	/* the step that failed */
};

static const char *errname(int err)
{
	const char *name = strerrorname_np(err);

	return name ? name : "?";
}

static bool is_mdev(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), VMM_MDEV_DEVICES "/%s", name);
	return access(path, F_OK) == 0;
}

/*
 * Open @name's group into a type1v2 container and, for an mdev, the
 * device.  Return: 0, or a negative errno with h->step naming the step.
 */
static int holder_open(struct holder *h, const char *name, bool mdev)
{
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;
	int ret;

	vmm_init(&h->vmm, name);
	snprintf(path, sizeof(path), "%s/%s/iommu_group",
		 mdev ? VMM_MDEV_DEVICES : VMM_PCI_DEVICES, name);
	h->step = "iommu_group";
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		goto err_errno;
	link[n] = '\0';
	h->step = "open /dev/vfio/vfio";
	h->vmm.container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (h->vmm.container < 0)
		goto err_errno;
	snprintf(path, sizeof(path), "/dev/vfio/%s", basename(link));
	h->step = "open /dev/vfio/GROUP";
	h->vmm.group = open(path, O_RDWR | O_CLOEXEC);
	if (h->vmm.group < 0)
		goto err_errno;
	h->step = "VFIO_GROUP_SET_CONTAINER";
	if (ioctl(h->vmm.group, VFIO_GROUP_SET_CONTAINER, &h->vmm.container))
		goto err_errno;
	h->step = "VFIO_SET_IOMMU";
	if (ioctl(h->vmm.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		goto err_errno;
	if (!mdev)
		return 0;
	h->step = "VFIO_GROUP_GET_DEVICE_FD";
	h->vmm.device = ioctl(h->vmm.group, VFIO_GROUP_GET_DEVICE_FD, name);
	if (h->vmm.device < 0)
		goto err_errno;
	return 0;

err_errno:
	ret = -errno;
	vmm_close(&h->vmm);
	return ret;
}

static int say_refused(struct holder *h, int err)
{
	printf("refused %s %s\n", h->step, errname(-err));
	return 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int loop(double seconds, const char *uuid)
{
	unsigned int opens = 0, nrefused = 0, count[200] = { 0 };
	const char *why = "time";
	double end = now() + seconds;
	struct holder h;
	int err, ret;

	while (now() < end) {
		if (!is_mdev(uuid)) {
			why = "gone";
			break;
		}
		ret = holder_open(&h, uuid, true);
		if (ret) {
			nrefused++;
			count[-ret < 200 ? -ret : 0]++;
			continue;
		}
		if (!opens++) {
			printf("open\n");
			fflush(stdout);
		}
		vmm_close(&h.vmm);
	}
	printf("opens %u, refused %u (", opens, nrefused);
	for (err = 0, ret = 0; err < 200; err++) {
		if (count[err])
			printf("%s%s:%u", ret++ ? " " : "", errname(err),
			       count[err]);
	}
	printf("), %s\n", why);
	return opens ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct holder h;
	char buf[256];
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "--loop"))
		return loop(strtod(argv[2], NULL), argv[3]);
	if (argc == 3 && !strcmp(argv[1], "--once")) {
		ret = holder_open(&h, argv[2], is_mdev(argv[2]));
		if (ret)
			return say_refused(&h, ret);
		printf("open\n");
		vmm_close(&h.vmm);
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr,
			"usage: %s UUID | --loop SECONDS UUID | --once UUID|BDF\n",
			argv[0]);
		return 2;
	}
	ret = holder_open(&h, argv[1], true);
	if (ret)
		return say_refused(&h, ret);
	printf("open\n");
	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
		;
	vmm_close(&h.vmm);
	return 0;
}
