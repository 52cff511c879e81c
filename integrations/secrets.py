"""Provider credentials at rest: encrypted with Fernet (AES-128-CBC + HMAC-SHA256).

The key comes from INTEGRATION_SECRETS_KEY (a Fernet key, `Fernet.generate_key()`), or,
when unset, is derived from SECRET_KEY, so rotating SECRET_KEY without setting the
former makes stored credentials unreadable (the account then reports "credentials
unreadable: enter them again" instead of failing in a sync).
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class SecretUnreadable(Exception):
    pass


def _fernet() -> Fernet:
    key = settings.INTEGRATION_SECRETS_KEY
    if not key:
        digest = hashlib.sha256(b"quimbi-integrations:" + settings.SECRET_KEY.encode()).digest()
        key = base64.urlsafe_b64encode(digest).decode()
    return Fernet(key.encode() if isinstance(key, str) else key)


def secret_seal(plain: str) -> str:
    """The stored form of a credential ("" stays "": not set)."""
    return _fernet().encrypt(plain.encode()).decode() if plain else ""


def secret_open(sealed: str) -> str:
    if not sealed:
        return ""
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            "The stored credential cannot be decrypted (SECRET_KEY or "
            "INTEGRATION_SECRETS_KEY changed): enter it again."
        ) from exc
