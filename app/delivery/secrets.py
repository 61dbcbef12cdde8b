"""Endpoint secrets, encrypted at rest.

A signing secret cannot be stored as a hash the way passwords and client secrets
are: the worker needs the secret itself to compute each message's HMAC. So it is
stored encrypted (Fernet: AES-128-CBC with HMAC-SHA256) under a key that lives in
the environment, never in the database: a copy of the database alone reveals no
secret. Several keys may be configured: the first encrypts, all decrypt, so the key
can be rotated without re-encrypting first.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from app.errors import ConfigError


class SecretBox:
    def __init__(self, keys: tuple[str, ...]) -> None:
        if not keys:
            raise ConfigError("BIZGRAPH_WEBHOOK_SECRET_KEYS is not set: webhook secrets cannot be encrypted")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise ConfigError(
                "a webhook secret does not decrypt with BIZGRAPH_WEBHOOK_SECRET_KEYS (was the key replaced?)"
            ) from None
