"""Forms of the residents' pages in the votes app (ideas)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from projects.models import Space
from projects.validators import validate_image_upload


def validate_photo(upload: UploadedFile) -> None:
    """A photo is a real JPEG/PNG/WebP image of a sane size; anything else is refused."""
    validate_image_upload(upload)


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
            validate_photo(item)
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
        label=gettext_lazy("Space"), queryset=Space.objects.none(), required=False,
        empty_label=gettext_lazy("— choose a space —"),
    )
    space_name = forms.CharField(label=gettext_lazy("Name of the new space"), max_length=200, required=False)
    space_kind = forms.ChoiceField(
        label=gettext_lazy("Kind of space"), choices=[("", "—"), *Space.Kind.choices], required=False
    )
    space_address = forms.CharField(label=gettext_lazy("Address"), max_length=300, required=False)
    latitude = forms.DecimalField(
        label=gettext_lazy("Latitude"), max_digits=9, decimal_places=6, required=False,
        validators=[MinValueValidator(Decimal(-90)), MaxValueValidator(Decimal(90))],
        help_text=gettext_lazy("Click the map to fill in, or type the coordinates."),
    )
    longitude = forms.DecimalField(
        label=gettext_lazy("Longitude"), max_digits=9, decimal_places=6, required=False,
        validators=[MinValueValidator(Decimal(-180)), MaxValueValidator(Decimal(180))],
    )
    space_area_m2 = forms.DecimalField(
        label=gettext_lazy("Approximate area, m²"), max_digits=12, decimal_places=2, required=False,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    title = forms.CharField(label=gettext_lazy("What should be done"), max_length=200)
    description = forms.CharField(
        label=gettext_lazy("Describe the idea"), widget=forms.Textarea(attrs={"rows": 6}), max_length=5000
    )
    estimated_cost = forms.DecimalField(
        label=gettext_lazy("Rough cost, ₽"), max_digits=14, decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=gettext_lazy("Your estimate; officials will check it before the vote."),
    )
    photos = MultiplePhotoField(
        label=gettext_lazy("Photos"), help_text=gettext_lazy("Up to 5 photos: JPEG, PNG or WebP.")
    )

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["space"].queryset = Space.objects.filter(municipality_id=campaign.municipality_id)

    def clean(self):
        data = super().clean()
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


