"""The JSON API (v1) of campaigns and ballots, for the volunteers' app and the press."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response

from votes.models import Campaign, Entry


class EntrySerializer(serializers.ModelSerializer):
    title = serializers.CharField(source="proposal.title", read_only=True)
    space = serializers.CharField(source="proposal.space.name", read_only=True)

    class Meta:
        model = Entry
        fields = ["id", "proposal", "title", "space", "cost", "external_id", "position"]


class CampaignSerializer(serializers.ModelSerializer):
    municipality = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    status = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = [
            "id", "title", "municipality", "year", "status", "voting_opens_at", "voting_closes_at",
            "method", "min_choices", "max_choices", "points", "budget", "rule", "winners", "min_age",
        ]

    def get_status(self, campaign: Campaign) -> str:
        phase = campaign.phase()
        return {"voting": "open", "closed": "closed"}.get(phase, "upcoming")


class CampaignDetailSerializer(CampaignSerializer):
    entries = EntrySerializer(many=True, read_only=True)

    class Meta(CampaignSerializer.Meta):
        fields = [*CampaignSerializer.Meta.fields, "entries"]


class CampaignListView(generics.ListAPIView):
    serializer_class = CampaignSerializer

    def get_queryset(self):
        queryset = Campaign.objects.select_related("municipality")
        municipality = self.request.query_params.get("municipality")
        if municipality:
            queryset = queryset.filter(municipality__slug=municipality)
        status = self.request.query_params.get("status")
        now = timezone.now()
        if status == "open":
            queryset = queryset.open(now)
        elif status == "upcoming":
            queryset = queryset.upcoming(now)
        elif status == "closed":
            queryset = queryset.closed(now)
        return queryset.order_by("-voting_opens_at", "-pk")


class CampaignDetailView(generics.RetrieveAPIView):
    serializer_class = CampaignDetailSerializer
    queryset = Campaign.objects.select_related("municipality").prefetch_related(
        "entries__proposal__space"
    )


# --- Results (counting) ---


class ResultEntrySerializer(serializers.Serializer):
    entry = serializers.IntegerField()
    external_id = serializers.CharField()
    votes = serializers.IntegerField()
    score = serializers.FloatField()
    rank = serializers.IntegerField()
    selected = serializers.BooleanField()


class ResultsSerializer(serializers.Serializer):
    campaign = serializers.IntegerField()
    final = serializers.BooleanField()
    computed_at = serializers.DateTimeField()
    ballots = serializers.IntegerField()
    entries = ResultEntrySerializer(many=True)


class CampaignResultsView(generics.GenericAPIView):
    """The stored tally anyone may see: the published final results, or the live
    standings of an open campaign that shows them. 404 when nothing is public."""

    serializer_class = ResultsSerializer
    queryset = Campaign.objects.select_related("municipality")

    @extend_schema(responses={200: ResultsSerializer, 404: None})
    def get(self, request, pk: int):
        from votes.results import public_tally, results_dict

        campaign = get_object_or_404(Campaign, pk=pk)
        tally = public_tally(campaign)
        if tally is None:
            raise Http404
        data = results_dict(campaign, tally)
        fields = ("entry", "external_id", "votes", "score", "rank", "selected")
        return Response(
            {
                "campaign": data["campaign"],
                "final": data["final"],
                "computed_at": data["computed_at"],
                "ballots": data["ballots"],
                "entries": [{k: e[k] for k in fields} for e in data["entries"]],
            }
        )
