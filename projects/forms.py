"""Forms of the public proposal pages: the discussion under a proposal."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from projects.models import Comment, CommentReport


class CommentForm(forms.Form):
    body = forms.CharField(
        label=_("Your comment"),
        max_length=Comment._meta.get_field("body").max_length,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)


class CommentReportForm(forms.Form):
    reason = forms.CharField(
        label=_("What is wrong with this comment?"),
        max_length=CommentReport._meta.get_field("reason").max_length,
    )
