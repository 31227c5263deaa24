"""Apply supabase/ to a database: local bootstrap, migrations (recorded as the Supabase CLI does),
policies and seed. Each file runs in its own transaction, statement by statement."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from devtools.paths import LOCAL_BOOTSTRAP_DIR, MIGRATIONS_DIR, POLICIES_DIR, PROJECT_ROOT, SEED_FILE
from devtools.sqlsplit import split_statements

__all__ = [
    "Migration",
    "MigrationError",
    "apply_bootstrap",
    "apply_migrations",
    "apply_policies",
    "apply_seed",
    "drop_database",
    "ensure_database",
    "list_migrations",
    "setup_database",
    "split_statements",
]

log = logging.getLogger("ugig.migrate")

Connection = psycopg.Connection[TupleRow]

_MIGRATION_NAME = re.compile(r"(\d{14})_([A-Za-z0-9][A-Za-z0-9_-]*)\.sql")
# Every transaction we run takes this lock, so two setups of one database queue instead of racing.
_LOCK_KEY = 0x75676967  # "ugig"
_TRANSACTION_CONTROL = re.compile(r"(begin|commit|end|rollback|abort|start\s+transaction)\b", re.IGNORECASE)


class MigrationError(Exception):
    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(path, line, message)
        self.path = path
        self.line = line
        self.message = message

    def __str__(self) -> str:
        try:
            shown = self.path.resolve().relative_to(PROJECT_ROOT)
        except ValueError:
            shown = self.path
        return f"{shown}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path


def list_migrations(migrations_dir: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files in version order; any other file is an error, not something to skip."""
    if not migrations_dir.is_dir():
        return []
    found: dict[str, Migration] = {}
    for path in sorted(migrations_dir.iterdir()):
        if path.name.startswith("."):  # .gitkeep, editor swap files
            continue
        match = _MIGRATION_NAME.fullmatch(path.name)
        if match is None or not path.is_file():
            raise MigrationError(path, 1, "migration files must be named <YYYYMMDDHHMMSS>_<name>.sql")
        version, name = match.groups()
        try:
            datetime.strptime(version, "%Y%m%d%H%M%S")
        except ValueError:
            raise MigrationError(path, 1, f"{version} is not a UTC timestamp (YYYYMMDDHHMMSS)") from None
        if version in found:
            raise MigrationError(path, 1, f"version {version} is also used by {found[version].path.name}")
        found[version] = Migration(version, name, path)
    return [found[version] for version in sorted(found)]


def _connect(conninfo: str) -> Connection:
    # A fresh connection: no role or search_path left over from earlier work. No server-side
    # prepared statements, so this also works through Supabase's transaction-mode pooler.
    return psycopg.connect(conninfo, autocommit=False, prepare_threshold=None)


def _reset_session(conn: Connection) -> None:
    # A file may `set role` or `set search_path` for the session; the next file must not inherit it.
    conn.autocommit = True
    try:
        conn.execute("discard all")
    finally:
        conn.autocommit = False


def _error_line(start_line: int, statement: str, error: psycopg.Error) -> int:
    position = error.diag.statement_position
    if position and position.isdigit():
        return start_line + statement[: int(position) - 1].count("\n")
    return start_line


def _error_message(error: psycopg.Error) -> str:
    primary = error.diag.message_primary
    if primary:
        return primary
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _read_statements(path: Path) -> list[tuple[int, str]]:
    statements = split_statements(path.read_text(encoding="utf-8"))
    for line, text in statements:
        if _TRANSACTION_CONTROL.match(text):
            raise MigrationError(path, line, "no transaction control here: each file already runs in one transaction")
    return statements


def _run_statements(conn: Connection, path: Path, statements: Iterable[tuple[int, str]]) -> None:
    for line, text in statements:
        try:
            conn.execute(text)
        except psycopg.Error as error:
            raise MigrationError(path, _error_line(line, text, error), _error_message(error)) from error


def _lock(conn: Connection) -> None:
    conn.execute("select pg_advisory_xact_lock(%s)", (_LOCK_KEY,))


def _apply_files(conninfo: str, paths: list[Path]) -> None:
    if not paths:
        return
    with _connect(conninfo) as conn:
        for path in paths:
            statements = _read_statements(path)
            with conn.transaction():
                _lock(conn)
                _run_statements(conn, path, statements)
            _reset_session(conn)


