#!/usr/bin/env bash
# The main job, for now: build jbtrfs, make a btrfs image with jbtrfs mkfs --rootdir, add to it with
# jbtrfs cp-in, let the kernel mount it, check it sees what we wrote and add a subvolume, a snapshot
# and compressed data of its own; then list, read and copy it out with jbtrfs and compare with what
# the kernel shows, and run btrfs check. Then install jbtrfs (scripts/install.sh) and mount the image
# with jbtrfs mount (FUSE) at a default place, where it stays mounted.
# Usage (as root): bash scripts/main-job.sh [IMAGE [MOUNTPOINT]]
#   defaults: /var/tmp/jbtrfs-demo.img and /mnt/jbtrfs-demo
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
img=${1:-/var/tmp/jbtrfs-demo.img}
fusemnt=${2:-/mnt/jbtrfs-demo}
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

# A previous run may have left the image mounted: unmount it (this waits for its last commit).
if grep -q " $fusemnt fuse.jbtrfs " /proc/self/mountinfo 2>/dev/null; then
  bin/jbtrfs umount "$fusemnt"
fi
rm -f "$img"
# A host tree for mkfs --rootdir: documents, random data, a sparse file, a symlink, a hard link, an xattr.
src="$work/src"
mkdir -p "$src/docs" "$src/data"
cp -a "$repo/README.md" "$repo/pom.xml" "$src/docs/"
head -c $((8 << 20)) /dev/urandom > "$src/data/random.bin"
seq 1 200000 > "$src/data/numbers.txt"
truncate -s 64M "$src/data/sparse.img"
ln -s ../docs/README.md "$src/data/readme-link"
ln "$src/data/numbers.txt" "$src/docs/numbers-hardlink.txt"
setfattr -n user.origin -v "scripts/main-job.sh" "$src/data/random.bin"
echo "== jbtrfs mkfs $img --size 1G --label jbtrfs-demo --rootdir $src"
bin/jbtrfs mkfs "$img" --size 1G --label jbtrfs-demo --rootdir "$src" -q
echo "== jbtrfs cp-in $img $repo/docs /docs/project-docs"
bin/jbtrfs cp-in "$img" "$repo/docs" /docs/project-docs
echo "== btrfs check --readonly --check-data-csum $img"
btrfs check --readonly --check-data-csum "$img" 2>&1 | tail -n 1
loopdev=$(losetup -f --show "$img")
mount -o compress=zstd "$loopdev" "$mnt"
if ! diff -r --no-dereference "$src" "$mnt" -x project-docs >/dev/null; then
  echo "main-job: the kernel does not see what jbtrfs mkfs wrote:" >&2
  diff -r --no-dereference "$src" "$mnt" -x project-docs >&2 || true
  exit 1
fi
echo "== the kernel sees exactly the tree jbtrfs wrote; now it writes a subvolume, a snapshot and zstd data"
btrfs -q subvolume create "$mnt/home"
echo "hello from a subvolume" > "$mnt/home/hello.txt"
seq 1 100000 > "$mnt/home/compressed.txt"
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
umount "$mnt"
losetup -d "$loopdev"; loopdev=""
if ! btrfs check --readonly --check-data-csum "$img" >"$work/check.log" 2>&1; then
  echo "main-job: btrfs check found problems after the kernel wrote:" >&2
  cat "$work/check.log" >&2
  exit 1
fi
echo "== btrfs check is clean after the kernel wrote into the image"

echo "== scripts/install.sh: jbtrfs on the PATH and mount.fuse.jbtrfs for mount -t fuse.jbtrfs"
bash scripts/install.sh
mkdir -p "$fusemnt"
jbtrfs="${BINDIR:-/usr/local/bin}/jbtrfs"
echo "== jbtrfs mount $img $fusemnt"
"$jbtrfs" mount "$img" "$fusemnt"
echo "written through the FUSE mount" > "$fusemnt/hello-fuse.txt"
if ! diff -r --no-dereference "$work/copy" "$fusemnt" -x hello-fuse.txt >/dev/null; then
  echo "main-job: the FUSE mount does not show what the kernel showed:" >&2
  diff -r --no-dereference "$work/copy" "$fusemnt" -x hello-fuse.txt >&2 || true
  exit 1
fi
echo "== the FUSE mount shows the same tree as the kernel"
echo "$img is mounted at $fusemnt (type fuse.jbtrfs); unmount with: jbtrfs umount $fusemnt"
echo "(inspect the image after unmounting with: jbtrfs inspect dump-tree $img)"
