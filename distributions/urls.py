from django.urls import path

from distributions import views

urlpatterns = [
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
]
