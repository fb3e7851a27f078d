"""What the portal keeps about one resident, as they may ask to see it (152-ФЗ, art. 14).

Reads only. Which votes a resident took part in is not exported here: the register of
participation is being split from the ballot box, and how a resident voted is never
kept with their name (the receipt they were shown is how they check their ballot).
"""

from __future__ import annotations

from typing import Any

from portal.accounts.models import User


def _at(value) -> str | None:
    return value.isoformat() if value is not None else None


def personal_data_of(user: User) -> dict[str, Any]:
    from projects.models import Comment, Proposal

    comments = Comment.objects.by_author(user)
    proposals = Proposal.objects.filter(author=user).select_related("space").order_by("submitted_at", "pk")
    return {
        "account": {
            "email": user.email,
            "full_name": user.full_name,
            "public_name": user.public_label,
            "birth_date": _at(user.birth_date),
            "phone": user.phone,
            "municipality": user.municipality.name if user.municipality is not None else None,
            "identity_verified_at": _at(user.verified_at),
            "date_joined": _at(user.date_joined),
            "last_login": _at(user.last_login),
            "notify_by_email": user.notify_by_email,
            "role": user.role,
        },
        "privacy_consent": {"policy_version": user.privacy_consent_version, "given_at": _at(user.privacy_consent_at)},
        "comments": [
            {
                "proposal": c.proposal.title,
                "written_at": _at(c.created_at),
                "text": c.body,
                "hidden": c.hidden_at is not None,
            }
            for c in comments
        ],
        # Where and when the resident voted (the register); what they chose is not kept
        # with their name, so it cannot be part of their data.
        "votes": [
            {
                "campaign": p.campaign.title,
                "municipality": p.campaign.municipality.name,
                "channel": p.channel,
                "voted_at": _at(p.voted_at),
            }
            for p in user.participations.select_related("campaign__municipality").order_by("voted_at", "pk")
        ],
        "ideas_and_proposals": [
            {"title": p.title, "space": p.space.name, "submitted_at": _at(p.submitted_at), "status": p.status}
            for p in proposals
        ],
    }
