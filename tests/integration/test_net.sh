# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# virtio-net: the net-echo guest (guests/net-echo.c: ARP, ICMP echo, a DHCP client and a TCP
# echo port on a polling virtio-net driver at CPL3) behind each backend, reached with the host's
# own ping and nc.
#   - TAP: a bridge in a network namespace of the test's own holds the guest's TAP and a veth
#     whose other end is in a second namespace; ping and nc run there.
#   - two VMs on one isolated bridge ping each other.
#   - user mode (libslirp): the guest gets 10.0.2.15 by DHCP and the host reaches its echo port
#     through hostfwd on 127.0.0.1; kvmini runs as an unprivileged user (nobody, given /dev/kvm
#     by an ACL entry for the test's duration).
#   - the command line's mistakes, and a hostile guest (guests/net-hostile.c).
# Nothing touches the host's own interfaces: every link lives in a namespace made here.

NET_VM_TIMEOUT=60 # seconds a background VM may live; the tests stop it earlier
NET_NS_PREFIX=kvmini-t$$

# net_need_netns: skip unless this host can make namespaces, TAPs and bridges.
net_need_netns() {
	((EUID == 0)) || skip "needs root for network namespaces and TAP devices"
	[[ -c /dev/net/tun ]] || skip "no /dev/net/tun (the kernel lacks TUN support)"
	command -v ip >/dev/null || skip "no ip (iproute2)"
}

# net_ns NAME...: make namespaces named $NET_NS_PREFIX-NAME, deleted when the test ends.
net_ns() {
	local n

	for n in "$@"; do
		ip netns add "$NET_NS_PREFIX-$n" || fail "cannot create network namespace $n"
		NET_NAMESPACES+=("$NET_NS_PREFIX-$n")
		ip -n "$NET_NS_PREFIX-$n" link set lo up
	done
	trap net_cleanup EXIT
}

net_cleanup() {
	local pid ns

	for pid in "${NET_PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	for ns in "${NET_NAMESPACES[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	[[ -n ${NET_ACL:-} ]] && setfacl -x "u:$NET_ACL" /dev/kvm 2>/dev/null
	return 0
}

# net_bridge NS: a bridge br0 in namespace NS (skips if the kernel has no bridge support).
net_bridge() {
	ip -n "$1" link add br0 type bridge 2>/dev/null || skip "no bridge support in this kernel"
	ip -n "$1" link set br0 up
}

# net_tap NS NAME: a TAP on NS's bridge.
net_tap() {
	ip -n "$1" tuntap add "$2" mode tap || fail "cannot create TAP $2"
	ip -n "$1" link set "$2" master br0 up
}

# net_veth NS PEER_NS ADDR: a veth from NS's bridge into PEER_NS, with ADDR there.
net_veth() {
	ip -n "$1" link add veth0 type veth peer name veth1 netns "$2" || fail "cannot create veth"
	ip -n "$1" link set veth0 master br0 up
	ip -n "$2" addr add "$3" dev veth1
	ip -n "$2" link set veth1 up
}

# net_start NAME [-n NS] [-u USER] -- ARGS...: kvmini in the background with $VM_ARGS + ARGS,
# inside NS and/or as USER; output in $T_DIR/NAME.out and NAME.err.
net_start() {
	local name=$1 pre=()
	shift
	while [[ $# -gt 0 ]]; do
		case $1 in
		-n) pre+=(ip netns exec "$2"); shift 2 ;;
		-u) pre+=(setpriv --reuid="$2" --regid=nogroup --clear-groups); shift 2 ;;
		--) shift; break ;;
		*) break ;;
		esac
	done
	need_kvmini
	: >"$T_DIR/$name.out"
	"${pre[@]}" timeout -k 2 "$NET_VM_TIMEOUT" "$KVMINI" "${VM_ARGS[@]}" "$@" \
		</dev/null >"$T_DIR/$name.out" 2>"$T_DIR/$name.err" &
	NET_PIDS[$name]=$!
}

# net_show NAME: what VM NAME printed, for a failure report.
net_show() {
	local f

	for f in out err; do
		echo "    $1 std$f:"
		head -n 40 "$T_DIR/$1.$f" | t_indent
	done
}

# net_wait NAME ERE [SECONDS]: wait until VM NAME prints a line matching ERE.
net_wait() {
	local name=$1 ere=$2 end=$((SECONDS + ${3:-20}))

	while ((SECONDS < end)); do
		grep -qE "$ere" "$T_DIR/$name.out" && return 0
		if ! kill -0 "${NET_PIDS[$name]}" 2>/dev/null; then
			grep -qE "$ere" "$T_DIR/$name.out" && return 0
			net_show "$name"
			fail "$name exited before printing /$ere/"
		fi
		sleep 0.1
	done
	net_show "$name"
	fail "$name did not print /$ere/ in ${3:-20} s"
}

