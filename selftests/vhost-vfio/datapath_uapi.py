#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# uAPI checks of the data path on an mdev, without a VM: the doorbell
# region's mmap rules and revocation, and VFIO_DEVICE_SET_IRQS semantics.
# Usage: datapath_uapi.py UUID BDF   (prints TAP; unbinds BDF at the end)
import ctypes
import errno
import fcntl
import mmap
import os
import select
import signal
import struct
import subprocess
import sys

uuid, bdf = sys.argv[1], sys.argv[2]
VFIO = 0x3b << 8
def IO(n): return VFIO | (100 + n)
GRP_SET_CONT, SET_IOMMU = IO(4), IO(2)
GRP_GET_DEV, REG_INFO, IRQ_INFO, SET_IRQS, RESET = IO(6), IO(8), IO(9), IO(10), IO(11)
REGION_FLAG_MMAP, REGION_FLAG_CAPS = 4, 8
CAP_SPARSE_MMAP = 1
DATA_NONE, DATA_BOOL, DATA_EVENTFD = 1, 2, 4
ACT_MASK, ACT_UNMASK, ACT_TRIGGER = 8, 16, 32
MSIX, ERR, REQ = 2, 3, 4
BAR2 = 2 << 40
DBG = f"/sys/kernel/debug/vhost_vfio/{uuid}/counters"

results = []
def check(ok, name):
    results.append((bool(ok), name))
def errno_of(fn):
    try:
        fn()
        return 0
    except OSError as e:
        return e.errno
def counters():
    return dict(l.split(": ", 1) for l in open(DBG).read().splitlines())

def open_dev():
    grp = os.path.basename(os.readlink(f"/sys/bus/mdev/devices/{uuid}/iommu_group"))
    cfd = os.open("/dev/vfio/vfio", os.O_RDWR)
    gfd = os.open(f"/dev/vfio/{grp}", os.O_RDWR)
    fcntl.ioctl(gfd, GRP_SET_CONT, struct.pack("i", cfd))
    fcntl.ioctl(cfd, SET_IOMMU, 3)
    dfd = fcntl.ioctl(gfd, GRP_GET_DEV, bytearray(uuid.encode() + b"\0"), True)
    return cfd, gfd, dfd

cfd, gfd, dfd = open_dev()

# REGION_INFO of BAR2: mmap flag and a sparse cap with the doorbell pages.
b = bytearray(struct.pack("IIIIQQ", 32, 0, 2, 0, 0, 0))
fcntl.ioctl(dfd, REG_INFO, b, True)
argsz, flags, _, cap, size, off = struct.unpack("IIIIQQ", b)
check(flags & REGION_FLAG_MMAP and flags & REGION_FLAG_CAPS and argsz > 32,
      f"BAR2 is mmap-able with caps (flags {flags:#x}, argsz {argsz})")
b = bytearray(struct.pack("IIIIQQ", argsz, 0, 2, 0, 0, 0) + bytes(argsz - 32))
fcntl.ioctl(dfd, REG_INFO, b, True)
cap = struct.unpack_from("I", b, 12)[0]
cid, cver, _, nr = struct.unpack_from("HHII", b, cap)
aoff, alen = struct.unpack_from("QQ", b, cap + 16)
check(cid == CAP_SPARSE_MMAP and nr == 1 and aoff == 0 and alen >= 4096 and
      alen % 4096 == 0 and alen <= size,
      f"sparse mmap cap: {nr} area(s), [{aoff:#x}, +{alen:#x}) of {size:#x}")
b = bytearray(struct.pack("IIIIQQ", 32, 0, 0, 0, 0, 0))
fcntl.ioctl(dfd, REG_INFO, b, True)
check(not struct.unpack_from("I", b, 4)[0] & REGION_FLAG_MMAP, "BAR0 not mmap-able")

# mmap rules.
check(errno_of(lambda: mmap.mmap(dfd, 4096, mmap.MAP_PRIVATE,
                                 offset=BAR2)) == errno.EINVAL,
      "MAP_PRIVATE refused")
check(errno_of(lambda: mmap.mmap(dfd, alen + 4096, mmap.MAP_SHARED,
                                 offset=BAR2)) == errno.EINVAL,
      "mapping beyond the doorbell pages refused")
check(errno_of(lambda: mmap.mmap(dfd, 4096, mmap.MAP_SHARED,
                                 offset=0)) == errno.EINVAL,
      "mapping BAR0 refused")
