// SPDX-License-Identifier: GPL-2.0-only
/*
 * tcp_sink PORT FILE [TIMEOUT_S]: accept one TCP connection on PORT, copy
 * everything it sends into FILE until the peer closes, print the byte count
 * and the rate, and exit.  busybox nc cannot do this: in listen mode it only
 * stops at EOF on its own stdin.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	unsigned long long total = 0;
	int one = 1, lfd, cfd;
	double t0 = 0, t1;
	char buf[65536];
	ssize_t n;
	FILE *out;

	if (argc < 3) {
		fprintf(stderr, "usage: %s PORT FILE [TIMEOUT_S]\n", argv[0]);
		return 2;
	}
	alarm(argc > 3 ? atoi(argv[3]) : 300);
	addr.sin_port = htons(atoi(argv[1]));
	out = fopen(argv[2], "w");
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (!out || lfd < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) || listen(lfd, 1)) {
		perror("tcp_sink: setup");
		return 1;
	}
	cfd = accept(lfd, NULL, NULL);
	if (cfd < 0) {
		perror("tcp_sink: accept");
		return 1;
	}
	for (;;) {
		n = read(cfd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (!total)
			t0 = now_s();
		total += n;
		if (fwrite(buf, 1, n, out) != (size_t)n) {
			perror("tcp_sink: write");
			return 1;
		}
	}
	t1 = now_s();
	fclose(out);
	printf("tcp_sink: %llu bytes in %.3f s: %.2f MB/s\n", total, t1 - t0,
	       t1 > t0 ? total / (t1 - t0) / 1e6 : 0.0);
	return n < 0;
}
