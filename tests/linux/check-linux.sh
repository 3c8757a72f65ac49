#!/usr/bin/env bash
# The slow Linux suite: boot the test kernel from guests/build/linux (make linux-guest) with
# its busybox initramfs, once as PVH vmlinux and once as bzImage, and check the kernel log
# read from the serial console. Ends with "linux: N passed, M failed, K skipped".
#
# Each boot gets a virtio-blk disk (a 4 MiB raw image with an MBR holding one partition) and
# a virtio-rng device; the kernel must find the disk and read its partition table. The
# pvh-intx variant boots the PVH image with pci=nomsi: the disk then interrupts through INTx.
# The pvh-gdb variant boots the PVH image under the gdb stub (-S) with the real gdb attached:
# a hardware breakpoint on start_kernel, then a software one on a later function, hit in order.
#
# The pvh-net-user and pvh-net-tap variants add a virtio-net NIC (-netdev user; a TAP on a
# bridge in a namespace of their own, with busybox udhcpd on a veth) and boot with ip=dhcp:
# the kernel's own DHCP must get the lease; where user space runs, /init then runs udhcpc,
# pings the host and downloads a file whose md5sum must match (kvmini.net= on the command line).
#
# usage: tests/linux/check-linux.sh [--qemu] [--tcg] [--machine M] [VARIANT]...
#   --qemu         boot under QEMU (-M microvm,pcie=on -accel kvm) as the reference
#   --tcg          with --qemu: -accel tcg -M q35 (reaches user space in ~2 s, even on PVM
#                  hosts; microvm under TCG has no working timer for this kernel and hangs)
#   --machine M    with --qemu: another -M value (e.g. pc, q35, microvm,pcie=on)
#   VARIANT        pvh, bzimage, pvh-intx, pvh-net-user, pvh-net-tap, pvh-gdb: which boots
#                  (default: all; pvh-gdb only for kvmini)
# Environment:
#   KVMINI (build/kvmini), QEMU (qemu-system-x86_64), KVMINI_LINUX_DIR (guests/build/linux)
#   KVMINI_LINUX_SMP (2), KVMINI_LINUX_MEM (256, MiB), KVMINI_LINUX_APPEND (the command line)
#   KVMINI_LINUX_TIMEOUT_PVH (300) / KVMINI_LINUX_TIMEOUT_BZIMAGE (600): seconds per boot
#   KVMINI_LINUX_STALL (180): stop a boot whose console has been silent this long
#   KVMINI_LINUX_INIT_GRACE (20): seconds to wait for user space after "Run /init"
#   KVMINI_EXPECT_USERSPACE=1: require the KVMINI-INIT marker from /init (VT-x/AMD-V hosts;
#     on PVM hosts user space cannot make syscalls). Without it the marker is checked only
#     when it shows up.
#   KVMINI_LINUX_LOGS: directory for the serial logs (default: a new temporary directory)
set -euo pipefail

# Paths given by the caller are relative to where it runs; the defaults to the repo root.
abspath() { if [ -n "$1" ]; then realpath -m -- "$1"; fi; }
KVMINI=$(abspath "${KVMINI:-}")
linux_dir=$(abspath "${KVMINI_LINUX_DIR:-}")
logs=$(abspath "${KVMINI_LINUX_LOGS:-}")
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
KVMINI=${KVMINI:-build/kvmini}
QEMU=${QEMU:-qemu-system-x86_64}
linux_dir=${linux_dir:-guests/build/linux}
smp=${KVMINI_LINUX_SMP:-2}
mem_mb=${KVMINI_LINUX_MEM:-256}
# Avoids what the PVM CPL0 emulator cannot run (PVM-HOST-NOTES.md); panic=-1 turns a panic
# into a reset, which ends a -no-reboot VM instead of leaving it spinning.
cmdline=${KVMINI_LINUX_APPEND:-console=ttyS0 nokaslr mitigations=off tsc=reliable \
no_timer_check lpj=5000000 noxsave \
clearcpuid=smap,popcnt,rdrand,rdseed,fsgsbase,invpcid,pcid,movbe,rdpid,rdtscp,bmi1,bmi2,\
clflushopt,clwb panic=-1}
stall=${KVMINI_LINUX_STALL:-180}
init_grace=${KVMINI_LINUX_INIT_GRACE:-20}
expect_user=${KVMINI_EXPECT_USERSPACE:-0}

