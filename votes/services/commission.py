"""The vote commission's key: the only way from a named participation to its ballot.

`commission_key_create` makes the key pair of a campaign before its vote opens, keeps
the public half on the campaign (every participation's link is sealed with it) and
hands the private half back to be written for the commission: it is never stored here.
`participation_link_open` opens the link of one named participation with that private
key (or k of its n shares), for the verification after the close (annulment), and
records who opened which participation and why; it opens nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from portal.audit.services import audit_decision, audit_record
from votes import sealing
from votes.models import Campaign, Participation
from votes.services.errors import CommissionKeyError


def commission_key_create(*, campaign: Campaign, actor=None) -> sealing.KeyPair:
    """A new key pair for `campaign`; its public half is stored, the private one returned."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.ballot_is_frozen():
            # Ballots cast before would have no sealed link, and a new key would not open
            # those cast under the old one.
            raise CommissionKeyError(
                _("Voting has begun: the commission's key is made before the vote opens."), code="voting_begun"
            )
        if campaign.commission_public_key:
            raise CommissionKeyError(_("This campaign already has a commission key."), code="key_exists")
        pair = sealing.keypair_new()
        campaign.commission_public_key = pair.public_hex
        campaign.save(update_fields=["commission_public_key"])
        audit_decision(actor=actor, name="commission_key_create", obj=campaign, before=None)
    return pair


def participation_link_open(*, participation: Participation, key_texts: Iterable[str], reason: str, actor=None) -> str:
    """The receipt hash of the named participation's ballot (its line in the ledger)."""
    if not reason.strip():
        raise CommissionKeyError(_("Say why the link is opened."), code="no_reason")
    campaign = participation.campaign
    if not campaign.commission_public_key:
        raise CommissionKeyError(_("This campaign has no commission key."), code="no_key")
    if participation.sealed_link is None:
        raise CommissionKeyError(_("This participation has no sealed link."), code="no_link")
    try:
        private = sealing.private_from_texts(campaign.pk, key_texts)
    except (sealing.SealingError, ValueError) as error:
        raise CommissionKeyError(str(error), code="wrong_key") from None
    if not sealing.private_matches(private, campaign.commission_public_key):
        raise CommissionKeyError(_("This is not the commission key of this campaign."), code="wrong_key")
    receipt = sealing.link_open(private, bytes(participation.sealed_link))
    with transaction.atomic():
        # Who opened which participation's link, and why; never the ballot it leads to.
        audit_record(
            actor=actor,
            action="action:participation_link_open",
            obj=participation,
            before=None,
            after={"participation": participation.pk, "reason": reason.strip()},
            municipality=campaign.municipality,
        )
    return receipt
