from django.urls import path

from registry.views import portfolio

urlpatterns = [
    path("portfolio/", portfolio.portfolio, name="portfolio"),
]
