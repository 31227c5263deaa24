"""`ugig`: run the API locally, manage the local database, push migrations, mint test tokens."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import psycopg

from devtools.cluster import LOCAL_DB_NAME, ClusterError, LocalCluster, default_cluster
from devtools.migrate import (
    MigrationError,
    apply_bootstrap,
    apply_migrations,
    apply_policies,
    apply_seed,
    drop_database,
    ensure_database,
    setup_database,
)
from devtools.paths import PROJECT_ROOT
from shared.errors import AppError

if TYPE_CHECKING:
    from shared.models.auth import AuthResult

APP = "functions.app:app"


class UsageError(Exception):
    """A bad argument the parser could not catch."""


def _info(message: str) -> None:
    # Chatter goes to stderr so `ugig db url` and `ugig token` stay usable in $(...).
    print(message, file=sys.stderr)


def _report(versions: list[str]) -> None:
    _info(f"applied migrations: {', '.join(versions)}" if versions else "migrations: up to date")


def _local_database(cluster: LocalCluster, *, seed: bool, bootstrap: bool = False) -> str:
    """Start the cluster and bring database `ugig` up to date.

    A new database gets the full setup (bootstrap, migrations, policies, seed when asked); an
    existing one its pending migrations and policies, plus the bootstrap when asked.
    """
    cluster.start()
    created = ensure_database(cluster.url(), LOCAL_DB_NAME)
    url = cluster.url(LOCAL_DB_NAME)
    if not created:
        if bootstrap:
            apply_bootstrap(url)
        _report(apply_migrations(url))
        apply_policies(url)
        return url
    _info(f"created database {LOCAL_DB_NAME} on port {cluster.port}")
    try:
        _report(setup_database(url, local=True, seed=seed))
    except BaseException:
        # Half set up is worse than absent: the next run starts over, seed included.
        drop_database(cluster.url(), LOCAL_DB_NAME)
        raise
    return url


def _cmd_dev(args: argparse.Namespace) -> None:
    url = _local_database(default_cluster(), seed=not args.no_seed)
    # Settings read .env and relative paths (LOCAL_STORAGE_DIR) from the cwd: make it the checkout.
    os.chdir(PROJECT_ROOT)
    os.environ["UGIG_ENV"] = "local"
    if os.environ.get("DATABASE_URL"):
        _info("using DATABASE_URL from the environment, not the local cluster")
    else:
        os.environ["DATABASE_URL"] = url
    import uvicorn  # a dev dependency: imported only here

    base = f"http://{args.host}:{args.port}"
    _info(f"ugig API on {base}  (docs: {base}/docs; stop with Ctrl-C; `ugig db stop` stops Postgres)")
    uvicorn.run(
        APP,
        host=args.host,
        port=args.port,
        reload=args.reload,
        reload_dirs=[str(PROJECT_ROOT / "functions"), str(PROJECT_ROOT / "shared")] if args.reload else None,
    )


def _cmd_db_start(args: argparse.Namespace) -> None:
    cluster = default_cluster()
    cluster.start()
    print(cluster.url(LOCAL_DB_NAME))


def _cmd_db_stop(args: argparse.Namespace) -> None:
    default_cluster().stop()
    _info("stopped")


def _cmd_db_status(args: argparse.Namespace) -> None:
    cluster = default_cluster()
    rows = [
        ("status", "running" if cluster.is_running() else "stopped"),
        ("data dir", str(cluster.data_dir)),
        ("socket dir", str(cluster.socket_dir)),
        ("port", str(cluster.port)),
        ("url", cluster.url(LOCAL_DB_NAME)),
        ("log", str(cluster.log_file)),
    ]
    if cluster.note:
        rows.append(("note", cluster.note))
    for label, value in rows:
        print(f"{label + ':':<12}{value}")


def _cmd_db_url(args: argparse.Namespace) -> None:
    print(default_cluster().url(LOCAL_DB_NAME))


def _cmd_db_reset(args: argparse.Namespace) -> None:
    cluster = default_cluster()
    cluster.start()
    drop_database(cluster.url(), LOCAL_DB_NAME)
    _local_database(cluster, seed=True)
    _info(f"database {LOCAL_DB_NAME} reset")


def _cmd_db_migrate(args: argparse.Namespace) -> None:
    _local_database(default_cluster(), seed=True, bootstrap=True)


def _cmd_db_seed(args: argparse.Namespace) -> None:
    apply_seed(_local_database(default_cluster(), seed=False))
    _info("seeded")


def _cmd_db_push(args: argparse.Namespace) -> None:
    _report(apply_migrations(args.db_url))
    apply_policies(args.db_url)
    _info("policies applied")


def _cmd_token(args: argparse.Namespace) -> None:
    email = args.email.strip().lower()
    local_part, at, domain = email.partition("@")
    if not (local_part and at and domain):
        raise UsageError(f"not an email address: {args.email}")
    conninfo = os.environ.get("DATABASE_URL") or _local_database(default_cluster(), seed=True)
    os.environ.setdefault("DATABASE_URL", conninfo)
    os.environ.setdefault("UGIG_ENV", "local")
    # The same .env the API reads (ugig dev runs it from the checkout), so the signing secret matches.
    os.chdir(PROJECT_ROOT)
    from shared.config import get_settings
    from shared.db import Database
    from shared.providers.auth_backend import LocalAuthBackend

    settings = get_settings().model_copy(update={"database_url": conninfo, "db_pool_min_size": 0})

    async def issue() -> AuthResult:
        db = Database.from_settings(settings)
        try:
            # The local auth backend's own sign-in path: same rows, same hook, same claims.
            return await LocalAuthBackend(db, settings).session_for(email, ttl_seconds=args.ttl)
        finally:
            await db.close()

    result = asyncio.run(issue())
    assert result.session is not None
    print(result.session.access_token)
    expires = datetime.fromtimestamp(result.session.expires_at, UTC).isoformat(timespec="seconds")
    _info(f"user {result.user.id} <{result.user.email}>, expires {expires}")


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ugig", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        group: argparse._SubParsersAction[argparse.ArgumentParser],
        name: str,
        handler: Callable[[argparse.Namespace], None],
        help_text: str,
    ) -> argparse.ArgumentParser:
        sub = group.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    dev = command(commands, "dev", _cmd_dev, "run the API locally against the local database")
    dev.add_argument("--port", type=int, default=3000)
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--reload", action="store_true", help="restart on code changes")
    dev.add_argument("--no-seed", action="store_true", help="do not seed a newly created database")

    db = commands.add_parser("db", help="the local PostgreSQL cluster and database").add_subparsers(
        dest="db_command", required=True, metavar="COMMAND"
    )
    command(db, "start", _cmd_db_start, "start the local cluster (created on first use)")
    command(db, "stop", _cmd_db_stop, "stop the local cluster")
    command(db, "status", _cmd_db_status, "show whether it runs, where it lives, its URL")
    command(db, "url", _cmd_db_url, "print the local database URL")
    command(db, "reset", _cmd_db_reset, "drop and recreate the local database, with seed data")
    command(db, "migrate", _cmd_db_migrate, "apply bootstrap, pending migrations and policies locally")
    command(db, "seed", _cmd_db_seed, "apply supabase/seed.sql to the local database")
    push = command(db, "push", _cmd_db_push, "apply pending migrations and policies to any database")
    push.add_argument("--db-url", required=True, help="e.g. the Supabase project's direct connection string")

    token = command(commands, "token", _cmd_token, "print an access token for EMAIL (user created if missing)")
    token.add_argument("email", metavar="EMAIL")
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")
    return parser


def _one_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def main(argv: list[str] | None = None) -> None:
    args = _build_parser().parse_args(argv)
    try:
        args.handler(args)
    except MigrationError as error:
        print(str(error), file=sys.stderr)
        sys.exit(1)
    except (UsageError, ClusterError, psycopg.Error, OSError, AppError) as error:
        print(f"ugig: {_one_line(error)}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
