"""Token secrets: `ipk_<prefix>_<secret>`. The prefix is public (lists, logs); the whole token is
hashed with SHA-256 for storage. A plain hash is enough: the secret has 256 bits of entropy, so
there is nothing for a slow password hash to protect against."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

TOKEN_SCHEME = "ipk"


@dataclass(frozen=True, slots=True)
class NewSecret:
    token: str
    prefix: str
    secret_hash: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def generate_secret() -> NewSecret:
    prefix = f"{TOKEN_SCHEME}_{secrets.token_hex(4)}"
    token = f"{prefix}_{secrets.token_urlsafe(32)}"
    return NewSecret(token=token, prefix=prefix, secret_hash=hash_token(token))


def prefix_of(token: str) -> str:
    """The public prefix of a presented token, for logs; never more of it."""
    scheme, _, rest = token.partition("_")
    return f"{scheme}_{rest[:8]}" if scheme == TOKEN_SCHEME else ""
