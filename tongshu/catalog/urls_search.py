from django.urls import path

from . import views_search

app_name = "catalog_search"

urlpatterns = [
    path("", views_search.search_page, name="search"),
]
