"""Pages under /catalog/exchange/ (included from tongshu/urls.py). The DCAT feed is at /catalog/dcat.jsonld."""

from django.urls import path

from . import views_exchange as views

app_name = "catalog_exchange"

urlpatterns = [
    path("", views.home, name="home"),
    path("template.xlsx", views.template_download, name="template"),
    path("import/", views.import_catalog, name="import"),
    path("import/errors.<str:fmt>", views.import_errors_download, name="import_errors"),
    path("export/", views.export_department, name="export"),
    path("county/", views.county, name="county"),
    path("county/export.<str:fmt>", views.county_export, name="county_export"),
]
