"""``bizgraph serve --demo``: a database that is migrated and seeded, embedded if need be,
a signing key, and the demo sign-ins printed for whoever started it.

The demo is not a way around authentication: every request needs a token, as in
production. What the demo adds is users with a published password.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from app.auth.keys import ensure_demo_key
from app.config import DEFAULT_ISSUER, Settings
from app.embedded import PGSERVER_LOGGER, EmbeddedPostgres
from app.errors import BizgraphError
from app.http.dashboard import DASHBOARD_PATH
from app.migrations import upgrade
from app.notifications.mail_folder import MailFolderServer

log = logging.getLogger("bizgraph.demo")

DEMO_DATABASE = "bizgraph_demo"
DEMO_LOG = "demo.log"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# The ready-made token printed at start lasts a working day rather than the
# configured lifetime: it is for a person exploring, pasted once into GraphiQL.
DEMO_TOKEN_TTL_SECONDS = 12 * 3600
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


def demo_log_path(data_dir: Path) -> Path:
    """Where a demo start writes how it went: the embedded PostgreSQL, migrations, seeding."""
    return data_dir / DEMO_LOG


@contextmanager
def start_up_logged_to(path: Path) -> Iterator[None]:
    """While the demo prepares, every log record and warning goes to ``path`` (overwritten at each
    start) rather than the terminal, and a failure becomes one line that names the file.

    pgserver's logger stays on the file for the rest of the process: it reports again when the
    server stops at exit, after the terminal has had the banner and the server's own lines."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        to_file = logging.FileHandler(path, mode="w", encoding="utf-8")
    except OSError as error:
        raise BizgraphError(f"cannot write the demo's log {path}: {error.strerror or error}") from error
    to_file.setFormatter(logging.Formatter(LOG_FORMAT))
    pgserver_log = logging.getLogger(PGSERVER_LOGGER)
    pgserver_log.addHandler(to_file)
    pgserver_log.propagate = False
    root = logging.getLogger()
    terminal = list(root.handlers)
    for handler in terminal:
        root.removeHandler(handler)
    root.addHandler(to_file)
    logging.captureWarnings(True)
    try:
        yield
    except BizgraphError as error:
        log.error("%s", error.message)
        raise BizgraphError(f"{error.message}; details in {path}") from error
    except Exception as error:
        log.exception("the demo could not start")
        raise BizgraphError(f"the demo could not start: {_first_line(error)}; details in {path}") from error
    finally:
        logging.captureWarnings(False)
        root.removeHandler(to_file)
        for handler in terminal:
            root.addHandler(handler)


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _say(text: str) -> None:
    """A line for whoever started the demo; everything else goes to the log."""
    print(f"bizgraph demo: {text}", flush=True)


def prepare_demo(
    settings: Settings, *, host: str = "127.0.0.1", port: int = 8000
) -> tuple[Settings, EmbeddedPostgres | None]:
    """Point settings at a migrated, seeded database (starting an embedded server if none is
    configured) and at a signing key (made once under the data directory if none is configured)."""
    from app.seed import is_seeded, run_seed

    embedded = None
    if settings.database_url is None:
        embedded = EmbeddedPostgres(settings.data_dir / "pgdata")
        if not embedded.exists:
            _say(f"creating the embedded PostgreSQL in {embedded.data_dir} (first start only)")
        url = embedded.start().create_database(DEMO_DATABASE)
        settings = settings.with_database(url)
    else:
        url = settings.database_url
    settings = replace(settings, demo=True, webhooks=settings.webhooks.for_development())
    if not settings.signing_keys:
        settings = replace(settings, signing_keys=(ensure_demo_key(settings.data_dir),))
    if settings.issuer == DEFAULT_ISSUER and host in LOOPBACK_HOSTS:
        # The published endpoints should name the port the demo really listens on.
        settings = replace(settings, issuer=f"http://{host}:{port}")
    upgrade(url)
    if not is_seeded(url):
        _say("seeding the small demo data set (first start only, a few seconds)")
        log.info("%s", run_seed(url, scale="small", seed=42, reset=False, progress=False).summary())
    return settings, embedded


def _simulate_command(settings: Settings, *, embedded: bool) -> str:
    command = "bizgraph simulate --rate 20"
    if not embedded or settings.database_url is None:
        return f"{command}    # with the same DATABASE_URL"
    # The embedded server has no password: its URL names a local socket and the superuser.
    url = settings.database_url.render_as_string(hide_password=False)
    return f"DATABASE_URL={shlex.quote(url)} {command}"


def demo_sign_ins(settings: Settings, *, host: str, port: int, embedded: bool = False) -> str:
    """What to print at start: the GraphiQL and dashboard addresses, how to make the data move
    (naming the embedded database, which the CLI cannot find by itself), a curl line per demo
    user, an admin token."""
    from app.auth.tokens import DEV_CLIENT_ID
    from app.seed.orgs import ORGS
    from app.seed.users import DEMO_PASSWORD, DEMO_ROLES, demo_email
    from resolvers.accounts.admin import issue_token

    base = f"http://{host if host not in ('0.0.0.0', '::') else '127.0.0.1'}:{port}"
    lines = [
        f"bizgraph demo: open {base}/graphql and paste a token into its 'Bearer token' field.",
        f"Live sales dashboard: {base}{DASHBOARD_PATH} (the same token); to make it move, run in another terminal:",
        f"  {_simulate_command(settings, embedded=embedded)}",
        f"Start-up log (database, migrations, seeding): {demo_log_path(settings.data_dir)}",
        f"Demo users (password {DEMO_PASSWORD}); get a token with:",
    ]
    for org in ORGS:
        for role in DEMO_ROLES:
            lines.append(
                f"  curl -s {base}/oauth/token -d grant_type=password -d client_id={DEV_CLIENT_ID}"
                f" -d username={demo_email(role, org.slug)} -d password={DEMO_PASSWORD}"
            )
    admin = demo_email("admin", ORGS[0].slug)
    try:
        token = issue_token(settings, org=ORGS[0].slug, email=admin, ttl_seconds=DEMO_TOKEN_TTL_SECONDS)
    except BizgraphError as error:  # e.g. a database seeded before demo users existed
        lines.append(f"(no ready-made token: {error.message})")
    else:
        lines.append(f"A token for {admin}, valid for {DEMO_TOKEN_TTL_SECONDS // 3600} hours:")
        lines.append(f"  {token.access_token}")
    return "\n".join(lines)


def start_demo_mail(settings: Settings) -> tuple[Settings, MailFolderServer]:
    """A local SMTP server writing every email to ``<data dir>/mail``, and settings that send
    through it (plain SMTP on loopback: nothing leaves the machine)."""
    server = MailFolderServer(settings.data_dir / "mail")
    server.start()
    return replace(settings, smtp_host=server.host, smtp_port=server.port, smtp_tls="none"), server


def demo_mail_banner(server: MailFolderServer) -> str:
    return (
        f"Customer emails (order confirmations, invoices with their PDF, receipts, reminders) are written to"
        f" {server.folder} as .eml files, one per email: place an order and one appears within a second."
    )
