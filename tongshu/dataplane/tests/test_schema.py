"""Column sizes come from the standards' length parser; the sizes kept in table layouts do not move."""

from __future__ import annotations

import io

import pytest

from tongshu.catalog.tests.factories import make_resource
from tongshu.dataplane import services
from tongshu.dataplane.models import BatchStatus
from tongshu.dataplane.schema import Length, column_length, schema_for_version
from tongshu.standards.formats import LengthNotationError


@pytest.mark.parametrize(
    ("notation", "data_type", "expected"),
    [
        # what layouts written before the parsers were unified hold: they must read the same
        ("", "C", Length()),
        ("C18", "C", Length(18, 18, None)),
        ("C1", "C", Length(1, 1, None)),
        ("C..50", "C", Length(None, 50, None)),
        ("C..1", "C", Length(None, 1, None)),
        ("C", "C", Length()),
        ("D8", "D", Length(None, 8, None)),
        ("T14", "T", Length(None, 14, None)),
        ("N10,2", "N", Length(None, 10, 2)),
        ("N..12,2", "N", Length(None, 12, 2)),
        ("Y18", "Y", Length(None, 18, None)),  # no written scale: the store's default for money applies
        ("Y18,0", "Y", Length(None, 18, 0)),
        ("I10", "I", Length(None, 10, None)),
        ("L1", "L", Length(None, 1, None)),
        ("M", "M", Length()),
        # readable now
        ("C2..50", "C", Length(2, 50, None)),
        ("..20", "C", Length(None, 20, None)),
        ("N8，2", "N", Length(None, 8, 2)),
    ],
)
def test_column_length(notation, data_type, expected):
    assert column_length(notation, data_type) == expected


def test_a_bad_notation_is_the_standards_error():
    with pytest.raises(LengthNotationError, match="不一致"):
        column_length("N8", "C")


@pytest.mark.django_db
def test_a_minimum_length_is_checked_on_load(personas):
    """`C2..50` used to stop the data plane's own parser; now the item reads and its minimum is enforced."""
    resource = make_resource(
        personas.provider_org,
        items=[("编号", "C", "C..18", True, True, False), ("简称", "C", "C2..10", False, False, False)],
    )
    assert schema_for_version(resource.published_version).column("f002").length == Length(2, 10, None)
    data = "编号,简称\nA1,华容\nA2,华\n".encode()
    batch = services.submit_file(personas.provider_admin, resource, io.BytesIO(data), file_name="简称.csv")
    batch = services.apply_batch(batch.pk)
    assert batch.status == BatchStatus.REJECTED
    assert [(e["row"], e["field"]) for e in batch.error_sample] == [(3, "f002")], batch.error_sample
