"""The bench's access token: the demo admin's, from the running server's own token endpoint.

Every request to /graphql needs a bearer token, and the bench measures what an
authenticated client costs — the token is fetched once, before any cell, so its
password check (argon2, slow on purpose) is never inside a measurement.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

DEMO_PASSWORD = "bizgraph-demo"  # app.seed.users.DEMO_PASSWORD; the bench imports no app code here


def demo_admin_token(graphql_url: str, org_slug: str) -> str:
    parts = urlsplit(graphql_url)
    token_url = f"{parts.scheme}://{parts.netloc}/oauth/token"
    form = {"grant_type": "password", "client_id": "bizgraph-dev", "username": f"admin@{org_slug}.example",
            "password": DEMO_PASSWORD}
    try:
        response = httpx.post(token_url, data=form, timeout=30)
    except httpx.HTTPError as error:
        raise SystemExit(f"bench: no answer from {token_url} ({error!r}); is the server running?") from None
    if response.status_code != 200:
        raise SystemExit(
            f"bench: {token_url} refused the demo admin ({response.text[:200]}); pass --token with a valid access token"
        )
    return response.json()["access_token"]
