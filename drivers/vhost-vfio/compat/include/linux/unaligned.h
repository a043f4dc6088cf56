/* SPDX-License-Identifier: GPL-2.0-only */
/* 6.12 moved the unaligned accessors from <asm/unaligned.h> to here. */
#ifndef _VHOST_VFIO_COMPAT_LINUX_UNALIGNED_H
#define _VHOST_VFIO_COMPAT_LINUX_UNALIGNED_H
#include <asm/unaligned.h>
#endif
