from django.urls import path

from registry.views import cap_table, exports, portfolio, token_admin

urlpatterns = [
    path("portfolio/", portfolio.portfolio, name="portfolio"),
    path("issuers/<slug:slug>/offerings/<uuid:public_id>/cap-table/", cap_table.cap_table, name="cap_table"),
    path(
        "issuers/<slug:slug>/offerings/<uuid:public_id>/cap-table/holders/<str:holder>/",
        cap_table.holder_detail,
        name="holder_detail",
    ),
    path(
        "issuers/<slug:slug>/offerings/<uuid:public_id>/cap-table/holder-counts/",
        cap_table.holder_count_policy,
        name="holder_count_policy",
    ),
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
    path("issuers/<slug:slug>/exports/", exports.exports_page, name="registry_exports"),
    path("issuers/<slug:slug>/exports/new/", exports.export_create, name="registry_export_create"),
    path("issuers/<slug:slug>/exports/<uuid:job_id>/status/", exports.export_status, name="registry_export_status"),
    path(
        "issuers/<slug:slug>/exports/<uuid:job_id>/download/",
        exports.export_download,
        name="registry_export_download",
    ),
    path(
        "issuers/<slug:slug>/offerings/<uuid:public_id>/master-file.csv",
        exports.master_file_csv,
        name="registry_master_file_csv",
    ),
]
