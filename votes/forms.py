"""Forms of the votes pages: the ballot (one shape per method), the volunteer's resident
form, and a resident's idea.

The ballot form only turns widgets into (entry_id, points) pairs and asks
`services.ballot_validate` whether they make a valid ballot; the rules live there.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django import forms
from django.core import signing
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext, gettext_lazy, ngettext
from django.utils.translation import gettext_lazy as _

from lib.money import rubles
from portal.accounts.models import IdentityDocument
from portal.accounts.phones import InvalidPhone, phone_normalise
from portal.accounts.validators import validate_birth_date
from projects.fields import MoneyField
from projects.models import Municipality, Space
from projects.validators import validate_image_upload
from votes import rules
from votes.models import Campaign, Entry
from votes.services import InvalidBallot, ballot_validate

REVIEW_SIGNING_SALT = "votes.ballot.confirm"
REVIEW_MAX_AGE = 30 * 60  # seconds a reviewed ballot may wait for its confirmation


def ballot_token(*, campaign: Campaign, user_id: int, choices: list[tuple[int, int | None]]) -> str:
    """Signed choices carried from the review page to the confirmation (no server state)."""
    return signing.dumps(
        {"c": campaign.pk, "u": user_id, "x": [list(choice) for choice in choices]}, salt=REVIEW_SIGNING_SALT
    )


def ballot_token_choices(token: str, *, campaign: Campaign, user_id: int) -> list[tuple[int, int | None]] | None:
    """The choices of a token signed for this campaign and user, or None (tampered, expired, foreign)."""
    try:
        data = signing.loads(token, salt=REVIEW_SIGNING_SALT, max_age=REVIEW_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("c") != campaign.pk or data.get("u") != user_id:
        return None
    return [(int(entry_id), points) for entry_id, points in data.get("x", [])]


class BallotForm(forms.Form):
    """Radio buttons (choose one), checkboxes (approval, basket), numbers (points), rank selects."""

    def __init__(self, *args, campaign: Campaign, entries: list[Entry], **kwargs):
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        self.entries = entries
        entry_choices = [(entry.pk, entry.proposal.title) for entry in entries]
        method = campaign.method
        if method == rules.CHOOSE_ONE:
            self.fields["entry"] = forms.TypedChoiceField(
                label=_("Your choice"),
                choices=entry_choices,
                coerce=int,
                widget=forms.RadioSelect,
                error_messages={"required": _("Choose one project.")},
            )
        elif method in (rules.APPROVAL, rules.KNAPSACK):
            self.fields["entries"] = forms.TypedMultipleChoiceField(
                label=_("Your choices"),
                choices=entry_choices,
                coerce=int,
                required=False,
                widget=forms.CheckboxSelectMultiple,
            )
        elif method == rules.CUMULATIVE:
            for entry in entries:
                self.fields[f"points_{entry.pk}"] = forms.IntegerField(
                    label=entry.proposal.title,
                    min_value=0,
                    max_value=campaign.points,
                    required=False,
                    widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "points-input"}),
                )
        elif method == rules.ORDINAL:
            places = [("", _("not ranked"))] + [(n, str(n)) for n in range(1, campaign.max_choices + 1)]
            for entry in entries:
                self.fields[f"rank_{entry.pk}"] = forms.TypedChoiceField(
                    label=entry.proposal.title,
                    choices=places,
                    coerce=int,
                    empty_value=None,
                    required=False,
                    widget=forms.Select(attrs={"class": "rank-select"}),
                )

    def instruction(self) -> str:
        campaign = self.campaign
        method = campaign.method
        if method == rules.CHOOSE_ONE:
            return gettext("Choose one project.")
        if method == rules.CUMULATIVE:
            return gettext(
                "Distribute up to %(points)d points among at most %(max)d projects: more points, more support."
            ) % {"points": campaign.points or 0, "max": campaign.max_choices}
        if method == rules.ORDINAL:
            return gettext("Rank from %(min)d to %(max)d projects: 1 is your first choice; each place once.") % {
                "min": campaign.min_choices,
                "max": campaign.max_choices,
            }
        if method == rules.KNAPSACK:
            return gettext(
                "Fill a basket of projects whose total cost fits in the budget of %(budget)s"
                " (from %(min)d to %(max)d projects)."
            ) % {
                "budget": rubles(campaign.budget),
                "min": campaign.min_choices,
                "max": campaign.max_choices,
            }
        if campaign.min_choices == campaign.max_choices:
            return ngettext("Choose %(n)d project.", "Choose %(n)d projects.", campaign.max_choices) % {
                "n": campaign.max_choices
            }
        return gettext("Choose from %(min)d to %(max)d projects.") % {
            "min": campaign.min_choices,
            "max": campaign.max_choices,
        }

    @classmethod
    def initial_for(cls, campaign: Campaign, choices: list[tuple[int, int | None]]) -> dict:
        """Form values for choices already made (coming back from the review page)."""
        method = campaign.method
        if method == rules.CHOOSE_ONE:
            return {"entry": choices[0][0]} if choices else {}
        if method in (rules.APPROVAL, rules.KNAPSACK):
            return {"entries": [entry_id for entry_id, _points in choices]}
        prefix = "points" if method == rules.CUMULATIVE else "rank"
        return {f"{prefix}_{entry_id}": points for entry_id, points in choices}

    def rows(self) -> list[tuple[Entry, forms.BoundField | object]]:
        """Each entry with its input, for the template (one list item per project)."""
        method = self.campaign.method
        if method == rules.CHOOSE_ONE:
            return list(zip(self.entries, self["entry"], strict=True))
        if method in (rules.APPROVAL, rules.KNAPSACK):
            return list(zip(self.entries, self["entries"], strict=True))
        prefix = "points" if method == rules.CUMULATIVE else "rank"
        return [(entry, self[f"{prefix}_{entry.pk}"]) for entry in self.entries]

    def ballot_choices(self) -> list[tuple[int, int | None]]:
        data = self.cleaned_data
        method = self.campaign.method
        if method == rules.CHOOSE_ONE:
            return [(data["entry"], None)] if data.get("entry") is not None else []
        if method in (rules.APPROVAL, rules.KNAPSACK):
            return [(entry_id, None) for entry_id in data.get("entries", [])]
        prefix = "points" if method == rules.CUMULATIVE else "rank"
        choices = []
        for entry in self.entries:
            value = data.get(f"{prefix}_{entry.pk}")
            if value:  # 0 points or "not ranked" is no choice
                choices.append((entry.pk, value))
        return choices

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            try:
                ballot_validate(campaign=self.campaign, choices=self.ballot_choices())
            except InvalidBallot as error:
                raise forms.ValidationError(str(error.message), code=error.code) from None
        return cleaned


class ResidentForm(forms.Form):
    """The resident in front of the volunteer, as on their passport."""

    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=32,
        help_text=_("For example +7 912 345-67-89."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    full_name = forms.CharField(
        label=_("Full name"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    birth_date = forms.DateField(
        label=_("Birth date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        validators=[validate_birth_date],
    )
    municipality = forms.ModelChoiceField(label=_("Municipality of residence"), queryset=Municipality.objects.all())
    document_type = forms.ChoiceField(
        label=_("Identity document"), choices=IdentityDocument.choices, initial=IdentityDocument.PASSPORT
    )
    document_number = forms.CharField(
        label=_("Series and number of the document"),
        max_length=32,
        help_text=_("Not stored: only a fingerprint that finds the same document on two accounts."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    code = forms.RegexField(
        label=_("Code from the resident's SMS"),
        regex=r"^[0-9]{6}$",
        required=False,
        help_text=_("Needed when the phone is not verified on the portal: send the code, the resident reads it out."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    passport_checked = forms.BooleanField(
        label=_("I have checked the resident's passport: name, birth date and registration match."), required=True
    )

    def clean_phone(self) -> str:
        try:
            return phone_normalise(self.cleaned_data["phone"])
        except InvalidPhone:
            raise forms.ValidationError(_("Enter a Russian mobile number, e.g. +7 912 345-67-89.")) from None


class DeskPhoneForm(forms.Form):
    """Step one at the desk: the phone the code is sent to."""

    phone = ResidentForm.base_fields["phone"]
    clean_phone = ResidentForm.clean_phone


class MultiplePhotoInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiplePhotoField(forms.FileField):
    widget = MultiplePhotoInput

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)
        self.widget.attrs.setdefault("accept", "image/jpeg,image/png,image/webp")

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        cleaned = [super(MultiplePhotoField, self).clean(item, initial) for item in files]
        for item in cleaned:
            validate_image_upload(item)
        return cleaned


class IdeaForm(forms.Form):
    """An idea for an existing space of the campaign's municipality, or for a new one."""

    TARGET_EXISTING = "existing"
    TARGET_NEW = "new"

    target = forms.ChoiceField(
        label=gettext_lazy("The idea is for"),
        choices=[(TARGET_EXISTING, gettext_lazy("an existing space")), (TARGET_NEW, gettext_lazy("a new space"))],
        widget=forms.RadioSelect,
        initial=TARGET_EXISTING,
    )
    space = forms.ModelChoiceField(
        label=gettext_lazy("Space"),
        queryset=Space.objects.none(),
        required=False,
        empty_label=gettext_lazy("— choose a space —"),
    )
    space_name = forms.CharField(label=gettext_lazy("Name of the new space"), max_length=200, required=False)
    space_kind = forms.ChoiceField(
        label=gettext_lazy("Kind of space"), choices=[("", "—"), *Space.Kind.choices], required=False
    )
    space_address = forms.CharField(label=gettext_lazy("Address"), max_length=300, required=False)
    latitude = forms.DecimalField(
        label=gettext_lazy("Latitude"),
        max_digits=9,
        decimal_places=6,
        required=False,
        validators=[MinValueValidator(Decimal(-90)), MaxValueValidator(Decimal(90))],
        help_text=gettext_lazy("Click the map to fill in, or type the coordinates."),
    )
    longitude = forms.DecimalField(
        label=gettext_lazy("Longitude"),
        max_digits=9,
        decimal_places=6,
        required=False,
        validators=[MinValueValidator(Decimal(-180)), MaxValueValidator(Decimal(180))],
    )
    space_area_m2 = forms.DecimalField(
        label=gettext_lazy("Approximate area, m²"),
        max_digits=12,
        decimal_places=2,
        required=False,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    title = forms.CharField(label=gettext_lazy("What should be done"), max_length=200)
    description = forms.CharField(
        label=gettext_lazy("Describe the idea"), widget=forms.Textarea(attrs={"rows": 6}), max_length=5000
    )
    estimated_cost = MoneyField(
        label=gettext_lazy("Rough cost, ₽"),
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=gettext_lazy("Your estimate; officials will check it before the vote."),
    )
    photos = MultiplePhotoField(
        label=gettext_lazy("Photos"), help_text=gettext_lazy("Up to 5 photos: JPEG, PNG or WebP.")
    )

    def __init__(self, *args: Any, campaign: Campaign, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.space_field.queryset = Space.objects.public().filter(municipality_id=campaign.municipality_id)

    @property
    def space_field(self) -> forms.ModelChoiceField:
        return cast(forms.ModelChoiceField, self.fields["space"])

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("target") == self.TARGET_EXISTING:
            if not data.get("space"):
                self.add_error("space", _("Choose the space."))
        elif data.get("target") == self.TARGET_NEW:
            for name in ("space_name", "space_kind", "space_address", "latitude", "longitude", "space_area_m2"):
                if data.get(name) in (None, ""):
                    self.add_error(name, _("Needed for a new space."))
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        kwargs = {
            "title": data["title"],
            "description": data["description"],
            "estimated_cost": data["estimated_cost"],
            "photos": data.get("photos") or [],
        }
        if data["target"] == self.TARGET_EXISTING:
            kwargs["space"] = data["space"]
        else:
            kwargs["new_space"] = {
                "name": data["space_name"].strip(),
                "kind": data["space_kind"],
                "address": data["space_address"].strip(),
                "latitude": data["latitude"],
                "longitude": data["longitude"],
                "area_m2": data["space_area_m2"],
            }
        return kwargs
