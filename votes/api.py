"""The JSON API (v1): campaigns, ballots, and volunteer-assisted ballots.

Every write goes through votes.services (the same `ballot_cast` as the web page); a
`BallotError` becomes {"code", "detail"} with its HTTP status (400 invalid, 403 not
eligible or not open, 409 already voted). Ballot POSTs may carry an Idempotency-Key:
a retry gets the first answer (portal/idempotency).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import authenticate
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, permissions, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from lib.client_address import client_of
from portal.accounts.models import IdentityDocument
from portal.accounts.services import TokenRefused, api_token_issue, api_token_revoke
from portal.accounts.validators import validate_birth_date
from portal.idempotency.services import Answer, IdempotencyError, idempotent, request_text
from portal.replica import reads_from_replica
from projects.models import Municipality
from votes.ballot_campaign import campaign_to_cast
from votes.models import Campaign, Channel, Entry, Participation
from votes.permissions import can_assist
from votes.results import public_tally, results_dict
from votes.services import (
    BIGINT_MAX,
    MAX_POINTS,
    BallotError,
    CastBallot,
    ballot_cast,
    desk_phone_code_send,
    volunteer_ballot_cast,
)
from votes.throttles import AuthAccountThrottle, AuthIPThrottle, BallotThrottle

CAMPAIGN_STATUSES = ["open", "upcoming", "closed"]

# --- Serializers ----------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, for people.")
    code = serializers.CharField(required=False, help_text="Stable machine-readable reason, e.g. already_voted.")
    errors = serializers.DictField(  # type: ignore[assignment]  # a field named like Serializer.errors
        required=False, child=serializers.JSONField(), help_text="Field errors of a malformed request."
    )


class EntrySerializer(serializers.ModelSerializer):
    title = serializers.CharField(source="proposal.title", read_only=True)
    space = serializers.CharField(source="proposal.space.name", read_only=True)

    class Meta:
        model = Entry
        fields = ["id", "proposal", "title", "space", "cost", "external_id", "position"]


class CampaignSerializer(serializers.ModelSerializer):
    municipality: serializers.SlugRelatedField[Municipality] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    status = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = [
            "id", "title", "municipality", "year", "status", "voting_opens_at", "voting_closes_at",
            "method", "min_choices", "max_choices", "points", "budget", "rule", "winners", "min_age",
            "residence_scope",
        ]  # fmt: skip

    @extend_schema_field(serializers.ChoiceField(choices=CAMPAIGN_STATUSES))
    def get_status(self, campaign: Campaign) -> str:
        phase = campaign.phase()
        return {"voting": "open", "closed": "closed"}.get(phase, "upcoming")


class CampaignDetailSerializer(CampaignSerializer):
    entries = EntrySerializer(many=True, read_only=True)

    class Meta(CampaignSerializer.Meta):
        fields = [*CampaignSerializer.Meta.fields, "entries"]


class ChoiceInputSerializer(serializers.Serializer):
    entry = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX)
    points = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_POINTS,
        help_text="Points (cumulative) or rank, 1 = first (ranking). Leave out for choose-1, approval, basket.",
    )


class BallotRequestSerializer(serializers.Serializer):
    choices = ChoiceInputSerializer(many=True, min_length=1, max_length=500)  # type: ignore[call-arg]  # ListSerializer's


class BallotReceiptSerializer(serializers.Serializer):
    receipt = serializers.CharField(help_text="Shown once: keep it to find your ballot on the public ledger.")
    receipt_hash = serializers.CharField(help_text="sha256 of the receipt, as listed on the ledger.")
    cast_at = serializers.DateTimeField()


class MyParticipationSerializer(serializers.ModelSerializer):
    """Where and when the caller voted; never what (the ballot box keeps no voter)."""

    cast_at = serializers.DateTimeField(source="voted_at")

    class Meta:
        model = Participation
        fields = ["campaign", "channel", "cast_at"]


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class MunicipalitySlugField(serializers.SlugRelatedField):
    """A municipality by slug; what is not a slug is refused before it reaches the
    database (a NUL byte in a query is a PostgreSQL error, not a miss)."""

    def to_internal_value(self, data):
        if not isinstance(data, str) or not re.fullmatch(r"[-a-zA-Z0-9_]{1,100}", data):
            self.fail("does_not_exist", slug_name=self.slug_field, value=str(data)[:100])
        return super().to_internal_value(data)


class VolunteerBallotRequestSerializer(serializers.Serializer):
    campaign = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX)
    phone = serializers.CharField(max_length=32, help_text="The resident's mobile number, e.g. +7 912 345-67-89.")
    full_name = serializers.CharField(max_length=200)
    birth_date = serializers.DateField(validators=[validate_birth_date])
    municipality = MunicipalitySlugField(slug_field="slug", queryset=Municipality.objects.all())
    document_type = serializers.ChoiceField(choices=IdentityDocument.choices, help_text="The document checked.")
    document_number = serializers.CharField(
        max_length=32, help_text="Its series and number: not stored, only a keyed fingerprint."
    )
    code = serializers.RegexField(
        r"^[0-9]{6}$",
        required=False,
        allow_blank=True,
        help_text="The code the resident received by SMS (POST volunteer/codes/ first); "
        "needed unless the phone is verified on the portal.",
    )
    choices = ChoiceInputSerializer(many=True, min_length=1, max_length=500)  # type: ignore[call-arg]  # ListSerializer's


class VolunteerCodeRequestSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=32, help_text="The resident's mobile number.")


class VolunteerCodeSerializer(serializers.Serializer):
    sent = serializers.BooleanField()
    expires_in = serializers.IntegerField(help_text="Seconds the code stays valid.")


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    pattern=r"^[!-~]{16,255}$",
    description=(
        "A random key (e.g. a UUID) per ballot. A retry with the same key and body gets the first answer "
        "again (header Idempotent-Replayed: true) for a day; the same key with another body is a 422."
    ),
)
IDEMPOTENCY_RESPONSES = {
    422: OpenApiResponse(ErrorSerializer, description="The Idempotency-Key was used for another request."),
}

ERROR_RESPONSES = {
    400: OpenApiResponse(ErrorSerializer, description="Malformed request or invalid ballot."),
    401: OpenApiResponse(ErrorSerializer, description="Not logged in."),
    403: OpenApiResponse(ErrorSerializer, description="Not eligible, or the campaign is not open."),
    404: OpenApiResponse(ErrorSerializer, description="No such campaign."),
    409: OpenApiResponse(ErrorSerializer, description="Already voted in this campaign."),
    429: OpenApiResponse(ErrorSerializer, description="Too many requests; retry after the Retry-After header."),
}

PAGE_NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such page of results.")


def _error(error: BallotError) -> Response:
    body: dict[str, object] = {"code": error.code, "detail": str(error.message)}
    if error.http_status == status.HTTP_400_BAD_REQUEST:
        body["errors"] = {"choices": [str(error.message)]}
    return Response(body, status=error.http_status)


def _malformed(serializer: serializers.Serializer) -> Response:
    return Response(
        {"code": "malformed_request", "detail": str(_("The request is malformed.")), "errors": serializer.errors},
        status=status.HTTP_400_BAD_REQUEST,
    )


_CAST_AT = serializers.DateTimeField()  # as BallotReceiptSerializer writes it, without building one per ballot


def _receipt(cast: CastBallot) -> Response:
    body = {
        "receipt": cast.receipt,
        "receipt_hash": cast.ballot.receipt_hash,
        "cast_at": _CAST_AT.to_representation(cast.cast_at),
    }
    return Response(body, status=status.HTTP_201_CREATED)


def _choices(validated: list[dict]) -> list[tuple[int, int | None]]:
    return [(choice["entry"], choice.get("points")) for choice in validated]


_CHOICE_KEYS = frozenset({"entry", "points"})


def _plain_choices(data: object) -> list[tuple[int, int | None]] | None:
    """The choices of a body in the plainest form BallotRequestSerializer accepts, read
    without building the serializer (its fields are deep-copied per instance, a sixth of
    a ballot's CPU); None for anything else, which the serializer then reads or refuses
    with its own messages. Same result as the serializer on what it returns."""
    if type(data) is not dict or len(data) != 1:
        return None
    choices = data.get("choices")
    if type(choices) is not list or not 1 <= len(choices) <= 500:
        return None
    plain: list[tuple[int, int | None]] = []
    for choice in choices:
        if type(choice) is not dict or not choice.keys() <= _CHOICE_KEYS:
            return None
        entry, points = choice.get("entry"), choice.get("points")
        if type(entry) is not int or not 1 <= entry <= BIGINT_MAX:
            return None
        if points is not None and (type(points) is not int or not 1 <= points <= MAX_POINTS):
            return None
        plain.append((entry, points))
    return plain


def _idempotent(request, produce: Callable[[], Response]) -> Response:
    """`produce()`, or with an Idempotency-Key header, its first answer for a retry.

    Without the header nothing else happens (no query): the casting path stays as it is.
    """
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return produce()

    def answer() -> Answer:
        response = produce()
        return Answer(status=response.status_code, body=response.data)

    try:
        stored = idempotent(
            user=request.user, key=key, request=request_text(request.method, request.path, request.data), produce=answer
        )
    except IdempotencyError as error:
        return Response({"code": error.code, "detail": str(error.message)}, status=error.http_status)
    return Response(
        stored.body, status=stored.status, headers={"Idempotent-Replayed": "true"} if stored.replayed else None
    )


# --- Views ------------------------------------------------------------------------------


class TokenView(APIView):
    """POST: exchange e-mail and password for an API token (`Authorization: Token <token>`),
    valid for API_TOKEN_TTL_DAYS. DELETE: revoke the caller's token."""

    parser_classes = [JSONParser]
    throttle_classes = [AuthIPThrottle, AuthAccountThrottle]

    def _exchanging(self) -> bool:
        return getattr(self.request, "method", None) == "POST"  # no request while the schema is built

    def get_authenticators(self):
        # Exchanging a password needs no authentication, and an expired token the app
        # still sends along must not stand in the way of getting a new one.
        return [] if self._exchanging() else super().get_authenticators()

    def get_permissions(self):
        return [permissions.AllowAny()] if self._exchanging() else [permissions.IsAuthenticated()]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: TokenSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Wrong e-mail or password."),
            403: OpenApiResponse(ErrorSerializer, description="The account is not verified (code not_verified)."),
            429: ERROR_RESPONSES[429],
        },
        auth=[],
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        if not serializer.is_valid():
            return _malformed(serializer)
        user = authenticate(
            request._request,
            username=serializer.validated_data["email"],
            password=serializer.validated_data["password"],
        )
        if user is None:
            return Response(
                {"code": "invalid_credentials", "detail": str(_("Wrong e-mail or password."))},
                status=status.HTTP_400_BAD_REQUEST,
            )
        try:
            key = api_token_issue(user=user)
        except TokenRefused as refusal:
            return Response({"code": refusal.code, "detail": str(refusal.message)}, status=status.HTTP_403_FORBIDDEN)
        return Response({"token": key})

    @extend_schema(
        request=None,
        responses={204: None, 401: ERROR_RESPONSES[401], 429: ERROR_RESPONSES[429]},
    )
    def delete(self, request):
        api_token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CampaignFilterSerializer(serializers.Serializer):
    """The list's query string, validated before it reaches the database (a slug, one of
    three statuses): anything else is a 400, never a query with a NUL byte in it."""

    municipality = serializers.SlugField(required=False, max_length=100)
    status = serializers.ChoiceField(choices=CAMPAIGN_STATUSES, required=False)


