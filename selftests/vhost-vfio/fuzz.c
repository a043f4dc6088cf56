// SPDX-License-Identifier: GPL-2.0-only
/*
 * Seeded, time-bounded fuzzer of a vhost-vfio mdev's uAPI: region reads
 * and writes at random offsets and sizes (weighted toward the registers
 * that carry state), common configuration writes with random and boundary
 * values, PCI_CFG window use, well-formed-ish VFIO ioctls, device resets,
 * mmap attempts and occasional close/reopen of the device fd.
 *
 * The operation sequence depends only on the seed, so --seed S --ops N
 * replays a run up to operation N.  Every result is checked against the
 * errno classes a well-formed call may return, and every --check operations
 * the device must still identify itself, reset and negotiate.
 *
 * usage: fuzz --uuid UUID [--seed S] [--seconds T] [--ops N] [--check K]
 * Without --uuid, an mdev is created on $VV_BDF and removed at the end.
 * Output is TAP with one result.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>

#include "vmm.h"

#define ACK_DRIVER	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER)
#define FEAT_OK		(ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK)
#define PAGE		4096
#define NR_EFD		4
#define HISTORY		16
#define MAX_VEC		2048

struct fuzz {
	struct vmm vmm;
	char uuid[VMM_UUID_LEN + 1];
	u64 rng;
	u64 seed;
	u64 op;
	u64 offered;
	u16 nq;
	u16 nvec;
	int efd[NR_EFD];
	int closed_fd;
	char hist[HISTORY][128];
	u64 counts[16];
};

static u64 next(struct fuzz *f)
{
	/* splitmix64: good enough, and trivially reproducible. */
	u64 z = (f->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static u32 below(struct fuzz *f, u32 n)
{
	return n ? next(f) % n : 0;
}

static void note(struct fuzz *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->hist[f->op % HISTORY], sizeof(f->hist[0]), fmt, ap);
	va_end(ap);
}

static void fail(struct fuzz *f, const char *fmt, ...)
{
	unsigned int i;
	u64 op;
	va_list ap;

	printf("# fuzz: FAILED at operation %llu, seed %llu: ",
	       (unsigned long long)f->op, (unsigned long long)f->seed);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n# last operations:\n");
	for (i = HISTORY; i > 0; i--) {
		op = f->op + 1 - i;
		if (op > f->op || !f->hist[op % HISTORY][0])
			continue;
		printf("#   %llu: %s\n", (unsigned long long)op,
		       f->hist[op % HISTORY]);
	}
	printf("# replay: fuzz --uuid UUID --seed %llu --ops %llu\n",
	       (unsigned long long)f->seed, (unsigned long long)f->op + 1);
	printf("not ok 1 fuzz seed %llu: invariant failed at operation %llu\n",
	       (unsigned long long)f->seed, (unsigned long long)f->op);
	fflush(stdout);
	exit(1);
}

/* Errno classes no well-formed call may produce. */
static void check_errno(struct fuzz *f, const char *what, int err)
{
	if (err == -EFAULT || err == -ENOMEM || err == -EIO || err == -ENXIO ||
	    err == -EPERM || err == -ENOSPC)
		fail(f, "%s: unexpected %s", what, strerror(-err));
}

static long do_rw(struct fuzz *f, bool write, u64 off, void *buf, size_t len)
{
	long n;

	n = syscall(write ? __NR_pwrite64 : __NR_pread64, f->vmm.device, buf,
		    len, off);
	return n < 0 ? -errno : n;
}

/* An offset inside region @idx, weighted toward its registers. */
static u64 pick_offset(struct fuzz *f, unsigned int idx, u64 size)
{
	struct vmm *v = &f->vmm;
	u32 r = below(f, 100);

	if (!size)
		return below(f, PAGE);
	if (idx == VFIO_PCI_BAR0_REGION_INDEX + v->common.bar && r < 50)
		return v->common.offset + below(f, 0x40);
	if (idx == VFIO_PCI_BAR0_REGION_INDEX + v->isr.bar && r < 55)
		return v->isr.offset + below(f, 4);
	if (idx == VFIO_PCI_BAR0_REGION_INDEX + v->device_cfg.bar && r < 65)
		return v->device_cfg.offset + below(f, 0x40);
	if (idx == VMM_CFG && r < 40 && v->pci_cfg.found)
		return v->pci_cfg.pos + below(f, 20);
	if (r < 90)
		return below(f, size);
	/* The last bytes and just beyond the end. */
	return size - 8 + below(f, 16);
}

