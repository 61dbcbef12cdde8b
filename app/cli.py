"""The ``bizgraph`` command."""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from sqlalchemy.engine import URL

from app.config import Settings
from app.errors import BizgraphError
from app.logs import configure_logging

log = logging.getLogger("bizgraph.cli")


def _require_database(settings: Settings) -> URL:
    if settings.database_url is None:
        from app.demo_env import demo_env_path

        raise BizgraphError(
            "DATABASE_URL is not set (e.g. postgresql://user@localhost:5432/bizgraph), and no demo has recorded"
            f" its database in {demo_env_path(settings.data_dir)}: set it, or start `bizgraph serve --demo`"
        )
    return settings.database_url


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from app.migrations import upgrade

    upgrade(_require_database(settings), args.revision)
    print(f"migrated to {args.revision}")
    return 0


def cmd_seed(args: argparse.Namespace, settings: Settings) -> int:
    from app.seed import run_seed

    report = run_seed(_require_database(settings), scale=args.scale, seed=args.seed, reset=args.reset, progress=True)
    print(report.summary())
    return 0


def cmd_export_schema(args: argparse.Namespace, settings: Settings) -> int:
    from schema import build_schema

    sys.stdout.write(build_schema(settings).as_str() + "\n")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from app.demo import (
        demo_log_path,
        demo_mail_banner,
        demo_sign_ins,
        prepare_demo,
        start_demo_mail,
        start_up_logged_to,
    )
    from app.server import create_app
    from app.serving import Listen, default_workers, serve_one, serve_workers

    workers = args.workers if args.workers is not None else default_workers()
    embedded = None
    mail_folder = None
    if args.demo:
        # The embedded server's, alembic's and the seed's chatter go to a file; the terminal gets
        # a line or two of the demo's own, then the banner, which names the file.
        with start_up_logged_to(demo_log_path(settings.data_dir)):
            settings, embedded = prepare_demo(settings, host=args.host, port=args.port)
        # Customer emails go to a local SMTP server that writes them to a folder.
        settings, mail_folder = start_demo_mail(settings)
    try:
        listen = Listen(
            args.host,
            args.port,
            settings.log_level.lower(),
            drain_notice_seconds=settings.drain_notice_seconds,
            drain_seconds=settings.drain_seconds,
        )
        # The workers build the same application: the demo's sends the customer emails.
        build = functools.partial(create_app, send_emails=args.demo)
        # Built here even for several workers (which build their own): a bad setting stops the
        # start with its one line before anything is spawned.
        app = build(settings)
        if not args.demo and settings.database_url is not None:
            from app.unreachable import require_reachable

            # A database that is missing or down: one line now, not the start-up's tracebacks.
            require_reachable(settings.database_url)
        if args.demo:
            print(demo_sign_ins(settings, host=args.host, port=args.port, embedded=embedded is not None), flush=True)
            if mail_folder is not None:
                print(demo_mail_banner(mail_folder), flush=True)
        if workers == 1:
            serve_one(app, listen)
        else:
            return serve_workers(settings, listen, build, workers)
    finally:
        if mail_folder is not None:
            mail_folder.stop()
        if embedded is not None:
            embedded.stop()
    return 0


def cmd_create_user(args: argparse.Namespace, settings: Settings) -> int:
    from resolvers.accounts.admin import create_user

    password = sys.stdin.readline().rstrip("\n") if args.password == "-" else args.password
    user_id = create_user(
        settings,
        org=args.org,
        email=args.email,
        password=password,
        roles=args.role,
        employee_id=args.employee,
        customer_id=args.customer,
    )
    print(f"created user {user_id}: {args.email.strip()} in {args.org} as {', '.join(sorted(set(args.role)))}")
    return 0


def cmd_create_client(args: argparse.Namespace, settings: Settings) -> int:
    from resolvers.accounts.admin import create_client

    client = create_client(settings, org=args.org, name=args.name, scopes=args.scope)
    print(f"client_id:     {client.client_id}")
    print(f"client_secret: {client.client_secret}")
    print("The secret is shown only this once: store it now.", file=sys.stderr)
    return 0


def cmd_disable_user(args: argparse.Namespace, settings: Settings) -> int:
    from resolvers.accounts.admin import disable_user

    user_id = disable_user(settings, org=args.org, email=args.email)
    print(
        f"disabled user {user_id}: {args.email.strip()} in {args.org}; its tokens stop working within"
        f" {settings.token_user_cache_seconds} s"
    )
    return 0


