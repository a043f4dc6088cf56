#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tools/vhost-vfio, the operator CLI: every command, human and --json
# output, and the errors an operator meets (not root, module not loaded,
# function bound elsewhere, invalid value, attribute busy while open).
. "$(dirname "$0")/lib.sh"

set -u
read -r A B _ <<< "$VV_NICS"
CLI=$VV_PROJECT/tools/vhost-vfio
MAC=52:54:00:aa:bb:01

# expect_fail PATTERN CMD...: CMD fails and says PATTERN on stderr.
expect_fail() {
	local pat=$1 err
	shift
	if err=$("$@" 2>&1 >/dev/null); then
		vv_log "unexpected success: $*"
		return 1
	fi
	vv_log "said: $err"
	grep -q -- "$pat" <<< "$err"
}

# json_get KEY: the string or number KEY of the JSON object on stdin, as the
# CLI prints it (one line, or indented by two).
json_get() {
	sed -n -E 's/^(\{| *)"'"$1"'": "?([^",}]*)"?[,}].*$/\2/p; s/^.*[{ ]"'"$1"'": "?([^",}]*)"?[,}]?$/\1/p' | head -n 1
}
# json_list KEY: the items of list KEY of the indented JSON object on stdin.
json_list() {
	awk -v key="  \"$1\": [" '$0 == key { on = 1; next } on && /^  ]/ { on = 0 } on' |
		tr -d ' ",'
}

vv_tap_begin
vv_load_deps > /dev/null
vv_check "show without the modules: says which module to load" \
	expect_fail "module vhost_vfio is not loaded" "$CLI" show
vv_load_modules
vv_check "create as non-root: refused, says to run as root" \
	expect_fail "run it as root" setpriv --reuid=65534 --regid=65534 --clear-groups "$CLI" create "$A"
vv_check "list --json shows $A on virtio-pci" \
	bash -c "'$CLI' --json list | grep -q '\"bdf\": \"$A\"'"
vv_check "create on a function bound to virtio-pci without --take: refused" \
	expect_fail "bound to virtio-pci; pass --take" "$CLI" create "$A"
vv_check "create with an invalid MAC: refused, no mdev left behind" \
	bash -c "! '$CLI' create '$A' --take --mac 01:00:5e:00:00:01 2>/dev/null && \
		test -z \"\$(ls /sys/bus/pci/devices/$A/mdev_supported_types/*/devices)\""
uuid=$("$CLI" --json create "$A" --take --mac "$MAC" --mtu 1400 | json_get uuid)
vv_check "create --take --mac --mtu --json returns the new mdev" test -e "/sys/bus/mdev/devices/$uuid"
show=$("$CLI" --json show "$uuid")
vv_check "show --json: provisioned MAC and MTU" \
	test "$(json_get mac <<< "$show") $(json_get mtu <<< "$show")" = "$MAC 1400"
vv_check "show --json: offered features name MAC and MTU" \
	bash -c "grep -qx MAC <<< \"\$1\" && grep -qx MTU <<< \"\$1\"" _ "$(json_list offered_features_names <<< "$show")"
vv_check "list shows the function ready with its mdev" \
	bash -c "'$CLI' list | grep -q -E '^$A .* ready +$uuid'"
vv_check "show (human) prints the mdev and its feature names" \
	bash -c "'$CLI' show | grep -q 'offered_features .*VERSION_1'"
vv_check "set --mtu while closed: accepted" \
	bash -c "'$CLI' set '$uuid' --mtu 1500 && test \"\$(cat /sys/bus/mdev/devices/$uuid/mtu)\" = 1500"
coproc HOLD { "$VV_BIN/hold_open" "$uuid"; }
read -r -u "${HOLD[0]}" opened
vv_check "set while a VMM holds the device open: busy, says to stop the guest" \
	expect_fail "busy: the device is open" "$CLI" set "$uuid" --mtu 1400
exec {HOLD[1]}>&-
wait "$HOLD_PID"
vv_log "holder said: $opened"
# common-mask: this mdev and a function elsewhere (its maskable_features
# as show --json prints them) that lacks one feature this one offers.
maskable=$(json_get maskable_features <<< "$show")
offered=$(json_get offered_features <<< "$show")
bit=28	# RING_INDIRECT_DESC, else RING_EVENT_IDX
(( offered >> bit & 1 )) || bit=29
other=$(printf '0x%016x' $(( maskable & ~(1 << bit) )))
vv_log "maskable $maskable, offered $offered; the other function lacks bit $bit: $other"
mask=$("$CLI" common-mask "$uuid" "$other" 2> "$VV_TMP/gives-up")
vv_log "common-mask: $mask; $(tr '\n' ' ' < "$VV_TMP/gives-up")"
vv_check "common-mask of the mdev and a function lacking bit $bit: the two ANDed" \
	test "$mask" = "$(printf '0x%016x' $(( maskable & other )))"
vv_check "common-mask says what each gives up (the mdev: that one feature)" \
	grep -q -E "^  $uuid: gives up RING_(INDIRECT_DESC|EVENT_IDX)\$" "$VV_TMP/gives-up"
vv_check "the mdev provisioned with it offers all it did but that feature" \
	bash -c "'$CLI' set '$uuid' --features-mask '$mask' &&
		test \$(( \$(cat /sys/bus/mdev/devices/$uuid/offered_features) )) = $(( offered & ~(1 << bit) ))"
vv_check "common-mask of a function with no mdev ($B): says to create one" \
	expect_fail "$B serves no mdev: create one first" "$CLI" common-mask "$uuid" "$B"
vv_check "common-mask of what is neither mdev, function nor hex: clear error" \
	expect_fail "no-such: no such mdev or PCI function" "$CLI" common-mask "$uuid" no-such
vv_check "common-mask of garbage: clear error" \
	expect_fail "0xzz: not a hex value" "$CLI" common-mask "$uuid" 0xzz
vv_check "destroy removes the mdev" \
	bash -c "'$CLI' destroy '$uuid' && test ! -e /sys/bus/mdev/devices/$uuid"
vv_check "destroy of an unknown mdev: clear error" \
	expect_fail "no mdev $uuid" "$CLI" destroy "$uuid"
vv_unload_modules
vv_bind "$A" virtio-pci > /dev/null
vv_tap_end
