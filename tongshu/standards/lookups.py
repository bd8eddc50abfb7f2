"""Code-set lookups for validation and the data plane: the current version's values, cached per process.

A cache entry remembers the version it was read from. It is dropped at once when a version of any set is saved or
deleted in this process (signals, see apps.py) and, for changes made by another process, re-checked against the
database's current version at most every `RECHECK_SECONDS`; a load validating many rows thus costs one query per set,
not one per row.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from . import shipped
from .models import CodeSet, CodeSetVersion, CodeValue

RECHECK_SECONDS = 5.0


@dataclass
class _Entry:
    version_id: int | None
    values: Mapping[str, str]
    checked_at: float
    derived: dict[str, Any] = field(default_factory=dict)


_cache: dict[str, _Entry] = {}
_lock = threading.Lock()


def invalidate(identifier: str | None = None) -> None:
    """Forget one set (or all): the next lookup reads the current version again."""
    with _lock:
        if identifier is None:
            _cache.clear()
        else:
            _cache.pop(identifier, None)


def _current_version_id(identifier: str) -> int | None:
    return (
        CodeSetVersion.objects.filter(code_set__identifier=identifier, is_current=True)
        .values_list("pk", flat=True)
        .first()
    )


def _entry(identifier: str) -> _Entry:
    now = time.monotonic()
    entry = _cache.get(identifier)
    if entry is not None and now - entry.checked_at < RECHECK_SECONDS:
        return entry
    version_id = _current_version_id(identifier)
    if entry is not None and entry.version_id == version_id:
        entry.checked_at = now
        return entry
    values: dict[str, str] = {}
    if version_id is not None:
        values = dict(CodeValue.objects.filter(version_id=version_id).values_list("code", "name"))
    entry = _Entry(version_id=version_id, values=MappingProxyType(values), checked_at=now)
    with _lock:
        _cache[identifier] = entry
    return entry


def code_values(code_set: CodeSet | str) -> Mapping[str, str]:
    """``{code: name}`` of the set's current version (read-only; empty when the set has no current version)."""
    identifier = code_set if isinstance(code_set, str) else code_set.identifier
    return _entry(identifier).values


def code_pairs(code_set: CodeSet | str) -> tuple[tuple[str, str], ...]:
    """``((code, name), …)`` of the set's current version, in order, built once per cached version (a schema reads
    it for every load and score; the township set holds 41,000 codes)."""
    identifier = code_set if isinstance(code_set, str) else code_set.identifier
    entry = _entry(identifier)
    pairs = entry.derived.get("pairs")
    if pairs is None:
        pairs = entry.derived["pairs"] = tuple(entry.values.items())
    return pairs


def _codes(identifier: str) -> frozenset[str]:
    entry = _entry(identifier)
    codes = entry.derived.get("codes")
    if codes is None:
        codes = entry.derived["codes"] = frozenset(entry.values)
    return codes


def division_codes() -> frozenset[str]:
    """The six-digit GB/T 2260 codes (provinces, cities, counties) of the current `division` version."""
    return _codes(shipped.DIVISION)


def township_codes() -> frozenset[str]:
    """The nine-digit township codes of the current `township` version."""
    return _codes(shipped.TOWNSHIP)


def is_known_division(code: str) -> bool:
    """A six-digit division or nine-digit township code present in the current data. A well-formed code that is
    not known may be a former division (resident IDs keep the county of first issue): callers treat it as a
    warning, not an error (divisions README)."""
    code = (code or "").strip()
    if not code.isdigit():
        return False
    if len(code) == 6:
        return code in division_codes()
    if len(code) == 9:
        return code in township_codes()
    return False
