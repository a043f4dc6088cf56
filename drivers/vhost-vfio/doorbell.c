// SPDX-License-Identifier: GPL-2.0-only
/*
 * vhost-vfio: mapping the VF's doorbells into the VMM (BAR2 mmap).
 *
 * Guest BAR2 offset X is VF notify area offset X, because the guest sees
 * the VF's notify_off_multiplier and queue_notify_off.  The backend names
 * the whole pages at the start of the notify area that hold nothing but
 * doorbells (notify_map_check); those pages, and only those, are handed
 * to the VMM, which maps them into the guest: a kick is a plain store to
 * the VF, with no exit.  Everything else in BAR2, or all of it when the
 * backend cannot vouch for a page, stays trapped and kicks are forwarded
 * (virtio_cfg.c).
 *
 * Revocation: every mapping hangs off a per-open pseudo file whose address
 * space we own, so unmap_mapping_range() finds all of them (also in forked
 * children) without tracking vmas.  The vfio device file's own address
 * space is the anon inode's, shared with every other anon file, and cannot
 * be used for that.  The fault handler inserts the page only while the
 * mapping's file is still the live one, so a mapping that outlived a
 * close, reset or removal gets SIGBUS instead of reaching the VF.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pseudo_fs.h>
#include <linux/virtio_net.h>

#include "vhost_vfio_priv.h"

#define VV_DB_FS_MAGIC	0x76766462	/* "vvdb" */

static struct vfsmount *vv_db_mnt;

/*
 * Read at each open: an operator can trap every kick of the mdevs opened
 * from now on (to compare the cost of an exit per kick, or to rule the
 * mapping out while debugging a VF) without reloading the module.
 */
static bool map_doorbells = true;
module_param(map_doorbells, bool, 0644);
MODULE_PARM_DESC(map_doorbells,
		 "Let VMMs map the VF's doorbell pages (default Y); N traps every kick of devices opened afterwards");

static int vv_db_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, VV_DB_FS_MAGIC) ? 0 : -ENOMEM;
}

/*
 * No .owner: a mount takes a reference on its type's owner, so the module
 * could never be unloaded.  The mount lives from module init to exit, and
 * each file on it pins the module through its f_op instead.
 */
static struct file_system_type vv_db_fs_type = {
	.name = "vhost_vfio_doorbell",
	.init_fs_context = vv_db_init_fs_context,
	.kill_sb = kill_anon_super,
};

/**
 * vhost_vfio_doorbell_fs_init - mount the internal doorbell pseudo fs
 *
 * Return: 0 or a negative errno.
 */
int vhost_vfio_doorbell_fs_init(void)
{
	vv_db_mnt = kern_mount(&vv_db_fs_type);
	return PTR_ERR_OR_ZERO(vv_db_mnt);
}

/**
 * vhost_vfio_doorbell_fs_exit - unmount the internal doorbell pseudo fs
 */
void vhost_vfio_doorbell_fs_exit(void)
{
	kern_unmount(vv_db_mnt);
}

/*
 * May BAR2 be mapped onto the VF's doorbells?  NULL if it may, with the
 * only physical range the mapping may ever reach in @pa/@len, as the
 * backend vouched for it; else the reason it stays trapped.
 */
static const char *vv_doorbell_check(struct vhost_vfio_dev *vd,
				     phys_addr_t *pa, u64 *len)
{
	struct vhost_vfio_vf *vf = vd->vf;

	if (!READ_ONCE(map_doorbells))
		return "map_doorbells module parameter is N";
	if (vhost_vfio_relay_on(vd))
		return "virtqueue relay (relay module parameter)";
	if (!vf->notify_map_len)
		return vf->notify_map_refusal;
	*pa = vf->notify_map_pa;
	*len = vf->notify_map_len;
	if (!PAGE_ALIGNED(*pa) || !*len || !PAGE_ALIGNED(*len) ||
	    *len > vf->notify_bar_size)
		return "backend vouched for an unusable doorbell range";
	/*
	 * Without NOTIFICATION_DATA the value a guest writes is its queue
	 * index.  With fewer pairs than the VF has, the guest's control
	 * queue index differs from the VF's, so the write must be rewritten.
	 */
	if (vd->num_queues > 2 * vd->pairs && vd->pairs < vf->max_pairs)
		return "control queue index remapped (max_queue_pairs below the VF's)";
	return NULL;
}

/**
 * vhost_vfio_doorbell_check - may BAR2 be mapped onto the VF's doorbells?
 * @vd: mediated device, lock held
 *
 * Return: NULL if it may, else the reason it must stay trapped.
 */
const char *vhost_vfio_doorbell_check(struct vhost_vfio_dev *vd)
{
	phys_addr_t pa;
	u64 len;

	return vv_doorbell_check(vd, &pa, &len);
}

static int vv_db_release(struct inode *inode, struct file *file)
{
	struct vhost_vfio_dev *vd = file->private_data;

	put_device(&vd->vdev.device);
	return 0;
}

static const struct file_operations vv_db_fops = {
	.owner = THIS_MODULE,
	.release = vv_db_release,
};

/**
 * vhost_vfio_doorbell_open - decide the doorbell mode for this open
 * @vd: mediated device, lock held, provisioning frozen
 *
 * Return: 0 or a negative errno.
 */
