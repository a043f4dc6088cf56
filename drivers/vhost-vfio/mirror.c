// SPDX-License-Identifier: GPL-2.0-only
/*
 * vhost-vfio: the DMA mirror.
 *
 * The guest programs the VF with guest-physical addresses.  The VF sits in
 * our own IOMMU domain, which must map exactly what the VMM DMA-mapped into
 * the VFIO container (IOVA = GPA), and nothing else.
 *
 * Neither 6.1's type1 nor 6.12's iommufd tells an emulated-IOMMU device
 * about maps, only about unmaps (dma_unmap).  So the candidates come from
 * the KVM memslots of the VM the VMM associated with our group
 * (vdev->kvm), and VFIO decides: each page is pinned with vfio_pin_pages(),
 * which fails for IOVA the container does not map (or maps read-only) and
 * charges RLIMIT_MEMLOCK.  The container is the source of truth, the
 * memslots only say where to look.  What pinned is mapped into our domain
 * in physically contiguous runs, so the IOMMU core can use large pages;
 * the runs sit in an interval tree by IOVA, as type1 keeps its dma_list.
 *
 * The mirror only grows by passes of a worker (@work) and only shrinks by
 * dma_unmap and close.  A pass pins, for every memslot, the pages that are
 * in no run yet: the first one, queued at the VMM's first access after
 * open, pins all of guest RAM ahead of the guest's DRIVER_OK; later ones
 * pin what is new (memory hot-add, a range the VMM mapped again) or was
 * refused before (the gaps).  A DRIVER_OK that finds the mirror current
 * goes straight to the VF; one that does not is deferred: the guest reads
 * DRIVER_OK back at once, the VF gets it when the pass is done, and one
 * notify per enabled queue is replayed then, so no kick the VF could not
 * take yet is lost (virtio_cfg.c).  While the VF runs, a timer (@poll)
 * watches the memslot generation and queues a pass when it moves, and
 * retries the gaps with a backoff (guest RAM mapped into a memslot that
 * already existed: virtio-mem).  dma_unmap removes the range from the
 * domain and unpins it before returning, as type1 requires.
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
#include <linux/interval_tree_generic.h>
#include <linux/iommu.h>
#include <linux/kthread.h>
#include <linux/kvm_host.h>
#include <linux/memcontrol.h>
#include <linux/moduleparam.h>
#include <linux/sched/mm.h>
#include <linux/sched/clock.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/virtio_config.h>

#include "vhost_vfio_priv.h"
#include "trace.h"

static unsigned int mirror_poll_ms = 50;
module_param(mirror_poll_ms, uint, 0644);
MODULE_PARM_DESC(mirror_poll_ms,
		 "While a VF runs, how often (ms) to look for guest memory the VMM added (0: never)");

/* Gaps are retried after 1, 2, 4, ... up to this many quiet polls. */
#define VV_GAP_BACKOFF_MAX	256

/* A pinned, IOVA- and physically contiguous range mapped in the domain. */
struct vhost_vfio_run {
	struct rb_node rb;
	u64 start;		/* first IOVA */
	u64 last;		/* last IOVA, inclusive */
	u64 subtree_last;
	phys_addr_t pa;
};

#define VV_RUN_START(r)	((r)->start)
#define VV_RUN_LAST(r)	((r)->last)
INTERVAL_TREE_DEFINE(struct vhost_vfio_run, rb, u64, subtree_last,
		     VV_RUN_START, VV_RUN_LAST, static, vv_run_tree)

static u64 vv_run_npages(const struct vhost_vfio_run *r)
{
	return (r->last - r->start + 1) >> PAGE_SHIFT;
}

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
	u64 iova = r->start, len = r->last - r->start + 1;
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
	/* The relay maps guest rings from these pages: it lets go first. */
	vhost_vfio_relay_unmap(vd, iova, iova + (npages << PAGE_SHIFT));
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
	r->start = iova;
	r->last = iova + (npages << PAGE_SHIFT) - 1;
	r->pa = pa;
	ret = iommu_map(vd->domain, iova, pa, npages << PAGE_SHIFT,
			vd->mirror.prot, GFP_KERNEL_ACCOUNT);
	if (ret)
		goto err_free;
	vv_count_maps(vd, r, true);
	vv_run_tree_insert(r, &vd->mirror.runs);
	return 0;

