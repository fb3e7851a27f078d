from django import forms
from django.contrib.auth.forms import AdminUserCreationForm as DjangoAdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm
from django.urls import reverse_lazy
from django.utils.text import format_lazy
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
    public_name = forms.CharField(
        label=_("Public name"),
        required=False,
        max_length=60,
        help_text=_(
            "How your comments and ideas are signed. Left empty: your first name and the initial of your last "
            "name. Your full name is never shown to the public."
        ),
    )
    phone = forms.CharField(
        label=_("Mobile phone"),
        required=False,
        max_length=32,
        help_text=_(
            "Optional. Once you confirm it with the code we send by SMS, a volunteer can find your account by it."
        ),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )

    def __init__(self, *args, eligibility_from_provider: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if eligibility_from_provider:
            # The identity provider's claims stand: shown, never taken from the form.
            for name in ("birth_date", "municipality"):
                self.fields[name].disabled = True
                self.fields[name].help_text = _("From the identity provider; it cannot be changed here.")

    def clean_phone(self) -> str | None:
        raw = self.cleaned_data.get("phone", "").strip()
        if not raw:
            return None
        try:
            return phone_normalise(raw)
        except InvalidPhone:
            raise forms.ValidationError(_("Enter a Russian mobile number, e.g. +7 912 345-67-89.")) from None


class PhoneCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the SMS"),
        min_length=6,
        max_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]{6}"}),
    )


class EligibilityCorrectionForm(forms.Form):
    """An official corrects a resident's birth date or municipality, saying why."""

    birth_date = forms.DateField(
        label=_("Birth date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        validators=[validate_birth_date],
    )
    municipality = forms.ModelChoiceField(
        label=_("Municipality of residence"),
        queryset=Municipality.objects.select_related("region").order_by("region__name", "name"),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What document or request the correction rests on. It is kept in the audit log."),
    )

    def __init__(self, *args, municipalities=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if municipalities is not None:
            self.fields["municipality"].queryset = municipalities  # type: ignore[attr-defined]


class SignupConsentForm(forms.Form):
    """allauth's sign-up with the consent 152-ФЗ requires (ACCOUNT_SIGNUP_FORM_CLASS):
    given by ticking, never ticked in advance, recorded with the policy's version."""

    privacy_consent = forms.BooleanField(
        required=True,
        label_suffix="",
        label=_("I consent to the processing of my personal data under the privacy policy"),
        error_messages={"required": _("Without the consent to personal-data processing an account cannot be made.")},
        # Django's form rendering leaves help texts unescaped: the link is ours, not input.
        help_text=format_lazy(
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            reverse_lazy("privacy"),
            _("Read the privacy policy: what is stored, why, for how long, who sees it"),
        ),
    )

    def signup(self, request, user) -> None:
        from portal.accounts.services import user_privacy_consent_record

        user_privacy_consent_record(user=user)


class AccountEraseForm(forms.Form):
    confirm = forms.BooleanField(
        required=True,
        label_suffix="",
        label=_("I understand: my account and my personal data will be deleted, and this cannot be undone"),
    )
