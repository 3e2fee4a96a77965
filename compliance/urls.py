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
        "issuers/<slug:slug>/compliance/investors/<uuid:public_id>/kyc/",
        views.compliance_kyc_decide,
        name="compliance_kyc_decide",
    ),
    path(
        "issuers/<slug:slug>/compliance/investors/<uuid:public_id>/accreditation/<uuid:claim_id>/",
        views.compliance_accreditation_decide,
        name="compliance_accreditation_decide",
    ),
    path(
        "issuers/<slug:slug>/compliance/investors/<uuid:public_id>/hits/<int:hit_id>/",
        views.compliance_hit_decide,
        name="compliance_hit_decide",
    ),
    path(
        "issuers/<slug:slug>/compliance/investors/<uuid:public_id>/owners/<int:owner_id>/",
        views.compliance_owner_decide,
        name="compliance_owner_decide",
    ),
    path(
        "issuers/<slug:slug>/compliance/investors/<uuid:public_id>/wallets/",
        views.compliance_custodial_wallet,
        name="compliance_custodial_wallet",
    ),
    path(
        "issuers/<slug:slug>/compliance/investors/<uuid:public_id>/documents/<uuid:document_id>/",
        views.compliance_document_file,
        name="compliance_document_file",
    ),
    path("compliance/kyc/webhook/<slug:provider>/", views.kyc_webhook, name="kyc_webhook"),
]
