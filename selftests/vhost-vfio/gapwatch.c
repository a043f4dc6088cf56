// SPDX-License-Identifier: GPL-2.0-only
/*
 * gapwatch: run in the nested guest (L2) from before virtio_net loads and
 * record the longest time this process was kept off the CPU.  On a 1-vCPU
 * guest, a vCPU held in an exit (an MMIO write the host takes long to
 * emulate) shows up here as a gap.  SIGUSR1 prints
 * "L2-GAP max_us=N at_ms=T samples=S" and exits.
 */
#include <signal.h>
#include <stdio.h>
#include <time.h>

/* SIGUSR1 is blocked and polled: no handler, no shared flag. */
static int usr1_pending(void)
{
	sigset_t set;

	return !sigpending(&set) && sigismember(&set, SIGUSR1);
}

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int main(void)
{
	unsigned long long start = now_ns(), prev = start, t, gap;
	unsigned long long max_gap = 0, max_at = 0, samples = 0;
	struct timespec tick = { .tv_nsec = 100000 };
	sigset_t usr1;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	while (!usr1_pending()) {
		/* Sleep, so the guest's own work runs; wake-up lateness counts. */
		nanosleep(&tick, NULL);
		t = now_ns();
		gap = t - prev;
		if (gap > max_gap) {
			max_gap = gap;
			max_at = prev - start;
		}
		prev = t;
		samples++;
	}
	printf("L2-GAP max_us=%llu at_ms=%llu samples=%llu\n", max_gap / 1000,
	       max_at / 1000000, samples);
	return 0;
}
