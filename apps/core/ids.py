import secrets


def prefixed_id(prefix: str) -> str:
    """`<prefix>_` + 24 url-safe characters (18 random bytes): `req_…`, `cmpl_…`, `batch_…`."""
    return f"{prefix}_{secrets.token_urlsafe(18)}"
