/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vhost-vfio core internals shared by the files of the vhost_vfio module.
 */
#ifndef _VHOST_VFIO_PRIV_H
#define _VHOST_VFIO_PRIV_H

#include <linux/atomic.h>
#include <linux/etherdevice.h>
#include <linux/irqbypass.h>
#include <linux/list.h>
#include <linux/mdev.h>
#include <linux/mutex.h>
#include <linux/pci_regs.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/vfio.h>
#include <linux/vhost_vfio.h>

/* Guest-visible BAR layout; Documentation/design.rst explains the choice. */
#define VV_BAR_COMMON		0	/* BAR index of the virtio structures */
#define VV_BAR_MSIX		1	/* BAR index of MSI-X table and PBA */
#define VV_BAR_NOTIFY		2	/* BAR index of the doorbells */

#define VV_BAR0_SIZE		0x4000
#define VV_COMMON_OFF		0x0000
#define VV_ISR_OFF		0x1000
#define VV_DEVICE_OFF		0x2000
#define VV_STRUCT_LEN		0x1000	/* length of each virtio structure */

#define VV_BAR1_SIZE		0x1000
#define VV_MSIX_TABLE_OFF	0x0000
#define VV_MSIX_PBA_OFF		0x0800
/* The table must fit below the PBA: 0x800 / 16 bytes per entry. */
#define VV_MSIX_MAX_VECTORS	(VV_MSIX_PBA_OFF / PCI_MSIX_ENTRY_SIZE)

#define VV_CFG_SIZE		256

/*
 * Length of the next piece of an access of @left bytes at @off: naturally
 * aligned 4, 2 or 1 bytes, the way vfio-pci splits a region access and a
 * PCI bus splits an unaligned one.
 */
static inline unsigned int vv_piece_len(u64 off, u64 left)
{
	if (left >= 4 && IS_ALIGNED(off, 4))
		return 4;
	if (left >= 2 && IS_ALIGNED(off, 2))
		return 2;
	return 1;
}

/* vfio-pci's region encoding in the device fd offset. */
#define VV_OFFSET_SHIFT		40
#define VV_OFFSET_TO_INDEX(off)	((off) >> VV_OFFSET_SHIFT)
#define VV_INDEX_TO_OFFSET(idx)	((u64)(idx) << VV_OFFSET_SHIFT)
#define VV_OFFSET_MASK		(((u64)1 << VV_OFFSET_SHIFT) - 1)

/**
 * struct vhost_vfio_quirk - feature fix-up for a family of VFs
 * @vendor: PCI vendor ID to match (PCI_ANY_ID matches all)
 * @device: PCI device ID to match (PCI_ANY_ID matches all)
 * @subvendor: PCI subsystem vendor ID to match (PCI_ANY_ID matches all)
 * @subdevice: PCI subsystem device ID to match (PCI_ANY_ID matches all)
 * @clear: feature bits never offered to the guest
 * @set: feature bits offered even though the VF does not advertise them
 * @reason: why, shown to the operator
 */
struct vhost_vfio_quirk {
	u32 vendor;
	u32 device;
	u32 subvendor;
	u32 subdevice;
	u64 clear;
	u64 set;
	const char *reason;
};

/**
 * struct vhost_vfio_vf_ids - PCI identity of a VF, used for quirk matching
 * @vendor: PCI vendor ID
 * @device: PCI device ID
 * @subvendor: PCI subsystem vendor ID
 * @subdevice: PCI subsystem device ID
 */
struct vhost_vfio_vf_ids {
	u16 vendor;
	u16 device;
	u16 subvendor;
	u16 subdevice;
};

