from django.urls import path

from backing import api
from backing.views import issuer, public

TOKEN = "issuers/<slug:slug>/offerings/<uuid:public_id>/backing/"
STATEMENT = "issuers/<slug:slug>/reserve-statements/<uuid:statement_id>/"
TRANSPARENCY = "transparency/<uuid:public_id>/"

urlpatterns = [
    path(TOKEN, issuer.backing_overview, name="backing_overview"),
    path(TOKEN + "profile/", issuer.backing_profile_edit, name="backing_profile_edit"),
    path(TOKEN + "rule/", issuer.backing_rule_edit, name="backing_rule_edit"),
    path(TOKEN + "statements/", issuer.reserve_statements, name="reserve_statements"),
    path(TOKEN + "statements/new/", issuer.reserve_statement_new, name="reserve_statement_new"),
    path(TOKEN + "statements/import/", issuer.reserve_statement_import_page, name="reserve_statement_import"),
    path(STATEMENT, issuer.reserve_statement_detail, name="reserve_statement_detail"),
    path(STATEMENT + "decide/", issuer.reserve_statement_decide, name="reserve_statement_decide"),
    path(STATEMENT + "document/", issuer.reserve_statement_document, name="reserve_statement_document"),
    # public, no sign-in (backing/views/public.py)
    path(TRANSPARENCY, public.transparency_page, name="transparency_page"),
    path(
        TRANSPARENCY + "attestations/<uuid:statement_id>.pdf",
        public.transparency_document,
        name="transparency_document",
    ),
]

api_urlpatterns = [
    path("tokens/<uuid:public_id>/transparency/", api.TransparencyApi.as_view(), name="api_transparency"),
]
