"""National identifier checksums (reference/catalog-standard.md §5): GB 11643 resident ID, GB 32100 unified social
credit code, GB 11714 organization code. Pure functions, used by validation rules and the demo generator."""

from __future__ import annotations

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def resident_id_check_char(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11]


def is_valid_resident_id(value: str) -> bool:
    """GB 11643-1999 checksum of an 18-character resident ID (the date and division are checked elsewhere)."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    return resident_id_check_char(value[:17]) == value[17].upper()


def org_code_check_char(first8: str) -> str:
    values = [int(c, 36) for c in first8]
    remainder = 11 - sum(v * w for v, w in zip(values, ORG_CODE_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(remainder, str(remainder))


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(value: str) -> bool:
    """GB 32100-2015 checksum of an 18-character unified social credit code."""
    if len(value) != 18 or any(c not in USCC_ALPHABET for c in value):
        return False
    return uscc_check_char(value[:17]) == value[17]


def make_uscc(authority: str, kind: str, division: str, org_body: str) -> str:
    """Build a valid code from its parts; `org_body` is the 8-character body of the GB 11714 organization code."""
    org_code = org_body + org_code_check_char(org_body)
    first17 = f"{authority}{kind}{division}{org_code}"
    return first17 + uscc_check_char(first17)
