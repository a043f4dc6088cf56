#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# scripts/vm/bench-net-table.sh RAW COLUMN...: the tables of
# scripts/vm/bench-net-l1.sh from its raw values (bench-net.txt), columns
# in the given order: per metric the median over the rounds with [min
# max] and the median's ratio to the first column; then the counters of
# each phase per MiB the guest sent (per round trip for ping), medians.
set -euo pipefail
raw=$1
shift
awk -v cols="$*" '
function median(list,    n, v, i, j, t) {
	n = split(list, v, " ")
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
			t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
		}
	lo = v[1]; hi = v[n]; cnt = n
	if (n == 0) return ""
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function fmt(x) { return x == "" ? "-" : (x + 0 >= 100 ? sprintf("%.0f", x) : sprintf("%.3g", x)) }
function add(k, v) { vals[k] = (k in vals) ? vals[k] " " v : v }
$3 == "phase" {
	ph = $4
	for (i = 5; i < NF; i += 2) { add($1 SUBSEP ph SUBSEP $i, $(i + 1)); names[$i] = ++nn[$i] == 1 ? ++nnames : names[$i]; order[names[$i]] = $i }
	rounds[$1 SUBSEP ph] = rounds[$1 SUBSEP ph] " " $2
	next
}
$3 != "" && $4 != "" { add($1 SUBSEP $3, $4); if (!($3 in seen)) { seen[$3] = 1; m[++nm] = $3 } }
END {
	nc = split(cols, c, " ")
	split("ping_ms tcp_MBps udp64_pps udp1400_pps", perf, " ")
	printf "%-14s", "metric"
	for (j = 1; j <= nc; j++) printf " %24s", c[j] (j > 1 ? "  /" substr(c[1], 1, 2) : "")
	printf "\n"
	for (i = 1; i <= 4; i++) {
		k = perf[i]
		printf "%-14s", k
		for (j = 1; j <= nc; j++) {
			md[j] = median(vals[c[j] SUBSEP k])
			cell = md[j] == "" ? "-" : sprintf("%s [%s %s]", fmt(md[j]), fmt(lo), fmt(hi))
			if (j > 1) cell = cell sprintf("  %s", (md[1] + 0 > 0 && md[j] != "") ? sprintf("%.2f", md[j] / md[1]) : "n/a")
			printf " %24s", cell
		}
		printf "\n"
	}
	printf "(median [min max] of %d rounds; ratio of medians to %s; ping: lower is better)\n\n", cnt, c[1]
	# Counters per MiB sent (ping: per round trip of the 20).
	split("ping tcp udp64 udp1400", phs, " ")
	printf "%-18s", "counter"
	for (j = 1; j <= nc; j++) printf " %12s", c[j]
	printf "\n"
	for (p = 1; p <= 4; p++) {
		ph = phs[p]
		for (o = 1; o <= nnames; o++) {
			name = order[o]
			printf "%-18s", ph " " name (ph == "ping" ? "/rt" : "/MiB")
			for (j = 1; j <= nc; j++) {
				n = split(vals[c[j] SUBSEP ph SUBSEP name], v, " ")
				split(vals[c[j] SUBSEP ph "_bytes"], by, " ")
				list = ""
				for (i = 1; i <= n; i++) {
					d = ph == "ping" ? 20 : by[i] / 1048576
					if (d > 0) list = list " " v[i] / d
				}
				printf " %12s", fmt(median(list))
			}
			printf "\n"
		}
	}
	printf "\n"
	for (i = 1; i <= nm; i++) {
		k = m[i]
		if (k ~ /^(ping_ms|tcp_MBps|udp64_pps|udp1400_pps|tcp_bytes|udp64_bytes|udp1400_bytes)$/) continue
		printf "%-18s", k
		for (j = 1; j <= nc; j++) {
			s = vals[c[j] SUBSEP k]
			printf " %12s", s == "" ? "-" : s
		}
		printf "  (per round)\n"
	}
}' "$raw"