@extend_schema(
    parameters=[
        OpenApiParameter(
            "municipality",
            OpenApiTypes.STR,
            description="Municipality slug, e.g. ekaterinburg.",
            pattern=r"^[-a-zA-Z0-9_]+$",
        ),
        OpenApiParameter("status", OpenApiTypes.STR, enum=CAMPAIGN_STATUSES),
    ],
    responses={200: CampaignSerializer(many=True), 400: ERROR_RESPONSES[400], 404: PAGE_NOT_FOUND},
)
class CampaignListView(generics.ListAPIView):
    serializer_class = CampaignSerializer

    def get_queryset(self):
        queryset = Campaign.objects.select_related("municipality")
        municipality = self.request.query_params.get("municipality")
        if municipality:
            queryset = queryset.filter(municipality__slug=municipality)
        wanted = self.request.query_params.get("status")
        now = timezone.now()
        if wanted == "open":
            queryset = queryset.open(now)
        elif wanted == "upcoming":
            queryset = queryset.upcoming(now)
        elif wanted == "closed":
            queryset = queryset.closed(now)
        return queryset.order_by("-voting_opens_at", "-pk")

    def list(self, request, *args, **kwargs):
        given = {key: request.query_params[key] for key in ("municipality", "status") if request.query_params.get(key)}
        filters = CampaignFilterSerializer(data=given)
        if not filters.is_valid():
            if "status" in filters.errors:
                message = str(_("Use open, upcoming or closed."))
                errors = {**filters.errors, "status": [message]}
                code = "invalid_status"
            else:
                message, errors, code = str(_("Invalid filter.")), filters.errors, "malformed_request"
            return Response({"code": code, "detail": message, "errors": errors}, status=status.HTTP_400_BAD_REQUEST)
        return super().list(request, *args, **kwargs)


