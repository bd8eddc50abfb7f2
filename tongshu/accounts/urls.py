from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("password/", views.password_change, name="password_change"),
    path("totp/", views.totp_setup, name="totp_setup"),
    path("totp/verify/", views.totp_verify, name="totp_verify"),
    path("totp/disable/", views.totp_disable, name="totp_disable"),
]