static size_t pick_size(struct fuzz *f)
{
	static const size_t sizes[] = { 1, 2, 4, 4, 2, 1, 4, 3, 8, 16, 64, 0 };
	u32 r = below(f, 100);

	if (r < 97)
		return sizes[below(f, ARRAY_SIZE(sizes))];
	return below(f, 3 * PAGE);
}

static u32 pick_value(struct fuzz *f)
{
	u32 vals[] = { 0, 1, 2, 3, 0x7f, 0x80, 0xff, 0x100, 0x3ff, 0x400,
		       0x7fff, 0x8000, 0xfffe, 0xffff, 0x10000, 0x7fffffff,
		       0x80000000, 0xfffffffe, 0xffffffff, f->nq, f->nq + 1u,
		       f->nvec, f->nvec - 1u, VIRTIO_CONFIG_S_DRIVER_OK,
		       FEAT_OK, FEAT_OK | VIRTIO_CONFIG_S_DRIVER_OK };

	if (below(f, 2))
		return vals[below(f, ARRAY_SIZE(vals))];
	return (u32)next(f);
}

static void op_rw(struct fuzz *f, bool write)
{
	static const unsigned int weights[] = {
		/* BAR0..5, ROM, config, VGA, beyond */
		45, 6, 10, 1, 1, 1, 1, 30, 1, 4,
	};
	struct vmm *v = &f->vmm;
	unsigned int idx = 0, w = below(f, 100);
	u8 buf[3 * PAGE];
	u64 size, off;
	size_t len;
	long n, want;
	u32 val;

	while (idx < ARRAY_SIZE(weights) - 1 && w >= weights[idx])
		w -= weights[idx++];
	if (idx == ARRAY_SIZE(weights) - 1)
		idx = VFIO_PCI_NUM_REGIONS + below(f, 0x100);
	size = vmm_region_size(v, idx);
	off = pick_offset(f, idx, size);
	len = pick_size(f);
	val = pick_value(f);
	memcpy(buf, &val, sizeof(val));
	memset(buf + 4, (u8)val, sizeof(buf) - 4);
	note(f, "%s region %u offset 0x%llx len %zu val 0x%x",
	     write ? "write" : "read", idx, (unsigned long long)off, len, val);

	want = len && off < size && len <= size - off ? (long)len : -EINVAL;
	n = do_rw(f, write, ((u64)idx << 40) + off, buf, len);
	check_errno(f, "region access", n < 0 ? n : 0);
	if (n != want)
		fail(f, "region %u offset 0x%llx len %zu %s: got %ld, want %ld",
		     idx, (unsigned long long)off, len,
		     write ? "write" : "read", n, want);
	f->counts[write]++;
}

/* A register write to the common configuration at its natural width. */
static void op_common(struct fuzz *f)
{
	static const struct {
		u8 off;
		u8 width;
	} regs[] = {
		{ VIRTIO_PCI_COMMON_DFSELECT, 4 }, { VIRTIO_PCI_COMMON_GFSELECT, 4 },
		{ VIRTIO_PCI_COMMON_GF, 4 }, { VIRTIO_PCI_COMMON_MSIX, 2 },
		{ VIRTIO_PCI_COMMON_STATUS, 1 }, { VIRTIO_PCI_COMMON_STATUS, 1 },
		{ VIRTIO_PCI_COMMON_Q_SELECT, 2 }, { VIRTIO_PCI_COMMON_Q_SELECT, 2 },
		{ VIRTIO_PCI_COMMON_Q_SIZE, 2 }, { VIRTIO_PCI_COMMON_Q_MSIX, 2 },
		{ VIRTIO_PCI_COMMON_Q_ENABLE, 2 },
		{ VIRTIO_PCI_COMMON_Q_DESCLO, 4 }, { VIRTIO_PCI_COMMON_Q_DESCHI, 4 },
		{ VIRTIO_PCI_COMMON_Q_AVAILLO, 4 },
		{ VIRTIO_PCI_COMMON_Q_AVAILHI, 4 },
		{ VIRTIO_PCI_COMMON_Q_USEDLO, 4 }, { VIRTIO_PCI_COMMON_Q_USEDHI, 4 },
	};
	struct vmm *v = &f->vmm;
	unsigned int i = below(f, ARRAY_SIZE(regs));
	u32 val = pick_value(f);
	int ret;

	if (regs[i].off == VIRTIO_PCI_COMMON_Q_SELECT && below(f, 4))
		val = below(f, f->nq + 1);
	if (regs[i].off == VIRTIO_PCI_COMMON_STATUS && below(f, 4))
		val = below(f, 0x10);
	note(f, "common cfg 0x%x <- 0x%x", regs[i].off, val);
	ret = vmm_reg_write(v, v->common.bar, v->common.offset + regs[i].off,
			    regs[i].width, val);
	if (ret)
		fail(f, "common cfg write 0x%x: %s", regs[i].off,
		     strerror(-ret));
	f->counts[2]++;
}

