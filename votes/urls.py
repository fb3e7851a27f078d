from django.urls import path

from votes import views

app_name = "votes"

urlpatterns = [
    path("campaigns/", views.campaign_list, name="campaign_list"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:pk>/ballot/", views.ballot, name="ballot"),
    path("campaigns/<int:pk>/ballot/receipt/", views.ballot_receipt, name="ballot_receipt"),
    path("volunteer/", views.volunteer_desk, name="volunteer_desk"),
    path("commission/", views.commission_index, name="commission"),
    path("commission/campaigns/<int:pk>/verification/", views.verification, name="verification"),
    path("volunteer/receipt/", views.volunteer_receipt, name="volunteer_receipt"),
    path("campaigns/<int:pk>/results/", views.campaign_results, name="campaign_results"),
    path("campaigns/<int:pk>/results.csv", views.results_csv, name="results_csv"),
    path("campaigns/<int:pk>/results.xlsx", views.results_xlsx, name="results_xlsx"),
    path("campaigns/<int:pk>/results.json", views.results_json, name="results_json"),
    path("campaigns/<int:pk>/results.pb", views.results_pb, name="results_pb"),
    path("campaigns/<int:pk>/ledger.jsonl", views.ledger_download, name="ledger_download"),
    path("campaigns/<int:pk>/protocol.pdf", views.protocol_download, name="protocol"),
    path("campaigns/<int:pk>/ledger/", views.ledger_lookup, name="ledger_lookup"),
]

# Ideas (residents' proposals during a campaign's idea collection).
urlpatterns += [
    path("campaigns/<int:pk>/ideas/new/", views.idea_new, name="idea_new"),
    path("me/ideas/", views.my_ideas, name="my_ideas"),
]

# The widget that municipal websites frame.
urlpatterns += [path("embed/<slug:slug>/", views.embed, name="embed")]
