"""devtools.migrate on a real cluster: splitting, recording, idempotence, failures, bootstrap."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from devtools.cluster import LocalCluster
from devtools.migrate import (
    MigrationError,
    apply_bootstrap,
    apply_migrations,
    apply_policies,
    apply_seed,
    drop_database,
    ensure_database,
    setup_database,
    split_statements,
)
from devtools.paths import MIGRATIONS_DIR, PROJECT_ROOT

# -- split_statements ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select 1; select 2;", [(1, "select 1"), (1, "select 2")]),
        ("\n\n  select 1\n  from t\n;\n\nselect 2", [(3, "select 1\n  from t"), (7, "select 2")]),
        (";;  ;\n-- only a comment;\n/* and; another */ ;", []),
        # Comments around a statement are not part of it; inside it they stay.
        (
            "-- a; b\nselect 1; /* c; /* nested; */ d; */ select /* x; */ 2 -- tail;\n;",
            [(2, "select 1"), (2, "select /* x; */ 2")],
        ),
        ("select 'a;b''c;'; select 3", [(1, "select 'a;b''c;'"), (1, "select 3")]),
        ('select "we;ird""id" from t; select 4', [(1, 'select "we;ird""id" from t'), (1, "select 4")]),
        ("select E'it\\'s; fine'; select 5", [(1, "select E'it\\'s; fine'"), (1, "select 5")]),
        ("select e'\\\\'; select 6", [(1, "select e'\\\\'"), (1, "select 6")]),
        # A standard string keeps its backslash: it does not escape the closing quote.
        ("select 'C:\\'; select 7", [(1, "select 'C:\\'"), (1, "select 7")]),
        ("do $$ begin perform 1; end $$; select 8", [(1, "do $$ begin perform 1; end $$"), (1, "select 8")]),
        (
            "create function f() returns text language plpgsql as $fn$\nbegin\n"
            "  return $q$a;b$q$ || $$;$$;\nend\n$fn$;\nselect 9;",
            [
                (
                    1,
                    "create function f() returns text language plpgsql as $fn$\nbegin\n"
                    "  return $q$a;b$q$ || $$;$$;\nend\n$fn$",
                ),
                (6, "select 9"),
            ],
        ),
        # $1 is a parameter and a$b$ an identifier, neither opens a dollar quote.
        (
            "prepare p as select $1; select a$b$ from t; select 10",
            [
                (1, "prepare p as select $1"),
                (1, "select a$b$ from t"),
                (1, "select 10"),
            ],
        ),
        (
            "create or replace function g(x int) returns int language sql\nbegin atomic\n"
            "  select case when x > 0 then 1 else 0 end;\n  select 2;\nend;\nselect 11;",
            [
                (
                    1,
                    "create or replace function g(x int) returns int language sql\nbegin atomic\n"
                    "  select case when x > 0 then 1 else 0 end;\n  select 2;\nend",
                ),
                (6, "select 11"),
            ],
        ),
        ("select 12 -- no semicolon at the end", [(1, "select 12")]),
    ],
)
def test_split_statements(sql: str, expected: list[tuple[int, str]]) -> None:
    assert split_statements(sql) == expected


def test_split_statements_runs_on_postgres(pg_cluster: LocalCluster) -> None:
    """The tricky cases above are real SQL: each piece executes on its own."""
    sql = (
        "select E'it\\'s; fine' as a;\n"
        "do $$ begin perform $q$;$q$; end $$;\n"
        "select 'a;b''c' /* ; */ as b; -- ;\n"
        "select $tag$ $$ ; $$ $tag$ as c;\n"
    )
    with psycopg.connect(pg_cluster.url(), autocommit=True) as conn:
        results = []
        for _, text in split_statements(sql):
            cursor = conn.execute(text.encode())
            results.append(cursor.fetchone() if cursor.description else None)
    assert results == [("it's; fine",), None, ("a;b'c",), (" $$ ; $$ ",)]


# -- helpers -----------------------------------------------------------------------------------------


@pytest.fixture
def db_url(pg_cluster: LocalCluster) -> Iterator[str]:
    name = f"mig_{uuid.uuid4().hex[:12]}"
    assert ensure_database(pg_cluster.url(), name) is True
    assert ensure_database(pg_cluster.url(), name) is False
    yield pg_cluster.url(name)
    drop_database(pg_cluster.url(), name)


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def query(url: str, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return list(conn.execute(sql.encode(), params or None).fetchall())


def history(url: str) -> list[tuple[object, ...]]:
    return query(url, "select version, name, statements from supabase_migrations.schema_migrations order by 1")


SNAPSHOT = """
select 'rel', n.nspname || '.' || c.relname, c.relkind::text, coalesce(c.relacl::text, ''),
       coalesce((select string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ',' order by a.attnum)
                 from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped), '')
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
union all
select 'proc', p.oid::regprocedure::text, p.prokind::text, coalesce(p.proacl::text, ''), md5(p.prosrc)
  from pg_proc p join pg_namespace n on n.oid = p.pronamespace
 where n.nspname not in ('pg_catalog', 'information_schema')
