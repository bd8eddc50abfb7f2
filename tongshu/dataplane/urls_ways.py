"""Pages of the other ways in (第十二条, 第十九条), mounted at /data/ways/."""

from django.urls import path

from . import views_collection, views_eforms, views_sources

app_name = "ways"

urlpatterns = [
    path("sources/", views_sources.source_list, name="sources"),
    path("sources/new/", views_sources.source_new, name="source_new"),
    path("sources/<int:source_id>/", views_sources.source_detail, name="source_detail"),
    path("sources/<int:source_id>/edit/", views_sources.source_edit, name="source_edit"),
    path("sources/<int:source_id>/run/", views_sources.source_run, name="source_run"),
    path("sources/<int:source_id>/delete/", views_sources.source_delete, name="source_delete"),
    path("eforms/", views_eforms.eform_resources, name="eforms"),
    path("eforms/<int:resource_id>/", views_eforms.eform_records, name="eform_records"),
    path("eforms/<int:resource_id>/new/", views_eforms.eform_new, name="eform_new"),
    path("eforms/<int:resource_id>/<int:rid>/", views_eforms.eform_edit, name="eform_edit"),
    path("eforms/<int:resource_id>/<int:rid>/retire/", views_eforms.eform_retire, name="eform_retire"),
    path("collection/", views_collection.task_list, name="collection"),
    path("collection/new/", views_collection.task_new, name="task_new"),
    path("collection/<int:task_id>/", views_collection.task_detail, name="task_detail"),
    path("collection/<int:task_id>/edit/", views_collection.task_edit, name="task_edit"),
    path("collection/<int:task_id>/publish/", views_collection.task_publish, name="task_publish"),
    path("collection/<int:task_id>/close/", views_collection.task_close, name="task_close"),
    path(
        "collection/submissions/<int:submission_id>/",
        views_collection.submission_detail,
        name="submission_detail",
    ),
    path(
        "collection/submissions/<int:submission_id>/approve/",
        views_collection.submission_review,
        {"decision": "approve"},
        name="submission_approve",
    ),
    path(
        "collection/submissions/<int:submission_id>/reject/",
        views_collection.submission_review,
        {"decision": "reject"},
        name="submission_reject",
    ),
]
