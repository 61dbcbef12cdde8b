"""The bench's principal: a demo user's access token, from the running server's own token endpoint,
and the customers that principal can see (Q1's ids are sampled among them).

Every request to /graphql needs a bearer token, and the bench measures what an
authenticated client costs — the token is fetched once, before any cell, so its
password check (argon2, slow on purpose) is never inside a measurement.
"""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

import httpx

DEMO_PASSWORD = "bizgraph-demo"  # app.seed.users.DEMO_PASSWORD; the bench imports no app code here
PAGE = 100  # the server's default page-size cap
MAX_PAGES = 200  # Q1's visibility check reads at most this many pages of customers


def demo_email(who: str, org_slug: str) -> str:
    """``--as``: an email as is, or a demo role of the measured organization (``sales`` → sales@<slug>.example)."""
    return who if "@" in who else f"{who}@{org_slug}.example"


def demo_token(graphql_url: str, email: str) -> str:
    parts = urlsplit(graphql_url)
    token_url = f"{parts.scheme}://{parts.netloc}/oauth/token"
    form = {"grant_type": "password", "client_id": "bizgraph-dev", "username": email, "password": DEMO_PASSWORD}
    try:
        response = httpx.post(token_url, data=form, timeout=30)
    except httpx.HTTPError as error:
        raise SystemExit(f"bench: no answer from {token_url} ({error!r}); is the server running?") from None
    if response.status_code != 200:
        raise SystemExit(
            f"bench: {token_url} refused {email} ({response.text[:200]}); pass --token with a valid access token"
        )
    return response.json()["access_token"]


def visible_customers(graphql_url: str, token: str) -> tuple[set[int], bool]:
    """The ids of the customers the token's principal sees, paging ``customers`` through the API;
    and whether the list was cut at ``MAX_PAGES`` pages."""
    query = (
        f"query($after: String) {{ customers(first: {PAGE}, after: $after) {{"
        " nodes { id } pageInfo { hasNextPage endCursor } } }"
    )
    ids: set[int] = set()
    after = None
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        for _ in range(MAX_PAGES):
            body = client.post(graphql_url, json={"query": query, "variables": {"after": after}}).json()
            page = (body.get("data") or {}).get("customers")
            if page is None:
                raise SystemExit(f"bench: cannot list the principal's customers: {body.get('errors')}")
            ids.update(int(base64.b64decode(node["id"]).decode().split(":", 1)[1]) for node in page["nodes"])
            if not page["pageInfo"]["hasNextPage"]:
                return ids, False
            after = page["pageInfo"]["endCursor"]
    return ids, True
