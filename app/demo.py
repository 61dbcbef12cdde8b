"""``bizgraph serve --demo``: a database that is migrated and seeded, embedded if need be,
a signing key, and the demo sign-ins printed for whoever started it.

The demo is not a way around authentication: every request needs a token, as in
production. What the demo adds is users with a published password.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from app.auth.keys import ensure_demo_key
from app.config import DEFAULT_ISSUER, Settings
from app.embedded import EmbeddedPostgres
from app.errors import BizgraphError
from app.migrations import upgrade

log = logging.getLogger("bizgraph.demo")

DEMO_DATABASE = "bizgraph_demo"
# The ready-made token printed at start lasts a working day rather than the
# configured lifetime: it is for a person exploring, pasted once into GraphiQL.
DEMO_TOKEN_TTL_SECONDS = 12 * 3600
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


def prepare_demo(
    settings: Settings, *, host: str = "127.0.0.1", port: int = 8000
) -> tuple[Settings, EmbeddedPostgres | None]:
    """Point settings at a migrated, seeded database (starting an embedded server if none is
    configured) and at a signing key (made once under the data directory if none is configured)."""
    from app.seed import is_seeded, run_seed

    embedded = None
    if settings.database_url is None:
        embedded = EmbeddedPostgres(settings.data_dir / "pgdata").start()
        settings = settings.with_database(embedded.create_database(DEMO_DATABASE))
    settings = replace(settings, demo=True)
    if not settings.signing_keys:
        settings = replace(settings, signing_keys=(ensure_demo_key(settings.data_dir),))
    if settings.issuer == DEFAULT_ISSUER and host in LOOPBACK_HOSTS:
        # The published endpoints should name the port the demo really listens on.
        settings = replace(settings, issuer=f"http://{host}:{port}")
    upgrade(settings.database_url)
    if not is_seeded(settings.database_url):
        log.info("seeding the small demo data set (once)")
        print(run_seed(settings.database_url, scale="small", seed=42, reset=False, progress=True).summary())
    return settings, embedded


def demo_sign_ins(settings: Settings, *, host: str, port: int) -> str:
    """What to print at start: the GraphiQL address, a curl line per demo user, an admin token."""
    from resolvers.accounts.admin import issue_token
    from app.auth.tokens import DEV_CLIENT_ID
    from app.seed.orgs import ORGS
    from app.seed.users import DEMO_PASSWORD, DEMO_ROLES, demo_email

    base = f"http://{host if host not in ('0.0.0.0', '::') else '127.0.0.1'}:{port}"
    lines = [f"bizgraph demo: open {base}/graphql and paste a token into its 'Bearer token' field.",
             f"Demo users (password {DEMO_PASSWORD}); get a token with:"]
    for org in ORGS:
        for role in DEMO_ROLES:
            lines.append(f"  curl -s {base}/oauth/token -d grant_type=password -d client_id={DEV_CLIENT_ID}"
                         f" -d username={demo_email(role, org.slug)} -d password={DEMO_PASSWORD}")
    admin = demo_email("admin", ORGS[0].slug)
    try:
        token = issue_token(settings, org=ORGS[0].slug, email=admin, ttl_seconds=DEMO_TOKEN_TTL_SECONDS)
    except BizgraphError as error:  # e.g. a database seeded before demo users existed
        lines.append(f"(no ready-made token: {error.message})")
    else:
        lines.append(f"A token for {admin}, valid for {DEMO_TOKEN_TTL_SECONDS // 3600} hours:")
        lines.append(f"  {token.access_token}")
    return "\n".join(lines)
