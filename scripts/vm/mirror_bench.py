#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# Mirror build benchmark: how long it takes to pin guest RAM and map it
# into the function's IOMMU domain, (a) with vfio-pci passthrough, where
# VFIO_IOMMU_MAP_DMA of type1 pins and maps, and (b) with a vhost-vfio
# mdev, where MAP_DMA is bookkeeping (emulated IOMMU) and DRIVER_OK builds
# the DMA mirror through vfio_pin_pages over the KVM memslots.
#
# Usage: mirror_bench.py type1 BDF [--size MIB]  (BDF bound to vfio-pci)
#        mirror_bench.py mdev UUID [--size MIB]
# Prints "mode key value" lines; numbers, not verdicts.  Exits non-zero
# only if the setup fails (e.g. DRIVER_OK refused).
import argparse
import ctypes
import fcntl
import mmap
import os
import struct
import sys
import time

V = 0x3b << 8
def VIO(n): return V | (100 + n)
SET_IOMMU, GRP_SET_CONT, GRP_GET_DEV = VIO(2), VIO(4), VIO(6)
MAP_DMA, UNMAP_DMA = VIO(13), VIO(14)
VFIO_TYPE1v2_IOMMU = 3
KVM_CREATE_VM = 0xae01
KVM_SET_USER_MEMORY_REGION = 0x4020ae46
KVM_CREATE_DEVICE = 0xc00caee0
KVM_SET_DEVICE_ATTR = 0x4018aee1
KVM_DEV_TYPE_VFIO, KVM_DEV_VFIO_GROUP, KVM_DEV_VFIO_GROUP_ADD = 4, 1, 1
MADV_HUGEPAGE = 14
GPA = 1 << 32
HUGE = 2 << 20

ap = argparse.ArgumentParser()
ap.add_argument("mode", choices=("type1", "mdev"))
ap.add_argument("dev", help="BDF (type1) or mdev UUID (mdev)")
ap.add_argument("--size", type=int, default=1024, help="guest RAM, MiB")
args = ap.parse_args()
SIZE = args.size << 20
mode = args.mode

def out(key, val):
    print(f"{mode} {key} {val}", flush=True)

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                      ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]

def guest_ram():
    """2 MiB aligned anonymous memory, THP where allowed, all faulted in."""
    raw = libc.mmap(None, SIZE + HUGE, mmap.PROT_READ | mmap.PROT_WRITE,
                    mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
    if raw in (None, ctypes.c_void_p(-1).value):
        sys.exit(f"mmap: {os.strerror(ctypes.get_errno())}")
    buf = (raw + HUGE - 1) & ~(HUGE - 1)
    libc.madvise(buf, SIZE, MADV_HUGEPAGE)
    ctypes.memset(buf, 1, SIZE)
    # How much of it THP backs: AnonHugePages of the VMA(s) in the range.
    huge, cur = 0, False
    for line in open("/proc/self/smaps"):
        f = line.split()
        if "-" in f[0] and not f[0].endswith(":"):
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            cur = lo < buf + SIZE and hi > buf
        elif cur and f[0] == "AnonHugePages:":
            huge += int(f[1]) << 10
    try:
        thp = open("/sys/kernel/mm/transparent_hugepage/enabled").read().split()
        thp = next(w.strip("[]") for w in thp if w.startswith("["))
    except (OSError, StopIteration):
        thp = "n/a"
    out("size_MiB", args.size)
    out("thp_mode", thp)
    out("thp_huge_MiB", min(huge, SIZE) >> 20)
    return buf

def container(group):
    cfd = os.open("/dev/vfio/vfio", os.O_RDWR)
    gfd = os.open(f"/dev/vfio/{group}", os.O_RDWR)
    fcntl.ioctl(gfd, GRP_SET_CONT, struct.pack("i", cfd))
    fcntl.ioctl(cfd, SET_IOMMU, VFIO_TYPE1v2_IOMMU)
    return cfd, gfd

def timed(fn):
    t = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - t) / 1e9

def map_dma(cfd, buf):
    return timed(lambda: fcntl.ioctl(cfd, MAP_DMA, struct.pack(
        "IIQQQ", 32, 3, buf, GPA, SIZE)))

