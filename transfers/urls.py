from django.urls import path

from transfers import api, views

urlpatterns = [
    # the holder's own (portfolio)
    path("portfolio/transfers/", views.investor_transfers, name="investor_transfers"),
    path("portfolio/transfers/tokens/<uuid:public_id>/", views.investor_transfer_new, name="investor_transfer_new"),
    path(
        "portfolio/transfers/tokens/<uuid:public_id>/exception/",
        views.investor_request_new,
        name="investor_transfer_request_new",
    ),
    path("portfolio/transfers/<uuid:transfer_id>/", views.investor_transfer, name="investor_transfer"),
    path(
        "portfolio/transfers/<uuid:transfer_id>/confirm/",
        views.investor_transfer_confirm,
        name="investor_transfer_confirm",
    ),
    path(
        "portfolio/transfers/<uuid:transfer_id>/cancel/",
        views.investor_transfer_cancel,
        name="investor_transfer_cancel",
    ),
    path(
        "portfolio/transfer-requests/<uuid:request_id>/",
        views.investor_transfer_request,
        name="investor_transfer_request",
    ),
    path(
        "portfolio/transfer-requests/<uuid:request_id>/withdraw/",
        views.investor_transfer_request_withdraw,
        name="investor_transfer_request_withdraw",
    ),
    # the issuer's
    path("issuers/<slug:slug>/transfer-requests/", views.issuer_transfer_requests, name="issuer_transfer_requests"),
    path(
        "issuers/<slug:slug>/transfer-requests/deciders/",
        views.issuer_transfer_agent_decisions,
        name="issuer_transfer_agent_decisions",
    ),
    path(
        "issuers/<slug:slug>/transfer-requests/<uuid:request_id>/",
        views.issuer_transfer_request,
        name="issuer_transfer_request",
    ),
    path(
        "issuers/<slug:slug>/transfer-requests/<uuid:request_id>/decide/",
        views.issuer_transfer_request_decide,
        name="issuer_transfer_request_decide",
    ),
    path(
        "issuers/<slug:slug>/transfer-requests/<uuid:request_id>/document/",
        views.issuer_transfer_request_document,
        name="issuer_transfer_request_document",
    ),
]

api_urlpatterns = [
    path("transfers/<uuid:transfer_id>/prepare/", api.TransferPrepareApi.as_view(), name="api_transfer_prepare"),
    path("transfers/<uuid:transfer_id>/submitted/", api.TransferSubmittedApi.as_view(), name="api_transfer_submitted"),
]
