#!/usr/bin/env bash
# Back up the portal: the PostgreSQL database (pg_dump custom format) and the uploaded
# media (tar), with checksums. See docs/backup.md.
#
#   DATABASE_URL=postgres://... MEDIA_ROOT=/srv/portal/media scripts/backup.sh /backups/2025-06-01
#
# The folder must not exist yet (or be empty). Files are written under a temporary name
# and renamed at the end, so a folder with SHA256SUMS in it is a complete backup.
set -euo pipefail

usage() { echo "usage: DATABASE_URL=postgres://... MEDIA_ROOT=DIR $0 BACKUP_DIR" >&2; exit 2; }
[ $# -eq 1 ] || usage
dest="$1"
: "${DATABASE_URL:?DATABASE_URL must name the PostgreSQL database to back up}"
: "${MEDIA_ROOT:?MEDIA_ROOT must name the folder of uploaded files}"
case "$DATABASE_URL" in
  postgres://*|postgresql://*) ;;
  *) echo "backup: DATABASE_URL is not a PostgreSQL URL" >&2; exit 2 ;;
esac
if [ -e "$dest" ] && [ -n "$(ls -A "$dest" 2>/dev/null)" ]; then
  echo "backup: $dest exists and is not empty; choose a new folder" >&2
  exit 2
fi
mkdir -p "$dest"
umask 077  # dumps contain personal data: readable by the backup user only

# The database, in one consistent snapshot (pg_dump runs in one repeatable-read
# transaction). No owner or privileges, so it restores into any role's database.
pg_dump --format=custom --compress=6 --no-owner --no-acl --file="$dest/db.dump.partial" "$DATABASE_URL"
mv "$dest/db.dump.partial" "$dest/db.dump"

# The uploaded media. Files are only ever added under random names, so a copy taken
# just after the dump holds every file the dump refers to.
if [ -d "$MEDIA_ROOT" ]; then
  tar --create --gzip --file="$dest/media.tar.gz.partial" --directory="$MEDIA_ROOT" .
else
  echo "backup: MEDIA_ROOT $MEDIA_ROOT does not exist; storing an empty media archive" >&2
  tar --create --gzip --file="$dest/media.tar.gz.partial" --files-from=/dev/null
fi
mv "$dest/media.tar.gz.partial" "$dest/media.tar.gz"

{
  echo "created_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "pg_dump=$(pg_dump --version)"
  echo "media_files=$(tar --list --gzip --file="$dest/media.tar.gz" | grep -vc '/$' || true)"
} >"$dest/MANIFEST"

# Written last: its presence marks the backup as complete.
(cd "$dest" && sha256sum db.dump media.tar.gz MANIFEST >SHA256SUMS.partial && mv SHA256SUMS.partial SHA256SUMS)
echo "backup: written to $dest"