vmm=kvmini accel=kvm machine='' variants=()
while [ $# -gt 0 ]; do
	case $1 in
	--qemu) vmm=qemu ;;
	--tcg) accel=tcg ;;
	--machine)
		[ $# -ge 2 ] || { echo "check-linux: --machine needs a value" >&2 && exit 1; }
		machine=$2
		shift
		;;
	pvh | bzimage | pvh-intx | pvh-gdb | pvh-net-user | pvh-net-tap) variants+=("$1") ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "check-linux: unknown argument '$1' (try --help)" >&2
		exit 1
		;;
	esac
	shift
done
if [ ${#variants[@]} -eq 0 ]; then
	variants=(pvh bzimage pvh-intx pvh-net-user pvh-net-tap)
	[ "$vmm" = qemu ] || variants+=(pvh-gdb)
fi
if [ -z "$machine" ]; then
	if [ "$accel" = tcg ]; then machine=q35; else machine=microvm,pcie=on; fi
fi
if [ "$vmm" = qemu ]; then
	vmm_name="qemu-$accel-${machine%%,*}"
else
	vmm_name=kvmini
fi

[ -n "$logs" ] || logs=$(mktemp -d /tmp/check-linux.XXXXXX)
mkdir -p "$logs"
passed=0 failed=0 skipped=0

pass() {
	echo "PASS $*"
	passed=$((passed + 1))
}
fail() {
	echo "FAIL $*"
	failed=$((failed + 1))
}
skip() {
	echo "SKIP $*"
	skipped=$((skipped + 1))
}

# A 4 MiB raw disk whose MBR has one Linux partition from sector 2048 to the end.
make_disk() {
	python3 - "$1" <<'PY'
import struct, sys
sectors = 8192
mbr = bytearray(512)
mbr[446:462] = struct.pack('<B3sB3sII', 0, b'\0\2\0', 0x83, b'\xfe\xff\xff', 2048,
                           sectors - 2048)
mbr[510:512] = b'\x55\xaa'
with open(sys.argv[1], 'wb') as f:
    f.write(mbr)
    f.truncate(sectors * 512)
PY
}

# Boot IMAGE, writing the serial output to LOG; sets vm_status, vm_reason (how the run
# ended), vm_ok (1 when it ended by itself with status 0, or was stopped after /init ran),
# vm_wall (seconds) and init_wall (seconds until "Run /init" was seen, or empty).
boot() {
	local image=$1 log=$2 timeout=$3 append=$4 cmd pid start last_size=-1 last_change size now
	local marker_at='' stop='' stop_ok=0
	if [ "$vmm" = qemu ]; then
		cmd=("$QEMU" -M "$machine" -accel "$accel")
	else
		cmd=("$KVMINI")
	fi
	make_disk "$log.disk"
	cmd=("${vm_prefix[@]}" "${cmd[@]}")
	cmd+=(-smp "$smp" -m "${mem_mb}M" -nographic -no-reboot -kernel "$image"
		-initrd "$linux_dir/initramfs.cpio" -append "$append"
		-drive "file=$log.disk,format=raw,if=none,id=disk0"
		-device virtio-blk-pci,drive=disk0,serial=kvmini-disk0 -device virtio-rng-pci
		"${vm_extra[@]}")
	printf '%q ' "${cmd[@]}" >"$log.cmd"
	echo >>"$log.cmd"

	start=$SECONDS
	last_change=$start
	init_wall=
	"${cmd[@]}" </dev/null >"$log.raw" 2>"$log.stderr" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		now=$SECONDS
		size=$(stat -c %s "$log.raw")
		if [ "$size" -ne "$last_size" ]; then
			last_size=$size
			last_change=$now
		fi
		if [ -z "$init_wall" ] && grep -q 'Run /init as init process' "$log.raw"; then
			init_wall=$((now - start))
		fi
		if [ -z "$marker_at" ] && grep -q 'KVMINI-INIT:' "$log.raw"; then
			marker_at=$now
		fi
		# After the marker /init powers off: give it a few seconds to do so.
		if [ -n "$marker_at" ] && [ $((now - marker_at)) -ge 5 ]; then
			stop="stopped 5 s after the KVMINI-INIT marker (no power-off)"
			stop_ok=1
		elif [ -n "$init_wall" ] && [ -z "$marker_at" ] &&
			[ $((now - start - init_wall)) -ge "$init_grace" ]; then
			stop="stopped $init_grace s after Run /init (no KVMINI-INIT marker)"
			stop_ok=1
		elif grep -q 'KVM internal error' "$log.stderr"; then
			# QEMU pauses the VM on an emulation failure instead of exiting.
			stop="stopped: the VMM reported a KVM internal error (see stderr)"
		elif [ $((now - start)) -ge "$timeout" ]; then
			stop="timed out after $timeout s"
		elif [ $((now - last_change)) -ge "$stall" ]; then
			stop="stalled: no console output for $stall s"
		fi
		[ -z "$stop" ] || break
	done
	if [ -n "$stop" ]; then
		kill "$pid" 2>/dev/null || true
		for _ in 1 2 3 4 5; do
			kill -0 "$pid" 2>/dev/null || break
			sleep 1
		done
		kill -9 "$pid" 2>/dev/null || true
	fi
	vm_status=0
	wait "$pid" || vm_status=$?
	vm_wall=$((SECONDS - start))
	vm_reason=${stop:-"exited by itself with status $vm_status"}
	vm_ok=$stop_ok
	[ -n "$stop" ] || [ "$vm_status" -ne 0 ] || vm_ok=1
	# The kernel log without carriage returns and printk timestamps.
	tr -d '\r' <"$log.raw" | sed -E 's/^\[ *[0-9]+\.[0-9]+\] //' >"$log"
}

# The part of the log before user space starts: oopses there are the kernel's own.
kernel_part() {
	sed '/Run \/init as init process/q' "$1"
}

show_tail() {
	echo "  last serial lines ($1):"
	tail -n 8 "$1" | sed 's/^/  | /'
	if [ -s "$1.stderr" ]; then
		echo "  stderr:"
		tail -n 8 "$1.stderr" | sed 's/^/  | /'
	fi
}

# The network variants' other end: a file served on a TCP port (kvmini.net=HOST:PORT on the
# command line), and for TAP a namespace with a bridge, the TAP, a veth to a second namespace
# running a DHCP server (busybox udhcpd). Sets vm_prefix, vm_extra, net_host, net_md5, net_addr.
net_setup() {
	local v=$1 port=$((20000 + RANDOM % 20000)) conf
	head -c 300000 /dev/urandom >"$logs/$v.served"
	net_md5=$(md5sum "$logs/$v.served" | cut -d' ' -f1)
	if [ "$v" = pvh-net-user ]; then
		net_host=10.0.2.2 net_addr=10.0.2.15
		vm_extra=(-netdev user,id=n0 -device virtio-net-pci,netdev=n0)
		nc -l 127.0.0.1 "$port" <"$logs/$v.served" >/dev/null 2>&1 &
		net_pids+=($!)
	else
		net_ns=kvmini-linux-$$
		ip netns add "$net_ns" && ip netns add "$net_ns-peer" || return 1
		ip -n "$net_ns" link add br0 type bridge || return 1
		ip -n "$net_ns" tuntap add tap0 mode tap
		ip -n "$net_ns" link add veth0 type veth peer name veth1 netns "$net_ns-peer"
		ip -n "$net_ns" link set tap0 master br0
		ip -n "$net_ns" link set veth0 master br0
		for l in lo br0 tap0 veth0; do ip -n "$net_ns" link set "$l" up; done
		ip -n "$net_ns-peer" addr add 10.0.0.1/24 dev veth1
		ip -n "$net_ns-peer" link set veth1 up
		ip -n "$net_ns-peer" link set lo up
		conf=$logs/$v.udhcpd.conf
		printf '%s\n' 'start 10.0.0.15' 'end 10.0.0.20' 'interface veth1' \
			"lease_file $logs/$v.leases" 'option subnet 255.255.255.0' \
			'option router 10.0.0.1' >"$conf"
		: >"$logs/$v.leases"
		ip netns exec "$net_ns-peer" busybox udhcpd -f "$conf" >/dev/null 2>&1 &
		net_pids+=($!)
		ip netns exec "$net_ns-peer" nc -l 10.0.0.1 "$port" <"$logs/$v.served" \
			>/dev/null 2>&1 &
		net_pids+=($!)
		net_host=10.0.0.1 net_addr=10.0.0.15
		vm_prefix=(ip netns exec "$net_ns")
		vm_extra=(-nic tap,ifname=tap0)
	fi
	net_append="ip=dhcp kvmini.net=$net_host:$port"
}

net_cleanup() {
	local p
	for p in "${net_pids[@]}"; do kill "$p" 2>/dev/null || true; done
	net_pids=()
	if [ -n "$net_ns" ]; then
		ip netns del "$net_ns" 2>/dev/null || true
		ip netns del "$net_ns-peer" 2>/dev/null || true
	fi
	net_ns='' vm_prefix=() vm_extra=()
}
vm_prefix=() vm_extra=() net_pids=() net_ns=''
trap net_cleanup EXIT

check_variant() {
	local v=$1 image timeout log t line n total tables devs mem kmem append=$cmdline
	case $v in
	pvh | pvh-intx)
		image=$linux_dir/vmlinux
		timeout=${KVMINI_LINUX_TIMEOUT_PVH:-300}
		[ "$v" = pvh ] || append="$cmdline pci=nomsi"
		;;
	bzimage)
		image=$linux_dir/bzImage
		timeout=${KVMINI_LINUX_TIMEOUT_BZIMAGE:-600}
		;;
	pvh-net-*)
		image=$linux_dir/vmlinux
		timeout=${KVMINI_LINUX_TIMEOUT_PVH:-300}
		;;
	esac
	t="$vmm_name/$v"
	case $v in
	pvh-net-tap)
		if [ "$(id -u)" -ne 0 ] || ! command -v busybox >/dev/null; then
			skip "$t: needs root (network namespaces) and busybox (udhcpd)"
			return
		fi
		;&
	pvh-net-*)
		if ! net_setup "$v"; then
			net_cleanup
			skip "$t: cannot create namespaces, a bridge and a TAP here"
			return
		fi
		append="$cmdline $net_append"
		;;
	esac
	if [ ! -e "$image" ] || [ ! -e "$linux_dir/initramfs.cpio" ]; then
		fail "$t: $image or $linux_dir/initramfs.cpio is missing (make linux-guest)"
		return
	fi
	log=$logs/$vmm_name-$v.log
	echo "$t: booting (timeout ${timeout}s, log $log)"
	boot "$image" "$log" "$timeout" "$append"
	echo "$t: ${vm_reason}, after ${vm_wall}s"

	# How the run ended: on its own with status 0, or stopped by us after /init.
	if [ "$vm_ok" -eq 1 ]; then
		pass "$t: VM run ended cleanly ($vm_reason)"
	else
		fail "$t: VM run ended badly ($vm_reason)"
		show_tail "$log"
	fi

	# Unanchored: firmware output (SeaBIOS under QEMU -M pc/q35) may precede it on its line.
	if grep -q 'Linux version [0-9]' "$log"; then
		pass "$t: kernel prints on the serial console"
	else
		fail "$t: no 'Linux version' line on the serial console"
	fi

	if grep -qxF "Command line: $append" "$log"; then
		pass "$t: command line"
	else
		line=$(grep -m1 '^Command line: ' "$log" || echo "no 'Command line:' line")
		fail "$t: command line: got '$line'"
	fi

	# "Memory: 229932K/261624K available": the second number is the RAM the kernel found.
	kmem=$(sed -nE 's|^Memory: [0-9]+K/([0-9]+)K available.*|\1|p' "$log" | head -n 1)
	total=$((mem_mb * 1024))
	if [ -n "$kmem" ] && [ "$kmem" -le "$total" ] && [ "$kmem" -ge $((total * 9 / 10)) ]; then
		pass "$t: memory ${kmem}K of ${total}K"
	else
		fail "$t: memory: kernel found '${kmem:-nothing}'K, expected ~${total}K"
	fi

	tables=$(sed -nE 's/^ACPI: ([A-Z0-9]{4}) 0x[0-9A-F]+ .*/\1/p' "$log" | tr '\n' ' ')
	if grep -q '^ACPI: RSDP 0x' "$log" && grep -qw APIC <<<"$tables"; then
		pass "$t: ACPI tables found (${tables% })"
	else
		fail "$t: ACPI: no RSDP or no MADT (APIC) in '${tables% }'"
	fi

	n=$(sed -nE 's/^smp: Brought up [0-9]+ nodes?, ([0-9]+) CPUs?$/\1/p' "$log" | head -n 1)
	if [ "${n:-0}" -eq "$smp" ]; then
		pass "$t: CPUs brought up: $n"
	else
		fail "$t: CPUs: expected $smp, 'smp: Brought up' says '${n:-nothing}'"
	fi

	devs=$(grep -cE '^pci [0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]: \[[0-9a-f]{4}:[0-9a-f]{4}\]' \
		"$log" || true)
	if grep -q '^PCI host bridge to bus ' "$log" && [ "$devs" -gt 0 ]; then
		pass "$t: PCI enumerated ($devs device lines)"
	elif [ "$vmm" = kvmini ] && ! "$KVMINI" -device help | grep -q -- '-pci '; then
		# Required as soon as kvmini offers a PCI device.
		skip "$t: PCI: this kvmini has no PCI host bridge or devices yet"
	else
		fail "$t: PCI: no host bridge or no devices enumerated"
	fi

	# "virtio_blk virtio0: [vda] 8192 512-byte logical blocks (4.19 MB/4.00 MiB)", then the
	# partition scan, which reads sector 0 through the driver and its interrupts.
	if grep -qE '^virtio_blk virtio[0-9]+: \[vda\] 8192 512-byte logical blocks' "$log" &&
		grep -qE '^ vda: vda1$' "$log"; then
		pass "$t: virtio-blk disk found and its partition table read"
	else
		line=$(grep -m1 -E 'virtio|vda' "$log" || echo "no virtio or vda lines")
		fail "$t: virtio-blk: no 8192-sector vda with partition vda1 ($line)"
	fi

	line=$(kernel_part "$log" | grep -m1 -E 'Oops|BUG:|Kernel panic|WARNING: CPU|general protection fault|Call Trace' || true)
	if [ -z "$line" ]; then
		pass "$t: no oops, BUG, WARNING or panic before /init"
	else
		fail "$t: kernel trouble before /init: $line"
	fi

	if grep -q 'Run /init as init process' "$log"; then
		line=$(grep -m1 'Run /init as init process' "$log.raw" | tr -d '\r' |
			sed -nE 's/^\[ *([0-9]+)\.[0-9]+\].*/\1/p')
		pass "$t: reached 'Run /init' (${init_wall}s wall, ${line:-?}s kernel time)"
	else
		fail "$t: did not reach 'Run /init as init process'"
		show_tail "$log"
	fi

	case $v in pvh-net-*) check_net "$t" "$log" ;; esac

	line=$(grep -m1 '^KVMINI-INIT: ' "$log" || true)
	if [ -z "$line" ]; then
		if [ "$expect_user" = 1 ]; then
			fail "$t: user space: no KVMINI-INIT marker (KVMINI_EXPECT_USERSPACE=1)"
		else
			skip "$t: user space: no KVMINI-INIT marker (on PVM hosts /init cannot make syscalls)"
		fi
	else
		n=$(sed -nE 's/.* cpus=([0-9]+) .*/\1/p' <<<"$line")
		mem=$(sed -nE 's/.* mem=([0-9]+)kB .*/\1/p' <<<"$line")
		if [ "${n:-0}" -eq "$smp" ] && [ "${mem:-0}" -le "$total" ] &&
			[ "${mem:-0}" -ge $((total * 3 / 4)) ] &&
			[ "${line#* cmdline=}" = "$append" ]; then
			pass "$t: user space: /init saw cpus=$n mem=${mem}kB and the command line"
		else
			fail "$t: user space: unexpected marker '$line'"
		fi
	fi
}

