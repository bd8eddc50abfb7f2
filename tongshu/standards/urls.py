from django.urls import path
from django.views.generic import RedirectView

from .views import categories, codesets, elements

app_name = "standards"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="standards:code_sets"), name="index"),
    path("code-sets/", codesets.code_sets, name="code_sets"),
    path("code-sets/new/", codesets.new_code_set, name="code_set_new"),
    path("code-sets/<str:identifier>/", codesets.code_set_detail, name="code_set"),
    path("code-sets/<str:identifier>/upload/", codesets.upload_version, name="code_set_upload"),
    path("code-sets/<str:identifier>/diff/", codesets.code_set_diff, name="code_set_diff"),
    path(
        "code-sets/<str:identifier>/versions/<str:version>/current/",
        codesets.make_current,
        name="code_set_make_current",
    ),
    path("data-elements/", elements.data_elements, name="data_elements"),
    path("data-elements/new/", elements.data_element_edit, name="data_element_new"),
    path("data-elements/<str:identifier>/", elements.data_element_detail, name="data_element"),
    path("data-elements/<str:identifier>/edit/", elements.data_element_edit, name="data_element_edit"),
    path("data-elements/<str:identifier>/active/", elements.data_element_active, name="data_element_active"),
    path("data-elements/<str:identifier>/delete/", elements.data_element_delete, name="data_element_delete"),
    path("categories/", categories.categories, name="categories"),
    path("categories/import/", categories.import_categories, name="categories_import"),
    path("categories/export/<str:fmt>/", categories.export_categories, name="categories_export"),
    path("categories/sync-departments/", categories.sync_departments, name="categories_sync"),
]