check(errno_of(lambda: mmap.mmap(dfd, 4096, mmap.MAP_SHARED,
                                 offset=BAR2 + alen)) == errno.EINVAL,
      "mapping at an offset past the doorbells refused")
db = mmap.mmap(dfd, alen, mmap.MAP_SHARED, offset=BAR2)
db[0:2] = b"\x00\x00"  # a kick of queue 0 of a reset device: harmless
c = counters()
check(c["doorbell_faults"] != "0" and c["bar2_notify_writes"] == "0",
      f"doorbell store went through the mapping (faults {c['doorbell_faults']})")

# IRQ info.
def irq_info(i):
    b = bytearray(struct.pack("IIII", 16, 0, i, 0))
    fcntl.ioctl(dfd, IRQ_INFO, b, True)
    return struct.unpack("IIII", b)[1::2]
nvec = irq_info(MSIX)[1]
check(nvec > 0 and irq_info(REQ)[1] == 1 and irq_info(ERR)[1] == 0 and
      irq_info(0)[1] == 0 and irq_info(1)[1] == 0,
      f"irq counts: INTx 0, MSI 0, MSI-X {nvec}, ERR 0, REQ 1")

def set_irqs(index, flags, start, count, data=b"", dfd=dfd):
    hdr = struct.pack("IIIII", 20 + len(data), flags, index, start, count)
    fcntl.ioctl(dfd, SET_IRQS, hdr + data)
def efd_count(fd):
    try:
        return struct.unpack("Q", os.read(fd, 8))[0]
    except BlockingIOError:
        return 0

efds = [os.eventfd(0, os.EFD_NONBLOCK) for _ in range(nvec)]
set_irqs(MSIX, DATA_EVENTFD | ACT_TRIGGER, 0, nvec,
         struct.pack(f"{nvec}i", *efds))
c = counters()
check(int(c["bypass_producers"]) == nvec,
      f"eventfds set on {nvec} vectors, {c['bypass_producers']} producers")
# QEMU swaps a vector's eventfd whenever the guest masks or unmasks it: the
# new eventfd takes over without the VF irq being freed and re-requested.
requests = int(c["irq_requests"])
alt = os.eventfd(0, os.EFD_NONBLOCK)
set_irqs(MSIX, DATA_EVENTFD | ACT_TRIGGER, 0, 1, struct.pack("i", alt))
set_irqs(MSIX, DATA_NONE | ACT_TRIGGER, 0, 1)
c = counters()
check(efd_count(alt) == 1 and efd_count(efds[0]) == 0 and
      int(c["irq_requests"]) == requests and
      int(c["bypass_producers"]) == nvec,
      "a new eventfd on a set vector takes over without re-requesting the irq")
set_irqs(MSIX, DATA_EVENTFD | ACT_TRIGGER, 0, 1, struct.pack("i", efds[0]))
check(int(counters()["irq_requests"]) == requests,
      "swapping back requests no irq either")
os.close(alt)
set_irqs(MSIX, DATA_NONE | ACT_TRIGGER, 0, nvec)
check(all(efd_count(f) == 1 for f in efds), "DATA_NONE injects every vector")
set_irqs(MSIX, DATA_BOOL | ACT_TRIGGER, 0, nvec,
         bytes([1 if i == nvec - 1 else 0 for i in range(nvec)]))
check([efd_count(f) for f in efds] == [0] * (nvec - 1) + [1],
      "DATA_BOOL injects only the selected vector")
set_irqs(MSIX, DATA_EVENTFD | ACT_TRIGGER, 0, 1, struct.pack("i", -1))
set_irqs(MSIX, DATA_NONE | ACT_TRIGGER, 0, nvec)
check(efd_count(efds[0]) == 0 and efd_count(efds[1]) == 1 and
      int(counters()["bypass_producers"]) == nvec - 1,
      "fd -1 unsets one vector")
check(errno_of(lambda: set_irqs(MSIX, DATA_NONE | ACT_MASK, 0, 1)) ==
      errno.EINVAL, "MSI-X mask is EINVAL")
check(errno_of(lambda: set_irqs(MSIX, DATA_NONE | ACT_UNMASK, 0, 1)) ==
      errno.EINVAL, "MSI-X unmask is EINVAL")
check(errno_of(lambda: set_irqs(MSIX, DATA_NONE | ACT_TRIGGER, nvec, 1)) ==
      errno.EINVAL, "vector beyond the count is EINVAL")
check(errno_of(lambda: set_irqs(MSIX, DATA_NONE | ACT_TRIGGER, 1,
                                0xffffffff)) == errno.EINVAL,
      "start + count overflow is EINVAL")
