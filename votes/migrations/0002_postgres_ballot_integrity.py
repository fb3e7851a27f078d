"""PostgreSQL-level integrity that Django's constraints cannot express.

1. Composite foreign keys: a choice must name an entry *of the same campaign* as its
   ballot. The choice repeats campaign_id; (entry_id, campaign_id) must exist in
   votes_entry and (ballot_id, campaign_id) in votes_ballot.
2. No ballot after the close: a trigger refuses a ballot (other than an imported one)
   whose campaign is closed or outside its voting window, and stamps cast_at with the
   database clock. It reads the campaign row FOR KEY SHARE: many ballots can hold that
   lock at once (casting is not serialised), while `campaign_close` takes FOR UPDATE,
   which waits for ballots in flight and makes later ones see closed_at.

On SQLite (the embedded development database) the services' checks are the guard.
Re-runnable: every statement drops what it creates first.
"""

from django.db import migrations

FORWARD = """
ALTER TABLE votes_ballotchoice DROP CONSTRAINT IF EXISTS choice_entry_same_campaign;
ALTER TABLE votes_ballotchoice ADD CONSTRAINT choice_entry_same_campaign
    FOREIGN KEY (entry_id, campaign_id) REFERENCES votes_entry (id, campaign_id);
ALTER TABLE votes_ballotchoice DROP CONSTRAINT IF EXISTS choice_ballot_same_campaign;
ALTER TABLE votes_ballotchoice ADD CONSTRAINT choice_ballot_same_campaign
    FOREIGN KEY (ballot_id, campaign_id) REFERENCES votes_ballot (id, campaign_id) ON DELETE CASCADE;

CREATE OR REPLACE FUNCTION votes_ballot_within_voting_window() RETURNS trigger AS $$
DECLARE
    c RECORD;
BEGIN
    IF NEW.channel = 'import' THEN
        RETURN NEW;
    END IF;
    SELECT closed_at, voting_opens_at, voting_closes_at INTO c
        FROM votes_campaign WHERE id = NEW.campaign_id FOR KEY SHARE;
    NEW.cast_at := clock_timestamp();
    IF c.closed_at IS NOT NULL OR NEW.cast_at >= c.voting_closes_at OR NEW.cast_at < c.voting_opens_at THEN
        RAISE EXCEPTION 'campaign % is not open for ballots', NEW.campaign_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ballot_within_voting_window';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS ballot_within_voting_window ON votes_ballot;
CREATE TRIGGER ballot_within_voting_window BEFORE INSERT OR UPDATE OF campaign_id, cast_at ON votes_ballot
    FOR EACH ROW EXECUTE FUNCTION votes_ballot_within_voting_window();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS ballot_within_voting_window ON votes_ballot;
DROP FUNCTION IF EXISTS votes_ballot_within_voting_window();
ALTER TABLE votes_ballotchoice DROP CONSTRAINT IF EXISTS choice_ballot_same_campaign;
ALTER TABLE votes_ballotchoice DROP CONSTRAINT IF EXISTS choice_entry_same_campaign;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("votes", "0001_initial")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
