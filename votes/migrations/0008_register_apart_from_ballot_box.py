"""The register apart from the ballot box, part 1 of 3 (schema only).

Creates the register (Participation) beside the ballots, the day a ballot was cast and
the commission's public key, and makes the box's ids plain bigints so that the next
migration can give them random values. On PostgreSQL the composite foreign key from a
choice to its ballot (migration 0002) gains ON UPDATE CASCADE, so a ballot's new id
carries its choices with it.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import votes.models

CHOICE_FOLLOWS_BALLOT = """
ALTER TABLE votes_ballotchoice DROP CONSTRAINT IF EXISTS choice_ballot_same_campaign;
ALTER TABLE votes_ballotchoice ADD CONSTRAINT choice_ballot_same_campaign
    FOREIGN KEY (ballot_id, campaign_id) REFERENCES votes_ballot (id, campaign_id)
    ON DELETE CASCADE ON UPDATE CASCADE;
"""

CHOICE_AS_BEFORE = """
ALTER TABLE votes_ballotchoice DROP CONSTRAINT IF EXISTS choice_ballot_same_campaign;
ALTER TABLE votes_ballotchoice ADD CONSTRAINT choice_ballot_same_campaign
    FOREIGN KEY (ballot_id, campaign_id) REFERENCES votes_ballot (id, campaign_id) ON DELETE CASCADE;
"""


def choice_follows_ballot(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CHOICE_FOLLOWS_BALLOT, params=None)


def choice_as_before(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CHOICE_AS_BEFORE, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("votes", "0007_postgres_vote_group_and_territory_integrity"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Participation",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "external_voter_id",
                    models.CharField(
                        blank=True, max_length=64, null=True, verbose_name="voter id in the imported file"
                    ),
                ),
                (
                    "channel",
                    models.CharField(
                        choices=[
                            ("web", "web"),
                            ("api", "API"),
                            ("volunteer", "with a volunteer"),
                            ("paper", "paper, entered by an official"),
                            ("import", "imported from a file"),
                        ],
                        max_length=16,
                        verbose_name="channel",
                    ),
                ),
                ("voted_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="voted at")),
                (
                    "sealed_link",
                    models.BinaryField(blank=True, editable=False, null=True, verbose_name="sealed link to the ballot"),
                ),
                (
                    "campaign",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="participations",
                        to="votes.campaign",
                        verbose_name="campaign",
                    ),
                ),
                (
                    "volunteer",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="assisted_participations",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="volunteer or official who entered it",
                    ),
                ),
                (
                    "vote_group",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="votes.votegroup",
                        verbose_name="vote",
                    ),
                ),
                (
                    "voter",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="participations",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="voter",
                    ),
                ),
            ],
            options={
                "verbose_name": "participation",
                "verbose_name_plural": "participations",
                "ordering": ["voted_at", "pk"],
            },
        ),
        migrations.AddConstraint(
            model_name="participation",
            constraint=models.UniqueConstraint(fields=("campaign", "voter"), name="participation_one_per_voter"),
        ),
        migrations.AddConstraint(
            model_name="participation",
            constraint=models.UniqueConstraint(
                condition=models.Q(("vote_group__isnull", False)),
                fields=("vote_group", "voter"),
                name="participation_one_per_voter_in_vote",
            ),
        ),
        migrations.AddConstraint(
            model_name="participation",
            constraint=models.UniqueConstraint(
                fields=("campaign", "external_voter_id"), name="participation_one_per_external_voter"
            ),
        ),
        migrations.AddConstraint(
            model_name="participation",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("voter__isnull", False),
                    models.Q(("channel", "import"), ("external_voter_id__isnull", False)),
                    _connector="OR",
                ),
                name="participation_has_voter",
            ),
        ),
        migrations.AddConstraint(
            model_name="participation",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("channel__in", ["volunteer", "paper"]), _negated=True),
                    ("volunteer__isnull", False),
                    _connector="OR",
                ),
                name="participation_assisted_names_helper",
            ),
        ),
        migrations.AddField(
            model_name="ballot",
            name="cast_on",
            field=models.DateField(null=True, verbose_name="day cast"),
        ),
        migrations.AddField(
            model_name="campaign",
            name="commission_public_key",
            field=models.CharField(
                blank=True, default="", editable=False, max_length=64, verbose_name="commission's public key"
            ),
        ),
        migrations.AlterField(
            model_name="ballot",
            name="id",
            field=models.BigIntegerField(
                default=votes.models.ballot_id_new, editable=False, primary_key=True, serialize=False
            ),
        ),
        migrations.RunPython(choice_follows_ballot, choice_as_before, elidable=False),
    ]
