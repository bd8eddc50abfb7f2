"""Login tests check many passwords; a lighter Argon2 (same algorithm, smaller memory and time cost) keeps them fast.

Production settings keep Django's Argon2 parameters (`test_login_security.test_passwords_are_hashed_with_argon2`).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher


class QuickArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 1024
    parallelism = 1


@pytest.fixture(autouse=True)
def quick_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = [f"{__name__}.QuickArgon2PasswordHasher"]
