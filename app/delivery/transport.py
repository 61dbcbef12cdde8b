"""One POST to a receiver, at the address the target check resolved.

The request goes to the checked IP address itself; the URL's host still travels in
``Host`` and, over TLS, as the server name, so virtual hosts answer and certificates
are verified against the name. Redirects are not followed (a 3xx is a failed
attempt), proxies from the environment are not used (they would connect to the name
themselves), at most ``max_bytes`` of the response are read, and the whole exchange
must end within the timeout.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

from app.delivery.targets import Address, Target

# What the attempt log keeps of a response body.
LOGGED_BYTES = 1024


@dataclass(frozen=True)
class Response:
    status_code: int | None
    latency_ms: int
    body: bytes  # at most LOGGED_BYTES
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def new_client(*, connections: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )


def _address_url(target: Target, address: Address) -> str:
    host = f"[{address}]" if address.version == 6 else str(address)
    path = target.url.path or "/"
    query = f"?{target.url.query}" if target.url.query else ""
    return f"{target.url.scheme}://{host}:{target.port}{path}{query}"


def _host_header(target: Target) -> str:
    default = 443 if target.url.scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if target.port == default else f"{host}:{target.port}"


async def post(
    client: httpx.AsyncClient,
    target: Target,
    address: Address,
    headers: dict[str, str],
    body: bytes,
    *,
    timeout_seconds: float,
    max_bytes: int,
) -> Response:
    started = time.perf_counter()

    def elapsed() -> int:
        return int((time.perf_counter() - started) * 1000)

    request = client.build_request(
        "POST",
        _address_url(target, address),
        headers={**headers, "host": _host_header(target), "user-agent": "bizgraph-webhooks/1"},
        content=body,
        timeout=httpx.Timeout(timeout_seconds),
        extensions={"sni_hostname": target.host},
    )
    try:
        async with asyncio.timeout(timeout_seconds):
            response = await client.send(request, stream=True)
            try:
                read = bytearray()
                async for chunk in response.aiter_raw():
                    read += chunk
                    if len(read) >= max_bytes:
                        break
            finally:
                await response.aclose()
    except TimeoutError:
        return Response(None, elapsed(), b"", f"no response within {timeout_seconds:g} s")
    except httpx.TimeoutException:
        return Response(None, elapsed(), b"", f"no response within {timeout_seconds:g} s")
    except httpx.HTTPError as error:
        return Response(None, elapsed(), b"", f"{type(error).__name__}: {error}"[:500])
    return Response(response.status_code, elapsed(), bytes(read[:LOGGED_BYTES]))
