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

# The database, in one consistent snapshot, held open by a session that exports it. The
# ballot box is left out of the main dump and written apart, in receipt order and without
# the choices' ids, from the same snapshot: pg_dump copies a table in its physical order,
# which during an open vote is the order of casting, the register's order too
# (docs/threat-model.md). No owner or privileges, so it restores into any role's database.
coproc SNAPSHOT { psql "$DATABASE_URL" --no-psqlrc --quiet --tuples-only --no-align -v ON_ERROR_STOP=1; }
echo "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT pg_export_snapshot();" >&"${SNAPSHOT[1]}"
read -r snapshot <&"${SNAPSHOT[0]}"
[ -n "$snapshot" ] || { echo "backup: could not export a snapshot" >&2; exit 1; }
pg_dump --format=custom --compress=6 --no-owner --no-acl --snapshot="$snapshot" \
  --exclude-table-data=votes_ballot --exclude-table-data=votes_ballotchoice \
  --file="$dest/db.dump.partial" "$DATABASE_URL"
box_copy() {  # box_copy FILE QUERY: the query's rows, read in the exported snapshot
  local query
  query=$(printf '%s' "$2" | tr '\n' ' ')  # \copy takes one line
  psql "$DATABASE_URL" --no-psqlrc --quiet -v ON_ERROR_STOP=1 --output=/dev/null <<SQL >"$1"
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SET TRANSACTION SNAPSHOT '$snapshot';
\\copy ($query) TO PSTDOUT
COMMIT;
SQL
}
box_copy "$dest/box-ballots.copy.partial" \
  'SELECT id, campaign_id, cast_on, receipt_hash, annulled_reason FROM votes_ballot ORDER BY receipt_hash COLLATE "C"'
box_copy "$dest/box-choices.copy.partial" \
  'SELECT c.ballot_id, c.campaign_id, c.entry_id, c.points FROM votes_ballotchoice c
   JOIN votes_ballot b ON b.id = c.ballot_id ORDER BY b.receipt_hash COLLATE "C", c.points, c.entry_id'
echo "COMMIT;" >&"${SNAPSHOT[1]}"
eval "exec ${SNAPSHOT[1]}>&-"
wait "$SNAPSHOT_PID" 2>/dev/null || true
mv "$dest/db.dump.partial" "$dest/db.dump"
mv "$dest/box-ballots.copy.partial" "$dest/box-ballots.copy"
mv "$dest/box-choices.copy.partial" "$dest/box-choices.copy"

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
  echo "ballots=$(wc -l <"$dest/box-ballots.copy")"
  echo "media_files=$(tar --list --gzip --file="$dest/media.tar.gz" | grep -vc '/$' || true)"
} >"$dest/MANIFEST"

# Written last: its presence marks the backup as complete.
(cd "$dest" && sha256sum db.dump box-ballots.copy box-choices.copy media.tar.gz MANIFEST >SHA256SUMS.partial \
  && mv SHA256SUMS.partial SHA256SUMS)
echo "backup: written to $dest"
