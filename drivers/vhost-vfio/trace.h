/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vhost-vfio tracepoints: what a guest and its VMM did to the control path,
 * for trace-cmd / tracefs (events/vhost_vfio/).
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM vhost_vfio

#if !defined(_VHOST_VFIO_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _VHOST_VFIO_TRACE_H

#include <linux/tracepoint.h>

TRACE_EVENT(vhost_vfio_status,
	    TP_PROTO(const char *dev, u8 old, u8 req, u8 now),
	    TP_ARGS(dev, old, req, now),
	    TP_STRUCT__entry(__string(dev, dev)
			     __field(u8, old)
			     __field(u8, req)
			     __field(u8, now)),
	    TP_fast_assign(compat_assign_str(dev, dev);
			   __entry->old = old;
			   __entry->req = req;
			   __entry->now = now;),
	    TP_printk("%s: device_status 0x%02x, guest wrote 0x%02x, now 0x%02x",
		      __get_str(dev), __entry->old, __entry->req, __entry->now)
);

TRACE_EVENT(vhost_vfio_features_ok,
	    TP_PROTO(const char *dev, u64 offered, u64 guest, u64 vf, bool ok),
	    TP_ARGS(dev, offered, guest, vf, ok),
	    TP_STRUCT__entry(__string(dev, dev)
			     __field(u64, offered)
			     __field(u64, guest)
			     __field(u64, vf)
			     __field(bool, ok)),
	    TP_fast_assign(compat_assign_str(dev, dev);
			   __entry->offered = offered;
			   __entry->guest = guest;
			   __entry->vf = vf;
			   __entry->ok = ok;),
	    TP_printk("%s: offered 0x%016llx guest 0x%016llx vf 0x%016llx %s",
		      __get_str(dev), __entry->offered, __entry->guest, __entry->vf,
		      __entry->ok ? "accepted" : "refused")
);

TRACE_EVENT(vhost_vfio_queue_enable,
	    TP_PROTO(const char *dev, u16 gq, int vfq, u16 size, u16 vector,
		     u64 desc, u64 avail, u64 used, bool enabled),
	    TP_ARGS(dev, gq, vfq, size, vector, desc, avail, used, enabled),
	    TP_STRUCT__entry(__string(dev, dev)
			     __field(u16, gq)
			     __field(int, vfq)
			     __field(u16, size)
			     __field(u16, vector)
			     __field(u64, desc)
			     __field(u64, avail)
			     __field(u64, used)
			     __field(bool, enabled)),
	    TP_fast_assign(compat_assign_str(dev, dev);
			   __entry->gq = gq;
			   __entry->vfq = vfq;
			   __entry->size = size;
			   __entry->vector = vector;
			   __entry->desc = desc;
			   __entry->avail = avail;
			   __entry->used = used;
			   __entry->enabled = enabled;),
	    TP_printk("%s: queue %u (VF queue %d) size %u vector %u desc 0x%llx avail 0x%llx used 0x%llx: %s",
		      __get_str(dev), __entry->gq, __entry->vfq, __entry->size,
		      __entry->vector, __entry->desc, __entry->avail, __entry->used,
		      __entry->enabled ? "enabled" : "refused by the VF")
);

TRACE_EVENT(vhost_vfio_reset,
	    TP_PROTO(const char *dev, int ret),
	    TP_ARGS(dev, ret),
	    TP_STRUCT__entry(__string(dev, dev)
			     __field(int, ret)),
	    TP_fast_assign(compat_assign_str(dev, dev);
			   __entry->ret = ret;),
	    TP_printk("%s: reset %s (%d)", __get_str(dev),
		      __entry->ret ? "failed" : "done", __entry->ret)
);

