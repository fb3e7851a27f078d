from django.urls import path, re_path

from votes import api

urlpatterns = [
    path("auth/token/", api.TokenView.as_view(), name="auth-token"),
    path("campaigns/", api.CampaignListView.as_view(), name="campaign-list"),
    path("campaigns/<int:pk>/", api.CampaignDetailView.as_view(), name="campaign-detail"),
    path("campaigns/<int:pk>/ballots/", api.BallotCreateView.as_view(), name="campaign-ballots"),
    path("ballots/mine/", api.MyBallotsView.as_view(), name="my-ballots"),
    path("volunteer/ballots/", api.VolunteerBallotView.as_view(), name="volunteer-ballots"),
    path("volunteer/codes/", api.VolunteerCodeView.as_view(), name="volunteer-codes"),
    path("campaigns/<int:pk>/results/", api.CampaignResultsView.as_view(), name="campaign-results"),
    # Last: malformed ids under these prefixes answer JSON, as the schema promises.
    re_path(r"^(?:auth|campaigns|ballots|volunteer)/", api.NotFoundView.as_view()),
]
