from django.urls import path

from . import views_browse

app_name = "browse"

urlpatterns = [
    path("libraries/", views_browse.library_list, name="libraries"),
    path("libraries/<int:resource_id>/", views_browse.library_detail, name="library"),
    path("libraries/<int:resource_id>/refresh/", views_browse.library_refresh, name="library_refresh"),
    path("<int:resource_id>/", views_browse.data_browse, name="resource"),
    path("<int:resource_id>/reveal/<int:rid>/", views_browse.reveal, name="reveal"),
    path("<int:resource_id>/download.<str:file_format>", views_browse.download, name="download"),
]