err_free:
	kfree(r);
err_unpin:
	vv_unpin(vd, iova, npages);
	return ret;
}

/*
 * Unmap run @r; its pages are unpinned next.  An unmap that comes back
 * short leaves IOVA in the domain pointing at pages about to go back to
 * the allocator, and type1 insists on getting its pins back (its
 * UNMAP_DMA waits for them), so they cannot be kept either: take the VF
 * off the bus for good instead (vhost_vfio_isolation_bus_master() honours
 * dma_cut_off until close), and only then let the pages go.
 */
static int vv_run_unmap(struct vhost_vfio_dev *vd, struct vhost_vfio_run *r)
{
	size_t len = r->last - r->start + 1;
	size_t done = iommu_unmap(vd->domain, r->start, len);

	vv_count_maps(vd, r, false);
	vv_run_tree_remove(r, &vd->mirror.runs);
	/* debugfs fault injection: the cut-off below, on demand. */
	if (atomic_xchg(&vd->fail_next_unmap, 0))
		done = 0;
	if (done == len)
		return 0;
	if (!READ_ONCE(vd->dma_cut_off))
		dev_err(vv_dev(vd), "IOMMU unmapped %zu of %zu bytes at IOVA 0x%llx: VF %s is taken off the bus (Bus Master off) until the device is closed\n",
			done, len, r->start, dev_name(vd->vf->dev));
	vhost_vfio_isolation_cut_off(vd);
	return -EIO;
}

/*
 * One pass of the worker: what it collected, its scratch space, and what
 * it found.  The run in progress lives in the mirror (dma_unmap cuts it).
 */
struct vv_builder {
	struct vv_range *ranges;
	int nr_ranges;
	struct page **pages;
	u64 gen;		/* memslot generation of @ranges */
	u64 seq;		/* unmap_seq when the pass began */
	u64 candidates;		/* memslot pages */
	u64 pinned_before;
	u64 gap_pages;		/* memslot pages VFIO refused */
	u64 reserved_pages;	/* memslot pages in m->excluded */
	u64 pin_ns;		/* time spent inside vfio_pin_pages() */
	u64 pin_calls;		/* vfio_pin_pages() calls */
	u64 start_ns;
	bool live;
	bool refill;		/* the mirror was current: gaps only */
	bool probe_ends;	/* not the first pass: see vv_pin_refused() */
	const char *why;
};

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
	u64 t0;
	int ret;

	mutex_lock(&m->lock);
	m->pinning = true;
	m->pin_iova = iova;
	m->pin_npages = n;
	m->pin_stale = false;
	mutex_unlock(&m->lock);

	/* VFIO compares with the DMA mapping's R/W; no CACHE here. */
	t0 = local_clock();
	ret = vfio_pin_pages(&vd->vdev, iova, n, IOMMU_READ | IOMMU_WRITE,
			     b->pages);
	b->pin_ns += local_clock() - t0;
	b->pin_calls++;

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

static int vv_pin_refused(struct vhost_vfio_dev *vd, struct vv_builder *b,
			  u64 iova, u64 npages);

/* Pin [iova, iova + npages) where VFIO lets us; count what it refuses. */
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
			ret = vv_pin_refused(vd, b, cur, n);
			if (ret)
				return ret;
		}
		done += n;
		cond_resched();
	}
	return 0;
}

