// SPDX-License-Identifier: GPL-2.0-only
/*
 * vhost-vfio: the DMA mirror.
 *
 * The guest programs the VF with guest-physical addresses.  The VF sits in
 * our own IOMMU domain, which must map exactly what the VMM DMA-mapped into
 * the VFIO container (IOVA = GPA), and nothing else.
 *
 * In 6.1 an emulated-IOMMU device learns of unmaps (dma_unmap) but not of
 * maps.  The candidates therefore come from the KVM memslots of the VM the
 * VMM associated with our group (vdev->kvm), and VFIO decides: each page is
 * pinned with vfio_pin_pages(), which fails for IOVA the container does not
 * map (or maps read-only) and charges RLIMIT_MEMLOCK.  What pinned is
 * mapped into our domain in physically contiguous runs, so the IOMMU core
 * can use large pages.
 *
 * The mirror is built off the guest's vCPUs, by a worker (@work): first
 * right after open, ahead of the guest's DRIVER_OK, then again whenever a DRIVER_OK
 * finds it out of date (memslots changed, or the VMM unmapped something),
 * and in the background after a DRIVER_OK to retry the pages VFIO refused
 * before (the VMM may have mapped them since).  A DRIVER_OK that finds the
 * mirror current goes straight to the VF; one that does not is deferred:
 * the guest reads DRIVER_OK back at once, the VF gets it when the worker
 * is done, and one notify per enabled queue is replayed then, so no kick
 * the VF could not take yet is lost (virtio_cfg.c).
 * dma_unmap removes the range from the domain and unpins it before
 * returning, as type1 requires.
 *
 * What may be mapped: never IOVA in the VF's reserved regions or outside
 * the domain's aperture (isolation.c collects them at open), as type1 never
 * lets a container map there; and only pages whose IOVA is their GPA: a
 * sample of each pinned batch is compared with KVM's view of that GPA, so
 * a guest with its own IOMMU (IOVA != GPA) is refused, not half-mirrored.
 *
 * Locking: vfio_pin_pages() takes type1's locks, and type1 calls
 * dma_unmap with its device list locked, expecting every pin in the range
 * gone when it returns (it BUGs after ten tries).  So the builder pins with
 * no lock of ours held and commits the pages under @lock afterwards.  The
 * pin in flight is published: a dma_unmap that hits it marks it stale and
 * waits for it to land, the builder then unpins it, and retries it once
 * after the dma_unmap finished.  The run being accumulated is kept in the
 * mirror too, so dma_unmap can cut it like any other.
 */
#include <linux/iommu.h>
#include <linux/kthread.h>
#include <linux/kvm_host.h>
#include <linux/memcontrol.h>
#include <linux/sched/mm.h>
#include <linux/sched/clock.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>

#include "vhost_vfio_priv.h"
#include "trace.h"

/* A pinned, IOVA- and physically contiguous range mapped in the domain. */
struct vhost_vfio_run {
	struct list_head node;
	u64 iova;
	phys_addr_t pa;
	u64 npages;
};

/* A candidate guest-physical range, copied out of a memslot. */
struct vv_range {
	u64 gpa;
	u64 npages;
};

/* The builder met IOVA that is not the GPA of the same page. */
#define VV_ERR_NOT_GPA	EXDEV

static const size_t vv_map_sizes[] = { SZ_4K, SZ_2M, SZ_1G };

/*
 * Account the mappings the IOMMU core makes for a run: it always uses the
 * largest supported page size that the alignment of IOVA and PA and the
 * remaining length allow, so the split is a function of the run.
 */
static void vv_count_maps(struct vhost_vfio_dev *vd, struct vhost_vfio_run *r,
			  bool add)
{
	unsigned long bitmap = vd->domain->pgsize_bitmap;
	u64 iova = r->iova, len = r->npages << PAGE_SHIFT;
	phys_addr_t pa = r->pa;
	int i;

	while (len) {
		for (i = ARRAY_SIZE(vv_map_sizes) - 1; i > 0; i--) {
			size_t sz = vv_map_sizes[i];

			if ((bitmap & sz) && len >= sz &&
			    IS_ALIGNED(iova | pa, sz))
				break;
		}
		if (add)
			vd->mirror.maps[i]++;
		else
			vd->mirror.maps[i]--;
		iova += vv_map_sizes[i];
		pa += vv_map_sizes[i];
		len -= vv_map_sizes[i];
	}
}

static void vv_unpin(struct vhost_vfio_dev *vd, u64 iova, u64 npages)
{
	while (npages) {
		int n = min_t(u64, npages, VFIO_PIN_PAGES_MAX_ENTRIES);

		vfio_unpin_pages(&vd->vdev, iova, n);
		vd->mirror.pinned_pages -= n;
		iova += (u64)n << PAGE_SHIFT;
		npages -= n;
	}
}

