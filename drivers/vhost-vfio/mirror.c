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
 * can use large pages.  The mirror is built when the guest sets
 * DRIVER_OK (before that the VF does no DMA) and rebuilt at a later
 * DRIVER_OK only if the memslots changed or the VMM unmapped something.
 * dma_unmap removes the range from the domain and unpins it before
 * returning, as type1 requires.
 */
#include <linux/iommu.h>
#include <linux/kvm_host.h>
#include <linux/sched/clock.h>
#include <linux/slab.h>

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

	r = kmalloc(sizeof(*r), GFP_KERNEL);
	if (!r) {
		ret = -ENOMEM;
		goto err_unpin;
	}
	r->iova = iova;
	r->pa = pa;
	r->npages = npages;
	ret = iommu_map(vd->domain, iova, pa, npages << PAGE_SHIFT,
			vd->mirror.prot);
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

/* Accumulates pinned pages into physically contiguous runs. */
struct vv_builder {
	u64 iova;
	phys_addr_t pa;
	u64 npages;
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

		h = krealloc_array(b->holes, cap, sizeof(*h), GFP_KERNEL);
		if (!h)
			return -ENOMEM;
		b->holes = h;
		b->cap_holes = cap;
	}
	b->holes[b->nr_holes++] = (struct vhost_vfio_range){ iova, 1 };
	return 0;
}

static int vv_builder_flush(struct vhost_vfio_dev *vd, struct vv_builder *b)
{
	int ret = 0;

	if (b->npages)
		ret = vv_run_add(vd, b->iova, b->pa, b->npages);
	b->npages = 0;
	return ret;
}