# net_stop NAME: end VM NAME; it must still be running (the monitor survived).
net_stop() {
	if ! kill -0 "${NET_PIDS[$1]}" 2>/dev/null; then
		net_show "$1"
		fail "$1 is not running any more"
	fi
	kill "${NET_PIDS[$1]}"
	wait "${NET_PIDS[$1]}" 2>/dev/null
	unset "NET_PIDS[$1]"
}

# net_echo_check [-n NS] HOST PORT BYTES: BYTES random bytes through the guest's TCP echo port
# come back unchanged.
net_echo_check() {
	local pre=()

	if [[ $1 == -n ]]; then
		pre=(ip netns exec "$2")
		shift 2
	fi
	head -c "$3" /dev/urandom >"$T_DIR/sent"
	"${pre[@]}" timeout 20 nc -N -w 10 "$1" "$2" <"$T_DIR/sent" >"$T_DIR/echoed" ||
		fail "nc $1 $2 failed"
	cmp -s "$T_DIR/sent" "$T_DIR/echoed" ||
		fail "echo of $3 bytes came back as $(stat -c %s "$T_DIR/echoed") different bytes"
}

# A free TCP port on 127.0.0.1 (the kernel's pick).
net_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

test_net_tap_ping_nc() {
	local vm ns

	need_guest net-echo
	net_need_netns
	declare -A NET_PIDS
	net_ns vm host
	vm=$NET_NS_PREFIX-vm ns=$NET_NS_PREFIX-host
	net_bridge "$vm"
	net_tap "$vm" tap0
	net_veth "$vm" "$ns" 10.0.0.1/24
	net_start g -n "$vm" -- -kernel "$GUESTS/net-echo.elf" \
		-netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
		-device virtio-net-pci,netdev=n0 -append "ip=10.0.0.2/24 port=7"
	net_wait g "listening on tcp port 7"
	ip netns exec "$ns" ping -c 3 -W 5 10.0.0.2 >"$T_DIR/ping" ||
		{ net_show g; fail "ping 10.0.0.2 from the namespace: $(tail -n 2 "$T_DIR/ping")"; }
	net_echo_check -n "$ns" 10.0.0.2 7 100000
	net_stop g
}

# The isolated network: two guests on one bridge, nothing else on it.
test_net_two_vms() {
	local ns

	need_guest net-echo
	net_need_netns
	declare -A NET_PIDS
	net_ns lan
	ns=$NET_NS_PREFIX-lan
	net_bridge "$ns"
	net_tap "$ns" tap0
	net_tap "$ns" tap1
	net_start a -n "$ns" -- -kernel "$GUESTS/net-echo.elf" -nic tap,ifname=tap0 \
		-append "ip=10.0.1.2/24 peer=10.0.1.3 count=3"
	net_start b -n "$ns" -- -kernel "$GUESTS/net-echo.elf" \
		-net nic,model=virtio,macaddr=52:54:00:00:01:03 -net tap,ifname=tap1,script=no \
		-append "ip=10.0.1.3/24 peer=10.0.1.2 count=3"
	net_wait a "ping 10\\.0\\.1\\.3 seq=3 ok" 30
	net_wait b "ping 10\\.0\\.1\\.2 seq=3 ok" 30
	grep -q "mac 52:54:00:00:01:03" "$T_DIR/b.out" || { net_show b; fail "macaddr= not used"; }
	net_stop a
	net_stop b
}

# user mode: DHCP and a host port forward, with kvmini not root.  SPELLING: -netdev, -nic, -net.
test_net_user() {
	local port user=nobody args

	need_guest net-echo
	((EUID == 0)) || skip "needs root to switch to an unprivileged user"
	command -v setfacl >/dev/null || skip "no setfacl (package acl) to lend /dev/kvm to $user"
	declare -A NET_PIDS
	port=$(net_free_port)
	case $1 in
	netdev) args=(-netdev "user,id=u,hostfwd=tcp::$port-:7" -device virtio-net-pci,netdev=u) ;;
	nic) args=(-nic "user,hostfwd=tcp::$port-:7") ;;
	net) args=(-net nic -net "user,hostfwd=tcp::$port-:7") ;;
	esac
	setfacl -m "u:$user:rw" /dev/kvm || skip "cannot add an ACL entry to /dev/kvm"
	NET_ACL=$user
	trap net_cleanup EXIT
	net_start g -u "$user" -- -kernel "$GUESTS/net-echo.elf" "${args[@]}" \
		-append "ip=dhcp port=7"
	net_wait g "ip 10\\.0\\.2\\.15/24 gw 10\\.0\\.2\\.2 \\(dhcp\\)"
	net_wait g "listening on tcp port 7"
	net_echo_check 127.0.0.1 "$port" 50000
	[[ $(ps -o user= -p "$(pgrep -P "${NET_PIDS[g]}" -f kvmini | head -n 1)") == "$user" ]] ||
		fail "kvmini did not run as $user"
	net_stop g
}

