"""The ``bizgraph`` command."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Callable

from app.config import Settings
from app.errors import BizgraphError

log = logging.getLogger("bizgraph.cli")


def _require_database(settings: Settings) -> Settings:
    if settings.database_url is None:
        raise BizgraphError("DATABASE_URL is not set (e.g. postgresql://user@localhost:5432/bizgraph)")
    return settings


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from app.migrations import upgrade

    settings = _require_database(settings)
    upgrade(settings.database_url, args.revision)
    print(f"migrated to {args.revision}")
    return 0


def cmd_seed(args: argparse.Namespace, settings: Settings) -> int:
    from app.seed import run_seed

    settings = _require_database(settings)
    report = run_seed(settings.database_url, scale=args.scale, seed=args.seed, reset=args.reset, progress=True)
    print(report.summary())
    return 0


def cmd_export_schema(args: argparse.Namespace, settings: Settings) -> int:
    from schema import build_schema

    sys.stdout.write(build_schema(settings).as_str() + "\n")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from app.demo import prepare_demo
    from app.server import create_app

    if not args.demo:
        raise BizgraphError(
            "authentication is not configured yet: run `bizgraph serve --demo` to serve the demo organization"
        )
    settings, embedded = prepare_demo(settings)
    try:
        app = create_app(settings)
        print(f"bizgraph demo: open http://{args.host}:{args.port}/graphql", flush=True)
        uvicorn.run(app, host=args.host, port=args.port, log_level=settings.log_level.lower(), lifespan="on")
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bizgraph", description="bizgraph: a GraphQL business data platform")
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
        "--demo",
        action="store_true",
        help="serve the demo organization as its admin; without DATABASE_URL, run an embedded PostgreSQL",
    )
    serve.set_defaults(handler=cmd_serve)

    export = sub.add_parser("export-schema", help="print the GraphQL SDL")
    export.set_defaults(handler=cmd_export_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace, Settings], int] = args.handler
    try:
        settings = Settings.from_env()
        logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
        # Alembic announces its plugins at INFO on import; only its migrations matter here.
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
        return handler(args, settings)
    except BizgraphError as error:
        print(f"bizgraph: {error.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