/* Is the one page at @iova refused?  Pinned (and kept) if it is not. */
static int vv_probe_page(struct vhost_vfio_dev *vd, struct vv_builder *b,
			 u64 iova, bool *refused)
{
	u64 gaps = b->gap_pages;
	int ret;

	ret = vv_pin_range(vd, b, iova, 1);
	*refused = b->gap_pages != gaps;
	return ret;
}

static int vv_pin_halves(struct vhost_vfio_dev *vd, struct vv_builder *b,
			 u64 iova, u64 npages)
{
	u64 half = npages / 2;

	return vv_pin_range(vd, b, iova, half) ?:
	       vv_pin_range(vd, b, iova + (half << PAGE_SHIFT), npages - half);
}

/*
 * VFIO refused [iova, iova + npages) as a whole: not (all) DMA-mapped,
 * read-only, or unmapped while we pinned.  Bisect to pin what it takes.
 * Bisection visits every page of a range refused throughout, which a large
 * memslot the VMM maps only in part (virtio-mem) would pay on every retry
 * of the gaps.  So a pass after the first probes both ends of a batch-sized
 * range first and takes it as a gap if both are refused: a DMA mapping
 * inside one 2 MiB block that reaches neither end of it is found by the
 * first pass after open only.
 */
static int vv_pin_refused(struct vhost_vfio_dev *vd, struct vv_builder *b,
			  u64 iova, u64 npages)
{
	u64 last = iova + ((npages - 1) << PAGE_SHIFT);
	bool first_refused, last_refused;
	int ret;

	if (npages == 1) {
		b->gap_pages++;
		return 0;
	}
	if (!b->probe_ends || npages < VFIO_PIN_PAGES_MAX_ENTRIES)
		return vv_pin_halves(vd, b, iova, npages);

	ret = vv_probe_page(vd, b, iova, &first_refused);
	if (ret)
		return ret;
	if (!first_refused)
		return vv_pin_halves(vd, b, iova + PAGE_SIZE, npages - 1);
	ret = vv_probe_page(vd, b, last, &last_refused);
	if (ret)
		return ret;
	if (!last_refused)
		return vv_pin_halves(vd, b, iova + PAGE_SIZE, npages - 2);
	b->gap_pages += npages - 2;
	return 0;
}

/*
 * Pin what of [iova, end) is in no run yet.  The tree is looked up afresh
 * for every gap: dma_unmap may cut runs while we pin.
 */
static int vv_pin_uncovered(struct vhost_vfio_dev *vd, struct vv_builder *b,
			    u64 iova, u64 end)
{
	struct vhost_vfio_mirror *m = &vd->mirror;
	struct vhost_vfio_run *r;
	u64 cur = iova, gap_end;
	int ret;

	while (cur < end) {
		mutex_lock(&m->lock);
		r = vv_run_tree_iter_first(&m->runs, cur, end - 1);
		/* Skip the runs that cover cur: they are adjacent, in order. */
		while (r && r->start <= cur) {
			cur = r->last + 1;
			r = cur < end ? vv_run_tree_iter_next(r, cur, end - 1) :
			    NULL;
		}
		gap_end = r ? r->start : end;
		mutex_unlock(&m->lock);
		if (cur >= end)
			break;
		ret = vv_pin_range(vd, b, cur, (gap_end - cur) >> PAGE_SHIFT);
		if (!ret)
			ret = vv_builder_flush(vd);
		if (ret)
			return ret;
		cur = gap_end;
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
			ret = vv_pin_uncovered(vd, b, cur, xs);
			if (ret)
				return ret;
		}
		b->reserved_pages += (min(xe, end) - max(xs, cur)) >> PAGE_SHIFT;
		cur = min(xe, end);
	}
	if (cur < end)
		return vv_pin_uncovered(vd, b, cur, end);
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
static void vv_mirror_poll(struct work_struct *work);

/**
 * vhost_vfio_mirror_init - initialize the mirror of a new mdev
 * @vd: mediated device
 */
