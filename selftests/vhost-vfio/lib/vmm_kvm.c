// SPDX-License-Identifier: GPL-2.0-only
/*
 * Data path half of the mini-VMM; see vmm_kvm.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/pci_regs.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/kvm.h>

#include "vmm_kvm.h"

#define VMM_HUGE	(2ULL << 20)

static int vmm_guest_setup(struct vmm_guest *g, u64 gpa, u64 size, u64 chunk,
			   bool prefault)
{
	struct kvm_userspace_memory_region slot = { 0 };
	struct kvm_create_device dev = { .type = KVM_DEV_TYPE_VFIO };
	int ret;

	memset(g, 0, sizeof(*g));
	g->kvm = -1;
	g->vm = -1;
	g->kvfio = -1;
	g->container = -1;
	if (!chunk || size % chunk || gpa % VMM_HUGE)
		return -EINVAL;
	g->gpa = gpa;
	g->size = size;
	g->chunk = chunk;
	g->next = gpa;
	g->limit = gpa + size;

	g->raw_size = size + VMM_HUGE;
	g->raw = mmap(NULL, g->raw_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->raw == MAP_FAILED) {
		g->raw = NULL;
		return -errno;
	}
	g->ram = (u8 *)(((unsigned long)g->raw + VMM_HUGE - 1) &
			~(VMM_HUGE - 1));
	madvise(g->ram, size, MADV_HUGEPAGE);
	if (prefault)
		memset(g->ram, 0, size);

	g->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (g->kvm < 0)
		goto err_errno;
	g->vm = ioctl(g->kvm, KVM_CREATE_VM, 0);
	if (g->vm < 0)
		goto err_errno;
	slot.guest_phys_addr = gpa;
	slot.memory_size = size;
	slot.userspace_addr = (unsigned long)g->ram;
	if (ioctl(g->vm, KVM_SET_USER_MEMORY_REGION, &slot))
		goto err_errno;
	if (ioctl(g->vm, KVM_CREATE_DEVICE, &dev))
		goto err_errno;
	g->kvfio = dev.fd;

	g->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (g->container < 0)
		goto err_errno;
	if (ioctl(g->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    !ioctl(g->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU)) {
		ret = -ENOTSUP;
		goto err;
	}
	return 0;

err_errno:
	ret = -errno;
err:
	vmm_guest_destroy(g);
	return ret;
}

/**
 * vmm_guest_create - guest RAM, a VM with one memslot over it, the kvm-vfio
 * device and an empty VFIO container
 * @g: state to fill
 * @gpa: guest physical address of the RAM (2 MiB aligned)
 * @size: RAM size (multiple of @chunk)
 * @chunk: granule of the VFIO DMA maps
 *
 * The RAM is faulted in here.
 *
 * Return: 0, or a negative errno with everything released again.
 */
int vmm_guest_create(struct vmm_guest *g, u64 gpa, u64 size, u64 chunk)
{
	return vmm_guest_setup(g, gpa, size, chunk, true);
}

/*
 * The same, but the RAM stays untouched until something uses it (the
 * allocator, or the mirror's pinning at DRIVER_OK), like a VMM's guest.
 */
int vmm_guest_create_lazy(struct vmm_guest *g, u64 gpa, u64 size, u64 chunk)
{
	return vmm_guest_setup(g, gpa, size, chunk, false);
}

/* Closes the container and the VM, which drops the groups KVM holds. */
void vmm_guest_destroy(struct vmm_guest *g)
{
	int *fds[] = { &g->kvfio, &g->vm, &g->kvm, &g->container };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fds); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	if (g->raw)
		munmap(g->raw, g->raw_size);
	g->raw = NULL;
	g->ram = NULL;
	for (i = 0; i < g->nr_extra; i++)
		munmap(g->extra[i].raw, g->extra[i].raw_size);
	g->nr_extra = 0;
}