check(errno_of(lambda: set_irqs(MSIX, DATA_EVENTFD | ACT_TRIGGER, 0, 1,
                                struct.pack("i", 0))) == errno.EINVAL,
      "a non-eventfd fd is refused")
check(errno_of(lambda: set_irqs(ERR, DATA_NONE | ACT_TRIGGER, 0, 1)) ==
      errno.EINVAL, "error irq is EINVAL")
set_irqs(MSIX, DATA_NONE | ACT_TRIGGER, 0, 0)
check(int(counters()["bypass_producers"]) == 0, "count 0 disables MSI-X")
req = os.eventfd(0, os.EFD_NONBLOCK)
set_irqs(REQ, DATA_EVENTFD | ACT_TRIGGER, 0, 1, struct.pack("i", req))
set_irqs(REQ, DATA_NONE | ACT_TRIGGER, 0, 1)
check(efd_count(req) == 1, "request irq eventfd set and injected")
set_irqs(REQ, DATA_NONE | ACT_TRIGGER, 0, 0)
set_irqs(MSIX, DATA_EVENTFD | ACT_TRIGGER, 0, 1, struct.pack("i", efds[0]))

# DRIVER_OK without a VM: the mirror cannot be built, DRIVER_OK stays clear.
def rd(off, n): return int.from_bytes(os.pread(dfd, n, off), "little")
def wr(off, n, v): os.pwrite(dfd, v.to_bytes(n, "little"), off)
wr(0x14, 1, 0); wr(0x14, 1, 3)
wr(0x0, 4, 1)
wr(0x8, 4, 1); wr(0xc, 4, rd(0x4, 4) & 1)  # VERSION_1 only
wr(0x8, 4, 0); wr(0xc, 4, 0)
wr(0x14, 1, 0xb)
wr(0x14, 1, 0xf)
check(rd(0x14, 1) & 0xb == 0xb and not rd(0x14, 1) & 4,
      f"DRIVER_OK refused without a VM (status {rd(0x14, 1):#x})")

# Revocation: after close, the old mapping must SIGBUS, not reach the VF.
# Python's mmap objects keep a dup of the fd, so use libc directly.
db.close()
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                      ctypes.c_int, ctypes.c_int, ctypes.c_long]
def map_db(dfd):
    addr = libc.mmap(None, alen, mmap.PROT_READ | mmap.PROT_WRITE,
                     mmap.MAP_SHARED, dfd, BAR2)
    ctypes.c_uint16.from_address(addr).value = 0
    return addr
def kick_dies(addr):
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGBUS, signal.SIG_DFL)
        ctypes.c_uint16.from_address(addr).value = 0
        os._exit(0)
    _, st = os.waitpid(pid, 0)
    return os.WIFSIGNALED(st) and os.WTERMSIG(st) == signal.SIGBUS

addr = map_db(dfd)
os.close(dfd); os.close(gfd); os.close(cfd)
check(kick_dies(addr), "stale doorbell mapping after close gets SIGBUS")
c = counters()
check(c["bypass_producers"] == "0" and c["mirror_pinned_pages"] == "0",
      "close released irqs and pins")

# Removal while open: unbinding the VF asks userspace (request irq) to
# release the device; once it does, the unbind completes and the mapping
# of the removed device is dead.
cfd, gfd, dfd = open_dev()
addr = map_db(dfd)
req = os.eventfd(0, os.EFD_NONBLOCK)
set_irqs(REQ, DATA_EVENTFD | ACT_TRIGGER, 0, 1, struct.pack("i", req),
         dfd=dfd)
unbind = subprocess.Popen(["sh", "-c", f"echo {bdf} > /sys/bus/pci/devices/{bdf}/driver/unbind"])
p = select.poll()
p.register(req, select.POLLIN)
check(p.poll(20000), "VF unbind signals the request eventfd")
os.close(dfd); os.close(gfd); os.close(cfd)
try:
    unbind.wait(30)
except subprocess.TimeoutExpired:
    unbind.kill()
check(unbind.returncode == 0 and
      not os.path.exists(f"/sys/bus/mdev/devices/{uuid}"),
      "unbind completed after release, mdev removed")
check(kick_dies(addr), "doorbell mapping of the removed device gets SIGBUS")

print("TAP version 13")
print(f"1..{len(results)}")
for i, (ok, name) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} {name}")
sys.exit(0 if all(ok for ok, _ in results) else 1)