# The network variants: the kernel's own DHCP (ip=dhcp) through virtio-net and the backend,
# then, where user space runs, udhcpc, ping and a TCP download checked by its md5sum.
check_net() {
	local t=$1 log=$2 line
	net_cleanup
	line=$(grep -m1 -oE 'ipaddr=[0-9.]+' "$log" || true)
	if grep -q '^IP-Config: Complete:' "$log" && [ "$line" = "ipaddr=$net_addr" ]; then
		pass "$t: the kernel's DHCP got $net_addr through virtio-net"
	else
		fail "$t: kernel DHCP: no 'IP-Config: Complete' with ipaddr=$net_addr (${line:-none})"
	fi
	if ! grep -q '^KVMINI-INIT: ' "$log" && [ "$expect_user" != 1 ]; then
		skip "$t: udhcpc, ping and the download need user space (none on PVM hosts)"
	elif grep -q "^KVMINI-NET: dhcp $net_addr/" "$log" &&
		grep -q "^KVMINI-NET: ping $net_host ok" "$log" &&
		grep -q "^KVMINI-NET: md5 $net_md5" "$log"; then
		pass "$t: udhcpc, ping $net_host and a 300000-byte download (md5 matches)"
	else
		fail "$t: user space networking: $(grep '^KVMINI-NET' "$log" | tr '\n' ' ')"
	fi
}

