"""Secret keys (organization API keys, agent tokens): generation and hashing.

Keys are 256-bit random strings, so a plain SHA-256 is a safe way to store them
(unlike passwords, they cannot be guessed from a dictionary).
"""

import hashlib
import secrets


def key_generate(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def key_display_prefix(raw: str) -> str:
    return raw[:12]
