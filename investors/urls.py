from django.urls import path

from investors import api, views

urlpatterns = [
    path("onboarding/", views.onboarding_start, name="onboarding_start"),
    path("onboarding/details/", views.onboarding_details, name="onboarding_details"),
    path("onboarding/owners/", views.onboarding_owners, name="onboarding_owners"),
    path("onboarding/owners/<int:owner_id>/remove/", views.onboarding_owner_remove, name="onboarding_owner_remove"),
    path("onboarding/documents/", views.onboarding_documents, name="onboarding_documents"),
    path(
        "onboarding/documents/<uuid:public_id>/remove/",
        views.onboarding_document_remove,
        name="onboarding_document_remove",
    ),
    path("onboarding/documents/<uuid:public_id>/", views.investor_document_file, name="investor_document_file"),
    path("onboarding/accreditation/", views.onboarding_accreditation, name="onboarding_accreditation"),
    path("onboarding/tax/", views.onboarding_tax, name="onboarding_tax"),
    path("onboarding/wallets/", views.onboarding_wallets, name="onboarding_wallets"),
    path("onboarding/wallets/<int:wallet_id>/remove/", views.onboarding_wallet_remove, name="onboarding_wallet_remove"),
    path("onboarding/status/", views.investor_status_page, name="investor_status"),
    path("account/bank-details/", views.investor_bank_account, name="investor_bank_account"),
]

api_urlpatterns = [
    path("investor/wallets/challenge/", api.WalletChallengeApi.as_view(), name="api_wallet_challenge"),
    path("investor/wallets/link/", api.WalletLinkApi.as_view(), name="api_wallet_link"),
]
