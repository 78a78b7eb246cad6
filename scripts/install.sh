#!/usr/bin/env bash
# Installs jbtrfs for the whole system (as root), after a build (mvn -DskipTests package):
#   $BINDIR/jbtrfs            (default /usr/local/bin)  a wrapper running this checkout's bin/jbtrfs
#   $SBINDIR/mount.fuse.jbtrfs (default /sbin)           the mount(8) helper, so that
#                                  mount -t fuse.jbtrfs IMG MNT -o ...  and fstab lines work.
# Safe to run again: it overwrites its own files only.
set -euo pipefail
repo="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
bindir=${BINDIR:-/usr/local/bin}
sbindir=${SBINDIR:-/sbin}
mkdir -p "$bindir" "$sbindir"
cat > "$bindir/jbtrfs.tmp" <<WRAPPER
#!/bin/sh
# Installed by $repo/scripts/install.sh
exec "$repo/bin/jbtrfs" "\$@"
WRAPPER
chmod 755 "$bindir/jbtrfs.tmp"
mv -f "$bindir/jbtrfs.tmp" "$bindir/jbtrfs"
ln -sfn "$repo/bin/mount.fuse.jbtrfs" "$sbindir/mount.fuse.jbtrfs"
echo "installed $bindir/jbtrfs and $sbindir/mount.fuse.jbtrfs (from $repo)"
