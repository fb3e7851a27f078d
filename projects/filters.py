"""The public catalogue's filters (django-filter)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters import CharFilter, ChoiceFilter, FilterSet, ModelChoiceFilter, NumberFilter

from projects.fields import MoneyField
from projects.models import Municipality, Proposal, Region, Space
from projects.search import Casefold

# The text fields the catalogue's search box looks in.
SEARCHED_FIELDS = ("title", "description", "space__name", "space__address")


class MoneyFilter(NumberFilter):
    """A cost bound typed as people write amounts ("2 500 000")."""

    field_class = MoneyField


# What residents may filter by: the statuses `Proposal.objects.public()` shows.
PUBLIC_STATUSES = [(value, label) for value, label in Proposal.Status.choices if value not in Proposal.HIDDEN_STATUSES]


class ProposalFilterForm(forms.Form):
    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        low, high = cleaned.get("cost_min"), cleaned.get("cost_max")
        if low is not None and high is not None and low > high:
            raise forms.ValidationError(_("The minimum cost is greater than the maximum cost."))
        return cleaned


class ProposalFilter(FilterSet):
    q = CharFilter(
        label=_("Search"),
        method="filter_text",
        max_length=200,
        help_text=_("Words from the title, the description, the name or the address of the space."),
    )
    region = ModelChoiceFilter(
        label=_("Region"),
        field_name="space__municipality__region",
        to_field_name="slug",
        queryset=Region.objects.all(),
        empty_label=_("All regions"),
    )
    municipality = ModelChoiceFilter(
        label=_("Municipality"),
        field_name="space__municipality",
        to_field_name="slug",
        queryset=Municipality.objects.all(),
        empty_label=_("All municipalities"),
    )
    kind = ChoiceFilter(
        label=_("Kind of space"), field_name="space__kind", choices=Space.Kind.choices, empty_label=_("Any kind")
    )
    status = ChoiceFilter(label=_("Status"), choices=PUBLIC_STATUSES, empty_label=_("Any status"))
    year = NumberFilter(
        label=_("Year submitted"), field_name="submitted_at", lookup_expr="year", min_value=2000, max_value=2100
    )
    cost_min = MoneyFilter(label=_("Cost from, ₽"), field_name="estimated_cost", lookup_expr="gte", min_value=0)
    cost_max = MoneyFilter(label=_("Cost up to, ₽"), field_name="estimated_cost", lookup_expr="lte", min_value=0)

    class Meta:
        model = Proposal
        fields: list[str] = []
        form = ProposalFilterForm

    def filter_text(self, queryset: QuerySet[Proposal], name: str, value: str) -> QuerySet[Proposal]:
        """Words in any letter case; on PostgreSQL also Russian word forms ("набережная"
        finds "набережной") through full-text search with the Russian stemmer."""
        value = value.strip()
        if not value:
            return queryset
        if connection.vendor == "postgresql":
            # PostgreSQL's ILIKE folds Cyrillic case; the stemmed match adds the word forms.
            matches = Q(search_document=SearchQuery(value, config="russian", search_type="websearch"))
            for field in SEARCHED_FIELDS:
                matches |= Q(**{f"{field}__icontains": value})
            return queryset.annotate(search_document=SearchVector(*SEARCHED_FIELDS, config="russian")).filter(matches)
        # SQLite's LIKE and lower() fold ASCII only: compare Python's casefold of both sides.
        needle = value.casefold()
        matches = Q()
        for field in SEARCHED_FIELDS:
            matches |= Q(**{f"{field}_folded__contains": needle})
        return queryset.annotate(**{f"{field}_folded": Casefold(field) for field in SEARCHED_FIELDS}).filter(matches)
