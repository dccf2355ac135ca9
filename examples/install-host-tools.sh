#!/usr/bin/env bash
# Installs the mkfs tools hoststore needs that a fresh Debian machine lacks (xfsprogs, btrfs-progs), and fio,
# which `npm run bench` uses for its bandwidth rows (it falls back to dd without it), and OpenSSH's server,
# which the remote-host tests start on loopback (a storage host runs its own), and restic, the engine of
# off-host backups (`replicateTo`, `fromBackup`, `hoststore backup`; its tests push to a local path and over SFTP),
# and Chromium, the real browser the dashboard's tests drive with playwright-core (which downloads no browser
# of its own: Debian's package is one apt keeps patched, with the libraries it needs).
set -euo pipefail
need=()
command -v mkfs.ext4 >/dev/null 2>&1 || need+=(e2fsprogs)
command -v mkfs.xfs >/dev/null 2>&1 || need+=(xfsprogs)
command -v mkfs.btrfs >/dev/null 2>&1 || need+=(btrfs-progs)
command -v fio >/dev/null 2>&1 || need+=(fio)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v restic >/dev/null 2>&1 || need+=(restic)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  apt-get update -qq
  # No service is started for us: the tests start their own sshd on loopback.
  RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