# Two NICs in one VM: the guest uses the second one, whose MAC is the next default.
test_net_two_nics() {
	local port

	need_guest net-echo
	declare -A NET_PIDS
	port=$(net_free_port)
	net_start g -- -kernel "$GUESTS/net-echo.elf" -nic user \
		-netdev "user,id=u1,hostfwd=tcp::$port-:7" -device virtio-net-pci,netdev=u1 \
		-append "ip=dhcp port=7 nic=1"
	trap net_cleanup EXIT
	net_wait g "mac 52:54:00:12:34:57"
	net_wait g "listening on tcp port 7"
	net_echo_check 127.0.0.1 "$port" 20000
	net_stop g
}

test_net_errors() {
	local port pid

	need_guest net-echo
	run_kvmini -kernel "$GUESTS/net-echo.elf" -netdev user,id=u
	expect_status 1
	expect_stderr_line "^kvmini: -netdev user,id=u: no NIC uses it \(add -device virtio-net-pci,netdev=u\)$"
	run_kvmini -kernel "$GUESTS/net-echo.elf" -device virtio-net-pci
	expect_status 1
	expect_stderr_line "^kvmini: -device virtio-net-pci: netdev= is required"
	run_kvmini -kernel "$GUESTS/net-echo.elf" -device virtio-net-pci,netdev=zz
	expect_status 1
	expect_stderr_line "^kvmini: -device virtio-net-pci,netdev=zz: netdev=zz: no -netdev with id=zz$"
	run_kvmini -kernel "$GUESTS/net-echo.elf" -nic tap,ifname=tap0,script=/etc/qemu-ifup
	expect_status 1
	expect_stderr_line "^kvmini: -nic tap,ifname=tap0,script=/etc/qemu-ifup: .*script=.*not supported"
	run_kvmini -kernel "$GUESTS/net-echo.elf" -netdev socket,id=s -device virtio-net-pci,netdev=s
	expect_status 1
	expect_stderr_line "^kvmini: -netdev socket,id=s: .*not supported"
	run_kvmini -kernel "$GUESTS/net-echo.elf" -nic user,model=e1000
	expect_status 1
	expect_stderr_line "^kvmini: -nic user,model=e1000: model=e1000 is not supported"
	# A host port already taken.
	port=$(net_free_port)
	python3 -c "import socket, time; s = socket.socket(); s.bind(('127.0.0.1', $port)); s.listen(); time.sleep(30)" &
	pid=$!
	sleep 0.3
	run_kvmini -kernel "$GUESTS/net-echo.elf" -nic "user,hostfwd=tcp::$port-:22"
	kill "$pid"
	expect_status 1
	expect_stderr_line "^kvmini: -nic user,hostfwd=tcp::$port-:22: .*$port.*in use"
	# A TAP that does not exist, for a user who may not create one.
	if ((EUID == 0)) && command -v setfacl >/dev/null; then
		setfacl -m u:nobody:rw /dev/kvm && NET_ACL=nobody && trap net_cleanup EXIT
		run_cmd -- setpriv --reuid=nobody --regid=nogroup --clear-groups "$KVMINI" \
			-kernel "$GUESTS/net-echo.elf" -nic tap,ifname=kvminotap0
		expect_status 1
		expect_stderr_line "^kvmini: -nic tap,ifname=kvminotap0: .*permission denied.*ip tuntap add"
	fi
}

# A hostile guest: malformed TX chains, then it never refills RX while the host floods it.
test_net_hostile() {
	local ns vm

	need_guest net-hostile
	net_need_netns
	declare -A NET_PIDS
	net_ns vm host
	vm=$NET_NS_PREFIX-vm ns=$NET_NS_PREFIX-host
	net_bridge "$vm"
	net_tap "$vm" tap0
	net_veth "$vm" "$ns" 10.0.2.1/24
	net_start g -n "$vm" -- -kernel "$GUESTS/net-hostile.elf" -nic tap,ifname=tap0
	net_wait g "net-hostile: starving rx" 30
	ip netns exec "$ns" ping -f -w 12 -b 10.0.2.255 >/dev/null 2>&1
	net_wait g "net-hostile: done" 30
	grep -q "FAIL" "$T_DIR/g.out" && { net_show g; fail "the guest saw a failure"; }
	wait "${NET_PIDS[g]}"
	[[ $? == 0 ]] || { net_show g; fail "kvmini did not end with the guest's status 0"; }
}

t_run net.tap.ping-nc test_net_tap_ping_nc
t_run net.two-vms test_net_two_vms
t_run net.user.netdev test_net_user netdev
t_run net.user.nic test_net_user nic
t_run net.user.net test_net_user net
t_run net.two-nics test_net_two_nics
t_run net.errors test_net_errors
t_run net.hostile test_net_hostile
