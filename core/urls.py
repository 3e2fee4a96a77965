from django.urls import path

from core import api, views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("dashboard/", views.home, name="home"),
    path("issuers/<slug:slug>/", views.issuer_overview, name="issuer_overview"),
    path("issuers/<slug:slug>/team/", views.issuer_team_page, name="issuer_team"),
    path("issuers/<slug:slug>/team/<int:membership_id>/remove/", views.issuer_team_remove, name="issuer_team_remove"),
    path("issuers/<slug:slug>/audit/", views.issuer_audit_log, name="issuer_audit_log"),
    path("issuers/<slug:slug>/approvals/", views.issuer_approvals, name="issuer_approvals"),
    path(
        "issuers/<slug:slug>/approvals/threshold/",
        views.issuer_four_eyes_threshold,
        name="issuer_four_eyes_threshold",
    ),
    path(
        "issuers/<slug:slug>/approvals/<int:approval_id>/",
        views.issuer_approval_decide,
        name="issuer_approval_decide",
    ),
    path("staff/", views.staff_console, name="staff_console"),
]

api_urlpatterns = [
    path("me/", api.MeApi.as_view(), name="api_me"),
    path("issuers/", api.IssuerListApi.as_view(), name="api_issuer_list"),
    path("issuers/<slug:slug>/team/", api.IssuerTeamApi.as_view(), name="api_issuer_team"),
]
