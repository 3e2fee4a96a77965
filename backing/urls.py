from django.urls import path

from backing import views

TOKEN = "issuers/<slug:slug>/offerings/<uuid:public_id>/backing/"
STATEMENT = "issuers/<slug:slug>/reserve-statements/<uuid:statement_id>/"

urlpatterns = [
    path(TOKEN, views.backing_overview, name="backing_overview"),
    path(TOKEN + "profile/", views.backing_profile_edit, name="backing_profile_edit"),
    path(TOKEN + "rule/", views.backing_rule_edit, name="backing_rule_edit"),
    path(TOKEN + "statements/", views.reserve_statements, name="reserve_statements"),
    path(TOKEN + "statements/new/", views.reserve_statement_new, name="reserve_statement_new"),
    path(TOKEN + "statements/import/", views.reserve_statement_import_page, name="reserve_statement_import"),
    path(STATEMENT, views.reserve_statement_detail, name="reserve_statement_detail"),
    path(STATEMENT + "decide/", views.reserve_statement_decide, name="reserve_statement_decide"),
    path(STATEMENT + "document/", views.reserve_statement_document, name="reserve_statement_document"),
]