/**
 * struct vhost_vfio_vf - one VF handed over by a backend
 * @dev: the VF's struct device (the mdev parent)
 * @ops: backend ops (@be's)
 * @be: the backend's handle, passed to every @ops call
 * @ids: PCI identity, for quirks and the emulated subsystem IDs
 * @parent: mdev parent registration
 * @type: the single mdev type ("net")
 * @types: type array handed to the mdev core
 * @lock: protects @vdev
 * @vdev: the one mediated device on this VF, or NULL
 * @quirks: quirk entries matching this VF
 * @nr_quirks: number of entries in @quirks
 * @quirk_clear: union of the @clear masks of @quirks
 * @quirk_set: union of the @set masks of @quirks
 * @features: features the VF offers
 * @num_queues: number of virtqueues of the VF
 * @max_pairs: queue pairs the VF serves (max_virtqueue_pairs or 1)
 * @msix_vectors: MSI-X vectors exposed to the guest
 * @notify_mult: VF notify_off_multiplier
 * @config_size: length of the VF's device-specific configuration
 * @notify_len: length of the VF's notify area
 * @notify_width: bytes in one doorbell write
 * @notify_map_pa: doorbell pages a guest may map (the backend's fact)
 * @notify_map_len: their length; 0 keeps the doorbells trapped
 * @notify_map_refusal: why @notify_map_len is 0
 * @notify_bar_size: guest BAR2 size (power of two, >= PAGE_SIZE)
 * @notify_off: queue_notify_off of each VF queue
 * @queue_max: maximum size of each VF queue
 * @group: the VF's IOMMU group, DMA ownership claimed (isolation.c)
 * @dma_unsafe: the VF failed to reset and may still do DMA
 */
struct vhost_vfio_vf {
	struct device *dev;
	const struct vhost_vfio_backend_ops *ops;
	struct vhost_vfio_backend *be;
	struct vhost_vfio_vf_ids ids;
	struct mdev_parent parent;
	struct mdev_type type;
	struct mdev_type *types[1];
	struct mutex lock;	/* protects @vdev */
	struct vhost_vfio_dev *vdev;
	const struct vhost_vfio_quirk **quirks;
	unsigned int nr_quirks;
	u64 quirk_clear;
	u64 quirk_set;
	u64 features;
	u16 num_queues;
	u16 max_pairs;
	u16 msix_vectors;
	u32 notify_mult;
	u32 config_size;
	u64 notify_len;
	u32 notify_width;
	phys_addr_t notify_map_pa;
	u64 notify_map_len;
	const char *notify_map_refusal;
	u64 notify_bar_size;
	u16 *notify_off;
	u16 *queue_max;
	struct iommu_group *group;
	bool dma_unsafe;
};

/*
 * Emulated per-queue state of a guest-visible virtqueue.  @size_latch and
 * @vector_latch hold what the guest last wrote to queue_size and
 * queue_msix_vector (the fields read back what the VF holds): a write
 * narrower than the field merges into them (virtio_cfg.c).
 */
struct vhost_vfio_vq {
	u16 size;
	u16 vector;
	u16 size_latch;
	u16 vector_latch;
	bool enabled;
	u64 desc;
	u64 avail;
	u64 used;
};

/*
 * Trapped accesses, and VF irqs requested for guest vectors (an eventfd
 * swapped on a vector that has one requests none), shown in debugfs.
 */
struct vhost_vfio_counters {
	u64 config;
	u64 bar0;
	u64 bar1;
	u64 bar2;
	u64 bar2_notify_writes;
	u64 irq_requests;
	u64 driver_ok_deferred;
	u64 kicks_replayed;
	u64 guest_resets;
	u64 access_max_ns;
};

struct kvm;
struct vhost_vfio_dev;

/**
 * struct vhost_vfio_irq - one guest MSI-X vector, backed by one VF vector
 * @vd: owning mediated device
 * @trigger: eventfd signalled when the VF vector fires, NULL when unset
 * @irq: Linux irq of the VF vector while @trigger is set
 * @producer: irq-bypass producer (token @trigger) while @bypass is set
 * @bypass: @producer is registered
 * @count: interrupts delivered through this vector since open
 * @name: irq name shown in /proc/interrupts
 */
struct vhost_vfio_irq {
	struct vhost_vfio_dev *vd;
	struct eventfd_ctx *trigger;
	int irq;
	struct irq_bypass_producer producer;
	bool bypass;
	atomic64_t count;
	char name[64];
};

/* An inclusive IOVA interval the mirror never maps. */
struct vhost_vfio_span {
	u64 start;
	u64 last;
};