int vhost_vfio_doorbell_open(struct vhost_vfio_dev *vd)
{
	struct inode *inode;
	struct file *file;
	phys_addr_t pa;
	u64 len;

	vd->db_reason = vv_doorbell_check(vd, &pa, &len);
	vd->db_map_len = 0;
	vd->db_pa = 0;
	atomic64_set(&vd->db_faults, 0);
	if (vd->db_reason)
		return 0;

	inode = alloc_anon_inode(vv_db_mnt->mnt_sb);
	if (IS_ERR(inode))
		return PTR_ERR(inode);
	/* The file pins the module (f_op) and @vd (released in f_op). */
	__module_get(THIS_MODULE);
	file = alloc_file_pseudo(inode, vv_db_mnt, "[vhost-vfio-doorbell]",
				 O_RDWR, &vv_db_fops);
	if (IS_ERR(file)) {
		module_put(THIS_MODULE);
		iput(inode);
		return PTR_ERR(file);
	}
	get_device(&vd->vdev.device);
	file->private_data = vd;

	mutex_lock(&vd->db_lock);
	vd->db_file = file;
	vd->db_pa = pa;
	vd->db_map_len = len;
	mutex_unlock(&vd->db_lock);
	return 0;
}

/**
 * vhost_vfio_doorbell_revoke - zap every doorbell mapping
 * @vd: mediated device
 *
 * The mappings stay valid: the next access faults the page in again as
 * long as the device is open.
 */
void vhost_vfio_doorbell_revoke(struct vhost_vfio_dev *vd)
{
	mutex_lock(&vd->db_lock);
	if (vd->db_file)
		unmap_mapping_range(vd->db_file->f_mapping, 0, 0, true);
	mutex_unlock(&vd->db_lock);
}

/**
 * vhost_vfio_doorbell_close - revoke all doorbell mappings for good
 * @vd: mediated device
 *
 * Mappings that outlive this fault with SIGBUS.
 */
void vhost_vfio_doorbell_close(struct vhost_vfio_dev *vd)
{
	struct file *file;

	mutex_lock(&vd->db_lock);
	file = vd->db_file;
	vd->db_file = NULL;
	if (file)
		unmap_mapping_range(file->f_mapping, 0, 0, true);
	mutex_unlock(&vd->db_lock);
	if (file)
		fput(file);
}

static vm_fault_t vv_db_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct vhost_vfio_dev *vd = vma->vm_private_data;
	u64 off = ((u64)vma->vm_pgoff << PAGE_SHIFT & VV_OFFSET_MASK) +
		  (vmf->address - vma->vm_start);
	vm_fault_t ret = VM_FAULT_SIGBUS;

	mutex_lock(&vd->db_lock);
	/* A mapping of an earlier open, or of a revoked device, is dead. */
	if (vd->db_file && vma->vm_file == vd->db_file &&
	    off < vd->db_map_len) {
		ret = vmf_insert_pfn(vma, vmf->address,
				     PHYS_PFN(vd->db_pa + off));
		atomic64_inc(&vd->db_faults);
	}
	mutex_unlock(&vd->db_lock);
	return ret;
}

static const struct vm_operations_struct vv_db_vm_ops = {
	.fault = vv_db_fault,
};

/**
 * vhost_vfio_doorbell_mmap - mmap of the device fd
 * @vd: mediated device
 * @vma: the new mapping
 *
 * Only BAR2, only shared, only within the doorbell pages.
 *
 * Return: 0 or -EINVAL/-ENODEV.
 */
int vhost_vfio_doorbell_mmap(struct vhost_vfio_dev *vd,
			     struct vm_area_struct *vma)
{
	u64 index = vma->vm_pgoff >> (VV_OFFSET_SHIFT - PAGE_SHIFT);
	u64 off = (u64)vma->vm_pgoff << PAGE_SHIFT & VV_OFFSET_MASK;
	u64 size = vma->vm_end - vma->vm_start;
	const char *why = NULL;
	int ret = 0;

	mutex_lock(&vd->db_lock);
	if (index != VV_BAR_NOTIFY)
		why = "only the notify BAR is mappable";
	else if (!vd->db_file)
		why = vd->db_reason ? "notify BAR is trapped" :
				      "device not open";
	else if (!(vma->vm_flags & VM_SHARED))
		why = "MAP_SHARED required";
	else if (off >= vd->db_map_len || size > vd->db_map_len - off)
		why = "beyond the doorbell pages";
	if (why) {
		mutex_unlock(&vd->db_lock);
		dev_warn_ratelimited(vv_dev(vd),
				     "mmap of region %llu offset 0x%llx size 0x%llx refused: %s\n",
				     index, off, size, why);
		return -EINVAL;
	}

	vm_flags_set(vma, VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
	vma->vm_ops = &vv_db_vm_ops;
	vma->vm_private_data = vd;
	/* Hang the mapping off our address space, see the top of the file. */
	vma_set_file(vma, vd->db_file);
	mutex_unlock(&vd->db_lock);
	return ret;
}

/**
 * vhost_vfio_region_info_caps - REGION_INFO flags and capabilities for BAR2
 * @vd: mediated device, lock held
 * @info: region info being built
 * @caps: capability chain being built
 *
 * Return: 0 or -ENOMEM.
 */
int vhost_vfio_region_info_caps(struct vhost_vfio_dev *vd,
				struct vfio_region_info *info,
				struct vfio_info_cap *caps)
{
	struct vfio_region_info_cap_sparse_mmap *sparse;
	size_t size = struct_size(sparse, areas, 1);
	int ret;

	if (info->index != VV_BAR_NOTIFY || !vd->db_map_len)
		return 0;

	sparse = kzalloc(size, GFP_KERNEL);
	if (!sparse)
		return -ENOMEM;
	sparse->header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP;
	sparse->header.version = 1;
	sparse->nr_areas = 1;
	sparse->areas[0].offset = 0;
	sparse->areas[0].size = vd->db_map_len;
	ret = vfio_info_add_capability(caps, &sparse->header, size);
	kfree(sparse);
	if (!ret)
		info->flags |= VFIO_REGION_INFO_FLAG_MMAP;
	return ret;
}
