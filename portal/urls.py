from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from backing.urls import api_urlpatterns as backing_api
from core.urls import api_urlpatterns as core_api
from governance.urls import api_urlpatterns as governance_api
from investors.urls import api_urlpatterns as investors_api
from offerings.urls import api_urlpatterns as offerings_api
from portal.health import health
from portal.metrics import metrics
from registry.urls import api_urlpatterns as registry_api
from transfers.urls import api_urlpatterns as transfers_api

urlpatterns = [
    path("", include("core.urls")),
    path("", include("tokens.urls")),
    path("", include("investors.urls")),
    path("", include("compliance.urls")),
    path("", include("offerings.urls")),
    path("", include("registry.urls")),
    path("", include("distributions.urls")),
    path("", include("governance.urls")),
    path("", include("backing.urls")),
    path("", include("redemptions.urls")),
    path("", include("transfers.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    path("metrics/", metrics, name="metrics"),
    path("api/v1/", include(core_api)),
    path("api/v1/", include(investors_api)),
    path("api/v1/", include(offerings_api)),
    path("api/v1/", include(registry_api)),
    path("api/v1/", include(governance_api)),
    path("api/v1/", include(backing_api)),
    path("api/v1/", include(transfers_api)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api_schema"), name="api_docs"),
]

handler403 = "core.views.error_403"
handler404 = "core.views.error_404"
handler500 = "core.views.error_500"
