from django.urls import path

from . import views, views_access, views_admin

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("password/", views.password_change, name="password_change"),
    path("totp/", views.totp_setup, name="totp_setup"),
    path("totp/verify/", views.totp_verify, name="totp_verify"),
    path("totp/disable/", views.totp_disable, name="totp_disable"),
    # Management pages (views_admin: organizations and users; views_access: roles and API keys).
    path("organizations/", views_admin.organizations, name="organizations"),
    path("organizations/new/", views_admin.organization_create, name="organization_create"),
    path("organizations/<int:pk>/", views_admin.organization_detail, name="organization_detail"),
    path("organizations/<int:pk>/edit/", views_admin.organization_edit, name="organization_edit"),
    path("organizations/<int:pk>/active/", views_admin.organization_active, name="organization_active"),
    path("users/", views_admin.users, name="users"),
    path("users/new/", views_admin.user_create, name="user_create"),
    path("users/<int:pk>/", views_admin.user_detail, name="user_detail"),
    path("users/<int:pk>/edit/", views_admin.user_edit, name="user_edit"),
    path("users/<int:pk>/active/", views_admin.user_active, name="user_active"),
    path("users/<int:pk>/reset-password/", views_admin.user_reset_password, name="user_reset_password"),
    path("roles/", views_access.roles, name="roles"),
    path("roles/<int:pk>/grant/", views_access.role_grant, name="role_grant"),
    path("roles/<int:pk>/revoke/", views_access.role_revoke, name="role_revoke"),
    path("api-keys/", views_access.api_keys, name="api_keys"),
    path("api-keys/new/", views_access.api_key_create, name="api_key_create"),
    path("api-keys/<int:pk>/revoke/", views_access.api_key_revoke, name="api_key_revoke"),
]