/**
 * vmm_guest_add_ram - add guest RAM, as a DIMM hot-add does
 * @g: the guest
 * @gpa: its guest physical address (2 MiB aligned, outside the other RAM)
 * @size: its size
 * @mmap_flags: added to the anonymous private mapping, e.g. MAP_HUGETLB |
 *	MAP_HUGE_1GB; 0 for normal pages (THP advised)
 * @with_slot: also give it a KVM memslot now (else vmm_guest_add_slot())
 *
 * The RAM is faulted in; it is not DMA-mapped (vmm_guest_dma_map() does).
 *
 * Return: 0, or a negative errno with nothing added.
 */
int vmm_guest_add_ram(struct vmm_guest *g, u64 gpa, u64 size, int mmap_flags,
		      bool with_slot)
{
	struct vmm_ram *r = &g->extra[g->nr_extra];
	int ret;

	if (g->nr_extra == VMM_MAX_EXTRA_RAM)
		return -ENOSPC;
	if (!size || gpa % VMM_HUGE || size % VMM_PAGE)
		return -EINVAL;
	/* hugetlbfs aligns by itself; normal pages get a 2 MiB alignment. */
	r->raw_size = mmap_flags & MAP_HUGETLB ? size : size + VMM_HUGE;
	r->raw = mmap(NULL, r->raw_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | mmap_flags, -1, 0);
	if (r->raw == MAP_FAILED)
		return -errno;
	r->ram = (u8 *)(((unsigned long)r->raw + VMM_HUGE - 1) &
			~(VMM_HUGE - 1));
	if (!(mmap_flags & MAP_HUGETLB))
		madvise(r->ram, size, MADV_HUGEPAGE);
	memset(r->ram, 0, size);
	r->gpa = gpa;
	r->size = size;
	g->nr_extra++;
	if (!with_slot)
		return 0;
	ret = vmm_guest_add_slot(g, gpa);
	if (ret) {
		g->nr_extra--;
		munmap(r->raw, r->raw_size);
	}
	return ret;
}

/**
 * vmm_guest_add_slot - the KVM memslot of RAM added without one
 * @g: the guest
 * @gpa: the RAM's guest physical address (vmm_guest_add_ram())
 *
 * Return: 0, or a negative errno.
 */
int vmm_guest_add_slot(struct vmm_guest *g, u64 gpa)
{
	struct kvm_userspace_memory_region slot = { 0 };
	unsigned int i;

	for (i = 0; i < g->nr_extra && g->extra[i].gpa != gpa; i++)
		;
	if (i == g->nr_extra)
		return -ENOENT;
	slot.slot = 1 + i;
	slot.guest_phys_addr = gpa;
	slot.memory_size = g->extra[i].size;
	slot.userspace_addr = (unsigned long)g->extra[i].ram;
	if (ioctl(g->vm, KVM_SET_USER_MEMORY_REGION, &slot))
		return -errno;
	return 0;
}

static void *vmm_ram_ptr(u8 *ram, u64 base, u64 size, u64 gpa, u64 len)
{
	if (gpa < base || len > size || gpa - base > size - len)
		return NULL;
	return ram + (gpa - base);
}

void *vmm_guest_ptr(struct vmm_guest *g, u64 gpa, u64 len)
{
	void *p = vmm_ram_ptr(g->ram, g->gpa, g->size, gpa, len);
	unsigned int i;

	for (i = 0; !p && i < g->nr_extra; i++)
		p = vmm_ram_ptr(g->extra[i].ram, g->extra[i].gpa,
				g->extra[i].size, gpa, len);
	return p;
}

/* Bump allocator over [gpa, limit); returns 0 when exhausted. */
u64 vmm_guest_alloc(struct vmm_guest *g, u64 size, u64 align)
{
	u64 at = (g->next + align - 1) & ~(align - 1);

	if (at > g->limit || size > g->limit - at)
		return 0;
	g->next = at + size;
	memset(vmm_guest_ptr(g, at, size), 0, size);
	return at;
}

