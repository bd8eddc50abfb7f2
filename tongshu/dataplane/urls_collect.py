"""The public collection form (第十二条), mounted at /collect/: no login."""

from django.urls import path

from . import views_collection

app_name = "collect"

urlpatterns = [path("<str:token>/", views_collection.collect_form, name="form")]