/**
 * struct vhost_vfio_mirror - the VF's IOMMU domain contents
 * @lock: serializes build and teardown against dma_unmap
 * @kvm: the VM whose memslots name candidate ranges, referenced while open
 * @runs: pinned and mapped runs by IOVA, struct vhost_vfio_run (mirror.c)
 * @prot: IOMMU protection used for every mapping
 * @pinned_pages: pages currently pinned through VFIO
 * @maps: IOMMU mappings currently in the domain, by page size (4K, 2M, 1G)
 * @build_ns: duration of the first pass since open
 * @build_pin_ns: of which inside vfio_pin_pages()
 * @builds: completed builds since open
 * @reuses: DRIVER_OKs that found the mirror still current
 * @refills: passes that found the mirror current and only retried its gaps
 * @extends: passes that added pages while the VF ran
 * @grown_pages: pages added by every pass but the first since open
 * @gap_pages: memslot pages VFIO refused to pin at the last pass
 * @last_pin_calls: vfio_pin_pages() calls the last pass made
 * @transient_retries: passes in a row that met a page not at its GPA while
 *	the VMM's memory map moved, and were retried (mirror.c)
 * @valid: the mirror is complete for memslot generation @gen
 * @gen: memslot generation the mirror was built from
 * @excluded: IOVA never mapped (reserved regions, outside the aperture)
 * @nr_excluded: entries in @excluded
 * @reserved_pages: candidate pages skipped because they are in @excluded
 * @pin_wq: dma_unmap waits here for a pin in flight; the builder for
 *	dma_unmap calls in progress
 * @pinning: the builder is inside vfio_pin_pages() for @pin_iova
 * @pin_iova: first IOVA of the pin in flight
 * @pin_npages: pages of the pin in flight
 * @pin_stale: a dma_unmap hit the pin in flight: its pages must go
 * @unmapping: dma_unmap calls in progress
 * @unmap_seq: dma_unmap calls since open; a build that saw one is not reused
 * @last_error: errno of the last failed build, logged once per open
 * @pend_iova: start of the run being accumulated by the builder
 * @pend_pa: its physical address
 * @pend_npages: its length in pages, 0 when none
 * @work: builds the mirror off the guest's vCPU (vhost_vfio_mirror_sync())
 * @poll: while @live, looks for memory the VMM added (mirror.c)
 * @state_lock: guards what a guest's DRIVER_OK asks (@valid, @gen and the
 *	worker's flags), so it never waits behind a build holding @lock
 * @queued: @work is queued and has not started yet
 * @building: @work is running
 * @cancel: close is stopping @work: the builder gives up at the next batch
 * @result: what the last run of @work returned
 * @live: the VF holds DRIVER_OK: the mirror may grow, never be torn down
 * @polls: runs of @poll since open
 * @poll_ticks: quiet polls since the gaps were last retried
 * @gap_backoff: quiet polls between retries of the gaps
 * @hold: debugfs (tests): the worker waits before it builds
 * @started: the build ahead of DRIVER_OK was queued (vd->lock)
 */
struct vhost_vfio_mirror {
	struct mutex lock;	/* build/teardown vs dma_unmap */
	u64 gap_pages;
	u64 last_pin_calls;
	unsigned int transient_retries;
	struct vhost_vfio_span *excluded;
	unsigned int nr_excluded;
	u64 reserved_pages;
	wait_queue_head_t pin_wq;
	bool pinning;
	u64 pin_iova;
	u64 pin_npages;
	bool pin_stale;
	unsigned int unmapping;
	u64 unmap_seq;
	int last_error;
	u64 pend_iova;
	phys_addr_t pend_pa;
	u64 pend_npages;
	struct kvm *kvm;
	struct rb_root_cached runs;
	int prot;
	u64 pinned_pages;
	u64 maps[3];
	u64 build_ns;
	u64 build_pin_ns;
	u64 builds;
	u64 reuses;
	u64 refills;
	u64 extends;
	u64 grown_pages;
	bool valid;
	u64 gen;
	struct work_struct work;
	struct delayed_work poll;
	spinlock_t state_lock;	/* the flags below, @valid and @gen */
	bool queued;
	bool building;
	bool cancel;
	int result;
	bool live;
	u64 polls;
	unsigned int poll_ticks;
	unsigned int gap_backoff;
	bool hold;
	bool started;
};

