#!/usr/bin/env bash
# Build kvmini's Linux test guest: a small x86-64 kernel from Debian's linux-source-6.1
# (tinyconfig + guests/linux/kvmini.config) and an uncompressed busybox initramfs.
#
# usage: guests/linux/build.sh [--kernel|--initramfs] [--force]
#   --kernel     only the kernel          --initramfs  only the initramfs
#   --force      rebuild the kernel even when the cache has it
# Outputs in guests/build/linux/: vmlinux (PVH ELF), bzImage, config, kernel.info (symlinks
# into the cache) and initramfs.cpio.
# Environment: KVMINI_LINUX_CACHE (default /var/cache/kvmini-linux) holds the extracted source,
# the object tree and one directory per built configuration; KVMINI_LINUX_JOBS (default nproc).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=$repo/guests/build/linux
cache=${KVMINI_LINUX_CACHE:-/var/cache/kvmini-linux}
jobs=${KVMINI_LINUX_JOBS:-$(nproc)}
fragment=$here/kvmini.config
src_pkg=linux-source-6.1
src_tar=/usr/src/$src_pkg.tar.xz

want_kernel=1 want_initramfs=1 force=0
for arg in "$@"; do
	case $arg in
	--kernel) want_initramfs=0 ;;
	--initramfs) want_kernel=0 ;;
	--force) force=1 ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "build.sh: unknown argument '$arg' (try --help)" >&2
		exit 1
		;;
	esac
done

log() { echo "linux: $*"; }
die() {
	echo "linux: error: $*" >&2
	exit 1
}

# Install what is missing, like tests/deps.sh: silent when everything is there.
install_deps() {
	local packages=(gcc make bc bison flex libelf-dev libssl-dev cpio lz4 xz-utils
		"$src_pkg" busybox-static) missing=() p sudo=
	for p in "${packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return
	log "installing ${missing[*]}"
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Every line of the fragment must hold in the final .config: olddefconfig silently drops
# options whose dependencies are missing, and a dropped option would only show as a guest
# that boots differently.
verify_config() {
	local config=$1 line opt bad=0 actual
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*)
			opt=${line%%=*}
			grep -qxF -- "$line" "$config" && continue
			;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }
			opt=${opt%% *}
			grep -q "^$opt=" "$config" || continue
			;;
		*) continue ;;
		esac
		actual=$(grep -E "^$opt=|^# $opt is not set" "$config" || echo "absent")
		echo "linux: config: wanted '$line', got '$actual'" >&2
		bad=1
	done <"$fragment"
	[ $bad -eq 0 ] || die "the kernel config does not match $fragment (see above)"
}

