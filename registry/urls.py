from django.urls import path

from registry import api
from registry.views import cap_table, erasure, exports, ocf_compare, portfolio, records, token_admin, transfer_agent

REGISTER = "issuers/<slug:slug>/registry/<uuid:public_id>"

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
    path("issuers/<slug:slug>/exports/ocf-compare/", ocf_compare.ocf_compare, name="registry_ocf_compare"),
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
    path("staff/investors/<uuid:public_id>/erasure/", erasure.investor_erasure, name="staff_investor_erasure"),
    path("registry/", transfer_agent.transfer_agent_home, name="transfer_agent_home"),
    path("registry/api-tokens/", transfer_agent.api_tokens, name="api_tokens"),
    path("registry/api-tokens/<int:token_id>/revoke/", transfer_agent.api_token_revoke_view, name="api_token_revoke"),
    path(f"{REGISTER}/holdings/", transfer_agent.registry_holdings, name="registry_holdings"),
    path(f"{REGISTER}/journal/", transfer_agent.registry_journal, name="registry_journal"),
    path(f"{REGISTER}/control-book/", transfer_agent.registry_control_book, name="registry_control_book"),
    path(
        f"{REGISTER}/control-book/authorizations/<int:authorization_id>/document/",
        transfer_agent.registry_authorization_document,
        name="registry_authorization_document",
    ),
    path(f"{REGISTER}/differences/", transfer_agent.registry_differences, name="registry_differences"),
    path(
        "issuers/<slug:slug>/offerings/<uuid:public_id>/control-book/",
        records.control_book,
        name="control_book",
    ),
    path(
        "issuers/<slug:slug>/offerings/<uuid:public_id>/control-book/authorize/",
        records.control_book_authorize,
        name="control_book_authorize",
    ),
    path(
        "issuers/<slug:slug>/offerings/<uuid:public_id>/control-book/authorizations/<int:authorization_id>/document/",
        records.control_book_document,
        name="control_book_document",
    ),
    path("issuers/<slug:slug>/record-differences/reports/", records.difference_reports, name="difference_reports"),
]

API_TOKEN = "registry/tokens/<uuid:public_id>"

api_urlpatterns = [
    path("registry/issuers/", api.RegisterListApi.as_view(), name="api_registry_issuers"),
    path(f"{API_TOKEN}/holders/", api.HolderListApi.as_view(), name="api_registry_holders"),
    path(f"{API_TOKEN}/holdings/", api.HoldingListApi.as_view(), name="api_registry_holdings"),
    path(f"{API_TOKEN}/journal/", api.JournalApi.as_view(), name="api_registry_journal"),
    path(f"{API_TOKEN}/control-book/", api.ControlBookApi.as_view(), name="api_registry_control_book"),
    path(
        f"{API_TOKEN}/control-book/entries/",
        api.ControlBookEntryListApi.as_view(),
        name="api_registry_control_book_entries",
    ),
    path(
        f"{API_TOKEN}/control-book/authorizations/",
        api.ControlBookAuthorizationListApi.as_view(),
        name="api_registry_control_book_authorizations",
    ),
    path(
        f"{API_TOKEN}/control-book/authorizations/<int:authorization_id>/document/",
        api.AuthorizationDocumentApi.as_view(),
        name="api_registry_authorization_document",
    ),
    path(f"{API_TOKEN}/differences/", api.DifferenceListApi.as_view(), name="api_registry_differences"),
    path(f"{API_TOKEN}/exports/", api.ExportJobsApi.as_view(), name="api_registry_exports"),
    path("registry/exports/<uuid:job_id>/", api.ExportJobApi.as_view(), name="api_registry_export"),
    path(
        "registry/exports/<uuid:job_id>/download/",
        api.ExportJobDownloadApi.as_view(),
        name="api_registry_export_download",
    ),
]
