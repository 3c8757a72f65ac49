# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034 # SN_MIN, T_CMD: read by test_snapshot.sh's, lib.sh's helpers
# Snapshots of VMs that use their virtio devices: the counter guest (guests/counter.c) with blk=1
# writes and reads its disk on every tick (MSI-X), with net=1 pings user-mode networking's
# gateway; saved (migrate to file:), killed with -9 and restored (-incoming), it must count on
# with no gap, repeat or "BAD" line, its disk holding what it wrote. Also stop/cont with the disk
# busy, and restores with another device set. Uses qm_* from test_qmp.sh and sn_save,
# sn_counted, sn_check_sequence from test_snapshot.sh (run.sh sources the files in C-locale
# order, test_snapshot.sh first).

SI_SLOTS=64 # sectors the counter's ticks cycle through

si_need_helpers() {
	declare -F sn_save >/dev/null ||
		fail "test bug: sn_save (test_snapshot.sh) is not defined; run through run.sh"
}

# si_reap: sn_reap's trap (no VM left behind), and on a failure the guest's last lines (a VM that
# ended at once fails in qm_start, which shows only stderr).
si_reap() {
	trap '[[ -n ${QM_PID:-} ]] && kill -9 "$QM_PID" 2>/dev/null
		if [[ -e $T_DIR/.failed && -s $T_DIR/vm.out ]]; then
			echo "    the guest printed last:"
			tail -n 3 "$T_DIR/vm.out" | t_indent
		fi' EXIT
}

# si_wait_count N: wait (at most 10 s) until the running VM has printed "counter: N" or ended;
# a steady count on an idle host takes N / 100 s, a loaded host may take longer.
si_wait_count() {
	local _ last
	for _ in $(seq 100); do
		last=$(sn_counted "$T_DIR/vm.out" | tail -n 1)
		((${last:-0} >= $1)) && return 0
		kill -0 "$QM_PID" 2>/dev/null || return 0
		sleep 0.1
	done
}

# si_no_bad FILE: no "BAD" line from the guest, and no slow ping reply (slirp answers at once).
si_no_bad() {
	local bad='BAD|^counter: net slow'
	! grep -qE "$bad" "$T_DIR/$1" || fail "$1: $(grep -m 3 -E "$bad" "$T_DIR/$1")"
}