TRACE_EVENT(vhost_vfio_mirror_build,
	    TP_PROTO(const char *dev, int ret, u64 pinned_pages, u64 ns, bool reused),
	    TP_ARGS(dev, ret, pinned_pages, ns, reused),
	    TP_STRUCT__entry(__string(dev, dev)
			     __field(int, ret)
			     __field(u64, pinned_pages)
			     __field(u64, ns)
			     __field(bool, reused)),
	    TP_fast_assign(compat_assign_str(dev, dev);
			   __entry->ret = ret;
			   __entry->pinned_pages = pinned_pages;
			   __entry->ns = ns;
			   __entry->reused = reused;),
	    TP_printk("%s: DMA mirror %s (%d): %llu pages pinned, %llu ns",
		      __get_str(dev),
		      __entry->ret ? "failed" : __entry->reused ? "reused" : "built",
		      __entry->ret, __entry->pinned_pages, __entry->ns)
);

TRACE_EVENT(vhost_vfio_mirror_unmap,
	    TP_PROTO(const char *dev, u64 iova, u64 length, u64 pinned_pages),
	    TP_ARGS(dev, iova, length, pinned_pages),
	    TP_STRUCT__entry(__string(dev, dev)
			     __field(u64, iova)
			     __field(u64, length)
			     __field(u64, pinned_pages)),
	    TP_fast_assign(compat_assign_str(dev, dev);
			   __entry->iova = iova;
			   __entry->length = length;
			   __entry->pinned_pages = pinned_pages;),
	    TP_printk("%s: VMM unmapped 0x%llx+0x%llx, %llu pages still pinned",
		      __get_str(dev), __entry->iova, __entry->length,
		      __entry->pinned_pages)
);

TRACE_EVENT(vhost_vfio_irq_set,
	    TP_PROTO(const char *dev, unsigned int vector, int fd, int irq,
		     bool bypass, int ret),
	    TP_ARGS(dev, vector, fd, irq, bypass, ret),
	    TP_STRUCT__entry(__string(dev, dev)
			     __field(unsigned int, vector)
			     __field(int, fd)
			     __field(int, irq)
			     __field(bool, bypass)
			     __field(int, ret)),
	    TP_fast_assign(compat_assign_str(dev, dev);
			   __entry->vector = vector;
			   __entry->fd = fd;
			   __entry->irq = irq;
			   __entry->bypass = bypass;
			   __entry->ret = ret;),
	    TP_printk("%s: MSI-X vector %u eventfd %d -> irq %d%s (%d)",
		      __get_str(dev), __entry->vector, __entry->fd, __entry->irq,
		      __entry->bypass ? " with irq bypass" : "", __entry->ret)
);

TRACE_EVENT(vhost_vfio_irq_bypass,
	    TP_PROTO(const char *dev, unsigned int vector, bool connected),
	    TP_ARGS(dev, vector, connected),
	    TP_STRUCT__entry(__string(dev, dev)
			     __field(unsigned int, vector)
			     __field(bool, connected)),
	    TP_fast_assign(compat_assign_str(dev, dev);
			   __entry->vector = vector;
			   __entry->connected = connected;),
	    TP_printk("%s: MSI-X vector %u %s",
		      __get_str(dev), __entry->vector,
		      __entry->connected ? "connected to a KVM irqfd" :
					   "disconnected from its KVM irqfd")
);

TRACE_EVENT(vhost_vfio_migration,
	    TP_PROTO(const char *dev, const char *from, const char *to, int ret),
	    TP_ARGS(dev, from, to, ret),
	    TP_STRUCT__entry(__string(dev, dev)
			     __string(from, from)
			     __string(to, to)
			     __field(int, ret)),
	    TP_fast_assign(compat_assign_str(dev, dev);
			   compat_assign_str(from, from);
			   compat_assign_str(to, to);
			   __entry->ret = ret;),
	    TP_printk("%s: migration %s -> %s: %d",
		      __get_str(dev), __get_str(from), __get_str(to),
		      __entry->ret)
);

#endif /* _VHOST_VFIO_TRACE_H */

/* Out-of-tree: define_trace.h finds this file through -I$(src). */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
