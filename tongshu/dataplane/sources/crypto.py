"""Credentials of pull sources, encrypted at rest with a key kept outside the database.

The key file (`TONGSHU_SOURCES_KEY_FILE`, by default `var/keys/sources.key`, mode 0600) is generated on first use and
must be backed up with, but stored apart from, the database: a copy of the database alone reveals no credential.
Two ciphers, chosen per source by the operator: Fernet (AES-128-CBC + HMAC-SHA256, the default) and SM4-CBC (国密,
through gmssl) with an HMAC-SHA256 tag; both derive their keys from the one key file. A stored value names its cipher
(`fernet:…`, `sm4:…`), so changing a source's choice never makes older values unreadable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

from tongshu.core.errors import ValidationFailed


def key_file() -> Path:
    configured = getattr(settings, "SOURCES_KEY_FILE", "")
    return Path(configured) if configured else Path(settings.VAR_DIR) / "keys" / "sources.key"


def _master_key() -> bytes:
    path = key_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        # O_EXCL: two processes generating at once cannot overwrite each other's key.
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(Fernet.generate_key())
    return path.read_bytes().strip()


def _derived(label: bytes) -> bytes:
    return hmac.new(base64.urlsafe_b64decode(_master_key()), label, hashlib.sha256).digest()


def encrypt(plain: str, cipher: str = "fernet") -> str:
    if plain == "":
        return ""
    if cipher == "sm4":
        from gmssl.sm4 import SM4_ENCRYPT, CryptSM4

        engine = CryptSM4()
        engine.set_key(_derived(b"tongshu-sources-sm4")[:16], SM4_ENCRYPT)
        iv = os.urandom(16)
        body = iv + engine.crypt_cbc(iv, plain.encode())
        tag = hmac.new(_derived(b"tongshu-sources-sm4-mac"), body, hashlib.sha256).digest()
        return "sm4:" + base64.urlsafe_b64encode(body + tag).decode()
    return "fernet:" + Fernet(_master_key()).encrypt(plain.encode()).decode()


def decrypt(stored: str) -> str:
    if stored == "":
        return ""
    cipher, _sep, payload = stored.partition(":")
    try:
        if cipher == "sm4":
            from gmssl.sm4 import SM4_DECRYPT, CryptSM4

            raw = base64.urlsafe_b64decode(payload.encode())
            body, tag = raw[:-32], raw[-32:]
            expected = hmac.new(_derived(b"tongshu-sources-sm4-mac"), body, hashlib.sha256).digest()
            if not hmac.compare_digest(tag, expected):
                raise InvalidToken
            engine = CryptSM4()
            engine.set_key(_derived(b"tongshu-sources-sm4")[:16], SM4_DECRYPT)
            return str(engine.crypt_cbc(body[:16], body[16:]).decode())
        if cipher == "fernet":
            return Fernet(_master_key()).decrypt(payload.encode()).decode()
    except (InvalidToken, ValueError) as exc:
        raise ValidationFailed(
            "无法解密接入源的凭据：密钥文件已更换或数据已损坏，请重新填写凭据", code="secret_unreadable"
        ) from exc
    raise ValidationFailed("无法识别的凭据加密方式", code="secret_unreadable")


def hint(stored: str) -> str:
    """What a page may show of a stored secret: that it is set, never any of it."""
    return "已设置（加密保存）" if stored else "未设置"