/* Set the PCI_CFG window to something and access its data. */
static void op_window(struct fuzz *f)
{
	struct vmm *v = &f->vmm;
	u8 pos = v->pci_cfg.pos;
	u8 bar = below(f, 4) ? below(f, 3) : (u8)next(f);
	u32 off = below(f, 2) ? below(f, 0x4000) : (u32)next(f);
	u32 len = below(f, 4) ? 1u << below(f, 3) : pick_value(f);
	u32 val = 0;
	int ret;

	if (!v->pci_cfg.found)
		return;
	note(f, "window bar %u offset 0x%x length 0x%x", bar, off, len);
	ret = vmm_reg_write(v, VMM_CFG, pos + 4, 1, bar);
	if (!ret)
		ret = vmm_reg_write(v, VMM_CFG, pos + 8, 4, off);
	if (!ret)
		ret = vmm_reg_write(v, VMM_CFG, pos + 12, 4, len);
	if (!ret && below(f, 2))
		ret = vmm_reg_write(v, VMM_CFG, pos + 16, 4, pick_value(f));
	if (!ret)
		ret = vmm_reg_read(v, VMM_CFG, pos + 16, 4, &val);
	if (ret)
		fail(f, "PCI_CFG window: %s", strerror(-ret));
	f->counts[3]++;
}

static void op_info(struct fuzz *f)
{
	union {
		struct vfio_region_info r;
		struct vfio_irq_info i;
		struct vfio_device_info d;
		u8 pad[PAGE];
	} u;
	struct vmm *v = &f->vmm;
	u32 kind = below(f, 3), idx = below(f, 12), argsz;
	unsigned long cmd;
	int ret;

	if (!below(f, 8))
		idx = (u32)next(f);
	argsz = below(f, 4) ? sizeof(u.r) + below(f, 64) : below(f, sizeof(u));
	memset(&u, 0, sizeof(u));
	if (kind == 0) {
		cmd = VFIO_DEVICE_GET_REGION_INFO;
		u.r.argsz = argsz;
		u.r.index = idx;
	} else if (kind == 1) {
		cmd = VFIO_DEVICE_GET_IRQ_INFO;
		u.i.argsz = argsz;
		u.i.index = idx;
	} else {
		cmd = VFIO_DEVICE_GET_INFO;
		u.d.argsz = argsz;
	}
	note(f, "info ioctl %u index 0x%x argsz %u", kind, idx, argsz);
	ret = ioctl(v->device, cmd, &u) ? -errno : 0;
	check_errno(f, "info ioctl", ret);
	if (ret && ret != -EINVAL)
		fail(f, "info ioctl %u: %s", kind, strerror(-ret));
	f->counts[4]++;
}

static void op_set_irqs(struct fuzz *f)
{
	struct {
		struct vfio_irq_set hdr;
		__s32 fds[MAX_VEC + 8];
	} *s;
	static const u32 dtypes[] = { VFIO_IRQ_SET_DATA_NONE,
				      VFIO_IRQ_SET_DATA_BOOL,
				      VFIO_IRQ_SET_DATA_EVENTFD,
				      VFIO_IRQ_SET_DATA_EVENTFD };
	static const u32 actions[] = { VFIO_IRQ_SET_ACTION_TRIGGER,
				       VFIO_IRQ_SET_ACTION_TRIGGER,
				       VFIO_IRQ_SET_ACTION_MASK,
				       VFIO_IRQ_SET_ACTION_UNMASK };
	struct vmm *v = &f->vmm;
	u32 i, start, count;
	int ret, fd;

	s = calloc(1, sizeof(*s));
	if (!s)
		fail(f, "out of memory");
	start = below(f, 8) ? below(f, f->nvec) : (u32)next(f);
	count = below(f, 8) ? below(f, f->nvec + 2u) : (u32)next(f);
	s->hdr.argsz = below(f, 8) ? sizeof(*s) : below(f, sizeof(*s));
	s->hdr.flags = dtypes[below(f, 4)] | actions[below(f, 4)];
	if (!below(f, 16))
		s->hdr.flags = (u32)next(f);
	s->hdr.index = below(f, 8) ? VFIO_PCI_MSIX_IRQ_INDEX : below(f, 6);
	s->hdr.start = start;
	s->hdr.count = count;
	for (i = 0; i < MAX_VEC + 8; i++) {
		switch (below(f, 8)) {
		case 0:
			fd = -1;
			break;
		case 1:
			fd = f->closed_fd;
			break;
		case 2:
			fd = (int)next(f);
			break;
		default:
			fd = f->efd[below(f, NR_EFD)];
			break;
		}
		s->fds[i] = fd;
		if (i > count + 1)
			break;
	}
	note(f, "SET_IRQS argsz 0x%x flags 0x%x index %u start 0x%x count 0x%x",
	     s->hdr.argsz, s->hdr.flags, s->hdr.index, start, count);
	ret = ioctl(v->device, VFIO_DEVICE_SET_IRQS, s) ? -errno : 0;
	free(s);
	check_errno(f, "SET_IRQS", ret);
	if (ret && ret != -EINVAL && ret != -ENOTTY && ret != -EBADF &&
	    ret != -ENODEV)
		fail(f, "SET_IRQS: unexpected %s", strerror(-ret));
	f->counts[5]++;
}

