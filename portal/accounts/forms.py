from django import forms
from django.contrib.auth.forms import AdminUserCreationForm as DjangoAdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm
from django.utils.translation import gettext_lazy as _

from portal.accounts.models import User
from portal.accounts.phones import InvalidPhone, phone_normalise
from portal.accounts.validators import validate_birth_date
from projects.models import Municipality


class AdminUserCreationForm(DjangoAdminUserCreationForm):
    class Meta:
        model = User
        fields = ["email"]


class AdminUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class ProfileForm(forms.Form):
    """What eligibility reads: who the resident is and where they live."""

    full_name = forms.CharField(
        label=_("Full name"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    birth_date = forms.DateField(
        label=_("Birth date"),
        help_text=_("Residents vote from the age the campaign sets (usually 14)."),
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}, format="%Y-%m-%d"),
        validators=[validate_birth_date],
    )
    municipality = forms.ModelChoiceField(
        label=_("Municipality of residence"),
        help_text=_("You vote on the list of the town or district where you live."),
        queryset=Municipality.objects.select_related("region").order_by("region__name", "name"),
    )
    phone = forms.CharField(
        label=_("Mobile phone"),
        required=False,
        max_length=32,
        help_text=_("Optional. A volunteer can find your account by it."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )

    def clean_phone(self) -> str | None:
        raw = self.cleaned_data.get("phone", "").strip()
        if not raw:
            return None
        try:
            return phone_normalise(raw)
        except InvalidPhone:
            raise forms.ValidationError(_("Enter a Russian mobile number, e.g. +7 912 345-67-89.")) from None
