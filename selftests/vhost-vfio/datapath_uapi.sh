#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Data path uAPI checks on an mdev of function B: the DMA mirror with a
# minimal KVM VMM (mirror_kvm.py), the doorbell and irq uAPI without a VM
# (datapath_uapi.py), and the doorbell_mode attribute.
. "$(dirname "$0")/lib.sh"

set -u
read -r _ B _ <<< "$VV_NICS"
UUID=${UUID:-5b5a2f44-7d0e-4a52-9c3e-d47a1e0ad002}
MDEV=/sys/bus/mdev/devices/$UUID

vv_load_modules || { echo "Bail out! modules"; exit 1; }
vv_bind "$B" vhost_vfio_virtio_pci || { echo "Bail out! bind"; exit 1; }
echo "$UUID" > "/sys/bus/pci/devices/$B/mdev_supported_types/vhost_vfio_virtio_pci-net/create"
vv_log "doorbell_mode: $(cat "$MDEV/doorbell_mode")"

# With fewer pairs provisioned than an MQ VF has, the control queue index
# is remapped, so kicks must stay trapped: no MMAP flag, mmap refused.
# Needs a VF with mq=on (vm-run.sh --nic-opts 1:mq=on,vectors=6).
if echo 1 > "$MDEV/max_queue_pairs" 2> /dev/null &&
   [ "$(cat "$MDEV/max_queue_pairs")" = 1 ] &&
   ! grep -qx mapped "$MDEV/doorbell_mode"; then
	vv_log "max_queue_pairs=1: doorbell_mode: $(cat "$MDEV/doorbell_mode")"
	python3 - "$UUID" <<'PY'
import fcntl, mmap, os, struct, sys
uuid = sys.argv[1]
V = 0x3b << 8
grp = os.path.basename(os.readlink(f"/sys/bus/mdev/devices/{uuid}/iommu_group"))
cfd = os.open("/dev/vfio/vfio", os.O_RDWR)
gfd = os.open(f"/dev/vfio/{grp}", os.O_RDWR)
fcntl.ioctl(gfd, V | 104, struct.pack("i", cfd))
fcntl.ioctl(cfd, V | 102, 3)
dfd = fcntl.ioctl(gfd, V | 106, bytearray(uuid.encode() + b"\0"), True)
b = bytearray(struct.pack("IIIIQQ", 32, 0, 2, 0, 0, 0))
fcntl.ioctl(dfd, V | 108, b, True)
flags = struct.unpack_from("I", b, 4)[0]
try:
    mmap.mmap(dfd, 4096, mmap.MAP_SHARED, offset=2 << 40)
    refused = False
except OSError:
    refused = True
ok = not flags & 4 and refused
print(f"{'ok' if ok else 'not ok'} - trapped doorbells: BAR2 flags {flags:#x}, mmap refused {refused}")
sys.exit(0 if ok else 1)
PY
	trc=$?
	echo 0 > "$MDEV/max_queue_pairs"
else
	vv_log "SKIP trapped doorbell check: the VF has a single queue pair"
	trc=0
fi
# The DMA mirror against a minimal KVM VMM.
python3 "$(dirname "$0")/mirror_kvm.py" "$UUID"
mrc=$?
# Locked-memory accounting is VFIO's: 1 MiB limit, no CAP_IPC_LOCK.
prlimit --memlock=1048576 setpriv --inh-caps=-ipc_lock \
	--bounding-set=-ipc_lock \
	python3 "$(dirname "$0")/mirror_kvm.py" "$UUID" memlock || mrc=1
dmesg | grep -m1 'cannot build DMA mirror: pinning' | sed 's/^/# /'

# Ends by unbinding $B, which removes the mdev.
python3 "$(dirname "$0")/datapath_uapi.py" "$UUID" "$B"
rc=$?
[ "$trc" = 0 ] && [ "$mrc" = 0 ] || rc=1
[ -e "$MDEV" ] && echo 1 > "$MDEV/remove"
vv_unload_modules || { vv_log "could not unload the modules"; rc=1; }
exit $rc
