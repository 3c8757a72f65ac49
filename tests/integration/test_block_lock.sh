# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Image locking against QEMU (devices/block/lock.c): kvmini takes the same OFD byte locks as
# QEMU's file-posix driver, so a read-write user of an image excludes every other user and
# readers exclude writers, whichever of the two VMMs comes first. QEMU runs as TCG with -S: it
# only has to open the image, and with "-monitor stdio" it quits when stdin says "quit".

LOCK_QEMU=(-M q35 -accel tcg -display none -S -monitor stdio)

lock_need_qemu() {
	command -v "$QEMU" >/dev/null 2>&1 || skip "QEMU not available ($QEMU not found)"
}

# lock_ranges FILE: the byte ranges of FILE's locks in /proc/locks, "start end" per line, sorted.
lock_ranges() {
	local ino

	ino=$(stat -c %i "$1") || fail "cannot stat $1"
	awk -v ino=":$ino\$" '$6 ~ ino { print $7, $8 }' /proc/locks | sort
}

# lock_want RO: the ranges a QEMU virtio-blk drive with readonly=RO holds.
lock_want() {
	if [[ $1 == on ]]; then
		echo $'100 100\n201 201'
	else
		echo $'100 101\n201 201'
	fi
}

# lock_hold VM RO: keep disk.img open in VM (kvmini runs the echo guest, QEMU sits at -S) with
# readonly=RO until lock_release; returns once the VM holds all of QEMU's locks for RO (QEMU
# takes them in steps while it sets up the drive).
lock_hold() {
	local drive=file=disk.img,format=raw,if=virtio,readonly=$2 i

	rm -f hold.fifo
	mkfifo hold.fifo || fail "cannot create a fifo"
	if [[ $1 == kvmini ]]; then
		need_kvmini
		need_guest echo
		"$KVMINI" -nographic -kernel "$GUESTS/echo.elf" -drive "$drive" \
			<hold.fifo >hold.out 2>&1 &
	else
		"$QEMU" "${LOCK_QEMU[@]}" -drive "$drive" <hold.fifo >hold.out 2>&1 &
	fi
	LOCK_PID=$!
	# A failing check exits the test's subshell: take the holder down with it.
	trap 'kill "$LOCK_PID" 2>/dev/null' EXIT
	exec {LOCK_FD}>hold.fifo
	for ((i = 0; i < 100; i++)); do
		[[ $(lock_ranges disk.img) == "$(lock_want "$2")" ]] && return 0
		kill -0 "$LOCK_PID" 2>/dev/null || break
		sleep 0.1
	done
	fail "$1 with readonly=$2 holds [$(lock_ranges disk.img | tr '\n' ' ')]," \
		"expected [$(lock_want "$2" | tr '\n' ' ')]: $(cat hold.out)"
}

# lock_release VM: "quit" ends the echo guest and QEMU's monitor alike.
lock_release() {
	echo quit >&"$LOCK_FD"
	exec {LOCK_FD}>&-
	trap - EXIT
	wait "$LOCK_PID" || fail "the holding $1 exited with status $?: $(cat hold.out)"
}

# lock_try VM RO: open disk.img in VM with readonly=RO and close it again.
lock_try() {
	local drive=file=disk.img,format=raw,if=virtio,readonly=$2

	if [[ $1 == kvmini ]]; then
		need_guest hello
		run_kvmini -nographic -kernel "$GUESTS/hello.elf" -drive "$drive"
	else
		run_cmd -p 'quit\n' -- "$QEMU" "${LOCK_QEMU[@]}" -drive "$drive"
	fi
}

# Both hold exactly QEMU's bytes (lock_hold checks), and kvmini lets go of them when it exits.
t_lock_bytes() {
	local vm ro

	lock_need_qemu
	truncate -s 1M disk.img
	for ro in off on; do
		for vm in qemu kvmini; do
			lock_hold $vm $ro
			lock_release $vm
			[[ -z $(lock_ranges disk.img) ]] || fail "$vm left locks: $(lock_ranges disk.img)"
		done
	done
}

# HOLDER (readonly=HOLDER_RO) holds the image; OTHER tries both ways.
t_lock_conflict() {
	local holder=$1 holder_ro=$2 other=$3

	lock_need_qemu
	truncate -s 1M disk.img
	lock_hold "$holder" "$holder_ro"

	lock_try "$other" off
	expect_status 1
	if [[ $other == kvmini ]]; then
		expect_stderr_match 'disk.img: the image is in use by another process'
	else
		expect_stderr_contains 'Failed to get "write" lock'
	fi

	lock_try "$other" on
	if [[ $holder_ro == on ]]; then
		expect_status 0 # readers share
	else
		expect_status 1
		if [[ $other == kvmini ]]; then
			expect_stderr_contains '(it holds a write lock)'
		else
			expect_stderr_contains 'Failed to get shared "write" lock'
		fi
	fi
	lock_release "$holder"
}

t_run lock.bytes t_lock_bytes
t_run 'lock.qemu-rw-vs-kvmini' t_lock_conflict qemu off kvmini
t_run 'lock.qemu-ro-vs-kvmini' t_lock_conflict qemu on kvmini
t_run 'lock.kvmini-rw-vs-qemu' t_lock_conflict kvmini off qemu
t_run 'lock.kvmini-ro-vs-qemu' t_lock_conflict kvmini on qemu
t_run 'lock.kvmini-rw-vs-kvmini' t_lock_conflict kvmini off kvmini
