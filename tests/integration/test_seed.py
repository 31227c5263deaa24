"""The local seed: applies cleanly on top of every migration, twice (re-runnable), and describes a
believable marketplace that obeys the same invariants the triggers keep."""

from __future__ import annotations

import bcrypt
import psycopg
from psycopg.rows import dict_row

from devtools.migrate import apply_seed


def test_seed_applies_twice_and_is_consistent(module_db_url: str) -> None:
    apply_seed(module_db_url)
    apply_seed(module_db_url)  # re-runnable: nothing duplicated, nothing fails
    with psycopg.connect(module_db_url, row_factory=dict_row) as conn:

        def one(sql: str) -> dict[str, object]:
            row = conn.execute(sql).fetchone()
            assert row is not None
            return row

        assert one("select count(*) as n from public.profiles where cardinality(skills) > 0")["n"] >= 20
        assert one("select count(*) as n from public.gigs")["n"] == 60
        statuses = {r["status"] for r in conn.execute("select distinct status from public.gigs")}
        assert statuses == {"draft", "active", "paused", "closed", "filled"}
        assert one("select count(distinct category) as n from public.gigs")["n"] >= 10
        app_statuses = {r["status"] for r in conn.execute("select distinct status from public.applications")}
        assert app_statuses == {"pending", "reviewing", "shortlisted", "rejected", "accepted", "withdrawn"}
        # The invariants the triggers keep for live data hold for the seed too.
        assert (
            one(
                "select count(*) as n from public.gigs g where applications_count <> (select count(*)"
                " from public.applications a where a.gig_id = g.id and a.status <> 'withdrawn')"
            )["n"]
            == 0
        )
        assert (
            one(
                "select count(*) as n from public.applications a join public.gigs g on g.id = a.gig_id"
                " where a.applicant_id = g.poster_id or g.status = 'draft'"
            )["n"]
            == 0
        )
        assert one("select count(*) as n from public.gigs where status <> 'draft' and published_at is null")["n"] == 0
        assert (
            one("select count(*) as n from public.notifications where type = 'new_application'")["n"]
            == one("select count(*) as n from public.applications")["n"]
        )
        # Everyone signs in with password123.
        row = one("select encrypted_password from auth.users where email = 'priya.sharma@example.com'")
        assert bcrypt.checkpw(b"password123", str(row["encrypted_password"]).encode())
