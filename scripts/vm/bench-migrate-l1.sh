#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Live migration benchmark inside an L1 of its own (run by scripts/bench.sh
# on a host whose QEMU has VFIO migration v2): selftests/vhost-vfio/
# migrate_l2.sh ROUNDS times (VV_BENCH_MIG_ROUNDS, default 3).  Each round
# migrates a nested guest (256 MiB) between two mdevs with stock QEMU: once
# while it sends a file ("busy"), once back while it waits ("idle").  The
# table gives QEMU's own downtime and total time (query-migrate), medians
# with min and max, and the RAM it sent, beside a baseline from the same
# round: the same guest, idle, with a NIC QEMU emulates.  Numbers, not
# verdicts.
set -u
# shellcheck disable=SC1091
. "$VV_PROJECT/selftests/vhost-vfio/lib.sh"
rounds=${VV_BENCH_MIG_ROUNDS:-3}
out=$VV_OUT/bench-migrate.txt
: > "$out"
fails=0

# baseline ROUND: the same 256 MiB L2, idle, with a NIC QEMU emulates
# (virtio-net-pci on a user netdev): KVM's dirty log is precise, so QEMU's
# default downtime limit (300 ms) is met.  Appends a "baseline" line.
baseline() {
	local d=$VV_TMP/mig-base src dst st=none
	rm -rf "$d"
	mkdir -p "$d"
	echo 'echo L2-IDLE; nc -l -p 5007' > "$d/t.sh"
	vv_l2_initrd "$d/l2.gz" "$d/t.sh"
	for side in src dst; do
		extra=()
		[ $side = dst ] && extra=(-incoming "unix:$d/mig.sock")
		VV_L2_MEM=256M vv_l2_qemu "file:$d/$side.log" "$d/l2.gz" 600 \
			-qmp "unix:$d/$side.qmp,server=on,wait=off" \
			-netdev user,id=n0 -device virtio-net-pci,netdev=n0,addr=4 \
			"${extra[@]}" > /dev/null 2>&1 &
		[ $side = src ] && src=$! || dst=$!
	done
	if vv_wait_console "$d/src.log" 300 "$src" '^L2-IDLE'; then
		"$VV_PROJECT/scripts/vm/qmp.py" --json "$d/src.qmp" \
			'{"execute": "migrate-set-capabilities", "arguments": {"capabilities": [{"capability": "events", "state": true}]}}' \
			'{"execute": "migrate-set-parameters", "arguments": {"max-bandwidth": 4294967296}}' \
			"{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"unix:$d/mig.sock\"}}" \
			--until 'MIGRATION:status=completed,failed,cancelled' --timeout 300 > "$d/qmp.txt"
		st=$(sed -n 's/.*"event": "MIGRATION".*"status": "\([a-z-]*\)".*/\1/p' "$d/qmp.txt" | tail -1)
	fi
	"$VV_PROJECT/scripts/vm/qmp.py" --json "$d/src.qmp" '{"execute": "query-migrate"}' |
		python3 -c 'import json, sys
r = json.load(sys.stdin)["return"]
print(sys.argv[1], sys.argv[2], r.get("downtime", -1), r.get("total-time", -1), r.get("ram", {}).get("transferred", -1))' \
		"$1 baseline" "${st:-none}" >> "$out"
	for side in src dst; do
		"$VV_PROJECT/scripts/vm/qmp.py" --json "$d/$side.qmp" '{"execute": "quit"}' > /dev/null 2>&1
	done
	wait "$src" "$dst" 2> /dev/null
}

for r in $(seq "$rounds"); do
	echo "# bench: migration round $r of $rounds"
	"$VV_PROJECT/selftests/vhost-vfio/migrate_l2.sh" > "$VV_OUT/bench-migrate-$r.tap" 2>&1 ||
		fails=$((fails + 1))
	sed "s/^/$r /" "$VV_OUT/migration-times.txt" >> "$out"
	baseline "$r"
done

# Lines: ROUND CASE STATUS DOWNTIME_MS TOTAL_MS RAM_BYTES
awk -v rounds="$rounds" -v fails="$fails" '
	function med(a, n,   i, j, t) {
		for (i = 1; i <= n; i++)
			for (j = i + 1; j <= n; j++)
				if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	$3 == "completed" {
		c = $2; n[c]++
		d[c, n[c]] = $4; t[c, n[c]] = $5; m[c, n[c]] = $6 / 1048576
	}
	END {
		printf "Live migration between two mdevs, stock QEMU, L2 256 MiB, relay=Y (%d rounds, %d with a failed check)\n", rounds, fails
		printf "%-8s %9s %22s %22s %12s\n", "case", "completed", "downtime ms (min-max)", "total ms (min-max)", "RAM MiB"
		split("busy idle baseline", cs, " ")
		for (k = 1; k <= 3; k++) {
			c = cs[k]
			if (!n[c]) { printf "%-8s %9d\n", c, 0; continue }
			for (i = 1; i <= n[c]; i++) { dd[i] = d[c, i]; tt[i] = t[c, i]; mm[i] = m[c, i] }
			md = med(dd, n[c]); lo = dd[1]; hi = dd[n[c]]
			mt = med(tt, n[c]); tlo = tt[1]; thi = tt[n[c]]
			printf "%-8s %9d %8d (%5d-%5d) %8d (%5d-%5d) %12.0f\n", c, n[c], md, lo, hi, mt, tlo, thi, med(mm, n[c])
		}
		printf "# busy, idle: through the mdevs; baseline: the same L2 idle with a NIC QEMU emulates, default downtime limit\n"
		printf "# downtime: QEMU query-migrate (guest stopped to running on the destination); type1 reports all of guest RAM dirty every round while the mdev pins it, so QEMU stops the guest after one round (downtime-limit 60 s)\n"
	}' "$out" | tee "$VV_OUT/bench-migrate-table.txt"
cat "$VV_OUT/bench-migrate-table.txt" >> "$VV_OUT/bench-table.txt"
exit 0
