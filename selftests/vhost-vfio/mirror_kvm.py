#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# The DMA mirror against a minimal VMM: a KVM VM (no vCPU) with one memslot
# and the kvm-vfio device, guest RAM as an anonymous buffer DMA-mapped
# through VFIO in two parts split inside a 2 MiB page.  DRIVER_OK builds
# the mirror; unmapping the second part through VFIO must unpin exactly it
# (splitting a large mapping); close releases the rest.
# Usage: mirror_kvm.py UUID [memlock]   (prints TAP)
# With "memlock", run without CAP_IPC_LOCK and an RLIMIT_MEMLOCK below the
# guest size: VFIO's accounting must make the build fail, DRIVER_OK refused.
import ctypes
import fcntl
import mmap
import os
import struct
import sys
import time

uuid = sys.argv[1]
memlock = len(sys.argv) > 2 and sys.argv[2] == "memlock"
V = 0x3b << 8
def VIO(n): return V | (100 + n)
SET_IOMMU, GRP_SET_CONT, GRP_GET_DEV = VIO(2), VIO(4), VIO(6)
MAP_DMA, UNMAP_DMA = VIO(13), VIO(14)
KVM_CREATE_VM = 0xae01
KVM_SET_USER_MEMORY_REGION = 0x4020ae46
KVM_CREATE_DEVICE = 0xc00caee0
KVM_SET_DEVICE_ATTR = 0x4018aee1
KVM_DEV_TYPE_VFIO, KVM_DEV_VFIO_GROUP, KVM_DEV_VFIO_GROUP_ADD = 4, 1, 1
MADV_HUGEPAGE = 14
GPA = 1 << 32
SIZE = 8 << 20
HALF = 3 << 20   # the split point: inside the second 2 MiB page
DBG = f"/sys/kernel/debug/vhost_vfio/{uuid}/counters"

results = []
def check(ok, name):
    results.append((bool(ok), name))
def counters():
    def val(v):
        try:
            return int(v, 0)
        except ValueError:
            return v
    return {k: val(v) for k, v in
            (l.split(": ", 1) for l in open(DBG).read().splitlines())}