void vhost_vfio_mirror_init(struct vhost_vfio_dev *vd)
{
	mutex_init(&vd->mirror.lock);
	vd->mirror.runs = RB_ROOT_CACHED;
	init_waitqueue_head(&vd->mirror.pin_wq);
	INIT_WORK(&vd->mirror.work, vv_mirror_work);
	/* Deferrable: an idle CPU is not woken for it; a busy guest's is. */
	INIT_DEFERRABLE_WORK(&vd->mirror.poll, vv_mirror_poll);
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
	m->refills = 0;
	m->extends = 0;
	m->grown_pages = 0;
	m->gap_pages = 0;
	m->last_pin_calls = 0;
	m->transient_retries = 0;
	m->last_error = 0;
	m->build_ns = 0;
	m->build_pin_ns = 0;
	m->started = false;
	spin_lock(&m->state_lock);
	m->valid = false;
	m->cancel = false;
	m->result = 0;
	m->gap_backoff = 1;
	m->poll_ticks = 0;
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
	struct rb_node *node;

	mutex_lock(&m->lock);
	vv_set_valid(m, false);
	m->gap_pages = 0;
	/* Pinned by a failed or interrupted build, never mapped. */
	if (m->pend_npages)
		vv_unpin(vd, m->pend_iova, m->pend_npages);
	m->pend_npages = 0;
	while ((node = rb_first_cached(&m->runs))) {
		struct vhost_vfio_run *r = rb_entry(node, struct vhost_vfio_run,
						    rb);

		vv_run_unmap(vd, r);
		vv_unpin(vd, r->start, vv_run_npages(r));
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
	u64 cur = round_down(iova, PAGE_SIZE), end = iova + len;
	struct vhost_vfio_run *r;

	if (!len || end < iova)
		return false;
	/* Runs overlapping the range come in IOVA order: no gap allowed. */
	for (r = vv_run_tree_iter_first(&vd->mirror.runs, cur, end - 1);
	     r && r->start <= cur;
	     r = vv_run_tree_iter_next(r, cur, end - 1)) {
		cur = r->last + 1;
		if (cur >= end)
			return true;
	}
	return false;
}

/**
 * vhost_vfio_mirror_lock - hold the mirror still
 * @vd: mediated device
 *
 * While held no page of the mirror is unpinned; vhost_vfio_mirror_vmap()
 * needs it.  Taken before the relay's lock, never after.
 */
void vhost_vfio_mirror_lock(struct vhost_vfio_dev *vd)
{
	mutex_lock(&vd->mirror.lock);
}

/**
 * vhost_vfio_mirror_unlock - release vhost_vfio_mirror_lock()
 * @vd: mediated device
 */
void vhost_vfio_mirror_unlock(struct vhost_vfio_dev *vd)
{
	mutex_unlock(&vd->mirror.lock);
}

/**
 * vhost_vfio_mirror_vmap - map pages the mirror holds into the kernel
 * @vd: mediated device, vhost_vfio_mirror_lock() held
 * @iova: first IOVA, page aligned
 * @npages: number of pages
 *
 * The host reaches guest memory through the very pages the VF reaches at
 * those IOVAs, pinned by the mirror, without pins of its own.  The
 * mirror unpins a page only after vhost_vfio_relay_unmap() let go of it.
 *
 * Return: the kernel mapping, or NULL if a page is not in the mirror (or
 * vmap() failed).
 */
void *vhost_vfio_mirror_vmap(struct vhost_vfio_dev *vd, u64 iova,
			     unsigned int npages)
{
	struct vhost_vfio_run *r;
	struct page **pages;
	void *va = NULL;
	unsigned int i;

	lockdep_assert_held(&vd->mirror.lock);
	pages = kcalloc(npages, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return NULL;
	for (i = 0; i < npages; i++) {
		u64 cur = iova + ((u64)i << PAGE_SHIFT);

		r = vv_run_tree_iter_first(&vd->mirror.runs, cur, cur);
		if (!r)
			goto out;
		pages[i] = pfn_to_page(PHYS_PFN(r->pa + (cur - r->start)));
	}
	va = vmap(pages, npages, VM_MAP, PAGE_KERNEL);
out:
	kfree(pages);
	return va;
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

static const char *vv_build_error(int ret)
{
	switch (ret) {
	case -ENOMEM:
		return "pinning guest memory failed with -ENOMEM (RLIMIT_MEMLOCK of the VMM?)";
	case -EINTR:
		return "the device was closed (the VMM exited or was killed)";
	case -VV_ERR_NOT_GPA:
		return "DMA-mapped IOVA is not guest-physical (a guest IOMMU?)";
	case -ENOENT:
		return "no guest memory is DMA-mapped in the VFIO container";
	default:
		return "IOMMU mapping failed";
	}
}

/*
 * Step 1: what to pin (the memslots), scratch space, and the mirror's
 * state as the pass begins.
 */
static int vv_pass_prepare(struct vhost_vfio_dev *vd, struct vv_builder *b)
{
	struct vhost_vfio_mirror *m = &vd->mirror;
	int i, n;

	if (!m->kvm) {
		b->why = "no KVM VM is associated with the VFIO group";
		return -ENODEV;
	}
	n = vv_collect_ranges(m->kvm, &b->ranges, &b->gen);
	if (n < 0) {
		b->why = "out of memory";
		return n;
	}
	b->nr_ranges = n;
	for (i = 0; i < n; i++)
		b->candidates += b->ranges[i].npages;
	b->pages = kmalloc_array(VFIO_PIN_PAGES_MAX_ENTRIES, sizeof(*b->pages),
				 GFP_KERNEL_ACCOUNT);
	if (!b->pages) {
		b->why = "out of memory";
		return -ENOMEM;
	}
	mutex_lock(&m->lock);
	spin_lock(&m->state_lock);
	b->live = m->live;
	/* Same memslots, nothing unmapped since: e.g. a guest reboot. */
	b->refill = m->valid && m->gen == b->gen;
	spin_unlock(&m->state_lock);
	b->seq = m->unmap_seq;
	b->pinned_before = m->pinned_pages;
	b->probe_ends = b->pinned_before != 0;
	mutex_unlock(&m->lock);
	return 0;
}

/* Step 2: pin and map every memslot page in no run yet. */
static int vv_pass_pin(struct vhost_vfio_dev *vd, struct vv_builder *b)
{
	int i, ret = 0;

	for (i = 0; i < b->nr_ranges && !ret; i++)
		ret = vv_pin_allowed(vd, b, b->ranges[i].gpa,
				     b->ranges[i].npages);
	if (ret)
		b->why = vv_build_error(ret);
	return ret;
}

/* Step 3: publish the pass: counters, gaps, and whether it is current. */
static int vv_pass_commit(struct vhost_vfio_dev *vd, struct vv_builder *b)
{
	struct vhost_vfio_mirror *m = &vd->mirror;
	u64 added;

	mutex_lock(&m->lock);
	if (!m->pinned_pages) {
		mutex_unlock(&m->lock);
		b->why = vv_build_error(-ENOENT);
		return -ENOENT;
	}
	added = m->pinned_pages - b->pinned_before;
	if (b->refill)
		m->refills++;
	else
		m->builds++;
	if (b->live && added)
		m->extends++;
	if (b->pinned_before) {
		m->grown_pages += added;
	} else {
		m->build_ns = local_clock() - b->start_ns;
		m->build_pin_ns = b->pin_ns;
	}
	m->gap_pages = b->gap_pages;
	m->last_pin_calls = b->pin_calls;
	m->transient_retries = 0;
	m->reserved_pages = b->reserved_pages;
	spin_lock(&m->state_lock);
	/* Unmapped while we pinned: what was cut stays cut, look again. */
	m->valid = m->unmap_seq == b->seq;
	m->gen = b->gen;
	/* Quiet gaps are retried less and less often while the VF runs. */
	if (added || !b->refill)
		m->gap_backoff = 1;
	else
		m->gap_backoff = min(2 * m->gap_backoff, VV_GAP_BACKOFF_MAX);
	spin_unlock(&m->state_lock);
	mutex_unlock(&m->lock);
	return 0;
}

/*
 * A failed pass.  Before DRIVER_OK nothing stays pinned (the guest gets
 * DEVICE_NEEDS_RESET); under a running VF what is mapped stays, and the
 * memslots it looked at are not looked at again until they change.
 */
static void vv_pass_failed(struct vhost_vfio_dev *vd, struct vv_builder *b,
			   int ret)
{
	struct vhost_vfio_mirror *m = &vd->mirror;
	u64 pinned = 0;

	if (m->kvm) {
		mutex_lock(&m->lock);
		pinned = m->pinned_pages;
		mutex_unlock(&m->lock);
	}
	if (b->live) {
		spin_lock(&m->state_lock);
		m->gen = b->gen;
		m->gap_backoff = VV_GAP_BACKOFF_MAX;
		spin_unlock(&m->state_lock);
	} else if (m->kvm) {
		vv_mirror_teardown(vd);
	}
	trace_vhost_vfio_mirror_build(dev_name(vv_dev(vd)), ret, pinned,
				      local_clock() - b->start_ns, b->refill);
	/* Once per open: a guest retrying DRIVER_OK learns nothing new. */
	if (ret != m->last_error && b->live)
		dev_err(vv_dev(vd), "cannot extend DMA mirror: %s (%d)\n",
			b->why, ret);
	else if (ret != m->last_error)
		dev_err(vv_dev(vd), "cannot build DMA mirror: %s (%d; %llu of %llu guest pages pinned); the VF gets no DRIVER_OK\n",
			b->why, ret, pinned, b->candidates);
	m->last_error = ret;
}

static u64 vv_memslots_gen(struct kvm *kvm);
static void vv_queue_pass(struct vhost_vfio_mirror *m);

/* Passes in a row that may retry a mismatch seen while the map changed. */
#define VV_TRANSIENT_RETRIES	3

/*
 * An IOVA whose page is not KVM's page for that GPA, while the VMM was
 * changing its memory map (memslots or DMA mappings moved since the pass
 * began): QEMU maps a range into the container before KVM has its new
 * memslot, so a guest firmware toggling the shadowed BIOS area makes such
 * a moment.  Not a guest IOMMU yet: what is mapped stays, and another pass
 * is queued, a few times in a row at most; a DRIVER_OK waiting for the
 * mirror waits for that pass.
 */
static bool vv_pass_transient(struct vhost_vfio_dev *vd, struct vv_builder *b)
{
	struct vhost_vfio_mirror *m = &vd->mirror;
	bool moved;

	mutex_lock(&m->lock);
	moved = m->unmap_seq != b->seq;
	mutex_unlock(&m->lock);
	moved = moved || vv_memslots_gen(m->kvm) != b->gen;
	if (!moved || m->transient_retries >= VV_TRANSIENT_RETRIES)
		return false;
	m->transient_retries++;
	/* The run pinned so far is kept: the next pass must see it mapped. */
	vv_builder_flush(vd);
	spin_lock(&m->state_lock);
	m->valid = false;
	vv_queue_pass(m);
	spin_unlock(&m->state_lock);
	trace_vhost_vfio_mirror_build(dev_name(vv_dev(vd)), -EAGAIN,
				      m->pinned_pages,
				      local_clock() - b->start_ns, b->refill);
	return true;
}

/**
 * vhost_vfio_mirror_build - one pass: pin what the memslots hold and the
 *	mirror does not
 * @vd: mediated device, from the worker (vhost_vfio_mirror_sync()), or
 *	from DRIVER_OK when no VM is associated (to log why not)
 *
 * Pins with no mirror lock held, so dma_unmap can run meanwhile (see the
 * top of the file).
 *
 * Return: 0, or a negative errno after logging why.
 */
int vhost_vfio_mirror_build(struct vhost_vfio_dev *vd)
{
	struct vv_builder b = { .start_ns = local_clock() };
	int ret;

	ret = vv_pass_prepare(vd, &b);
	if (!ret)
		ret = vv_pass_pin(vd, &b);
	if (!ret)
		ret = vv_pass_commit(vd, &b);
	if (ret == -VV_ERR_NOT_GPA && vv_pass_transient(vd, &b))
		ret = -EAGAIN;
	else if (ret)
		vv_pass_failed(vd, &b, ret);
	else
		trace_vhost_vfio_mirror_build(dev_name(vv_dev(vd)), 0,
					      vd->mirror.pinned_pages,
					      local_clock() - b.start_ns,
					      b.refill);
	kfree(b.pages);
	kfree(b.ranges);
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
 * Remove [iova, end) from run @r.  The run is unmapped whole (a large page
 * cannot be split in place); the parts outside the range stay pinned and
 * are mapped again as runs of their own.
 */
static int vv_run_cut(struct vhost_vfio_dev *vd, struct vhost_vfio_run *r,
		      u64 iova, u64 end)
{
	u64 rend = r->last + 1;
	u64 cs = max(iova, r->start), ce = min(end, rend);
	int ret;

	ret = vv_run_unmap(vd, r);
	vv_unpin(vd, cs, (ce - cs) >> PAGE_SHIFT);
	if (cs > r->start) {
		int ret2 = vv_run_add(vd, r->start, r->pa,
				      (cs - r->start) >> PAGE_SHIFT);

		ret = ret ?: ret2;
	}
	if (ce < rend) {
		int ret2 = vv_run_add(vd, ce, r->pa + (ce - r->start),
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
 * called while the VF runs.  Costs a tree lookup per run it cuts, not a
 * walk of the mirror.
 */
void vhost_vfio_dma_unmap(struct vfio_device *vdev, u64 iova, u64 length)
{
	struct vhost_vfio_dev *vd = container_of(vdev, struct vhost_vfio_dev,
						 vdev);
	struct vhost_vfio_mirror *m = &vd->mirror;
	struct vhost_vfio_run *r;
	u64 end = iova + length;
	int ret = 0;

	if (!length)
		return;
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
	/* What a cut maps again lies outside the range: the loop ends. */
	while ((r = vv_run_tree_iter_first(&m->runs, iova, end - 1))) {
		/* The next DRIVER_OK must look at the memslots again. */
		vv_set_valid(m, false);
		ret = vv_run_cut(vd, r, iova, end) ?: ret;
	}
	trace_vhost_vfio_mirror_unmap(dev_name(vv_dev(vd)), iova, length,
				      m->pinned_pages);
	m->unmapping--;
	mutex_unlock(&m->lock);
	wake_up_all(&m->pin_wq);
	/* A short unmap (-EIO) has said so already, with what it did. */
	if (ret && ret != -EIO)
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
 * Return: true if a pass completed for the memslots KVM has now, nothing
 * the VMM unmapped since invalidated it, and no pass is queued or running
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
 * vhost_vfio_mirror_built - does a completed pass stand?
 * @vd: mediated device
 *
 * Weaker than vhost_vfio_mirror_ready(): a pass for memory the VMM added
 * since, or for the gaps, may be queued or running.  Enough for a device
 * that ran on this mirror to go on, as its running VF does meanwhile.
 *
 * Return: true if a pass completed and no unmap came since.
 */
bool vhost_vfio_mirror_built(struct vhost_vfio_dev *vd)
{
	struct vhost_vfio_mirror *m = &vd->mirror;
	bool built;

	spin_lock(&m->state_lock);
	built = m->kvm && m->valid;
	spin_unlock(&m->state_lock);
	return built;
}

/**
 * vhost_vfio_mirror_busy - is a pass queued or running?
 * @vd: mediated device
 *
 * Return: true if a pass will report after this one (its result decides).
 */
bool vhost_vfio_mirror_busy(struct vhost_vfio_dev *vd)
{
	struct vhost_vfio_mirror *m = &vd->mirror;
	bool busy;

	spin_lock(&m->state_lock);
	busy = m->queued || m->building;
	spin_unlock(&m->state_lock);
	return busy;
}

/* Queue a pass unless one is queued already.  State lock held. */
static void vv_queue_pass(struct vhost_vfio_mirror *m)
{
	if (!m->queued && !m->cancel) {
		m->queued = true;
		queue_work(system_unbound_wq, &m->work);
	}
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
	vv_queue_pass(m);
	spin_unlock(&m->state_lock);
}

/*
 * While the VF runs: memory the VMM adds is found by the next pass.  No
 * kernel interface tells an emulated-IOMMU device about a new DMA mapping
 * (type1 and iommufd notify unmaps only), so look: a new memslot
 * generation (pc-dimm hot-add, a remapped range) queues a pass at once,
 * and the gaps of the last pass are retried after 1, 2, 4, ... quiet
 * polls.  A poll is one SRCU-protected read when nothing changed.
 */
static void vv_mirror_poll(struct work_struct *work)
{
	struct vhost_vfio_mirror *m = container_of(to_delayed_work(work),
						   struct vhost_vfio_mirror,
						   poll);
	unsigned int ms = READ_ONCE(mirror_poll_ms);
	u64 gen = vv_memslots_gen(m->kvm);

	spin_lock(&m->state_lock);
	if (!m->live || m->cancel || !ms)
		goto out;
	m->polls++;
	if (gen != m->gen ||
	    (READ_ONCE(m->gap_pages) && ++m->poll_ticks >= m->gap_backoff)) {
		m->poll_ticks = 0;
		vv_queue_pass(m);
	}
	queue_delayed_work(system_unbound_wq, &m->poll, msecs_to_jiffies(ms));
out:
	spin_unlock(&m->state_lock);
}

/**
 * vhost_vfio_mirror_set_live - the VF holds DRIVER_OK, or no longer does
 * @vd: mediated device, lock held
 * @live: whether it does
 *
 * While it does, the mirror is watched for guest memory the VMM adds.
 */
void vhost_vfio_mirror_set_live(struct vhost_vfio_dev *vd, bool live)
{
	struct vhost_vfio_mirror *m = &vd->mirror;
	unsigned int ms = READ_ONCE(mirror_poll_ms);

	spin_lock(&m->state_lock);
	m->live = live;
	if (live && ms && m->kvm && !m->cancel)
		queue_delayed_work(system_unbound_wq, &m->poll,
				   msecs_to_jiffies(ms));
	spin_unlock(&m->state_lock);
	/* Not _sync: the poll takes only the state lock and sees !live. */
	if (!live)
		cancel_delayed_work(&m->poll);
}

/**
 * vhost_vfio_mirror_has_holes - did the last pass leave pages unpinned?
 * @vd: mediated device
 *
 * Return: true if retrying them may find pages the VMM mapped since.
 */
bool vhost_vfio_mirror_has_holes(struct vhost_vfio_dev *vd)
{
	return READ_ONCE(vd->mirror.gap_pages);
}

/**
 * vhost_vfio_mirror_stop - stop the worker and the poll for good (close)
 * @vd: mediated device, lock NOT held (the worker takes it to finish)
 *
 * A pass in progress gives up at its next batch of pages.
 */
void vhost_vfio_mirror_stop(struct vhost_vfio_dev *vd)
{
	struct vhost_vfio_mirror *m = &vd->mirror;

	spin_lock(&m->state_lock);
	m->cancel = true;
	spin_unlock(&m->state_lock);
	wake_up_all(&m->pin_wq);
	/* The poll queues passes: first it, then the worker. */
	cancel_delayed_work_sync(&m->poll);
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
