// SPDX-License-Identifier: GPL-2.0-only
/*
 * vhost-vfio: the virtqueue relay.
 *
 * With the relay the VF never sees the guest's avail and used rings.  Each
 * of its queues gets a shadow avail and used ring that this module owns,
 * mapped into the VF's domain at IOVA no guest page can take (a window at
 * the top of the aperture that the mirror keeps out of its map, like a
 * reserved region).  The descriptor table stays the guest's: the VF reads
 * descriptors and buffers through the mirror as before, so data remains
 * zero-copy; only the 2-byte heads and the 8-byte used elements are moved.
 *
 *   guest kick (trapped BAR2 write) -> avail heads copied to the shadow
 *	avail ring -> the VF's doorbell
 *   VF MSI-X (threaded handler) -> shadow used elements copied to the
 *	guest's used ring -> the guest's eventfd, if it asked for it
 *
 * So the host knows every ring position and every buffer the VF holds,
 * which is what migration needs to stop a VF that virtio gives no stop
 * bit (Documentation/design.rst, "The virtqueue relay").  The price is an
 * exit per kick and a host wake-up per interrupt: the relay is opt-in (the
 * "relay" module parameter), fixed at open.
 *
 * The guest's rings are reached through the pages the DMA mirror pinned
 * for them, mapped contiguously with vmap(), so that the 16-bit indices
 * are read and written with single accesses.  The relay takes no pins of
 * its own (so no lock of type1's nests inside ours); before the mirror
 * unpins a page, vhost_vfio_relay_unmap() lets go of it, and a queue whose
 * ring went stops being relayed until the guest resets the device.
 *
 * Only split rings, and no VIRTIO_F_IN_ORDER (a device may then report a
 * batch with one element, and the relay must know each buffer it holds).
 *
 * Locking: vd->lock, then the mirror's lock, then @relay.lock, which
 * serializes the relay state of every queue against the kick path (under
 * vd->lock), the irq threads, the poll and the mirror's unpins.  The VF
 * is only written under vd->lock (its doorbell, from the kick path).
 */
#include <linux/interrupt.h>
#include <linux/iommu.h>
#include <linux/log2.h>
#include <linux/moduleparam.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/vmalloc.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "vhost_vfio_priv.h"

static bool relay;
module_param(relay, bool, 0644);
MODULE_PARM_DESC(relay,
		 "Devices opened from now on run their virtqueues through the host's relay: the VF uses shadow rings, doorbells are trapped and interrupts pass through the host. Slower; it is what lets a device be quiesced for migration (default: N)");

/* Split ring sizes (virtio 1.2, 2.7): flags, idx, ring[], event. */
static size_t vv_avail_len(u16 size)
{
	return 6 + 2 * (size_t)size;
}

static size_t vv_used_len(u16 size)
{
	return 6 + 8 * (size_t)size;
}

/* The shadow of a queue of @size: avail ring, then used ring, page aligned. */
static size_t vv_shadow_used_off(u16 size)
{
	return PAGE_ALIGN(vv_avail_len(size));
}

static size_t vv_shadow_len(u16 size)
{
	return vv_shadow_used_off(size) + PAGE_ALIGN(vv_used_len(size));
}

/* Field views of a split ring, little-endian as virtio 1 defines it. */
static __le16 *vv_avail_flags(void *avail)
{
	return avail;
}

static __le16 *vv_avail_idx(void *avail)
{
	return (__le16 *)avail + 1;
}

static __le16 *vv_avail_ring(void *avail, u16 i)
{
	return (__le16 *)avail + 2 + i;
}

/* used_event lives after the avail ring. */
static __le16 *vv_used_event(void *avail, u16 size)
{
	return vv_avail_ring(avail, size);
}

static __le16 *vv_used_flags(void *used)
{
	return used;
}

static __le16 *vv_used_idx(void *used)
{
	return (__le16 *)used + 1;
}

/* A used element of a virtio 1 ring: little-endian, whatever the CPU. */
struct vv_used_elem {
	__le32 id;
	__le32 len;
};

static struct vv_used_elem *vv_used_ring(void *used, u16 i)
{
	return (struct vv_used_elem *)((u8 *)used + 4) + i;
}

/* avail_event lives after the used ring. */
static __le16 *vv_avail_event(void *used, u16 size)
{
	return (__le16 *)vv_used_ring(used, size);
}

static u16 vv_get(__le16 *p)
{
	return le16_to_cpu(READ_ONCE(*p));
}

static void vv_put(__le16 *p, u16 v)
{
	WRITE_ONCE(*p, cpu_to_le16(v));
}

/**
 * vhost_vfio_relay_on - does this device run through the relay?
 * @vd: mediated device
 *
 * Fixed when open attaches the domain; before, what the module parameter
 * says now.
 */
bool vhost_vfio_relay_on(struct vhost_vfio_dev *vd)
{
	return vd->domain ? vd->relay.on : READ_ONCE(relay);
}

