# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# -drive and -device virtio-blk-pci mistakes: each ends with status 1, nothing on stdout and one
# line on stderr naming what was wrong. Images are locked like QEMU locks them, against another
# kvmini and against QEMU itself.

# t_drive_bad ERE DRIVE-AND-DEVICE-ARGS...: with the hello guest and a 1 MiB image d.img in the
# current directory ($T_DIR)
t_drive_bad() {
	local ere=$1
	shift
	need_guest hello
	cd "$T_DIR" || fail "no scratch directory"
	truncate -s 1M d.img
	run_kvmini -kernel "$GUESTS/hello.elf" -nographic "$@"
	expect_status 1
	expect_stdout_empty
	expect_stderr_line "$ere"
}

# t_locked ERE HOLDER HOLDER-OPTS OUR-OPTS: HOLDER (kvmini or QEMU) keeps d.img open with
# ",HOLDER-OPTS" on its -drive; kvmini with ",OUR-OPTS" must then fail with one line matching ERE.
t_locked() {
	local ere=$1 holder=$2 mode=$3 ours=$4 pid i
	need_guest hello
	truncate -s 1M "$T_DIR/d.img"
	case $holder in
	kvmini)
		# echo waits at its prompt (stdin at EOF): the VM keeps the image open until killed.
		need_guest echo
		"$KVMINI" -nographic -kernel "$GUESTS/echo.elf" </dev/null \
			-drive "file=$T_DIR/d.img,format=raw,if=virtio$mode" >/dev/null 2>&1 &
		pid=$!
		;;
	qemu)
		need_qemu
		"$QEMU" -M microvm -accel tcg -display none -S \
			-drive "file=$T_DIR/d.img,format=raw,if=none,id=d0$mode" \
			-device virtio-blk-device,drive=d0 >/dev/null 2>&1 &
		pid=$!
		;;
	esac
	# Wait until the holder has its locks (byte 100: every user holds it).
	for i in $(seq 50); do
		grep -q "$(stat -c %i "$T_DIR/d.img") 100 " /proc/locks && break
		sleep 0.1
	done
	run_kvmini -kernel "$GUESTS/hello.elf" -nographic -drive "file=$T_DIR/d.img,format=raw$ours"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	expect_status 1
	expect_stderr_line "$ere"
}

# A qcow2 image (by its magic) is refused as raw rather than handed to the guest to overwrite.
t_drive_qcow2() {
	command -v qemu-img >/dev/null || skip "qemu-img is not installed"
	cd "$T_DIR" || fail "no scratch directory"
	qemu-img create -q -f qcow2 q.qcow2 1M
	need_guest hello
	run_kvmini -kernel "$GUESTS/hello.elf" -nographic -drive "file=q.qcow2,format=raw$1"
	expect_status 1
	expect_stderr_line '^kvmini: -drive file=q\.qcow2: .*qcow2'
}

# Two readers may share an image.
t_two_readers() {
	local pid
	need_guest hello
	need_guest echo
	truncate -s 1M "$T_DIR/d.img"
	"$KVMINI" -nographic -kernel "$GUESTS/echo.elf" </dev/null \
		-drive "file=$T_DIR/d.img,format=raw,readonly=on" >/dev/null 2>&1 &
	pid=$!
	sleep 0.5
	run_kvmini -kernel "$GUESTS/hello.elf" -nographic \
		-drive "file=$T_DIR/d.img,format=raw,readonly=on"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	expect_status 0
	expect_stdout_contains 'Hello from kvmini guest'
}

t_run 'drive.missing-file' t_drive_bad \
	'^kvmini: -drive file=nope\.img: No such file or directory$' -drive file=nope.img,format=raw
t_run 'drive.bad-format' t_drive_bad \
	"^kvmini: -drive file=d\.img: unknown format 'vmdk' \(supported: raw, qcow2\)$" \
	-drive file=d.img,format=vmdk
t_run 'drive.qcow2-as-raw' t_drive_qcow2 ''
t_run 'drive.qcow2-as-raw-direct' t_drive_qcow2 ,cache=none
t_run 'drive.bad-if' t_drive_bad '^kvmini: -drive file=d\.img,if=ide: if=ide: .*virtio' \
	-drive file=d.img,if=ide
t_run 'drive.bad-cache' t_drive_bad '^kvmini: -drive file=d\.img,cache=unsafe: cache=unsafe' \
	-drive file=d.img,cache=unsafe
t_run 'drive.unknown-key' t_drive_bad "^kvmini: -drive file=d\\.img,snapshot=on: .*'snapshot'" \
	-drive file=d.img,snapshot=on
t_run 'drive.no-file' t_drive_bad '^kvmini: -drive format=raw: file= is required' \
	-drive format=raw
t_run 'drive.none-without-id' t_drive_bad '^kvmini: -drive file=d\.img,if=none: .*id=' \
	-drive file=d.img,if=none
t_run 'drive.duplicate-id' t_drive_bad \
	"^kvmini: -drive file=d\\.img,format=raw,if=none,id=a: .*'a'" \
	-drive file=d.img,format=raw,if=none,id=a -drive file=d.img,format=raw,if=none,id=a
t_run 'drive.device-unknown-drive' t_drive_bad \
	'^kvmini: -device virtio-blk-pci,drive=zz: drive=zz: no -drive with id=zz$' \
	-device virtio-blk-pci,drive=zz
t_run 'drive.device-without-drive' t_drive_bad '^kvmini: -device virtio-blk-pci: drive= is required' \
	-device virtio-blk-pci
t_run 'drive.device-twice' t_drive_bad \
	'^kvmini: -device virtio-blk-pci,drive=a: drive=a: already used by another device$' \
	-drive file=d.img,format=raw,if=none,id=a -device virtio-blk-pci,drive=a \
	-device virtio-blk-pci,drive=a
t_run 'drive.locked-by-kvmini' t_locked \
	'^kvmini: -drive file=.*/d\.img: the image is in use by another process' kvmini '' ''
t_run 'drive.reader-vs-writer' t_locked '^kvmini: -drive file=.*in use by another process' \
	kvmini '' ',readonly=on'
t_run 'drive.writer-vs-reader' t_locked '^kvmini: -drive file=.*in use by another process' \
	kvmini ',readonly=on' ''
t_run 'drive.locked-by-qemu' t_locked '^kvmini: -drive file=.*in use by another process' \
	qemu '' ''
t_run 'drive.two-readers' t_two_readers
