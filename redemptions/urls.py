from django.urls import path

from redemptions import views

DAY = "issuers/<slug:slug>/redemptions/<uuid:day_id>"

urlpatterns = [
    path(
        "issuers/<slug:slug>/offerings/<uuid:public_id>/redemptions/",
        views.redemption_terms_page,
        name="redemption_terms",
    ),
    path(f"{DAY}/", views.dealing_day_detail, name="dealing_day_detail"),
    path(f"{DAY}/nav/", views.dealing_day_nav, name="dealing_day_nav"),
    path(f"{DAY}/propose/", views.dealing_day_propose_page, name="dealing_day_propose"),
    path(f"{DAY}/decide/", views.dealing_day_decide, name="dealing_day_decide"),
    path(f"{DAY}/retry/", views.dealing_day_retry_page, name="dealing_day_retry"),
    path(
        f"{DAY}/requests/<uuid:request_id>/cancel/",
        views.dealing_day_request_cancel,
        name="dealing_day_request_cancel",
    ),
    path(f"{DAY}/progress/", views.dealing_day_progress, name="dealing_day_progress"),
    path(f"{DAY}/bank/runs/", views.dealing_day_bank_run, name="dealing_day_bank_run"),
    path(f"{DAY}/bank/runs/<uuid:run_id>/<str:kind>/", views.dealing_day_bank_file, name="dealing_day_bank_file"),
    path(f"{DAY}/bank/confirmations/", views.dealing_day_bank_confirmation, name="dealing_day_bank_confirmation"),
    # the holder's own
    path("portfolio/redemptions/", views.investor_redemptions, name="investor_redemptions"),
    path(
        "portfolio/redemptions/<uuid:request_id>/cancel/",
        views.investor_redemption_cancel,
        name="investor_redemption_cancel",
    ),
]
