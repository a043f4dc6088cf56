#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""hold_open.py UUID: open an mdev the way a VMM does (VFIO container,
type1 IOMMU, group, device fd), print "open", and keep it open until stdin
reaches EOF.  Lets shell tests observe behaviour while a device is in use.

hold_open.py --loop SECONDS UUID: open and close it again and again (print
"open" after the first time) until it is gone or SECONDS passed; print
"opens N, refused M (errno names), gone|time" and exit 0 if it opened at
least once.  Lets shell tests race the device's removal with its users.

hold_open.py --once UUID|BDF: open once and close again.  For an mdev UUID
the whole way to the device fd; for a PCI function BDF (bound to vfio-pci)
its group into a type1 container, up to VFIO_SET_IOMMU.  Print "open", or
"refused IOCTL ERRNO" naming the step that failed (e.g. "refused
VFIO_GROUP_GET_DEVICE_FD EPERM"); exit 0 only if it opened.  Lets shell
tests check who refuses an open, and why."""
import errno
import fcntl
import os
import struct
import sys
import time

VFIO_TYPE = ord(";")
VFIO_BASE = 100


def vfio_io(nr):
    return (VFIO_TYPE << 8) | (VFIO_BASE + nr)


VFIO_SET_IOMMU = vfio_io(2)
VFIO_GROUP_SET_CONTAINER = vfio_io(4)
VFIO_GROUP_GET_DEVICE_FD = vfio_io(6)
VFIO_TYPE1v2_IOMMU = 3

def step(name, fn, *args):
    """fn(*args); an OSError it raises names the step in vfio_step."""
    try:
        return fn(*args)
    except OSError as e:
        e.vfio_step = name
        raise


def open_group(sysfs_dev):
    """Container and group fds of the IOMMU group of sysfs device directory
    sysfs_dev, the group set into a type1v2 container."""
    group = os.path.basename(os.readlink(f"{sysfs_dev}/iommu_group"))
    container = step("open /dev/vfio/vfio", os.open, "/dev/vfio/vfio",
                     os.O_RDWR)
    try:
        gfd = step(f"open /dev/vfio/{group}", os.open, f"/dev/vfio/{group}",
                   os.O_RDWR)
    except OSError:
        os.close(container)
        raise
    try:
        step("VFIO_GROUP_SET_CONTAINER", fcntl.ioctl, gfd,
             VFIO_GROUP_SET_CONTAINER, struct.pack("i", container))
        step("VFIO_SET_IOMMU", fcntl.ioctl, container, VFIO_SET_IOMMU,
             VFIO_TYPE1v2_IOMMU)
    except OSError:
        os.close(gfd)
        os.close(container)
        raise
    return [gfd, container]


def open_device(uuid):
    """Container, group and device fds of an mdev opened like a VMM does."""
    gfd, container = open_group(f"/sys/bus/mdev/devices/{uuid}")
    try:
        # A mutable buffer makes ioctl() return the call's result: the fd.
        dfd = step("VFIO_GROUP_GET_DEVICE_FD", fcntl.ioctl, gfd,
                   VFIO_GROUP_GET_DEVICE_FD,
                   bytearray(uuid.encode() + b"\0"), True)
    except OSError:
        os.close(gfd)
        os.close(container)
        raise
    return [dfd, gfd, container]


def close_all(fds):
    for fd in fds:
        os.close(fd)


def loop(seconds, uuid):
    opens, refused, why = 0, {}, "time"
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not os.path.exists(f"/sys/bus/mdev/devices/{uuid}"):
            why = "gone"
            break
        try:
            fds = open_device(uuid)
        except OSError as e:
            name = errno.errorcode.get(e.errno, str(e.errno))
            refused[name] = refused.get(name, 0) + 1
            continue
        opens += 1
        if opens == 1:
            print("open", flush=True)
        close_all(fds)
    names = " ".join(f"{k}:{v}" for k, v in sorted(refused.items()))
    print(f"opens {opens}, refused {sum(refused.values())} ({names}), {why}",
          flush=True)
    return 0 if opens else 1


def once(name):
    try:
        if os.path.exists(f"/sys/bus/mdev/devices/{name}"):
            fds = open_device(name)
        else:
            fds = open_group(f"/sys/bus/pci/devices/{name}")
    except OSError as e:
        print(f"refused {getattr(e, 'vfio_step', '?')} "
              f"{errno.errorcode.get(e.errno, str(e.errno))}", flush=True)
        return 1
    print("open", flush=True)
    close_all(fds)
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "--loop":
        sys.exit(loop(float(sys.argv[2]), sys.argv[3]))
    if sys.argv[1] == "--once":
        sys.exit(once(sys.argv[2]))
    fds = open_device(sys.argv[1])
    print("open", flush=True)
    sys.stdin.read()
    close_all(fds)