/**
 * struct vhost_vfio_gmap - a guest ring the relay maps (relay.c)
 * @base: vmap() of the mirror's pages
 * @va: the ring inside them
 * @iova: first IOVA mapped (page aligned)
 * @npages: pages mapped
 */
struct vhost_vfio_gmap {
	void *base;
	void *va;
	u64 iova;
	unsigned int npages;
};

/**
 * struct vhost_vfio_relay_vq - one relayed virtqueue (relay.c)
 * @gq: guest queue index
 * @q: VF queue index
 * @size: ring size, the guest's and the shadow's
 * @live: the guest's rings are held and relayed
 * @broken: relaying stopped on an error until the next reset
 * @warned: the error was logged this open
 * @event_idx: VIRTIO_RING_F_EVENT_IDX was negotiated
 * @gavail: the guest's avail ring
 * @gused: the guest's used ring
 * @last_avail: next guest avail entry to relay
 * @g_used_idx: the guest's used index as the relay last published it
 * @shadow: shadow avail and used rings (the VF's), NULL if none
 * @shadow_len: their length
 * @shadow_iova: their IOVA in the VF's domain
 * @savail: shadow avail ring
 * @sused: shadow used ring
 * @s_avail_idx: shadow avail index published to the VF
 * @s_kicked: shadow avail index the VF was last asked to be kicked about
 * @s_last_used: next shadow used element to relay
 * @seq: per head, when it was handed to the VF (0: the VF does not hold it)
 * @next_seq: the last @seq stamped
 * @parked: heads the VF held when the device was parked, oldest first
 * @nparked: entries in @parked
 * @has_parked: @parked is valid
 */
struct vhost_vfio_relay_vq {
	u16 gq;
	int q;
	u16 size;
	bool live;
	bool broken;
	bool warned;
	bool event_idx;
	struct vhost_vfio_gmap gavail;
	struct vhost_vfio_gmap gused;
	u16 last_avail;
	u16 g_used_idx;
	void *shadow;
	size_t shadow_len;
	u64 shadow_iova;
	void *savail;
	void *sused;
	u16 s_avail_idx;
	u16 s_kicked;
	u16 s_last_used;
	u32 *seq;
	u32 next_seq;
	u16 *parked;
	u16 nparked;
	bool has_parked;
};

/**
 * struct vhost_vfio_relay_stats - what the relay did since open (relay.c)
 * @kicks: guest kicks of relayed queues
 * @vf_kicks: VF doorbell writes made
 * @vf_kicks_suppressed: kicks the VF asked not to get
 * @avail_relayed: avail heads moved to shadow rings
 * @used_relayed: used elements moved to guest rings
 * @interrupts: VF interrupts handled
 * @guest_signals: guest eventfd signals sent from the interrupt thread
 * @errors: queues stopped on an error
 * @rings_unmapped: queues stopped because the VMM unmapped a ring
 * @polls: runs of the poll of queues that get no interrupt
 * @parks: parks
 * @resumes: resumes from a parked state
 * @heads_reposted: heads handed again to a VF at resume
 */
struct vhost_vfio_relay_stats {
	u64 kicks;
	u64 vf_kicks;
	u64 vf_kicks_suppressed;
	u64 avail_relayed;
	u64 used_relayed;
	u64 interrupts;
	u64 guest_signals;
	u64 errors;
	u64 rings_unmapped;
	u64 polls;
	u64 parks;
	u64 resumes;
	u64 heads_reposted;
};

/**
 * struct vhost_vfio_relay_parked - where a parked queue stopped (relay.c)
 * @last_avail: next guest avail entry to relay
 * @used_idx: the guest's used index as the relay published it
 * @nheld: entries in @held
 * @held: heads the VF held, oldest first; NULL for a queue not parked
 */
struct vhost_vfio_relay_parked {
	u16 last_avail;
	u16 used_idx;
	u16 nheld;
	const u16 *held;
};