/**
 * vhost_vfio_relay_reserve - keep the shadow rings' IOVA out of the mirror
 * @vd: mediated device, opening; its domain attached
 * @x: the spans the mirror never maps, with room for one more
 * @n: entries in @x, incremented when a window is added
 *
 * The window is the highest IOVA range below the aperture's end (or 2^48)
 * that is free of every span already in @x: guest RAM sits low, and a
 * guest page that lies there anyway is one the VF cannot reach, as for
 * any reserved region.
 *
 * Return: 0, or -ENOSPC if no window fits.
 */
int vhost_vfio_relay_reserve(struct vhost_vfio_dev *vd,
			     struct vhost_vfio_span *x, unsigned int *n)
{
	struct iommu_domain_geometry *geo = &vd->domain->geometry;
	struct vhost_vfio_relay *r = &vd->relay;
	u64 top = (1ULL << 48) - 1, start;
	size_t slot = 0;
	unsigned int i;
	bool moved;
	u16 q;

	r->on = READ_ONCE(relay);
	r->iova_len = 0;
	if (!r->on)
		return 0;
	for (q = 0; q < vd->vf->num_queues; q++)
		slot = max(slot, vv_shadow_len(vd->vf->queue_max[q]));
	r->slot_len = slot;
	r->iova_len = slot * vd->vf->num_queues;
	if (geo->force_aperture)
		top = min(top, geo->aperture_end);
	do {
		moved = false;
		if (top < r->iova_len - 1)
			return -ENOSPC;
		start = round_down(top - r->iova_len + 1, PAGE_SIZE);
		for (i = 0; i < *n; i++) {
			if (x[i].start > start + r->iova_len - 1 ||
			    x[i].last < start)
				continue;
			if (!x[i].start)
				return -ENOSPC;
			top = x[i].start - 1;
			moved = true;
		}
	} while (moved);
	r->iova = start;
	x[(*n)++] = (struct vhost_vfio_span){ start, start + r->iova_len - 1 };
	return 0;
}

/*
 * A guest ring, mapped contiguously from the pages the mirror holds for
 * it (vhost_vfio_mirror_vmap()); @va points at the ring inside them.
 * Mirror lock held.
 */
static int vv_gmap_get(struct vhost_vfio_dev *vd, struct vhost_vfio_gmap *m,
		       u64 iova, size_t len)
{
	u64 first = round_down(iova, PAGE_SIZE);
	unsigned int npages;
	void *va;

	if (iova + len < iova || iova + len > U64_MAX - PAGE_SIZE)
		return -EFAULT;
	npages = (PAGE_ALIGN(iova + len) - first) >> PAGE_SHIFT;
	va = vhost_vfio_mirror_vmap(vd, first, npages);
	if (!va)
		return -EFAULT;
	m->base = va;
	m->va = va + (iova - first);
	m->iova = first;
	m->npages = npages;
	return 0;
}

static void vv_gmap_put(struct vhost_vfio_gmap *m)
{
	if (!m->base)
		return;
	vunmap(m->base);
	memset(m, 0, sizeof(*m));
}

/* Does the mapping overlap [iova, end)?  Inclusive ends: no overflow. */
static bool vv_gmap_hits(struct vhost_vfio_gmap *m, u64 iova, u64 end)
{
	return m->base && end > iova && m->iova <= end - 1 &&
	       iova <= m->iova + ((u64)m->npages << PAGE_SHIFT) - 1;
}

/* Drop a queue's hold on the guest's rings; the relay of it stops. */
static void vv_rq_unmap_guest(struct vhost_vfio_relay_vq *rq)
{
	vv_gmap_put(&rq->gavail);
	vv_gmap_put(&rq->gused);
	rq->live = false;
}

/* Free a queue's shadow rings; only once the VF cannot reach them. */
static void vv_rq_free_shadow(struct vhost_vfio_dev *vd,
			      struct vhost_vfio_relay_vq *rq)
{
	size_t unmapped;

	if (!rq->shadow)
		return;
	unmapped = iommu_unmap(vd->domain, rq->shadow_iova, rq->shadow_len);
	if (unmapped != rq->shadow_len) {
		/* The VF could still reach the pages: keep them for good. */
		dev_err(vv_dev(vd), "shadow ring of queue %u at IOVA 0x%llx unmapped %zu of %zu bytes; its pages are leaked, not reused\n",
			rq->gq, rq->shadow_iova, unmapped, rq->shadow_len);
		vhost_vfio_isolation_cut_off(vd);
	} else {
		free_pages_exact(rq->shadow, rq->shadow_len);
	}
	rq->shadow = NULL;
	rq->savail = NULL;
	rq->sused = NULL;
}

/**
 * vhost_vfio_relay_queue_addrs - ring addresses the VF is given for a queue
 * @vd: mediated device, lock held, relay on
 * @gq: guest queue, about to be enabled on the VF
 * @q: its VF queue
 * @avail: set to the shadow avail ring's IOVA
 * @used: set to the shadow used ring's IOVA
 *
 * Allocates (or clears) the queue's shadow rings for its current size and
 * maps them at the queue's slot of the window.  The descriptor table the
 * VF uses is the guest's own.
 *
 * Return: 0, or a negative errno (logged) and the queue stays disabled.
 */
