"""Personas shared by every test (CONVENTIONS.md): a provider department, a consumer department, an outsider, the
authority, the operator's three administrators, an inspector, a citizen and an anonymous client."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client

from tongshu.accounts.models import OrganizationKind
from tongshu.accounts.roles import TOTP_REQUIRED_ROLES, Role
from tongshu.accounts.tests.factories import PASSWORD, make_organization, make_user


@pytest.fixture(autouse=True, scope="session")
def fast_password_hashing() -> Any:
    """Argon2 (settings.PASSWORD_HASHERS) costs ~0.1 s a hash, and `personas` alone hashes thirteen passwords, so tests
    hash new passwords with MD5; Argon2 stays listed, so hashes made with it still verify. A test about the production
    hasher overrides PASSWORD_HASHERS back with the `settings` fixture."""
    from django.conf import settings
    from django.test import override_settings

    override = override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]
    )
    override.enable()  # sends setting_changed, which clears Django's cached hasher list
    yield
    override.disable()


@pytest.fixture(autouse=True)
def _audit_files_in_tmp(settings: Any, tmp_path_factory: Any) -> None:
    """Audit checkpoints and their signing key go to a per-test directory, never to var/ of a real install."""
    directory = tmp_path_factory.mktemp("audit")
    settings.AUDIT_CHECKPOINT_FILE = directory / "audit-checkpoints.log"
    settings.AUDIT_SIGNING_KEY = directory / "keys" / "audit-ed25519.pem"


@pytest.fixture(autouse=True)
def _data_plane_in_tmp(settings: Any, tmp_path_factory: Any) -> Any:
    """The data-plane store (SQLite) and its uploads go to a per-test directory: publishing a resource creates its
    table, and the demo loads records."""
    directory = tmp_path_factory.mktemp("data")
    if settings.DATA_URL.startswith("sqlite"):
        settings.DATA_URL = f"sqlite:///{directory / 'data.sqlite3'}"
    settings.VAR_DIR = directory
    yield
    from tongshu.dataplane import store

    store.dispose_engines()


@pytest.fixture
def personas(db: Any) -> SimpleNamespace:
    operator_org = make_organization("华容县大数据中心", code="P-DSJ")
    authority_org = make_organization("华容县行政审批服务局", code="P-SPJ")
    provider_org = make_organization("华容县公安局", code="P-GAJ")
    consumer_org = make_organization("华容县民政局", code="P-MZJ")
    outsider_org = make_organization("华容县水利局", code="P-SLJ")
    cac_org = make_organization("华容县委网信办", code="P-WXB")
    township = make_organization("华容县章华镇人民政府", kind=OrganizationKind.TOWNSHIP, code="P-ZHZ")
    return SimpleNamespace(
        password=PASSWORD,
        operator_org=operator_org,
        authority_org=authority_org,
        provider_org=provider_org,
        consumer_org=consumer_org,
        outsider_org=outsider_org,
        township=township,
        operator=make_user("operator", Role.OPERATOR_ADMIN, organization=operator_org),
        security_admin=make_user("security", Role.SECURITY_ADMIN, organization=operator_org),
        auditor=make_user("auditor", Role.AUDITOR, organization=operator_org),
        authority=make_user("authority", Role.AUTHORITY, organization=authority_org),
        provider_cdo=make_user("provider_cdo", Role.CDO, organization=provider_org),
        provider_admin=make_user("provider_admin", Role.DATA_ADMIN, organization=provider_org),
        consumer_cdo=make_user("consumer_cdo", Role.CDO, organization=consumer_org),
        consumer_user=make_user("consumer_user", Role.DEPT_USER, organization=consumer_org),
        outsider=make_user("outsider", Role.DATA_ADMIN, organization=outsider_org),
        inspector=make_user("inspector", Role.INSPECTOR, organization=cac_org),
        citizen=make_user("citizen", Role.PUBLIC),
    )


@pytest.fixture
def client_for(db: Any) -> Any:
    """A test client signed in as the given user (session auth, second factor treated as done)."""

    def make(user: Any, *, second_factor: bool = True) -> Client:
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice

        client = Client()
        client.force_login(user)
        if second_factor and user.has_role(*TOTP_REQUIRED_ROLES):
            device, _ = TOTPDevice.objects.get_or_create(user=user, name="test", defaults={"confirmed": True})
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
        return client

    return make


@pytest.fixture
def anonymous() -> Client:
    return Client()


def pytest_collection_modifyitems(config: Any, items: list[pytest.Item]) -> None:
    """Tests marked `postgres` need PostgreSQL; on the embedded default (SQLite) they are skipped, saying why."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: make test-postgres")
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(skip)