def unmap_dma(cfd):
    return timed(lambda: fcntl.ioctl(cfd, UNMAP_DMA, struct.pack(
        "IIQQ", 24, 0, GPA, SIZE)))

def type1():
    dev = f"/sys/bus/pci/devices/{args.dev}"
    group = os.path.basename(os.readlink(f"{dev}/iommu_group"))
    buf = guest_ram()
    cfd, gfd = container(group)
    out("map_dma_s", f"{map_dma(cfd, buf):.4f}")
    # type1 does not expose how many IOMMU mappings it made (it maps each
    # physically contiguous run of pinned pages with one iommu_map).
    out("iommu_maps", "n/a")
    out("unmap_dma_s", f"{unmap_dma(cfd):.4f}")
    os.close(gfd)
    os.close(cfd)

def counters(uuid):
    dbg = f"/sys/kernel/debug/vhost_vfio/{uuid}/counters"
    return {k: v.strip() for k, v in
            (l.split(": ", 1) for l in open(dbg).read().splitlines())}

def mdev():
    uuid = args.dev
    group = os.path.basename(
        os.readlink(f"/sys/bus/mdev/devices/{uuid}/iommu_group"))
    buf = guest_ram()
    kvm = os.open("/dev/kvm", os.O_RDWR)
    vm = fcntl.ioctl(kvm, KVM_CREATE_VM, 0)
    fcntl.ioctl(vm, KVM_SET_USER_MEMORY_REGION,
                struct.pack("IIQQQ", 0, 0, GPA, SIZE, buf))
    cfd, gfd = container(group)
    out("map_dma_s", f"{map_dma(cfd, buf):.4f}")
    # Register the group with KVM before opening the device, as QEMU does.
    d = bytearray(struct.pack("III", KVM_DEV_TYPE_VFIO, 0, 0))
    fcntl.ioctl(vm, KVM_CREATE_DEVICE, d, True)
    kvfio = struct.unpack_from("I", d, 4)[0]
    gfd_c = ctypes.c_int32(gfd)
    fcntl.ioctl(kvfio, KVM_SET_DEVICE_ATTR,
                struct.pack("IIQQ", 0, KVM_DEV_VFIO_GROUP,
                            KVM_DEV_VFIO_GROUP_ADD, ctypes.addressof(gfd_c)))
    dfd = fcntl.ioctl(gfd, GRP_GET_DEV, bytearray(uuid.encode() + b"\0"),
                      True)

    def rd(off, n): return int.from_bytes(os.pread(dfd, n, off), "little")
    def wr(off, n, v): os.pwrite(dfd, v.to_bytes(n, "little"), off)
    wr(0x14, 1, 0); wr(0x14, 1, 3)
    wr(0x0, 4, 1); hi = rd(0x4, 4)
    wr(0x8, 4, 1); wr(0xc, 4, hi & 1)         # VERSION_1 only
    wr(0x8, 4, 0); wr(0xc, 4, 0)
    wr(0x14, 1, 0xb)
    # The write a guest vCPU makes: the mirror is built by a worker.
    t0 = time.monotonic()
    out("driver_ok_s", f"{timed(lambda: wr(0x14, 1, 0xf)):.4f}")
    while True:
        c = counters(uuid)
        if c["driver_ok_pending"] == "0" and c["mirror_state"] == "idle":
            break
        time.sleep(0.001)
    out("ready_s", f"{time.monotonic() - t0:.4f}")
    status = rd(0x14, 1)
    c = counters(uuid)
    out("status", f"{status:#x}")
    for k in ("mirror_build_ns", "mirror_build_pin_ns",
              "mirror_pinned_pages", "mirror_bytes",
              "mirror_maps", "mirror_maps_4k", "mirror_maps_2m",
              "mirror_maps_1g", "iommu_pgsize_bitmap", "access_max_ns",
              "driver_ok_deferred", "kicks_replayed"):
        out(k, c.get(k, "n/a"))
    out("close_s", f"{timed(lambda: os.close(dfd)):.4f}")
    out("unmap_dma_s", f"{unmap_dma(cfd):.4f}")
    for fd in (kvfio, gfd, cfd, vm, kvm):
        os.close(fd)
    if not status & 4:
        sys.exit("DRIVER_OK refused: no mirror")

type1() if mode == "type1" else mdev()