@extend_schema(responses={200: CampaignDetailSerializer, 404: ERROR_RESPONSES[404]})
class CampaignDetailView(generics.RetrieveAPIView):
    serializer_class = CampaignDetailSerializer
    queryset = Campaign.objects.select_related("municipality").prefetch_related(
        Prefetch("entries", Entry.objects.select_related("proposal__space").order_by("position", "pk"))
    )


class BallotCreateView(APIView):
    """Cast the caller's ballot in a campaign."""

    parser_classes = [JSONParser]
    permission_classes = [permissions.IsAuthenticated]
    throttle_classes = [BallotThrottle]

    @extend_schema(
        operation_id="campaigns_ballots_create",
        request=BallotRequestSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: BallotReceiptSerializer, **ERROR_RESPONSES, **IDEMPOTENCY_RESPONSES},
    )
    def post(self, request, pk: int):
        return _idempotent(request, lambda: self._cast(request, pk))

    def _cast(self, request, pk: int) -> Response:
        campaign = campaign_to_cast(pk)
        if campaign is None:
            raise Http404
        choices = _plain_choices(request.data)
        if choices is None:
            serializer = BallotRequestSerializer(data=request.data)
            if not serializer.is_valid():
                return _malformed(serializer)
            choices = _choices(serializer.validated_data["choices"])
        try:
            cast = ballot_cast(
                campaign=campaign,
                voter=request.user,
                choices=choices,
                channel=Channel.API,
                client=client_of(request),
            )
        except BallotError as error:
            return _error(error)
        return _receipt(cast)


