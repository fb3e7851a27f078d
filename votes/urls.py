from django.urls import path

from votes import idea_views, views

app_name = "votes"

urlpatterns = [
    path("campaigns/", views.campaign_list, name="campaign_list"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign_detail"),
]

# Ideas (residents' proposals during a campaign's idea collection).
urlpatterns += [
    path("campaigns/<int:pk>/ideas/new/", idea_views.idea_new, name="idea_new"),
    path("me/ideas/", idea_views.my_ideas, name="my_ideas"),
]
