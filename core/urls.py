from django.urls import path

from core import api, views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("dashboard/", views.home, name="home"),
    path("issuers/<slug:slug>/", views.issuer_overview, name="issuer_overview"),
    path("issuers/<slug:slug>/team/", views.issuer_team_page, name="issuer_team"),
    path("issuers/<slug:slug>/team/<int:membership_id>/remove/", views.issuer_team_remove, name="issuer_team_remove"),
    path(
        "issuers/<slug:slug>/team/invitations/<int:invitation_id>/resend/",
        views.issuer_invitation_resend,
        name="issuer_invitation_resend",
    ),
    path(
        "issuers/<slug:slug>/team/invitations/<int:invitation_id>/revoke/",
        views.issuer_invitation_revoke,
        name="issuer_invitation_revoke",
    ),
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
    path("staff/invitations/", views.staff_invitation_create, name="staff_invitation_create"),
    path(
        "staff/invitations/<int:invitation_id>/resend/", views.staff_invitation_resend, name="staff_invitation_resend"
    ),
    path(
        "staff/invitations/<int:invitation_id>/revoke/", views.staff_invitation_revoke, name="staff_invitation_revoke"
    ),
    path("staff/mfa-reset/", views.staff_mfa_reset, name="staff_mfa_reset"),
    path("invitations/<str:token>/", views.invitation_accept_page, name="invitation_accept"),
    path("two-factor/needed/", views.mfa_required, name="mfa_required"),
    path("notifications/", views.notification_list, name="notification_list"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
    path("notifications/<int:notification_id>/", views.notification_open, name="notification_open"),
]

api_urlpatterns = [
    path("me/", api.MeApi.as_view(), name="api_me"),
    path("issuers/", api.IssuerListApi.as_view(), name="api_issuer_list"),
    path("issuers/<slug:slug>/team/", api.IssuerTeamApi.as_view(), name="api_issuer_team"),
]
