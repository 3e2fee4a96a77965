from django.urls import path

from distributions import bank_pages, records, statements, views

urlpatterns = [
    path("portfolio/reinvestment/<uuid:public_id>/", views.reinvestment_election, name="reinvestment_election"),
    path(
        "issuers/<slug:slug>/offerings/<uuid:public_id>/distributions/",
        views.distribution_list,
        name="distribution_list",
    ),
    path(
        "issuers/<slug:slug>/offerings/<uuid:public_id>/distributions/new/",
        views.distribution_declare_page,
        name="distribution_declare",
    ),
    path(
        "issuers/<slug:slug>/distributions/<uuid:distribution_id>/",
        views.distribution_detail,
        name="distribution_detail",
    ),
    path(
        "issuers/<slug:slug>/distributions/<uuid:distribution_id>/compute/",
        views.distribution_compute,
        name="distribution_compute",
    ),
    path(
        "issuers/<slug:slug>/distributions/<uuid:distribution_id>/propose/",
        views.distribution_propose_page,
        name="distribution_propose",
    ),
    path(
        "issuers/<slug:slug>/distributions/<uuid:distribution_id>/decide/",
        views.distribution_decide,
        name="distribution_decide",
    ),
    path(
        "issuers/<slug:slug>/distributions/<uuid:distribution_id>/cancel/",
        views.distribution_cancel_page,
        name="distribution_cancel",
    ),
    path(
        "issuers/<slug:slug>/distributions/<uuid:distribution_id>/payment/",
        views.distribution_payment_progress,
        name="distribution_payment_progress",
    ),
    path(
        "issuers/<slug:slug>/distributions/<uuid:distribution_id>/retry/",
        views.distribution_retry_page,
        name="distribution_retry",
    ),
    # the investor's own (distributions/statements.py)
    path("portfolio/distributions/", statements.investor_distributions, name="investor_distributions"),
    path(
        "portfolio/distributions/tax-summary/<int:year>.pdf",
        statements.investor_tax_summary,
        name="investor_tax_summary",
    ),
    # the register's readers: the transfer agent's records and the files (distributions/records.py)
    path(
        "issuers/<slug:slug>/registry/<uuid:public_id>/distributions/",
        records.registry_distributions,
        name="registry_distributions",
    ),
    path(
        "issuers/<slug:slug>/registry/<uuid:public_id>/distributions/<uuid:distribution_id>/",
        records.registry_distribution,
        name="registry_distribution",
    ),
    path(
        "issuers/<slug:slug>/distributions/<uuid:distribution_id>/register.<str:fmt>",
        records.distribution_register_file,
        name="distribution_register_file",
    ),
    path(
        "issuers/<slug:slug>/offerings/<uuid:public_id>/tax-forms/<str:form>/<int:year>.<str:fmt>",
        records.tax_form_file,
        name="registry_tax_form_file",
    ),
    # payment by bank file (distributions/bank_pages.py)
    path(
        "issuers/<slug:slug>/distributions/<uuid:distribution_id>/bank/paying-account/",
        bank_pages.paying_account_page,
        name="distribution_paying_account",
    ),
    path(
        "issuers/<slug:slug>/distributions/<uuid:distribution_id>/bank/runs/",
        bank_pages.bank_run_create_page,
        name="distribution_bank_run_create",
    ),
    path(
        "issuers/<slug:slug>/distributions/<uuid:distribution_id>/bank/runs/<uuid:run_id>/<str:kind>/",
        bank_pages.bank_run_file,
        name="distribution_bank_run_file",
    ),
    path(
        "issuers/<slug:slug>/distributions/<uuid:distribution_id>/bank/confirmations/",
        bank_pages.bank_confirmation_upload,
        name="distribution_bank_confirmation",
    ),
    path(
        "issuers/<slug:slug>/distributions/<uuid:distribution_id>/bank/mark-paid/",
        bank_pages.bank_mark_paid,
        name="distribution_bank_mark_paid",
    ),
]