build_kernel() {
	local ver key dir src obj start secs
	ver=$(dpkg-query -W -f='${Version}' "$src_pkg")
	# The cache key: whatever decides what the kernel looks like.
	key=$({
		echo "$src_pkg $ver"
		gcc --version | head -n 1
		cat "$fragment" "$here/build.sh"
	} | sha256sum | cut -c1-16)
	dir=$cache/kernels/$key

	if ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then
		die "cannot write $cache (set KVMINI_LINUX_CACHE to a writable directory)"
	fi
	# One build at a time per cache: two makes in one object tree corrupt it.
	exec 9>"$cache/.lock"
	flock 9

	if [ $force -eq 0 ] && [ -f "$dir/vmlinux" ] && [ -f "$dir/bzImage" ]; then
		log "kernel $key is cached ($dir)"
	else
		src=$cache/src/$src_pkg-$ver
		obj=$cache/obj
		if [ ! -f "$src/.kvmini-extracted" ]; then
			log "extracting $src_tar"
			rm -rf "$src"
			mkdir -p "$src"
			tar -xaf "$src_tar" -C "$src" --strip-components=1
			touch "$src/.kvmini-extracted"
		fi
		# A source version change invalidates the shared object tree.
		if [ "$(cat "$obj/.kvmini-src" 2>/dev/null)" != "$src" ]; then
			rm -rf "$obj"
		fi
		mkdir -p "$obj"
		echo "$src" >"$obj/.kvmini-src"

		local kmake=(make -C "$src" O="$obj" ARCH=x86_64 KBUILD_BUILD_USER=kvmini
			KBUILD_BUILD_HOST=kvmini)
		log "configuring (tinyconfig + $(basename "$fragment"))"
		"${kmake[@]}" -s tinyconfig >"$obj/config.log" 2>&1 ||
			{ tail -n 20 "$obj/config.log" >&2; die "make tinyconfig failed"; }
		(cd "$obj" && "$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" \
			"$fragment") >>"$obj/config.log" 2>&1 ||
			{ tail -n 20 "$obj/config.log" >&2; die "merge_config.sh failed"; }
		"${kmake[@]}" -s olddefconfig >>"$obj/config.log" 2>&1 ||
			{ tail -n 20 "$obj/config.log" >&2; die "make olddefconfig failed"; }
		verify_config "$obj/.config"

		log "building with -j$jobs (log: $obj/build.log)"
		start=$(date +%s)
		"${kmake[@]}" -j"$jobs" bzImage >"$obj/build.log" 2>&1 ||
			{ tail -n 40 "$obj/build.log" >&2; die "the kernel build failed"; }
		secs=$(($(date +%s) - start))

		# The PVH entry is an ELF note (XEN_ELFNOTE_PHYS32_ENTRY, type 18) in vmlinux.
		readelf -n "$obj/vmlinux" | grep -E '^ +Xen ' | grep -qE '0x00000012|PHYS32' ||
			die "vmlinux has no PVH entry note (is CONFIG_PVH set?)"

		rm -rf "$dir.tmp"
		mkdir -p "$dir.tmp"
		cp "$obj/vmlinux" "$obj/arch/x86/boot/bzImage" "$dir.tmp/"
		cp "$obj/.config" "$dir.tmp/config"
		{
			echo "key=$key"
			echo "source=$src_pkg $ver"
			echo "release=$(cat "$obj/include/config/kernel.release")"
			echo "compiler=$(gcc --version | head -n 1)"
			echo "build_seconds=$secs"
			echo "jobs=$jobs"
			echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
			echo "vmlinux_bytes=$(stat -c %s "$obj/vmlinux")"
			echo "bzImage_bytes=$(stat -c %s "$obj/arch/x86/boot/bzImage")"
		} >"$dir.tmp/kernel.info"
		rm -rf "$dir"
		mv "$dir.tmp" "$dir"
		log "built kernel $key in ${secs}s"
	fi
	exec 9>&-

	mkdir -p "$out"
	local f
	for f in vmlinux bzImage config kernel.info; do
		ln -sfn "$dir/$f" "$out/$f"
	done
	log "$out/vmlinux ($(stat -L -c %s "$out/vmlinux") bytes)," \
		"$out/bzImage ($(stat -L -c %s "$out/bzImage") bytes)"
}

# busybox plus /init, as an uncompressed newc cpio (gzip unpacking takes minutes at CPL0
# on PVM hosts). /dev/console comes from the kernel's built-in initramfs.
build_initramfs() {
	local stage tmp applet
	mkdir -p "$out"
	stage=$(mktemp -d)
	tmp=$(mktemp "$out/.initramfs.XXXXXX")
	# shellcheck disable=SC2064 # expand now: the variables are local
	trap "rm -rf '$stage' '$tmp'" EXIT
	mkdir -p "$stage"/{bin,dev,proc,sys,tmp,root}
	cp /bin/busybox "$stage/bin/busybox"
	for applet in sh mount cat grep sed poweroff reboot sleep ip udhcpc ping nc md5sum cut; do
		ln -s busybox "$stage/bin/$applet"
	done
	install -m 0755 "$here/init" "$stage/init"
	install -m 0755 "$here/udhcpc.script" "$stage/bin/udhcpc.script"
	# Fixed owners, times and order: the same inputs give the same bytes.
	find "$stage" -exec touch -h -d @0 {} +
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0 --reproducible) >"$tmp"
	if cmp -s "$tmp" "$out/initramfs.cpio"; then
		log "$out/initramfs.cpio is up to date"
	else
		chmod 0644 "$tmp"
		mv "$tmp" "$out/initramfs.cpio"
		log "$out/initramfs.cpio ($(stat -c %s "$out/initramfs.cpio") bytes)"
	fi
}

install_deps
[ $want_kernel -eq 0 ] || build_kernel
[ $want_initramfs -eq 0 ] || build_initramfs
