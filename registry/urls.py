from django.urls import path

from registry import views

urlpatterns = [
    path("portfolio/", views.portfolio, name="portfolio"),
]
