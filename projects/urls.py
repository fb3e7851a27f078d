from django.urls import path

from projects import views

app_name = "projects"

urlpatterns = [
    path("proposals/", views.proposal_list, name="proposal_list"),
    path("proposals/<int:pk>/", views.proposal_detail, name="proposal_detail"),
    path("spaces/<int:pk>/", views.space_detail, name="space_detail"),
]

# Discussion under proposals.
urlpatterns += [
    path("proposals/<int:pk>/comments/", views.comment_create, name="comment_create"),
    path("comments/<int:pk>/report/", views.comment_report, name="comment_report"),
]