def _sql_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.sql")) if directory.is_dir() else []


def apply_bootstrap(conninfo: str, bootstrap_dir: Path = LOCAL_BOOTSTRAP_DIR) -> None:
    """What a Supabase project already has (roles, auth, storage, realtime); local databases only."""
    _apply_files(conninfo, _sql_files(bootstrap_dir))


def _ensure_history_table(conn: Connection) -> None:
    # The Supabase CLI's own table and columns, so `supabase migration list` agrees with us; columns
    # a newer CLI added are left alone. Checked first: CREATE ... IF NOT EXISTS still needs privileges.
    with conn.transaction():
        _lock(conn)
        row = conn.execute(
            "select array(select attname::text from pg_attribute"
            " where attrelid = to_regclass('supabase_migrations.schema_migrations')"
            " and attnum > 0 and not attisdropped)"
        ).fetchone()
        columns = set(row[0]) if row and isinstance(row[0], list) else set()
        if not columns:
            conn.execute("create schema if not exists supabase_migrations")
            conn.execute(
                "create table if not exists supabase_migrations.schema_migrations (version text not null primary key)"
            )
        if "statements" not in columns:
            conn.execute("alter table supabase_migrations.schema_migrations add column if not exists statements text[]")
        if "name" not in columns:
            conn.execute("alter table supabase_migrations.schema_migrations add column if not exists name text")


def _recorded(conn: Connection, version: str | None = None) -> set[str]:
    query = "select version from supabase_migrations.schema_migrations"
    rows = (conn.execute(query + " where version = %s", (version,)) if version else conn.execute(query)).fetchall()
    return {str(row[0]) for row in rows}


def apply_migrations(conninfo: str, migrations_dir: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply the pending migrations in version order; returns the versions applied."""
    migrations = list_migrations(migrations_dir)
    applied: list[str] = []
    with _connect(conninfo) as conn:
        _ensure_history_table(conn)
        with conn.transaction():
            done = _recorded(conn)
        newest = max(done, default="")
        for migration in migrations:
            if migration.version in done:
                continue
            if migration.version < newest:
                log.warning("applying %s, older than the newest applied version %s", migration.path.name, newest)
            statements = _read_statements(migration.path)
            with conn.transaction():
                _lock(conn)
                # Another process may have applied it while we waited for the lock.
                if _recorded(conn, migration.version):
                    continue
                _run_statements(conn, migration.path, statements)
                # A migration may `set role` to own what it creates; the record is written as us.
                conn.execute("set local role none")
                conn.execute(
                    "insert into supabase_migrations.schema_migrations (version, name, statements) values (%s, %s, %s)",
                    (migration.version, migration.name, [text for _, text in statements]),
                )
            applied.append(migration.version)
            _reset_session(conn)
    return applied


def apply_policies(conninfo: str, policies_dir: Path = POLICIES_DIR) -> None:
    """Every policy file, each in one transaction; their authors write them to be re-runnable."""
    _apply_files(conninfo, _sql_files(policies_dir))


def apply_seed(conninfo: str, seed_file: Path = SEED_FILE) -> None:
    if seed_file.is_file():
        _apply_files(conninfo, [seed_file])


def setup_database(conninfo: str, *, local: bool, seed: bool) -> list[str]:
    """Bootstrap (local only), migrations, policies, seed (when asked); returns the versions applied."""
    if local:
        apply_bootstrap(conninfo)
    versions = apply_migrations(conninfo)
    apply_policies(conninfo)
    if seed:
        apply_seed(conninfo)
    return versions


def ensure_database(admin_url: str, dbname: str) -> bool:
    """Create the database when missing; True when this call created it."""
    with psycopg.connect(admin_url, autocommit=True, prepare_threshold=None) as conn:
        if conn.execute("select 1 from pg_database where datname = %s", (dbname,)).fetchone():
            return False
        try:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(dbname)))
        except psycopg.errors.DuplicateDatabase:
            return False
        return True


def drop_database(admin_url: str, dbname: str) -> None:
    """Drop the database if it exists, disconnecting its sessions (a running `ugig dev`, psql)."""
    with psycopg.connect(admin_url, autocommit=True, prepare_threshold=None) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname)))