int vhost_vfio_relay_queue_addrs(struct vhost_vfio_dev *vd, u16 gq, int q,
				 u64 *avail, u64 *used)
{
	struct vhost_vfio_relay *r = &vd->relay;
	struct vhost_vfio_relay_vq *rq = &r->vqs[gq];
	u16 size = vd->vqs[gq].size;
	size_t len = vv_shadow_len(size);
	u64 iova = r->iova + (u64)q * r->slot_len;
	int ret = 0;

	/* A split ring's size: a power of 2 the VF's queue can hold. */
	if (!size || !is_power_of_2(size) || size > vd->vf->queue_max[q]) {
		ret = -EINVAL;
		goto out_log_unlocked;
	}
	mutex_lock(&r->lock);
	if (rq->seq && rq->size != size) {
		kfree(rq->seq);
		rq->seq = NULL;
	}
	if (!rq->seq) {
		rq->seq = kcalloc(size, sizeof(*rq->seq), GFP_KERNEL_ACCOUNT);
		if (!rq->seq) {
			ret = -ENOMEM;
			goto out_log;
		}
	}
	/* Another size, or another VF queue's slot (MQ moves the control queue). */
	if (rq->shadow && (rq->shadow_len != len || rq->shadow_iova != iova))
		vv_rq_free_shadow(vd, rq);
	if (rq->shadow) {
		memset(rq->shadow, 0, len);
		goto out;
	}
	rq->shadow = alloc_pages_exact(len, GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!rq->shadow) {
		ret = -ENOMEM;
		goto out_log;
	}
	ret = iommu_map(vd->domain, iova, virt_to_phys(rq->shadow), len,
			IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE, GFP_KERNEL);
	if (ret) {
		free_pages_exact(rq->shadow, len);
		rq->shadow = NULL;
		goto out_log;
	}
	rq->shadow_len = len;
	rq->shadow_iova = iova;
out:
	rq->gq = gq;
	rq->q = q;
	rq->size = size;
	rq->savail = rq->shadow;
	rq->sused = (u8 *)rq->shadow + vv_shadow_used_off(size);
	rq->s_avail_idx = 0;
	rq->s_kicked = 0;
	rq->s_last_used = 0;
	*avail = iova;
	*used = iova + vv_shadow_used_off(size);
	mutex_unlock(&r->lock);
	return 0;

out_log:
	mutex_unlock(&r->lock);
out_log_unlocked:
	dev_err_ratelimited(vv_dev(vd), "no shadow ring for queue %u of %u entries (%d); queue left disabled\n",
			    gq, size, ret);
	return ret;
}

/**
 * vhost_vfio_relay_queue_start - begin relaying a queue the VF now runs
 * @vd: mediated device, lock held, relay on
 * @gq: guest queue, enabled on the VF
 *
 * Return: 0, or a negative errno (logged) when the guest's rings cannot
 * be reached; the queue is not relayed then.
 */
int vhost_vfio_relay_queue_start(struct vhost_vfio_dev *vd, u16 gq)
{
	struct vhost_vfio_relay_vq *rq = &vd->relay.vqs[gq];
	struct vhost_vfio_vq *vq = &vd->vqs[gq];
	int ret;

	/* The ring pages stay in the mirror while it is held. */
	vhost_vfio_mirror_lock(vd);
	mutex_lock(&vd->relay.lock);
	if (rq->live || !rq->shadow) {
		ret = rq->live ? 0 : -ENXIO;
		goto out;
	}
	ret = vv_gmap_get(vd, &rq->gavail, vq->avail, vv_avail_len(rq->size));
	if (!ret)
		ret = vv_gmap_get(vd, &rq->gused, vq->used,
				  vv_used_len(rq->size));
	if (ret) {
		vv_rq_unmap_guest(rq);
		goto out;
	}
	rq->event_idx = vd->negotiated & BIT_ULL(VIRTIO_RING_F_EVENT_IDX);
	rq->broken = false;
	rq->live = true;
out:
	mutex_unlock(&vd->relay.lock);
	vhost_vfio_mirror_unlock(vd);
	if (ret)
		dev_err_ratelimited(vv_dev(vd), "queue %u: the guest's rings are not guest memory the VMM DMA-mapped (%d); the queue is not relayed\n",
				    gq, ret);
	return ret;
}

/*
 * The queue misbehaved: stop relaying it until the next reset, and say so
 * once per open.
 */
static void vv_rq_break(struct vhost_vfio_dev *vd,
			struct vhost_vfio_relay_vq *rq, const char *why)
{
	rq->broken = true;
	vd->relay.st.errors++;
	if (!rq->warned)
		dev_warn(vv_dev(vd), "relay of queue %u stopped: %s; it resumes when the guest resets the device\n",
			 rq->gq, why);
	rq->warned = true;
}

/*
 * Note that the VF holds @head from now on, in the order it was handed
 * over: what a parked queue gives back to a fresh VF (the hostile guest
 * that repeats a head gets it once).
 */
static void vv_stamp(struct vhost_vfio_relay_vq *rq, u16 head)
{
	if (head >= rq->size)
		return;
	if (!++rq->next_seq)
		++rq->next_seq;
	rq->seq[head] = rq->next_seq;
}

/*
 * Does the VF interrupt for this queue, into a handler of ours?  Not for a
 * queue without a vector (Linux's virtio_net polls its control queue so),
 * nor for a vector the VMM gave no eventfd.
 */
