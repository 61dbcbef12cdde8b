"""Passwords and client secrets, stored only as argon2id hashes.

argon2-cffi's defaults are RFC 9106's second recommended profile (64 MiB, three
passes, four lanes): about a fifth of a second per check on the reference
machine, which is the point. Callers run checks in a thread pool with bounded
concurrency (each check holds 64 MiB while it runs).
"""

from __future__ import annotations

import contextlib
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.low_level import hash_secret as argon2_hash_secret

_hasher = PasswordHasher()


def hash_secret(secret: str) -> str:
    """A new argon2id hash with a random salt."""
    return _hasher.hash(secret)


def hash_secret_with_salt(secret: str, salt: bytes) -> str:
    """An argon2id hash with a caller-chosen salt and the same parameters.

    Only for the demo seed, whose rows must be byte-for-byte reproducible and
    whose password is published anyway; a real password always gets a random salt.
    """
    encoded = argon2_hash_secret(
        secret.encode(),
        salt,
        time_cost=_hasher.time_cost,
        memory_cost=_hasher.memory_cost,
        parallelism=_hasher.parallelism,
        hash_len=_hasher.hash_len,
        type=Type.ID,
    )
    return encoded.decode("ascii")


def verify_secret(hashed: str | None, secret: str) -> bool:
    """True when ``secret`` matches ``hashed``. A missing hash (an account that cannot
    sign in with a password) still costs a full check, so that the answer's timing
    does not tell which accounts exist or have a password."""
    if hashed is None:
        spend_one_verification(secret)
        return False
    try:
        return _hasher.verify(hashed, secret)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def spend_one_verification(secret: str) -> None:
    """Take as long as a real check, for answers about unknown accounts."""
    with contextlib.suppress(VerifyMismatchError, VerificationError, InvalidHashError):
        _hasher.verify(_decoy_hash(), secret)


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    return _hasher.hash("bizgraph decoy: nothing signs in with this")