/**
 * struct vhost_vfio_relay - the virtqueue relay of a device (relay.c)
 * @on: the device runs through the relay (fixed at open)
 * @lock: serializes the queues' relay state
 * @iova: start of the shadow ring window in the VF's domain
 * @iova_len: its length, 0 when there is none
 * @slot_len: bytes of the window per VF queue
 * @vqs: per guest queue, while open with @on
 * @st: counters since open, shown in debugfs (under @lock)
 * @poll: moves used elements of queues that get no interrupt
 * @parked: the queues are parked (migration STOP), to resume where they were
 */
struct vhost_vfio_relay {
	bool on;
	struct mutex lock;	/* relay state of every queue */
	u64 iova;
	u64 iova_len;
	size_t slot_len;
	struct vhost_vfio_relay_vq *vqs;
	struct vhost_vfio_relay_stats st;
	struct delayed_work poll;
	bool parked;
};

struct vhost_vfio_mig_file;

/**
 * struct vhost_vfio_migration - VFIO migration state of a device (migration.c)
 * @offered: migration was offered at open (the "migration" parameter)
 * @state: the migration FSM state
 * @saving: the STOP_COPY data fd, NULL outside STOP_COPY
 * @resuming: the RESUMING data fd, NULL outside RESUMING
 * @quiesced: the VF was reset under the emulated state, which waits for
 *	STOP -> RUNNING to be given back to it
 * @held_status: device_status the guest reads while @quiesced
 * @transitions: FSM arcs taken since open
 * @failed_transitions: arcs that failed
 * @saves: STOP_COPY data fds opened
 * @restores: states applied at RESUMING -> STOP
 * @restores_refused: states refused at RESUMING -> STOP
 * @last_refusal: errno of the last refusal, 0 if none
 * @writes_refused: VMM region writes refused (BARs outside RUNNING, any in
 *	ERROR)
 * @needs_reset_raised: STOP -> RUNNING that left DEVICE_NEEDS_RESET
 * @resumed_in_place: resumes of the relay's parked queues (at STOP -> RUNNING,
 *	or when the mirror they waited for was ready)
 * @resumes_deferred: STOP -> RUNNING whose resume waited for the mirror
 * @resets: VFIO_DEVICE_RESET or close outside RUNNING
 */
struct vhost_vfio_migration {
	bool offered;
	enum vfio_device_mig_state state;
	struct vhost_vfio_mig_file *saving;
	struct vhost_vfio_mig_file *resuming;
	bool quiesced;
	u8 held_status;
	u64 transitions;
	u64 failed_transitions;
	u64 saves;
	u64 restores;
	u64 restores_refused;
	int last_refusal;
	u64 writes_refused;
	u64 needs_reset_raised;
	u64 resumed_in_place;
	u64 resumes_deferred;
	u64 resets;
};