/* Pin [iova, iova + npages) where VFIO lets us; skip what it refuses. */
static int vv_pin_range(struct vhost_vfio_dev *vd, struct vv_builder *b,
			u64 iova, u64 npages)
{
	u64 done = 0;
	int i, n, ret;

	while (done < npages) {
		u64 cur = iova + (done << PAGE_SHIFT);

		n = min_t(u64, npages - done, VFIO_PIN_PAGES_MAX_ENTRIES);
		/* VFIO compares with the DMA mapping's R/W; no CACHE here. */
		ret = vfio_pin_pages(&vd->vdev, cur, n,
				     IOMMU_READ | IOMMU_WRITE, b->pages);
		if (ret == -ENOMEM)
			return ret;
		if (ret < 0) {
			/*
			 * Not (all) DMA-mapped, or read-only: bisect so a
			 * large hole costs a logarithmic number of calls.
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
			done += n;
			continue;
		}
		vd->mirror.pinned_pages += n;
		for (i = 0; i < n; i++) {
			u64 va = cur + ((u64)i << PAGE_SHIFT);
			phys_addr_t pa = page_to_phys(b->pages[i]);

			if (b->npages &&
			    va == b->iova + (b->npages << PAGE_SHIFT) &&
			    pa == b->pa + (b->npages << PAGE_SHIFT)) {
				b->npages++;
				continue;
			}
			ret = vv_builder_flush(vd, b);
			if (ret) {
				vv_unpin(vd, va, n - i);
				return ret;
			}
			b->iova = va;
			b->pa = pa;
			b->npages = 1;
		}
		done += n;
		cond_resched();
	}
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
		r = kcalloc(cap, sizeof(*r), GFP_KERNEL);
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

/**
 * vhost_vfio_mirror_init - initialize the mirror of a new mdev
 * @vd: mediated device
 */
void vhost_vfio_mirror_init(struct vhost_vfio_dev *vd)
{
	mutex_init(&vd->mirror.lock);
	INIT_LIST_HEAD(&vd->mirror.runs);
}

/**
 * vhost_vfio_mirror_open - take the VM reference at open
 * @vd: mediated device, lock held, domain attached
 */
void vhost_vfio_mirror_open(struct vhost_vfio_dev *vd)
{
	struct vhost_vfio_mirror *m = &vd->mirror;

	mutex_lock(&m->lock);
	m->kvm = vd->vdev.kvm;
	if (m->kvm)
		kvm_get_kvm(m->kvm);
	m->prot = IOMMU_READ | IOMMU_WRITE;
	if (device_iommu_capable(vd->vf->dev, IOMMU_CAP_CACHE_COHERENCY))
		m->prot |= IOMMU_CACHE;
	m->builds = 0;
	m->reuses = 0;
	m->build_ns = 0;
	m->valid = false;
	mutex_unlock(&m->lock);
}

static void vv_mirror_teardown_locked(struct vhost_vfio_dev *vd)
{
	struct vhost_vfio_run *r, *tmp;

	vd->mirror.valid = false;
	kfree(vd->mirror.holes);
	vd->mirror.holes = NULL;
	vd->mirror.nr_holes = 0;
	list_for_each_entry_safe(r, tmp, &vd->mirror.runs, node) {
		vv_run_unmap(vd, r);
		vv_unpin(vd, r->iova, r->npages);
		kfree(r);
		cond_resched();
	}
}

/**
 * vhost_vfio_mirror_teardown - empty the domain and unpin everything
 * @vd: mediated device; the VF must not be doing DMA
 */
void vhost_vfio_mirror_teardown(struct vhost_vfio_dev *vd)
{
	mutex_lock(&vd->mirror.lock);
	vv_mirror_teardown_locked(vd);
	mutex_unlock(&vd->mirror.lock);
}

/**
 * vhost_vfio_mirror_close - tear down and drop the VM reference
 * @vd: mediated device, lock held; the VF is reset
 */
void vhost_vfio_mirror_close(struct vhost_vfio_dev *vd)
{
	struct kvm *kvm;

	mutex_lock(&vd->mirror.lock);
	vv_mirror_teardown_locked(vd);
	kvm = vd->mirror.kvm;
	vd->mirror.kvm = NULL;
	mutex_unlock(&vd->mirror.lock);
	if (kvm)
		kvm_put_kvm(kvm);
}

/*
 * 6.1 tells an emulated-IOMMU device about unmaps only, so pages the VMM
 * DMA-mapped after the last build are found by trying the holes again.
 */
static int vv_fill_holes(struct vhost_vfio_dev *vd, struct vv_builder *b)
{
	struct vhost_vfio_mirror *m = &vd->mirror;
	unsigned int i;
	int ret = 0;

	for (i = 0; i < m->nr_holes && !ret; i++) {
		ret = vv_pin_range(vd, b, m->holes[i].iova, m->holes[i].npages);
		if (!ret)
			ret = vv_builder_flush(vd, b);
	}
	if (ret)
		return ret;
	kfree(m->holes);
	m->holes = b->holes;
	m->nr_holes = b->nr_holes;
	b->holes = NULL;
	return 0;
}

/**
 * vhost_vfio_mirror_build - (re)build the mirror from the VM's memslots
 * @vd: mediated device, lock held; the VF is not running (no DRIVER_OK)
 *
 * Return: 0, or a negative errno after logging why.
 */
int vhost_vfio_mirror_build(struct vhost_vfio_dev *vd)
{
	struct vhost_vfio_mirror *m = &vd->mirror;
	struct vv_builder b = { };
	struct vv_range *ranges = NULL;
	const char *why;
	u64 start, gen;
	int i, n, ret;

	mutex_lock(&m->lock);
	start = local_clock();
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
	b.pages = kmalloc_array(VFIO_PIN_PAGES_MAX_ENTRIES, sizeof(*b.pages),
				GFP_KERNEL);
	if (!b.pages) {
		why = "out of memory";
		ret = -ENOMEM;
		goto out_free;
	}
	if (m->valid && m->gen == gen) {
		/* Same memslots, nothing unmapped since: e.g. a guest reboot. */
		ret = vv_fill_holes(vd, &b);
		if (ret)
			goto out_pin_failed;
		m->reuses++;
		kfree(ranges);
		kfree(b.pages);
		trace_vhost_vfio_mirror_build(dev_name(vv_dev(vd)), 0,
					      m->pinned_pages, 0, true);
		mutex_unlock(&m->lock);
		return 0;
	}

	vv_mirror_teardown_locked(vd);
	ret = 0;
	for (i = 0; i < n; i++) {
		ret = vv_pin_range(vd, &b, ranges[i].gpa, ranges[i].npages);
		if (!ret)
			ret = vv_builder_flush(vd, &b);
		if (ret)
			break;
	}
	if (ret)
		goto out_pin_failed;
	if (!m->pinned_pages) {
		why = "no guest memory is DMA-mapped in the VFIO container";
		ret = -ENOENT;
		goto out_teardown;
	}
	m->builds++;
	m->build_ns = local_clock() - start;
	/* Reusable; the holes are tried again then (vv_fill_holes()). */
	m->valid = true;
	kfree(m->holes);
	m->holes = b.holes;
	m->nr_holes = b.nr_holes;
	b.holes = NULL;
	m->gen = gen;
	kfree(ranges);
	kfree(b.pages);
	trace_vhost_vfio_mirror_build(dev_name(vv_dev(vd)), 0, m->pinned_pages,
				      m->build_ns, false);
	mutex_unlock(&m->lock);
	return 0;

out_pin_failed:
	why = ret == -ENOMEM ?
	      "pinning guest memory failed with -ENOMEM (RLIMIT_MEMLOCK of the VMM?)" :
	      "IOMMU mapping failed";
out_teardown:
	/* Pinned pages not yet flushed into a run. */
	if (b.npages)
		vv_unpin(vd, b.iova, b.npages);
	vv_mirror_teardown_locked(vd);
out_free:
	kfree(b.holes);
	kfree(ranges);
	kfree(b.pages);
out_log:
	trace_vhost_vfio_mirror_build(dev_name(vv_dev(vd)), ret, 0,
				      local_clock() - start, false);
	mutex_unlock(&m->lock);
	dev_err_ratelimited(vv_dev(vd), "cannot build DMA mirror: %s (%d); DRIVER_OK refused\n",
			    why, ret);
	return ret;
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
	struct vhost_vfio_run *r, *tmp;
	u64 end = iova + length;
	int ret = 0;

	if (end < iova)
		end = U64_MAX;
	mutex_lock(&vd->mirror.lock);
	list_for_each_entry_safe(r, tmp, &vd->mirror.runs, node) {
		u64 rend = r->iova + (r->npages << PAGE_SHIFT);

		if (r->iova >= end || rend <= iova)
			continue;
		/* The next DRIVER_OK must look at the memslots again. */
		vd->mirror.valid = false;
		ret = vv_run_cut(vd, r, iova, end) ?: ret;
	}
	trace_vhost_vfio_mirror_unmap(dev_name(vv_dev(vd)), iova, length,
				      vd->mirror.pinned_pages);
	mutex_unlock(&vd->mirror.lock);
	if (ret)
		dev_err_ratelimited(vv_dev(vd),
				    "DMA mirror lost a range while unmapping 0x%llx+0x%llx (%d)\n",
				    iova, length, ret);
}
