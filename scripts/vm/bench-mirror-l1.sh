#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# DMA mirror build benchmark inside L1 (run by bench-l1.sh after the
# network table, or alone through vm-run.sh --mem 6G): pinning and mapping
# VV_BENCH_MIRROR_MB (default 1024) MiB of guest RAM for function B,
# (a) type1 VFIO_IOMMU_MAP_DMA with B on vfio-pci, (b) DRIVER_OK of a
# vhost-vfio mdev on B (scripts/vm/mirror_bench.py).  Appends
# the side-by-side table to $VV_OUT/bench-table.txt.  Numbers, not verdicts.
set -u
# shellcheck disable=SC1091
. "$VV_PROJECT/selftests/vhost-vfio/lib.sh"
read -r _ B _ <<< "$VV_NICS"
MB=${VV_BENCH_MIRROR_MB:-1024}
py=$VV_PROJECT/scripts/vm/mirror_bench.py
out=$VV_OUT/bench-mirror.txt
: > "$out"
rc=0

vv_load_modules || exit 1
vv_mount_debugfs
echo "# bench: mirror build of $MB MiB, type1 passthrough of $B"
vv_bind "$B" vfio-pci || exit 1
python3 "$py" type1 "$B" --size "$MB" | tee -a "$out" || rc=1

echo "# bench: mirror build of $MB MiB, $B as a vhost-vfio mdev"
vv_bind "$B" vhost_vfio_virtio_pci || exit 1
uuid=$(cat /proc/sys/kernel/random/uuid)
echo "$uuid" > "/sys/bus/pci/devices/$B/mdev_supported_types/vhost_vfio_virtio_pci-net/create"
python3 "$py" mdev "$uuid" --size "$MB" | tee -a "$out" || rc=1
echo 1 > "/sys/bus/mdev/devices/$uuid/remove"
dmesg | grep -m1 'cannot build DMA mirror' | sed 's/^/# /'

awk -v mb="$MB" '
	{ v[$1 " " $2] = $3 }
	function g(k) { return (k in v) ? v[k] : "-" }
	END {
		size = (mb % 1024) ? mb " MiB" : (mb / 1024) " GiB"
		t1 = g("type1 map_dma_s"); md = g("mdev map_dma_s"); ok = g("mdev driver_ok_s")
		bn = g("mdev mirror_build_ns")
		r = (t1 + 0 > 0 && bn != "-") ? sprintf("%.2f", (bn / 1e9) / t1) : "n/a"
		printf "mirror build %s: type1 MAP_DMA %s s | mdev MAP_DMA %s s, mirror build %s s in a worker, DRIVER_OK write %s s (longest access %s ns) | build/type1 %s\n", \
			size, t1, md, bn / 1e9, ok, g("mdev access_max_ns"), r
		printf "%-22s %14s %14s\n", "metric", "type1", "mdev"
		printf "%-22s %14s %14s\n", "thp_huge_MiB", g("type1 thp_huge_MiB"), g("mdev thp_huge_MiB")
		printf "%-22s %14s %14s\n", "map_dma_s", t1, md
		printf "%-22s %14s %14s\n", "driver_ok_s", "-", ok
		printf "%-22s %14s %14s\n", "ready_s", "-", g("mdev ready_s")
		printf "%-22s %14s %14s\n", "access_max_ns", "-", g("mdev access_max_ns")
		printf "%-22s %14s %14s\n", "driver_ok_deferred", "-", g("mdev driver_ok_deferred")
		printf "%-22s %14s %14s\n", "mirror_build_ns", "-", g("mdev mirror_build_ns")
		printf "%-22s %14s %14s\n", "  in_vfio_pin_pages_ns", "-", g("mdev mirror_build_pin_ns")
		printf "%-22s %14s %14s\n", "pinned_pages", "(all)", g("mdev mirror_pinned_pages")
		printf "%-22s %14s %14s\n", "iommu_maps", "n/a (type1)", g("mdev mirror_maps")
		printf "%-22s %14s %14s\n", "iommu_maps_4k", "n/a", g("mdev mirror_maps_4k")
		printf "%-22s %14s %14s\n", "iommu_maps_2m", "n/a", g("mdev mirror_maps_2m")
		printf "%-22s %14s %14s\n", "iommu_maps_1g", "n/a", g("mdev mirror_maps_1g")
		printf "%-22s %14s %14s\n", "teardown_s", g("type1 unmap_dma_s"), g("mdev close_s")
		printf "# type1 maps each physically contiguous run of pinned pages with one iommu_map but does not count them; mdev teardown = device close (unpin + unmap)\n"
		printf "# iommu_pgsize_bitmap %s, THP %s\n", g("mdev iommu_pgsize_bitmap"), g("type1 thp_mode")
	}' "$out" | tee "$VV_OUT/bench-mirror-table.txt"
cat "$VV_OUT/bench-mirror-table.txt" >> "$VV_OUT/bench-table.txt"
vv_unload_modules
exit $rc
