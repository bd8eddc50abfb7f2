"""The 华容县 demo that `make run` loads: every kind of organization (第二条, 第三十六条), one account per role, a chief
data officer for each department and township but the few left to show the 第六条 flag, and loading twice changes
nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from tongshu.accounts.models import Organization, OrganizationKind, RoleAssignment, User
from tongshu.accounts.roles import Role
from tongshu.demo import data_plane
from tongshu.demo.organizations import DEMO_ACCOUNTS, WITHOUT_CDO

pytestmark = pytest.mark.django_db

DEMO_USERNAMES = [
    "operator",
    "security",
    "auditor",
    "authority",
    "cdo",
    "data_admin",
    "dept_user",
    "inspector",
    "citizen",
]


@pytest.fixture(autouse=True)
def small_data_plane(monkeypatch):
    """The demo's records, libraries and history are checked in test_demo_data.py; here a small population keeps the
    demo-mode runs of the command quick."""
    real = data_plane.load_data_plane
    monkeypatch.setattr(data_plane, "load_data_plane", lambda orgs: real(orgs, people=120, companies=30))


def load(demo_mode: bool, settings) -> str:
    settings.DEMO_MODE = demo_mode
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def snapshot() -> tuple[int, int, int, list[str]]:
    return (
        Organization.objects.count(),
        User.objects.count(),
        RoleAssignment.objects.count(),
        list(User.objects.order_by("pk").values_list("password", flat=True)),
    )


def test_loading_twice_changes_nothing(settings):
    load(False, settings)
    first = snapshot()
    load(False, settings)
    assert snapshot() == first


def test_demo_loads_every_kind_of_organization(settings):
    load(False, settings)
    kinds = {kind: Organization.objects.filter(kind=kind).count() for kind in OrganizationKind.values}
    assert kinds[OrganizationKind.DEPARTMENT] == 20
    assert kinds[OrganizationKind.TOWNSHIP] == 14
    assert kinds[OrganizationKind.PUBLIC_SERVICE] == 3  # water, power, gas (第三十六条)
    assert kinds[OrganizationKind.UPPER_LEVEL] == 1
    authority = Organization.objects.get(
        name="华容县行政审批服务局"
    )  # 第四条, 第六条: the competent authority
    assert User.objects.get(username="authority").organization == authority


def test_one_demo_account_per_role_with_the_demo_password(settings):
    load(True, settings)
    assert [username for username, *_ in DEMO_ACCOUNTS] == DEMO_USERNAMES
    for username, _name, _org, role in DEMO_ACCOUNTS:
        user = User.objects.get(username=username)
        assert user.is_demo and user.role_codes() == {role}
        assert user.check_password(settings.DEMO_PASSWORD)
    assert User.objects.get(username="citizen").organization is None


def test_every_department_and_township_but_the_flagged_has_a_cdo(settings):
    load(False, settings)
    lacking = {org.code for org in Organization.objects.without_cdo()}
    assert lacking == {f"430623-{code}" for code in WITHOUT_CDO}
    for org in Organization.objects.filter(kind__in=[OrganizationKind.DEPARTMENT, OrganizationKind.TOWNSHIP]):
        cdos = RoleAssignment.objects.filter(role=Role.CDO, user__organization=org).count()
        assert cdos == (0 if org.code in lacking else 1), org.name


def test_demo_mode_prints_the_accounts_and_password(settings):
    out = load(True, settings)
    assert settings.DEMO_PASSWORD in out
    for username in DEMO_USERNAMES:
        assert username in out
    assert settings.DEMO_PASSWORD not in load(False, settings)


def test_demo_catalog_is_published_coded_and_searchable(settings, django_capture_on_commit_callbacks):
    from tongshu.catalog.models import Resource
    from tongshu.catalog.search.engine import SearchQuery
    from tongshu.catalog.search.services import search

    with django_capture_on_commit_callbacks(execute=True):  # publication indexes after the commit
        load(False, settings)
    published = Resource.objects.filter(published_version__isnull=False)
    assert published.count() >= 25
    assert all(code and "/" in code for code in published.values_list("code", flat=True))
    assert published.values("provider").distinct().count() >= 15
    operator = User.objects.get(username="operator")
    found = search(operator, SearchQuery(q="低保"))
    assert found.count >= 1
    load(False, settings)
    assert Resource.objects.count() == published.count()  # loading again publishes nothing new
