/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Data path half of the mini-VMM: guest RAM behind a KVM memslot and the
 * VFIO container (IOVA = GPA), the kvm-vfio device, doorbells through the
 * mmapped BAR2, MSI-X eventfds and split virtqueues in guest RAM.
 */
#ifndef _VV_SELFTEST_VMM_KVM_H
#define _VV_SELFTEST_VMM_KVM_H

#include <linux/virtio_ring.h>

#include "vmm.h"

#define VMM_PAGE		4096ULL

/**
 * struct vmm_ram - guest RAM added after the first, behind its own memslot
 * @raw: the mmap behind @ram
 * @raw_size: its size
 * @ram: the RAM
 * @gpa: its guest physical address, also its IOVA
 * @size: its size
 */
struct vmm_ram {
	void *raw;
	size_t raw_size;
	u8 *ram;
	u64 gpa;
	u64 size;
};

#define VMM_MAX_EXTRA_RAM	4

/**
 * struct vmm_guest - the VM a VMM runs: RAM, KVM and the VFIO container
 * @kvm: /dev/kvm
 * @vm: KVM_CREATE_VM
 * @kvfio: the kvm-vfio device
 * @container: /dev/vfio/vfio, shared by every device of the guest
 * @iommu_set: VFIO_SET_IOMMU done (needs a group in the container)
 * @raw: the mmap behind @ram
 * @raw_size: its size
 * @ram: guest RAM, 2 MiB aligned
 * @gpa: guest physical address of @ram, also its IOVA
 * @size: RAM size
 * @chunk: granule of VFIO_IOMMU_MAP_DMA (type1 v2 cannot split a mapping)
 * @next: allocator: next free GPA
 * @limit: allocator: end of what it may hand out
 * @extra: RAM added later (vmm_guest_add_ram()), like a hot-added DIMM
 * @nr_extra: entries in @extra
 */
struct vmm_guest {
	int kvm;
	int vm;
	int kvfio;
	int container;
	bool iommu_set;
	void *raw;
	size_t raw_size;
	u8 *ram;
	u64 gpa;
	u64 size;
	u64 chunk;
	u64 next;
	u64 limit;
	struct vmm_ram extra[VMM_MAX_EXTRA_RAM];
	unsigned int nr_extra;
};

int vmm_guest_create(struct vmm_guest *g, u64 gpa, u64 size, u64 chunk);
/* The same with the RAM not faulted in (pinning at DRIVER_OK faults it). */
int vmm_guest_create_lazy(struct vmm_guest *g, u64 gpa, u64 size, u64 chunk);
void vmm_guest_destroy(struct vmm_guest *g);
/* More RAM in a memslot of its own; @mmap_flags e.g. MAP_HUGETLB. */
int vmm_guest_add_ram(struct vmm_guest *g, u64 gpa, u64 size, int mmap_flags,
		      bool with_slot);
int vmm_guest_add_slot(struct vmm_guest *g, u64 gpa);
void *vmm_guest_ptr(struct vmm_guest *g, u64 gpa, u64 len);
u64 vmm_guest_alloc(struct vmm_guest *g, u64 size, u64 align);
int vmm_guest_dma_map(struct vmm_guest *g, u64 gpa, u64 size);
int vmm_guest_dma_unmap(struct vmm_guest *g, u64 gpa, u64 size, u64 *done);
/* Open @uuid into @g's container, registered with @g's VM before open. */
int vmm_open_guest(struct vmm *vmm, const char *uuid, struct vmm_guest *g);

/* MSI-X vectors [start, start + count) to @fds (-1 unsets). */
int vmm_msix_set(struct vmm *vmm, unsigned int start, unsigned int count,
		 const int *fds);
/* mmap the sparse (doorbell) area of BAR2; *@off is its offset in BAR2. */
void *vmm_doorbell_map(struct vmm *vmm, u64 *off, size_t *len);

/* debugfs counter of an mdev; -1 if missing. */
long long vmm_counter(const char *uuid, const char *name);
/* "name: value" line of debugfs file @file of an mdev, value into @buf. */
int vmm_debugfs_str(const char *uuid, const char *file, const char *name,
		    char *buf, size_t size);
/* The function's real PCI command register (sysfs config), or -errno. */
int pci_command(const char *bdf);

/**
 * struct vmm_vq - a split virtqueue driven through the mapped doorbell
 * @index: queue index
 * @size: number of descriptors
 * @desc_gpa, @avail_gpa, @used_gpa: ring addresses
 * @desc, @avail, @used: the rings in guest RAM
 * @doorbell: the queue's doorbell in the BAR2 mapping; NULL if trapped
 * @trap_fd: with no mapping, the device fd kicks are written to...
 * @trap_off: ...at this file offset (BAR2 region + the queue's doorbell)
 * @kicks: doorbell writes made
 * @efd: eventfd of the queue's vector
 * @vector: MSI-X vector
 * @avail_idx: next avail index
 * @last_used: next used index to consume
 * @signals: eventfd counts read so far
 */
struct vmm_vq {
	u16 index;
	u16 size;
	u64 desc_gpa;
	u64 avail_gpa;
	u64 used_gpa;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	u16 *doorbell;
	int trap_fd;
	u64 trap_off;
	u64 kicks;
	int efd;
	u16 vector;
	u16 avail_idx;
	u16 last_used;
	u64 signals;
};

/*
 * Allocate the rings in @g and program queue @index of @vmm (size, vector,
 * addresses, enable).  @db/@db_off come from vmm_doorbell_map(); with
 * @db NULL, kicks are written to BAR2 through the device fd (trapped).
 */
int vmm_vq_setup(struct vmm *vmm, struct vmm_guest *g, struct vmm_vq *vq,
		 u16 index, u16 size, u16 vector, int efd, void *db,
		 u64 db_off, size_t db_len);
void vmm_vq_add(struct vmm_vq *vq, u16 id, u64 gpa, u32 len, u16 flags);

/* One buffer of a descriptor chain (vmm_vq_add_chain()). */
struct vmm_vq_buf {
	u64 gpa;
	u32 len;
	bool write;	/* device-writable */
};

/*
 * Chain the @n buffers of @bufs in descriptors @head, @head + 1, ... and
 * offer the chain; -EINVAL if it does not fit in the ring.
 */
int vmm_vq_add_chain(struct vmm_vq *vq, u16 head,
		     const struct vmm_vq_buf *bufs, unsigned int n);
/*
 * The queue's device is now @vmm, a migration destination that took the
 * state of the one it was set up on: trapped kicks go to its BAR2.
 */
int vmm_vq_move(struct vmm_vq *vq, struct vmm *vmm);
void vmm_vq_kick(struct vmm_vq *vq);
bool vmm_vq_used(struct vmm_vq *vq, u16 *id, u32 *len);
/* Wait for a used entry, polling the eventfd; false on timeout. */
bool vmm_vq_wait(struct vmm_vq *vq, int timeout_ms, u16 *id, u32 *len);
/* Read (and count) whatever the eventfd holds. */
u64 vmm_vq_drain(struct vmm_vq *vq);

#endif /* _VV_SELFTEST_VMM_KVM_H */
