"""(4) Throughput: the composed app under uvicorn against the bare ASGI baseline (bench.baseline_app)
running the same SQL, both served by the same uvicorn settings, loaded by bench.loadgen in its own
process on 127.0.0.1. Rounds alternate between the two servers; the figure per server is the median."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx

from bench.common import free_tcp_port, log, ratio
from bench.generate import gig_id
from bench.session import BenchUser
from devtools.paths import PROJECT_ROOT

CONCURRENCY = 32


def _serve(target: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            target,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--workers",
            "1",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,  # the app's own JSON access log: written (a real cost), not kept
        stderr=subprocess.DEVNULL,
    )


def _wait_ready(port: int, path: str, headers: dict[str, str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{path}", headers=headers, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not answer {path}")


def _load(port: int, path: str, token: str, requests: int) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.loadgen",
            "--port",
            str(port),
            "--path",
            path,
            "--token",
            token,
            "--requests",
            str(requests),
            "--concurrency",
            str(CONCURRENCY),
            "--max-seconds",
            "60",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def run(url: str, user: BenchUser, requests: int, rounds: int) -> dict[str, Any]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "UGIG_ENV": "local",
        "LOG_LEVEL": "INFO",
        "BENCH_CLAIMS": json.dumps(user.claims, separators=(",", ":")),
        "BENCH_SESSION": user.claims["session_id"],
        "BENCH_USER": user.claims["sub"],
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    ports = {"app": free_tcp_port(), "baseline": free_tcp_port()}
    servers = {
        "app": _serve("functions.app:app", ports["app"], env),
        "baseline": _serve("bench.baseline_app:app", ports["baseline"], env),
    }
    token = user.token
    headers = {"Authorization": f"Bearer {token}"}
    paths = {"getGig": f"/api/v1/gigs/{gig_id(7)}", "getGigs": "/api/v1/gigs"}
    results: dict[str, Any] = {}
    try:
        for port in ports.values():
            _wait_ready(port, paths["getGig"], headers)
        for route, path in paths.items():
            rps: dict[str, list[float]] = {"app": [], "baseline": []}
            statuses: dict[str, dict[str, int]] = {}
            for port in ports.values():
                _load(port, path, token, max(200, requests // 10))  # warm-up: pool filled, code paths hot
            for _ in range(rounds):
                for name, port in ports.items():
                    r = _load(port, path, token, requests)
                    rps[name].append(r["rps"])
                    statuses[name] = r["statuses"]
            app_rps, base_rps = statistics.median(rps["app"]), statistics.median(rps["baseline"])
            results[route] = {
                "app_rps": app_rps,
                "baseline_rps": base_rps,
                "ratio": ratio(app_rps, base_rps),
                "rounds": rps,
                "statuses": statuses,
            }
            log(f"  throughput {route}: app {app_rps} req/s, baseline {base_rps} req/s")
    finally:
        for server in servers.values():
            server.terminate()
        for server in servers.values():
            server.wait(timeout=10)
    return {
        **results,
        "concurrency": CONCURRENCY,
        "requests_per_round": requests,
        "server": "uvicorn, 1 worker, same flags for both",
        "target_ratio_getGig": 0.75,
    }
