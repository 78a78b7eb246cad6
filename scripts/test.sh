#!/usr/bin/env bash
# Builds jbtrfs and runs every test (the README's test command; CI runs it too).
# Tests that need root, loop devices or the kernel's btrfs report themselves as skipped where
# those are missing; on a root machine with them (CI) they all run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
mvn -B -ntp verify "$@"