static bool vv_rq_interrupts(struct vhost_vfio_dev *vd,
			     struct vhost_vfio_relay_vq *rq)
{
	u16 vector = READ_ONCE(vd->vqs[rq->gq].vector);

	return vector < vd->vf->msix_vectors &&
	       READ_ONCE(vd->irqs[vector].trigger);
}

/*
 * Guest avail -> shadow avail.  Returns how many heads moved; *@broke is
 * set if the guest broke the ring.
 */
static u16 vv_relay_avail(struct vhost_vfio_dev *vd,
			  struct vhost_vfio_relay_vq *rq, bool *broke)
{
	void *gav = rq->gavail.va, *sav = rq->savail;
	u16 size = rq->size, moved = 0;

	for (;;) {
		u16 idx = vv_get(vv_avail_idx(gav));
		u16 pending = idx - rq->last_avail;
		u16 room = size - (u16)(rq->s_avail_idx - rq->s_last_used);
		u16 i, n;

		if (pending > size) {
			vv_rq_break(vd, rq, "the guest's avail index ran more than a ring ahead");
			*broke = true;
			break;
		}
		/* The entries, not older than the index that published them. */
		virt_rmb();
		n = min(pending, room);
		for (i = 0; i < n; i++) {
			u16 head = vv_get(vv_avail_ring(gav,
						       (rq->last_avail + i) % size));

			vv_put(vv_avail_ring(sav, (rq->s_avail_idx + i) % size),
			       head);
			vv_stamp(rq, head);
		}
		rq->last_avail += n;
		rq->s_avail_idx += n;
		moved += n;
		if (!rq->event_idx || n < pending)
			break;
		vv_put(vv_avail_event(rq->gused.va, size), rq->last_avail);
		/* Ask for the next kick, then look once more (virtio 2.7.10). */
		virt_mb();
		if (vv_get(vv_avail_idx(gav)) == rq->last_avail)
			break;
	}
	if (moved) {
		/* The heads before the index that publishes them (to a device). */
		dma_wmb();
		vv_put(vv_avail_idx(sav), rq->s_avail_idx);
	}
	return moved;
}

/*
 * Does the VF want a kick for the heads from @old (the index at the last
 * decision) up to s_avail_idx?  The other side is a device: mandatory
 * barriers on the shadow rings, SMP ones on the guest's.
 */
static bool vv_vf_wants_kick(struct vhost_vfio_relay_vq *rq, u16 old)
{
	/* The index before the VF's flags or event (virtio 2.7.10). */
	mb();
	if (rq->event_idx)
		return vring_need_event(vv_get(vv_avail_event(rq->sused, rq->size)),
					rq->s_avail_idx, old);
	return !(vv_get(vv_used_flags(rq->sused)) & VRING_USED_F_NO_NOTIFY);
}

/*
 * Shadow used -> guest used.  Returns true if the guest asked to be told
 * about what moved.
 */
static bool vv_relay_used(struct vhost_vfio_dev *vd,
			  struct vhost_vfio_relay_vq *rq)
{
	void *sused = rq->sused, *gused = rq->gused.va;
	u16 size = rq->size, start = rq->g_used_idx, n;

	for (;;) {
		u16 idx = vv_get(vv_used_idx(sused));

		n = idx - rq->s_last_used;
		if (n > (u16)(rq->s_avail_idx - rq->s_last_used)) {
			vv_rq_break(vd, rq, "the VF used more buffers than it was given");
			return false;
		}
		if (!n)
			break;
		/* The elements, not older than the index (from a device). */
		dma_rmb();
		while (n--) {
			struct vv_used_elem *s, *g;

			s = vv_used_ring(sused, rq->s_last_used++ % size);
			g = vv_used_ring(gused, rq->g_used_idx++ % size);
			__le32 id = READ_ONCE(s->id);

			WRITE_ONCE(g->id, id);
			WRITE_ONCE(g->len, READ_ONCE(s->len));
			/* The VF gave it back: no longer held (virtio 2.7.8). */
			if (le32_to_cpu(id) < size)
				rq->seq[le32_to_cpu(id)] = 0;
		}
		if (!rq->event_idx)
			break;
		vv_put(vv_used_event(rq->savail, size), rq->s_last_used);
		/* Ask for the next interrupt, then look once more. */
		mb();
	}
	n = rq->g_used_idx - start;
	if (!n)
		return false;
	vd->relay.st.used_relayed += n;
	/* The elements before the index that publishes them. */
	virt_wmb();
	vv_put(vv_used_idx(gused), rq->g_used_idx);
	/* The index before the guest's flags or event. */
	virt_mb();
	if (rq->event_idx)
		return vring_need_event(vv_get(vv_used_event(rq->gavail.va, size)),
					rq->g_used_idx, start);
	return !(vv_get(vv_avail_flags(rq->gavail.va)) &
		 VRING_AVAIL_F_NO_INTERRUPT);
}

/**
 * vhost_vfio_relay_kick - the guest kicked a relayed queue
 * @vd: mediated device, lock held, relay on
 * @gq: guest queue
 *
 * Moves what the guest made available to the shadow ring and rings the
 * VF's doorbell if the VF asks for it.  A guest whose avail index runs
 * away gets what a virtio device does for that: DEVICE_NEEDS_RESET and a
 * configuration interrupt.
 */
