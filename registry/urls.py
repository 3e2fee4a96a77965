from django.urls import path

from registry.views import portfolio, token_admin

urlpatterns = [
    path("portfolio/", portfolio.portfolio, name="portfolio"),
    path(
        "issuers/<slug:slug>/offerings/<uuid:public_id>/token/",
        token_admin.token_admin,
        name="token_admin",
    ),
    path(
        "issuers/<slug:slug>/offerings/<uuid:public_id>/token/holders/<uuid:investor_id>/",
        token_admin.token_admin_holder,
        name="token_admin_holder",
    ),
    path(
        "issuers/<slug:slug>/token-actions/<uuid:action_id>/", token_admin.token_admin_action, name="token_admin_action"
    ),
    path(
        "issuers/<slug:slug>/token-actions/<uuid:action_id>/progress/",
        token_admin.token_admin_action_progress,
        name="token_admin_action_progress",
    ),
    path(
        "issuers/<slug:slug>/token-actions/<uuid:action_id>/decide/",
        token_admin.token_admin_action_decide,
        name="token_admin_action_decide",
    ),
    path(
        "issuers/<slug:slug>/token-actions/<uuid:action_id>/document/",
        token_admin.token_admin_action_document,
        name="token_admin_action_document",
    ),
]
