#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""doorbell_probe.py UUID [OFFSET [MAGIC]]: open an mdev like a VMM does
(hold_open.py), find BAR2's sparse mmap area (VFIO_DEVICE_GET_REGION_INFO
and its capability chain), mmap the area holding OFFSET (default 0x800) of
BAR2 MAP_SHARED, store the 32-bit MAGIC (default 0x5a17c0de) there, load it
back and print

    area 0x<off>+0x<len> wrote 0x<magic> at 0x<offset> read 0x<value>

A real doorbell page does not give the value back (a virtio notify area
reads as 0 on QEMU); RAM does.  Exit 0 once the store and the load were
done, 1 if BAR2 has no mmap-able area there (the line then says why)."""
import ctypes
import fcntl
import mmap
import os
import struct
import sys

from hold_open import close_all, open_device

VFIO_DEVICE_GET_REGION_INFO = (ord(";") << 8) | (100 + 8)
REGION_FLAG_MMAP, REGION_FLAG_CAPS = 4, 8
CAP_SPARSE_MMAP = 1
BAR2_INDEX = 2
BAR2 = BAR2_INDEX << 40  # the vfio-pci region layout: index << 40
INFO = "IIIIQQ"  # argsz flags index cap_offset size offset


def region_info(dfd, index):
    """(flags, size, info buffer with its capability chain)."""
    b = bytearray(struct.pack(INFO, struct.calcsize(INFO), 0, index, 0, 0, 0))
    fcntl.ioctl(dfd, VFIO_DEVICE_GET_REGION_INFO, b, True)
    argsz = struct.unpack_from("I", b)[0]
    if argsz > len(b):
        b = bytearray(struct.pack(INFO, argsz, 0, index, 0, 0, 0) +
                      bytes(argsz - struct.calcsize(INFO)))
        fcntl.ioctl(dfd, VFIO_DEVICE_GET_REGION_INFO, b, True)
    _, flags, _, _, size, _ = struct.unpack_from(INFO, b)
    return flags, size, b


def sparse_areas(flags, b):
    """[(offset, size)] of the sparse mmap capability, if any."""
    if not flags & REGION_FLAG_CAPS:
        return []
    pos = struct.unpack_from("I", b, 12)[0]
    while pos:
        cid, _, nxt = struct.unpack_from("HHI", b, pos)
        if cid == CAP_SPARSE_MMAP:
            nr = struct.unpack_from("I", b, pos + 8)[0]
            return [struct.unpack_from("QQ", b, pos + 16 + 16 * i)
                    for i in range(nr)]
        pos = nxt
    return []


def probe(uuid, offset, magic):
    fds = open_device(uuid)
    try:
        flags, size, b = region_info(fds[0], BAR2_INDEX)
        if not flags & REGION_FLAG_MMAP:
            print(f"BAR2 not mmap-able (flags {flags:#x}, size {size:#x})")
            return 1
        area = [(o, n) for o, n in sparse_areas(flags, b)
                if o <= offset and offset + 4 <= o + n]
        if not area:
            print(f"no sparse mmap area of BAR2 holds {offset:#x} "
                  f"(areas {sparse_areas(flags, b)}, flags {flags:#x})")
            return 1
        aoff, alen = area[0]
        m = mmap.mmap(fds[0], alen, mmap.MAP_SHARED,
                      mmap.PROT_READ | mmap.PROT_WRITE, offset=BAR2 + aoff)
        # One 32-bit store and one 32-bit load, as a driver's kick would be.
        word = ctypes.c_uint32.from_buffer(m, offset - aoff)
        word.value = magic
        value = word.value
        del word
        m.close()
        print(f"area {aoff:#x}+{alen:#x} wrote {magic:#010x} at {offset:#x} "
              f"read {value:#010x}", flush=True)
        return 0
    finally:
        close_all(fds)


if __name__ == "__main__":
    sys.exit(probe(sys.argv[1],
                   int(sys.argv[2], 0) if len(sys.argv) > 2 else 0x800,
                   int(sys.argv[3], 0) if len(sys.argv) > 3 else 0x5a17c0de))
