// SPDX-License-Identifier: GPL-2.0-only
/*
 * vhost-vfio: debugfs counters, /sys/kernel/debug/vhost_vfio/<uuid>/.
 */
#include <linux/debugfs.h>
#include <linux/iommu.h>
#include <linux/seq_file.h>

#include "vhost_vfio_priv.h"

static struct dentry *vhost_vfio_debugfs_root;

static void vv_show_mirror(struct seq_file *s, struct vhost_vfio_dev *vd)
{
	struct vhost_vfio_mirror *m = &vd->mirror;
	u64 maps[ARRAY_SIZE(m->maps)], pinned, ns, builds, reuses, reserved;
	u64 refills, extends, grown, gaps, polls, pin_ns, calls;
	const char *state;
	int result;

	mutex_lock(&m->lock);
	refills = m->refills;
	extends = m->extends;
	grown = m->grown_pages;
	gaps = m->gap_pages;
	calls = m->last_pin_calls;
	spin_lock(&m->state_lock);
	polls = m->polls;
	result = m->result;
	state = m->building ? "building" : m->queued ? "queued" : "idle";
	spin_unlock(&m->state_lock);
	memcpy(maps, m->maps, sizeof(maps));
	pinned = m->pinned_pages;
	ns = m->build_ns;
	pin_ns = m->build_pin_ns;
	builds = m->builds;
	reuses = m->reuses;
	reserved = m->reserved_pages;
	mutex_unlock(&m->lock);

	seq_printf(s, "mirror_builds: %llu\n", builds);
	seq_printf(s, "mirror_reuses: %llu\n", reuses);
	seq_printf(s, "mirror_refills: %llu\n", refills);
	seq_printf(s, "mirror_extends: %llu\n", extends);
	seq_printf(s, "mirror_grown_pages: %llu\n", grown);
	seq_printf(s, "mirror_gap_pages: %llu\n", gaps);
	seq_printf(s, "mirror_last_pin_calls: %llu\n", calls);
	seq_printf(s, "mirror_polls: %llu\n", polls);
	seq_printf(s, "mirror_state: %s\n", state);
	seq_printf(s, "mirror_result: %d\n", result);
	seq_printf(s, "mirror_build_ns: %llu\n", ns);
	seq_printf(s, "mirror_build_pin_ns: %llu\n", pin_ns);
	seq_printf(s, "mirror_pinned_pages: %llu\n", pinned);
	seq_printf(s, "mirror_bytes: %llu\n", pinned << PAGE_SHIFT);
	seq_printf(s, "mirror_maps_4k: %llu\n", maps[0]);
	seq_printf(s, "mirror_maps_2m: %llu\n", maps[1]);
	seq_printf(s, "mirror_maps_1g: %llu\n", maps[2]);
	seq_printf(s, "mirror_maps: %llu\n", maps[0] + maps[1] + maps[2]);
	seq_printf(s, "mirror_reserved_pages: %llu\n", reserved);
}

/*
 * One "name: value" per line.  Trapped access counts are per region;
 * bar2_notify_writes are the kicks that took the trapped path.
 */
