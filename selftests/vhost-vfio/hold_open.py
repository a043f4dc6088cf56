#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""hold_open.py UUID: open an mdev the way a VMM does (VFIO container,
type1 IOMMU, group, device fd), print "open", and keep it open until stdin
reaches EOF.  Lets shell tests observe behaviour while a device is in use."""
import fcntl
import os
import struct
import sys

VFIO_TYPE = ord(";")
VFIO_BASE = 100


def vfio_io(nr):
    return (VFIO_TYPE << 8) | (VFIO_BASE + nr)


VFIO_SET_IOMMU = vfio_io(2)
VFIO_GROUP_SET_CONTAINER = vfio_io(4)
VFIO_GROUP_GET_DEVICE_FD = vfio_io(6)
VFIO_TYPE1v2_IOMMU = 3

uuid = sys.argv[1]
group = os.path.basename(os.readlink(f"/sys/bus/mdev/devices/{uuid}/iommu_group"))
container = os.open("/dev/vfio/vfio", os.O_RDWR)
gfd = os.open(f"/dev/vfio/{group}", os.O_RDWR)
fcntl.ioctl(gfd, VFIO_GROUP_SET_CONTAINER, struct.pack("i", container))
fcntl.ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)
# A mutable buffer makes ioctl() return the call's result: the device fd.
dfd = fcntl.ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD,
                bytearray(uuid.encode() + b"\0"), True)
print("open", flush=True)
sys.stdin.read()
os.close(dfd)
