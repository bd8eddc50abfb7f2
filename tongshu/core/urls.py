from django.urls import path

from . import views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("messages/", views.messages_page, name="messages"),
    path("messages/<int:message_id>/", views.message_detail, name="message_detail"),
    path("messages/read-all/", views.messages_mark_all_read, name="messages_read_all"),
    path("healthz", views.healthz, name="healthz"),
]
