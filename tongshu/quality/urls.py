from django.urls import path
from django.views.generic import RedirectView

from . import views

app_name = "quality"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="quality:department"), name="index"),
    path("department/", views.department, name="department"),
    path("platform/", views.platform, name="platform"),
    path("overdue/", views.overdue, name="overdue"),
    path("resources/<int:resource_id>/", views.resource, name="resource"),
    path("resources/<int:resource_id>/score/", views.rescore, name="rescore"),
    path("resources/<int:resource_id>/rules/new/", views.rule_form, name="rule_new"),
    path("resources/<int:resource_id>/rules/<int:rule_id>/", views.rule_form, name="rule_edit"),
    path(
        "resources/<int:resource_id>/rules/target-items/", views.rule_target_items, name="rule_target_items"
    ),
    path("rules/<int:rule_id>/delete/", views.rule_delete, name="rule_delete"),
]