/* Map a pinned run and keep it; on failure the run is unpinned. */
static int vv_run_add(struct vhost_vfio_dev *vd, u64 iova, phys_addr_t pa,
		      u64 npages)
{
	struct vhost_vfio_run *r;
	int ret;

	r = kmalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r) {
		ret = -ENOMEM;
		goto err_unpin;
	}
	r->iova = iova;
	r->pa = pa;
	r->npages = npages;
	ret = iommu_map(vd->domain, iova, pa, npages << PAGE_SHIFT,
			vd->mirror.prot, GFP_KERNEL_ACCOUNT);
	if (ret)
		goto err_free;
	vv_count_maps(vd, r, true);
	list_add_tail(&r->node, &vd->mirror.runs);
	return 0;

err_free:
	kfree(r);
err_unpin:
	vv_unpin(vd, iova, npages);
	return ret;
}

static void vv_run_unmap(struct vhost_vfio_dev *vd, struct vhost_vfio_run *r)
{
	iommu_unmap(vd->domain, r->iova, r->npages << PAGE_SHIFT);
	vv_count_maps(vd, r, false);
	list_del(&r->node);
}

/* Scratch state of one build; the run in progress lives in the mirror. */
struct vv_builder {
	struct page **pages;
	/* Pages VFIO refused (not DMA-mapped, or read-only), merged. */
	struct vhost_vfio_range *holes;
	unsigned int nr_holes;
	unsigned int cap_holes;
};

static int vv_hole_add(struct vv_builder *b, u64 iova)
{
	struct vhost_vfio_range *h = b->nr_holes ? &b->holes[b->nr_holes - 1] :
				     NULL;

	if (h && h->iova + (h->npages << PAGE_SHIFT) == iova) {
		h->npages++;
		return 0;
	}
	if (b->nr_holes == b->cap_holes) {
		unsigned int cap = max(16U, 2 * b->cap_holes);

		h = krealloc_array(b->holes, cap, sizeof(*h),
				   GFP_KERNEL_ACCOUNT);
		if (!h)
			return -ENOMEM;
		b->holes = h;
		b->cap_holes = cap;
	}
	b->holes[b->nr_holes++] = (struct vhost_vfio_range){ iova, 1 };
	return 0;
}

/* Map the run being accumulated, if any.  Mirror lock held. */
static int vv_pend_flush(struct vhost_vfio_dev *vd)
{
	struct vhost_vfio_mirror *m = &vd->mirror;
	int ret = 0;

	if (m->pend_npages)
		ret = vv_run_add(vd, m->pend_iova, m->pend_pa, m->pend_npages);
	m->pend_npages = 0;
	return ret;
}

static int vv_builder_flush(struct vhost_vfio_dev *vd)
{
	int ret;

	mutex_lock(&vd->mirror.lock);
	ret = vv_pend_flush(vd);
	mutex_unlock(&vd->mirror.lock);
	return ret;
}

/*
 * Is @iova the guest-physical address of @page?  KVM's memslots say which
 * page backs a GPA; a VMM whose guest has its own IOMMU maps guest IOVAs
 * instead, which name other pages.  Only answerable from the VMM's own
 * context (KVM resolves through current->mm).
 */
static bool vv_iova_is_gpa(struct vhost_vfio_dev *vd, u64 iova,
			   struct page *page)
{
	struct kvm *kvm = vd->mirror.kvm;
	struct page *kp;
	bool same;
	int idx;

	if (current->mm != kvm->mm)
		return true;
	/* The memslot lookup must not race a memslot update. */
	idx = srcu_read_lock(&kvm->srcu);
	kp = gfn_to_page(kvm, iova >> PAGE_SHIFT);
	srcu_read_unlock(&kvm->srcu, idx);
	if (is_error_page(kp))
		return false;
	same = kp == page;
	kvm_release_page_clean(kp);
	return same;
}

/*
 * Sample a pinned batch: its first page, and the first page where it stops
 * being physically contiguous (where other memory than the GPA's would
 * most likely begin).  Two KVM lookups per 2 MiB, whatever the backing.
 */
static bool vv_batch_is_gpa(struct vhost_vfio_dev *vd, struct page **pages,
			    u64 iova, int n)
{
	int i;

	if (!vv_iova_is_gpa(vd, iova, pages[0]))
		return false;
	for (i = 1; i < n; i++)
		if (page_to_phys(pages[i]) !=
		    page_to_phys(pages[i - 1]) + PAGE_SIZE)
			return vv_iova_is_gpa(vd, iova + ((u64)i << PAGE_SHIFT),
					      pages[i]);
	return true;
}

