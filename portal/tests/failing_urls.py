"""The portal's URLs plus one page that fails, to see what a visitor is shown when something breaks."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from portal.urls import handler403, handler404, handler500
from portal.urls import urlpatterns as portal_urlpatterns


def broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("secret internal detail")


urlpatterns = [path("broken/", broken), *portal_urlpatterns]
__all__ = ["handler403", "handler404", "handler500", "urlpatterns"]