/**
 * struct vhost_vfio_dev - one mediated device
 * @vdev: vfio device; must stay first for vfio_alloc_device()
 * @vf: the VF this mdev mediates
 * @lock: serializes all state below and every call into the backend
 * @open: the vfio device is open (provisioning frozen)
 * @mac: provisioned MAC address
 * @mac_set: @mac is valid
 * @mtu: provisioned MTU, 0 = not provisioned
 * @max_pairs_prov: provisioned queue pairs, 0 = the VF's
 * @features_mask: provisioned feature mask
 * @offered: features offered to the guest (fixed at open)
 * @pairs: guest-visible queue pairs (fixed at open)
 * @num_queues: guest-visible number of virtqueues (fixed at open)
 * @cfg: emulated PCI configuration space
 * @wmask: per-byte writable bits of @cfg
 * @dfselect: device_feature_select
 * @gfselect: driver_feature_select
 * @guest_features: driver features written by the guest
 * @bad_features: guest wrote feature bits beyond the 64 we know
 * @negotiated: @guest_features once FEATURES_OK was accepted, else 0
 * @queue_sel: queue_select
 * @config_vector: config_msix_vector as the VF holds it
 * @config_vector_latch: config_msix_vector as the guest last wrote it
 * @vqs: guest-visible virtqueues
 * @domain: IOMMU domain the VF is attached to while open
 * @counters: trapped access counters
 * @debugfs: debugfs directory of this mdev
 * @irqs: guest MSI-X vectors, one per VF vector
 * @req_trigger: eventfd of the VFIO request irq, or NULL
 * @bypass_registered: irq-bypass producers registered now
 * @bypass_connected: irq-bypass producers connected to a consumer now
 * @mirror: the DMA mirror
 * @db_lock: serializes doorbell faults against revocation
 * @db_file: file the doorbell mappings hang off while they may be faulted
 *	in; NULL when revoked
 * @db_pa: physical address of the VF's notify area
 * @db_map_len: mappable length from BAR2 offset 0, 0 when trapped
 * @db_reason: why BAR2 is trapped, NULL when mapped
 * @db_faults: doorbell pages inserted on fault
 * @fail_next_reset: debugfs fault injection: report the next VF reset as
 *	timed out (after doing it), to exercise the recovery path
 * @fail_next_unmap: debugfs fault injection: treat the next unmap of a
 *	mirror run as short (after doing it), to exercise the cut-off
 * @dma_cut_off: an IOMMU unmap came back short, so the domain may still
 *	reach pages the mirror unpinned: Bus Master stays off, whatever the
 *	guest writes, until the device is closed and its domain freed
 * @driver_ok_pending: the guest set DRIVER_OK while the mirror was being
 *	built; the VF gets it when the build is done (guest reads it set)
 * @needs_reset: a deferred DRIVER_OK failed: the guest reads
 *	DEVICE_NEEDS_RESET until it resets the device
 * @mig: VFIO migration state
 * @relay: the virtqueue relay
 */
struct vhost_vfio_dev {
	struct vfio_device vdev;
	struct vhost_vfio_vf *vf;
	struct mutex lock;	/* serializes state and backend calls */
	bool open;
	u8 mac[ETH_ALEN];
	bool mac_set;
	u16 mtu;
	u16 max_pairs_prov;
	u64 features_mask;
	u64 offered;
	u16 pairs;
	u16 num_queues;
	u8 cfg[VV_CFG_SIZE];
	u8 wmask[VV_CFG_SIZE];
	u32 dfselect;
	u32 gfselect;
	u64 guest_features;
	bool bad_features;
	u64 negotiated;
	u16 queue_sel;
	u16 config_vector;
	u16 config_vector_latch;
	struct vhost_vfio_vq *vqs;
	struct iommu_domain *domain;
	struct vhost_vfio_counters counters;
	struct dentry *debugfs;
	struct vhost_vfio_irq *irqs;
	struct eventfd_ctx *req_trigger;
	atomic_t bypass_registered;
	atomic_t bypass_connected;
	struct vhost_vfio_mirror mirror;
	struct mutex db_lock;	/* doorbell faults vs revocation */
	struct file *db_file;
	phys_addr_t db_pa;
	u64 db_map_len;
	const char *db_reason;
	atomic64_t db_faults;
	atomic_t fail_next_reset;
	atomic_t fail_next_unmap;
	bool dma_cut_off;
	bool driver_ok_pending;
	bool needs_reset;
	struct vhost_vfio_migration mig;
	struct vhost_vfio_relay relay;
};

static inline struct device *vv_dev(struct vhost_vfio_dev *vd)
{
	return vd->vdev.dev;
}

static inline struct vhost_vfio_dev *to_vv(struct vfio_device *vdev)
{
	return container_of(vdev, struct vhost_vfio_dev, vdev);
}

/* vfio_ops.c */
extern const struct vfio_device_ops vhost_vfio_dev_ops;

/* config_space.c */
void vhost_vfio_config_init(struct vhost_vfio_dev *vd);
void vhost_vfio_config_reset(struct vhost_vfio_dev *vd);
int vhost_vfio_config_rw(struct vhost_vfio_dev *vd, unsigned int off,
			 u8 *buf, unsigned int len, bool write);

/* virtio_cfg.c */
int vhost_vfio_bar_rw(struct vhost_vfio_dev *vd, unsigned int bar, u64 off,
		      u8 *buf, unsigned int len, bool write);
