from django.urls import path

from backing import api
from backing.views import issuer, nav, public

TOKEN = "issuers/<slug:slug>/offerings/<uuid:public_id>/backing/"
STATEMENT = "issuers/<slug:slug>/reserve-statements/<uuid:statement_id>/"
NAV_POINT = "issuers/<slug:slug>/nav/<uuid:point_id>/"
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
    path(TOKEN + "nav/", nav.nav_overview, name="nav_overview"),
    path(TOKEN + "nav/terms/", nav.nav_terms_edit, name="nav_terms_edit"),
    path(TOKEN + "nav/new/", nav.nav_point_new, name="nav_point_new"),
    path(TOKEN + "nav/oracle/", nav.nav_oracle_edit, name="nav_oracle_edit"),
    path(NAV_POINT, nav.nav_point_detail, name="nav_point_detail"),
    path(NAV_POINT + "decide/", nav.nav_point_decide, name="nav_point_decide"),
    path(NAV_POINT + "document/", nav.nav_point_document, name="nav_point_document"),
    # public, no sign-in (backing/views/public.py)
    path(TRANSPARENCY, public.transparency_page, name="transparency_page"),
    path(
        TRANSPARENCY + "attestations/<uuid:statement_id>.pdf",
        public.transparency_document,
        name="transparency_document",
    ),
    path("offerings/<uuid:public_id>/nav/<uuid:point_id>.pdf", public.nav_document, name="transparency_nav_document"),
]

api_urlpatterns = [
    path("tokens/<uuid:public_id>/transparency/", api.TransparencyApi.as_view(), name="api_transparency"),
]