void vhost_vfio_relay_kick(struct vhost_vfio_dev *vd, u16 gq)
{
	struct vhost_vfio_relay *r = &vd->relay;
	struct vhost_vfio_relay_vq *rq = &r->vqs[gq];
	struct vhost_vfio_vf *vf = vd->vf;
	bool kick = false, broke = false, signal;

	mutex_lock(&r->lock);
	r->st.kicks++;
	if (!rq->live || rq->broken)
		goto out;
	r->st.avail_relayed += vv_relay_avail(vd, rq, &broke);
	/*
	 * Heads the VF has not been asked about yet, these or ones a resume
	 * handed over (vhost_vfio_relay_resume()).
	 */
	if (rq->s_avail_idx != rq->s_kicked) {
		kick = vv_vf_wants_kick(rq, rq->s_kicked);
		rq->s_kicked = rq->s_avail_idx;
		if (kick)
			r->st.vf_kicks++;
		else
			r->st.vf_kicks_suppressed++;
	}
	/*
	 * Completions too: a driver that polls sees them at its next kick,
	 * and an interrupt the VF raised while no handler was there (the
	 * VMM swapping vectors) is not waited for forever.
	 */
	signal = !rq->broken && vv_relay_used(vd, rq);
	if (signal && vv_rq_interrupts(vd, rq))
		eventfd_signal(READ_ONCE(vd->irqs[vd->vqs[gq].vector].trigger));
	if (broke) {
		vd->needs_reset = true;
		vhost_vfio_config_interrupt(vd);
	}
	/* Nothing will interrupt for this queue: look until it drains. */
	if (rq->s_avail_idx != rq->s_last_used && !vv_rq_interrupts(vd, rq))
		schedule_delayed_work(&r->poll, 1);
out:
	mutex_unlock(&r->lock);
	if (kick)
		vf->ops->notify_write(vf->be,
				      (u64)vf->notify_off[rq->q] * vf->notify_mult,
				      rq->q, 2);
}

/*
 * Queues that get no interrupt are polled while the VF holds buffers of
 * theirs: every jiffy, from the kick that handed the buffers over until
 * the VF used them all.
 */
static void vv_relay_poll(struct work_struct *work)
{
	struct vhost_vfio_relay *r = container_of(to_delayed_work(work),
						  struct vhost_vfio_relay, poll);
	struct vhost_vfio_dev *vd = container_of(r, struct vhost_vfio_dev,
						 relay);
	bool again = false;
	u16 gq;

	mutex_lock(&r->lock);
	r->st.polls++;
	for (gq = 0; r->vqs && gq < vd->num_queues; gq++) {
		struct vhost_vfio_relay_vq *rq = &r->vqs[gq];

		if (!rq->live || rq->broken || vv_rq_interrupts(vd, rq))
			continue;
		vv_relay_used(vd, rq);
		if (rq->s_avail_idx != rq->s_last_used)
			again = true;
	}
	mutex_unlock(&r->lock);
	if (again)
		schedule_delayed_work(&r->poll, 1);
}

/**
 * vhost_vfio_relay_interrupt - a VF vector fired: relay what it announces
 * @vd: mediated device, relay on
 * @vector: the VF (and guest) MSI-X vector
 *
 * Runs in the vector's irq thread, without vd->lock.
 *
 * Return: true if the guest's eventfd on @vector must be signalled: a
 * relayed queue the guest asked to hear from moved, or the vector serves
 * something the relay does not see (no relayed queue, the config vector).
 */
bool vhost_vfio_relay_interrupt(struct vhost_vfio_dev *vd, u16 vector)
{
	struct vhost_vfio_relay *r = &vd->relay;
	bool signal = false, mine = false;
	u16 gq;

	mutex_lock(&r->lock);
	r->st.interrupts++;
	for (gq = 0; gq < vd->num_queues; gq++) {
		struct vhost_vfio_relay_vq *rq = &r->vqs[gq];

		if (!rq->live || READ_ONCE(vd->vqs[gq].vector) != vector)
			continue;
		mine = true;
		if (!rq->broken && vv_relay_used(vd, rq))
			signal = true;
	}
	if (!mine || vector == READ_ONCE(vd->config_vector))
		signal = true;
	if (signal)
		r->st.guest_signals++;
	mutex_unlock(&r->lock);
	return signal;
}

/* Forget what a parked queue held. */
static void vv_rq_unpark(struct vhost_vfio_relay_vq *rq)
{
	kfree(rq->parked);
	rq->parked = NULL;
	rq->nparked = 0;
	rq->has_parked = false;
}

/**
 * vhost_vfio_relay_reset - forget the relay state of every queue
 * @vd: mediated device, lock held
 * @vf_quiet: the VF completed a reset: its shadow rings may be freed
 *
 * A parked device (vhost_vfio_relay_park()) keeps where its queues were.
 */