def settle():
    # The mirror is built by a worker: wait for it, as lib/vmm.c does.
    for _ in range(120000):
        c = counters()
        if c["driver_ok_pending"] == 0 and c["mirror_state"] == "idle":
            return
        time.sleep(0.001)
    sys.exit("mirror worker never settled")

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                      ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
# 2 MiB aligned, huge-page backed where THP allows: exercises large maps.
raw = libc.mmap(None, SIZE + (2 << 20), mmap.PROT_READ | mmap.PROT_WRITE,
                mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
buf = (raw + (2 << 20) - 1) & ~((2 << 20) - 1)
libc.madvise(buf, SIZE, MADV_HUGEPAGE)
ctypes.memset(buf, 0, SIZE)

kvm = os.open("/dev/kvm", os.O_RDWR)
vm = fcntl.ioctl(kvm, KVM_CREATE_VM, 0)
fcntl.ioctl(vm, KVM_SET_USER_MEMORY_REGION,
            struct.pack("IIQQQ", 0, 0, GPA, SIZE, buf))

grp = os.path.basename(os.readlink(f"/sys/bus/mdev/devices/{uuid}/iommu_group"))
cfd = os.open("/dev/vfio/vfio", os.O_RDWR)
gfd = os.open(f"/dev/vfio/{grp}", os.O_RDWR)
fcntl.ioctl(gfd, GRP_SET_CONT, struct.pack("i", cfd))
fcntl.ioctl(cfd, SET_IOMMU, 3)
for off, size in ((0, HALF), (HALF, SIZE - HALF)):
    fcntl.ioctl(cfd, MAP_DMA, struct.pack("IIQQQ", 32, 3, buf + off,
                                          GPA + off, size))
# Register the group with KVM before opening the device, as QEMU does.
dev = bytearray(struct.pack("III", KVM_DEV_TYPE_VFIO, 0, 0))
fcntl.ioctl(vm, KVM_CREATE_DEVICE, dev, True)
kvfio = struct.unpack_from("I", dev, 4)[0]
gfd_c = ctypes.c_int32(gfd)
fcntl.ioctl(kvfio, KVM_SET_DEVICE_ATTR,
            struct.pack("IIQQ", 0, KVM_DEV_VFIO_GROUP, KVM_DEV_VFIO_GROUP_ADD,
                        ctypes.addressof(gfd_c)))
dfd = fcntl.ioctl(gfd, GRP_GET_DEV, bytearray(uuid.encode() + b"\0"), True)

def rd(off, n): return int.from_bytes(os.pread(dfd, n, off), "little")
def wr(off, n, v): os.pwrite(dfd, v.to_bytes(n, "little"), off)
wr(0x14, 1, 0); wr(0x14, 1, 3)
wr(0x0, 4, 1); hi = rd(0x4, 4)
wr(0x8, 4, 1); wr(0xc, 4, hi & 1)         # VERSION_1
wr(0x8, 4, 0); wr(0xc, 4, 0)
wr(0x14, 1, 0xb); wr(0x14, 1, 0xf); settle()
c = counters()
if memlock:
    check(not rd(0x14, 1) & 4 and c["mirror_pinned_pages"] == 0,
          f"RLIMIT_MEMLOCK exceeded: DRIVER_OK refused (status "
          f"{rd(0x14, 1):#x}), nothing left pinned")
    os.close(dfd)
    print("TAP version 13")
    print(f"1..{len(results)}")
    for i, (ok, name) in enumerate(results, 1):
        print(f"{'ok' if ok else 'not ok'} {i} {name}")
    sys.exit(0 if all(ok for ok, _ in results) else 1)
check(rd(0x14, 1) & 4, f"DRIVER_OK accepted with a mirror (status {rd(0x14, 1):#x})")
check(c["mirror_pinned_pages"] == SIZE // 4096 and c["mirror_builds"] == 1,
      f"mirror pinned all {SIZE // 4096} pages ({c['mirror_pinned_pages']}), "
      f"{c['mirror_maps_4k']}x4K {c['mirror_maps_2m']}x2M in {c['mirror_build_ns']} ns")
check((c["mirror_maps_4k"] * 4096 + c["mirror_maps_2m"] * (2 << 20)) == SIZE,
      "mappings cover exactly the guest memory")

fcntl.ioctl(cfd, UNMAP_DMA, struct.pack("IIQQ", 24, 0, GPA + HALF,
                                        SIZE - HALF))
c = counters()
check(c["mirror_pinned_pages"] == HALF // 4096 and
      (c["mirror_maps_4k"] * 4096 + c["mirror_maps_2m"] * (2 << 20)) == HALF,
      f"VFIO unmap of the second part unpinned and unmapped exactly it "
      f"({c['mirror_pinned_pages']} pages left, {c['mirror_maps_4k']}x4K "
      f"{c['mirror_maps_2m']}x2M)")

wr(0x14, 1, 0); wr(0x14, 1, 3)
wr(0x8, 4, 1); wr(0xc, 4, hi & 1)
wr(0x8, 4, 0); wr(0xc, 4, 0)
wr(0x14, 1, 0xb); wr(0x14, 1, 0xf); settle()
c = counters()
check(rd(0x14, 1) & 4 and c["mirror_builds"] == 2 and
      c["mirror_pinned_pages"] == HALF // 4096,
      "after an unmap, the next DRIVER_OK rebuilds from what is still mapped")

os.close(dfd)
c = counters()
check(c["mirror_pinned_pages"] == 0 and c["mirror_maps"] == 0,
      "close released every pin and mapping")
os.close(kvfio); os.close(gfd); os.close(cfd); os.close(vm)

print("TAP version 13")
print(f"1..{len(results)}")
for i, (ok, name) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} {name}")
sys.exit(0 if all(ok for ok, _ in results) else 1)