@extend_schema(responses={200: MyParticipationSerializer(many=True), 401: ERROR_RESPONSES[401], 404: PAGE_NOT_FOUND})
class MyBallotsView(generics.ListAPIView):
    """Where and when the caller voted, newest first. The choices are not here: the ballot
    box keeps no voter, and the receipt (shown once) finds a ballot on the public ledger."""

    serializer_class = MyParticipationSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        return Participation.objects.filter(voter_id=self.request.user.pk).order_by("-voted_at", "-pk")


class IsVolunteer(permissions.BasePermission):
    message = _("Only volunteers enter ballots for residents.")

    def has_permission(self, request, view) -> bool:
        return can_assist(request.user)


class VolunteerBallotView(APIView):
    """A volunteer casts the ballot of the resident in front of them (identified by phone)."""

    parser_classes = [JSONParser]
    permission_classes = [permissions.IsAuthenticated, IsVolunteer]
    throttle_classes = [BallotThrottle]

    @extend_schema(
        request=VolunteerBallotRequestSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: BallotReceiptSerializer, **ERROR_RESPONSES, **IDEMPOTENCY_RESPONSES},
    )
    def post(self, request):
        return _idempotent(request, lambda: self._cast(request))

    def _cast(self, request) -> Response:
        serializer = VolunteerBallotRequestSerializer(data=request.data)
        if not serializer.is_valid():
            return _malformed(serializer)
        data = serializer.validated_data
        campaign = campaign_to_cast(data["campaign"])
        if campaign is None:
            raise Http404
        try:
            cast = volunteer_ballot_cast(
                volunteer=request.user,
                campaign=campaign,
                phone=data["phone"],
                full_name=data["full_name"],
                birth_date=data["birth_date"],
                municipality=data["municipality"],
                document_type=data["document_type"],
                document_number=data["document_number"],
                code=data.get("code") or None,
                choices=_choices(data["choices"]),
            )
        except BallotError as error:
            return _error(error)
        return _receipt(cast)


class VolunteerCodeView(APIView):
    """Send the resident at the desk a one-time code by SMS, to prove their phone: they
    read it to the volunteer, who sends it with the ballot (`code`)."""

    parser_classes = [JSONParser]
    permission_classes = [permissions.IsAuthenticated, IsVolunteer]
    throttle_classes = [BallotThrottle]

    @extend_schema(request=VolunteerCodeRequestSerializer, responses={202: VolunteerCodeSerializer, **ERROR_RESPONSES})
    def post(self, request):
        serializer = VolunteerCodeRequestSerializer(data=request.data)
        if not serializer.is_valid():
            return _malformed(serializer)
        try:
            desk_phone_code_send(volunteer=request.user, phone=serializer.validated_data["phone"])
        except BallotError as error:
            return _error(error)
        return Response({"sent": True, "expires_in": settings.PHONE_CODE_TTL_MINUTES * 60}, status=202)


# --- Results (counting) ---


class ResultEntrySerializer(serializers.Serializer):
    entry = serializers.IntegerField()
    external_id = serializers.CharField()
    votes = serializers.IntegerField()
    score = serializers.FloatField()
    rank = serializers.IntegerField()
    selected = serializers.BooleanField()
    selected_by_reserve = serializers.BooleanField(help_text="Funded from a reserve by the reserve rule.")


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
    @method_decorator(reads_from_replica)
    def get(self, request, pk: int):
        campaign = get_object_or_404(Campaign, pk=pk)
        tally = public_tally(campaign)
        if tally is None:
            raise Http404
        data = results_dict(campaign, tally)
        fields = ("entry", "external_id", "votes", "score", "rank", "selected", "selected_by_reserve")
        return Response(
            {
                "campaign": data["campaign"],
                "final": data["final"],
                "computed_at": data["computed_at"],
                "ballots": data["ballots"],
                "entries": [{k: e[k] for k in fields} for e in data["entries"]],
            }
        )


@extend_schema(exclude=True)
class NotFoundView(APIView):
    """A JSON 404 for paths under the ballot API that match no route (e.g. a non-numeric id)."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    def get(self, request, *args, **kwargs):
        raise NotFound()

    post = put = patch = delete = get
