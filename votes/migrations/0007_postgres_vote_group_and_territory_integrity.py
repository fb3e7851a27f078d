"""PostgreSQL-level integrity of lists (as migration 0002 does for ballots).

1. A list joins only its own municipality's vote of its own year: (vote_group_id,
   municipality_id, year) must exist in votes_votegroup.
2. A design list decides a territory of its own municipality: (design_space_id,
   municipality_id) must exist in projects_space.

Both are MATCH SIMPLE: a list with no vote group, or no territory, is not checked.
On SQLite the admin's and the services' checks are the guard. Re-runnable.
"""

from django.db import migrations

FORWARD = """
ALTER TABLE votes_campaign DROP CONSTRAINT IF EXISTS campaign_vote_group_same_municipality_year;
ALTER TABLE votes_campaign ADD CONSTRAINT campaign_vote_group_same_municipality_year
    FOREIGN KEY (vote_group_id, municipality_id, year) REFERENCES votes_votegroup (id, municipality_id, year);
ALTER TABLE votes_campaign DROP CONSTRAINT IF EXISTS campaign_design_space_same_municipality;
ALTER TABLE votes_campaign ADD CONSTRAINT campaign_design_space_same_municipality
    FOREIGN KEY (design_space_id, municipality_id) REFERENCES projects_space (id, municipality_id);
"""

BACKWARD = """
ALTER TABLE votes_campaign DROP CONSTRAINT IF EXISTS campaign_design_space_same_municipality;
ALTER TABLE votes_campaign DROP CONSTRAINT IF EXISTS campaign_vote_group_same_municipality_year;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("votes", "0006_vote_groups_and_design_lists")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
