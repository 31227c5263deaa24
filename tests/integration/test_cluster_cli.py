"""The `ugig` CLI as a user runs it: a subprocess with its own project-local folder and port."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import jwt
import psycopg
import pytest

from devtools.cluster import LocalCluster, free_port
from devtools.migrate import apply_bootstrap, drop_database, ensure_database, setup_database
from devtools.paths import PROJECT_ROOT

STATUS_LABELS = ["status", "data dir", "socket dir", "port", "url", "log"]


def ugig(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devtools.cli", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def status(env: dict[str, str]) -> dict[str, str]:
    result = ugig(env, "db", "status")
    assert result.returncode == 0, result.stderr
    rows = [line.split(":", 1) for line in result.stdout.splitlines()]
    return {label: value.strip() for label, value in rows}


@pytest.fixture
def local_dir(tmp_path: Path) -> Path:
    return tmp_path / "project-local"


@pytest.fixture
def env(local_dir: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "UGIG_LOCAL_DIR", "UGIG_DB_PORT")}
    return clean | {"UGIG_LOCAL_DIR": str(local_dir), "UGIG_DB_PORT": str(free_port())}


def test_url_and_status_describe_the_cluster_without_creating_it(env: dict[str, str], local_dir: Path) -> None:
    port = env["UGIG_DB_PORT"]
    url = f"postgresql://postgres@127.0.0.1:{port}/ugig"

    result = ugig(env, "db", "url")
    assert (result.returncode, result.stdout, result.stderr) == (0, url + "\n", "")

    shown = status(env)
    assert list(shown) == STATUS_LABELS
    assert shown == {
        "status": "stopped",
        "data dir": str(local_dir.resolve() / "db"),
        "socket dir": str(local_dir.resolve() / "run"),
        "port": port,
        "url": url,
        "log": str(local_dir.resolve() / "db.log"),
    }
    assert not local_dir.exists()


def test_start_and_stop_round_trip(env: dict[str, str], local_dir: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{env['UGIG_DB_PORT']}/ugig"
    try:
        started = ugig(env, "db", "start")
        assert (started.returncode, started.stdout) == (0, url + "\n"), started.stderr
        assert status(env)["status"] == "running"
        with psycopg.connect(url.removesuffix("/ugig") + "/postgres") as conn:
            assert conn.execute("show wal_level").fetchone() == ("logical",)
        again = ugig(env, "db", "start")
        assert again.returncode == 0, again.stderr
    finally:
        stopped = ugig(env, "db", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert status(env)["status"] == "stopped"
    assert (local_dir / "db" / "PG_VERSION").is_file()
    assert ugig(env, "db", "stop").returncode == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the server to another user")
def test_a_checkout_the_server_user_cannot_enter_moves_the_cluster_to_temp(env: dict[str, str]) -> None:
    outside = Path("/var/tmp")
    temp_root = Path(tempfile.gettempdir()).resolve()
    if not outside.is_dir() or temp_root in (outside.resolve(), *outside.resolve().parents):
        pytest.skip("needs a folder outside the system temp folder")
    locked = Path(tempfile.mkdtemp(dir=outside))  # 0700 and root's, like a home folder
    try:
        shown = status(env | {"UGIG_LOCAL_DIR": str(locked / "checkout" / ".ugig")})
    finally:
        shutil.rmtree(locked)
    data_dir = Path(shown["data dir"])
    assert data_dir.name == "db"
    assert data_dir.parent.parent == temp_root
    assert data_dir.parent.name.startswith("ugig-")
    assert Path(shown["socket dir"]) == data_dir.parent / "run"
    assert str(locked) in shown["note"]


def test_errors_exit_1_with_one_line(env: dict[str, str]) -> None:
    result = ugig(env, "db", "push", "--db-url", f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere")
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("ugig: ")


@pytest.fixture
def hosted_like_db(pg_cluster: LocalCluster) -> Iterator[str]:
    """A database with what a Supabase project has before our migrations: the bootstrap only."""
    name = f"cli_{uuid.uuid4().hex[:12]}"
    ensure_database(pg_cluster.url(), name)
    apply_bootstrap(pg_cluster.url(name))
    yield pg_cluster.url(name)
    drop_database(pg_cluster.url(), name)


def test_push_applies_the_project_migrations_once(env: dict[str, str], hosted_like_db: str) -> None:
    first = ugig(env, "db", "push", "--db-url", hosted_like_db)
    assert first.returncode == 0, first.stderr
    assert "applied migrations: " in first.stderr
    second = ugig(env, "db", "push", "--db-url", hosted_like_db)
    assert second.returncode == 0, second.stderr
    assert "migrations: up to date" in second.stderr
    with psycopg.connect(hosted_like_db) as conn:
        row = conn.execute("select count(*) from supabase_migrations.schema_migrations").fetchone()
    expected = len(list((PROJECT_ROOT / "supabase" / "migrations").glob("*.sql")))
    assert row == (expected,)


@pytest.fixture
def project_db(pg_cluster: LocalCluster) -> Iterator[str]:
    """A local database with the whole schema, as `ugig dev` leaves it."""
    name = f"cli_{uuid.uuid4().hex[:12]}"
    ensure_database(pg_cluster.url(), name)
    setup_database(pg_cluster.url(name), local=True, seed=False)
    yield pg_cluster.url(name)
    drop_database(pg_cluster.url(), name)


def test_token_finds_or_creates_the_user_and_a_session(env: dict[str, str], project_db: str) -> None:
    env = env | {"DATABASE_URL": project_db}
    first = ugig(env, "token", "Bob@Example.com", "--ttl", "120")
    second = ugig(env, "token", "bob@example.com")
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr

    claims = [jwt.decode(r.stdout.strip(), options={"verify_signature": False}) for r in (first, second)]
    with psycopg.connect(project_db) as conn:
        users = conn.execute(
            "select u.id::text, u.email, p.username from auth.users u join public.profiles p using (id)"
        ).fetchall()
        sessions = conn.execute("select id::text, user_id::text from auth.sessions order by created_at").fetchall()
    assert len(users) == 1
    user_id, email, username = users[0]
    assert (email, username) == ("bob@example.com", "bob")
    assert [c["sub"] for c in claims] == [user_id, user_id]
    assert sorted(c["session_id"] for c in claims) == sorted(s[0] for s in sessions)
    assert {s[1] for s in sessions} == {user_id}
    assert claims[0]["exp"] - claims[0]["iat"] == 120
    # Minted like a sign-in: the custom access token hook put the platform role in.
    assert [c["user_role"] for c in claims] == ["user", "user"]


def test_token_rejects_what_is_not_an_email(env: dict[str, str]) -> None:
    result = ugig(env | {"DATABASE_URL": "postgresql://unused"}, "token", "nobody")
    assert (result.returncode, result.stderr) == (1, "ugig: not an email address: nobody\n")