# The kernel under gdb: hbreak start_kernel, then break on a function that runs later.
check_gdb() {
	local t="$vmm_name/pvh-gdb" log=$logs/$vmm_name-pvh-gdb.log pid sock
	if ! command -v gdb >/dev/null; then
		skip "$t: gdb is not installed"
		return
	fi
	sock=$log.sock
	rm -f "$sock"
	make_disk "$log.disk"
	echo "$t: booting under gdb (log $log)"
	"$KVMINI" -smp "$smp" -m "${mem_mb}M" -nographic -no-reboot -S -gdb "unix:$sock" \
		-kernel "$linux_dir/vmlinux" -initrd "$linux_dir/initramfs.cpio" -append "$cmdline" \
		</dev/null >"$log.raw" 2>"$log.stderr" &
	pid=$!
	for _ in $(seq 50); do
		[ -S "$sock" ] && break
		sleep 0.1
	done
	timeout "${KVMINI_LINUX_TIMEOUT_PVH:-300}" gdb -batch -nx "$linux_dir/vmlinux" \
		-ex 'set pagination off' -ex "target remote $sock" -ex 'hbreak start_kernel' \
		-ex 'continue' -ex 'info registers rip' -ex 'delete' -ex 'break rest_init' \
		-ex 'continue' -ex 'info registers rip' -ex 'kill' >"$log.gdb" 2>&1 || true
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	if grep -qE '^rip +0x[0-9a-f]+ +0x[0-9a-f]+ <start_kernel>' "$log.gdb" &&
		grep -qE '^rip +0x[0-9a-f]+ +0x[0-9a-f]+ <rest_init>' "$log.gdb" &&
		[ "$(grep -nE '<start_kernel>$' "$log.gdb" | head -n1 | cut -d: -f1)" -lt \
			"$(grep -nE '<rest_init>$' "$log.gdb" | head -n1 | cut -d: -f1)" ]; then
		pass "$t: hbreak start_kernel, then break rest_init, hit in order"
	else
		fail "$t: gdb did not stop at start_kernel and then rest_init"
		sed 's/^/  | /' "$log.gdb" | tail -n 12
	fi
}

if [ "$vmm" = qemu ]; then
	if ! command -v "$QEMU" >/dev/null; then
		skip "$vmm_name: $QEMU is not installed"
		variants=()
	elif [ "$accel" = kvm ] && ! { [ -r /dev/kvm ] && [ -w /dev/kvm ]; }; then
		skip "$vmm_name: /dev/kvm is not usable"
		variants=()
	fi
elif [ ! -x "$KVMINI" ]; then
	fail "kvmini: $KVMINI is not built (make)"
	variants=()
fi

for v in "${variants[@]}"; do
	if [ "$v" = pvh-gdb ]; then
		check_gdb
	else
		check_variant "$v"
	fi
done
echo "logs: $logs"
echo "linux: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
