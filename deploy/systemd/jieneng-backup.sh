#!/bin/bash
# A dated backup of jieneng's database, keeping the newest N.
#
# `jieneng backup` takes an online SQLite backup while collection goes on; this script names
# it jieneng-YYYYMMDD-HHMMSS.db in the backup folder and removes all but the newest
# $JIENENG_BACKUP_KEEP. Run by jieneng-backup.service (started nightly by jieneng-backup.timer);
# by hand: sudo -u jieneng /usr/local/bin/jieneng-backup.sh
#
# Settings (environment):
#   JIENENG_CONFIG       the site config              (/etc/jieneng/jieneng.toml)
#   JIENENG_BACKUP_DIR   where backups go             (/var/backups/jieneng)
#   JIENENG_BACKUP_KEEP  how many backups to keep     (14)
#   JIENENG_BIN          the jieneng binary           (/usr/local/bin/jieneng)
#
# Restoring a backup: docs/operations.md.
set -euo pipefail

config="${JIENENG_CONFIG:-/etc/jieneng/jieneng.toml}"
dir="${JIENENG_BACKUP_DIR:-/var/backups/jieneng}"
keep="${JIENENG_BACKUP_KEEP:-14}"
bin="${JIENENG_BIN:-/usr/local/bin/jieneng}"

case "$keep" in
  '' | *[!0-9]*) echo "JIENENG_BACKUP_KEEP must be a whole number, not '$keep'" >&2; exit 2 ;;
esac
if [ "$keep" -lt 1 ]; then
  echo "JIENENG_BACKUP_KEEP must be at least 1" >&2
  exit 2
fi
if [ ! -d "$dir" ] || [ ! -w "$dir" ]; then
  echo "backup folder $dir does not exist or is not writable by $(id -un)" >&2
  exit 1
fi

# `jieneng backup` writes under a temporary name and renames the file when the copy is complete
# and checked, so a backup cut short never looks like one; after a failure nothing is pruned.
out="$dir/jieneng-$(date +%Y%m%d-%H%M%S).db"
"$bin" backup --config "$config" --out "$out"

# Names sort by date: keep the newest $keep.
find "$dir" -maxdepth 1 -type f -name 'jieneng-????????-??????.db' -printf '%f\n' \
  | sort -r \
  | tail -n +"$((keep + 1))" \
  | while read -r old; do
      rm -f -- "$dir/$old"
      echo "removed old backup: $dir/$old"
    done
