from django.urls import path

from portal.accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.profile, name="profile"),
    path("phone/", views.phone_verify, name="phone_verify"),
    path("residents/<int:pk>/correct/", views.eligibility_correct, name="eligibility_correct"),
    path("token/revoke/", views.api_token_revoke_view, name="api_token_revoke"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("votes/", views.my_votes, name="my_votes"),
    path("comments/", views.my_comments, name="my_comments"),
    path("data.json", views.my_data, name="my_data"),
    path("delete/", views.account_erase, name="account_erase"),
]
