from django.urls import path

from votes import api

urlpatterns = [
    path("campaigns/", api.CampaignListView.as_view(), name="campaign-list"),
    path("campaigns/<int:pk>/", api.CampaignDetailView.as_view(), name="campaign-detail"),
    path("campaigns/<int:pk>/results/", api.CampaignResultsView.as_view(), name="campaign-results"),
]
