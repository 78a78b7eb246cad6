#!/usr/bin/env bash
# The main job, for now: build jbtrfs, make a btrfs image with mkfs.btrfs, fill it through a kernel
# loop mount, then list it, read it and copy it out with jbtrfs and compare with what the kernel
# shows. (Later issues turn this into jbtrfs mkfs + jbtrfs mount.)
# Usage (as root): bash scripts/main-job.sh [IMAGE]   default image: /var/tmp/jbtrfs-demo.img
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
img=${1:-/var/tmp/jbtrfs-demo.img}
bash scripts/install-deps.sh
mvn -B -ntp -q -DskipTests package

if [[ $(id -u) -ne 0 ]]; then
  echo "main-job: the kernel loop mount that fills the image needs root" >&2
  exit 1
fi
work=$(mktemp -d /var/tmp/jbtrfs-demo.XXXXXX)
mnt="$work/mnt"
mkdir -p "$mnt"
loopdev=""
cleanup() {
  mountpoint -q "$mnt" && umount "$mnt"
  [[ -n "$loopdev" ]] && losetup -d "$loopdev" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

rm -f "$img"
truncate -s 1G "$img"
mkfs.btrfs -q -f -L jbtrfs-demo "$img"
loopdev=$(losetup -f --show "$img")
mount -o compress=zstd "$loopdev" "$mnt"
mkdir -p "$mnt/docs" "$mnt/data"
cp -a "$repo/README.md" "$repo/pom.xml" "$mnt/docs/"
head -c $((8 << 20)) /dev/urandom > "$mnt/data/random.bin"
seq 1 200000 > "$mnt/data/numbers.txt"
truncate -s 64M "$mnt/data/sparse.img"
ln -s ../docs/README.md "$mnt/data/readme-link"
ln "$mnt/data/numbers.txt" "$mnt/docs/numbers-hardlink.txt"
setfattr -n user.origin -v "scripts/main-job.sh" "$mnt/data/random.bin"
btrfs -q subvolume create "$mnt/home"
echo "hello from a subvolume" > "$mnt/home/hello.txt"
btrfs -q subvolume snapshot -r "$mnt/home" "$mnt/home-snapshot"
umount "$mnt"
losetup -d "$loopdev"; loopdev=""

echo "== jbtrfs ls $img /"
bin/jbtrfs ls "$img" /
echo "== jbtrfs ls $img /data"
bin/jbtrfs ls "$img" /data
echo "== jbtrfs cat $img /home-snapshot/hello.txt"
bin/jbtrfs cat "$img" /home-snapshot/hello.txt
echo "== jbtrfs cp-out $img / $work/copy (verifying data checksums)"
bin/jbtrfs cp-out --verify-data "$img" / "$work/copy"
loopdev=$(losetup -f --show -r "$img")
mount -o ro "$loopdev" "$mnt"
if diff -r --no-dereference "$mnt" "$work/copy" >/dev/null; then
  echo "== the copy made by jbtrfs is identical to the kernel's view of $img"
else
  echo "main-job: jbtrfs's copy differs from the kernel's view:" >&2
  diff -r --no-dereference "$mnt" "$work/copy" >&2 || true
  exit 1
fi
echo "image left at $img (inspect it with: bin/jbtrfs inspect dump-tree $img)"
