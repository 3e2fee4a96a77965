from django.urls import path

from compliance import views

urlpatterns = [
    path("onboarding/submit/", views.onboarding_submit_page, name="onboarding_submit"),
    path("issuers/<slug:slug>/compliance/", views.compliance_queue, name="compliance_queue"),
    path(
        "issuers/<slug:slug>/compliance/investors/<uuid:public_id>/",
        views.compliance_investor,
        name="compliance_investor",
    ),
    path(
        "issuers/<slug:slug>/compliance/investors/<uuid:public_id>/decision/",
        views.compliance_application_decide,
        name="compliance_application_decide",
    ),
    path(
        "issuers/<slug:slug>/compliance/investors/<uuid:public_id>/documents/<uuid:document_id>/",
        views.compliance_document_file,
        name="compliance_document_file",
    ),
    # Platform compliance: identity decisions that every issuer and the on-chain registry rely on.
    path("platform/compliance/", views.identity_queue_page, name="identity_queue"),
    path("platform/compliance/investors/<uuid:public_id>/", views.identity_investor, name="identity_investor"),
    path("platform/compliance/investors/<uuid:public_id>/kyc/", views.identity_kyc_decide, name="identity_kyc_decide"),
    path(
        "platform/compliance/investors/<uuid:public_id>/accreditation/<uuid:claim_id>/",
        views.identity_accreditation_decide,
        name="identity_accreditation_decide",
    ),
    path(
        "platform/compliance/investors/<uuid:public_id>/hits/<int:hit_id>/",
        views.identity_hit_decide,
        name="identity_hit_decide",
    ),
    path(
        "platform/compliance/investors/<uuid:public_id>/owners/<int:owner_id>/",
        views.identity_owner_decide,
        name="identity_owner_decide",
    ),
    path(
        "platform/compliance/investors/<uuid:public_id>/wallets/",
        views.identity_custodial_wallet,
        name="identity_custodial_wallet",
    ),
    path(
        "platform/compliance/investors/<uuid:public_id>/documents/<uuid:document_id>/",
        views.identity_document_file,
        name="identity_document_file",
    ),
    path("compliance/kyc/webhook/<slug:provider>/", views.kyc_webhook, name="kyc_webhook"),
]
