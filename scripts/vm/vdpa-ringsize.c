// SPDX-License-Identifier: GPL-2.0-only
/*
 * vdpa-ringsize IFNAME RX TX: set a network interface's ring sizes, as
 * `ethtool -G IFNAME rx RX tx TX` does (the nested guest's initramfs has
 * busybox only).  The vhost-vdpa column of the benchmark needs it: QEMU
 * 10.0.13 offers every virtqueue at 1024 entries, vp_vdpa takes at most
 * 256, so the guest shrinks its rings (virtio queue reset) before QEMU
 * starts vhost-vdpa (scripts/vm/bench4-l1.sh).  Built statically at
 * benchmark time by scripts/vm/vdpa-build.sh, never shipped.
 */
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct ethtool_ringparam r = { .cmd = ETHTOOL_GRINGPARAM };
	struct ifreq ifr = { 0 };
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: %s IFNAME RX TX\n", argv[0]);
		return 2;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[1]);
	ifr.ifr_data = (void *)&r;
	if (fd < 0 || ioctl(fd, SIOCETHTOOL, &ifr) < 0) {
		perror("ETHTOOL_GRINGPARAM");
		return 1;
	}
	printf("%s: rx %u/%u tx %u/%u", argv[1], r.rx_pending, r.rx_max_pending,
	       r.tx_pending, r.tx_max_pending);
	r.cmd = ETHTOOL_SRINGPARAM;
	r.rx_pending = strtoul(argv[2], NULL, 0);
	r.tx_pending = strtoul(argv[3], NULL, 0);
	if (ioctl(fd, SIOCETHTOOL, &ifr) < 0) {
		perror(" ETHTOOL_SRINGPARAM");
		return 1;
	}
	r.cmd = ETHTOOL_GRINGPARAM;
	ioctl(fd, SIOCETHTOOL, &ifr);
	printf(" -> rx %u tx %u\n", r.rx_pending, r.tx_pending);
	close(fd);
	return 0;
}
