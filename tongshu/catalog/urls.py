from django.urls import path
from django.views.generic import RedirectView

from . import views_drafts, views_resources, views_review, views_systems

app_name = "catalog"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="catalog:department"), name="index"),
    path("department/", views_resources.department_catalog, name="department"),
    path("departments/<int:organization_id>/", views_resources.department_catalog, name="department_of"),
    path("resources/new/", views_drafts.new_draft, name="new_draft"),
    path("resources/<int:resource_id>/", views_resources.resource_detail, name="resource_detail"),
    path("resources/<int:resource_id>/revise/", views_drafts.start_revision, name="start_revision"),
    path("resources/<int:resource_id>/retire/", views_review.retire_resource, name="retire"),
    path("versions/<int:version_id>/", views_resources.version_detail, name="version_detail"),
    path("versions/<int:version_id>/edit/", views_drafts.edit_version, name="edit_version"),
    path("versions/<int:version_id>/submit/", views_drafts.submit_version, name="submit"),
    path("versions/<int:version_id>/withdraw/", views_drafts.withdraw_version, name="withdraw"),
    path("editor/item-row/", views_drafts.item_row, name="item_row"),
    path("editor/elements/", views_drafts.element_search, name="element_search"),
    path("editor/bind/", views_drafts.bind_element, name="bind_element"),
    path("editor/similar/", views_drafts.editor_similar, name="editor_similar"),
    path("review/", views_review.review_queue, name="review_queue"),
    path("review/<int:version_id>/", views_review.review_detail, name="review_detail"),
    path("review/<int:version_id>/return/", views_review.return_version, name="return"),
    path("review/<int:version_id>/publish/", views_review.publish_version, name="publish"),
    path("systems/", views_systems.system_list, name="systems"),
    path("systems/new/", views_systems.system_new, name="system_new"),
    path("systems/report/", views_systems.systems_report, name="systems_report"),
    path("systems/<int:system_id>/edit/", views_systems.system_edit, name="system_edit"),
    path("systems/<int:system_id>/delete/", views_systems.system_delete, name="system_delete"),
    path("systems/<int:system_id>/document/", views_systems.system_document, name="system_document"),
    path("settings/", views_systems.settings_page, name="settings"),
]
