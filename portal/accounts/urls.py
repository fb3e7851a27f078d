from django.urls import path

from portal.accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.profile, name="profile"),
    path("votes/", views.my_votes, name="my_votes"),
]
