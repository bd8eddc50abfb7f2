"""The platform's roles (DESIGN §1), declared once."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OPERATOR_ADMIN = "operator_admin", _("System administrator")
    SECURITY_ADMIN = "security_admin", _("Security administrator")
    AUDITOR = "auditor", _("Audit administrator")
    AUTHORITY = "authority", _("Authority reviewer")
    CDO = "cdo", _("Chief data officer")
    DATA_ADMIN = "data_admin", _("Department data administrator")
    DEPT_USER = "dept_user", _("Department user")
    INSPECTOR = "inspector", _("Cyberspace security inspector")
    PUBLIC = "public", _("Public user")


# 三员分立: no account may hold two of these.
SEPARATED_ROLES = frozenset({Role.OPERATOR_ADMIN, Role.SECURITY_ADMIN, Role.AUDITOR})
# TOTP is required for these (demo accounts excepted).
TOTP_REQUIRED_ROLES = SEPARATED_ROLES
# Roles held inside an organization; `public` is the only one held by accounts without one.
ORGANIZATION_ROLES = frozenset(set(Role) - {Role.PUBLIC})
# Roles that manage their own organization's catalog and data.
DEPARTMENT_MANAGER_ROLES = frozenset({Role.CDO, Role.DATA_ADMIN})