void vhost_vfio_relay_reset(struct vhost_vfio_dev *vd, bool vf_quiet)
{
	struct vhost_vfio_relay *r = &vd->relay;
	u16 gq;

	if (!r->vqs)
		return;
	/* The poll takes only the relay's lock. */
	cancel_delayed_work_sync(&r->poll);
	mutex_lock(&r->lock);
	for (gq = 0; gq < vd->num_queues; gq++) {
		struct vhost_vfio_relay_vq *rq = &r->vqs[gq];

		vv_rq_unmap_guest(rq);
		if (vf_quiet)
			vv_rq_free_shadow(vd, rq);
		if (r->parked)
			continue;
		vv_rq_unpark(rq);
		kfree(rq->seq);
		rq->seq = NULL;
		rq->next_seq = 0;
		rq->last_avail = 0;
		rq->g_used_idx = 0;
		rq->broken = false;
	}
	mutex_unlock(&r->lock);
}

/* u64 keys: the order a head was handed over, then the head. */
static int vv_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* What the VF holds of @rq, oldest first, into rq->parked. */
static int vv_rq_park(struct vhost_vfio_relay_vq *rq)
{
	u16 h, n = 0;
	u64 *keys;

	keys = kmalloc_array(rq->size, sizeof(*keys), GFP_KERNEL_ACCOUNT);
	rq->parked = kmalloc_array(rq->size, sizeof(*rq->parked),
				   GFP_KERNEL_ACCOUNT);
	if (!keys || !rq->parked) {
		kfree(keys);
		vv_rq_unpark(rq);
		return -ENOMEM;
	}
	for (h = 0; h < rq->size; h++)
		if (rq->seq[h])
			keys[n++] = (u64)rq->seq[h] << 16 | h;
	sort(keys, n, sizeof(*keys), vv_cmp_u64, NULL);
	for (h = 0; h < n; h++)
		rq->parked[h] = (u16)keys[h];
	kfree(keys);
	rq->nparked = n;
	rq->has_parked = true;
	return 0;
}

/**
 * vhost_vfio_relay_park - note where every queue is, before the VF is reset
 * @vd: mediated device, lock held, relay on; the VF's Bus Master is off,
 *	so its rings are final
 *
 * What the VF used is moved to the guest's rings now (the guest is told at
 * resume); what it still held, it will be handed again by the VF that
 * resumes, in the order it was first handed over.  A frame the VF sent
 * but did not report may so go out twice, as after any retransmission; a
 * buffer the guest gave is never lost.
 *
 * Return: 0, or a negative errno: nothing is parked then, and resuming
 * falls back to DEVICE_NEEDS_RESET.
 */
int vhost_vfio_relay_park(struct vhost_vfio_dev *vd)
{
	struct vhost_vfio_relay *r = &vd->relay;
	int ret = 0;
	u16 gq;

	if (!r->vqs)
		return -ENXIO;
	cancel_delayed_work_sync(&r->poll);
	mutex_lock(&r->lock);
	for (gq = 0; gq < vd->num_queues && !ret; gq++) {
		struct vhost_vfio_relay_vq *rq = &r->vqs[gq];

		if (!vd->vqs[gq].enabled)
			continue;
		if (!rq->live || rq->broken) {
			ret = -EIO;
			break;
		}
		vv_relay_used(vd, rq);
		ret = rq->broken ? -EIO : vv_rq_park(rq);
	}
	for (gq = 0; gq < vd->num_queues; gq++) {
		if (ret)
			vv_rq_unpark(&r->vqs[gq]);
		else
			vv_rq_unmap_guest(&r->vqs[gq]);
	}
	r->parked = !ret;
	if (!ret)
		r->st.parks++;
	mutex_unlock(&r->lock);
	return ret;
}

/**
 * vhost_vfio_relay_parked - is there a parked state to resume from?
 * @vd: mediated device, lock held
 */
bool vhost_vfio_relay_parked(struct vhost_vfio_dev *vd)
{
	return vd->relay.parked;
}

/**
 * vhost_vfio_relay_drop_parked - the parked state will not be resumed
 * @vd: mediated device, lock held
 */
void vhost_vfio_relay_drop_parked(struct vhost_vfio_dev *vd)
{
	struct vhost_vfio_relay *r = &vd->relay;
	u16 gq;

	if (!r->vqs || !r->parked)
		return;
	mutex_lock(&r->lock);
	for (gq = 0; gq < vd->num_queues; gq++)
		vv_rq_unpark(&r->vqs[gq]);
	r->parked = false;
	mutex_unlock(&r->lock);
}

/**
 * vhost_vfio_relay_parked_queue - where a parked queue stopped, to save it
 * @vd: mediated device, lock held
 * @gq: guest queue
 * @pq: filled in; @pq->held points into the relay's state, valid while
 *	the device lock is held and the device stays parked
 *
 * Return: true if @gq is parked (a device is parked whole, but a queue
 * the guest never enabled has nothing to park).
 */
bool vhost_vfio_relay_parked_queue(struct vhost_vfio_dev *vd, u16 gq,
				   struct vhost_vfio_relay_parked *pq)
{
	struct vhost_vfio_relay_vq *rq;

