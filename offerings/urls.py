from django.urls import path

from offerings import api
from offerings.views import investor, issuer, money, public, staff

urlpatterns = [
    path("offerings/", public.offering_list, name="offering_list"),
    path("offerings/<uuid:public_id>/", public.offering_detail, name="offering_detail"),
    path(
        "offerings/<uuid:public_id>/documents/<uuid:document_id>/",
        public.offering_document_file,
        name="offering_document_file",
    ),
    path("offerings/<uuid:public_id>/subscribe/", investor.subscription_start, name="subscription_start"),
    path("subscriptions/<uuid:subscription_id>/", investor.subscription_status, name="subscription_status"),
    path("subscriptions/<uuid:subscription_id>/sign/", investor.subscription_sign, name="subscription_sign"),
    path("subscriptions/<uuid:subscription_id>/pay/", investor.subscription_pay, name="subscription_pay"),
    path("subscriptions/<uuid:subscription_id>/cancel/", investor.subscription_cancel, name="subscription_cancel"),
    path(
        "subscriptions/<uuid:subscription_id>/reconfirm/",
        investor.subscription_reconfirm,
        name="subscription_reconfirm",
    ),
    path(
        "subscriptions/<uuid:subscription_id>/agreement.pdf",
        investor.subscription_agreement,
        name="subscription_agreement",
    ),
    path("issuers/<slug:slug>/offerings/", issuer.issuer_offerings, name="issuer_offerings"),
    path("issuers/<slug:slug>/offerings/new/", issuer.offering_create, name="offering_create"),
    path("issuers/<slug:slug>/offerings/<uuid:public_id>/edit/", issuer.offering_edit, name="offering_edit"),
    path(
        "issuers/<slug:slug>/offerings/<uuid:public_id>/documents/",
        issuer.offering_documents,
        name="offering_documents",
    ),
    path("issuers/<slug:slug>/offerings/<uuid:public_id>/publish/", issuer.offering_publish, name="offering_publish"),
    path("issuers/<slug:slug>/offerings/<uuid:public_id>/close/", issuer.offering_close, name="offering_close"),
    path(
        "issuers/<slug:slug>/offerings/<uuid:public_id>/dashboard/",
        issuer.offering_dashboard,
        name="offering_dashboard",
    ),
    path(
        "issuers/<slug:slug>/offerings/<uuid:public_id>/batches/<int:batch_id>/retry/",
        issuer.mint_batch_retry,
        name="mint_batch_retry",
    ),
    path(
        "issuers/<slug:slug>/offerings/<uuid:public_id>/progress/",
        issuer.offering_progress_json,
        name="offering_progress_json",
    ),
    path(
        "issuers/<slug:slug>/offerings/<uuid:public_id>/subscriptions/",
        issuer.offering_subscriptions,
        name="offering_subscriptions",
    ),
    path(
        "issuers/<slug:slug>/subscriptions/<uuid:subscription_id>/reject/",
        issuer.subscription_reject,
        name="subscription_reject",
    ),
    path("issuers/<slug:slug>/wires/", issuer.wire_receipts, name="wire_receipts"),
    path("issuers/<slug:slug>/wires/import/", issuer.wire_import, name="wire_import"),
    path("issuers/<slug:slug>/wires/<int:receipt_id>/resolve/", issuer.wire_resolve, name="wire_resolve"),
    path("issuers/<slug:slug>/refunds/<int:refund_id>/sent/", issuer.refund_sent, name="refund_sent"),
    path("issuers/<slug:slug>/refunds/<int:refund_id>/retry/", issuer.refund_retry, name="refund_retry"),
    path("issuers/<slug:slug>/cases/", money.payment_cases, name="payment_cases"),
    path("issuers/<slug:slug>/cases/<int:case_id>/resolve/", money.payment_case_resolve, name="payment_case_resolve"),
    path(
        "issuers/<slug:slug>/subscriptions/<uuid:subscription_id>/refund-excess/",
        money.overpayment_refund,
        name="overpayment_refund",
    ),
    path(
        "issuers/<slug:slug>/events/<int:event_id>/reviewed/",
        money.webhook_event_reviewed,
        name="webhook_event_reviewed",
    ),
    path("payments/<str:provider>/webhook/", public.payment_webhook, name="payment_webhook"),
    path("staff/stablecoin/", staff.stablecoin_receipts, name="stablecoin_receipts"),
    path(
        "staff/stablecoin/<int:receipt_id>/return/",
        staff.stablecoin_receipt_return,
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