/* Add @n pinned pages at @iova to the mirror.  Mirror lock held. */
static int vv_commit(struct vhost_vfio_dev *vd, struct page **pages,
		     u64 iova, int n)
{
	struct vhost_vfio_mirror *m = &vd->mirror;
	int i, ret;

	m->pinned_pages += n;
	for (i = 0; i < n; i++) {
		u64 va = iova + ((u64)i << PAGE_SHIFT);
		phys_addr_t pa = page_to_phys(pages[i]);

		if (m->pend_npages &&
		    va == m->pend_iova + (m->pend_npages << PAGE_SHIFT) &&
		    pa == m->pend_pa + (m->pend_npages << PAGE_SHIFT)) {
			m->pend_npages++;
			continue;
		}
		ret = vv_pend_flush(vd);
		if (ret) {
			vv_unpin(vd, va, n - i);
			return ret;
		}
		m->pend_iova = va;
		m->pend_pa = pa;
		m->pend_npages = 1;
	}
	return 0;
}

/*
 * One vfio_pin_pages() call, with no lock of ours held (see the top of the
 * file).  Returns what it returned, or -EAGAIN when a dma_unmap took the
 * pages away meanwhile.
 */
static int vv_pin_batch(struct vhost_vfio_dev *vd, struct vv_builder *b,
			u64 iova, int n)
{
	struct vhost_vfio_mirror *m = &vd->mirror;
	bool stale;
	int ret;

	mutex_lock(&m->lock);
	m->pinning = true;
	m->pin_iova = iova;
	m->pin_npages = n;
	m->pin_stale = false;
	mutex_unlock(&m->lock);

	/* VFIO compares with the DMA mapping's R/W; no CACHE here. */
	ret = vfio_pin_pages(&vd->vdev, iova, n, IOMMU_READ | IOMMU_WRITE,
			     b->pages);

	mutex_lock(&m->lock);
	m->pinning = false;
	stale = m->pin_stale;
	if (ret > 0 && stale) {
		m->pinned_pages += n;
		vv_unpin(vd, iova, n);
		ret = -EAGAIN;
	} else if (ret > 0 && !vv_batch_is_gpa(vd, b->pages, iova, n)) {
		m->pinned_pages += n;
		vv_unpin(vd, iova, n);
		ret = -VV_ERR_NOT_GPA;
	} else if (ret > 0) {
		ret = vv_commit(vd, b->pages, iova, n) ?: n;
	}
	mutex_unlock(&m->lock);
	wake_up_all(&m->pin_wq);
	return ret;
}

/* Pin [iova, iova + npages) where VFIO lets us; skip what it refuses. */
static int vv_pin_range(struct vhost_vfio_dev *vd, struct vv_builder *b,
			u64 iova, u64 npages)
{
	struct vhost_vfio_mirror *m = &vd->mirror;
	bool retried = false;
	u64 done = 0;
	int n, ret;

	while (done < npages) {
		u64 cur = iova + (done << PAGE_SHIFT);

		/* Close stops the worker; a killed VMM closes the device. */
		if (READ_ONCE(m->cancel) || fatal_signal_pending(current))
			return -EINTR;
		n = min_t(u64, npages - done, VFIO_PIN_PAGES_MAX_ENTRIES);
		ret = vv_pin_batch(vd, b, cur, n);
		if (ret == -EAGAIN && !retried) {
			/* Once, after the unmap that hit us is over. */
			wait_event(m->pin_wq, !READ_ONCE(m->unmapping));
			retried = true;
			continue;
		}
		retried = false;
		if (ret == -ENOMEM || ret == -VV_ERR_NOT_GPA)
			return ret;
		if (ret < 0) {
			/*
			 * Not (all) DMA-mapped, or read-only, or unmapped while
			 * we pinned: bisect so a large hole costs a logarithmic
			 * number of calls.
			 */
			if (n > 1) {
				ret = vv_pin_range(vd, b, cur, n / 2);
				if (!ret)
					ret = vv_pin_range(vd, b,
							   cur + ((u64)(n / 2) << PAGE_SHIFT),
							   n - n / 2);
				if (ret)
					return ret;
			} else {
				ret = vv_hole_add(b, cur);
				if (ret)
					return ret;
			}
		}
		done += n;
		cond_resched();
	}
	return 0;
}

/*
 * Pin a candidate range minus the IOVA the mirror must never map (the
 * sorted m->excluded): reserved regions and what lies outside the aperture.
 */
