// SPDX-License-Identifier: GPL-2.0-only
/*
 * zc_send - send a buffer that lives on one NUMA node over TCP with
 * MSG_ZEROCOPY, so the NIC reads it from those very pages.
 *
 *   zc_send IPV4 PORT SIZE_KB NODE COPY_FILE
 *
 * The buffer is bound to NODE (mbind), filled with pseudo-random bytes and
 * also written to COPY_FILE (for its checksum).  Every page is checked to
 * be on NODE (move_pages), then sent with MSG_ZEROCOPY, one send in flight
 * at a time.  The kernel's completion notification of each send says
 * whether it had to copy instead (no scatter-gather on the device,
 * loopback, a retransmission that split the buffer).  Prints one line:
 *   ZC-SENT bytes=B pages=P on_node=N notifications=M copied=C
 * and exits 0 if everything was sent.  Used in a nested guest (static).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <linux/mempolicy.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#ifndef SO_EE_ORIGIN_ZEROCOPY
#define SO_EE_ORIGIN_ZEROCOPY	5
#endif
#ifndef SO_EE_CODE_ZEROCOPY_COPIED
#define SO_EE_CODE_ZEROCOPY_COPIED	1
#endif
#define CHUNK	(64 * 1024)

static unsigned int notifications, copied;
static unsigned int completed_hi;

/* Read the completion notifications queued so far (wait for one if @block). */
static int drain(int fd, int block)
{
	char control[128];
	struct msghdr msg = { .msg_control = control };
	struct pollfd pfd = { .fd = fd };
	struct sock_extended_err *ee;
	struct cmsghdr *cm;

	for (;;) {
		msg.msg_controllen = sizeof(control);
		if (recvmsg(fd, &msg, MSG_ERRQUEUE) < 0) {
			if (errno != EAGAIN)
				return -errno;
			if (!block)
				return 0;
			if (poll(&pfd, 1, 30000) <= 0)
				return -ETIMEDOUT;
			continue;
		}
		block = 0;
		for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
			ee = (struct sock_extended_err *)CMSG_DATA(cm);
			if (ee->ee_origin != SO_EE_ORIGIN_ZEROCOPY)
				continue;
			notifications += ee->ee_data - ee->ee_info + 1;
			if (ee->ee_code & SO_EE_CODE_ZEROCOPY_COPIED)
				copied += ee->ee_data - ee->ee_info + 1;
			completed_hi = ee->ee_data + 1;
		}
	}
}

int main(int argc, char **argv)
{
	unsigned long nodemask, on_node = 0, i;
	size_t size, off, pages;
	unsigned int sent = 0, x = 2463534242u;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int *status, fd, out, one = 1, node;
	void **addrs;
	unsigned char *buf;

	if (argc != 6) {
		fprintf(stderr, "usage: %s IPV4 PORT SIZE_KB NODE COPY_FILE\n",
			argv[0]);
		return 2;
	}
	size = strtoul(argv[3], NULL, 0) * 1024;
	node = atoi(argv[4]);
	pages = size / 4096;
	buf = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return perror("mmap"), 1;
	nodemask = 1UL << node;
	if (syscall(SYS_mbind, buf, size, MPOL_BIND, &nodemask,
		    8 * sizeof(nodemask), MPOL_MF_STRICT))
		return perror("mbind"), 1;
	for (off = 0; off < size; off++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[off] = x;
	}
	out = open(argv[5], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0 || write(out, buf, size) != (ssize_t)size)
		return perror(argv[5]), 1;
	close(out);

	addrs = calloc(pages, sizeof(*addrs));
	status = calloc(pages, sizeof(*status));
	if (!addrs || !status)
		return perror("calloc"), 1;
	for (i = 0; i < pages; i++)
		addrs[i] = buf + i * 4096;
	if (syscall(SYS_move_pages, 0, pages, addrs, NULL, status, 0))
		return perror("move_pages"), 1;
	for (i = 0; i < pages; i++)
		on_node += status[i] == node;

	sin.sin_port = htons(atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1)
		return fprintf(stderr, "not an IPv4 address: %s\n", argv[1]), 1;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)) ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
		return perror("socket"), 1;
	for (off = 0; off < size; ) {
		ssize_t n = send(fd, buf + off, size - off < CHUNK ?
				 size - off : CHUNK, MSG_ZEROCOPY);

		if (n < 0 && errno == ENOBUFS) {
			/* Too many notifications pending: read some first. */
			if (drain(fd, 1))
				return perror("errqueue"), 1;
			continue;
		}
		if (n < 0)
			return perror("send"), 1;
		off += n;
		sent++;
		/*
		 * One send in flight: the kernel merges the notifications of
		 * consecutive sends into one range with the flags of the first
		 * (a retransmission that had to copy would mark them all).
		 */
		while (completed_hi < sent)
			if (drain(fd, 1))
				return perror("errqueue"), 1;
	}
	shutdown(fd, SHUT_WR);
	close(fd);
	printf("ZC-SENT bytes=%zu pages=%zu on_node=%lu notifications=%u copied=%u\n",
	       size, pages, on_node, notifications, copied);
	return 0;
}
