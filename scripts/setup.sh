#!/usr/bin/env bash
# Installs what building, running and testing CuTopia needs, skipping whatever is present:
# protoc (libp2p), mold (linker, see .cargo/config.toml), the Wasm target and rust-src for
# the runtime, Node.js/npm for the polkadot.js tests and the console, busybox-static for the
# container tests, Chromium for the console's browser tests.
# Safe to run again.
set -euo pipefail

apt_pkgs=()
command -v protoc >/dev/null 2>&1 || apt_pkgs+=(protobuf-compiler)
command -v mold >/dev/null 2>&1 || apt_pkgs+=(mold)
command -v cc >/dev/null 2>&1 || apt_pkgs+=(gcc)
command -v node >/dev/null 2>&1 || apt_pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || apt_pkgs+=(npm)
# The container executor's tests build their images from a statically linked busybox.
[ -x /usr/bin/busybox ] || [ -x /bin/busybox ] || apt_pkgs+=(busybox-static)
command -v tar >/dev/null 2>&1 || apt_pkgs+=(tar)
# The container test serves its image over https with `openssl s_server`.
command -v openssl >/dev/null 2>&1 || apt_pkgs+=(openssl)
# `cutopia client ssh` runs the system's ssh; the service tests make keys with ssh-keygen.
command -v ssh >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1 || apt_pkgs+=(openssh-client)
# The microVM tier: QEMU, Debian's cloud kernel (its virtio modules go into the guest's
# initramfs) and mkfs.ext4 for the image disks.
command -v qemu-system-x86_64 >/dev/null 2>&1 || apt_pkgs+=(qemu-system-x86)
ls /boot/vmlinuz-*-cloud-amd64 >/dev/null 2>&1 || apt_pkgs+=(linux-image-cloud-amd64)
command -v mkfs.ext4 >/dev/null 2>&1 || apt_pkgs+=(e2fsprogs)
# The console's browser tests: Debian's Chromium, driven by playwright-core.
[ -x /usr/bin/chromium ] || apt_pkgs+=(chromium)
if ((${#apt_pkgs[@]})); then
	echo "setup: installing ${apt_pkgs[*]}" >&2
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${apt_pkgs[@]}" >/dev/null
fi

# The runtime is compiled to Wasm; with Rust >= 1.84 the wasm builder uses wasm32v1-none and
# falls back to wasm32-unknown-unknown + rust-src.
installed_targets=$(rustup target list --installed)
grep -qx wasm32v1-none <<<"$installed_targets" || rustup target add wasm32v1-none
# The Wasm scratch test compiles a std program for WASI.
grep -qx wasm32-wasip1 <<<"$installed_targets" || rustup target add wasm32-wasip1
grep -qx wasm32-unknown-unknown <<<"$installed_targets" || rustup target add wasm32-unknown-unknown
rustup component list --installed | grep -q '^rust-src' || rustup component add rust-src
rustup component list --installed | grep -q '^clippy' || rustup component add clippy
rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
