/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vhost-vfio: one source tree for every kernel we support (Debian 12's 6.1,
 * the 6.12 of Debian 12 and 13).  The code outside this directory is
 * written against current mainline; what older kernels lack or spell
 * differently is supplied here, keyed on the version that changed it, so a
 * shim can be deleted the day its kernel is dropped.  Kbuild force-includes
 * this header into every object; compat/include/ holds headers that moved.
 */
#ifndef _VHOST_VFIO_COMPAT_H
#define _VHOST_VFIO_COMPAT_H

#include <linux/version.h>
#include <linux/eventfd.h>
#include <linux/iommu.h>
#include <linux/irqdomain.h>
#include <linux/mm.h>
#include <linux/vfio.h>

/* 6.2: the vfio core frees the device after ->release(); before, ->release() did. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
#define compat_vfio_release_free(vdev)	vfio_free_device(vdev)
#else
#define compat_vfio_release_free(vdev)	do { } while (0)
#endif

/*
 * 6.6: emulated devices have all four iommufd ops (detach_ioas came last).
 * Without CONFIG_IOMMUFD <linux/vfio.h> defines them as typed NULLs.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
#define COMPAT_HAVE_VFIO_IOMMUFD_EMULATED
#endif

/* 6.3: vma->vm_flags became read-only; writers use vm_flags_set(). */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}
#endif

/* 6.3: iommu_map() takes the gfp of its page-table allocations. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
#define iommu_map(domain, iova, paddr, size, prot, gfp) \
	iommu_map(domain, iova, paddr, size, prot)
#endif

/*
 * 6.3: iommu_group_has_isolated_msi() replaced the two tests 6.1's
 * vfio_iommu_type1 made itself: MSI remapping by the irq domain (ARM ITS)
 * or interrupt remapping by the IOMMU for every device of the group (x86).
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline int compat_dev_intr_remap(struct device *dev, void *unused)
{
	return device_iommu_capable(dev, IOMMU_CAP_INTR_REMAP) ? 0 : -EPERM;
}

static inline bool iommu_group_has_isolated_msi(struct iommu_group *group)
{
	return irq_domain_check_msi_remap() ||
	       !iommu_group_for_each_dev(group, NULL, compat_dev_intr_remap);
}
#endif

/* 6.8: eventfd_signal() lost its always-1 count. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 8, 0)
#define eventfd_signal(ctx)	eventfd_signal(ctx, 1)
#endif

/* 6.10: __assign_str() takes the source from __string() (one argument). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#define compat_assign_str(dst, src)	__assign_str(dst)
#else
#define compat_assign_str(dst, src)	__assign_str(dst, src)
#endif

/*
 * 6.11: iommu_paging_domain_alloc() replaced iommu_domain_alloc(bus) and
 * reports failure as an ERR_PTR.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 11, 0)
static inline struct iommu_domain *iommu_paging_domain_alloc(struct device *dev)
{
	struct iommu_domain *domain = iommu_domain_alloc(dev->bus);

	return domain ? domain : ERR_PTR(-ENOMEM);
}
#endif

/*
 * 6.2: VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, answered by the driver's
 * migration_get_data_size(), which the core then calls unchecked.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define COMPAT_HAVE_MIG_DATA_SIZE
#endif

#endif /* _VHOST_VFIO_COMPAT_H */