static void op_mmap(struct fuzz *f)
{
	struct vmm *v = &f->vmm;
	u32 idx = below(f, 8) ? below(f, VFIO_PCI_NUM_REGIONS) : below(f, 0x100);
	u64 off = below(f, 2) ? 0 : (u64)below(f, 16) * PAGE;
	size_t len = PAGE * (1 + below(f, 4));
	int flags = below(f, 4) ? MAP_SHARED : MAP_PRIVATE;
	void *p;

	note(f, "mmap region %u offset 0x%llx len 0x%zx flags 0x%x", idx,
	     (unsigned long long)off, len, flags);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, v->device,
		 (off_t)(((u64)idx << 40) + off));
	if (p != MAP_FAILED) {
		if (idx >= VFIO_PCI_NUM_REGIONS ||
		    !(v->region[idx].flags & VFIO_REGION_INFO_FLAG_MMAP))
			fail(f, "mmap of unmappable region %u succeeded", idx);
		munmap(p, len);
	} else if (errno != EINVAL) {
		fail(f, "mmap region %u: unexpected %s", idx, strerror(errno));
	}
	f->counts[6]++;
}

static void op_reset(struct fuzz *f)
{
	int ret;

	note(f, "VFIO_DEVICE_RESET");
	ret = vmm_reset(&f->vmm);
	if (ret)
		fail(f, "VFIO_DEVICE_RESET: %s", strerror(-ret));
	f->counts[9]++;
}

static void op_reopen(struct fuzz *f, bool full)
{
	struct vmm *v = &f->vmm;
	int ret;

	note(f, "%s", full ? "close everything, open again" :
			       "device fd closed and opened again");
	if (full) {
		vmm_close(v);
		ret = vmm_open(v, f->uuid);
		if (!ret)
			ret = vmm_virtio_locate(v);
		if (ret)
			fail(f, "reopen: %s", strerror(-ret));
		f->counts[7]++;
		return;
	}
	close(v->device);
	v->device = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, f->uuid);
	if (v->device < 0)
		fail(f, "GET_DEVICE_FD: %s", strerror(errno));
	f->counts[7]++;
}