# si_check_disk RAW: sector k % 64 of the raw image holds k (64 u64 words) for the 63 last
# numbers k the guest printed (the sector of the next, unprinted, tick may already be written).
si_check_disk() {
	local last k v
	local -a vals

	last=$(sn_counted "$T_DIR/first.out" "$T_DIR/vm.out" | tail -n 1)
	# One line per sector: its first word, or "mixed" if its 64 words differ.
	mapfile -t vals < <(od -An -v -t u8 -w512 -N $((SI_SLOTS * 512)) "$1" |
		awk '{ v = $1; for (i = 2; i <= NF; i++) if ($i != $1) v = "mixed"; print v }')
	((${#vals[@]} == SI_SLOTS)) || fail "cannot read $SI_SLOTS sectors of $1"
	for ((k = last > SI_SLOTS - 2 ? last - SI_SLOTS + 2 : 1; k <= last; k++)); do
		v=${vals[k % SI_SLOTS]}
		[[ $v == "$k" ]] || fail "sector $((k % SI_SLOTS)) of $1 holds $v, expected $k"
	done
}

# si_restore TICKS APPEND ARGS...: restore $T_DIR/vm.state into the counter with -append APPEND
# and ARGS; it runs TICKS more at least: one unbroken sequence from the saved run's, no BAD line,
# no restart, exit 0, nothing on stderr.
si_restore() {
	local ticks=$1 append=$2
	shift 2
	si_reap
	qm_start -kernel "$GUESTS/counter.elf" -append "$append" "$@" \
		-incoming "file:$T_DIR/vm.state"
	si_wait_count $((SN_SAVED + ticks))
	qm_talk quit 0 "$QM_CAPS"'{"execute": "quit"}'
	qm_wait
	si_no_bad vm.out
	[[ $QM_STATUS == 0 ]] ||
		fail "the restored kvmini exited $QM_STATUS: $(tail -n 2 "$T_DIR/vm.out")"
	SN_MIN=$((SN_SAVED + ticks))
	sn_check_sequence "$T_DIR/first.out" "$T_DIR/vm.out"
	! grep -q 'counter: ready' "$T_DIR/vm.out" || fail "the restored guest started over"
	[[ ! -s $T_DIR/vm.err ]] || fail "stderr: $(cat "$T_DIR/vm.err")"
}

# si_round_trip APPEND ARGS...: the counter with -append APPEND and ARGS counts ~0.7 s, is
# saved, killed with -9 and restored with the same options (si_restore, 20 ticks).
si_round_trip() {
	local append=$1
	shift
	si_need_helpers
	SN_MIN=1
	sn_save -append "$append" "$@"
	si_no_bad first.out
	[[ ! -s $T_DIR/vm.err ]] || fail "stderr before the save: $(cat "$T_DIR/vm.err")"
	si_restore 20 "$append" "$@"
}

# The disk on a raw image: the restored guest reads back what it wrote before the save, and
# the image holds its last 63 ticks.
t_io_blk_raw() {
	truncate -s 1M "$T_DIR/disk.img"
	si_round_trip "blk=1" -drive "file=$T_DIR/disk.img,format=raw"
	si_check_disk "$T_DIR/disk.img"
}

# The same on qcow2 (made by kvmini-img); the image is clean for qemu-img check afterwards.
t_io_blk_qcow2() {
	local img=${KVMINI_IMG:-$T_ROOT/build/kvmini-img}
	[[ -x $img ]] || fail "kvmini-img not built: $img"
	command -v qemu-img >/dev/null 2>&1 || skip "qemu-img is not installed"
	"$img" create -f qcow2 "$T_DIR/disk.qcow2" 1M >/dev/null || fail "kvmini-img create failed"
	si_round_trip "blk=1" -drive "file=$T_DIR/disk.qcow2,format=qcow2"
	qemu-img check -q "$T_DIR/disk.qcow2" >"$T_DIR/check.out" 2>&1 ||
		fail "qemu-img check: $(head -c 500 "$T_DIR/check.out")"
	qemu-img convert -f qcow2 -O raw "$T_DIR/disk.qcow2" "$T_DIR/flat.img" ||
		fail "qemu-img convert failed"
	si_check_disk "$T_DIR/flat.img"
}

# The NIC on user-mode networking: a ping to 10.0.2.2 answered every tick, before and after.
t_io_net() {
	si_round_trip "net=1" -netdev user,id=n0 -device virtio-net-pci,netdev=n0
}

# Both, with two vCPUs.
t_io_blk_net_smp() {
	truncate -s 1M "$T_DIR/disk.img"
	si_round_trip "blk=1 net=1" -smp 2 -drive "file=$T_DIR/disk.img,format=raw" \
		-netdev user,id=n0 -device virtio-net-pci,netdev=n0
	si_check_disk "$T_DIR/disk.img"
}

# QMP stop with the disk busy: the count stands still for 0.5 s; after cont it goes on (20 ticks
# at least).
t_io_stop_cont() {
	local before after
	si_need_helpers
	si_reap
	truncate -s 1M "$T_DIR/disk.img"
	qm_start -kernel "$GUESTS/counter.elf" -append "blk=1" \
		-drive "file=$T_DIR/disk.img,format=raw"
	sleep 0.5
	qm_talk stop 0 "$QM_CAPS"'{"execute": "stop"}{"execute": "query-status"}'
	qm_expect stop '.return.status? == "paused"'
	before=$(sn_counted "$T_DIR/vm.out" | tail -n 1)
	sleep 0.5
	after=$(sn_counted "$T_DIR/vm.out" | tail -n 1)
	[[ $before == "$after" ]] || fail "the count went from $before to $after while stopped"
	qm_talk cont 0 "$QM_CAPS"'{"execute": "cont"}'
	si_wait_count $((before + 20))
	qm_talk quit 0 "$QM_CAPS"'{"execute": "quit"}'
	qm_wait
	si_no_bad vm.out
	[[ $QM_STATUS == 0 ]] || fail "kvmini exited $QM_STATUS: $(tail -n 2 "$T_DIR/vm.out")"
	SN_MIN=$((before + 20))
	sn_check_sequence "$T_DIR/vm.out"
	[[ ! -s $T_DIR/vm.err ]] || fail "stderr: $(cat "$T_DIR/vm.err")"
}

# si_mismatch_restores: restore the state si_saved_with_disk made with a different device set:
# without the disk, with a virtio-rng or a virtio-net added. Each fails with exit 1 and one line
# naming the device.
si_mismatch_restores() {
	local k=(-kernel "$GUESTS/counter.elf" -append "blk=1")
	local d=(-drive "file=$T_DIR/disk.img,format=raw")
	run_kvmini "${k[@]}" -incoming "file:$T_DIR/vm.state"
	expect_status 1
	expect_stderr_line 'vm\.state: the state has device virtio-blk@00:01\.0, this VM does not$'
	run_kvmini "${k[@]}" "${d[@]}" -device virtio-rng-pci -incoming "file:$T_DIR/vm.state"
	expect_status 1
	expect_stderr_line 'vm\.state: this VM has device virtio-rng@00:02\.0, the state does not$'
	run_kvmini "${k[@]}" "${d[@]}" -netdev user,id=n0 -device virtio-net-pci,netdev=n0 \
		-incoming "file:$T_DIR/vm.state"
	expect_status 1
	expect_stderr_line 'vm\.state: this VM has device virtio-net@00:02\.0, the state does not$'
}

# si_saved_with_disk: the counter with blk=1 on a 1 MiB raw disk, saved to $T_DIR/vm.state.
si_saved_with_disk() {
	si_need_helpers
	truncate -s 1M "$T_DIR/disk.img"
	SN_MIN=1
	sn_save -append "blk=1" -drive "file=$T_DIR/disk.img,format=raw"
}

# A state saved with a disk does not restore with another device set.
t_io_device_mismatch() {
	si_saved_with_disk
	si_mismatch_restores
}

# Restores refused for their device set leave the image and the state file as they were: the
# right command line restores afterwards (the image must not look changed since the save).
t_io_refused_restores() {
	si_saved_with_disk
	si_mismatch_restores
	T_CMD= # a failure below is not about the last refused restore
	si_restore 10 blk=1 -drive "file=$T_DIR/disk.img,format=raw"
}

t_run 'snapshot-io.blk-raw' t_io_blk_raw
t_run 'snapshot-io.blk-qcow2' t_io_blk_qcow2
t_run 'snapshot-io.net' t_io_net
t_run 'snapshot-io.blk-net-smp2' t_io_blk_net_smp
t_run 'snapshot-io.stop-cont' t_io_stop_cont
t_run 'snapshot-io.device-mismatch' t_io_device_mismatch
t_run 'snapshot-io.refused-restores' t_io_refused_restores
