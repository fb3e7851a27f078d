#!/usr/bin/env bash
# Restore a backup made by scripts/backup.sh into a FRESH database and an empty media
# folder. See docs/backup.md.
#
#   createdb portal_restored
#   DATABASE_URL=postgres://.../portal_restored MEDIA_ROOT=/srv/portal/media-restored \
#     scripts/restore.sh /backups/2025-06-01
#
# It refuses a database that already has tables or a media folder that has files:
# restoring over live data is never what you want by accident.
set -euo pipefail

usage() { echo "usage: DATABASE_URL=postgres://... MEDIA_ROOT=DIR $0 BACKUP_DIR" >&2; exit 2; }
[ $# -eq 1 ] || usage
src="$1"
: "${DATABASE_URL:?DATABASE_URL must name the (empty) PostgreSQL database to restore into}"
: "${MEDIA_ROOT:?MEDIA_ROOT must name the (empty) folder to restore the media into}"

[ -f "$src/SHA256SUMS" ] || { echo "restore: $src/SHA256SUMS is missing: not a complete backup" >&2; exit 1; }
(cd "$src" && sha256sum --check --quiet SHA256SUMS) || { echo "restore: checksums do not match" >&2; exit 1; }

tables=$(psql "$DATABASE_URL" --no-psqlrc --tuples-only --no-align \
  --command="SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
if [ "$tables" != "0" ]; then
  echo "restore: the target database already has $tables tables; restore into a fresh one" >&2
  exit 1
fi
if [ -d "$MEDIA_ROOT" ] && [ -n "$(ls -A "$MEDIA_ROOT")" ]; then
  echo "restore: $MEDIA_ROOT is not empty; restore into an empty folder" >&2
  exit 1
fi

# One transaction: either the whole database is restored or nothing is. Triggers and
# constraints are created after the data (post-data section), so the ballot-window
# and append-only triggers do not fire on restored rows.
pg_restore --no-owner --no-acl --exit-on-error --single-transaction --dbname="$DATABASE_URL" "$src/db.dump"

mkdir -p "$MEDIA_ROOT"
tar --extract --gzip --file="$src/media.tar.gz" --directory="$MEDIA_ROOT" --no-same-owner
echo "restore: database and media restored from $src"
