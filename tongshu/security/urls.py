from django.urls import path

from . import views

app_name = "security"

urlpatterns = [
    path("audit/", views.audit_log, name="audit_log"),
    path("audit/verify/", views.audit_verify, name="audit_verify"),
    path("audit/<int:entry_id>/", views.audit_entry, name="audit_entry"),
]