u64 vhost_vfio_bar_size(struct vhost_vfio_dev *vd, unsigned int bar);
void vhost_vfio_virtio_reset(struct vhost_vfio_dev *vd);
int vhost_vfio_device_reset(struct vhost_vfio_dev *vd);
u8 vhost_vfio_guest_status(struct vhost_vfio_dev *vd);
void vhost_vfio_driver_ok_resume(struct vhost_vfio_dev *vd, int build_ret);
int vhost_vfio_vf_queue(struct vhost_vfio_dev *vd, u64 negotiated, u32 gq);
bool vhost_vfio_virtio_replay(struct vhost_vfio_dev *vd, u8 status);
bool vhost_vfio_virtio_resume(struct vhost_vfio_dev *vd, u8 status);

/* features.c */
u64 vhost_vfio_offered_features(struct vhost_vfio_dev *vd);
u16 vhost_vfio_guest_pairs(struct vhost_vfio_dev *vd);
u16 vhost_vfio_guest_num_queues(struct vhost_vfio_dev *vd, u64 offered);
u64 vhost_vfio_vf_driver_features(struct vhost_vfio_vf *vf, u64 guest);
int vhost_vfio_vf_max_pairs(struct vhost_vfio_vf *vf);
bool vhost_vfio_vf_dma_translated(struct vhost_vfio_dev *vd);

/* quirks.c */
int vhost_vfio_quirks_init(void);
void vhost_vfio_quirks_exit(void);
int vhost_vfio_quirks_match(struct vhost_vfio_vf *vf);

/* sysfs.c */
extern const struct attribute_group *vhost_vfio_mdev_groups[];

/* isolation.c */
int vhost_vfio_isolation_claim(struct vhost_vfio_vf *vf);
void vhost_vfio_isolation_release(struct vhost_vfio_vf *vf);
int vhost_vfio_isolation_open(struct vhost_vfio_dev *vd);
void vhost_vfio_isolation_close(struct vhost_vfio_dev *vd);
void vhost_vfio_isolation_bus_master(struct vhost_vfio_dev *vd);
void vhost_vfio_isolation_stop_dma(struct vhost_vfio_dev *vd);
void vhost_vfio_isolation_cut_off(struct vhost_vfio_dev *vd);
int vhost_vfio_isolation_quiesce(struct vhost_vfio_dev *vd);
const char *vhost_vfio_isolation_state(struct vhost_vfio_dev *vd);
bool vhost_vfio_isolation_bus_master_on(struct vhost_vfio_dev *vd);

/* irq.c */
int vhost_vfio_irqs_alloc(struct vhost_vfio_dev *vd);
void vhost_vfio_irqs_free(struct vhost_vfio_dev *vd);
long vhost_vfio_ioctl_irq_info(struct vhost_vfio_dev *vd, void __user *arg);
long vhost_vfio_ioctl_set_irqs(struct vhost_vfio_dev *vd, void __user *arg);
void vhost_vfio_irqs_disable(struct vhost_vfio_dev *vd);
void vhost_vfio_request(struct vfio_device *vdev, unsigned int count);
void vhost_vfio_config_interrupt(struct vhost_vfio_dev *vd);

/* doorbell.c */
int vhost_vfio_doorbell_fs_init(void);
void vhost_vfio_doorbell_fs_exit(void);
const char *vhost_vfio_doorbell_check(struct vhost_vfio_dev *vd);
int vhost_vfio_doorbell_open(struct vhost_vfio_dev *vd);
void vhost_vfio_doorbell_close(struct vhost_vfio_dev *vd);
void vhost_vfio_doorbell_revoke(struct vhost_vfio_dev *vd);
int vhost_vfio_region_info_caps(struct vhost_vfio_dev *vd,
				struct vfio_region_info *info,
				struct vfio_info_cap *caps);
int vhost_vfio_doorbell_mmap(struct vhost_vfio_dev *vd,
			     struct vm_area_struct *vma);