def cmd_issue_token(args: argparse.Namespace, settings: Settings) -> int:
    from resolvers.accounts.admin import issue_token

    print(issue_token(settings, org=args.org, email=args.email, ttl_seconds=args.ttl).access_token)
    return 0


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from app.backup import backup

    url = _require_database(settings)
    report = backup(url, args.file)
    print(f"backed up {url.database} (alembic revision {report.revision}) to {report.path}: {report.size:,} bytes")
    return 0


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    from app.backup import restore

    url = _require_database(settings)
    report = restore(url, args.file)
    print(f"restored {args.file} into {url.database} (alembic revision {report.revision})")
    if report.advice:
        print(f"bizgraph: {report.advice}", file=sys.stderr)
    return 0


def cmd_demo_env(args: argparse.Namespace, settings: Settings) -> int:
    from app.demo_env import demo_env_path, read_demo_env

    path = demo_env_path(settings.data_dir)
    if not read_demo_env(settings.data_dir):
        raise BizgraphError(f"no demo has run with the data directory {settings.data_dir} ({path} is missing)")
    # The file holds exactly these lines: `eval "$(bizgraph demo-env)"` or `. <file>` give the same.
    sys.stdout.write(path.read_text(encoding="utf-8"))
    return 0


def cmd_sweep_overdue(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from app.db import Database
    from app.errors import CommandError
    from resolvers.invoices.sweep import sweep_organizations
    from resolvers.writes.checks import label
    from schema.mutations import input_path

    _require_database(settings)

    async def sweep() -> list[tuple[str, int]]:
        # The server's own pool and role: row-level security binds the sweep too.
        database = Database(settings)
        try:
            await database.verify_isolation()
            return await sweep_organizations(database, slug=args.org, as_of=args.as_of)
        except CommandError as refusal:
            # The command words a refusal in domain terms ("as of is in the
            # future"); the CLI keeps naming the moment as it always has, by the
            # API input's name (asOf), which scripts may match on.
            api_path = input_path(refusal.field)
            if not refusal.field or not api_path:
                raise
            raise BizgraphError(refusal.message.replace(label(refusal.field), api_path[-1], 1)) from None
        finally:
            await database.dispose()

    for slug, marked in asyncio.run(sweep()):
        print(f"{slug}: marked {marked} invoice(s) overdue")
    return 0


def cmd_brand(args: argparse.Namespace, settings: Settings) -> int:
    from resolvers.organizations_brand import COLUMNS, set_brand

    # "from" is a Python keyword, so its option lands on ``from_``.
    given = {
        column: getattr(args, option.replace("-", "_") + ("_" if option == "from" else ""))
        for column, (option, _) in COLUMNS.items()
    }
    changes = {column: value for column, value in given.items() if value is not None}
    print("\n".join(set_brand(settings, org=args.org, changes=changes).lines()))
    return 0


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio
    import signal

    from sqlalchemy.exc import DBAPIError

    from app.db import Database
    from resolvers.simulation import Simulation, load_staff

    _require_database(settings)

    def say(line: str) -> None:
        print(f"simulate: {line}", flush=True)

    async def simulate() -> str:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()

        def stop_softly() -> None:
            # The first Ctrl-C lets the actions under way commit; a second one interrupts them.
            stop.set()
            loop.remove_signal_handler(signal.SIGINT)
            say("stopping after the actions under way (Ctrl-C again to abandon them)")

        loop.add_signal_handler(signal.SIGINT, stop_softly)
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        # The server's own pool and role: row-level security binds the simulated users too.
        database = Database(settings)
        try:
            await database.verify_isolation()
            staff = await load_staff(database, args.organization)
            simulation = Simulation(database, staff, rate=args.rate)
            names = ", ".join(s.slug for s in staff)
            limits = [f"{args.seconds:g} s" if args.seconds else "", f"{args.actions} actions" if args.actions else ""]
            until = " or ".join(limit for limit in limits if limit) or "Ctrl-C"
            say(f"about {args.rate:g} actions a second in {names}, until {until}")
            started = loop.time()
            tally = await simulation.run(
                stop=stop, actions=args.actions, seconds=args.seconds, report=say, report_every=args.every
            )
            return "done: " + tally.line(loop.time() - started).strip()
        except DBAPIError as error:
            from app.unreachable import connection_failure

            failure = connection_failure(error, settings.database_url)
            if failure is not None:
                raise failure from None
            raise BizgraphError(f"the database failed: {str(error.orig or error).strip().splitlines()[0]}") from None
        finally:
            await database.dispose()

    say(asyncio.run(simulate()))
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Delivers what the outbox says should go out: webhooks (when their secrets' keys are
    set) and customer and staff emails, side by side in one process."""
    import asyncio
    import signal

    from app.db import Database
    from app.delivery.worker import Worker
    from app.notifications import EmailDispatcher

    _require_database(settings)
    configure_logging(settings.log_level, settings.log_format)
    # Without keys no endpoint can have been registered (creating one answers NOT_CONFIGURED):
    # the worker sends emails only, and says so.
    webhooks_off = None if settings.webhooks.secret_keys else "webhooks off: BIZGRAPH_WEBHOOK_SECRET_KEYS is not set"

    async def work() -> str:
        # The server's own pool and role: row-level security binds the worker too, and it
        # names each organization in turn.
        database = Database(settings)
        webhooks = (
            None if webhooks_off else Worker(database, settings.webhooks, listen_url=settings.listen_database_url)
        )
        try:
            await database.verify_isolation()
            emails = EmailDispatcher.from_settings(
                database, settings, concurrency=args.concurrency, poll_seconds=args.poll_seconds
            )
            if args.once:
                sent = await emails.run_once()
                delivered = f"{await webhooks.run_once()} webhook attempt(s)" if webhooks else webhooks_off
                return f"worker: {sent} email(s) attempted; {delivered}"
            # Ctrl-C or SIGTERM: what is under way is sent and logged, then the worker exits.
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            print(
                f"worker: sending emails through {settings.smtp_host}:{settings.smtp_port}"
                f" (TLS: {settings.smtp_tls}); {'delivering webhooks' if webhooks else webhooks_off};"
                " Ctrl-C or SIGTERM stops",
                flush=True,
            )
            await asyncio.gather(emails.run(stop), *([webhooks.run(stop)] if webhooks else []))
            return ""
        finally:
            if webhooks is not None:
                await webhooks.close()
            await database.dispose()

    said = asyncio.run(work())
    if said:
        print(said, flush=True)
    return 0


def cmd_prune(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio
    from dataclasses import replace

    from app.db import Database
    from app.delivery.prune import prune
    from app.delivery.worker import utc_now

    _require_database(settings)
    webhooks = settings.webhooks
    for name in ("delivery_retention_days", "outbox_retention_days", "idempotency_retention_days"):
        given = getattr(args, name)
        if given is not None:
            webhooks = replace(webhooks, **{name: given})

    async def run() -> list[str]:
        database = Database(settings)
        lines = []
        try:
            await database.verify_isolation()

            async def organizations(connection: Any) -> list[tuple[int, str]]:
                result = await connection.exec_driver_sql("SELECT id, slug FROM bizgraph_organizations()")
                return [(int(row[0]), str(row[1])) for row in result.all()]

            for org_id, slug in await database.reading(organizations):
                async with database.unit_of_work(org_id) as connection:
                    pruned = await prune(connection, org_id, webhooks, utc_now())
                lines.append(
                    f"{slug}: {pruned.deliveries} deliveries, {pruned.events} outbox events,"
                    f" {pruned.idempotency_keys} idempotency keys"
                )
        finally:
            await database.dispose()
        return lines

    for line in asyncio.run(run()):
        print(f"pruned {line}")
    return 0


def cmd_operations_push(args: argparse.Namespace, settings: Settings) -> int:
    import orjson

    from resolvers.operations import store
    from schema import build_schema
    from schema.limits.parsing import documents_of
    from schema.manifests import check_operations, read_manifest

    _require_database(settings)
    try:
        manifest = orjson.loads(args.manifest.read_bytes())
    except OSError as error:
        raise BizgraphError(f"cannot read {args.manifest}: {error.strerror}") from None
    except orjson.JSONDecodeError as error:
        raise BizgraphError(f"{args.manifest} is not JSON: {error}") from None
    # The server's schema and limits: what is stored is what the server would run.
    schema = build_schema(settings)._schema
    operations = check_operations(schema, documents_of(schema), read_manifest(manifest))
    new = store(settings, operations)
    known = len(operations) - new
    print(f"{args.manifest}: {len(operations)} operation(s), {new} newly stored, {known} already stored")
    return 0


def cmd_operations_list(args: argparse.Namespace, settings: Settings) -> int:
    from resolvers.operations import list_stored

    _require_database(settings)
    for operation in list_stored(settings):
        name = operation.name or "(anonymous)"
        print(f"{operation.sha256}  {operation.type:<12}  {name}  {operation.created_at:%Y-%m-%dT%H:%M:%SZ}")
    return 0


class _Parser(argparse.ArgumentParser):
    """Usage mistakes get the same one line as every other error."""

    def error(self, message: str) -> NoReturn:
        print(f"bizgraph: {message} (see `{self.prog} --help`)", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bizgraph", description="bizgraph: a GraphQL business data platform")
    sub = parser.add_subparsers(dest="command", required=True)

    migrate = sub.add_parser("migrate", help="apply database migrations (alembic upgrade) on DATABASE_URL")
    migrate.add_argument("revision", nargs="?", default="head")
    migrate.set_defaults(handler=cmd_migrate)

    seed = sub.add_parser("seed", help="load deterministic demo data")
    seed.add_argument("--scale", choices=["tiny", "small", "medium", "large"], default="small")
    seed.add_argument("--seed", type=int, default=42, help="random seed; the same seed gives the same data")
    seed.add_argument("--reset", action="store_true", help="delete existing business data first")
    seed.set_defaults(handler=cmd_seed)

    serve = sub.add_parser("serve", help="serve the GraphQL API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=_positive_int,
        help="processes serving the port, each with its own pool and change listener (default: one per core)",
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help="migrate and seed the demo data, make a signing key if none is configured, and print demo sign-ins;"
        " without DATABASE_URL, run an embedded PostgreSQL",
    )
    serve.set_defaults(handler=cmd_serve)

    user = sub.add_parser("create-user", help="add a user who signs in with a password")
    user.add_argument("--org", required=True, help="organization slug")
    user.add_argument("--email", required=True)
    user.add_argument("--password", required=True, help="the password, or - to read one line from stdin")
    user.add_argument("--role", required=True, action="append", help="repeat for several roles")
    link = user.add_mutually_exclusive_group()
    link.add_argument("--employee", type=_positive_int, help="id of the employee this user is")
    link.add_argument("--customer", type=_positive_int, help="id of the customer this user signs in for")
    user.set_defaults(handler=cmd_create_user)

    client = sub.add_parser("create-client", help="add a service client (client credentials); prints its secret once")
    client.add_argument("--org", required=True, help="organization slug")
    client.add_argument("--name", required=True)
    client.add_argument("--scope", required=True, action="append", help="admin, finance, hr or analyst; repeatable")
    client.set_defaults(handler=cmd_create_client)

    disable = sub.add_parser("disable-user", help="stop a user from signing in and refuse its tokens")
    disable.add_argument("--org", required=True, help="organization slug")
    disable.add_argument("--email", required=True)
    disable.set_defaults(handler=cmd_disable_user)

    token = sub.add_parser("issue-token", help="print a signed access token for a user (development)")
    token.add_argument("--org", required=True, help="organization slug")
    token.add_argument("--email", required=True)
    token.add_argument(
        "--ttl",
        type=_positive_int,
        help="lifetime in seconds (default BIZGRAPH_ACCESS_TOKEN_TTL_SECONDS;"
        " at most BIZGRAPH_MAX_TOKEN_LIFETIME_SECONDS)",
    )
    token.set_defaults(handler=cmd_issue_token)

    sweep = sub.add_parser("sweep-overdue", help="mark open invoices past their due date as overdue")
    sweep.add_argument("--org", help="organization slug (default: every organization)")
    sweep.add_argument("--as-of", type=_moment, help="ISO 8601 date-time with a UTC offset (default: now)")
    sweep.set_defaults(handler=cmd_sweep_overdue)

    brand = sub.add_parser(
        "brand",
        help="show or set what customers' emails and invoices show of an organization (sender, colour, address)",
    )
    brand.add_argument("--org", required=True, help="organization slug")
    brand.add_argument("--sender-name", help="the name emails come from (default: the organization's name)")
    brand.add_argument("--from", dest="from_", metavar="ADDRESS", help="the address emails come from")
    brand.add_argument("--color", help="the brand colour, #rrggbb")
    brand.add_argument("--logo-text", help="the text shown where a logo would be (default: the name)")
    brand.add_argument("--postal-address", help="the address invoices print, lines separated by \\n")
    brand.add_argument("--tax-id", help="the tax number invoices print")
    brand.set_defaults(handler=cmd_brand)

    worker = sub.add_parser(
        "worker",
        help="deliver what the outbox says should go out: webhooks (BIZGRAPH_WEBHOOK_*) and customer and staff"
        " emails over SMTP (BIZGRAPH_SMTP_*); run one or more, on any machines sharing the database",
    )
    worker.add_argument(
        "--once", action="store_true", help="one pass over every organization, wait for its deliveries, then exit"
    )
    worker.add_argument(
        "--concurrency", type=_positive_int, default=4, help="emails sent at once by this worker (default 4)"
    )
    worker.add_argument(
        "--poll-seconds", type=_positive_number, default=1.0, help="wait between idle passes (default 1)"
    )
    worker.set_defaults(handler=cmd_worker)

    simulate = sub.add_parser(
        "simulate",
        help="make realistic sales activity through the business commands (orders, approvals, invoices, payments)"
        " as the organization's own users, so live dashboards move",
    )
    simulate.add_argument("--rate", type=_positive_number, default=20.0, help="actions a second (default 20)")
    simulate.add_argument("--seconds", type=_positive_number, help="stop after this many seconds (default: Ctrl-C)")
    simulate.add_argument("--actions", type=_positive_int, help="stop after this many actions")
    simulate.add_argument(
        "--organization", "--org", dest="organization", help="organization slug (default: every organization)"
    )
    simulate.add_argument(
        "--every", type=_positive_number, default=5.0, help="seconds between progress lines (default 5)"
    )
    simulate.set_defaults(handler=cmd_simulate)

    operations = sub.add_parser("operations", help="stored operations: the documents first-party apps may run")
    operations_sub = operations.add_subparsers(dest="operations_command", required=True)
    push = operations_sub.add_parser(
        "push", help="store the operations of a Relay or Apollo persisted-query manifest (checked against the schema)"
    )
    push.add_argument("manifest", type=Path, help="the manifest's JSON file")
    push.set_defaults(handler=cmd_operations_push)
    listing = operations_sub.add_parser("list", help="print the stored operations: SHA-256, type, name, stored at")
    listing.set_defaults(handler=cmd_operations_list)

    prune_parser = sub.add_parser(
        "prune", help="delete finished webhook deliveries, old outbox events and idempotency keys past retention"
    )
    prune_parser.add_argument("--delivery-retention-days", dest="delivery_retention_days", type=_positive_int)
    prune_parser.add_argument("--outbox-retention-days", dest="outbox_retention_days", type=_positive_int)
    prune_parser.add_argument("--idempotency-retention-days", dest="idempotency_retention_days", type=_positive_int)
    prune_parser.set_defaults(handler=cmd_prune)
    backup = sub.add_parser(
        "backup", help="write the database to FILE: a consistent pg_dump custom-format archive, its revision inside"
    )
    backup.add_argument("file", type=Path, help="the archive to write (must not exist)")
    backup.set_defaults(handler=cmd_backup)
    restore = sub.add_parser(
        "restore", help="restore FILE into the empty database DATABASE_URL names, its revision checked first"
    )
    restore.add_argument("file", type=Path, help="an archive written by `bizgraph backup`")
    restore.set_defaults(handler=cmd_restore)

    demo_env = sub.add_parser(
        "demo-env",
        help="print the shell lines that reach the demo (DATABASE_URL of its embedded database, BIZGRAPH_ISSUER);"
        " the CLI reads them itself where the environment sets neither",
    )
    demo_env.set_defaults(handler=cmd_demo_env)

    export = sub.add_parser("export-schema", help="print the GraphQL SDL")
    export.set_defaults(handler=cmd_export_schema)
    return parser


def _positive_int(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {raw!r}")
    return int(raw)


def _positive_number(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {raw!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {raw!r}")
    return value


def _moment(raw: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO 8601 date-time, got {raw!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{raw!r} has no UTC offset (e.g. 2026-01-31T00:00:00Z)")
    return moment


def main(argv: list[str] | None = None) -> int:
    from app.demo_env import demo_env_path, with_demo_defaults
    from app.unreachable import connection_failure

    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace, Settings], int] = args.handler
    settings: Settings | None = None
    hint = None
    try:
        settings = Settings.from_env()
        if args.command != "serve":
            # A demo records how to reach it; a command run beside it needs no variables.
            defaults = with_demo_defaults(settings, os.environ)
            settings = defaults.settings
            if defaults.database_from_demo:
                hint = (
                    f"that is the demo's embedded database (from {demo_env_path(settings.data_dir)}):"
                    " start it with `bizgraph serve --demo`"
                )
        configure_logging(settings.log_level, settings.log_format)
        # Alembic announces its plugins at INFO on import; only its migrations matter here.
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
        return handler(args, settings)
    except BizgraphError as error:
        print(f"bizgraph: {error.message}", file=sys.stderr)
        return 2
    except Exception as error:
        # A database that is missing, down or refuses the login: one line, not a traceback.
        failure = connection_failure(error, settings.database_url if settings else None, hint=hint)
        if failure is None:
            raise
        print(f"bizgraph: {failure.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