int vmm_guest_dma_map(struct vmm_guest *g, u64 gpa, u64 size)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
	};
	u64 off;

	if (!vmm_guest_ptr(g, gpa, size))
		return -EINVAL;
	for (off = 0; off < size; off += g->chunk) {
		map.vaddr = (unsigned long)vmm_guest_ptr(g, gpa + off, g->chunk);
		map.iova = gpa + off;
		map.size = g->chunk;
		if (ioctl(g->container, VFIO_IOMMU_MAP_DMA, &map))
			return -errno;
	}
	return 0;
}

int vmm_guest_dma_unmap(struct vmm_guest *g, u64 gpa, u64 size, u64 *done)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = gpa,
		.size = size,
	};

	if (ioctl(g->container, VFIO_IOMMU_UNMAP_DMA, &unmap))
		return -errno;
	if (done)
		*done = unmap.size;
	return 0;
}

/**
 * vmm_open_guest - open an mdev the way QEMU does for a VM
 * @vmm: state to fill
 * @uuid: the mdev
 * @g: the guest: its container gets the group (the first group also sets
 *     the IOMMU type and DMA-maps all RAM), its VM gets the group through
 *     the kvm-vfio device, then the device is opened
 *
 * Return: 0, or a negative errno with the device and group closed.
 */