/* mirror.c */
void vhost_vfio_mirror_init(struct vhost_vfio_dev *vd);
void vhost_vfio_mirror_open(struct vhost_vfio_dev *vd);
void vhost_vfio_mirror_close(struct vhost_vfio_dev *vd);
int vhost_vfio_mirror_build(struct vhost_vfio_dev *vd);
bool vhost_vfio_mirror_ready(struct vhost_vfio_dev *vd);
bool vhost_vfio_mirror_built(struct vhost_vfio_dev *vd);
bool vhost_vfio_mirror_busy(struct vhost_vfio_dev *vd);
void vhost_vfio_mirror_sync(struct vhost_vfio_dev *vd);
void vhost_vfio_mirror_start(struct vhost_vfio_dev *vd);
void vhost_vfio_mirror_stop(struct vhost_vfio_dev *vd);
void vhost_vfio_mirror_set_live(struct vhost_vfio_dev *vd, bool live);
bool vhost_vfio_mirror_has_holes(struct vhost_vfio_dev *vd);
void vhost_vfio_mirror_teardown(struct vhost_vfio_dev *vd);
void vhost_vfio_dma_unmap(struct vfio_device *vdev, u64 iova, u64 length);
bool vhost_vfio_mirror_covers_rings(struct vhost_vfio_dev *vd);
void vhost_vfio_mirror_lock(struct vhost_vfio_dev *vd);
void vhost_vfio_mirror_unlock(struct vhost_vfio_dev *vd);
void *vhost_vfio_mirror_vmap(struct vhost_vfio_dev *vd, u64 iova,
			     unsigned int npages);

/* migration.c */
struct seq_file;
void vhost_vfio_migration_open(struct vhost_vfio_dev *vd);
void vhost_vfio_migration_reset(struct vhost_vfio_dev *vd);
bool vhost_vfio_migration_allows_write(struct vhost_vfio_dev *vd,
				       bool config);
void vhost_vfio_migration_show(struct seq_file *s, struct vhost_vfio_dev *vd);

/* relay.c */
bool vhost_vfio_relay_on(struct vhost_vfio_dev *vd);
void vhost_vfio_relay_init(struct vhost_vfio_dev *vd);
int vhost_vfio_relay_reserve(struct vhost_vfio_dev *vd,
			     struct vhost_vfio_span *x, unsigned int *n);
int vhost_vfio_relay_open(struct vhost_vfio_dev *vd);
void vhost_vfio_relay_close(struct vhost_vfio_dev *vd);
int vhost_vfio_relay_queue_addrs(struct vhost_vfio_dev *vd, u16 gq, int q,
				 u64 *avail, u64 *used);
int vhost_vfio_relay_queue_start(struct vhost_vfio_dev *vd, u16 gq);
void vhost_vfio_relay_kick(struct vhost_vfio_dev *vd, u16 gq);
bool vhost_vfio_relay_interrupt(struct vhost_vfio_dev *vd, u16 vector);
void vhost_vfio_relay_reset(struct vhost_vfio_dev *vd, bool vf_quiet);
void vhost_vfio_relay_unmap(struct vhost_vfio_dev *vd, u64 iova, u64 end);
void vhost_vfio_relay_show(struct seq_file *s, struct vhost_vfio_dev *vd);
int vhost_vfio_relay_park(struct vhost_vfio_dev *vd);
bool vhost_vfio_relay_parked(struct vhost_vfio_dev *vd);
void vhost_vfio_relay_drop_parked(struct vhost_vfio_dev *vd);
int vhost_vfio_relay_resume(struct vhost_vfio_dev *vd);
void vhost_vfio_relay_notify_guest(struct vhost_vfio_dev *vd);
bool vhost_vfio_relay_parked_queue(struct vhost_vfio_dev *vd, u16 gq,
				   struct vhost_vfio_relay_parked *pq);
int vhost_vfio_relay_restore(struct vhost_vfio_dev *vd,
			     const struct vhost_vfio_relay_parked *pqs);

/* debugfs.c */
void vhost_vfio_debugfs_init(void);
void vhost_vfio_debugfs_exit(void);
void vhost_vfio_debugfs_add(struct vhost_vfio_dev *vd);
void vhost_vfio_debugfs_remove(struct vhost_vfio_dev *vd);

#endif /* _VHOST_VFIO_PRIV_H */
