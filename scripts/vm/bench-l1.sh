#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make bench` inside L1: the network benchmark (bench-net-l1.sh: the same
# nested guest workload over function B given to L2 by vfio-pci
# passthrough, as a vhost-vfio mdev with mapped and with trapped
# doorbells, and, on a host with vDPA, through vp_vdpa and vhost-vdpa;
# rounds in alternating order, medians with min and max, counters per
# MiB), then the DMA mirror build benchmark (bench-mirror-l1.sh) and the
# vCPU stall benchmark (bench-stall-l1.sh).  Asserts nothing about time.
set -u

"$VV_PROJECT/scripts/vm/bench-net-l1.sh" || exit 1

# Second table: the DMA mirror build (1 GiB of guest RAM), type1 MAP_DMA
# vs mdev DRIVER_OK; appended to bench-table.txt.
"$VV_PROJECT/scripts/vm/bench-mirror-l1.sh"

# Third table: how long a 1-vCPU L2 is kept off its CPU while virtio_net
# probes and first uses the device, passthrough vs mdev, two RAM sizes.
"$VV_PROJECT/scripts/vm/bench-stall-l1.sh"