	memset(pq, 0, sizeof(*pq));
	if (!vd->relay.parked || !vd->relay.vqs)
		return false;
	rq = &vd->relay.vqs[gq];
	if (!rq->has_parked)
		return false;
	pq->last_avail = rq->last_avail;
	pq->used_idx = rq->g_used_idx;
	pq->nheld = rq->nparked;
	pq->held = rq->parked;
	return true;
}

/**
 * vhost_vfio_relay_restore - park the device where a migrated state says
 * @vd: mediated device, lock held, relay on, its VF reset (RESUMING ->
 *	STOP), nothing parked
 * @pqs: per guest queue, as another device's relay parked it; queues with
 *	@held NULL and @nheld 0 were not parked.  Checked by the caller: every
 *	head is below the queue's size and none repeats.
 *
 * STOP -> RUNNING then resumes exactly as after a park of this device's
 * own (vhost_vfio_relay_resume()).
 *
 * Return: 0, or -ENOMEM with nothing parked.
 */
int vhost_vfio_relay_restore(struct vhost_vfio_dev *vd,
			     const struct vhost_vfio_relay_parked *pqs)
{
	struct vhost_vfio_relay *r = &vd->relay;
	int ret = 0;
	u16 gq;

	if (WARN_ON_ONCE(!r->vqs || r->parked))
		return -EINVAL;
	mutex_lock(&r->lock);
	for (gq = 0; gq < vd->num_queues; gq++) {
		const struct vhost_vfio_relay_parked *pq = &pqs[gq];
		struct vhost_vfio_relay_vq *rq = &r->vqs[gq];

		if (!pq->held)
			continue;
		/* At least one entry: kmalloc_array(0) is no allocation. */
		rq->parked = kmalloc_array(max_t(u16, pq->nheld, 1),
					   sizeof(*rq->parked),
					   GFP_KERNEL_ACCOUNT);
		if (!rq->parked) {
			ret = -ENOMEM;
			break;
		}
		memcpy(rq->parked, pq->held, pq->nheld * sizeof(*rq->parked));
		rq->nparked = pq->nheld;
		rq->has_parked = true;
		rq->last_avail = pq->last_avail;
		rq->g_used_idx = pq->used_idx;
		rq->broken = false;
	}
	if (ret)
		for (gq = 0; gq < vd->num_queues; gq++)
			vv_rq_unpark(&r->vqs[gq]);
	r->parked = !ret;
	mutex_unlock(&r->lock);
	return ret;
}

/**
 * vhost_vfio_relay_resume - a parked device's queues go on where they were
 * @vd: mediated device, lock held; the VF holds the guest's features and
 *	fresh shadow rings (vhost_vfio_virtio_replay()), not yet DRIVER_OK
 *
 * The guest's rings are held again, and each shadow avail ring starts with
 * the heads the reset VF held, oldest first.
 *
 * Return: 0, or a negative errno (the guest's rings cannot be reached).
 */
int vhost_vfio_relay_resume(struct vhost_vfio_dev *vd)
{
	struct vhost_vfio_relay *r = &vd->relay;
	int ret = 0;
	u16 gq, i;

	for (gq = 0; gq < vd->num_queues && !ret; gq++)
		if (r->vqs[gq].has_parked)
			ret = vhost_vfio_relay_queue_start(vd, gq);
	mutex_lock(&r->lock);
	for (gq = 0; gq < vd->num_queues && !ret; gq++) {
		struct vhost_vfio_relay_vq *rq = &r->vqs[gq];

		/* The heads were checked against the size the state had. */
		if (rq->has_parked && rq->nparked > rq->size)
			ret = -EINVAL;
		for (i = 0; rq->has_parked && !ret && i < rq->nparked; i++)
			if (rq->parked[i] >= rq->size)
				ret = -EINVAL;
	}
	for (gq = 0; gq < vd->num_queues; gq++) {
		struct vhost_vfio_relay_vq *rq = &r->vqs[gq];

		if (!rq->has_parked)
			continue;
		if (!ret) {
			memset(rq->seq, 0, rq->size * sizeof(*rq->seq));
			for (i = 0; i < rq->nparked; i++) {
				vv_put(vv_avail_ring(rq->savail, i),
				       rq->parked[i]);
				vv_stamp(rq, rq->parked[i]);
			}
			rq->s_avail_idx = rq->nparked;
			rq->s_kicked = 0;
			r->st.heads_reposted += rq->nparked;
			/* The heads before the index that publishes them. */
			dma_wmb();
			vv_put(vv_avail_idx(rq->savail), rq->s_avail_idx);
		}
		vv_rq_unpark(rq);
	}
	r->parked = false;
	if (!ret)
		r->st.resumes++;
	mutex_unlock(&r->lock);
	return ret;
}

/**
 * vhost_vfio_relay_notify_guest - one interrupt per relayed queue
 * @vd: mediated device, lock held
 *
 * After a resume: the used elements moved while the device was parked
 * were never signalled.  A spurious interrupt costs a driver a look.
 */
void vhost_vfio_relay_notify_guest(struct vhost_vfio_dev *vd)
{
	u16 gq, vector;

	for (gq = 0; gq < vd->num_queues; gq++) {
		if (!vd->relay.vqs[gq].live)
			continue;
		vector = vd->vqs[gq].vector;
		if (vector < vd->vf->msix_vectors && vd->irqs[vector].trigger)
			eventfd_signal(vd->irqs[vector].trigger);
	}
}

