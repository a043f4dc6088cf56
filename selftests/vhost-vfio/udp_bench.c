// SPDX-License-Identifier: GPL-2.0-only
/*
 * udp_bench: a minimal packet-rate meter for the benchmarks, linked
 * statically so it runs in the nested guest's busybox initramfs.
 *
 *   udp_bench send HOST PORT SECONDS SIZE   blast SIZE-byte datagrams
 *   udp_bench recv PORT SECONDS             count what arrives
 *
 * recv stops SECONDS after the first datagram (or after 300 s with none:
 * the sender may be a guest still booting) and prints packets, bytes,
 * packets per second and MB/s.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int do_send(const char *host, int port, double secs, size_t size)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	unsigned long long pkts = 0, errs = 0;
	char buf[65536];
	double t0, t;
	int fd;

	if (size > sizeof(buf) || inet_pton(AF_INET, host, &to.sin_addr) != 1)
		return 2;
	to.sin_port = htons(port);
	memset(buf, 0xa5, sizeof(buf));
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof(to))) {
		perror("udp_bench: send setup");
		return 1;
	}
	t0 = now_s();
	do {
		if (send(fd, buf, size, 0) == (ssize_t)size)
			pkts++;
		else
			errs++;
		t = now_s();
	} while (t - t0 < secs);
	printf("udp_bench send: %llu packets of %zu bytes in %.2f s: %.0f pps (%llu send errors)\n",
	       pkts, size, t - t0, pkts / (t - t0), errs);
	return 0;
}

static int do_recv(int port, double secs)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	unsigned long long pkts = 0, bytes = 0;
	int fd, rcvbuf = 4 << 20;
	double t0 = 0, t_last = 0, start = now_s();
	char buf[65536];

	addr.sin_port = htons(port);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		perror("udp_bench: recv setup");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	printf("udp_bench recv: listening on %d\n", port);
	fflush(stdout);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		double t = now_s();
		ssize_t n;

		if (pkts ? t - t0 >= secs : t - start >= 300)
			break;
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			continue;
		if (!pkts)
			t0 = now_s();
		pkts++;
		bytes += n;
		t_last = now_s();
	}
	if (pkts < 2 || t_last <= t0) {
		printf("udp_bench recv: %llu packets: too few to measure\n", pkts);
		return 1;
	}
	printf("udp_bench recv: %llu packets, %llu bytes in %.2f s: %.0f pps %.2f MB/s\n",
	       pkts, bytes, t_last - t0, pkts / (t_last - t0),
	       bytes / (t_last - t0) / 1e6);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "send"))
		return do_send(argv[2], atoi(argv[3]), atof(argv[4]),
			       strtoul(argv[5], NULL, 0));
	if (argc == 4 && !strcmp(argv[1], "recv"))
		return do_recv(atoi(argv[2]), atof(argv[3]));
	fprintf(stderr, "usage: %s send HOST PORT SECONDS SIZE | recv PORT SECONDS\n",
		argv[0]);
	return 2;
}
