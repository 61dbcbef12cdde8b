"""Which URLs a webhook may be sent to, and which address it is sent to.

A receiver's URL is checked twice: when an admin registers it (``check_url``, and
``resolve`` so a name that points inside is refused at once) and before every
attempt (``resolve``), because what a name resolves to can change. The attempt then
connects to the address ``resolve`` checked, not to the name, so a name that
answers a public address to the check and a private one to the connection (DNS
rebinding) gets nowhere.

Refused unless ``allowed_networks`` names them: every address that is not globally
routable (loopback, private, link-local — the 169.254.169.254 metadata service
among them —, carrier-grade NAT, unique-local, reserved, unspecified) and multicast.
An IPv4 address written inside IPv6 (``::ffff:127.0.0.1``) is judged as IPv4.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from app.delivery.settings import Network

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_URL_LENGTH = 2000


class TargetRefused(Exception):
    """A URL or the address it resolves to may not receive webhooks; the message says why."""


@dataclass(frozen=True)
class Target:
    url: SplitResult
    host: str
    port: int


def check_url(raw: str, *, allow_http: bool) -> Target:
    """The URL's parts, once its form is acceptable (no address is looked up)."""
    if len(raw) > MAX_URL_LENGTH:
        raise TargetRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        url = urlsplit(raw.strip())
        port = url.port
    except ValueError as error:
        raise TargetRefused(f"not a URL: {error}") from None
    if url.scheme not in {"https", "http"}:
        raise TargetRefused("the URL must start with https://")
    if url.scheme == "http" and not allow_http:
        raise TargetRefused("the URL must use https (plain http is allowed in development only)")
    if not url.hostname:
        raise TargetRefused("the URL names no host")
    if url.username is not None or url.password is not None:
        raise TargetRefused("the URL must not carry credentials")
    if url.fragment:
        raise TargetRefused("the URL must not have a #fragment")
    return Target(url=url, host=url.hostname, port=port or (443 if url.scheme == "https" else 80))


def refused_address(address: Address, allowed: Sequence[Network]) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in allowed):
        return False
    return not address.is_global or address.is_multicast


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def _lookup(target: Target) -> list[Address]:
    try:
        answers = await asyncio.get_running_loop().getaddrinfo(
            target.host, target.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (socket.gaierror, UnicodeError) as error:
        raise TargetRefused(f"{target.host} does not resolve ({error})") from None
    addresses: list[Address] = []
    for *_, sockaddr in answers:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise TargetRefused(f"{target.host} does not resolve")
    return addresses


async def resolve(target: Target, allowed: Sequence[Network]) -> Address:
    """The address to connect to: every address the host resolves to must be
    acceptable (one bad answer refuses the URL: a connection must not depend on
    which answer comes first)."""
    literal = _literal(target.host)
    addresses = [literal] if literal is not None else await _lookup(target)
    for address in addresses:
        if refused_address(address, allowed):
            raise TargetRefused(
                f"{target.host} resolves to {address}, a private, loopback, link-local or reserved address"
                " (allow it with BIZGRAPH_WEBHOOK_ALLOWED_NETWORKS)"
            )
    return addresses[0]
