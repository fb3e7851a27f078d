from django.urls import path

from votes import views

app_name = "votes"

urlpatterns = [
    path("campaigns/", views.campaign_list, name="campaign_list"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:pk>/ballot/", views.ballot, name="ballot"),
    path("campaigns/<int:pk>/ballot/receipt/", views.ballot_receipt, name="ballot_receipt"),
    path("volunteer/", views.volunteer_desk, name="volunteer_desk"),
    path("volunteer/receipt/", views.volunteer_receipt, name="volunteer_receipt"),
]
