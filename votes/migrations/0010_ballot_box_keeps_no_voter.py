"""The register apart from the ballot box, part 3 of 3: the box forgets who and when.

The ballot loses its voter, imported voter id, channel, volunteer and time (all now in
the register, migration 0009) and keeps the day it was cast. On PostgreSQL the trigger
that refused a ballot outside the voting window (migration 0002) moves to the register:
a ballot is written in the same statement as its participation, so refusing the
participation refuses the ballot. The trigger also stamps the participation's vote group
from its campaign, so that no insert can step around the rule "one ballot per person in
a vote group", and stamps voted_at with the database clock. Re-runnable.
"""

import django.utils.timezone
from django.db import migrations, models

FORWARD = """
DROP TRIGGER IF EXISTS ballot_within_voting_window ON votes_ballot;
DROP FUNCTION IF EXISTS votes_ballot_within_voting_window();

CREATE OR REPLACE FUNCTION votes_participation_within_voting_window() RETURNS trigger AS $$
DECLARE
    c RECORD;
BEGIN
    -- FOR KEY SHARE: many ballots hold it at once (casting is not serialised), while
    -- campaign_close's FOR UPDATE waits for those in flight and later ones see closed_at.
    SELECT closed_at, voting_opens_at, voting_closes_at, vote_group_id INTO c
        FROM votes_campaign WHERE id = NEW.campaign_id FOR KEY SHARE;
    NEW.vote_group_id := c.vote_group_id;
    IF NEW.channel = 'import' THEN
        RETURN NEW;
    END IF;
    NEW.voted_at := clock_timestamp();
    IF c.closed_at IS NOT NULL OR NEW.voted_at >= c.voting_closes_at OR NEW.voted_at < c.voting_opens_at THEN
        RAISE EXCEPTION 'campaign % is not open for ballots', NEW.campaign_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ballot_within_voting_window';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS participation_within_voting_window ON votes_participation;
CREATE TRIGGER participation_within_voting_window
    BEFORE INSERT OR UPDATE OF campaign_id, voted_at, vote_group_id ON votes_participation
    FOR EACH ROW EXECUTE FUNCTION votes_participation_within_voting_window();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS participation_within_voting_window ON votes_participation;
DROP FUNCTION IF EXISTS votes_participation_within_voting_window();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("votes", "0009_register_filled_from_ballots")]

    operations = [
        migrations.RunPython(forward, backward, elidable=False),
        migrations.AlterModelOptions(
            name="ballot",
            options={"ordering": ["receipt_hash"], "verbose_name": "ballot", "verbose_name_plural": "ballots"},
        ),
        migrations.RemoveConstraint(model_name="ballot", name="ballot_one_per_voter"),
        migrations.RemoveConstraint(model_name="ballot", name="ballot_one_per_external_voter"),
        migrations.RemoveConstraint(model_name="ballot", name="ballot_has_voter"),
        migrations.RemoveConstraint(model_name="ballot", name="ballot_assisted_names_helper"),
        migrations.RemoveField(model_name="ballot", name="cast_at"),
        migrations.RemoveField(model_name="ballot", name="channel"),
        migrations.RemoveField(model_name="ballot", name="external_voter_id"),
        migrations.RemoveField(model_name="ballot", name="volunteer"),
        migrations.RemoveField(model_name="ballot", name="voter"),
        migrations.AlterField(
            model_name="ballot",
            name="cast_on",
            field=models.DateField(default=django.utils.timezone.localdate, verbose_name="day cast"),
        ),
    ]
