"""Which browser origins may open a socket or a stream.

A browser sends ``Origin`` with every WebSocket handshake and cannot be stopped from opening one
to any site, with its cookies and whatever else it holds: the server is the one to refuse. The
default is the server's own origin (``Origin`` naming the ``Host`` the request came to); clients
that are not browsers send no ``Origin`` at all and are let through (they authenticate anyway).
"""

from __future__ import annotations

from urllib.parse import urlsplit

ANY_ORIGIN = "*"


class OriginPolicy:
    def __init__(self, allowed: frozenset[str]) -> None:
        # Lower-cased ``scheme://host[:port]`` (app.config spells them so), or "*".
        self.allowed = allowed

    def allows(self, origin: str | None, host: str | None) -> bool:
        if origin is None:
            return True
        if ANY_ORIGIN in self.allowed:
            return True
        normalized = origin.strip().lower()
        if normalized in self.allowed:
            return True
        return not self.allowed and _is_same_origin(normalized, host)


def _is_same_origin(origin: str, host: str | None) -> bool:
    """``Origin`` names the host (and port) the request was sent to: the page is the server's own."""
    if host is None:
        return False
    parts = urlsplit(origin)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return False
    return parts.netloc == host.strip().lower() or _without_default_port(parts.scheme, parts.netloc) == (
        _without_default_port(parts.scheme, host.strip().lower())
    )


def _without_default_port(scheme: str, netloc: str) -> str:
    default = ":443" if scheme == "https" else ":80"
    return netloc.removesuffix(default)
