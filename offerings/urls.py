from django.urls import path

from offerings import api, views

urlpatterns = [
    path("offerings/", views.offering_list, name="offering_list"),
    path("offerings/<uuid:public_id>/", views.offering_detail, name="offering_detail"),
    path(
        "offerings/<uuid:public_id>/documents/<uuid:document_id>/",
        views.offering_document_file,
        name="offering_document_file",
    ),
    path("offerings/<uuid:public_id>/subscribe/", views.subscription_start, name="subscription_start"),
    path("subscriptions/<uuid:subscription_id>/", views.subscription_status, name="subscription_status"),
    path("subscriptions/<uuid:subscription_id>/sign/", views.subscription_sign, name="subscription_sign"),
    path("subscriptions/<uuid:subscription_id>/pay/", views.subscription_pay, name="subscription_pay"),
    path("subscriptions/<uuid:subscription_id>/cancel/", views.subscription_cancel, name="subscription_cancel"),
    path(
        "subscriptions/<uuid:subscription_id>/reconfirm/", views.subscription_reconfirm, name="subscription_reconfirm"
    ),
    path(
        "subscriptions/<uuid:subscription_id>/agreement.pdf",
        views.subscription_agreement,
        name="subscription_agreement",
    ),
    path("portfolio/", views.portfolio, name="portfolio"),
    path("issuers/<slug:slug>/offerings/", views.issuer_offerings, name="issuer_offerings"),
    path("issuers/<slug:slug>/offerings/new/", views.offering_create, name="offering_create"),
    path("issuers/<slug:slug>/offerings/<uuid:public_id>/edit/", views.offering_edit, name="offering_edit"),
    path(
        "issuers/<slug:slug>/offerings/<uuid:public_id>/documents/",
        views.offering_documents,
        name="offering_documents",
    ),
    path("issuers/<slug:slug>/offerings/<uuid:public_id>/publish/", views.offering_publish, name="offering_publish"),
    path("issuers/<slug:slug>/offerings/<uuid:public_id>/close/", views.offering_close, name="offering_close"),
    path(
        "issuers/<slug:slug>/offerings/<uuid:public_id>/dashboard/",
        views.offering_dashboard,
        name="offering_dashboard",
    ),
    path(
        "issuers/<slug:slug>/offerings/<uuid:public_id>/progress/",
        views.offering_progress_json,
        name="offering_progress_json",
    ),
    path(
        "issuers/<slug:slug>/offerings/<uuid:public_id>/subscriptions/",
        views.offering_subscriptions,
        name="offering_subscriptions",
    ),
    path(
        "issuers/<slug:slug>/subscriptions/<uuid:subscription_id>/reject/",
        views.subscription_reject,
        name="subscription_reject",
    ),
    path("issuers/<slug:slug>/wires/", views.wire_receipts, name="wire_receipts"),
    path("issuers/<slug:slug>/wires/import/", views.wire_import, name="wire_import"),
    path("issuers/<slug:slug>/wires/<int:receipt_id>/resolve/", views.wire_resolve, name="wire_resolve"),
    path("issuers/<slug:slug>/refunds/<int:refund_id>/sent/", views.refund_sent, name="refund_sent"),
    path("issuers/<slug:slug>/refunds/<int:refund_id>/retry/", views.refund_retry, name="refund_retry"),
    path("payments/<str:provider>/webhook/", views.payment_webhook, name="payment_webhook"),
    path("staff/stablecoin/", views.stablecoin_receipts, name="stablecoin_receipts"),
    path(
        "staff/stablecoin/<int:receipt_id>/return/",
        views.stablecoin_receipt_return,
        name="stablecoin_receipt_return",
    ),
]

api_urlpatterns = [
    path("offerings/", api.OfferingListApi.as_view(), name="api_offering_list"),
    path("offerings/<uuid:public_id>/eligibility/", api.EligibilityApi.as_view(), name="api_offering_eligibility"),
    path(
        "offerings/<uuid:public_id>/subscriptions/",
        api.SubscriptionCreateApi.as_view(),
        name="api_subscription_create",
    ),
]