int vmm_open_guest(struct vmm *vmm, const char *uuid, struct vmm_guest *g)
{
	struct kvm_device_attr attr = {
		.group = KVM_DEV_VFIO_GROUP,
		.attr = KVM_DEV_VFIO_GROUP_ADD,
	};
	int ret;

	vmm_init(vmm, uuid);
	ret = vmm_group_open(vmm);
	if (ret)
		goto err;
	if (ioctl(vmm->group, VFIO_GROUP_SET_CONTAINER, &g->container))
		goto err_errno;
	if (!g->iommu_set) {
		if (ioctl(g->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
			goto err_errno;
		g->iommu_set = true;
		ret = vmm_guest_dma_map(g, g->gpa, g->size);
		if (ret)
			goto err;
	}
	/* vmm_close() closes its own reference to the shared container. */
	vmm->container = dup(g->container);
	if (vmm->container < 0)
		goto err_errno;

	/* As QEMU does: KVM knows the group before the device is opened. */
	attr.addr = (unsigned long)&vmm->group;
	if (ioctl(g->kvfio, KVM_SET_DEVICE_ATTR, &attr))
		goto err_errno;

	ret = vmm_device_open(vmm);
	if (ret)
		goto err;
	/*
	 * As the guest's driver does at probe (pci_set_master()): without Bus
	 * Master Enable the VF may not DMA, nor signal MSI-X.
	 */
	vmm_cfg_write16(vmm, PCI_COMMAND,
			PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	if (vmm->err) {
		ret = vmm->err;
		goto err;
	}
	return 0;

err_errno:
	ret = -errno;
err:
	vmm_close(vmm);
	return ret;
}

int vmm_msix_set(struct vmm *vmm, unsigned int start, unsigned int count,
		 const int *fds)
{
	size_t sz = sizeof(struct vfio_irq_set) + count * sizeof(int);
	struct vfio_irq_set *set;
	int ret = 0;

	set = calloc(1, sz);
	if (!set)
		return -ENOMEM;
	set->argsz = sz;
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = VFIO_PCI_MSIX_IRQ_INDEX;
	set->start = start;
	set->count = count;
	memcpy(set->data, fds, count * sizeof(int));
	if (ioctl(vmm->device, VFIO_DEVICE_SET_IRQS, set))
		ret = -errno;
	free(set);
	return ret;
}

void *vmm_doorbell_map(struct vmm *vmm, u64 *off, size_t *len)
{
	unsigned int idx = VFIO_PCI_BAR2_REGION_INDEX;
	struct vfio_region_sparse_mmap_area *area = NULL;
	struct vfio_region_info *info;
	size_t sz = 4096;
	void *map = NULL;
	u32 next;

	info = calloc(1, sz);
	if (!info)
		return NULL;
	info->argsz = sz;
	info->index = idx;
	if (ioctl(vmm->device, VFIO_DEVICE_GET_REGION_INFO, info) ||
	    info->argsz > sz || !(info->flags & VFIO_REGION_INFO_FLAG_MMAP) ||
	    !(info->flags & VFIO_REGION_INFO_FLAG_CAPS))
		goto out;
	for (next = info->cap_offset; next && next + 16 <= sz;) {
		struct vfio_info_cap_header *hdr = (void *)((u8 *)info + next);

		if (hdr->id == VFIO_REGION_INFO_CAP_SPARSE_MMAP) {
			struct vfio_region_info_cap_sparse_mmap *sp = (void *)hdr;

			if (sp->nr_areas)
				area = &sp->areas[0];
			break;
		}
		next = hdr->next;
	}
	if (!area || !area->size)
		goto out;
	map = mmap(NULL, area->size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   vmm->device, info->offset + area->offset);
	if (map == MAP_FAILED) {
		map = NULL;
		goto out;
	}
	*off = area->offset;
	*len = area->size;
out:
	free(info);
	return map;
}

int vmm_debugfs_str(const char *uuid, const char *file, const char *name,
		    char *buf, size_t size)
{
	char path[PATH_MAX], line[256];
	size_t n = strlen(name);
	int ret = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/vhost_vfio/%s/%s",
		 uuid, file);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, name, n) && line[n] == ':') {
			snprintf(buf, size, "%s", line + n + 1 +
				 (line[n + 1] == ' '));
			buf[strcspn(buf, "\n")] = 0;
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

long long vmm_counter(const char *uuid, const char *name)
{
	char val[64];

	if (vmm_debugfs_str(uuid, "counters", name, val, sizeof(val)))
		return -1;
	return strtoll(val, NULL, 0);
}

int pci_command(const char *bdf)
{
	char path[PATH_MAX];
	unsigned char cmd[2];
	int fd, n;

	snprintf(path, sizeof(path), VMM_PCI_DEVICES "/%s/config", bdf);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = pread(fd, cmd, sizeof(cmd), PCI_COMMAND);
	close(fd);
	if (n != sizeof(cmd))
		return -EIO;
	return cmd[0] | cmd[1] << 8;
}

int vmm_vq_setup(struct vmm *vmm, struct vmm_guest *g, struct vmm_vq *vq,
		 u16 index, u16 size, u16 vector, int efd, void *db,
		 u64 db_off, size_t db_len)
{
	u64 notify;

	memset(vq, 0, sizeof(*vq));
	vq->index = index;
	vq->size = size;
	vq->efd = efd;
	vq->vector = vector;
	vq->desc_gpa = vmm_guest_alloc(g, 16ULL * size, VMM_PAGE);
	vq->avail_gpa = vmm_guest_alloc(g, 6 + 2ULL * size, VMM_PAGE);
	vq->used_gpa = vmm_guest_alloc(g, 6 + 8ULL * size, VMM_PAGE);
	if (!vq->desc_gpa || !vq->avail_gpa || !vq->used_gpa)
		return -ENOMEM;
	vq->desc = vmm_guest_ptr(g, vq->desc_gpa, 16ULL * size);
	vq->avail = vmm_guest_ptr(g, vq->avail_gpa, 6 + 2ULL * size);
	vq->used = vmm_guest_ptr(g, vq->used_gpa, 6 + 8ULL * size);

	vmm->err = 0;
	vmm_vio_queue_select(vmm, index);
	vmm_vio_set_queue_size(vmm, size);
	if (vmm_vio_queue_size(vmm) != size)
		return -EINVAL;
	vmm_vio_set_queue_vector(vmm, vector);
	if (vmm_vio_queue_vector(vmm) != vector)
		return -EIO;
	vmm_vio_set_queue_addr(vmm, vq->desc_gpa, vq->avail_gpa, vq->used_gpa);
	if (vmm->notify.bar != 2)
		return -ENODEV;
	notify = vmm->notify.offset +
		 (u64)vmm_vio_queue_notify_off(vmm) * vmm->notify_mult;
	if (db && (notify < db_off || notify + 2 > db_off + db_len))
		return -ERANGE;
	if (db) {
		vq->doorbell = (u16 *)((u8 *)db + (notify - db_off));
	} else {
		vq->trap_fd = vmm->device;
		vq->trap_off = vmm->region[VFIO_PCI_BAR2_REGION_INDEX].offset +
			       notify;
	}
	vmm_vio_set_queue_enable(vmm, 1);
	if (vmm_vio_queue_enable(vmm) != 1)
		return -EIO;
	return vmm->err;
}

/* Offer the chain that starts at descriptor @head. */
static void vmm_vq_publish(struct vmm_vq *vq, u16 head)
{
	vq->avail->ring[vq->avail_idx % vq->size] = head;
	/* The entry before the index that publishes it. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	vq->avail_idx++;
	__atomic_store_n(&vq->avail->idx, vq->avail_idx, __ATOMIC_RELAXED);
}

void vmm_vq_add(struct vmm_vq *vq, u16 id, u64 gpa, u32 len, u16 flags)
{
	vq->desc[id].addr = gpa;
	vq->desc[id].len = len;
	vq->desc[id].flags = flags;
	vq->desc[id].next = 0;
	vmm_vq_publish(vq, id);
}

int vmm_vq_add_chain(struct vmm_vq *vq, u16 head,
		     const struct vmm_vq_buf *bufs, unsigned int n)
{
	unsigned int i;

	if (!n || head + n > vq->size)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		struct vring_desc *d = &vq->desc[head + i];
		bool last = i + 1 == n;

		d->addr = bufs[i].gpa;
		d->len = bufs[i].len;
		d->flags = (bufs[i].write ? VRING_DESC_F_WRITE : 0) |
			   (last ? 0 : VRING_DESC_F_NEXT);
		d->next = last ? 0 : head + i + 1;
	}
	vmm_vq_publish(vq, head);
	return 0;
}

int vmm_vq_move(struct vmm_vq *vq, struct vmm *vmm)
{
	u64 notify;

	if (vq->doorbell)
		return -EINVAL;
	vmm_vio_queue_select(vmm, vq->index);
	notify = vmm->notify.offset +
		 (u64)vmm_vio_queue_notify_off(vmm) * vmm->notify_mult;
	vq->trap_fd = vmm->device;
	vq->trap_off = vmm->region[VFIO_PCI_BAR2_REGION_INDEX].offset + notify;
	return vmm->err;
}

void vmm_vq_kick(struct vmm_vq *vq)
{
	/* The avail index before the doorbell store (a device access). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->kicks++;
	if (vq->doorbell)
		__atomic_store_n(vq->doorbell, vq->index, __ATOMIC_RELAXED);
	else if (pwrite(vq->trap_fd, &vq->index, sizeof(vq->index),
			vq->trap_off) != sizeof(vq->index))
		vq->kicks--;	/* not made; the caller sees no completion */
}

bool vmm_vq_used(struct vmm_vq *vq, u16 *id, u32 *len)
{
	struct vring_used_elem *e;

	if (__atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE) == vq->last_used)
		return false;
	e = &vq->used->ring[vq->last_used % vq->size];
	if (id)
		*id = e->id;
	if (len)
		*len = e->len;
	vq->last_used++;
	return true;
}

u64 vmm_vq_drain(struct vmm_vq *vq)
{
	u64 cnt = 0;

	if (read(vq->efd, &cnt, sizeof(cnt)) != sizeof(cnt))
		return 0;
	vq->signals += cnt;
	return cnt;
}

static long long vmm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

bool vmm_vq_wait(struct vmm_vq *vq, int timeout_ms, u16 *id, u32 *len)
{
	long long end = vmm_now_ms() + timeout_ms;
	struct pollfd pfd = { .fd = vq->efd, .events = POLLIN };

	for (;;) {
		long long left;

		if (vmm_vq_used(vq, id, len))
			return true;
		left = end - vmm_now_ms();
		if (left <= 0)
			return false;
		if (poll(&pfd, 1, left) > 0)
			vmm_vq_drain(vq);
	}
}