/* The device still works: identity, reset, negotiation. */
static void invariants(struct fuzz *f)
{
	struct vmm *v = &f->vmm;
	u64 want = f->offered & (BIT_ULL(VIRTIO_F_VERSION_1) |
				 BIT_ULL(VIRTIO_F_ACCESS_PLATFORM) |
				 BIT_ULL(VIRTIO_NET_F_MAC));
	u64 neg = ~0ULL;
	u8 st;
	int ret;

	note(f, "invariants");
	v->err = 0;
	if (vmm_cfg_read16(v, PCI_VENDOR_ID) != 0x1af4 || v->err)
		fail(f, "vendor ID unreadable (%d)", v->err);
	ret = vmm_reset(v);
	if (ret)
		fail(f, "VFIO_DEVICE_RESET: %s", strerror(-ret));
	if (vmm_vio_status(v))
		fail(f, "status 0x%x after reset", vmm_vio_status(v));
	st = vmm_vio_negotiate(v, want);
	if (st != FEAT_OK)
		fail(f, "negotiation after reset: status 0x%x", st);
	ret = mdev_attr_u64(f->uuid, "negotiated_features", &neg);
	if (ret || neg != want)
		fail(f, "negotiated_features 0x%llx, want 0x%llx (%d)",
		     (unsigned long long)neg, (unsigned long long)want, ret);
	if (v->err)
		fail(f, "register access failed: %s", strerror(-v->err));
	vmm_vio_set_status(v, 0);
	f->counts[8]++;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"%s [--uuid UUID] [--seed S] [--seconds T] [--ops N] [--check K]\n",
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "uuid", required_argument, NULL, 'u' },
		{ "seed", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 't' },
		{ "ops", required_argument, NULL, 'n' },
		{ "check", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	static struct fuzz fz;
	struct fuzz *f = &fz;
	double seconds = 10, start, elapsed;
	u64 max_ops = 0, check = 500;
	struct vfio_irq_info irq;
	bool created = false;
	const char *bdf;
	unsigned int i;
	int c, ret;
	u32 r;

	f->seed = (u64)time(NULL) ^ ((u64)getpid() << 32);
	while ((c = getopt_long(argc, argv, "u:s:t:n:c:", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			snprintf(f->uuid, sizeof(f->uuid), "%s", optarg);
			break;
		case 's':
			f->seed = strtoull(optarg, NULL, 0);
			break;
		case 't':
			seconds = strtod(optarg, NULL);
			break;
		case 'n':
			max_ops = strtoull(optarg, NULL, 0);
			break;
		case 'c':
			check = strtoull(optarg, NULL, 0);
			break;
		default:
			usage(argv[0]);
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n1..1\n");
	printf("# fuzz: seed %llu, %.0f s, %llu ops max, checks every %llu\n",
	       (unsigned long long)f->seed, seconds,
	       (unsigned long long)max_ops, (unsigned long long)check);
	f->rng = f->seed;

	if (!f->uuid[0]) {
		bdf = vmm_env_bdf("VV_BDF");
		if (!bdf || mdev_create(bdf, f->uuid)) {
			printf("not ok 1 fuzz: no --uuid and no mdev on VV_BDF\n");
			return 1;
		}
		created = true;
	}
	ret = vmm_open(&f->vmm, f->uuid);
	if (!ret)
		ret = vmm_virtio_locate(&f->vmm);
	if (!ret)
		ret = vmm_irq_info(&f->vmm, VFIO_PCI_MSIX_IRQ_INDEX, &irq);
	if (!ret)
		ret = mdev_attr_u64(f->uuid, "offered_features", &f->offered);
	if (ret) {
		printf("not ok 1 fuzz seed %llu: setup: %s\n",
		       (unsigned long long)f->seed, strerror(-ret));
		return 1;
	}
	f->nvec = irq.count;
	f->nq = vmm_vio_num_queues(&f->vmm);
	for (i = 0; i < NR_EFD; i++)
		f->efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	f->closed_fd = eventfd(0, EFD_CLOEXEC);
	close(f->closed_fd);
	invariants(f);

	start = now();
	for (f->op = 1; !max_ops || f->op <= max_ops; f->op++) {
		if (!(f->op & 63) && now() - start >= seconds)
			break;
		r = below(f, 1000);
		if (r < 300)
			op_rw(f, false);
		else if (r < 550)
			op_rw(f, true);
		else if (r < 800)
			op_common(f);
		else if (r < 850)
			op_window(f);
		else if (r < 910)
			op_info(f);
		else if (r < 960)
			op_set_irqs(f);
		else if (r < 980)
			op_mmap(f);
		else if (r < 994)
			op_reset(f);
		else
			op_reopen(f, r >= 998);
		if (check && !(f->op % check))
			invariants(f);
	}
	f->op--;
	invariants(f);
	elapsed = now() - start;
	vmm_close(&f->vmm);
	for (i = 0; i < NR_EFD; i++)
		close(f->efd[i]);
	if (created && mdev_remove(f->uuid))
		fail(f, "removing the mdev failed");

	printf("# reads %llu writes %llu common %llu window %llu info %llu",
	       (unsigned long long)f->counts[0], (unsigned long long)f->counts[1],
	       (unsigned long long)f->counts[2], (unsigned long long)f->counts[3],
	       (unsigned long long)f->counts[4]);
	printf(" set_irqs %llu mmap %llu reopen %llu resets %llu checks %llu\n",
	       (unsigned long long)f->counts[5], (unsigned long long)f->counts[6],
	       (unsigned long long)f->counts[7], (unsigned long long)f->counts[9],
	       (unsigned long long)f->counts[8]);
	printf("# fuzz: %llu operations in %.1f s, seed %llu\n",
	       (unsigned long long)f->op, elapsed, (unsigned long long)f->seed);
	printf("ok 1 fuzz seed %llu: %llu operations in %.1f s\n",
	       (unsigned long long)f->seed, (unsigned long long)f->op, elapsed);
	return 0;
}
