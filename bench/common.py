"""What every benchmark shares: the benchmark cluster and database, timing and statistics.

The cluster is its own (never the dev or test cluster), under the system temp folder keyed by this
checkout, with throwaway-durability settings and more memory than the dev cluster. The generated
database is kept between runs and rebuilt when the scale or the set of migrations changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from bench.generate import SCALES, Scale, counts, generate, statements
from devtools.cluster import LocalCluster, free_port
from devtools.migrate import MIGRATIONS_DIR, apply_policies, ensure_database, list_migrations, setup_database
from devtools.paths import PROJECT_ROOT

BENCH_PORT = int(os.environ.get("UGIG_BENCH_PORT", "54329"))
_SERVER_SETTINGS = {
    "shared_buffers": "1GB",
    "effective_cache_size": "4GB",
    "work_mem": "16MB",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
    "jit": "off",  # Supabase's default; JIT compile time would dominate short queries
}


def bench_cluster() -> LocalCluster:
    key = hashlib.sha256(str(PROJECT_ROOT).encode()).hexdigest()[:12]
    base = Path(os.environ.get("UGIG_BENCH_DIR") or Path(tempfile.gettempdir()) / f"ugig-bench-{key}")
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o755)
    return LocalCluster(base / "data", BENCH_PORT, base / "run", fast=True)


def start_cluster() -> LocalCluster:
    cluster = bench_cluster()
    if not cluster.initialized:
        cluster.init()
    cluster.start()
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        changed = False
        for name, value in _SERVER_SETTINGS.items():
            row = conn.execute("select current_setting(%s)", (name,)).fetchone()
            if row is None or row[0] != value:
                conn.execute(f"alter system set {name} = '{value}'")
                changed = True
        conn.execute("select pg_reload_conf()")
        row = conn.execute("select count(*) from pg_settings where pending_restart").fetchone()
        needs_restart = changed and bool(row and row[0])
    if needs_restart:  # shared_buffers only takes effect on a restart (first run only)
        cluster.stop()
        cluster.start()
    return cluster


def _schema_key(scale: Scale) -> str:
    # Policies are not in the key: they are re-applied to an existing data set (cheap, see below).
    names = ",".join(m.version + m.name for m in list_migrations(MIGRATIONS_DIR))
    # The generated SQL, whitespace-normalised: reformatting the generator does not force a rebuild.
    generator = "|".join(" ".join(sql.split()) for _, sql in statements(scale))
    return hashlib.sha256(f"{scale}|{names}|{generator}".encode()).hexdigest()[:16]


def ensure_dataset(cluster: LocalCluster, scale_name: str, *, regenerate: bool = False) -> tuple[str, dict[str, Any]]:
    """The generated database for this scale (built when missing or stale); returns its url and facts."""
    scale = SCALES[scale_name]
    dbname = f"bench_{scale_name}"
    url = cluster.url(dbname)
    key = _schema_key(scale)
    with psycopg.connect(cluster.url(), autocommit=True) as admin:
        exists = admin.execute("select 1 from pg_database where datname = %s", (dbname,)).fetchone() is not None
    if exists and not regenerate:
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute("select to_regclass('bench_meta.info') is not null").fetchone()
            if row and row[0]:
                meta = conn.execute("select info from bench_meta.info").fetchone()
                if meta and meta[0].get("key") == key:
                    apply_policies(url)  # the current policies, whatever they were at generation
                    return url, dict(meta[0])
    with psycopg.connect(cluster.url(), autocommit=True) as admin:
        admin.execute(f'drop database if exists "{dbname}" with (force)')
    ensure_database(cluster.url(), dbname)
    log(f"building the {scale_name} data set in {dbname} (migrations, then the generator)")
    started = time.perf_counter()
    setup_database(url, local=True, seed=False)
    timings = generate(url, scale)
    info: dict[str, Any] = {
        "key": key,
        "scale": scale_name,
        "rows": counts(url),
        "generate_seconds": round(time.perf_counter() - started, 1),
        "steps_seconds": timings,
    }
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create schema if not exists bench_meta")
        conn.execute("revoke all on schema bench_meta from public")
        conn.execute("create table if not exists bench_meta.info (info jsonb not null)")
        conn.execute("truncate bench_meta.info")
        conn.execute("insert into bench_meta.info values (%s)", (json.dumps(info),))
        conn.execute("vacuum (analyze)")
    return url, info


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary(samples_ms: list[float]) -> dict[str, float]:
    return {
        "n": len(samples_ms),
        "p50_ms": round(percentile(samples_ms, 50), 3),
        "p95_ms": round(percentile(samples_ms, 95), 3),
        "mean_ms": round(statistics.fmean(samples_ms), 3),
    }


@dataclass
class Interleaved:
    """Runs several variants in turn, round after round, so drift of the machine hits them equally."""

    variants: dict[str, Callable[[], Awaitable[Any]]]
    samples: dict[str, list[float]] = field(default_factory=dict)

    async def run(self, rounds: int, warmup: int = 20) -> dict[str, list[float]]:
        for _ in range(warmup):
            for fn in self.variants.values():
                await fn()
        self.samples = {name: [] for name in self.variants}
        for _ in range(rounds):
            for name, fn in self.variants.items():
                started = time.perf_counter()
                await fn()
                self.samples[name].append((time.perf_counter() - started) * 1000)
        return self.samples


def ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else float("nan")


def free_tcp_port() -> int:
    return free_port()


def active_gig(url: str) -> str:
    """A generated gig that is active (public), so every caller may read it."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "select g.id::text from generate_series(1, 1000) n join public.gigs g on g.id = md5('g' || n)::uuid"
            " where g.status = 'active' order by n limit 1"
        ).fetchone()
    assert row is not None, "no active gig among the first 1,000 generated"
    return str(row[0])
