from django.urls import path

from . import views

app_name = "dataplane"

urlpatterns = [
    path("", views.index, name="index"),
    path("resources/<int:resource_id>/", views.resource_data, name="resource"),
    path("resources/<int:resource_id>/upload/", views.upload, name="upload"),
    path("resources/<int:resource_id>/ways/", views.resource_ways, name="ways"),
    path("resources/<int:resource_id>/settings/", views.data_settings, name="settings"),
    path("batches/<int:batch_id>/", views.batch_detail, name="batch"),
    path("batches/<int:batch_id>/mapping/", views.mapping, name="mapping"),
    path("batches/<int:batch_id>/report.csv", views.report_csv, name="report_csv"),
    path("batches/<int:batch_id>/report.xlsx", views.report_xlsx, name="report_xlsx"),
]
