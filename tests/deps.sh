#!/usr/bin/env bash
# Install the Debian packages kvmini's build and tests need.  Idempotent:
# nothing is fetched when everything is already there.
set -euo pipefail

packages=(
	gcc make libc6-dev      # the build
	libfdt-dev              # -dtb checks
	liburing-dev            # block I/O
	fio                     # the host's figure in the block benchmark
	libcmocka-dev           # unit tests
	qemu-system-x86         # the peer for differential tests and benchmarks
	clang-format            # style check
	acpica-tools            # iasl: the ACPI table unit test decodes kvmini's tables
	gdb                     # the gdb stub's tests drive the real gdb
	clang libclang-rt-14-dev  # make fuzz (libFuzzer runtime)
	libslirp-dev libglib2.0-dev  # -netdev user
	libjansson-dev          # JSON: kvmini-img --output=json, QMP
	zlib1g-dev libzstd-dev  # compressed qcow2 clusters
	qemu-utils              # qemu-img: the qcow2 interop tests' peer
	iproute2 iputils-ping netcat-openbsd acl  # network tests: namespaces, ping, nc, setfacl
	socat jq                # QMP tests: the client, and checking its replies
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all installed"
	exit 0
fi
echo "deps: installing ${missing[*]}"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
