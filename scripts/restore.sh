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

# Tables first, then their rows (the box from its own files, in receipt order; the
# choices get new ids), then constraints, indexes and triggers (post-data), so the
# ballot-window and append-only triggers do not fire on restored rows. Each step is one
# transaction; if one fails, drop the fresh database and start again.
pg_restore --no-owner --no-acl --exit-on-error --single-transaction --section=pre-data --section=data \
  --dbname="$DATABASE_URL" "$src/db.dump"
if [ -f "$src/box-ballots.copy" ]; then
  psql "$DATABASE_URL" --no-psqlrc --quiet -v ON_ERROR_STOP=1 --single-transaction <<SQL
\\copy votes_ballot (id, campaign_id, cast_on, receipt_hash, annulled_reason) FROM '$src/box-ballots.copy'
\\copy votes_ballotchoice (ballot_id, campaign_id, entry_id, points) FROM '$src/box-choices.copy'
SQL
fi
pg_restore --no-owner --no-acl --exit-on-error --single-transaction --section=post-data \
  --dbname="$DATABASE_URL" "$src/db.dump"

mkdir -p "$MEDIA_ROOT"
tar --extract --gzip --file="$src/media.tar.gz" --directory="$MEDIA_ROOT" --no-same-owner
echo "restore: database and media restored from $src"
