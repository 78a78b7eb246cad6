#!/usr/bin/env bash
# Installs what building, running and testing jbtrfs needs on Debian/Ubuntu, once:
# a JDK 17+, Maven, btrfs-progs (mkfs.btrfs, btrfs check: the oracle every test uses), FUSE
# (libfuse2 for the jnr-fuse passthrough baseline, fuse3 for fusermount3), attr (setfattr/getfattr),
# acl (setfacl/getfacl), fio, util-linux (losetup),
# rsync and git (real tools the FUSE tests run through a mount).
# Safe to run again: it installs only what is missing.
set -euo pipefail

need=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

java_ok() {
  have_cmd java || return 1
  local v; v=$(java -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ {print $2}')
  [[ -n "$v" && "${v%%.*}" -ge 17 ]]
}
java_ok || need+=(openjdk-17-jdk-headless)
have_cmd javac || need+=(openjdk-17-jdk-headless)
have_cmd mvn || need+=(maven)
have_cmd mkfs.btrfs || need+=(btrfs-progs)
have_pkg libfuse2 || have_pkg libfuse2t64 || need+=(libfuse2)
have_cmd fusermount3 || need+=(fuse3)
have_cmd setfattr || need+=(attr)
have_cmd setfacl || need+=(acl)
have_cmd fio || need+=(fio)
have_cmd rsync || need+=(rsync)
have_cmd git || need+=(git)
have_cmd losetup || need+=(util-linux)
have_cmd mkfs.ext4 || need+=(e2fsprogs)

if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing ${need[*]}; run as root (or install them) first" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # libfuse2 is called libfuse2t64 on newer releases.
  pkgs=()
  for p in $(printf '%s\n' "${need[@]}" | sort -u); do
    if [[ $p == libfuse2 ]] && ! apt-cache show libfuse2 >/dev/null 2>&1; then p=libfuse2t64; fi
    pkgs+=("$p")
  done
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi
# Tests mount loop devices: make sure the btrfs and loop modules are there when we can load them.
if [[ $(id -u) -eq 0 ]]; then
  grep -qw btrfs /proc/filesystems || modprobe btrfs 2>/dev/null || true
  [[ -e /dev/loop-control ]] || modprobe loop 2>/dev/null || true
fi
