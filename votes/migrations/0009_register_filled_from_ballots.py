"""The register apart from the ballot box, part 2 of 3 (data): every ballot's who, how and
when moves into the register; the ballot keeps the day only and gets a random id.

Nothing is lost: each ballot gets exactly one participation (same campaign, voter or
imported voter id, channel, volunteer and time), its choices stay with it (their ballot
id follows through the cascading foreign key on PostgreSQL, explicitly elsewhere), and
receipt hashes, and so the ledger, are untouched. tests/votes/test_register_migration.py
checks ballot counts, tallies and the ledger head of every campaign before and after.

A voter with ballots in two lists of one vote group (possible before the group's rule
was enforced) keeps both ballots: the later participation is left outside the group,
and the migration says how many there were.

Going back is refused while the box holds ballots. Re-runnable: ballots that already have their participation are not copied again, and
renumbering only touches ids below 2**32 (sequence values; random ids are larger but for
one in four billion, which is then renumbered once more, harmlessly). Not reversible with ballots:
once ids are random and the voter is gone from the box, nothing can join them again,
which is the point (going back is allowed only for an empty box).
"""

import datetime
import secrets
import sys
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import migrations
from django.utils import timezone
from django.utils.dateparse import parse_datetime


# Copied outside any group first: the group's unique index would refuse a repeat.
COPY = """
INSERT INTO votes_participation (campaign_id, vote_group_id, voter_id, external_voter_id, channel, volunteer_id,
                                 voted_at, sealed_link)
SELECT b.campaign_id, NULL, b.voter_id, b.external_voter_id, b.channel, b.volunteer_id, b.cast_at, NULL
FROM votes_ballot b
WHERE NOT EXISTS (
    SELECT 1 FROM votes_participation p
    WHERE p.campaign_id = b.campaign_id
      AND (p.voter_id = b.voter_id OR p.external_voter_id = b.external_voter_id)
)
ORDER BY b.cast_at, b.id
"""

# Then each voter's first participation in a group joins it (imported ones all do: they
# have no voter, and the group's rule is about voters).
JOIN_GROUPS = """
UPDATE votes_participation SET vote_group_id = (
    SELECT c.vote_group_id FROM votes_campaign c WHERE c.id = votes_participation.campaign_id
)
WHERE vote_group_id IS NULL AND id IN (
    SELECT id FROM (
        SELECT p.id, p.voter_id,
               row_number() OVER (PARTITION BY c.vote_group_id, p.voter_id ORDER BY p.voted_at, p.id) AS n
        FROM votes_participation p JOIN votes_campaign c ON c.id = p.campaign_id
        WHERE c.vote_group_id IS NOT NULL
          AND NOT EXISTS (
              SELECT 1 FROM votes_participation q
              WHERE q.vote_group_id = c.vote_group_id AND q.voter_id = p.voter_id
          )
    ) ranked WHERE n = 1 OR voter_id IS NULL
)
"""

OUTSIDE_GROUPS = """
SELECT count(*) FROM votes_participation p JOIN votes_campaign c ON c.id = p.campaign_id
WHERE c.vote_group_id IS NOT NULL AND p.vote_group_id IS NULL
"""

RENUMBER_PG = """
CREATE TEMP TABLE ballot_renumber ON COMMIT DROP AS
SELECT id AS old_id,
       (('x' || substr(md5(random()::text || id::text || clock_timestamp()::text), 1, 16))::bit(64)::bigint
        & 9223372036854775807) AS new_id
FROM votes_ballot WHERE id < 4294967296;
UPDATE votes_ballot b SET id = r.new_id FROM ballot_renumber r WHERE b.id = r.old_id;
"""


def forward(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute(COPY)
        cursor.execute(JOIN_GROUPS)
        cursor.execute(OUTSIDE_GROUPS)
        (outside,) = cursor.fetchone()
        if outside:
            sys.stdout.write(f"\n  {outside} ballot(s) in a second list of one vote kept, outside the vote's rule\n")
        if connection.vendor == "postgresql":
            cursor.execute(
                "UPDATE votes_ballot SET cast_on = (cast_at AT TIME ZONE %s)::date WHERE cast_on IS NULL",
                [settings.TIME_ZONE],
            )
            cursor.execute(RENUMBER_PG)
            return
        # SQLite (development): row by row; choices first, their key is checked at commit.
        cursor.execute("SELECT id, cast_at FROM votes_ballot WHERE cast_on IS NULL OR id < 4294967296")
        for old_id, cast_at in cursor.fetchall():
            moment = parse_datetime(cast_at) if isinstance(cast_at, str) else cast_at
            if timezone.is_naive(moment):
                moment = moment.replace(tzinfo=datetime.UTC)
            new_id = secrets.randbits(63) or 1
            cursor.execute("UPDATE votes_ballotchoice SET ballot_id = %s WHERE ballot_id = %s", [new_id, old_id])
            cursor.execute(
                "UPDATE votes_ballot SET id = %s, cast_on = %s WHERE id = %s",
                [new_id, moment.astimezone(ZoneInfo(settings.TIME_ZONE)).date(), old_id],
            )


def backward(apps, schema_editor):
    # An empty box (a fresh database, a test) can go back; ballots cannot be re-joined.
    if apps.get_model("votes", "Ballot").objects.exists():
        raise migrations.exceptions.IrreversibleError(
            "votes.0009: ballots no longer name their voters; the register cannot be joined to the box again"
        )


class Migration(migrations.Migration):
    dependencies = [("votes", "0008_register_apart_from_ballot_box")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