union all
select 'policy', schemaname || '.' || tablename || '.' || policyname, cmd, array_to_string(roles, ','),
       coalesce(qual, '') || '|' || coalesce(with_check, '')
  from pg_policies
union all
select 'defacl', d.defaclrole::regrole::text, d.defaclobjtype::text, d.defaclacl::text,
       d.defaclnamespace::text
  from pg_default_acl d
union all
select 'nsp', nspname, '', coalesce(nspacl::text, ''), '' from pg_namespace
union all
select 'pub', pubname || '.' || schemaname || '.' || tablename, '', '', '' from pg_publication_tables
order by 1, 2, 3, 4, 5
"""


def snapshot(url: str) -> list[tuple[object, ...]]:
    rows = query(url, SNAPSHOT)
    if query(url, "select to_regclass('supabase_migrations.schema_migrations')")[0][0] is not None:
        rows += history(url)
    return rows


FIRST = """-- the first migration
create table public.a (id int primary key);

insert into public.a values (1);
"""
SECOND = """create function public.f() returns int language plpgsql as $$
begin
  return 1;
end
$$;
"""


# -- migrations --------------------------------------------------------------------------------------


def test_migrations_are_recorded_like_the_supabase_cli(db_url: str, tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    write(migrations, "20250101000000_first.sql", FIRST)
    write(migrations, "20250102030405_second_one.sql", SECOND)
    write(migrations, ".gitkeep", "")

    assert apply_migrations(db_url, migrations) == ["20250101000000", "20250102030405"]

    assert history(db_url) == [
        (
            "20250101000000",
            "first",
            ["create table public.a (id int primary key)", "insert into public.a values (1)"],
        ),
        ("20250102030405", "second_one", [SECOND.strip().removesuffix(";")]),
    ]
    assert query(db_url, "select public.f(), (select count(*) from public.a)") == [(1, 1)]


def test_applying_twice_changes_nothing(db_url: str, tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    write(migrations, "20250101000000_first.sql", FIRST)
    write(migrations, "20250102000000_second.sql", SECOND)
    apply_migrations(db_url, migrations)
    before = snapshot(db_url)

    assert apply_migrations(db_url, migrations) == []
    assert snapshot(db_url) == before
    assert query(db_url, "select count(*) from public.a") == [(1,)]


@pytest.mark.parametrize(
    ("broken", "line", "message"),
    [
        # The failing statement starts on line 4; the bad column is two lines into it.
        (
            "-- creates b, then fails\ncreate table public.b (id int);\n\ninsert into public.b\n"
            "  values (1),\n  (no_such_column);\n",
            6,
            'column "no_such_column" does not exist',
        ),
        ("create table public.b (id int);\n\ncreate table c (\n  id int,\n  oops oops oops\n);\n", 5, None),
        # An error raised while running a DO block has no position: the statement's line it is.
        (
            "create table public.b (id int);\ndo $$\nbegin\n  raise exception 'boom';\nend\n$$;\n",
            2,
            "boom",
        ),
    ],
)
def test_a_broken_migration_leaves_nothing_behind(
    db_url: str, tmp_path: Path, broken: str, line: int, message: str | None
) -> None:
    migrations = tmp_path / "migrations"
    write(migrations, "20250101000000_first.sql", FIRST)
    path = write(migrations, "20250102000000_broken.sql", broken)
    write(migrations, "20250103000000_after.sql", "create table public.after_broken (id int);")

    with pytest.raises(MigrationError) as caught:
        apply_migrations(db_url, migrations)

    error = caught.value
    assert (error.path, error.line) == (path, line)
    assert str(error) == f"{path}:{line}: {error.message}"
    if message is not None:
        assert error.message == message
    assert "create table" not in error.message  # the Postgres message only, never the SQL
    assert [row[0] for row in history(db_url)] == ["20250101000000"]
    assert query(db_url, "select to_regclass('public.b'), to_regclass('public.after_broken')") == [(None, None)]


def test_error_paths_are_shown_relative_to_the_checkout() -> None:
    error = MigrationError(MIGRATIONS_DIR / "20250101000000_x.sql", 3, "boom")
    assert str(error) == "supabase/migrations/20250101000000_x.sql:3: boom"
    assert (error.path, error.line, error.message) == (MIGRATIONS_DIR / "20250101000000_x.sql", 3, "boom")
    assert PROJECT_ROOT in error.path.parents


@pytest.mark.parametrize(
    "name",
    ["2025_bad.sql", "20250101000000-dash.sql", "20250101000000_.sql", "20251399000000_month.sql", "notes.txt"],
)
def test_a_badly_named_file_is_rejected_before_anything_runs(db_url: str, tmp_path: Path, name: str) -> None:
    migrations = tmp_path / "migrations"
    write(migrations, "20250101000000_first.sql", FIRST)
    bad = write(migrations, name, "select 1;")

    with pytest.raises(MigrationError) as caught:
        apply_migrations(db_url, migrations)

    assert caught.value.path == bad
    assert query(db_url, "select to_regclass('public.a')") == [(None,)]


def test_two_files_with_one_version_are_rejected(db_url: str, tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    write(migrations, "20250101000000_first.sql", FIRST)
    write(migrations, "20250101000000_again.sql", "select 1;")
    with pytest.raises(MigrationError, match="also used by"):
        apply_migrations(db_url, migrations)


def test_transaction_control_is_rejected(db_url: str, tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    path = write(migrations, "20250101000000_tx.sql", "begin;\ncreate table public.t (id int);\ncommit;\n")
    with pytest.raises(MigrationError) as caught:
        apply_migrations(db_url, migrations)
    assert (caught.value.path, caught.value.line) == (path, 1)
    assert history(db_url) == []


def test_an_older_pending_version_is_still_applied(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    migrations = tmp_path / "migrations"
    write(migrations, "20250102000000_second.sql", SECOND)
    assert apply_migrations(db_url, migrations) == ["20250102000000"]
    write(migrations, "20250101000000_first.sql", FIRST)

    with caplog.at_level(logging.WARNING, logger="ugig.migrate"):
        assert apply_migrations(db_url, migrations) == ["20250101000000"]

    assert "20250101000000_first.sql" in caplog.text
    assert [row[0] for row in history(db_url)] == ["20250101000000", "20250102000000"]


def test_an_existing_history_table_keeps_its_extra_columns(db_url: str, tmp_path: Path) -> None:
    # An older CLI made the table without `name`; a newer one may add columns we do not know.
    with psycopg.connect(db_url) as conn:
        conn.execute("create schema supabase_migrations")
        conn.execute(
            "create table supabase_migrations.schema_migrations"
            " (version text primary key, statements text[], created_by text)"
        )
        conn.execute("insert into supabase_migrations.schema_migrations (version, created_by) values ('1', 'cli')")
    migrations = tmp_path / "migrations"
    write(migrations, "20250101000000_first.sql", FIRST)

    assert apply_migrations(db_url, migrations) == ["20250101000000"]

    assert query(db_url, "select version, name, created_by from supabase_migrations.schema_migrations order by 1") == [
        ("1", None, "cli"),
        ("20250101000000", "first", None),
    ]


def test_a_role_set_by_one_migration_does_not_leak_into_the_next(db_url: str, tmp_path: Path) -> None:
    apply_bootstrap(db_url)
    migrations = tmp_path / "migrations"
    write(migrations, "20250101000000_switch.sql", "set role authenticated;\nset search_path = '';\n")
    # As authenticated this would be "permission denied for schema public".
    write(migrations, "20250102000000_create.sql", "create table a (id int);")

    apply_migrations(db_url, migrations)

    assert query(db_url, "select tableowner from pg_tables where tablename = 'a'") == [("postgres",)]


# -- policies and seed ---------------------------------------------------------------------------------

POLICIES = """alter table public.a enable row level security;
drop policy if exists a_read on public.a;
create policy a_read on public.a for select to authenticated using (id = 1);
"""


def test_policies_are_reapplied_idempotently(db_url: str, tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    write(migrations, "20250101000000_first.sql", FIRST)
    apply_migrations(db_url, migrations)
    policies = tmp_path / "policies"
    write(policies, "10_a.sql", POLICIES)
    apply_bootstrap(db_url)

    apply_policies(db_url, policies)
    before = snapshot(db_url)
    apply_policies(db_url, policies)

    assert snapshot(db_url) == before
    assert query(db_url, "select policyname, roles::text from pg_policies where tablename = 'a'") == [
        ("a_read", "{authenticated}")
    ]


def test_a_failing_policy_file_is_rolled_back_whole(db_url: str, tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    write(migrations, "20250101000000_first.sql", FIRST)
    apply_migrations(db_url, migrations)
    policies = tmp_path / "policies"
    path = write(policies, "10_a.sql", POLICIES.replace("id = 1", "nope = 1"))

    with pytest.raises(MigrationError) as caught:
        apply_policies(db_url, policies)

    assert (caught.value.path, caught.value.line) == (path, 3)
    assert query(db_url, "select relrowsecurity from pg_class where oid = 'public.a'::regclass") == [(False,)]


def test_seed_runs_in_one_transaction(db_url: str, tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    write(migrations, "20250101000000_first.sql", FIRST)
    apply_migrations(db_url, migrations)
    seed = write(tmp_path, "seed.sql", "insert into public.a values (2);\ninsert into public.a values (1);\n")

    with pytest.raises(MigrationError) as caught:
        apply_seed(db_url, seed)

    assert caught.value.line == 2
    assert query(db_url, "select count(*) from public.a") == [(1,)]
    apply_seed(db_url, tmp_path / "missing.sql")  # no seed file: nothing to do


# -- the local bootstrap ---------------------------------------------------------------------------------


def test_bootstrap_twice_keeps_the_supabase_roles_and_functions(db_url: str) -> None:
    apply_bootstrap(db_url)
    before = snapshot(db_url)
    apply_bootstrap(db_url)
    assert snapshot(db_url) == before

    roles = query(
        db_url,
        "select rolname, rolcanlogin, rolinherit, rolbypassrls from pg_roles"
        " where rolname in ('anon', 'authenticated', 'service_role', 'authenticator') order by 1",
    )
    assert roles == [
        ("anon", False, False, False),
        ("authenticated", False, False, False),
        ("authenticator", True, False, False),
        ("service_role", False, False, True),
    ]
    members = query(
        db_url,
        "select r.rolname from pg_auth_members m join pg_roles r on r.oid = m.roleid"
        " where m.member = 'authenticator'::regrole order by 1",
    )
    assert members == [("anon",), ("authenticated",), ("service_role",)]
    functions = query(
        db_url,
        "select p.oid::regprocedure::text from pg_proc p"
        " where p.pronamespace in ('auth'::regnamespace, 'storage'::regnamespace, 'realtime'::regnamespace)"
        " order by 1",
    )
    assert [row[0] for row in functions] == [
        "auth.email()",
        "auth.jwt()",
        "auth.role()",
        "auth.uid()",
        "realtime.topic()",
        "storage.extension(text)",
        "storage.filename(text)",
        "storage.foldername(text)",
    ]
    assert query(db_url, "select count(*) from pg_publication where pubname = 'supabase_realtime'") == [(1,)]
    assert query(
        db_url,
        "select extname, extnamespace::regnamespace::text from pg_extension where extname <> 'plpgsql' order by 1",
    ) == [("pg_trgm", "extensions"), ("pgcrypto", "extensions"), ("uuid-ossp", "extensions")]
    assert query(
        db_url,
        "select storage.foldername('avatars/u1/me.png'), storage.filename('avatars/u1/me.png'),"
        " storage.extension('avatars/u1/me.png')",
    ) == [(["avatars", "u1"], "me.png", "png")]


def test_new_public_tables_are_open_to_the_api_roles_as_on_supabase(db_url: str) -> None:
    apply_bootstrap(db_url)
    with psycopg.connect(db_url) as conn:
        conn.execute("create table public.opened (id int)")
    assert query(
        db_url,
        "select has_table_privilege('anon', 'public.opened', 'insert'),"
        " has_table_privilege('authenticated', 'public.opened', 'delete')",
    ) == [(True, True)]


CLAIMS = {"sub": "6f1c3a52-94d4-4c4e-9d0f-0a5c6c2b1d11", "role": "authenticated", "email": "me@example.com"}


def test_auth_functions_read_the_request_claims(db_url: str) -> None:
    apply_bootstrap(db_url)
    with psycopg.connect(db_url) as conn:
        with conn.transaction():
            conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(CLAIMS),))
            conn.execute("set local role authenticated")
            row = conn.execute("select auth.uid()::text, auth.role(), auth.email(), auth.jwt()").fetchone()
            assert row == (CLAIMS["sub"], "authenticated", "me@example.com", CLAIMS)
        # After the transaction the setting exists but is empty: that must read as "no claims".
        assert conn.execute("select current_setting('request.jwt.claims', true)").fetchone() == ("",)
        assert conn.execute("select auth.uid(), auth.role(), auth.email(), auth.jwt()").fetchone() == (
            None,
            None,
            None,
            None,
        )
        with conn.transaction():
            # Older PostgREST versions set one setting per claim.
            conn.execute("select set_config('request.jwt.claim.sub', %s, true)", (CLAIMS["sub"],))
            assert conn.execute("select auth.uid()::text").fetchone() == (CLAIMS["sub"],)


def test_realtime_topic_reads_the_channel(db_url: str) -> None:
    apply_bootstrap(db_url)
    with psycopg.connect(db_url) as conn:
        with conn.transaction():
            conn.execute("select set_config('realtime.topic', 'typing:42', true)")
            assert conn.execute("select realtime.topic()").fetchone() == ("typing:42",)
        assert conn.execute("select realtime.topic()").fetchone() == (None,)


# -- the project's own supabase/ folder -------------------------------------------------------------------


def test_the_project_schema_sets_up_and_reapplies_cleanly(db_url: str) -> None:
    setup_database(db_url, local=True, seed=True)
    before = snapshot(db_url)
    assert setup_database(db_url, local=True, seed=False) == []
    assert snapshot(db_url) == before