static int vv_pin_allowed(struct vhost_vfio_dev *vd, struct vv_builder *b,
			  u64 iova, u64 npages)
{
	struct vhost_vfio_mirror *m = &vd->mirror;
	u64 end = iova + (npages << PAGE_SHIFT), cur = iova;
	unsigned int i;
	int ret;

	for (i = 0; i < m->nr_excluded && cur < end; i++) {
		u64 xs = round_down(m->excluded[i].start, PAGE_SIZE);
		u64 xe = m->excluded[i].last >= U64_MAX - PAGE_SIZE ? U64_MAX :
			 round_up(m->excluded[i].last + 1, PAGE_SIZE);

		if (xe <= cur || xs >= end)
			continue;
		if (xs > cur) {
			ret = vv_pin_range(vd, b, cur, (xs - cur) >> PAGE_SHIFT);
			if (ret)
				return ret;
		}
		mutex_lock(&m->lock);
		m->reserved_pages += (min(xe, end) - max(xs, cur)) >> PAGE_SHIFT;
		mutex_unlock(&m->lock);
		cur = min(xe, end);
	}
	if (cur < end)
		return vv_pin_range(vd, b, cur, (end - cur) >> PAGE_SHIFT);
	return 0;
}

/* Copy the memslots out so pinning does not run inside the SRCU section. */
static int vv_collect_ranges(struct kvm *kvm, struct vv_range **out,
			     u64 *gen)
{
	struct kvm_memory_slot *slot;
	struct kvm_memslots *slots;
	struct vv_range *r = NULL;
	int idx, bkt, n = 0, cap = 0;

	idx = srcu_read_lock(&kvm->srcu);
	slots = kvm_memslots(kvm);
	*gen = slots->generation;
	kvm_for_each_memslot(slot, bkt, slots)
		cap++;
	if (cap)
		r = kcalloc(cap, sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (r) {
		kvm_for_each_memslot(slot, bkt, slots) {
			if (n == cap)
				break;
			/* KVM's private slots are never DMA-mapped. */
			if (slot->id >= KVM_USER_MEM_SLOTS ||
			    (slot->flags & KVM_MEMSLOT_INVALID))
				continue;
			r[n].gpa = slot->base_gfn << PAGE_SHIFT;
			r[n].npages = slot->npages;
			n++;
		}
	}
	srcu_read_unlock(&kvm->srcu, idx);
	if (cap && !r)
		return -ENOMEM;
	*out = r;
	return n;
}

static void vv_mirror_work(struct work_struct *work);

/**
 * vhost_vfio_mirror_init - initialize the mirror of a new mdev
 * @vd: mediated device
 */
void vhost_vfio_mirror_init(struct vhost_vfio_dev *vd)
{
	mutex_init(&vd->mirror.lock);
	INIT_LIST_HEAD(&vd->mirror.runs);
	init_waitqueue_head(&vd->mirror.pin_wq);
	INIT_WORK(&vd->mirror.work, vv_mirror_work);
	spin_lock_init(&vd->mirror.state_lock);
}

/**
 * vhost_vfio_mirror_open - take the VM reference
 * @vd: mediated device, lock held, domain attached
 */
void vhost_vfio_mirror_open(struct vhost_vfio_dev *vd)
{
	struct vhost_vfio_mirror *m = &vd->mirror;

	mutex_lock(&m->lock);
	m->kvm = vd->vdev.kvm;
	if (m->kvm)
		kvm_get_kvm(m->kvm);
	/* Open made sure the domain enforces coherency (isolation.c). */
	m->prot = IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE;
	m->builds = 0;
	m->reuses = 0;
	m->last_error = 0;
	m->build_ns = 0;
	m->started = false;
	spin_lock(&m->state_lock);
	m->valid = false;
	m->cancel = false;
	m->result = 0;
	spin_unlock(&m->state_lock);
	mutex_unlock(&m->lock);
}

/**
 * vhost_vfio_mirror_start - build ahead of DRIVER_OK, once per open
 * @vd: mediated device, lock held, open
 *
 * Called on the VMM's first access after open.  Not from open itself: the
 * vfio core lets an emulated device pin only once open_device() returned
 * (type1 refuses pins until the device's unmap notifier is registered), and
 * the VMM mapped guest RAM before it opened us.
 */
void vhost_vfio_mirror_start(struct vhost_vfio_dev *vd)
{
	if (vd->mirror.started)
		return;
	vd->mirror.started = true;
	vhost_vfio_mirror_sync(vd);
}

/* The flags a guest vCPU's DRIVER_OK reads: never behind a long hold. */
static void vv_set_valid(struct vhost_vfio_mirror *m, bool valid)
{
	spin_lock(&m->state_lock);
	m->valid = valid;
	spin_unlock(&m->state_lock);
}

/*
 * Unmap and unpin everything, one run per hold of the mirror lock: a
 * dma_unmap (the VMM holds its big lock there) gets in between.
 */
static void vv_mirror_teardown(struct vhost_vfio_dev *vd)
{
	struct vhost_vfio_mirror *m = &vd->mirror;
	struct vhost_vfio_run *r;

	mutex_lock(&m->lock);
	vv_set_valid(m, false);
	kfree(m->holes);
	m->holes = NULL;
	WRITE_ONCE(m->nr_holes, 0);
	/* Pinned by a failed or interrupted build, never mapped. */
	if (m->pend_npages)
		vv_unpin(vd, m->pend_iova, m->pend_npages);
	m->pend_npages = 0;
	while ((r = list_first_entry_or_null(&m->runs, struct vhost_vfio_run,
					     node))) {
		vv_run_unmap(vd, r);
		vv_unpin(vd, r->iova, r->npages);
		kfree(r);
		mutex_unlock(&m->lock);
		cond_resched();
		mutex_lock(&m->lock);
	}
	mutex_unlock(&m->lock);
}

/* Is every page of [iova, iova + len) mapped?  Mirror lock held. */
static bool vv_mirror_has(struct vhost_vfio_dev *vd, u64 iova, u64 len)
{
	u64 page = round_down(iova, PAGE_SIZE), end = iova + len;
	struct vhost_vfio_run *r;
	bool found;

	if (!len || end < iova)
		return false;
	for (; page < end; page += PAGE_SIZE) {
		found = false;
		list_for_each_entry(r, &vd->mirror.runs, node) {
			if (page >= r->iova &&
			    page < r->iova + (r->npages << PAGE_SHIFT)) {
				found = true;
				break;
			}
		}
		if (!found)
			return false;
	}
	return true;
}

/**
 * vhost_vfio_mirror_teardown - empty the domain and unpin everything
 * @vd: mediated device; the VF must not be doing DMA
 */
void vhost_vfio_mirror_teardown(struct vhost_vfio_dev *vd)
{
	vv_mirror_teardown(vd);
}

/**
 * vhost_vfio_mirror_close - tear down and drop the VM reference
 * @vd: mediated device, lock held; the VF is reset and the worker stopped
 *	(vhost_vfio_mirror_stop())
 */
void vhost_vfio_mirror_close(struct vhost_vfio_dev *vd)
{
	struct kvm *kvm;

	vv_mirror_teardown(vd);
	mutex_lock(&vd->mirror.lock);
	kvm = vd->mirror.kvm;
	vd->mirror.kvm = NULL;
	mutex_unlock(&vd->mirror.lock);
	if (kvm)
		kvm_put_kvm(kvm);
}

/*
 * 6.1 tells an emulated-IOMMU device about unmaps only, so pages the VMM
 * DMA-mapped after the last build are found by trying the holes again.
 * The old hole list stays the mirror's until the new one is complete.
 */
static int vv_fill_holes(struct vhost_vfio_dev *vd, struct vv_builder *b)
{
	struct vhost_vfio_mirror *m = &vd->mirror;
	struct vhost_vfio_range *holes = m->holes;
	unsigned int i, nr = m->nr_holes;
	int ret = 0;

	for (i = 0; i < nr && !ret; i++) {
		ret = vv_pin_range(vd, b, holes[i].iova, holes[i].npages);
		if (!ret)
			ret = vv_builder_flush(vd);
	}
	if (ret)
		return ret;
	mutex_lock(&m->lock);
	kfree(m->holes);
	m->holes = b->holes;
	WRITE_ONCE(m->nr_holes, b->nr_holes);
	b->holes = NULL;
	mutex_unlock(&m->lock);
	return 0;
}

static const char *vv_build_error(int ret)
{
	switch (ret) {
	case -ENOMEM:
		return "pinning guest memory failed with -ENOMEM (RLIMIT_MEMLOCK of the VMM?)";
	case -EINTR:
		return "the device was closed (the VMM exited or was killed)";
	case -VV_ERR_NOT_GPA:
		return "DMA-mapped IOVA is not guest-physical (a guest IOMMU?)";
	default:
		return "IOMMU mapping failed";
	}
}

/**
 * vhost_vfio_mirror_build - (re)build the mirror from the VM's memslots
 * @vd: mediated device, from the worker (vhost_vfio_mirror_sync()); while
 *	the VF runs (@live) only the holes of the last build are retried
 *
 * Pins with no mirror lock held, so dma_unmap can run meanwhile (see the
 * top of the file).
 *
 * Return: 0, or a negative errno after logging why.
 */
int vhost_vfio_mirror_build(struct vhost_vfio_dev *vd)
{
	struct vhost_vfio_mirror *m = &vd->mirror;
	struct vv_builder b = { };
	struct vv_range *ranges = NULL;
	u64 start = local_clock(), gen, seq, total = 0, pinned = 0;
	const char *why;
	bool reuse, live = false;
	int i, n, ret;

	if (!m->kvm) {
		why = "no KVM VM is associated with the VFIO group";
		ret = -ENODEV;
		goto out_log;
	}
	n = vv_collect_ranges(m->kvm, &ranges, &gen);
	if (n < 0) {
		why = "out of memory";
		ret = n;
		goto out_log;
	}
	for (i = 0; i < n; i++)
		total += ranges[i].npages;
	b.pages = kmalloc_array(VFIO_PIN_PAGES_MAX_ENTRIES, sizeof(*b.pages),
				GFP_KERNEL_ACCOUNT);
	if (!b.pages) {
		why = "out of memory";
		ret = -ENOMEM;
		goto out_log_free;
	}

	/*
	 * Same memslots, nothing unmapped since: e.g. a guest reboot.  And
	 * never tear down under a running VF: then only the holes are retried.
	 */
	spin_lock(&m->state_lock);
	live = m->live;
	reuse = (m->valid && m->gen == gen) || live;
	spin_unlock(&m->state_lock);
	if (!reuse)
		vv_mirror_teardown(vd);
	mutex_lock(&m->lock);
	if (!reuse)
		m->reserved_pages = 0;
	seq = m->unmap_seq;
	mutex_unlock(&m->lock);

	if (reuse) {
		ret = vv_fill_holes(vd, &b);
		mutex_lock(&m->lock);
		m->refills++;
		mutex_unlock(&m->lock);
		if (ret && !live)
			goto out_pin_failed;
		if (ret) {
			/* What is mapped stays: the VF runs on it. */
			why = vv_build_error(ret);
			goto out_log_free;
		}
		trace_vhost_vfio_mirror_build(dev_name(vv_dev(vd)), 0,
					      m->pinned_pages, 0, true);
		goto out_free;
	}

	ret = 0;
	for (i = 0; i < n && !ret; i++) {
		ret = vv_pin_allowed(vd, &b, ranges[i].gpa, ranges[i].npages);
		if (!ret)
			ret = vv_builder_flush(vd);
	}
	if (ret)
		goto out_pin_failed;

	mutex_lock(&m->lock);
	if (!m->pinned_pages) {
		mutex_unlock(&m->lock);
		why = "no guest memory is DMA-mapped in the VFIO container";
		ret = -ENOENT;
		goto out_teardown;
	}
	m->builds++;
	m->build_ns = local_clock() - start;
	/*
	 * Reusable, unless the VMM unmapped something while we built: the
	 * holes are tried again then (vv_fill_holes()), unmapped ranges not.
	 */
	kfree(m->holes);
	m->holes = b.holes;
	WRITE_ONCE(m->nr_holes, b.nr_holes);
	b.holes = NULL;
	spin_lock(&m->state_lock);
	m->valid = m->unmap_seq == seq;
	m->gen = gen;
	spin_unlock(&m->state_lock);
	mutex_unlock(&m->lock);
	trace_vhost_vfio_mirror_build(dev_name(vv_dev(vd)), 0, m->pinned_pages,
				      m->build_ns, false);
	goto out_free;

out_pin_failed:
	why = vv_build_error(ret);
out_teardown:
	/* How far it got: a killed VMM stops early (vv_pin_range()). */
	mutex_lock(&m->lock);
	pinned = m->pinned_pages;
	mutex_unlock(&m->lock);
	vhost_vfio_mirror_teardown(vd);
out_log_free:
	kfree(b.holes);
	kfree(ranges);
	kfree(b.pages);
out_log:
	trace_vhost_vfio_mirror_build(dev_name(vv_dev(vd)), ret, pinned,
				      local_clock() - start, false);
	/* Once per open: a guest retrying DRIVER_OK learns nothing new. */
	if (ret != m->last_error && live)
		dev_err(vv_dev(vd), "cannot extend DMA mirror: %s (%d)\n",
			why, ret);
	else if (ret != m->last_error)
		dev_err(vv_dev(vd), "cannot build DMA mirror: %s (%d; %llu of %llu guest pages pinned); the VF gets no DRIVER_OK\n",
			why, ret, pinned, total);
	m->last_error = ret;
	return ret;

out_free:
	kfree(b.holes);
	kfree(ranges);
	kfree(b.pages);
	return ret;
}

/**
 * vhost_vfio_mirror_covers_rings - are the guest's rings in the mirror?
 * @vd: mediated device, lock held, mirror built
 *
 * Every enabled queue's rings must be guest memory the VF can reach.  If
 * they are not, the guest's addresses are not the GPAs the VMM mapped (a
 * guest IOMMU, or a broken driver), and the VF would only fault.
 *
 * Return: true if DRIVER_OK may go on.
 */
bool vhost_vfio_mirror_covers_rings(struct vhost_vfio_dev *vd)
{
	bool packed = vd->negotiated & BIT_ULL(VIRTIO_F_RING_PACKED);
	u64 bad = 0;
	bool ok = true;
	u16 q;

	mutex_lock(&vd->mirror.lock);
	for (q = 0; q < vd->num_queues && ok; q++) {
		struct vhost_vfio_vq *vq = &vd->vqs[q];
		u64 sz = vq->size;

		if (!vq->enabled)
			continue;
		/* virtio 1.2, 2.7 (packed) and 2.6 (split) ring sizes. */
		if (!vv_mirror_has(vd, vq->desc, 16 * sz))
			bad = vq->desc;
		else if (!vv_mirror_has(vd, vq->avail,
					packed ? 4 : 6 + 2 * sz))
			bad = vq->avail;
		else if (!vv_mirror_has(vd, vq->used, packed ? 4 : 6 + 8 * sz))
			bad = vq->used;
		else
			continue;
		ok = false;
	}
	mutex_unlock(&vd->mirror.lock);
	if (!ok)
		dev_err_ratelimited(vv_dev(vd), "queue %u ring at 0x%llx is not guest memory the VMM DMA-mapped (a guest with its own IOMMU, whose addresses are not guest-physical, is not supported); DRIVER_OK refused\n",
				    q - 1, bad);
	return ok;
}

/*
 * Remove [iova, iova + length) from run @r.  The run is unmapped whole (a
 * large page cannot be split in place); the parts outside the range stay
 * pinned and are mapped again as runs of their own.
 */
static int vv_run_cut(struct vhost_vfio_dev *vd, struct vhost_vfio_run *r,
		      u64 iova, u64 end)
{
	u64 rend = r->iova + (r->npages << PAGE_SHIFT);
	u64 cs = max(iova, r->iova), ce = min(end, rend);
	int ret = 0;

	vv_run_unmap(vd, r);
	vv_unpin(vd, cs, (ce - cs) >> PAGE_SHIFT);
	if (cs > r->iova)
		ret = vv_run_add(vd, r->iova, r->pa,
				 (cs - r->iova) >> PAGE_SHIFT);
	if (ce < rend) {
		int ret2 = vv_run_add(vd, ce, r->pa + (ce - r->iova),
				      (rend - ce) >> PAGE_SHIFT);

		ret = ret ?: ret2;
	}
	kfree(r);
	return ret;
}

/**
 * vhost_vfio_dma_unmap - the VMM unmapped IOVA from the container
 * @vdev: vfio device
 * @iova: start of the range
 * @length: length of the range
 *
 * Unmaps the range from our domain and unpins it before returning.  May be
 * called while the VF runs.
 */
void vhost_vfio_dma_unmap(struct vfio_device *vdev, u64 iova, u64 length)
{
	struct vhost_vfio_dev *vd = container_of(vdev, struct vhost_vfio_dev,
						 vdev);
	struct vhost_vfio_mirror *m = &vd->mirror;
	struct vhost_vfio_run *r, *tmp;
	u64 end = iova + length;
	int ret = 0;

	if (end < iova)
		end = U64_MAX;
	mutex_lock(&m->lock);
	m->unmapping++;
	m->unmap_seq++;
	/* A pin in flight in the range: let it land, the builder drops it. */
	while (m->pinning && m->pin_iova < end &&
	       iova < m->pin_iova + (m->pin_npages << PAGE_SHIFT)) {
		m->pin_stale = true;
		mutex_unlock(&m->lock);
		wait_event(m->pin_wq, !READ_ONCE(m->pinning));
		mutex_lock(&m->lock);
	}
	/* The builder's run in progress is cut like the others. */
	if (m->pend_npages && m->pend_iova < end &&
	    iova < m->pend_iova + (m->pend_npages << PAGE_SHIFT))
		ret = vv_pend_flush(vd);
	list_for_each_entry_safe(r, tmp, &m->runs, node) {
		u64 rend = r->iova + (r->npages << PAGE_SHIFT);

		if (r->iova >= end || rend <= iova)
			continue;
		/* The next DRIVER_OK must look at the memslots again. */
		vv_set_valid(m, false);
		ret = vv_run_cut(vd, r, iova, end) ?: ret;
	}
	trace_vhost_vfio_mirror_unmap(dev_name(vv_dev(vd)), iova, length,
				      m->pinned_pages);
	m->unmapping--;
	mutex_unlock(&m->lock);
	wake_up_all(&m->pin_wq);
	if (ret)
		dev_err_ratelimited(vv_dev(vd),
				    "DMA mirror lost a range while unmapping 0x%llx+0x%llx (%d)\n",
				    iova, length, ret);
}

static u64 vv_memslots_gen(struct kvm *kvm)
{
	u64 gen;
	int idx;

	idx = srcu_read_lock(&kvm->srcu);
	gen = kvm_memslots(kvm)->generation;
	srcu_read_unlock(&kvm->srcu, idx);
	return gen;
}

/**
 * vhost_vfio_mirror_ready - may the VF run on the mirror as it is?
 * @vd: mediated device, lock held
 *
 * Return: true if a build completed for the memslots KVM has now, nothing
 * the VMM unmapped since invalidated it, and no build is queued or running
 * (counted as a reuse).
 */
bool vhost_vfio_mirror_ready(struct vhost_vfio_dev *vd)
{
	struct vhost_vfio_mirror *m = &vd->mirror;
	bool ready;
	u64 gen;

	if (!m->kvm)
		return false;
	gen = vv_memslots_gen(m->kvm);
	spin_lock(&m->state_lock);
	ready = m->valid && !m->queued && !m->building && m->gen == gen;
	if (ready)
		m->reuses++;
	spin_unlock(&m->state_lock);
	return ready;
}

/**
 * vhost_vfio_mirror_sync - bring the mirror up to date, off the caller's thread
 * @vd: mediated device, lock held, open
 *
 * Queues the worker unless it is queued already; a worker that is running
 * runs once more.  When it is done it lets a deferred DRIVER_OK through or
 * fails it (vhost_vfio_driver_ok_resume()).
 */
void vhost_vfio_mirror_sync(struct vhost_vfio_dev *vd)
{
	struct vhost_vfio_mirror *m = &vd->mirror;

	if (!m->kvm)
		return;
	spin_lock(&m->state_lock);
	if (!m->queued && !m->cancel) {
		m->queued = true;
		queue_work(system_unbound_wq, &m->work);
	}
	spin_unlock(&m->state_lock);
}

/**
 * vhost_vfio_mirror_set_live - the VF holds DRIVER_OK, or no longer does
 * @vd: mediated device, lock held
 * @live: whether it does
 */
void vhost_vfio_mirror_set_live(struct vhost_vfio_dev *vd, bool live)
{
	spin_lock(&vd->mirror.state_lock);
	vd->mirror.live = live;
	spin_unlock(&vd->mirror.state_lock);
}

/**
 * vhost_vfio_mirror_has_holes - did the last build leave pages unpinned?
 * @vd: mediated device
 *
 * Return: true if retrying them may find pages the VMM mapped since.
 */
bool vhost_vfio_mirror_has_holes(struct vhost_vfio_dev *vd)
{
	return READ_ONCE(vd->mirror.nr_holes);
}

/**
 * vhost_vfio_mirror_stop - stop the worker for good (close)
 * @vd: mediated device, lock NOT held (the worker takes it to finish)
 *
 * A build in progress gives up at its next batch of pages.
 */
void vhost_vfio_mirror_stop(struct vhost_vfio_dev *vd)
{
	struct vhost_vfio_mirror *m = &vd->mirror;

	spin_lock(&m->state_lock);
	m->cancel = true;
	spin_unlock(&m->state_lock);
	wake_up_all(&m->pin_wq);
	cancel_work_sync(&m->work);
	spin_lock(&m->state_lock);
	m->queued = false;
	spin_unlock(&m->state_lock);
}

static void vv_mirror_work(struct work_struct *work)
{
	struct vhost_vfio_dev *vd = container_of(work, struct vhost_vfio_dev,
						 mirror.work);
	struct vhost_vfio_mirror *m = &vd->mirror;
	struct mem_cgroup *memcg, *old_memcg;
	struct mm_struct *mm = NULL;
	int ret = -ESRCH;
	bool requeued;

	spin_lock(&m->state_lock);
	m->queued = false;
	m->building = true;
	spin_unlock(&m->state_lock);

	/* debugfs hold_mirror (tests): wait until released or closed. */
	wait_event(m->pin_wq, !READ_ONCE(m->hold) || READ_ONCE(m->cancel));

	/*
	 * KVM resolves a GPA through current->mm (vv_iova_is_gpa()): borrow
	 * the VMM's.  vfio_pin_pages() uses the mapper's mm by itself.  The
	 * allocations the guest's size decides (GFP_KERNEL_ACCOUNT: runs,
	 * holes, IOMMU page tables) are charged to the VMM's memory cgroup.
	 */
	if (mmget_not_zero(m->kvm->mm)) {
		mm = m->kvm->mm;
		/* What the build allocates is the VMM's, as if it built. */
		memcg = get_mem_cgroup_from_mm(mm);
		old_memcg = set_active_memcg(memcg);
		kthread_use_mm(mm);
		ret = vhost_vfio_mirror_build(vd);
		kthread_unuse_mm(mm);
		set_active_memcg(old_memcg);
		mem_cgroup_put(memcg);
		mmput(mm);
	}

	spin_lock(&m->state_lock);
	m->building = false;
	m->result = ret;
	requeued = m->queued;
	spin_unlock(&m->state_lock);
	/* Queued again meanwhile (a DRIVER_OK saw us stale): that run decides. */
	if (!requeued)
		vhost_vfio_driver_ok_resume(vd, ret);
}
