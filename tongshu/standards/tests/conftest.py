"""Standards tests hash the personas' passwords with a fast hasher: nothing here tests passwords, and Argon2 for
every persona of every test costs seconds."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