/**
 * vhost_vfio_relay_unmap - the mirror unpins IOVA: let go of guest rings there
 * @vd: mediated device, the mirror's lock held (or its pages not in a run)
 * @iova: start of the range
 * @end: its end (exclusive)
 *
 * Called before the pages go (the VMM unmapped them, or the mirror is torn
 * down).  A queue whose ring was in the range stops until the guest resets
 * the device: its ring is no longer guest memory the VF may use.
 */
void vhost_vfio_relay_unmap(struct vhost_vfio_dev *vd, u64 iova, u64 end)
{
	struct vhost_vfio_relay *r = &vd->relay;
	u16 gq;

	/* Every unpin of the mirror comes here: no relay, nothing to do. */
	if (!READ_ONCE(r->on))
		return;
	/* Racing close (which frees the queues): look under the lock. */
	mutex_lock(&r->lock);
	for (gq = 0; r->vqs && gq < vd->num_queues; gq++) {
		struct vhost_vfio_relay_vq *rq = &r->vqs[gq];

		if (!vv_gmap_hits(&rq->gavail, iova, end) &&
		    !vv_gmap_hits(&rq->gused, iova, end))
			continue;
		/*
		 * Not an error: a VMM tearing a VM down unmaps its memory
		 * before it closes the device.  The queue just stops.
		 */
		vv_rq_unmap_guest(rq);
		r->st.rings_unmapped++;
	}
	mutex_unlock(&r->lock);
}

/**
 * vhost_vfio_relay_init - once per mediated device
 * @vd: mediated device, being created
 */
void vhost_vfio_relay_init(struct vhost_vfio_dev *vd)
{
	mutex_init(&vd->relay.lock);
	INIT_DELAYED_WORK(&vd->relay.poll, vv_relay_poll);
}

/**
 * vhost_vfio_relay_open - per-open relay state
 * @vd: mediated device, lock held, after vhost_vfio_relay_reserve()
 *
 * Return: 0 or -ENOMEM.
 */
int vhost_vfio_relay_open(struct vhost_vfio_dev *vd)
{
	struct vhost_vfio_relay *r = &vd->relay;

	memset(&r->st, 0, sizeof(r->st));
	r->parked = false;
	if (!r->on)
		return 0;
	r->vqs = kcalloc(vd->num_queues, sizeof(*r->vqs), GFP_KERNEL_ACCOUNT);
	return r->vqs ? 0 : -ENOMEM;
}

/**
 * vhost_vfio_relay_close - free the relay, the VF quiet or off its domain
 * @vd: mediated device, lock held; before the domain is freed
 */
void vhost_vfio_relay_close(struct vhost_vfio_dev *vd)
{
	struct vhost_vfio_relay *r = &vd->relay;
	struct vhost_vfio_relay_vq *vqs;

	vhost_vfio_relay_drop_parked(vd);
	vhost_vfio_relay_reset(vd, true);
	/* dma_unmap and debugfs look at @vqs under the lock only. */
	mutex_lock(&r->lock);
	vqs = r->vqs;
	r->vqs = NULL;
	mutex_unlock(&r->lock);
	kfree(vqs);
}

/**
 * vhost_vfio_relay_show - the relay's counters, for debugfs
 * @s: seq_file
 * @vd: mediated device
 */
void vhost_vfio_relay_show(struct seq_file *s, struct vhost_vfio_dev *vd)
{
	struct vhost_vfio_relay *r = &vd->relay;
	unsigned int live = 0;
	u16 gq;

	mutex_lock(&r->lock);
	for (gq = 0; r->vqs && gq < vd->num_queues; gq++)
		live += r->vqs[gq].live && !r->vqs[gq].broken;
	seq_printf(s, "relay: %d\n", vhost_vfio_relay_on(vd));
	seq_printf(s, "relay_queues_live: %u\n", live);
	seq_printf(s, "relay_iova: 0x%llx\n", r->iova_len ? r->iova : 0);
	seq_printf(s, "relay_kicks: %llu\n", r->st.kicks);
	seq_printf(s, "relay_vf_kicks: %llu\n", r->st.vf_kicks);
	seq_printf(s, "relay_vf_kicks_suppressed: %llu\n",
		   r->st.vf_kicks_suppressed);
	seq_printf(s, "relay_avail: %llu\n", r->st.avail_relayed);
	seq_printf(s, "relay_used: %llu\n", r->st.used_relayed);
	seq_printf(s, "relay_interrupts: %llu\n", r->st.interrupts);
	seq_printf(s, "relay_guest_signals: %llu\n", r->st.guest_signals);
	seq_printf(s, "relay_errors: %llu\n", r->st.errors);
	seq_printf(s, "relay_rings_unmapped: %llu\n", r->st.rings_unmapped);
	seq_printf(s, "relay_polls: %llu\n", r->st.polls);
	seq_printf(s, "relay_parks: %llu\n", r->st.parks);
	seq_printf(s, "relay_resumes: %llu\n", r->st.resumes);
	seq_printf(s, "relay_heads_reposted: %llu\n", r->st.heads_reposted);
	mutex_unlock(&r->lock);
}