static int counters_show(struct seq_file *s, void *unused)
{
	struct vhost_vfio_dev *vd = s->private;
	struct vhost_vfio_counters c;
	u64 n, total = 0;
	unsigned long pgsizes = 0;
	const char *why;
	bool open, pending;
	u8 vf_status;
	u16 i;

	mutex_lock(&vd->lock);
	c = vd->counters;
	pending = vd->driver_ok_pending;
	vf_status = vd->open ? vd->vf->ops->get_status(vd->vf->be) : 0;
	open = vd->open;
	if (vd->domain)
		pgsizes = vd->domain->pgsize_bitmap;
	why = open ? vd->db_reason : vhost_vfio_doorbell_check(vd);
	mutex_unlock(&vd->lock);

	seq_printf(s, "config: %llu\n", c.config);
	seq_printf(s, "bar0: %llu\n", c.bar0);
	seq_printf(s, "bar1: %llu\n", c.bar1);
	seq_printf(s, "bar2: %llu\n", c.bar2);
	seq_printf(s, "bar2_notify_writes: %llu\n", c.bar2_notify_writes);
	seq_printf(s, "doorbell_mapped: %d\n", !why);
	seq_printf(s, "doorbell_faults: %llu\n",
		   (u64)atomic64_read(&vd->db_faults));
	for (i = 0; i < vd->vf->msix_vectors; i++) {
		n = atomic64_read(&vd->irqs[i].count);
		total += n;
		seq_printf(s, "irq_vector_%u: %llu\n", i, n);
	}
	seq_printf(s, "irqs: %llu\n", total);
	seq_printf(s, "irq_requests: %llu\n", c.irq_requests);
	seq_printf(s, "driver_ok_pending: %d\n", pending);
	seq_printf(s, "vf_status: 0x%02x\n", vf_status);
	seq_printf(s, "driver_ok_deferred: %llu\n", c.driver_ok_deferred);
	seq_printf(s, "kicks_replayed: %llu\n", c.kicks_replayed);
	seq_printf(s, "guest_resets: %llu\n", c.guest_resets);
	seq_printf(s, "access_max_ns: %llu\n", c.access_max_ns);
	seq_printf(s, "bypass_producers: %d\n",
		   atomic_read(&vd->bypass_registered));
	seq_printf(s, "bypass_connected: %d\n",
		   atomic_read(&vd->bypass_connected));
	seq_printf(s, "iommu_pgsize_bitmap: 0x%lx\n", pgsizes);
	vv_show_mirror(s, vd);
	vhost_vfio_relay_show(s, vd);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(counters);

/*
 * Where the VF's DMA can land now, read from the IOMMU core and the VF's
 * command register, and the only physical range the doorbell mappings
 * can reach (isolation.c, doorbell.c).
 */
static int isolation_show(struct seq_file *s, void *unused)
{
	struct vhost_vfio_dev *vd = s->private;
	phys_addr_t pa;
	u64 len;

	mutex_lock(&vd->lock);
	seq_printf(s, "domain: %s\n", vhost_vfio_isolation_state(vd));
	seq_printf(s, "bus_master: %d\n",
		   vhost_vfio_isolation_bus_master_on(vd));
	seq_printf(s, "dma_unsafe: %d\n", vd->vf->dma_unsafe);
	seq_printf(s, "dma_cut_off: %d\n", READ_ONCE(vd->dma_cut_off));
	mutex_unlock(&vd->lock);
	mutex_lock(&vd->db_lock);
	pa = vd->db_pa;
	len = vd->db_map_len;
	mutex_unlock(&vd->db_lock);
	seq_printf(s, "doorbell_pa: 0x%llx\n", (u64)pa);
	seq_printf(s, "doorbell_map_len: 0x%llx\n", len);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(isolation);

/* The migration FSM state and its counters (migration.c). */
static int migration_show(struct seq_file *s, void *unused)
{
	struct vhost_vfio_dev *vd = s->private;

	mutex_lock(&vd->lock);
	vhost_vfio_migration_show(s, vd);
	mutex_unlock(&vd->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(migration);

/*
 * For the tests: while set, the mirror worker waits before it builds, so a
 * DRIVER_OK reliably finds the mirror in the making (mirror.c).
 */
static int hold_mirror_set(void *data, u64 val)
{
	struct vhost_vfio_dev *vd = data;

	WRITE_ONCE(vd->mirror.hold, !!val);
	wake_up_all(&vd->mirror.pin_wq);
	return 0;
}

static int hold_mirror_get(void *data, u64 *val)
{
	struct vhost_vfio_dev *vd = data;

	*val = READ_ONCE(vd->mirror.hold);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(hold_mirror_fops, hold_mirror_get, hold_mirror_set,
			 "%llu\n");

/**
 * vhost_vfio_debugfs_init - create the vhost_vfio debugfs directory
 */
void vhost_vfio_debugfs_init(void)
{
	vhost_vfio_debugfs_root = debugfs_create_dir("vhost_vfio", NULL);
}

/**
 * vhost_vfio_debugfs_exit - remove the vhost_vfio debugfs directory
 */
void vhost_vfio_debugfs_exit(void)
{
	debugfs_remove_recursive(vhost_vfio_debugfs_root);
}

/**
 * vhost_vfio_debugfs_add - create the per-mdev debugfs directory
 * @vd: mediated device
 *
 * debugfs is best effort: failures leave the device fully functional.
 */
void vhost_vfio_debugfs_add(struct vhost_vfio_dev *vd)
{
	vd->debugfs = debugfs_create_dir(dev_name(vv_dev(vd)),
					 vhost_vfio_debugfs_root);
	debugfs_create_file("counters", 0444, vd->debugfs, vd,
			    &counters_fops);
	debugfs_create_file("isolation", 0444, vd->debugfs, vd,
			    &isolation_fops);
	debugfs_create_file("migration", 0444, vd->debugfs, vd,
			    &migration_fops);
	/* Fault injection for the tests: non-zero fails the next one. */
	debugfs_create_atomic_t("fail_next_reset", 0600, vd->debugfs,
				&vd->fail_next_reset);
	debugfs_create_atomic_t("fail_next_unmap", 0600, vd->debugfs,
				&vd->fail_next_unmap);
	debugfs_create_file_unsafe("hold_mirror", 0600, vd->debugfs, vd,
				   &hold_mirror_fops);
}

/**
 * vhost_vfio_debugfs_remove - remove the per-mdev debugfs directory
 * @vd: mediated device
 *
 * Waits for readers in flight, so @vd may be freed afterwards.
 */
void vhost_vfio_debugfs_remove(struct vhost_vfio_dev *vd)
{
	debugfs_remove_recursive(vd->debugfs);
	vd->debugfs = NULL;
}
